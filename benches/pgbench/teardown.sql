-- Restores bench_agent1's connection limit (setup.sql lifted it), then drops the bench's tables.
DO $$
BEGIN
    EXECUTE format('ALTER ROLE bench_agent1 CONNECTION LIMIT %s', (SELECT n FROM benchpg.saved_limit));
END
$$;
DROP SCHEMA benchpg CASCADE;
