-- 0003: creating and disabling people.
--
-- A person is a PostgreSQL LOGIN role plus a users row, created together in one transaction.
-- These functions belong to tickets_provisioner (CREATEROLE, nothing else) and only ever grant
-- one of the fixed group roles. Callable by admins (from psql too) and by a superuser, which is
-- how the first admin is made.

SET LOCAL ROLE tickets_owner;

-- Who may manage people: an active admin, or a superuser session (bootstrap and the CLI).
CREATE FUNCTION app.require_people_manager() RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = session_user AND r.rolsuper) THEN
        RETURN;
    END IF;
    IF (app.current_person()).role IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION 'only admins manage people' USING ERRCODE = '42501';
    END IF;
END
$$;
GRANT EXECUTE ON FUNCTION app.require_people_manager() TO tickets_provisioner;

-- The people functions are created here (as the migrating superuser) and handed to the
-- provisioner below, which needs no CREATE right of its own on any schema.
RESET ROLE;

CREATE FUNCTION public.create_person(
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
    IF login ~ '^(pg_|tickets_)' OR login IN ('public', 'postgres') THEN
        RAISE EXCEPTION 'login "%" is reserved', login USING ERRCODE = '22023';
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
    INSERT INTO public.users (login, display_name, email, role)
    VALUES (create_person.login, btrim(create_person.display_name), btrim(create_person.email),
            create_person.role)
    RETURNING id INTO new_id;
    EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE %I', login, password, group_role);
    -- The mirrors (DESIGN.md §2): informative only; identity is checked against the login.
    EXECUTE format('ALTER ROLE %I IN DATABASE %I SET app.user_id = %L',
                   login, current_database(), new_id::text);
    EXECUTE format('ALTER ROLE %I IN DATABASE %I SET app.role = %L',
                   login, current_database(), role::text);
    RETURN new_id;
EXCEPTION
    WHEN unique_violation THEN
        RAISE EXCEPTION 'login "%" or e-mail "%" is already taken', login, email
            USING ERRCODE = '23505';
END
$$;

CREATE FUNCTION public.disable_person(login text) RETURNS void
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
    EXECUTE format('ALTER ROLE %I NOLOGIN', person.login);
    UPDATE public.users u SET disabled_at = coalesce(u.disabled_at, now()) WHERE u.id = person.id;
    -- Sessions already open end now, not when the person next logs in.
    PERFORM pg_catalog.pg_terminate_backend(a.pid)
    FROM pg_catalog.pg_stat_activity a WHERE a.usename = person.login;
END
$$;

CREATE FUNCTION public.enable_person(login text) RETURNS void
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
    EXECUTE format('ALTER ROLE %I LOGIN', person.login);
    UPDATE public.users u SET disabled_at = NULL WHERE u.id = person.id;
END
$$;

REVOKE EXECUTE ON FUNCTION public.create_person(text, public.user_role, text, text, text),
    public.disable_person(text), public.enable_person(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.create_person(text, public.user_role, text, text, text),
    public.disable_person(text), public.enable_person(text) TO tickets_admin;

ALTER FUNCTION public.create_person(text, public.user_role, text, text, text) OWNER TO tickets_provisioner;
ALTER FUNCTION public.disable_person(text) OWNER TO tickets_provisioner;
ALTER FUNCTION public.enable_person(text) OWNER TO tickets_provisioner;
