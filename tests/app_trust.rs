//! Pure tests: the client never acts on, or shows, a ticket the person did not choose, and every
//! view on screen or returned to is current (issue 11 items 1, 2, 3).

mod app_support;

use app_support::*;
use ratatui::crossterm::event::KeyCode;
use tickets::app::{Effect, Msg, Pane, Reply, update};
use tickets::model::*;
use uuid::Uuid;

fn three_rows() -> Vec<TicketRow> {
    let mut rows: Vec<TicketRow> = (1..=3).map(|n| row(n, None, Status::Open)).collect();
    rows[0].subject = "VPN drops every hour".into();
    rows[1].subject = "Printer on fire".into();
    rows[2].subject = "Printer out of toner".into();
    rows
}

#[test]
fn esc_in_the_detail_goes_back_to_the_list_and_keeps_the_filter_and_the_ticket() {
    let mut app = logged_in(Role::Agent, three_rows());
    update(&mut app, ch('/'));
    typed(&mut app, "fire");
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(selected_id(&app), Some(Uuid::from_u128(102)));
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(main_of(&app).focus, Pane::Detail);
    update(&mut app, key(KeyCode::Esc));
    assert_eq!(main_of(&app).focus, Pane::List, "Esc goes back first");
    assert_eq!(main_of(&app).list.filter, "fire", "the filter stays");
    assert_eq!(selected_id(&app), Some(Uuid::from_u128(102)));
    // A second Esc clears the filter; the cursor stays on the same ticket.
    update(&mut app, key(KeyCode::Esc));
    assert!(main_of(&app).list.filter.is_empty());
    assert_eq!(selected_id(&app), Some(Uuid::from_u128(102)));
}

#[test]
fn the_selection_follows_the_ticket_while_the_filter_changes() {
    let mut app = logged_in(Role::Agent, three_rows());
    update(&mut app, ch('j'));
    update(&mut app, ch('j'));
    assert_eq!(selected_id(&app), Some(Uuid::from_u128(103)));
    update(&mut app, ch('/'));
    typed(&mut app, "print");
    assert_eq!(
        selected_id(&app),
        Some(Uuid::from_u128(103)),
        "still visible, still selected"
    );
    update(&mut app, key(KeyCode::Esc));
    assert_eq!(selected_id(&app), Some(Uuid::from_u128(103)));
}

#[test]
fn the_selection_follows_the_ticket_across_a_live_refresh() {
    let mut app = logged_in(Role::Agent, three_rows());
    update(&mut app, ch('j'));
    assert_eq!(selected_id(&app), Some(Uuid::from_u128(102)));
    let effects = update(
        &mut app,
        Msg::Db(Reply::Changed {
            ids: vec![Uuid::from_u128(104)],
            counts: true,
        }),
    );
    // A new, urgent ticket arrives at the top: the cursor stays on its ticket, not its index.
    let mut new = row(4, None, Status::Open);
    new.priority = Priority::Urgent;
    assert!(answer_rows(&mut app, &effects, vec![new]));
    assert_eq!(main_of(&app).list.rows[0].id, Uuid::from_u128(104));
    assert_eq!(selected_id(&app), Some(Uuid::from_u128(102)));
}

#[test]
fn the_ticket_list_is_current_after_the_audit_view() {
    let mut app = logged_in(Role::Admin, three_rows());
    let effects = update(&mut app, ch('A'));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadAudit { .. }))
    );
    // Someone files a ticket while the admin reads the audit.
    update(
        &mut app,
        Msg::Db(Reply::Changed {
            ids: vec![Uuid::from_u128(104)],
            counts: true,
        }),
    );
    let effects = update(&mut app, ch('A'));
    let mut rows = vec![row(4, None, Status::Open)];
    rows.extend(three_rows());
    assert!(
        answer_page(&mut app, &effects, rows),
        "back in the list, it is reloaded: {effects:?}"
    );
    assert_eq!(main_of(&app).list.rows.len(), 4);
    // And the same on the way back with Esc.
    update(&mut app, ch('A'));
    update(
        &mut app,
        Msg::Db(Reply::Changed {
            ids: vec![Uuid::from_u128(105)],
            counts: true,
        }),
    );
    let effects = update(&mut app, key(KeyCode::Esc));
    assert!(
        effects.iter().any(|e| matches!(e, Effect::LoadPage { .. })),
        "{effects:?}"
    );
}

#[test]
fn the_audit_is_current_when_returned_to() {
    let mut app = logged_in(Role::Admin, three_rows());
    let effects = update(&mut app, ch('A'));
    let req = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadAudit { req, .. } => Some(*req),
            _ => None,
        })
        .unwrap();
    update(
        &mut app,
        Msg::Db(Reply::Audit {
            req,
            rows: vec![audit_entry(1)],
            append: false,
        }),
    );
    update(&mut app, ch('A'));
    update(
        &mut app,
        Msg::Db(Reply::Changed {
            ids: vec![Uuid::from_u128(102)],
            counts: true,
        }),
    );
    let effects = update(&mut app, ch('A'));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadAudit { .. })),
        "changes while away reload the audit: {effects:?}"
    );
}

