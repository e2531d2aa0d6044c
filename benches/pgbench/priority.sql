-- One priority change of a ticket in this client's slice of the agent's queue.
\set n (:client_id * 25) + random(1, 25)
\set p random(0, 1)
UPDATE tickets SET priority = (CASE WHEN :p = 0 THEN 'high' ELSE 'low' END)::ticket_priority
WHERE id = (SELECT id FROM benchpg.mine WHERE n = :n);
