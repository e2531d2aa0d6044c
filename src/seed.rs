//! `tickets seed`: fills a database with realistic, skewed tickets, their history and their
//! conversations, fast.
//!
//! Set-based SQL in one transaction (all or nothing). The history is backdated over two years,
//! which the triggers would not allow (they stamp now() and record the session's person), so
//! the bulk load runs with `session_replication_role = replica` (superuser) and the data is
//! built to satisfy every rule the triggers enforce: seq 1..n per ticket, legal status paths,
//! real actors, updated_at = the last change, numbers in filing order, messages only by people
//! who could post them (see `MESSAGES`).

use crate::db::DbError;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

#[derive(Debug, Clone)]
pub struct SeedPlan {
    pub tickets: u32,
    pub customers: u32,
    pub agents: u32,
    pub admins: u32,
    /// How many customers get a real login (the busiest first); the others are rows only.
    pub customer_logins: u32,
    /// Login prefix, e.g. "demo" gives demo_admin1, demo_agent1, demo_customer1.
    pub prefix: String,
    pub password: String,
}

#[derive(Debug)]
pub struct SeedReport {
    pub tickets: i64,
    pub history: i64,
    pub messages: i64,
    pub people: i64,
    pub took: Duration,
    /// The logins created, with their roles, for the person running the seed.
    pub logins: Vec<(String, &'static str)>,
}

impl SeedPlan {
    pub fn admin_login(&self, n: u32) -> String {
        format!("{}_admin{n}", self.prefix)
    }
    pub fn agent_login(&self, n: u32) -> String {
        format!("{}_agent{n}", self.prefix)
    }
    pub fn customer_login(&self, n: u32) -> String {
        format!("{}_customer{n}", self.prefix)
    }
}

const FIRST: &[&str] = &[
    "Ada", "Bo", "Cy", "Dana", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea", "Milo",
    "Nia", "Otto", "Pia", "Quin", "Rui", "Sara", "Tom", "Uma", "Vera", "Wen", "Xia", "Yara", "Zed",
];
const LAST: &[&str] = &[
    "Adams", "Berg", "Chen", "Diaz", "Eriksen", "Fox", "Garcia", "Hughes", "Ito", "Jensen",
    "Kowalski", "Lopez", "Meyer", "Novak", "Okafor", "Patel", "Quist", "Rossi", "Silva", "Tanaka",
    "Ueda", "Varga", "Weber", "Young",
];
/// The `i`-th person's name: every first name with every last name, then numbered, so the
/// seed and the demo never give two people one name (the audit names people by it).
fn person_name(i: usize) -> String {
    let (nf, nl) = (FIRST.len(), LAST.len());
    // (first, first + round) is a different pair for every i below nf * nl, and neighbours
    // get different last names.
    let base = format!("{} {}", FIRST[i % nf], LAST[(i % nf + i / nf) % nl]);
    if i >= nf * nl {
        format!("{base} {}", i / (nf * nl) + 1)
    } else {
        base
    }
}

const SUBJECTS: &[&str] = &[
    "Cannot log in after password reset",
    "VPN disconnects every few minutes",
    "Invoice shows the wrong amount",
    "Printer on the third floor is jammed",
    "Export to CSV times out",
    "Two-factor codes are not accepted",
    "Dashboard loads very slowly",
    "Refund not received",
    "Email notifications stopped arriving",
    "Cannot upload attachments larger than 10 MB",
    "Mobile app crashes on start",
    "Need to change the billing address",
    "Wrong time zone in reports",
    "Account locked after too many attempts",
    "Search returns no results",
    "Shared calendar is out of sync",
    "Laptop will not boot after the update",
    "Request for a new user account",
    "Webhook deliveries failing with 500",
    "Duplicate charges on my card",
    "Cannot reach the file share",
    "Page shows a blank screen in Firefox",
    "Subscription renewed twice",
    "API rate limit reached unexpectedly",
    "Data missing from last week's report",
    "How do I add a team member?",
    "SSO login loops back to the start page",
    "Keyboard shortcuts stopped working",
    "Order stuck in processing",
    "Certificate warning on the portal",
];
const DETAILS: &[&str] = &[
    "It started this morning and happens every time.",
    "Several colleagues see the same problem.",
    "I already tried restarting and clearing the cache.",
    "This blocks our month-end closing, please hurry.",
    "Screenshots are available on request.",
    "It worked fine until last Friday.",
    "The error message says: unexpected error, try again later.",
    "Only happens on the office network, not from home.",
];

const CUSTOMER_LINES: &[&str] = &[
    "Any news on this?",
    "I tried that, and it still happens.",
    "Here are the details you asked for: it fails on every attempt since Monday.",
    "Thanks, that fixed it for me but my colleague still sees it.",
    "Could you call me back this afternoon?",
    "It happened again just now, at 10:42.",
    "I am on the Windows laptop, version 11, latest updates installed.",
    "Sorry for the late reply, I was out of office.",
];
const AGENT_LINES: &[&str] = &[
    "Thanks for reporting this. Could you tell me which browser you use?",
    "I have reset it on our side; please try again and let me know.",
    "We are looking into it and will get back to you today.",
    "Could you send a screenshot of the error message?",
    "This is a known issue; a fix is scheduled for the next release.",
    "I have escalated this to the second-line team.",
    "Please clear the cache and log in again.",
    "Can you confirm that it works now?",
];
const NOTE_LINES: &[&str] = &[
    "Same as the outage last month, see the incident log.",
    "Customer is a key account: keep them posted daily.",
    "Checked the logs: the request never reached the backend.",
    "Waiting for the vendor; do not promise a date.",
    "Looks like a duplicate of an older ticket from the same team.",
    "Second-line says the config was changed by hand on Friday.",
];

fn sql_array(items: &[&str]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| format!("'{}'", s.replace('\'', "''")))
        .collect();
    format!("ARRAY[{}]", quoted.join(", "))
}

