//! unseen_count(at_most), the header's "N new" that every live client asks after each change,
//! runs as the owner with one query per role (0035, 0037): it must count exactly what
//! unseen_count(), through RLS, counts for the caller.

mod common;

use common::{Cast, TestDb};

/// unseen_count(at_most) is unseen_count() cut at at_most + 1, for every role, and refuses a
/// negative bound with a reason.
#[tokio::test]
async fn unseen_count_at_most_stops_at_its_bound() {
    let db = TestDb::new().await;
    let Cast { alice, al, ada, .. } = db.cast().await;
    let c = db.login(&alice).await;
    for i in 0..5 {
        c.execute(
            "INSERT INTO tickets (subject) VALUES ($1)",
            &[&format!("t{i}")],
        )
        .await
        .unwrap();
    }
    db.login(&al)
        .await
        .batch_execute("SELECT claim_ticket(id) FROM tickets")
        .await
        .unwrap();
    for person in [&alice, &al, &ada] {
        let c = db.login(person).await;
        let all: i64 = c
            .query_one("SELECT unseen_count()", &[])
            .await
            .unwrap()
            .get(0);
        for at_most in [0, 1, 2, 10] {
            let cut: i64 = c
                .query_one("SELECT unseen_count($1)", &[&at_most])
                .await
                .unwrap()
                .get(0);
            assert_eq!(
                cut,
                all.min(i64::from(at_most) + 1),
                "{} at most {at_most}",
                person.login
            );
        }
    }
    assert_eq!(
        db.login(&al)
            .await
            .query_one("SELECT unseen_count()", &[])
            .await
            .unwrap()
            .get::<_, i64>(0),
        5,
        "al's five claimed tickets are news to him"
    );
    let e = db
        .login(&alice)
        .await
        .query_one("SELECT unseen_count(-1)", &[])
        .await
        .unwrap_err();
    let e = e.as_db_error().expect("a database error");
    assert_eq!(e.code().code(), "22023");
    assert!(
        e.message().contains("at_most must be 0 or more"),
        "{}",
        e.message()
    );
}

/// An admin's count reads only the markers of tickets not closed (0037): a ticket the admin
/// opened, closed since, is no news; reopened and changed, it is news again. The count agrees
/// with unseen_count() (through RLS) at every step.
#[tokio::test]
async fn an_admins_count_follows_closing_and_reopening() {
    let db = TestDb::new().await;
    let Cast { alice, al, ada, .. } = db.cast().await;
    let (c, a, m) = (
        db.login(&alice).await,
        db.login(&al).await,
        db.login(&ada).await,
    );
    let id: uuid::Uuid = c
        .query_one(
            "INSERT INTO tickets (subject) VALUES ('hinge') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    a.execute("SELECT claim_ticket($1)", &[&id]).await.unwrap();
    m.execute("SELECT mark_ticket_seen($1)", &[&id])
        .await
        .unwrap();
    assert_eq!(counts(&m).await, (0, 0), "seen, unchanged");
    c.execute("UPDATE tickets SET status = 'closed' WHERE id = $1", &[&id])
        .await
        .unwrap();
    assert_eq!(counts(&m).await, (0, 0), "closed since: no news");
    let flag: bool = db
        .admin()
        .await
        .query_one(
            "SELECT ticket_closed FROM ticket_seen WHERE ticket_id = $1 AND person_id = $2",
            &[&id, &ada.id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(flag, "the marker knows its ticket is closed");
    m.execute(
        "UPDATE tickets SET status = 'in_progress' WHERE id = $1",
        &[&id],
    )
    .await
    .unwrap();
    m.execute("SELECT mark_ticket_seen($1)", &[&id])
        .await
        .unwrap();
    a.execute(
        "UPDATE tickets SET priority = 'urgent' WHERE id = $1",
        &[&id],
    )
    .await
    .unwrap();
    assert_eq!(counts(&m).await, (1, 1), "reopened and changed: news again");
}

async fn counts(c: &tokio_postgres::Client) -> (i64, i64) {
    let row = c
        .query_one("SELECT unseen_count(100), unseen_count()", &[])
        .await
        .unwrap();
    (row.get(0), row.get(1))
}
