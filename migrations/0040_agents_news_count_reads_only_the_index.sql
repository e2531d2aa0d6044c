-- 0040: an agent's news count reads only the index.
--
-- unseen_count(at_most) counts an agent's active tickets with news, up to at_most + 1. Its
-- agent branch found them in tickets_agent_active with a bitmap scan, which reads every entry
-- of the agent's active tickets before the LIMIT can stop it, then fetched each ticket for its
-- updated_at: 3,310 index entries, 87 heap pages and 1.5 ms for the seeded agent with 975
-- active tickets. It is what a live agent's client asks after every change it sees: in
-- `tickets bench --crowd 200` it was the largest cost of all (9,783 calls in 30 s, 1.1 ms each
-- under that load). With updated_at in the index the count is an index-only scan, which the
-- LIMIT stops: 5 buffers. The agent's Mine queue reads the same index as before.

SET LOCAL ROLE tickets_owner;

DROP INDEX public.tickets_agent_active;
CREATE INDEX tickets_agent_active ON public.tickets (agent_id, priority DESC, created_at, id)
    INCLUDE (updated_at)
    WHERE status IN ('open', 'in_progress', 'waiting_on_customer');
COMMENT ON INDEX public.tickets_agent_active IS
    'An agent''s active tickets by urgency (the Mine queue); carries updated_at so that unseen_count() counts them from the index alone.';
