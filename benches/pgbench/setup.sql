-- The tickets each agent works on, so that no two pgbench clients collide: agent K claims and
-- releases the pool tickets numbered K*500+1 .. K*500+500, and changes the priority of its own
-- active tickets. Run as a superuser on a database seeded with `tickets seed --prefix bench`
-- (at least 33 agents and 17,000 pool tickets); drop with teardown.sql.
CREATE SCHEMA benchpg;
GRANT USAGE ON SCHEMA benchpg TO tickets_agent;
CREATE TABLE benchpg.pool AS
    SELECT (row_number() OVER (ORDER BY id))::int AS n, id FROM public.tickets
    WHERE agent_id IS NULL AND status = 'open';
-- Each agent's own active tickets, numbered per agent (looked up by current_user, the login).
CREATE TABLE benchpg.mine AS
    SELECT u.login, (row_number() OVER (PARTITION BY u.login ORDER BY t.id))::int AS n, t.id
    FROM public.tickets t JOIN public.users u ON u.id = t.agent_id
    WHERE u.login ~ '^bench_agent[0-9]+$'
      AND t.status IN ('open', 'in_progress', 'waiting_on_customer');
CREATE UNIQUE INDEX ON benchpg.pool (n);
CREATE UNIQUE INDEX ON benchpg.mine (login, n);
GRANT SELECT ON benchpg.pool, benchpg.mine TO tickets_agent;
