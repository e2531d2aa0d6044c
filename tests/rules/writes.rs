//! What the database writes on its own, whoever writes the row: the ids of the append-only
//! tables' rows (0045) and a ticket's search words (0047).

use super::common::calls_this_transaction;
use super::support::Cast;
use tokio_postgres::Client;
use uuid::Uuid;

/// History rows and messages take version 7 UUIDs (0045): the first 48 bits are the row's
/// own time in milliseconds, so each new key lands at the end of its index instead of on a
/// random page (a page written whole to the WAL after every checkpoint). Rows written one after
/// another get increasing ids; the rest of the id stays random.
#[tokio::test]
async fn appended_rows_take_time_ordered_ids() {
    let w = Cast::new().await;
    let ticket = w.file("Fan noise").await;
    w.l1.execute("SELECT claim_ticket($1)", &[&ticket])
        .await
        .unwrap();
    for body in ["Which fan?", "The left one"] {
        w.c.execute(
            "INSERT INTO ticket_messages (ticket_id, body) VALUES ($1, $2)",
            &[&ticket, &body],
        )
        .await
        .unwrap();
    }
    // Every id, with the millisecond its first 48 bits say and the row's own time, in the
    // order the rows were written.
    let rows =
        w.su.query(
            "SELECT id, ('x' || left(replace(id::text, '-', ''), 12))::bit(48)::bigint,
                    floor(extract(epoch FROM at) * 1000)::bigint
             FROM (SELECT id, changed_at AS at, seq AS n, 0 AS part FROM ticket_status_history
                   WHERE ticket_id = $1
                   UNION ALL
                   SELECT id, created_at, 0, 1 FROM ticket_messages WHERE ticket_id = $1) r
             ORDER BY part, n, at",
            &[&ticket],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 4, "filed, claimed, two messages");
    let ids: Vec<Uuid> = rows.iter().map(|r| r.get(0)).collect();
    for (row, id) in rows.iter().zip(&ids) {
        assert_eq!(id.get_version_num(), 7, "{id} is not a version 7 UUID");
        let (in_id, at): (i64, i64) = (row.get(1), row.get(2));
        // The id's clock and the row's time are read at nearly the same moment, in either
        // order (a message's id default is evaluated before its created_at default; a history
        // row's time is taken before its insert): within a second of each other.
        assert!(
            (in_id - at).abs() < 1000,
            "{id}: {in_id} ms in the id against {at} ms for the row"
        );
    }
    assert!(
        ids[0] < ids[1],
        "the claim's history row comes after the filing's"
    );
    assert!(ids[2] < ids[3], "the second message comes after the first");
}

/// A ticket's search words are its subject and description (0047): written when they are set,
/// by nobody else, and not computed again by a write that changes neither (a claim, a release,
/// a status or priority change), as a generated column was on every UPDATE.
#[tokio::test]
async fn search_words_follow_the_subject_and_description_only() {
    let w = Cast::new().await;
    w.db.count_function_calls().await;
    let (agent, admin) = tokio::join!(w.db.login(&w.a1), w.db.login(&w.admin));
    let ticket = w.file("Fan noise").await;
    assert!(
        words_are_the_tickets(&w, ticket).await,
        "a filed ticket's words are its subject and description"
    );

    // A claim and a status change by the agent, in one transaction: the words are not touched.
    let calls = words_computed(
        &agent,
        &[
            "SELECT claim_ticket($1)",
            "UPDATE tickets SET status = 'in_progress', priority = 'high' WHERE id = $1",
        ],
        ticket,
    )
    .await;
    assert_eq!(
        calls, 0,
        "a claim and a status change computed the words {calls} times"
    );

    // An admin's edit of the description is found by its new words; words set by hand are not
    // kept, whoever sets them.
    let edit = "UPDATE tickets SET description = 'the left fan rattles' WHERE id = $1";
    let calls = words_computed(&admin, &[edit], ticket).await;
    assert_eq!(
        calls, 1,
        "an edit of the description computes the words once"
    );
    let found = "SELECT count(*) FROM search_tickets($1) WHERE id = $2";
    let n: i64 = admin
        .query_one(found, &[&"rattles", &ticket])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "the edited description is searched");
    admin
        .execute(
            "UPDATE tickets SET search = to_tsvector('english', 'counterfeit') WHERE id = $1",
            &[&ticket],
        )
        .await
        .unwrap();
    let n: i64 = admin
        .query_one(found, &[&"counterfeit", &ticket])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "an admin stored words that are not the ticket's");
    assert!(
        words_are_the_tickets(&w, ticket).await,
        "after every change the words are the subject and description"
    );
}

/// Whether the ticket's stored words are those of its subject and description (as the
/// superuser reads them, past every policy).
async fn words_are_the_tickets(w: &Cast, ticket: Uuid) -> bool {
    w.su.query_one(
        "SELECT search = to_tsvector('english', subject || ' ' || description) \
         FROM tickets WHERE id = $1",
        &[&ticket],
    )
    .await
    .unwrap()
    .get(0)
}

/// How many times `statements` (each given `ticket` as $1), run in one transaction by
/// `client`, computed a ticket's search words: the calls of app.index_ticket_words this
/// transaction, as track_functions counts them.
async fn words_computed(client: &Client, statements: &[&str], ticket: Uuid) -> i64 {
    client.batch_execute("BEGIN").await.unwrap();
    for sql in statements {
        client.execute(*sql, &[&ticket]).await.unwrap();
    }
    let calls = calls_this_transaction(client, "index_ticket_words").await;
    client.batch_execute("COMMIT").await.unwrap();
    calls
}
