-- 0002: identity, the rules of a ticket's life, the audit trail, notifications.
--
-- Every SECURITY DEFINER function pins search_path to pg_catalog, pg_temp and qualifies every
-- name, so nothing a client creates can stand in for our tables or functions.

SET LOCAL ROLE tickets_owner;

-- The person behind this session. Identity is the login (session_user), which no client can
-- change; app.user_id / app.role are only mirrors set on the login role, and a mirror that
-- disagrees with the login is refused rather than believed. A disabled person is nobody.
CREATE FUNCTION app.current_person() RETURNS public.users
LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users;
    mirror text;
BEGIN
    SELECT * INTO me FROM public.users u WHERE u.login = session_user AND u.disabled_at IS NULL;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    mirror := current_setting('app.user_id', true);
    IF coalesce(mirror, '') <> '' AND mirror <> me.id::text THEN
        RAISE EXCEPTION 'app.user_id is set to %, but this session belongs to %', mirror, me.login
            USING ERRCODE = '42501',
                  HINT = 'Identity comes from the login; run RESET app.user_id.';
    END IF;
    mirror := current_setting('app.role', true);
    IF coalesce(mirror, '') <> '' AND mirror <> me.role::text THEN
        RAISE EXCEPTION 'app.role is set to %, but % is a %', mirror, me.login, me.role
            USING ERRCODE = '42501',
                  HINT = 'Identity comes from the login; run RESET app.role.';
    END IF;
    RETURN me;
END
$$;

-- Policies call these as (select app.uid()) so they run once per statement, not once per row.
CREATE FUNCTION app.uid() RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$ SELECT (app.current_person()).id $$;

CREATE FUNCTION app.user_role() RETURNS public.user_role
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$ SELECT (app.current_person()).role $$;

-- The person acting, or an error: writes always have a real, active actor.
CREATE FUNCTION app.require_person() RETURNS public.users
LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.current_person();
BEGIN
    IF me.id IS NULL THEN
        RAISE EXCEPTION 'the login % is not an active tickets person', session_user
            USING ERRCODE = '42501',
                  HINT = 'Log in as a person created with `tickets user add`.';
    END IF;
    RETURN me;
END
$$;

GRANT EXECUTE ON FUNCTION app.current_person(), app.uid(), app.user_role(), app.require_person()
    TO tickets_customer, tickets_agent, tickets_admin, tickets_provisioner;

-- Customers file tickets as themselves without naming themselves.
ALTER TABLE public.tickets ALTER COLUMN customer_id SET DEFAULT app.uid();

---------------------------------------------------------------------------------------------
-- The rules of a ticket, enforced for every client (TUI, psql, scripts) alike.

CREATE FUNCTION app.check_ticket_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.require_person();
BEGIN
    NEW.created_at := now();
    NEW.updated_at := now();
    IF NOT EXISTS (SELECT 1 FROM public.users u
                   WHERE u.id = NEW.customer_id AND u.role = 'customer' AND u.disabled_at IS NULL) THEN
        RAISE EXCEPTION 'customer_id % is not an active customer', NEW.customer_id
            USING ERRCODE = '23514';
    END IF;
    IF me.role <> 'admin' AND (NEW.status <> 'open' OR NEW.agent_id IS NOT NULL) THEN
        RAISE EXCEPTION 'a new ticket starts open and unassigned'
            USING ERRCODE = '42501';
    END IF;
    IF NEW.agent_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.users u
            WHERE u.id = NEW.agent_id AND u.role = 'agent' AND u.disabled_at IS NULL) THEN
        RAISE EXCEPTION 'agent_id % is not an active agent', NEW.agent_id
            USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION app.check_ticket_update() RETURNS trigger
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
            RAISE EXCEPTION 'a % cannot move a ticket from % to %', me.role, OLD.status, NEW.status
                USING ERRCODE = '42501',
                      HINT = 'The legal moves are listed in ticket_status_moves.';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER tickets_check_insert BEFORE INSERT ON public.tickets
    FOR EACH ROW EXECUTE FUNCTION app.check_ticket_insert();
CREATE TRIGGER tickets_check_update BEFORE UPDATE ON public.tickets
    FOR EACH ROW EXECUTE FUNCTION app.check_ticket_update();

