-- 0001: roles, types, tables, indexes.
--
-- Run by `tickets migrate` as a superuser, inside one transaction. Roles are cluster-wide, so
-- they are created only when missing and then forced into the attributes the security model
-- relies on (a pre-existing `tickets_owner WITH SUPERUSER` would silently void every policy).

DO $roles$
DECLARE
    r text;
BEGIN
    -- Each statement runs only when needed: ALTER ROLE and GRANT on a shared role from two
    -- databases' migrations at once would fail with "tuple concurrently updated".
    FOREACH r IN ARRAY ARRAY['tickets_owner', 'tickets_provisioner', 'tickets_customer',
                             'tickets_agent', 'tickets_admin'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
        -- Only the provisioner may create people; it owns nothing but the people functions.
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r
                   AND (rolcanlogin OR rolsuper OR rolbypassrls OR rolreplication OR rolcreatedb
                        OR rolcreaterole <> (r = 'tickets_provisioner'))) THEN
            EXECUTE format('ALTER ROLE %I NOLOGIN NOSUPERUSER NOBYPASSRLS NOREPLICATION NOCREATEDB %s',
                           r, CASE WHEN r = 'tickets_provisioner' THEN 'CREATEROLE' ELSE 'NOCREATEROLE' END);
        END IF;
    END LOOP;
    -- The provisioner writes the identity mirrors into each person's role settings. Nobody else
    -- may: granted to a group role, it would let people rewrite their own mirrors.
    IF NOT has_parameter_privilege('tickets_provisioner', 'app.user_id', 'SET')
       OR NOT has_parameter_privilege('tickets_provisioner', 'app.role', 'SET') THEN
        GRANT SET ON PARAMETER "app.user_id", "app.role" TO tickets_provisioner;
    END IF;
    -- To end the sessions of a person being disabled (never a superuser's).
    IF NOT pg_has_role('tickets_provisioner', 'pg_signal_backend', 'MEMBER') THEN
        GRANT pg_signal_backend TO tickets_provisioner;
    END IF;
END
$roles$;

-- The database: nobody connects or creates temporary objects unless granted. TEMP matters:
-- a client-created pg_temp table is the classic hijack of an unpinned SECURITY DEFINER function.
DO $db$
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO tickets_customer, tickets_agent, tickets_admin',
                   current_database());
END
$db$;

