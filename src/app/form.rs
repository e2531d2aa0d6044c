//! The customer's new-ticket form: fields, validation in place, and the draft it came from.

use crate::model::{CustomerRef, NewTicket, Priority};
use ratatui::style::{Modifier, Style};
use ratatui_textarea::{CursorMove, TextArea, WrapMode};
use tui_input::Input;

pub const SUBJECT_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormField {
    Subject,
    Description,
    Priority,
}

pub struct TicketForm {
    pub subject: Input,
    pub description: TextArea<'static>,
    pub priority: Priority,
    pub focus: FormField,
    /// Shown under the subject field.
    pub subject_error: Option<String>,
    pub description_error: Option<String>,
    /// Sent to the database; waiting for its answer.
    pub submitting: bool,
    /// Why the last submit failed (the draft is kept).
    pub error: Option<String>,
    /// Staff filing for a customer: whom for.
    pub customer: Option<CustomerRef>,
}

impl TicketForm {
    pub fn new(draft: Option<&NewTicket>) -> TicketForm {
        let (subject, description, priority) = match draft {
            Some(d) => (
                d.subject.clone(),
                d.description.lines().map(str::to_owned).collect(),
                Priority::from_sql(&d.priority).unwrap_or(Priority::Normal),
            ),
            None => (String::new(), Vec::new(), Priority::Normal),
        };
        let mut description = TextArea::new(description);
        description.set_placeholder_text("What happened, and what did you expect?");
        // Modifiers only, so the form reads the same with NO_COLOR; long lines wrap.
        description.set_placeholder_style(Style::new().add_modifier(Modifier::DIM));
        description.set_cursor_line_style(Style::new());
        description.set_wrap_mode(WrapMode::WordOrGlyph);
        // A restored draft is continued, not prepended to: the cursor goes to its end.
        description.move_cursor(CursorMove::Bottom);
        description.move_cursor(CursorMove::End);
        TicketForm {
            subject: Input::new(subject),
            description,
            priority,
            focus: FormField::Subject,
            subject_error: None,
            description_error: None,
            submitting: false,
            error: None,
            customer: draft.and_then(|d| d.customer.clone()),
        }
    }

    /// A blank form for staff filing for `customer`.
    pub fn for_customer(customer: Option<CustomerRef>) -> TicketForm {
        TicketForm {
            customer,
            ..TicketForm::new(None)
        }
    }

    pub fn ticket(&self) -> NewTicket {
        NewTicket {
            subject: self.subject.value().to_owned(),
            description: self.description.lines().join("\n"),
            priority: self.priority.as_sql().to_owned(),
            customer: self.customer.clone(),
        }
    }

    /// Checks what the database would refuse, so the message appears next to the field.
    pub fn validate(&mut self) -> bool {
        let subject = self.subject.value().trim();
        self.subject_error = if subject.is_empty() {
            Some("A subject is required.".into())
        } else if subject.chars().count() > SUBJECT_MAX {
            Some(format!(
                "At most {SUBJECT_MAX} characters ({} now).",
                subject.chars().count()
            ))
        } else {
            None
        };
        let len: usize = self
            .description
            .lines()
            .iter()
            .map(|l| l.chars().count() + 1)
            .sum();
        self.description_error = (len > DESCRIPTION_MAX)
            .then(|| format!("At most {DESCRIPTION_MAX} characters ({len} now)."));
        self.subject_error.is_none() && self.description_error.is_none()
    }

    pub fn is_blank(&self) -> bool {
        self.subject.value().trim().is_empty() && self.description.is_empty()
    }
}
