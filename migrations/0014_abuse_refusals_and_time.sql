-- 0014: the database under abuse, part 1 (issue 14): no existence oracle in the assignment
-- functions, times a slow transaction cannot choose, a trace of an admin's rewrite of a
-- ticket's text, reserved words refused as logins, passwords kept out of the server log, the
-- provisioner confined to the people it made, and indexes on the history's foreign keys.

-- A history row of kind 'edited' records an admin's change of a ticket's subject or
-- description. Added here, used only inside function bodies (which are checked at call time),
-- so the migration's single transaction is enough.
ALTER TYPE public.ticket_change ADD VALUE IF NOT EXISTS 'edited';
ALTER TABLE public.ticket_status_history
    ADD COLUMN old_subject text,
    ADD COLUMN old_description text;
COMMENT ON COLUMN public.ticket_status_history.old_subject IS
    'kind edited: the subject before the change (NULL when the subject was not changed)';
COMMENT ON COLUMN public.ticket_status_history.old_description IS
    'kind edited: the description before the change (NULL when it was not changed)';

-- The three foreign keys of the history without an index (ticket_id is led by (ticket_id, seq),
-- changed_by by history_changed_by): deleting or re-keying a person would scan the history.
SET LOCAL ROLE tickets_owner;
CREATE INDEX history_customer ON public.ticket_status_history (customer_id, changed_at DESC, id DESC);
CREATE INDEX history_old_agent ON public.ticket_status_history (old_agent_id) WHERE old_agent_id IS NOT NULL;
CREATE INDEX history_new_agent ON public.ticket_status_history (new_agent_id) WHERE new_agent_id IS NOT NULL;

---------------------------------------------------------------------------------------------
-- Existence oracles. Supersedes 0002's app.lock_ticket_for: a ticket the caller cannot read
-- is refused with exactly the words used for an id that does not exist, before anything about
-- it (holder, status) is looked at. Only a ticket that was readable a moment ago and changed
-- while the caller waited for its lock gets a more precise reason (a lost race for a pool
-- ticket the caller could see).
CREATE OR REPLACE FUNCTION app.lock_ticket_for(ticket uuid, me public.users) RETURNS public.tickets
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t public.tickets;
    readable boolean;
BEGIN
    SELECT * INTO t FROM public.tickets WHERE id = ticket;
    readable := FOUND AND coalesce(CASE me.role
            WHEN 'admin' THEN true
            WHEN 'agent' THEN t.agent_id = me.id OR (t.agent_id IS NULL AND t.status = 'open')
            ELSE false END, false);
    IF NOT readable THEN
        RAISE EXCEPTION 'ticket % does not exist or is not visible to you', ticket
            USING ERRCODE = 'P0002';
    END IF;
    -- Waits for any concurrent claim or hand-off, then sees the row as that one left it.
    SELECT * INTO t FROM public.tickets WHERE id = ticket FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ticket % does not exist or is not visible to you', ticket
            USING ERRCODE = 'P0002';
    END IF;
    RETURN t;
END
$$;

---------------------------------------------------------------------------------------------
-- Time. now() is the start of the transaction, which a client chooses by opening one early
-- (BEGIN; ... wait ...; UPDATE): the history would record a change before the one it follows.
-- Every stamp is now the moment of the write (clock_timestamp()), and a ticket's history never
-- goes back in time: a change is never stamped before the ticket's previous change, even if
-- the server's clock is stepped back.

-- Supersedes 0002's app.check_ticket_insert.
CREATE OR REPLACE FUNCTION app.check_ticket_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.require_person();
BEGIN
    NEW.created_at := pg_catalog.clock_timestamp();
    NEW.updated_at := NEW.created_at;
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

-- Supersedes 0008's app.check_ticket_update (only the updated_at line changed).
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
    NEW.updated_at := greatest(pg_catalog.clock_timestamp(), OLD.updated_at);

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

