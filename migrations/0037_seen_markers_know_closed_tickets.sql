-- 0037: an admin's "N new" no longer reads every ticket the admin ever opened (issue 13 item 4).
--
-- For an admin, news is on the tickets they opened before that are not closed. The seen
-- markers did not know which were closed, so unseen_count(at_most) probed the ticket of every
-- marker the admin ever left: bench_admin1's 1,800 (all closed since) cost 2.6-3.2 ms and
-- 5,400 buffers after every change the admin's client heard, growing with the admin's history.
--
-- Each marker now carries whether its ticket is closed, kept by the database:
-- * a new marker reads its ticket's status with the ticket locked FOR SHARE, so a close or
--   reopen in progress is waited for, never missed;
-- * closing or reopening a ticket sets the flag on its markers (the status change holds the
--   ticket's row lock, so it cannot interleave with a new marker of the same ticket).
-- unseen_count(at_most) reads an admin's markers of tickets not closed through a partial
-- index, and still checks each ticket's status itself.

ALTER TABLE public.ticket_seen ADD COLUMN ticket_closed boolean NOT NULL DEFAULT false;
UPDATE public.ticket_seen s SET ticket_closed = true
  FROM public.tickets t WHERE t.id = s.ticket_id AND t.status = 'closed';
COMMENT ON COLUMN public.ticket_seen.ticket_closed IS
    'Whether the ticket is closed, kept by the database (0037): an admin''s count of news reads only the markers of tickets not closed.';

SET LOCAL ROLE tickets_owner;

CREATE INDEX ticket_seen_ticket ON public.ticket_seen (ticket_id);
CREATE INDEX ticket_seen_not_closed ON public.ticket_seen (person_id, ticket_id)
    WHERE NOT ticket_closed;

CREATE FUNCTION app.seen_marker_knows_closed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    SELECT t.status = 'closed' INTO NEW.ticket_closed
    FROM public.tickets t WHERE t.id = NEW.ticket_id FOR SHARE;
    NEW.ticket_closed := coalesce(NEW.ticket_closed, false);
    RETURN NEW;
END
$$;
CREATE TRIGGER ticket_seen_knows_closed BEFORE INSERT ON public.ticket_seen
    FOR EACH ROW EXECUTE FUNCTION app.seen_marker_knows_closed();

CREATE FUNCTION app.seen_markers_follow_closing() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE public.ticket_seen s SET ticket_closed = (NEW.status = 'closed')
     WHERE s.ticket_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER tickets_seen_markers_follow_closing AFTER UPDATE OF status ON public.tickets
    FOR EACH ROW
    WHEN ((OLD.status = 'closed') IS DISTINCT FROM (NEW.status = 'closed'))
    EXECUTE FUNCTION app.seen_markers_follow_closing();

REVOKE ALL ON FUNCTION app.seen_marker_knows_closed() FROM PUBLIC;
REVOKE ALL ON FUNCTION app.seen_markers_follow_closing() FROM PUBLIC;
COMMENT ON FUNCTION app.seen_marker_knows_closed() IS
    'BEFORE INSERT on ticket_seen: the marker''s ticket_closed from its ticket, locked FOR SHARE (a close or reopen in progress is waited for).';
COMMENT ON FUNCTION app.seen_markers_follow_closing() IS
    'AFTER UPDATE OF status on tickets, when the ticket is closed or reopened: sets ticket_closed on its seen markers.';

-- Supersedes 0035's body: the admin's markers of tickets not closed, through the partial index.
CREATE OR REPLACE FUNCTION public.unseen_count(at_most integer) RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.require_person();
BEGIN
    IF at_most IS NULL OR at_most < 0 THEN
        RAISE EXCEPTION 'unseen_count(at_most): at_most must be 0 or more, not %', at_most
            USING ERRCODE = '22023';
    END IF;
    IF me.role = 'customer' THEN
        RETURN (
            SELECT count(*) FROM (
                SELECT 1 FROM public.tickets t
                LEFT JOIN public.ticket_seen s ON s.ticket_id = t.id AND s.person_id = me.id
                WHERE t.customer_id = me.id AND t.status <> 'closed'
                  AND (s.seen_at IS NULL OR t.updated_at > s.seen_at
                       OR EXISTS (SELECT 1 FROM public.ticket_messages m
                                  WHERE m.ticket_id = t.id AND m.created_at > s.seen_at
                                    AND NOT m.internal))
                LIMIT at_most::bigint + 1) news);
    ELSIF me.role = 'agent' THEN
        RETURN (
            SELECT count(*) FROM (
                SELECT 1 FROM public.tickets t
                LEFT JOIN public.ticket_seen s ON s.ticket_id = t.id AND s.person_id = me.id
                WHERE t.agent_id = me.id
                  AND t.status IN ('open', 'in_progress', 'waiting_on_customer')
                  AND (s.seen_at IS NULL OR t.updated_at > s.seen_at
                       OR EXISTS (SELECT 1 FROM public.ticket_messages m
                                  WHERE m.ticket_id = t.id AND m.created_at > s.seen_at))
                LIMIT at_most::bigint + 1) news);
    ELSE
        RETURN (
            SELECT count(*) FROM (
                SELECT 1 FROM public.ticket_seen s
                JOIN public.tickets t ON t.id = s.ticket_id
                WHERE s.person_id = me.id AND NOT s.ticket_closed AND t.status <> 'closed'
                  AND (t.updated_at > s.seen_at
                       OR EXISTS (SELECT 1 FROM public.ticket_messages m
                                  WHERE m.ticket_id = t.id AND m.created_at > s.seen_at))
                LIMIT at_most::bigint + 1) news);
    END IF;
END
$$;
COMMENT ON FUNCTION public.unseen_count(integer) IS
    'unseen_count(), counting no further than at_most + 1 (so the caller can tell "more than at_most"): what a live client asks after every change. One query per role, as the owner, with the rules RLS applies to unseen_count() written out; an admin''s reads only the markers of tickets not closed (0037 supersedes 0035).';

RESET ROLE;
