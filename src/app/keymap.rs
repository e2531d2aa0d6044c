//! Keys → actions. The defaults live here; the config file's `[keys]` table overrides them per
//! action (an empty list unbinds). The help overlay and the footer are built from the same map,
//! so they always show the keys that actually work.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

macro_rules! actions {
    ($($variant:ident = $name:literal, $help:literal, [$($key:literal),*];)+) => {
        /// Everything a key can ask for. `name` is what the config file calls it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $($variant),+ }
        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant),+];
            pub fn name(self) -> &'static str { match self { $(Action::$variant => $name),+ } }
            pub fn help(self) -> &'static str { match self { $(Action::$variant => $help),+ } }
            fn default_keys(self) -> &'static [&'static str] { match self { $(Action::$variant => &[$($key),*]),+ } }
            pub fn from_name(name: &str) -> Option<Action> {
                match name { $($name => Some(Action::$variant),)+ _ => None }
            }
        }
    };
}

actions! {
    Quit = "quit", "quit", ["q", "ctrl-c"];
    Back = "back", "back / close", ["esc"];
    Up = "up", "move up", ["up", "k"];
    Down = "down", "move down", ["down", "j"];
    PageUp = "page_up", "page up", ["pageup", "ctrl-u"];
    PageDown = "page_down", "page down", ["pagedown", "ctrl-d"];
    Top = "top", "first", ["g", "home"];
    Bottom = "bottom", "last", ["G", "end"];
    Open = "open", "open / choose", ["enter"];
    NextPane = "next_pane", "next pane", ["tab", "right", "l"];
    PrevPane = "prev_pane", "previous pane", ["backtab", "left", "h"];
    Filter = "filter", "filter loaded list", ["/"];
    Search = "search", "search on server", ["S"];
    Help = "help", "help", ["?"];
    Refresh = "refresh", "reload", ["r", "ctrl-r"];
    NextQueue = "next_queue", "next queue", ["]"];
    PrevQueue = "prev_queue", "previous queue", ["["];
    NewTicket = "new_ticket", "new ticket (staff: for a customer)", ["n"];
    Claim = "claim", "claim", ["c"];
    Release = "release", "release to pool", ["u"];
    HandOff = "hand_off", "hand off", ["a"];
    SetStatus = "status", "change status / close", ["s"];
    SetPriority = "priority", "change priority", ["p"];
    Reply = "reply", "reply (staff: or note)", ["m"];
    Jump = "jump", "go to ticket #number", ["#"];
    Audit = "audit", "audit view", ["A"];
    EditAuditFilter = "audit_filter", "filter audit", ["f"];
    ChangePassword = "password", "change my password", ["P"];
}

impl Action {
    /// Whether a person of `role` can ever use this action: help and hints list only these.
    /// (Whether it works on a given ticket is the state's and the database's business.)
    pub fn offered_to(self, role: crate::model::Role) -> bool {
        use crate::model::Role::*;
        match self {
            // Staff file for a customer (a phone call).
            Action::NewTicket => true,
            Action::Claim => role == Agent,
            Action::Release | Action::HandOff | Action::SetPriority => role != Customer,
            // Customers close their own tickets with it.
            Action::SetStatus => true,
            Action::Audit | Action::EditAuditFilter => role == Admin,
            Action::NextQueue | Action::PrevQueue => crate::model::Queue::for_role(role).len() > 1,
            _ => true,
        }
    }
}

/// A key with its modifiers, as written in the config file: "q", "ctrl-c", "enter", "G".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub fn from_event(e: &KeyEvent) -> Key {
        // Shift is part of the character for letters and symbols ("G"), so it is not kept.
        let code = match e.code {
            KeyCode::Char(c) if e.modifiers.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            other => other,
        };
        Key {
            code,
            ctrl: e.modifiers.contains(KeyModifiers::CONTROL),
            alt: e.modifiers.contains(KeyModifiers::ALT),
        }
    }

    pub fn parse(text: &str) -> Result<Key, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = text;
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-") {
                ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-") {
                alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let code = match rest {
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" | "shift-tab" => KeyCode::BackTab,
            // The names help prints are accepted too (shift-tab, ↑, pgdn...).
            "up" | "↑" => KeyCode::Up,
            "down" | "↓" => KeyCode::Down,
            "left" | "←" => KeyCode::Left,
            "right" | "→" => KeyCode::Right,
            "pageup" | "pgup" => KeyCode::PageUp,
            "pagedown" | "pgdn" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "delete" => KeyCode::Delete,
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => KeyCode::F(
                f[1..]
                    .parse()
                    .map_err(|_| format!("unknown key \"{text}\""))?,
            ),
            c if c.chars().count() == 1 => {
                let ch = c.chars().next().unwrap_or(' ');
                KeyCode::Char(if ctrl { ch.to_ascii_lowercase() } else { ch })
            }
            _ => return Err(format!("unknown key \"{text}\"")),
        };
        Ok(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// The resolved map: each key does one thing; each action may have several keys.
#[derive(Debug, Clone)]
pub struct Keymap {
    by_key: HashMap<Key, Action>,
    /// When each key was bound, so help lists an action's keys in a stable, chosen order.
    order: HashMap<Key, usize>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::with_overrides(&BTreeMap::new()).expect("the default keymap is valid")
    }
}

