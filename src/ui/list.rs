//! The ticket list: one row per ticket, status by name, only the visible window built.

use super::text::{ago, fit, width};
use super::{Ctx, message};
use crate::app::Main;
use crate::app::filter::matched_words;
use crate::model::{Queue, Role, Status, TicketRow};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, HighlightSpacing, Paragraph, Row, Table, TableState};

/// The marker in front of the selected row (visible without colour or styles).
pub(super) const MARK: &str = "▶ ";

/// A status in a narrow column: "waiting on customer" becomes "waiting".
pub(super) fn status_short(s: Status) -> String {
    match s {
        Status::WaitingOnCustomer => "waiting".into(),
        other => other.to_string(),
    }
}

/// Which people a queue's rows differ by, so a column of them tells something: a customer's
/// own list has no Customer column (always them), an agent's Mine no Agent column (always
/// them), the unassigned pool no Agent column (always nobody).
#[derive(Clone, Copy)]
pub(super) struct Names {
    pub agent: bool,
    pub customer: bool,
}

impl Names {
    pub fn for_queue(role: Role, queue: Queue) -> Names {
        match (role, queue) {
            (Role::Customer, _) => Names {
                agent: true,
                customer: false,
            },
            (_, Queue::Mine | Queue::Unassigned) => Names {
                agent: false,
                customer: true,
            },
            (_, Queue::All) => Names {
                agent: true,
                customer: true,
            },
        }
    }
}

/// Which columns fit, and how wide each is.
struct Columns {
    priority: bool,
    status: u16,
    subject: u16,
    customer: u16,
    agent: u16,
    updated: bool,
}

impl Columns {
    fn for_width(w: u16, names: Names) -> Columns {
        // Columns: mark(2) [priority 6] status subject [customer] [agent] [updated 4], one
        // space between.
        let w = w.saturating_sub(2);
        let priority = w >= 38;
        let updated = w >= 46;
        let status = if w >= 130 { 19 } else { 11 };
        let name = match w {
            140.. => 20,
            100.. => 16,
            58.. => 12,
            _ => 0,
        };
        // Two name columns only when the subject keeps room; then the agent (who has it).
        let both = w >= 90;
        let agent = if names.agent { name } else { 0 };
        let customer = if names.customer && (both || !names.agent) {
            name
        } else {
            0
        };
        let mut fixed = status;
        for (on, cols) in [
            (priority, 7),
            (updated, 5),
            (customer > 0, customer + 1),
            (agent > 0, agent + 1),
        ] {
            if on {
                fixed += cols;
            }
        }
        Columns {
            priority,
            status,
            subject: w.saturating_sub(fixed + 1).max(1),
            customer,
            agent,
            updated,
        }
    }

    fn widths(&self) -> Vec<Constraint> {
        let mut v = Vec::new();
        if self.priority {
            v.push(Constraint::Length(6));
        }
        v.push(Constraint::Length(self.status));
        v.push(Constraint::Length(self.subject));
        if self.customer > 0 {
            v.push(Constraint::Length(self.customer));
        }
        if self.agent > 0 {
            v.push(Constraint::Length(self.agent));
        }
        if self.updated {
            v.push(Constraint::Length(4));
        }
        v
    }

    fn header(&self) -> Row<'static> {
        let mut v = Vec::new();
        if self.priority {
            v.push(Cell::from("Prio"));
        }
        v.push(Cell::from("Status"));
        v.push(Cell::from("Subject"));
        if self.customer > 0 {
            v.push(Cell::from("Customer"));
        }
        if self.agent > 0 {
            v.push(Cell::from("Agent"));
        }
        if self.updated {
            v.push(Cell::from(Line::from("Upd").right_aligned()));
        }
        Row::new(v)
    }

    fn row(&self, cx: &Ctx, r: &TicketRow, filter: &str) -> Row<'static> {
        let t = cx.theme;
        let mut v = Vec::new();
        if self.priority {
            v.push(Cell::from(Span::styled(
                r.priority.to_string(),
                t.priority(r.priority),
            )));
        }
        let status = if self.status >= 19 {
            r.status.to_string()
        } else {
            status_short(r.status)
        };
        v.push(Cell::from(Span::styled(status, t.status(r.status))));
        // The number people say, and a mark (and bold) for news since the person last looked.
        let mark = if r.unseen { "● " } else { "" };
        let subject = fit(
            &format!("{mark}#{} {}", r.number, r.subject),
            usize::from(self.subject),
        );
        let line = highlighted(&subject, filter);
        v.push(Cell::from(if r.unseen {
            line.style(Style::new().add_modifier(Modifier::BOLD))
        } else {
            line
        }));
        if self.customer > 0 {
            v.push(match &r.customer_name {
                Some(name) => Cell::from(fit(name, usize::from(self.customer))),
                None => Cell::from(Span::styled("—", t.muted)),
            });
        }
        if self.agent > 0 {
            v.push(match &r.agent_name {
                Some(name) => Cell::from(fit(name, usize::from(self.agent))),
                None => Cell::from(Span::styled("—", t.muted)),
            });
        }
        if self.updated {
            v.push(Cell::from(
                Line::from(ago(r.updated_at, cx.now)).right_aligned(),
            ));
        }
        Row::new(v)
    }
}

/// The subject with the words the filter matched underlined and bold (visible without
/// colour), so the person sees why a row is listed.
fn highlighted(subject: &str, filter: &str) -> Line<'static> {
    let ranges = matched_words(subject, filter);
    if ranges.is_empty() {
        return Line::from(subject.to_owned());
    }
    let mark = Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
    let mut spans = Vec::new();
    let mut at = 0;
    for (a, b) in ranges {
        if a > at {
            spans.push(Span::raw(subject[at..a].to_owned()));
        }
        spans.push(Span::styled(subject[a..b].to_owned(), mark));
        at = b;
    }
    if at < subject.len() {
        spans.push(Span::raw(subject[at..].to_owned()));
    }
    Line::from(spans)
}

