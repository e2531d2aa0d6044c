//! Rows that only moved: when the list scrolls by a row, every row of it differs from the row
//! that was on screen in the same place, but equals the one above it. Terminals can shift a
//! band of rows themselves (a scrolling region and DL/IL, a dozen bytes), so the frame then only
//! has to write what really changed. This finds the band and shift that save the most cells.
//!
//! Scrolling regions span the whole width (left/right margins are not supported by tmux and
//! many others), so a pane beside the list moves too: the search weighs what the shift saves
//! on the list against what it costs the other panes, row by row.

use ratatui::buffer::Cell;
use ratatui::style::Color;

/// A band of whole rows `top..=bottom` shifted by `by` rows: positive moves the content up (the
/// list scrolled down), negative moves it down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Shift {
    pub top: u16,
    pub bottom: u16,
    pub by: i16,
}

/// Cells of `new` that differ from `old` (same length), compared by key.
fn differing(new: &[u64], old: &[u64]) -> u32 {
    new.iter().zip(old).filter(|(a, b)| a != b).count() as u32
}

fn row(buf: &[u64], width: usize, y: usize) -> &[u64] {
    &buf[y * width..(y + 1) * width]
}

fn color_bits(c: Color) -> u64 {
    match c {
        Color::Reset => 0,
        Color::Indexed(i) => 0x100 | u64::from(i),
        Color::Rgb(r, g, b) => 0x0100_0000 | u64::from(r) << 16 | u64::from(g) << 8 | u64::from(b),
        named => 1 + u64::from(super::encode::named_index(named)),
    }
}

/// A key per cell, cheap to compute (it runs over every cell of every frame): equal cells have
/// equal keys; a collision only misjudges the estimate, the frame is computed from the cells.
fn key(c: &Cell) -> u64 {
    let s = c.symbol().as_bytes();
    let mut sym = 0u64;
    for (i, b) in s.iter().enumerate() {
        sym = sym.rotate_left(if i < 8 { 0 } else { 7 }) ^ (u64::from(*b) << (8 * (i % 8)));
    }
    sym ^ color_bits(c.fg).rotate_left(17)
        ^ color_bits(c.bg).rotate_left(43)
        ^ color_bits(c.underline_color).rotate_left(29)
        ^ u64::from(c.modifier.bits()).rotate_left(7)
        ^ (s.len() as u64).rotate_left(60)
}

/// The shift that saves the most differing cells between `shown` and `next` (both `width` x
/// `height`, row-major), if one saves at least `min_gain` cells. Shifts up to `max_by` rows.
///
/// Two passes: every candidate on a sample of the columns, then the best one on all of them.
pub(super) fn best_shift(
    shown: &[Cell],
    next: &[Cell],
    width: usize,
    height: usize,
    max_by: usize,
    min_gain: u32,
) -> Option<Shift> {
    if width == 0 || height < 2 {
        return None;
    }
    let stride = width.div_ceil(24).max(1);
    let coarse = Grid::new(shown, next, width, height, stride);
    if coarse.same.iter().sum::<u32>() * (stride as u32) < min_gain {
        return None; // no shift saves more cells than differ
    }
    let mut best: Option<(i64, usize, bool)> = None;
    for by in 1..=max_by.min(height - 1) {
        for up in [true, false] {
            if let Some((gain, _)) = coarse.scan(by, up)
                && best.is_none_or(|(b, _, _)| gain > b)
            {
                best = Some((gain, by, up));
            }
        }
    }
    let (gain, by, up) = best?;
    if gain <= 0 {
        return None;
    }
    let fine = if stride == 1 {
        coarse
    } else {
        Grid::new(shown, next, width, height, 1)
    };
    fine.scan(by, up)
        .filter(|(g, _)| *g >= i64::from(min_gain))
        .map(|(_, s)| s)
}

/// Cell keys of both screens on every `stride`-th column, with what each row costs as is.
struct Grid {
    shown: Vec<u64>,
    next: Vec<u64>,
    /// Sampled columns per row.
    n: usize,
    height: usize,
    /// Differing cells of each row without a shift.
    same: Vec<u32>,
    /// Non-blank cells of each row of `next` (what an exposed, blanked row costs).
    blank: Vec<u32>,
}

impl Grid {
    fn new(shown: &[Cell], next: &[Cell], width: usize, height: usize, stride: usize) -> Grid {
        let sample = |buf: &[Cell]| -> Vec<u64> {
            (0..height)
                .flat_map(|y| (0..width).step_by(stride).map(move |x| y * width + x))
                .map(|i| key(&buf[i]))
                .collect()
        };
        let (shown, next) = (sample(shown), sample(next));
        let n = shown.len() / height;
        let empty = key(&Cell::EMPTY);
        let same = (0..height)
            .map(|y| differing(row(&next, n, y), row(&shown, n, y)))
            .collect();
        let blank = (0..height)
            .map(|y| row(&next, n, y).iter().filter(|&&k| k != empty).count() as u32)
            .collect();
        Grid {
            shown,
            next,
            n,
            height,
            same,
            blank,
        }
    }

