//! What the pure state-machine tests share: keys, a person, rows, a logged-in state.
#![allow(dead_code)]

use chrono::{TimeZone, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tickets::app::keymap::Keymap;
use tickets::app::{App, Effect, Msg, Reply, update};
use tickets::model::*;
use uuid::Uuid;

pub fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}
pub fn ch(c: char) -> Msg {
    key(KeyCode::Char(c))
}
pub fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}
pub fn typed(app: &mut App, text: &str) -> Vec<Effect> {
    text.chars().flat_map(|c| update(app, ch(c))).collect()
}

pub fn me(role: Role) -> Me {
    Me {
        id: Uuid::from_u128(1),
        login: "me".into(),
        display_name: "Me".into(),
        role,
    }
}

pub fn row(n: u128, agent: Option<u128>, status: Status) -> TicketRow {
    let t =
        Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap() + chrono::Duration::minutes(n as i64);
    TicketRow {
        id: Uuid::from_u128(100 + n),
        number: n as i64,
        subject: format!("Ticket number {n}"),
        status,
        priority: Priority::Normal,
        customer_id: Uuid::from_u128(50),
        agent_id: agent.map(Uuid::from_u128),
        agent_name: agent.map(|a| format!("Agent {a}")),
        customer_name: Some("Cy Customer".into()),
        created_at: t,
        updated_at: t,
        unseen: false,
    }
}

pub fn agent_moves() -> Vec<Move> {
    vec![
        Move {
            from: Status::Open,
            to: Status::InProgress,
        },
        Move {
            from: Status::InProgress,
            to: Status::Resolved,
        },
        Move {
            from: Status::InProgress,
            to: Status::WaitingOnCustomer,
        },
    ]
}

/// Logs in as `role` and answers the first page with `rows`.
pub fn logged_in(role: Role, rows: Vec<TicketRow>) -> App {
    let mut app = App::new(Keymap::default(), "test".into(), None);
    let agents = vec![
        PersonName {
            id: Uuid::from_u128(1),
            display_name: "Me".into(),
            role: Role::Agent,
            active: true,
        },
        PersonName {
            id: Uuid::from_u128(2),
            display_name: "Bo".into(),
            role: Role::Agent,
            active: true,
        },
    ];
    let effects = update(
        &mut app,
        Msg::Db(Reply::LoggedIn {
            me: me(role),
            moves: agent_moves(),
            agents,
            draft: None,
            reply_drafts: vec![],
        }),
    );
    let (req, queue) = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadPage { req, queue, .. } => Some((*req, *queue)),
            _ => None,
        })
        .expect("login loads the first page");
    update(
        &mut app,
        Msg::Db(Reply::Page {
            req,
            queue,
            rows,
            append: false,
            limit: 100,
        }),
    );
    app
}

pub fn main_of(app: &App) -> &tickets::app::Main {
    app.main().expect("main screen")
}

/// Answers the list load among `effects` with `rows`; false when there was none.
pub fn answer_page(app: &mut App, effects: &[Effect], rows: Vec<TicketRow>) -> bool {
    let Some((req, queue, limit)) = effects.iter().find_map(|e| match e {
        Effect::LoadPage {
            req, queue, limit, ..
        } => Some((*req, *queue, *limit)),
        _ => None,
    }) else {
        return false;
    };
    update(
        app,
        Msg::Db(Reply::Page {
            req,
            queue,
            rows,
            append: false,
            limit,
        }),
    );
    true
}

/// Answers the live path's re-read of changed rows (`LoadRows`) with those of `rows` whose id
/// it asked for (the others left the queue); false when no such effect was asked for.
pub fn answer_rows(app: &mut App, effects: &[Effect], rows: Vec<TicketRow>) -> bool {
    let Some((req, queue, ids)) = effects.iter().find_map(|e| match e {
        Effect::LoadRows { req, queue, ids } => Some((*req, *queue, ids.clone())),
        _ => None,
    }) else {
        return false;
    };
    let rows = rows.into_iter().filter(|r| ids.contains(&r.id)).collect();
    update(
        app,
        Msg::Db(Reply::Rows {
            req,
            queue,
            ids,
            rows,
        }),
    );
    true
}

/// An entry of the audit feed: ticket `100 + n` created by Cy.
pub fn audit_entry(n: u128) -> HistoryEntry {
    HistoryEntry {
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
    }
}

pub fn selected_id(app: &App) -> Option<Uuid> {
    app.main().and_then(|m| m.selected()).map(|r| r.id)
}
