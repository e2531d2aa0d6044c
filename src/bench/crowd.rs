//! `tickets bench --crowd N`: N headless clients of seeded people (mixed roles) in this one
//! process against one server, while a writer commits changes at a steady rate for a while.
//! It reports what a change costs: queries the clients ran per change (their panes' loads and
//! their change-log reads), the server's CPU per change (the backends of this cluster, from
//! /proc), and the time from COMMIT to the frame that shows it in every client that had the
//! ticket on screen (p50/p99).
//!
//! The changes are made on tickets the bench files for the run (one per customer client,
//! assigned to the agent clients in turn, and as many for people without a client), and removed
//! afterwards with their history and change rows, so the data is left as it was found.

use super::{base_without_user, login, percentiles};
use crate::db;
use crate::headless::Headless;
use crate::model::Priority;
use eyre::{Result, eyre};
use ratatui::{Terminal, backend::TestBackend};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_postgres::{Client, Config};
use uuid::Uuid;

pub struct CrowdArgs {
    pub clients: usize,
    pub seconds: u64,
    pub rate: u32,
}

/// A change a client should show: the ticket with this priority, committed at `at`.
struct Expect {
    ticket: Uuid,
    priority: Priority,
    at: Instant,
}

/// What one client's task shares with the writer.
#[derive(Default)]
struct Shared {
    /// The ticket ids in its list now.
    on_screen: Vec<Uuid>,
    expects: Vec<Expect>,
    latencies: Vec<Duration>,
    missed: usize,
}

pub async fn run(
    base: &Config,
    admin_db: &Client,
    prefix: &str,
    password: &str,
    args: &CrowdArgs,
) -> Result<String> {
    let people = seeded(admin_db, prefix).await?;
    let mix = choose(&people, args.clients);
    let writer_login = format!("{prefix}_admin1");
    let stop_notifier = tokio_util::sync::CancellationToken::new();
    tokio::spawn(db::notifier::run(base.clone(), stop_notifier.clone()));

    // Log everybody in (a few at a time: logins are the slow part of a client's life).
    let mut clients: Vec<(String, Headless)> = Vec::new();
    for chunk in mix.chunks(16) {
        let logins = chunk.iter().map(|login| async move {
            let mut h = Headless::start(base_without_user(base), None);
            h.log_in(login, password)
                .await
                .map_err(|e| eyre!("{login}: {e}"))?;
            h.settle().await.map_err(|e| eyre!("{login}: {e}"))?;
            Ok::<_, eyre::Report>((login.clone(), h))
        });
        for r in futures_util::future::join_all(logins).await {
            clients.push(r?);
        }
    }
    let roles = describe_mix(&mix, prefix);

    // The tickets changed during the run: filed now, so they arrive live in the lists.
    let writer = db::connect_config(&login(base, &writer_login, password)).await?;
    let targets = file_targets(&writer, admin_db, &people, &mix, prefix).await?;
    let result = measure(&writer, clients, &targets, args, admin_db).await;
    super::remove_tickets(admin_db, &targets).await?;
    stop_notifier.cancel();
    let table = result?;
    Ok(format!(
        "\n| crowd: {} clients ({roles}), {} changes/s for {} s | figure |\n|---|---|\n{table}",
        args.clients, args.rate, args.seconds
    ))
}

