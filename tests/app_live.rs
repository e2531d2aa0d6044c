//! Pure tests of what a live change costs the client (issue 13 item 4): a change to tickets on
//! screen re-reads those rows by id, and the list takes them in its own order, drops the ones
//! that left, and keeps the cursor on its ticket. A search or a large batch reloads the list.

mod app_support;

use app_support::*;
use ratatui::crossterm::event::KeyCode;
use tickets::app::{Effect, Msg, Reply, update};
use tickets::model::*;
use uuid::Uuid;

fn pool(n: u128) -> Vec<TicketRow> {
    (1..=n).map(|i| row(i, None, Status::Open)).collect()
}

/// Changes heard by the live path; `counts`: whether one may have moved a count (0039).
fn changed_counting(app: &mut tickets::app::App, ids: &[u128], counts: bool) -> Vec<Effect> {
    update(
        app,
        Msg::Db(Reply::Changed {
            ids: ids.iter().map(|&i| Uuid::from_u128(100 + i)).collect(),
            counts,
        }),
    )
}

fn changed(app: &mut tickets::app::App, ids: &[u128]) -> Vec<Effect> {
    changed_counting(app, ids, true)
}

/// Changes that moved no count (a priority, a message).
fn changed_uncounted(app: &mut tickets::app::App, ids: &[u128]) -> Vec<Effect> {
    changed_counting(app, ids, false)
}

/// Answers the re-read among `effects` with ticket 1 alone (the round that asked for it) and
/// returns what the state asks for next.
fn answer_first_round(app: &mut tickets::app::App, effects: &[Effect]) -> Vec<Effect> {
    let (req, queue) = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadRows { req, queue, .. } => Some((*req, *queue)),
            _ => None,
        })
        .expect("the first change is re-read at once");
    update(
        app,
        Msg::Db(Reply::Rows {
            req,
            queue,
            ids: vec![Uuid::from_u128(101)],
            rows: vec![row(1, None, Status::Open)],
        }),
    )
}

fn ids(app: &tickets::app::App) -> Vec<u128> {
    main_of(app)
        .list
        .rows
        .iter()
        .map(|r| r.id.as_u128() - 100)
        .collect()
}

#[test]
fn a_change_on_screen_rereads_that_row_not_the_list() {
    let mut app = logged_in(Role::Agent, pool(3));
    update(&mut app, KeyCode::Char('j').into_msg());
    let effects = changed(&mut app, &[3]);
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::LoadPage { .. })),
        "no list reload: {effects:?}"
    );
    assert!(
        effects.iter().any(
            |e| matches!(e, Effect::LoadRows { ids, .. } if ids == &vec![Uuid::from_u128(103)])
        )
    );
    assert!(effects.iter().any(|e| matches!(e, Effect::LoadCounts)));
    // Ticket 3 became urgent: it goes to the top of the agent's queue (urgency order), and
    // the cursor stays on ticket 2.
    let mut urgent = row(3, None, Status::Open);
    urgent.priority = Priority::Urgent;
    assert!(answer_rows(&mut app, &effects, vec![urgent]));
    assert_eq!(ids(&app), vec![3, 1, 2]);
    assert_eq!(main_of(&app).list.rows[0].priority, Priority::Urgent);
    assert_eq!(selected_id(&app), Some(Uuid::from_u128(102)));
}

#[test]
fn a_row_that_left_the_queue_leaves_the_list() {
    let mut app = logged_in(Role::Agent, pool(3));
    let effects = changed(&mut app, &[1, 2]);
    // 1 was claimed by someone else (no longer in the pool); 2 changed and stays.
    assert!(answer_rows(
        &mut app,
        &effects,
        vec![row(2, None, Status::Open)]
    ));
    assert_eq!(ids(&app), vec![2, 3]);
    assert_eq!(selected_id(&app), Some(Uuid::from_u128(102)));
}

#[test]
fn a_new_row_past_the_loaded_page_waits_for_the_next_page() {
    // A full page (100 rows) was loaded: more may follow, so a new ticket that sorts after the
    // last loaded row is not shown out of order; one that sorts inside the page is.
    let mut app = logged_in(Role::Agent, pool(100));
    let effects = changed(&mut app, &[200, 201]);
    let mut urgent = row(201, None, Status::Open);
    urgent.priority = Priority::Urgent;
    assert!(answer_rows(
        &mut app,
        &effects,
        vec![row(200, None, Status::Open), urgent]
    ));
    let shown = ids(&app);
    assert_eq!(shown.len(), 101);
    assert_eq!(shown[0], 201);
    assert!(!shown.contains(&200));
}

