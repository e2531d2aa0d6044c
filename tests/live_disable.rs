//! Disabling a person while their client is open (issue 11 item 6, the client half): the
//! client says the login was disabled and returns to the login form, instead of
//! "Offline… Reconnecting…" for ever.

mod common;

use common::TestDb;
use common::client::Client;
use tickets::app::Screen;

#[tokio::test]
async fn a_disabled_persons_client_says_so_and_returns_to_the_login_form() {
    let db = TestDb::new().await;
    let agent = db.person("agent", "al").await;
    let mut a = Client::start(&db, &agent);
    a.login(&agent).await;
    db.admin()
        .await
        .execute("SELECT disable_person($1)", &[&agent.login])
        .await
        .unwrap();
    a.wait_until(15, "the login form", |app| {
        matches!(app.screen, Screen::Login(_))
    })
    .await;
    let Screen::Login(form) = &a.app.screen else {
        unreachable!()
    };
    let error = form.error.clone().unwrap_or_default();
    assert!(error.contains("disabled"), "the form says why: {error:?}");
    assert_eq!(form.login.value(), agent.login, "the login is kept");
}
