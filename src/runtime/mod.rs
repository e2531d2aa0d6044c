//! The runtime: the one driver between the state and the world. It owns the channels, applies
//! every message to the state through `app::update`, performs the effects that come out (the
//! database on the person's own session, the LISTEN task, the drafts) and brings the answers
//! back as messages. The terminal loop, the headless client of the tests and benchmarks (and
//! later an SSH server) all drive the client through this one type, so the tests drive the
//! loop people use, not a twin of it.
//!
//! ```text
//!  keys ──► Runtime::dispatch ──► app::update (pure) ──► effects ──► io task ──► db::{repo, session, listen}
//!                 ▲                                                     │
//!                 └──────────── Runtime::recv ◄── replies (Msg::Db) ◄───┘
//! ```

mod drafts;
mod io;
mod requests;

use crate::app::{self, App, Effect, Msg, Notice};
use crate::drafts::DraftStore;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How long an informational notice stays on the status line (errors stay until a key).
pub const NOTICE_TIME: Duration = Duration::from_secs(5);

/// How many of each effect the state asked for: what the tests count ("one change, one
/// refresh") and the benchmarks report.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    pub page_loads: usize,
    /// Changed rows re-read by id (a live change to tickets on screen).
    pub row_loads: usize,
    pub count_loads: usize,
    /// Re-reads of the news count alone (live changes that moved no count).
    pub unseen_loads: usize,
    pub ticket_loads: usize,
    pub thread_loads: usize,
    pub audit_loads: usize,
    pub actions: usize,
}

impl Stats {
    fn count(&mut self, e: &Effect) {
        match e {
            Effect::LoadPage { .. } => self.page_loads += 1,
            Effect::LoadRows { .. } => self.row_loads += 1,
            Effect::LoadCounts => self.count_loads += 1,
            Effect::LoadUnseen => self.unseen_loads += 1,
            Effect::LoadTicket { .. } => self.ticket_loads += 1,
            Effect::LoadThread { .. } => self.thread_loads += 1,
            Effect::LoadAudit { .. } => self.audit_loads += 1,
            Effect::Act { .. } | Effect::CreateTicket { .. } | Effect::Post { .. } => {
                self.actions += 1
            }
            _ => {}
        }
    }
}

/// Whether the client goes on after a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

pub struct Runtime {
    effects: mpsc::UnboundedSender<Effect>,
    replies: mpsc::Receiver<Msg>,
    pub stats: Stats,
    /// Change-log reads the live task made (what notifications cost this client).
    pub change_reads: Arc<AtomicU64>,
    /// The informational notice on screen and when to take it down: the state stays pure,
    /// the runtime owns the clock and says when the time is up.
    expiry: Option<(Notice, Instant)>,
}

impl Runtime {
    /// How many change-log reads this client's live task has made.
    pub fn change_reads(&self) -> u64 {
        self.change_reads.load(Ordering::Relaxed)
    }

    /// Starts the I/O task for the server in `config` (the login and password come later, from
    /// the state's `Login` effect). `server` names it for the drafts and the screen.
    pub fn start(
        config: impl Into<crate::db::Target>,
        server: String,
        drafts: Option<DraftStore>,
    ) -> Runtime {
        let (reply_tx, replies) = mpsc::channel(1024);
        let change_reads = Arc::new(AtomicU64::new(0));
        let effects = io::spawn(
            config.into(),
            server,
            drafts,
            reply_tx,
            change_reads.clone(),
        );
        Runtime {
            effects,
            replies,
            stats: Stats::default(),
            change_reads,
            expiry: None,
        }
    }

    /// The state's first effects (a known login tries to log in without a password).
    pub fn begin(&mut self, app: &mut App) -> Flow {
        let effects = app::start(app);
        self.perform(effects)
    }

    /// Applies one message to the state and performs what it asks.
    pub fn dispatch(&mut self, app: &mut App, msg: Msg) -> Flow {
        let effects = app::update(app, msg);
        if self.perform(effects) == Flow::Quit || app.quit {
            return Flow::Quit;
        }
        self.watch_notice(app);
        Flow::Continue
    }

    /// Starts the clock for a new informational notice.
    fn watch_notice(&mut self, app: &App) {
        match &app.notice {
            Some(n) if !n.error => {
                if self.expiry.as_ref().is_none_or(|(shown, _)| shown != n) {
                    self.expiry = Some((n.clone(), Instant::now() + NOTICE_TIME));
                }
            }
            _ => self.expiry = None,
        }
    }

    /// The expiry message when the notice's time is up.
    fn expired(&mut self) -> Option<Msg> {
        match &self.expiry {
            Some((_, at)) if *at <= Instant::now() => {
                self.expiry.take().map(|(n, _)| Msg::NoticeExpired(n))
            }
            _ => None,
        }
    }

    fn perform(&mut self, effects: Vec<Effect>) -> Flow {
        for effect in effects {
            if effect == Effect::Quit {
                let _ = self.effects.send(Effect::Quit);
                return Flow::Quit;
            }
            self.stats.count(&effect);
            // A stopped I/O task shows up as a closed reply channel in `recv`.
            let _ = self.effects.send(effect);
        }
        Flow::Continue
    }

    /// The next answer from the world; None when the I/O task has stopped.
    /// (or the end of an informational notice's time on screen).
    pub async fn recv(&mut self) -> Option<Msg> {
        let Some(at) = self.expiry.as_ref().map(|(_, at)| *at) else {
            return self.replies.recv().await;
        };
        tokio::select! {
            reply = self.replies.recv() => reply,
            _ = tokio::time::sleep_until(at) => self.expired(),
        }
    }

    /// An answer that is already waiting, if any.
    pub fn try_recv(&mut self) -> Option<Msg> {
        self.replies.try_recv().ok().or_else(|| self.expired())
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Stops the LISTEN task and flushes a pending draft.
        let _ = self.effects.send(Effect::Quit);
    }
}
