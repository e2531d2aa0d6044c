//! The state the screen is drawn from.

use super::composer::Composer;
use super::form::TicketForm;
use super::keymap::Keymap;
use super::msg::RequestId;
use crate::model::*;
use std::collections::HashMap;
use tui_input::Input;
use uuid::Uuid;

pub struct App {
    pub screen: Screen,
    pub keymap: Keymap,
    pub help_open: bool,
    /// The last thing that happened, for the status line.
    pub notice: Option<Notice>,
    pub quit: bool,
    /// Describes the server ("host:port/db") on the login form and the status line.
    pub server: String,
    /// A line of help on the login form (the demo lists its logins there).
    pub login_hint: Option<String>,
    /// A prefilled login first tries to log in without a password (peer, certificate).
    pub try_without_password: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
}

pub enum Screen {
    Login(Box<LoginForm>),
    Main(Box<Main>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginField {
    Login,
    Password,
}

pub struct LoginForm {
    pub login: Input,
    pub password: Input,
    pub focus: LoginField,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// What the form needs next (the server asked for a password): a prompt, not an error.
    pub ask: Option<String>,
    pub busy: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    List,
    /// The ticket: its fields, then its conversation.
    Detail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Tickets,
    Audit,
}

/// A ticket list: the loaded pages of one queue.
#[derive(Default)]
pub struct TicketList {
    pub rows: Vec<TicketRow>,
    pub selected: usize,
    /// The request whose reply is awaited; replies to any other are stale.
    pub loading: Option<RequestId>,
    /// The last page came back short: nothing more to load.
    pub exhausted: bool,
    /// Typed filter over the loaded rows (client side).
    pub filter: String,
    pub filtering: bool,
    /// Server-side search over subject and description.
    pub search: String,
    /// A page of this queue has arrived before (later pages are refreshes).
    pub loaded: bool,
    /// The rows were read from the end (`G`): rows above the first loaded one exist but are
    /// not loaded yet (they load as the cursor nears the top; `g` reads the top again).
    pub head_missing: bool,
    /// Where the cursor goes when the page on its way arrives (`g`, `G`).
    pub landing: Option<Landing>,
}

/// Where the cursor lands when the page that `g` or `G` asked for arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landing {
    Top,
    End,
}

impl TicketList {
    /// Indices of rows that pass the client filter, best match first (all, in order, when empty).
    pub fn visible(&self) -> Vec<usize> {
        if self.filter.is_empty() {
            return (0..self.rows.len()).collect();
        }
        super::filter::rank(&self.rows, &self.filter)
    }

    pub fn selected_row(&self) -> Option<&TicketRow> {
        let visible = self.visible();
        visible.get(self.selected).and_then(|&i| self.rows.get(i))
    }

    /// Puts the cursor on ticket `id` when it is visible; otherwise keeps the index, within
    /// bounds. The selection follows the ticket, not a position, when the list changes under it.
    pub fn select_id(&mut self, id: Option<Uuid>) {
        let visible = self.visible();
        self.selected = id
            .and_then(|id| visible.iter().position(|&i| self.rows[i].id == id))
            .unwrap_or(self.selected)
            .min(visible.len().saturating_sub(1));
    }
}

/// A choice list over the main screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Picker {
    Status {
        ticket: Uuid,
        options: Vec<Status>,
        selected: usize,
    },
    Priority {
        ticket: Uuid,
        options: Vec<Priority>,
        selected: usize,
    },
    Agent {
        ticket: Uuid,
        options: Vec<PersonName>,
        selected: usize,
    },
    /// Which part of the audit filter to edit.
    AuditField { selected: usize },
}

/// The parts of the audit filter the field picker offers, in its order.
pub const AUDIT_FIELDS: &[&str] = &[
    "Changed by",
    "Ticket",
    "Kind of change",
    "Since",
    "Until",
    "Clear all filters",
];

/// Text being typed into a one-line prompt (server search, audit filter fields).
pub struct Prompt {
    pub kind: PromptKind,
    pub input: Input,
    /// The text shown is the previous value, selected as a whole: typing replaces it, an
    /// arrow key starts editing it.
    pub selected: bool,
}

