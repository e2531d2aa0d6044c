//! A person's own database session: the login and what the session needs to start (who am I,
//! the moves, the agents). Answers in model types. The connection it opens is the person's
//! only one: `listen` keeps it (notifications, heartbeat, reconnecting).

use super::connect::Target;
use super::error::DbError;
use super::listen::{self, Notes};
use super::repo;
use crate::model::*;
use std::sync::{Arc, Mutex};
use tokio_postgres::Client;

/// One logged-in person's connection. Cheap to clone; the connection is shared.
#[derive(Clone)]
pub struct Session {
    pub client: Arc<Client>,
    pub me: Me,
    /// The person's connection settings (with their password), for reconnecting.
    pub config: Arc<Mutex<Target>>,
}

/// What the client needs to start: the session and the rules it shows.
pub struct Opened {
    pub session: Session,
    /// The notifications of the session's connection, for the live task that keeps it.
    pub notes: Notes,
    pub moves: Vec<Move>,
    pub agents: Vec<PersonName>,
    /// Set when the server takes no changes (a standby, or read-only by configuration).
    pub read_only: Option<ReadOnlyServer>,
}

/// Logs `login` in on the server of `config` (no password: peer, certificate or a server that
/// does not ask).
pub async fn open(
    config: &Target,
    login: &str,
    password: Option<&str>,
) -> Result<Opened, LoginError> {
    let mut config = config.clone();
    config.user(login);
    if let Some(p) = password.filter(|p| !p.is_empty()) {
        config.password(p);
    }
    let typed = password.is_some_and(|p| !p.is_empty());
    let (client, notes) = listen::connect(&config)
        .await
        .map_err(|e| login_error(e, login, typed))?;
    let me = repo::whoami(&client)
        .await
        .map_err(|_| LoginError::NotAPerson {
            login: login.to_owned(),
        })?;
    let moves = repo::moves(&client, me.role)
        .await
        .map_err(LoginError::SetupFailed)?;
    let agents = repo::agents(&client, &me)
        .await
        .map_err(LoginError::SetupFailed)?;
    // LISTEN and every change are refused on a hot standby: find out now, to say so once.
    let read_only = match super::connect::server_state(&client).await {
        Ok(s) if s.standby => Some(ReadOnlyServer::Standby),
        Ok(s) if s.read_only => Some(ReadOnlyServer::ReadOnly),
        _ => None,
    };
    tracing::info!(login, role = %me.role, ?read_only, "logged in");
    Ok(Opened {
        session: Session {
            client: Arc::new(client),
            me,
            config: Arc::new(Mutex::new(config)),
        },
        notes,
        moves,
        agents,
        read_only,
    })
}

fn login_error(e: DbError, login: &str, typed: bool) -> LoginError {
    match e {
        DbError::LoginRefused(m) if m.contains("not permitted to log in") => LoginError::Disabled {
            login: login.to_owned(),
        },
        DbError::LoginRefused(m) if m.contains("password authentication failed") => {
            LoginError::WrongPassword
        }
        DbError::LoginRefused(m) => LoginError::Refused(m),
        DbError::Unreachable(m)
            if m.contains("password missing") || (!typed && m.contains("password")) =>
        {
            LoginError::PasswordNeeded
        }
        DbError::Unreachable(m) => LoginError::Unreachable(m),
        DbError::Refused { message, .. } => LoginError::Refused(message),
    }
}
