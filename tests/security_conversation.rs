//! The adversarial suite, part 3: attacks on the conversation (issue 10): reading internal
//! notes by every path (the table, the thread view, search, names, counts, the ticket's own
//! columns, the notification), forging a message's author, id, time or flag, rewriting or
//! deleting messages as every role and the owner, posting where it is not allowed, replies that
//! move a ticket they should not, a customer changing anything but the close, ticket numbers
//! that cannot be forged or reused, other people's last-seen marks, and the copy of a ticket's
//! access each message carries for the agents' read policy (0026, 0028): following every change,
//! unforgeable, and not left behind by a REPEATABLE READ claim.
//!
//! The engine and its mini-language are tests/common/attack.rs (`posted N`: messages may be
//! added, nothing else may change). Every attack has a weakening
//! (tests/security_conversation/weakenings.txt) that breaks its rule; `-- --ignored` proves
//! each attack then reports the breach.

mod common;

use common::attack::{Check, describe};
use common::attack::{Suite, World, assert_weakenings_detected, attack_tests, check_listing};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use std::time::Duration;
use tokio_postgres::{AsyncMessage, Client, NoTls};
use uuid::Uuid;

const ATTACKS: &str = include_str!("security_conversation/attacks.txt");
const WEAKENINGS: &str = include_str!("security_conversation/weakenings.txt");

/// The insert check reduced to filling in the customer: every refusal it gave is gone.
const NO_CHECK: &str = "CREATE OR REPLACE FUNCTION app.check_message() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ BEGIN NEW.customer_id := (SELECT t.customer_id FROM public.tickets t WHERE t.id = NEW.ticket_id); RETURN NEW; END $$";
/// A message no longer touches its ticket (nor needs a person to do so).
const NO_EFFECTS: &str = "CREATE OR REPLACE FUNCTION app.apply_message() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ BEGIN RETURN NULL; END $$";

const SUITE: Suite = Suite {
    world: || world().boxed(),
    run,
    undo: "",
};

fn run<'a>(w: &'a World, name: &'static str) -> BoxFuture<'a, Check> {
    w.run_named(ATTACKS, name).boxed()
}

/// The weakenings, with @NO_CHECK and @NO_EFFECTS spelled out (they combine with more SQL).
fn weakenings() -> Vec<(&'static str, String)> {
    WEAKENINGS
        .lines()
        .filter_map(|l| l.split_once(" | "))
        .map(|(name, sql)| {
            let sql = sql
                .replace("@NO_CHECK", NO_CHECK)
                .replace("@NO_EFFECTS", NO_EFFECTS);
            (name, sql)
        })
        .collect()
}

attack_tests!(SUITE;
    customer_reads_notes_in_the_table,
    customer_reads_notes_in_the_thread,
    customer_finds_notes_by_search,
    customer_names_a_notes_author,
    customer_names_a_notes_author_in_a_thread,
    customer_learns_of_a_note_from_the_ticket_or_counts,
    customer_learns_of_a_note_from_the_live_count,
    agent_learns_the_fate_of_a_ticket_that_left_them,
    agent_reads_messages_of_a_ticket_they_cannot_see,
    customer_posts_an_internal_note,
    anyone_forges_a_messages_author,
    anyone_forges_a_messages_id_time_or_customer,
    nobody_posts_without_being_a_person,
    customer_rewrites_messages,
    agent_rewrites_messages,
    admin_rewrites_messages,
    superuser_rewrites_messages,
    owner_rewrites_messages,
    customer_posts_on_another_customers_ticket,
    agent_posts_on_a_ticket_they_cannot_see,
    customer_posts_on_a_closed_ticket,
    customer_sends_terminal_escapes_or_blank_messages,
    a_staff_reply_moves_nothing,
    customer_moves_own_ticket_other_than_closing,
    customer_changes_more_than_the_status,
    customer_closes_another_customers_ticket,
    admin_forges_or_changes_a_ticket_number,
    customer_takes_or_resets_ticket_numbers,
    customer_reads_or_writes_anothers_last_seen,
    agent_keeps_reading_messages_of_a_ticket_that_left_them,
    agent_reads_a_new_note_on_someone_elses_ticket,
    anyone_forges_a_messages_copy_of_its_tickets_access,
    agent_claims_past_a_note_their_snapshot_missed,
);

#[test]
fn every_scripted_attack_has_a_test_and_a_weakening() {
    let weakenings = weakenings();
    check_listing(Some(ATTACKS), TESTED, &weakenings);
    let weakened: Vec<&str> = weakenings.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        weakened, TESTED,
        "every attack has exactly one weakening, in order"
    );
}

/// A few representative rules broken (a read policy, the append-only trigger, the insert
/// check, the customer's close); `every_weakened_rule_is_detected` does all of them.
#[tokio::test]
async fn weakened_rules_are_detected() {
    let chosen = [
        "customer_reads_notes_in_the_table",
        "superuser_rewrites_messages",
        "customer_posts_on_a_closed_ticket",
        "customer_moves_own_ticket_other_than_closing",
    ];
    let weakenings = weakenings().into_iter().filter(|(n, _)| chosen.contains(n));
    assert_weakenings_detected(&SUITE, weakenings.collect()).await;
}

#[tokio::test]
#[ignore = "slow (a database per rule); run by hand: cargo test --test security_conversation -- --ignored"]
async fn every_weakened_rule_is_detected() {
    assert_weakenings_detected(&SUITE, weakenings()).await;
}

/// NOTIFY bypasses RLS and anyone may LISTEN: a note is announced as any change is, by a
/// change-log number alone (0016), never its ticket, its text or its being a note; and the
/// change row it leaves is staff's only, so the ticket's customer learns nothing of it.
#[tokio::test]
async fn a_notes_notification_carries_only_a_number() {
    let w = world().await;
    notification_is_only_the_id(&w).await.unwrap();
}

