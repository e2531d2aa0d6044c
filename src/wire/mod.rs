//! The bytes that reach the terminal: a ratatui [`Backend`] for a thin link (SSH from a hotel or
//! a phone), where every byte and every packet counts.
//!
//! ratatui diffs its buffers and hands the backend the cells that changed; the crossterm
//! backend then writes each run of cells after an absolute cursor move, re-sends colours and
//! attributes at every frame, and leaves the flushing to `Stdout`, whose line buffer splits a
//! frame into 1 KiB writes. This backend instead keeps a model of what the terminal shows and,
//! at `flush`, writes the whole frame in one `write`:
//!
//! - inside a synchronized update (the terminal shows it at once, no tearing);
//! - rows that only shifted (a scrolled list) are moved by the terminal itself ([`scroll`]);
//! - the shortest cursor move between cells (relative, `CR`/`LF`, or absolute), and short gaps
//!   between changed cells are re-written when that is cheaper than a move;
//! - the terminal's current colours and attributes are tracked, so a style is sent only when
//!   it changes, as the shortest SGR sequence;
//! - nothing at all when nothing changed (an idle client sends 0 bytes).
//!
//! `tests/wire.rs` replays its output into a terminal emulator and checks the screen equals
//! what ratatui drew.

mod encode;
pub mod pace;
mod scroll;

use encode::{Cursor, Pen};
use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::{Cell, CellWidth};
use ratatui::layout::{Position, Size};
use std::io::{self, Write};

const SYNC_BEGIN: &[u8] = b"\x1b[?2026h";
const SYNC_END: &[u8] = b"\x1b[?2026l";
/// A shift is tried only when it saves at least this many cells (its own bytes, about 20, and
/// a margin for the estimate).
const SHIFT_MIN_GAIN: u32 = 24;
/// Longest shift tried (rows); PgDn moves ten.
const SHIFT_MAX: usize = 12;

/// What went out, for benchmarks and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WireStats {
    pub bytes: u64,
    /// `write` calls on the output (one per frame).
    pub writes: u64,
    pub frames: u64,
    /// Frames that used a terminal-side shift of rows.
    pub shifted: u64,
}

pub struct WireBackend<W: Write> {
    out: W,
    /// Fixed size (tests, benchmarks); `None` asks the terminal.
    fixed: Option<Size>,
    width: u16,
    height: u16,
    /// What the terminal shows.
    shown: Vec<Cell>,
    /// What it will show after this frame (ratatui's updates applied to `shown`).
    next: Vec<Cell>,
    /// Bytes queued before the frame's cells (a clear).
    pending: Vec<u8>,
    cursor: Cursor,
    /// The terminal's SGR state; `None` until we have set it once.
    pen: Option<Pen>,
    /// The terminal's cursor visibility, once known.
    visible: Option<bool>,
    want_visible: bool,
    want_at: Option<Position>,
    sync: bool,
    stats: WireStats,
}

impl<W: Write> WireBackend<W> {
    /// A backend writing to `out`; `size` fixes the screen size (otherwise it is asked from
    /// the terminal, as crossterm does).
    pub fn new(out: W, size: Option<Size>) -> io::Result<WireBackend<W>> {
        let mut b = WireBackend {
            out,
            fixed: size,
            width: 0,
            height: 0,
            shown: Vec::new(),
            next: Vec::new(),
            pending: Vec::new(),
            cursor: Cursor::Unknown,
            pen: None,
            visible: None,
            want_visible: false,
            want_at: None,
            sync: true,
            stats: WireStats::default(),
        };
        let s = b.size()?;
        b.reshape(s);
        Ok(b)
    }

    pub fn stats(&self) -> WireStats {
        self.stats
    }

    pub fn writer(&self) -> &W {
        &self.out
    }

    pub fn writer_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Changes the fixed size (tests and benchmarks; a real terminal reports its own).
    pub fn set_size(&mut self, size: Size) {
        self.fixed = Some(size);
    }

    /// The terminal was given to something else (Ctrl-Z, an editor): forget what we knew of
    /// its cursor and pen. The screen model is reset by the `clear` that must follow.
    pub fn forget(&mut self) {
        self.cursor = Cursor::Unknown;
        self.pen = None;
        self.visible = None;
    }

