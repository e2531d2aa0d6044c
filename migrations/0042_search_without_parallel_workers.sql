-- 0042: a search starts no parallel workers.
--
-- search_tickets() looks for the words in the messages too. PostgreSQL planned that part for
-- up to 14,830 matching messages and gave it two parallel workers. Starting them took 14 ms,
-- even when the index found no message at all. That was more than half of a customer's search
-- for "printer" at 1,000,000 tickets (28 ms; 12.7 ms without the workers, same rows). The
-- search runs as the person types, for every person who searches, and a worker is a process
-- the whole server shares: max_worker_processes and max_parallel_workers bound them for all.
-- A search now runs in its own backend only, whatever the server allows.

SET LOCAL ROLE tickets_owner;

ALTER FUNCTION public.search_tickets(text, integer) SET max_parallel_workers_per_gather = 0;
