-- The tickets each pgbench client works on: its own slice of the pool (claim/release) and of
-- the busiest agent's active queue (priority changes), so clients never collide. Run as a
-- superuser on a database seeded with `tickets seed --prefix bench`; drop with teardown.sql.
CREATE SCHEMA benchpg;
GRANT USAGE ON SCHEMA benchpg TO tickets_agent;
CREATE TABLE benchpg.pool AS
    SELECT (row_number() OVER (ORDER BY id))::int AS n, id FROM public.tickets
    WHERE agent_id IS NULL AND status = 'open';
CREATE TABLE benchpg.mine AS
    SELECT (row_number() OVER (ORDER BY id))::int AS n, id FROM public.tickets
    WHERE agent_id = (SELECT id FROM public.users WHERE login = 'bench_agent1')
      AND status IN ('open', 'in_progress', 'waiting_on_customer');
CREATE UNIQUE INDEX ON benchpg.pool (n);
CREATE UNIQUE INDEX ON benchpg.mine (n);
GRANT SELECT ON benchpg.pool, benchpg.mine TO tickets_agent;
-- 32 pgbench clients log in as bench_agent1, past a staff login's connection limit (10, 0021):
-- lifted for the run, and the old limit kept here for teardown.sql to restore.
CREATE TABLE benchpg.saved_limit AS
    SELECT rolconnlimit AS n FROM pg_catalog.pg_roles WHERE rolname = 'bench_agent1';
ALTER ROLE bench_agent1 CONNECTION LIMIT 40;
