-- 0050: an agent's count(*) over every ticket they may see reads like the floor (issue 13).
--
-- `SELECT count(*) FROM tickets` as an agent read the whole table: the policy's
-- `agent_id IN (SELECT app.uid())` sits inside an OR (mine, or nobody's), where PostgreSQL
-- keeps an IN as a hashed subplan evaluated row by row, and a subplan is no index condition,
-- so no BitmapOr of the agent's index and the pool's can be planned. At 1,000,000 tickets:
-- 54,051 buffers and 272 ms against the floor's 31,593 buffers and 123 ms (2.21x).
--
-- `agent_id = ANY (ARRAY(SELECT app.uid()))` means the same (app.uid() is one id or NULL, and
-- a NULL matches nothing either way), but the ARRAY subquery is an InitPlan, computed once,
-- whose value is a parameter an index scan can take: the count becomes a BitmapOr of
-- tickets_agent_queue and tickets_unassigned, as the floor's (31,869 buffers). The pane
-- queries keep their plans (EXPLAIN of each, both forms): the queue by urgency reads
-- tickets_agent_active, "my tickets" tickets_agent_recent, the pool tickets_pool and
-- tickets_pool_recent, `agent_id IS NULL` tickets_unassigned, everything tickets_recent,
-- with the same buffers.
--
-- What it costs: the planner's guess for an agent's own filter. With the IN form it took the
-- policy's OR as half the table and so followed the query's own `agent_id = me` (9,704 rows
-- guessed for 39,929); the ANY form is estimated as an equality and multiplied with it (1,884
-- guessed). The plans above do not change with it; a query that joins on an agent's own
-- tickets may choose a nested loop sooner.

ALTER POLICY tickets_agent_read ON public.tickets
    USING ((SELECT app.uid() IS NOT NULL)
           AND (agent_id = ANY (ARRAY(SELECT app.uid())) OR agent_id IS NULL));

COMMENT ON POLICY tickets_agent_read ON public.tickets IS
    'An agent reads the tickets assigned to them and unassigned ones (of which tickets_agent_read_open_pool leaves only the open pool), nobody else''s; a login that is nobody here reads nothing. Written agent_id = ANY (ARRAY(SELECT app.uid())): an InitPlan parameter an index can take inside the OR, so counting everything an agent sees is a BitmapOr like the floor''s (0050, supersedes 0033''s IN).';
