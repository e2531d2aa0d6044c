//! The top bar (who, where, which queue) and the status line (the last notice, or the keys that
//! do something right now, plus a loading indicator).

use super::text::width;
use super::{Ctx, Target};
use crate::app::keymap::Action;
use crate::app::{Main, Pane, View};
use crate::model::{Queue, Role};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

fn spans_width(spans: &[Span]) -> usize {
    spans.iter().map(|s| width(&s.content)).sum()
}

/// ` tickets  Tickets  Mine (12)  Unassigned (40)  All I can see (97)      Bo Berg · agent `
pub(super) fn header(cx: &Ctx, main: &Main, frame: &mut Frame, area: Rect) {
    if area.is_empty() {
        return;
    }
    let t = cx.theme;
    let role = main.me.role;
    let mut left = vec![Span::styled(" tickets ", t.brand)];
    let view = match main.view {
        View::Tickets => "Tickets",
        View::Audit => "Audit",
    };
    let view_span = Span::styled(format!(" {view} "), t.focused_title);
    let mut tabs = Vec::new();
    match main.view {
        View::Tickets => {
            for &q in Queue::for_role(role) {
                let label = match main.counts.get(&q) {
                    Some(n) => format!(" {} ({n}) ", q.label(role)),
                    None => format!(" {} ", q.label(role)),
                };
                let style = if q == main.queue {
                    t.tab_active
                } else {
                    t.header
                };
                tabs.push(Span::styled(label, style));
                tabs.push(Span::raw(" "));
            }
        }
        View::Audit => {
            let rows = main.audit.rows.len();
            let more = if main.audit.exhausted { "" } else { "+" };
            tabs.push(Span::styled(
                format!(" every change, newest first ({rows}{more} loaded) "),
                t.muted,
            ));
        }
    }
    let who = Span::styled(
        format!("{} · {} ", main.me.display_name, main.me.role),
        t.header,
    );
    let room = usize::from(area.width);
    // The view name matters most to admins, who have two; others drop it first when short.
    let with_view = spans_width(&left) + width(&view_span.content) + spans_width(&tabs);
    if role == Role::Admin || with_view + width(&who.content) + 2 <= room {
        left.push(view_span);
        left.push(Span::styled("│", t.muted));
    }
    left.extend(tabs);
    let used = spans_width(&left);
    let who_w = width(&who.content);
    if used + who_w + 2 <= room {
        left.push(Span::raw(" ".repeat(room - used - who_w)));
        left.push(who);
    }
    frame.render_widget(Paragraph::new(Line::from(left)).style(t.header), area);
}

/// The last notice (errors marked "Error:") or the useful keys; "loading…" on the right while a
/// query is out, so a slow one is visible.
pub(super) fn status(cx: &Ctx, main: &Main, target: Target, frame: &mut Frame, area: Rect) {
    if area.is_empty() {
        return;
    }
    let t = cx.theme;
    let busy = if main.acting {
        Some("working…")
    } else if main.list.loading.is_some()
        || main.detail_req.is_some()
        || main.history_req.is_some()
        || main.audit.loading.is_some()
    {
        Some("loading…")
    } else {
        None
    };
    let right: Vec<Span> = busy
        .map(|b| vec![Span::styled(format!(" {b} "), t.key_hint)])
        .unwrap_or_default();
    let room = usize::from(area.width).saturating_sub(spans_width(&right));
    let help = cx
        .key(Action::Help)
        .map(|k| cx.hints(&[(k, "help")]))
        .unwrap_or_default();
    let mut left = vec![Span::raw(" ")];
    match &cx.app.notice {
        Some(n) => {
            if n.error {
                left.push(Span::styled("Error: ", t.error));
                left.push(Span::styled(n.text.clone(), t.error));
            } else {
                left.push(Span::styled(n.text.clone(), t.info));
            }
            // The help key stays in view even while a notice is shown.
            if spans_width(&left) + spans_width(&help) + 3 <= room {
                let pad = room - spans_width(&left) - spans_width(&help) - 1;
                left.push(Span::raw(" ".repeat(pad)));
                left.extend(help);
            }
        }
        None => {
            let mut used = 1 + spans_width(&help);
            let mut pairs = Vec::new();
            for (key, what) in hints(cx, main, target) {
                let w = width(&key) + width(what) + 3;
                if used + w > room {
                    break;
                }
                used += w;
                pairs.push((key, what));
            }
            left.extend(cx.hints(&pairs));
            if !pairs.is_empty() && !help.is_empty() {
                left.push(Span::raw("  "));
            }
            left.extend(help);
        }
    }
    let used = spans_width(&left);
    let mut spans = left;
    if !right.is_empty() && used < usize::from(area.width) {
        let pad = usize::from(area.width)
            .saturating_sub(used)
            .saturating_sub(spans_width(&right));
        spans.push(Span::raw(" ".repeat(pad)));
        spans.extend(right);
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The keys that do something now, most useful first. Keys typed into a form, prompt or filter
/// are fixed in `update`, so they are written out as such.
fn hints(cx: &Ctx, main: &Main, target: Target) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    let mut add = |a: Action, what: &'static str| {
        if let Some(k) = cx.key(a) {
            out.push((k, what));
        }
    };
    if main.form.is_some() {
        return vec![
            ("tab".into(), "next field"),
            ("ctrl-s".into(), "send"),
            ("esc".into(), "close, draft kept"),
        ];
    }
    if main.prompt.is_some() {
        return vec![("enter".into(), "apply"), ("esc".into(), "cancel")];
    }
    if main.picker.is_some() {
        add(Action::Down, "down");
        add(Action::Up, "up");
        add(Action::Open, "choose");
        add(Action::Back, "cancel");
        return out;
    }
    if main.list.filtering {
        return vec![
            ("enter".into(), "keep filter"),
            ("esc".into(), "clear filter"),
            ("↑/↓".into(), "move"),
        ];
    }
    let row = match (target, &main.detail) {
        (Target::Row(r), _) => Some(r),
        (Target::Id(id), Some(d)) if d.row.id == id => Some(&d.row),
        _ => None,
    };
    if main.focus == Pane::List && row.is_some() && main.view == View::Tickets {
        add(Action::Open, "open");
    }
    if main.focus != Pane::List {
        add(Action::Down, "scroll");
        add(Action::Back, "back");
    }
    if let Some(r) = row {
        if main.can_claim(r) {
            add(Action::Claim, "claim");
        }
        if !main.status_options(r).is_empty() {
            add(Action::SetStatus, "status");
        }
        if main.can_change_priority(r) {
            add(Action::SetPriority, "priority");
        }
        if main.can_release(r) {
            add(Action::Release, "release");
        }
        if main.can_hand_off(r) {
            add(Action::HandOff, "hand off");
        }
    }
    let role = main.me.role;
    match main.view {
        View::Tickets => {
            if role == Role::Customer {
                add(Action::NewTicket, "new ticket");
            }
            add(Action::Filter, "filter");
            add(Action::Search, "search");
            if Queue::for_role(role).len() > 1 {
                add(Action::NextQueue, "queue");
            }
            if role == Role::Admin {
                add(Action::Audit, "audit");
            }
        }
        View::Audit => {
            add(Action::EditAuditFilter, "filter");
            add(Action::Audit, "tickets");
        }
    }
    add(Action::NextPane, "pane");
    add(Action::Refresh, "reload");
    add(Action::Quit, "quit");
    out
}
