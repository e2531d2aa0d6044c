-- 0034: the notifier's work stays proportional to the changes, not to the queues' history.
--
-- announce_ticket_changes() emptied app.ticket_change_queue and app.ticket_count_deltas with
-- a bare DELETE, a sequential scan of the whole table. Both tables take a row per write and
-- lose it a few ms later, so between autovacuum runs (once a minute at most) they fill with
-- dead rows, and the file keeps its largest size after. Measured at 1,000,000 tickets with 32
-- agents writing 700 times a second beside 100 live clients: the queue was 27 MB for 303 live
-- rows, each call read all 3,422 pages (25 ms, even with nothing queued), and the notifier
-- took a whole core of the two (1,106 calls, 17.9 ms each, in 20 s), which the writers then
-- waited for (p99 142 ms a write).
--
-- Now both are taken through their primary key, oldest first and at most 10,000 rows a call
-- (the rest on the next call, 5 ms later): only index entries and the pages of the rows moved
-- are read, whatever the statistics were when the notifier's session cached its plans. Autovacuum is also told to visit both tables whenever 500 rows have died, so
-- their space is reused.

SET LOCAL ROLE tickets_owner;

ALTER TABLE app.ticket_change_queue SET (
    autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 500,
    autovacuum_vacuum_cost_delay = 0);
ALTER TABLE app.ticket_count_deltas SET (
    autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 500,
    autovacuum_vacuum_cost_delay = 0);

-- Supersedes the body of 0022: the same moves, through the primary keys.
CREATE OR REPLACE FUNCTION public.announce_ticket_changes() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- Plans are cached for the notifier's long session: made when a queue was empty, they would
-- scan it whole once it has grown. The indexes are the way in, whatever the statistics said.
SET enable_seqscan = off
AS $$
DECLARE
    state app.change_announcer;
    new_head bigint;
    channels text[];
    channel text;
BEGIN
    -- Idle (the usual case between changes): no lock, no transaction id, no write.
    IF NOT EXISTS (SELECT 1 FROM app.ticket_change_queue)
       AND EXISTS (SELECT 1 FROM app.ticket_counters c WHERE c.scope = 'valid') THEN
        RETURN NULL;
    END IF;
    SELECT * INTO state FROM app.change_announcer WHERE id = 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        -- Another notifier is at it, or a crash emptied this UNLOGGED table: recreate the row
        -- (a no-op when it exists) and announce on the next call.
        INSERT INTO app.change_announcer (id) VALUES (1) ON CONFLICT (id) DO NOTHING;
        RETURN NULL;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM app.ticket_counters c WHERE c.scope = 'valid') THEN
        PERFORM app.rebuild_ticket_counters();
    ELSE
        -- Fold the counts' deltas into their totals (one snapshot: a reader sees either).
        WITH folded AS (
            DELETE FROM app.ticket_count_deltas d
            WHERE d.id = ANY (ARRAY(SELECT x.id FROM app.ticket_count_deltas x
                                    ORDER BY x.id LIMIT 10000))
            RETURNING d.scope, d.agent_id, d.delta
        ), sums AS (
            SELECT f.scope, f.agent_id, sum(f.delta) AS n FROM folded f GROUP BY f.scope, f.agent_id
        )
        INSERT INTO app.ticket_counters AS c (scope, agent_id, n)
        SELECT s.scope, s.agent_id, s.n FROM sums s
        ON CONFLICT (scope, agent_id) DO UPDATE SET n = c.n + excluded.n;
    END IF;
    -- Numbered here, in this one session's commit order: a reader that has seen seq N has
    -- seen every change announced up to N, whatever order the writers committed in.
    WITH moved AS (
        DELETE FROM app.ticket_change_queue q
        WHERE q.id = ANY (ARRAY(SELECT x.id FROM app.ticket_change_queue x
                                ORDER BY x.id LIMIT 10000))
        RETURNING q.*
    ), numbered AS (
        INSERT INTO public.ticket_changes
            (seq, ticket_id, kind, customer_id, agent_id, old_agent_id, pool, internal, queued_at)
        SELECT pg_catalog.nextval('app.ticket_change_seq'), m.ticket_id, m.kind, m.customer_id,
               m.agent_id, m.old_agent_id, m.pool, m.internal, m.queued_at
        FROM (SELECT * FROM moved ORDER BY id) m
        RETURNING seq, customer_id, agent_id, old_agent_id, pool, internal
    ), audiences AS (
        SELECT 'customer:' || n.customer_id AS audience FROM numbered n WHERE NOT n.internal
        UNION SELECT 'agent:' || n.agent_id FROM numbered n WHERE n.agent_id IS NOT NULL
        UNION SELECT 'agent:' || n.old_agent_id FROM numbered n WHERE n.old_agent_id IS NOT NULL
        UNION SELECT 'pool' FROM numbered n WHERE n.pool
        UNION SELECT 'admin' FROM numbered n
    )
    SELECT (SELECT max(n.seq) FROM numbered n),
           (SELECT array_agg(app.change_channel(a.audience)) FROM audiences a)
    INTO new_head, channels;
    IF new_head IS NULL THEN
        RETURN NULL;
    END IF;
    UPDATE app.change_announcer SET head = new_head WHERE id = 1;
    -- Bounded size: the last 100,000 changes (clients read within a fraction of a second;
    -- one that fell further behind re-reads everything).
    IF state.pruned_at < pg_catalog.now() - interval '5 seconds' THEN
        DELETE FROM public.ticket_changes c WHERE c.seq <= new_head - 100000;
        UPDATE app.change_announcer SET pruned_at = pg_catalog.now() WHERE id = 1;
    END IF;
    PERFORM pg_catalog.pg_notify('tickets_changed', new_head::text);
    FOREACH channel IN ARRAY channels LOOP
        PERFORM pg_catalog.pg_notify(channel, new_head::text);
    END LOOP;
    RETURN new_head;
END
$$;
COMMENT ON FUNCTION public.announce_ticket_changes() IS
    'Run by the notifier (tickets notifier) every few ms: numbers the queued changes (at most 10,000 a call, oldest first, read through the primary key) into ticket_changes and NOTIFYs the new head seq on tickets_changed and on the private channel of each audience of the batch (my_change_channels). Returns the head, or NULL when nothing was announced. Current body from 0034 (supersedes 0022).';
