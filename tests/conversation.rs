//! The conversation, as each role uses it (issue 10): replies and notes, the customer's reply
//! moving a ticket back to work, the customer's close, numbers, search over messages, the
//! thread in time order, what each person has seen. Real logins against a real database;
//! the attacks on the same rules are in security_conversation.rs.

mod common;

use common::{TestDb, sqlstate};
use tickets::db::repo;
use tickets::db::thread;
use tickets::model::*;
use uuid::Uuid;

#[path = "conversation/support.rs"]
mod support;
use support::*;

#[path = "conversation/access.rs"]
mod access;

#[tokio::test]
async fn each_role_posts_and_reads_what_it_may() {
    let s = scene().await;
    let t = s.ticket;
    thread::post(&s.alice, t, "It smells of smoke.", false)
        .await
        .unwrap();
    thread::post(&s.al, t, "Please unplug it.", false)
        .await
        .unwrap();
    thread::post(&s.al, t, "Customer sounds worried; call facilities.", true)
        .await
        .unwrap();
    thread::post(&s.ada, t, "Facilities informed.", true)
        .await
        .unwrap();
    // bo (another agent) cannot see al's ticket, so cannot post on it.
    let (code, msg) = refusal(thread::post(&s.bo, t, "hi", false).await);
    assert_eq!(
        (
            code.as_str(),
            msg.contains("does not exist or is not visible")
        ),
        ("P0002", true)
    );

    let count = |c: &'static str| {
        format!("SELECT count(*) FROM ticket_messages WHERE ticket_id = '{t}' {c}")
    };
    assert_eq!(
        n(&s.alice, count("")).await,
        2,
        "alice reads the public messages only"
    );
    assert_eq!(n(&s.alice, count("AND internal")).await, 0);
    assert_eq!(n(&s.al, count("")).await, 4, "al reads notes too");
    assert_eq!(n(&s.ada, count("")).await, 4);
    assert_eq!(n(&s.bo, count("")).await, 0, "bo cannot see the ticket");
    assert_eq!(n(&s.bob, count("")).await, 0, "bob is another customer");

    // The author is the login's person, the time the database's.
    let authors: Vec<(Uuid, bool)> =
        s.su.query(
            "SELECT author_id, internal FROM ticket_messages ORDER BY created_at",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        authors,
        vec![
            (s.cast.alice.id, false),
            (s.cast.al.id, false),
            (s.cast.al.id, true),
            (s.cast.ada.id, true)
        ]
    );
    // An agent may post on a pool ticket (open, unassigned: they can see it) without claiming.
    let pool = file(&s.bob, "pool").await;
    thread::post(&s.bo, pool, "Looking into it.", false)
        .await
        .unwrap();
    assert_eq!(status(&s.su, pool).await, "open");
}

