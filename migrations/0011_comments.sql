-- 0011: the why of every public object, where psql shows it (\d+, \df+, \dp, \dT+, \du+).
--
-- No behaviour changes here. Where a later migration replaced a function body or a policy,
-- the comment names the migration whose version is current, so a reader of \df+ or of the
-- schema snapshot (tests/snapshots/schema__schema.snap) knows which file to open.

-- Roles are shared by every database of the cluster: comment only when the text differs, so
-- two databases migrating at once do not both rewrite the same catalog row.
DO $roles$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM (VALUES
        ('tickets_owner',
         'Owns every table and function of tickets (NOLOGIN, no superuser, no BYPASSRLS). FORCE ROW LEVEL SECURITY binds it too: it has no UPDATE or DELETE policy on history.'),
        ('tickets_provisioner',
         'CREATEROLE and nothing else: owns create_person/disable_person/enable_person, which only ever grant one of tickets_customer, tickets_agent, tickets_admin. May SET the app.user_id/app.role mirrors and end a disabled person''s sessions.'),
        ('tickets_customer',
         'Group role of customers: read and file their own tickets (subject, description, priority only), read their own users row and their tickets'' history.'),
        ('tickets_agent',
         'Group role of agents: read tickets assigned to them and the open unassigned pool; change status and priority of their own; claim, release and hand off only through the functions.'),
        ('tickets_admin',
         'Group role of admins: read and change every ticket (not its id, customer or creation time), make any status move, read the audit trail, manage people through create_person/disable_person/enable_person.')
    ) AS c(role, text) LOOP
        IF pg_catalog.shobj_description(r.role::regrole, 'pg_authid') IS DISTINCT FROM r.text THEN
            EXECUTE format('COMMENT ON ROLE %I IS %L', r.role, r.text);
        END IF;
    END LOOP;
END
$roles$;

COMMENT ON SCHEMA app IS
    'Internal helpers of tickets: identity (current_person, uid, user_role), the rule triggers and the audit writer. Not an API; clients call the functions in public.';

-- Types
COMMENT ON TYPE public.user_role IS
    'What a person is: customer, agent or admin; it picks their group role (tickets_customer, tickets_agent, tickets_admin).';
COMMENT ON TYPE public.ticket_status IS
    'A ticket''s life: open, in_progress, waiting_on_customer, resolved, closed. The legal moves between them are the rows of ticket_status_moves.';
COMMENT ON TYPE public.ticket_priority IS
    'low < normal < high < urgent (the order of the labels is the order of the queues).';
COMMENT ON TYPE public.ticket_change IS
    'What one history row records: created and status carry old/new status, assignment old/new agent, priority old/new priority.';

-- Tables and their key columns
COMMENT ON TABLE public.users IS
    'The people. Each row is paired with a PostgreSQL LOGIN role of the same name (made together by create_person). Customers see only their own row (e-mails stay private); staff see everyone.';
COMMENT ON COLUMN public.users.login IS
    'The person''s PostgreSQL login role: the identity the database trusts (session_user). Lowercase letters, digits and _; pg_* and tickets_* refused. Cannot be changed.';
COMMENT ON COLUMN public.users.role IS
    'customer, agent or admin; matches the group role the login is a member of.';
COMMENT ON COLUMN public.users.disabled_at IS
    'Set by disable_person: the login is refused (NOLOGIN), open sessions end, the person''s history stays. NULL while active.';

COMMENT ON TABLE public.tickets IS
    'The tickets. Changed only under the read/write policies and the checks of app.check_ticket_insert/check_ticket_update; every change of status, agent or priority is written to ticket_status_history by a trigger and announced on the channel tickets_changed (the id only).';
COMMENT ON COLUMN public.tickets.customer_id IS
    'Who filed the ticket; defaults to the caller (app.uid()), so a customer never names themselves. Cannot be changed.';
COMMENT ON COLUMN public.tickets.agent_id IS
    'The assigned agent, NULL in the pool. Agents cannot write it: it changes only through claim_ticket, release_ticket, hand_off_ticket (or an admin''s UPDATE).';
COMMENT ON COLUMN public.tickets.status IS
    'Moves only along ticket_status_moves for the caller''s role (enforced by app.check_ticket_update); releasing returns an active ticket to open.';
COMMENT ON COLUMN public.tickets.search IS
    'Full-text vector of subject and description (English), generated; searched through search_tickets(), which can use its index under the read rules.';

