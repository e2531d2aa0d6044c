-- 0013: the conversation (issue 10): replies and internal notes, customers answering and
-- closing, ticket numbers, and what each person has seen.
--
-- The rules live here, so psql obeys them as the client does:
-- - ticket_messages is append-only for everyone (no UPDATE, DELETE or TRUNCATE; the owner too).
-- - author_id is always the login's person, created_at the database's clock.
-- - Customers post public replies on their own tickets that are not closed; agents post replies
--   and internal notes on the tickets they can see; admins on any. A refusal says why.
-- - Internal notes never reach a customer: not through the table, search_tickets,
--   names_on_tickets, ticket_thread, tickets.updated_at (a note does not touch the ticket) nor
--   the notification (its payload is the ticket id, as for every other change).
-- - A customer's reply on a waiting_on_customer or resolved ticket moves it back to work.
-- - Customers close their own ticket with UPDATE tickets SET status = 'closed', and nothing else.
-- - tickets.number: given by the database in filing order; nobody chooses or changes it.

-- The existing tickets are numbered in filing order. Setting the new column on every row is an
-- UPDATE, which the ticket triggers would check as a person's change: the migrating superuser
-- skips triggers for this one statement (as 0006 does).
SET LOCAL ROLE tickets_owner;
CREATE SEQUENCE public.ticket_number_seq AS bigint MINVALUE 1;
ALTER TABLE public.tickets ADD COLUMN number bigint;
RESET ROLE;
SET LOCAL session_replication_role = replica;
UPDATE public.tickets t SET number = o.n
FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM public.tickets) o
WHERE o.id = t.id;
SET LOCAL session_replication_role = origin;
SET LOCAL ROLE tickets_owner;
SELECT pg_catalog.setval('public.ticket_number_seq', greatest(max(number), 1), max(number) IS NOT NULL)
FROM public.tickets;
ALTER SEQUENCE public.ticket_number_seq OWNED BY public.tickets.number;
ALTER TABLE public.tickets ALTER COLUMN number SET NOT NULL,
    ADD CONSTRAINT tickets_number_positive CHECK (number > 0),
    ADD CONSTRAINT tickets_number_key UNIQUE (number);
COMMENT ON COLUMN public.tickets.number IS
    'The number people say and type (#1234): given by the database in filing order, never chosen, changed or reused.';

