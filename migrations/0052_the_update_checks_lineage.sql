-- 0052: the update check's comment names the body 0051 replaced.
--
-- 0051 replaced app.check_ticket_update's body as 0014 had left it (0014 made updated_at
-- follow the clock and never go back, without changing the function's comment, which still
-- said "from 0008"). 0051's comment repeated that lineage: "supersedes 0008". A comment only.

SET LOCAL ROLE tickets_owner;

COMMENT ON FUNCTION app.check_ticket_update() IS
    'BEFORE UPDATE on tickets: refuses changing id, customer_id or created_at, assigning a non-agent, and a status move not in ticket_status_moves for the caller''s role (releases excepted); looks the caller up only when the status moves. Body from 0051 (supersedes 0014, which superseded 0008).';
