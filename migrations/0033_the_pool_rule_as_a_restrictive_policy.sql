-- 0033: "unassigned" written in psql without "open" plans like the floor (issue 13 item 1).
--
-- An agent who writes `SELECT … FROM tickets WHERE agent_id IS NULL ORDER BY priority DESC,
-- created_at, id LIMIT 50` gets the open pool, since the policy adds "open" for unassigned
-- tickets. But it added it inside an OR (`mine OR (unassigned AND open)`), where the planner
-- cannot use it: it read tickets_unassigned (every unassigned ticket, most urgent first) and
-- dropped the closed ones a heap row at a time (0.81-2.08 ms and 2,674 buffers at 1,000,000
-- tickets with 25,505 unassigned closed ones; the floor reads the pool's index: 0.06 ms).
--
-- The same rule, in two parts:
-- * tickets_agent_read (permissive) says whose tickets: mine, or nobody's, for a known person;
-- * tickets_agent_read_open_pool (restrictive, so ANDed at the top of the query) says that of
--   nobody's tickets only the open ones are seen.
-- The restrictive expression is immutable, so the pool's partial indexes are now defined with
-- exactly it: the planner proves them from the policy when the query says only `agent_id IS
-- NULL`, and from `status = 'open'` when the query (or the client's function) says that.
-- tickets_unassigned, which served only the first, is dropped: one index less for every
-- ticket write.

ALTER POLICY tickets_agent_read ON public.tickets
    USING ((SELECT app.uid() IS NOT NULL)
           AND (agent_id IN (SELECT app.uid()) OR agent_id IS NULL));
CREATE POLICY tickets_agent_read_open_pool ON public.tickets AS RESTRICTIVE
    FOR SELECT TO tickets_agent
    USING (agent_id IS NOT NULL OR status = 'open');

SET LOCAL ROLE tickets_owner;

DROP INDEX public.tickets_unassigned;
DROP INDEX public.tickets_pool;
DROP INDEX public.tickets_pool_recent;
CREATE INDEX tickets_pool ON public.tickets (priority DESC, created_at, id)
    WHERE agent_id IS NULL AND (agent_id IS NOT NULL OR status = 'open');
CREATE INDEX tickets_pool_recent ON public.tickets (updated_at DESC, id DESC)
    WHERE agent_id IS NULL AND (agent_id IS NOT NULL OR status = 'open');

COMMENT ON INDEX public.tickets_pool IS
    'The open pool by urgency. The predicate is "unassigned and open" written with the restrictive policy''s own expression, so that an agent''s `WHERE agent_id IS NULL` uses it too (0033).';
COMMENT ON INDEX public.tickets_pool_recent IS
    'The open pool by recent activity; predicate as tickets_pool''s (0033).';

RESET ROLE;

COMMENT ON POLICY tickets_agent_read ON public.tickets IS
    'An agent reads the tickets assigned to them and unassigned ones (of which tickets_agent_read_open_pool leaves only the open pool), nobody else''s; a login that is nobody here reads nothing. Written agent_id IN (SELECT app.uid()) so the planner follows the query''s own filter (0019, 0033).';
COMMENT ON POLICY tickets_agent_read_open_pool ON public.tickets IS
    'Restrictive: of the unassigned tickets an agent reads only the open ones. A top-level condition of every agent query, which the pool''s partial indexes are defined by (0033).';
