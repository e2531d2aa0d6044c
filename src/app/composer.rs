//! The reply composer: a multi-line message to one ticket, public or (for staff) an internal
//! note, optionally with a status change sent in the same transaction. What is typed is kept
//! as a draft on disk until the database has the message.

use crate::model::{ReplyDraft, Status};
use ratatui::style::{Modifier, Style};
use ratatui_textarea::{TextArea, WrapMode};
use uuid::Uuid;

/// The database refuses longer messages (ticket_messages' check); the composer says so first.
pub const MESSAGE_MAX_BYTES: usize = 64 * 1024;

pub struct Composer {
    pub ticket: Uuid,
    /// How the ticket is named in the composer's title (`#1234 Printer on fire`).
    pub title: String,
    pub body: TextArea<'static>,
    pub internal: bool,
    /// Staff may write internal notes; customers only replies.
    pub can_note: bool,
    /// The status the ticket takes with this message (agents: "reply and wait on customer").
    pub then_status: Option<Status>,
    /// The moves offered with a message: the legal moves from the ticket's status.
    pub status_choices: Vec<Status>,
    /// Sent; waiting for the database's answer.
    pub sending: bool,
    /// Why the last send failed, or what is wrong with the text (the text is kept).
    pub error: Option<String>,
}

impl Composer {
    pub fn new(
        ticket: Uuid,
        title: String,
        draft: Option<&ReplyDraft>,
        can_note: bool,
        status_choices: Vec<Status>,
    ) -> Composer {
        let lines: Vec<String> = draft
            .map(|d| d.body.split('\n').map(str::to_owned).collect())
            .unwrap_or_default();
        let mut body = TextArea::new(lines);
        body.set_placeholder_text("Write your message. Ctrl-S sends it; Esc keeps it as a draft.");
        body.set_placeholder_style(Style::new().add_modifier(Modifier::DIM));
        body.set_cursor_line_style(Style::new());
        body.set_wrap_mode(WrapMode::WordOrGlyph);
        // A restored draft continues where it ended.
        body.move_cursor(ratatui_textarea::CursorMove::Bottom);
        body.move_cursor(ratatui_textarea::CursorMove::End);
        Composer {
            ticket,
            title,
            body,
            internal: can_note && draft.is_some_and(|d| d.internal),
            can_note,
            then_status: None,
            status_choices,
            sending: false,
            error: None,
        }
    }

    pub fn text(&self) -> String {
        self.body.lines().join("\n")
    }

    pub fn draft(&self) -> ReplyDraft {
        ReplyDraft {
            body: self.text(),
            internal: self.internal,
        }
    }

    /// The message as it will be sent, or why it cannot be: empty, too long. Control
    /// characters other than newline and tab are dropped (they would reach terminals).
    pub fn message(&self) -> Result<String, String> {
        let text: String = self
            .text()
            .chars()
            .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
            .collect();
        let text = text.trim_end().to_owned();
        if text.trim().is_empty() {
            return Err("The message is empty.".into());
        }
        if text.len() > MESSAGE_MAX_BYTES {
            return Err(format!(
                "At most 64 KiB ({} KiB now): split it into two messages.",
                text.len().div_ceil(1024)
            ));
        }
        Ok(text)
    }

    /// Reply → note → reply (staff); customers always reply.
    pub fn toggle_internal(&mut self) {
        if self.can_note {
            self.internal = !self.internal;
            if self.internal {
                // A note is for colleagues: it does not move the ticket for the customer.
                self.then_status = None;
            }
        }
    }

    /// No change → each legal move in turn → no change.
    pub fn cycle_status(&mut self) {
        if self.internal || self.status_choices.is_empty() {
            self.then_status = None;
            return;
        }
        self.then_status = match self.then_status {
            None => self.status_choices.first().copied(),
            Some(s) => {
                let i = self.status_choices.iter().position(|c| *c == s);
                i.and_then(|i| self.status_choices.get(i + 1)).copied()
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_checked_before_it_is_sent() {
        let mut c = Composer::new(Uuid::nil(), "#1".into(), None, true, vec![]);
        assert_eq!(c.message(), Err("The message is empty.".into()));
        c.body.insert_str("  \n\t ");
        assert_eq!(c.message(), Err("The message is empty.".into()));
        c.body.insert_str("Hello\u{1b}[2J there\u{7}");
        assert_eq!(c.message().unwrap(), "  \n\t Hello[2J there");
        c.body.insert_str("x".repeat(MESSAGE_MAX_BYTES));
        assert!(c.message().unwrap_err().contains("64 KiB"));
    }

    #[test]
    fn a_restored_draft_continues_at_its_end_and_keeps_its_kind() {
        let draft = ReplyDraft {
            body: "line one\nline two".into(),
            internal: true,
        };
        let mut c = Composer::new(Uuid::nil(), "#1".into(), Some(&draft), true, vec![]);
        c.body.insert_str("!");
        assert_eq!(c.text(), "line one\nline two!");
        assert!(c.internal);
        // Customers never write notes, whatever a draft file says.
        let c = Composer::new(Uuid::nil(), "#1".into(), Some(&draft), false, vec![]);
        assert!(!c.internal);
    }

    #[test]
    fn a_note_never_carries_a_status_change() {
        let mut c = Composer::new(
            Uuid::nil(),
            "#1".into(),
            None,
            true,
            vec![Status::WaitingOnCustomer, Status::Resolved],
        );
        c.cycle_status();
        assert_eq!(c.then_status, Some(Status::WaitingOnCustomer));
        c.cycle_status();
        assert_eq!(c.then_status, Some(Status::Resolved));
        c.cycle_status();
        assert_eq!(c.then_status, None);
        c.cycle_status();
        c.toggle_internal();
        assert!(c.internal);
        assert_eq!(c.then_status, None);
        c.cycle_status();
        assert_eq!(c.then_status, None);
    }
}
