-- 0038: the seen markers' ticket_closed flag (0037) is not for people to read.
--
-- Everyone may read their own seen markers, and 0037's flag is kept current by the database.
-- So an agent who once opened a ticket that has since left them (handed off, released,
-- claimed by another) could watch, through their own marker, whether it was closed or
-- reopened: the fate of a ticket they may no longer read. People keep reading the columns
-- they wrote (person_id, ticket_id, seen_at); the flag is read only by the owner's functions.

REVOKE SELECT ON public.ticket_seen FROM tickets_customer, tickets_agent, tickets_admin;
GRANT SELECT (person_id, ticket_id, seen_at) ON public.ticket_seen
    TO tickets_customer, tickets_agent, tickets_admin;
