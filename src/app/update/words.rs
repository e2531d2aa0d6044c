//! The sentences people read about what the database answered: actions done and refused,
//! loads that failed, lost connections, logins. Written here, in `app`, so the I/O layer
//! answers in types and never in words.

use super::*;

/// Longest subject a notice quotes before it shortens it with an ellipsis.
const NAME_CHARS: usize = 40;

/// How a notice names a ticket: its subject in quotes (shortened), as it was on screen when
/// the person acted; the short id only when the subject is not known.
pub(super) fn ticket_name(main: &Main, id: uuid::Uuid) -> String {
    let row = main
        .detail
        .as_ref()
        .map(|d| &d.row)
        .filter(|r| r.id == id)
        .or_else(|| main.list.rows.iter().find(|r| r.id == id));
    let (number, subject) = match row {
        Some(r) => (Some(r.number), Some(r.subject.as_str())),
        None => main
            .audit
            .rows
            .iter()
            .find(|h| h.ticket_id == id)
            .map_or((None, None), |h| {
                (h.ticket_number, h.ticket_subject.as_deref())
            }),
    };
    let subject = subject.map(|s| {
        let s = s.trim();
        if s.chars().count() > NAME_CHARS {
            let cut: String = s.chars().take(NAME_CHARS - 1).collect();
            format!("{}…", cut.trim_end())
        } else {
            s.to_owned()
        }
    });
    match (number, subject) {
        (Some(n), Some(s)) => format!("#{n} {s}"),
        (Some(n), None) => format!("Ticket #{n}"),
        (None, Some(s)) => format!("“{s}”"),
        (None, None) => format!("Ticket {}", short(id)),
    }
}

/// What a person reads after an action the database did: which ticket, and what is true now.
pub(super) fn action_done(main: &Main, ticket: uuid::Uuid, action: &TicketAction) -> String {
    let name = ticket_name(main, ticket);
    match action {
        TicketAction::Claim => format!("{name}: claimed, it is yours."),
        TicketAction::Release => format!("{name}: released to the unassigned pool."),
        TicketAction::HandOff { to } => {
            let agent = main
                .agents
                .iter()
                .find(|a| a.id == *to)
                .map_or("another agent", |a| a.display_name.as_str());
            format!("{name}: handed off to {agent}.")
        }
        TicketAction::Change {
            change: Change::Status(s),
            ..
        } => format!("{name}: status is now {s}."),
        TicketAction::Change {
            change: Change::Priority(p),
            ..
        } => format!("{name}: priority is now {p}."),
    }
}

/// The database's reason, as one sentence.
pub(super) fn sentence(s: &str) -> String {
    let s = s.trim();
    if s.ends_with('.') || s.ends_with(')') {
        s.to_owned()
    } else {
        format!("{s}.")
    }
}

/// Why an action was not done: offline (nothing sent) or the database's own reason, with the
/// ticket named by its subject instead of the UUID the database's message carries.
pub(super) fn refused(main: &Main, ticket: uuid::Uuid, e: &DbError) -> String {
    let name = ticket_name(main, ticket);
    match e {
        DbError::Unreachable(why) => {
            format!("{name} was not changed: {} Nothing was sent.", offline(why))
        }
        other => {
            let text = other.to_string();
            let about = format!("ticket {ticket}");
            if text.contains(&about) {
                sentence(
                    &text
                        .replacen(&about, &name, 1)
                        .replace(&ticket.to_string(), "it"),
                )
            } else {
                format!(
                    "{name} was not changed: {}",
                    sentence(&text.replace(&ticket.to_string(), "it"))
                )
            }
        }
    }
}

pub(super) fn refused_create(e: &DbError) -> String {
    match e {
        DbError::Unreachable(why) => format!("{} Nothing was sent.", offline(why)),
        other => sentence(&other.to_string()),
    }
}

pub(super) fn load_failed(load: LoadKind, e: &DbError) -> String {
    if let DbError::Unreachable(why) = e {
        return offline(why);
    }
    let what = match load {
        LoadKind::List => "Loading the list",
        LoadKind::Counts => "Counting",
        LoadKind::Ticket => "Loading the ticket",
        LoadKind::Thread => "Loading the conversation",
        LoadKind::Audit => "Loading the audit log",
    };
    format!("{what}: {e}")
}

/// The one sentence for a server that takes no changes.
pub(super) fn read_only_server(kind: ReadOnlyServer) -> &'static str {
    match kind {
        ReadOnlyServer::Standby => {
            "This server is a read-only standby: you can read but not change tickets, and nothing updates live. Connect to the primary (a URL listing both servers with target_session_attrs=read-write finds it)."
        }
        ReadOnlyServer::ReadOnly => {
            "This database is read-only (default_transaction_read_only): you can read but not change tickets."
        }
    }
}

/// The one sentence for a lost connection, whichever path noticed it (the live task,
/// a load, an action) and whichever words the driver used: one cause, one wording.
pub(super) fn offline(why: &str) -> String {
    format!("Offline: {}. Reconnecting…", offline_cause(why))
}

fn offline_cause(why: &str) -> String {
    let lower = why.to_lowercase();
    let known = [
        ("administrator command", "the server ended the session"),
        ("during recovery", "the server is a read-only standby"),
        ("shutting down", "the server is shutting down"),
        ("starting up", "the server is starting up"),
        ("connection refused", "the server refuses connections"),
        ("did not answer", "the database did not answer for 2 s"),
        ("timed out", "the database did not answer in time"),
        ("closed", "the connection was closed"),
        ("broken pipe", "the connection was closed"),
        ("reset by peer", "the connection was closed"),
    ];
    if let Some((_, cause)) = known.iter().find(|(k, _)| lower.contains(k)) {
        return (*cause).to_owned();
    }
    // Anything else in the driver's words, without a repeated "offline" or final stop.
    let mut s = why.trim();
    for prefix in ["Offline:", "Offline", "offline:", "offline"] {
        s = s.strip_prefix(prefix).unwrap_or(s).trim_start();
    }
    let s = s
        .trim_start_matches('(')
        .trim_end_matches(['.', ')'])
        .trim();
    if s.is_empty() {
        "the connection was lost".to_owned()
    } else {
        s.to_owned()
    }
}

/// The login form's line for a login that did not lead to a session.
pub(super) fn login_failed(e: &LoginError) -> String {
    match e {
        LoginError::PasswordNeeded => "Type your password.".into(),
        LoginError::WrongPassword => "Wrong login or password.".into(),
        LoginError::Disabled { login } => {
            format!("{login} is disabled. Ask an admin to enable it.")
        }
        LoginError::NotAPerson { login } => format!(
            "{login} can log in to PostgreSQL but is not an active tickets person. Ask an admin."
        ),
        LoginError::SetupFailed(e) => {
            format!("Logged in, but the database refused to set up the session: {e}")
        }
        LoginError::Refused(m) | LoginError::Unreachable(m) => m.clone(),
    }
}
