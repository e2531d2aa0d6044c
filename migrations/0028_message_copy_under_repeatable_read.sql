-- 0028: the messages' copy of their ticket's access (0026) stays right when the ticket's
-- agent or pool membership is changed in a REPEATABLE READ or SERIALIZABLE transaction.
--
-- 0026 rewrites a ticket's messages in the statement that changes the ticket. At READ
-- COMMITTED that UPDATE sees every committed message. A transaction at REPEATABLE READ sees
-- only what was committed when its snapshot was taken: a note posted on a pool ticket after
-- that (a note does not touch its ticket, so claiming it raises no serialization failure)
-- kept its "in the pool" copy after the claim, readable by every agent. Now both sides write
-- one row per ticket, app.message_turns: the poster when it copies, the changer before it
-- rewrites. A changer whose snapshot missed a poster's row gets a serialization failure
-- (40001: retry), as for any row updated behind its snapshot; at READ COMMITTED it waits its
-- turn and sees the message.

SET LOCAL ROLE tickets_owner;

CREATE TABLE app.message_turns (
    ticket_id uuid PRIMARY KEY,
    turned_at timestamptz NOT NULL
);
ALTER TABLE app.message_turns ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.message_turns FORCE ROW LEVEL SECURITY;
CREATE POLICY message_turns_owner ON app.message_turns FOR ALL TO tickets_owner
    USING (true) WITH CHECK (true);

-- Supersedes 0026's body: the poster also takes the ticket's turn.
CREATE OR REPLACE FUNCTION app.copy_ticket_access_to_message() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t public.tickets;
BEGIN
    SELECT * INTO t FROM public.tickets WHERE id = NEW.ticket_id FOR NO KEY UPDATE;
    INSERT INTO app.message_turns AS m (ticket_id, turned_at)
    VALUES (NEW.ticket_id, pg_catalog.clock_timestamp())
    ON CONFLICT (ticket_id) DO UPDATE SET turned_at = EXCLUDED.turned_at;
    NEW.ticket_agent_id := t.agent_id;
    NEW.ticket_pool := coalesce(t.agent_id IS NULL AND t.status = 'open', false);
    RETURN NEW;
END
$$;

-- Supersedes 0026's body: the changer takes the ticket's turn before it rewrites.
CREATE OR REPLACE FUNCTION app.copy_ticket_access() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO app.message_turns AS m (ticket_id, turned_at)
    VALUES (NEW.id, pg_catalog.clock_timestamp())
    ON CONFLICT (ticket_id) DO UPDATE SET turned_at = EXCLUDED.turned_at;
    UPDATE public.ticket_messages m
       SET ticket_agent_id = NEW.agent_id,
           ticket_pool = (NEW.agent_id IS NULL AND NEW.status = 'open')
     WHERE m.ticket_id = NEW.id;
    RETURN NULL;
END
$$;

COMMENT ON TABLE app.message_turns IS
    'One row per ticket, written by each message posted on it and by each change of its agent or pool membership, so the two take turns: a change whose snapshot missed a message posted meanwhile fails to serialize (40001) instead of leaving that message''s copy of the ticket''s access stale (0028). Only the owner reads or writes it.';
COMMENT ON FUNCTION app.copy_ticket_access_to_message() IS
    'BEFORE INSERT on ticket_messages: copies the ticket''s agent and pool membership onto the new message, from the ticket locked FOR NO KEY UPDATE (a concurrent claim or release waits, then copies it again), and takes the ticket''s turn in app.message_turns. Body from 0028 (supersedes 0026).';
COMMENT ON FUNCTION app.copy_ticket_access() IS
    'AFTER UPDATE on tickets, when its agent or pool membership changed: takes the ticket''s turn in app.message_turns, then copies them onto the ticket''s messages in the same statement, for messages_agent_read. Body from 0028 (supersedes 0026).';
