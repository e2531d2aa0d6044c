//! The terminal output (`src/wire`): what it writes, replayed into a terminal emulator (the
//! `vt100` crate, an independent VT parser), must leave exactly the screen ratatui drew, frame
//! after frame; and scrolling through the lists must stay within the byte budgets of a thin
//! link. The state machine is the real one; the database's replies are built here (pure UI).

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::{Buffer, Cell, CellWidth};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Position, Rect, Size};
use ratatui::style::{Color, Modifier, Style};
use tickets::app::*;
use tickets::model::*;
use tickets::ui::{Theme, render_at};
use tickets::wire::WireBackend;

#[path = "ui_snapshots/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;
use fixtures::*;

/// The same frames drawn into ratatui's TestBackend and into the wire backend, whose bytes go
/// into a vt100 parser; after each frame both screens must agree cell by cell.
struct Twin {
    test: Terminal<TestBackend>,
    wire: Terminal<WireBackend<Vec<u8>>>,
    vt: vt100::Parser,
    frames: usize,
}

impl Twin {
    fn new(w: u16, h: u16) -> Twin {
        let backend = WireBackend::new(
            Vec::new(),
            Some(Size {
                width: w,
                height: h,
            }),
        )
        .unwrap();
        Twin {
            test: Terminal::new(TestBackend::new(w, h)).unwrap(),
            wire: Terminal::new(backend).unwrap(),
            vt: vt100::Parser::new(h.try_into().unwrap(), w.try_into().unwrap(), 0),
            frames: 0,
        }
    }

    /// Draws with `f` on both; returns the bytes the wire backend wrote.
    fn draw(&mut self, f: impl Fn(&mut ratatui::Frame)) -> usize {
        self.test.draw(&f).unwrap();
        self.wire.draw(&f).unwrap();
        let bytes = std::mem::take(self.wire.backend_mut().writer_mut());
        self.vt.process(&bytes);
        self.frames += 1;
        same_screen(self.test.backend().buffer(), self.vt.screen(), self.frames);
        if let Some(p) = self.test.backend().cursor_position_if_shown() {
            let (row, col) = self.vt.screen().cursor_position();
            assert_eq!((col, row), (p.x, p.y), "cursor, frame {}", self.frames);
        }
        bytes.len()
    }

    fn draw_app(&mut self, app: &App, theme: &Theme) -> usize {
        self.draw(|f| render_at(app, theme, f, now()))
    }
}

trait ShownCursor {
    fn cursor_position_if_shown(&self) -> Option<Position>;
}

impl ShownCursor for TestBackend {
    fn cursor_position_if_shown(&self) -> Option<Position> {
        let mut b = self.clone();
        use ratatui::backend::Backend;
        b.get_cursor_position()
            .ok()
            .filter(|_| self.cursor_visible())
    }
}

fn vt_color(c: Color) -> vt100::Color {
    match c {
        Color::Reset => vt100::Color::Default,
        Color::Black => vt100::Color::Idx(0),
        Color::Red => vt100::Color::Idx(1),
        Color::Green => vt100::Color::Idx(2),
        Color::Yellow => vt100::Color::Idx(3),
        Color::Blue => vt100::Color::Idx(4),
        Color::Magenta => vt100::Color::Idx(5),
        Color::Cyan => vt100::Color::Idx(6),
        Color::Gray => vt100::Color::Idx(7),
        Color::DarkGray => vt100::Color::Idx(8),
        Color::LightRed => vt100::Color::Idx(9),
        Color::LightGreen => vt100::Color::Idx(10),
        Color::LightYellow => vt100::Color::Idx(11),
        Color::LightBlue => vt100::Color::Idx(12),
        Color::LightMagenta => vt100::Color::Idx(13),
        Color::LightCyan => vt100::Color::Idx(14),
        Color::White => vt100::Color::Idx(15),
        Color::Indexed(i) => vt100::Color::Idx(i),
        Color::Rgb(r, g, b) => vt100::Color::Rgb(r, g, b),
    }
}