/// Seeds the database `client` is connected to (as a superuser).
pub async fn seed(client: &mut Client, plan: &SeedPlan) -> Result<SeedReport, DbError> {
    let started = Instant::now();
    let customer_logins = plan.customer_logins.min(plan.customers);
    let tx = client.transaction().await?;
    tx.batch_execute("SET LOCAL work_mem = '256MB'; SET LOCAL maintenance_work_mem = '512MB'; SET LOCAL statement_timeout = 0; SET LOCAL idle_in_transaction_session_timeout = 0; SELECT setseed(0.4242)")
        .await?;

    // Real people, created the supported way (a LOGIN role and the users row together).
    let mut logins = Vec::new();
    let mut create = Vec::new();
    for n in 1..=plan.admins {
        create.push((plan.admin_login(n), "admin", n));
    }
    for n in 1..=plan.agents {
        create.push((plan.agent_login(n), "agent", n));
    }
    for n in 1..=customer_logins {
        create.push((plan.customer_login(n), "customer", n));
    }
    tx.batch_execute(
        "CREATE TEMP TABLE seed_people (role text, n int, id uuid, PRIMARY KEY (role, n)) ON COMMIT DROP",
    )
    .await?;
    for (i, (login, role, n)) in create.iter().enumerate() {
        let name = person_name(i);
        let existing = tx
            .query_opt("SELECT id FROM public.users WHERE login = $1", &[login])
            .await?;
        let id: uuid::Uuid = match existing {
            Some(row) => row.get(0),
            None => {
                let email = format!("{login}@example.test");
                tx.query_one(
                    "SELECT public.create_person($1, $2::text::public.user_role, $3, $4, $5)",
                    &[login, role, &name, &email, &plan.password],
                )
                .await?
                .get(0)
            }
        };
        tx.execute(
            "INSERT INTO seed_people VALUES ($1, $2, $3)",
            &[role, &(*n as i32), &id],
        )
        .await?;
        logins.push((login.clone(), *role));
    }

    tx.batch_execute("SET LOCAL session_replication_role = replica")
        .await?;
    let (n, m, k, a) = (
        plan.tickets,
        plan.customers,
        plan.agents.max(1),
        plan.admins.max(1),
    );
    let prefix = plan.prefix.replace('\'', "''");
    let first = sql_array(FIRST);
    let last = sql_array(LAST);
    let subjects = sql_array(SUBJECTS);
    let details = sql_array(DETAILS);
    // Names continue after the people with logins (see person_name): no two people share one.
    let people = format!(
        "INSERT INTO public.users (id, login, display_name, email, role, created_at, updated_at)
         SELECT id, login, name, login || '@example.test', 'customer', at, at FROM (
             SELECT gen_random_uuid() AS id, format('{prefix}_c%s', g) AS login,
                    ({first})[1 + (g + {named}) % {nf}] || ' ' || ({last})[1 + ((g + {named}) % {nf} + (g + {named}) / {nf}) % {nl}]
                    || CASE WHEN g + {named} >= {nf} * {nl} THEN ' ' || ((g + {named}) / ({nf} * {nl}) + 1) ELSE '' END AS name,
                    now() - interval '800 days' + interval '760 days' * (g::float8 / {m}) AS at, g
             FROM generate_series({from}, {m}) g) p
         ON CONFLICT (login) DO NOTHING;
         INSERT INTO seed_people SELECT 'customer', g, u.id FROM generate_series({from}, {m}) g
             JOIN public.users u ON u.login = format('{prefix}_c%s', g)
         ON CONFLICT DO NOTHING;",
        nf = FIRST.len(),
        nl = LAST.len(),
        named = create.len(),
        from = customer_logins + 1,
    );
    tx.batch_execute(&people).await?;

    // One row per ticket with everything its history needs. Skew: customer and agent numbers
    // follow a power law (number 1 is the busiest); the newest tickets are the active ones.
    let tickets = format!(
        "CREATE TEMP TABLE seed_t ON COMMIT DROP AS
         SELECT t.*,
                CASE WHEN t.status = 'open' AND t.pool THEN NULL
                     WHEN t.status = 'closed' AND t.r2 < 0.03 THEN NULL
                     ELSE (SELECT id FROM seed_people WHERE role = 'agent' AND n = t.agent_n) END AS agent_id,
                (SELECT id FROM seed_people WHERE role = 'agent' AND n = 1 + (t.agent_n % {k})) AS prev_agent_id,
                (SELECT id FROM seed_people WHERE role = 'admin' AND n = 1 + (t.g % {a})) AS admin_id,
                (SELECT id FROM seed_people WHERE role = 'customer' AND n = t.customer_n) AS customer_id
         FROM (
             SELECT g, gen_random_uuid() AS id,
                    1 + floor({m} * power(random(), 2.2))::int AS customer_n,
                    1 + floor({k} * power(random(), 1.6))::int AS agent_n,
                    now() - interval '730 days' * (1 - (g - 1)::float8 / {n}) - interval '1 hour' * random() AS created_at,
                    CASE WHEN (g::float8 / {n}) > 1 - {recent} THEN
                         (ARRAY['open','open','open','open','open','in_progress','in_progress','waiting_on_customer','waiting_on_customer','resolved'])[1 + floor(random() * 10)::int]
                    ELSE (ARRAY['closed','closed','closed','closed','closed','closed','closed','closed','closed','resolved'])[1 + floor(random() * 10)::int]
                    END::public.ticket_status AS status,
                    random() < 0.8 AS pool,
                    (ARRAY['low','low','low','normal','normal','normal','normal','normal','high','urgent'])[1 + floor(random() * 10)::int]::public.ticket_priority AS priority,
                    random() < 0.2 AS reprioritised,
                    random() < 0.1 AS handed,
                    random() AS r2,
                    ({subjects})[1 + floor(random() * {ns})::int] AS subject,
                    ({details})[1 + floor(random() * {nd})::int] || ' ' || ({details})[1 + floor(random() * {nd})::int] AS description
             FROM generate_series(1, {n}) g
         ) t;
         ALTER TABLE seed_t ADD COLUMN first_priority public.ticket_priority;
         UPDATE seed_t SET first_priority = CASE WHEN reprioritised AND agent_id IS NOT NULL
             THEN (CASE priority WHEN 'low' THEN 'normal' WHEN 'normal' THEN 'low' WHEN 'high' THEN 'normal' ELSE 'high' END)::public.ticket_priority
             ELSE priority END,
             handed = handed AND agent_id IS NOT NULL AND prev_agent_id <> agent_id;",
        ns = SUBJECTS.len(),
        nd = DETAILS.len(),
        // The newest tickets are the active ones: 5% of a big set, more of a small one.
        recent = (60.0 / f64::from(n.max(1))).clamp(0.05, 0.3),
    );
    tx.batch_execute(&tickets).await?;
    tx.batch_execute(&messages_sql()).await?;

    // The history: created; claimed; re-prioritised; handed off; then the status path, each
    // step by the person who could make it, an hour to a day apart. seq is computed, not
    // counted, so no sort over millions of rows is needed.
    let history = "
        CREATE TEMP TABLE seed_h ON COMMIT DROP AS
        SELECT t.id AS ticket_id, t.customer_id, s.*
        FROM seed_t t
        CROSS JOIN LATERAL (
            SELECT a_ AS a, p_ AS p, h_ AS h FROM (SELECT (t.agent_id IS NOT NULL)::int AS a_,
                (t.first_priority <> t.priority)::int AS p_, t.handed::int AS h_) f
        ) o
        CROSS JOIN LATERAL (VALUES
            (1, 'created'::public.ticket_change, NULL::public.ticket_status, 'open'::public.ticket_status,
             NULL::uuid, NULL::uuid, NULL::public.ticket_priority, t.first_priority, t.customer_id,
             t.created_at, true),
            (2, 'assignment', NULL, NULL, NULL, CASE WHEN t.handed THEN t.prev_agent_id ELSE t.agent_id END,
             NULL, NULL, CASE WHEN t.handed THEN t.prev_agent_id ELSE t.agent_id END,
             t.created_at + interval '7 minutes', t.agent_id IS NOT NULL),
            (2 + o.a, 'priority', NULL, NULL, NULL, NULL, t.first_priority, t.priority,
             coalesce(CASE WHEN t.handed THEN t.prev_agent_id ELSE t.agent_id END, t.admin_id),
             t.created_at + interval '15 minutes', o.p = 1),
            (2 + o.a + o.p, 'assignment', NULL, NULL, t.prev_agent_id, t.agent_id, NULL, NULL,
             t.prev_agent_id, t.created_at + interval '40 minutes', t.handed),
            (2 + o.a + o.p + o.h, 'status', 'open', 'in_progress', NULL, NULL, NULL, NULL,
             coalesce(t.agent_id, t.admin_id), t.created_at + interval '2 hours', t.status <> 'open'),
            (3 + o.a + o.p + o.h, 'status', 'in_progress',
             CASE t.status WHEN 'waiting_on_customer' THEN 'waiting_on_customer'::public.ticket_status ELSE 'resolved' END,
             NULL, NULL, NULL, NULL, coalesce(t.agent_id, t.admin_id), t.created_at + interval '1 day',
             t.status IN ('waiting_on_customer', 'resolved', 'closed')),
            (4 + o.a + o.p + o.h, 'status', 'resolved', 'closed', NULL, NULL, NULL, NULL,
             coalesce(t.agent_id, t.admin_id), t.created_at + interval '4 days', t.status = 'closed')
        ) AS s(seq, kind, old_status, new_status, old_agent_id, new_agent_id, old_priority,
               new_priority, changed_by, changed_at, present)
        WHERE s.present;
        -- Tickets opened in the last days cannot have history in the future.
        UPDATE seed_h SET changed_at = least(changed_at, now() - interval '1 minute' + interval '1 second' * seq);
        CREATE TEMP TABLE seed_last ON COMMIT DROP AS
        SELECT ticket_id, max(changed_at) AS at, count(*) AS rows, max(seq) AS top FROM seed_h GROUP BY ticket_id;
        INSERT INTO public.tickets (id, number, customer_id, agent_id, subject, description, status, priority, created_at, updated_at)
        SELECT t.id, (SELECT coalesce(max(number), 0) FROM public.tickets) + t.g, t.customer_id, t.agent_id,
               t.subject, t.description, t.status, t.priority, t.created_at,
               greatest(l.at, ml.at)
        FROM seed_t t JOIN seed_last l ON l.ticket_id = t.id LEFT JOIN seed_mlast ml ON ml.ticket_id = t.id
        ORDER BY t.g;
        SELECT setval('public.ticket_number_seq', (SELECT max(number) FROM public.tickets));
        INSERT INTO public.ticket_status_history (ticket_id, customer_id, seq, kind, old_status, new_status,
            old_agent_id, new_agent_id, old_priority, new_priority, changed_by, changed_at)
        SELECT ticket_id, customer_id, seq, kind, old_status, new_status, old_agent_id, new_agent_id,
               old_priority, new_priority, changed_by, changed_at
        FROM seed_h ORDER BY changed_at;
        INSERT INTO public.ticket_messages (ticket_id, customer_id, author_id, body, internal, created_at,
            ticket_agent_id, ticket_pool)
        SELECT m.ticket_id, m.customer_id, m.author_id, m.body, m.internal, m.created_at,
               t.agent_id, (t.agent_id IS NULL AND t.status = 'open')
        FROM seed_m m JOIN seed_t t ON t.id = m.ticket_id ORDER BY m.created_at;";
    // Building an index once over the loaded rows is far cheaper than updating it row by row
    // (random UUIDs, a GIN over the text): set the secondary indexes aside for a big load.
    let indexes: Vec<(String, String)> = if plan.tickets >= 20_000 {
        tx.query(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
             WHERE i.indrelid IN ('public.tickets'::regclass, 'public.ticket_status_history'::regclass,
                                  'public.ticket_messages'::regclass)
               AND NOT i.indisprimary AND NOT i.indisunique",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
    } else {
        Vec::new()
    };
    for (name, _) in &indexes {
        tx.batch_execute(&format!("DROP INDEX {name}")).await?;
    }
    tx.batch_execute(history).await?;
    for (_, definition) in &indexes {
        tx.batch_execute(definition).await?;
    }

    // What the triggers would have guaranteed, checked before anything is committed.
    let broken: i64 = tx
        .query_one(
            "SELECT (SELECT count(*) FROM seed_t t LEFT JOIN seed_last l ON l.ticket_id = t.id
                     WHERE t.customer_id IS NULL OR l.rows IS DISTINCT FROM l.top)
                  + (SELECT count(*) FROM seed_h WHERE changed_by IS NULL)
                  + (SELECT count(*) FROM seed_m WHERE author_id IS NULL)",
            &[],
        )
        .await?
        .get(0);
    if broken > 0 {
        return Err(DbError::Refused {
            code: "P0001".into(),
            message: format!(
                "the generated data broke its own rules for {broken} tickets; nothing was saved"
            ),
        });
    }
    let counts = tx
        .query_one(
            "SELECT (SELECT count(*) FROM seed_t), (SELECT count(*) FROM seed_h), (SELECT count(*) FROM seed_people), (SELECT count(*) FROM seed_m)",
            &[],
        )
        .await?;
    // The bulk load skipped the triggers that keep the tabs' counts (0016): recount them.
    tx.batch_execute("SELECT app.rebuild_ticket_counters()")
        .await?;
    tx.commit().await?;
    client
        .batch_execute(
            "ANALYZE public.users; ANALYZE public.tickets; ANALYZE public.ticket_status_history; ANALYZE public.ticket_messages",
        )
        .await?;
    Ok(SeedReport {
        tickets: counts.get(0),
        history: counts.get(1),
        messages: counts.get(3),
        people: counts.get(2),
        took: started.elapsed(),
        logins,
    })
}

