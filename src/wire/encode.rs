//! The bytes of a frame: the shortest cursor move between two cells, and the shortest SGR
//! change between two styles, given what the terminal is known to be in.
//!
//! Escape sequences used (ECMA-48 / VT100, understood by xterm, tmux, screen, VTE, kitty,
//! iTerm2, Windows Terminal and the Linux console): CUP, CHA, VPA, CUU/CUD/CUF/CUB, CR, LF, BS,
//! SGR with 30-37/90-97 for the 16 named colours, 38;5 / 38;2 for the others.

use ratatui::style::{Color, Modifier};

/// Where the terminal's cursor is, as far as we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cursor {
    /// Not known (start, after anything we did not write): only an absolute move is safe.
    Unknown,
    At {
        x: u16,
        y: u16,
    },
    /// A character was written in the last column: the cursor sits there with a wrap pending,
    /// where relative moves differ between terminals. Only CR and absolute moves are used.
    Wrapped {
        y: u16,
    },
}

/// The SGR state of the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pen {
    pub fg: Color,
    pub bg: Color,
    pub underline: Color,
    pub modifier: Modifier,
}

impl Pen {
    pub const DEFAULT: Pen = Pen {
        fg: Color::Reset,
        bg: Color::Reset,
        underline: Color::Reset,
        modifier: Modifier::empty(),
    };
}

fn digits(n: u16) -> usize {
    match n {
        0..=9 => 1,
        10..=99 => 2,
        100..=999 => 3,
        1000..=9999 => 4,
        _ => 5,
    }
}

fn csi_n(out: &mut Vec<u8>, n: u16, fin: u8) {
    out.extend_from_slice(b"\x1b[");
    if n != 1 {
        out.extend_from_slice(n.to_string().as_bytes());
    }
    out.push(fin);
}

/// Length of `CSI n fin` where 1 is left out (the default).
fn csi_n_len(n: u16) -> usize {
    if n == 1 { 3 } else { 3 + digits(n) }
}

/// A way of moving the cursor, with its cost in bytes.
#[derive(Debug, Clone, Copy)]
enum Step {
    None,
    Cr,
    /// `n` line feeds (each 1 byte; never on the bottom row, where LF scrolls).
    Lf(u16),
    Cud(u16),
    Cuu(u16),
    /// Row, absolute (VPA), 0-based.
    Vpa(u16),
    Bs(u16),
    Cuf(u16),
    Cub(u16),
    /// Column, absolute (CHA), 0-based.
    Cha(u16),
}

impl Step {
    fn len(self) -> usize {
        match self {
            Step::None => 0,
            Step::Cr => 1,
            Step::Lf(n) | Step::Bs(n) => usize::from(n),
            Step::Cud(n) | Step::Cuu(n) | Step::Cuf(n) | Step::Cub(n) => csi_n_len(n),
            Step::Vpa(r) | Step::Cha(r) => csi_n_len(r + 1),
        }
    }

    fn write(self, out: &mut Vec<u8>) {
        match self {
            Step::None => {}
            Step::Cr => out.push(b'\r'),
            Step::Lf(n) => out.extend(std::iter::repeat_n(b'\n', usize::from(n))),
            Step::Bs(n) => out.extend(std::iter::repeat_n(8u8, usize::from(n))),
            Step::Cud(n) => csi_n(out, n, b'B'),
            Step::Cuu(n) => csi_n(out, n, b'A'),
            Step::Cuf(n) => csi_n(out, n, b'C'),
            Step::Cub(n) => csi_n(out, n, b'D'),
            Step::Vpa(r) => csi_n(out, r + 1, b'd'),
            Step::Cha(c) => csi_n(out, c + 1, b'G'),
        }
    }
}

fn cup_len(x: u16, y: u16) -> usize {
    if x == 0 {
        csi_n_len(y + 1)
    } else {
        4 + digits(y + 1) + digits(x + 1)
    }
}

fn write_cup(out: &mut Vec<u8>, x: u16, y: u16) {
    if x == 0 {
        csi_n(out, y + 1, b'H');
    } else {
        out.extend_from_slice(format!("\x1b[{};{}H", y + 1, x + 1).as_bytes());
    }
}

/// The cheapest horizontal step from column `from` to `to` on the same row.
fn horizontal(from: u16, to: u16) -> Step {
    use std::cmp::Ordering::*;
    let best = |a: Step, b: Step| if b.len() < a.len() { b } else { a };
    match to.cmp(&from) {
        Equal => Step::None,
        Greater => best(Step::Cuf(to - from), Step::Cha(to)),
        Less => {
            let back = from - to;
            let mut s = best(Step::Cub(back), Step::Cha(to));
            if back <= 3 {
                s = best(s, Step::Bs(back));
            }
            s
        }
    }
}