-- The audit trail: written here and nowhere else, with the real actor.
CREATE FUNCTION app.record_ticket_history() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    actor uuid := (app.require_person()).id;
    next_seq integer;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO public.ticket_status_history
            (ticket_id, seq, kind, new_status, new_agent_id, new_priority, changed_by)
        VALUES (NEW.id, 1, 'created', NEW.status, NEW.agent_id, NEW.priority, actor);
        RETURN NULL;
    END IF;
    -- The UPDATE holds the ticket's row lock, so this max() cannot race another writer.
    SELECT coalesce(max(h.seq), 0) INTO next_seq
    FROM public.ticket_status_history h WHERE h.ticket_id = NEW.id;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        next_seq := next_seq + 1;
        INSERT INTO public.ticket_status_history
            (ticket_id, seq, kind, old_status, new_status, changed_by)
        VALUES (NEW.id, next_seq, 'status', OLD.status, NEW.status, actor);
    END IF;
    IF NEW.agent_id IS DISTINCT FROM OLD.agent_id THEN
        next_seq := next_seq + 1;
        INSERT INTO public.ticket_status_history
            (ticket_id, seq, kind, old_agent_id, new_agent_id, changed_by)
        VALUES (NEW.id, next_seq, 'assignment', OLD.agent_id, NEW.agent_id, actor);
    END IF;
    IF NEW.priority IS DISTINCT FROM OLD.priority THEN
        next_seq := next_seq + 1;
        INSERT INTO public.ticket_status_history
            (ticket_id, seq, kind, old_priority, new_priority, changed_by)
        VALUES (NEW.id, next_seq, 'priority', OLD.priority, NEW.priority, actor);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tickets_record_created AFTER INSERT ON public.tickets
    FOR EACH ROW EXECUTE FUNCTION app.record_ticket_history();
CREATE TRIGGER tickets_record_changes AFTER UPDATE OF status, agent_id, priority ON public.tickets
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.agent_id IS DISTINCT FROM NEW.agent_id
          OR OLD.priority IS DISTINCT FROM NEW.priority)
    EXECUTE FUNCTION app.record_ticket_history();

-- History is append-only for everyone, table owner included (RLS does not cover TRUNCATE).
CREATE FUNCTION app.refuse_history_rewrite() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'ticket_status_history is append-only: % is not allowed', TG_OP
        USING ERRCODE = '42501';
END
$$;
CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON public.ticket_status_history
    FOR EACH ROW EXECUTE FUNCTION app.refuse_history_rewrite();
CREATE TRIGGER history_no_truncate BEFORE TRUNCATE ON public.ticket_status_history
    FOR EACH STATEMENT EXECUTE FUNCTION app.refuse_history_rewrite();

