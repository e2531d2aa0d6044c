//! What the keymap's actions do on the main screen, and the loads they start.

use super::*;

pub(super) fn main_action(app: &mut App, action: Action) -> Vec<Effect> {
    let Screen::Main(main) = &mut app.screen else {
        return Vec::new();
    };
    let result: Result<Vec<Effect>, String> = match action {
        Action::Up => Ok(move_cursor(main, -1)),
        Action::Down => Ok(move_cursor(main, 1)),
        Action::PageUp => Ok(move_cursor(main, -(PAGE_STEP as isize))),
        Action::PageDown => Ok(move_cursor(main, PAGE_STEP as isize)),
        Action::Top => Ok(to_top(main)),
        Action::Bottom => Ok(to_end(main)),
        Action::NextPane | Action::PrevPane => {
            if main.focus == Pane::List {
                Ok(open_detail(main))
            } else {
                main.focus = Pane::List;
                Ok(Vec::new())
            }
        }
        Action::Open => Ok(open_detail(main)),
        Action::Reply => open_composer(main),
        Action::Jump => Ok(open_prompt(main, PromptKind::Jump, String::new())),
        Action::Back => {
            if main.pinned.is_some() {
                // Back from a ticket opened by number: to the list, as it was.
                main.pinned = None;
                main.focus = Pane::List;
                Ok(select_changed(main))
            // Back goes back first (detail → list); only then does it undo the list's filter.
            } else if main.focus != Pane::List {
                main.focus = Pane::List;
                Ok(Vec::new())
            } else if main.view == View::Audit {
                Ok(show_view(main, View::Tickets))
            } else if !main.list.filter.is_empty() {
                let keep = main.selected().map(|r| r.id);
                main.list.filter.clear();
                main.list.select_id(keep);
                Ok(select_changed(main))
            } else if !main.list.search.is_empty() {
                main.list.search.clear();
                Ok(load_list(main, Load::First))
            } else {
                Ok(Vec::new())
            }
        }
        Action::Filter if main.view == View::Tickets => {
            main.list.filtering = true;
            main.focus = Pane::List;
            Ok(Vec::new())
        }
        Action::Search if main.view == View::Tickets => Ok(open_prompt(
            main,
            PromptKind::Search,
            main.list.search.clone(),
        )),
        Action::Refresh => Ok(refresh(main)),
        Action::ChangePassword => {
            main.new_password = None;
            Ok(open_prompt(main, PromptKind::NewPassword, String::new()))
        }
        Action::NextQueue | Action::PrevQueue if main.view == View::Tickets => {
            let queues = Queue::for_role(main.me.role);
            let i = queues.iter().position(|q| *q == main.queue).unwrap_or(0);
            let step = if action == Action::NextQueue {
                1
            } else {
                queues.len() - 1
            };
            main.queue = queues[(i + step) % queues.len()];
            main.list = TicketList {
                search: std::mem::take(&mut main.list.search),
                ..TicketList::default()
            };
            Ok(load_list(main, Load::First))
        }
        Action::NewTicket => {
            if main.me.role != Role::Customer {
                // Staff file for a customer (a phone call): first, whom for.
                Ok(open_prompt(main, PromptKind::FileFor, String::new()))
            } else {
                main.form = Some(TicketForm::new(main.draft.as_ref()));
                Ok(Vec::new())
            }
        }
        Action::Claim => with_ticket(main, |main, t| {
            if main.can_claim(t) {
                Ok(act(main, t.id, TicketAction::Claim))
            } else if main.me.role != Role::Agent {
                Err("Only agents claim tickets.".into())
            } else {
                Err("Only open, unassigned tickets can be claimed.".into())
            }
        }),
        Action::Release => with_ticket(main, |main, t| {
            if main.can_release(t) {
                Ok(act(main, t.id, TicketAction::Release))
            } else {
                Err("Only an assigned, active ticket of yours can be released.".into())
            }
        }),
        Action::HandOff => with_ticket(main, |main, t| {
            if !main.can_hand_off(t) {
                return Err("Only your own tickets can be handed off.".into());
            }
            let options: Vec<PersonName> = main
                .agents
                .iter()
                .filter(|a| Some(a.id) != t.agent_id)
                .cloned()
                .collect();
            if options.is_empty() {
                return Err("There is no other active agent to hand off to.".into());
            }
            main.picker = Some(Picker::Agent {
                ticket: t.id,
                options,
                selected: 0,
            });
            Ok(Vec::new())
        }),
        Action::SetStatus => with_ticket(main, |main, t| {
            let options = main.status_options(t);
            if options.is_empty() {
                return Err(match main.me.role {
                    Role::Customer => "Agents change a ticket's status.".to_owned(),
                    _ if t.agent_id != Some(main.me.id) => {
                        "Claim the ticket before changing its status.".to_owned()
                    }
                    _ => format!("No status move is allowed from {}.", t.status),
                });
            }
            main.picker = Some(Picker::Status {
                ticket: t.id,
                options,
                selected: 0,
            });
            Ok(Vec::new())
        }),
        Action::SetPriority => with_ticket(main, |main, t| {
            if !main.can_change_priority(t) {
                return Err("Only the assigned agent or an admin changes the priority.".into());
            }
            let options = Priority::ALL.to_vec();
            let selected = options.iter().position(|p| *p == t.priority).unwrap_or(0);
            main.picker = Some(Picker::Priority {
                ticket: t.id,
                options,
                selected,
            });
            Ok(Vec::new())
        }),
        Action::Audit => {
            if main.me.role != Role::Admin {
                Err("The audit view is for admins.".into())
            } else if main.view == View::Audit {
                Ok(show_view(main, View::Tickets))
            } else {
                main.focus = Pane::List;
                Ok(show_view(main, View::Audit))
            }
        }
        Action::EditAuditFilter if main.view == View::Audit => {
            main.picker = Some(Picker::AuditField { selected: 0 });
            Ok(Vec::new())
        }
        _ => Ok(Vec::new()),
    };
    match result {
        Ok(effects) => effects,
        Err(why) => {
            notice(app, why, true);
            Vec::new()
        }
    }
}

