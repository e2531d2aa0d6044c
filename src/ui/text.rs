//! Small text and geometry helpers shared by the panes. Everything here is total: any width or
//! area, however small, gives a result instead of a panic.

use chrono::{DateTime, Utc};
use ratatui::layout::Rect;
use tui_input::Input;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Columns a string takes on screen.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
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

/// A timestamp as the detail and history panes show it (UTC).
pub fn stamp(t: DateTime<Utc>, short: bool) -> String {
    t.format(if short {
        "%m-%d %H:%M"
    } else {
        "%Y-%m-%d %H:%M"
    })
    .to_string()
}

/// Cuts `s` to at most `max` columns, ending with "…" when something was cut.
pub fn fit(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        out.push(c);
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

/// Greedy word wrap to lines of at most `max` columns. Words longer than a line are split;
/// tabs become spaces and other control characters are dropped (the terminal would act on them).
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let para = para.replace('\t', "    ");
        let mut line = String::new();
        let mut used = 0;
        for (i, word) in para.split(' ').enumerate() {
            let word: String = word.chars().filter(|c| !c.is_control()).collect();
            if i > 0 {
                if used + 1 + width(&word) <= max {
                    line.push(' ');
                    used += 1;
                } else {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
            }
            for c in word.chars() {
                let w = c.width().unwrap_or(0);
                if used + w > max && used > 0 {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
                line.push(c);
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
