//! The detail pane: the ticket's fields, then its conversation: the description, then replies,
//! internal notes and the history's events in time order. The conversation scrolls on its own
//! so the fields stay in view; `G` reaches the newest entry.

use super::text::{ago_phrase, one_line, stamp_in, wrap, zone_name};
use super::{Ctx, Target, message};
use crate::app::Main;
use crate::model::{ThreadEntry, ThreadKind, TicketRow};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

const LABEL: usize = 10;

pub(super) fn render(
    cx: &Ctx,
    main: &Main,
    target: Target,
    frame: &mut Frame,
    area: Rect,
    focused: bool,
) {
    let t = cx.theme;
    // The loaded detail if it is the target's. While the target's is on its way, the previous
    // ticket stays on screen, dimmed, rather than blanking the pane and filling it again (this
    // frame is only drawn when the reply is late: src/wire/pace.rs). Else what the list row
    // already tells.
    let stale = main.detail_req.is_some()
        && main
            .detail
            .as_ref()
            .is_some_and(|d| Some(d.row.id) != target.id());
    let detail = main
        .detail
        .as_ref()
        .filter(|d| stale || Some(d.row.id) == target.id());
    let row: Option<&TicketRow> = match (detail, target) {
        (Some(d), _) => Some(&d.row),
        (None, Target::Row(r)) => Some(r),
        _ => None,
    };
    let mut title = vec![Span::raw("Ticket")];
    match row {
        Some(r) => title.push(Span::raw(format!(" #{}", r.number))),
        None => {
            if let Some(id) = target.id() {
                title.push(Span::raw(format!(" {}", &id.simple().to_string()[..8])));
            }
        }
    }
    if main.detail_req.is_some() || main.thread_req.is_some() {
        title.push(Span::styled(" · loading…", t.key_hint));
    }
    let block = cx.pane(title, focused);
    let inner = block.inner(area);
    let Some(row) = row else {
        frame.render_widget(block, area);
        let why = if main.detail_req.is_some() {
            "Loading…"
        } else if target.id().is_some() {
            "Nothing to show for this ticket."
        } else {
            "No ticket selected."
        };
        message(frame, inner, why, t.muted);
        return;
    };
    if inner.is_empty() {
        frame.render_widget(block, area);
        return;
    }

    let w = usize::from(inner.width);
    let label = |s: &str| Span::styled(format!("{s:<LABEL$}"), t.muted);
    let mut head: Vec<Line> = wrap(&row.subject, w)
        .into_iter()
        .take(2)
        .map(|l| Line::from(Span::styled(l, t.focused_title)))
        .collect();
    head.push(Line::from(vec![
        label("Status"),
        Span::styled(row.status.to_string(), t.status(row.status)),
        Span::raw("   "),
        Span::styled("Priority ", t.muted),
        Span::styled(row.priority.to_string(), t.priority(row.priority)),
    ]));
    if let Some(d) = detail {
        let who = match (&d.customer_name, &d.customer_email) {
            (Some(n), Some(e)) => Some(format!("{} <{}>", one_line(n), one_line(e))),
            (Some(n), None) => Some(one_line(n).into_owned()),
            (None, Some(e)) => Some(one_line(e).into_owned()),
            (None, None) => None,
        };
        if let Some(who) = who {
            head.push(Line::from(vec![label("Customer"), Span::raw(who)]));
        }
    }
    head.push(Line::from(vec![
        label("Agent"),
        match &row.agent_name {
            Some(a) => Span::raw(one_line(a).into_owned()),
            None => Span::styled("— unassigned", t.muted),
        },
    ]));
    // Times on the person's clock (TZ), the zone named once.
    let zone = zone_name(&cx.zone);
    let created = format!(
        "{} {zone} ({})",
        stamp_in(row.created_at, false, cx.now, &cx.zone),
        ago_phrase(row.created_at, cx.now)
    );
    if w >= 60 {
        // One line for both times when it fits: the description gets the room.
        let updated = format!("updated {}", ago_phrase(row.updated_at, cx.now));
        head.push(Line::from(vec![
            label("Created"),
            Span::raw(created),
            Span::styled(" · ", t.muted),
            Span::raw(updated),
        ]));
    } else {
        let updated = format!(
            "{} {zone} ({})",
            stamp_in(row.updated_at, false, cx.now, &cx.zone),
            ago_phrase(row.updated_at, cx.now)
        );
        head.push(Line::from(vec![label("Created"), Span::raw(created)]));
        head.push(Line::from(vec![label("Updated"), Span::raw(updated)]));
    }

    let mut body: Vec<Line> = match detail {
        Some(d) if d.description.trim().is_empty() => {
            vec![Line::styled("(no description)", t.muted)]
        }
        Some(d) => wrap(&d.description, w)
            .into_iter()
            .map(Line::from)
            .collect(),
        None if main.detail_req.is_some() => vec![Line::styled("Loading…", t.muted)],
        None => Vec::new(),
    };
    if main.thread_for == Some(row.id) {
        let n = main.thread.iter().filter(|e| e.body.is_some()).count();
        let label = match n {
            0 => " conversation: no messages yet ".to_owned(),
            1 => " conversation: 1 message ".to_owned(),
            n => format!(" conversation: {n} messages "),
        };
        body.push(Line::raw(""));
        body.push(Line::styled(
            format!(
                "──{label}{}",
                "─".repeat(w.saturating_sub(label.chars().count() + 2))
            ),
            t.muted,
        ));
        body.extend(conversation(cx, &main.thread, main.thread_more, w));
    }

    // Fields on top, a rule, then the description; when the pane is too short for that, it all
    // scrolls together.
    let head_h = u16::try_from(head.len()).unwrap_or(u16::MAX);
    let split = inner.height >= head_h + 3;
    let (head_area, body_area) = if split {
        let [h, _, b] = Layout::vertical([
            Constraint::Length(head_h),
            Constraint::Length(1),
            Constraint::Fill(1),
        ])
        .areas(inner);
        let rule = Rect::new(inner.x, h.bottom(), inner.width, 1);
        frame.render_widget(Paragraph::new("─".repeat(w)).style(t.border), rule);
        (Some(h), b)
    } else {
        (None, inner)
    };
    let mut lines = body;
    if let Some(h) = head_area {
        frame.render_widget(Paragraph::new(head), h);
    } else {
        head.push(Line::raw(""));
        head.extend(lines);
        lines = head;
    }
    let total = lines.len();
    let height = usize::from(body_area.height);
    let max_scroll = total.saturating_sub(height);
    let scroll = usize::from(main.detail_scroll).min(max_scroll);
    // Paging in `update` moves by what is on screen.
    main.detail_view
        .set((u16::try_from(total).unwrap_or(u16::MAX), body_area.height));
    let mut block = block;
    if total > height && height > 0 {
        let last = (scroll + height).min(total);
        block = block.title_bottom(
            Line::from(format!(" {}–{} of {} lines ", scroll + 1, last, total)).right_aligned(),
        );
    }
    frame.render_widget(block, area);
    let shown: Vec<Line> = lines.into_iter().skip(scroll).take(height).collect();
    frame.render_widget(Paragraph::new(shown), body_area);
    if stale {
        dim(frame, inner);
    }
}