fn same_screen(buf: &Buffer, screen: &vt100::Screen, frame: usize) {
    for y in 0..buf.area.height {
        let mut x = 0;
        while x < buf.area.width {
            let want = &buf[(x, y)];
            let got = screen.cell(y, x).expect("cell in range");
            let at = format!("frame {frame}, cell ({x}, {y})");
            let symbol = if want.symbol().is_empty() {
                " "
            } else {
                want.symbol()
            };
            let contents = if got.contents().is_empty() {
                " "
            } else {
                got.contents()
            };
            assert_eq!(contents, symbol, "{at}\n{}", screen.contents());
            assert_eq!(got.fgcolor(), vt_color(want.fg), "{at} fg");
            assert_eq!(got.bgcolor(), vt_color(want.bg), "{at} bg");
            let m = want.modifier;
            // vt100 keeps one intensity (bold or dim), terminals may keep both: the last one
            // sent is what it shows, so both-set cells are checked for one of the two.
            if m.contains(Modifier::BOLD | Modifier::DIM) {
                assert!(got.bold() || got.dim(), "{at} bold/dim");
            } else {
                assert_eq!(got.bold(), m.contains(Modifier::BOLD), "{at} bold");
                assert_eq!(got.dim(), m.contains(Modifier::DIM), "{at} dim");
            }
            assert_eq!(got.italic(), m.contains(Modifier::ITALIC), "{at} italic");
            assert_eq!(
                got.underline(),
                m.contains(Modifier::UNDERLINED),
                "{at} underline"
            );
            assert_eq!(
                got.inverse(),
                m.contains(Modifier::REVERSED),
                "{at} inverse"
            );
            x += want.cell_width().max(1);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The real state machine, with replies built from the fixtures.

fn many_rows(n: usize) -> Vec<TicketRow> {
    let base = rows();
    let names = ["Bo Berg", "Dee Diaz", "Eli Okafor-Lindqvist"];
    (0..n)
        .map(|i| {
            let t = &base[i % base.len()];
            TicketRow {
                id: ticket_id(1000 + i as u128),
                subject: format!("{} (#{i})", t.subject),
                status: Status::ALL[i % 5],
                priority: Priority::ALL[(i / 3) % 4],
                agent_id: (i % 4 != 0).then(|| id(BO)),
                agent_name: (i % 4 != 0).then(|| names[i % 3].to_owned()),
                updated_at: ago(i as i64 * 37),
                ..t.clone()
            }
        })
        .collect()
}

fn admin_app(rows: Vec<TicketRow>) -> App {
    let mut m = logged_in(me(ANA, "ana", "Ana Admin", Role::Admin), rows, 0);
    m.counts = [(Queue::All, 300), (Queue::Unassigned, 40)].into();
    m.queue = Queue::All;
    app_with(m)
}

fn row_of(app: &App, id: uuid::Uuid) -> TicketRow {
    let m = app.main().unwrap();
    m.list
        .rows
        .iter()
        .find(|r| r.id == id)
        .cloned()
        .unwrap_or_else(|| {
            let mut r = m.list.rows[0].clone();
            r.id = id;
            r.subject = format!("Ticket {}", &id.to_string()[..8]);
            r
        })
}

/// Answers what the state asked for, as the worker would (immediately).
fn answer(app: &mut App, effects: Vec<Effect>) {
    let mut replies = Vec::new();
    for e in effects {
        match e {
            Effect::LoadTicket { req, id } => {
                let r = row_of(app, id);
                replies.push(Reply::Ticket {
                    req,
                    id,
                    detail: Some(detail_of(&r)),
                });
            }
            Effect::LoadThread { req, id } => {
                let r = row_of(app, id);
                replies.push(Reply::Thread {
                    req,
                    id,
                    entries: thread_of(&r),
                    more: false,
                });
            }
            Effect::LoadAudit { req, after, .. } => {
                let m = app.main().unwrap();
                let rows: Vec<HistoryEntry> = if after.is_some() {
                    Vec::new()
                } else {
                    let mut feed: Vec<HistoryEntry> =
                        m.list.rows.iter().take(60).flat_map(history_of).collect();
                    for (i, h) in feed.iter_mut().enumerate() {
                        h.changed_at = ago(3 * i as i64 + 1);
                        h.id = id(0x5000_0000 + i as u128); // unique, as in the database
                    }
                    feed
                };
                replies.push(Reply::Audit {
                    req,
                    rows,
                    append: after.is_some(),
                });
            }
            Effect::LoadPage {
                req, queue, after, ..
            } => {
                replies.push(Reply::Page {
                    req,
                    queue,
                    rows: if after.is_some() {
                        Vec::new()
                    } else {
                        app.main().unwrap().list.rows.clone()
                    },
                    append: after.is_some(),
                    limit: 100,
                });
            }
            _ => {}
        }
    }
    for r in replies {
        let more = update(app, Msg::Db(r));
        answer(app, more);
    }
}

fn press(app: &mut App, code: KeyCode) {
    let effects = update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    answer(app, effects);
}

#[test]
fn scrolling_the_real_screens_replays_exactly() {
    for (w, h) in [(80, 24), (200, 60), (120, 40), (100, 30)] {
        for theme in [Theme::dark(), Theme::no_color()] {
            let mut app = admin_app(many_rows(300));
            let mut twin = Twin::new(w, h);
            twin.draw_app(&app, &theme);
            let script = [
                KeyCode::Char('j'),
                KeyCode::Char('j'),
                KeyCode::PageDown,
                KeyCode::Char('j'),
                KeyCode::Char('k'),
                KeyCode::PageUp,
                KeyCode::Char('G'),
                KeyCode::Char('g'),
                KeyCode::Tab,
                KeyCode::Char('j'),
                KeyCode::Char('j'),
                KeyCode::Tab,
                KeyCode::Char('k'),
                KeyCode::Esc,
                KeyCode::Char('A'),
                KeyCode::Char('j'),
                KeyCode::Char('j'),
                KeyCode::PageDown,
                KeyCode::Char('k'),
                KeyCode::Char('?'),
                KeyCode::Esc,
                KeyCode::Char('/'),
                KeyCode::Char('p'),
                KeyCode::Esc,
            ];
            for _ in 0..30 {
                press(&mut app, KeyCode::Char('j'));
                twin.draw_app(&app, &theme);
            }
            for key in script {
                press(&mut app, key);
                twin.draw_app(&app, &theme);
            }
        }
    }
}

/// A small deterministic generator (no dependency needed for this).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Random screens with wide characters, every style, text up to the last column, and bands of
/// rows that shift between frames: the cases an optimiser gets wrong.
#[test]
fn random_frames_replay_exactly() {
    let symbols = ["a", "b", "─", "│", "▶", "…", "é", "中", "文", " ", " ", " "];
    let colors = [
        Color::Reset,
        Color::Red,
        Color::DarkGray,
        Color::LightCyan,
        Color::Indexed(238),
        Color::Rgb(10, 200, 30),
    ];
    let mods = [
        Modifier::empty(),
        Modifier::BOLD,
        Modifier::DIM,
        Modifier::BOLD | Modifier::DIM,
        Modifier::UNDERLINED | Modifier::REVERSED,
        Modifier::ITALIC,
    ];
    let mut rng = Lcg(7);
    for (w, h) in [(20u16, 8u16), (80, 24), (37, 13)] {
        let mut twin = Twin::new(w, h);
        let mut screen = Buffer::empty(Rect::new(0, 0, w, h));
        for frame in 0..150 {
            match rng.next(4) {
                0 => {
                    // Shift a band of rows up or down, like a scrolled list.
                    let top = rng.next(u64::from(h) - 1) as u16;
                    let bottom = top + 1 + rng.next(u64::from(h - top - 1)) as u16;
                    let by = 1 + rng.next(3) as u16;
                    let old = screen.clone();
                    for y in top..=bottom {
                        let src = if frame % 2 == 0 {
                            y.checked_add(by).filter(|s| *s <= bottom)
                        } else {
                            y.checked_sub(by).filter(|s| *s >= top)
                        };
                        for x in 0..w {
                            screen[(x, y)] = src.map_or(Cell::EMPTY, |s| old[(x, s)].clone());
                        }
                    }
                }
                1 => screen = Buffer::empty(screen.area),
                _ => {}
            }
            // Scattered changes, some runs of text.
            for _ in 0..rng.next(40) {
                let y = rng.next(u64::from(h)) as u16;
                let x = rng.next(u64::from(w)) as u16;
                let len = 1 + rng.next(12) as usize;
                let text: String = (0..len)
                    .map(|_| symbols[rng.next(symbols.len() as u64) as usize])
                    .collect();
                let style = Style::new()
                    .fg(colors[rng.next(6) as usize])
                    .bg(colors[rng.next(6) as usize])
                    .add_modifier(mods[rng.next(6) as usize]);
                screen.set_stringn(x, y, &text, usize::from(w - x), style);
            }
            let snapshot = screen.clone();
            let cursor = (rng.next(3) == 0).then(|| {
                Position::new(rng.next(u64::from(w)) as u16, rng.next(u64::from(h)) as u16)
            });
            twin.draw(|f| {
                let area = f.area();
                f.buffer_mut().merge(&snapshot);
                if let Some(p) = cursor
                    && area.contains(p)
                {
                    f.set_cursor_position(p);
                }
            });
        }
    }
}

/// Bytes of one `j` while scrolling the middle of the list and the audit view, at 80x24 and
/// 200x60: the budgets of issue 15 (2,000 and 4,000 bytes; the audit view no worse).
#[test]
fn a_key_in_the_lists_stays_within_the_budget() {
    for (w, h, budget) in [(80u16, 24u16, 2000usize), (200, 60, 4000)] {
        let theme = Theme::dark();
        let mut app = admin_app(many_rows(300));
        let mut twin = Twin::new(w, h);
        twin.draw_app(&app, &theme);
        for _ in 0..40 {
            press(&mut app, KeyCode::Char('j'));
            twin.draw_app(&app, &theme);
        }
        let mut list = Vec::new();
        for _ in 0..40 {
            press(&mut app, KeyCode::Char('j'));
            list.push(twin.draw_app(&app, &theme));
        }
        press(&mut app, KeyCode::Char('A'));
        twin.draw_app(&app, &theme);
        for _ in 0..40 {
            press(&mut app, KeyCode::Char('j'));
            twin.draw_app(&app, &theme);
        }
        let mut audit = Vec::new();
        for _ in 0..40 {
            press(&mut app, KeyCode::Char('j'));
            audit.push(twin.draw_app(&app, &theme));
        }
        let mean = |v: &[usize]| v.iter().sum::<usize>() / v.len();
        let (l, a) = (mean(&list), mean(&audit));
        println!(
            "{w}x{h}: list {l} B per j (max {}), audit {a} B per j (max {})",
            list.iter().max().unwrap(),
            audit.iter().max().unwrap()
        );
        assert!(
            l <= budget,
            "{w}x{h}: {l} B per j in the list (budget {budget})"
        );
        assert!(
            a <= budget,
            "{w}x{h}: {a} B per j in the audit view (budget {budget})"
        );
    }
}

/// While the next ticket's detail and history are on their way, the previous ones stay on
/// screen, dimmed, instead of blanking both panes and filling them again a moment later.
#[test]
fn a_late_reply_keeps_the_previous_ticket_on_screen_dimmed() {
    let theme = Theme::dark();
    let mut app = admin_app(many_rows(50));
    let first = app.main().unwrap().list.rows[0].clone();
    // The key is pressed; its replies have not arrived when the frame is drawn.
    let effects = update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE)),
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadTicket { .. }))
    );
    let terminal = draw_with(&app, &theme, 200, 60);
    let text = screen_text(&terminal);
    let buf = terminal.backend().buffer();
    let subject = &first.subject[..20];
    let (x, y) = find(&text, subject).expect("the previous subject stays in the detail pane");
    assert!(x > 90, "in the detail pane, not only in the list: {x}");
    assert!(
        buf[(x as u16, y as u16)].modifier.contains(Modifier::DIM),
        "dimmed"
    );
    assert!(!text.contains("Loading…"), "no blank pane:\n{text}");
    let (hx, hy) = find(&text, "normal → urgent").expect("the previous history stays");
    assert!(buf[(hx as u16, hy as u16)].modifier.contains(Modifier::DIM));
    // When the replies arrive, the new ticket replaces it, at full intensity.
    answer(&mut app, effects);
    let text = screen_text(&draw_with(&app, &theme, 200, 60));
    let second = &app.main().unwrap().list.rows[1].subject;
    assert!(
        text.matches(&second[..20]).count() >= 2,
        "list and detail:\n{text}"
    );
}

