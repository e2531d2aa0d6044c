//! `update`: the only place state changes. Pure: no I/O, no awaits; it returns effects.
//!
//! `input` handles what is typed, `actions` what the keymap's actions do to the main screen,
//! `replies` what the database answered.

mod actions;
mod compose;
mod ends;
mod input;
mod live;
mod replies;
mod words;

use actions::*;
use compose::*;
use ends::*;
use input::*;
use live::*;
use replies::*;
use words::*;

use super::form::{FormField, TicketForm};
use super::keymap::Action;
use super::msg::{Effect, LoadKind, Msg, Reply};
use super::state::*;
use crate::model::*;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tui_input::backend::crossterm::EventHandler;

/// Rows from the end of the loaded list at which the next page is fetched.
const PREFETCH: usize = 20;
const PAGE_STEP: usize = 10;
pub const PAGE: usize = 100;

pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) if key.kind != KeyEventKind::Release => on_key(app, key),
        Msg::Key(_) | Msg::Resize => Vec::new(),
        Msg::Paste(text) => on_paste(app, &text),
        Msg::Db(reply) => on_reply(app, reply),
        Msg::NoticeExpired(old) => {
            // Only that notice, and only if it is still the one shown (a newer one stays).
            if app.notice.as_ref() == Some(&old) && !old.error {
                app.notice = None;
            }
            Vec::new()
        }
    }
}

pub(super) fn notice(app: &mut App, text: impl Into<String>, error: bool) {
    app.notice = Some(Notice {
        text: text.into(),
        error,
    });
}

/// The state's first effects: a known login first tries without a password (peer, certificate
/// or ~/.pgpass-style setups); the form asks for one only when the server does.
pub fn start(app: &mut App) -> Vec<Effect> {
    let Screen::Login(form) = &mut app.screen else {
        return Vec::new();
    };
    let login = form.login.value().trim().to_owned();
    if !app.try_without_password || login.is_empty() {
        return Vec::new();
    }
    form.busy = true;
    vec![Effect::Login {
        login,
        password: None,
    }]
}