-- Notifications carry ids only: NOTIFY bypasses RLS and anyone can send one, so a client takes
-- it as "re-read this ticket", never as content. Sent at commit, so rolled-back work is silent.
CREATE FUNCTION app.notify_ticket_changed() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_catalog.pg_notify('tickets_changed', NEW.id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER tickets_notify AFTER INSERT OR UPDATE ON public.tickets
    FOR EACH ROW EXECUTE FUNCTION app.notify_ticket_changed();

-- Timestamps on users.
CREATE FUNCTION app.touch_user() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.created_at := now();
    ELSE
        IF NEW.id <> OLD.id OR NEW.login <> OLD.login OR NEW.created_at <> OLD.created_at THEN
            RAISE EXCEPTION 'a person''s id, login and created_at cannot be changed'
                USING ERRCODE = '42501';
        END IF;
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
CREATE TRIGGER users_touch BEFORE INSERT OR UPDATE ON public.users
    FOR EACH ROW EXECUTE FUNCTION app.touch_user();

---------------------------------------------------------------------------------------------
-- Row-Level Security. FORCE binds the owner too: the definer functions above see exactly what
-- the owner's own policies give them, and the owner has no UPDATE or DELETE on history.

ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.users FORCE ROW LEVEL SECURITY;
ALTER TABLE public.tickets ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.tickets FORCE ROW LEVEL SECURITY;
ALTER TABLE public.ticket_status_history ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.ticket_status_history FORCE ROW LEVEL SECURITY;
ALTER TABLE public.ticket_status_moves ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.ticket_status_moves FORCE ROW LEVEL SECURITY;

-- users: a customer sees their own row only (agents' names come from person_names);
-- staff see everyone, since they serve customers and pick agents for hand-offs.
CREATE POLICY users_customer_self ON public.users FOR SELECT TO tickets_customer
    USING (id = (SELECT app.uid()));
CREATE POLICY users_staff_read ON public.users FOR SELECT TO tickets_agent, tickets_admin
    USING ((SELECT app.uid()) IS NOT NULL);
CREATE POLICY users_owner_read ON public.users FOR SELECT TO tickets_owner USING (true);
CREATE POLICY users_provisioner_all ON public.users FOR ALL TO tickets_provisioner
    USING (true) WITH CHECK (true);

-- tickets
CREATE POLICY tickets_customer_read ON public.tickets FOR SELECT TO tickets_customer
    USING (customer_id = (SELECT app.uid()));
CREATE POLICY tickets_customer_file ON public.tickets FOR INSERT TO tickets_customer
    WITH CHECK (customer_id = (SELECT app.uid()) AND agent_id IS NULL AND status = 'open');
CREATE POLICY tickets_agent_read ON public.tickets FOR SELECT TO tickets_agent
    USING (agent_id = (SELECT app.uid()) OR (agent_id IS NULL AND status = 'open'));
CREATE POLICY tickets_agent_work ON public.tickets FOR UPDATE TO tickets_agent
    USING (agent_id = (SELECT app.uid())) WITH CHECK (agent_id = (SELECT app.uid()));
CREATE POLICY tickets_admin_all ON public.tickets FOR ALL TO tickets_admin
    USING ((SELECT app.user_role()) = 'admin') WITH CHECK ((SELECT app.user_role()) = 'admin');
-- For the claim / release / hand-off functions, which re-check every rule themselves.
CREATE POLICY tickets_owner_read ON public.tickets FOR SELECT TO tickets_owner USING (true);
CREATE POLICY tickets_owner_assign ON public.tickets FOR UPDATE TO tickets_owner
    USING (true) WITH CHECK (true);

-- history: visible when its ticket is visible. Written only by the owner's trigger.
CREATE POLICY history_customer_read ON public.ticket_status_history FOR SELECT TO tickets_customer
    USING (ticket_id = ANY (ARRAY(SELECT t.id FROM public.tickets t)));
CREATE POLICY history_agent_read ON public.ticket_status_history FOR SELECT TO tickets_agent
    USING (EXISTS (SELECT 1 FROM public.tickets t WHERE t.id = ticket_id));
CREATE POLICY history_admin_read ON public.ticket_status_history FOR SELECT TO tickets_admin
    USING ((SELECT app.user_role()) = 'admin');
CREATE POLICY history_owner_read ON public.ticket_status_history FOR SELECT TO tickets_owner
    USING (true);
CREATE POLICY history_owner_append ON public.ticket_status_history FOR INSERT TO tickets_owner
    WITH CHECK (true);

CREATE POLICY moves_read ON public.ticket_status_moves FOR SELECT
    TO tickets_customer, tickets_agent, tickets_admin, tickets_owner USING (true);

-- Grants: the least each role needs. Column lists are part of the rules: a customer names only
-- what they write in the form; an agent changes only status and priority directly.
GRANT SELECT ON public.users TO tickets_customer, tickets_agent, tickets_admin;
GRANT SELECT, INSERT, UPDATE ON public.users TO tickets_provisioner;
GRANT SELECT ON public.tickets TO tickets_customer, tickets_agent, tickets_admin;
GRANT INSERT (subject, description, priority) ON public.tickets TO tickets_customer;
GRANT UPDATE (status, priority) ON public.tickets TO tickets_agent;
GRANT INSERT, UPDATE ON public.tickets TO tickets_admin;
GRANT SELECT ON public.ticket_status_history TO tickets_customer, tickets_agent, tickets_admin;
GRANT SELECT ON public.ticket_status_moves TO tickets_customer, tickets_agent, tickets_admin;

---------------------------------------------------------------------------------------------
-- Names of people, without their e-mails: the people a person may see by name (themselves,
-- staff when the viewer is staff, and for a customer the staff who touched their tickets).
CREATE FUNCTION public.person_names()
RETURNS TABLE (id uuid, display_name text, role public.user_role, active boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.current_person();
BEGIN
    IF me.id IS NULL THEN
        RETURN;
    END IF;
    IF me.role IN ('agent', 'admin') THEN
        RETURN QUERY SELECT u.id, u.display_name, u.role, u.disabled_at IS NULL FROM public.users u;
        RETURN;
    END IF;
    RETURN QUERY
        SELECT u.id, u.display_name, u.role, u.disabled_at IS NULL
        FROM public.users u
        WHERE u.id = me.id
           OR u.id IN (SELECT t.agent_id FROM public.tickets t WHERE t.customer_id = me.id)
           OR u.id IN (SELECT h.changed_by FROM public.ticket_status_history h
                       JOIN public.tickets t ON t.id = h.ticket_id WHERE t.customer_id = me.id);
END
$$;
GRANT EXECUTE ON FUNCTION public.person_names() TO tickets_customer, tickets_agent, tickets_admin;

---------------------------------------------------------------------------------------------
-- Assignment: the only way agent_id changes for an agent. Each function locks the ticket row,
-- re-checks the rules under the lock and says why it refuses.

CREATE FUNCTION app.lock_ticket_for(ticket uuid, me public.users) RETURNS public.tickets
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t public.tickets;
BEGIN
    -- Waits for any concurrent claim or hand-off, then sees the row as that one left it.
    SELECT * INTO t FROM public.tickets WHERE id = ticket FOR UPDATE;
    IF NOT FOUND OR me.role = 'customer' THEN
        RAISE EXCEPTION 'ticket % does not exist or is not visible to you', ticket
            USING ERRCODE = 'P0002';
    END IF;
    RETURN t;
END
$$;

CREATE FUNCTION public.claim_ticket(ticket uuid) RETURNS public.tickets
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.require_person();
    t public.tickets;
BEGIN
    IF me.role <> 'agent' THEN
        RAISE EXCEPTION 'only agents claim tickets (you are a %)', me.role USING ERRCODE = '42501',
            HINT = CASE WHEN me.role = 'admin' THEN 'Admins assign with hand_off_ticket.' END;
    END IF;
    t := app.lock_ticket_for(ticket, me);
    IF t.agent_id = me.id THEN
        RAISE EXCEPTION 'ticket % is already yours', ticket USING ERRCODE = '55000';
    END IF;
    IF t.agent_id IS NOT NULL OR t.status <> 'open' THEN
        RAISE EXCEPTION 'ticket % was claimed by another agent', ticket USING ERRCODE = '55000';
    END IF;
    UPDATE public.tickets SET agent_id = me.id WHERE id = ticket RETURNING * INTO t;
    RETURN t;
END
$$;

CREATE FUNCTION public.release_ticket(ticket uuid) RETURNS public.tickets
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.require_person();
    t public.tickets;
BEGIN
    IF me.role NOT IN ('agent', 'admin') THEN
        RAISE EXCEPTION 'only agents and admins release tickets' USING ERRCODE = '42501';
    END IF;
    t := app.lock_ticket_for(ticket, me);
    IF t.agent_id IS NULL THEN
        RAISE EXCEPTION 'ticket % is not assigned to anyone', ticket USING ERRCODE = '55000';
    END IF;
    IF me.role = 'agent' AND t.agent_id <> me.id THEN
        RAISE EXCEPTION 'ticket % is assigned to another agent', ticket USING ERRCODE = '42501';
    END IF;
    IF t.status NOT IN ('open', 'in_progress', 'waiting_on_customer') THEN
        RAISE EXCEPTION 'ticket % is %, and only active tickets are released', ticket, t.status
            USING ERRCODE = '55000';
    END IF;
    UPDATE public.tickets SET agent_id = NULL, status = 'open' WHERE id = ticket RETURNING * INTO t;
    RETURN t;
END
$$;

CREATE FUNCTION public.hand_off_ticket(ticket uuid, to_agent uuid) RETURNS public.tickets
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.require_person();
    t public.tickets;
BEGIN
    IF me.role NOT IN ('agent', 'admin') THEN
        RAISE EXCEPTION 'only agents and admins hand off tickets' USING ERRCODE = '42501';
    END IF;
    t := app.lock_ticket_for(ticket, me);
    IF me.role = 'agent' AND t.agent_id IS DISTINCT FROM me.id THEN
        RAISE EXCEPTION 'ticket % is not yours to hand off', ticket USING ERRCODE = '42501',
            HINT = 'Claim it first.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM public.users u
                   WHERE u.id = to_agent AND u.role = 'agent' AND u.disabled_at IS NULL) THEN
        RAISE EXCEPTION '% is not an active agent', to_agent USING ERRCODE = '23514';
    END IF;
    IF t.agent_id = to_agent THEN
        RAISE EXCEPTION 'ticket % is already assigned to that agent', ticket USING ERRCODE = '55000';
    END IF;
    IF t.status = 'closed' AND me.role <> 'admin' THEN
        RAISE EXCEPTION 'ticket % is closed', ticket USING ERRCODE = '55000';
    END IF;
    UPDATE public.tickets SET agent_id = to_agent WHERE id = ticket RETURNING * INTO t;
    RETURN t;
END
$$;

GRANT EXECUTE ON FUNCTION public.claim_ticket(uuid), public.release_ticket(uuid),
    public.hand_off_ticket(uuid, uuid) TO tickets_agent, tickets_admin;
