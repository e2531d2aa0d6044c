-- 0044: agent_queue(NULL) is refused again.
--
-- 0043 checked the queue's name first, with `queue NOT IN ('mine', 'unassigned')`, which is
-- NULL, not true, for a NULL queue: agent_queue(NULL) then answered with the open pool. Before
-- 0043 it raised 22023 "unknown queue", as it does again (tests/security_functions.rs asks for
-- 'everything' and for NULL). Nothing leaked: an agent may read the pool. The body is 0043's
-- otherwise, with its settings.

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
    IF queue IS NULL OR queue NOT IN ('mine', 'unassigned') THEN
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
    'An agent''s queue (''mine'' or ''unassigned''; any other name or NULL: 22023), most urgent first, keyset-paged: a page after a cursor reads two index ranges (the rest of its priority, then the lower ones), never the rows before it; returns only rows the agent may read. Body from 0044 (supersedes 0043 and 0005).';
