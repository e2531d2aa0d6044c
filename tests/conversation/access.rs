//! The message's copy of its ticket's access (0026): agents read messages by the copy of the
//! ticket's agent and pool membership on each message, so the copy must follow every change of
//! the ticket and be right on a message posted while the ticket changes.

use super::support::*;
use std::time::Duration;
use tokio_postgres::Client;
use uuid::Uuid;

/// Messages whose copy differs from their ticket (read as superuser).
async fn stale(su: &Client) -> i64 {
    n(
        su,
        "SELECT count(*) FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id
         WHERE m.ticket_agent_id IS DISTINCT FROM t.agent_id
            OR m.ticket_pool <> (t.agent_id IS NULL AND t.status = 'open')"
            .into(),
    )
    .await
}

async fn reads(c: &Client, ticket: Uuid) -> i64 {
    n(
        c,
        format!("SELECT count(*) FROM ticket_messages WHERE ticket_id = '{ticket}'"),
    )
    .await
}

async fn post(c: &Client, ticket: Uuid, body: &str, internal: bool) {
    c.execute(
        "INSERT INTO ticket_messages (ticket_id, body, internal) VALUES ($1, $2, $3)",
        &[&ticket, &body, &internal],
    )
    .await
    .unwrap();
}

/// Who does what, and then how many of the first and of the second ticket's messages al and
/// bo read.
type Step<'a> = (&'a Client, String, (i64, i64), (i64, i64));

#[tokio::test]
async fn the_messages_copy_of_their_tickets_access_follows_every_change() {
    let s = scene().await;
    let t = s.ticket;
    let bo_id = s.cast.bo.id;
    post(&s.alice, t, "It smells of smoke.", false).await;
    post(&s.al, t, "Unplug it.", false).await;
    post(&s.al, t, "Worried customer.", true).await;
    let pool = file(&s.alice, "second printer").await;
    post(&s.alice, pool, "This one too.", false).await;
    post(&s.ada, pool, "Check the warranty first.", true).await;
    assert_eq!(stale(&s.su).await, 0);
    assert_eq!((reads(&s.al, t).await, reads(&s.bo, t).await), (3, 0));
    assert_eq!((reads(&s.al, pool).await, reads(&s.bo, pool).await), (2, 2));

    // Every way a ticket's agent or pool membership changes, and who reads after it.
    let steps: [Step; 7] = [
        (
            &s.al,
            format!("SELECT hand_off_ticket('{t}', '{bo_id}')"),
            (0, 3),
            (2, 2),
        ),
        (
            &s.bo,
            format!("SELECT release_ticket('{t}')"),
            (3, 3),
            (2, 2),
        ),
        (
            &s.al,
            format!("SELECT claim_ticket('{pool}')"),
            (3, 3),
            (2, 0),
        ),
        (&s.bo, format!("SELECT claim_ticket('{t}')"), (0, 3), (2, 0)),
        (
            &s.ada,
            format!("UPDATE tickets SET agent_id = NULL, status = 'resolved' WHERE id = '{pool}'"),
            (0, 3),
            (0, 0),
        ),
        // A customer's reply reopens the unassigned ticket into the pool.
        (
            &s.alice,
            format!(
                "INSERT INTO ticket_messages (ticket_id, body) VALUES ('{pool}', 'Still broken.')"
            ),
            (0, 3),
            (3, 3),
        ),
        // The customer closes it: out of the pool.
        (
            &s.alice,
            format!("UPDATE tickets SET status = 'closed' WHERE id = '{pool}'"),
            (0, 3),
            (0, 0),
        ),
    ];
    for (who, sql, on_t, on_pool) in steps {
        who.batch_execute(&sql).await.unwrap();
        assert_eq!(stale(&s.su).await, 0, "after {sql}");
        assert_eq!(
            (reads(&s.al, t).await, reads(&s.bo, t).await),
            on_t,
            "al, bo on the first ticket after {sql}"
        );
        assert_eq!(
            (reads(&s.al, pool).await, reads(&s.bo, pool).await),
            on_pool,
            "al, bo on the second ticket after {sql}"
        );
    }
}

/// A message posted while its pool ticket is claimed gets the claimed ticket's copy, whichever
/// of the two transactions takes the ticket first: the other waits for it.
#[tokio::test]
async fn a_post_and_a_claim_at_the_same_time_leave_the_copy_right() {
    let s = scene().await;
    for post_first in [true, false] {
        let pool = file(&s.alice, "at the same time").await;
        let (alice, al) = (
            s.db.login(&s.cast.alice).await,
            s.db.login(&s.cast.al).await,
        );
        let (first, second_sql) = if post_first {
            (
                (
                    &alice,
                    format!(
                        "INSERT INTO ticket_messages (ticket_id, body) VALUES ('{pool}', 'first')"
                    ),
                ),
                format!("SELECT claim_ticket('{pool}')"),
            )
        } else {
            (
                (&al, format!("SELECT claim_ticket('{pool}')")),
                format!(
                    "INSERT INTO ticket_messages (ticket_id, body) VALUES ('{pool}', 'second')"
                ),
            )
        };
        first.0.batch_execute("BEGIN").await.unwrap();
        first.0.batch_execute(&first.1).await.unwrap();
        let second = if post_first {
            s.db.login(&s.cast.al).await
        } else {
            s.db.login(&s.cast.alice).await
        };
        let waiting = tokio::spawn(async move { second.batch_execute(&second_sql).await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !waiting.is_finished(),
            "the second transaction waits for the first"
        );
        first.0.batch_execute("COMMIT").await.unwrap();
        waiting.await.unwrap().unwrap();
        assert_eq!(stale(&s.su).await, 0, "post first: {post_first}");
        assert_eq!(
            reads(&s.bo, pool).await,
            0,
            "bo reads nothing of al's ticket"
        );
        assert_eq!(reads(&s.al, pool).await, 1);
    }
}

/// An agent whose REPEATABLE READ snapshot predates a note on a pool ticket cannot claim the
/// ticket and leave the note readable by every agent: the claim fails to serialize (40001), and
/// once retried the note follows the ticket.
#[tokio::test]
async fn a_claim_whose_snapshot_missed_a_note_fails_to_serialize() {
    let s = scene().await;
    let pool = file(&s.alice, "seen late").await;
    let al = s.db.login(&s.cast.al).await;
    al.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM tickets")
        .await
        .unwrap();
    post(&s.ada, pool, "Warranty expired.", true).await;
    let claimed = al
        .batch_execute(&format!("SELECT claim_ticket('{pool}')"))
        .await;
    match claimed {
        Err(e) => {
            assert_eq!(
                e.code().map(|c| c.code()),
                Some("40001"),
                "a serialization failure, not {e:?}"
            );
            al.batch_execute("ROLLBACK").await.unwrap();
        }
        Ok(()) => {
            al.batch_execute("COMMIT").await.unwrap();
        }
    }
    assert_eq!(stale(&s.su).await, 0, "every copy follows its ticket");
    al.batch_execute(&format!("SELECT claim_ticket('{pool}')"))
        .await
        .unwrap();
    assert_eq!(stale(&s.su).await, 0);
    assert_eq!((reads(&s.al, pool).await, reads(&s.bo, pool).await), (1, 0));
}
