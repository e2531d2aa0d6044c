-- 0007: create_person names the conflict.
--
-- In 0003 the handler for a concurrent duplicate also caught the function's own "e-mail is
-- already used" error and replaced it with a vaguer one; the handler now covers only the
-- statements that can race.

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
    BEGIN
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
    EXCEPTION
        -- Only a concurrent creation gets here; the checks above name the usual conflicts.
        WHEN unique_violation OR duplicate_object THEN
            RAISE EXCEPTION 'login "%" or e-mail "%" was just taken by someone else', login, email
                USING ERRCODE = '23505';
    END;
    RETURN new_id;
END
$$;

ALTER FUNCTION public.create_person(text, public.user_role, text, text, text) OWNER TO tickets_provisioner;
