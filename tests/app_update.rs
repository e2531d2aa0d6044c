//! Pure tests of the client's state machine: keys and replies in, effects out. No terminal,
//! no database.

mod app_support;

use app_support::*;
use chrono::{TimeZone, Utc};
use ratatui::crossterm::event::KeyCode;
use tickets::app::keymap::Keymap;
use tickets::app::{App, Effect, Msg, Picker, Reply, Screen, update};
use tickets::model::*;
use uuid::Uuid;

#[test]
fn login_form_sends_what_was_typed_and_shows_the_refusal() {
    let mut app = App::new(Keymap::default(), "test".into(), None);
    assert!(typed(&mut app, "alice").is_empty());
    update(&mut app, key(KeyCode::Tab));
    typed(&mut app, "s3cret");
    let effects = update(&mut app, key(KeyCode::Enter));
    assert_eq!(
        effects,
        vec![Effect::Login {
            login: "alice".into(),
            password: Some("s3cret".into())
        }]
    );
    assert!(
        update(&mut app, key(KeyCode::Enter)).is_empty(),
        "no second attempt while busy"
    );
    update(
        &mut app,
        Msg::Db(Reply::LoginFailed(LoginError::WrongPassword)),
    );
    let Screen::Login(form) = &app.screen else {
        panic!("still on the login form")
    };
    assert_eq!(form.error.as_deref(), Some("Wrong login or password."));
    assert!(!form.busy);
}

#[test]
fn a_prefilled_login_starts_in_the_password_field() {
    let mut app = App::new(Keymap::default(), "test".into(), Some("bob".into()));
    typed(&mut app, "pw");
    let effects = update(&mut app, key(KeyCode::Enter));
    assert_eq!(
        effects,
        vec![Effect::Login {
            login: "bob".into(),
            password: Some("pw".into())
        }]
    );
}

#[test]
fn login_loads_the_roles_queues_and_their_counts() {
    let mut app = App::new(Keymap::default(), "test".into(), None);
    let effects = update(
        &mut app,
        Msg::Db(Reply::LoggedIn {
            me: me(Role::Agent),
            moves: vec![],
            agents: vec![],
            draft: None,
            reply_drafts: vec![],
        }),
    );
    assert!(effects.contains(&Effect::LoadCounts));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::LoadPage {
            queue: Queue::Mine,
            after: None,
            ..
        }
    )));
}

#[test]
fn a_stale_page_is_dropped() {
    let mut app = logged_in(Role::Agent, vec![row(1, Some(1), Status::Open)]);
    let first = update(&mut app, ch('r'));
    let second = update(&mut app, ch('r'));
    let req_of = |effects: &[Effect]| {
        effects.iter().find_map(|e| match e {
            Effect::LoadPage { req, .. } => Some(*req),
            _ => None,
        })
    };
    let (old, new) = (req_of(&first).unwrap(), req_of(&second).unwrap());
    update(
        &mut app,
        Msg::Db(Reply::Page {
            req: old,
            queue: Queue::Mine,
            rows: vec![],
            append: false,
            limit: 100,
        }),
    );
    assert_eq!(
        main_of(&app).list.rows.len(),
        1,
        "the superseded reply changed nothing"
    );
    update(
        &mut app,
        Msg::Db(Reply::Page {
            req: new,
            queue: Queue::Mine,
            rows: vec![row(2, Some(1), Status::Open), row(3, Some(1), Status::Open)],
            append: false,
            limit: 100,
        }),
    );
    assert_eq!(main_of(&app).list.rows.len(), 2);
}

#[test]
fn moving_the_cursor_loads_the_ticket_and_near_the_end_the_next_page() {
    let rows: Vec<TicketRow> = (0..100).map(|n| row(n, None, Status::Open)).collect();
    let mut app = logged_in(Role::Agent, rows);
    let effects = update(&mut app, ch('j'));
    assert!(effects.contains(&Effect::LoadTicket {
        req: match &effects[0] {
            Effect::LoadTicket { req, .. } => *req,
            _ => 0,
        },
        id: Uuid::from_u128(101)
    }));
    let mut effects = Vec::new();
    for _ in 0..9 {
        effects.extend(update(&mut app, key(KeyCode::PageDown)));
    }
    let page = effects.iter().find_map(|e| match e {
        Effect::LoadPage { after, .. } => Some(after.clone()),
        _ => None,
    });
    let after = page
        .expect("the end of the list asks for the next page")
        .expect("with a cursor");
    assert_eq!(after.id, Uuid::from_u128(199));
    // G goes to the real end of the queue: its last page, read from the other side.
    let effects = update(&mut app, ch('G'));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadTail { before: None, .. })),
        "{effects:?}"
    );
}

