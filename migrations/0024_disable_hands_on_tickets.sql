-- 0024: disabling a person hands on their active tickets (issue 11 item 6, the database half).
--
-- Until now a disabled agent kept their open, in-progress and waiting tickets: nobody but an
-- admin could see them any more, and nobody worked them. disable_person now releases them to
-- the pool, or hands them to a named active agent, each exactly as release_ticket or
-- hand_off_ticket would (the same checks, the same history rows), in the name of the admin
-- who disables, and says how many. Supersedes disable_person of 0014 (and 0003 before it): the
-- function gains an optional hand_to and returns the number of tickets it handed on, so
-- `SELECT disable_person('bo')` keeps working.

SET LOCAL ROLE tickets_owner;

-- The tickets disable_person has to hand on: assigned to the person and still active.
CREATE FUNCTION app.active_tickets_of(person uuid) RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT count(*)::integer FROM public.tickets t
    WHERE t.agent_id = person AND t.status IN ('open', 'in_progress', 'waiting_on_customer')
$$;

-- Releases (to_agent NULL) or hands off every active ticket of the person through the public
-- functions, so each move is checked and recorded as if the calling admin had made it by hand.
CREATE FUNCTION app.hand_on_tickets_of(person uuid, to_agent uuid) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    n integer := 0;
BEGIN
    PERFORM app.require_people_manager();
    -- Locked first, in number order, so a concurrent writer cannot move one in between.
    FOR t IN SELECT k.id FROM public.tickets k
             WHERE k.agent_id = person AND k.status IN ('open', 'in_progress', 'waiting_on_customer')
             ORDER BY k.number FOR UPDATE
    LOOP
        IF to_agent IS NULL THEN
            PERFORM public.release_ticket(t.id);
        ELSE
            PERFORM public.hand_off_ticket(t.id, to_agent);
        END IF;
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

GRANT EXECUTE ON FUNCTION app.active_tickets_of(uuid), app.hand_on_tickets_of(uuid, uuid)
    TO tickets_provisioner;

RESET ROLE;

DROP FUNCTION public.disable_person(text);

CREATE FUNCTION public.disable_person(login text, hand_to text DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    person public.users;
    heir public.users;
    held integer;
    handed integer;
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
    IF disable_person.hand_to IS NOT NULL THEN
        -- FOR SHARE: the heir cannot be disabled while their new tickets are on the way.
        SELECT * INTO heir FROM public.users u WHERE u.login = disable_person.hand_to FOR SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'cannot hand tickets to "%": no person has that login', hand_to
                USING ERRCODE = 'P0002';
        END IF;
        IF heir.id = person.id THEN
            RAISE EXCEPTION 'cannot hand %''s tickets to %: that is the person being disabled',
                person.login, heir.login USING ERRCODE = '22023';
        END IF;
        IF heir.role <> 'agent' THEN
            RAISE EXCEPTION 'cannot hand tickets to %: % is % %, and tickets go only to an active agent',
                heir.login, heir.login, CASE heir.role WHEN 'admin' THEN 'an' ELSE 'a' END, heir.role
                USING ERRCODE = '23514';
        END IF;
        IF heir.disabled_at IS NOT NULL THEN
            RAISE EXCEPTION 'cannot hand tickets to %: % is disabled, and tickets go only to an active agent',
                heir.login, heir.login USING ERRCODE = '23514';
        END IF;
    END IF;
    -- Every move of a ticket is recorded in a person's name; a superuser is nobody here. Asked
    -- before anything happens, so a refusal ends no session.
    held := app.active_tickets_of(person.id);
    IF held > 0 AND app.current_person() IS NULL THEN
        RAISE EXCEPTION '% holds % active ticket%, and handing them on is recorded in the history in a person''s name; % is not a person of this database',
            person.login, held, CASE WHEN held = 1 THEN '' ELSE 's' END, session_user
            USING ERRCODE = '42501',
                  HINT = format('Disable %s with an admin''s login.', person.login);
    END IF;
    EXECUTE format('ALTER ROLE %I NOLOGIN', person.login);
    UPDATE public.users u SET disabled_at = coalesce(u.disabled_at, now()) WHERE u.id = person.id;
    -- Sessions already open end now, not when the person next logs in; waiting (up to a second
    -- each) for them to be gone, so a claim of theirs in flight either committed before the
    -- tickets are handed on below, or never will.
    PERFORM pg_catalog.pg_terminate_backend(a.pid, 1000)
    FROM pg_catalog.pg_stat_activity a WHERE a.usename = person.login;
    handed := app.hand_on_tickets_of(person.id, heir.id);
    IF heir.id IS NULL THEN
        RAISE NOTICE 'disabled %: released % active ticket% to the pool', person.login, handed,
            CASE WHEN handed = 1 THEN '' ELSE 's' END;
    ELSE
        RAISE NOTICE 'disabled %: handed % active ticket% to %', person.login, handed,
            CASE WHEN handed = 1 THEN '' ELSE 's' END, heir.login;
    END IF;
    RETURN handed;
END
$$;

REVOKE EXECUTE ON FUNCTION public.disable_person(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.disable_person(text, text) TO tickets_admin;
ALTER FUNCTION public.disable_person(text, text) OWNER TO tickets_provisioner;

COMMENT ON FUNCTION public.disable_person(text, text) IS
    'Admins disable a person: NOLOGIN, disabled_at set, their open sessions end; history stays. Their active tickets are released to the pool, or handed to the active agent hand_to, as release_ticket/hand_off_ticket record it in the admin''s name; returns how many (0024 supersedes 0014). Refuses disabling oneself, a hand_to that is not an active agent other than the person, and a superuser when there are tickets to hand on.';
COMMENT ON FUNCTION app.active_tickets_of(uuid) IS
    'How many open, in-progress or waiting tickets are assigned to the person (for disable_person).';
COMMENT ON FUNCTION app.hand_on_tickets_of(uuid, uuid) IS
    'For disable_person: releases (to_agent NULL) or hands off every active ticket of the person through release_ticket/hand_off_ticket, in the calling admin''s name; returns how many.';