#[tokio::test]
async fn a_note_shown_to_the_customer_is_detected() {
    let w = world().await;
    // The note's change row shown to the ticket's customer.
    w.su.batch_execute(
        "ALTER POLICY changes_customer_read ON ticket_changes USING (customer_id = (SELECT app.uid()))",
    )
    .await
    .unwrap();
    assert!(notification_is_only_the_id(&w).await.is_err());
}

async fn notification_is_only_the_id(w: &World) -> Check {
    let (client, mut connection) =
        w.db.login_config(w.person("c1"))
            .connect(NoTls)
            .await
            .map_err(|e| describe(&e))?;
    let (tx, mut messages) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(m)) =
            futures_util::future::poll_fn(|cx| connection.poll_message(cx)).await
        {
            let _ = tx.send(m);
        }
    });
    // The setup's own changes announced first, as the notifier would.
    let head0: i64 =
        w.su.query_one(
            "SELECT coalesce(announce_ticket_changes(), ticket_changes_head())",
            &[],
        )
        .await
        .map_err(|e| describe(&e))?
        .get(0);
    client
        .batch_execute("LISTEN tickets_changed")
        .await
        .unwrap();
    let a1 = w.session("a1").await;
    a1.execute(
        "INSERT INTO ticket_messages (ticket_id, body, internal) VALUES ($1, 'TOPSECRET plan', true)",
        &[&w.ticket("a1s")],
    )
    .await
    .map_err(|e| describe(&e))?;
    let head: i64 =
        w.su.query_one("SELECT announce_ticket_changes()", &[])
            .await
            .map_err(|e| describe(&e))?
            .get(0);
    let payload = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(m) = messages.recv().await {
            if let AsyncMessage::Notification(n) = m {
                return Some(n.payload().to_owned());
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .ok_or_else(|| "no notification within 5 s".to_owned())?;
    if payload != head.to_string() {
        return Err(format!(
            "the notification said {payload:?}, not the head {head}"
        ));
    }
    let seen = client
        .query(
            "SELECT ticket_id FROM ticket_changes WHERE seq > $1",
            &[&head0],
        )
        .await
        .map_err(|e| describe(&e))?;
    match seen.len() {
        0 => Ok(()),
        n => Err(format!("c1 read {n} change rows of a1's internal note")),
    }
}

// ---------------------------------------------------------------------------------------------
// The world every attack starts from.

/// c1 has `pool` (open, unassigned, with an admin's internal note), `a1s` (claimed by a1, in
/// progress: c1's message, a1's reply and a1's internal note `note`) and `done` (closed by c1);
/// c2 has `a2s` (claimed by a2, in progress, c2's message). `gone` is a disabled agent.
async fn world() -> World {
    let db = common::TestDb::new().await;
    let (c1, c2, a1, a2, gone, admin) = tokio::join!(
        db.person("customer", "c1"),
        db.person("customer", "c2"),
        db.person("agent", "a1"),
        db.person("agent", "a2"),
        db.person("agent", "gone"),
        db.person("admin", "boss"),
    );
    let (l1, l2, la1, la2, ladmin) = tokio::join!(
        db.login(&c1),
        db.login(&c2),
        db.login(&a1),
        db.login(&a2),
        db.login(&admin)
    );
    let pool = file(&l1, "in the pool").await;
    let a1s = file(&l1, "for a1").await;
    let done = file(&l1, "done").await;
    let a2s = file(&l2, "for a2").await;
    for (agent, ticket) in [(&la1, a1s), (&la2, a2s)] {
        agent
            .batch_execute(&format!(
                "SELECT claim_ticket('{ticket}');
                 UPDATE tickets SET status = 'in_progress' WHERE id = '{ticket}'"
            ))
            .await
            .unwrap();
    }
    l1.execute(
        "UPDATE tickets SET status = 'closed' WHERE id = $1",
        &[&done],
    )
    .await
    .unwrap();
    post(&l1, a1s, "my printer smokes", false).await;
    post(&la1, a1s, "please unplug it", false).await;
    let note = post(&la1, a1s, "suspect counterfeit toner", true).await;
    post(&ladmin, pool, "confidential admin remark", true).await;
    post(&l2, a2s, "c2 question", false).await;
    db.admin()
        .await
        .execute("SELECT disable_person($1)", &[&gone.login])
        .await
        .unwrap();
    let mut w = World::new(db).await;
    for (name, p) in [
        ("c1", c1),
        ("c2", c2),
        ("a1", a1),
        ("a2", a2),
        ("gone", gone),
        ("admin", admin),
    ] {
        w.add_person(name, p);
    }
    for (name, id) in [
        ("pool", pool),
        ("a1s", a1s),
        ("a2s", a2s),
        ("done", done),
        ("note", note),
    ] {
        w.add_ticket(name, id);
    }
    for (who, c) in [
        ("c1", l1),
        ("c2", l2),
        ("a1", la1),
        ("a2", la2),
        ("admin", ladmin),
    ] {
        w.lend(who, c);
    }
    w
}

async fn file(c: &Client, subject: &str) -> Uuid {
    c.query_one(
        "INSERT INTO tickets (subject, description) VALUES ($1, 'details') RETURNING id",
        &[&subject],
    )
    .await
    .unwrap()
    .get(0)
}

async fn post(c: &Client, ticket: Uuid, body: &str, internal: bool) -> Uuid {
    c.query_one(
        "INSERT INTO ticket_messages (ticket_id, body, internal) VALUES ($1, $2, $3) RETURNING id",
        &[&ticket, &body, &internal],
    )
    .await
    .unwrap()
    .get(0)
}
