//! Messages in, effects out.

use crate::model::*;
use ratatui::crossterm::event::KeyEvent;
use uuid::Uuid;

/// Tags every request so a reply to a superseded one can be recognised and dropped.
pub type RequestId = u64;

// A reply carries a whole row; messages are moved once through a channel, so boxing it would
// only add an allocation per message.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Paste(String),
    /// The terminal was resized; the next draw lays out again.
    Resize,
    Db(Reply),
    /// The runtime's clock says this informational notice has been read long enough.
    NoticeExpired(crate::app::Notice),
}

/// What the worker answers.
#[derive(Debug)]
pub enum Reply {
    LoggedIn {
        me: Me,
        moves: Vec<Move>,
        agents: Vec<PersonName>,
        draft: Option<NewTicket>,
        /// Replies and notes being written when the person last left, per ticket.
        reply_drafts: Vec<(Uuid, ReplyDraft)>,
    },
    /// The database answered a password change.
    PasswordChanged { result: Result<(), DbError> },
    /// The server logged in to takes no changes (sent right after `LoggedIn`).
    ReadOnly(ReadOnlyServer),
    /// The login did not lead to a session: the form says why.
    LoginFailed(LoginError),
    Page {
        req: RequestId,
        queue: Queue,
        rows: Vec<TicketRow>,
        append: bool,
        limit: usize,
    },
    /// A page read from the list's other end: its last rows (`prepend` false: they replace
    /// the loaded ones), or the page above the first loaded row (`prepend`).
    Tail {
        req: RequestId,
        queue: Queue,
        rows: Vec<TicketRow>,
        prepend: bool,
        limit: usize,
    },
    /// The rows among `ids` that are in `queue` now (a live change re-read by id); the
    /// others left it or may not be read.
    Rows {
        req: RequestId,
        queue: Queue,
        ids: Vec<Uuid>,
        rows: Vec<TicketRow>,
    },
    /// How many tickets each of the person's queues holds.
    Counts {
        counts: Vec<(Queue, i64)>,
        /// The person's tickets with news since they last opened them.
        unseen: i64,
    },
    Ticket {
        req: RequestId,
        id: Uuid,
        detail: Option<TicketDetail>,
    },
    /// A ticket's conversation: messages, notes and history events in time order.
    Thread {
        req: RequestId,
        id: Uuid,
        entries: Vec<ThreadEntry>,
        /// The thread has more entries than were read.
        more: bool,
    },
    /// The database answered a message: posted (with its status change, if any), or why not.
    Posted {
        ticket: Uuid,
        then_status: Option<Status>,
        result: Result<(), DbError>,
    },
    /// The customers matching what staff typed to file a ticket for.
    Customers {
        query: String,
        result: Result<Vec<CustomerRef>, DbError>,
    },
    /// The ticket people call `#number`, if the person may see it.
    Found {
        number: i64,
        result: Result<Option<Uuid>, DbError>,
    },
    Audit {
        req: RequestId,
        rows: Vec<HistoryEntry>,
        append: bool,
    },
    /// A page read from the audit's other end: its last page (`prepend` false: it replaces
    /// the rows), or the page above the first loaded row (`prepend`).
    AuditTail {
        req: RequestId,
        rows: Vec<HistoryEntry>,
        prepend: bool,
    },
    /// The database answered an action on a ticket: the changed row as the person may now see
    /// it (None once it left their view), or its refusal.
    Acted {
        ticket: Uuid,
        action: TicketAction,
        result: Result<Option<TicketRow>, DbError>,
    },
    /// The database answered a new ticket: its id, or why not.
    Created { result: Result<Uuid, DbError> },
    /// The live connection went away or came back. Back means: re-read what is on screen.
    Connection { online: bool, message: String },
    /// Tickets that someone changed (hints from LISTEN; to be re-read through RLS), and
    /// whether any of the changes may have moved a count (a filing, a status or an agent).
    Changed { ids: Vec<Uuid>, counts: bool },
    /// A load failed (`req` is its tag, when it had one).
    Failed {
        req: Option<RequestId>,
        load: LoadKind,
        error: DbError,
    },
}

/// What was being loaded, for the sentence when it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadKind {
    List,
    Counts,
    Ticket,
    Thread,
    Audit,
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
    /// The list's page just before `before`, or its last `limit` rows when None: the real end
    /// of the queue (`G`), and scrolling up from there.
    LoadTail {
        req: RequestId,
        queue: Queue,
        search: String,
        before: Option<Cursor>,
        limit: usize,
    },
    /// Re-reads the list's rows among `ids` (changed tickets), by id.
    LoadRows {
        req: RequestId,
        queue: Queue,
        ids: Vec<Uuid>,
    },
    LoadCounts,
    /// Re-reads only how many tickets have news: after changes that moved no count.
    LoadUnseen,
    LoadTicket {
        req: RequestId,
        id: Uuid,
    },
    LoadThread {
        req: RequestId,
        id: Uuid,
    },
    /// The person has opened the ticket as it is now (its news are seen).
    MarkSeen {
        ticket: Uuid,
    },
    /// A message to a ticket (a public reply or an internal note), with a status change made
    /// in the same transaction.
    Post {
        ticket: Uuid,
        body: String,
        internal: bool,
        then_status: Option<Status>,
    },
    /// Find the customer staff file a ticket for (login, e-mail or name).
    FindCustomer {
        query: String,
    },
    /// Look up the ticket people call `#number`.
    FindNumber {
        number: i64,
    },
    LoadAudit {
        req: RequestId,
        filter: AuditFilter,
        after: Option<AuditCursor>,
    },
    /// The audit's page just newer than `before`, or its last page (the oldest changes) when
    /// None: read from the other end (`G`, and scrolling up from there).
    LoadAuditTail {
        req: RequestId,
        filter: AuditFilter,
        before: Option<AuditCursor>,
    },
    /// Do something to a ticket (one action in flight at a time).
    Act {
        ticket: Uuid,
        action: TicketAction,
    },
    CreateTicket {
        ticket: NewTicket,
    },
    /// Keep the customer's typed ticket on disk until the database confirms it.
    SaveDraft {
        ticket: NewTicket,
    },
    ClearDraft,
    /// Set the person's own password (only its SCRAM verifier goes to the server).
    ChangePassword {
        password: String,
    },
    /// Keep a reply being written on disk until the database has it.
    SaveReplyDraft {
        ticket: Uuid,
        draft: ReplyDraft,
    },
    ClearReplyDraft {
        ticket: Uuid,
    },
    Quit,
    /// The session is over (the login was disabled): drop it and the live task keeping it.
    LoggedOut,
}