-- Who may see which ticket, as the read policies on tickets say; for the definer functions
-- below, which read as the owner and must apply the caller's rule themselves.
CREATE FUNCTION app.may_see_ticket(me public.users, t public.tickets) RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- Never NULL (an unassigned ticket's agent_id = me.id is): IF NOT NULL would let it pass.
    SELECT coalesce(me.id IS NOT NULL AND t.id IS NOT NULL AND CASE me.role
        WHEN 'admin' THEN true
        WHEN 'agent' THEN t.agent_id = me.id OR (t.agent_id IS NULL AND t.status = 'open')
        WHEN 'customer' THEN t.customer_id = me.id
        ELSE false END, false)
$$;
COMMENT ON FUNCTION app.may_see_ticket(public.users, public.tickets) IS
    'The read policies of tickets as a predicate, for SECURITY DEFINER code that reads as the owner.';

-- The number: assigned here, so a client (even an admin with INSERT on every column) can
-- neither pick one nor take one that was used.
CREATE FUNCTION app.number_ticket() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.number IS NOT NULL THEN
            RAISE EXCEPTION 'a ticket''s number is given by the database, not chosen'
                USING ERRCODE = '42501';
        END IF;
        NEW.number := pg_catalog.nextval('public.ticket_number_seq');
    ELSIF NEW.number IS DISTINCT FROM OLD.number THEN
        RAISE EXCEPTION 'a ticket''s number cannot be changed' USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER tickets_number BEFORE INSERT OR UPDATE OF number ON public.tickets
    FOR EACH ROW EXECUTE FUNCTION app.number_ticket();

---------------------------------------------------------------------------------------------
-- Customers close their own tickets, and change nothing else.

-- The legal moves are data under FORCE RLS with no write policy: the superuser adds them.
RESET ROLE;
INSERT INTO public.ticket_status_moves (role, from_status, to_status) VALUES
    ('customer', 'open', 'closed'),
    ('customer', 'in_progress', 'closed'),
    ('customer', 'waiting_on_customer', 'closed'),
    ('customer', 'resolved', 'closed'),
    -- Made by the customer's reply only (see app.apply_message): back to the agent, or back to
    -- the pool when nobody holds the ticket (an unassigned in_progress ticket no agent could see).
    ('customer', 'waiting_on_customer', 'in_progress'),
    ('customer', 'resolved', 'in_progress'),
    ('customer', 'waiting_on_customer', 'open'),
    ('customer', 'resolved', 'open');
SET LOCAL ROLE tickets_owner;

-- Not SECURITY DEFINER on purpose: current_user is whoever ran the UPDATE. It is tickets_owner
-- only inside our own definer functions (the reply's move); a customer can never become it.
CREATE FUNCTION app.check_customer_ticket_update() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF current_user = 'tickets_owner' OR app.user_role() IS DISTINCT FROM 'customer' THEN
        RETURN NEW;
    END IF;
    IF NEW.status IS DISTINCT FROM 'closed' THEN
        RAISE EXCEPTION 'customers can only close their ticket (status = ''closed''), not set it to %',
                        NEW.status
            USING ERRCODE = '42501',
                  HINT = 'Replying to a ticket that waits on you or is resolved moves it back to work.';
    END IF;
    IF (pg_catalog.to_jsonb(NEW) - '{status,updated_at,search}'::text[])
       IS DISTINCT FROM (pg_catalog.to_jsonb(OLD) - '{status,updated_at,search}'::text[]) THEN
        RAISE EXCEPTION 'customers change nothing of a filed ticket but closing it'
            USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER tickets_customer_update BEFORE UPDATE ON public.tickets
    FOR EACH ROW EXECUTE FUNCTION app.check_customer_ticket_update();

CREATE POLICY tickets_customer_close ON public.tickets FOR UPDATE TO tickets_customer
    USING (customer_id = (SELECT app.uid()))
    WITH CHECK (customer_id = (SELECT app.uid()) AND status = 'closed');
GRANT UPDATE (status) ON public.tickets TO tickets_customer;

---------------------------------------------------------------------------------------------
-- Messages.

CREATE TABLE public.ticket_messages (
    id          uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    ticket_id   uuid NOT NULL REFERENCES public.tickets (id),
    author_id   uuid NOT NULL DEFAULT app.uid() REFERENCES public.users (id),
    -- The same rules the insert trigger explains, kept as constraints for any path around it.
    body        text NOT NULL CHECK (body ~ '[^[:space:]]' AND pg_catalog.octet_length(body) <= 65536
                                     AND body !~ '[\x01-\x08\x0b-\x1f\x7f-\x9f]'),
    internal    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    -- The ticket's customer (which never changes), so the customers' read policy is a plain
    -- comparison rather than a look-up of the ticket per row (as in ticket_status_history).
    customer_id uuid NOT NULL REFERENCES public.users (id)
);
-- One ticket's thread in order, and the page after a (created_at, id) cursor.
CREATE INDEX ticket_messages_thread ON public.ticket_messages (ticket_id, created_at, id);
CREATE INDEX ticket_messages_search ON public.ticket_messages
    USING gin (pg_catalog.to_tsvector('english'::regconfig, body));
-- The thread interleaves history by the same keys.
CREATE INDEX history_ticket_time ON public.ticket_status_history (ticket_id, changed_at, id);

COMMENT ON TABLE public.ticket_messages IS
    'The conversation of a ticket: public replies (internal = false) and internal notes for staff. Append-only for everyone; post with INSERT INTO ticket_messages (ticket_id, body[, internal]).';
COMMENT ON COLUMN public.ticket_messages.author_id IS 'The person logged in when it was posted; never chosen by the client.';
COMMENT ON COLUMN public.ticket_messages.body IS
    'Non-blank text of at most 64 KiB (65536 bytes); CR LF and CR become LF; other control characters than newline and tab are refused.';
COMMENT ON COLUMN public.ticket_messages.internal IS 'An internal note: visible to agents and admins only.';
COMMENT ON COLUMN public.ticket_messages.customer_id IS 'The ticket''s customer, copied for the customers'' read policy.';

CREATE FUNCTION app.check_message() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.require_person();
    t public.tickets;
    bad text;
BEGIN
    IF NEW.author_id IS DISTINCT FROM me.id THEN
        RAISE EXCEPTION 'a message''s author is the person logged in, not %', NEW.author_id
            USING ERRCODE = '42501';
    END IF;
    -- Visibility first, unlocked: nobody learns anything, or waits, on a ticket they cannot see.
    SELECT * INTO t FROM public.tickets WHERE id = NEW.ticket_id;
    IF NOT app.may_see_ticket(me, t) THEN
        RAISE EXCEPTION 'ticket % does not exist or is not visible to you', NEW.ticket_id
            USING ERRCODE = 'P0002';
    END IF;
    IF NEW.internal AND me.role = 'customer' THEN
        RAISE EXCEPTION 'customers cannot post internal notes' USING ERRCODE = '42501',
            HINT = 'Leave out internal, or set it to false.';
    END IF;
    -- Serialised with status changes: a ticket closed meanwhile is seen closed here.
    SELECT * INTO t FROM public.tickets WHERE id = NEW.ticket_id FOR NO KEY UPDATE;
    IF NOT app.may_see_ticket(me, t) THEN
        RAISE EXCEPTION 'ticket % does not exist or is not visible to you', NEW.ticket_id
            USING ERRCODE = 'P0002';
    END IF;
    IF me.role = 'customer' AND t.status = 'closed' THEN
        RAISE EXCEPTION 'ticket #% is closed and takes no more messages', t.number
            USING ERRCODE = '55000', HINT = 'File a new ticket, and mention this one''s number.';
    END IF;

    NEW.body := replace(replace(NEW.body, E'\r\n', E'\n'), E'\r', E'\n');
    IF NEW.body IS NULL OR NEW.body !~ '[^[:space:]]' THEN
        RAISE EXCEPTION 'a message needs some text' USING ERRCODE = '23514';
    END IF;
    IF octet_length(NEW.body) > 65536 THEN
        RAISE EXCEPTION 'a message is limited to 64 KiB (65536 bytes); this one has % bytes',
                        octet_length(NEW.body)
            USING ERRCODE = '22001';
    END IF;
    bad := substring(NEW.body FROM '[\x01-\x08\x0b-\x1f\x7f-\x9f]');
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'a message cannot contain control characters (U+% at character %); newlines and tabs are fine',
                        lpad(upper(to_hex(ascii(bad))), 4, '0'), strpos(NEW.body, bad)
            USING ERRCODE = '22023';
    END IF;

    NEW.customer_id := t.customer_id;
    NEW.created_at := clock_timestamp();
    RETURN NEW;
END
$$;
CREATE TRIGGER ticket_messages_check BEFORE INSERT ON public.ticket_messages
    FOR EACH ROW EXECUTE FUNCTION app.check_message();

-- A public message is activity on the ticket (it moves up the lists, and a customer's reply
-- moves it back to work); an internal note changes nothing a customer can see.
CREATE FUNCTION app.apply_message() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.require_person();
BEGIN
    IF NOT NEW.internal THEN
        IF me.role = 'customer' THEN
            UPDATE public.tickets t
            SET status = CASE WHEN t.status IN ('waiting_on_customer', 'resolved')
                              THEN (CASE WHEN t.agent_id IS NULL THEN 'open' ELSE 'in_progress' END)::public.ticket_status
                              ELSE t.status END
            WHERE t.id = NEW.ticket_id;
        ELSE
            -- check_ticket_update stamps updated_at.
            UPDATE public.tickets t SET updated_at = t.updated_at WHERE t.id = NEW.ticket_id;
        END IF;
    END IF;
    -- Your own message is not news to you.
    INSERT INTO public.ticket_seen AS s (person_id, ticket_id, seen_at)
    VALUES (me.id, NEW.ticket_id, clock_timestamp())
    ON CONFLICT (person_id, ticket_id) DO UPDATE SET seen_at = greatest(s.seen_at, excluded.seen_at);
    RETURN NULL;
END
$$;

-- Live clients hear of a message as of any change: the ticket id only, re-read through RLS.
-- Its own trigger, so the change-log notifier can replace it alone.
CREATE FUNCTION app.notify_message_posted() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_catalog.pg_notify('tickets_changed', NEW.ticket_id::text);
    RETURN NULL;
END
$$;

-- Append-only, for everyone (RLS does not cover TRUNCATE; the owner has no UPDATE/DELETE policy).
CREATE FUNCTION app.refuse_message_rewrite() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'ticket_messages is append-only: % is not allowed', TG_OP
        USING ERRCODE = '42501';
END
$$;
CREATE TRIGGER ticket_messages_append_only BEFORE UPDATE OR DELETE ON public.ticket_messages
    FOR EACH ROW EXECUTE FUNCTION app.refuse_message_rewrite();
CREATE TRIGGER ticket_messages_no_truncate BEFORE TRUNCATE ON public.ticket_messages
    FOR EACH STATEMENT EXECUTE FUNCTION app.refuse_message_rewrite();

ALTER TABLE public.ticket_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.ticket_messages FORCE ROW LEVEL SECURITY;

CREATE POLICY messages_customer_read ON public.ticket_messages FOR SELECT TO tickets_customer
    USING (customer_id = (SELECT app.uid()) AND NOT internal);
CREATE POLICY messages_agent_read ON public.ticket_messages FOR SELECT TO tickets_agent
    USING (EXISTS (SELECT 1 FROM public.tickets t WHERE t.id = ticket_id));
CREATE POLICY messages_admin_read ON public.ticket_messages FOR SELECT TO tickets_admin
    USING ((SELECT app.user_role() = 'admin'));
CREATE POLICY messages_owner_read ON public.ticket_messages FOR SELECT TO tickets_owner
    USING (true);
-- The trigger explains each refusal; these hold the same rules should it ever be bypassed.
CREATE POLICY messages_customer_post ON public.ticket_messages FOR INSERT TO tickets_customer
    WITH CHECK (author_id = (SELECT app.uid()) AND customer_id = (SELECT app.uid()) AND NOT internal
                AND EXISTS (SELECT 1 FROM public.tickets t WHERE t.id = ticket_id AND t.status <> 'closed'));
CREATE POLICY messages_agent_post ON public.ticket_messages FOR INSERT TO tickets_agent
    WITH CHECK (author_id = (SELECT app.uid())
                AND EXISTS (SELECT 1 FROM public.tickets t WHERE t.id = ticket_id));
CREATE POLICY messages_admin_post ON public.ticket_messages FOR INSERT TO tickets_admin
    WITH CHECK (author_id = (SELECT app.uid()) AND (SELECT app.user_role() = 'admin'));

GRANT SELECT ON public.ticket_messages TO tickets_customer, tickets_agent, tickets_admin;
GRANT INSERT (ticket_id, body, internal) ON public.ticket_messages
    TO tickets_customer, tickets_agent, tickets_admin;

---------------------------------------------------------------------------------------------
-- What each person has seen.

CREATE TABLE public.ticket_seen (
    person_id uuid NOT NULL REFERENCES public.users (id),
    ticket_id uuid NOT NULL REFERENCES public.tickets (id),
    seen_at   timestamptz NOT NULL,
    PRIMARY KEY (person_id, ticket_id)
);
COMMENT ON TABLE public.ticket_seen IS
    'When each person last opened each ticket: what changed since is new to them. Everyone reads only their own rows; written by mark_ticket_seen() and by posting.';
ALTER TABLE public.ticket_seen ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.ticket_seen FORCE ROW LEVEL SECURITY;
CREATE POLICY seen_own_read ON public.ticket_seen FOR SELECT
    TO tickets_customer, tickets_agent, tickets_admin
    USING (person_id = (SELECT app.uid()));
CREATE POLICY seen_owner_all ON public.ticket_seen FOR ALL TO tickets_owner
    USING (true) WITH CHECK (true);
GRANT SELECT ON public.ticket_seen TO tickets_customer, tickets_agent, tickets_admin;

CREATE FUNCTION public.mark_ticket_seen(ticket uuid) RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.require_person();
    t public.tickets;
    at timestamptz := clock_timestamp();
BEGIN
    SELECT * INTO t FROM public.tickets WHERE id = ticket;
    IF NOT app.may_see_ticket(me, t) THEN
        RAISE EXCEPTION 'ticket % does not exist or is not visible to you', ticket
            USING ERRCODE = 'P0002';
    END IF;
    INSERT INTO public.ticket_seen AS s (person_id, ticket_id, seen_at) VALUES (me.id, ticket, at)
    ON CONFLICT (person_id, ticket_id) DO UPDATE SET seen_at = greatest(s.seen_at, excluded.seen_at);
    RETURN at;
END
$$;
COMMENT ON FUNCTION public.mark_ticket_seen(uuid) IS
    'Records that the person logged in has seen the ticket as it is now.';

-- The filer has seen what they filed.
CREATE FUNCTION app.filer_has_seen() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO public.ticket_seen (person_id, ticket_id, seen_at)
    VALUES ((app.require_person()).id, NEW.id, clock_timestamp())
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER tickets_filer_has_seen AFTER INSERT ON public.tickets
    FOR EACH ROW EXECUTE FUNCTION app.filer_has_seen();

-- Through the caller's own policies (SECURITY INVOKER): a note is news to staff only.
CREATE FUNCTION public.unseen_tickets(ticket_ids uuid[]) RETURNS SETOF uuid
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.id FROM public.tickets t
    LEFT JOIN public.ticket_seen s ON s.ticket_id = t.id AND s.person_id = (SELECT app.uid())
    WHERE t.id = ANY (ticket_ids)
      AND (s.seen_at IS NULL OR t.updated_at > s.seen_at
           OR EXISTS (SELECT 1 FROM public.ticket_messages m
                      WHERE m.ticket_id = t.id AND m.created_at > s.seen_at))
$$;
COMMENT ON FUNCTION public.unseen_tickets(uuid[]) IS
    'Of the given tickets, those the caller may read that changed (or got a message the caller may read) since the caller last saw them, or that they never opened.';

CREATE FUNCTION public.unseen_count() RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.require_person();
BEGIN
    RETURN (
        SELECT count(*) FROM public.tickets t
        LEFT JOIN public.ticket_seen s ON s.ticket_id = t.id AND s.person_id = me.id
        WHERE CASE me.role
                WHEN 'customer' THEN t.customer_id = me.id AND t.status <> 'closed'
                WHEN 'agent' THEN t.agent_id = me.id AND t.status IN ('open', 'in_progress', 'waiting_on_customer')
                ELSE s.seen_at IS NOT NULL AND t.status <> 'closed' END
          AND (s.seen_at IS NULL OR t.updated_at > s.seen_at
               OR EXISTS (SELECT 1 FROM public.ticket_messages m
                          WHERE m.ticket_id = t.id AND m.created_at > s.seen_at)));
END
$$;
COMMENT ON FUNCTION public.unseen_count() IS
    'How many of the caller''s tickets have news: a customer''s tickets not closed, an agent''s active tickets (one handed to them counts until opened), for an admin the tickets not closed they have opened before.';

GRANT EXECUTE ON FUNCTION public.mark_ticket_seen(uuid), public.unseen_tickets(uuid[]),
    public.unseen_count() TO tickets_customer, tickets_agent, tickets_admin;

-- The triggers on messages that write elsewhere, after ticket_seen exists.
CREATE TRIGGER ticket_messages_apply AFTER INSERT ON public.ticket_messages
    FOR EACH ROW EXECUTE FUNCTION app.apply_message();
CREATE TRIGGER ticket_messages_notify AFTER INSERT ON public.ticket_messages
    FOR EACH ROW EXECUTE FUNCTION app.notify_message_posted();

---------------------------------------------------------------------------------------------
-- The thread: messages and history in one time line, read through the caller's own policies.

CREATE VIEW public.ticket_thread WITH (security_invoker = true) AS
    SELECT m.ticket_id, m.created_at AS at, m.id,
           CASE WHEN m.internal THEN 'note' ELSE 'message' END AS kind,
           m.author_id AS person_id, m.body, m.internal,
           NULL::public.ticket_status AS old_status, NULL::public.ticket_status AS new_status,
           NULL::uuid AS old_agent_id, NULL::uuid AS new_agent_id,
           NULL::public.ticket_priority AS old_priority, NULL::public.ticket_priority AS new_priority
    FROM public.ticket_messages m
    UNION ALL
    SELECT h.ticket_id, h.changed_at, h.id, h.kind::text, h.changed_by, NULL::text, false,
           h.old_status, h.new_status, h.old_agent_id, h.new_agent_id, h.old_priority, h.new_priority
    FROM public.ticket_status_history h;
COMMENT ON VIEW public.ticket_thread IS
    'A ticket''s messages, notes and history events in one timeline, as the caller''s policies allow. Page with: WHERE ticket_id = $1 AND (at, id) > ($2, $3) ORDER BY at, id LIMIT n.';
GRANT SELECT ON public.ticket_thread TO tickets_customer, tickets_agent, tickets_admin;

---------------------------------------------------------------------------------------------
-- Search covers message bodies; internal notes for staff only. Supersedes 0004's body.

CREATE OR REPLACE FUNCTION public.search_tickets(query text, max_rows integer DEFAULT 100)
RETURNS SETOF public.tickets
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.require_person();
    q tsquery := websearch_to_tsquery('english'::regconfig, coalesce(query, ''));
BEGIN
    IF numnode(q) = 0 THEN
        RETURN;  -- only stop words or nothing: no match, rather than everything
    END IF;
    RETURN QUERY
        SELECT t.* FROM public.tickets t
        WHERE t.id IN (SELECT x.id FROM public.tickets x WHERE x.search @@ q
                       UNION
                       SELECT m.ticket_id FROM public.ticket_messages m
                       WHERE to_tsvector('english'::regconfig, m.body) @@ q
                         AND (me.role <> 'customer' OR NOT m.internal))
          AND CASE me.role
                WHEN 'admin' THEN true
                WHEN 'agent' THEN t.agent_id = me.id OR (t.agent_id IS NULL AND t.status = 'open')
                WHEN 'customer' THEN t.customer_id = me.id
                ELSE false
              END
        ORDER BY t.updated_at DESC, t.id DESC
        LIMIT greatest(least(coalesce(max_rows, 100), 1000), 0);
END
$$;

-- Names on tickets include the authors of the messages the caller may read (a customer: of
-- public replies only, so an internal note never names its author). Supersedes 0010's body.
CREATE OR REPLACE FUNCTION public.names_on_tickets(ticket_ids uuid[], with_history boolean DEFAULT false)
RETURNS TABLE (id uuid, display_name text)
LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 20
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.current_person();
BEGIN
    IF me.id IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
        WITH shown AS (
            SELECT t.id, t.agent_id, t.customer_id FROM public.tickets t
            WHERE t.id = ANY (ticket_ids)
              AND CASE me.role
                    WHEN 'admin' THEN true
                    WHEN 'agent' THEN t.agent_id = me.id OR (t.agent_id IS NULL AND t.status = 'open')
                    ELSE t.customer_id = me.id
                  END),
        people AS (
            SELECT s.agent_id AS person FROM shown s
            UNION SELECT s.customer_id FROM shown s
            UNION SELECT h.changed_by FROM public.ticket_status_history h
                  WHERE with_history AND h.ticket_id IN (SELECT s.id FROM shown s)
            UNION SELECT h.new_agent_id FROM public.ticket_status_history h
                  WHERE with_history AND h.ticket_id IN (SELECT s.id FROM shown s)
            UNION SELECT h.old_agent_id FROM public.ticket_status_history h
                  WHERE with_history AND h.ticket_id IN (SELECT s.id FROM shown s)
            UNION SELECT m.author_id FROM public.ticket_messages m
                  WHERE with_history AND m.ticket_id IN (SELECT s.id FROM shown s)
                    AND (me.role <> 'customer' OR NOT m.internal))
        SELECT u.id, u.display_name FROM public.users u WHERE u.id IN (SELECT p.person FROM people p);
END
$$;

---------------------------------------------------------------------------------------------
-- The why of the new and replaced objects (0011 put it on the older ones).

COMMENT ON FUNCTION public.search_tickets(text, integer) IS
    'Full-text search of subject, description and message bodies (internal notes for staff only) through the GIN indexes, returning only tickets the caller''s read policies allow. Body from 0013 (supersedes 0004).';
COMMENT ON FUNCTION public.names_on_tickets(uuid[], boolean) IS
    'Names of the people on the given tickets the caller may read (customer, agent and, with_history, everyone in their history and the authors of the messages the caller may read: a customer never learns a note''s author). Body from 0013 (supersedes 0010).';
COMMENT ON SEQUENCE public.ticket_number_seq IS 'Gives tickets.number; only the owner''s trigger draws from it.';
COMMENT ON FUNCTION app.number_ticket() IS
    'BEFORE INSERT OR UPDATE OF number on tickets: draws the number (a number given by the client is refused), and refuses any change of it.';
COMMENT ON FUNCTION app.check_customer_ticket_update() IS
    'BEFORE UPDATE on tickets: a customer''s own UPDATE may only close the ticket and change nothing else (the reply''s move runs as tickets_owner and passes).';
COMMENT ON FUNCTION app.check_message() IS
    'BEFORE INSERT on ticket_messages: the author is the login''s person; the ticket must be visible ("no such ticket" otherwise), not closed for a customer, no internal note from a customer; the body non-blank, at most 64 KiB, no control characters but newline and tab (CR LF becomes LF).';
COMMENT ON FUNCTION app.apply_message() IS
    'AFTER INSERT on ticket_messages: a public message stamps the ticket''s updated_at, a customer''s reply moves waiting_on_customer/resolved back to in_progress (open when unassigned) in their name; the author''s last-seen mark moves on. A note touches no ticket.';
COMMENT ON FUNCTION app.notify_message_posted() IS
    'AFTER INSERT on ticket_messages: NOTIFY tickets_changed with the ticket id only (re-read through RLS), as for any ticket change.';
COMMENT ON FUNCTION app.refuse_message_rewrite() IS
    'ticket_messages is append-only: refuses UPDATE, DELETE and TRUNCATE for everyone, the owner and superusers included.';
COMMENT ON FUNCTION app.filer_has_seen() IS 'AFTER INSERT on tickets: the person who filed a ticket has seen it.';
COMMENT ON POLICY tickets_customer_close ON public.tickets IS
    'A customer closes their own ticket (UPDATE tickets SET status = ''closed''); the column grant and tickets_customer_update keep everything else.';
COMMENT ON POLICY messages_customer_read ON public.ticket_messages IS 'Customers read the public messages of their own tickets, never a note.';
COMMENT ON POLICY messages_agent_read ON public.ticket_messages IS 'Agents read every message of the tickets they can see.';
COMMENT ON POLICY messages_customer_post ON public.ticket_messages IS
    'Customers post public messages as themselves on their own tickets that are not closed.';
COMMENT ON POLICY messages_agent_post ON public.ticket_messages IS 'Agents post replies and notes as themselves on the tickets they can see.';
COMMENT ON POLICY seen_own_read ON public.ticket_seen IS 'Everyone reads only their own last-seen marks.';

-- Roles are shared by every database of the cluster: comment only when the text differs.
RESET ROLE;
DO $roles$
DECLARE
    text_now text := 'Group role of customers: read and file their own tickets (subject, description, priority only), close them (UPDATE tickets SET status = ''closed''), post public replies on those not closed, read their public messages, their own users row and their tickets'' history.';
BEGIN
    IF pg_catalog.shobj_description('tickets_customer'::regrole, 'pg_authid') IS DISTINCT FROM text_now THEN
        EXECUTE format('COMMENT ON ROLE tickets_customer IS %L', text_now);
    END IF;
END
$roles$;
