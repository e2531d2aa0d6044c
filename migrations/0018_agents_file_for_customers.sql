-- Agents file a ticket for a customer (a phone call): they name the customer, the rest is as
-- when the customer files it. The ticket starts open and unassigned (check_ticket_insert refuses
-- anything else for non-admins and checks that the customer is an active customer); the history's
-- "created" row names the agent who filed it. Admins could already (INSERT on every column).

SET LOCAL ROLE tickets_owner;

GRANT INSERT (customer_id, subject, description, priority) ON public.tickets TO tickets_agent;

CREATE POLICY tickets_agent_file ON public.tickets FOR INSERT TO tickets_agent
    WITH CHECK (agent_id IS NULL AND status = 'open');

COMMENT ON POLICY tickets_agent_file ON public.tickets IS
    'Agents file tickets for customers (naming customer_id): open and unassigned only; check_ticket_insert checks the customer is active.';
