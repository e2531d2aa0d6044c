//! The client's flows against a real PostgreSQL: the real state machine and the real worker on
//! each person's own session, without a terminal. What the person would see is read from state.

mod common;

use common::client::Client;
use common::{Cast, TestDb};
use ratatui::crossterm::event::KeyCode;
use tickets::model::*;

/// A notice that names its ticket by number and subject: "#12 Printer on fire: …".
fn assert_named(notice: &str, subject: &str, rest: &str) {
    let number = notice
        .strip_prefix('#')
        .and_then(|n| n.split(' ').next())
        .is_some_and(|n| n.parse::<i64>().is_ok());
    assert!(
        number && notice.ends_with(&format!(" {subject}{rest}")),
        "{notice:?} should be \"#N {subject}{rest}\""
    );
}

async fn file_ticket(c: &mut Client, subject: &str, body: &str) {
    c.key(KeyCode::Char('n'));
    c.typed(subject);
    c.key(KeyCode::Tab);
    c.typed(body);
    c.ctrl('s');
    c.settle().await;
    assert!(
        c.main().form.is_none(),
        "form closed after filing: {:?}",
        c.main().form.as_ref().map(|f| f.error.clone())
    );
}

#[tokio::test]
async fn each_role_logs_in_and_does_its_work() {
    let db = TestDb::new().await;
    let Cast {
        alice,
        bob,
        al,
        bo,
        ada,
    } = db.cast().await;

    // A customer files a ticket and sees it, with its first history entry.
    let mut c = Client::start(&db, &alice);
    c.login(&alice).await;
    file_ticket(&mut c, "Printer on fire", "Third floor, smoke").await;
    assert_eq!(c.subjects(), vec!["Printer on fire"]);
    assert_eq!(c.main().counts.get(&Queue::Mine), Some(&1));
    let detail = c.main().detail.clone().expect("the new ticket is shown");
    assert_eq!(detail.description, "Third floor, smoke");
    assert_eq!(c.events(), vec!["created (open)"]);
    let mut b = Client::start(&db, &bob);
    b.login(&bob).await;
    assert!(
        b.subjects().is_empty(),
        "another customer sees nothing of it"
    );

    // An agent finds it in the unassigned queue, claims it, works it and hands it off.
    let mut a = Client::start(&db, &al);
    a.login(&al).await;
    assert!(a.subjects().is_empty(), "nothing is theirs yet");
    a.key(KeyCode::Char(']'));
    a.settle().await;
    assert_eq!(a.main().queue, Queue::Unassigned);
    assert_eq!(a.subjects(), vec!["Printer on fire"]);
    assert_eq!(a.main().counts.get(&Queue::Unassigned), Some(&1));
    a.key(KeyCode::Char('c'));
    a.settle().await;
    assert_named(&a.notice(), "Printer on fire", ": claimed, it is yours.");
    a.key(KeyCode::Char('['));
    a.settle().await;
    assert_eq!(a.subjects(), vec!["Printer on fire"]);
    a.key(KeyCode::Char('s'));
    a.key(KeyCode::Enter); // the first legal move from open: in progress
    a.settle().await;
    assert_named(
        &a.notice(),
        "Printer on fire",
        ": status is now in progress.",
    );
    assert_eq!(
        a.main().detail.as_ref().unwrap().row.status,
        Status::InProgress
    );
    a.key(KeyCode::Char('p'));
    a.key(KeyCode::Char('G'));
    a.key(KeyCode::Enter);
    a.settle().await;
    assert_named(&a.notice(), "Printer on fire", ": priority is now urgent.");
    a.key(KeyCode::Char('a'));
    a.key(KeyCode::Enter);
    a.settle().await;
    assert!(
        a.notice().contains(" Printer on fire: handed off to bo"),
        "{}",
        a.notice()
    );
    assert!(a.subjects().is_empty(), "handed-off ticket left my queue");

    let mut o = Client::start(&db, &bo);
    o.login(&bo).await;
    assert_eq!(o.subjects(), vec!["Printer on fire"]);
    let kinds: Vec<String> = o.events();
    assert_eq!(
        kinds,
        vec![
            "created (open)".to_owned(),
            format!("assigned to al agent ({})", al.login),
            "open → in progress".into(),
            "priority normal → urgent".into(),
            format!(
                "handed off al agent ({}) → bo agent ({})",
                al.login, bo.login
            )
        ]
    );

    // The customer sees the new state and who changed it, never an e-mail but their own.
    c.key(KeyCode::Char('r'));
    c.settle().await;
    assert_eq!(
        c.main().detail.as_ref().unwrap().row.status,
        Status::InProgress
    );
    assert_eq!(c.last_changed_by().as_deref(), Some("al agent"));

    // The admin sees every ticket and the audit trail, filtered by person.
    let mut d = Client::start(&db, &ada);
    d.login(&ada).await;
    assert_eq!(d.subjects(), vec!["Printer on fire"]);
    d.key(KeyCode::Char('A'));
    d.settle().await;
    assert_eq!(d.main().audit.rows.len(), 5);
    d.key(KeyCode::Char('f'));
    d.key(KeyCode::Enter);
    d.typed("al_");
    d.key(KeyCode::Enter);
    d.settle().await;
    let who: Vec<&str> = d
        .main()
        .audit
        .rows
        .iter()
        .map(|h| h.changed_by_name.as_str())
        .collect();
    // Staff read name plus login: names repeat across people.
    assert_eq!(who, vec![format!("al agent ({})", al.login); 4]);
}

