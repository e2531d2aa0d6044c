//! The render layer: pure functions from `&App` to a frame. Nothing here changes state or does
//! I/O, so a frame is a picture of the state and tests can draw any state into a `TestBackend`.
//!
//! One file per pane; `mod.rs` lays the panes out and holds the helpers they share.

mod audit;
mod bars;
mod composer;
mod detail;
mod form;
mod help;
mod list;
mod login;
mod picker;
mod prompt;
pub mod text;
pub mod theme;

pub use theme::Theme;

use crate::app::keymap::Action;
use crate::app::{App, Main, Pane, Screen, View};
use crate::model::TicketRow;
use chrono::{DateTime, Offset, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Wrap};
use uuid::Uuid;

/// Below this width the panes take turns instead of sitting side by side.
pub const WIDE: u16 = 100;

/// The widest the detail and history panes get beside the list (a readable line).
const RIGHT_MAX: u16 = 90;

/// Draws the whole screen for the current time.
pub fn render(app: &App, theme: &Theme, frame: &mut Frame) {
    let now = Utc::now();
    // The local zone (TZ) at this moment: times are shown as the person's clock reads them.
    let zone = now.with_timezone(&chrono::Local).offset().fix();
    render_in(app, theme, frame, now, zone);
}

/// Draws as of `now` with times shown in `zone` (tests inject a fixed one).
pub fn render_in(
    app: &App,
    theme: &Theme,
    frame: &mut Frame,
    now: DateTime<Utc>,
    zone: chrono::FixedOffset,
) {
    let area = frame.area();
    if area.is_empty() {
        return;
    }
    let cx = Ctx {
        app,
        theme,
        now,
        zone,
    };
    match &app.screen {
        Screen::Login(form) => login::render(&cx, form, frame, area),
        Screen::Main(main) => draw_main(&cx, main, frame, area),
    }
    if app.help_open {
        help::render(&cx, frame, area);
    }
}

/// Draws the whole screen as of `now` (relative times such as "5m" are computed from it), so
/// tests get the same picture every time. Times are shown in UTC.
pub fn render_at(app: &App, theme: &Theme, frame: &mut Frame, now: DateTime<Utc>) {
    render_in(
        app,
        theme,
        frame,
        now,
        chrono::FixedOffset::east_opt(0).expect("UTC"),
    );
}

/// What every pane needs besides its own state.
pub(crate) struct Ctx<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
    pub now: DateTime<Utc>,
    /// The zone times are shown in (the local one, from TZ).
    pub zone: chrono::FixedOffset,
}

impl Ctx<'_> {
    /// The key to show for an action in a hint: one key, preferring named keys (tab, enter,
    /// esc) and letters over arrows and chords. `None` when the action is unbound.
    pub fn key(&self, action: Action) -> Option<String> {
        use ratatui::crossterm::event::KeyCode;
        let keys = self.app.keymap.keys_for(action);
        let rank = |k: &crate::app::keymap::Key| {
            let named = matches!(
                k.code,
                KeyCode::Tab | KeyCode::BackTab | KeyCode::Enter | KeyCode::Esc
            );
            let chord = k.ctrl || k.alt;
            (chord, !named, !matches!(k.code, KeyCode::Char(_)))
        };
        keys.iter().min_by_key(|k| rank(k)).map(ToString::to_string)
    }

    /// Where the terminal cursor may go: nowhere while the help overlay covers the screen.
    pub fn set_cursor(&self, frame: &mut Frame, area: Rect, x: u16, y: u16) {
        let pos = Position::new(area.x.saturating_add(x), area.y.saturating_add(y));
        if !self.app.help_open && area.contains(pos) && frame.area().contains(pos) {
            frame.set_cursor_position(pos);
        }
    }

    /// A bordered pane: the focused one gets a heavy border (visible without colour) and the
    /// focus style on its border and title.
    pub fn pane<'a>(&self, title: Vec<Span<'a>>, focused: bool) -> Block<'a> {
        let t = self.theme;
        let (border, title_style, kind) = if focused {
            (t.focused_border, t.focused_title, BorderType::Thick)
        } else {
            (t.border, t.title, BorderType::Plain)
        };
        let mut spans = vec![Span::raw(" ")];
        spans.extend(title);
        spans.push(Span::raw(" "));
        Block::bordered()
            .border_type(kind)
            .border_style(border)
            .title(Line::from(spans).style(title_style))
    }

    /// "key what" pairs as spans, e.g. `c claim  s status`.
    pub fn hints(&self, pairs: &[(String, &str)]) -> Vec<Span<'static>> {
        let mut spans = Vec::new();
        for (i, (key, what)) in pairs.iter().enumerate() {
            if i > 0 {
                spans.push(Span::raw("  "));
            }
            spans.push(Span::styled(key.clone(), self.theme.key_hint));
            spans.push(Span::styled(format!(" {what}"), self.theme.muted));
        }
        spans
    }
}