#[test]
fn claim_then_advance_to_the_next_ticket() {
    let rows = vec![
        row(1, None, Status::Open),
        row(2, None, Status::Open),
        row(3, None, Status::Open),
    ];
    let mut app = logged_in(Role::Agent, rows);
    update(&mut app, ch('j'));
    let effects = update(&mut app, ch('c'));
    assert_eq!(
        effects,
        vec![Effect::Act {
            ticket: Uuid::from_u128(102),
            action: TicketAction::Claim,
        }]
    );
    assert!(update(&mut app, ch('c')).is_empty(), "one action at a time");
    let mut claimed = row(2, Some(1), Status::Open);
    claimed.updated_at += chrono::Duration::seconds(1);
    let effects = update(
        &mut app,
        Msg::Db(Reply::Acted {
            ticket: Uuid::from_u128(102),
            action: TicketAction::Claim,
            result: Ok(Some(claimed.clone())),
        }),
    );
    // The cursor lands on the one after it at once; the changed row is shown as returned.
    assert_eq!(main_of(&app).selected().unwrap().id, Uuid::from_u128(103));
    assert_eq!(
        main_of(&app).list.rows[1],
        claimed,
        "the returned row replaces the old one"
    );
    assert_eq!(
        app.notice.as_ref().unwrap().text,
        "#2 Ticket number 2: claimed, it is yours."
    );
    // One change, one refresh: the list and counts are reloaded by the live echo, not here.
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::LoadPage { .. } | Effect::LoadCounts)),
        "no reload from the action's own answer: {effects:?}"
    );
    let effects = update(
        &mut app,
        Msg::Db(Reply::Changed {
            ids: vec![Uuid::from_u128(102)],
            counts: true,
        }),
    );
    // The echo re-reads the changed row by id (not the whole list) and the counts, once.
    assert_eq!(
        effects
            .iter()
            .filter(|e| matches!(e, Effect::LoadRows { .. } | Effect::LoadCounts))
            .count(),
        2,
        "one row re-read and one count load: {effects:?}"
    );
    assert!(!effects.iter().any(|e| matches!(e, Effect::LoadPage { .. })));
    // The claimed ticket left the unassigned list; the cursor stays on the one after it.
    assert!(answer_rows(&mut app, &effects, Vec::new()));
    assert_eq!(main_of(&app).selected().unwrap().id, Uuid::from_u128(103));
}

#[test]
fn illegal_actions_are_not_sent_and_say_why() {
    let mut app = logged_in(Role::Agent, vec![row(1, Some(2), Status::InProgress)]);
    assert!(update(&mut app, ch('c')).is_empty());
    assert!(app.notice.as_ref().unwrap().error);
    assert!(update(&mut app, ch('s')).is_empty());
    assert_eq!(
        app.notice.as_ref().unwrap().text,
        "Claim the ticket before changing its status."
    );
    let mut customer = logged_in(Role::Customer, vec![row(1, None, Status::Open)]);
    assert!(update(&mut customer, ch('c')).is_empty());
    assert!(update(&mut customer, ch('A')).is_empty());
    assert_eq!(
        customer.notice.as_ref().unwrap().text,
        "The audit view is for admins."
    );
}

#[test]
fn the_status_picker_offers_only_the_databases_moves() {
    let mut app = logged_in(Role::Agent, vec![row(1, Some(1), Status::InProgress)]);
    update(&mut app, ch('s'));
    let Some(Picker::Status { options, .. }) = &main_of(&app).picker else {
        panic!("status picker")
    };
    assert_eq!(options, &vec![Status::WaitingOnCustomer, Status::Resolved]);
    update(&mut app, ch('j'));
    let effects = update(&mut app, key(KeyCode::Enter));
    match &effects[..] {
        [
            Effect::Act {
                ticket,
                action:
                    TicketAction::Change {
                        change: Change::Status(Status::Resolved),
                        ..
                    },
            },
        ] => assert_eq!(*ticket, Uuid::from_u128(101)),
        other => panic!("expected a status change, got {other:?}"),
    }
}