/// Switches between the ticket list and the audit: the view returned to is reloaded when
/// tickets changed while it was away, so what is on screen is always current.
pub(super) fn show_view(main: &mut Main, view: View) -> Vec<Effect> {
    main.view = view;
    let mut effects = match view {
        View::Tickets if std::mem::take(&mut main.list_stale) => {
            let mut e = load_list(main, Load::Again);
            e.extend(load_counts(main));
            e
        }
        View::Audit if std::mem::take(&mut main.audit_stale) || main.audit.rows.is_empty() => {
            reload_audit(main)
        }
        _ => Vec::new(),
    };
    effects.extend(select_changed(main));
    effects
}

pub(super) fn with_ticket(
    main: &mut Main,
    f: impl FnOnce(&mut Main, &TicketRow) -> Result<Vec<Effect>, String>,
) -> Result<Vec<Effect>, String> {
    if !main.online {
        return Err(
            "Offline: reconnecting. Nothing was sent; try again when the status line says live again."
                .into(),
        );
    }
    if main.acting {
        return Err("Still waiting for the last action's answer.".into());
    }
    match current_ticket(main) {
        Some(t) => f(main, &t),
        None => Err("No ticket is selected.".into()),
    }
}

/// Sends an action on a ticket and remembers where the cursor goes next (act-and-advance).
pub(super) fn act(main: &mut Main, ticket: uuid::Uuid, action: TicketAction) -> Vec<Effect> {
    main.acting = true;
    // Act-and-advance belongs to the list: from the detail, the person stays on their ticket.
    if main.view == View::Tickets && main.focus == Pane::List {
        let visible = main.list.visible();
        let pos = visible.iter().position(|&i| main.list.rows[i].id == ticket);
        main.advance_to = pos
            .and_then(|p| {
                visible
                    .get(p + 1)
                    .or_else(|| p.checked_sub(1).and_then(|q| visible.get(q)))
            })
            .map(|&i| main.list.rows[i].id);
    }
    vec![Effect::Act { ticket, action }]
}

pub(super) fn move_cursor(main: &mut Main, delta: isize) -> Vec<Effect> {
    match (main.view, main.focus) {
        (_, Pane::Detail) => {
            // Lines as last drawn: a page is what the pane shows, less one line of context.
            let (total, height) = main.detail_view.get();
            // Never drawn (a headless client): the render clamps whatever this becomes.
            let max = if height == 0 {
                u16::MAX - 1
            } else {
                total.saturating_sub(height)
            };
            let delta = match delta {
                d if d >= isize::MAX / 4 => {
                    // The end (the newest entries), whatever the size turns out to be.
                    main.detail_scroll = u16::MAX;
                    return Vec::new();
                }
                d if d.unsigned_abs() == PAGE_STEP => {
                    d.signum() * height.saturating_sub(1).max(1) as isize
                }
                d => d,
            };
            let from = main.detail_scroll.min(max);
            main.detail_scroll = (from as isize + delta).clamp(0, max as isize) as u16;
            Vec::new()
        }
        (View::Tickets, Pane::List) => {
            let len = main.list.visible().len();
            if len == 0 {
                return Vec::new();
            }
            let target = (main.list.selected as isize + delta).clamp(0, len as isize - 1) as usize;
            if target == main.list.selected {
                return Vec::new();
            }
            main.list.selected = target;
            let mut effects = select_changed(main);
            if len - target <= PREFETCH
                && !main.list.exhausted
                && main.list.loading.is_none()
                && main.list.filter.is_empty()
            {
                effects.extend(load_list(main, Load::More));
            }
            effects.extend(prefetch_above(main));
            effects
        }
        (View::Audit, Pane::List) => {
            let len = main.audit.rows.len();
            if len == 0 {
                return Vec::new();
            }
            let target = (main.audit.selected as isize + delta).clamp(0, len as isize - 1) as usize;
            if target == main.audit.selected {
                return Vec::new();
            }
            main.audit.selected = target;
            let mut effects = select_changed(main);
            if len - target <= PREFETCH && !main.audit.exhausted && main.audit.loading.is_none() {
                effects.extend(load_audit(main, true));
            }
            effects.extend(prefetch_above(main));
            effects
        }
    }
}

