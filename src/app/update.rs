//! `update`: the only place state changes. Pure: no I/O, no awaits; it returns effects.

use super::form::{FormField, TicketForm};
use super::keymap::Action;
use super::msg::{Effect, Msg, Reply};
use super::state::*;
use crate::model::*;
use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tui_input::backend::crossterm::EventHandler;

/// Rows from the end of the loaded list at which the next page is fetched.
const PREFETCH: usize = 20;
const PAGE_STEP: usize = 10;
pub const PAGE: usize = 100;

pub const AUDIT_FIELDS: &[&str] = &[
    "Changed by",
    "Ticket",
    "Kind of change",
    "Since",
    "Until",
    "Clear all filters",
];

pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) if key.kind != KeyEventKind::Release => on_key(app, key),
        Msg::Key(_) | Msg::Resize => Vec::new(),
        Msg::Paste(text) => on_paste(app, &text),
        Msg::Db(reply) => on_reply(app, reply),
    }
}

fn notice(app: &mut App, text: impl Into<String>, error: bool) {
    app.notice = Some(Notice {
        text: text.into(),
        error,
    });
}

/// Indices of the rows whose subject fuzzy-matches `filter`, in list order.
pub fn fuzzy_filter(rows: &[TicketRow], filter: &str) -> Vec<usize> {
    let pattern = Pattern::parse(filter, CaseMatching::Smart, Normalization::Smart);
    let mut matcher = Matcher::new(Config::DEFAULT);
    let mut buf = Vec::new();
    rows.iter()
        .enumerate()
        .filter(|(_, r)| {
            let haystack = format!("{} {} {}", r.subject, r.status, r.priority);
            pattern
                .score(Utf32Str::new(&haystack, &mut buf), &mut matcher)
                .is_some()
        })
        .map(|(i, _)| i)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Keys

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let action = app.keymap.action(&key);
    if app.help_open {
        if matches!(action, Some(Action::Help | Action::Back | Action::Quit))
            || key.code == KeyCode::Esc
        {
            app.help_open = false;
        }
        return Vec::new();
    }
    let main = match &mut app.screen {
        Screen::Login(_) => return login_key(app, key),
        Screen::Main(main) => main,
    };
    // Whatever is being typed into takes the keys first.
    if main.form.is_some() {
        return form_key(main, key);
    }
    if main.picker.is_some() {
        return picker_key(main, key, action);
    }
    if main.prompt.is_some() {
        return prompt_key(main, key);
    }
    if main.list.filtering
        && let Some(effects) = filter_key(main, key)
    {
        return effects;
    }
    match action {
        Some(Action::Quit) => {
            app.quit = true;
            vec![Effect::Quit]
        }
        Some(Action::Help) => {
            app.help_open = true;
            Vec::new()
        }
        Some(action) => main_action(app, action),
        None => Vec::new(),
    }
}

fn login_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let Screen::Login(form) = &mut app.screen else {
        return Vec::new();
    };
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc | KeyCode::Char('c') if key.code == KeyCode::Esc || ctrl => {
            app.quit = true;
            vec![Effect::Quit]
        }
        KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down => {
            form.focus = match form.focus {
                LoginField::Login => LoginField::Password,
                LoginField::Password => LoginField::Login,
            };
            Vec::new()
        }
        KeyCode::Enter if form.focus == LoginField::Login => {
            form.focus = LoginField::Password;
            Vec::new()
        }
        KeyCode::Enter => {
            if form.busy {
                return Vec::new();
            }
            let login = form.login.value().trim().to_owned();
            if login.is_empty() {
                form.error = Some("Type your login first.".into());
                form.focus = LoginField::Login;
                return Vec::new();
            }
            form.busy = true;
            form.error = None;
            vec![Effect::Login {
                login,
                password: Some(form.password.value().to_owned()),
            }]
        }
        _ => {
            let input = match form.focus {
                LoginField::Login => &mut form.login,
                LoginField::Password => &mut form.password,
            };
            input.handle_event(&Event::Key(key));
            Vec::new()
        }
    }
}

fn append(input: &mut tui_input::Input, text: &str) {
    let line = text.lines().next().unwrap_or("");
    *input = input.clone().with_value(format!("{}{line}", input.value()));
}

