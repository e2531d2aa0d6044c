-- 0017: a customer's read policy on history that the planner cannot turn into an index scan of
-- all their history. Supersedes 0006's USING clause of history_customer_read.
--
-- 0014 indexed ticket_status_history(customer_id, …) for its foreign key. The planner then
-- combined that index with the ticket's own (a BitmapAnd), estimating the average customer's 88
-- rows: for the busiest customer it read 26,934 index entries to keep one ticket's 5 rows, and
-- one ticket's history went from 0.7 ms to 2.1 ms (a thread page from 0.3 ms to 1.6 ms) at a
-- million tickets. Wrapped in IS TRUE the comparison is a filter on the ticket's few rows; it
-- means the same (a NULL identity still sees nothing).

SET LOCAL ROLE tickets_owner;

ALTER POLICY history_customer_read ON public.ticket_status_history
    USING ((customer_id = (SELECT app.uid())) IS TRUE);
COMMENT ON POLICY history_customer_read ON public.ticket_status_history IS
    'A customer reads the history of their own tickets. Written as IS TRUE (0017) so it filters the rows of the ticket asked for instead of scanning the customer''s whole history through history_customer.';
