-- 0021: the database under abuse, part 2 (issue 14): a person is bound to this database,
-- per-login limits set by the database, a filing limit, bounded inputs, catalogs that no
-- longer list who is who or who is online, and no large objects for clients.

---------------------------------------------------------------------------------------------
-- Limits, in one row the DBA may change (UPDATE app.limits SET ...): the filing and search
-- limits apply at once, the per-login ones to people created afterwards (re-apply to existing
-- ones with SELECT app.apply_login_limits(login, role) FROM users), the timeouts when copied
-- to the database (ALTER DATABASE ... SET, as below).
CREATE TABLE app.limits (
    one                             boolean PRIMARY KEY DEFAULT true CHECK (one),
    customer_connections            integer NOT NULL DEFAULT 4,
    staff_connections               integer NOT NULL DEFAULT 10,
    statement_timeout               text NOT NULL DEFAULT '60s',
    idle_in_transaction_timeout     text NOT NULL DEFAULT '60s',
    lock_timeout                    text NOT NULL DEFAULT '10s',
    temp_file_limit                 text NOT NULL DEFAULT '100MB',
    tickets_per_hour                integer NOT NULL DEFAULT 200,
    search_chars                    integer NOT NULL DEFAULT 200
);
INSERT INTO app.limits DEFAULT VALUES;
ALTER TABLE app.limits OWNER TO tickets_owner;
COMMENT ON TABLE app.limits IS
    'What one login may use (issue 14): connections per login (customers, staff), per-login statement, idle-in-transaction and lock timeouts and temp-file limit (set on each login role by the database), tickets a customer may file per hour, characters of a search. Changed by the DBA.';

-- This database's login group: only its members connect, and only they are people here.
-- Login and group roles are cluster-wide; a login of the same name made by another tickets
-- database (or left over after a restore) is not a member, so it can neither connect nor act.
DO $group$
DECLARE
    g text := 'tickets_db_' || current_database();
BEGIN
    IF length(g) > 63 THEN
        g := 'tickets_db_' || left(md5(current_database()), 24);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = g) THEN
        EXECUTE format('CREATE ROLE %I NOLOGIN', g);
    END IF;
    CREATE TABLE app.database_identity (
        one         boolean PRIMARY KEY DEFAULT true CHECK (one),
        login_group name NOT NULL
    );
    INSERT INTO app.database_identity (login_group) VALUES (g);
    EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM tickets_customer, tickets_agent, tickets_admin',
                   current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), g);
    -- Every existing person joins it.
    FOR g IN SELECT u.login FROM public.users u JOIN pg_catalog.pg_roles r ON r.rolname = u.login LOOP
        EXECUTE format('GRANT %I TO %I', (SELECT login_group FROM app.database_identity), g);
    END LOOP;
END
$group$;
ALTER TABLE app.database_identity OWNER TO tickets_owner;
GRANT SELECT ON app.database_identity TO tickets_provisioner;
GRANT SELECT ON app.limits TO tickets_provisioner;
COMMENT ON TABLE app.database_identity IS
    'The NOLOGIN group whose members are this database''s people: CONNECT is granted to it alone, and app.current_person() requires the membership.';

-- Supersedes 0002's app.current_person: also requires membership in this database's group.
SET LOCAL ROLE tickets_owner;
CREATE OR REPLACE FUNCTION app.current_person() RETURNS public.users
LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users;
    mirror text;
BEGIN
    SELECT * INTO me FROM public.users u WHERE u.login = session_user AND u.disabled_at IS NULL;
    IF NOT FOUND OR NOT pg_catalog.pg_has_role(session_user,
            (SELECT d.login_group FROM app.database_identity d), 'MEMBER') THEN
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
RESET ROLE;

---------------------------------------------------------------------------------------------
-- Per-login limits, set by the database on the login role: the connection limit, and the
-- temp-file limit, which needs a privilege on the parameter to change (people have none).
DO $grant$
BEGIN
    -- Cluster-wide: only when missing (two databases migrating at once would collide).
    IF NOT has_parameter_privilege('tickets_provisioner', 'temp_file_limit', 'SET') THEN
        GRANT SET ON PARAMETER temp_file_limit TO tickets_provisioner;
    END IF;
END
$grant$;
-- The timeouts are settings anyone may change for their own session, and an ordinary role
-- may even reset its own role settings: they are the database's defaults instead, which no
-- client can remove (only override in its session: see the README for what still counts).
DO $db$
DECLARE
    l app.limits;
