-- 0048: a ticket looked up by id, once per row of another table, reads two pages instead of four.
--
-- An agent's policy on ticket_status_history asks, for every history row, whether the agent may
-- see its ticket (EXISTS over tickets, under the tickets' own policies). PostgreSQL never turns
-- a policy's EXISTS into a join, and version 15 keeps no result of a SubPlan from one row to the
-- next, so the ticket is probed again for each row: through tickets_pkey, three B-tree levels
-- and the heap page, 4 buffers and about 1.2 us per row. An agent reading the history of a
-- ticket with 1,227 rows in psql paid 3 ms against the superuser's 1 ms (2.8-3.2x).
--
-- A hash index on the id answers the same equality from one bucket page (its metapage is kept
-- in the relation's cache), so the probe reads 2 buffers: the same history took 1.6-2.2x its
-- floor. The planner takes it for the writes' own probes of a ticket too (about nine per claim:
-- the functions' look-ups, the foreign-key checks of the history row), so a claim reads 13
-- fewer buffers (173 against 186). What it costs: every ticket write inserts one more index
-- entry (a write is never a HOT update, since updated_at is indexed), one WAL record and about
-- 100 bytes; 32 MB at 1,000,000 tickets. BENCHMARKS.md, "Issue 13, eighth session".

SET LOCAL ROLE tickets_owner;

CREATE INDEX tickets_id_probe ON public.tickets USING hash (id);

COMMENT ON INDEX public.tickets_id_probe IS
    'Equality probes of a ticket by id (the agents'' history policy runs one per history row): a hash bucket page instead of three B-tree levels. 0048.';
