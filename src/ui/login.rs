//! The login form: login, masked password, what went wrong, a hint (e.g. the demo's logins),
//! and the keys.

use super::Ctx;
use super::text::{centered, field_view, fit, width, wrap};
use crate::app::{LoginField, LoginForm};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};

const LABEL: u16 = 12;

pub(super) fn render(cx: &Ctx, form: &LoginForm, frame: &mut Frame, area: Rect) {
    let t = cx.theme;
    // A failure is shown whole (a TLS error names its cause at the end): the form grows.
    let room = usize::from(area.width.min(64)).saturating_sub(6);
    let error: Vec<String> = match (&form.error, form.busy) {
        (Some(e), false) => wrap(e, room),
        _ => Vec::new(),
    };
    let extra = u16::try_from(error.len().saturating_sub(1)).unwrap_or(0);
    // A hint of several lines (the demo lists every login) gets a row for each.
    let hint_lines: Vec<&str> = cx.app.login_hint.iter().flat_map(|h| h.lines()).collect();
    let hint_extra = u16::try_from(hint_lines.len().saturating_sub(1)).unwrap_or(0);
    let popup = centered(area, 64, 9 + extra + hint_extra);
    let title = format!(" tickets · {} ", cx.app.server);
    let block = Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(t.focused_border)
        .title(Line::styled(
            fit(&title, usize::from(popup.width.saturating_sub(2))),
            t.focused_title,
        ));
    let inner = block.inner(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(block, popup);
    if inner.is_empty() {
        return;
    }
    let [
        _,
        login_row,
        password_row,
        _,
        message_row,
        hint_row,
        keys_row,
    ] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1 + extra),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(inner);

    let fields = [
        (LoginField::Login, "Login", login_row, false),
        (LoginField::Password, "Password", password_row, true),
    ];
    for (field, name, row, masked) in fields {
        let focused = form.focus == field;
        let [label_area, input_area, _] = Layout::horizontal([
            Constraint::Length(LABEL),
            Constraint::Fill(1),
            Constraint::Length(1),
        ])
        .areas(row);
        // "›" marks the field with the cursor, with or without colour.
        let (mark, style) = if focused {
            ("› ", t.focused_title)
        } else {
            ("  ", t.title)
        };
        frame.render_widget(
            Paragraph::new(Line::styled(format!("{mark}{name}"), style)),
            label_area,
        );
        let input = match field {
            LoginField::Login => &form.login,
            LoginField::Password => &form.password,
        };
        let view = field_view(input, masked, input_area.width);
        let style = if focused { t.input_focused } else { t.input };
        frame.render_widget(Paragraph::new(view.text).style(style), input_area);
        if focused && !form.busy {
            cx.set_cursor(frame, input_area, view.cursor, 0);
        }
    }

    let message: Vec<Line> = if form.busy {
        vec![Line::styled("  Logging in…", t.key_hint)]
    } else if let (Some(ask), None) = (&form.ask, &form.error) {
        // What to do next is a prompt, not a failure: no ✖, not in the error colour.
        vec![Line::styled(format!("  › {}", fit(ask, room)), t.info)]
    } else {
        error
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let mark = if i == 0 { "  ✖ " } else { "    " };
                Line::from(vec![
                    Span::styled(mark, t.error),
                    Span::styled(part.clone(), t.error),
                ])
            })
            .collect()
    };
    frame.render_widget(Paragraph::new(message), message_row);
    let room = usize::from(hint_row.width).saturating_sub(2);
    let hint: Vec<Line> = hint_lines
        .iter()
        .map(|line| Line::styled(format!("  {}", fit(line, room)), t.muted))
        .collect();
    frame.render_widget(Paragraph::new(hint), hint_row);

    let pairs = [
        ("tab".to_owned(), "switch field"),
        ("enter".to_owned(), "log in"),
        ("esc".to_owned(), "quit"),
    ];
    let mut keys = vec![Span::raw("  ")];
    keys.extend(cx.hints(&pairs));
    let keys_w: usize = keys.iter().map(|s| width(&s.content)).sum();
    if keys_w > usize::from(keys_row.width) {
        keys = cx.hints(&pairs[..2]);
    }
    frame.render_widget(Paragraph::new(Line::from(keys)), keys_row);
}