async fn measure(
    writer: &Client,
    clients: Vec<(String, Headless)>,
    targets: &[Uuid],
    args: &CrowdArgs,
    admin_db: &Client,
) -> Result<String> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut shared = Vec::new();
    let mut tasks = Vec::new();
    for (_, mut h) in clients {
        let s = Arc::new(Mutex::new(Shared::default()));
        shared.push(s.clone());
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let theme = crate::ui::Theme::dark();
            let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("test backend");
            let before = (h.stats().clone(), h.runtime.change_reads());
            while !stop.load(Ordering::Relaxed) {
                match tokio::time::timeout(Duration::from_millis(50), h.runtime.recv()).await {
                    Ok(Some(m)) => h.apply(m),
                    Ok(None) => break,
                    Err(_) => {}
                }
                while let Some(m) = h.runtime.try_recv() {
                    h.apply(m);
                }
                let Some(main) = h.main() else { break };
                let mut s = s.lock().expect("shared");
                s.on_screen = main.list.rows.iter().map(|r| r.id).collect();
                let shows = |e: &Expect| {
                    main.list
                        .rows
                        .iter()
                        .any(|r| r.id == e.ticket && r.priority == e.priority)
                };
                if s.expects.iter().any(shows) {
                    // The frame that shows it: drawn, then timed.
                    let _ = terminal.draw(|f| crate::ui::render(&h.app, &theme, f));
                    let now = Instant::now();
                    let (done, left): (Vec<Expect>, Vec<Expect>) =
                        std::mem::take(&mut s.expects).into_iter().partition(shows);
                    s.expects = left;
                    for e in done {
                        s.latencies.push(now - e.at);
                    }
                }
                let stale = s.expects.len();
                s.expects
                    .retain(|e| e.at.elapsed() < Duration::from_secs(5));
                s.missed += stale - s.expects.len();
            }
            let after = (h.stats().clone(), h.runtime.change_reads());
            (before, after)
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let backends: i64 = admin_db
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE usename LIKE '%\\_customer%' OR usename LIKE '%\\_agent%' OR usename LIKE '%\\_admin%'",
            &[],
        )
        .await?
        .get(0);
    let cpu_before = backend_cpu(admin_db).await;
    let started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / f64::from(args.rate.max(1)));
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut changes = 0u64;
    let mut commit_times = Vec::new();
    let total = args.seconds * u64::from(args.rate);
    while changes < total {
        tick.tick().await;
        let ticket = targets[changes as usize % targets.len()];
        let t0 = Instant::now();
        let row = writer
            .query_one(
                "UPDATE tickets SET priority = (CASE priority WHEN 'urgent' THEN 'high' ELSE 'urgent' END)::ticket_priority \
                 WHERE id = $1 RETURNING priority::text",
                &[&ticket],
            )
            .await?;
        let at = Instant::now();
        commit_times.push(at - t0);
        let priority =
            Priority::from_sql(row.get::<_, &str>(0)).ok_or_else(|| eyre!("unknown priority"))?;
        for s in &shared {
            let mut s = s.lock().expect("shared");
            // A newer change to the same ticket supersedes an older one not yet shown, on
            // screen or not: a ticket that a change moved off a client's loaded page and the
            // next change brought back shows the newer value, never the older one.
            s.expects.retain(|e| e.ticket != ticket);
            if s.on_screen.contains(&ticket) {
                s.expects.push(Expect {
                    ticket,
                    priority,
                    at,
                });
            }
        }
        changes += 1;
    }
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cpu_after = backend_cpu(admin_db).await;
    stop.store(true, Ordering::Relaxed);
    let (mut loads, mut reads) = (0usize, 0u64);
    for t in tasks {
        let ((b, b_reads), (a, a_reads)) =
            t.await.map_err(|e| eyre!("a client task failed: {e}"))?;
        reads += a_reads - b_reads;
        loads += (a.page_loads - b.page_loads)
            + (a.row_loads - b.row_loads)
            + (a.count_loads - b.count_loads)
            + (a.ticket_loads - b.ticket_loads)
            + (a.thread_loads - b.thread_loads)
            + (a.audit_loads - b.audit_loads);
    }
    let mut latencies = Vec::new();
    let mut missed = 0;
    for s in &shared {
        let mut s = s.lock().expect("shared");
        latencies.append(&mut s.latencies);
        missed += s.missed + s.expects.len();
    }
    let shown = latencies.len();
    let (p50, p99) = percentiles(latencies);
    let (w50, w99) = percentiles(commit_times);
    let per = |n: f64| n / changes.max(1) as f64;
    let mut out = String::new();
    out.push_str(&format!(
        "| backends held by the clients (and the writer) | {backends} |\n"
    ));
    out.push_str(&format!(
        "| changes committed | {changes} in {:.1} s (writer's statement p50 {w50:.2} ms, p99 {w99:.2} ms) |\n",
        elapsed.as_secs_f64()
    ));
    out.push_str(&format!(
        "| pane queries per change, all clients | {:.2} ({loads} in all) |\n",
        per(loads as f64)
    ));
    out.push_str(&format!(
        "| change-log reads per change, all clients | {:.2} ({reads} in all) |\n",
        per(reads as f64)
    ));
    match (cpu_before, cpu_after) {
        (Some(b), Some(a)) => out.push_str(&format!(
            "| server CPU per change (every backend of the cluster) | {:.2} ms ({:.1} % of one core) |\n",
            per((a - b) * 1000.0),
            (a - b) * 100.0 / elapsed.as_secs_f64()
        )),
        _ => out.push_str("| server CPU per change | unknown (the server is not on this machine) |\n"),
    }
    out.push_str(&format!(
        "| COMMIT to the frame that shows it, in each client that had the ticket on screen | p50 {p50:.2} ms, p99 {p99:.2} ms ({shown} shown, {missed} not within 5 s) |\n"
    ));
    Ok(out)
}

/// Seeded logins with this prefix, by role.
async fn seeded(admin_db: &Client, prefix: &str) -> Result<HashMap<&'static str, Vec<String>>> {
    let rows = admin_db
        .query(
            "SELECT u.login, u.role::text FROM users u WHERE u.login LIKE $1 || '\\_%' AND u.disabled_at IS NULL \
             AND EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = u.login) ORDER BY length(u.login), u.login",
            &[&prefix],
        )
        .await?;
    let mut people: HashMap<&'static str, Vec<String>> = HashMap::new();
    for r in rows {
        let role = match r.get::<_, &str>(1) {
            "admin" => "admin",
            "agent" => "agent",
            _ => "customer",
        };
        people.entry(role).or_default().push(r.get(0));
    }
    Ok(people)
}

