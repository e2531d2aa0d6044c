-- 0032: a customer's reply never reopens a ticket to a disabled agent (issue 11 item 6).
--
-- disable_person (0024) hands on a person's active tickets but leaves resolved ones with them
-- (DESIGN §3: a resolved ticket is not released). When the customer then replied, the reply
-- moved the ticket back to in_progress, still assigned to the disabled agent: no other agent
-- could see it, and nobody worked it. Now a reply that reopens a ticket whose agent is
-- disabled returns it to the pool, open and unassigned, recorded in the history like any
-- change (in the customer's name, as the reopening itself is).

SET LOCAL ROLE tickets_owner;

-- Supersedes 0013's body: the agent's being disabled is new.
CREATE OR REPLACE FUNCTION app.apply_message() RETURNS trigger
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
                              THEN (CASE WHEN a.active THEN 'in_progress' ELSE 'open' END)::public.ticket_status
                              ELSE t.status END,
                agent_id = CASE WHEN t.status IN ('waiting_on_customer', 'resolved') AND NOT a.active
                                THEN NULL ELSE t.agent_id END
            FROM (SELECT coalesce(bool_or(u.disabled_at IS NULL), false) AS active
                  FROM public.tickets x JOIN public.users u ON u.id = x.agent_id
                  WHERE x.id = NEW.ticket_id) a
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
COMMENT ON FUNCTION app.apply_message() IS
    'AFTER INSERT on ticket_messages: a public message stamps the ticket''s updated_at; a customer''s reply moves waiting_on_customer/resolved back to in_progress with its agent, or to the pool (open, unassigned) when it has none or its agent was disabled, in the customer''s name; the author''s last-seen mark moves on. A note touches no ticket. Body from 0032 (supersedes 0013).';
