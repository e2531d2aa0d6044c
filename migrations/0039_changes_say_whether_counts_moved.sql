-- 0039: a change says whether it may have moved a count, so clients re-count only then.
--
-- Every live client re-read its header counts (ticket_counts()) after every change it could
-- see. Most changes move no count: a priority, a subject, a message. In `tickets bench --crowd
-- 200` (50 priority changes a second at 1,000,000 tickets) ticket_counts() was a fifth of the
-- server's time: 9,940 calls in 30 s, 0.88 ms each under that load. Every count is of tickets
-- by status and agent (the pool, an agent's active and assigned tickets, all of them), so only
-- a filing, a status change or an assignment moves one. The change says so in a new column,
-- moves_counts, which people may read like kind: it tells nothing the ticket's own row, which
-- they may read, does not (a change to a ticket they may no longer read is not theirs to read).

SET LOCAL ROLE tickets_owner;

ALTER TABLE app.ticket_change_queue ADD COLUMN moves_counts boolean NOT NULL DEFAULT true;
ALTER TABLE public.ticket_changes ADD COLUMN moves_counts boolean NOT NULL DEFAULT true;
COMMENT ON COLUMN public.ticket_changes.moves_counts IS
    'The change may have moved a count of the queues (a ticket filed, its status or its agent changed): clients re-read ticket_counts() only for such changes.';
GRANT SELECT (moves_counts) ON public.ticket_changes
    TO tickets_customer, tickets_agent, tickets_admin;

-- Supersedes the body of 0030: the same rows, and moves_counts.
CREATE OR REPLACE FUNCTION app.record_ticket_change()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    was_pool boolean;
    is_pool boolean;
    was_active uuid;
    is_active uuid;
BEGIN
    IF TG_TABLE_NAME = 'tickets' THEN
        was_pool := TG_OP = 'UPDATE' AND OLD.agent_id IS NULL AND OLD.status = 'open';
        is_pool := NEW.agent_id IS NULL AND NEW.status = 'open';
        INSERT INTO app.ticket_change_queue
            (ticket_id, kind, customer_id, agent_id, old_agent_id, pool, moves_counts)
        VALUES (NEW.id, 'ticket', NEW.customer_id, NEW.agent_id,
                CASE WHEN TG_OP = 'UPDATE' THEN OLD.agent_id END, was_pool OR is_pool,
                -- Every count is of tickets by status and agent: nothing else moves one.
                TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status
                    OR NEW.agent_id IS DISTINCT FROM OLD.agent_id);
        -- The counts' deltas (appended, never updated in place: no writer waits on another).
        IF TG_OP = 'INSERT' THEN
            INSERT INTO app.ticket_count_deltas (scope, agent_id, delta)
            VALUES ('all', '00000000-0000-0000-0000-000000000000', 1);
        END IF;
        IF was_pool <> is_pool THEN
            INSERT INTO app.ticket_count_deltas (scope, agent_id, delta)
            VALUES ('pool', '00000000-0000-0000-0000-000000000000', CASE WHEN is_pool THEN 1 ELSE -1 END);
        END IF;
        -- An agent's active queue (mine): whose it was and whose it is, if anyone's.
        IF TG_OP = 'UPDATE' AND OLD.status IN ('open', 'in_progress', 'waiting_on_customer') THEN
            was_active := OLD.agent_id;
        END IF;
        IF NEW.status IN ('open', 'in_progress', 'waiting_on_customer') THEN
            is_active := NEW.agent_id;
        END IF;
        IF was_active IS DISTINCT FROM is_active THEN
            IF was_active IS NOT NULL THEN
                INSERT INTO app.ticket_count_deltas (scope, agent_id, delta)
                VALUES ('active', was_active, -1);
            END IF;
            IF is_active IS NOT NULL THEN
                INSERT INTO app.ticket_count_deltas (scope, agent_id, delta)
                VALUES ('active', is_active, 1);
            END IF;
        END IF;
        IF TG_OP = 'INSERT' OR NEW.agent_id IS DISTINCT FROM OLD.agent_id THEN
            IF TG_OP = 'UPDATE' AND OLD.agent_id IS NOT NULL THEN
                INSERT INTO app.ticket_count_deltas (scope, agent_id, delta)
                VALUES ('agent', OLD.agent_id, -1);
            END IF;
            IF NEW.agent_id IS NOT NULL THEN
                INSERT INTO app.ticket_count_deltas (scope, agent_id, delta)
                VALUES ('agent', NEW.agent_id, 1);
            END IF;
        END IF;
    ELSE
        -- A message: visible with its ticket, an internal note to staff only.
        INSERT INTO app.ticket_change_queue
            (ticket_id, kind, customer_id, agent_id, old_agent_id, pool, internal, moves_counts)
        SELECT t.id, 'message', t.customer_id, t.agent_id, t.agent_id,
               t.agent_id IS NULL AND t.status = 'open', NEW.internal, false
        FROM public.tickets t WHERE t.id = NEW.ticket_id;
    END IF;
    RETURN NULL;
END
$function$;

-- Supersedes the body of 0034: the same moves, and moves_counts.
CREATE OR REPLACE FUNCTION public.announce_ticket_changes()
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET enable_seqscan TO 'off'
AS $function$
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
            (seq, ticket_id, kind, customer_id, agent_id, old_agent_id, pool, internal, queued_at,
             moves_counts)
        SELECT pg_catalog.nextval('app.ticket_change_seq'), m.ticket_id, m.kind, m.customer_id,
               m.agent_id, m.old_agent_id, m.pool, m.internal, m.queued_at, m.moves_counts
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
$function$;

COMMENT ON FUNCTION app.record_ticket_change() IS
    'Trigger: queues a change for announcement (with moves_counts: a filing, a status or an agent change) and appends the counts'' deltas (all, pool, agent, active), instead of NOTIFYing in the writer''s transaction. Body from 0039 (supersedes 0030).';
COMMENT ON FUNCTION public.announce_ticket_changes() IS
    'Run by the notifier (tickets notifier) every few ms: numbers the queued changes (at most 10,000 a call, oldest first, read through the primary key) into ticket_changes and NOTIFYs the new head seq on tickets_changed and on the private channel of each audience of the batch (my_change_channels). Returns the head, or NULL when nothing was announced. Current body from 0039 (supersedes 0034).';
