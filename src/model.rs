//! The domain as the client sees it: plain data, no database types. The database decides what
//! is true and who may see it; these are read-only copies of what it returned.

use chrono::{DateTime, Utc};
use std::fmt;
use uuid::Uuid;

macro_rules! sql_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The value as PostgreSQL spells it.
            pub fn as_sql(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn from_sql(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.as_sql().replace('_', " "))
            }
        }
    };
}

sql_enum!(Role { Customer = "customer", Agent = "agent", Admin = "admin" });
sql_enum!(Status {
    Open = "open",
    InProgress = "in_progress",
    WaitingOnCustomer = "waiting_on_customer",
    Resolved = "resolved",
    Closed = "closed",
});
sql_enum!(Priority { Low = "low", Normal = "normal", High = "high", Urgent = "urgent" });
sql_enum!(ChangeKind {
    Created = "created",
    Status = "status",
    Assignment = "assignment",
    Priority = "priority",
    Edited = "edited",
});

impl Status {
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Status::Open | Status::InProgress | Status::WaitingOnCustomer
        )
    }
}

/// A server that takes no changes: a hot standby, or a database set read-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOnlyServer {
    Standby,
    ReadOnly,
}

/// The person logged in.
#[derive(Debug, Clone, PartialEq)]
pub struct Me {
    pub id: Uuid,
    pub login: String,
    pub display_name: String,
    pub role: Role,
}

/// A legal status move for a role, as the database's ticket_status_moves table lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    pub from: Status,
    pub to: Status,
}

/// One line of a ticket list.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketRow {
    pub id: Uuid,
    /// The number people say and type (`#1234`), given by the database in filing order.
    pub number: i64,
    pub subject: String,
    pub status: Status,
    pub priority: Priority,
    pub customer_id: Uuid,
    pub agent_id: Option<Uuid>,
    pub agent_name: Option<String>,
    /// Staff lists show who filed it; a customer's own list leaves it out (None).
    pub customer_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// New messages or changes since this person last opened it.
    pub unseen: bool,
}

impl TicketRow {
    /// `#1234 Printer on fire`, for notices and titles.
    pub fn name(&self) -> String {
        format!("#{} {}", self.number, self.subject)
    }
}

/// Everything the detail pane shows.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketDetail {
    pub row: TicketRow,
    pub description: String,
    pub customer_name: Option<String>,
    /// Shown to staff and to the customer themselves; never to other customers.
    pub customer_email: Option<String>,
}

/// One entry of a ticket's timeline (or of the audit feed, with the ticket's subject).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub ticket_subject: Option<String>,
    /// The ticket's number (in the audit feed).
    pub ticket_number: Option<i64>,
    pub seq: i32,
    pub kind: ChangeKind,
    pub old_status: Option<Status>,
    pub new_status: Option<Status>,
    pub old_agent: Option<String>,
    pub new_agent: Option<String>,
    pub old_priority: Option<Priority>,
    pub new_priority: Option<Priority>,
    pub changed_by: Uuid,
    /// Who made the change: "Name (login)" for staff readers (names repeat across people),
    /// the display name alone for a customer, who is never shown logins.
    pub changed_by_name: String,
    /// Their login, for staff readers (the audit shows it where the whole label does not fit).
    pub changed_by_login: Option<String>,
    pub changed_at: DateTime<Utc>,
}

/// How a person is named where changes are attributed: "Name (login)" when the login is known
/// (staff readers; display names repeat across people), the name alone otherwise.
pub fn person_label(name: Option<String>, login: Option<String>) -> Option<String> {
    match (name, login) {
        (Some(name), Some(login)) => Some(format!("{name} ({login})")),
        (name, _) => name,
    }
}

impl HistoryEntry {
    /// "open → in progress", "assigned to Bo", "priority normal → urgent", "created (open)".
    pub fn describe(&self) -> String {
        describe_change(
            self.kind,
            (self.old_status, self.new_status),
            (&self.old_agent, &self.new_agent),
            (self.old_priority, self.new_priority),
        )
    }
}

/// One change in words, the same in the history, the audit and the conversation.
fn describe_change(
    kind: ChangeKind,
    status: (Option<Status>, Option<Status>),
    agent: (&Option<String>, &Option<String>),
    priority: (Option<Priority>, Option<Priority>),
) -> String {
    fn opt<T: fmt::Display>(v: &Option<T>) -> String {
        v.as_ref().map_or_else(|| "?".into(), ToString::to_string)
    }
    match kind {
        ChangeKind::Created => format!("created ({})", opt(&status.1)),
        ChangeKind::Status => format!("{} → {}", opt(&status.0), opt(&status.1)),
        ChangeKind::Assignment => match agent {
            (None, Some(to)) => format!("assigned to {to}"),
            (Some(from), None) => format!("released by {from}"),
            (Some(from), Some(to)) => format!("handed off {from} → {to}"),
            (None, None) => "assignment".into(),
        },
        ChangeKind::Priority => format!("priority {} → {}", opt(&priority.0), opt(&priority.1)),
        ChangeKind::Edited => "subject or description edited".into(),
    }
}

/// A person as the hand-off picker and the audit filter show them.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonName {
    pub id: Uuid,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
}

/// Which list the ticket pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Queue {
    /// Agents: my active tickets. Customers: all their tickets.
    Mine,
    /// Open tickets nobody has claimed.
    Unassigned,
    /// Everything the role may see.
    All,
}

