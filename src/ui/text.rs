//! Small text and geometry helpers shared by the panes. Everything here is total: any width or
//! area, however small, gives a result instead of a panic.

use chrono::{DateTime, Utc};
use ratatui::layout::Rect;
use std::borrow::Cow;
use tui_input::Input;
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Stored text (anyone may have typed it, in psql too) made safe for a terminal: the one
/// sanitiser of every text the panes and the CLI print. It keeps newlines and drops or
/// replaces what a terminal would act on or draw at a width the layout cannot know:
/// - control characters (C0 but newline, DEL, C1: escape sequences); a tab becomes a space;
/// - bidirectional controls (U+061C, U+200E/F, U+202A-202E, U+2066-2069), which reorder the
///   rest of the line, and other invisible format characters (U+200B, U+2060-2064,
///   U+206A-206F, U+FEFF, U+FFF9-FFFB, U+180E) and tag characters (U+E0000-E007F);
/// - U+2028/U+2029 (line and paragraph separators) become newlines;
/// - variation selectors are dropped (terminals disagree on the width they give a symbol),
///   and a lone regional indicator (half a flag) becomes U+FFFD; flags (pairs) and
///   zero-width-joined emoji stay one cluster, measured as the terminal backend measures it.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    let plain = |c: char| (c == '\n' || !c.is_control()) && keep(c) && !is_regional(c);
    if s.chars().all(plain) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for g in s.graphemes(true) {
        let regional = g.chars().filter(|c| is_regional(*c)).count();
        if regional == 1 {
            out.push('\u{FFFD}');
            continue;
        }
        for c in g.chars() {
            match c {
                '\n' => out.push('\n'),
                '\t' => out.push(' '),
                '\u{2028}' | '\u{2029}' => out.push('\n'),
                _ if c.is_control() || !keep(c) => {}
                _ => out.push(c),
            }
        }
    }
    Cow::Owned(out)
}

/// Sanitised and on one line: newlines become spaces (list cells, names, table cells).
pub fn one_line(s: &str) -> Cow<'_, str> {
    match sanitize(s) {
        Cow::Borrowed(b) if !b.contains('\n') => Cow::Borrowed(b),
        other => Cow::Owned(other.replace('\n', " ")),
    }
}

fn is_regional(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

/// Whether a (non-control) character may reach the terminal as it is.
fn keep(c: char) -> bool {
    !matches!(c,
        '\u{061C}' | '\u{180E}' | '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2028}' | '\u{2029}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}'
        | '\u{E0000}'..='\u{E007F}' | '\u{E0100}'..='\u{E01EF}')
}

/// Columns a string takes on screen, counted per grapheme cluster as the terminal backend does.
pub fn width(s: &str) -> usize {
    s.graphemes(true).map(UnicodeWidthStr::width).sum()
}

/// "now", "5m", "3h", "2d", "1y": how long ago, in at most four columns.
pub fn ago(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds();
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86_400);
    match () {
        _ if secs < 60 => "now".into(),
        _ if m < 60 => format!("{m}m"),
        _ if h < 24 => format!("{h}h"),
        _ if d < 365 => format!("{d}d"),
        _ => format!("{}y", d / 365),
    }
}

/// "just now" or "5m ago", for prose.
pub fn ago_phrase(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    match ago(t, now).as_str() {
        "now" => "just now".to_owned(),
        short => format!("{short} ago"),
    }
}

/// A timestamp in `zone`: the short form (narrow columns) drops the year only within the
/// current year, and shows the date alone for other years, so "12-01" never hides which year.
pub fn stamp_in(
    t: DateTime<Utc>,
    short: bool,
    now: DateTime<Utc>,
    zone: &chrono::FixedOffset,
) -> String {
    use chrono::Datelike;
    let local = t.with_timezone(zone);
    let this_year = now.with_timezone(zone).year() == local.year();
    let format = match (short, this_year) {
        (true, true) => "%m-%d %H:%M",
        (true, false) => "%Y-%m-%d",
        (false, _) => "%Y-%m-%d %H:%M",
    };
    local.format(format).to_string()
}

/// How a zone is named next to times: "UTC" or "UTC+01:00".
pub fn zone_name(zone: &chrono::FixedOffset) -> String {
    if zone.local_minus_utc() == 0 {
        "UTC".to_owned()
    } else {
        format!("UTC{zone}")
    }
}

/// A timestamp as the detail and history panes show it (UTC).
pub fn stamp(t: DateTime<Utc>, short: bool) -> String {
    t.format(if short {
        "%m-%d %H:%M"
    } else {
        "%Y-%m-%d %H:%M"
    })
    .to_string()
}