impl Prompt {
    /// A prompt showing `value` selected (typing replaces it).
    pub fn new(kind: PromptKind, value: String) -> Prompt {
        Prompt {
            kind,
            selected: !value.is_empty(),
            input: Input::new(value),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    Search,
    AuditPerson,
    AuditTicket,
    AuditSince,
    AuditUntil,
    /// The person's new password, then the same again (masked).
    NewPassword,
    NewPasswordAgain,
    /// A ticket by the number people say (`#1234`).
    Jump,
    /// Staff: the customer a new ticket is for.
    FileFor,
}

impl PromptKind {
    pub fn label(self) -> &'static str {
        match self {
            PromptKind::Search => "Search subject and description",
            PromptKind::AuditPerson => "Changed by (name or login)",
            PromptKind::AuditTicket => "Ticket (id prefix or subject)",
            PromptKind::AuditSince => "Since (YYYY-MM-DD)",
            PromptKind::AuditUntil => "Until (YYYY-MM-DD, exclusive)",
            PromptKind::NewPassword => "Your new password",
            PromptKind::NewPasswordAgain => "The new password again",
            PromptKind::Jump => "Go to ticket number (#1234)",
            PromptKind::FileFor => "New ticket for (customer's login, e-mail or name)",
        }
    }

    /// Whether the typed text is shown as dots.
    pub fn masked(self) -> bool {
        matches!(self, PromptKind::NewPassword | PromptKind::NewPasswordAgain)
    }
}

#[derive(Default)]
pub struct AuditLog {
    pub rows: Vec<HistoryEntry>,
    pub selected: usize,
    pub loading: Option<RequestId>,
    pub exhausted: bool,
    pub filter: AuditFilter,
    /// Read from the end (`G`): newer entries above the first loaded one are not loaded yet.
    pub head_missing: bool,
    pub landing: Option<Landing>,
}

pub struct Main {
    pub me: Me,
    pub moves: Vec<Move>,
    pub agents: Vec<PersonName>,
    pub view: View,
    pub queue: Queue,
    pub counts: HashMap<Queue, i64>,
    pub list: TicketList,
    pub focus: Pane,
    pub detail: Option<TicketDetail>,
    pub detail_req: Option<RequestId>,
    /// The open ticket's conversation: messages, notes and history events in time order.
    pub thread: Vec<ThreadEntry>,
    pub thread_req: Option<RequestId>,
    /// The ticket `thread` belongs to.
    pub thread_for: Option<Uuid>,
    /// The thread has more entries than were read.
    pub thread_more: bool,
    /// The detail's first line on screen (`u16::MAX`: the end, where the newest entries are).
    pub detail_scroll: u16,
    /// A reply or note being written.
    pub composer: Option<Composer>,
    /// Replies being written, per ticket, kept until the database has them.
    pub reply_drafts: HashMap<Uuid, ReplyDraft>,
    /// How many of the person's tickets have news since they last opened them.
    pub unseen: i64,
    /// A ticket opened by number that is not in the list: the detail shows it until Esc.
    pub pinned: Option<Uuid>,
    /// The detail's size as last drawn (all its lines, the lines on screen), so paging moves
    /// by what the person sees. Written by the render layer; a cache, not state.
    pub detail_view: std::cell::Cell<(u16, u16)>,
    pub picker: Option<Picker>,
    pub prompt: Option<Prompt>,
    pub form: Option<TicketForm>,
    pub audit: AuditLog,
    /// After an action, the ticket the cursor moves to once the list reloads (act-and-advance).
    pub advance_to: Option<Uuid>,
    /// A ticket action is in flight: further actions wait for its answer.
    pub acting: bool,
    /// The customer's unsent ticket, kept on disk until the database confirms it.
    pub draft: Option<NewTicket>,
    /// Why the prompt's text was not accepted.
    pub prompt_error: Option<String>,
    /// The new password typed once, while the prompt asks for it again.
    pub new_password: Option<String>,
    /// The live connection is up (the status line says so; actions wait while it is down).
    pub online: bool,
    /// The server takes no changes (a standby, or read-only): the status line says so.
    pub read_only: Option<ReadOnlyServer>,
    /// Changes arrived while the list was loading: reload once more when it arrives.
    pub refresh_pending: bool,
    /// Changed rows being re-read by id (the live path's answer to a change on screen).
    pub rows_req: Option<RequestId>,
    /// Changed tickets heard of while a re-read was in flight: the next round's.
    pub rows_pending: Vec<Uuid>,
    /// Whether one of those changes may have moved a count (the next round re-counts).
    pub rows_pending_count: bool,
    /// Tickets this person just changed whose live echo (the reload of the list and counts)
    /// has not arrived yet.
    pub awaiting_echo: Vec<Uuid>,
    /// Tickets changed while the audit view was on screen: reload the list on the way back.
    pub list_stale: bool,
    /// Tickets changed while the ticket list was on screen: reload the audit on the way back.
    pub audit_stale: bool,
    next_request: RequestId,
}

impl Main {
    pub fn new(me: Me, moves: Vec<Move>, agents: Vec<PersonName>) -> Main {
        let queue = Queue::for_role(me.role)[0];
        Main {
            me,
            moves,
            agents,
            view: View::Tickets,
            queue,
            counts: HashMap::new(),
            list: TicketList::default(),
            focus: Pane::List,
            detail: None,
            detail_req: None,
            thread: Vec::new(),
            thread_req: None,
            thread_for: None,
            thread_more: false,
            detail_scroll: 0,
            composer: None,
            reply_drafts: HashMap::new(),
            unseen: 0,
            pinned: None,
            detail_view: std::cell::Cell::new((0, 0)),
            picker: None,
            prompt: None,
            form: None,
            audit: AuditLog::default(),
            advance_to: None,
            acting: false,
            draft: None,
            prompt_error: None,
            new_password: None,
            online: true,
            read_only: None,
            refresh_pending: false,
            rows_req: None,
            rows_pending: Vec::new(),
            rows_pending_count: false,
            awaiting_echo: Vec::new(),
            list_stale: false,
            audit_stale: false,
            next_request: 0,
        }
    }

