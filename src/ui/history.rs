//! The history pane: the ticket's timeline, oldest first, one line per change.

use super::text::{pad, stamp, width};
use super::{Ctx, Target, message};
use crate::app::Main;
use crate::model::{ChangeKind, HistoryEntry};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// The style of the change itself: a status change takes the new status's style.
pub(super) fn change_style(cx: &Ctx, h: &HistoryEntry) -> Style {
    match (h.kind, h.new_status, h.new_priority) {
        (ChangeKind::Status | ChangeKind::Created, Some(s), _) => cx.theme.status(s),
        (ChangeKind::Priority, _, Some(p)) => cx.theme.priority(p),
        _ => Style::new(),
    }
}

pub(super) fn render(
    cx: &Ctx,
    main: &Main,
    target: Target,
    frame: &mut Frame,
    area: Rect,
    focused: bool,
) {
    let t = cx.theme;
    // Entries of another ticket stay on screen, dimmed, while the new ones are on their way
    // (drawn only when they are late: src/wire/pace.rs); otherwise they are not shown.
    let (entries, stale): (&[HistoryEntry], bool) = match (main.history.first(), target.id()) {
        (Some(h), Some(id)) if h.ticket_id == id => (&main.history, false),
        (Some(_), Some(_)) if main.history_req.is_some() => (&main.history, true),
        _ => (&[], false),
    };
    let mut title = vec![Span::raw("History")];
    if !entries.is_empty() {
        title.push(Span::raw(format!(" ({})", entries.len())));
    }
    if main.history_req.is_some() {
        title.push(Span::styled(" · loading…", t.key_hint));
    }
    let block = cx.pane(title, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.is_empty() {
        return;
    }
    if entries.is_empty() {
        let why = match target {
            _ if main.history_req.is_some() => "Loading…",
            Target::None => "",
            _ => "No changes recorded.",
        };
        message(frame, inner, why, t.muted);
        return;
    }

    let short = inner.width < 60;
    let who_w = entries
        .iter()
        .map(|h| width(&h.changed_by_name))
        .max()
        .unwrap_or(0)
        .min(if short { 12 } else { 20 });
    let height = usize::from(inner.height);
    // The entry at `history_scroll` is kept in view, on the bottom line once scrolled.
    let at = main.history_scroll.min(entries.len() - 1);
    let start = (at + 1).saturating_sub(height);
    let lines: Vec<Line> = entries
        .iter()
        .enumerate()
        .skip(start)
        .take(height)
        .map(|(i, h)| {
            let line = Line::from(vec![
                Span::styled(stamp(h.changed_at, short), t.muted),
                Span::raw("  "),
                Span::raw(pad(&h.changed_by_name, who_w)),
                Span::raw("  "),
                Span::styled(h.describe(), change_style(cx, h)),
            ]);
            if focused && i == at {
                line.style(t.selected)
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
    if stale {
        super::detail::dim(frame, inner);
    }
}