fn on_paste(app: &mut App, text: &str) -> Vec<Effect> {
    match &mut app.screen {
        Screen::Login(form) => {
            match form.focus {
                LoginField::Login => append(&mut form.login, text),
                LoginField::Password => append(&mut form.password, text),
            }
            Vec::new()
        }
        Screen::Main(main) => {
            if let Some(form) = &mut main.form {
                match form.focus {
                    FormField::Subject => append(&mut form.subject, text),
                    FormField::Description => {
                        form.description.insert_str(text);
                    }
                    FormField::Priority => return Vec::new(),
                }
                let ticket = form.ticket();
                main.draft = Some(ticket.clone());
                return vec![Effect::SaveDraft { ticket }];
            }
            if let Some(prompt) = &mut main.prompt {
                append(&mut prompt.input, text);
            }
            Vec::new()
        }
    }
}

fn form_key(main: &mut Main, key: KeyEvent) -> Vec<Effect> {
    let Some(form) = &mut main.form else {
        return Vec::new();
    };
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => {
            // Closing the form loses nothing: a non-empty draft stays on disk.
            let blank = form.is_blank();
            main.form = None;
            if blank {
                main.draft = None;
                return vec![Effect::ClearDraft];
            }
            return Vec::new();
        }
        KeyCode::Char('s') if ctrl => {
            if form.submitting {
                return Vec::new();
            }
            if !form.validate() {
                form.focus = if form.subject_error.is_some() {
                    FormField::Subject
                } else {
                    FormField::Description
                };
                return Vec::new();
            }
            form.submitting = true;
            form.error = None;
            return vec![Effect::CreateTicket {
                ticket: form.ticket(),
            }];
        }
        KeyCode::Tab | KeyCode::BackTab => {
            let forward = key.code == KeyCode::Tab;
            form.focus = match (form.focus, forward) {
                (FormField::Subject, true) | (FormField::Priority, false) => FormField::Description,
                (FormField::Description, true) | (FormField::Subject, false) => FormField::Priority,
                (FormField::Priority, true) | (FormField::Description, false) => FormField::Subject,
            };
            return Vec::new();
        }
        _ => {}
    }
    if form.submitting {
        return Vec::new();
    }
    match form.focus {
        FormField::Subject if key.code == KeyCode::Enter => {
            form.focus = FormField::Description;
            return Vec::new();
        }
        FormField::Subject => {
            form.subject.handle_event(&Event::Key(key));
        }
        FormField::Description => {
            form.description.input(key);
        }
        FormField::Priority => {
            let i = Priority::ALL
                .iter()
                .position(|p| *p == form.priority)
                .unwrap_or(1);
            let n = Priority::ALL.len();
            match key.code {
                KeyCode::Left | KeyCode::Char('h') | KeyCode::Down | KeyCode::Char('j') => {
                    form.priority = Priority::ALL[(i + n - 1) % n]
                }
                KeyCode::Right
                | KeyCode::Char('l')
                | KeyCode::Up
                | KeyCode::Char('k')
                | KeyCode::Char(' ') => form.priority = Priority::ALL[(i + 1) % n],
                _ => return Vec::new(),
            }
        }
    }
    if form.subject_error.is_some() || form.description_error.is_some() {
        form.validate();
    }
    let ticket = form.ticket();
    main.draft = Some(ticket.clone());
    vec![Effect::SaveDraft { ticket }]
}

fn picker_key(main: &mut Main, key: KeyEvent, action: Option<Action>) -> Vec<Effect> {
    let Some(picker) = &mut main.picker else {
        return Vec::new();
    };
    let (selected, len) = match picker {
        Picker::Status {
            selected, options, ..
        } => (selected, options.len()),
        Picker::Priority {
            selected, options, ..
        } => (selected, options.len()),
        Picker::Agent {
            selected, options, ..
        } => (selected, options.len()),
        Picker::AuditField { selected } => (selected, AUDIT_FIELDS.len()),
    };
    match action {
        Some(Action::Up) => *selected = selected.saturating_sub(1),
        Some(Action::Down) => *selected = (*selected + 1).min(len.saturating_sub(1)),
        Some(Action::Top) => *selected = 0,
        Some(Action::Bottom) => *selected = len.saturating_sub(1),
        Some(Action::Open) => return choose(main),
        Some(Action::Back | Action::Quit) => main.picker = None,
        _ if key.code == KeyCode::Esc => main.picker = None,
        _ => {}
    }
    Vec::new()
}

