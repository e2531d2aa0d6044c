//! The watchdog (issue 14 item 5), run beside the notifier by `tickets notifier`.
//!
//! A person may `SET statement_timeout = 0` (or the idle-in-transaction timeout) for their own
//! session, so the database's defaults bound accidents only. Every few seconds this session
//! calls `app.end_overlong_sessions()` (migration 0023), which cancels a person's statement
//! past `app.limits.longest_statement`, and ends a session idle in a transaction past
//! `app.limits.longest_idle_in_transaction`; what it ended is logged (login, pid, how long).

use std::time::Duration;
use tokio_postgres::{Client, Config};
use tokio_util::sync::CancellationToken;

/// How often the sessions are checked: a statement runs at most its limit plus this.
pub const EVERY: Duration = Duration::from_secs(5);

/// The limits the watchdog enforces; `None` takes the database's own (`app.limits`).
#[derive(Debug, Clone)]
pub struct Limits {
    pub statement: Option<Duration>,
    pub idle_in_transaction: Option<Duration>,
    pub every: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            statement: None,
            idle_in_transaction: None,
            every: EVERY,
        }
    }
}

/// A session the watchdog cancelled or ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Ended {
    pub pid: i32,
    pub login: String,
    pub database: String,
    pub action: String,
    pub seconds: f64,
}

/// One check: ends what is over the limits and says what it ended.
pub async fn sweep(client: &Client, limits: &Limits) -> Result<Vec<Ended>, tokio_postgres::Error> {
    let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
    let rows = client
        .query(
            "SELECT pid, login, database, action, extract(epoch FROM lasted)::float8
             FROM app.end_overlong_sessions(make_interval(secs => $1), make_interval(secs => $2))",
            &[&secs(limits.statement), &secs(limits.idle_in_transaction)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Ended {
            pid: r.get(0),
            login: r.get(1),
            database: r.get(2),
            action: r.get(3),
            seconds: r.get(4),
        })
        .collect())
}

/// Runs until `stop` is cancelled, as the notifier's login (a superuser or a member of
/// tickets_notifier); reconnects with backoff, and keeps trying (and saying why in the log)
/// when the database cannot be watched, e.g. before migration 0023.
pub async fn run(config: Config, limits: Limits, stop: CancellationToken) {
    let mut attempt: u32 = 0;
    loop {
        let why = tokio::select! {
            _ = stop.cancelled() => return,
            why = watch_until_lost(&config, &limits, &mut attempt) => why,
        };
        tracing::warn!("watchdog: {why}; trying again");
        let wait = 1_000u64.saturating_mul(1 << attempt.min(6)).min(60_000);
        attempt = attempt.saturating_add(1);
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
        }
    }
}

async fn watch_until_lost(config: &Config, limits: &Limits, attempt: &mut u32) -> String {
    let client = match super::connect_config(config).await {
        Ok(c) => c,
        Err(e) => return e.to_string(),
    };
    let mut tick = tokio::time::interval(limits.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match sweep(&client, limits).await {
            Ok(ended) => {
                *attempt = 0;
                for e in ended {
                    tracing::warn!(
                        login = %e.login,
                        pid = e.pid,
                        database = %e.database,
                        seconds = format!("{:.1}", e.seconds),
                        "watchdog: {}",
                        e.action
                    );
                }
            }
            Err(e) => return super::describe(&e),
        }
    }
}
