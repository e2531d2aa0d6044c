//! Semantic styles. Every state that matters (selection, focus, errors) carries a modifier as
//! well as a colour, so it survives NO_COLOR, monochrome terminals and odd palettes; the
//! `no_color` preset keeps only the modifiers.

use crate::model::{Priority, Status};
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// Pane and overlay titles.
    pub title: Style,
    /// The title of the pane that has the keys.
    pub focused_title: Style,
    pub border: Style,
    pub focused_border: Style,
    /// The row under the cursor in the focused list.
    pub selected: Style,
    /// The row under the cursor in a list that does not have the keys.
    pub selected_inactive: Style,
    pub error: Style,
    /// Labels, placeholders, secondary text.
    pub muted: Style,
    /// The top bar.
    pub header: Style,
    /// The product name in the top bar.
    pub brand: Style,
    /// Column headings of tables.
    pub table_header: Style,
    /// The current queue tab.
    pub tab_active: Style,
    /// A key in a hint ("c" in "c claim").
    pub key_hint: Style,
    /// A text field that does not have the cursor.
    pub input: Style,
    /// The text field with the cursor.
    pub input_focused: Style,
    /// A notice that is not an error ("Ticket claimed.").
    pub info: Style,
    /// An internal note in a conversation (staff only): never mistaken for a reply, also
    /// without colour (the label says it too).
    pub note: Style,
    /// Open, in progress, waiting on customer, resolved, closed (in `Status::ALL` order).
    pub status: [Style; 5],
    /// Low, normal, high, urgent (in `Priority::ALL` order).
    pub priority: [Style; 4],
}

const B: Modifier = Modifier::BOLD;

impl Theme {
    pub fn dark() -> Theme {
        Theme {
            title: Style::new().fg(Color::Gray).add_modifier(B),
            focused_title: Style::new().fg(Color::Cyan).add_modifier(B),
            border: Style::new().fg(Color::DarkGray),
            focused_border: Style::new().fg(Color::Cyan).add_modifier(B),
            selected: Style::new()
                .fg(Color::White)
                .bg(Color::Blue)
                .add_modifier(B),
            selected_inactive: Style::new().bg(Color::Indexed(238)),
            error: Style::new()
                .fg(Color::LightRed)
                .add_modifier(B | Modifier::UNDERLINED),
            muted: Style::new().fg(Color::DarkGray),
            header: Style::new().bg(Color::Indexed(235)),
            brand: Style::new().fg(Color::Cyan).add_modifier(B),
            table_header: Style::new().fg(Color::Gray).add_modifier(B),
            tab_active: Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(B),
            key_hint: Style::new().fg(Color::Cyan).add_modifier(B),
            input: Style::new().bg(Color::Indexed(236)),
            input_focused: Style::new()
                .bg(Color::Indexed(238))
                .add_modifier(Modifier::UNDERLINED),
            info: Style::new().fg(Color::Green),
            note: Style::new()
                .fg(Color::Yellow)
                .add_modifier(Modifier::ITALIC),
            status: [
                Style::new().fg(Color::LightBlue).add_modifier(B),
                Style::new().fg(Color::Yellow),
                Style::new().fg(Color::Magenta),
                Style::new().fg(Color::Green),
                Style::new().fg(Color::DarkGray),
            ],
            priority: [
                Style::new().fg(Color::DarkGray),
                Style::new(),
                Style::new().fg(Color::Yellow),
                Style::new().fg(Color::LightRed).add_modifier(B),
            ],
        }
    }

