//! The conversation in the client, against a real PostgreSQL: replies and internal notes
//! written in the composer, a status set with a reply, the customer answering and closing,
//! tickets found by number, news markers, drafts that survive the client, live delivery.

mod common;

use common::client::Client;
use common::{Cast, TestDb};
use ratatui::crossterm::event::KeyCode;
use std::time::Duration;
use tickets::model::*;

async fn file_ticket(c: &mut Client, subject: &str, body: &str) {
    c.key(KeyCode::Char('n'));
    c.typed(subject);
    c.key(KeyCode::Tab);
    c.typed(body);
    c.ctrl('s');
    c.settle().await;
    assert!(c.main().form.is_none(), "filed");
}

/// The bodies of the open ticket's messages and notes, oldest first, notes marked.
fn messages(c: &Client) -> Vec<String> {
    c.main()
        .thread
        .iter()
        .filter_map(|e| match e.kind {
            ThreadKind::Message => e.body.clone(),
            ThreadKind::Note => e.body.as_ref().map(|b| format!("NOTE {b}")),
            ThreadKind::Change(_) => None,
        })
        .collect()
}

async fn write(c: &mut Client, text: &str) {
    c.key(KeyCode::Char('m'));
    assert!(c.main().composer.is_some(), "composer open: {}", c.notice());
    c.typed(text);
}

#[tokio::test]
async fn a_reply_a_note_an_answer_and_a_close_travel_between_clients() {
    let db = TestDb::new().await;
    let Cast { alice, al, .. } = db.cast().await;
    let mut c = Client::start(&db, &alice);
    c.login(&alice).await;
    file_ticket(&mut c, "VPN down", "Since nine").await;
    let number = c.main().list.rows[0].number;
    assert!(number > 0, "the database numbered it");

    // The agent claims it and answers, asking the customer something: reply + status at once.
    let mut a = Client::start(&db, &al);
    a.login(&al).await;
    a.key(KeyCode::Char(']'));
    a.settle().await;
    a.key(KeyCode::Char('c'));
    a.settle().await;
    a.key(KeyCode::Char('['));
    a.settle().await;
    a.key(KeyCode::Enter);
    a.settle().await;
    write(&mut a, "Which office are you in?").await;
    a.ctrl('o'); // with it: the first move offered from open
    let then = a.main().composer.as_ref().unwrap().then_status;
    assert_eq!(then, Some(Status::InProgress));
    a.ctrl('o');
    assert_eq!(
        a.main().composer.as_ref().unwrap().then_status,
        Some(Status::WaitingOnCustomer)
    );
    a.ctrl('s');
    a.settle().await;
    assert!(a.main().composer.is_none(), "sent: {}", a.notice());
    assert!(
        a.notice().contains(&format!("#{number}")) && a.notice().contains("waiting on customer"),
        "{}",
        a.notice()
    );
    // An internal note for colleagues: chosen before sending, and said so.
    write(&mut a, "Customer is on the old client").await;
    a.ctrl('t');
    assert!(a.main().composer.as_ref().unwrap().internal);
    a.ctrl('s');
    a.settle().await;
    assert_eq!(
        messages(&a),
        vec![
            "Which office are you in?".to_owned(),
            "NOTE Customer is on the old client".to_owned()
        ]
    );

    // The customer's client follows by itself: the reply, never the note, and the new status.
    c.key(KeyCode::Enter);
    c.wait_until(5, "the reply to arrive", |app| {
        let m = app.main().unwrap();
        m.thread.iter().any(|e| e.kind == ThreadKind::Message)
            && m.detail
                .as_ref()
                .is_some_and(|d| d.row.status == Status::WaitingOnCustomer)
    })
    .await;
    c.settle().await;
    assert_eq!(messages(&c), vec!["Which office are you in?".to_owned()]);

    // The customer answers: the ticket goes back to work, in the customer's name.
    write(&mut c, "Berlin, third floor").await;
    c.ctrl('s');
    c.settle().await;
    assert!(c.main().composer.is_none(), "sent: {}", c.notice());
    c.wait_until(5, "the answer to move the ticket", |app| {
        app.main()
            .unwrap()
            .detail
            .as_ref()
            .is_some_and(|d| d.row.status == Status::InProgress)
    })
    .await;
    c.settle().await;
    assert_eq!(
        c.events().last().map(String::as_str),
        Some("waiting on customer → in progress")
    );
    assert_eq!(c.last_changed_by().as_deref(), Some("alice customer"));

    // The customer closes it; afterwards there is nothing more to write to it.
    c.key(KeyCode::Char('s'));
    let Some(tickets::app::Picker::Status { options, .. }) = &c.main().picker else {
        panic!("a close is offered: {}", c.notice())
    };
    assert_eq!(options, &vec![Status::Closed]);
    c.key(KeyCode::Enter);
    c.settle().await;
    assert_eq!(c.main().detail.as_ref().unwrap().row.status, Status::Closed);
    c.key(KeyCode::Char('m'));
    assert!(c.main().composer.is_none());
    assert!(c.notice().contains("is closed"), "{}", c.notice());
}