    fn reshape(&mut self, s: Size) {
        self.width = s.width;
        self.height = s.height;
        let n = usize::from(s.width) * usize::from(s.height);
        self.shown = vec![Cell::EMPTY; n];
        self.next = vec![Cell::EMPTY; n];
    }

    fn idx(&self, x: u16, y: u16) -> Option<usize> {
        (x < self.width && y < self.height)
            .then(|| usize::from(y) * usize::from(self.width) + usize::from(x))
    }

    /// Encodes the frame that turns `shown` into `next`: the cells alone, or a shift of rows
    /// and then the cells, whichever is shorter. Also says whether it shifted and where the
    /// cursor ends.
    fn encode_frame(&self) -> (Vec<u8>, bool, Cursor) {
        let w = usize::from(self.width);
        let h = usize::from(self.height);
        // An unknown pen is reset once.
        let (head, pen) = match self.pen {
            Some(p) => (Vec::new(), p),
            None => (b"\x1b[m".to_vec(), Pen::DEFAULT),
        };
        let (plain, plain_cur) = self.encode_after(&self.shown, head.clone(), self.cursor, pen);
        let Some(shift) = scroll::best_shift(
            &self.shown,
            &self.next,
            w,
            h,
            SHIFT_MAX.min(h / 2),
            SHIFT_MIN_GAIN,
        ) else {
            return (plain, false, plain_cur);
        };
        let mut moved = self.shown.clone();
        scroll::apply(&mut moved, w, shift);
        // Lines a shift brings in are cleared with the current background: reset it first.
        let mut head = head;
        encode::write_sgr(&mut head, pen, Pen::DEFAULT);
        scroll::write(&mut head, shift);
        let start = Cursor::At { x: 0, y: 0 }; // resetting the region homes the cursor
        let (shifted, shifted_cur) = self.encode_after(&moved, head, start, Pen::DEFAULT);
        if shifted.len() < plain.len() {
            (shifted, true, shifted_cur)
        } else {
            (plain, false, plain_cur)
        }
    }

    /// Writes the cells of `next` that differ from `shown`, starting with the terminal's cursor
    /// at `cursor` and its pen at `pen`; then the cursor and a clean pen.
    fn encode_after(
        &self,
        shown: &[Cell],
        mut out: Vec<u8>,
        cursor: Cursor,
        pen: Pen,
    ) -> (Vec<u8>, Cursor) {
        let mut cur = cursor;
        // Gaps are re-written only after a cell written in this pass on the same row: then the
        // cursor is known to stand at the start of a cell, never inside a wide character.
        let mut after_cell = false;
        let mut pen = pen;
        let w = usize::from(self.width);
        let mut covered = vec![false; w];
        for y in 0..self.height {
            let base = usize::from(y) * w;
            let row_next = &self.next[base..base + w];
            let row_shown = &shown[base..base + w];
            // Columns hidden under a wide character on screen: writing next to it may blank them.
            covered.fill(false);
            let mut x = 0;
            while x < w {
                let cw = usize::from(row_shown[x].cell_width().max(1));
                for c in covered.iter_mut().take((x + cw).min(w)).skip(x + 1) {
                    *c = true;
                }
                x += cw;
            }
            let mut x = 0;
            while x < w {
                let cell = &row_next[x];
                let cw = usize::from(cell.cell_width().max(1));
                if cell == &row_shown[x] && !covered[x] {
                    x += cw;
                    continue;
                }
                let (tx, ty) = (x as u16, y);
                let target = pen_of(cell);
                // Move, or re-write the few unchanged cells in between when that is cheaper.
                let moved = encode::move_len(cur, tx, ty) + encode::sgr_len(pen, target);
                let fill = match cur {
                    Cursor::At { x: cx, y: cy } if after_cell && cy == ty && cx < tx => {
                        fill_cost(&row_next[usize::from(cx)..x], pen, target, moved)
                    }
                    _ => None,
                };
                match (fill, cur) {
                    (Some(_), Cursor::At { x: cx, .. }) => {
                        let mut gx = usize::from(cx);
                        while gx < x {
                            let g = &row_next[gx];
                            let gp = pen_of(g);
                            encode::write_sgr(&mut out, pen, gp);
                            pen = gp;
                            put_symbol(&mut out, g);
                            gx += usize::from(g.cell_width().max(1));
                        }
                    }
                    _ => encode::write_move(&mut out, cur, tx, ty),
                }
                encode::write_sgr(&mut out, pen, target);
                pen = target;
                let fits = x + cw <= w;
                if fits {
                    put_symbol(&mut out, cell);
                } else {
                    out.push(b' ');
                }
                let end = if fits { x + cw } else { x + 1 };
                after_cell = true;
                cur = if end >= w {
                    Cursor::Wrapped { y }
                } else {
                    Cursor::At { x: end as u16, y }
                };
                x = end;
            }
        }
        if pen != Pen::DEFAULT {
            encode::write_sgr(&mut out, pen, Pen::DEFAULT);
        }
        if self.want_visible
            && let Some(p) = self.want_at
            && p.x < self.width
            && p.y < self.height
        {
            encode::write_move(&mut out, cur, p.x, p.y);
            cur = Cursor::At { x: p.x, y: p.y };
        }
        (out, cur)
    }
}

