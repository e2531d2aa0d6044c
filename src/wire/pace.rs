//! When to draw: at most one frame per `FRAME`, and not while the answer to the last key is
//! still on its way, for a short bounded time.
//!
//! A key that selects another ticket asks the database for its detail and history; they
//! usually arrive within a few milliseconds. Drawing at once would send a frame of the old
//! content marked "loading…" and then, a moment later, the settled frame: two frames (and
//! twice the bytes) for one key. So a change that awaits replies is held for up to `HOLD`; what
//! arrives by then goes out in one frame, and a slow reply gets its "loading…" frame after
//! `HOLD`, with the previous content still on screen.

use crate::app::{App, Screen};
use std::time::{Duration, Instant};

/// At most one frame per this interval (SSH links do not need 500 frames a second).
pub const FRAME: Duration = Duration::from_millis(16);
/// How long a frame waits for the replies a key asked for, at most.
pub const HOLD: Duration = Duration::from_millis(50);

/// Replies the screen waits for: a list page, a ticket, its history, the audit page, the
/// answer to an action or to the login.
pub fn awaits_reply(app: &App) -> bool {
    match &app.screen {
        Screen::Login(f) => f.busy,
        Screen::Main(m) => {
            m.list.loading.is_some()
                || m.detail_req.is_some()
                || m.thread_req.is_some()
                || m.audit.loading.is_some()
                || m.acting
                || m.form.as_ref().is_some_and(|f| f.submitting)
        }
    }
}

/// The drawing schedule of one screen.
#[derive(Debug, Clone)]
pub struct Pacer {
    /// The oldest change not yet drawn.
    dirty_since: Option<Instant>,
    last_draw: Option<Instant>,
    hold: Duration,
}

impl Default for Pacer {
    fn default() -> Self {
        Self::new()
    }
}

impl Pacer {
    /// A pacer whose first frame is due at once.
    pub fn new() -> Pacer {
        Pacer::with_hold(HOLD)
    }

    /// A pacer that holds a frame for awaited replies at most `hold` (zero: draw at once, as
    /// the client did before; the benchmarks compare both).
    pub fn with_hold(hold: Duration) -> Pacer {
        Pacer {
            dirty_since: Some(Instant::now()),
            last_draw: None,
            hold,
        }
    }

    /// The state changed at `now` (a key, a reply, a resize).
    pub fn changed(&mut self, now: Instant) {
        self.dirty_since.get_or_insert(now);
    }

    /// When the next frame is due; `None` when there is nothing to draw.
    pub fn due(&self, app: &App) -> Option<Instant> {
        let since = self.dirty_since?;
        let throttle = self.last_draw.map_or(since, |t| (t + FRAME).max(since));
        if awaits_reply(app) {
            Some(throttle.max(since + self.hold))
        } else {
            Some(throttle)
        }
    }

    /// Whether a frame is due at `now`.
    pub fn ready(&self, app: &App, now: Instant) -> bool {
        self.due(app).is_some_and(|t| t <= now)
    }

    /// A frame was drawn at `now`.
    pub fn drawn(&mut self, now: Instant) {
        self.dirty_since = None;
        self.last_draw = Some(now);
    }
}