impl Queue {
    pub fn label(self, role: Role) -> &'static str {
        match (self, role) {
            (Queue::Mine, Role::Customer) => "My tickets",
            (Queue::Mine, _) => "Mine",
            (Queue::Unassigned, _) => "Unassigned",
            (Queue::All, Role::Admin) => "All tickets",
            (Queue::All, _) => "All I can see",
        }
    }

    /// The queues each role works with, in tab order.
    pub fn for_role(role: Role) -> &'static [Queue] {
        match role {
            Role::Customer => &[Queue::Mine],
            Role::Agent => &[Queue::Mine, Queue::Unassigned, Queue::All],
            Role::Admin => &[Queue::All, Queue::Unassigned],
        }
    }
}

/// Where the next page of a list starts (keyset paging: no OFFSET, flat cost per page).
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub priority: Priority,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub id: Uuid,
}

impl From<&TicketRow> for Cursor {
    fn from(r: &TicketRow) -> Self {
        Cursor {
            priority: r.priority,
            created_at: r.created_at,
            updated_at: r.updated_at,
            id: r.id,
        }
    }
}

/// The admin audit view's filter; every part optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// Exactly one person: their login, else their display name or a part of either that
    /// names nobody else (the database refuses an ambiguous one, naming the candidates).
    pub person: String,
    /// The start of a ticket id, or part of its subject.
    pub ticket: String,
    pub kind: Option<ChangeKind>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Keyset position in the audit feed (newest first).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditCursor {
    pub changed_at: DateTime<Utc>,
    pub id: Uuid,
}

/// A new ticket as a customer types it (or an agent, for a customer on the phone).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewTicket {
    pub subject: String,
    pub description: String,
    pub priority: String,
    /// Staff filing for a customer: whom it is for (customers file for themselves).
    #[serde(default)]
    pub customer: Option<CustomerRef>,
}

/// A customer as staff choose them: id, and how they are shown ("Cara Customer <cara@…>").
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CustomerRef {
    pub id: Uuid,
    pub label: String,
}

/// A direct change to a ticket, made on the version the person saw.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Status(Status),
    Priority(Priority),
}

/// Something a person does to one ticket. The database re-checks every rule; the answer is the
/// changed row as the person may now see it (or nothing, when it left their view).
#[derive(Debug, Clone, PartialEq)]
pub enum TicketAction {
    Claim,
    Release,
    HandOff {
        to: Uuid,
    },
    /// A direct change, made on the version the person saw (`seen_at` is its `updated_at`).
    Change {
        seen_at: DateTime<Utc>,
        change: Change,
    },
}

/// Why the database did not do what was asked: what a caller branches on, and the database's
/// own words (never a stack trace). The I/O layer answers in this; `app` writes the sentences.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DbError {
    /// The server could not be reached or the connection dropped: worth retrying later.
    #[error("{0}")]
    Unreachable(String),
    /// The server refused the login (wrong password, unknown or disabled login).
    #[error("{0}")]
    LoginRefused(String),
    /// The database refused the statement; `code` is the SQLSTATE, `message` its reason.
    #[error("{message}")]
    Refused { code: String, message: String },
}

impl DbError {
    pub fn code(&self) -> Option<&str> {
        match self {
            DbError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// SQLSTATE of a write made on a version of the ticket that is no longer current.
pub const STALE_WRITE: &str = "40001";

/// Why a login did not lead to a session.
#[derive(Debug, Clone, PartialEq)]
pub enum LoginError {
    /// The server wants a password and none was typed.
    PasswordNeeded,
    WrongPassword,
    /// The login exists but may not log in (a disabled person).
    Disabled {
        login: String,
    },
    /// A PostgreSQL login that is not an active person of this database.
    NotAPerson {
        login: String,
    },
    /// Logged in, but the session could not be set up.
    SetupFailed(DbError),
    /// Any other refusal by the server, in its words.
    Refused(String),
    Unreachable(String),
}

impl LoginError {
    /// Whether the form should ask for (another) password.
    pub fn wants_password(&self) -> bool {
        matches!(
            self,
            LoginError::PasswordNeeded | LoginError::WrongPassword | LoginError::Refused(_)
        )
    }
}

/// What one entry of a ticket's thread is: a public reply, an internal note (staff only), or
/// an event of the ticket's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadKind {
    Message,
    Note,
    Change(ChangeKind),
}

/// One entry of a ticket's thread (`ticket_thread`): messages and history in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadEntry {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub at: DateTime<Utc>,
    pub kind: ThreadKind,
    /// The author of a message, or who made the change.
    pub person_id: Uuid,
    pub person_name: Option<String>,
    /// The text of a message or note; None for a history event.
    pub body: Option<String>,
    pub old_status: Option<Status>,
    pub new_status: Option<Status>,
    pub old_agent: Option<String>,
    pub new_agent: Option<String>,
    pub old_priority: Option<Priority>,
    pub new_priority: Option<Priority>,
}

/// Keyset position in a thread (oldest first): the page after this entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThreadCursor {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl ThreadEntry {
    /// A history event in words ("open → in progress"); None for a message or note.
    pub fn describe(&self) -> Option<String> {
        match self.kind {
            ThreadKind::Change(kind) => Some(describe_change(
                kind,
                (self.old_status, self.new_status),
                (&self.old_agent, &self.new_agent),
                (self.old_priority, self.new_priority),
            )),
            ThreadKind::Message | ThreadKind::Note => None,
        }
    }
}

impl From<&ThreadEntry> for ThreadCursor {
    fn from(e: &ThreadEntry) -> Self {
        ThreadCursor { at: e.at, id: e.id }
    }
}

/// A reply or note being written to one ticket, kept on disk until the database has it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReplyDraft {
    pub body: String,
    /// An internal note (staff only) rather than a public reply.
    pub internal: bool,
}

/// The most tickets with news the header counts exactly ("99+ new" past it): the database
/// stops counting there (unseen_count(at_most), 0031).
pub const UNSEEN_SHOWN: i32 = 99;
