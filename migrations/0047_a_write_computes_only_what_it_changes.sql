-- 0047: a ticket write computes only what it changes.
--
-- Profiled (perf, one agent claiming and releasing; pg_stat_statements with track = all at
-- eight), a claim spent its time on work that its change did not need:
--   * tickets.search was a stored generated column, and PostgreSQL computes those again on
--     every UPDATE, whatever the UPDATE sets: each claim, release, status or priority change
--     ran to_tsvector over the subject and description, and read the expression back from the
--     catalog (3 % of a writer's CPU in to_tsvector alone);
--   * copying a ticket's agent and pool membership onto its messages (0026) probed the ticket
--     three times per message, twice in the owner's UPDATE policy and once in the append-only
--     trigger, and the trigger turned the old and the new row, body included, into jsonb to
--     compare them: 53 buffers and a sixth of a claim's time for three messages.
--
-- Now:
--   * search is an ordinary column written by a BEFORE trigger when a row is inserted or its
--     subject, description or search is set, as the expression did. Naming search itself in
--     an UPDATE fires the trigger too, so nobody (an admin has the table's UPDATE) can store
--     words that are not the ticket's;
--   * app.copy_ticket_access updates only the messages whose copy differs (what the policy's
--     USING chose, now a comparison of the row's own columns), and the policy lets the owner
--     through: the append-only trigger, which binds every role and superusers too, still lets
--     an UPDATE change nothing but the copy, and only to the ticket's current values. It
--     compares the rows as records, one probe of the ticket per message.

SET LOCAL ROLE tickets_owner;

ALTER TABLE public.tickets ALTER COLUMN search DROP EXPRESSION;

CREATE FUNCTION app.index_ticket_words() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    NEW.search := to_tsvector('english'::regconfig, NEW.subject || ' ' || NEW.description);
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION app.index_ticket_words() FROM PUBLIC;
-- Named to fire last of the BEFORE triggers (they fire in name order), on the subject and
-- description as the others leave them.
CREATE TRIGGER tickets_words BEFORE INSERT OR UPDATE OF subject, description, search
    ON public.tickets FOR EACH ROW EXECUTE FUNCTION app.index_ticket_words();

CREATE OR REPLACE FUNCTION app.refuse_message_rewrite() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kept public.ticket_messages;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- The old row with the new copy: equal to the new row when nothing else changed.
        kept := OLD;
        kept.ticket_agent_id := NEW.ticket_agent_id;
        kept.ticket_pool := NEW.ticket_pool;
        IF kept IS NOT DISTINCT FROM NEW
           AND EXISTS (SELECT 1 FROM public.tickets t
                       WHERE t.id = NEW.ticket_id
                         AND t.agent_id IS NOT DISTINCT FROM NEW.ticket_agent_id
                         AND (t.agent_id IS NULL AND t.status = 'open') = NEW.ticket_pool) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'ticket_messages is append-only: % is not allowed', TG_OP
        USING ERRCODE = '42501';
END
$$;

CREATE OR REPLACE FUNCTION app.copy_ticket_access() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pool boolean := (NEW.agent_id IS NULL AND NEW.status = 'open');
BEGIN
    INSERT INTO app.message_turns AS m (ticket_id, turned_at)
    VALUES (NEW.id, pg_catalog.clock_timestamp())
    ON CONFLICT (ticket_id) DO UPDATE SET turned_at = EXCLUDED.turned_at;
    UPDATE public.ticket_messages m
       SET ticket_agent_id = NEW.agent_id,
           ticket_pool = pool
     WHERE m.ticket_id = NEW.id
       AND (m.ticket_agent_id IS DISTINCT FROM NEW.agent_id OR m.ticket_pool IS DISTINCT FROM pool);
    RETURN NULL;
END
$$;

ALTER POLICY messages_owner_copy_access ON public.ticket_messages USING (true) WITH CHECK (true);

COMMENT ON COLUMN public.tickets.search IS
    'The words of the subject and description (english), for search_tickets: written by app.index_ticket_words when they are set, never by hand (0047; a generated column before, which every UPDATE computed again).';
COMMENT ON FUNCTION app.index_ticket_words() IS
    'BEFORE INSERT or UPDATE OF subject, description, search on tickets: sets search to the words of the subject and description (0047).';
COMMENT ON TRIGGER tickets_words ON public.tickets IS
    'Keeps tickets.search the words of the subject and description; fires on an UPDATE that names search too, so that nobody stores other words (0047).';
COMMENT ON FUNCTION app.refuse_message_rewrite() IS
    'ticket_messages is append-only: refuses UPDATE, DELETE and TRUNCATE for everyone, the owner and superusers included; the one UPDATE let through changes only ticket_agent_id and ticket_pool, to the ticket''s current values. Body from 0047 (compares rows as records; supersedes 0026).';
COMMENT ON FUNCTION app.copy_ticket_access() IS
    'AFTER UPDATE on tickets, when its agent or pool membership changed: takes the ticket''s turn in app.message_turns, then copies them onto those of the ticket''s messages whose copy differs, in the same statement, for messages_agent_read. Body from 0047 (supersedes 0028).';
COMMENT ON POLICY messages_owner_copy_access ON public.ticket_messages IS
    'Lets app.copy_ticket_access update messages; what it may change is the append-only trigger''s to check: only the copy of the ticket''s agent and pool membership, only to the ticket''s values (0047 supersedes 0026''s probes of the ticket).';
