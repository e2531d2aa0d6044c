-- 0020: writers no longer notify; a change log read through RLS, announced by one notifier.
--
-- Until now every ticket write ran pg_notify in its own transaction (tickets_notify, 0002).
-- At commit PostgreSQL serialises every notifying transaction on one cluster-wide lock, held
-- through the WAL flush, so writers queued one behind another (claim/release fell from 90/s
-- with one agent to 72/s with 32, p99 919 ms). Now:
--
-- 1. Triggers append a row to app.ticket_change_queue (no NOTIFY, no shared row to update:
--    writers never wait for each other here).
-- 2. One notifier (`tickets notifier`, a trusted session: a superuser or a member of
--    tickets_notifier) calls announce_ticket_changes() every few milliseconds. It moves the
--    queued rows into public.ticket_changes, numbering them in the order it commits them
--    (so a reader that has seen seq N has seen every committed row up to N), and NOTIFYs
--    tickets_changed with the highest seq: a number only.
-- 3. Clients read `seq > last AND seq <= head` from public.ticket_changes through RLS: a
--    person sees change rows only about tickets they could read before or after the change,
--    and internal notes only when staff. A change they may not read gives their client an
--    empty answer and nothing else.
--
-- Both tables are UNLOGGED: a crash empties them, and every client reconnects and re-reads
-- everything after a crash anyway; in exchange neither the writers' queue rows nor the
-- notifier's moves cost WAL. The log keeps the last 100,000 changes (pruned by the notifier).
--
-- What a person can learn from it: the ids of tickets they may read, and the global number
-- of changes (seq, and the notifications' timing), which anyone can already read from
-- pg_current_xact_id() or pg_stat_user_tables.

SET LOCAL ROLE tickets_owner;

-- Written by the writers' triggers only (no grants: clients cannot read or write it).
CREATE UNLOGGED TABLE app.ticket_change_queue (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id    uuid NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('ticket', 'message')),
    customer_id  uuid NOT NULL,
    agent_id     uuid,
    old_agent_id uuid,
    pool         boolean NOT NULL,
    internal     boolean NOT NULL DEFAULT false,
    queued_at    timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
COMMENT ON TABLE app.ticket_change_queue IS
    'Changes not yet announced, appended by the writers'' triggers (app.record_ticket_change); moved into ticket_changes by announce_ticket_changes().';

CREATE SEQUENCE app.ticket_change_seq;

CREATE UNLOGGED TABLE public.ticket_changes (
    seq          bigint PRIMARY KEY,
    ticket_id    uuid NOT NULL,
    kind         text NOT NULL,
    -- Who may read the row (the read policies below); not granted to clients.
    customer_id  uuid NOT NULL,
    agent_id     uuid,
    old_agent_id uuid,
    pool         boolean NOT NULL,
    internal     boolean NOT NULL,
    queued_at    timestamptz NOT NULL,
    announced_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE public.ticket_changes IS
    'What changed, in the order announced on tickets_changed: clients read `seq > last AND seq <= ticket_changes_head()` through RLS and re-read those tickets. Kept for the last 100,000 changes; emptied by a crash (clients re-read everything after reconnecting).';
COMMENT ON COLUMN public.ticket_changes.pool IS
    'The ticket was, or now is, open and unassigned: every agent may have it on screen.';
COMMENT ON COLUMN public.ticket_changes.internal IS
    'An internal note: staff only.';

-- The notifier's state: one row, locked while announcing so two notifiers never interleave.
CREATE UNLOGGED TABLE app.change_announcer (
    id        integer PRIMARY KEY CHECK (id = 1),
    head      bigint NOT NULL DEFAULT 0,
    pruned_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
INSERT INTO app.change_announcer (id) VALUES (1);

-- Maintained counts (the tabs' numbers) without a shared row for writers to queue on: each
-- write appends its deltas; the notifier folds them into the totals. A reader adds the
-- totals and the few deltas not yet folded, so the figure is exact. Scopes: 'all' and 'pool'
-- (agent_id is the zero uuid), 'agent' (every ticket ever assigned to agent_id); 'valid'
-- marks the totals as built (a crash empties these UNLOGGED tables, and they are rebuilt).
CREATE UNLOGGED TABLE app.ticket_count_deltas (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope    text NOT NULL,
    agent_id uuid NOT NULL,
    delta    integer NOT NULL
);
CREATE INDEX ticket_count_deltas_key ON app.ticket_count_deltas (scope, agent_id);
CREATE UNLOGGED TABLE app.ticket_counters (
    scope    text NOT NULL,
    agent_id uuid NOT NULL,
    n        bigint NOT NULL,
    PRIMARY KEY (scope, agent_id)
);
COMMENT ON TABLE app.ticket_counters IS
    'Totals for ticket_counts(): ''all'', ''pool'' and per agent ''agent'', plus the deltas in ticket_count_deltas not yet folded in by announce_ticket_changes().';

-- (Re)builds the totals from the tickets in one statement (one snapshot): the deltas it
-- deletes are exactly those of the writes its counts include.
CREATE FUNCTION app.rebuild_ticket_counters() RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    DELETE FROM app.ticket_counters;
    WITH folded AS (DELETE FROM app.ticket_count_deltas RETURNING 1),
    totals AS (
        SELECT 'all'::text AS scope, '00000000-0000-0000-0000-000000000000'::uuid AS agent_id,
               count(*) AS n FROM public.tickets
        UNION ALL
        SELECT 'pool', '00000000-0000-0000-0000-000000000000', count(*) FROM public.tickets t
        WHERE t.agent_id IS NULL AND t.status = 'open'
        UNION ALL
        SELECT 'agent', t.agent_id, count(*) FROM public.tickets t
        WHERE t.agent_id IS NOT NULL GROUP BY t.agent_id
        UNION ALL
        SELECT 'valid', '00000000-0000-0000-0000-000000000000', (SELECT count(*) FROM folded))
    INSERT INTO app.ticket_counters (scope, agent_id, n) SELECT * FROM totals;
$$;

ALTER TABLE app.ticket_change_queue ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.ticket_change_queue FORCE ROW LEVEL SECURITY;
ALTER TABLE public.ticket_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.ticket_changes FORCE ROW LEVEL SECURITY;
ALTER TABLE app.change_announcer ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.change_announcer FORCE ROW LEVEL SECURITY;
ALTER TABLE app.ticket_count_deltas ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.ticket_count_deltas FORCE ROW LEVEL SECURITY;
ALTER TABLE app.ticket_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.ticket_counters FORCE ROW LEVEL SECURITY;
CREATE POLICY deltas_owner_all ON app.ticket_count_deltas FOR ALL TO tickets_owner
    USING (true) WITH CHECK (true);
CREATE POLICY counters_owner_all ON app.ticket_counters FOR ALL TO tickets_owner
    USING (true) WITH CHECK (true);

CREATE POLICY queue_owner_all ON app.ticket_change_queue FOR ALL TO tickets_owner
    USING (true) WITH CHECK (true);
CREATE POLICY announcer_owner_all ON app.change_announcer FOR ALL TO tickets_owner
    USING (true) WITH CHECK (true);
CREATE POLICY changes_owner_all ON public.ticket_changes FOR ALL TO tickets_owner
    USING (true) WITH CHECK (true);
-- A person reads the changes of the tickets they could read before or after the change.
CREATE POLICY changes_customer_read ON public.ticket_changes FOR SELECT TO tickets_customer
    USING (customer_id = (SELECT app.uid()) AND NOT internal);
CREATE POLICY changes_agent_read ON public.ticket_changes FOR SELECT TO tickets_agent
    USING (agent_id = (SELECT app.uid()) OR old_agent_id = (SELECT app.uid())
           OR (pool AND (SELECT app.uid() IS NOT NULL)));
CREATE POLICY changes_admin_read ON public.ticket_changes FOR SELECT TO tickets_admin
    USING ((SELECT app.user_role() = 'admin'));
-- Only the columns a client needs; the visibility columns stay the policies' business.
GRANT SELECT (seq, ticket_id, kind) ON public.ticket_changes
    TO tickets_customer, tickets_agent, tickets_admin;

-- Appends one change to the queue. For the triggers of tickets (and of ticket_messages).
CREATE FUNCTION app.record_ticket_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    was_pool boolean;
    is_pool boolean;
BEGIN
    IF TG_TABLE_NAME = 'tickets' THEN
        was_pool := TG_OP = 'UPDATE' AND OLD.agent_id IS NULL AND OLD.status = 'open';
        is_pool := NEW.agent_id IS NULL AND NEW.status = 'open';
        INSERT INTO app.ticket_change_queue
            (ticket_id, kind, customer_id, agent_id, old_agent_id, pool)
        VALUES (NEW.id, 'ticket', NEW.customer_id, NEW.agent_id,
                CASE WHEN TG_OP = 'UPDATE' THEN OLD.agent_id END, was_pool OR is_pool);
        -- The counts' deltas (appended, never updated in place: no writer waits on another).
        IF TG_OP = 'INSERT' THEN
            INSERT INTO app.ticket_count_deltas (scope, agent_id, delta)
            VALUES ('all', '00000000-0000-0000-0000-000000000000', 1);
        END IF;
        IF was_pool <> is_pool THEN
            INSERT INTO app.ticket_count_deltas (scope, agent_id, delta)
            VALUES ('pool', '00000000-0000-0000-0000-000000000000', CASE WHEN is_pool THEN 1 ELSE -1 END);
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
            (ticket_id, kind, customer_id, agent_id, old_agent_id, pool, internal)
        SELECT t.id, 'message', t.customer_id, t.agent_id, t.agent_id,
               t.agent_id IS NULL AND t.status = 'open', NEW.internal
        FROM public.tickets t WHERE t.id = NEW.ticket_id;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER tickets_notify ON public.tickets;
DROP FUNCTION app.notify_ticket_changed();
CREATE TRIGGER tickets_record_change AFTER INSERT OR UPDATE ON public.tickets
    FOR EACH ROW EXECUTE FUNCTION app.record_ticket_change();
-- Messages too (0013 notified their ticket's id in the writer's transaction): a public reply
-- is announced to whoever may read the ticket, an internal note to staff only.
DROP TRIGGER ticket_messages_notify ON public.ticket_messages;
DROP FUNCTION app.notify_message_posted();
CREATE TRIGGER ticket_messages_record_change AFTER INSERT ON public.ticket_messages
    FOR EACH ROW EXECUTE FUNCTION app.record_ticket_change();

-- The announcer. Trusted sessions only: whoever runs it decides when everyone hears of a
-- change, so a person who could call it and then hold their transaction open would silence
-- every client.
RESET ROLE;
DO $notifier$
DECLARE
    note constant text := 'May run announce_ticket_changes(): grant it to the login that runs `tickets notifier` (a superuser may too). Not for people.';
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'tickets_notifier') THEN
        CREATE ROLE tickets_notifier NOLOGIN;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'tickets_notifier'
               AND (rolcanlogin OR rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb)) THEN
        ALTER ROLE tickets_notifier NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO tickets_notifier', current_database());
    -- Roles are cluster-wide: comment only when needed (two databases migrating at once
    -- would otherwise update the same catalog row: "tuple concurrently updated").
    IF pg_catalog.shobj_description('tickets_notifier'::regrole, 'pg_authid') IS DISTINCT FROM note THEN
        EXECUTE format('COMMENT ON ROLE tickets_notifier IS %L', note);
    END IF;
END
$notifier$;
GRANT USAGE ON SCHEMA public TO tickets_notifier;
SET LOCAL ROLE tickets_owner;

CREATE FUNCTION public.announce_ticket_changes() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    state app.change_announcer;
    new_head bigint;
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
            DELETE FROM app.ticket_count_deltas d RETURNING d.scope, d.agent_id, d.delta
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
        DELETE FROM app.ticket_change_queue q RETURNING q.*
    ), numbered AS (
        INSERT INTO public.ticket_changes
            (seq, ticket_id, kind, customer_id, agent_id, old_agent_id, pool, internal, queued_at)
        SELECT pg_catalog.nextval('app.ticket_change_seq'), m.ticket_id, m.kind, m.customer_id,
               m.agent_id, m.old_agent_id, m.pool, m.internal, m.queued_at
        FROM (SELECT * FROM moved ORDER BY id) m
        RETURNING seq
    )
    SELECT max(seq) INTO new_head FROM numbered;
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
    RETURN new_head;
END
$$;
COMMENT ON FUNCTION public.announce_ticket_changes() IS
    'Run by the notifier (tickets notifier) every few ms: numbers the queued changes into ticket_changes and NOTIFYs tickets_changed with the new head seq. Returns the head, or NULL when nothing was announced.';
REVOKE EXECUTE ON FUNCTION public.announce_ticket_changes() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.announce_ticket_changes() TO tickets_notifier;

-- The highest seq announced: where a client starts reading, and the upper bound of each
-- read (so a number forged into a notification cannot make a client skip real changes).
CREATE FUNCTION public.ticket_changes_head() RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- A standby cannot plan a statement on an UNLOGGED table (and has no notifier).
    IF pg_catalog.pg_is_in_recovery() THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT a.head FROM app.change_announcer a WHERE a.id = 1);
