//! The positive paths: every role can do everything it should, through its own login, and each
//! change lands in the history with the real actor; plus claiming under concurrency.

mod common;

use chrono::{DateTime, Utc};
use common::{TestPerson, sqlstate};
use uuid::Uuid;

#[path = "rules/support.rs"]
mod support;
use support::*;

/// What the database writes on its own: the ids of appended rows, a ticket's search words.
#[path = "rules/writes.rs"]
mod writes;

#[tokio::test]
async fn a_customer_files_a_ticket_and_sees_it_and_its_history() {
    let w = Cast::new().await;
    let row =
        w.c.query_one(
            "INSERT INTO tickets (subject, description, priority)
             VALUES ('Printer on fire', 'Smoke since 9am', 'urgent')
             RETURNING id, customer_id, agent_id, status::text, priority::text,
                       created_at = updated_at",
            &[],
        )
        .await
        .unwrap();
    let id: Uuid = row.get(0);
    assert_eq!(row.get::<_, Uuid>(1), w.customer.id);
    assert_eq!(row.get::<_, Option<Uuid>>(2), None);
    assert_eq!(row.get::<_, String>(3), "open");
    assert_eq!(row.get::<_, String>(4), "urgent");
    assert!(row.get::<_, bool>(5));
    let mine =
        w.c.query_one("SELECT subject, description FROM tickets", &[])
            .await
            .unwrap();
    assert_eq!(mine.get::<_, String>(0), "Printer on fire");
    assert_eq!(mine.get::<_, String>(1), "Smoke since 9am");
    assert_eq!(
        w.history(&w.c, id).await,
        [change("created", None, Some("open"), &w.customer)]
    );
    let priority: String =
        w.c.query_one(
            "SELECT new_priority::text FROM ticket_status_history WHERE ticket_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(priority, "urgent");

    // Worked and closed, it stays on the customer's list with its whole timeline, and the
    // customer sees the agent's name (without the e-mail).
    w.l1.execute("SELECT claim_ticket($1)", &[&id])
        .await
        .unwrap();
    set_status(&w.l1, id, "closed").await;
    let status: String =
        w.c.query_one("SELECT status::text FROM tickets WHERE id = $1", &[&id])
            .await
            .unwrap()
            .get(0);
    assert_eq!(status, "closed");
    assert_eq!(w.history(&w.c, id).await.len(), 3);
    let names =
        w.c.query(
            "SELECT id, display_name FROM person_names() ORDER BY role",
            &[],
        )
        .await
        .unwrap();
    let names: Vec<(Uuid, String)> = names.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        names,
        [
            (w.customer.id, "carla customer".to_owned()),
            (w.a1.id, "al agent".to_owned())
        ]
    );
}

/// The agent's moves must be exactly those of DESIGN.md §3 (releasing aside, which only
/// release_ticket does), and the assigned agent can make each one.
#[tokio::test]
async fn an_agent_makes_every_legal_move() {
    let w = Cast::new().await;
    let moves: Vec<(String, String)> =
        w.l1.query(
            "SELECT from_status::text, to_status::text FROM ticket_status_moves
             WHERE role = 'agent' ORDER BY 1, 2",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let design = [
        ("open", "in_progress"),
        ("open", "waiting_on_customer"),
        ("open", "resolved"),
        ("open", "closed"),
        ("in_progress", "waiting_on_customer"),
        ("in_progress", "resolved"),
        ("in_progress", "closed"),
        ("waiting_on_customer", "in_progress"),
        ("waiting_on_customer", "resolved"),
        ("waiting_on_customer", "closed"),
        ("resolved", "in_progress"),
        ("resolved", "closed"),
    ];
    let mut design: Vec<(String, String)> = design
        .iter()
        .map(|(f, t)| (f.to_string(), t.to_string()))
        .collect();
    design.sort();
    assert_eq!(moves, design);
    for (from, to) in &moves {
        let t = w.file(&format!("{from} to {to}")).await;
        w.l1.execute("SELECT claim_ticket($1)", &[&t])
            .await
            .unwrap();
        if from != "open" {
            set_status(&w.ad, t, from).await;
        }
        set_status(&w.l1, t, to).await;
        assert_eq!(w.ticket(t).await, (to.clone(), Some(w.a1.id)));
        assert_eq!(
            w.last_change(t).await,
            change("status", Some(from), Some(to), &w.a1),
            "{from} -> {to}"
        );
        assert!(visible(&w.l1, t).await && visible(&w.c, t).await);
    }
    w.assert_no_gaps().await;
}