#[tokio::test]
async fn login_failures_say_what_is_wrong() {
    let db = TestDb::new().await;
    let carol = db.person("customer", "carol").await;

    let mut c = Client::start(&db, &carol);
    c.typed(&carol.login);
    c.key(KeyCode::Tab);
    c.typed("not-the-password");
    c.key(KeyCode::Enter);
    c.settle().await;
    assert_eq!(c.login_error().as_deref(), Some("Wrong login or password."));

    let admin = db.admin().await;
    tickets::people::disable(&admin, &carol.login, None)
        .await
        .unwrap();
    let mut c = Client::start(&db, &carol);
    c.login_attempt(&carol).await;
    assert_eq!(
        c.login_error(),
        Some(format!(
            "{} is disabled. Ask an admin to enable it.",
            carol.login
        ))
    );

    // An unreachable server: one line naming where it tried.
    let mut config = tokio_postgres::Config::new();
    config
        .host_path("/nonexistent-socket-dir")
        .port(5432)
        .dbname("tickets");
    let mut c = Client::for_config(config);
    c.login_attempt(&carol).await;
    let error = c.login_error().unwrap();
    assert!(
        error.starts_with("cannot reach PostgreSQL at /nonexistent-socket-dir:5432/tickets"),
        "{error}"
    );
}

#[tokio::test]
async fn a_claim_lost_to_another_agent_is_refused_with_the_reason() {
    let db = TestDb::new().await;
    let cust = db.person("customer", "dan").await;
    let (a1, a2) = (
        db.person("agent", "eve").await,
        db.person("agent", "fay").await,
    );
    let mut c = Client::start(&db, &cust);
    c.login(&cust).await;
    file_ticket(&mut c, "Contested", "both want it").await;

    let mut x = Client::start(&db, &a1);
    x.login(&a1).await;
    let mut y = Client::start(&db, &a2);
    y.login(&a2).await;
    for client in [&mut x, &mut y] {
        client.key(KeyCode::Char(']'));
        client.settle().await;
        assert_eq!(client.subjects(), vec!["Contested"]);
    }
    x.key(KeyCode::Char('c'));
    x.settle().await;
    y.key(KeyCode::Char('c'));
    y.settle().await;
    assert_named(&x.notice(), "Contested", ": claimed, it is yours.");
    assert!(
        y.notice().contains(" Contested went to ")
            || y.notice().contains(" Contested is no longer in the pool"),
        "{}",
        y.notice()
    );
    assert!(
        y.subjects().is_empty(),
        "the lost ticket is gone from the pool after the reload"
    );
}

