-- 0026: an agent reads a ticket's messages without a look-up of the ticket per message
-- (measured at 1,000,000 tickets; before/after in BENCHMARKS.md, "The conversation").
--
-- messages_agent_read (0013) was `EXISTS (SELECT 1 FROM tickets t WHERE t.id = ticket_id)`
-- under the agents' ticket policy. A policy's subquery is never turned into a join: it runs
-- once per message row read, a primary-key probe of tickets (4 buffers) and the ticket policy.
-- `SELECT … FROM ticket_messages WHERE ticket_id = $1 ORDER BY created_at LIMIT 50` as the
-- busiest ticket's agent: 0.36 ms and 217 buffers against a floor of 0.02 ms and 7 buffers;
-- all 600 messages 1.2 ms / 2,439 buffers against 0.27 ms / 29.
--
-- Now each message carries what the agents' rule asks of its ticket, as 0006 did with the
-- customer for history and 0013 for messages: the ticket's agent (ticket_agent_id) and
-- whether it is in the open pool (ticket_pool), so the policy reads the row itself, like the
-- floor. The copy cannot go stale or be forged:
--   * written on insert from the ticket locked FOR NO KEY UPDATE (as check_message locks it),
--     so a claim or release at the same moment waits, then copies onto the new message;
--   * rewritten, in the same statement, by every change of the ticket's agent or pool
--     membership (claim, release, hand-off, an admin's reassignment, a customer closing a
--     pool ticket, a reply reopening an unassigned one): app.copy_ticket_access();
--   * the append-only trigger lets an UPDATE through only when it changes nothing but these
--     two columns, and only to the ticket's current values (the superuser included);
--   * the owner's UPDATE policy reaches only messages whose copy differs from the ticket.
-- Cost: a claim, release or hand-off rewrites that ticket's messages (about three; the
-- busiest 600), like an UPDATE of as many rows. Agents' status changes on their own tickets
-- do not change the copy.

ALTER TABLE public.ticket_messages
    ADD COLUMN ticket_agent_id uuid,
    ADD COLUMN ticket_pool boolean NOT NULL DEFAULT false;

-- The existing rows, with the guard set aside for this one trusted statement (it would check
-- every row against its ticket, which the statement itself reads).
ALTER TABLE public.ticket_messages DISABLE TRIGGER ticket_messages_append_only;
UPDATE public.ticket_messages m
   SET ticket_agent_id = t.agent_id,
       ticket_pool = (t.agent_id IS NULL AND t.status = 'open')
  FROM public.tickets t
 WHERE t.id = m.ticket_id
   AND (t.agent_id IS NOT NULL OR t.status = 'open');
ALTER TABLE public.ticket_messages ENABLE TRIGGER ticket_messages_append_only;

-- The rule of tickets_agent_read: assigned to me, or in the pool for a known person. Written
-- with the pool's identity check last, so reading one's own ticket asks the identity once.
ALTER POLICY messages_agent_read ON public.ticket_messages
    USING (ticket_agent_id IN (SELECT app.uid())
           OR (ticket_pool AND (SELECT app.uid() IS NOT NULL)));

SET LOCAL ROLE tickets_owner;

-- Supersedes 0013's body: still refuses DELETE, TRUNCATE and every UPDATE, except one that
-- only brings the copy of the ticket's access up to date.
CREATE OR REPLACE FUNCTION app.refuse_message_rewrite() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND to_jsonb(NEW) - '{ticket_agent_id,ticket_pool}'::text[]
           = to_jsonb(OLD) - '{ticket_agent_id,ticket_pool}'::text[]
       AND EXISTS (SELECT 1 FROM public.tickets t
                   WHERE t.id = NEW.ticket_id
                     AND t.agent_id IS NOT DISTINCT FROM NEW.ticket_agent_id
                     AND (t.agent_id IS NULL AND t.status = 'open') = NEW.ticket_pool) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'ticket_messages is append-only: % is not allowed', TG_OP
        USING ERRCODE = '42501';
END
$$;

-- The copy on a new message, from the ticket as it is once locked.
CREATE FUNCTION app.copy_ticket_access_to_message() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t public.tickets;
BEGIN
    SELECT * INTO t FROM public.tickets WHERE id = NEW.ticket_id FOR NO KEY UPDATE;
    NEW.ticket_agent_id := t.agent_id;
    NEW.ticket_pool := coalesce(t.agent_id IS NULL AND t.status = 'open', false);
    RETURN NEW;
