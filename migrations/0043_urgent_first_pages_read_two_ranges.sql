-- 0043: a page of an agent's queue deep in the list reads one page, not every row before it.
--
-- agent_queue() pages most urgent first: priority descending, then oldest first. The next
-- page starts after a cursor: "a lower priority, or the same priority and a later
-- (created_at, id)". No single index range says that, because the two directions are mixed,
-- so PostgreSQL read the queue from its top and dropped every row before the cursor, one at a
-- time. At 1,000,000 tickets, a page 5,000 rows down the open pool took 2.1 ms, 12,000 rows
-- down 8.6 ms, 19,800 rows down 10.4 ms: the farther the agent scrolled, the longer.
--
-- The cursor's condition is now two index ranges, each read in index order and each stopped
-- by the LIMIT: the rest of the cursor's priority, then the lower priorities. 0.15-0.17 ms
-- at every depth, the same rows in the same order (tests/list_ends.rs pages through each
-- queue a few rows at a time, from either end). The function keeps its settings from 0041;
-- CREATE OR REPLACE would otherwise drop them.
--
-- Only a function can do this. Through RLS, a condition on priority is never an index
-- condition: the enum's comparison operators are not leakproof, so PostgreSQL applies them
-- after the policies, row by row. The same two ranges as a query through the policies read
-- more, not less (29,533 buffers against 14,141).

SET LOCAL ROLE tickets_owner;

CREATE OR REPLACE FUNCTION public.agent_queue(queue text, max_rows integer DEFAULT 100,
    after_priority public.ticket_priority DEFAULT NULL, after_created timestamptz DEFAULT NULL,
    after_id uuid DEFAULT NULL)
RETURNS SETOF public.tickets
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    me public.users := app.require_person();
    lim integer := greatest(least(coalesce(max_rows, 100), 1000), 0);
BEGIN
    IF me.role <> 'agent' THEN
        RAISE EXCEPTION 'agent_queue is for agents (you are a %)', me.role USING ERRCODE = '42501';
    END IF;
    IF queue NOT IN ('mine', 'unassigned') THEN
        RAISE EXCEPTION 'unknown queue "%": mine or unassigned', queue USING ERRCODE = '22023';
    END IF;
    IF after_created IS NULL THEN
        IF queue = 'mine' THEN
            RETURN QUERY
                SELECT t.* FROM public.tickets t
                WHERE t.agent_id = me.id AND t.status IN ('open', 'in_progress', 'waiting_on_customer')
                ORDER BY t.priority DESC, t.created_at, t.id LIMIT lim;
        ELSE
            RETURN QUERY
                SELECT t.* FROM public.tickets t
                WHERE t.agent_id IS NULL AND t.status = 'open'
                ORDER BY t.priority DESC, t.created_at, t.id LIMIT lim;
        END IF;
        RETURN;
    END IF;
    IF queue = 'mine' THEN
        RETURN QUERY
            SELECT q.* FROM (
                (SELECT t.* FROM public.tickets t
                 WHERE t.agent_id = me.id AND t.status IN ('open', 'in_progress', 'waiting_on_customer')
                   AND t.priority = after_priority AND (t.created_at, t.id) > (after_created, after_id)
                 ORDER BY t.priority DESC, t.created_at, t.id LIMIT lim)
                UNION ALL
                (SELECT t.* FROM public.tickets t
                 WHERE t.agent_id = me.id AND t.status IN ('open', 'in_progress', 'waiting_on_customer')
                   AND t.priority < after_priority
                 ORDER BY t.priority DESC, t.created_at, t.id LIMIT lim)) q
            ORDER BY q.priority DESC, q.created_at, q.id LIMIT lim;
    ELSE
        RETURN QUERY
            SELECT q.* FROM (
                (SELECT t.* FROM public.tickets t
                 WHERE t.agent_id IS NULL AND t.status = 'open'
                   AND t.priority = after_priority AND (t.created_at, t.id) > (after_created, after_id)
                 ORDER BY t.priority DESC, t.created_at, t.id LIMIT lim)
                UNION ALL
                (SELECT t.* FROM public.tickets t
                 WHERE t.agent_id IS NULL AND t.status = 'open'
                   AND t.priority < after_priority
                 ORDER BY t.priority DESC, t.created_at, t.id LIMIT lim)) q
            ORDER BY q.priority DESC, q.created_at, q.id LIMIT lim;
    END IF;
END
$$;

COMMENT ON FUNCTION public.agent_queue(text, integer, public.ticket_priority, timestamptz, uuid) IS
    'An agent''s queue (''mine'' or ''unassigned''), most urgent first, keyset-paged: a page after a cursor reads two index ranges (the rest of its priority, then the lower ones), never the rows before it; returns only rows the agent may read. Body from 0043 (supersedes 0005).';
