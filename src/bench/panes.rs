//! Pane queries on both paths, against their floors, with the rows compared.

use super::{BenchArgs, login, statements_available};
use crate::db::{self, repo};
use crate::model::*;
use eyre::{Result, eyre};
use tokio_postgres::{Client, Config};
use uuid::Uuid;

mod measure;
use measure::*;

const COLS: &str = "id, subject, status, priority, customer_id, agent_id, created_at, updated_at";
const ACTIVE: &str = "status IN ('open', 'in_progress', 'waiting_on_customer')";
const URGENT: &str = "ORDER BY priority DESC, created_at, id";
const RECENT: &str = "ORDER BY updated_at DESC, id DESC";
const URGENT_P: &str = "ORDER BY p.priority DESC, p.created_at, p.id";
const RECENT_P: &str = "ORDER BY p.updated_at DESC, p.id DESC";

/// A list floor with what the client's page shows besides the ticket, for `me`: the agent's
/// name, the customer's (for staff), and whether the ticket has news for `me` (the client's
/// marker: changed, or a message `me` may read posted, since `me` last opened it). The same
/// result the client computes, read by the superuser without RLS, in the columns the client's
/// list returns (`repo::list`: the ticket's, the names and the marker), since sending a page's
/// subjects, statuses and times is part of a page's server time. The list shows each ticket's
/// number too, which no list index covers: the floor reads it as well (its first `COLS` gains
/// `number`), or it would be an index-only scan the client cannot make.
fn shown(floor: &str, order: &str, me: &Me) -> String {
    let floor = floor.replacen(COLS, &format!("{COLS}, number"), 1);
    let id = me.id;
    // The customer's name is selected, not only joined: a join whose columns go unused is
    // removed by the planner, and the floor would skip the look-up the client pays for.
    let (scope, customer, messages) = match me.role {
        Role::Customer => (
            "p.status <> 'closed'".to_owned(),
            "LEFT JOIN (SELECT NULL::text AS display_name) c ON false",
            " AND NOT m.internal",
        ),
        Role::Agent => (
            format!(
                "p.agent_id = '{id}' AND p.status IN ('open', 'in_progress', 'waiting_on_customer')"
            ),
            "LEFT JOIN users c ON c.id = p.customer_id",
            "",
        ),
        Role::Admin => (
            "s.seen_at IS NOT NULL AND p.status <> 'closed'".to_owned(),
            "LEFT JOIN users c ON c.id = p.customer_id",
            "",
        ),
    };
    format!(
        "SELECT p.id, p.subject, p.status::text, p.priority::text, p.customer_id, p.agent_id, a.display_name, \
         p.created_at, p.updated_at, p.number, coalesce({scope} AND (s.seen_at IS NULL OR p.updated_at > s.seen_at \
         OR EXISTS (SELECT 1 FROM ticket_messages m WHERE m.ticket_id = p.id AND m.created_at > s.seen_at{messages})), false), c.display_name \
         FROM ({floor}) p LEFT JOIN ticket_seen s ON s.ticket_id = p.id AND s.person_id = '{id}' \
         LEFT JOIN users a ON a.id = p.agent_id {customer} {order}"
    )
}

