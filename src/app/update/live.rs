//! Live changes: what a hint that tickets changed costs. A change to rows on screen re-reads
//! those rows by id and puts them where the list's order says (or takes them out); only a
//! search, a large batch, or a list whose rows are not known yet is reloaded whole.

use super::*;
use crate::app::RequestId;
use std::cmp::Ordering;

/// More changed tickets than this at once: reloading the list is cheaper than merging.
const MERGE_AT_MOST: usize = 50;

/// Someone changed tickets: re-read what is on screen, through RLS. A burst costs one round of
/// reloads at a time: while a whole-list reload is in flight, further hints only mark it to be
/// done again. The queues' counts are re-read only when a change may have moved one (`counts`);
/// the news count after every change.
pub(super) fn on_changed(main: &mut Main, ids: &[uuid::Uuid], counts: bool) -> Vec<Effect> {
    let shown = main.detail.as_ref().map(|d| d.row.id);
    match main.view {
        View::Tickets => {
            main.audit_stale = true;
            if main.list.loading.is_some() {
                main.refresh_pending = true;
                return Vec::new();
            }
            let merge =
                main.list.loaded && main.list.search.is_empty() && ids.len() <= MERGE_AT_MOST;
            // The list's rows first (answers come in order on the one connection), then the
            // counts and the open ticket alongside: one round trip.
            let mut effects = Vec::new();
            if merge && main.rows_req.is_some() {
                // One re-read at a time: these wait for the one in flight, with the counts.
                for id in ids {
                    if !main.rows_pending.contains(id) {
                        main.rows_pending.push(*id);
                    }
                }
                main.rows_pending_count |= counts;
            } else if merge {
                effects.extend(load_rows(main, ids.to_vec()));
                effects.extend(recount(main, counts));
            } else {
                // A count that moved in a round still waiting is re-read with this one.
                let counts = counts | std::mem::take(&mut main.rows_pending_count);
                main.rows_pending.clear();
                effects.extend(load_list(main, Load::Again));
                effects.extend(recount(main, counts));
            }
            if let Some(id) = shown.filter(|id| ids.contains(id)) {
                effects.extend(load_ticket(main, id));
            }
            effects
        }
        View::Audit => {
            main.list_stale = true;
            let mut effects = recount(main, counts);
            // New entries arrive at the top: re-read it when the reader is near it (not when
            // the audit was read from its end, `G`, and its top is not loaded).
            if main.audit.selected < PREFETCH
                && main.audit.loading.is_none()
                && !main.audit.head_missing
            {
                effects.extend(load_audit(main, false));
            }
            if let Some(id) = shown.filter(|id| ids.contains(id)) {
                effects.extend(load_ticket(main, id));
            }
            effects
        }
    }
}

/// The counts after live changes: all of them when a change may have moved one, else only the
/// news count (a priority, a subject or a message moves no queue's count).
fn recount(main: &Main, counts: bool) -> Vec<Effect> {
    if counts {
        load_counts(main)
    } else {
        vec![Effect::LoadUnseen]
    }
}

fn load_rows(main: &mut Main, ids: Vec<uuid::Uuid>) -> Vec<Effect> {
    let req = main.request_id();
    main.rows_req = Some(req);
    vec![Effect::LoadRows {
        req,
        queue: main.queue,
        ids,
    }]
}

/// The changed rows arrived: each takes its place in the list's order (within what is loaded),
/// or leaves the list when it is no longer in the queue. The selection follows its ticket.
/// Answers the effects and the notice for a ticket newly handed to this agent, if any.
pub(super) fn merge_rows(
    main: &mut Main,
    req: RequestId,
    queue: Queue,
    ids: &[uuid::Uuid],
    rows: Vec<TicketRow>,
) -> (Vec<Effect>, Option<(String, bool)>) {
    if main.rows_req != Some(req) {
        return (Vec::new(), None);
    }
    main.rows_req = None;
    // Not merged now: the list is loading (a page, or a reload begun since), or another queue
    // or the audit is on screen. This list's changed rows are re-read with it: by one more
    // round once the page in flight is back, or when the person returns to the list. Another
    // queue's load is fresh.
    if main.queue != queue || main.list.loading.is_some() || main.view != View::Tickets {
        main.rows_pending.clear();
        if main.queue == queue && main.view != View::Tickets {
            main.list_stale = true;
        } else if main.queue == queue {
            main.refresh_pending = true;
        }
        // A count they moved: that round re-counts; otherwise now.
        let counts = std::mem::take(&mut main.rows_pending_count);
        let effects = if counts && !main.refresh_pending {
            load_counts(main)
        } else {
            Vec::new()
        };
        return (effects, None);
    }
    let handed = handed_to_me(main, &rows);
    // Changes that arrived meanwhile: the next round, asked for now (answers come in order).
    let mut effects = Vec::new();
    if !main.rows_pending.is_empty() {
        let next = std::mem::take(&mut main.rows_pending);
        let counts = std::mem::take(&mut main.rows_pending_count);
        effects.extend(load_rows(main, next));
        effects.extend(recount(main, counts));
    }
    let keep = main.selected().map(|r| r.id);
    let by_urgency = by_urgency(main.queue, main.me.role);
    main.list.rows.retain(|r| !ids.contains(&r.id));
    for row in rows {
        let at = main
            .list
            .rows
            .iter()
            .position(|o| order(&row, o, by_urgency) == Ordering::Less);
        match at {
            // Above the first loaded row of rows read from the end: not loaded, like its
            // neighbours there.
            Some(0) if main.list.head_missing => {}
            Some(i) => main.list.rows.insert(i, row),
            // After the last loaded row: it belongs here only when nothing more is to load.
            None if main.list.exhausted => main.list.rows.push(row),
            None => {}
        }
    }
    main.list.select_id(keep);
    if main.focus != Pane::List && keep.is_some() && main.selected().map(|r| r.id) != keep {
        main.focus = Pane::List;
    }
    effects.extend(select_changed_or_reload(main));
    (effects, handed)
}

/// The queues agents and admins work through go by urgency; the others by the latest change.
fn by_urgency(queue: Queue, role: Role) -> bool {
    matches!(
        (queue, role),
        (Queue::Mine | Queue::Unassigned, Role::Agent | Role::Admin)
    )
}

/// The list's order, as the database sorts it (repo::list).
fn order(a: &TicketRow, b: &TicketRow, by_urgency: bool) -> Ordering {
    if by_urgency {
        b.priority
            .cmp(&a.priority)
            .then(a.created_at.cmp(&b.created_at))
            .then(a.id.cmp(&b.id))
    } else {
        b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id))
    }
}

/// A ticket someone else just handed to this agent, among rows new to their own queue: the
/// notice that says so, once.
pub(super) fn handed_to_me(main: &Main, rows: &[TicketRow]) -> Option<(String, bool)> {
    if main.queue != Queue::Mine || main.me.role != Role::Agent || !main.list.loaded {
        return None;
    }
    let handed: Vec<String> = rows
        .iter()
        .filter(|r| r.unseen && r.agent_id == Some(main.me.id))
        .filter(|r| !main.list.rows.iter().any(|o| o.id == r.id))
        .filter(|r| !main.awaiting_echo.contains(&r.id))
        .map(TicketRow::name)
        .collect();
    let first = handed.first()?;
    Some((
        match handed.len() {
            1 => format!("{first} is now yours: it was handed to you."),
            n => format!("{n} tickets were handed to you, {first} among them."),
        },
        false,
    ))
}
