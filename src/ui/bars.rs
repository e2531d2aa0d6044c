//! The top bar (who, where, which queue) and the status line (the last notice, or the keys that
//! do something right now, plus a loading indicator).

use super::text::{fit, one_line, width, wrap};
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
            if main.unseen > 0 {
                tabs.push(Span::styled(
                    if main.unseen > i64::from(crate::model::UNSEEN_SHOWN) {
                        format!("● {}+ new ", crate::model::UNSEEN_SHOWN)
                    } else {
                        format!("● {} new ", main.unseen)
                    },
                    t.header.add_modifier(ratatui::style::Modifier::BOLD),
                ));
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
        format!("{} · {} ", one_line(&main.me.display_name), main.me.role),
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

/// Most rows a notice takes above the key hints; a longer one ends in "…".
const NOTICE_ROWS: usize = 3;

/// The last notice, wrapped to the width (errors marked "Error:"): drawn above the key hints.
pub(super) fn notice_lines(cx: &Ctx, cols: u16) -> Vec<Line<'static>> {
    let t = cx.theme;
    let Some(n) = &cx.app.notice else {
        return Vec::new();
    };
    let (lead, style) = if n.error {
        ("Error: ", t.error)
    } else {
        ("", t.info)
    };
    let room = usize::from(cols).saturating_sub(2).max(1);
    let mut rows = wrap(&format!("{lead}{}", n.text), room);
    if rows.len() > NOTICE_ROWS {
        rows.truncate(NOTICE_ROWS);
        if let Some(last) = rows.last_mut() {
            *last = fit(&format!("{last} …"), room);
        }
    }
    rows.into_iter()
        .map(|r| Line::from(vec![Span::raw(" "), Span::styled(r, style)]))
        .collect()
}

/// The keys that are useful now as far as they fit; "loading…" on the right while a query is
/// out, so a slow one is visible.
pub(super) fn status(cx: &Ctx, main: &Main, target: Target, frame: &mut Frame, area: Rect) {
    if area.is_empty() {
        return;
    }
    let t = cx.theme;
    let busy = if !main.online {
        // Stays while offline, whatever the notice above says or after it is gone.
        Some("offline · reconnecting…")
    } else if main.acting {
        Some("working…")
    } else if let Some(kind) = main.read_only {
        Some(match kind {
            crate::model::ReadOnlyServer::Standby => "read-only standby",
            crate::model::ReadOnlyServer::ReadOnly => "read-only",
        })
    } else if main.list.loading.is_some()
        || main.detail_req.is_some()
        || main.thread_req.is_some()
        || main.audit.loading.is_some()
    {
        Some("loading…")
    } else {
        None
    };
    let right: Vec<Span> = busy
        .map(|b| {
            let style = if main.online { t.key_hint } else { t.error };
            vec![Span::styled(format!(" {b} "), style)]
        })
        .unwrap_or_default();
    let room = usize::from(area.width).saturating_sub(spans_width(&right));
    // While something takes the typed keys, "?" is text, not help.
    let typing = main.form.is_some()
        || main.prompt.is_some()
        || main.picker.is_some()
        || main.list.filtering;
    let help = cx
        .key(Action::Help)
        .filter(|_| !typing)
        .map(|k| cx.hints(&[(k, "help")]))
        .unwrap_or_default();
    let left = vec![Span::raw(" ")];
    // As many of the useful keys as fit, and the help key last.
    let mut used = spans_width(&left) + spans_width(&help);
    let mut pairs = Vec::new();
    for (key, what) in hints(cx, main, target) {
        let w = width(&key) + width(what) + 3;
        if used + w > room {
            break;
        }
        used += w;
        pairs.push((key, what));
    }
    let mut left = left;
    left.extend(cx.hints(&pairs));
    if !pairs.is_empty() && !help.is_empty() {
        left.push(Span::raw("  "));
    }
    left.extend(help);
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
    let key = |a: Action, what: &'static str| cx.key(a).map(|k| (k, what));
    if main.form.is_some() {
        // The form lists its keys itself.
        return vec![("".into(), "Your draft is saved as you type.")];
    }
    if main.prompt.is_some() {
        return vec![("enter".into(), "apply"), ("esc".into(), "cancel")];
    }
    let up_down = match (cx.key(Action::Down), cx.key(Action::Up)) {
        (Some(d), Some(u)) => Some(format!("{d}/{u}")),
        (d, u) => d.or(u),
    };
    if main.picker.is_some() {
        out.extend(up_down.map(|k| (k, "move")));
        out.extend(key(Action::Open, "choose"));
        out.extend(key(Action::Back, "cancel"));
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
    if main.focus == Pane::List && target.id().is_some() {
        out.extend(key(Action::Open, "open"));
    }
    if main.focus != Pane::List {
        out.extend(up_down.map(|k| (k, "scroll")));
        out.extend(key(Action::Back, "back"));
    }
    if let Some(r) = row {
        if main.can_post(r) {
            out.extend(key(Action::Reply, "reply"));
        }
        if main.can_claim(r) {
            out.extend(key(Action::Claim, "claim"));
        }
        if !main.status_options(r).is_empty() {
            let label = if main.me.role == Role::Customer {
                "close"
            } else {
                "status"
            };
            out.extend(key(Action::SetStatus, label));
        }
        if main.can_change_priority(r) {
            out.extend(key(Action::SetPriority, "priority"));
        }
        if main.can_release(r) {
            out.extend(key(Action::Release, "release"));
        }
        if main.can_hand_off(r) {
            out.extend(key(Action::HandOff, "hand off"));
        }
    }
    let role = main.me.role;
    match main.view {
        View::Tickets => {
            if role == Role::Customer {
                out.extend(key(Action::NewTicket, "new ticket"));
            }
            out.extend(key(Action::Filter, "filter"));
            out.extend(key(Action::Search, "search"));
            if Queue::for_role(role).len() > 1 {
                out.extend(key(Action::NextQueue, "queue"));
            }
            if role == Role::Admin {
                out.extend(key(Action::Audit, "audit"));
            }
        }
        View::Audit => {
            out.extend(key(Action::EditAuditFilter, "filter"));
            out.extend(key(Action::Audit, "tickets"));
        }
    }
    out.extend(key(Action::NextPane, "pane"));
    out.extend(key(Action::Refresh, "reload"));
    out.extend(key(Action::Quit, "quit"));
    out
}