#[tokio::test]
async fn a_reply_to_a_ticket_closed_meanwhile_is_refused_and_kept() {
    let db = TestDb::new().await;
    let Cast { alice, ada, .. } = db.cast().await;
    let mut c = Client::start(&db, &alice);
    c.login(&alice).await;
    file_ticket(&mut c, "Printer", "jammed").await;
    c.key(KeyCode::Enter);
    c.settle().await;
    write(&mut c, "Any news?").await;
    // Meanwhile an admin closes it from psql.
    let admin = db.login(&ada).await;
    admin
        .execute(
            "UPDATE tickets SET status = 'closed' WHERE subject = 'Printer'",
            &[],
        )
        .await
        .unwrap();
    c.ctrl('s');
    c.settle().await;
    let composer = c.main().composer.as_ref().expect("the composer stays open");
    assert_eq!(composer.text(), "Any news?", "nothing typed is lost");
    let error = composer.error.clone().unwrap_or_default();
    assert!(
        error.contains("closed") && error.contains("Your text is kept"),
        "{error}"
    );
}

#[tokio::test]
async fn a_draft_reply_survives_the_client_and_is_private() {
    let db = TestDb::new().await;
    db.start_notifier(); // as Client::start does: live echoes come through the notifier
    let Cast { alice, .. } = db.cast().await;
    let drafts = tempfile::tempdir().unwrap();
    let store = || Some(tickets::drafts::DraftStore::new(drafts.path()));
    let mut config = db.login_config(&alice);
    config.password("");
    {
        let mut c = Client::for_config_with_drafts(config.clone(), store());
        c.login(&alice).await;
        file_ticket(&mut c, "Monitor flickers", "at 60 Hz").await;
        c.key(KeyCode::Enter);
        c.settle().await;
        write(&mut c, "It also smells").await;
        // The client goes away with the composer open (a crash, a lost terminal).
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let files: Vec<_> = std::fs::read_dir(drafts.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".reply-"))
        .collect();
    assert_eq!(files.len(), 1, "one reply draft on disk: {files:?}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "drafts are private");

    let mut c = Client::for_config_with_drafts(config, store());
    c.login(&alice).await;
    c.key(KeyCode::Enter);
    c.settle().await;
    c.key(KeyCode::Char('m'));
    c.typed("!");
    assert_eq!(
        c.main().composer.as_ref().unwrap().text(),
        "It also smells!",
        "the draft comes back, typing continues at its end"
    );
    c.ctrl('s');
    c.settle().await;
    assert!(c.main().composer.is_none(), "{}", c.notice());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !files[0].exists(),
        "the draft is gone once the database has the message"
    );
}

#[tokio::test]
async fn a_ticket_is_found_by_its_number_and_news_are_marked() {
    let db = TestDb::new().await;
    let Cast { alice, al, .. } = db.cast().await;
    let mut c = Client::start(&db, &alice);
    c.login(&alice).await;
    file_ticket(&mut c, "First", "one").await;
    file_ticket(&mut c, "Second", "two").await;
    let first = c
        .main()
        .list
        .rows
        .iter()
        .find(|r| r.subject == "First")
        .unwrap()
        .clone();
    assert!(
        c.main().list.rows.iter().all(|r| !r.unseen),
        "one's own new tickets are no news"
    );

    // An agent finds it by the number the customer said on the phone, and answers.
    let mut a = Client::start(&db, &al);
    a.login(&al).await;
    a.key(KeyCode::Char('#'));
    a.typed(&format!("#{}", first.number));
    a.key(KeyCode::Enter);
    a.settle().await;
    assert_eq!(
        a.main().detail.as_ref().map(|d| d.row.id),
        Some(first.id),
        "{}",
        a.notice()
    );
    write(&mut a, "Looking into it").await;
    a.ctrl('s');
    a.settle().await;
    assert!(a.main().composer.is_none(), "{}", a.notice());
    a.key(KeyCode::Char('#'));
    a.typed("999999");
    a.key(KeyCode::Enter);
    a.settle().await;
    assert!(a.notice().contains("no ticket #999999"), "{}", a.notice());

    // The customer's list marks the ticket with news, and the header counts it.
    c.wait_until(5, "the news to show", |app| {
        let m = app.main().unwrap();
        m.unseen == 1 && m.list.rows.iter().any(|r| r.id == first.id && r.unseen)
    })
    .await;
    // Opening it makes it seen.
    let at = c
        .main()
        .list
        .rows
        .iter()
        .position(|r| r.id == first.id)
        .unwrap();
    c.key(KeyCode::Char('g'));
    for _ in 0..at {
        c.key(KeyCode::Char('j'));
    }
    c.key(KeyCode::Enter);
    c.settle().await;
    c.key(KeyCode::Char('r'));
    c.settle().await;
    assert_eq!(c.main().unseen, 0);
    assert!(c.main().list.rows.iter().all(|r| !r.unseen));
}