#[tokio::test]
async fn a_stale_status_change_is_refused_and_reloaded() {
    let db = TestDb::new().await;
    let cust = db.person("customer", "gil").await;
    let agent = db.person("agent", "hal").await;
    let mut c = Client::start(&db, &cust);
    c.login(&cust).await;
    file_ticket(&mut c, "Race", "x").await;
    let mut a = Client::start(&db, &agent);
    a.login(&agent).await;
    a.key(KeyCode::Char(']'));
    a.settle().await;
    a.key(KeyCode::Char('c'));
    a.settle().await;
    a.key(KeyCode::Char('['));
    a.settle().await;
    // Someone else (the same agent in psql) changes it after the client showed it.
    let psql = db.login(&agent).await;
    psql.execute("UPDATE tickets SET priority = 'high'", &[])
        .await
        .unwrap();
    a.key(KeyCode::Char('s'));
    a.key(KeyCode::Enter);
    a.settle().await;
    assert!(
        a.notice().contains("changed since you saw it"),
        "{}",
        a.notice()
    );
    let detail = a.main().detail.as_ref().unwrap();
    assert_eq!(
        detail.row.priority,
        Priority::High,
        "the client shows what changed"
    );
    assert_eq!(detail.row.status, Status::Open, "and did not overwrite it");
}

#[tokio::test]
async fn server_search_finds_words_in_subject_and_description_within_the_queue() {
    let db = TestDb::new().await;
    let alice = db.person("customer", "alice").await;
    let bob = db.person("customer", "bob").await;
    for (who, subject, body) in [
        (&alice, "Printer on fire", "smoke from the tray"),
        (&alice, "VPN down", "cannot reach the printers share"),
        (&alice, "Password reset", "locked out"),
        (&bob, "Printer jam", "paper stuck"),
    ] {
        db.login(who)
            .await
            .execute(
                "INSERT INTO tickets (subject, description) VALUES ($1, $2)",
                &[&subject, &body],
            )
            .await
            .unwrap();
    }
    let mut c = Client::start(&db, &alice);
    c.login(&alice).await;
    c.key(KeyCode::Char('S'));
    c.typed("printer");
    c.key(KeyCode::Enter);
    c.settle().await;
    let mut found = c.subjects();
    found.sort();
    // English stemming: "printers" in a description matches; bob's printer never shows.
    assert_eq!(found, vec!["Printer on fire", "VPN down"]);
    c.key(KeyCode::Esc);
    c.settle().await;
    assert_eq!(c.subjects().len(), 3, "Esc clears the search");
}

