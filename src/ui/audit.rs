//! The admin audit view: every change across all tickets, newest first, with its filter in the
//! title. Detail and history of the selected entry's ticket sit beside it (see `mod.rs`).

use super::list::windowed_table;
use super::text::{fit, stamp_in, width, zone_name};
use super::{Ctx, message};
use crate::app::Main;
use crate::model::{AuditFilter, ChangeKind, HistoryEntry};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row};

/// `by "bo" · kind status · since 2026-03-01`, or `all changes`.
pub(super) fn filter_summary(f: &AuditFilter) -> String {
    let mut parts = Vec::new();
    if !f.person.is_empty() {
        parts.push(format!("by \"{}\"", fit(&f.person, 20)));
    }
    if !f.ticket.is_empty() {
        parts.push(format!("ticket \"{}\"", fit(&f.ticket, 20)));
    }
    if let Some(k) = f.kind {
        parts.push(format!("kind {k}"));
    }
    if let Some(s) = f.since {
        parts.push(format!("since {}", s.format("%Y-%m-%d")));
    }
    if let Some(u) = f.until {
        parts.push(format!("until {}", u.format("%Y-%m-%d")));
    }
    if parts.is_empty() {
        "all changes".into()
    } else {
        parts.join(" · ")
    }
}

struct Columns {
    short_time: bool,
    subject: u16,
    who: u16,
    what: u16,
}

impl Columns {
    fn for_width(w: u16) -> Columns {
        // mark(2) when subject who what, one space between.
        let w = w.saturating_sub(2);
        let short_time = w < 96;
        let time = if short_time { 11 } else { 16 };
        let who = match w {
            140.. => 30,
            96.. => 18,
            76.. => 12,
            _ => 10,
        };
        let what = (w * 2 / 5).clamp(18, 36);
        Columns {
            short_time,
            subject: w.saturating_sub(time + who + what + 3).max(1),
            who,
            what,
        }
    }

    fn widths(&self) -> [Constraint; 4] {
        let time = if self.short_time { 11 } else { 16 };
        [
            Constraint::Length(time),
            Constraint::Length(self.subject),
            Constraint::Length(self.who),
            Constraint::Length(self.what),
        ]
    }

    fn row(&self, cx: &Ctx, h: &HistoryEntry) -> Row<'static> {
        // The number people say (#1234) before the subject.
        let subject = match (h.ticket_number, h.ticket_subject.as_deref()) {
            (Some(n), Some(s)) => format!("#{n} {s}"),
            (Some(n), None) => format!("#{n}"),
            (None, s) => s.unwrap_or("?").to_owned(),
        };
        Row::new([
            Cell::from(Span::styled(
                stamp_in(h.changed_at, self.short_time, cx.now, &cx.zone),
                cx.theme.muted,
            )),
            Cell::from(fit(&subject, usize::from(self.subject))),
            Cell::from(fit(who(h, usize::from(self.who)), usize::from(self.who))),
            Cell::from(Span::styled(
                fit(&h.describe(), usize::from(self.what)),
                change_style(cx, h),
            )),
        ])
    }
}

/// Who made a change, in `w` columns: "Name (login)" when it fits, else the login (names
/// repeat across people; the login is the one that tells them apart).
fn who(h: &HistoryEntry, w: usize) -> &str {
    match &h.changed_by_login {
        Some(login) if width(&h.changed_by_name) > w => login,
        _ => &h.changed_by_name,
    }
}

pub(super) fn render(cx: &Ctx, main: &Main, frame: &mut Frame, area: Rect, focused: bool) {
    let t = cx.theme;
    let audit = &main.audit;
    let mut title = vec![
        Span::raw("Audit · "),
        Span::raw(filter_summary(&audit.filter)),
    ];
    if audit.loading.is_some() {
        title.push(Span::styled(" · loading…", t.key_hint));
    }
    let selected = audit.selected.min(audit.rows.len().saturating_sub(1));
    let mut block = cx.pane(title, focused);
    if !audit.rows.is_empty() {
        let more = if audit.exhausted { "" } else { "+" };
        let pos = if audit.head_missing {
            // Read from the end (`G`): where the cursor is counts from there.
            format!(" {} from the end ", audit.rows.len() - selected)
        } else {
            format!(" {}/{}{more} ", selected + 1, audit.rows.len())
        };
        block = block.title_top(Line::from(pos).right_aligned());
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.is_empty() {
        return;
    }
    if audit.rows.is_empty() {
        let why = if audit.loading.is_some() {
            "Loading…"
        } else if audit.filter == AuditFilter::default() {
            "No changes recorded yet."
        } else {
            "No changes match the filter."
        };
        message(frame, inner, why, t.muted);
        return;
    }
    let cols = Columns::for_width(inner.width);
    // The zone of the times, said once where they are read.
    let when = if cols.short_time {
        // 11 columns: "When UTC", or the offset alone ("UTC+01:00").
        let zone = zone_name(&cx.zone);
        if zone.len() <= 3 {
            format!("When {zone}")
        } else {
            zone
        }
    } else {
        format!("When ({})", zone_name(&cx.zone))
    };
    let header = Row::new([when, "Ticket".into(), "Who".into(), "What".into()]);
    windowed_table(
        cx,
        frame,
        inner,
        &audit.rows,
        selected,
        focused,
        header,
        cols.widths(),
        |h| cols.row(cx, h),
    );
}

/// The style of the change itself: a status change takes the new status's style.
pub(super) fn change_style(cx: &Ctx, h: &HistoryEntry) -> ratatui::style::Style {
    match (h.kind, h.new_status, h.new_priority) {
        (ChangeKind::Status | ChangeKind::Created, Some(s), _) => cx.theme.status(s),
        (ChangeKind::Priority, _, Some(p)) => cx.theme.priority(p),
        _ => ratatui::style::Style::new(),
    }
}
