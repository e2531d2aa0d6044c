//! Writing to a ticket's conversation: opening the composer, its keys, sending, and what the
//! database answered. The text is a draft on disk from the first key until the database has it.

use super::*;
use crate::app::composer::Composer;

/// `m`: write to the ticket on screen, if this person may.
pub(super) fn open_composer(main: &mut Main) -> Result<Vec<Effect>, String> {
    let t = current_ticket(main).ok_or("No ticket is selected.")?;
    if !main.can_post(&t) {
        return Err(match main.me.role {
            Role::Customer if t.status == Status::Closed => format!(
                "{} is closed and takes no more messages: file a new ticket and mention its number.",
                t.name()
            ),
            _ => format!("{} is not yours to write to.", t.name()),
        });
    }
    let staff = main.me.role != Role::Customer;
    // What a reply may do to the status at once: the agent's own legal moves.
    let choices = if staff {
        main.status_options(&t)
            .into_iter()
            .filter(|s| {
                matches!(
                    s,
                    Status::WaitingOnCustomer | Status::Resolved | Status::InProgress
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    main.composer = Some(Composer::new(
        t.id,
        t.name(),
        main.reply_drafts.get(&t.id),
        staff,
        choices,
    ));
    Ok(Vec::new())
}

/// The ticket the detail shows (a pinned one, the audit's, or the list's selection).
pub(super) fn current_ticket(main: &Main) -> Option<TicketRow> {
    let shown = main.detail.as_ref().map(|d| d.row.clone());
    match (main.pinned, main.view) {
        (Some(id), _) => shown.filter(|r| r.id == id),
        (None, View::Audit) => shown,
        (None, View::Tickets) => main.selected().cloned(),
    }
}

pub(super) fn composer_key(main: &mut Main, key: KeyEvent) -> Vec<Effect> {
    let online = main.online;
    let Some(c) = &mut main.composer else {
        return Vec::new();
    };
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => {
            // Closing loses nothing: a non-empty draft stays on disk (and in memory).
            let (ticket, draft) = (c.ticket, c.draft());
            main.composer = None;
            return if draft.body.trim().is_empty() {
                main.reply_drafts.remove(&ticket);
                vec![Effect::ClearReplyDraft { ticket }]
            } else {
                Vec::new()
            };
        }
        KeyCode::Char('s') if ctrl => {
            if c.sending {
                return Vec::new();
            }
            let body = match c.message() {
                Ok(b) => b,
                Err(why) => {
                    c.error = Some(why);
                    return Vec::new();
                }
            };
            if !online {
                c.error = Some(
                    "Offline: reconnecting. Nothing was sent and your text is kept; send it when the status line says live."
                        .into(),
                );
                return Vec::new();
            }
            c.sending = true;
            c.error = None;
            return vec![Effect::Post {
                ticket: c.ticket,
                body,
                internal: c.internal,
                then_status: c.then_status,
            }];
        }
        KeyCode::Char('t') if ctrl => {
            c.toggle_internal();
            return save(main);
        }
        KeyCode::Char('o') if ctrl => {
            c.cycle_status();
            return Vec::new();
        }
        _ => {}
    }
    if c.sending {
        return Vec::new();
    }
    c.body.input(key);
    c.error = None;
    save(main)
}

pub(super) fn composer_paste(main: &mut Main, text: &str) -> Vec<Effect> {
    if let Some(c) = &mut main.composer
        && !c.sending
    {
        c.body.insert_str(text);
    }
    save(main)
}

/// Keeps what is typed, in memory and (debounced by the runtime) on disk.
fn save(main: &mut Main) -> Vec<Effect> {
    let Some(c) = &main.composer else {
        return Vec::new();
    };
    let (ticket, draft) = (c.ticket, c.draft());
    main.reply_drafts.insert(ticket, draft.clone());
    vec![Effect::SaveReplyDraft { ticket, draft }]
}

/// The database's answer to a message.
pub(super) fn on_posted(
    main: &mut Main,
    ticket: uuid::Uuid,
    then_status: Option<Status>,
    result: Result<(), DbError>,
) -> (Vec<Effect>, Option<(String, bool)>) {
    let name = ticket_name(main, ticket);
    let internal = main.composer.as_ref().is_some_and(|c| c.internal);
    match result {
        Ok(()) => {
            if main.composer.as_ref().is_some_and(|c| c.ticket == ticket) {
                main.composer = None;
            }
            main.reply_drafts.remove(&ticket);
            main.awaiting_echo.push(ticket);
            let what = if internal { "Note added" } else { "Reply sent" };
            let text = match then_status {
                Some(s) => format!("{name}: {what}; status is now {s}."),
                None => format!("{name}: {what}."),
            };
            (
                vec![
                    Effect::ClearReplyDraft { ticket },
                    Effect::MarkSeen { ticket },
                ],
                Some((text, false)),
            )
        }
        Err(e) => {
            let why = match &e {
                DbError::Unreachable(why) => format!("Offline ({why}). Nothing was sent."),
                other => format!("Refused: {}", sentence(&other.to_string())),
            };
            if let Some(c) = main.composer.as_mut().filter(|c| c.ticket == ticket) {
                c.sending = false;
                c.error = Some(format!("{why} Your text is kept."));
                (Vec::new(), None)
            } else {
                (Vec::new(), Some((format!("{name}: {why}"), true)))
            }
        }
    }
}
