-- One priority change of one of this agent's own active tickets, as psql would send it.
-- (current_user is a name, collated "C": compared as is, it keeps benchpg.mine's index out
-- and every write paid a 210-page scan of the bench's own table.)
\set n random(1, 100)
\set p random(0, 1)
UPDATE tickets SET priority = (CASE WHEN :p = 0 THEN 'high' ELSE 'low' END)::ticket_priority
WHERE id = (SELECT id FROM benchpg.mine WHERE login = current_user::text COLLATE "default" AND n = :n);