#[test]
fn one_reread_at_a_time_the_changes_meanwhile_go_in_the_next() {
    let mut app = logged_in(Role::Agent, pool(3));
    let first = changed(&mut app, &[1]);
    // Two more batches while the first re-read is in flight: nothing is sent for them yet.
    assert!(changed(&mut app, &[2]).is_empty());
    assert!(changed(&mut app, &[3, 2]).is_empty());
    let next = answer_first_round(&mut app, &first);
    // Its answer asks for the next round: the ids heard meanwhile, once each, and the counts.
    let pending: Vec<Uuid> = next
        .iter()
        .find_map(|e| match e {
            Effect::LoadRows { ids, .. } => Some(ids.clone()),
            _ => None,
        })
        .expect("the next round");
    assert_eq!(pending, vec![Uuid::from_u128(102), Uuid::from_u128(103)]);
    assert!(next.iter().any(|e| matches!(e, Effect::LoadCounts)));
    let mut urgent = row(2, None, Status::Open);
    urgent.priority = Priority::Urgent;
    assert!(answer_rows(
        &mut app,
        &next,
        vec![urgent, row(3, None, Status::Open)]
    ));
    assert_eq!(ids(&app), vec![2, 1, 3]);
    assert!(main_of(&app).rows_req.is_none());
}

#[test]
fn a_change_that_moved_no_count_rereads_only_the_news_count() {
    let mut app = logged_in(Role::Agent, pool(3));
    let effects = changed_uncounted(&mut app, &[2]);
    assert!(effects.iter().any(|e| matches!(e, Effect::LoadRows { .. })));
    assert!(effects.contains(&Effect::LoadUnseen), "{effects:?}");
    assert!(!effects.contains(&Effect::LoadCounts), "{effects:?}");
    // A large batch reloads the list, and still only the news count.
    let mut app = logged_in(Role::Agent, pool(3));
    let many: Vec<u128> = (1..=60).collect();
    let effects = changed_uncounted(&mut app, &many);
    assert!(effects.iter().any(|e| matches!(e, Effect::LoadPage { .. })));
    assert!(!effects.contains(&Effect::LoadCounts), "{effects:?}");
    assert!(effects.contains(&Effect::LoadUnseen), "{effects:?}");
}

#[test]
fn a_counted_change_waiting_is_recounted_by_a_reload_or_a_late_answer() {
    // A counted change waits behind a re-read in flight; then a burst reloads the list.
    let mut app = logged_in(Role::Agent, pool(3));
    let first = changed_uncounted(&mut app, &[1]);
    assert!(changed(&mut app, &[2]).is_empty());
    let many: Vec<u128> = (1..=60).collect();
    let effects = changed_uncounted(&mut app, &many);
    assert!(effects.iter().any(|e| matches!(e, Effect::LoadPage { .. })));
    assert!(effects.contains(&Effect::LoadCounts), "{effects:?}");
    // The first round's answer, late: the reload covers its rows, and nothing is left over.
    assert!(answer_first_round(&mut app, &first).is_empty());

    // A counted change waits; the person switches queues before the answer comes back.
    let mut app = logged_in(Role::Agent, pool(3));
    let first = changed_uncounted(&mut app, &[1]);
    assert!(changed(&mut app, &[2]).is_empty());
    update(&mut app, KeyCode::Char(']').into_msg());
    let late = answer_first_round(&mut app, &first);
    assert!(late.contains(&Effect::LoadCounts), "{late:?}");
}

#[test]
fn a_counted_change_heard_meanwhile_recounts_in_the_next_round() {
    let mut app = logged_in(Role::Agent, pool(3));
    let first = changed_uncounted(&mut app, &[1]);
    assert!(!first.contains(&Effect::LoadCounts), "{first:?}");
    // Heard while the first re-read is in flight: one moved no count, the other did.
    assert!(changed_uncounted(&mut app, &[2]).is_empty());
    assert!(changed(&mut app, &[3]).is_empty());
    let next = answer_first_round(&mut app, &first);
    assert!(next.iter().any(|e| matches!(e, Effect::LoadRows { .. })));
    assert!(next.contains(&Effect::LoadCounts), "{next:?}");
    // That round took the flag: a later uncounted change asks only for the news count.
    assert!(answer_rows(&mut app, &next, Vec::new()));
    let later = changed_uncounted(&mut app, &[2]);
    assert!(!later.contains(&Effect::LoadCounts), "{later:?}");
    assert!(later.contains(&Effect::LoadUnseen), "{later:?}");
}

#[test]
fn a_large_batch_reloads_the_list() {
    let mut app = logged_in(Role::Customer, pool(3));
    let many: Vec<u128> = (1..=60).collect();
    let effects = changed(&mut app, &many);
    assert!(effects.iter().any(|e| matches!(e, Effect::LoadPage { .. })));
    assert!(!effects.iter().any(|e| matches!(e, Effect::LoadRows { .. })));
}

#[test]
fn rows_answered_after_a_list_reload_began_change_nothing() {
    let mut app = logged_in(Role::Agent, pool(3));
    let effects = changed(&mut app, &[1]);
    // The person pressed `r` meanwhile: the reload covers the change.
    update(&mut app, KeyCode::Char('r').into_msg());
    assert!(main_of(&app).list.loading.is_some());
    assert!(answer_rows(&mut app, &effects, Vec::new()));
    assert_eq!(ids(&app), vec![1, 2, 3]);
}

