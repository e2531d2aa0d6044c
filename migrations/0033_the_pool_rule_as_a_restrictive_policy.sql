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
-- The restrictive expression is immutable, so a partial index defined with exactly it is
-- proved from the policy when the query says only `agent_id IS NULL`: tickets_unassigned is
-- redefined so (the open pool by urgency, 19,898 rows at 1M, where it held every unassigned
-- ticket, 45,433). The pool's own indexes keep `agent_id IS NULL AND status = 'open'`: for a
-- query that says "open" (the client's functions, admins, the superuser) that predicate
-- implies the query's condition, which the planner then drops, while the OR form leaves it as
-- a filter it estimates at 2% and plans a bitmap scan and a sort instead (13-19 ms, 3,784
-- buffers, against 0.05 ms).

ALTER POLICY tickets_agent_read ON public.tickets
    USING ((SELECT app.uid() IS NOT NULL)
           AND (agent_id IN (SELECT app.uid()) OR agent_id IS NULL));
CREATE POLICY tickets_agent_read_open_pool ON public.tickets AS RESTRICTIVE
    FOR SELECT TO tickets_agent
    USING (agent_id IS NOT NULL OR status = 'open');

SET LOCAL ROLE tickets_owner;

DROP INDEX public.tickets_unassigned;
CREATE INDEX tickets_unassigned ON public.tickets (priority DESC, created_at, id)
    WHERE agent_id IS NULL AND (agent_id IS NOT NULL OR status = 'open');
COMMENT ON INDEX public.tickets_unassigned IS
    'The unassigned tickets an agent may read (the open ones) by urgency, for an agent''s `WHERE agent_id IS NULL`: the predicate is "unassigned and open" written with tickets_agent_read_open_pool''s own expression, so the policy proves it (0033).';

RESET ROLE;

COMMENT ON POLICY tickets_agent_read ON public.tickets IS
    'An agent reads the tickets assigned to them and unassigned ones (of which tickets_agent_read_open_pool leaves only the open pool), nobody else''s; a login that is nobody here reads nothing. Written agent_id IN (SELECT app.uid()) so the planner follows the query''s own filter (0019, 0033).';
COMMENT ON POLICY tickets_agent_read_open_pool ON public.tickets IS
    'Restrictive: of the unassigned tickets an agent reads only the open ones. A top-level condition of every agent query, which tickets_unassigned is defined by (0033).';
