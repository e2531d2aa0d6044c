-- 0023: the watchdog (issue 14 item 5). statement_timeout and
-- idle_in_transaction_session_timeout are settings anyone may change for their own session,
-- so the database's defaults (0021) bound accidents only: a person who runs
-- `SET statement_timeout = 0; SELECT pg_sleep(600)` keeps a backend busy, pins the NOTIFY
-- queue and stalls migrations. app.end_overlong_sessions(), called every few seconds by
-- `tickets notifier` (a trusted session), cancels a person's statement that has run longer
-- than app.limits.longest_statement and ends a session idle in a transaction longer than
-- app.limits.longest_idle_in_transaction, whatever the session set for itself.

ALTER TABLE app.limits
    ADD COLUMN longest_statement interval NOT NULL DEFAULT '2 minutes',
    ADD COLUMN longest_idle_in_transaction interval NOT NULL DEFAULT '2 minutes';
COMMENT ON TABLE app.limits IS
    'What one login may use (issue 14): connections per login (customers, staff), per-login statement, idle-in-transaction and lock timeouts and temp-file limit (set on each login role by the database), tickets a customer may file per hour, characters of a search, and the watchdog''s limits (longest_statement, longest_idle_in_transaction: enforced by app.end_overlong_sessions whatever a session set). Changed by the DBA.';

-- The role that owns the watchdog function: it alone may read every session's state and
-- signal other roles' backends (PostgreSQL never lets it signal a superuser's). Cluster-wide,
-- so created and granted only when missing (two databases migrating at once would collide).
DO $watchdog$
DECLARE
    note constant text := 'Owns app.end_overlong_sessions() alone (member of pg_signal_backend and pg_read_all_stats for it). Not for people, no login.';
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'tickets_watchdog') THEN
        CREATE ROLE tickets_watchdog NOLOGIN;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'tickets_watchdog'
               AND (rolcanlogin OR rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb)) THEN
        ALTER ROLE tickets_watchdog NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB;
    END IF;
    IF NOT pg_catalog.pg_has_role('tickets_watchdog', 'pg_signal_backend', 'MEMBER') THEN
        GRANT pg_signal_backend TO tickets_watchdog;
    END IF;
    IF NOT pg_catalog.pg_has_role('tickets_watchdog', 'pg_read_all_stats', 'MEMBER') THEN
        GRANT pg_read_all_stats TO tickets_watchdog;
    END IF;
    IF pg_catalog.shobj_description('tickets_watchdog'::regrole, 'pg_authid') IS DISTINCT FROM note THEN
        EXECUTE format('COMMENT ON ROLE tickets_watchdog IS %L', note);
    END IF;
END
$watchdog$;
-- Per database: what the function reads and calls (0001 and 0021 revoked them from PUBLIC).
GRANT USAGE ON SCHEMA app TO tickets_watchdog, tickets_notifier;
GRANT SELECT ON app.limits, app.database_identity TO tickets_watchdog;
GRANT SELECT ON pg_catalog.pg_stat_activity TO tickets_watchdog;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_stat_get_activity(integer),
    pg_catalog.pg_cancel_backend(integer),
    pg_catalog.pg_terminate_backend(integer, bigint) TO tickets_watchdog;

CREATE FUNCTION app.end_overlong_sessions(
    longest_statement interval DEFAULT NULL,
    longest_idle interval DEFAULT NULL)
RETURNS TABLE (pid integer, login text, database text, action text, lasted interval)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    people oid := (SELECT d.login_group::text::regrole::oid FROM app.database_identity d);
    s record;
BEGIN
    SELECT coalesce(end_overlong_sessions.longest_statement, l.longest_statement),
           coalesce(end_overlong_sessions.longest_idle, l.longest_idle_in_transaction)
      INTO longest_statement, longest_idle
      FROM app.limits l;
    -- This database's people wherever they are connected (the `postgres` database too), not
    -- superusers (PostgreSQL lets nobody but a superuser signal those).
    FOR s IN
        SELECT a.pid AS p, a.usename::text AS who, a.datname::text AS db, a.state AS st,
               pg_catalog.clock_timestamp()
                 - CASE WHEN a.state IN ('active', 'fastpath function call') THEN a.query_start
                        ELSE a.state_change END AS took
        FROM pg_catalog.pg_stat_activity a
        JOIN pg_catalog.pg_roles r ON r.oid = a.usesysid
        WHERE a.backend_type = 'client backend'
          AND a.pid <> pg_catalog.pg_backend_pid()
          AND NOT r.rolsuper
          AND pg_catalog.pg_has_role(a.usesysid, people, 'MEMBER')
    LOOP
        pid := s.p; login := s.who; database := s.db; lasted := s.took;
        IF s.st IN ('active', 'fastpath function call') AND s.took > longest_statement THEN
            -- A statement that outlived its cancel (a minute, or its limit if longer, past
            -- the limit: several sweeps) loses its session.
            IF s.took > longest_statement + greatest(longest_statement, interval '1 minute') THEN
                action := 'terminated: statement outlived its cancel';
                CONTINUE WHEN NOT pg_catalog.pg_terminate_backend(s.p);
            ELSE
                action := 'cancelled statement';
                CONTINUE WHEN NOT pg_catalog.pg_cancel_backend(s.p);
            END IF;
            RETURN NEXT;
        ELSIF s.st IN ('idle in transaction', 'idle in transaction (aborted)')
              AND s.took > longest_idle THEN
            action := 'terminated: idle in transaction';
            CONTINUE WHEN NOT pg_catalog.pg_terminate_backend(s.p);
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;
ALTER FUNCTION app.end_overlong_sessions(interval, interval) OWNER TO tickets_watchdog;
REVOKE ALL ON FUNCTION app.end_overlong_sessions(interval, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.end_overlong_sessions(interval, interval) TO tickets_notifier;
COMMENT ON FUNCTION app.end_overlong_sessions(interval, interval) IS
    'The watchdog, run by `tickets notifier` every few seconds (tickets_notifier or a superuser only): cancels a statement of this database''s people running longer than longest_statement (default app.limits.longest_statement), terminates the session if it is still running a minute (or longest_statement, if longer) after that, and terminates a session idle in a transaction longer than longest_idle (default app.limits.longest_idle_in_transaction), whatever the session set for itself. Returns what it ended.';
