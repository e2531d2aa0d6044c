//! The notifier: the one trusted session that announces changes (`tickets notifier`).
//!
//! Writers only queue their changes (migration 0020); this session calls
//! `announce_ticket_changes()` every few milliseconds, which numbers the queued changes into
//! `ticket_changes` and NOTIFYs `tickets_changed` with the new head. Only this session's
//! commits take PostgreSQL's cluster-wide NOTIFY lock, so writers never queue behind each
//! other's notifications. Several notifiers may run (for availability): the database lets one
//! at a time announce, and the others find nothing to do.

use std::time::Duration;
use tokio_postgres::Config;
use tokio_util::sync::CancellationToken;

/// How often the queue is checked. An idle check is one index probe and writes nothing;
/// this is the most the first change after a quiet spell waits before it is announced.
pub const POLL: Duration = Duration::from_millis(5);

/// Under a storm of writes, the changes that follow a batch are gathered this long into the
/// next one. Every NOTIFY commit wakes every listening session of the database (PostgreSQL
/// signals them all, whatever their channels), so the batches' rate, not the writes', is what
/// the listening sessions pay: at 650 writes/s, announcing every 5 ms woke each of 100
/// listening sessions 200 times a second.
pub const GATHER: Duration = Duration::from_millis(20);
/// A batch of at least this many changes (in one POLL) counts as a storm. At a steady 50
/// changes/s batches hold one change, and each is announced within POLL as before.
pub const STORM_BATCH: i64 = 3;

/// Runs until `stop` is cancelled: connects (as a superuser or a member of
/// tickets_notifier), announces, and reconnects with backoff when the connection is lost.
pub async fn run(config: Config, stop: CancellationToken) {
    let mut attempt: u32 = 0;
    loop {
        let why = tokio::select! {
            _ = stop.cancelled() => return,
            why = announce_until_lost(&config, &mut attempt) => why,
        };
        tracing::warn!("notifier: {why}; reconnecting");
        let wait = 100u64.saturating_mul(1 << attempt.min(5)).min(3_000);
        attempt = attempt.saturating_add(1);
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
        }
    }
}

async fn announce_until_lost(config: &Config, attempt: &mut u32) -> String {
    let client = match super::connect_config(config).await {
        Ok(c) => c,
        Err(e) => return e.to_string(),
    };
    let announce = match client
        .prepare("SELECT public.announce_ticket_changes()")
        .await
    {
        Ok(s) => s,
        Err(e) => return super::describe(&e),
    };
    *attempt = 0;
    let mut announced: Option<i64> = None;
    loop {
        let head: Option<i64> = match client.query_one(&announce, &[]).await {
            Ok(row) => row.get(0),
            Err(e) => return super::describe(&e),
        };
        let wait = wait_after(announced, head);
        announced = head.or(announced);
        tokio::time::sleep(wait).await;
    }
}

/// How long to wait after a call that announced up to `head` (None: nothing) when the one
/// before announced up to `before`: GATHER in a storm, POLL otherwise.
fn wait_after(before: Option<i64>, head: Option<i64>) -> Duration {
    match (before, head) {
        (Some(before), Some(head)) if head - before >= STORM_BATCH => GATHER,
        _ => POLL,
    }
}

/// Checks that `config` may announce (a superuser or a member of tickets_notifier), so
/// `tickets notifier` fails at once with a reason instead of retrying forever.
pub async fn check(config: &Config) -> Result<(), String> {
    let client = super::connect_config(config)
        .await
        .map_err(|e| e.to_string())?;
    let ok: bool = client
        .query_one(
            "SELECT has_function_privilege('public.announce_ticket_changes()', 'EXECUTE')",
            &[],
        )
        .await
        .map_err(|e| super::describe(&e))?
        .get(0);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} may not announce changes: connect as a superuser, or as a login granted tickets_notifier",
            config.get_user().unwrap_or("this login")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_storm_is_gathered() {
        // Nothing announced, or the first batch since start: the next check comes at once.
        assert_eq!(wait_after(None, None), POLL);
        assert_eq!(wait_after(None, Some(40)), POLL);
        assert_eq!(wait_after(Some(40), None), POLL);
        // One or two changes in a poll (50 changes/s): each is announced within POLL.
        assert_eq!(wait_after(Some(40), Some(41)), POLL);
        assert_eq!(wait_after(Some(40), Some(40 + STORM_BATCH - 1)), POLL);
        // A storm: the next batch is gathered.
        assert_eq!(wait_after(Some(40), Some(40 + STORM_BATCH)), GATHER);
        assert_eq!(wait_after(Some(40), Some(1_000)), GATHER);
    }
}