/// The cheapest vertical step from row `from` to `to` (column unchanged).
fn vertical(from: u16, to: u16) -> Step {
    use std::cmp::Ordering::*;
    let best = |a: Step, b: Step| if b.len() < a.len() { b } else { a };
    match to.cmp(&from) {
        Equal => Step::None,
        Greater => {
            let n = to - from;
            let mut s = best(Step::Cud(n), Step::Vpa(to));
            if n <= 3 {
                s = best(s, Step::Lf(n));
            }
            s
        }
        Less => best(Step::Cuu(from - to), Step::Vpa(to)),
    }
}

/// Bytes to move from `cur` to (x, y), without writing them.
pub(super) fn move_len(cur: Cursor, x: u16, y: u16) -> usize {
    let mut out = Vec::new();
    write_move(&mut out, cur, x, y);
    out.len()
}

/// Writes the shortest move from `cur` to (x, y) among: nothing, relative or absolute steps
/// (row then column), CR first, or one CUP.
pub(super) fn write_move(out: &mut Vec<u8>, cur: Cursor, x: u16, y: u16) {
    let mut best: (usize, [Step; 3]) = (cup_len(x, y), [Step::None; 3]);
    let mut consider = |steps: [Step; 3]| {
        let len = steps.iter().map(|s| s.len()).sum();
        if len < best.0 {
            best = (len, steps);
        }
    };
    match cur {
        Cursor::Unknown => {}
        Cursor::At { x: cx, y: cy } => {
            if (cx, cy) == (x, y) {
                return;
            }
            let v = vertical(cy, y);
            consider([v, horizontal(cx, x), Step::None]);
            consider([Step::Cr, v, horizontal(0, x)]);
        }
        Cursor::Wrapped { y: cy } => {
            consider([Step::Cr, vertical(cy, y), horizontal(0, x)]);
        }
    }
    match best.1 {
        [Step::None, Step::None, Step::None] if best.0 > 0 => write_cup(out, x, y),
        steps => steps.iter().for_each(|s| s.write(out)),
    }
}

fn color_params(c: Color, base: u16, out: &mut Vec<u16>) {
    // base: 30 for foreground, 40 for background, 50 for underline (58/59 only).
    let (plain, bright) = (base, base + 60);
    match c {
        Color::Reset => out.push(base + 9),
        Color::Black if base != 50 => out.push(plain),
        Color::Red if base != 50 => out.push(plain + 1),
        Color::Green if base != 50 => out.push(plain + 2),
        Color::Yellow if base != 50 => out.push(plain + 3),
        Color::Blue if base != 50 => out.push(plain + 4),
        Color::Magenta if base != 50 => out.push(plain + 5),
        Color::Cyan if base != 50 => out.push(plain + 6),
        Color::Gray if base != 50 => out.push(plain + 7),
        Color::DarkGray if base != 50 => out.push(bright),
        Color::LightRed if base != 50 => out.push(bright + 1),
        Color::LightGreen if base != 50 => out.push(bright + 2),
        Color::LightYellow if base != 50 => out.push(bright + 3),
        Color::LightBlue if base != 50 => out.push(bright + 4),
        Color::LightMagenta if base != 50 => out.push(bright + 5),
        Color::LightCyan if base != 50 => out.push(bright + 6),
        Color::White if base != 50 => out.push(bright + 7),
        Color::Rgb(r, g, b) => out.extend([base + 8, 2, r.into(), g.into(), b.into()]),
        Color::Indexed(i) => out.extend([base + 8, 5, i.into()]),
        named => {
            // Named colours as underline colour: by index.
            let i = named_index(named);
            out.extend([base + 8, 5, i]);
        }
    }
}

pub(super) fn named_index(c: Color) -> u16 {
    match c {
        Color::Black => 0,
        Color::Red => 1,
        Color::Green => 2,
        Color::Yellow => 3,
        Color::Blue => 4,
        Color::Magenta => 5,
        Color::Cyan => 6,
        Color::Gray => 7,
        Color::DarkGray => 8,
        Color::LightRed => 9,
        Color::LightGreen => 10,
        Color::LightYellow => 11,
        Color::LightBlue => 12,
        Color::LightMagenta => 13,
        Color::LightCyan => 14,
        _ => 15,
    }
}

const MODIFIERS: [(Modifier, u16); 9] = [
    (Modifier::BOLD, 1),
    (Modifier::DIM, 2),
    (Modifier::ITALIC, 3),
    (Modifier::UNDERLINED, 4),
    (Modifier::SLOW_BLINK, 5),
    (Modifier::RAPID_BLINK, 6),
    (Modifier::REVERSED, 7),
    (Modifier::HIDDEN, 8),
    (Modifier::CROSSED_OUT, 9),
];

fn params_len(p: &[u16]) -> usize {
    if p.is_empty() {
        return 3; // ESC [ m
    }
    2 + p.iter().map(|&n| digits(n)).sum::<usize>() + p.len() // separators + final
}

