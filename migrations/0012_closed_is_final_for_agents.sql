-- A closed ticket is final for agents: only an admin changes it (reopens it, re-prioritises it).
-- Until now an agent could still change the priority of their own closed ticket (and write
-- history for it) while the client refused to offer it; tests/rule_parity.rs found the
-- disagreement. A trigger of its own, so the bodies of check_ticket_update stay as they are.

SET LOCAL ROLE tickets_owner;

CREATE FUNCTION app.refuse_agent_changes_to_closed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF OLD.status = 'closed' AND NEW.priority IS DISTINCT FROM OLD.priority
       AND (app.require_person()).role = 'agent' THEN
        RAISE EXCEPTION 'ticket % is closed: only an admin changes a closed ticket', OLD.id
            USING ERRCODE = '55000';
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION app.refuse_agent_changes_to_closed() FROM PUBLIC;

CREATE TRIGGER tickets_closed_is_final_for_agents
    BEFORE UPDATE OF priority ON public.tickets
    FOR EACH ROW EXECUTE FUNCTION app.refuse_agent_changes_to_closed();

COMMENT ON FUNCTION app.refuse_agent_changes_to_closed() IS
    'BEFORE UPDATE OF priority on tickets: an agent cannot change the priority of a closed ticket (55000); only an admin changes a closed ticket.';