fn choose(main: &mut Main) -> Vec<Effect> {
    let Some(picker) = main.picker.take() else {
        return Vec::new();
    };
    let seen_at = main
        .detail
        .as_ref()
        .map(|d| d.row.updated_at)
        .or(main.selected().map(|r| r.updated_at));
    match picker {
        Picker::Status {
            ticket,
            options,
            selected,
        } => match (options.get(selected), seen_at) {
            (Some(&to), Some(seen_at)) => act(
                main,
                ticket,
                Effect::Change {
                    ticket,
                    seen_at,
                    change: Change::Status(to),
                },
            ),
            _ => Vec::new(),
        },
        Picker::Priority {
            ticket,
            options,
            selected,
        } => match (options.get(selected), seen_at) {
            (Some(&to), Some(seen_at)) => act(
                main,
                ticket,
                Effect::Change {
                    ticket,
                    seen_at,
                    change: Change::Priority(to),
                },
            ),
            _ => Vec::new(),
        },
        Picker::Agent {
            ticket,
            options,
            selected,
        } => match options.get(selected) {
            Some(agent) => {
                let effect = Effect::HandOff {
                    ticket,
                    to: agent.id,
                    to_name: agent.display_name.clone(),
                };
                act(main, ticket, effect)
            }
            None => Vec::new(),
        },
        Picker::AuditField { selected } => match selected {
            0 => open_prompt(
                main,
                PromptKind::AuditPerson,
                main.audit.filter.person.clone(),
            ),
            1 => open_prompt(
                main,
                PromptKind::AuditTicket,
                main.audit.filter.ticket.clone(),
            ),
            2 => {
                // Cycles: any → created → status → assignment → priority → any.
                let kinds = ChangeKind::ALL;
                main.audit.filter.kind = match main.audit.filter.kind {
                    None => Some(kinds[0]),
                    Some(k) => kinds
                        .iter()
                        .position(|x| *x == k)
                        .and_then(|i| kinds.get(i + 1))
                        .copied(),
                };
                main.picker = Some(Picker::AuditField { selected });
                load_audit(main, false)
            }
            3 => open_prompt(
                main,
                PromptKind::AuditSince,
                date_text(main.audit.filter.since),
            ),
            4 => open_prompt(
                main,
                PromptKind::AuditUntil,
                date_text(main.audit.filter.until),
            ),
            _ => {
                main.audit.filter = AuditFilter::default();
                load_audit(main, false)
            }
        },
    }
}

fn date_text(d: Option<chrono::DateTime<chrono::Utc>>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn parse_date(s: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| Some(d.and_utc()))
        .ok_or_else(|| format!("\"{s}\" is not a date like 2026-11-25"))
}

fn open_prompt(main: &mut Main, kind: PromptKind, value: String) -> Vec<Effect> {
    main.prompt = Some(Prompt {
        kind,
        input: tui_input::Input::new(value),
    });
    main.prompt_error = None;
    Vec::new()
}

fn prompt_key(main: &mut Main, key: KeyEvent) -> Vec<Effect> {
    let Some(prompt) = &mut main.prompt else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Esc => {
            main.prompt = None;
            main.prompt_error = None;
            Vec::new()
        }
        KeyCode::Enter => {
            let value = prompt.input.value().trim().to_owned();
            let kind = prompt.kind;
            match kind {
                PromptKind::Search => main.list.search = value,
                PromptKind::AuditPerson => main.audit.filter.person = value,
                PromptKind::AuditTicket => main.audit.filter.ticket = value,
                PromptKind::AuditSince | PromptKind::AuditUntil => match parse_date(&value) {
                    Ok(d) if kind == PromptKind::AuditSince => main.audit.filter.since = d,
                    Ok(d) => main.audit.filter.until = d,
                    Err(e) => {
                        main.prompt_error = Some(e);
                        return Vec::new();
                    }
                },
            }
            main.prompt = None;
            main.prompt_error = None;
            if kind == PromptKind::Search {
                load_list(main, false)
            } else {
                load_audit(main, false)
            }
        }
        _ => {
            main.prompt_error = None;
            prompt.input.handle_event(&Event::Key(key));
            Vec::new()
        }
    }
}

