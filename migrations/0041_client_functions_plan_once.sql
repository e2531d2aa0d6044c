-- 0041: the functions a live client calls after every change plan their queries once per
-- session.
--
-- PL/pgSQL keeps a plan for each statement of a function, but it plans the statement again
-- for every call as long as a plan made for the call's values looks cheaper than one made for
-- any values. In these functions it always does (the role, the person, an id list, a LIMIT),
-- so the planning was done again on every call, and planning is most of their cost: in
-- `tickets bench --crowd 200` (pg_stat_statements with track = all and track_planning = on)
-- the names of a customer's list planned 930 times in 870 calls, and the customer's news
-- count 630 times in 570 calls, each plan taking as long as the query it planned.
--
-- Each of these functions reads by the person's own index or by the ids it was given, so the
-- plan made once for any values is the plan made for each: the same rows (checked per role
-- against the function as it was, md5 of the sorted rows), a third to a half of the time.
-- search_tickets() is left as it is: full-text search needs the words to plan (5-50x slower
-- with a plan for any words).
--
-- app.ticket_count() was a LANGUAGE sql function, which PostgreSQL plans again at every call
-- whatever the setting; the same query as PL/pgSQL keeps its plan.

SET LOCAL ROLE tickets_owner;

ALTER FUNCTION public.names_on_tickets(uuid[], boolean) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION public.names_in_thread(uuid, uuid[]) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION public.agent_queue(text, integer, public.ticket_priority, timestamptz, uuid)
    SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION public.unseen_count(integer) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION public.ticket_counts() SET plan_cache_mode = force_generic_plan;

CREATE OR REPLACE FUNCTION app.ticket_count(scope_name text, agent uuid) RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN coalesce((SELECT c.n FROM app.ticket_counters c
                     WHERE c.scope = scope_name AND c.agent_id = agent), 0)
         + coalesce((SELECT sum(d.delta) FROM app.ticket_count_deltas d
                     WHERE d.scope = scope_name AND d.agent_id = agent), 0);
END
$$;
COMMENT ON FUNCTION app.ticket_count(text, uuid) IS
    'One maintained total: its folded value plus the deltas appended since. Body from 0041 (supersedes 0020: the same query in PL/pgSQL, which keeps its plan).';
