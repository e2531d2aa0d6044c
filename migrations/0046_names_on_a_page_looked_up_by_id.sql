-- 0046: the names on a page are looked up by id, whatever plan the function keeps.
--
-- 0041 gave names_on_tickets one plan per session (plan_cache_mode = force_generic_plan). That
-- plan is made without the call's values, so it counts on the history and message branches,
-- which only run with_history: it expected 291 people and joined them to `users` by reading the
-- whole table. At 50,164 people that is 734 buffers and 5-11 ms for the two or three names of a
-- page, on every list a client loads and every row a live change re-reads (a customer's re-read
-- of two tickets: 1,054 buffers, 6 ms, most of the 200-client crowd's server time).
--
-- Each person is now looked up on their own (a LATERAL subquery with LIMIT 1, which the planner
-- keeps as a probe of users_pkey per person for any estimate). The rows are the same; the body
-- is 0029's otherwise, with 0041's settings, which CREATE OR REPLACE would otherwise drop.

SET LOCAL ROLE tickets_owner;

CREATE OR REPLACE FUNCTION public.names_on_tickets(ticket_ids uuid[], with_history boolean DEFAULT false)
 RETURNS TABLE(id uuid, display_name text)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER ROWS 20
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET plan_cache_mode TO 'force_generic_plan'
AS $function$
DECLARE
    me public.users := app.current_person();
BEGIN
    PERFORM app.require_few_ids(ticket_ids, 'names_on_tickets');
    IF me.id IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
        WITH probed AS MATERIALIZED (
            -- By id first (at most app.limits.ids_per_call index probes): with the role's
            -- condition beside it, the planner read a busy customer's every ticket instead.
            SELECT t.id, t.agent_id, t.customer_id, t.status FROM public.tickets t
            WHERE t.id = ANY (ticket_ids)),
        shown AS (
            SELECT t.id, t.agent_id, t.customer_id FROM probed t
            WHERE CASE me.role
                    WHEN 'admin' THEN true
                    WHEN 'agent' THEN t.agent_id = me.id OR (t.agent_id IS NULL AND t.status = 'open')
                    ELSE t.customer_id = me.id
                  END),
        people AS (
            SELECT s.agent_id AS person FROM shown s
            UNION SELECT s.customer_id FROM shown s
            UNION SELECT h.changed_by FROM public.ticket_status_history h
                  WHERE with_history AND h.ticket_id IN (SELECT s.id FROM shown s)
            UNION SELECT h.new_agent_id FROM public.ticket_status_history h
                  WHERE with_history AND h.ticket_id IN (SELECT s.id FROM shown s)
            UNION SELECT h.old_agent_id FROM public.ticket_status_history h
                  WHERE with_history AND h.ticket_id IN (SELECT s.id FROM shown s)
            UNION SELECT m.author_id FROM public.ticket_messages m
                  WHERE with_history AND m.ticket_id IN (SELECT s.id FROM shown s)
                    AND (me.role <> 'customer' OR NOT m.internal))
        SELECT u.id, u.display_name FROM people p
        CROSS JOIN LATERAL (SELECT x.id, x.display_name FROM public.users x
                            WHERE x.id = p.person LIMIT 1) u;
END
$function$;

COMMENT ON FUNCTION public.names_on_tickets(uuid[], boolean) IS
    'Names of the people on the given tickets the caller may read (customer, agent and, with_history, everyone in their history and the authors of the messages the caller may read: a customer never learns a note''s author); at most app.limits.ids_per_call tickets (22023). Body from 0046 (supersedes 0029: each person looked up by id).';