COMMENT ON TABLE public.ticket_status_history IS
    'The audit trail: one timeline per ticket, written only by the trigger app.record_ticket_history with the real actor. UPDATE, DELETE and TRUNCATE are refused for everyone, owner and superuser included.';
COMMENT ON COLUMN public.ticket_status_history.seq IS
    'Position in the ticket''s timeline; unique per ticket, so two writers can never fork it.';
COMMENT ON COLUMN public.ticket_status_history.changed_by IS
    'Who made the change: the person behind session_user, never a value a client supplies.';
COMMENT ON COLUMN public.ticket_status_history.customer_id IS
    'The ticket''s customer, copied by the trigger (0006) so the customer''s read policy is a plain comparison.';

COMMENT ON TABLE public.ticket_status_moves IS
    'The legal status moves per role, as data: the update trigger enforces them for every client and the client offers only these. Admins may make any move. Read-only for everyone.';

COMMENT ON TABLE public.schema_migrations IS
    'Which migrations of tickets are applied, with each file''s checksum: tickets migrate refuses a file edited after it was applied. Admins may read it.';

-- Policies (current versions; 0005 and 0006 replaced some of 0002's)
COMMENT ON POLICY users_customer_self ON public.users IS
    'A customer reads their own row only; other people''s names come from person_names/names_on_tickets, without e-mails.';
COMMENT ON POLICY users_staff_read ON public.users IS
    'Agents and admins read every person (they serve customers and pick agents for hand-offs). Current USING from 0005 (supersedes 0002).';
COMMENT ON POLICY users_owner_read ON public.users IS
    'For the owner''s SECURITY DEFINER functions, which apply the caller''s rules themselves.';
COMMENT ON POLICY users_provisioner_all ON public.users IS
    'For the people functions owned by tickets_provisioner, which check that the caller is an admin.';
COMMENT ON POLICY tickets_customer_read ON public.tickets IS
    'A customer reads their own tickets only.';
COMMENT ON POLICY tickets_customer_file ON public.tickets IS
    'A customer files tickets as themselves, open and unassigned; other columns are refused by the column grant.';
COMMENT ON POLICY tickets_agent_read ON public.tickets IS
    'An agent reads the tickets assigned to them and the open unassigned pool, nobody else''s.';
COMMENT ON POLICY tickets_agent_work ON public.tickets IS
    'An agent updates (status, priority: column grant) only their own tickets and cannot give them away.';
COMMENT ON POLICY tickets_admin_all ON public.tickets IS
    'Admins read and change every ticket (the triggers still refuse id, customer and created_at changes). Current expressions from 0005 (supersedes 0002).';
COMMENT ON POLICY tickets_owner_read ON public.tickets IS
    'For the owner''s SECURITY DEFINER functions (claim, release, hand off, search, queues, counts), which re-check the caller''s rules.';
COMMENT ON POLICY tickets_owner_assign ON public.tickets IS
    'Lets claim_ticket, release_ticket and hand_off_ticket write agent_id after they have checked the caller under a row lock.';
COMMENT ON POLICY history_customer_read ON public.ticket_status_history IS
    'A customer reads the history of their own tickets. Current USING from 0006 (supersedes 0002).';
COMMENT ON POLICY history_agent_read ON public.ticket_status_history IS
    'An agent reads the history of the tickets they may read.';
COMMENT ON POLICY history_admin_read ON public.ticket_status_history IS
    'Admins read the whole audit trail. Current USING from 0005 (supersedes 0002).';
COMMENT ON POLICY history_owner_read ON public.ticket_status_history IS
    'For the owner''s functions and the history trigger (the next seq).';
COMMENT ON POLICY history_owner_append ON public.ticket_status_history IS
    'Only the owner''s trigger inserts history; no policy allows UPDATE or DELETE to anyone.';
COMMENT ON POLICY moves_read ON public.ticket_status_moves IS
    'Everyone reads the legal moves; nobody but the owner changes them.';

-- Identity
COMMENT ON FUNCTION app.current_person() IS
    'The active person behind session_user, or NULL. Refuses (42501) a session whose app.user_id/app.role mirrors disagree with the login: SET app.role = ''admin'' gains nothing.';
COMMENT ON FUNCTION app.uid() IS
    'The caller''s users.id (NULL for nobody). Policies call it as (SELECT app.uid()) so it runs once per statement.';
COMMENT ON FUNCTION app.user_role() IS
    'The caller''s role (NULL for nobody), for policies.';
COMMENT ON FUNCTION app.require_person() IS
    'The caller, or 42501 "the login … is not an active tickets person": every write has a real, active actor.';
COMMENT ON FUNCTION app.require_people_manager() IS
    'Passes for an active admin or a superuser session; anyone else gets 42501 "only admins manage people".';

-- Rule triggers
COMMENT ON FUNCTION app.check_ticket_insert() IS
    'BEFORE INSERT on tickets: the customer must be an active customer, a non-admin''s ticket starts open and unassigned, an agent named must be active; sets the timestamps.';
COMMENT ON FUNCTION app.check_ticket_update() IS
    'BEFORE UPDATE on tickets: refuses changing id, customer_id or created_at, assigning a non-agent, and a status move not in ticket_status_moves for the caller''s role (releases excepted). Current body from 0008 (supersedes 0002).';
COMMENT ON FUNCTION app.record_ticket_history() IS
    'AFTER INSERT/UPDATE on tickets: appends the created/status/assignment/priority rows to ticket_status_history with the real actor. Current body from 0006 (supersedes 0002).';
COMMENT ON FUNCTION app.refuse_history_rewrite() IS
    'Refuses UPDATE, DELETE and TRUNCATE on ticket_status_history for everyone (42501): the history is append-only.';
COMMENT ON FUNCTION app.notify_ticket_changed() IS
    'Sends the ticket''s id on the channel tickets_changed at commit: a hint to re-read through one''s own permissions, never content.';
COMMENT ON FUNCTION app.touch_user() IS
    'Maintains users.created_at/updated_at and refuses changing a person''s id, login or created_at.';
COMMENT ON FUNCTION app.lock_ticket_for(uuid, public.users) IS
    'Locks a ticket row for the assignment functions (waiting for a concurrent claim), or P0002 when it does not exist or the caller is a customer.';

-- Assignment
COMMENT ON FUNCTION public.claim_ticket(uuid) IS
    'An agent takes an open unassigned ticket, atomically: of two agents claiming at once exactly one wins. Refuses non-agents (42501), a ticket already theirs or someone else''s, or not open (55000). Current body from 0008 (supersedes 0002).';
COMMENT ON FUNCTION public.release_ticket(uuid) IS
    'Returns an active ticket to the pool (unassigned, open). Agents release only their own (42501); refuses an unassigned, resolved or closed ticket (55000).';
COMMENT ON FUNCTION public.hand_off_ticket(uuid, uuid) IS
    'Gives a ticket to another active agent. Agents hand off only their own (42501, "Claim it first."); refuses a non-agent target (23514), the same agent or, for agents, a closed ticket (55000). Admins assign with it.';

-- People
COMMENT ON FUNCTION public.create_person(text, public.user_role, text, text, text) IS
    'Admins (or a superuser) create a person: a LOGIN role in exactly one tickets_* group plus its users row, in one transaction. Refuses invalid or reserved logins, taken logins (42710) and e-mails (23505). Current body from 0007 (supersedes 0003).';
COMMENT ON FUNCTION public.disable_person(text) IS
    'Admins disable a person: NOLOGIN, disabled_at set, their open sessions end; history stays. Refuses disabling oneself.';
COMMENT ON FUNCTION public.enable_person(text) IS
    'Admins let a disabled person log in again.';

-- Reading
COMMENT ON FUNCTION public.person_names() IS
    'Names (no e-mails) of every person the caller may see by name: staff see everyone, a customer themselves and the staff on their tickets.';
COMMENT ON FUNCTION public.person_names_of(uuid[]) IS
    'person_names() for the ids asked only (one page''s people), under the same rule.';
COMMENT ON FUNCTION public.names_on_tickets(uuid[], boolean) IS
    'Names of the people on the given tickets the caller may read (customer, agent and, with_history, everyone in their history).';
COMMENT ON FUNCTION public.search_tickets(text, integer) IS
    'Full-text search of subject and description through the GIN index, returning only tickets the caller''s read policies allow (RLS alone would scan every ticket).';
COMMENT ON FUNCTION public.agent_queue(text, integer, public.ticket_priority, timestamptz, uuid) IS
    'An agent''s queue (''mine'' or ''unassigned''), most urgent first, keyset-paged, read in index order; returns only rows the agent may read.';
COMMENT ON FUNCTION public.ticket_counts() IS
    'How many tickets the caller''s queues hold (mine, unassigned, all visible), each counted from its index under the read rules.';