    pub fn light() -> Theme {
        let grey = Color::Indexed(244);
        Theme {
            title: Style::new().fg(Color::Indexed(238)).add_modifier(B),
            focused_title: Style::new().fg(Color::Blue).add_modifier(B),
            border: Style::new().fg(Color::Indexed(250)),
            focused_border: Style::new().fg(Color::Blue).add_modifier(B),
            selected: Style::new()
                .fg(Color::Black)
                .bg(Color::Indexed(153))
                .add_modifier(B),
            selected_inactive: Style::new().bg(Color::Indexed(254)),
            error: Style::new()
                .fg(Color::Red)
                .add_modifier(B | Modifier::UNDERLINED),
            muted: Style::new().fg(grey),
            header: Style::new().bg(Color::Indexed(254)),
            brand: Style::new().fg(Color::Blue).add_modifier(B),
            table_header: Style::new().fg(Color::Indexed(238)).add_modifier(B),
            tab_active: Style::new()
                .fg(Color::White)
                .bg(Color::Blue)
                .add_modifier(B),
            key_hint: Style::new().fg(Color::Blue).add_modifier(B),
            input: Style::new().bg(Color::Indexed(254)),
            input_focused: Style::new()
                .bg(Color::Indexed(252))
                .add_modifier(Modifier::UNDERLINED),
            info: Style::new().fg(Color::Indexed(28)),
            note: Style::new()
                .fg(Color::Indexed(130))
                .add_modifier(Modifier::ITALIC),
            status: [
                Style::new().fg(Color::Blue).add_modifier(B),
                Style::new().fg(Color::Indexed(130)),
                Style::new().fg(Color::Magenta),
                Style::new().fg(Color::Indexed(28)),
                Style::new().fg(grey),
            ],
            priority: [
                Style::new().fg(grey),
                Style::new(),
                Style::new().fg(Color::Indexed(130)),
                Style::new().fg(Color::Red).add_modifier(B),
            ],
        }
    }

    /// Modifiers only: what stays visible when colour is off.
    pub fn no_color() -> Theme {
        let plain = Style::new();
        Theme {
            title: plain,
            focused_title: plain.add_modifier(B),
            border: plain,
            focused_border: plain.add_modifier(B),
            selected: plain.add_modifier(Modifier::REVERSED),
            selected_inactive: plain.add_modifier(Modifier::UNDERLINED),
            error: plain.add_modifier(B | Modifier::UNDERLINED),
            muted: plain.add_modifier(Modifier::DIM),
            header: plain,
            brand: plain.add_modifier(B),
            table_header: plain.add_modifier(B),
            tab_active: plain.add_modifier(Modifier::REVERSED | B),
            key_hint: plain.add_modifier(B),
            input: plain.add_modifier(Modifier::UNDERLINED),
            input_focused: plain.add_modifier(Modifier::UNDERLINED | B),
            info: plain,
            note: Style::new().add_modifier(Modifier::ITALIC),
            status: [
                plain.add_modifier(B),
                plain,
                plain.add_modifier(Modifier::ITALIC),
                plain,
                plain.add_modifier(Modifier::DIM),
            ],
            priority: [
                plain.add_modifier(Modifier::DIM),
                plain,
                plain.add_modifier(B),
                plain.add_modifier(B | Modifier::UNDERLINED),
            ],
        }
    }

    /// The theme the config file names; NO_COLOR (`no_color_env`) overrides any name, but a
    /// misspelt name is still reported so the config file gets fixed.
    pub fn from_config(name: &str, no_color_env: bool) -> Result<Theme, String> {
        let theme = match name.trim().to_ascii_lowercase().as_str() {
            "dark" | "" => Theme::dark(),
            "light" => Theme::light(),
            "no-color" | "no_color" | "nocolor" | "none" => Theme::no_color(),
            other => {
                return Err(format!(
                    "unknown theme \"{other}\"; known themes: dark, light, no-color"
                ));
            }
        };
        Ok(if no_color_env {
            Theme::no_color()
        } else {
            theme
        })
    }

    pub fn status(&self, s: Status) -> Style {
        let i = Status::ALL.iter().position(|x| *x == s).unwrap_or(0);
        self.status.get(i).copied().unwrap_or_default()
    }

    pub fn priority(&self, p: Priority) -> Style {
        let i = Priority::ALL.iter().position(|x| *x == p).unwrap_or(0);
        self.priority.get(i).copied().unwrap_or_default()
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::dark()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_wins_and_bad_names_are_explained() {
        assert_eq!(
            Theme::from_config("light", true).unwrap(),
            Theme::no_color()
        );
        assert_eq!(Theme::from_config("Light", false).unwrap(), Theme::light());
        let err = Theme::from_config("solarized", false).unwrap_err();
        assert!(
            err.contains("solarized") && err.contains("dark, light, no-color"),
            "{err}"
        );
    }

    #[test]
    fn no_color_has_no_colours() {
        let t = Theme::no_color();
        let styles = [
            t.title,
            t.selected,
            t.error,
            t.muted,
            t.tab_active,
            t.input_focused,
        ]
        .into_iter()
        .chain(t.status)
        .chain(t.priority);
        for s in styles {
            assert_eq!((s.fg, s.bg), (None, None), "{s:?}");
        }
    }
}
