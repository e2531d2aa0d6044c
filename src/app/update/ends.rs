//! The ends of the ticket list and the audit: `G` goes to the real end, not to the last row
//! loaded (a keyset query from the other side reads the last page, however long the list),
//! scrolling up from there reads the pages above, and `g` reads the top again.

use super::*;
use crate::app::RequestId;

/// `g`: the first row. When the rows were read from the end, the top is read again and the
/// cursor lands on its first row.
pub(super) fn to_top(main: &mut Main) -> Vec<Effect> {
    match (main.view, main.focus) {
        (View::Tickets, Pane::List) if main.list.head_missing => {
            main.list.landing = Some(Landing::Top);
            load_list(main, Load::First)
        }
        (View::Audit, Pane::List) if main.audit.head_missing => {
            main.audit.landing = Some(Landing::Top);
            load_audit(main, false)
        }
        _ => move_cursor(main, isize::MIN / 2),
    }
}

/// `G`: the last row of the queue or of the audit. What is loaded may end before it: then its
/// last page is read (from the other side) and the cursor lands on its last row.
pub(super) fn to_end(main: &mut Main) -> Vec<Effect> {
    match (main.view, main.focus) {
        // A typed filter ranks the loaded rows only: its end is theirs.
        (View::Tickets, Pane::List) if !main.list.exhausted && main.list.filter.is_empty() => {
            main.list.landing = Some(Landing::End);
            load_tail(main, false, PAGE)
        }
        (View::Audit, Pane::List) if !main.audit.exhausted => {
            main.audit.landing = Some(Landing::End);
            load_audit_tail(main, false)
        }
        _ => move_cursor(main, isize::MAX / 2),
    }
}

/// Re-reads the audit where the reader is: from the end when it was read from there (`G`),
/// so a refresh does not throw them back to the top.
pub(super) fn reload_audit(main: &mut Main) -> Vec<Effect> {
    if main.audit.head_missing {
        load_audit_tail(main, false)
    } else {
        load_audit(main, false)
    }
}

/// Reads the list from its end: its last `limit` rows, or (`prepend`) the page above the
/// first loaded row.
pub(super) fn load_tail(main: &mut Main, prepend: bool, limit: usize) -> Vec<Effect> {
    let req = main.request_id();
    main.list.loading = Some(req);
    main.refresh_pending = false;
    let before = if prepend {
        main.list.rows.first().map(Cursor::from)
    } else {
        None
    };
    vec![Effect::LoadTail {
        req,
        queue: main.queue,
        search: main.list.search.clone(),
        before,
        limit,
    }]
}

/// Reads the audit from its end (the oldest changes), or (`prepend`) the page of newer
/// changes above the first loaded one.
pub(super) fn load_audit_tail(main: &mut Main, prepend: bool) -> Vec<Effect> {
    let req = main.request_id();
    main.audit.loading = Some(req);
    let before = if prepend {
        main.audit.rows.first().map(|h| AuditCursor {
            changed_at: h.changed_at,
            id: h.id,
        })
    } else {
        None
    };
    vec![Effect::LoadAuditTail {
        req,
        filter: main.audit.filter.clone(),
        before,
    }]
}

/// Near the top of rows read from the end: the page above, before the cursor gets there.
pub(super) fn prefetch_above(main: &mut Main) -> Vec<Effect> {
    match main.view {
        View::Tickets
            if main.list.head_missing
                && main.list.selected <= PREFETCH
                && main.list.loading.is_none()
                && main.list.filter.is_empty() =>
        {
            load_tail(main, true, PAGE)
        }
        View::Audit
            if main.audit.head_missing
                && main.audit.selected <= PREFETCH
                && main.audit.loading.is_none() =>
        {
            load_audit_tail(main, true)
        }
        _ => Vec::new(),
    }
}

/// A page of the list read from its end has arrived.
pub(super) fn tail_arrived(
    main: &mut Main,
    req: RequestId,
    queue: Queue,
    rows: Vec<TicketRow>,
    prepend: bool,
    limit: usize,
) -> Vec<Effect> {
    if main.list.loading != Some(req) || main.queue != queue {
        return Vec::new(); // superseded
    }
    main.list.loading = None;
    main.list.loaded = true;
    let keep = main.selected().map(|r| r.id);
    main.list.head_missing = rows.len() >= limit;
    if prepend {
        main.list.rows.splice(0..0, rows);
    } else {
        main.list.exhausted = true;
        main.list.rows = rows;
    }
    if main.list.landing.take() == Some(Landing::End) {
        main.list.selected = main.list.visible().len().saturating_sub(1);
    } else {
        main.list.select_id(keep);
    }
    if main.focus != Pane::List && keep.is_some() && main.selected().map(|r| r.id) != keep {
        main.focus = Pane::List;
    }
    let mut effects = if main.view == View::Tickets {
        select_changed_or_reload(main)
    } else {
        Vec::new()
    };
    if main.refresh_pending {
        effects.extend(load_counts(main));
        effects.extend(load_list(main, Load::Again));
    }
    effects
}

/// A page of the audit read from its end has arrived.
pub(super) fn audit_tail_arrived(
    main: &mut Main,
    req: RequestId,
    rows: Vec<HistoryEntry>,
    prepend: bool,
) -> Vec<Effect> {
    if main.audit.loading != Some(req) {
        return Vec::new();
    }
    main.audit.loading = None;
    let keep = main.audit.rows.get(main.audit.selected).map(|h| h.id);
    main.audit.head_missing = rows.len() >= PAGE;
    if prepend {
        main.audit.rows.splice(0..0, rows);
    } else {
        main.audit.exhausted = true;
        main.audit.rows = rows;
    }
    let last = main.audit.rows.len().saturating_sub(1);
    main.audit.selected = if main.audit.landing.take() == Some(Landing::End) {
        last
    } else {
        keep.and_then(|id| main.audit.rows.iter().position(|h| h.id == id))
            .unwrap_or(main.audit.selected)
            .min(last)
    };
    if main.view == View::Audit {
        select_changed(main)
    } else {
        Vec::new()
    }
}
