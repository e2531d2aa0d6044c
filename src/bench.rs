//! `tickets bench`: the figures behind the speed goals, on a seeded database (`tickets seed`).
//!
//! - Pane queries as the busiest real people, through RLS (the client's own queries), next to
//!   the same rows fetched by a superuser without RLS (the floor): p50 and p99 round trips over
//!   the connection, so protocol overhead is in both columns.
//! - The client: first frame after login, frame render time at 200x60, resident memory with
//!   every ticket visible to an admin, and the live latency from COMMIT to a refreshed frame.

mod thread;
pub mod wire;

use crate::db::{self, repo};
use crate::headless::Headless;
use crate::model::*;
use eyre::{Result, eyre};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::future::Future;
use std::str::FromStr;
use std::time::{Duration, Instant};
use tokio_postgres::{Client, Config};

pub struct BenchArgs {
    pub database_url: String,
    pub prefix: String,
    pub password: String,
    pub iterations: usize,
    pub live_changes: usize,
}

/// p50 and p99 of a set of durations, in milliseconds.
fn percentiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
    (at(0.50), at(0.99))
}

async fn time<F, Fut, T>(n: usize, mut f: F) -> Result<Vec<Duration>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, db::DbError>>,
{
    for _ in 0..n.div_ceil(10).max(3) {
        f().await?; // warm: plans, caches, plpgsql
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        f().await?;
        out.push(started.elapsed());
    }
    Ok(out)
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

const FLOOR_COLUMNS: &str = "t.id, t.subject, t.status, t.priority, t.customer_id, t.agent_id, a.display_name, t.created_at, t.updated_at";

pub async fn run(args: &BenchArgs) -> Result<String> {
    let base = Config::from_str(&args.database_url)
        .map_err(|e| eyre!("the database URL is not valid: {e}"))?;
    let admin_db = db::connect_config(&base).await?;
    let login = |name: String| {
        let mut c = base.clone();
        c.user(&name).password(args.password.as_str());
        c
    };
    let (agent, customer, admin) = (
        format!("{}_agent1", args.prefix),
        format!("{}_customer1", args.prefix),
        format!("{}_admin1", args.prefix),
    );
    let counts = admin_db
        .query_one(
            "SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM ticket_status_history)",
            &[],
        )
        .await?;
    let (tickets, history): (i64, i64) = (counts.get(0), counts.get(1));
    let mut out = format!(
        "tickets bench: {tickets} tickets, {history} history rows; {} runs per query (after warm-up)\n\n",
        args.iterations
    );

    // --- Pane queries -------------------------------------------------------------------
    let mut sessions = Vec::new();
    for name in [&agent, &customer, &admin] {
        let client = db::connect_config(&login(name.clone()))
            .await
            .map_err(|e| eyre!("log in as {name} (seed with --prefix {}): {e}", args.prefix))?;
        let me = repo::whoami(&client).await?;
        sessions.push((client, me));
    }
    let [(agent_c, agent_me), (cust_c, cust_me), (admin_c, admin_me)] =
        <[(Client, Me); 3]>::try_from(sessions).map_err(|_| eyre!("three sessions"))?;
    let ticket: uuid::Uuid = admin_db
        .query_one(
            "SELECT ticket_id FROM ticket_status_history WHERE customer_id = $1
             GROUP BY ticket_id ORDER BY count(*) DESC, ticket_id LIMIT 1",
            &[&cust_me.id],
        )
        .await?
        .get(0);
    let word = "printer";
    let n = args.iterations;
    out.push_str("| pane query (as the busiest person) | RLS p50 ms | RLS p99 ms | floor p50 ms | floor p99 ms | p50 ratio |\n|---|---:|---:|---:|---:|---:|\n");
    let mut row = |name: &str, rls: Vec<Duration>, floor: Vec<Duration>| {
        let ((a, b), (c, d)) = (percentiles(rls), percentiles(floor));
        out.push_str(&format!(
            "| {name} | {a:.3} | {b:.3} | {c:.3} | {d:.3} | {:.2}x |\n",
            a / c
        ));
    };
    let floor = |sql: String, param: uuid::Uuid| {
        let db = &admin_db;
        move || {
            let sql = sql.clone();
            async move { db.query(&sql, &[&param]).await.map_err(db::DbError::from) }
        }
    };
    let join = "FROM tickets t LEFT JOIN users a ON a.id = t.agent_id";
    row(
        "agent queue, first page",
        time(n, || repo::list(&agent_c, &agent_me, Queue::Mine, "", None, repo::PAGE)).await?,
        time(n, floor(format!("SELECT {FLOOR_COLUMNS} {join} WHERE t.agent_id = $1 AND t.status IN ('open','in_progress','waiting_on_customer') ORDER BY t.priority DESC, t.created_at, t.id LIMIT 100"), agent_me.id)).await?,
    );
    row(
        "unassigned pool, first page",
        time(n, || repo::list(&agent_c, &agent_me, Queue::Unassigned, "", None, repo::PAGE)).await?,
        time(n, floor(format!("SELECT {FLOOR_COLUMNS} {join} WHERE t.agent_id IS NULL AND t.status = 'open' AND $1::uuid IS NOT NULL ORDER BY t.priority DESC, t.created_at, t.id LIMIT 100"), agent_me.id)).await?,
    );
    row(
        "customer's list",
        time(n, || repo::list(&cust_c, &cust_me, Queue::Mine, "", None, repo::PAGE)).await?,
        time(n, floor(format!("SELECT {FLOOR_COLUMNS} {join} WHERE t.customer_id = $1 ORDER BY t.updated_at DESC, t.id DESC LIMIT 100"), cust_me.id)).await?,
    );
    row(
        "one ticket's history (customer)",
        time(n, || repo::history(&cust_c, &cust_me, ticket)).await?,
        time(n, floor("SELECT h.*, cb.display_name FROM ticket_status_history h LEFT JOIN users cb ON cb.id = h.changed_by WHERE h.ticket_id = $1 ORDER BY h.seq".into(), ticket)).await?,
    );
    let no_filter = AuditFilter::default();
    row(
        "admin audit page",
        time(n, || repo::audit(&admin_c, &no_filter, None, repo::PAGE)).await?,
        time(n, floor("SELECT h.*, t.subject, cb.display_name FROM ticket_status_history h JOIN tickets t ON t.id = h.ticket_id LEFT JOIN users cb ON cb.id = h.changed_by WHERE $1::uuid IS NOT NULL ORDER BY h.changed_at DESC, h.id DESC LIMIT 100".into(), admin_me.id)).await?,
    );
    row(
        "full-text search (admin, \"printer\")",
        time(n, || repo::list(&admin_c, &admin_me, Queue::All, word, None, repo::PAGE)).await?,
        time(n, floor(format!("SELECT {FLOOR_COLUMNS} {join} WHERE t.search @@ websearch_to_tsquery('english', 'printer') AND $1::uuid IS NOT NULL ORDER BY t.updated_at DESC, t.id DESC LIMIT 100"), admin_me.id)).await?,
    );
    row(
        "full-text search (customer, \"printer\")",
        time(n, || repo::list(&cust_c, &cust_me, Queue::Mine, word, None, repo::PAGE)).await?,
        time(n, floor(format!("SELECT {FLOOR_COLUMNS} {join} WHERE t.customer_id = $1 AND t.search @@ websearch_to_tsquery('english', 'printer') ORDER BY t.updated_at DESC, t.id DESC LIMIT 100"), cust_me.id)).await?,
    );

    // --- The conversation (src/bench/thread.rs) ------------------------------------------
    out.push_str(&thread::section(&base, &admin_db, &args.password, n).await?);

    // --- The client ----------------------------------------------------------------------
    out.push_str("\n| client | figure |\n|---|---|\n");
    let rss_start = rss_mb();
    let mut first_frames = Vec::new();
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).map_err(|e| eyre!("{e}"))?;
    let theme = crate::ui::Theme::dark();
    for _ in 0..5 {
        let mut h = Headless::start(base_without_user(&base), None);
        h.typed(&admin);
        h.key(ratatui::crossterm::event::KeyCode::Tab);
        h.typed(&args.password);
        let started = Instant::now();
        h.key(ratatui::crossterm::event::KeyCode::Enter);
        h.wait_until(Duration::from_secs(30), |app| {
            app.main().is_some_and(|m| {
                !m.list.rows.is_empty() && m.detail.is_some() && !m.thread.is_empty()
            })
        })
        .await
        .map_err(|e| eyre!("admin login: {e}"))?;
        terminal
            .draw(|f| crate::ui::render(&h.app, &theme, f))
            .map_err(|e| eyre!("{e}"))?;
        first_frames.push(started.elapsed());
        drop(h);
    }
    let (p50, _) = percentiles(first_frames.clone());
    let worst = first_frames
        .iter()
        .max()
        .copied()
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0;
    out.push_str(&format!("| login to first full frame (admin, list+detail+history), 5 runs | p50 {p50:.1} ms, max {worst:.1} ms |\n"));

    // One admin session: render time, then memory while paging through everything visible.
    let mut h = Headless::start(base_without_user(&base), None);
    h.log_in(&admin, &args.password)
        .await
        .map_err(|e| eyre!("admin login: {e}"))?;
    let rss_logged_in = rss_mb();
    let mut renders = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let started = Instant::now();
        terminal
            .draw(|f| crate::ui::render(&h.app, &theme, f))
            .map_err(|e| eyre!("{e}"))?;
        renders.push(started.elapsed());
    }
    let (p50, p99) = percentiles(renders);
    out.push_str(&format!("| frame render at 200x60 (admin, 100 rows loaded), 1000 frames | p50 {p50:.3} ms, p99 {p99:.3} ms |\n"));
    let target_rows = 10_000;
    while h
        .main()
        .is_some_and(|m| m.list.rows.len() < target_rows && !m.list.exhausted)
    {
        h.key(ratatui::crossterm::event::KeyCode::Char('G'));
        h.settle().await.map_err(|e| eyre!("{e}"))?;
    }
    let loaded = h.main().map_or(0, |m| m.list.rows.len());
    out.push_str(&format!(
        "| resident memory (whole bench process): before login / admin logged in, {tickets} visible / after paging through {loaded} rows | {rss_start:.1} / {rss_logged_in:.1} / {:.1} MB |\n",
        rss_mb()
    ));
    drop(h);

    // --- Live: COMMIT in one session to the refreshed frame in another client ------------
    if args.live_changes > 0 {
        let mut watcher = Headless::start(base_without_user(&base), None);
        watcher
            .log_in(&agent, &args.password)
            .await
            .map_err(|e| eyre!("agent login: {e}"))?;
        let shown = watcher
            .main()
            .and_then(|m| m.detail.as_ref().map(|d| d.row.id))
            .ok_or_else(|| eyre!("{agent} has no ticket in their queue to watch"))?;
        let writer = &agent_c;
        let mut latencies = Vec::with_capacity(args.live_changes);
        for i in 0..args.live_changes {
            let to = if i % 2 == 0 {
                Priority::Urgent
            } else {
                Priority::High
            };
            // Spaced past the 200 ms throttle, so each change is measured on its own.
            tokio::time::sleep(Duration::from_millis(250)).await;
            writer
                .execute(
                    "UPDATE tickets SET priority = $1::text::ticket_priority WHERE id = $2",
                    &[&to.as_sql(), &shown],
                )
                .await?;
            let committed = Instant::now();
            watcher
                .wait_until(Duration::from_secs(10), |app| {
                    app.main()
                        .and_then(|m| m.detail.as_ref())
                        .is_some_and(|d| d.row.priority == to)
                })
                .await
                .map_err(|e| eyre!("live change {i}: {e}"))?;
            terminal
                .draw(|f| crate::ui::render(&watcher.app, &theme, f))
                .map_err(|e| eyre!("{e}"))?;
            latencies.push(committed.elapsed());
        }
        let (p50, p99) = percentiles(latencies);
        out.push_str(&format!(
            "| COMMIT to refreshed frame in another client, {} changes | p50 {p50:.2} ms, p99 {p99:.2} ms |\n",
            args.live_changes
        ));
        drop(watcher);
    }
    out.push_str(
        &wire::run(&base_without_user(&base), &admin, &args.password)
            .await
            .map_err(|e| eyre!("bytes per key: {e}"))?,
    );
    Ok(out)
}

/// The server of the admin URL, for a client that logs in on its form.
fn base_without_user(base: &Config) -> Config {
    let mut c = Config::new();
    for h in base.get_hosts() {
        match h {
            tokio_postgres::config::Host::Tcp(name) => c.host(name),
            tokio_postgres::config::Host::Unix(path) => c.host_path(path),
        };
    }
    for p in base.get_ports() {
        c.port(*p);
    }
    if let Some(db) = base.get_dbname() {
        c.dbname(db);
    }
    c.ssl_mode(base.get_ssl_mode());
    c
}