/// The right-most place `needle` appears on the screen (the detail pane is right of the list).
fn find(text: &str, needle: &str) -> Option<(usize, usize)> {
    text.lines()
        .enumerate()
        .flat_map(|(y, l)| {
            l.match_indices(needle)
                .map(move |(b, _)| (unicode_width::UnicodeWidthStr::width(&l[..b]), y))
        })
        .max()
}

/// A refresh of the audit feed (a live change, `r`) keeps the selected entry selected, also
/// when new entries arrive above it.
#[test]
fn a_refreshed_audit_feed_keeps_the_selection() {
    let mut app = admin_app(many_rows(50));
    press(&mut app, KeyCode::Char('A'));
    for _ in 0..5 {
        press(&mut app, KeyCode::Char('j'));
    }
    let m = app.main().unwrap();
    let picked = m.audit.rows[5].id;
    let mut rows = m.audit.rows.clone();
    let mut newer = rows[0].clone();
    newer.id = id(0xfeed);
    rows.insert(0, newer);
    let effects = update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE)),
    );
    let req = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadAudit { req, .. } => Some(*req),
            _ => None,
        })
        .expect("the feed reloads");
    update(
        &mut app,
        Msg::Db(Reply::Audit {
            req,
            rows,
            append: false,
        }),
    );
    let m = app.main().unwrap();
    assert_eq!(m.audit.rows[m.audit.selected].id, picked);
    assert_eq!(m.audit.selected, 6);
}
