//! What the database answered.

use super::*;

pub(super) fn on_reply(app: &mut App, reply: Reply) -> Vec<Effect> {
    if let Reply::LoggedIn {
        me,
        moves,
        agents,
        draft,
        reply_drafts,
    } = reply
    {
        let has_draft = draft.is_some() && me.role == Role::Customer;
        let mut main = Main::new(me, moves, agents);
        main.draft = draft.filter(|_| has_draft);
        main.reply_drafts = reply_drafts.into_iter().collect();
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
    if let Reply::LoginFailed(why) = reply {
        if let Screen::Login(form) = &mut app.screen {
            form.busy = false;
            // The server asking for a password is the next step, not a failure.
            if why == LoginError::PasswordNeeded {
                form.error = None;
                form.ask = Some(login_failed(&why));
            } else {
                form.ask = None;
                form.error = Some(login_failed(&why));
            }
            if why.wants_password() {
                form.focus = LoginField::Password;
            }
        }
        return Vec::new();
    }
    // The server no longer lets this login in (the person was disabled): nothing will come
    // back, so say so on the login form instead of "reconnecting" for ever.
    let gone = match &reply {
        Reply::Connection {
            online: false,
            message,
        } => message.contains(NOT_PERMITTED),
        Reply::Failed {
            error: DbError::Unreachable(m) | DbError::LoginRefused(m),
            ..
        } => m.contains(NOT_PERMITTED),
        _ => false,
    };
    if let (true, Screen::Main(main)) = (gone, &app.screen) {
        let login = main.me.login.clone();
        let form = LoginForm {
            login: tui_input::Input::new(login.clone()),
            password: tui_input::Input::default(),
            focus: LoginField::Password,
            error: Some(format!(
                "{login} was disabled by an admin, and this session was ended. Ask an admin \
                 to enable it."
            )),
            ask: None,
            busy: false,
        };
        app.screen = Screen::Login(Box::new(form));
        app.notice = None;
        app.try_without_password = false;
        return vec![Effect::LoggedOut];
    }
    let app_notice_free = app.notice.is_none();
    let Screen::Main(main) = &mut app.screen else {
        return Vec::new();
    };
    let mut message = None;
    let effects = match reply {
        Reply::LoggedIn { .. } | Reply::LoginFailed(_) => Vec::new(),
        Reply::PasswordChanged { result } => {
            main.acting = false;
            message = Some(match result {
                Ok(()) => ("Your password was changed.".to_owned(), false),
                Err(e) => (format!("Your password was not changed: {e}"), true),
            });
            Vec::new()
        }
        Reply::ReadOnly(kind) => {
            main.read_only = Some(kind);
            message = Some((read_only_server(kind).to_owned(), true));
            Vec::new()
        }
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
            if !append {
                message = handed_to_me(main, &rows).or(message);
            }
            main.list.loaded = true;
            if append {
                main.list.rows.extend(rows);
            } else {
                main.list.rows = rows;
                main.list.head_missing = false;
            }
            main.list.select_id(main.advance_to.take().or(keep));
            if main.list.landing.take() == Some(Landing::Top) {
                main.list.selected = 0;
            }
            // The opened ticket left this list (claimed into Mine, closed...): go back to the
            // list rather than show its neighbour as if it were the ticket the person opened.
            if main.focus != Pane::List && keep.is_some() && main.selected().map(|r| r.id) != keep {
                main.focus = Pane::List;
            }
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
        Reply::Tail {
            req,
            queue,
            rows,
            prepend,
            limit,
        } => tail_arrived(main, req, queue, rows, prepend, limit),
        Reply::AuditTail { req, rows, prepend } => audit_tail_arrived(main, req, rows, prepend),
        Reply::Rows {
            req,
            queue,
            ids,
            rows,
        } => {
            let (effects, handed) = merge_rows(main, req, queue, &ids, rows);
            message = handed.or(message);
            effects
        }
        Reply::Changed { ids, counts } => {
            main.awaiting_echo.retain(|id| !ids.contains(id));
            on_changed(main, &ids, counts)
        }
        Reply::Connection {
            online,
            message: why,
        } => {
            let was = main.online;
            main.online = online;
            if !online {
                message = Some((offline(&why), true));
                Vec::new()
            } else if !was {
                // Notifications sent while away are lost: re-read everything on screen.
                message = Some(("Live again.".to_owned(), false));
                main.awaiting_echo.clear();
                refresh(main)
            } else {
                Vec::new()
            }
        }
        Reply::Counts { counts, unseen } => {
            main.counts.extend(counts);
            main.unseen = unseen;
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
                        format!("{} is no longer visible to you.", ticket_name(main, id)),
                        false,
                    ));
                }
                main.thread.clear();
                main.thread_for = None;
            }
            main.detail = detail;
            Vec::new()
        }
        Reply::Thread {
            req,
            id,
            entries,
            more,
        } => {
            if main.thread_req != Some(req) {
                return Vec::new();
            }
            main.thread_req = None;
            let fresh = main.thread_for != Some(id);
            main.thread_for = Some(id);
            main.thread = entries;
            main.thread_more = more;
            if fresh {
                main.detail_scroll = 0;
            }
            // Reading it now: what just arrived is seen.
            if main.focus == Pane::Detail {
                vec![Effect::MarkSeen { ticket: id }]
            } else {
                Vec::new()
            }
        }
        Reply::Posted {
            ticket,
            then_status,
            result,
        } => {
            let (effects, said) = on_posted(main, ticket, then_status, result);
            message = said;
            effects
        }
        Reply::Customers { query, result } => match result {
            Ok(found) if found.len() == 1 => {
                let customer = found.into_iter().next();
                main.form = Some(TicketForm::for_customer(customer));
                Vec::new()
            }
            Ok(found) if found.is_empty() => {
                message = Some((
                    format!("No active customer has the login, e-mail or name “{query}”."),
                    true,
                ));
                Vec::new()
            }
            Ok(found) => {
                message = Some((
                    format!(
                        "{} customers are called “{query}”: type their login or e-mail.",
                        found.len()
                    ),
                    true,
                ));
                Vec::new()
            }
            Err(e) => {
                message = Some((format!("Finding the customer: {e}"), true));
                Vec::new()
            }
        },
        Reply::Found { number, result } => match result {
            Ok(Some(id)) => {
                let visible = main.list.visible();
                main.focus = Pane::Detail;
                if let Some(p) = visible.iter().position(|&i| main.list.rows[i].id == id)
                    && main.view == View::Tickets
                {
                    main.list.selected = p;
                    main.pinned = None;
                } else {
                    main.pinned = Some(id);
                }
                let mut effects = select_changed(main);
                effects.push(Effect::MarkSeen { ticket: id });
                effects
            }
            Ok(None) => {
                message = Some((
                    format!("There is no ticket #{number} that you can see."),
                    true,
                ));
                Vec::new()
            }
            Err(e) => {
                message = Some((format!("Looking up #{number}: {e}"), true));
                Vec::new()
            }
        },
        Reply::Audit { req, rows, append } => {
            if main.audit.loading != Some(req) {
                return Vec::new();
            }
            main.audit.loading = None;
            main.audit.exhausted = rows.len() < PAGE;
            if append {
                main.audit.rows.extend(rows);
            } else {
                // A refresh keeps the selected entry selected (new entries arrive above it).
                let keep = main.audit.rows.get(main.audit.selected).map(|h| h.id);
                main.audit.selected = keep
                    .and_then(|id| rows.iter().position(|h| h.id == id))
                    .filter(|_| main.audit.landing.take() != Some(Landing::Top))
                    .unwrap_or(0);
                main.audit.landing = None;
                main.audit.rows = rows;
                main.audit.head_missing = false;
            }
            if main.view == View::Audit {
                select_changed(main)
            } else {
                Vec::new()
            }
        }
        Reply::Acted {
            ticket,
            action,
            result: Ok(row),
        } => {
            main.acting = false;
            main.awaiting_echo.push(ticket);
            message = Some((action_done(main, ticket, &action), false));
            acted(main, ticket, row)
        }
        Reply::Acted {
            ticket,
            action,
            result: Err(error),
        } => {
            main.acting = false;
            main.advance_to = None;
            message = Some(match (&action, error.code()) {
                // The database answers a ticket the agent can no longer read exactly as an
                // unknown id (no oracle); the agent saw it in the pool, so the likely reason
                // is said here.
                (TicketAction::Claim, Some("P0002")) => (
                    format!(
                        "{} is no longer in the pool (another agent claimed it, or it was closed).",
                        ticket_name(main, ticket)
                    ),
                    true,
                ),
                _ => (refused(main, ticket, &error), true),
            });
            if matches!(error, DbError::Unreachable(_)) {
                Vec::new()
            } else {
                // Nothing changed, so no live echo comes: show the ticket as it is now.
                after_refusal(main, ticket)
            }
        }
        Reply::Created { result: Ok(id) } => {
            main.awaiting_echo.push(id);
            main.form = None;
            main.draft = None;
            message = Some(("Ticket filed. An agent will pick it up.".into(), false));
            // The live echo of the insert reloads the list; the new ticket is selected then
            // (or now, if the echo came first).
            let visible = main.list.visible();
            match visible.iter().position(|&i| main.list.rows[i].id == id) {
                Some(p) => {
                    main.list.selected = p;
                    let mut effects = vec![Effect::ClearDraft];
                    effects.extend(select_changed(main));
                    effects
                }
                None => {
                    main.advance_to = Some(id);
                    vec![Effect::ClearDraft]
                }
            }
        }
        Reply::Created { result: Err(e) } => {
            if let Some(form) = &mut main.form {
                form.submitting = false;
                form.error = Some(format!("{} Your text is kept.", refused_create(&e)));
            }
            Vec::new()
        }
        Reply::Failed { req, load, error } => {
            if req.is_some() && req == main.list.loading {
                main.list.loading = None;
            }
            if req.is_some() && req == main.audit.loading {
                main.audit.loading = None;
                // A filter the database refused (one that fits nobody or several people):
                // the rows of the previous filter would pass for its answer.
                if matches!(error, DbError::Refused { .. }) {
                    main.audit.rows.clear();
                    main.audit.selected = 0;
                    main.audit.exhausted = true;
                }
            }
            if req.is_some() && req == main.rows_req {
                // Lost with the connection, most likely: going live again re-reads everything.
                main.rows_req = None;
                main.rows_pending.clear();
                main.rows_pending_count = false;
            }
            if req.is_some() && req == main.detail_req {
                main.detail_req = None;
            }
            if req.is_some() && req == main.thread_req {
                main.thread_req = None;
            }
            message = Some((load_failed(load, &error), true));
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

/// After an action the database did: the changed row replaces the one on screen at once. The
/// list and counts are not reloaded here: the live echo of the same change does that, once.
/// In the list, the cursor moves on to the next ticket (act-and-advance); in the detail, the
/// person stays on the ticket they chose.
pub(super) fn acted(main: &mut Main, ticket: uuid::Uuid, row: Option<TicketRow>) -> Vec<Effect> {
    if let Some(row) = &row {
        if let Some(r) = main.list.rows.iter_mut().find(|r| r.id == ticket) {
            *r = row.clone();
        }
        if let Some(d) = main.detail.as_mut().filter(|d| d.row.id == ticket) {
            d.row = row.clone();
        }
    }
    let Some(next) = main.advance_to.take() else {
        return Vec::new();
    };
    let visible = main.list.visible();
    if let Some(p) = visible.iter().position(|&i| main.list.rows[i].id == next) {
        main.list.selected = p;
    }
    select_changed(main)
}

/// After a refusal: nothing changed in the database, so no echo comes; re-read the ticket
/// and the list so the screen shows what the database has.
pub(super) fn after_refusal(main: &mut Main, ticket: uuid::Uuid) -> Vec<Effect> {
    let mut effects = Vec::new();
    match main.view {
        View::Tickets => effects.extend(load_list(main, Load::Again)),
        View::Audit => effects.extend(load_audit(main, false)),
    }
    if main.detail.as_ref().is_some_and(|d| d.row.id == ticket) {
        effects.extend(load_ticket(main, ticket));
    }
    effects
}

/// PostgreSQL's words for a login that may not log in (a disabled person).
const NOT_PERMITTED: &str = "not permitted to log in";

pub(super) fn short(id: uuid::Uuid) -> String {
    id.to_string()[..8].to_owned()
}