/// Who logs in: a tenth admins, three tenths customers, the rest agents, within each login's
/// connection limit (customers 4, staff 10; admin1 is the writer's and stays free).
fn choose(people: &HashMap<&'static str, Vec<String>>, n: usize) -> Vec<String> {
    let pick = |role: &str, want: usize, per: usize, skip: usize| -> Vec<String> {
        let logins: Vec<&String> = people
            .get(role)
            .map(|v| v.iter().skip(skip).collect())
            .unwrap_or_default();
        (0..want.min(logins.len() * per))
            .map(|i| logins[i % logins.len()].clone())
            .collect()
    };
    let mut mix = pick("admin", n / 10, 8, 1);
    mix.extend(pick("customer", n * 3 / 10, 3, 0));
    let agents = n.saturating_sub(mix.len());
    mix.extend(pick("agent", agents, 8, 0));
    mix
}

/// The clients' logins of one role, one entry per client (a login with several clients
/// appears once for each).
fn clients_of<'a>(mix: &'a [String], prefix: &str, role: &str) -> Vec<&'a String> {
    let start = format!("{prefix}_{role}");
    mix.iter().filter(|l| l.starts_with(&start)).collect()
}

fn describe_mix(mix: &[String], prefix: &str) -> String {
    let count = |role: &str| clients_of(mix, prefix, role).len();
    format!(
        "{} agents, {} customers, {} admins",
        count("agent"),
        count("customer"),
        count("admin")
    )
}

/// Files the run's tickets as the writer (an admin): one per customer client (a customer with
/// three terminals gets three), assigned to the agent clients in turn (on screen for both and
/// the admins), and as many again for customers with no client, assigned to an agent with no
/// client (only the admins see those).
async fn file_targets(
    writer: &Client,
    admin_db: &Client,
    people: &HashMap<&'static str, Vec<String>>,
    mix: &[String],
    prefix: &str,
) -> Result<Vec<Uuid>> {
    let online = |role: &str| -> Vec<String> {
        clients_of(mix, prefix, role).into_iter().cloned().collect()
    };
    let (customers, agents) = (online("customer"), online("agent"));
    if customers.is_empty() || agents.is_empty() {
        return Err(eyre!(
            "the crowd needs seeded customers and agents with logins (tickets seed)"
        ));
    }
    let offline_agent = people
        .get("agent")
        .and_then(|v| v.iter().find(|a| !agents.contains(a)).cloned())
        .unwrap_or_else(|| agents[0].clone());
    let mut pairs: Vec<(String, Option<String>)> = Vec::new();
    for (i, c) in customers.iter().enumerate() {
        pairs.push((c.clone(), Some(agents[i % agents.len()].clone())));
    }
    let offline_customers: Vec<String> = admin_db
        .query(
            "SELECT login FROM users WHERE role = 'customer' AND disabled_at IS NULL AND NOT (login = ANY($1)) LIMIT $2",
            &[&customers, &(customers.len() as i64)],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for c in offline_customers {
        pairs.push((c, Some(offline_agent.clone())));
    }
    let mut ids = Vec::new();
    for (customer, agent) in pairs {
        let id: Uuid = writer
            .query_one(
                "INSERT INTO tickets (subject, customer_id, agent_id, priority) \
                 SELECT 'tickets bench: crowd (removed afterwards)', c.id, a.id, 'high' \
                 FROM users c LEFT JOIN users a ON a.login = $2 WHERE c.login = $1 RETURNING id",
                &[&customer, &agent],
            )
            .await?
            .get(0);
        ids.push(id);
    }
    Ok(ids)
}

/// CPU seconds (user + system) spent so far by every backend and worker of the cluster
/// (`pg_stat_activity` as the superuser lists them all), read from /proc; None when the
/// server runs elsewhere.
async fn backend_cpu(admin_db: &Client) -> Option<f64> {
    let rows = admin_db
        .query("SELECT pid FROM pg_stat_activity", &[])
        .await
        .ok()?;
    let ticks = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .unwrap_or(100.0);
    let mut total = 0.0;
    let mut found = false;
    for r in rows {
        let pid: i32 = r.get(0);
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The fields after the command name (which may hold spaces), from ")".
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of stat; here 12 and 13 (after pid and comm).
        if let (Some(u), Some(s)) = (f.get(11), f.get(12))
            && let (Ok(u), Ok(s)) = (u.parse::<f64>(), s.parse::<f64>())
        {
            total += (u + s) / ticks;
            found = true;
        }
    }
    found.then_some(total)
}
