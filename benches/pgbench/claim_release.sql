-- One write per transaction: a claim of one of this agent's pool tickets, then (the next
-- transaction) its release. `-D phase=0 -D slice=K` starts it for agent K.
\if :phase = 0
\set n (:slice * 500) + random(1, 500)
SELECT claim_ticket(id) FROM benchpg.pool WHERE n = :n;
\set phase 1
\else
SELECT release_ticket(id) FROM benchpg.pool WHERE n = :n;
\set phase 0
\endif