pub async fn run(args: &BenchArgs, base: &Config, admin: &Client) -> Result<String> {
    let (agent, customer, admin_login) = (
        format!("{}_agent1", args.prefix),
        format!("{}_customer1", args.prefix),
        format!("{}_admin1", args.prefix),
    );
    let mut sessions = Vec::new();
    for name in [&agent, &customer, &admin_login] {
        let client = db::connect_config(&login(base, name, &args.password))
            .await
            .map_err(|e| eyre!("log in as {name} (seed with --prefix {}): {e}", args.prefix))?;
        let me = repo::whoami(&client).await?;
        sessions.push((client, me));
    }
    let [(a, a_me), (c, c_me), (m, m_me)] =
        <[(Client, Me); 3]>::try_from(sessions).map_err(|_| eyre!("three sessions"))?;
    // The busiest customer's longest timeline, and one of the agent's handed-on tickets.
    let c_ticket: Uuid = admin
        .query_one(
            "SELECT ticket_id FROM ticket_status_history WHERE customer_id = $1
             GROUP BY ticket_id ORDER BY count(*) DESC, ticket_id LIMIT 1",
            &[&c_me.id],
        )
        .await?
        .get(0);
    let a_ticket: Uuid = admin
        .query_one(
            "SELECT h.ticket_id FROM ticket_status_history h JOIN tickets t ON t.id = h.ticket_id
             WHERE t.agent_id = $1 GROUP BY h.ticket_id ORDER BY count(*) DESC, h.ticket_id LIMIT 1",
            &[&a_me.id],
        )
        .await?
        .get(0);

    // The tabs' counts come from maintained totals, which a crash empties (an UNLOGGED table)
    // until a notifier rebuilds them; meanwhile ticket_counts() counts every ticket. Asked
    // before the extension below is created, so that no early return leaves it behind.
    let totals_valid: bool = admin
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM app.ticket_counters WHERE scope = 'valid')",
            &[],
        )
        .await?
        .get(0);

    // pg_stat_statements, when the server loads it: created here if missing, dropped after.
    let created = admin
        .batch_execute("CREATE EXTENSION pg_stat_statements")
        .await
        .is_ok();
    let statements = statements_available(admin).await;
    let mut b = Bench {
        admin,
        statements,
        n: args.iterations,
        out: String::new(),
    };
    b.out.push_str(&format!(
        "Pane queries as the busiest people. Path: \"psql\" is the query as a person writes it in psql (through the policies); \"client\" is what the client sends (src/db/repo.rs). Times: round trip p50 / p99 in ms; server ms (the median call) and buffers per call from pg_stat_statements{}; the floor is the same rows read by the superuser without RLS (for the client's lists, the same columns, with what the client shows besides: the names and each row's news marker), called in turn with the path so that both meet the same moments of a shared machine; ratio = server time / floor server time; goal = within 2x of the floor + 0.2 ms and under 2 ms, server-side; same rows = identical ids in order (or the same count). The client reads a ticket's timeline a page at a time through ticket_thread, with the messages: that is the thread part of this bench (--only thread); here, a ticket's whole history as people query it in psql.\n\n",
        if statements { "" } else { " (not loaded here: shared_preload_libraries)" }
    ));
    if !totals_valid {
        b.out.push_str("The maintained counts are not valid here (no notifier has run since the server crashed or the database was restored): the tabs' counts below are counted, not read. Start `tickets notifier` once to rebuild them.\n\n");
    }
    b.out.push_str("| query | path | p50 / p99 ms | server ms | buffers | floor p50 / p99 ms | floor server ms | floor buffers | ratio | goal | same rows |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n");

    let lim = |q: &str, n: i64| format!("{q} LIMIT {n}");
    let (ai, ci, mi) = (a_me.id, c_me.id, m_me.id);

    // --- Agent --------------------------------------------------------------------------
    let mine = format!("SELECT {COLS} FROM tickets WHERE agent_id = $1 AND {ACTIVE} {URGENT}");
    b.row(
        "agent: my active queue, most urgent first",
        "psql",
        &agent,
        false,
        sql(&a, lim(&mine, 100), vec![boxed(ai)]),
        sql(admin, lim(&mine, 100), vec![boxed(ai)]),
    )
    .await?;
    b.row(
        "agent: my active queue, most urgent first",
        "client (agent_queue)",
        &agent,
        false,
        Box::new(|| {
            Box::pin(async {
                repo::list(&a, &a_me, Queue::Mine, "", None, repo::PAGE)
                    .await
                    .map(|r| ids(r, |t| t.id))
            })
        }),
        sql(
            admin,
            shown(&lim(&mine, 100), URGENT_P, &a_me),
            vec![boxed(ai)],
        ),
    )
    .await?;
    let own = format!("SELECT {COLS} FROM tickets WHERE agent_id = $1 {RECENT}");
    b.row(
        "agent: my tickets, newest first",
        "psql",
        &agent,
        false,
        sql(&a, lim(&own, 50), vec![boxed(ai)]),
        sql(admin, lim(&own, 50), vec![boxed(ai)]),
    )
    .await?;
    let pool =
        format!("SELECT {COLS} FROM tickets WHERE agent_id IS NULL AND status = 'open' {URGENT}");
    b.row(
        "agent: the open pool, most urgent first",
        "psql",
        &agent,
        false,
        sql(&a, lim(&pool, 100), vec![]),
        sql(admin, lim(&pool, 100), vec![]),
    )
    .await?;
    b.row(
        "agent: the open pool, most urgent first",
        "client (agent_queue)",
        &agent,
        false,
        Box::new(|| {
            Box::pin(async {
                repo::list(&a, &a_me, Queue::Unassigned, "", None, repo::PAGE)
                    .await
                    .map(|r| ids(r, |t| t.id))
            })
        }),
        sql(admin, shown(&lim(&pool, 100), URGENT_P, &a_me), vec![]),
    )
    .await?;
    let pool_recent =
        format!("SELECT {COLS} FROM tickets WHERE agent_id IS NULL AND status = 'open' {RECENT}");
    b.row(
        "agent: the open pool, newest first",
        "psql",
        &agent,
        false,
        sql(&a, lim(&pool_recent, 50), vec![]),
        sql(admin, lim(&pool_recent, 50), vec![]),
    )
    .await?;
    b.row(
        "agent: unassigned (RLS adds \"open\")",
        "psql",
        &agent,
        false,
        sql(
            &a,
            lim(
                &format!("SELECT {COLS} FROM tickets WHERE agent_id IS NULL {URGENT}"),
                100,
            ),
            vec![],
        ),
        sql(admin, lim(&pool, 100), vec![]),
    )
    .await?;
    let visible = "agent_id = $1 OR (agent_id IS NULL AND status = 'open')";
    b.row(
        "agent: everything I may see, newest first",
        "psql",
        &agent,
        false,
        sql(
            &a,
            lim(&format!("SELECT {COLS} FROM tickets {RECENT}"), 100),
            vec![],
        ),
        sql(
            admin,
            lim(
                &format!("SELECT {COLS} FROM tickets WHERE {visible} {RECENT}"),
                100,
            ),
            vec![boxed(ai)],
        ),
    )
    .await?;
    b.row(
        "agent: everything I may see, newest first",
        "client",
        &agent,
        false,
        Box::new(|| {
            Box::pin(async {
                repo::list(&a, &a_me, Queue::All, "", None, repo::PAGE)
                    .await
                    .map(|r| ids(r, |t| t.id))
            })
        }),
        // The client reads the agent's own tickets and the open pool as two ranges and merges
        // them (repo::list): so does its floor, without RLS.
        sql(
            admin,
            shown(
                &lim(
                    &format!(
                        "(SELECT {COLS} FROM tickets WHERE agent_id = $1 {RECENT} LIMIT 100) \
                         UNION ALL (SELECT {COLS}, number FROM tickets \
                         WHERE agent_id IS NULL AND status = 'open' {RECENT} LIMIT 100) {RECENT}"
                    ),
                    100,
                ),
                RECENT_P,
                &a_me,
            ),
            vec![boxed(ai)],
        ),
    )
    .await?;
    let hist = "SELECT id FROM ticket_status_history WHERE ticket_id = $1 ORDER BY seq";
    b.row(
        "agent: one ticket's history",
        "psql",
        &agent,
        false,
        sql(&a, hist.into(), vec![boxed(a_ticket)]),
        sql(admin, hist.into(), vec![boxed(a_ticket)]),
    )
    .await?;
    b.row(
        "agent: count(*) of everything I may see",
        "psql",
        &agent,
        true,
        sql(&a, "SELECT count(*) FROM tickets".into(), vec![]),
        sql(
            admin,
            format!("SELECT count(*) FROM tickets WHERE {visible}"),
            vec![boxed(ai)],
        ),
    )
    .await?;
    b.row("agent: the tabs' counts (mine / pool / all I see)", "client (ticket_counts)", &agent, true,
        Box::new(|| Box::pin(async { repo::counts(&a, &a_me).await.map(|(v, _)| v.iter().map(|(_, n)| n.to_string()).collect()) })),
        sql(admin, format!("SELECT n FROM (VALUES (1, (SELECT count(*) FROM tickets WHERE agent_id = $1 AND {ACTIVE})), (2, (SELECT count(*) FROM tickets WHERE agent_id IS NULL AND status = 'open')), (3, (SELECT count(*) FROM tickets WHERE {visible}))) v(k, n) ORDER BY k"), vec![boxed(ai)])).await?;

    // --- Customer -----------------------------------------------------------------------
    let theirs = format!("SELECT {COLS} FROM tickets WHERE customer_id = $1 {RECENT}");
    b.row(
        "customer: my tickets, newest first",
        "psql",
        &customer,
        false,
        sql(
            &c,
            lim(&format!("SELECT {COLS} FROM tickets {RECENT}"), 100),
            vec![],
        ),
        sql(admin, lim(&theirs, 100), vec![boxed(ci)]),
    )
    .await?;
    b.row(
        "customer: my tickets, newest first",
        "client",
        &customer,
        false,
        Box::new(|| {
            Box::pin(async {
                repo::list(&c, &c_me, Queue::Mine, "", None, repo::PAGE)
                    .await
                    .map(|r| ids(r, |t| t.id))
            })
        }),
        sql(
            admin,
            shown(&lim(&theirs, 100), RECENT_P, &c_me),
            vec![boxed(ci)],
        ),
    )
    .await?;
    b.row(
        "customer: one ticket's history",
        "psql",
        &customer,
        false,
        sql(&c, hist.into(), vec![boxed(c_ticket)]),
        sql(admin, hist.into(), vec![boxed(c_ticket)]),
    )
    .await?;
    b.row(
        "customer: count(*)",
        "psql",
        &customer,
        true,
        sql(&c, "SELECT count(*) FROM tickets".into(), vec![]),
        sql(
            admin,
            "SELECT count(*) FROM tickets WHERE customer_id = $1".into(),
            vec![boxed(ci)],
        ),
    )
    .await?;
    // The client's search finds a ticket by its own words or by a message's (search_tickets):
    // the floor searches both the same way (each through its index and limited, then merged),
    // and shows the page as the client's list does (names, markers).
    let search_floor = |filter: &str, messages: &str, me: &Me| {
        let q = "websearch_to_tsquery('english', 'printer')";
        shown(
            &format!(
                "SELECT {COLS} FROM tickets WHERE id IN (SELECT h.id FROM ( \
                   (SELECT id, updated_at FROM tickets WHERE search @@ {q} AND {filter} {RECENT} LIMIT 100) \
                   UNION (SELECT id, updated_at FROM tickets WHERE id = ANY (ARRAY( \
                       SELECT m.ticket_id FROM ticket_messages m \
                       WHERE to_tsvector('english', m.body) @@ {q}{messages})) \
                     AND {filter} {RECENT} LIMIT 100)) h ORDER BY h.updated_at DESC, h.id DESC LIMIT 100) \
                 {RECENT}"
            ),
            RECENT_P,
            me,
        )
    };
    b.row(
        "customer: full-text search \"printer\"",
        "client (search_tickets)",
        &customer,
        false,
        Box::new(|| {
            Box::pin(async {
                repo::list(&c, &c_me, Queue::Mine, "printer", None, repo::PAGE)
                    .await
                    .map(|r| ids(r, |t| t.id))
            })
        }),
        sql(
            admin,
            search_floor("customer_id = $1", " AND NOT m.internal", &c_me),
            vec![boxed(ci)],
        ),
    )
    .await?;

    // --- Admin --------------------------------------------------------------------------
    b.row(
        "admin: everything, newest first",
        "psql",
        &admin_login,
        false,
        sql(
            &m,
            lim(&format!("SELECT {COLS} FROM tickets {RECENT}"), 100),
            vec![],
        ),
        sql(
            admin,
            lim(&format!("SELECT {COLS} FROM tickets {RECENT}"), 100),
            vec![],
        ),
    )
    .await?;
    b.row(
        "admin: everything, newest first",
        "client",
        &admin_login,
        false,
        Box::new(|| {
            Box::pin(async {
                repo::list(&m, &m_me, Queue::All, "", None, repo::PAGE)
                    .await
                    .map(|r| ids(r, |t| t.id))
            })
        }),
        sql(
            admin,
            shown(
                &lim(&format!("SELECT {COLS} FROM tickets {RECENT}"), 100),
                RECENT_P,
                &m_me,
            ),
            vec![],
        ),
    )
    .await?;
    b.row(
        "admin: one ticket's history",
        "psql",
        &admin_login,
        false,
        sql(&m, hist.into(), vec![boxed(c_ticket)]),
        sql(admin, hist.into(), vec![boxed(c_ticket)]),
    )
    .await?;
    let audit = "SELECT id FROM ticket_status_history ORDER BY changed_at DESC, id DESC LIMIT 100";
    let audit_named = "SELECT h.id, t.subject, oa.display_name, na.display_name, cb.display_name \
        FROM ticket_status_history h JOIN tickets t ON t.id = h.ticket_id \
        LEFT JOIN users oa ON oa.id = h.old_agent_id LEFT JOIN users na ON na.id = h.new_agent_id \
        LEFT JOIN users cb ON cb.id = h.changed_by ORDER BY h.changed_at DESC, h.id DESC LIMIT 100"
        .to_owned();
    b.row(
        "admin: audit page",
        "psql",
        &admin_login,
        false,
        sql(&m, audit.into(), vec![]),
        sql(admin, audit.into(), vec![]),
    )
    .await?;
    let no_filter = AuditFilter::default();
    b.row(
        "admin: audit page",
        "client",
        &admin_login,
        false,
        Box::new(|| {
            Box::pin(async {
                repo::audit(&m, &no_filter, None, repo::PAGE)
                    .await
                    .map(|r| ids(r, |h| h.id))
            })
        }),
        sql(admin, audit_named.clone(), vec![]),
    )
    .await?;
    b.row(
        "admin: count(*)",
        "psql",
        &admin_login,
        true,
        sql(&m, "SELECT count(*) FROM tickets".into(), vec![]),
        sql(admin, "SELECT count(*) FROM tickets".into(), vec![]),
    )
    .await?;
    b.row("admin: the tabs' counts (all / pool)", "client (ticket_counts)", &admin_login, true,
        Box::new(|| Box::pin(async { repo::counts(&m, &m_me).await.map(|(v, _)| v.iter().map(|(_, n)| n.to_string()).collect()) })),
        sql(admin, "SELECT n FROM (VALUES (1, (SELECT count(*) FROM tickets)), (2, (SELECT count(*) FROM tickets WHERE agent_id IS NULL AND status = 'open'))) v(k, n) ORDER BY k".into(), vec![])).await?;
    b.row(
        "admin: full-text search \"printer\"",
        "client (search_tickets)",
        &admin_login,
        false,
        Box::new(|| {
            Box::pin(async {
                repo::list(&m, &m_me, Queue::All, "printer", None, repo::PAGE)
                    .await
                    .map(|r| ids(r, |t| t.id))
            })
        }),
        sql(
            admin,
            search_floor("$1::uuid IS NOT NULL", "", &m_me),
            vec![boxed(mi)],
        ),
    )
    .await?;

    let out = std::mem::take(&mut b.out);
    if created {
        let _ = admin
            .batch_execute("DROP EXTENSION pg_stat_statements")
            .await;
    }
    Ok(out)
}
