//! The customer's new-ticket form: subject, multi-line description, priority, each message next
//! to its field, and the keys at the bottom.

use super::Ctx;
use super::text::{centered, field_view};
use crate::app::form::{FormField, TicketForm};
use crate::model::Priority;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};

/// A field's frame: heavy and highlighted when it has the cursor; its error in the bottom edge.
fn field_block<'a>(cx: &Ctx, title: &'a str, focused: bool, error: Option<&str>) -> Block<'a> {
    let t = cx.theme;
    let (kind, border, title_style) = if focused {
        (BorderType::Thick, t.focused_border, t.focused_title)
    } else {
        (BorderType::Plain, t.border, t.title)
    };
    let mut block = Block::bordered()
        .border_type(kind)
        .border_style(border)
        .title(Line::styled(format!(" {title} "), title_style));
    if let Some(e) = error {
        block = block.title_bottom(Line::styled(format!(" ✖ {e} "), t.error));
    }
    block
}

pub(super) fn render(cx: &Ctx, form: &TicketForm, frame: &mut Frame, area: Rect) {
    let t = cx.theme;
    let popup = centered(area, 90, 26);
    let outer = Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(t.focused_border)
        .title(Line::styled(
            match &form.customer {
                Some(c) => format!(" New ticket for {} ", c.label),
                None => " New ticket ".to_owned(),
            },
            t.focused_title,
        ));
    let inner = outer.inner(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(outer, popup);
    if inner.is_empty() {
        return;
    }
    let [subject_area, desc_area, prio_area, error_area, keys_area] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);

    // Subject: a tui-input line.
    let focus = form.focus;
    let block = field_block(
        cx,
        "Subject",
        focus == FormField::Subject,
        form.subject_error.as_deref(),
    );
    let subject_inner = block.inner(subject_area);
    frame.render_widget(block, subject_area);
    let view = field_view(&form.subject, false, subject_inner.width);
    frame.render_widget(Paragraph::new(view.text), subject_inner);
    if focus == FormField::Subject && !form.submitting {
        cx.set_cursor(frame, subject_inner, view.cursor, 0);
    }

    // Description: the TextArea itself when it has the keys (it draws its own cursor), its
    // lines otherwise.
    let block = field_block(
        cx,
        "Description",
        focus == FormField::Description,
        form.description_error.as_deref(),
    );
    let desc_inner = block.inner(desc_area);
    frame.render_widget(block, desc_area);
    if focus == FormField::Description && !form.submitting {
        frame.render_widget(&form.description, desc_inner);
    } else if form.description.is_empty() {
        let hint = form.description.placeholder_text().to_owned();
        frame.render_widget(Paragraph::new(hint).style(t.muted), desc_inner);
    } else {
        let lines: Vec<Line> = form
            .description
            .lines()
            .iter()
            .map(|l| Line::raw(l.replace('\t', "    ")))
            .collect();
        // Wrapped as when it has the keys, so no part of a long line is hidden.
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), desc_inner);
    }

    // Priority: a choice row, the chosen one marked with ● (and the selection style).
    let focused = focus == FormField::Priority;
    let label_style = if focused { t.focused_title } else { t.title };
    let mut spans = vec![Span::styled(" Priority  ", label_style)];
    for &p in Priority::ALL {
        let chosen = p == form.priority;
        let mark = if chosen { "●" } else { "○" };
        let style = if chosen && focused {
            t.selected
        } else if chosen {
            t.priority(p).patch(t.focused_title)
        } else {
            t.muted
        };
        spans.push(Span::styled(format!("{mark} {p}"), style));
        spans.push(Span::raw("   "));
    }
    if focused {
        spans.push(Span::styled("←/→ change", t.muted));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), prio_area);

    if let Some(e) = &form.error {
        let line = Line::from(vec![
            Span::styled(" ✖ ", t.error),
            Span::styled(e.clone(), t.error),
        ]);
        frame.render_widget(Paragraph::new(line), error_area);
    }

    let mut keys = vec![Span::raw(" ")];
    if form.submitting {
        keys.push(Span::styled("submitting…  ", t.key_hint));
    } else {
        keys.extend(cx.hints(&[("tab".into(), "next field"), ("ctrl-s".into(), "send")]));
        keys.push(Span::raw("  "));
    }
    keys.extend(cx.hints(&[("esc".into(), "close (draft kept)")]));
    frame.render_widget(Paragraph::new(Line::from(keys)), keys_area);
}