/// The conversations: about three messages per ticket, skewed (most have a few, some dozens,
/// the busiest customer's oldest assigned ticket has 600), a third of the staff's internal notes.
/// They fall between the hand-off (+40 min) and the first status change (+2 h), while the
/// ticket is open: the customer may post, and the staff author is the ticket's agent or, for a
/// ticket in the pool, an agent (who can see the pool). Customers alternate with staff; a
/// public message is activity, so updated_at is the later of it and the last history row.
/// Tickets younger than 2 hours get none, so nothing is dated in the future.
fn messages_sql() -> String {
    let customer = sql_array(CUSTOMER_LINES);
    let agent = sql_array(AGENT_LINES);
    let note = sql_array(NOTE_LINES);
    format!(
        "CREATE TEMP TABLE seed_m ON COMMIT DROP AS
         WITH busy AS (
             SELECT min(g) AS g FROM seed_t
             WHERE customer_n = 1 AND agent_id IS NOT NULL AND created_at < now() - interval '1 day')
         SELECT t.id AS ticket_id, t.customer_id, i, m.internal,
                CASE WHEN i % 2 = 1 THEN t.customer_id ELSE coalesce(t.agent_id, t.prev_agent_id) END AS author_id,
                t.created_at + interval '41 minutes' + interval '78 minutes' * (i::float8 / (c.k + 1)) AS created_at,
                CASE WHEN i % 2 = 1 THEN ({customer})[1 + floor(random() * {nc})::int]
                     WHEN m.internal THEN ({note})[1 + floor(random() * {nn})::int]
                     ELSE ({agent})[1 + floor(random() * {na})::int] END
                || CASE WHEN random() < 0.03 THEN repeat(E'\n\nMore detail: ' || ({customer})[1 + floor(random() * {nc})::int], 25) ELSE '' END
                AS body
         FROM seed_t t
         CROSS JOIN LATERAL (SELECT CASE WHEN t.g = (SELECT g FROM busy) THEN 600
                                         ELSE floor(-3.45 * ln(1 - random() + t.g * 0))::int END AS k) c
         CROSS JOIN LATERAL generate_series(1, c.k) i
         CROSS JOIN LATERAL (SELECT i % 2 = 0 AND random() + t.g * 0 < 0.3 AS internal) m
         WHERE t.created_at < now() - interval '2 hours';
         CREATE TEMP TABLE seed_mlast ON COMMIT DROP AS
         SELECT ticket_id, max(created_at) AS at FROM seed_m WHERE NOT internal GROUP BY ticket_id;",
        nc = CUSTOMER_LINES.len(),
        na = AGENT_LINES.len(),
        nn = NOTE_LINES.len(),
    )
}