/// The ticket under the cursor changed: load its detail and history unless already shown.
pub(super) fn select_changed(main: &mut Main) -> Vec<Effect> {
    let id = match (main.pinned, main.view) {
        (Some(id), _) => Some(id),
        (None, View::Tickets) => main.selected().map(|r| r.id),
        (None, View::Audit) => main
            .audit
            .rows
            .get(main.audit.selected)
            .map(|h| h.ticket_id),
    };
    let Some(id) = id else {
        main.detail = None;
        main.thread.clear();
        main.thread_for = None;
        return Vec::new();
    };
    if main.detail.as_ref().is_some_and(|d| d.row.id == id) {
        return Vec::new();
    }
    load_ticket(main, id)
}

/// Loads a ticket and its conversation. A reload of the ticket on screen keeps the reader's
/// place; another ticket starts at its top.
pub(super) fn load_ticket(main: &mut Main, id: uuid::Uuid) -> Vec<Effect> {
    let (a, b) = (main.request_id(), main.request_id());
    main.detail_req = Some(a);
    main.thread_req = Some(b);
    if main.detail.as_ref().is_none_or(|d| d.row.id != id) {
        main.detail_scroll = 0;
    }
    vec![
        Effect::LoadTicket { req: a, id },
        Effect::LoadThread { req: b, id },
    ]
}

/// Enter or Tab on a ticket: the detail takes the focus, and the ticket's news are seen.
pub(super) fn open_detail(main: &mut Main) -> Vec<Effect> {
    let was = main.focus;
    main.focus = Pane::Detail;
    match current_ticket(main) {
        Some(t) if was == Pane::List => {
            if let Some(r) = main.list.rows.iter_mut().find(|r| r.id == t.id) {
                r.unseen = false;
            }
            vec![Effect::MarkSeen { ticket: t.id }]
        }
        _ => Vec::new(),
    }
}

/// Which part of a list to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Load {
    /// From the top, one page (a new queue or search).
    First,
    /// The page after the last loaded row.
    More,
    /// From the top, as many rows as are loaded, so a refresh keeps the place.
    Again,
}

pub(super) fn load_list(main: &mut Main, load: Load) -> Vec<Effect> {
    if matches!(load, Load::Again) && main.list.head_missing {
        // Rows read from the end: re-read as many from the end, so a refresh keeps the place.
        return load_tail(main, false, main.list.rows.len().clamp(PAGE, 10 * PAGE));
    }
    let req = main.request_id();
    main.list.loading = Some(req);
    main.refresh_pending = false;
    let (after, limit) = match load {
        Load::First => (None, PAGE),
        Load::More => (main.list.rows.last().map(Cursor::from), PAGE),
        Load::Again => (None, main.list.rows.len().clamp(PAGE, 10 * PAGE)),
    };
    vec![Effect::LoadPage {
        req,
        queue: main.queue,
        search: main.list.search.clone(),
        after,
        limit,
    }]
}

pub(super) fn load_audit(main: &mut Main, more: bool) -> Vec<Effect> {
    let req = main.request_id();
    main.audit.loading = Some(req);
    let after = if more {
        main.audit.rows.last().map(|h| AuditCursor {
            changed_at: h.changed_at,
            id: h.id,
        })
    } else {
        None
    };
    vec![Effect::LoadAudit {
        req,
        filter: main.audit.filter.clone(),
        after,
    }]
}

pub(super) fn load_counts(_main: &Main) -> Vec<Effect> {
    vec![Effect::LoadCounts]
}

/// Reload what is on screen.
pub fn refresh(main: &mut Main) -> Vec<Effect> {
    let mut effects = load_counts(main);
    // The view not on screen is re-read when it is returned to.
    main.list_stale = main.view != View::Tickets;
    main.audit_stale = main.view != View::Audit;
    match main.view {
        View::Tickets => effects.extend(load_list(main, Load::Again)),
        View::Audit => effects.extend(reload_audit(main)),
    }
    if let Some(id) = main.detail.as_ref().map(|d| d.row.id) {
        effects.extend(load_ticket(main, id));
    }
    effects
}
