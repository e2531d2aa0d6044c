-- 0022: each person hears only of changes they may read: private channels.
--
-- Until now the notifier announced every change batch on the one channel tickets_changed,
-- which every client LISTENed to; so every client read the change log after every change to
-- any ticket (an empty answer when the change was not theirs): a query per client per change.
-- Now the notifier also NOTIFYs one channel per audience the batch concerns:
--   * each customer whose ticket changed (not for internal notes),
--   * each agent the ticket was or now is assigned to,
--   * the agents' pool, when the ticket was or now is open and unassigned,
--   * the admins, for every batch.
-- A channel's name is a keyed hash of its audience (the key is in a table no client can
-- read), so nobody can LISTEN to another person's channel nor send on it: a customer cannot
-- learn when another customer's tickets change, and only the audiences of a change wake up.
-- Clients learn their own channels from my_change_channels(). The payload is still only the
-- new head (a number), and a hint still only means "read the change log through RLS".
-- tickets_changed itself keeps being announced (DESIGN §3: scripts may listen to it); the
-- client no longer listens to it.

SET LOCAL ROLE tickets_owner;

CREATE TABLE app.change_channel_key (
    id  integer PRIMARY KEY CHECK (id = 1),
    key text NOT NULL
);
-- 244 random bits (two version-4 UUIDs); no grants: clients cannot read it.
INSERT INTO app.change_channel_key (id, key)
VALUES (1, pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text);
ALTER TABLE app.change_channel_key ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.change_channel_key FORCE ROW LEVEL SECURITY;
CREATE POLICY change_channel_key_owner ON app.change_channel_key FOR ALL TO tickets_owner
    USING (true) WITH CHECK (true);
COMMENT ON TABLE app.change_channel_key IS
    'The secret that names the private change channels (app.change_channel). Replacing it renames every channel: clients pick the new names up when they reconnect.';

-- The channel of an audience: 'customer:<id>', 'agent:<id>', 'pool' or 'admin'.
CREATE FUNCTION app.change_channel(audience text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'tickets_' || left(encode(sha256(convert_to(k.key || ':' || audience, 'UTF8')), 'hex'), 40)
    FROM app.change_channel_key k WHERE k.id = 1
$$;
REVOKE EXECUTE ON FUNCTION app.change_channel(text) FROM PUBLIC;
COMMENT ON FUNCTION app.change_channel(text) IS
    'The private channel of an audience (''customer:<id>'', ''agent:<id>'', ''pool'', ''admin''): tickets_ and 40 hex digits of sha256(key:audience). For the notifier and my_change_channels() only.';

CREATE FUNCTION public.my_change_channels() RETURNS text[]
LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me public.users := app.require_person();
BEGIN
    RETURN CASE me.role
        WHEN 'customer' THEN ARRAY[app.change_channel('customer:' || me.id)]
        WHEN 'agent' THEN ARRAY[app.change_channel('agent:' || me.id), app.change_channel('pool')]
        ELSE ARRAY[app.change_channel('admin')]
    END;
END
$$;
REVOKE EXECUTE ON FUNCTION public.my_change_channels() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.my_change_channels()
    TO tickets_customer, tickets_agent, tickets_admin;
COMMENT ON FUNCTION public.my_change_channels() IS
    'The channels on which the notifier announces the changes the caller may read (LISTEN to each; the payload is the new head of ticket_changes). A customer''s own, an agent''s own plus the pool''s, the admins''.';

-- Supersedes the body of 0020: the same moves, and the audiences' channels notified too.
CREATE OR REPLACE FUNCTION public.announce_ticket_changes() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
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
    'Run by the notifier (tickets notifier) every few ms: numbers the queued changes into ticket_changes and NOTIFYs the new head seq on tickets_changed and on the private channel of each audience of the batch (my_change_channels). Returns the head, or NULL when nothing was announced. Current body from 0022 (supersedes 0020).';