#[test]
fn hand_off_picks_another_agent() {
    let mut app = logged_in(Role::Agent, vec![row(1, Some(1), Status::InProgress)]);
    update(&mut app, ch('a'));
    let effects = update(&mut app, key(KeyCode::Enter));
    assert_eq!(
        effects,
        vec![Effect::Act {
            ticket: Uuid::from_u128(101),
            action: TicketAction::HandOff {
                to: Uuid::from_u128(2)
            },
        }]
    );
}

#[test]
fn typing_a_filter_narrows_the_loaded_list() {
    let mut rows: Vec<TicketRow> = (1..=3).map(|n| row(n, None, Status::Open)).collect();
    rows[1].subject = "Printer on fire".into();
    let mut app = logged_in(Role::Agent, rows);
    update(&mut app, ch('/'));
    typed(&mut app, "printr");
    let main = main_of(&app);
    assert_eq!(main.list.visible(), vec![1]);
    assert_eq!(main.selected().unwrap().subject, "Printer on fire");
    update(&mut app, key(KeyCode::Esc));
    assert_eq!(main_of(&app).list.visible().len(), 3);
}

#[test]
fn server_search_reloads_with_the_query() {
    let mut app = logged_in(Role::Admin, vec![]);
    update(&mut app, ch('S'));
    typed(&mut app, "refund");
    let effects = update(&mut app, key(KeyCode::Enter));
    assert!(
        effects.iter().any(
            |e| matches!(e, Effect::LoadPage { search, after: None, .. } if search == "refund")
        )
    );
}

#[test]
fn the_new_ticket_form_validates_saves_drafts_and_keeps_text_on_failure() {
    let mut app = logged_in(Role::Customer, vec![]);
    update(&mut app, ch('n'));
    assert!(
        update(&mut app, ctrl('s')).is_empty(),
        "an empty subject is not sent"
    );
    assert_eq!(
        main_of(&app)
            .form
            .as_ref()
            .unwrap()
            .subject_error
            .as_deref(),
        Some("A subject is required.")
    );
    let effects = typed(&mut app, "VPN down");
    assert!(
        matches!(effects.last(), Some(Effect::SaveDraft { ticket }) if ticket.subject == "VPN down")
    );
    assert!(
        main_of(&app).form.as_ref().unwrap().subject_error.is_none(),
        "the message goes as the field is fixed"
    );
    update(&mut app, key(KeyCode::Tab));
    typed(&mut app, "since 9am");
    update(&mut app, key(KeyCode::Tab));
    update(&mut app, key(KeyCode::Right));
    let effects = update(&mut app, ctrl('s'));
    let expected = NewTicket {
        subject: "VPN down".into(),
        description: "since 9am".into(),
        priority: "high".into(),
        customer: None,
    };
    assert_eq!(
        effects,
        vec![Effect::CreateTicket {
            ticket: expected.clone()
        }]
    );
    update(
        &mut app,
        Msg::Db(Reply::Created {
            result: Err(DbError::Unreachable(
                "the connection to the database was closed".into(),
            )),
        }),
    );
    let form = main_of(&app).form.as_ref().expect("the form stays open");
    assert_eq!(form.ticket(), expected, "nothing typed is lost");
    assert!(form.error.as_ref().unwrap().contains("Your text is kept"));
    let effects = update(&mut app, ctrl('s'));
    assert_eq!(effects, vec![Effect::CreateTicket { ticket: expected }]);
    let effects = update(
        &mut app,
        Msg::Db(Reply::Created {
            result: Ok(Uuid::from_u128(7)),
        }),
    );
    assert!(effects.contains(&Effect::ClearDraft));
    assert!(main_of(&app).form.is_none());
}

#[test]
fn a_draft_from_last_time_reopens_in_the_form() {
    let mut app = App::new(Keymap::default(), "test".into(), None);
    let draft = NewTicket {
        subject: "Half written".into(),
        description: "line one\nline two".into(),
        priority: "urgent".into(),
        customer: None,
    };
    update(
        &mut app,
        Msg::Db(Reply::LoggedIn {
            me: me(Role::Customer),
            moves: vec![],
            agents: vec![],
            draft: Some(draft.clone()),
            reply_drafts: vec![],
        }),
    );
    assert!(app.notice.as_ref().unwrap().text.contains("press n"));
    update(&mut app, ch('n'));
    assert_eq!(main_of(&app).form.as_ref().unwrap().ticket(), draft);
}