/// Keys while typing a list filter; `None` lets navigation keys through.
fn filter_key(main: &mut Main, key: KeyEvent) -> Option<Vec<Effect>> {
    match key.code {
        KeyCode::Esc => {
            main.list.filtering = false;
            main.list.filter.clear();
        }
        KeyCode::Enter => main.list.filtering = false,
        KeyCode::Backspace => {
            main.list.filter.pop();
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            main.list.filter.push(c)
        }
        KeyCode::Up | KeyCode::Down | KeyCode::PageUp | KeyCode::PageDown => return None,
        _ => return Some(Vec::new()),
    }
    main.list.selected = 0;
    Some(select_changed(main))
}

// ---------------------------------------------------------------------------------------------
// Actions on the main screen

fn main_action(app: &mut App, action: Action) -> Vec<Effect> {
    let Screen::Main(main) = &mut app.screen else {
        return Vec::new();
    };
    let result: Result<Vec<Effect>, String> = match action {
        Action::Up => Ok(move_cursor(main, -1)),
        Action::Down => Ok(move_cursor(main, 1)),
        Action::PageUp => Ok(move_cursor(main, -(PAGE_STEP as isize))),
        Action::PageDown => Ok(move_cursor(main, PAGE_STEP as isize)),
        Action::Top => Ok(move_cursor(main, isize::MIN / 2)),
        Action::Bottom => Ok(move_cursor(main, isize::MAX / 2)),
        Action::NextPane | Action::PrevPane => {
            let order = [Pane::List, Pane::Detail, Pane::History];
            let i = order.iter().position(|p| *p == main.focus).unwrap_or(0);
            let step = if action == Action::NextPane { 1 } else { 2 };
            main.focus = order[(i + step) % 3];
            Ok(Vec::new())
        }
        Action::Open => {
            main.focus = if main.focus == Pane::List {
                Pane::Detail
            } else {
                main.focus
            };
            Ok(Vec::new())
        }
        Action::Back => {
            if !main.list.filter.is_empty() {
                main.list.filter.clear();
                Ok(select_changed(main))
            } else if main.focus != Pane::List {
                main.focus = Pane::List;
                Ok(Vec::new())
            } else if main.view == View::Audit {
                main.view = View::Tickets;
                Ok(select_changed(main))
            } else if !main.list.search.is_empty() {
                main.list.search.clear();
                Ok(load_list(main, false))
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
            Ok(load_list(main, false))
        }
        Action::NewTicket => {
            if main.me.role != Role::Customer {
                Err("New tickets are filed by customers.".into())
            } else {
                main.form = Some(TicketForm::new(main.draft.as_ref()));
                Ok(Vec::new())
            }
        }
        Action::Claim => with_ticket(main, |main, t| {
            if main.can_claim(t) {
                Ok(act(main, t.id, Effect::Claim { ticket: t.id }))
            } else if main.me.role != Role::Agent {
                Err("Only agents claim tickets.".into())
            } else {
                Err("Only open, unassigned tickets can be claimed.".into())
            }
        }),
        Action::Release => with_ticket(main, |main, t| {
            if main.can_release(t) {
                Ok(act(main, t.id, Effect::Release { ticket: t.id }))
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
                main.view = View::Tickets;
                Ok(select_changed(main))
            } else {
                main.view = View::Audit;
                main.focus = Pane::List;
                if main.audit.rows.is_empty() {
                    Ok(load_audit(main, false))
                } else {
                    Ok(select_changed(main))
                }
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

fn with_ticket(
    main: &mut Main,
    f: impl FnOnce(&mut Main, &TicketRow) -> Result<Vec<Effect>, String>,
) -> Result<Vec<Effect>, String> {
    if main.acting {
        return Err("Still waiting for the last action's answer.".into());
    }
    let row = match main.view {
        View::Tickets => main.selected().cloned(),
        View::Audit => main.detail.as_ref().map(|d| d.row.clone()),
    };
    match row {
        Some(t) => f(main, &t),
        None => Err("No ticket is selected.".into()),
    }
}

/// Sends an action on a ticket and remembers where the cursor goes next (act-and-advance).
fn act(main: &mut Main, ticket: uuid::Uuid, effect: Effect) -> Vec<Effect> {
    main.acting = true;
    if main.view == View::Tickets {
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
    vec![effect]
}

fn move_cursor(main: &mut Main, delta: isize) -> Vec<Effect> {
    match (main.view, main.focus) {
        (_, Pane::Detail) => {
            main.detail_scroll =
                (main.detail_scroll as isize + delta).clamp(0, u16::MAX as isize) as u16;
            Vec::new()
        }
        (_, Pane::History) => {
            let max = main.history.len().saturating_sub(1) as isize;
            main.history_scroll =
                (main.history_scroll as isize + delta).clamp(0, max.max(0)) as usize;
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
                effects.extend(load_list(main, true));
            }
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
            effects
        }
    }
}

/// The ticket under the cursor changed: load its detail and history unless already shown.
fn select_changed(main: &mut Main) -> Vec<Effect> {
    let id = match main.view {
        View::Tickets => main.selected().map(|r| r.id),
        View::Audit => main
            .audit
            .rows
            .get(main.audit.selected)
            .map(|h| h.ticket_id),
    };
    let Some(id) = id else {
        main.detail = None;
        main.history.clear();
        return Vec::new();
    };
    if main.detail.as_ref().is_some_and(|d| d.row.id == id) {
        return Vec::new();
    }
    load_ticket(main, id)
}

fn load_ticket(main: &mut Main, id: uuid::Uuid) -> Vec<Effect> {
    let (a, b) = (main.request_id(), main.request_id());
    main.detail_req = Some(a);
    main.history_req = Some(b);
    main.detail_scroll = 0;
    vec![
        Effect::LoadTicket { req: a, id },
        Effect::LoadHistory { req: b, id },
    ]
}

fn load_list(main: &mut Main, more: bool) -> Vec<Effect> {
    let req = main.request_id();
    main.list.loading = Some(req);
    let after = if more {
        main.list.rows.last().map(Cursor::from)
    } else {
        None
    };
    vec![Effect::LoadPage {
        req,
        queue: main.queue,
        search: main.list.search.clone(),
        after,
    }]
}

fn load_audit(main: &mut Main, more: bool) -> Vec<Effect> {
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

fn load_counts(main: &Main) -> Vec<Effect> {
    Queue::for_role(main.me.role)
        .iter()
        .map(|&queue| Effect::LoadCount { queue })
        .collect()
}

/// Reload what is on screen.
pub fn refresh(main: &mut Main) -> Vec<Effect> {
    let mut effects = load_counts(main);
    match main.view {
        View::Tickets => effects.extend(load_list(main, false)),
        View::Audit => effects.extend(load_audit(main, false)),
    }
    if let Some(id) = main.detail.as_ref().map(|d| d.row.id) {
        effects.extend(load_ticket(main, id));
    }
    effects
}

// ---------------------------------------------------------------------------------------------
// Replies

fn on_reply(app: &mut App, reply: Reply) -> Vec<Effect> {
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
        effects.extend(load_list(&mut main, false));
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
        } => {
            if main.list.loading != Some(req) || main.queue != queue {
                return Vec::new(); // superseded
            }
            main.list.loading = None;
            main.list.exhausted = rows.len() < PAGE;
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
            if main.view == View::Tickets {
                select_changed_or_reload(main)
            } else {
                Vec::new()
            }
        }
        Reply::Count { queue, count } => {
            main.counts.insert(queue, count);
            Vec::new()
        }
        Reply::Ticket { req, id, detail } => {
            if main.detail_req != Some(req) {
                return Vec::new();
            }
            main.detail_req = None;
            if detail.is_none() {
                message = Some((
                    format!("Ticket {} is no longer visible to you.", short(id)),
                    true,
                ));
                main.history.clear();
            }
            main.detail = detail;
            Vec::new()
        }
        Reply::History { req, entries, .. } => {
            if main.history_req != Some(req) {
                return Vec::new();
            }
            main.history_req = None;
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
            effects.extend(load_list(main, false));
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
fn select_changed_or_reload(main: &mut Main) -> Vec<Effect> {
    let stale = match (main.selected(), &main.detail) {
        (Some(r), Some(d)) => r.id == d.row.id && r.updated_at != d.row.updated_at,
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
fn after_action(main: &mut Main, ticket: uuid::Uuid) -> Vec<Effect> {
    let mut effects = load_counts(main);
    match main.view {
        View::Tickets => effects.extend(load_list(main, false)),
        View::Audit => {
            effects.extend(load_audit(main, false));
            if main.detail.as_ref().is_some_and(|d| d.row.id == ticket) {
                effects.extend(load_ticket(main, ticket));
            }
        }
    }
    effects
}

fn short(id: uuid::Uuid) -> String {
    id.to_string()[..8].to_owned()
}