/// The SGR parameters that take the terminal from `from` to `to`: either the changes alone,
/// or a reset and the whole target, whichever is shorter. Empty when nothing changes.
fn sgr_params(from: Pen, to: Pen) -> Option<Vec<u16>> {
    if from == to {
        return None;
    }
    // From scratch: reset, then everything the target has.
    let mut full = Vec::new();
    if to != Pen::DEFAULT {
        full.push(0);
        for (m, n) in MODIFIERS {
            if to.modifier.contains(m) {
                full.push(n);
            }
        }
        for (c, base) in [(to.fg, 30), (to.bg, 40), (to.underline, 50)] {
            if c != Color::Reset {
                color_params(c, base, &mut full);
            }
        }
    }
    // The changes: what goes off, what comes on, colours that differ.
    let mut diff = Vec::new();
    let removed = from.modifier - to.modifier;
    let mut add = to.modifier - from.modifier;
    if removed.intersects(Modifier::BOLD | Modifier::DIM) {
        diff.push(22); // both off; the one that stays is set again below
        add |= to.modifier & (Modifier::BOLD | Modifier::DIM);
    }
    if removed.contains(Modifier::ITALIC) {
        diff.push(23);
    }
    if removed.contains(Modifier::UNDERLINED) {
        diff.push(24);
    }
    if removed.intersects(Modifier::SLOW_BLINK | Modifier::RAPID_BLINK) {
        diff.push(25);
        add |= to.modifier & (Modifier::SLOW_BLINK | Modifier::RAPID_BLINK);
    }
    if removed.contains(Modifier::REVERSED) {
        diff.push(27);
    }
    if removed.contains(Modifier::HIDDEN) {
        diff.push(28);
    }
    if removed.contains(Modifier::CROSSED_OUT) {
        diff.push(29);
    }
    for (m, n) in MODIFIERS {
        if add.contains(m) {
            diff.push(n);
        }
    }
    if from.fg != to.fg {
        color_params(to.fg, 30, &mut diff);
    }
    if from.bg != to.bg {
        color_params(to.bg, 40, &mut diff);
    }
    if from.underline != to.underline {
        color_params(to.underline, 50, &mut diff);
    }
    if to == Pen::DEFAULT {
        full.clear(); // "ESC [ m"
    }
    Some(if params_len(&full) <= params_len(&diff) {
        full
    } else {
        diff
    })
}

pub(super) fn sgr_len(from: Pen, to: Pen) -> usize {
    sgr_params(from, to).map_or(0, |p| params_len(&p))
}

pub(super) fn write_sgr(out: &mut Vec<u8>, from: Pen, to: Pen) {
    let Some(p) = sgr_params(from, to) else {
        return;
    };
    out.extend_from_slice(b"\x1b[");
    for (i, n) in p.iter().enumerate() {
        if i > 0 {
            out.push(b';');
        }
        if !(p.len() == 1 && *n == 0) {
            out.extend_from_slice(n.to_string().as_bytes());
        }
    }
    out.push(b'm');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mv(cur: Cursor, x: u16, y: u16) -> String {
        let mut out = Vec::new();
        write_move(&mut out, cur, x, y);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn moves_are_the_shortest_form() {
        let at = |x, y| Cursor::At { x, y };
        assert_eq!(mv(Cursor::Unknown, 0, 0), "\x1b[H");
        assert_eq!(mv(Cursor::Unknown, 4, 9), "\x1b[10;5H");
        assert_eq!(mv(at(10, 5), 10, 5), "");
        assert_eq!(mv(at(10, 5), 12, 5), "\x1b[2C");
        assert_eq!(mv(at(10, 5), 8, 5), "\x08\x08");
        assert_eq!(mv(at(10, 5), 10, 6), "\n");
        assert_eq!(mv(at(10, 5), 0, 6), "\r\n");
        assert_eq!(mv(at(10, 5), 10, 4), "\x1b[A");
        assert_eq!(mv(Cursor::Wrapped { y: 3 }, 0, 4), "\r\n");
        assert_eq!(mv(Cursor::Wrapped { y: 3 }, 79, 3), "\r\x1b[79C");
    }

    fn sgr(from: Pen, to: Pen) -> String {
        let mut out = Vec::new();
        write_sgr(&mut out, from, to);
        assert_eq!(out.len(), sgr_len(from, to));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn sgr_changes_only_what_differs() {
        let d = Pen::DEFAULT;
        let cyan_bold = Pen {
            fg: Color::Cyan,
            modifier: Modifier::BOLD,
            ..d
        };
        assert_eq!(sgr(d, d), "");
        assert_eq!(sgr(d, cyan_bold), "\x1b[1;36m");
        assert_eq!(sgr(cyan_bold, d), "\x1b[m");
        let grey = Pen {
            fg: Color::DarkGray,
            ..d
        };
        assert_eq!(sgr(cyan_bold, grey), "\x1b[0;90m");
        let bold_dim = Pen {
            modifier: Modifier::BOLD | Modifier::DIM,
            ..d
        };
        let dim = Pen {
            modifier: Modifier::DIM,
            ..d
        };
        assert_eq!(sgr(bold_dim, dim), "\x1b[0;2m");
        let sel = Pen {
            fg: Color::White,
            bg: Color::Indexed(238),
            ..d
        };
        assert_eq!(sgr(grey, sel), "\x1b[97;48;5;238m");
    }
}
