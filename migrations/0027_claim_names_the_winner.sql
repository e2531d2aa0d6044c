-- 0027: a claim lost in a race names the agent who won it (issue 11 item 20).
--
-- Supersedes claim_ticket of 0008 (0002 before it); only the refusal of a lost race changes.
-- What the loser may learn: that refusal is reached only when the ticket was readable to the
-- loser as their call began (open and unassigned: the pool every agent reads) and another
-- assignment committed while the call waited for the row. The loser saw the ticket in the pool
-- a moment before, and the winner is an agent, whose name and login every agent reads in
-- users anyway. A ticket assigned before the call began is refused by app.lock_ticket_for
-- exactly like an id that does not exist (P0002, issue 14 item 12): neither its holder nor its
-- existence is told.

CREATE OR REPLACE FUNCTION public.claim_ticket(ticket uuid) RETURNS public.tickets
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.require_person();
    t public.tickets;
    winner public.users;
BEGIN
    IF me.role <> 'agent' THEN
        RAISE EXCEPTION 'only agents claim tickets' USING ERRCODE = '42501',
            HINT = CASE WHEN me.role = 'admin' THEN 'Admins assign with hand_off_ticket.'
                        ELSE 'Agents pick up tickets; a customer files them.' END;
    END IF;
    t := app.lock_ticket_for(ticket, me);
    IF t.agent_id = me.id THEN
        RAISE EXCEPTION 'ticket % is already yours', ticket USING ERRCODE = '55000';
    END IF;
    IF t.agent_id IS NOT NULL THEN
        -- Only after a race (see above): the ticket was in the pool as this call began.
        SELECT * INTO winner FROM public.users u WHERE u.id = t.agent_id;
        RAISE EXCEPTION 'ticket % went to % (%) just before your claim', ticket,
            winner.display_name, winner.login USING ERRCODE = '55000';
    END IF;
    IF t.status <> 'open' THEN
        RAISE EXCEPTION 'ticket % is %, and only open tickets are claimed', ticket, t.status
            USING ERRCODE = '55000';
    END IF;
    UPDATE public.tickets SET agent_id = me.id WHERE id = ticket RETURNING * INTO t;
    RETURN t;
END
$$;

COMMENT ON FUNCTION public.claim_ticket(uuid) IS
    'An agent takes an open unassigned ticket, atomically: of two agents claiming at once exactly one wins, and the loser is told who won (the ticket was in their pool as their call began). Refuses non-agents (42501), a ticket already theirs, or not open (55000); a ticket assigned before the call began is refused like an unknown id (P0002). Current body from 0027 (supersedes 0008).';