impl Keymap {
    /// The defaults with the config file's `[keys]` applied: `action = "key"` or
    /// `action = ["key", ...]`; `[]` unbinds. A key given to an action is taken from any other.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> Result<Keymap, String> {
        let mut by_key = HashMap::new();
        let mut order = HashMap::new();
        for &action in Action::ALL {
            if overrides.contains_key(action.name()) {
                continue;
            }
            for k in action.default_keys() {
                let key = Key::parse(k)?;
                order.insert(key, order.len());
                by_key.insert(key, action);
            }
        }
        for (name, keys) in overrides {
            let action = Action::from_name(name).ok_or_else(|| {
                format!(
                    "unknown action \"{name}\" in [keys]; known: {}",
                    Action::ALL
                        .iter()
                        .map(|a| a.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            for k in keys {
                let key = Key::parse(k).map_err(|e| format!("[keys] {name}: {e}"))?;
                order.insert(key, order.len());
                by_key.insert(key, action);
            }
        }
        Ok(Keymap { by_key, order })
    }

    pub fn action(&self, e: &KeyEvent) -> Option<Action> {
        self.by_key.get(&Key::from_event(e)).copied()
    }

    /// The keys bound to an action, in a stable order, for help and hints.
    pub fn keys_for(&self, action: Action) -> Vec<Key> {
        let mut keys: Vec<Key> = self
            .by_key
            .iter()
            .filter(|(_, a)| **a == action)
            .map(|(k, _)| *k)
            .collect();
        // In the order they were bound: the table's defaults first, as written.
        keys.sort_by_key(|k| self.order.get(k).copied().unwrap_or(usize::MAX));
        keys
    }

    /// "j/↓" style label of an action's keys, or None when it is unbound.
    pub fn label(&self, action: Action) -> Option<String> {
        let keys = self.keys_for(action);
        (!keys.is_empty()).then(|| {
            keys.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("/")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyEventKind;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new_with_kind(code, modifiers, KeyEventKind::Press)
    }

    #[test]
    fn keys_are_accepted_as_help_prints_them() {
        let names = [
            "shift-tab",
            "backtab",
            "tab",
            "enter",
            "esc",
            "up",
            "down",
            "left",
            "right",
            "pageup",
            "pagedown",
            "home",
            "end",
            "space",
            "ctrl-r",
            "alt-x",
            "f5",
            "G",
        ];
        for text in names {
            let key = Key::parse(text).unwrap();
            assert_eq!(Key::parse(&key.to_string()), Ok(key), "{text}");
        }
        assert_eq!(Key::parse("shift-tab"), Key::parse("backtab"));
    }

    #[test]
    fn defaults_bind_arrows_and_vim_keys_alike() {
        let km = Keymap::default();
        assert_eq!(
            km.action(&press(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(Action::Down)
        );
        assert_eq!(
            km.action(&press(KeyCode::Down, KeyModifiers::NONE)),
            Some(Action::Down)
        );
        assert_eq!(
            km.action(&press(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        assert_eq!(
            km.action(&press(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(
            km.action(&press(KeyCode::Char('x'), KeyModifiers::NONE)),
            None
        );
    }

    #[test]
    fn overrides_rebind_and_unbind() {
        let mut o = BTreeMap::new();
        o.insert(
            "claim".to_owned(),
            vec!["ctrl-t".to_owned(), "C".to_owned()],
        );
        o.insert("quit".to_owned(), vec![]);
        let km = Keymap::with_overrides(&o).unwrap();
        assert_eq!(
            km.action(&press(KeyCode::Char('t'), KeyModifiers::CONTROL)),
            Some(Action::Claim)
        );
        assert_eq!(
            km.action(&press(KeyCode::Char('c'), KeyModifiers::NONE)),
            None,
            "old key freed"
        );
        assert_eq!(
            km.action(&press(KeyCode::Char('q'), KeyModifiers::NONE)),
            None,
            "unbound"
        );
        assert_eq!(km.label(Action::Claim).as_deref(), Some("ctrl-t/C"));
    }

    #[test]
    fn a_key_taken_by_an_override_leaves_its_old_action() {
        let mut o = BTreeMap::new();
        o.insert("help".to_owned(), vec!["j".to_owned()]);
        let km = Keymap::with_overrides(&o).unwrap();
        assert_eq!(
            km.action(&press(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(Action::Help)
        );
        assert_eq!(km.label(Action::Down).as_deref(), Some("↓"));
    }

    #[test]
    fn bad_config_names_the_problem() {
        let mut o = BTreeMap::new();
        o.insert("fly".to_owned(), vec!["x".to_owned()]);
        assert!(
            Keymap::with_overrides(&o)
                .unwrap_err()
                .contains("unknown action \"fly\"")
        );
        let mut o = BTreeMap::new();
        o.insert("quit".to_owned(), vec!["hyper-q".to_owned()]);
        assert!(
            Keymap::with_overrides(&o)
                .unwrap_err()
                .contains("unknown key \"hyper-q\"")
        );
    }

    #[test]
    fn every_action_has_a_default_key() {
        let km = Keymap::default();
        for &a in Action::ALL {
            assert!(km.label(a).is_some(), "{} has no key", a.name());
        }
    }
}
