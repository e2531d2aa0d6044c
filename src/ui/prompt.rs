//! The one-line prompt: server search and the audit filter's text and date fields.

use super::Ctx;
use super::text::{centered, field_view};
use crate::app::{Main, Prompt};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Padding, Paragraph};

pub(super) fn render(cx: &Ctx, main: &Main, prompt: &Prompt, frame: &mut Frame, area: Rect) {
    let t = cx.theme;
    let popup = centered(area, 64, 4);
    let block = Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(t.focused_border)
        .padding(Padding::horizontal(1))
        .title(Line::styled(
            format!(" {} ", prompt.kind.label()),
            t.focused_title,
        ));
    let inner = block.inner(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(block, popup);
    if inner.is_empty() {
        return;
    }
    let [input_area, below] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(inner);
    let view = field_view(&prompt.input, prompt.kind.masked(), input_area.width);
    // The previous value, selected: typing replaces it (shown like a selected row).
    let style = if prompt.selected {
        t.selected
    } else {
        t.input_focused
    };
    frame.render_widget(Paragraph::new(view.text).style(style), input_area);
    cx.set_cursor(frame, input_area, view.cursor, 0);
    let line = match &main.prompt_error {
        Some(e) => Line::from(vec![
            Span::styled("✖ ", t.error),
            Span::styled(e.clone(), t.error),
        ]),
        None => Line::from(cx.hints(&[("enter".into(), "apply"), ("esc".into(), "cancel")])),
    };
    frame.render_widget(Paragraph::new(line), below);
}
