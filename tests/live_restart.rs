//! A server restart mid-session (its own test binary: it restarts the shared test server).

mod common;

use common::TestDb;
use common::client::Client;
use ratatui::crossterm::event::KeyCode;
use std::time::Duration;
use tickets::model::*;

#[tokio::test]
async fn the_client_rides_out_a_server_restart() {
    let db = TestDb::new().await;
    let alice = db.person("customer", "alice").await;
    let mut c = Client::start(&db, &alice);
    c.login(&alice).await;
    c.key(KeyCode::Char('n'));
    c.typed("Before the restart");
    c.ctrl('s');
    c.settle().await;

    let restart =
        tokio::task::spawn_blocking(|| common::restart_server(Duration::from_millis(1500)));
    c.wait_until(10, "offline during the restart", |app| {
        !app.main().unwrap().online
    })
    .await;
    if !restart.await.unwrap() {
        eprintln!("skipped: TICKETS_TEST_DATABASE_URL names a server this test cannot restart");
        return;
    }
    c.wait_until(20, "live again after the restart", |app| {
        app.main().unwrap().online
    })
    .await;

    // What happened while it was down is caught up: a ticket changed after the restart shows.
    let agent = db.person("agent", "al").await;
    let psql = db.login(&agent).await;
    psql.execute("SELECT claim_ticket(id) FROM tickets", &[])
        .await
        .unwrap();
    psql.execute("UPDATE tickets SET status = 'waiting_on_customer'", &[])
        .await
        .unwrap();
    c.wait_until(5, "the change made after the restart", |app| {
        app.main()
            .unwrap()
            .list
            .rows
            .first()
            .is_some_and(|r| r.status == Status::WaitingOnCustomer)
    })
    .await;
}
