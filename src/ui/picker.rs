//! Choice lists over the main screen: a new status, a new priority, the agent to hand off to,
//! or which part of the audit filter to edit.

use super::text::{centered, fit, width};
use super::{Ctx, list::MARK};
use crate::app::AUDIT_FIELDS;
use crate::app::keymap::Action;
use crate::app::{Main, Picker};
use crate::model::TicketRow;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, BorderType, Clear, HighlightSpacing, List, ListState, Padding, Paragraph,
};
use uuid::Uuid;

fn ticket(main: &Main, id: Uuid) -> Option<&TicketRow> {
    match &main.detail {
        Some(d) if d.row.id == id => Some(&d.row),
        _ => main.list.rows.iter().find(|r| r.id == id),
    }
}

/// The audit filter's current value for each of `AUDIT_FIELDS`.
fn audit_values(main: &Main) -> [String; 6] {
    let f = &main.audit.filter;
    let date = |d: Option<chrono::DateTime<chrono::Utc>>| {
        d.map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    [
        f.person.clone(),
        f.ticket.clone(),
        f.kind
            .map(|k| k.to_string())
            .unwrap_or_else(|| "any".into()),
        date(f.since),
        date(f.until),
        String::new(),
    ]
}

pub(super) fn render(cx: &Ctx, main: &Main, picker: &Picker, frame: &mut Frame, area: Rect) {
    let t = cx.theme;
    let about = |id: &Uuid, now: Span<'static>| -> Vec<Line<'static>> {
        match ticket(main, *id) {
            Some(r) => vec![
                Line::styled(r.subject.clone(), t.title),
                Line::from(vec![Span::styled("now: ", t.muted), now.clone()]),
                Line::raw(""),
            ],
            None => Vec::new(),
        }
    };
    let current = |id: &Uuid| ticket(main, *id);
    let (title, context, items, selected): (&str, Vec<Line>, Vec<Line>, usize) = match picker {
        Picker::Status {
            ticket: id,
            options,
            selected,
        } => (
            "Change status",
            current(id).map_or_else(Vec::new, |r| {
                about(id, Span::styled(r.status.to_string(), t.status(r.status)))
            }),
            options
                .iter()
                .map(|s| Line::styled(s.to_string(), t.status(*s)))
                .collect(),
            *selected,
        ),
        Picker::Priority {
            ticket: id,
            options,
            selected,
        } => (
            "Change priority",
            current(id).map_or_else(Vec::new, |r| {
                about(
                    id,
                    Span::styled(r.priority.to_string(), t.priority(r.priority)),
                )
            }),
            options
                .iter()
                .map(|p| Line::styled(p.to_string(), t.priority(*p)))
                .collect(),
            *selected,
        ),
        Picker::Agent {
            ticket: id,
            options,
            selected,
        } => (
            "Hand off to",
            current(id).map_or_else(Vec::new, |r| {
                let agent = r.agent_name.clone().unwrap_or_else(|| "unassigned".into());
                about(id, Span::raw(agent))
            }),
            options
                .iter()
                .map(|p| {
                    let mut spans = vec![Span::raw(p.display_name.clone())];
                    if !p.active {
                        spans.push(Span::styled(" (inactive)", t.muted));
                    }
                    Line::from(spans)
                })
                .collect(),
            *selected,
        ),
        Picker::AuditField { selected } => {
            let values = audit_values(main);
            let label_w = AUDIT_FIELDS.iter().map(|f| width(f)).max().unwrap_or(0);
            let items = AUDIT_FIELDS
                .iter()
                .zip(values)
                .map(|(f, v)| {
                    if v.is_empty() {
                        Line::raw(f.to_string())
                    } else {
                        Line::from(vec![
                            Span::raw(format!("{f:<label_w$}  ")),
                            Span::styled(fit(&v, 24), t.key_hint),
                        ])
                    }
                })
                .collect();
            ("Filter the audit log", Vec::new(), items, *selected)
        }
    };

    let keys: Vec<(String, &str)> = [(Action::Open, "choose"), (Action::Back, "cancel")]
        .iter()
        .filter_map(|(a, what)| cx.key(*a).map(|k| (k, *what)))
        .collect();
    let hint = Line::from(cx.hints(&keys));
    let widest = items
        .iter()
        .map(|l| l.width() + 2)
        .chain(context.iter().map(Line::width))
        .chain([width(title) + 2, hint.width()])
        .max()
        .unwrap_or(0);
    // Borders and a column of padding on each side; the subject may be cut, the choices not.
    let w = u16::try_from(widest + 4).unwrap_or(u16::MAX).clamp(36, 60);
    let context_h = u16::try_from(context.len()).unwrap_or(0);
    let h = u16::try_from(items.len())
        .unwrap_or(u16::MAX)
        .saturating_add(context_h + 4);
    let popup = centered(area, w, h);
    let block = Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(t.focused_border)
        .padding(Padding::horizontal(1))
        .title(Line::styled(format!(" {title} "), t.focused_title));
    let inner = block.inner(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(block, popup);
    if inner.is_empty() {
        return;
    }
    let [ctx_area, list_area, _, hint_area] = Layout::vertical([
        Constraint::Length(context_h),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let room = usize::from(ctx_area.width);
    let context: Vec<Line> = context
        .into_iter()
        .map(|l| {
            if l.width() > room {
                let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
                Line::styled(fit(&text, room), l.style.patch(t.title))
            } else {
                l
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(context), ctx_area);
    let n = items.len();
    let list = List::new(items)
        .highlight_symbol(MARK)
        .highlight_spacing(HighlightSpacing::Always)
        .highlight_style(t.selected);
    let mut state = ListState::default().with_selected((n > 0).then(|| selected.min(n - 1)));
    frame.render_stateful_widget(list, list_area, &mut state);
    frame.render_widget(Paragraph::new(hint), hint_area);
}
