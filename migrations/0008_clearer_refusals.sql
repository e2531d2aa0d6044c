-- 0008: clearer refusals, and admins can run the people commands with their own login.
--
-- claim_ticket's hint was NULL for anyone but an admin, which made the RAISE itself fail
-- (22004) instead of refusing with 42501; an unassigned but closed ticket was reported as
-- "claimed by another agent"; the status-move message read "a agent".

SET LOCAL ROLE tickets_owner;

CREATE OR REPLACE FUNCTION app.check_ticket_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.require_person();
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
    NEW.updated_at := now();

    IF NEW.agent_id IS DISTINCT FROM OLD.agent_id AND NEW.agent_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM public.users u
                       WHERE u.id = NEW.agent_id AND u.role = 'agent' AND u.disabled_at IS NULL) THEN
        RAISE EXCEPTION 'agent_id % is not an active agent', NEW.agent_id USING ERRCODE = '23514';
    END IF;

    IF NEW.status IS DISTINCT FROM OLD.status AND me.role <> 'admin' THEN
        -- Agents cannot touch agent_id (column grants), so an unassigning update with status
        -- open can only come from release_ticket, which has checked the caller.
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
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION public.claim_ticket(ticket uuid) RETURNS public.tickets
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.require_person();
    t public.tickets;
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
        RAISE EXCEPTION 'ticket % was claimed by another agent', ticket USING ERRCODE = '55000';
    END IF;
    IF t.status <> 'open' THEN
        RAISE EXCEPTION 'ticket % is %, and only open tickets are claimed', ticket, t.status
            USING ERRCODE = '55000';
    END IF;
    UPDATE public.tickets SET agent_id = me.id WHERE id = ticket RETURNING * INTO t;
    RETURN t;
END
$$;

RESET ROLE;

-- `tickets user add|list|disable` check that the schema is current before acting; an admin
-- using their own login (not a superuser) may read which migrations are applied.
GRANT SELECT ON public.schema_migrations TO tickets_admin;
