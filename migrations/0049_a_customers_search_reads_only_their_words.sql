-- 0049: a customer's search reads the words of their own tickets and messages only.
--
-- search_tickets finds a customer's matches by intersecting two indexes: every ticket in the
-- database with the word (tickets_search) and every ticket of the customer (their list index).
-- For a common word that is the first list whole: "printer" is in 33,411 of 1,000,000 tickets,
-- and building that bitmap took 5.4 of the 8.8 ms a search took the busiest customer (7,359
-- tickets, 256 of them with the word), against 6-7 ms for the same search without RLS.
--
-- The words are now indexed with the ticket's customer beside them, in one GIN index over
-- (customer_id, search) and one over the messages' (customer_id, words), so a customer's
-- search walks the two lists inside the index and hands back only their own matches: 28
-- buffers and 0.9 ms for that bitmap, about 2 ms for the whole search. A search by staff names
-- no customer and reads the words column of the same index as it read the old one. A GIN
-- index over a uuid needs the btree_gin extension (PostgreSQL's contrib, trusted), installed
-- here in the schema app if the database does not have it yet.
--
-- Writes: a ticket write, never a HOT update, already put every word of the ticket into
-- tickets_search's pending list; it now puts one entry more, the customer. Building the two
-- indexes holds the tables' writes for the migration's length (about 40 s at 1,000,000 tickets
-- and 3,000,000 messages here).

CREATE EXTENSION IF NOT EXISTS btree_gin SCHEMA app;

SET LOCAL ROLE tickets_owner;

CREATE INDEX tickets_words_by_customer ON public.tickets USING gin (customer_id, search);
DROP INDEX public.tickets_search;
CREATE INDEX ticket_messages_words_by_customer ON public.ticket_messages
    USING gin (customer_id, pg_catalog.to_tsvector('english'::regconfig, body));
DROP INDEX public.ticket_messages_search;

COMMENT ON INDEX public.tickets_words_by_customer IS
    'The tickets'' words (search) with their customer: a customer''s search intersects the two inside the index; staff search the words alone. 0049.';
COMMENT ON INDEX public.ticket_messages_words_by_customer IS
    'The messages'' words with their ticket''s customer: a customer''s search of messages reads only their own. 0049.';
