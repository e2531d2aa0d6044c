//! Keys and pastes: the login form, the new-ticket form, pickers, prompts and the filter.

use super::*;

pub(super) fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    // A notice answers the last key; the next key makes room for the hints again.
    app.notice = None;
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
    if main.composer.is_some() {
        return composer_key(main, key);
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

pub(super) fn login_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
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
            form.ask = None;
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

pub(super) fn append(input: &mut tui_input::Input, text: &str) {
    let line = text.lines().next().unwrap_or("");
    *input = input.clone().with_value(format!("{}{line}", input.value()));
}

pub(super) fn on_paste(app: &mut App, text: &str) -> Vec<Effect> {
    match &mut app.screen {
        Screen::Login(form) => {
            match form.focus {
                LoginField::Login => append(&mut form.login, text),
                LoginField::Password => append(&mut form.password, text),
            }
            Vec::new()
        }
        Screen::Main(main) => {
            if main.composer.is_some() {
                return composer_paste(main, text);
            }
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
                if std::mem::take(&mut prompt.selected) {
                    prompt.input.reset();
                }
                append(&mut prompt.input, text);
            }
            Vec::new()
        }
    }
}

pub(super) fn form_key(main: &mut Main, key: KeyEvent) -> Vec<Effect> {
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
            if !main.online {
                form.error = Some("Offline: reconnecting. Your text is kept; send it when the status line says live.".into());
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

pub(super) fn picker_key(main: &mut Main, key: KeyEvent, action: Option<Action>) -> Vec<Effect> {
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

pub(super) fn choose(main: &mut Main) -> Vec<Effect> {
    let Some(picker) = main.picker.take() else {
        return Vec::new();
    };
    // The version of the picker's own ticket the person saw (never another row's).
    let seen_of = |main: &Main, id: uuid::Uuid| {
        main.detail
            .as_ref()
            .filter(|d| d.row.id == id)
            .map(|d| d.row.updated_at)
            .or_else(|| {
                main.list
                    .rows
                    .iter()
                    .find(|r| r.id == id)
                    .map(|r| r.updated_at)
            })
    };
    match picker {
        Picker::Status {
            ticket,
            options,
            selected,
        } => match (options.get(selected), seen_of(main, ticket)) {
            (Some(&to), Some(seen_at)) => act(
                main,
                ticket,
                TicketAction::Change {
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
        } => match (options.get(selected), seen_of(main, ticket)) {
            (Some(&to), Some(seen_at)) => act(
                main,
                ticket,
                TicketAction::Change {
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
            Some(agent) => act(main, ticket, TicketAction::HandOff { to: agent.id }),
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

pub(super) fn date_text(d: Option<chrono::DateTime<chrono::Utc>>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

pub(super) fn parse_date(s: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| Some(d.and_utc()))
        .ok_or_else(|| format!("\"{s}\" is not a date like 2026-11-25"))
}

pub(super) fn open_prompt(main: &mut Main, kind: PromptKind, value: String) -> Vec<Effect> {
    main.prompt = Some(Prompt::new(kind, value));
    main.prompt_error = None;
    Vec::new()
}

pub(super) fn prompt_key(main: &mut Main, key: KeyEvent) -> Vec<Effect> {
    let Some(prompt) = &mut main.prompt else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Esc => {
            main.prompt = None;
            main.prompt_error = None;
            main.new_password = None;
            Vec::new()
        }
        KeyCode::Enter if prompt.kind.masked() => password_entered(main),
        KeyCode::Enter => {
            let value = prompt.input.value().trim().to_owned();
            let kind = prompt.kind;
            match kind {
                PromptKind::NewPassword | PromptKind::NewPasswordAgain => {}
                PromptKind::Search => main.list.search = value,
                PromptKind::AuditPerson => main.audit.filter.person = value,
                PromptKind::AuditTicket => main.audit.filter.ticket = value,
                PromptKind::FileFor => {
                    if value.is_empty() {
                        main.prompt_error =
                            Some("Type the customer's login, e-mail or name.".into());
                        return Vec::new();
                    }
                    main.prompt = None;
                    main.prompt_error = None;
                    return vec![Effect::FindCustomer { query: value }];
                }
                PromptKind::Jump => match value.trim_start_matches('#').trim().parse::<i64>() {
                    Ok(number) if number > 0 => {
                        main.prompt = None;
                        main.prompt_error = None;
                        return vec![Effect::FindNumber { number }];
                    }
                    _ => {
                        main.prompt_error =
                            Some("Type a ticket number, such as 1234 or #1234.".into());
                        return Vec::new();
                    }
                },
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
                load_list(main, Load::First)
            } else {
                load_audit(main, false)
            }
        }
        _ => {
            main.prompt_error = None;
            // The previous value is selected: typed text or a deletion replaces it whole;
            // any other key (arrows, Home, End) starts editing it.
            if std::mem::take(&mut prompt.selected) {
                let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
                match key.code {
                    KeyCode::Char(_) if !ctrl => prompt.input.reset(),
                    KeyCode::Backspace | KeyCode::Delete => {
                        prompt.input.reset();
                        return Vec::new();
                    }
                    _ => {}
                }
            }
            prompt.input.handle_event(&Event::Key(key));
            Vec::new()
        }
    }
}

/// Enter in the password prompts: the new password, then the same again, then the change.
fn password_entered(main: &mut Main) -> Vec<Effect> {
    let Some(prompt) = main.prompt.take() else {
        return Vec::new();
    };
    let typed = prompt.input.value().to_owned();
    main.prompt_error = None;
    match (prompt.kind, main.new_password.take()) {
        (PromptKind::NewPassword, _) if typed.is_empty() => {
            main.prompt = Some(prompt);
            main.prompt_error = Some("The password must not be empty.".into());
            Vec::new()
        }
        (PromptKind::NewPassword, _) => {
            main.new_password = Some(typed);
            main.prompt = Some(Prompt::new(PromptKind::NewPasswordAgain, String::new()));
            Vec::new()
        }
        (_, Some(first)) if first == typed => {
            main.acting = true;
            vec![Effect::ChangePassword { password: typed }]
        }
        _ => {
            main.prompt = Some(Prompt::new(PromptKind::NewPassword, String::new()));
            main.prompt_error = Some("The two did not match: type the new password again.".into());
            Vec::new()
        }
    }
}

/// Keys while typing a list filter; `None` lets navigation keys through.
pub(super) fn filter_key(main: &mut Main, key: KeyEvent) -> Option<Vec<Effect>> {
    let keep = main.selected().map(|r| r.id);
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
    // The cursor stays on its ticket while it still matches, else goes to the best match.
    if !keep.is_some_and(|id| {
        main.list
            .visible()
            .iter()
            .any(|&i| main.list.rows[i].id == id)
    }) {
        main.list.selected = 0;
    }
    main.list.select_id(keep);
    Some(select_changed(main))
}