END
$$;
-- Named to fire after ticket_messages_check (triggers fire in name order), which refuses first.
CREATE TRIGGER ticket_messages_copy_ticket_access BEFORE INSERT ON public.ticket_messages
    FOR EACH ROW EXECUTE FUNCTION app.copy_ticket_access_to_message();

-- The copy on the ticket's messages, whenever the ticket's agent or pool membership changes.
CREATE FUNCTION app.copy_ticket_access() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE public.ticket_messages m
       SET ticket_agent_id = NEW.agent_id,
           ticket_pool = (NEW.agent_id IS NULL AND NEW.status = 'open')
     WHERE m.ticket_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER tickets_copy_access AFTER UPDATE ON public.tickets
    FOR EACH ROW
    WHEN (OLD.agent_id IS DISTINCT FROM NEW.agent_id
          OR (OLD.agent_id IS NULL AND OLD.status = 'open')
             IS DISTINCT FROM (NEW.agent_id IS NULL AND NEW.status = 'open'))
    EXECUTE FUNCTION app.copy_ticket_access();

-- The owner (app.copy_ticket_access) updates only messages whose copy differs from the ticket;
-- the append-only trigger checks what it writes.
CREATE POLICY messages_owner_copy_access ON public.ticket_messages FOR UPDATE TO tickets_owner
    USING (NOT EXISTS (SELECT 1 FROM public.tickets t
                       WHERE t.id = ticket_id
                         AND t.agent_id IS NOT DISTINCT FROM ticket_agent_id
                         AND (t.agent_id IS NULL AND t.status = 'open') = ticket_pool))
    WITH CHECK (EXISTS (SELECT 1 FROM public.tickets t
                        WHERE t.id = ticket_id
                          AND t.agent_id IS NOT DISTINCT FROM ticket_agent_id
                          AND (t.agent_id IS NULL AND t.status = 'open') = ticket_pool));

REVOKE ALL ON FUNCTION app.copy_ticket_access_to_message() FROM PUBLIC;
REVOKE ALL ON FUNCTION app.copy_ticket_access() FROM PUBLIC;

COMMENT ON COLUMN public.ticket_messages.ticket_agent_id IS
    'The ticket''s current agent (NULL when unassigned), copied for the agents'' read policy and kept current by the database (0026).';
COMMENT ON COLUMN public.ticket_messages.ticket_pool IS
    'Whether the ticket is open and unassigned (every agent may read it), copied for the agents'' read policy and kept current by the database (0026).';
COMMENT ON POLICY messages_agent_read ON public.ticket_messages IS
    'Agents read every message of the tickets they can see (the rule of tickets_agent_read, read from the message''s copy of its ticket''s agent and pool membership). 0026 supersedes 0013''s EXISTS over tickets, which probed the ticket once per message.';
COMMENT ON POLICY messages_owner_copy_access ON public.ticket_messages IS
    'Lets app.copy_ticket_access bring a message''s copy of its ticket''s agent and pool membership up to date, and nothing else: only stale rows, only to the ticket''s values (0026).';
COMMENT ON FUNCTION app.refuse_message_rewrite() IS
    'ticket_messages is append-only: refuses UPDATE, DELETE and TRUNCATE for everyone, the owner and superusers included; the one UPDATE let through changes only ticket_agent_id and ticket_pool, to the ticket''s current values (0026 supersedes 0013).';
COMMENT ON FUNCTION app.copy_ticket_access_to_message() IS
    'BEFORE INSERT on ticket_messages: copies the ticket''s agent and pool membership onto the new message, from the ticket locked FOR NO KEY UPDATE (a concurrent claim or release waits, then copies it again).';
COMMENT ON FUNCTION app.copy_ticket_access() IS
    'AFTER UPDATE on tickets, when its agent or pool membership changed: copies them onto the ticket''s messages in the same statement, for messages_agent_read.';
COMMENT ON TRIGGER tickets_copy_access ON public.tickets IS
    'Keeps ticket_messages.ticket_agent_id and ticket_pool equal to the ticket''s (0026).';
