//! Turning driver errors into the typed `DbError` the rest of the client branches on.

pub use crate::model::DbError;
use tokio_postgres::error::SqlState;

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        classify(&e)
    }
}

/// One line: the server's message, with its hint when it has one.
pub fn describe(e: &tokio_postgres::Error) -> String {
    classify(e).to_string()
}

fn classify(e: &tokio_postgres::Error) -> DbError {
    if let Some(db) = e.as_db_error() {
        let mut message = db.message().to_owned();
        if let Some(detail) = db.detail() {
            message.push_str(": ");
            message.push_str(detail);
        }
        if let Some(hint) = db.hint() {
            message.push_str(" (");
            message.push_str(hint);
            message.push(')');
        }
        let code = db.code();
        if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            return DbError::LoginRefused(message);
        }
        if *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
        {
            return DbError::Unreachable(message);
        }
        return DbError::Refused {
            code: code.code().to_owned(),
            message,
        };
    }
    if e.is_closed() {
        return DbError::Unreachable("the connection to the database was closed".into());
    }
    // Connection-level failures: the Display of tokio_postgres::Error is terse ("error
    // connecting to server"), the source says why (connection refused, no such file...).
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    DbError::Unreachable(text)
}