    /// The best band for a shift of `by` rows (up, or down when `up` is false) and its gain.
    fn scan(&self, by: usize, up: bool) -> Option<(i64, Shift)> {
        let (height, n) = (self.height, self.n);
        // Row order reversed for a downward shift, so both are "content moves up".
        let at = |i: usize| if up { i } else { height - 1 - i };
        // Gain of row i (in shifted order) when it receives the row `by` below it.
        let moved = |i: usize| {
            let (y, from) = (at(i), at(i + by));
            i64::from(self.same[y])
                - i64::from(differing(row(&self.next, n, y), row(&self.shown, n, from)))
        };
        let exposed = |i: usize| i64::from(self.same[at(i)]) - i64::from(self.blank[at(i)]);
        // Band i0..=i1 (shifted order): rows i0..=i1-by receive moved rows, the last `by` rows
        // are exposed. The best band ending at each i1 is the best suffix of `moved` ending at
        // i1-by (Kadane), plus the exposed rows.
        let mut best: Option<(i64, Shift)> = None;
        let mut suffix: i64 = 0;
        let mut suffix_start = 0;
        let mut exposed_sum: i64 = (1..=by).map(exposed).sum();
        for i1 in by..height {
            if i1 > by {
                exposed_sum += exposed(i1) - exposed(i1 - by);
            }
            let e = i1 - by;
            let g = moved(e);
            if e == 0 || suffix < 0 {
                suffix = g;
                suffix_start = e;
            } else {
                suffix += g;
            }
            let gain = suffix + exposed_sum;
            if best.is_none_or(|(b, _)| gain > b) {
                let (a, b) = (at(suffix_start), at(i1));
                let shift = Shift {
                    top: a.min(b) as u16,
                    bottom: a.max(b) as u16,
                    by: if up { by as i16 } else { -(by as i16) },
                };
                best = Some((gain, shift));
            }
        }
        best
    }
}

/// Applies `s` to a screen model: what the terminal shows after the shift.
pub(super) fn apply(buf: &mut [Cell], width: usize, s: Shift) {
    let (top, bottom) = (usize::from(s.top), usize::from(s.bottom));
    let by = usize::from(s.by.unsigned_abs());
    let rows = top..=bottom;
    if s.by > 0 {
        for y in rows.clone() {
            if y + by <= bottom {
                let (dst, src) = buf.split_at_mut((y + by) * width);
                dst[y * width..(y + 1) * width].clone_from_slice(&src[..width]);
            } else {
                buf[y * width..(y + 1) * width].fill(Cell::EMPTY);
            }
        }
    } else {
        for y in rows.rev() {
            if y >= top + by {
                let (src, dst) = buf.split_at_mut(y * width);
                dst[..width].clone_from_slice(&src[(y - by) * width..(y - by + 1) * width]);
            } else {
                buf[y * width..(y + 1) * width].fill(Cell::EMPTY);
            }
        }
    }
}

/// The bytes that make the terminal perform `s`: a scrolling region, DL or IL at its top row,
/// and the full-screen region again. The cursor ends at the home position.
pub(super) fn write(out: &mut Vec<u8>, s: Shift) {
    let n = s.by.unsigned_abs();
    let count = if n == 1 { String::new() } else { n.to_string() };
    let row = if s.top == 0 {
        String::new()
    } else {
        (s.top + 1).to_string()
    };
    out.extend_from_slice(
        format!(
            "\x1b[{};{}r\x1b[{row}H\x1b[{count}{}\x1b[r",
            s.top + 1,
            s.bottom + 1,
            if s.by > 0 { 'M' } else { 'L' }
        )
        .as_bytes(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen(rows: &[&str]) -> Vec<Cell> {
        rows.iter()
            .flat_map(|r| r.chars().map(Cell::from))
            .collect()
    }

    #[test]
    fn finds_a_scrolled_band_and_applies_it() {
        let shown = screen(&["head", "aaaa", "bbbb", "cccc", "dddd", "foot"]);
        let next = screen(&["head", "bbbb", "cccc", "dddd", "eeee", "foot"]);
        let s = best_shift(&shown, &next, 4, 6, 3, 1).unwrap();
        assert_eq!(
            s,
            Shift {
                top: 1,
                bottom: 4,
                by: 1
            }
        );
        let mut after = shown.clone();
        apply(&mut after, 4, s);
        assert_eq!(
            after,
            screen(&["head", "bbbb", "cccc", "dddd", "    ", "foot"])
        );

        let back = best_shift(&next, &shown, 4, 6, 3, 1).unwrap();
        assert_eq!(
            back,
            Shift {
                top: 1,
                bottom: 4,
                by: -1
            }
        );
        let mut after = next.clone();
        apply(&mut after, 4, back);
        assert_eq!(
            after,
            screen(&["head", "    ", "bbbb", "cccc", "dddd", "foot"])
        );
    }

    #[test]
    fn no_shift_when_nothing_moved() {
        let shown = screen(&["head", "aaaa", "bbbb", "foot"]);
        let next = screen(&["head", "aaXa", "bbbb", "foot"]);
        assert_eq!(best_shift(&shown, &next, 4, 4, 3, 1), None);
    }
}