    /// A fresh request tag.
    pub fn request_id(&mut self) -> RequestId {
        self.next_request += 1;
        self.next_request
    }

    /// The ticket the detail pane is about: the selected row.
    pub fn selected(&self) -> Option<&TicketRow> {
        self.list.selected_row()
    }

    /// The status moves this person may make on this ticket now (what the database allows).
    pub fn status_options(&self, t: &TicketRow) -> Vec<Status> {
        let mine = t.agent_id == Some(self.me.id);
        match self.me.role {
            Role::Admin => Status::ALL
                .iter()
                .copied()
                .filter(|s| *s != t.status)
                .collect(),
            Role::Agent if mine => self.moves_from(t.status),
            // A customer closes their own ticket (withdraws it, or confirms the resolution);
            // their other moves in the table are made by their replies, never directly.
            Role::Customer if t.customer_id == self.me.id => self
                .moves_from(t.status)
                .into_iter()
                .filter(|s| *s == Status::Closed)
                .collect(),
            _ => Vec::new(),
        }
    }

    fn moves_from(&self, from: Status) -> Vec<Status> {
        Status::ALL
            .iter()
            .copied()
            .filter(|s| self.moves.iter().any(|m| m.from == from && m.to == *s))
            .collect()
    }

    /// Whether this person may write to the ticket's conversation: customers on their own
    /// tickets that are not closed; staff on every ticket they can see.
    pub fn can_post(&self, t: &TicketRow) -> bool {
        match self.me.role {
            Role::Customer => t.customer_id == self.me.id && t.status != Status::Closed,
            Role::Agent | Role::Admin => true,
        }
    }

    pub fn can_change_priority(&self, t: &TicketRow) -> bool {
        match self.me.role {
            Role::Admin => true,
            Role::Agent => t.agent_id == Some(self.me.id) && t.status != Status::Closed,
            Role::Customer => false,
        }
    }

    pub fn can_claim(&self, t: &TicketRow) -> bool {
        self.me.role == Role::Agent && t.agent_id.is_none() && t.status == Status::Open
    }

    pub fn can_release(&self, t: &TicketRow) -> bool {
        let allowed = match self.me.role {
            Role::Agent => t.agent_id == Some(self.me.id),
            Role::Admin => t.agent_id.is_some(),
            Role::Customer => false,
        };
        allowed && t.status.is_active()
    }

    pub fn can_hand_off(&self, t: &TicketRow) -> bool {
        match self.me.role {
            Role::Agent => t.agent_id == Some(self.me.id) && t.status != Status::Closed,
            Role::Admin => true,
            Role::Customer => false,
        }
    }
}

impl App {
    pub fn new(keymap: Keymap, server: String, login: Option<String>) -> App {
        let has_login = login.as_deref().is_some_and(|l| !l.is_empty());
        App {
            screen: Screen::Login(Box::new(LoginForm {
                login: Input::new(login.unwrap_or_default()),
                password: Input::default(),
                focus: if has_login {
                    LoginField::Password
                } else {
                    LoginField::Login
                },
                error: None,
                ask: None,
                busy: false,
            })),
            keymap,
            help_open: false,
            notice: None,
            quit: false,
            server,
            login_hint: None,
            try_without_password: has_login,
        }
    }

    /// The same, with a line of help on the login form.
    pub fn with_login_hint(mut self, hint: Option<String>) -> App {
        self.login_hint = hint;
        self
    }

    pub fn main(&self) -> Option<&Main> {
        match &self.screen {
            Screen::Main(m) => Some(m),
            Screen::Login(_) => None,
        }
    }
}