-- Supersedes 0006's app.record_ticket_history: clock stamps, never earlier than the ticket's
-- last change, and a row of kind 'edited' when the subject or description changes (only an
-- admin can change them; column grants keep everyone else out).
CREATE OR REPLACE FUNCTION app.record_ticket_history() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    actor uuid := (app.require_person()).id;
    next_seq integer;
    last_at timestamptz;
    at timestamptz;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO public.ticket_status_history
            (ticket_id, customer_id, seq, kind, new_status, new_agent_id, new_priority, changed_by,
             changed_at)
        VALUES (NEW.id, NEW.customer_id, 1, 'created', NEW.status, NEW.agent_id, NEW.priority, actor,
                NEW.created_at);
        RETURN NULL;
    END IF;
    -- The UPDATE holds the ticket's row lock, so these cannot race another writer.
    SELECT h.seq, h.changed_at INTO next_seq, last_at
    FROM public.ticket_status_history h WHERE h.ticket_id = NEW.id ORDER BY h.seq DESC LIMIT 1;
    next_seq := coalesce(next_seq, 0);
    at := greatest(pg_catalog.clock_timestamp(), last_at);
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        next_seq := next_seq + 1;
        INSERT INTO public.ticket_status_history
            (ticket_id, customer_id, seq, kind, old_status, new_status, changed_by, changed_at)
        VALUES (NEW.id, NEW.customer_id, next_seq, 'status', OLD.status, NEW.status, actor, at);
    END IF;
    IF NEW.agent_id IS DISTINCT FROM OLD.agent_id THEN
        next_seq := next_seq + 1;
        INSERT INTO public.ticket_status_history
            (ticket_id, customer_id, seq, kind, old_agent_id, new_agent_id, changed_by, changed_at)
        VALUES (NEW.id, NEW.customer_id, next_seq, 'assignment', OLD.agent_id, NEW.agent_id, actor, at);
    END IF;
    IF NEW.priority IS DISTINCT FROM OLD.priority THEN
        next_seq := next_seq + 1;
        INSERT INTO public.ticket_status_history
            (ticket_id, customer_id, seq, kind, old_priority, new_priority, changed_by, changed_at)
        VALUES (NEW.id, NEW.customer_id, next_seq, 'priority', OLD.priority, NEW.priority, actor, at);
    END IF;
    IF NEW.subject IS DISTINCT FROM OLD.subject OR NEW.description IS DISTINCT FROM OLD.description THEN
        next_seq := next_seq + 1;
        INSERT INTO public.ticket_status_history
            (ticket_id, customer_id, seq, kind, old_subject, old_description, changed_by, changed_at)
        VALUES (NEW.id, NEW.customer_id, next_seq, 'edited',
                CASE WHEN NEW.subject IS DISTINCT FROM OLD.subject THEN OLD.subject END,
                CASE WHEN NEW.description IS DISTINCT FROM OLD.description THEN OLD.description END,
                actor, at);
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER tickets_record_changes ON public.tickets;
CREATE TRIGGER tickets_record_changes
    AFTER UPDATE OF status, agent_id, priority, subject, description ON public.tickets
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.agent_id IS DISTINCT FROM NEW.agent_id
          OR OLD.priority IS DISTINCT FROM NEW.priority OR OLD.subject IS DISTINCT FROM NEW.subject
          OR OLD.description IS DISTINCT FROM NEW.description)
    EXECUTE FUNCTION app.record_ticket_history();

-- Supersedes 0002's app.touch_user: the same clock for people.
CREATE OR REPLACE FUNCTION app.touch_user() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.created_at := pg_catalog.clock_timestamp();
    ELSE
        IF NEW.id <> OLD.id OR NEW.login <> OLD.login OR NEW.created_at <> OLD.created_at THEN
            RAISE EXCEPTION 'a person''s id, login and created_at cannot be changed'
                USING ERRCODE = '42501';
        END IF;
    END IF;
    NEW.updated_at := pg_catalog.clock_timestamp();
    RETURN NEW;
END
$$;

---------------------------------------------------------------------------------------------
-- People. The provisioner holds CREATEROLE, which on PostgreSQL 15 may grant almost any role
-- (pg_execute_server_program, tickets_owner): every statement it runs names a login that was
-- checked here and only the fixed group roles, and it refuses to touch a role that is more
-- than a plain tickets login.

-- Whether `login` names a plain login made by create_person: no attribute beyond LOGIN and no
-- membership but the tickets group roles. Raises otherwise.
CREATE FUNCTION app.require_plain_login(login text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r pg_catalog.pg_roles;
BEGIN
    SELECT * INTO r FROM pg_catalog.pg_roles WHERE rolname = login;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no login role "%" exists', login USING ERRCODE = '42704';
    END IF;
    IF r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                  JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
                  WHERE m.member = r.oid
                    AND g.rolname !~ '^tickets_(customer|agent|admin|db_.*)$') THEN
        RAISE EXCEPTION 'the role "%" has privileges beyond a tickets login; only the DBA manages it', login
            USING ERRCODE = '42501';
    END IF;
END
$$;
RESET ROLE;
GRANT EXECUTE ON FUNCTION app.require_plain_login(text) TO tickets_provisioner;

-- Supersedes 0007's public.create_person:
-- * logins that are SQL keywords (current_user, all, session_user, none, ...) and public are
--   refused: GRANT and ALTER ROLE read them as something else;
-- * the password is never part of a statement that can reach the server log. CREATE ROLE
--   runs without it; the password (or, from the CLI, a SCRAM verifier) is set by a separate
--   ALTER ROLE whose failure is caught and reported without the statement, so neither the
--   error's CONTEXT nor its STATEMENT line carries it.
CREATE OR REPLACE FUNCTION public.create_person(
    login text, role public.user_role, display_name text, email text, password text)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    new_id uuid;
    group_role text;
