//! What the database answered.

use super::*;

pub(super) fn on_reply(app: &mut App, reply: Reply) -> Vec<Effect> {
    if let Reply::LoggedIn {
        me,
        moves,
        agents,
        draft,
    } = reply
    {
        let has_draft = draft.is_some() && me.role == Role::Customer;
        let mut main = Main::new(me, moves, agents);
        main.draft = draft.filter(|_| has_draft);
        let mut effects = load_counts(&main);
        effects.extend(load_list(&mut main, Load::First));
        app.notice = Some(Notice {
            text: if has_draft {
                "Your unsent ticket was kept: press n to finish it.".into()
            } else {
                format!("Logged in as {} ({}).", main.me.display_name, main.me.role)
            },
            error: false,
        });
        app.screen = Screen::Main(Box::new(main));
        return effects;
    }
    if let Reply::LoginFailed {
        message,
        needs_password,
    } = reply
    {
        if let Screen::Login(form) = &mut app.screen {
            form.busy = false;
            form.error = Some(message);
            if needs_password {
                form.focus = LoginField::Password;
            }
        }
        return Vec::new();
    }
    let app_notice_free = app.notice.is_none();
    let Screen::Main(main) = &mut app.screen else {
        return Vec::new();
    };
    let mut message = None;
    let effects = match reply {
        Reply::LoggedIn { .. } | Reply::LoginFailed { .. } => Vec::new(),
        Reply::Page {
            req,
            queue,
            rows,
            append,
            limit,
        } => {
            if main.list.loading != Some(req) || main.queue != queue {
                return Vec::new(); // superseded
            }
            main.list.loading = None;
            main.list.exhausted = rows.len() < limit;
            let keep = main.selected().map(|r| r.id);
            if append {
                main.list.rows.extend(rows);
            } else {
                main.list.rows = rows;
            }
            let target = main.advance_to.take().or(keep);
            let visible = main.list.visible();
            main.list.selected = target
                .and_then(|id| visible.iter().position(|&i| main.list.rows[i].id == id))
                .unwrap_or(main.list.selected)
                .min(visible.len().saturating_sub(1));
            let mut effects = if main.view == View::Tickets {
                select_changed_or_reload(main)
            } else {
                Vec::new()
            };
            if main.refresh_pending {
                // Changes arrived while this page was loading: one more round catches them all.
                effects.extend(load_counts(main));
                effects.extend(load_list(main, Load::Again));
            }
            effects
        }
        Reply::Changed { ids } => on_changed(main, &ids),
        Reply::Connection {
            online,
            message: why,
        } => {
            let was = main.online;
            main.online = online;
            if !online {
                message = Some((format!("Offline: {why}. Reconnecting…"), true));
                Vec::new()
            } else if !was {
                // Notifications sent while away are lost: re-read everything on screen.
                message = Some(("Live again.".to_owned(), false));
                refresh(main)
            } else {
                Vec::new()
            }
        }
        Reply::Counts { counts } => {
            main.counts.extend(counts);
            Vec::new()
        }
        Reply::Ticket { req, id, detail } => {
            if main.detail_req != Some(req) {
                return Vec::new();
            }
            main.detail_req = None;
            if detail.is_none() {
                // Someone else took it, or it left your view: say so, unless the last action's
                // own answer is still on the status line (that one matters more).
                if app_notice_free {
                    message = Some((
                        format!("Ticket {} is no longer visible to you.", short(id)),
                        false,
                    ));
                }
                main.history.clear();
            }
            main.detail = detail;
            Vec::new()
        }
        Reply::History { req, id, entries } => {
            if main.history_req != Some(req) {
                return Vec::new();
            }
            main.history_req = None;
            main.history_for = Some(id);
            main.history_scroll = entries.len().saturating_sub(1);
            main.history = entries;
            Vec::new()
        }
        Reply::Audit { req, rows, append } => {
            if main.audit.loading != Some(req) {
                return Vec::new();
            }
            main.audit.loading = None;
            main.audit.exhausted = rows.len() < PAGE;
            if append {
                main.audit.rows.extend(rows);
            } else {
                main.audit.rows = rows;
                main.audit.selected = 0;
            }
            if main.view == View::Audit {
                select_changed(main)
            } else {
                Vec::new()
            }
        }
        Reply::ActionDone { ticket, done } => {
            main.acting = false;
            message = Some((done, false));
            after_action(main, ticket)
        }
        Reply::ActionFailed {
            ticket,
            message: why,
        } => {
            main.acting = false;
            main.advance_to = None;
            message = Some((why, true));
            match ticket {
                Some(t) => after_action(main, t),
                None => Vec::new(),
            }
        }
        Reply::TicketCreated { id } => {
            main.form = None;
            main.draft = None;
            main.advance_to = Some(id);
            message = Some(("Ticket filed. An agent will pick it up.".into(), false));
            let mut effects = vec![Effect::ClearDraft];
            effects.extend(load_counts(main));
            effects.extend(load_list(main, Load::Again));
            effects
        }
        Reply::CreateFailed { message: why } => {
            if let Some(form) = &mut main.form {
                form.submitting = false;
                form.error = Some(format!("{why} Your text is kept."));
            }
            Vec::new()
        }
        Reply::Failed {
            req,
            what,
            message: why,
        } => {
            if req.is_some() && req == main.list.loading {
                main.list.loading = None;
            }
            if req.is_some() && req == main.audit.loading {
                main.audit.loading = None;
            }
            if req.is_some() && req == main.detail_req {
                main.detail_req = None;
            }
            if req.is_some() && req == main.history_req {
                main.history_req = None;
            }
            message = Some((format!("{what}: {why}"), true));
            Vec::new()
        }
    };
    if let Some((text, error)) = message {
        notice(app, text, error);
    }
    effects
}