#[tokio::test]
async fn the_thread_interleaves_messages_and_history_in_time_order_as_rls_allows() {
    let s = scene().await;
    let t = s.ticket;
    thread::post(&s.al, t, "first reply", false).await.unwrap();
    thread::post(&s.al, t, "a note", true).await.unwrap();
    s.al.execute(
        "UPDATE tickets SET status = 'waiting_on_customer' WHERE id = $1",
        &[&t],
    )
    .await
    .unwrap();
    thread::post(&s.alice, t, "here is the answer", false)
        .await
        .unwrap();

    let kinds = |entries: &[ThreadEntry]| -> Vec<String> {
        entries
            .iter()
            .map(|e| match e.kind {
                ThreadKind::Message => format!("message:{}", e.body.as_deref().unwrap_or("")),
                ThreadKind::Note => format!("note:{}", e.body.as_deref().unwrap_or("")),
                ThreadKind::Change(k) => {
                    format!("{}:{}", k.as_sql(), e.new_status.map_or("", |s| s.as_sql()))
                }
            })
            .collect()
    };
    let agent = me(&s.al).await;
    let all = thread::page(&s.al, &agent, t, None, 100).await.unwrap();
    let shown = kinds(&all);
    assert_eq!(shown.len(), 8, "{shown:?}");
    assert_eq!(shown[0], "created:open");
    assert!(shown.contains(&"note:a note".to_owned()));
    // In time order, and the customer's reply moved the ticket back to in_progress.
    assert!(
        all.windows(2)
            .all(|w| (w[0].at, w[0].id) <= (w[1].at, w[1].id))
    );
    let pos = |what: &str| shown.iter().position(|k| k == what).unwrap();
    assert!(pos("message:first reply") < pos("status:waiting_on_customer"));
    assert!(pos("status:waiting_on_customer") < pos("message:here is the answer"));
    assert_eq!(
        shown.iter().filter(|k| *k == "status:in_progress").count(),
        2
    );
    // Names: the author of each entry, with their login for staff (names repeat).
    let reply = all.iter().find(|e| e.kind == ThreadKind::Message).unwrap();
    assert_eq!(
        reply.person_name,
        Some(format!("al agent ({})", s.cast.al.login))
    );

    // The customer's thread: the same without the note, names through names_on_tickets.
    let customer = me(&s.alice).await;
    let theirs = thread::page(&s.alice, &customer, t, None, 100)
        .await
        .unwrap();
    let mut expected = shown.clone();
    expected.retain(|k| !k.starts_with("note:"));
    assert_eq!(kinds(&theirs), expected);
    assert!(theirs.iter().all(|e| e.person_name.is_some()), "{theirs:?}");
    let reply = theirs
        .iter()
        .find(|e| e.kind == ThreadKind::Message)
        .unwrap();
    assert_eq!(reply.person_name.as_deref(), Some("al agent"), "no login");

    // Keyset pages of 3 give the same entries as one read.
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = thread::page(&s.al, &agent, t, after, 3).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(ThreadCursor::from);
        paged.extend(page);
    }
    assert_eq!(paged, all);
    let last = thread::last_page(&s.al, &agent, t, 3).await.unwrap();
    assert_eq!(last, all[all.len() - 3..].to_vec());
    // Another customer's, or an agent's who cannot see it: empty.
    let bob = me(&s.bob).await;
    assert!(
        thread::page(&s.bob, &bob, t, None, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_customers_reply_moves_the_ticket_back_to_work_in_their_name() {
    let s = scene().await;
    let t = s.ticket;
    for (from, expected) in [
        ("waiting_on_customer", "in_progress"),
        ("resolved", "in_progress"),
    ] {
        s.al.execute(
            &format!("UPDATE tickets SET status = '{from}' WHERE id = $1"),
            &[&t],
        )
        .await
        .unwrap();
        thread::post(&s.alice, t, "still broken", false)
            .await
            .unwrap();
        assert_eq!(status(&s.su, t).await, expected);
        let by: Uuid = s
            .su
            .query_one(
                "SELECT changed_by FROM ticket_status_history WHERE ticket_id = $1 ORDER BY seq DESC LIMIT 1",
                &[&t],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(by, s.cast.alice.id, "recorded in the customer's name");
    }
    // In progress, a reply changes no status; a staff reply never does.
    thread::post(&s.alice, t, "any news?", false).await.unwrap();
    s.al.execute(
        "UPDATE tickets SET status = 'waiting_on_customer' WHERE id = $1",
        &[&t],
    )
    .await
    .unwrap();
    thread::post(&s.al, t, "still waiting", false)
        .await
        .unwrap();
    thread::post(&s.al, t, "a note", true).await.unwrap();
    assert_eq!(status(&s.su, t).await, "waiting_on_customer");

    // A resolved ticket nobody holds goes back to the pool, where agents can see it.
    let lone = file(&s.alice, "lonely").await;
    s.ada
        .execute(
            "UPDATE tickets SET status = 'resolved' WHERE id = $1",
            &[&lone],
        )
        .await
        .unwrap();
    thread::post(&s.alice, lone, "not fixed", false)
        .await
        .unwrap();
    assert_eq!(status(&s.su, lone).await, "open");
    let seen_by_bo: i64 =
        s.bo.query_one("SELECT count(*) FROM tickets WHERE id = $1", &[&lone])
            .await
            .unwrap()
            .get(0);
    assert_eq!(seen_by_bo, 1);
}

#[tokio::test]
async fn customers_close_their_own_tickets_from_any_status_and_nothing_else() {
    let s = scene().await;
    for from in ["open", "in_progress", "waiting_on_customer", "resolved"] {
        let t = file(&s.alice, from).await;
        if from != "open" {
            s.ada
                .execute(
                    &format!("UPDATE tickets SET status = '{from}' WHERE id = $1"),
                    &[&t],
                )
                .await
                .unwrap();
        }
        thread::close(&s.alice, t).await.unwrap();
        assert_eq!(status(&s.su, t).await, "closed");
        let (by, old): (Uuid, String) = s
            .su
            .query_one(
                "SELECT changed_by, old_status::text FROM ticket_status_history WHERE ticket_id = $1 ORDER BY seq DESC LIMIT 1",
                &[&t],
            )
            .await
            .map(|r| (r.get(0), r.get(1)))
            .unwrap();
        assert_eq!((by, old.as_str()), (s.cast.alice.id, from));
        // Closed: no more messages from the customer, with the reason.
        let (code, msg) = refusal(thread::post(&s.alice, t, "one more thing", false).await);
        assert_eq!(code, "55000");
        assert!(msg.contains("is closed"), "{msg}");
    }
    // Not another customer's; not to any other status.
    let t = s.ticket;
    let (code, _) = refusal(thread::close(&s.bob, t).await);
    assert_eq!(code, "P0002");
    let e = s
        .alice
        .execute(
            "UPDATE tickets SET status = 'resolved' WHERE id = $1",
            &[&t],
        )
        .await;
    assert_eq!(sqlstate(e), "42501");
    let e = s
        .alice
        .execute(
            "UPDATE tickets SET priority = 'urgent' WHERE id = $1",
            &[&t],
        )
        .await;
    assert_eq!(sqlstate(e), "42501");
    assert_eq!(status(&s.su, t).await, "in_progress");
    // The moves table says what customers may do, for the client to offer.
    let moves = repo::moves(&s.alice, Role::Customer).await.unwrap();
    assert!(moves.contains(&Move {
        from: Status::Resolved,
        to: Status::Closed
    }));
}

#[tokio::test]
async fn numbers_ascend_in_filing_order_and_find_the_ticket() {
    let s = scene().await;
    let mut ids = vec![s.ticket];
    for n in 0..5 {
        ids.push(file(if n % 2 == 0 { &s.alice } else { &s.bob }, &format!("t{n}")).await);
    }
    let numbers: Vec<i64> =
        s.su.query(
            "SELECT number FROM tickets ORDER BY created_at, number",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(numbers, (1..=6).collect::<Vec<i64>>());
    // The number finds the ticket for those who may see it.
    assert_eq!(
        thread::by_number(&s.alice, 1).await.unwrap(),
        Some(s.ticket)
    );
    assert_eq!(thread::by_number(&s.bob, 1).await.unwrap(), None);
    // A rolled-back filing uses a number up; the next one is never reused.
    s.alice
        .batch_execute("BEGIN; INSERT INTO tickets (subject) VALUES ('oops'); ROLLBACK")
        .await
        .unwrap();
    let next = file(&s.alice, "after").await;
    let n: i64 =
        s.su.query_one("SELECT number FROM tickets WHERE id = $1", &[&next])
            .await
            .unwrap()
            .get(0);
    assert_eq!(n, 8);
}

#[tokio::test]
async fn the_migration_numbers_existing_tickets_in_filing_order() {
    let db = TestDb::new().await;
    let su = db.admin().await;
    // Undo the numbering as if the tickets predated it, then run the migration's statement.
    let alice = db.person("customer", "alice").await;
    let c = db.login(&alice).await;
    for n in 0..4 {
        file(&c, &format!("t{n}")).await;
    }
    // Filing order is created_at: reverse the numbers given, then renumber as 0013 does.
    su.batch_execute(
        "SET session_replication_role = replica;
         UPDATE tickets SET number = 100 - number;",
    )
    .await
    .unwrap();
    let sql = include_str!("../migrations/0013_conversation.sql");
    let renumber = sql
        .split("SET LOCAL session_replication_role = replica;")
        .nth(1)
        .and_then(|s| {
            s.split("SET LOCAL session_replication_role = origin;")
                .next()
        })
        .unwrap();
    su.batch_execute(renumber).await.unwrap();
    let numbers: Vec<i64> = su
        .query("SELECT number FROM tickets ORDER BY created_at, id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(numbers, vec![1, 2, 3, 4]);
}

#[tokio::test]
async fn search_finds_message_bodies_and_notes_only_for_staff() {
    let s = scene().await;
    let t = s.ticket;
    thread::post(&s.alice, t, "The toner cartridge leaks", false)
        .await
        .unwrap();
    thread::post(&s.al, t, "Suspect counterfeit cartridge supplier", true)
        .await
        .unwrap();
    assert_eq!(found(&s.alice, "toner").await, vec![t]);
    assert_eq!(found(&s.al, "toner").await, vec![t]);
    assert_eq!(found(&s.al, "counterfeit").await, vec![t]);
    assert_eq!(found(&s.ada, "counterfeit").await, vec![t]);
    assert!(
        found(&s.alice, "counterfeit").await.is_empty(),
        "a note is not found by the customer"
    );
    assert!(found(&s.bob, "toner").await.is_empty());
    assert!(found(&s.bo, "toner").await.is_empty());
}

#[tokio::test]
async fn names_on_a_thread_never_name_a_notes_author_to_the_customer() {
    let s = scene().await;
    let pool = file(&s.alice, "pool ticket").await;
    // bo only writes a note on it; ada replies publicly.
    thread::post(&s.bo, pool, "internal only", true)
        .await
        .unwrap();
    thread::post(&s.ada, pool, "We are on it", false)
        .await
        .unwrap();
    let names: Vec<Uuid> = s
        .alice
        .query(
            "SELECT id FROM names_on_tickets(ARRAY[$1::uuid], true)",
            &[&pool],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(names.contains(&s.cast.ada.id));
    assert!(!names.contains(&s.cast.bo.id), "bo wrote a note only");
}

#[tokio::test]
async fn bad_input_is_refused_with_the_reason_and_crlf_becomes_lf() {
    let s = scene().await;
    let t = s.ticket;
    let cases: Vec<(String, &str, &str)> = vec![
        ("".into(), "23514", "needs some text"),
        (" \n\t  ".into(), "23514", "needs some text"),
        ("x".repeat(65537), "22001", "64 KiB (65536 bytes)"),
        ("bell\u{7}".into(), "22023", "U+0007 at character 5"),
        ("esc \u{1b}[2J".into(), "22023", "U+001B"),
        ("c1 \u{9b}".into(), "22023", "U+009B"),
    ];
    for (body, code, says) in cases {
        let (c, msg) = refusal(thread::post(&s.alice, t, &body, false).await);
        assert_eq!(c, code, "{msg}");
        assert!(msg.contains(says), "{msg}");
    }
    thread::post(&s.alice, t, &"y".repeat(65536), false)
        .await
        .unwrap();
    thread::post(&s.alice, t, "line one\r\nline two\rthree\twith tab", false)
        .await
        .unwrap();
    let body: String =
        s.su.query_one(
            "SELECT body FROM ticket_messages ORDER BY created_at DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(body, "line one\nline two\nthree\twith tab");
    // An internal note from a customer: refused by name.
    let (c, msg) = refusal(thread::post(&s.alice, t, "secret", true).await);
    assert_eq!(c, "42501");
    assert!(
        msg.contains("customers cannot post internal notes"),
        "{msg}"
    );
}

#[tokio::test]
async fn what_changed_since_each_person_last_looked() {
    let s = scene().await;
    let t = s.ticket;
    let other = file(&s.alice, "second").await;
    // Filed by alice: seen by her; al has not opened it since claiming... he made the changes.
    assert!(
        thread::unseen(&s.alice, &[t, other])
            .await
            .unwrap()
            .contains(&t),
        "al changed it after alice filed it"
    );
    thread::mark_seen(&s.alice, t).await.unwrap();
    assert!(
        thread::unseen(&s.alice, &[t, other])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(thread::unseen_count(&s.alice).await.unwrap(), 0);

    // A note is news to staff, not to the customer.
    thread::mark_seen(&s.ada, t).await.unwrap();
    thread::post(&s.al, t, "a note", true).await.unwrap();
    assert!(thread::unseen(&s.alice, &[t]).await.unwrap().is_empty());
    assert_eq!(thread::unseen(&s.ada, &[t]).await.unwrap(), vec![t]);
    assert!(
        thread::unseen(&s.al, &[t]).await.unwrap().is_empty(),
        "the author has seen it"
    );
    // A public reply is news to the customer.
    thread::post(&s.al, t, "a reply", false).await.unwrap();
    assert_eq!(thread::unseen(&s.alice, &[t]).await.unwrap(), vec![t]);
    assert_eq!(thread::unseen_count(&s.alice).await.unwrap(), 1);
    thread::mark_seen(&s.alice, t).await.unwrap();
    assert_eq!(thread::unseen_count(&s.alice).await.unwrap(), 0);

    // A ticket handed to an agent is news to them until they open it.
    let fresh = file(&s.bob, "handed").await;
    s.al.execute("SELECT claim_ticket($1)", &[&fresh])
        .await
        .unwrap();
    s.al.execute("SELECT hand_off_ticket($1, $2)", &[&fresh, &s.cast.bo.id])
        .await
        .unwrap();
    assert_eq!(thread::unseen_count(&s.bo).await.unwrap(), 1);
    thread::mark_seen(&s.bo, fresh).await.unwrap();
    assert_eq!(thread::unseen_count(&s.bo).await.unwrap(), 0);

    // Everyone reads only their own marks; nobody marks a ticket they cannot see.
    let rows: i64 = s
        .alice
        .query_one("SELECT count(*) FROM ticket_seen", &[])
        .await
        .unwrap()
        .get(0);
    let own: i64 =
        s.su.query_one(
            "SELECT count(*) FROM ticket_seen WHERE person_id = $1",
            &[&s.cast.alice.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, own);
    let (code, _) = refusal(thread::mark_seen(&s.bob, t).await);
    assert_eq!(code, "P0002");
    let _ = &s.db;
}