/// Cuts `s` (sanitised, on one line) to at most `max` columns, ending with "…" when
/// something was cut. Never splits a grapheme cluster (a flag, an accented letter).
pub fn fit(s: &str, max: usize) -> String {
    let s = one_line(s);
    if width(&s) <= max {
        return s.into_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for g in s.graphemes(true) {
        let w = UnicodeWidthStr::width(g);
        if used + w > max - 1 {
            break;
        }
        out.push_str(g);
        used += w;
    }
    out.push('…');
    out
}

/// Pads `s` with spaces to `cols` columns (cutting it first if it is longer).
pub fn pad(s: &str, cols: usize) -> String {
    let s = fit(s, cols);
    let w = width(&s);
    format!("{s}{}", " ".repeat(cols.saturating_sub(w)))
}

/// Greedy word wrap of sanitised text to lines of at most `max` columns. Words longer than a
/// line are split between grapheme clusters.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let text = sanitize(text);
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut used = 0;
        for (i, word) in para.split(' ').enumerate() {
            if i > 0 {
                if used + 1 + width(word) <= max {
                    line.push(' ');
                    used += 1;
                } else {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
            }
            for g in word.graphemes(true) {
                let w = UnicodeWidthStr::width(g);
                if used + w > max && used > 0 {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
                line.push_str(g);
                used += w;
            }
        }
        lines.push(line);
    }
    lines
}

/// A `w`x`h` rectangle centred in `area`, never larger than it.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// What a one-line text field shows in `cols` columns, and where its cursor sits.
pub struct FieldView {
    pub text: String,
    pub cursor: u16,
}

/// Scrolls the input so the cursor stays visible, keeping one column free for it at the end.
/// `masked` shows one '*' per character (passwords).
pub fn field_view(input: &Input, masked: bool, cols: u16) -> FieldView {
    let room = usize::from(cols.saturating_sub(1));
    if masked {
        let n = input.value().chars().count();
        let cursor = input.cursor().min(n);
        let scroll = cursor.saturating_sub(room);
        let shown = n.saturating_sub(scroll).min(usize::from(cols));
        return FieldView {
            text: "*".repeat(shown),
            cursor: u16::try_from(cursor - scroll).unwrap_or(u16::MAX),
        };
    }
    let scroll = input.visual_scroll(room);
    let cursor = input.visual_cursor().saturating_sub(scroll);
    let mut text = String::new();
    let (mut skipped, mut used) = (0, 0);
    for c in input.value().chars() {
        let w = c.width().unwrap_or(0);
        if skipped < scroll {
            skipped += w;
            continue;
        }
        if used + w > usize::from(cols) {
            break;
        }
        if !c.is_control() {
            text.push(c);
            used += w;
        }
    }
    FieldView {
        text,
        cursor: u16::try_from(cursor).unwrap_or(u16::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ago_is_short() {
        let now = Utc.with_ymd_and_hms(2026, 3, 3, 12, 0, 0).unwrap();
        let at = |s: i64| ago(now - chrono::Duration::seconds(s), now);
        assert_eq!(
            [
                at(-5),
                at(30),
                at(300),
                at(3 * 3600),
                at(2 * 86_400),
                at(800 * 86_400)
            ],
            ["now", "now", "5m", "3h", "2d", "2y"]
        );
    }

    #[test]
    fn wrap_and_fit_respect_the_width() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
        assert_eq!(wrap("a\n\nb", 0), ["a", "", "b"]);
        assert_eq!(fit("héllo wörld", 6), "héllo…");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(pad("ab", 4), "ab  ");
    }

    #[test]
    fn sanitize_leaves_nothing_a_terminal_acts_on() {
        let evil = "a\x1b]0;owned\x07b\x1b[2Jc\u{9b}31m\u{202E}dcba\u{2066}x\u{2069}\u{2028}y\u{E0041}z\tq";
        assert_eq!(sanitize(evil), "a]0;ownedb[2Jc31mdcbax\nyz q");
        assert_eq!(one_line("l1\u{2029}l2\nl3"), "l1 l2 l3");
        assert!(matches!(sanitize("plain, ünïcode ok"), Cow::Borrowed(_)));
    }

    #[test]
    fn emoji_keep_the_width_the_layout_counts() {
        // A flag is one cluster of two columns; half a flag is replaced; variation selectors
        // go; a joined emoji stays one cluster.
        assert_eq!(sanitize("🇫🇷"), "🇫🇷");
        assert_eq!(width("🇫🇷"), 2);
        assert_eq!(sanitize("x\u{1F1EB}y"), "x\u{FFFD}y");
        assert_eq!(sanitize("👩\u{200D}💻 ❤\u{FE0F}"), "👩\u{200D}💻 ❤");
        assert_eq!(fit("👩\u{200D}💻👩\u{200D}💻", 3), "👩\u{200D}💻…");
        assert_eq!(fit("🇫🇷🇩🇪🇮🇹", 5), "🇫🇷🇩🇪…");
        assert_eq!(wrap("🇫🇷🇩🇪🇮🇹", 3), ["🇫🇷", "🇩🇪", "🇮🇹"]);
    }

    #[test]
    fn fields_keep_the_cursor_in_view() {
        let input = Input::new("abcdefghij".into());
        let v = field_view(&input, false, 5);
        assert_eq!((v.text.as_str(), v.cursor), ("ghij", 4));
        let v = field_view(&input, true, 5);
        assert_eq!((v.text.as_str(), v.cursor), ("****", 4));
        let v = field_view(&input, false, 0);
        assert_eq!(v.text, "");
    }
}