/// One change, one refresh: one's own priority change and claim re-read the changed row by id
/// once each (the live echo), not once for the action's answer and again for the echo, and
/// never the whole list (issue 13: a change costs only the rows it touches). The claim moved
/// counts and re-reads them; the priority change moved none and re-reads only the news count
/// (0039).
#[tokio::test]
async fn ones_own_change_refreshes_the_list_and_counts_once() {
    let db = TestDb::new().await;
    let Cast { alice, al, .. } = db.cast().await;
    let mut c = Client::start(&db, &alice);
    c.login(&alice).await;
    file_ticket(&mut c, "Printer on fire", "Third floor").await;
    file_ticket(&mut c, "Scanner jammed", "Second floor").await;

    let mut a = Client::start(&db, &al);
    a.login(&al).await;
    a.key(KeyCode::Char(']'));
    a.settle().await;
    assert_eq!(a.subjects().len(), 2);

    let before = a.stats().clone();
    let subject = a.main().selected().unwrap().subject.clone();
    a.key(KeyCode::Char('c'));
    a.settle().await;
    // Anything late would show within this spell.
    a.idle(std::time::Duration::from_millis(500)).await;
    let after = a.stats().clone();
    assert_named(&a.notice(), &subject, ": claimed, it is yours.");
    assert_eq!(
        after.page_loads - before.page_loads,
        0,
        "whole-list loads per claim"
    );
    assert_eq!(
        after.row_loads - before.row_loads,
        1,
        "row re-reads per claim"
    );
    assert_eq!(
        after.count_loads - before.count_loads,
        1,
        "count loads per claim"
    );
    assert_eq!(
        after.unseen_loads - before.unseen_loads,
        0,
        "news-count-only loads per claim"
    );
    assert_eq!(a.subjects().len(), 1, "the claimed ticket left the pool");

    a.key(KeyCode::Char('['));
    a.settle().await;
    let before = a.stats().clone();
    a.key(KeyCode::Char('p'));
    a.key(KeyCode::Char('G'));
    a.key(KeyCode::Enter);
    a.settle().await;
    a.idle(std::time::Duration::from_millis(500)).await;
    let after = a.stats().clone();
    assert_named(&a.notice(), &subject, ": priority is now urgent.");
    assert_eq!(
        after.page_loads - before.page_loads,
        0,
        "whole-list loads per change"
    );
    assert_eq!(
        after.row_loads - before.row_loads,
        1,
        "row re-reads per change"
    );
    assert_eq!(
        after.count_loads - before.count_loads,
        0,
        "count loads per priority change"
    );
    assert_eq!(
        after.unseen_loads - before.unseen_loads,
        1,
        "news-count-only loads per priority change"
    );
    assert_eq!(a.main().list.rows[0].priority, Priority::Urgent);
}

/// The rows marked as news (●) are exactly those the header's "N new" counts: a customer's
/// closed ticket is not news, and opening a ticket takes its mark and one from the count.
#[tokio::test]
async fn the_news_marks_and_the_news_count_agree() {
    let db = TestDb::new().await;
    let Cast { alice, al, ada, .. } = db.cast().await;
    let mut c = Client::start(&db, &alice);
    c.login(&alice).await;
    for s in ["Printer on fire", "Scanner jammed", "Old question"] {
        file_ticket(&mut c, s, "Details").await;
    }
    // An agent answers all three (news to alice); an admin closes one.
    db.login(&al)
        .await
        .batch_execute(
            "SELECT claim_ticket(id) FROM tickets;
             INSERT INTO ticket_messages (ticket_id, body) SELECT id, 'Looking into it' FROM tickets",
        )
        .await
        .unwrap();
    db.login(&ada)
        .await
        .execute(
            "UPDATE tickets SET status = 'closed' WHERE subject = 'Old question'",
            &[],
        )
        .await
        .unwrap();
    c.key(KeyCode::Char('r'));
    c.settle().await;
    let marked = |c: &Client| -> Vec<String> {
        c.main()
            .list
            .rows
            .iter()
            .filter(|r| r.unseen)
            .map(|r| r.subject.clone())
            .collect()
    };
    let news = marked(&c);
    assert!(!news.contains(&"Old question".to_owned()), "{news:?}");
    assert_eq!(c.main().unseen, news.len() as i64, "marks {news:?}");
    assert_eq!(news.len(), 2);
    // Opening one takes its mark and one from the count.
    let first = c.main().list.rows.iter().position(|r| r.unseen).unwrap();
    while c.main().list.selected != first {
        c.key(KeyCode::Char('j'));
    }
    c.key(KeyCode::Enter);
    c.settle().await;
    c.key(KeyCode::Esc);
    c.key(KeyCode::Char('r'));
    c.settle().await;
    assert_eq!(marked(&c).len(), 1);
    assert_eq!(c.main().unseen, 1);
}
