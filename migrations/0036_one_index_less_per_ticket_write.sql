-- 0036: one index less on every ticket write (issue 13 item 3).
--
-- tickets_customer_filed (customer_id, created_at) served one query: how many tickets a
-- customer filed in the last hour (the flood limit, at each filing). Every write to a ticket
-- that is not a HOT update (a claim, a release, a status or priority change: indexed columns
-- change) inserted into it too, at a random page (one per customer), which after each
-- checkpoint costs a full-page image in the WAL. The count now also says "updated in the last
-- hour", which every ticket filed in it is, and reads tickets_customer_list instead.

SET LOCAL ROLE tickets_owner;

DROP INDEX public.tickets_customer_filed;

-- Supersedes the body of 0025: the count of the last hour's filings reads the list index.
CREATE OR REPLACE FUNCTION app.check_ticket_input()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    per_hour integer;
    filed bigint;
    since timestamptz;
BEGIN
    IF TG_OP = 'INSERT' OR NEW.subject IS DISTINCT FROM OLD.subject THEN
        IF NEW.subject ~ '[\x01-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]' THEN
            RAISE EXCEPTION 'a subject is one line of text: no control or text-direction characters'
                USING ERRCODE = '22023';
        END IF;
    END IF;
    IF TG_OP = 'INSERT' OR NEW.description IS DISTINCT FROM OLD.description THEN
        IF NEW.description ~ '[\x01-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]' THEN
            RAISE EXCEPTION 'a description cannot contain control or text-direction characters (newlines and tabs are fine)'
                USING ERRCODE = '22023';
        END IF;
    END IF;
    IF TG_OP = 'INSERT' AND app.user_role() = 'customer' THEN
        -- One filing at a time per customer: without it, two sessions of one customer filing
        -- at once each counted only committed tickets, and both passed the limit. The row is
        -- written (not only locked) so that a REPEATABLE READ filer behind another gets a
        -- serialization failure instead of counting with a snapshot that misses it.
        INSERT INTO app.filing_turns AS f (person_id, last_filed)
        VALUES (NEW.customer_id, pg_catalog.clock_timestamp())
        ON CONFLICT (person_id) DO UPDATE SET last_filed = EXCLUDED.last_filed;
        SELECT l.tickets_per_hour INTO per_hour FROM app.limits l;
        -- A ticket's updated_at is never before its created_at (both set by the triggers,
        -- updated_at only moving forward), so the tickets filed in the last hour are among
        -- those updated in it: the customer's list index (customer_id, updated_at) finds them.
        -- (The bound is a variable: a volatile clock_timestamp() in the condition could not
        -- bound the index scan, and every ticket of the customer would be read.)
        since := pg_catalog.clock_timestamp() - interval '1 hour';
        SELECT count(*) INTO filed FROM public.tickets t
        WHERE t.customer_id = NEW.customer_id AND t.updated_at > since AND t.created_at > since;
        IF filed >= per_hour THEN
            RAISE EXCEPTION 'you have filed % tickets in the last hour, the most one customer may', filed
                USING ERRCODE = '53400',
                      HINT = 'Add to one of your open tickets, or file again later.';
        END IF;
    END IF;
    RETURN NEW;
END
$function$;
COMMENT ON FUNCTION app.check_ticket_input() IS
    'BEFORE INSERT OR UPDATE OF subject, description on tickets: no control or text-direction characters; a customer files at most app.limits.tickets_per_hour tickets an hour (53400), one filing at a time (app.filing_turns), so concurrent sessions cannot pass the limit together. Body from 0036 (supersedes 0025).';
RESET ROLE;