BEGIN
    SELECT * INTO l FROM app.limits;
    EXECUTE format('ALTER DATABASE %I SET statement_timeout = %L', current_database(), l.statement_timeout);
    EXECUTE format('ALTER DATABASE %I SET idle_in_transaction_session_timeout = %L', current_database(), l.idle_in_transaction_timeout);
    EXECUTE format('ALTER DATABASE %I SET lock_timeout = %L', current_database(), l.lock_timeout);
END
$db$;

CREATE FUNCTION app.apply_login_limits(login text, role public.user_role) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    l app.limits;
BEGIN
    PERFORM app.require_plain_login(login);
    SELECT * INTO l FROM app.limits;
    EXECUTE format('ALTER ROLE %I CONNECTION LIMIT %s', login,
                   CASE WHEN role = 'customer' THEN l.customer_connections ELSE l.staff_connections END);
    EXECUTE format('ALTER ROLE %I IN DATABASE %I SET temp_file_limit = %L', login, current_database(), l.temp_file_limit);
END
$$;
ALTER FUNCTION app.apply_login_limits(text, public.user_role) OWNER TO tickets_provisioner;
REVOKE ALL ON FUNCTION app.apply_login_limits(text, public.user_role) FROM PUBLIC;
COMMENT ON FUNCTION app.apply_login_limits(text, public.user_role) IS
    'Sets app.limits on a person''s login role: connection limit and temp-file limit (neither can the person change). Called by create_person and, for existing people, by migration 0021.';

-- Existing people.
SELECT app.apply_login_limits(u.login, u.role)
FROM public.users u JOIN pg_catalog.pg_roles r ON r.rolname = u.login
WHERE NOT r.rolsuper;

-- Supersedes 0014's public.create_person: the new login joins this database's group and gets
-- the limits.
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
    IF display_name ~ '[\x01-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]'
       OR email ~ '[\x01-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]' THEN
        RAISE EXCEPTION 'names and e-mails cannot contain control or text-direction characters'
            USING ERRCODE = '22023';
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
        EXECUTE format('CREATE ROLE %I LOGIN IN ROLE %I, %I', login, group_role,
                       (SELECT d.login_group FROM app.database_identity d));
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
    PERFORM app.apply_login_limits(login, role);
    RETURN new_id;
END
$$;
ALTER FUNCTION public.create_person(text, public.user_role, text, text, text) OWNER TO tickets_provisioner;

---------------------------------------------------------------------------------------------
-- Flooding and input sizes: a customer files at most app.limits.tickets_per_hour tickets an
-- hour, and no ticket text carries control or text-direction characters.
SET LOCAL ROLE tickets_owner;
CREATE INDEX tickets_customer_filed ON public.tickets (customer_id, created_at);

CREATE FUNCTION app.check_ticket_input() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    per_hour integer;
    filed bigint;
BEGIN
    IF TG_OP = 'INSERT' OR NEW.subject IS DISTINCT FROM OLD.subject THEN
        IF NEW.subject ~ '[\x01-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]' THEN
            RAISE EXCEPTION 'a subject is one line of text: no control or text-direction characters'
                USING ERRCODE = '22023';
        END IF;
    END IF;
    IF TG_OP = 'INSERT' OR NEW.description IS DISTINCT FROM OLD.description THEN
        IF NEW.description ~ '[\x01-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]' THEN
            RAISE EXCEPTION 'a description cannot contain control or text-direction characters (newlines and tabs are fine)'
                USING ERRCODE = '22023';
        END IF;
    END IF;
    IF TG_OP = 'INSERT' AND app.user_role() = 'customer' THEN
        SELECT l.tickets_per_hour INTO per_hour FROM app.limits l;
        SELECT count(*) INTO filed FROM public.tickets t
        WHERE t.customer_id = NEW.customer_id
          AND t.created_at > pg_catalog.clock_timestamp() - interval '1 hour';
        IF filed >= per_hour THEN
            RAISE EXCEPTION 'you have filed % tickets in the last hour, the most one customer may', filed
                USING ERRCODE = '53400',
                      HINT = 'Add to one of your open tickets, or file again later.';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER tickets_input BEFORE INSERT OR UPDATE OF subject, description ON public.tickets
    FOR EACH ROW EXECUTE FUNCTION app.check_ticket_input();
