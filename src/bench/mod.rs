//! `tickets bench`: the figures behind the speed goals, on a seeded database (`tickets seed`).
//!
//! - `panes`: every pane query as the busiest real people, on both paths where they differ:
//!   the query a psql user writes (through the policies) and the client's own (which may go
//!   through a SECURITY DEFINER function), each next to the same rows read by a superuser
//!   without RLS (the floor). Rows are compared with the floor; p50/p99 round trips, and
//!   server-side time and buffers per call from pg_stat_statements when it is loaded.
//! - `client`: first frame after login, frame render time, resident memory, and the live
//!   latency from COMMIT to a refreshed frame, on tickets the bench files and then removes.
//! - `crowd`: N headless clients of mixed roles while a writer commits changes at a steady
//!   rate: queries and server CPU per change, COMMIT-to-frame p50/p99 (`--crowd N`).
//! - `thread`: the busiest ticket's conversation through RLS as its customer and its agent
//!   (psql's queries and the client's page) against the floor, server time and buffers.
//! - `listeners`: N live clients of seeded people, held open (for pgbench runs beside them).
//!
//! The bench leaves the data as it found it: the pane queries only read, and the live test
//! works on tickets of its own which it deletes afterwards with their history and change
//! rows (history is append-only for everyone, so that takes the superuser skipping triggers
//! for those rows alone).

mod client;
pub mod crowd;
mod listeners;
mod panes;
mod thread;
pub mod wire;

use crate::cli::BenchSection;
use crate::db;
use eyre::{Result, eyre};
use std::future::Future;
use std::str::FromStr;
use std::time::{Duration, Instant};
use tokio_postgres::{Client, Config};

pub use listeners::hold_listeners;

pub struct BenchArgs {
    pub database_url: String,
    pub prefix: String,
    pub password: String,
    pub iterations: usize,
    pub live_changes: usize,
    /// One part only (None: all of them).
    pub only: Option<BenchSection>,
}

/// `tickets bench --crowd N`: only the crowd (see crowd.rs).
pub async fn crowd(args: &BenchArgs, crowd: &crowd::CrowdArgs) -> Result<String> {
    let (base, admin_db) = connect_admin(args).await?;
    let mut out = format!(
        "tickets bench --crowd: {}
",
        load_average()
    );
    out.push_str(&crowd::run(&base, &admin_db, &args.prefix, &args.password, crowd).await?);
    out.push_str(&format!(
        "
{} at the end
",
        load_average()
    ));
    Ok(out)
}

/// The database URL's settings, and the superuser connection the bench reads and cleans up with.
async fn connect_admin(args: &BenchArgs) -> Result<(Config, Client)> {
    let base = Config::from_str(&args.database_url)
        .map_err(|e| eyre!("the database URL is not valid: {e}"))?;
    let admin_db = db::connect_config(&base).await?;
    Ok((base, admin_db))
}

pub async fn run(args: &BenchArgs) -> Result<String> {
    let (base, admin_db) = connect_admin(args).await?;
    let counts = admin_db
        .query_one(
            "SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM ticket_status_history)",
            &[],
        )
        .await?;
    let (tickets, history): (i64, i64) = (counts.get(0), counts.get(1));
    let mut out = format!(
        "tickets bench: {tickets} tickets, {history} history rows; {} runs per query (after warm-up); {}\n\n",
        args.iterations,
        load_average()
    );
    let wanted = |s: BenchSection| args.only.is_none_or(|o| o == s);
    if wanted(BenchSection::Panes) {
        out.push_str(&panes::run(args, &base, &admin_db).await?);
    }
    if wanted(BenchSection::Thread) {
        out.push_str(&thread::section(&base, &admin_db, &args.password, args.iterations).await?);
    }
    if wanted(BenchSection::Client) {
        // The client opens seeded tickets as the bench's people (and the live watcher may, as
        // customer1), which marks them seen: their markers are put back as they were,
        // whatever the run's outcome.
        let people = [
            format!("{}_admin1", args.prefix),
            format!("{}_agent1", args.prefix),
            format!("{}_customer1", args.prefix),
        ];
        let saved = SeenMarkers::save(&admin_db, &people).await?;
        let result = client::run(args, &base, &admin_db, tickets).await;
        saved.restore(&admin_db).await?;
        out.push_str(&result?);
    }
    out.push_str(&format!("\n{} at the end\n", load_average()));
    Ok(out)
}