/// After a page arrives: load the selected ticket if it is new, or reload it if it changed.
pub(super) fn select_changed_or_reload(main: &mut Main) -> Vec<Effect> {
    let stale = match (main.selected(), &main.detail) {
        // Not when a reload of it is already on its way.
        (Some(r), Some(d)) => {
            r.id == d.row.id && r.updated_at != d.row.updated_at && main.detail_req.is_none()
        }
        _ => false,
    };
    if stale {
        let id = main.detail.as_ref().map(|d| d.row.id).unwrap_or_default();
        return load_ticket(main, id);
    }
    select_changed(main)
}

/// After an action: reload counts and the list; the page that comes back selects the next
/// ticket (or reloads this one if it is still selected and changed).
pub(super) fn after_action(main: &mut Main, ticket: uuid::Uuid) -> Vec<Effect> {
    let mut effects = load_counts(main);
    match main.view {
        View::Tickets => effects.extend(load_list(main, Load::Again)),
        View::Audit => {
            effects.extend(load_audit(main, false));
            if main.detail.as_ref().is_some_and(|d| d.row.id == ticket) {
                effects.extend(load_ticket(main, ticket));
            }
        }
    }
    effects
}

pub(super) fn short(id: uuid::Uuid) -> String {
    id.to_string()[..8].to_owned()
}

/// Someone changed tickets: re-read what is on screen, through RLS. A burst costs one round of
/// reloads at a time: while one is in flight, further hints only mark it to be done again.
pub(super) fn on_changed(main: &mut Main, ids: &[uuid::Uuid]) -> Vec<Effect> {
    let shown = main.detail.as_ref().map(|d| d.row.id);
    match main.view {
        View::Tickets => {
            if main.list.loading.is_some() {
                main.refresh_pending = true;
                return Vec::new();
            }
            // The open ticket is re-read alongside the list, not after it: one round trip.
            let mut effects = match shown.filter(|id| ids.contains(id)) {
                Some(id) => load_ticket(main, id),
                None => Vec::new(),
            };
            effects.extend(load_list(main, Load::Again));
            effects.extend(load_counts(main));
            effects
        }
        View::Audit => {
            let mut effects = load_counts(main);
            if main.audit.selected < PREFETCH && main.audit.loading.is_none() {
                effects.extend(load_audit(main, false));
            }
            if let Some(id) = shown.filter(|id| ids.contains(id)) {
                effects.extend(load_ticket(main, id));
            }
            effects
        }
    }
}
