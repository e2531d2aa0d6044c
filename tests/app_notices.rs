//! The status line and the prompts (issue 11 item 11): informational notices expire and never
//! push the key hints away, a reopened prompt's text is replaced by typing, and the login form
//! asks for a password instead of reporting an error.

mod app_support;

use app_support::*;
use ratatui::crossterm::event::KeyCode;
use std::time::Duration;
use tickets::app::keymap::Keymap;
use tickets::app::{App, Effect, Msg, Notice, Reply, Screen, update};
use tickets::headless::Headless;
use tickets::model::*;

fn searched(app: &App) -> Option<String> {
    main_of(app)
        .prompt
        .as_ref()
        .map(|p| p.input.value().to_owned())
}

fn search_effect(effects: &[Effect]) -> Option<String> {
    effects.iter().find_map(|e| match e {
        Effect::LoadPage { search, .. } => Some(search.clone()),
        _ => None,
    })
}

#[test]
fn typing_into_a_reopened_search_replaces_the_previous_query() {
    let mut app = logged_in(Role::Agent, vec![row(1, None, Status::Open)]);
    update(&mut app, ch('S'));
    typed(&mut app, "printer");
    update(&mut app, key(KeyCode::Enter));
    update(&mut app, ch('S'));
    assert_eq!(searched(&app).as_deref(), Some("printer"), "shown again");
    assert!(main_of(&app).prompt.as_ref().unwrap().selected);
    typed(&mut app, "vpn");
    let effects = update(&mut app, key(KeyCode::Enter));
    assert_eq!(search_effect(&effects).as_deref(), Some("vpn"), "replaced");
    // An arrow key keeps the text and edits it.
    update(&mut app, ch('S'));
    update(&mut app, key(KeyCode::End));
    typed(&mut app, " down");
    let effects = update(&mut app, key(KeyCode::Enter));
    assert_eq!(search_effect(&effects).as_deref(), Some("vpn down"));
    // Backspace on the selected text clears it.
    update(&mut app, ch('S'));
    update(&mut app, key(KeyCode::Backspace));
    assert_eq!(searched(&app).as_deref(), Some(""));
}

#[test]
fn an_expired_notice_goes_but_a_newer_one_or_an_error_stays() {
    let mut app = logged_in(Role::Agent, vec![]);
    let shown = app.notice.clone().expect("the login notice");
    assert!(!shown.error);
    update(&mut app, Msg::NoticeExpired(shown.clone()));
    assert_eq!(app.notice, None);

    let newer = Notice {
        text: "Live again.".into(),
        error: false,
    };
    app.notice = Some(newer.clone());
    update(&mut app, Msg::NoticeExpired(shown));
    assert_eq!(app.notice, Some(newer), "only the notice that expired goes");

    let error = Notice {
        text: "Refused.".into(),
        error: true,
    };
    app.notice = Some(error.clone());
    update(&mut app, Msg::NoticeExpired(error.clone()));
    assert_eq!(app.notice, Some(error), "errors wait for the person");
}

#[tokio::test]
async fn the_runtime_says_when_an_informational_notice_has_had_its_time() {
    // No server is needed: nothing is sent until a login is typed.
    let mut client = Headless::start(tokio_postgres::Config::new(), None);
    client.app.notice = Some(Notice {
        text: "#7 VPN down: claimed, it is yours.".into(),
        error: false,
    });
    client.apply(Msg::Resize);
    let started = std::time::Instant::now();
    let msg = tokio::time::timeout(Duration::from_secs(10), client.runtime.recv())
        .await
        .expect("an expiry within 10 s")
        .expect("the runtime runs");
    assert!(matches!(msg, Msg::NoticeExpired(_)), "{msg:?}");
    assert!(started.elapsed() >= Duration::from_secs(4), "not at once");
    client.apply(msg);
    assert_eq!(client.app.notice, None);
}

#[test]
fn the_login_form_asks_for_a_password_without_an_error() {
    let mut app = App::new(Keymap::default(), "test".into(), Some("bo".into()));
    update(
        &mut app,
        Msg::Db(Reply::LoginFailed(LoginError::PasswordNeeded)),
    );
    let Screen::Login(form) = &app.screen else {
        panic!("login form")
    };
    assert_eq!(form.error, None, "not an error");
    assert_eq!(form.ask.as_deref(), Some("Type your password."));
    update(
        &mut app,
        Msg::Db(Reply::LoginFailed(LoginError::WrongPassword)),
    );
    let Screen::Login(form) = &app.screen else {
        panic!("login form")
    };
    assert_eq!(form.error.as_deref(), Some("Wrong login or password."));
    assert_eq!(form.ask, None);
}

#[test]
fn one_cause_of_going_offline_reads_the_same_on_every_path() {
    let cause = "terminating connection due to administrator command";
    // The LISTEN connection says it...
    let mut a = logged_in(Role::Agent, vec![row(1, None, Status::Open)]);
    update(
        &mut a,
        Msg::Db(Reply::Connection {
            online: false,
            message: format!("db error: FATAL: {cause}"),
        }),
    );
    let from_listen = a.notice.clone().unwrap();
    assert!(from_listen.error);
    assert_eq!(
        from_listen.text,
        "Offline: the server ended the session. Reconnecting…"
    );
    // ...or a load on the main session does, in other words for the same cause.
    let mut b = logged_in(Role::Agent, vec![row(1, None, Status::Open)]);
    update(
        &mut b,
        Msg::Db(Reply::Failed {
            req: None,
            load: tickets::app::LoadKind::Counts,
            error: DbError::Unreachable(cause.into()),
        }),
    );
    assert_eq!(b.notice, Some(from_listen));
    // A wrapped cause is not repeated: never "Offline: Offline (…)".
    update(
        &mut b,
        Msg::Db(Reply::Connection {
            online: false,
            message: "Offline (the connection to the database was closed)".into(),
        }),
    );
    assert_eq!(
        b.notice.unwrap().text,
        "Offline: the connection was closed. Reconnecting…"
    );
}
