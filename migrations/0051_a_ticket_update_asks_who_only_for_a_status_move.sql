-- 0051: the update check asks who the caller is only when the status moves (issue 13).
--
-- app.check_ticket_update looked the caller up (app.require_person(): their users row by
-- login, their group membership) before anything else, on every UPDATE of a ticket, and used
-- the answer only to check a status move against ticket_status_moves. A claim, a release that
-- keeps the status, a priority change or a hand-off moves no status, and their callers have
-- been looked up already: by claim_ticket and the others before they write, and by
-- app.record_ticket_history after, for the actor it writes. Per claim or release the lookup
-- ran three times (pg_stat_user_functions: 24,274 calls in 8,090 writes, 0.024 ms each); now
-- twice.
--
-- Nothing the product refused is let through: an UPDATE by a login that is no active person
-- either moves the status (refused here, as before), or changes the agent, priority, subject
-- or description (refused by app.record_ticket_history with the same words), or changes none
-- of them and moves nothing but updated_at. Only a superuser reaches a row without being a
-- person (the policies name the caller; the owner's functions look the caller up first).

SET LOCAL ROLE tickets_owner;

CREATE OR REPLACE FUNCTION app.check_ticket_update() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users;
    is_release boolean;
BEGIN
    IF NEW.id <> OLD.id THEN
        RAISE EXCEPTION 'a ticket''s id cannot be changed' USING ERRCODE = '42501';
    END IF;
    IF NEW.customer_id <> OLD.customer_id THEN
        RAISE EXCEPTION 'a ticket''s customer cannot be changed' USING ERRCODE = '42501';
    END IF;
    IF NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'a ticket''s created_at cannot be changed' USING ERRCODE = '42501';
    END IF;
    NEW.updated_at := greatest(pg_catalog.clock_timestamp(), OLD.updated_at);

    IF NEW.agent_id IS DISTINCT FROM OLD.agent_id AND NEW.agent_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM public.users u
                       WHERE u.id = NEW.agent_id AND u.role = 'agent' AND u.disabled_at IS NULL) THEN
        RAISE EXCEPTION 'agent_id % is not an active agent', NEW.agent_id USING ERRCODE = '23514';
    END IF;

    IF NEW.status IS DISTINCT FROM OLD.status THEN
        me := app.require_person();
        IF me.role <> 'admin' THEN
            -- Agents cannot touch agent_id (column grants), so an unassigning update with
            -- status open can only come from release_ticket, which has checked the caller.
            is_release := OLD.agent_id IS NOT NULL AND NEW.agent_id IS NULL AND NEW.status = 'open'
                          AND OLD.status IN ('in_progress', 'waiting_on_customer');
            IF NOT is_release AND NOT EXISTS (
                SELECT 1 FROM public.ticket_status_moves m
                WHERE m.role = me.role AND m.from_status = OLD.status AND m.to_status = NEW.status) THEN
                RAISE EXCEPTION '%s cannot move a ticket from % to %', me.role, OLD.status, NEW.status
                    USING ERRCODE = '42501',
                          HINT = 'The legal moves are listed in ticket_status_moves.';
            END IF;
        END IF;
    END IF;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION app.check_ticket_update() IS
    'BEFORE UPDATE on tickets: refuses changing id, customer_id or created_at, assigning a non-agent, and a status move not in ticket_status_moves for the caller''s role (releases excepted); looks the caller up only when the status moves. Body from 0051 (supersedes 0008).';