#[test]
fn rows_answered_while_a_page_loads_are_read_again_after_it() {
    let mut app = logged_in(Role::Agent, pool(3));
    let effects = changed(&mut app, &[2]);
    // The person reloads meanwhile (a page in flight): the re-read's answer cannot be merged.
    let reload = update(&mut app, KeyCode::Char('r').into_msg());
    assert!(answer_rows(
        &mut app,
        &effects,
        vec![row(2, None, Status::Open)]
    ));
    assert!(main_of(&app).refresh_pending, "the change is not forgotten");
    // The page comes back (from before the change, say): one more round reads the list again.
    let (req, queue, limit) = reload
        .iter()
        .find_map(|e| match e {
            Effect::LoadPage {
                req, queue, limit, ..
            } => Some((*req, *queue, *limit)),
            _ => None,
        })
        .expect("r reloads the list");
    let after = update(
        &mut app,
        Msg::Db(Reply::Page {
            req,
            queue,
            rows: pool(3),
            append: false,
            limit,
        }),
    );
    assert!(
        after.iter().any(|e| matches!(e, Effect::LoadPage { .. })),
        "{after:?}"
    );
    assert!(after.contains(&Effect::LoadCounts), "{after:?}");
}

#[test]
fn a_ticket_handed_to_me_is_announced_from_the_reread_row() {
    let mut app = logged_in(Role::Agent, Vec::new());
    // The agent's own queue: handed tickets arrive there.
    let mut handed = row(7, Some(1), Status::InProgress);
    handed.unseen = true;
    let effects = changed(&mut app, &[7]);
    assert_eq!(main_of(&app).queue, Queue::Mine);
    assert!(answer_rows(&mut app, &effects, vec![handed]));
    assert_eq!(ids(&app), vec![7]);
    assert!(
        app.notice
            .as_ref()
            .is_some_and(|n| n.text.contains("handed to you")),
        "{:?}",
        app.notice
    );
}

trait IntoMsg {
    fn into_msg(self) -> Msg;
}

impl IntoMsg for KeyCode {
    fn into_msg(self) -> Msg {
        key(self)
    }
}

/// The audit read from its end (`G`): a live change does not throw the reader back to the top
/// (whose new entries are not loaded), `r` re-reads the end, and `g` the top.
#[test]
fn the_audit_read_from_its_end_stays_there_until_g() {
    let mut app = logged_in(Role::Admin, vec![]);
    let req_of = |effects: &[Effect]| {
        effects.iter().find_map(|e| match e {
            Effect::LoadAudit { req, .. } | Effect::LoadAuditTail { req, .. } => Some(*req),
            _ => None,
        })
    };
    let effects = update(&mut app, ch('A'));
    let req = req_of(&effects).expect("the audit loads");
    update(
        &mut app,
        Msg::Db(Reply::Audit {
            req,
            rows: (0..100).map(audit_entry).collect(),
            append: false,
        }),
    );
    let effects = update(&mut app, ch('G'));
    let req = req_of(&effects).expect("G reads the end");
    update(
        &mut app,
        Msg::Db(Reply::AuditTail {
            req,
            rows: (500..600).map(audit_entry).collect(),
            prepend: false,
        }),
    );
    let audit = &main_of(&app).audit;
    assert_eq!(audit.selected, 99, "on the last (oldest) entry");
    assert!(audit.head_missing);
    // Up near the top of what is loaded: the page above is asked for; say it failed (offline),
    // so the reader sits near the top of rows whose own top is not loaded.
    let mut above = None;
    for _ in 0..80 {
        above = req_of(&update(&mut app, ch('k'))).or(above);
    }
    let req = above.expect("the page above is read before the cursor gets there");
    update(
        &mut app,
        Msg::Db(Reply::Failed {
            req: Some(req),
            load: tickets::app::LoadKind::Audit,
            error: DbError::Unreachable("the connection dropped".into()),
        }),
    );
    assert!(main_of(&app).audit.selected < PREFETCH_ROWS);
    assert_eq!(main_of(&app).audit.rows.len(), 100, "the rows stay");
    let effects = changed(&mut app, &[1]);
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::LoadAudit { .. } | Effect::LoadAuditTail { .. })),
        "a change does not re-read the top of an audit read from its end: {effects:?}"
    );
    let effects = update(&mut app, ch('r'));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadAuditTail { before: None, .. })),
        "r re-reads the end: {effects:?}"
    );
    let effects = update(&mut app, ch('g'));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadAudit { after: None, .. })),
        "g reads the top: {effects:?}"
    );
}

/// How close to the top of the loaded rows the page above is read (update's PREFETCH).
const PREFETCH_ROWS: usize = 20;