#[tokio::test]
async fn an_agent_is_told_when_a_ticket_is_handed_to_them() {
    let db = TestDb::new().await;
    let Cast { alice, al, bo, .. } = db.cast().await;
    let mut c = Client::start(&db, &alice);
    c.login(&alice).await;
    file_ticket(&mut c, "Broken chair", "wobbles").await;
    let mut b = Client::start(&db, &bo);
    b.login(&bo).await;
    assert!(b.subjects().is_empty(), "nothing is bo's yet");
    let psql = db.login(&al).await;
    let id = c.main().list.rows[0].id;
    psql.execute("SELECT claim_ticket($1)", &[&id])
        .await
        .unwrap();
    psql.execute("SELECT hand_off_ticket($1, $2)", &[&id, &bo.id])
        .await
        .unwrap();
    b.wait_until(5, "the hand-off to arrive", |app| {
        !app.main().unwrap().list.rows.is_empty()
    })
    .await;
    b.settle().await;
    assert!(
        b.notice().contains("Broken chair") && b.notice().contains("handed to you"),
        "{}",
        b.notice()
    );
    assert!(b.main().list.rows[0].unseen, "and it is marked as news");
}

#[tokio::test]
async fn an_agent_files_a_ticket_for_a_customer_on_the_phone() {
    let db = TestDb::new().await;
    let Cast { alice, bob, al, .. } = db.cast().await;
    let mut a = Client::start(&db, &al);
    a.login(&al).await;
    // Nobody by that name: said, nothing filed.
    a.key(KeyCode::Char('n'));
    a.typed("nobody-at-all@example.test");
    a.key(KeyCode::Enter);
    a.settle().await;
    assert!(a.main().form.is_none());
    assert!(a.notice().contains("No active customer"), "{}", a.notice());
    // By e-mail: the form opens for her, and says so.
    a.key(KeyCode::Char('n'));
    a.typed(&format!("{}@example.test", alice.login));
    a.key(KeyCode::Enter);
    a.settle().await;
    let form = a.main().form.as_ref().expect("the form opens");
    assert_eq!(form.customer.as_ref().map(|c| c.id), Some(alice.id));
    a.typed("Phone: printer jammed");
    a.key(KeyCode::Tab);
    a.typed("Called at 10:05");
    a.ctrl('s');
    a.settle().await;
    assert!(
        a.main().form.is_none(),
        "{:?}",
        a.main().form.as_ref().map(|f| f.error.clone())
    );

    // It is hers: she sees it, with the agent who filed it in its history; bob does not.
    let mut c = Client::start(&db, &alice);
    c.login(&alice).await;
    assert_eq!(c.subjects(), vec!["Phone: printer jammed"]);
    c.key(KeyCode::Enter);
    c.settle().await;
    assert_eq!(c.events(), vec!["created (open)"]);
    assert_eq!(c.last_changed_by().as_deref(), Some("al agent"));
    let mut b = Client::start(&db, &bob);
    b.login(&bob).await;
    assert!(b.subjects().is_empty());

    // A customer cannot do the same for someone else: the column is not theirs to name.
    let psql = db.login(&bob).await;
    let refused = psql
        .execute(
            "INSERT INTO tickets (customer_id, subject) VALUES ($1, 'for alice')",
            &[&alice.id],
        )
        .await;
    assert_eq!(common::sqlstate(refused), "42501");
}