END
$$;
COMMENT ON FUNCTION public.ticket_changes_head() IS
    'The seq of the last announced change (0 before the first; a global count anyone can read from pg_current_xact_id() too).';
GRANT EXECUTE ON FUNCTION public.ticket_changes_head()
    TO tickets_customer, tickets_agent, tickets_admin, tickets_notifier;

-- The counts the tabs show (0009 supersedes): the pool, an agent's "all I can see" and the
-- admin's "all" from the maintained totals (exact: totals plus unfolded deltas) instead of
-- counting up to a million rows; a customer's and an agent's active queue are still counted
-- (a few thousand index entries at most). Without valid totals (no notifier has run since a
-- crash) or on a standby, it counts, slowly but exactly.
CREATE OR REPLACE FUNCTION app.ticket_count(scope_name text, agent uuid) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT c.n FROM app.ticket_counters c
                     WHERE c.scope = scope_name AND c.agent_id = agent), 0)
         + coalesce((SELECT sum(d.delta) FROM app.ticket_count_deltas d
                     WHERE d.scope = scope_name AND d.agent_id = agent), 0)
$$;

CREATE OR REPLACE FUNCTION public.ticket_counts()
RETURNS TABLE (mine bigint, unassigned bigint, visible bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.require_person();
    zero constant uuid := '00000000-0000-0000-0000-000000000000';
    pool bigint;
    counting boolean;
BEGIN
    IF me.role = 'customer' THEN
        RETURN QUERY SELECT count(*), 0::bigint, count(*) FROM public.tickets t WHERE t.customer_id = me.id;
        RETURN;
    END IF;
    -- A standby cannot even plan a statement on an UNLOGGED table, and totals not yet
    -- (re)built are not valid: then count, slowly but exactly.
    counting := pg_catalog.pg_is_in_recovery();
    IF NOT counting THEN
        counting := NOT EXISTS (SELECT 1 FROM app.ticket_counters c WHERE c.scope = 'valid');
    END IF;
    IF counting THEN
        SELECT count(*) INTO pool FROM public.tickets t WHERE t.agent_id IS NULL AND t.status = 'open';
        IF me.role = 'agent' THEN
            RETURN QUERY SELECT
                (SELECT count(*) FROM public.tickets t
                 WHERE t.agent_id = me.id AND t.status IN ('open', 'in_progress', 'waiting_on_customer')),
                pool, pool + (SELECT count(*) FROM public.tickets t WHERE t.agent_id = me.id);
            RETURN;
        END IF;
        RETURN QUERY SELECT 0::bigint, pool, (SELECT count(*) FROM public.tickets);
        RETURN;
    END IF;
    pool := app.ticket_count('pool', zero);
    IF me.role = 'agent' THEN
        RETURN QUERY SELECT
            (SELECT count(*) FROM public.tickets t
             WHERE t.agent_id = me.id AND t.status IN ('open', 'in_progress', 'waiting_on_customer')),
            pool, pool + app.ticket_count('agent', me.id);
        RETURN;
    END IF;
    RETURN QUERY SELECT 0::bigint, pool, app.ticket_count('all', zero);
END
$$;

COMMENT ON FUNCTION public.ticket_counts() IS
    'How many tickets the caller''s queues hold (mine, unassigned, all visible): the pool and the large totals from maintained counters (app.ticket_counters plus unfolded deltas, exact), a customer''s and an agent''s active queue counted from their index (0020 supersedes 0009).';
COMMENT ON FUNCTION app.ticket_count(text, uuid) IS
    'One maintained total: its folded value plus the deltas appended since.';
COMMENT ON FUNCTION app.rebuild_ticket_counters() IS
    'Recounts the maintained totals from the tickets in one snapshot (after a crash emptied them, or on demand).';
COMMENT ON FUNCTION app.record_ticket_change() IS
    'Trigger: queues a change for announcement and appends the counts'' deltas, instead of NOTIFYing in the writer''s transaction (0020 supersedes app.notify_ticket_changed of 0002).';
COMMENT ON TABLE public.tickets IS
    'The tickets. Changed only under the read/write policies and the checks of app.check_ticket_insert/check_ticket_update; every change of status, agent or priority is written to ticket_status_history by a trigger, and every write is queued for announcement (ticket_changes; 0020).';
COMMENT ON TABLE app.change_announcer IS
    'The notifier''s state (one row): the last announced seq, and when the log was last pruned. Locked while announcing, so two notifiers never interleave.';
COMMENT ON TABLE app.ticket_count_deltas IS
    'Count changes appended by the writers'' trigger, folded into app.ticket_counters by announce_ticket_changes().';
COMMENT ON POLICY changes_customer_read ON public.ticket_changes IS
    'A customer reads the changes of their own tickets, never internal notes.';
COMMENT ON POLICY changes_agent_read ON public.ticket_changes IS
    'An agent reads the changes of tickets assigned to them before or after the change, and of tickets in the pool before or after it (which every agent may have had on screen).';
COMMENT ON POLICY changes_admin_read ON public.ticket_changes IS
    'Admins read every change.';

SELECT app.rebuild_ticket_counters();
