//! `update`: the only place state changes. Pure: no I/O, no awaits; it returns effects.
//!
//! `input` handles what is typed, `actions` what the keymap's actions do to the main screen,
//! `replies` what the database answered.

mod actions;
mod input;
mod replies;

use actions::*;
use input::*;
use replies::*;

use super::form::{FormField, TicketForm};
use super::keymap::Action;
use super::msg::{Effect, Msg, Reply};
use super::state::*;
use crate::model::*;
use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tui_input::backend::crossterm::EventHandler;

/// Rows from the end of the loaded list at which the next page is fetched.
const PREFETCH: usize = 20;
const PAGE_STEP: usize = 10;
pub const PAGE: usize = 100;

pub const AUDIT_FIELDS: &[&str] = &[
    "Changed by",
    "Ticket",
    "Kind of change",
    "Since",
    "Until",
    "Clear all filters",
];

pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) if key.kind != KeyEventKind::Release => on_key(app, key),
        Msg::Key(_) | Msg::Resize => Vec::new(),
        Msg::Paste(text) => on_paste(app, &text),
        Msg::Db(reply) => on_reply(app, reply),
    }
}

pub(super) fn notice(app: &mut App, text: impl Into<String>, error: bool) {
    app.notice = Some(Notice {
        text: text.into(),
        error,
    });
}

/// Indices of the rows whose subject fuzzy-matches `filter`, in list order.
pub fn fuzzy_filter(rows: &[TicketRow], filter: &str) -> Vec<usize> {
    let pattern = Pattern::parse(filter, CaseMatching::Smart, Normalization::Smart);
    let mut matcher = Matcher::new(Config::DEFAULT);
    let mut buf = Vec::new();
    rows.iter()
        .enumerate()
        .filter(|(_, r)| {
            let haystack = format!("{} {} {}", r.subject, r.status, r.priority);
            pattern
                .score(Utf32Str::new(&haystack, &mut buf), &mut matcher)
                .is_some()
        })
        .map(|(i, _)| i)
        .collect()
}