-- Killing or cancelling other sessions is not for clients (function ACLs are per database).
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_terminate_backend(integer, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_cancel_backend(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_terminate_backend(integer, bigint) TO tickets_provisioner;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO tickets_owner;
GRANT USAGE ON SCHEMA public TO tickets_provisioner, tickets_customer, tickets_agent, tickets_admin;

CREATE SCHEMA app AUTHORIZATION tickets_owner;
GRANT USAGE ON SCHEMA app TO tickets_provisioner, tickets_customer, tickets_agent, tickets_admin;

-- Everything below is created by, and so owned by, tickets_owner.
SET LOCAL ROLE tickets_owner;

ALTER DEFAULT PRIVILEGES FOR ROLE tickets_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

CREATE TYPE public.user_role AS ENUM ('customer', 'agent', 'admin');
CREATE TYPE public.ticket_status AS ENUM ('open', 'in_progress', 'waiting_on_customer', 'resolved', 'closed');
CREATE TYPE public.ticket_priority AS ENUM ('low', 'normal', 'high', 'urgent');
-- What one history row records. `created` and `status` rows carry old/new status; the others
-- carry old/new agent or priority. One table keeps one timeline per ticket.
CREATE TYPE public.ticket_change AS ENUM ('created', 'status', 'assignment', 'priority');

CREATE TABLE public.users (
    id           uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    -- The person's PostgreSQL login role: the identity the database trusts (session_user).
    login        text NOT NULL UNIQUE
                 CHECK (login ~ '^[a-z_][a-z0-9_]{0,62}$' AND login !~ '^(pg_|tickets_)'),
    display_name text NOT NULL CHECK (btrim(display_name) <> '' AND length(display_name) <= 200),
    email        text NOT NULL CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$' AND length(email) <= 320),
    role         public.user_role NOT NULL,
    -- Set when the person is disabled: their login is refused, their history stays.
    disabled_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON public.users (lower(email));
CREATE INDEX users_active_agents ON public.users (display_name) WHERE role = 'agent' AND disabled_at IS NULL;

CREATE TABLE public.tickets (
    id          uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    customer_id uuid NOT NULL REFERENCES public.users (id),
    agent_id    uuid REFERENCES public.users (id),
    subject     text NOT NULL CHECK (btrim(subject) <> '' AND length(subject) <= 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 20000),
    status      public.ticket_status NOT NULL DEFAULT 'open',
    priority    public.ticket_priority NOT NULL DEFAULT 'normal',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.ticket_status_history (
    id           uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    ticket_id    uuid NOT NULL REFERENCES public.tickets (id),
    -- Position in the ticket's timeline; unique, so two writers can never fork it.
    seq          integer NOT NULL,
    kind         public.ticket_change NOT NULL,
    old_status   public.ticket_status,
    new_status   public.ticket_status,
    old_agent_id uuid REFERENCES public.users (id),
    new_agent_id uuid REFERENCES public.users (id),
    old_priority public.ticket_priority,
    new_priority public.ticket_priority,
    changed_by   uuid NOT NULL REFERENCES public.users (id),
    changed_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (ticket_id, seq),
    CHECK (CASE kind
        WHEN 'created'  THEN old_status IS NULL AND new_status IS NOT NULL
        WHEN 'status'   THEN old_status IS NOT NULL AND new_status IS NOT NULL AND old_status <> new_status
        WHEN 'priority' THEN old_priority IS NOT NULL AND new_priority IS NOT NULL
        ELSE true END)
);

-- The legal status moves per role (DESIGN.md §3), as data: the trigger enforces it and the
-- client reads it to offer only the moves the database will accept. Admins may make any move;
-- releasing (in_progress/waiting_on_customer -> open, unassigned) happens only in release_ticket.
CREATE TABLE public.ticket_status_moves (
    role        public.user_role NOT NULL,
    from_status public.ticket_status NOT NULL,
    to_status   public.ticket_status NOT NULL,
    PRIMARY KEY (role, from_status, to_status),
    CHECK (from_status <> to_status)
);
INSERT INTO public.ticket_status_moves (role, from_status, to_status) VALUES
    ('agent', 'open', 'in_progress'),
    ('agent', 'open', 'waiting_on_customer'),
    ('agent', 'in_progress', 'waiting_on_customer'),
    ('agent', 'waiting_on_customer', 'in_progress'),
    ('agent', 'open', 'resolved'),
    ('agent', 'in_progress', 'resolved'),
    ('agent', 'waiting_on_customer', 'resolved'),
    ('agent', 'open', 'closed'),
    ('agent', 'in_progress', 'closed'),
    ('agent', 'waiting_on_customer', 'closed'),
    ('agent', 'resolved', 'in_progress'),
    ('agent', 'resolved', 'closed');
INSERT INTO public.ticket_status_moves (role, from_status, to_status)
SELECT 'admin', f, t
FROM unnest(enum_range(NULL::public.ticket_status)) f, unnest(enum_range(NULL::public.ticket_status)) t
WHERE f <> t;

-- Indexes. The seed's single-column ones on tickets(customer_id) and tickets(agent_id) are the
-- leading columns of the composites below, which serve the same lookups and the panes' ORDER BY.
CREATE INDEX tickets_status_idx ON public.tickets (status);
CREATE INDEX tickets_priority_idx ON public.tickets (priority);
-- A customer's list, newest activity first (covering: the busiest customer stays an index scan).
CREATE INDEX tickets_customer_list ON public.tickets (customer_id, updated_at DESC, id DESC)
    INCLUDE (subject, status, priority, agent_id, created_at);
-- An agent's own queue, most urgent first.
CREATE INDEX tickets_agent_queue ON public.tickets (agent_id, priority DESC, created_at, id);
-- The unassigned pool, most urgent first.
CREATE INDEX tickets_open_pool ON public.tickets (priority DESC, created_at, id) WHERE agent_id IS NULL;
-- Everything (admins), newest activity first.
CREATE INDEX tickets_recent ON public.tickets (updated_at DESC, id DESC);

-- History: one ticket's timeline, and the audit feed across tickets (by time, by person).
CREATE INDEX history_changed_at ON public.ticket_status_history (changed_at DESC, id DESC);
CREATE INDEX history_changed_by ON public.ticket_status_history (changed_by, changed_at DESC, id DESC);
