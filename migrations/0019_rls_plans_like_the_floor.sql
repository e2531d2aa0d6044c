-- 0019: an agent's queries written in psql plan like the superuser's (measured at 1,000,000
-- tickets; before/after in BENCHMARKS.md).
--
-- 1. The agent read policy said `agent_id = (SELECT app.uid()) OR (open and unassigned)`. The
--    planner estimates the parameter comparison at 1/ndistinct (0.5%) and multiplies it with
--    the query's own `agent_id = <me>` as if they were unrelated, so "my tickets, newest
--    first" was planned as a bitmap of every ticket the agent may see, then sorted: 282 ms
--    (floor 0.02 ms); counting them 221 ms. Written `agent_id IN (SELECT app.uid())` the same
--    rule is a hashed subplan of unknown (50%) selectivity, and the query's own condition
--    drives the plan: an ordered index scan, 0.05-0.2 ms.
--    The pool also requires a known person now: a login that is nobody here (a person of
--    another tickets database in the same cluster, who shares the group role) saw the pool.
ALTER POLICY tickets_agent_read ON public.tickets
    USING ((SELECT app.uid() IS NOT NULL)
           AND (agent_id IN (SELECT app.uid()) OR (agent_id IS NULL AND status = 'open')));

SET LOCAL ROLE tickets_owner;

-- 2. The orders a psql user asks for, each with an index that yields it directly:
--    an agent's own tickets, newest activity first (status included, so counting them and
--    checking the policy need not visit the table);
CREATE INDEX tickets_agent_recent ON public.tickets (agent_id, updated_at DESC, id DESC)
    INCLUDE (status);
--    the open pool, newest activity first (29-56 ms before: a bitmap of every open ticket,
--    sorted, for the floor too);
CREATE INDEX tickets_pool_recent ON public.tickets (updated_at DESC, id DESC)
    WHERE agent_id IS NULL AND status = 'open';
--    "unassigned" without saying "open" (RLS adds that): most urgent first among the
--    unassigned, which the policy then narrows to the open ones (485 ms before: the priority
--    index over every ticket).
CREATE INDEX tickets_unassigned ON public.tickets (priority DESC, created_at, id)
    WHERE agent_id IS NULL;

COMMENT ON INDEX public.tickets_agent_recent IS 'An agent''s tickets by recent activity (psql: WHERE agent_id = me ORDER BY updated_at DESC); covers counting them under the agent policy.';
COMMENT ON INDEX public.tickets_pool_recent IS 'The open pool by recent activity.';
COMMENT ON INDEX public.tickets_unassigned IS 'Unassigned tickets by urgency, for queries that do not repeat the policy''s status = ''open''.';

COMMENT ON POLICY tickets_agent_read ON public.tickets IS
    'An agent reads the tickets assigned to them and the open unassigned pool, nobody else''s; a login that is nobody here reads nothing. Written agent_id IN (SELECT app.uid()) so the planner follows the query''s own filter (0019 supersedes 0002).';