/// The first row of a window of `height` rows that keeps `selected` in view, near the middle
/// once the list is longer than the window (stateless: the same state gives the same picture).
pub(super) fn window_start(selected: usize, len: usize, height: usize) -> usize {
    if len <= height || height == 0 {
        return 0;
    }
    selected.saturating_sub(height / 2).min(len - height)
}

pub(super) fn render(
    cx: &Ctx,
    main: &Main,
    visible: &[usize],
    frame: &mut Frame,
    area: Rect,
    focused: bool,
) {
    let t = cx.theme;
    let list = &main.list;
    let mut title = vec![Span::raw(main.queue.label(main.me.role))];
    if !list.search.is_empty() {
        title.push(Span::raw(format!(
            " · search \"{}\"",
            fit(&list.search, 24)
        )));
    }
    if list.loading.is_some() {
        title.push(Span::styled(" · loading…", t.key_hint));
    }
    let selected = list.selected.min(visible.len().saturating_sub(1));
    let mut block = cx.pane(title, focused);
    if !visible.is_empty() {
        let more = if list.exhausted || !list.filter.is_empty() {
            ""
        } else {
            "+"
        };
        let pos = if list.head_missing && list.filter.is_empty() {
            // Read from the end (`G`): where the cursor is counts from there.
            format!(" {} from the end ", visible.len() - selected)
        } else if list.filter.is_empty() {
            format!(" {}/{}{more} ", selected + 1, visible.len())
        } else {
            format!(
                " {}/{} of {} ",
                selected + 1,
                visible.len(),
                list.rows.len()
            )
        };
        block = block.title_top(Line::from(pos).right_aligned());
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.is_empty() {
        return;
    }

    let show_filter = list.filtering || !list.filter.is_empty();
    let [filter_area, table_area] = Layout::vertical([
        Constraint::Length(u16::from(show_filter)),
        Constraint::Fill(1),
    ])
    .areas(inner);
    if show_filter {
        let field = if list.filtering {
            t.input_focused
        } else {
            t.input
        };
        let mut spans = vec![
            Span::styled("Filter: ", t.key_hint),
            Span::styled(list.filter.clone(), field),
        ];
        if list.filtering {
            spans.push(Span::styled("  enter keep · esc clear", t.muted));
        } else {
            spans.push(Span::styled("  (esc clears)", t.muted));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), filter_area);
        let typing_elsewhere =
            main.form.is_some() || main.prompt.is_some() || main.picker.is_some();
        if list.filtering && !typing_elsewhere {
            let x = u16::try_from(width("Filter: ") + width(&list.filter)).unwrap_or(u16::MAX);
            cx.set_cursor(frame, filter_area, x, 0);
        }
    }

    if visible.is_empty() {
        let why = if list.loading.is_some() {
            "Loading…"
        } else if !list.filter.is_empty() {
            "Nothing matches the filter."
        } else if !list.search.is_empty() {
            "No tickets match the search."
        } else {
            "No tickets in this queue."
        };
        message(frame, table_area, why, t.muted);
        return;
    }

    let cols = Columns::for_width(table_area.width, Names::for_queue(main.me.role, main.queue));
    windowed_table(
        cx,
        frame,
        table_area,
        visible,
        selected,
        focused,
        cols.header(),
        cols.widths(),
        |&i| {
            list.rows
                .get(i)
                .map(|r| cols.row(cx, r, &list.filter))
                .unwrap_or_default()
        },
    );
}

/// Draws the items that fit in `area` under `header`, the selected one marked. Rows are built
/// only for that window: a list may hold thousands.
#[allow(clippy::too_many_arguments)]
pub(super) fn windowed_table<'a, T>(
    cx: &Ctx,
    frame: &mut Frame,
    area: Rect,
    items: &[T],
    selected: usize,
    focused: bool,
    header: Row<'a>,
    widths: impl IntoIterator<Item = Constraint>,
    row: impl Fn(&T) -> Row<'a>,
) {
    let t = cx.theme;
    let height = usize::from(area.height.saturating_sub(1));
    let start = window_start(selected, items.len(), height);
    let end = (start + height).min(items.len());
    let rows: Vec<Row> = items[start..end].iter().map(row).collect();
    let table = Table::new(rows, widths)
        .header(header.style(t.table_header))
        .column_spacing(1)
        .row_highlight_style(if focused {
            t.selected
        } else {
            t.selected_inactive
        })
        .highlight_symbol(MARK)
        .highlight_spacing(HighlightSpacing::Always);
    let mut state = TableState::default().with_selected(Some(selected - start));
    frame.render_stateful_widget(table, area, &mut state);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_keeps_the_selection_in_view() {
        assert_eq!(window_start(0, 5, 10), 0);
        assert_eq!(window_start(3, 100, 10), 0);
        assert_eq!(window_start(50, 100, 10), 45);
        assert_eq!(window_start(99, 100, 10), 90);
        assert_eq!(window_start(7, 100, 0), 0);
    }

    #[test]
    fn columns_add_up_to_the_width() {
        let all = Names {
            agent: true,
            customer: true,
        };
        for w in [0u16, 10, 37, 38, 46, 58, 78, 82, 90, 102, 120, 200] {
            let c = Columns::for_width(w, all);
            let n = c.widths().len() as u16;
            let sum: u16 = c
                .widths()
                .iter()
                .map(|c| match c {
                    Constraint::Length(l) => *l,
                    _ => 0,
                })
                .sum();
            if w >= 30 {
                assert_eq!(sum + n - 1 + 2, w, "width {w}");
            }
        }
    }
}
