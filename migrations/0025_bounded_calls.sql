-- 0025: bounded calls (issue 14): the functions that take arrays from clients refuse more
-- than app.limits.ids_per_call ids (22023, naming the limit), and a customer's filings take
-- turns, so concurrent sessions of one customer cannot pass the hourly filing limit together.

ALTER TABLE app.limits ADD COLUMN ids_per_call integer NOT NULL DEFAULT 1000;
COMMENT ON COLUMN app.limits.ids_per_call IS
    'The most ids one call of person_names_of, names_on_tickets, names_in_thread or unseen_tickets takes (the client asks for a page: 100).';

SET LOCAL ROLE tickets_owner;

CREATE FUNCTION app.require_few_ids(ids anyarray, fn text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    most integer := (SELECT l.ids_per_call FROM app.limits l);
BEGIN
    IF pg_catalog.cardinality(ids) > most THEN
        RAISE EXCEPTION '% takes at most % ids in one call; this one has %', fn, most,
            pg_catalog.cardinality(ids)
            USING ERRCODE = '22023',
                  HINT = 'Ask for a page at a time.';
    END IF;
END
$$;
REVOKE ALL ON FUNCTION app.require_few_ids(anyarray, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.require_few_ids(anyarray, text)
    TO tickets_customer, tickets_agent, tickets_admin;
COMMENT ON FUNCTION app.require_few_ids(anyarray, text) IS
    'Refuses (22023) an array argument of more than app.limits.ids_per_call elements: a client could otherwise make one call scan for millions of ids.';

-- Supersedes 0005's public.person_names_of: only the check is new.
CREATE OR REPLACE FUNCTION public.person_names_of(ids uuid[])
 RETURNS TABLE(id uuid, display_name text, role user_role, active boolean)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER ROWS 20
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    me public.users := app.current_person();
BEGIN
    PERFORM app.require_few_ids(ids, 'person_names_of');
    IF me.id IS NULL THEN
        RETURN;
    END IF;
    IF me.role IN ('agent', 'admin') THEN
        RETURN QUERY SELECT u.id, u.display_name, u.role, u.disabled_at IS NULL
                     FROM public.users u WHERE u.id = ANY (ids);
        RETURN;
    END IF;
    RETURN QUERY
        SELECT u.id, u.display_name, u.role, u.disabled_at IS NULL
        FROM public.users u
        WHERE u.id = ANY (ids)
          AND (u.id = me.id
               OR u.id IN (SELECT t.agent_id FROM public.tickets t WHERE t.customer_id = me.id)
               OR u.id IN (SELECT h.changed_by FROM public.ticket_status_history h
                           JOIN public.tickets t ON t.id = h.ticket_id WHERE t.customer_id = me.id));
END
$function$;

-- Supersedes 0013's public.names_on_tickets: only the check is new.
CREATE OR REPLACE FUNCTION public.names_on_tickets(ticket_ids uuid[], with_history boolean DEFAULT false)
 RETURNS TABLE(id uuid, display_name text)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER ROWS 20
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    me public.users := app.current_person();
BEGIN
    PERFORM app.require_few_ids(ticket_ids, 'names_on_tickets');
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
$function$;

-- Supersedes 0016's public.names_in_thread: only the check is new.
CREATE OR REPLACE FUNCTION public.names_in_thread(ticket uuid, ids uuid[])
 RETURNS TABLE(id uuid, display_name text)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER ROWS 5
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    me public.users := app.current_person();
    t public.tickets;
BEGIN
    PERFORM app.require_few_ids(ids, 'names_in_thread');
    SELECT * INTO t FROM public.tickets x WHERE x.id = ticket;
    IF NOT app.may_see_ticket(me, t) THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT u.id, u.display_name FROM public.users u
        WHERE u.id = ANY (ids)
          AND (u.id = t.customer_id OR u.id = t.agent_id
               OR EXISTS (SELECT 1 FROM public.ticket_status_history h
                          WHERE h.ticket_id = ticket
                            AND u.id IN (h.changed_by, h.old_agent_id, h.new_agent_id))
               OR EXISTS (SELECT 1 FROM public.ticket_messages m
                          WHERE m.ticket_id = ticket AND m.author_id = u.id
                            AND (me.role <> 'customer' OR NOT m.internal)));
END
$function$;

-- Supersedes 0013's public.unseen_tickets: only the check (a statement before the query) is new.
CREATE OR REPLACE FUNCTION public.unseen_tickets(ticket_ids uuid[])
 RETURNS SETOF uuid
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
    SELECT app.require_few_ids(ticket_ids, 'unseen_tickets');
    SELECT t.id FROM public.tickets t
    LEFT JOIN public.ticket_seen s ON s.ticket_id = t.id AND s.person_id = (SELECT app.uid())
    WHERE t.id = ANY (ticket_ids)
      AND (s.seen_at IS NULL OR t.updated_at > s.seen_at
           OR EXISTS (SELECT 1 FROM public.ticket_messages m
                      WHERE m.ticket_id = t.id AND m.created_at > s.seen_at))
$function$;

COMMENT ON FUNCTION public.person_names_of(uuid[]) IS
    'person_names() for the ids asked only (one page''s people), under the same rule; at most app.limits.ids_per_call ids (22023). Body from 0025 (supersedes 0005).';
COMMENT ON FUNCTION public.names_on_tickets(uuid[], boolean) IS
    'Names of the people on the given tickets the caller may read (customer, agent and, with_history, everyone in their history and the authors of the messages the caller may read: a customer never learns a note''s author); at most app.limits.ids_per_call tickets (22023). Body from 0025 (supersedes 0013).';
COMMENT ON FUNCTION public.names_in_thread(uuid, uuid[]) IS
    'Names (no e-mails) of the asked people who appear on a ticket the caller may read: its customer and agent, its history, and the authors of the messages the caller may read (a customer never learns a note''s author); at most app.limits.ids_per_call ids (22023). Body from 0025 (supersedes 0016).';
COMMENT ON FUNCTION public.unseen_tickets(uuid[]) IS
    'Of the given tickets, those the caller may read that changed (or got a message the caller may read) since the caller last saw them, or that they never opened; at most app.limits.ids_per_call tickets (22023). Body from 0025 (supersedes 0013).';

---------------------------------------------------------------------------------------------
-- One filing at a time per customer: a row per customer, written by the filing trigger.
CREATE TABLE app.filing_turns (
    person_id  uuid PRIMARY KEY REFERENCES public.users (id) ON DELETE CASCADE,
    last_filed timestamptz NOT NULL
);
ALTER TABLE app.filing_turns ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.filing_turns FORCE ROW LEVEL SECURITY;
CREATE POLICY filing_turns_owner ON app.filing_turns FOR ALL TO tickets_owner
    USING (true) WITH CHECK (true);
COMMENT ON TABLE app.filing_turns IS
    'One row per customer who filed, written (so locked) by each filing: filings of one customer take turns, so the hourly limit counts the one before. Nobody but the owner reads or writes it, so nobody else can hold a customer''s turn.';

-- Supersedes 0021's app.check_ticket_input: a customer's filing first takes their turn.
CREATE OR REPLACE FUNCTION app.check_ticket_input()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    per_hour integer;
    filed bigint;
BEGIN
    IF TG_OP = 'INSERT' OR NEW.subject IS DISTINCT FROM OLD.subject THEN
        IF NEW.subject ~ '[\x01-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]' THEN
            RAISE EXCEPTION 'a subject is one line of text: no control or text-direction characters'
                USING ERRCODE = '22023';
        END IF;
    END IF;
    IF TG_OP = 'INSERT' OR NEW.description IS DISTINCT FROM OLD.description THEN
        IF NEW.description ~ '[\x01-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]' THEN
            RAISE EXCEPTION 'a description cannot contain control or text-direction characters (newlines and tabs are fine)'
                USING ERRCODE = '22023';
        END IF;
    END IF;
    IF TG_OP = 'INSERT' AND app.user_role() = 'customer' THEN
        -- One filing at a time per customer: without it, two sessions of one customer filing
        -- at once each counted only committed tickets, and both passed the limit. The row is
        -- written (not only locked) so that a REPEATABLE READ filer behind another gets a
        -- serialization failure instead of counting with a snapshot that misses it.
        INSERT INTO app.filing_turns AS f (person_id, last_filed)
        VALUES (NEW.customer_id, pg_catalog.clock_timestamp())
        ON CONFLICT (person_id) DO UPDATE SET last_filed = EXCLUDED.last_filed;
        SELECT l.tickets_per_hour INTO per_hour FROM app.limits l;
        SELECT count(*) INTO filed FROM public.tickets t
        WHERE t.customer_id = NEW.customer_id
          AND t.created_at > pg_catalog.clock_timestamp() - interval '1 hour';
        IF filed >= per_hour THEN
            RAISE EXCEPTION 'you have filed % tickets in the last hour, the most one customer may', filed
                USING ERRCODE = '53400',
                      HINT = 'Add to one of your open tickets, or file again later.';
        END IF;
    END IF;
    RETURN NEW;
END
$function$;
COMMENT ON FUNCTION app.check_ticket_input() IS
    'BEFORE INSERT OR UPDATE OF subject, description on tickets: no control or text-direction characters; a customer files at most app.limits.tickets_per_hour tickets an hour (53400), one filing at a time (app.filing_turns), so concurrent sessions cannot pass the limit together. Body from 0025 (supersedes 0021).';
RESET ROLE;