BEGIN
    PERFORM app.require_people_manager();
    IF login IS NULL OR login !~ '^[a-z_][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION 'login "%" is not valid', login USING ERRCODE = '22023',
            HINT = 'Use 1 to 63 lowercase letters, digits or _, starting with a letter or _.';
    END IF;
    IF login ~ '^(pg_|tickets_)' OR login IN ('public', 'postgres', 'none')
       OR login IN (SELECT k.word FROM pg_catalog.pg_get_keywords() k WHERE k.catcode <> 'U') THEN
        RAISE EXCEPTION 'login "%" is reserved', login USING ERRCODE = '22023',
            HINT = 'SQL keywords such as current_user, all or none cannot name a person.';
    END IF;
    IF role IS NULL THEN
        RAISE EXCEPTION 'a role is required: customer, agent or admin' USING ERRCODE = '22023';
    END IF;
    IF display_name IS NULL OR btrim(display_name) = '' THEN
        RAISE EXCEPTION 'a display name is required' USING ERRCODE = '22023';
    END IF;
    IF email IS NULL OR email !~ '^[^@[:space:]]+@[^@[:space:]]+$' THEN
        RAISE EXCEPTION 'e-mail "%" is not valid', email USING ERRCODE = '22023';
    END IF;
    IF password IS NULL OR password = '' THEN
        RAISE EXCEPTION 'the password must not be empty' USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = login) THEN
        RAISE EXCEPTION 'login "%" is already taken', login USING ERRCODE = '42710';
    END IF;
    IF EXISTS (SELECT 1 FROM public.users u WHERE lower(u.email) = lower(create_person.email)) THEN
        RAISE EXCEPTION 'e-mail "%" is already used by another person', email USING ERRCODE = '23505';
    END IF;

    group_role := CASE role WHEN 'customer' THEN 'tickets_customer'
                            WHEN 'agent' THEN 'tickets_agent'
                            WHEN 'admin' THEN 'tickets_admin' END;
    BEGIN
        INSERT INTO public.users (login, display_name, email, role)
        VALUES (create_person.login, btrim(create_person.display_name), btrim(create_person.email),
                create_person.role)
        RETURNING id INTO new_id;
        EXECUTE format('CREATE ROLE %I LOGIN IN ROLE %I', login, group_role);
    EXCEPTION
        -- Only a concurrent creation gets here; the checks above name the usual conflicts.
        WHEN unique_violation OR duplicate_object THEN
            RAISE EXCEPTION 'login "%" or e-mail "%" was just taken by someone else', login, email
                USING ERRCODE = '23505';
    END;
    BEGIN
        EXECUTE format('ALTER ROLE %I PASSWORD %L', login, password);
    EXCEPTION WHEN OTHERS THEN
        -- Re-raised from here: the failed statement (with the password) is not in the report.
        RAISE EXCEPTION 'the password for "%" was not accepted: %', login, SQLERRM
            USING ERRCODE = SQLSTATE;
    END;
    -- The mirrors (DESIGN.md §2): informative only; identity is checked against the login.
    EXECUTE format('ALTER ROLE %I IN DATABASE %I SET app.user_id = %L',
                   login, current_database(), new_id::text);
    EXECUTE format('ALTER ROLE %I IN DATABASE %I SET app.role = %L',
                   login, current_database(), role::text);
    RETURN new_id;
END
$$;
ALTER FUNCTION public.create_person(text, public.user_role, text, text, text) OWNER TO tickets_provisioner;

-- Supersedes 0003's disable_person and enable_person: they refuse a role that is more than a
-- plain tickets login (a users row can outlive its role, and a role of the same name made
-- later by someone else is not ours to switch on).
CREATE OR REPLACE FUNCTION public.disable_person(login text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    person public.users;
BEGIN
    PERFORM app.require_people_manager();
    SELECT * INTO person FROM public.users u WHERE u.login = disable_person.login;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no person has the login "%"', login USING ERRCODE = 'P0002';
    END IF;
    IF person.login = session_user THEN
        RAISE EXCEPTION 'you cannot disable yourself' USING ERRCODE = '42501';
    END IF;
    PERFORM app.require_plain_login(person.login);
    EXECUTE format('ALTER ROLE %I NOLOGIN', person.login);
    UPDATE public.users u SET disabled_at = coalesce(u.disabled_at, now()) WHERE u.id = person.id;
    -- Sessions already open end now, not when the person next logs in.
    PERFORM pg_catalog.pg_terminate_backend(a.pid)
    FROM pg_catalog.pg_stat_activity a WHERE a.usename = person.login;
END
$$;

CREATE OR REPLACE FUNCTION public.enable_person(login text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    person public.users;
BEGIN
    PERFORM app.require_people_manager();
    SELECT * INTO person FROM public.users u WHERE u.login = enable_person.login;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no person has the login "%"', login USING ERRCODE = 'P0002';
    END IF;
    PERFORM app.require_plain_login(person.login);
    EXECUTE format('ALTER ROLE %I LOGIN', person.login);
    UPDATE public.users u SET disabled_at = NULL WHERE u.id = person.id;
END
$$;

COMMENT ON FUNCTION app.require_plain_login(text) IS
    'Raises unless the role is a plain tickets login (LOGIN only, member of the tickets groups only): the provisioner (CREATEROLE) touches nothing else.';
COMMENT ON FUNCTION app.lock_ticket_for(uuid, public.users) IS
    'Locks a ticket for claim/release/hand-off; a ticket the caller cannot read is refused exactly like an unknown id (no existence oracle).';
