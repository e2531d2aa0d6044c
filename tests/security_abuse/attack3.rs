//! The abuse attacks on what the database's own settings cannot bound: timeouts a session
//! lifts for itself (the watchdog).

use super::engine::*;
use crate::common;
use std::time::Duration;
use tickets::db::watchdog;

/// Item 5: a person who lifts their own timeouts is still bounded. The watchdog, run by the
/// notifier's login (a real member of tickets_notifier), cancels a customer's statement that
/// runs past the limit (here and in the cluster's `postgres` database) and ends an agent's
/// transaction left idle past it; a superuser's long statement is not a person's and runs
/// on. People cannot call the watchdog themselves.
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
    // The same customer in the cluster's maintenance database, open to PUBLIC by default.
    let elsewhere = tickets::db::connect_config(&common::config_for(
        &w.person("alice").login,
        Some(&w.person("alice").password),
        "postgres",
    ))
    .await
    .map_err(|e| format!("alice opens postgres: {e}"))?;
    elsewhere
        .batch_execute("SET statement_timeout = 0")
        .await
        .map_err(|e| describe(&e))?;
    let dba = w.db.admin().await;
    let sleeping = tokio::spawn(async move {
        let r = alice.execute("SELECT pg_sleep(600)", &[]).await;
        (alice, r)
    });
    let sleeping_elsewhere =
        tokio::spawn(async move { elsewhere.execute("SELECT pg_sleep(600)", &[]).await });
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
    match tokio::time::timeout(Duration::from_secs(5), sleeping_elsewhere).await {
        Ok(done) => refused_with_code(
            done.unwrap(),
            "57014",
            "canceling statement due to user request",
        )
        .map_err(|e| format!("in the postgres database: {e}"))?,
        Err(_) => {
            let _ =
                w.su.execute(
                    "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
                     WHERE usename = $1 AND datname = 'postgres'",
                    &[&w.person("alice").login],
                )
                .await;
            return Err("alice's statement in the postgres database was not cancelled".into());
        }
    }
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

/// The scripted attacks (tests/security_abuse/attacks.txt).
pub const SCRIPT: &str = include_str!("attacks.txt");

/// Item 7: the functions that take arrays from clients refuse more ids than a page needs
/// (app.limits.ids_per_call), naming the limit; a page's worth still works.
pub async fn person_names_of_a_hundred_thousand_ids(w: &World) -> Check {
    w.run_named(SCRIPT, "person_names_of_a_hundred_thousand_ids")
        .await
}

pub async fn names_on_tickets_of_a_hundred_thousand_ids(w: &World) -> Check {
    w.run_named(SCRIPT, "names_on_tickets_of_a_hundred_thousand_ids")
        .await
}

pub async fn names_in_thread_of_a_hundred_thousand_ids(w: &World) -> Check {
    w.run_named(SCRIPT, "names_in_thread_of_a_hundred_thousand_ids")
        .await
}

pub async fn unseen_tickets_of_a_hundred_thousand_ids(w: &World) -> Check {
    w.run_named(SCRIPT, "unseen_tickets_of_a_hundred_thousand_ids")
        .await
}

/// Item 7: two sessions of one customer filing at once cannot both pass the hourly limit.
/// Alice has filed 2 tickets and the limit is 3: while her first session's filing is not yet
/// committed, her second session's filing waits for it, then counts it and is refused; a
/// REPEATABLE READ session whose snapshot missed it gets a serialization failure instead.
pub async fn two_sessions_file_past_the_limit_together(w: &World) -> Check {
    w.su.batch_execute("UPDATE app.limits SET tickets_per_hour = 3")
        .await
        .unwrap();
    let count = || {
        su_text(
            w,
            "(SELECT count(*) FROM tickets WHERE subject LIKE 'race%')",
        )
    };
    let first = w.session("alice").await;
    let second = w.session("alice").await;
    let third = w.db.login(w.person("alice")).await;
    // The third's snapshot is taken before the first commits.
    third
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM tickets")
        .await
        .map_err(|e| describe(&e))?;
    first
        .batch_execute("BEGIN; INSERT INTO tickets (subject) VALUES ('race 1')")
        .await
        .map_err(|e| describe(&e))?;
    let second_files = tokio::spawn(async move {
        let r = second
            .execute("INSERT INTO tickets (subject) VALUES ('race 2')", &[])
            .await;
        (second, r)
    });
    let third_files = tokio::spawn(async move {
        let r = third
            .execute("INSERT INTO tickets (subject) VALUES ('race 3')", &[])
            .await;
        (third, r)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    first
        .batch_execute("COMMIT")
        .await
        .map_err(|e| describe(&e))?;
    let (_second, r2) = second_files.await.unwrap();
    let (third, r3) = third_files.await.unwrap();
    let _ = third.batch_execute("COMMIT").await;
    let filed = count().await;
    if filed != "1" {
        return Err(format!(
            "with a limit of 3 and 2 filed, concurrent sessions filed {filed} more: second {}, third {}",
            outcome(&r2),
            outcome(&r3)
        ));
    }
    refused_with_code(
        r2,
        "53400",
        "you have filed 3 tickets in the last hour, the most one customer may",
    )?;
    refused_with_code(r3, "40001", "could not serialize access")
}

fn outcome(r: &Result<u64, tokio_postgres::Error>) -> String {
    match r {
        Ok(n) => format!("filed {n}"),
        Err(e) => describe(e),
    }
}
