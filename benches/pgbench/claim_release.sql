-- One claim and one release of a pool ticket of this client's own (two transactions).
\set n (:client_id * 500) + random(1, 500)
SELECT claim_ticket(id) FROM benchpg.pool WHERE n = :n;
SELECT release_ticket(id) FROM benchpg.pool WHERE n = :n;