/// The machine's load average (1, 5, 15 minutes): the bench shares it with whatever runs.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| {
            let v: Vec<&str> = s.split_whitespace().take(3).collect();
            format!("load average {}", v.join(" "))
        })
        .unwrap_or_else(|| "load average unknown".into())
}

/// p50 and p99 of a set of durations, in milliseconds.
pub(crate) fn percentiles(mut v: Vec<Duration>) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0);
    }
    v.sort();
    let at = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
    (at(0.50), at(0.99))
}

/// Runs `f` a few times to warm up, then `n` times, timing each round trip.
pub(crate) async fn time<F, Fut, T>(n: usize, mut f: F) -> Result<Vec<Duration>>
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

/// The server of the admin URL, for a client that logs in on its form.
pub(crate) fn base_without_user(base: &Config) -> Config {
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

/// A seeded person's login config.
pub(crate) fn login(base: &Config, name: &str, password: &str) -> Config {
    let mut c = base.clone();
    c.user(name).password(password);
    c
}

/// Whether pg_stat_statements can be read here (loaded by the server and created in the
/// database); the bench then reports server-side time and buffers per call.
pub(crate) async fn statements_available(admin: &Client) -> bool {
    admin
        .query_one("SELECT count(*) FROM pg_stat_statements LIMIT 1", &[])
        .await
        .is_ok()
}

/// Some people's seen markers, as they were before a bench opened tickets in their name:
/// (person, ticket, seen_at) in three columns, as the restoring statement takes them.
struct SeenMarkers {
    logins: Vec<String>,
    people: Vec<uuid::Uuid>,
    tickets: Vec<uuid::Uuid>,
    times: Vec<std::time::SystemTime>,
}

impl SeenMarkers {
    async fn save(admin_db: &Client, logins: &[String]) -> Result<SeenMarkers> {
        let mut saved = SeenMarkers {
            logins: logins.to_vec(),
            people: Vec::new(),
            tickets: Vec::new(),
            times: Vec::new(),
        };
        for r in admin_db
            .query(
                "SELECT s.person_id, s.ticket_id, s.seen_at FROM ticket_seen s \
                 JOIN users u ON u.id = s.person_id WHERE u.login = ANY($1)",
                &[&logins],
            )
            .await?
        {
            saved.people.push(r.get(0));
            saved.tickets.push(r.get(1));
            saved.times.push(r.get(2));
        }
        Ok(saved)
    }

    /// Removes the markers made since, and puts back the times of those that were there.
    async fn restore(&self, admin_db: &Client) -> Result<()> {
        admin_db
            .execute(
                "WITH saved AS (SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::timestamptz[]) \
                                    AS x(person_id, ticket_id, seen_at)), \
                      gone AS (DELETE FROM ticket_seen s USING users u \
                               WHERE u.id = s.person_id AND u.login = ANY($1) \
                                 AND (s.person_id, s.ticket_id) NOT IN \
                                     (SELECT person_id, ticket_id FROM saved)) \
                 UPDATE ticket_seen s SET seen_at = saved.seen_at FROM saved \
                 WHERE s.person_id = saved.person_id AND s.ticket_id = saved.ticket_id \
                   AND s.seen_at <> saved.seen_at",
                &[&self.logins, &self.people, &self.tickets, &self.times],
            )
            .await?;
        Ok(())
    }
}

/// Removes tickets a bench filed, with everything that refers to them (history, messages,
/// seen markers, change rows; history is append-only for everyone, so the superuser skips the
/// triggers for these rows alone), then rebuilds the maintained counts: the data is left as
/// the bench found it.
async fn remove_tickets(admin_db: &Client, ids: &[uuid::Uuid]) -> Result<()> {
    let list = ids
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",");
    admin_db
        .batch_execute(&format!(
            "BEGIN;
             SET LOCAL session_replication_role = replica;
             DELETE FROM ticket_status_history WHERE ticket_id IN ({list});
             DELETE FROM ticket_messages WHERE ticket_id IN ({list});
             DELETE FROM app.message_turns WHERE ticket_id IN ({list});
             DELETE FROM ticket_changes WHERE ticket_id IN ({list});
             DELETE FROM app.ticket_change_queue WHERE ticket_id IN ({list});
             DELETE FROM ticket_seen WHERE ticket_id IN ({list});
             DELETE FROM tickets WHERE id IN ({list});
             COMMIT;"
        ))
        .await?;
    admin_db
        .batch_execute("SELECT app.rebuild_ticket_counters()")
        .await?;
    Ok(())
}
