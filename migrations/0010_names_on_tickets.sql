-- 0010: the names a customer's panes show, looked up by ticket rather than by person.
--
-- person_names_of() must check, for each person asked, that they worked on one of the
-- customer's tickets: for a customer with thousands of tickets that is thousands of rows per
-- pane (6 ms for a list page, 4-8 ms for one ticket's history at a million tickets). The panes
-- already know which tickets they show: this returns the people on those tickets (their
-- customer, their agent and, when asked, everyone in their history) for the tickets the caller
-- may read, through the tickets' primary key and the history's (ticket_id, seq) index.

SET LOCAL ROLE tickets_owner;

CREATE FUNCTION public.names_on_tickets(ticket_ids uuid[], with_history boolean DEFAULT false)
RETURNS TABLE (id uuid, display_name text)
LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 20
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.current_person();
BEGIN
    IF me.id IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
        WITH shown AS (
            SELECT t.id, t.agent_id, t.customer_id FROM public.tickets t
            WHERE t.id = ANY (ticket_ids)
              AND CASE me.role
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
                  WHERE with_history AND h.ticket_id IN (SELECT s.id FROM shown s))
        SELECT u.id, u.display_name FROM public.users u WHERE u.id IN (SELECT p.person FROM people p);
END
$$;
GRANT EXECUTE ON FUNCTION public.names_on_tickets(uuid[], boolean) TO tickets_customer, tickets_agent, tickets_admin;