COMMENT ON FUNCTION app.check_ticket_input() IS
    'BEFORE INSERT OR UPDATE OF subject, description on tickets: no control or text-direction characters; a customer files at most app.limits.tickets_per_hour tickets an hour (53400).';

-- Search: a query longer than app.limits.search_chars is refused before it is parsed (a
-- 1.2 MB query cost ~20 s of CPU). Supersedes 0015_search_messages_planned's body (only the check is new).
CREATE OR REPLACE FUNCTION public.search_tickets(query text, max_rows integer DEFAULT 100)
RETURNS SETOF public.tickets
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.require_person();
    most integer := (SELECT l.search_chars FROM app.limits l);
    q tsquery;
    lim integer := greatest(least(coalesce(max_rows, 100), 1000), 0);
BEGIN
    IF length(query) > most THEN
        RAISE EXCEPTION 'a search is limited to % characters; this one has %', most, length(query)
            USING ERRCODE = '54000';
    END IF;
    q := websearch_to_tsquery('english'::regconfig, coalesce(query, ''));
    IF numnode(q) = 0 THEN
        RETURN;  -- only stop words or nothing: no match, rather than everything
    END IF;
    -- Two searches, each through its own index and each limited, then merged: one query with
    -- "matches the ticket OR one of its messages" was planned as a join over every ticket.
    RETURN QUERY
        WITH by_ticket AS (
            SELECT t.id, t.updated_at FROM public.tickets t
            WHERE t.search @@ q
              AND CASE me.role
                    WHEN 'admin' THEN true
                    WHEN 'agent' THEN t.agent_id = me.id OR (t.agent_id IS NULL AND t.status = 'open')
                    WHEN 'customer' THEN t.customer_id = me.id
                    ELSE false
                  END
            ORDER BY t.updated_at DESC, t.id DESC LIMIT lim),
        by_message AS (
            SELECT t.id, t.updated_at FROM public.tickets t
            WHERE t.id = ANY (ARRAY(
                    SELECT m.ticket_id FROM public.ticket_messages m
                    WHERE to_tsvector('english'::regconfig, m.body) @@ q
                      AND (me.role <> 'customer' OR (m.customer_id = me.id AND NOT m.internal))))
              AND CASE me.role
                    WHEN 'admin' THEN true
                    WHEN 'agent' THEN t.agent_id = me.id OR (t.agent_id IS NULL AND t.status = 'open')
                    WHEN 'customer' THEN t.customer_id = me.id
                    ELSE false
                  END
            ORDER BY t.updated_at DESC, t.id DESC LIMIT lim),
        hits AS (
            SELECT h.id FROM (SELECT * FROM by_ticket UNION SELECT * FROM by_message) h
            ORDER BY h.updated_at DESC, h.id DESC LIMIT lim)
        SELECT t.* FROM public.tickets t
        WHERE t.id IN (SELECT hits.id FROM hits)
        ORDER BY t.updated_at DESC, t.id DESC;
END
$$;
GRANT SELECT ON app.limits TO tickets_customer, tickets_agent, tickets_admin;
RESET ROLE;

---------------------------------------------------------------------------------------------
-- Catalogs: who is who and who is online. Catalog privileges are per database, so these
-- revocations hold here only (the DBA repeats them in `postgres`, see the README).
-- pg_db_role_setting holds every login's mirrors (user id and role); pg_stat_activity and the
-- functions under it say who is connected (and map a notification's sender PID to a login).
REVOKE SELECT ON pg_catalog.pg_db_role_setting FROM PUBLIC;
REVOKE SELECT ON pg_catalog.pg_stat_activity FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_stat_get_activity(integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_stat_get_backend_userid(integer) FROM PUBLIC;
GRANT SELECT ON pg_catalog.pg_stat_activity TO tickets_admin, tickets_provisioner;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_stat_get_activity(integer) TO tickets_admin, tickets_provisioner;

-- Large objects: tickets stores none; clients may not create them (a customer stored 134 MB).
REVOKE EXECUTE ON FUNCTION pg_catalog.lo_create(oid), pg_catalog.lo_creat(integer),
    pg_catalog.lo_from_bytea(oid, bytea), pg_catalog.lo_import(text),
    pg_catalog.lo_import(text, oid) FROM PUBLIC;
