-- 0004: full-text search over subject and description.
--
-- The match operator (@@) is not LEAKPROOF, so under RLS PostgreSQL must apply the policy
-- before it and cannot search through the GIN index: a search over a million tickets would
-- read them all. search_tickets() runs as the owner, uses the index, and applies exactly the
-- visibility the read policies give the caller (the security suite checks it never returns a
-- row the caller could not SELECT).

SET LOCAL ROLE tickets_owner;

ALTER TABLE public.tickets
    ADD COLUMN search tsvector GENERATED ALWAYS AS
        (to_tsvector('english'::regconfig, subject || ' ' || description)) STORED;
CREATE INDEX tickets_search ON public.tickets USING gin (search);

CREATE FUNCTION public.search_tickets(query text, max_rows integer DEFAULT 100)
RETURNS SETOF public.tickets
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.require_person();
    q tsquery := websearch_to_tsquery('english'::regconfig, coalesce(query, ''));
BEGIN
    IF numnode(q) = 0 THEN
        RETURN;  -- only stop words or nothing: no match, rather than everything
    END IF;
    RETURN QUERY
        SELECT t.* FROM public.tickets t
        WHERE t.search @@ q
          AND CASE me.role
                WHEN 'admin' THEN true
                WHEN 'agent' THEN t.agent_id = me.id OR (t.agent_id IS NULL AND t.status = 'open')
                WHEN 'customer' THEN t.customer_id = me.id
                ELSE false
              END
        ORDER BY t.updated_at DESC, t.id DESC
        LIMIT greatest(least(coalesce(max_rows, 100), 1000), 0);
END
$$;
GRANT EXECUTE ON FUNCTION public.search_tickets(text, integer) TO tickets_customer, tickets_agent, tickets_admin;