/// Marks a pane's content as the previous one (kept while its replacement loads).
pub(super) fn dim(frame: &mut Frame, area: Rect) {
    frame
        .buffer_mut()
        .set_style(area, Style::new().add_modifier(Modifier::DIM));
}

/// The thread below the description: a heading per message or note (who, when; notes marked
/// INTERNAL NOTE in words and style), its text, and one line per history event.
fn conversation(cx: &Ctx, entries: &[ThreadEntry], more: bool, w: usize) -> Vec<Line<'static>> {
    let t = cx.theme;
    let mut lines = Vec::new();
    for e in entries {
        let who = e.person_name.clone().unwrap_or_else(|| "someone".into());
        let when = format!(
            "{} ({})",
            stamp_in(e.at, w < 60, cx.now, &cx.zone),
            ago_phrase(e.at, cx.now)
        );
        match e.kind {
            ThreadKind::Message | ThreadKind::Note => {
                let note = e.kind == ThreadKind::Note;
                lines.push(Line::raw(""));
                let mut head = vec![];
                if note {
                    head.push(Span::styled(
                        "INTERNAL NOTE ",
                        t.note.add_modifier(ratatui::style::Modifier::BOLD),
                    ));
                }
                head.push(Span::styled(who, t.focused_title));
                head.push(Span::styled(format!(" · {when}"), t.muted));
                lines.push(Line::from(head));
                let style = if note {
                    t.note
                } else {
                    ratatui::style::Style::new()
                };
                // A note's text is indented behind a bar, so it stays a note when scrolled.
                let (prefix, width) = if note {
                    ("▍ ", w.saturating_sub(2))
                } else {
                    ("", w)
                };
                for l in wrap(e.body.as_deref().unwrap_or(""), width.max(1)) {
                    lines.push(Line::from(vec![
                        Span::styled(prefix, t.note),
                        Span::styled(l, style),
                    ]));
                }
            }
            ThreadKind::Change(_) => {
                lines.push(Line::from(vec![
                    Span::styled(
                        format!("· {} ", stamp_in(e.at, true, cx.now, &cx.zone)),
                        t.muted,
                    ),
                    Span::styled(format!("{who}: "), t.muted),
                    Span::raw(e.describe().unwrap_or_default()),
                ]));
            }
        }
    }
    if more {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "… the conversation goes on: only its first 500 entries are shown.",
            t.muted,
        ));
    }
    lines
}
