//! The reply composer over the main screen: what kind of message this is, said before sending
//! (a reply the customer reads, or an internal note for staff), the status it sets, the text,
//! and the keys.

use super::Ctx;
use super::text::centered;
use crate::app::composer::Composer;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};

pub(super) fn render(cx: &Ctx, c: &Composer, frame: &mut Frame, area: Rect) {
    let t = cx.theme;
    let popup = centered(area, 90, 22);
    let (title, kind_style) = if c.internal {
        (format!(" Internal note on {} ", c.title), t.note)
    } else {
        (format!(" Reply to {} ", c.title), t.focused_title)
    };
    let outer = Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(if c.internal { t.note } else { t.focused_border })
        .title(Line::styled(title, kind_style));
    let inner = outer.inner(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(outer, popup);
    if inner.is_empty() {
        return;
    }
    let error_h = if c.error.is_some() { 2 } else { 0 };
    let [kind_area, text_area, error_area, keys_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(error_h),
        Constraint::Length(1),
    ])
    .areas(inner);

    let mut kind = if c.internal {
        vec![
            Span::styled(
                " INTERNAL NOTE ",
                t.note.add_modifier(ratatui::style::Modifier::REVERSED),
            ),
            Span::styled(" staff only: the customer never sees it", t.note),
        ]
    } else {
        vec![
            Span::styled(" REPLY ", t.selected),
            // Staff write to the customer; a customer writes to the staff on the ticket.
            Span::styled(
                if c.can_note {
                    " the customer reads it"
                } else {
                    " the support team reads it"
                },
                t.muted,
            ),
        ]
    };
    if let Some(s) = c.then_status {
        kind.push(Span::styled("  · then status ", t.muted));
        kind.push(Span::styled(s.to_string(), t.status(s)));
    }
    frame.render_widget(Paragraph::new(Line::from(kind)), kind_area);

    if c.sending {
        let lines: Vec<Line> = c
            .body
            .lines()
            .iter()
            .map(|l| Line::raw(l.clone()))
            .collect();
        frame.render_widget(Paragraph::new(lines).style(t.muted), text_area);
    } else {
        frame.render_widget(&c.body, text_area);
    }

    if let Some(e) = &c.error {
        let line = Line::from(vec![
            Span::styled(" ✖ ", t.error),
            Span::styled(e.clone(), t.error),
        ]);
        frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), error_area);
    }

    let mut keys = vec![Span::raw(" ")];
    if c.sending {
        keys.push(Span::styled("sending…  ", t.key_hint));
    } else {
        keys.extend(cx.hints(&[("ctrl-s".into(), "send")]));
        keys.push(Span::raw("  "));
        if c.can_note {
            let other = if c.internal {
                "make it a reply"
            } else {
                "make it a note"
            };
            keys.extend(cx.hints(&[("ctrl-t".into(), other)]));
            keys.push(Span::raw("  "));
        }
        if !c.internal && !c.status_choices.is_empty() {
            keys.extend(cx.hints(&[("ctrl-o".into(), "status with it")]));
            keys.push(Span::raw("  "));
        }
    }
    keys.extend(cx.hints(&[("esc".into(), "close, keep draft")]));
    frame.render_widget(Paragraph::new(Line::from(keys)), keys_area);
}
