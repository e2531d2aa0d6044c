//! The abuse attacks on what the database's own settings cannot bound: timeouts a session
//! lifts for itself (the watchdog).

use super::engine::*;
use crate::common;
use std::time::Duration;
use tickets::db::watchdog;

/// Item 5: a person who lifts their own timeouts is still bounded. The watchdog, run by the
/// notifier's login (a real member of tickets_notifier), cancels a customer's statement that
/// runs past the limit and ends an agent's transaction left idle past it; a superuser's long
/// statement is not a person's and runs on. People cannot call the watchdog themselves.
pub async fn timeouts_lifted_by_the_session(w: &World) -> Check {
    let alice = w.session("alice").await;
    refused(
        &alice,
        "SELECT * FROM app.end_overlong_sessions('0s', '0s')",
        "42501",
        "permission denied for function end_overlong_sessions",
    )
    .await?;
    let login = w.db.unique_login("watch");
    w.su.batch_execute(&format!(
        "CREATE ROLE {login} LOGIN PASSWORD 'pw-watch' IN ROLE tickets_notifier"
    ))
    .await
    .unwrap();
    let watcher =
        tickets::db::connect_config(&common::config_for(&login, Some("pw-watch"), &w.db.name))
            .await
            .map_err(|e| format!("the notifier's login: {e}"))?;

    alice
        .batch_execute("SET statement_timeout = 0")
        .await
        .map_err(|e| describe(&e))?;
    let al = w.session("al").await;
    al.batch_execute("SET idle_in_transaction_session_timeout = 0; BEGIN; SELECT 1")
        .await
        .map_err(|e| describe(&e))?;
    let dba = w.db.admin().await;
    let sleeping = tokio::spawn(async move {
        let r = alice.execute("SELECT pg_sleep(600)", &[]).await;
        (alice, r)
    });
    let dba_sleeping = tokio::spawn(async move {
        dba.batch_execute("SET statement_timeout = 0; SELECT pg_sleep(3)")
            .await
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let limits = watchdog::Limits {
        statement: Some(Duration::from_secs(1)),
        idle_in_transaction: Some(Duration::from_secs(1)),
        every: Duration::from_millis(200),
    };
    let ended = watchdog::sweep(&watcher, &limits)
        .await
        .map_err(|e| format!("the watchdog failed: {}", describe(&e)))?;
    let reported = |who: &str, action: &str| {
        ended
            .iter()
            .any(|e| e.login == w.person(who).login && e.action == action && e.seconds > 1.0)
    };
    let (alice, slept) = match tokio::time::timeout(Duration::from_secs(10), sleeping).await {
        Ok(done) => done.unwrap(),
        Err(_) => {
            // Not ended: stop it here, so the world can go.
            let _ =
                w.su.execute(
                    "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
                     WHERE usename = $1 AND state = 'active'",
                    &[&w.person("alice").login],
                )
                .await;
            return Err(format!(
                "alice's SELECT pg_sleep(600) with statement_timeout = 0 still ran 10 s after the watchdog (it reported {ended:?})"
            ));
        }
    };
    refused_with_code(slept, "57014", "canceling statement due to user request")?;
    // Cancelled, not ended: her session goes on.
    rows(&alice, "SELECT 1", 1).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !al.is_closed() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !al.is_closed() {
        return Err("al's transaction idle with its timeout lifted was not ended".into());
    }
    if !reported("alice", "cancelled statement")
        || !reported("al", "terminated: idle in transaction")
    {
        return Err(format!(
            "the watchdog's report misses what it did: {ended:?}"
        ));
    }
    match dba_sleeping.await.unwrap() {
        Ok(()) => Ok(()),
        Err(e) => Err(format!(
            "the superuser's statement was ended too: {}",
            describe(&e)
        )),
    }
}

/// `r` must be an error with `code` and `says` in its message.
fn refused_with_code(r: Result<u64, tokio_postgres::Error>, code: &str, says: &str) -> Check {
    crate::common::attack::refused_with("the statement", r, code, says)
}