/// A short message in the middle of an empty pane ("No tickets in this queue.").
pub(crate) fn message(frame: &mut Frame, area: Rect, text: &str, style: Style) {
    if area.is_empty() {
        return;
    }
    let y = area.y + area.height.saturating_sub(1) / 2;
    let line = Rect::new(area.x, y, area.width, area.bottom().saturating_sub(y));
    frame.render_widget(
        Paragraph::new(text.to_owned())
            .style(style)
            .centered()
            .wrap(Wrap { trim: true }),
        line,
    );
}

/// The ticket the detail and history panes are about.
#[derive(Clone, Copy)]
pub(crate) enum Target<'a> {
    None,
    /// A row of the ticket list: known at once, even before its detail arrives.
    Row(&'a TicketRow),
    /// A ticket named by an audit entry.
    Id(Uuid),
}

impl Target<'_> {
    pub fn id(self) -> Option<Uuid> {
        match self {
            Target::None => None,
            Target::Row(r) => Some(r.id),
            Target::Id(id) => Some(id),
        }
    }
}

fn draw_main(cx: &Ctx, main: &Main, frame: &mut Frame, area: Rect) {
    // A notice gets its own rows above the key hints, wrapped (never cut), so the hints stay.
    let notice = bars::notice_lines(cx, area.width);
    let notice_rows = u16::try_from(notice.len()).unwrap_or(0);
    let [header, body, notice_area, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(notice_rows),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(notice), notice_area);
    bars::header(cx, main, frame, header);
    // The filter is applied once per frame and shared by the list, the detail and the hints.
    let visible = main.list.visible();
    let target = match (main.pinned, main.view) {
        (Some(id), _) => Target::Id(id),
        (None, View::Tickets) => visible
            .get(main.list.selected)
            .and_then(|&i| main.list.rows.get(i))
            .map_or(Target::None, Target::Row),
        (None, View::Audit) => main
            .audit
            .rows
            .get(main.audit.selected)
            .map_or(Target::None, |h| Target::Id(h.ticket_id)),
    };
    match main.view {
        View::Tickets => {
            let left = |frame: &mut Frame, area: Rect, focused: bool| {
                list::render(cx, main, &visible, frame, area, focused);
            };
            panes(cx, main, target, frame, body, 45, left);
        }
        View::Audit => {
            let left = |frame: &mut Frame, area: Rect, focused: bool| {
                audit::render(cx, main, frame, area, focused);
            };
            panes(cx, main, target, frame, body, 55, left);
        }
    }
    bars::status(cx, main, target, frame, status);
    if let Some(form) = &main.form {
        form::render(cx, form, frame, body);
    } else if let Some(c) = &main.composer {
        composer::render(cx, c, frame, body);
    } else if let Some(picker) = &main.picker {
        picker::render(cx, main, picker, frame, body);
    } else if let Some(prompt) = &main.prompt {
        prompt::render(cx, main, prompt, frame, body);
    }
}

/// Wide: the list on the left (`left_pct` of the width), detail over history on the right.
/// Narrow: the list alone, or detail over history once one of them has the focus.
fn panes(
    cx: &Ctx,
    main: &Main,
    target: Target,
    frame: &mut Frame,
    body: Rect,
    left_pct: u16,
    left: impl Fn(&mut Frame, Rect, bool),
) {
    let right = if body.width >= WIDE {
        // The right panes get their share up to a comfortable reading width; the list takes
        // the rest, so a wide terminal widens the list (more subject, more names).
        let right_w = (u32::from(body.width) * u32::from(100 - left_pct) / 100)
            .min(u32::from(RIGHT_MAX)) as u16;
        let [l, r] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(right_w)]).areas(body);
        left(frame, l, main.focus == Pane::List);
        r
    } else if main.focus == Pane::List {
        left(frame, body, true);
        return;
    } else {
        body
    };
    detail::render(cx, main, target, frame, right, main.focus == Pane::Detail);
}