fn claimed(n: u128) -> TicketRow {
    let mut r = three_rows()[(n - 1) as usize].clone();
    r.agent_id = Some(Uuid::from_u128(1));
    r.agent_name = Some("Me".into());
    r.updated_at += chrono::Duration::seconds(1);
    r
}

#[test]
fn acting_from_the_opened_ticket_stays_on_it_and_the_notice_names_it() {
    // Below 100 columns Enter shows the detail alone: an action there must not move on.
    let mut app = logged_in(Role::Agent, three_rows());
    update(&mut app, ch('j'));
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(main_of(&app).focus, Pane::Detail);
    let effects = update(&mut app, ch('c'));
    assert_eq!(
        effects,
        vec![Effect::Act {
            ticket: Uuid::from_u128(102),
            action: TicketAction::Claim
        }]
    );
    update(
        &mut app,
        Msg::Db(Reply::Acted {
            ticket: Uuid::from_u128(102),
            action: TicketAction::Claim,
            result: Ok(Some(claimed(2))),
        }),
    );
    assert_eq!(selected_id(&app), Some(Uuid::from_u128(102)), "no advance");
    assert_eq!(main_of(&app).focus, Pane::Detail);
    assert_eq!(
        app.notice.as_ref().unwrap().text,
        "#2 Printer on fire: claimed, it is yours."
    );
}

#[test]
fn acting_from_the_list_moves_on_and_names_the_ticket_acted_on() {
    let mut app = logged_in(Role::Agent, three_rows());
    update(&mut app, ch('c'));
    update(
        &mut app,
        Msg::Db(Reply::Acted {
            ticket: Uuid::from_u128(101),
            action: TicketAction::Claim,
            result: Ok(Some(claimed(1))),
        }),
    );
    assert_eq!(selected_id(&app), Some(Uuid::from_u128(102)), "advanced");
    assert_eq!(
        app.notice.as_ref().unwrap().text,
        "#1 VPN drops every hour: claimed, it is yours.",
        "the notice names the ticket acted on, not the one now selected"
    );
}

#[test]
fn the_losing_claim_names_the_ticket_without_its_uuid() {
    let mut app = logged_in(Role::Agent, three_rows());
    update(&mut app, ch('c'));
    let id = Uuid::from_u128(101);
    update(
        &mut app,
        Msg::Db(Reply::Acted {
            ticket: id,
            action: TicketAction::Claim,
            result: Err(DbError::Refused {
                code: "55000".into(),
                message: format!("ticket {id} went to Bo Berg (bo) just before your claim"),
            }),
        }),
    );
    let notice = app.notice.clone().unwrap();
    assert!(notice.error);
    assert_eq!(
        notice.text,
        "#1 VPN drops every hour went to Bo Berg (bo) just before your claim."
    );
}

#[test]
fn a_ticket_that_left_the_view_is_named() {
    let mut app = logged_in(Role::Agent, three_rows());
    let effects = update(&mut app, ch('j'));
    let (req, hreq) = (
        effects.iter().find_map(|e| match e {
            Effect::LoadTicket { req, .. } => Some(*req),
            _ => None,
        }),
        effects.iter().find_map(|e| match e {
            Effect::LoadThread { req, .. } => Some(*req),
            _ => None,
        }),
    );
    let _ = hreq;
    update(
        &mut app,
        Msg::Db(Reply::Ticket {
            req: req.unwrap(),
            id: Uuid::from_u128(102),
            detail: None,
        }),
    );
    assert_eq!(
        app.notice.as_ref().unwrap().text,
        "#2 Printer on fire is no longer visible to you."
    );
}

#[test]
fn the_opened_ticket_leaving_the_list_returns_to_the_list_not_its_neighbour() {
    let mut app = logged_in(Role::Agent, three_rows());
    update(&mut app, ch('j'));
    update(&mut app, key(KeyCode::Enter));
    update(&mut app, ch('c'));
    update(
        &mut app,
        Msg::Db(Reply::Acted {
            ticket: Uuid::from_u128(102),
            action: TicketAction::Claim,
            result: Ok(Some(claimed(2))),
        }),
    );
    let effects = update(
        &mut app,
        Msg::Db(Reply::Changed {
            ids: vec![Uuid::from_u128(102)],
            counts: true,
        }),
    );
    // The claimed ticket left the pool: the re-read by id finds it no longer there.
    assert!(answer_rows(&mut app, &effects, Vec::new()));
    assert!(
        !main_of(&app)
            .list
            .rows
            .iter()
            .any(|r| r.id == Uuid::from_u128(102))
    );
    assert_eq!(
        main_of(&app).focus,
        Pane::List,
        "not the neighbour shown as the opened ticket"
    );
}