/// The pen a cell is drawn with.
fn pen_of(c: &Cell) -> Pen {
    Pen {
        fg: c.fg,
        bg: c.bg,
        underline: c.underline_color,
        modifier: c.modifier,
    }
}

/// A cell's symbol as bytes; a control character (which no widget should leave in a cell)
/// becomes a space, so nothing in the data can send the terminal a command.
fn put_symbol(out: &mut Vec<u8>, c: &Cell) {
    let s = c.symbol();
    if s.is_empty() || s.chars().any(char::is_control) {
        out.push(b' ');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

fn symbol_len(c: &Cell) -> usize {
    let s = c.symbol();
    if s.is_empty() || s.chars().any(char::is_control) {
        1
    } else {
        s.len()
    }
}

/// The bytes of re-writing `gap` (cells the terminal already shows) and then switching to
/// `target`, if that beats `budget` (a cursor move plus the switch).
fn fill_cost(gap: &[Cell], pen: Pen, target: Pen, budget: usize) -> Option<usize> {
    let mut cost = 0;
    let mut p = pen;
    let mut i = 0;
    while i < gap.len() {
        let g = &gap[i];
        let gp = pen_of(g);
        cost += encode::sgr_len(p, gp) + symbol_len(g);
        p = gp;
        if cost >= budget {
            return None;
        }
        i += usize::from(g.cell_width().max(1));
    }
    if i != gap.len() {
        return None; // a wide character would reach into the target
    }
    cost += encode::sgr_len(p, target);
    (cost < budget).then_some(cost)
}

impl<W: Write> Backend for WireBackend<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        for (x, y, cell) in content {
            if let Some(i) = self.idx(x, y) {
                self.next[i] = cell.clone();
            }
        }
        Ok(())
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        self.want_visible = false;
        Ok(())
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        self.want_visible = true;
        Ok(())
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        // Never asked of the terminal: the answer would race the event stream.
        Ok(match (self.want_at, self.cursor) {
            (Some(p), _) => p,
            (None, Cursor::At { x, y }) => Position { x, y },
            _ => Position::ORIGIN,
        })
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.want_at = Some(position.into());
        Ok(())
    }

    fn clear(&mut self) -> io::Result<()> {
        self.clear_region(ClearType::All)
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        // Erased cells take the current background: clear with a clean pen.
        if self.pen != Some(Pen::DEFAULT) {
            self.pending.extend_from_slice(b"\x1b[m");
            self.pen = Some(Pen::DEFAULT);
        }
        match clear_type {
            ClearType::All => {
                // A clear is also how ratatui says the size changed.
                let s = self.size()?;
                self.reshape(s);
                self.pending.extend_from_slice(b"\x1b[2J");
            }
            other => {
                let (cx, cy) = match self.cursor {
                    Cursor::At { x, y } => (x, y),
                    Cursor::Wrapped { y } => (self.width.saturating_sub(1), y),
                    Cursor::Unknown => (0, 0),
                };
                let w = usize::from(self.width);
                let at = usize::from(cy) * w + usize::from(cx);
                let line = usize::from(cy) * w;
                let range = match other {
                    ClearType::AfterCursor => at..self.shown.len(),
                    ClearType::BeforeCursor => 0..(at + 1).min(self.shown.len()),
                    ClearType::CurrentLine => line..line + w,
                    _ => at..line + w,
                };
                let code: &[u8] = match other {
                    ClearType::AfterCursor => b"\x1b[J",
                    ClearType::BeforeCursor => b"\x1b[1J",
                    ClearType::CurrentLine => b"\x1b[2K",
                    _ => b"\x1b[K",
                };
                if self.cursor == Cursor::Unknown {
                    self.pending.extend_from_slice(b"\x1b[H");
                    self.cursor = Cursor::At { x: 0, y: 0 };
                }
                self.pending.extend_from_slice(code);
                for i in range {
                    if let (Some(a), Some(b)) = (self.shown.get_mut(i), self.next.get_mut(i)) {
                        *a = Cell::EMPTY;
                        *b = Cell::EMPTY;
                    }
                }
            }
        }
        Ok(())
    }

    fn size(&self) -> io::Result<Size> {
        match self.fixed {
            Some(s) => Ok(s),
            None => {
                let (width, height) = ratatui::crossterm::terminal::size()?;
                Ok(Size { width, height })
            }
        }
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        match self.fixed {
            Some(s) => Ok(WindowSize {
                columns_rows: s,
                pixels: Size::default(),
            }),
            None => {
                let ws = ratatui::crossterm::terminal::window_size()?;
                Ok(WindowSize {
                    columns_rows: Size {
                        width: ws.columns,
                        height: ws.rows,
                    },
                    pixels: Size {
                        width: ws.width,
                        height: ws.height,
                    },
                })
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        let cells_changed = self.shown != self.next;
        let cursor_changed = self.visible != Some(self.want_visible)
            || (self.want_visible
                && self
                    .want_at
                    .is_some_and(|p| self.cursor != Cursor::At { x: p.x, y: p.y }));
        if !cells_changed && !cursor_changed && self.pending.is_empty() {
            return Ok(()); // idle: not a byte
        }
        let mut frame = Vec::with_capacity(4096);
        if self.sync {
            frame.extend_from_slice(SYNC_BEGIN);
        }
        if self.visible != Some(false) && !self.want_visible {
            frame.extend_from_slice(b"\x1b[?25l");
        }
        frame.append(&mut self.pending);
        let (body, shifted, cursor) = self.encode_frame();
        frame.extend_from_slice(&body);
        if self.want_visible && self.visible != Some(true) {
            frame.extend_from_slice(b"\x1b[?25h");
        }
        if self.sync {
            frame.extend_from_slice(SYNC_END);
        }
        self.cursor = cursor;
        self.pen = Some(Pen::DEFAULT);
        self.visible = Some(self.want_visible);
        self.shown.clone_from(&self.next);
        self.out.write_all(&frame)?;
        self.out.flush()?;
        self.stats.bytes += frame.len() as u64;
        self.stats.writes += 1;
        self.stats.frames += 1;
        self.stats.shifted += u64::from(shifted);
        Ok(())
    }
}

/// Standard output without std's line buffer (which splits a frame at every newline and every
/// 1 KiB): each `write_all` goes to the file descriptor as it is, one frame in one `write`
/// (a pseudo-terminal takes it whole; a short write is continued).
#[derive(Debug, Default)]
pub struct RawStdout;

impl Write for RawStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Anything std still holds goes first, so the order of bytes is kept.
        io::stdout().flush()?;
        loop {
            // SAFETY: writes `buf.len()` bytes from a valid slice to fd 1.
            let n = unsafe { libc::write(1, buf.as_ptr().cast(), buf.len()) };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The terminal the client draws on.
pub type WireTerminal = ratatui::Terminal<WireBackend<RawStdout>>;

/// A terminal over standard output with this backend (raw mode and the alternate screen are
/// the caller's).
pub fn terminal() -> io::Result<WireTerminal> {
    ratatui::Terminal::new(WireBackend::new(RawStdout, None)?)
}