#[tokio::test]
async fn an_agent_claims_changes_priority_releases_and_hands_off() {
    let w = Cast::new().await;
    let t = w.file("VPN drops").await;
    assert!(visible(&w.l1, t).await, "the pool is visible to agents");

    let claimed =
        w.l1.query_one("SELECT (claim_ticket($1)).agent_id", &[&t])
            .await
            .unwrap();
    assert_eq!(claimed.get::<_, Option<Uuid>>(0), Some(w.a1.id));
    assert!(!visible(&w.l2, t).await, "a claimed ticket leaves the pool");

    let n =
        w.l1.execute("UPDATE tickets SET priority = 'high' WHERE id = $1", &[&t])
            .await
            .unwrap();
    assert_eq!(n, 1);
    set_status(&w.l1, t, "in_progress").await;

    let released =
        w.l1.query_one(
            "SELECT r.agent_id, r.status::text FROM release_ticket($1) r",
            &[&t],
        )
        .await
        .unwrap();
    assert_eq!(released.get::<_, Option<Uuid>>(0), None);
    assert_eq!(released.get::<_, String>(1), "open");
    assert!(
        visible(&w.l2, t).await,
        "a released ticket is back in the pool"
    );

    w.l1.execute("SELECT claim_ticket($1)", &[&t])
        .await
        .unwrap();
    set_status(&w.l1, t, "waiting_on_customer").await;
    w.l1.execute("SELECT hand_off_ticket($1, $2)", &[&t, &w.a2.id])
        .await
        .unwrap();
    assert_eq!(
        w.ticket(t).await,
        ("waiting_on_customer".into(), Some(w.a2.id)),
        "a hand-off keeps the status"
    );
    assert!(!visible(&w.l1, t).await && visible(&w.l2, t).await);
    set_status(&w.l2, t, "resolved").await;

    let (a1, a2) = (agent(&w.a1), agent(&w.a2));
    let (a1, a2) = (Some(a1.as_str()), Some(a2.as_str()));
    let expected = [
        change("created", None, Some("open"), &w.customer),
        change("assignment", None, a1, &w.a1),
        change("priority", Some("normal"), Some("high"), &w.a1),
        change("status", Some("open"), Some("in_progress"), &w.a1),
        change("status", Some("in_progress"), Some("open"), &w.a1),
        change("assignment", a1, None, &w.a1),
        change("assignment", None, a1, &w.a1),
        change("status", Some("open"), Some("waiting_on_customer"), &w.a1),
        change("assignment", a1, a2, &w.a1),
        change(
            "status",
            Some("waiting_on_customer"),
            Some("resolved"),
            &w.a2,
        ),
    ];
    assert_eq!(w.history(&w.l2, t).await, expected);
    assert_eq!(
        w.history(&w.c, t).await,
        expected,
        "the customer sees it all"
    );
}

#[tokio::test]
async fn the_same_status_writes_no_history_and_timestamps_behave() {
    let w = Cast::new().await;
    let t = w.file("Same again").await;
    w.l1.execute("SELECT claim_ticket($1)", &[&t])
        .await
        .unwrap();
    let su = &w.su;
    let stamps = move || async move {
        let row = su
            .query_one(
                "SELECT created_at, updated_at FROM tickets WHERE id = $1",
                &[&t],
            )
            .await
            .unwrap();
        (
            row.get::<_, DateTime<Utc>>(0),
            row.get::<_, DateTime<Utc>>(1),
        )
    };
    let before = w.history(&w.su, t).await;
    let (created, updated) = stamps().await;
    for sql in [
        "UPDATE tickets SET status = 'open' WHERE id = $1",
        "UPDATE tickets SET status = status, priority = 'normal' WHERE id = $1",
    ] {
        assert_eq!(w.l1.execute(sql, &[&t]).await.unwrap(), 1);
    }
    assert_eq!(w.history(&w.su, t).await, before, "no change, no history");
    let (created2, updated2) = stamps().await;
    assert_eq!(created2, created, "created_at stays");
    assert!(updated2 > updated, "updated_at moves on every update");

    // An admin's attempt to set the timestamps is overruled by the trigger.
    w.ad.execute(
        "UPDATE tickets SET updated_at = '2000-01-01' WHERE id = $1",
        &[&t],
    )
    .await
    .unwrap();
    let (created3, updated3) = stamps().await;
    assert_eq!(created3, created);
    assert!(updated3 > updated2);
}