#[test]
fn help_opens_and_closes_and_q_quits() {
    let mut app = logged_in(Role::Agent, vec![]);
    update(&mut app, ch('?'));
    assert!(app.help_open);
    assert!(update(&mut app, ch('q')).is_empty(), "q closes help first");
    assert!(!app.help_open);
    assert_eq!(update(&mut app, ch('q')), vec![Effect::Quit]);
    assert!(app.quit);
}

#[test]
fn the_audit_view_pages_and_filters() {
    let mut app = logged_in(Role::Admin, vec![]);
    let effects = update(&mut app, ch('A'));
    let req = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadAudit {
                req, after: None, ..
            } => Some(*req),
            _ => None,
        })
        .expect("opening the audit view loads its first page");
    let entry = |n: u128| HistoryEntry {
        id: Uuid::from_u128(1000 + n),
        ticket_id: Uuid::from_u128(100 + n),
        ticket_number: None,
        ticket_subject: Some(format!("T{n}")),
        seq: 1,
        kind: ChangeKind::Created,
        old_status: None,
        new_status: Some(Status::Open),
        old_agent: None,
        new_agent: None,
        old_priority: None,
        new_priority: None,
        changed_by: Uuid::from_u128(9),
        changed_by_name: "Cy".into(),
        changed_by_login: None,
        changed_at: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
            - chrono::Duration::minutes(n as i64),
    };
    update(
        &mut app,
        Msg::Db(Reply::Audit {
            req,
            rows: (0..100).map(entry).collect(),
            append: false,
        }),
    );
    // G goes to the real end: the audit's last page, read from the other side (not the page
    // after the last loaded row).
    let effects = update(&mut app, ch('G'));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadAuditTail { before: None, .. })),
        "{effects:?}"
    );
    update(&mut app, ch('f'));
    let effects = update(&mut app, key(KeyCode::Enter));
    assert!(effects.is_empty(), "the person prompt opens");
    typed(&mut app, "cy");
    let effects = update(&mut app, key(KeyCode::Enter));
    let req = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadAudit {
                req,
                filter,
                after: None,
            } if filter.person == "cy" => Some(*req),
            _ => None,
        })
        .expect("the person filter reloads the audit");
    // The database refuses a person filter that fits several people: the previous filter's
    // rows must not stay on screen as if they were its answer, and the reason is shown.
    let why = "\"cy\" fits 2 people: filter by one login (Cy A (cya), Cy B (cyb))";
    update(
        &mut app,
        Msg::Db(Reply::Failed {
            req: Some(req),
            load: tickets::app::LoadKind::Audit,
            error: DbError::Refused {
                code: "21000".into(),
                message: why.into(),
            },
        }),
    );
    assert!(main_of(&app).audit.rows.is_empty());
    assert!(app.notice.as_ref().unwrap().text.contains(why));
    update(&mut app, ch('f'));
    update(&mut app, ch('j'));
    update(&mut app, ch('j'));
    update(&mut app, ch('j'));
    update(&mut app, key(KeyCode::Enter));
    typed(&mut app, "yesterday");
    assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
    assert!(
        main_of(&app)
            .prompt_error
            .as_ref()
            .unwrap()
            .contains("not a date")
    );
}

#[test]
fn a_restored_draft_is_continued_at_its_end() {
    let mut app = App::new(Keymap::default(), "test".into(), None);
    let draft = NewTicket {
        subject: "Half written".into(),
        description: "line one\nline two".into(),
        priority: "urgent".into(),
        customer: None,
    };
    update(
        &mut app,
        Msg::Db(Reply::LoggedIn {
            me: me(Role::Customer),
            moves: vec![],
            agents: vec![],
            draft: Some(draft),
            reply_drafts: vec![],
        }),
    );
    update(&mut app, ch('n'));
    update(&mut app, key(KeyCode::Tab));
    typed(&mut app, ", and three");
    assert_eq!(
        main_of(&app).form.as_ref().unwrap().ticket().description,
        "line one\nline two, and three"
    );
}
