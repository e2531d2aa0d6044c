-- 0045: history rows and messages take time-ordered ids (UUID version 7).
--
-- Both tables only grow, but their primary keys were gen_random_uuid(): every new row's key went
-- to a random leaf of the key's index. After a checkpoint, the first change to a page writes the
-- whole page to the WAL, so each history row wrote about 5 KB of WAL for its key alone (35 MB of
-- the 176 MB that 6,800 claims and releases wrote right after a checkpoint, the most of any
-- relation), and 32 writing agents waited on the WAL flush more than on anything else.
--
-- A version 7 UUID starts with the Unix time in milliseconds (RFC 9562), so new keys go to the
-- right-hand end of the index, as a sequence's would, and the ids stay UUIDs that nobody can
-- guess the next of. The time in them is the row's own changed_at/created_at to the millisecond,
-- which whoever may read the row reads anyway. Existing rows keep their ids. PostgreSQL 18 has
-- uuidv7() built in; this is the same layout for the versions before it.

SET LOCAL ROLE tickets_owner;

-- No SET search_path, unlike every other function here: a SET clause keeps PostgreSQL from
-- inlining a SQL function, and the call then cost 34 us per inserted row instead of 6 (20,000
-- single-row INSERTs; gen_random_uuid() alone: 4). Every name in the body is qualified with
-- pg_catalog instead, so the caller's search_path cannot change what it calls.
CREATE FUNCTION app.uuid_v7() RETURNS pg_catalog.uuid
LANGUAGE sql VOLATILE PARALLEL SAFE
AS $$
    -- 48 bits of milliseconds over the first six bytes of a random UUID, then the version
    -- nibble from 4 (0100) to 7 (0111): bits 52 and 53 of the bytea, counted from the low bit
    -- of each byte. The variant bits stay as gen_random_uuid() set them.
    SELECT pg_catalog.encode(
        pg_catalog.set_bit(pg_catalog.set_bit(
            pg_catalog.overlay(
                pg_catalog.uuid_send(pg_catalog.gen_random_uuid()),
                pg_catalog.substring(pg_catalog.int8send(pg_catalog.floor(
                    pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) OPERATOR(pg_catalog.*) 1000)::pg_catalog.int8), 3),
                1, 6),
            52, 1), 53, 1),
        'hex')::pg_catalog.uuid
$$;
COMMENT ON FUNCTION app.uuid_v7() IS
    'A UUID version 7 (RFC 9562): milliseconds since 1970, then random bits. Keys of the append-only tables, so their indexes grow at one end (0045).';
GRANT EXECUTE ON FUNCTION app.uuid_v7() TO tickets_customer, tickets_agent, tickets_admin;

ALTER TABLE public.ticket_status_history ALTER COLUMN id SET DEFAULT app.uuid_v7();
ALTER TABLE public.ticket_messages ALTER COLUMN id SET DEFAULT app.uuid_v7();