#[tokio::test]
async fn an_admin_sees_everything_and_makes_any_move() {
    let w = Cast::new().await;
    let moves: Vec<(String, String)> =
        w.ad.query(
            "SELECT from_status::text, to_status::text FROM ticket_status_moves
             WHERE role = 'admin' ORDER BY 1, 2",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(moves.len(), 20, "every move between two different statuses");
    for (from, to) in &moves {
        let t = w.file(&format!("{from} to {to}")).await;
        if from != "open" {
            set_status(&w.ad, t, from).await;
        }
        set_status(&w.ad, t, to).await;
        assert_eq!(
            w.last_change(t).await,
            change("status", Some(from), Some(to), &w.admin)
        );
    }

    // Assigning, reassigning and releasing someone else's ticket; filing for a customer.
    let t = w.file("Needs an owner").await;
    w.ad.execute("SELECT hand_off_ticket($1, $2)", &[&t, &w.a1.id])
        .await
        .unwrap();
    w.ad.execute("SELECT hand_off_ticket($1, $2)", &[&t, &w.a2.id])
        .await
        .unwrap();
    w.ad.execute("SELECT release_ticket($1)", &[&t])
        .await
        .unwrap();
    let (a1, a2) = (agent(&w.a1), agent(&w.a2));
    assert_eq!(
        w.history(&w.ad, t).await[1..],
        [
            change("assignment", None, Some(&a1), &w.admin),
            change("assignment", Some(&a1), Some(&a2), &w.admin),
            change("assignment", Some(&a2), None, &w.admin),
        ]
    );
    let filed: Uuid =
        w.ad.query_one(
            "INSERT INTO tickets (customer_id, agent_id, subject, status)
             VALUES ($1, $2, 'Phoned in', 'in_progress') RETURNING id",
            &[&w.customer.id, &w.a1.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        w.history(&w.c, filed).await,
        [change("created", None, Some("in_progress"), &w.admin)]
    );

    for sql in [
        "SELECT count(*) FROM tickets",
        "SELECT count(*) FROM ticket_status_history",
        "SELECT count(*) FROM users",
    ] {
        let admin: i64 = w.ad.query_one(sql, &[]).await.unwrap().get(0);
        let all: i64 = w.su.query_one(sql, &[]).await.unwrap().get(0);
        assert_eq!(admin, all, "{sql}");
    }
    let names: i64 =
        w.ad.query_one("SELECT count(*) FROM person_names()", &[])
            .await
            .unwrap()
            .get(0);
    assert_eq!(names, 4, "an admin sees everyone's name");
    w.assert_no_gaps().await;
}

/// The people functions work from an admin's own login (psql), not only from the CLI.
#[tokio::test]
async fn an_admin_manages_people_in_sql() {
    let w = Cast::new().await;
    let login = w.db.unique_login("newbie");
    let id: Uuid =
        w.ad.query_one(
            "SELECT create_person($1, 'agent', 'New Bie', $2, 'a long secret')",
            &[&login, &format!("{login}@example.test")],
        )
        .await
        .unwrap()
        .get(0);
    let newbie = TestPerson {
        id,
        login: login.clone(),
        password: "a long secret".into(),
        role: "agent",
    };
    let c = w.db.login(&newbie).await;
    let me: Uuid = c.query_one("SELECT app.uid()", &[]).await.unwrap().get(0);
    assert_eq!(me, id);
    drop(c);
    w.ad.execute("SELECT disable_person($1)", &[&login])
        .await
        .unwrap();
    let refused =
        w.db.login_config(&newbie)
            .connect(tokio_postgres::NoTls)
            .await;
    assert_eq!(sqlstate(refused.map(|_| ())), "28000");
    w.ad.execute("SELECT enable_person($1)", &[&login])
        .await
        .unwrap();
    let c = w.db.login(&newbie).await;
    let n: i64 = c
        .query_one("SELECT count(*) FROM users WHERE id = app.uid()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "enabled again, the person is themselves again");
}

/// Two agents claim the same ticket at the same moment: one wins, the other is told why.
#[tokio::test]
async fn two_agents_claiming_at_once_exactly_one_wins() {
    let w = Cast::new().await;
    let claim = "SELECT (claim_ticket($1)).agent_id";
    for round in 0..20 {
        let t = w.file(&format!("race {round}")).await;
        let params: &[&(dyn tokio_postgres::types::ToSql + Sync)] = &[&t];
        let (r1, r2) = tokio::join!(w.l1.query_one(claim, params), w.l2.query_one(claim, params));
        let (winner, loser) = match (r1, r2) {
            (Ok(_), Err(e)) => (&w.a1, e),
            (Err(e), Ok(_)) => (&w.a2, e),
            other => panic!("round {round}: expected one winner, got {other:?}"),
        };
        // The loser is told the ticket was claimed when it was still open as its call began,
        // and otherwise that it is no ticket of theirs (no oracle: security_abuse.rs).
        let message = loser.as_db_error().map(|d| d.message().to_owned());
        let message = message.as_deref().unwrap_or("");
        match sqlstate::<()>(Err(loser)).as_str() {
            "55000" => assert!(message.contains("just before your claim"), "{message}"),
            "P0002" => assert!(message.contains("is not visible to you"), "{message}"),
            other => panic!("round {round}: {other} {message}"),
        }
        assert_eq!(w.ticket(t).await, ("open".into(), Some(winner.id)));
        let assignments: Vec<Change> = w
            .history(&w.su, t)
            .await
            .into_iter()
            .filter(|c| c.0 == "assignment")
            .collect();
        let id = agent(winner);
        assert_eq!(assignments, [change("assignment", None, Some(&id), winner)]);
    }
    w.assert_no_gaps().await;
}

/// A claim made while another agent's claim is still uncommitted waits for it, then is
/// refused; if the first claim rolls back instead, the waiting one wins.
#[tokio::test]
async fn a_claim_waits_for_an_uncommitted_claim() {
    let w = Cast::new().await;
    for (end_first, winner) in [("COMMIT", &w.a1), ("ROLLBACK", &w.a2)] {
        let t = w.file(end_first).await;
        w.l1.batch_execute("BEGIN").await.unwrap();
        w.l1.execute("SELECT claim_ticket($1)", &[&t])
            .await
            .unwrap();
        let params: &[&(dyn tokio_postgres::types::ToSql + Sync)] = &[&t];
        let second = w.l2.query_one("SELECT (claim_ticket($1)).agent_id", params);
        let then_end_first = async {
            let blocked = "SELECT count(*) FROM pg_stat_activity
                           WHERE usename = $1 AND wait_event_type = 'Lock'";
            let mut waited = false;
            for _ in 0..1000 {
                let row = w.su.query_one(blocked, &[&w.a2.login]).await.unwrap();
                if row.get::<_, i64>(0) == 1 {
                    waited = true;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            w.l1.batch_execute(end_first).await.unwrap();
            assert!(waited, "the second claim never waited for the first");
        };
        let (second, ()) = tokio::join!(second, then_end_first);
        if end_first == "COMMIT" {
            assert_eq!(sqlstate(second), "55000");
        } else {
            assert_eq!(second.unwrap().get::<_, Option<Uuid>>(0), Some(w.a2.id));
        }
        assert_eq!(w.ticket(t).await, ("open".into(), Some(winner.id)));
        let assignments = w.history(&w.su, t).await;
        let id = agent(winner);
        assert_eq!(
            assignments[1..],
            [change("assignment", None, Some(&id), winner)]
        );
    }
}

/// A claim that loses a race is told who won (issue 11): the loser's call began with the ticket
/// in the pool, which it reads, and waited for the winner's row lock. Once the winner has
/// committed, another call is refused like an unknown id, naming nobody (no oracle).
#[tokio::test]
async fn a_claim_lost_in_a_race_names_the_agent_who_won() {
    let w = Cast::new().await;
    let t = w.file("raced").await;
    w.l1.batch_execute(&format!("BEGIN; SELECT claim_ticket('{t}')"))
        .await
        .unwrap();
    let waiting = async {
        // The loser's claim waits for the winner's row lock; then the winner commits.
        for _ in 0..200 {
            let n: i64 =
                w.su.query_one(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE usename = $1 AND wait_event_type = 'Lock'",
                    &[&w.a2.login],
                )
                .await
                .unwrap()
                .get(0);
            if n > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        w.l1.batch_execute("COMMIT").await.unwrap();
    };
    let params: &[&(dyn tokio_postgres::types::ToSql + Sync)] = &[&t];
    let (lost, ()) = tokio::join!(w.l2.query_one("SELECT claim_ticket($1)", params), waiting);
    let error = lost.expect_err("the second claim loses");
    let message = error.as_db_error().unwrap().message().to_owned();
    assert_eq!(sqlstate::<()>(Err(error)), "55000");
    assert_eq!(
        message,
        format!(
            "ticket {t} went to al agent ({}) just before your claim",
            w.a1.login
        )
    );
    // Claimed and committed before the call: the same refusal as for a random id.
    let again = w.l2.query_one("SELECT claim_ticket($1)", &[&t]).await;
    let random = Uuid::new_v4();
    let unknown = w.l2.query_one("SELECT claim_ticket($1)", &[&random]).await;
    let words = |r: Result<tokio_postgres::Row, tokio_postgres::Error>, id: Uuid| {
        let e = r.expect_err("refused");
        let m = e
            .as_db_error()
            .unwrap()
            .message()
            .replace(&id.to_string(), "<id>");
        (sqlstate::<()>(Err(e)), m)
    };
    let again = words(again, t);
    assert_eq!(again, words(unknown, random));
    assert!(!again.1.contains(&w.a1.login), "{again:?}");
}
