//! Messages in, effects out.

use crate::model::*;
use ratatui::crossterm::event::KeyEvent;
use uuid::Uuid;

/// Tags every request so a reply to a superseded one can be recognised and dropped.
pub type RequestId = u64;

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Paste(String),
    /// The terminal was resized; the next draw lays out again.
    Resize,
    Db(Reply),
}

/// What the worker answers.
#[derive(Debug)]
pub enum Reply {
    LoggedIn {
        me: Me,
        moves: Vec<Move>,
        agents: Vec<PersonName>,
        draft: Option<NewTicket>,
    },
    /// The server wants a password (or refused the one given): show the form with this line.
    LoginFailed {
        message: String,
        needs_password: bool,
    },
    Page {
        req: RequestId,
        queue: Queue,
        rows: Vec<TicketRow>,
        append: bool,
        limit: usize,
    },
    /// How many tickets each of the person's queues holds.
    Counts {
        counts: Vec<(Queue, i64)>,
    },
    Ticket {
        req: RequestId,
        id: Uuid,
        detail: Option<TicketDetail>,
    },
    History {
        req: RequestId,
        id: Uuid,
        entries: Vec<HistoryEntry>,
    },
    Audit {
        req: RequestId,
        rows: Vec<HistoryEntry>,
        append: bool,
    },
    /// An action on a ticket succeeded: `done` says what, for the status line.
    ActionDone {
        ticket: Uuid,
        done: String,
    },
    ActionFailed {
        ticket: Option<Uuid>,
        message: String,
    },
    TicketCreated {
        id: Uuid,
    },
    CreateFailed {
        message: String,
    },
    /// The live connection went away or came back. Back means: re-read what is on screen.
    Connection {
        online: bool,
        message: String,
    },
    /// Tickets that someone changed (hints from LISTEN; to be re-read through RLS).
    Changed {
        ids: Vec<Uuid>,
    },
    /// A query failed; `what` names it for the status line.
    Failed {
        req: Option<RequestId>,
        what: String,
        message: String,
    },
}

/// What the state asks the world to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Login {
        login: String,
        password: Option<String>,
    },
    /// `limit` rows after `after`; a refresh asks for as many rows as are loaded.
    LoadPage {
        req: RequestId,
        queue: Queue,
        search: String,
        after: Option<Cursor>,
        limit: usize,
    },
    LoadCounts,
    LoadTicket {
        req: RequestId,
        id: Uuid,
    },
    LoadHistory {
        req: RequestId,
        id: Uuid,
    },
    LoadAudit {
        req: RequestId,
        filter: AuditFilter,
        after: Option<AuditCursor>,
    },
    Claim {
        ticket: Uuid,
    },
    Release {
        ticket: Uuid,
    },
    HandOff {
        ticket: Uuid,
        to: Uuid,
        to_name: String,
    },
    Change {
        ticket: Uuid,
        seen_at: chrono::DateTime<chrono::Utc>,
        change: crate::model::Change,
    },
    CreateTicket {
        ticket: NewTicket,
    },
    /// Keep the customer's typed ticket on disk until the database confirms it.
    SaveDraft {
        ticket: NewTicket,
    },
    ClearDraft,
    Quit,
}
