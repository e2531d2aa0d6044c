//! The database worker: performs the state's effects on the person's own session and answers
//! with messages. Reads run concurrently (tokio-postgres pipelines them on one connection), so
//! a slow list never holds up a detail; when effects pile up, only the latest load of each
//! kind runs (latest wins). Actions run one at a time, in order.

use super::error::DbError;
use super::listen::{self, ListenEvent};
use super::repo;
use crate::app::{Effect, Msg, Reply};
use crate::drafts::DraftStore;
use crate::model::*;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_postgres::{Client, Config};
use tokio_util::sync::CancellationToken;

pub struct Session {
    pub client: Arc<Client>,
    pub me: Me,
    /// The person's connection settings (with their password), for reconnecting.
    config: Config,
    /// Stops the LISTEN connection at logout or quit.
    stop_listening: CancellationToken,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stop_listening.cancel();
    }
}

/// Starts the worker; send it effects, read its answers from `replies`.
pub fn spawn(
    config: Config,
    server: String,
    drafts: Option<DraftStore>,
    replies: mpsc::Sender<Msg>,
) -> mpsc::UnboundedSender<Effect> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(config, server, drafts, rx, replies));
    tx
}

async fn run(
    config: Config,
    server: String,
    drafts: Option<DraftStore>,
    mut effects: mpsc::UnboundedReceiver<Effect>,
    replies: mpsc::Sender<Msg>,
) {
    let mut session: Option<Session> = None;
    let (live_tx, mut live) = mpsc::unbounded_channel();
    loop {
        let first = tokio::select! {
            effect = effects.recv() => match effect {
                Some(e) => e,
                None => return,
            },
            Some(event) = live.recv() => {
                let reply = match event {
                    ListenEvent::Changed(ids) => Reply::Changed { ids },
                    ListenEvent::Offline(why) => Reply::Connection { online: false, message: why },
                    ListenEvent::Online => {
                        // The server is back: make sure the main session is too, then say so.
                        match session.as_mut().map(reconnect_if_closed) {
                            Some(fut) => match fut.await {
                                Ok(()) => Reply::Connection { online: true, message: String::new() },
                                Err(why) => Reply::Connection { online: false, message: why },
                            },
                            None => continue,
                        }
                    }
                };
                if replies.send(Msg::Db(reply)).await.is_err() {
                    return;
                }
                continue;
            }
        };
        let mut batch = vec![first];
        while let Ok(more) = effects.try_recv() {
            batch.push(more);
        }
        // One connection answers in order: the counts (a full scan of what the person may see,
        // hundreds of ms at a million tickets) go last, so the list and the open ticket are not
        // held up behind them.
        batch.sort_by_key(|e| matches!(e, Effect::LoadCounts));
        for effect in latest_wins(batch) {
            match effect {
                Effect::Quit => return,
                Effect::Login { login, password } => {
                    let reply = match login_session(&config, &login, password.as_deref()).await {
                        Ok((s, moves, agents)) => {
                            let draft = drafts.as_ref().and_then(|d| d.load(&server, &login));
                            let me = s.me.clone();
                            tokio::spawn(listen::run(
                                s.config.clone(),
                                live_tx.clone(),
                                s.stop_listening.clone(),
                            ));
                            session = Some(s);
                            Reply::LoggedIn {
                                me,
                                moves,
                                agents,
                                draft,
                            }
                        }
                        Err((message, needs_password)) => Reply::LoginFailed {
                            message,
                            needs_password,
                        },
                    };
                    if replies.send(Msg::Db(reply)).await.is_err() {
                        return;
                    }
                }
                Effect::SaveDraft { ticket } => {
                    if let (Some(d), Some(s)) = (&drafts, &session)
                        && let Err(e) = d.save(&server, &s.me.login, &ticket)
                    {
                        tracing::warn!("cannot save the draft in {}: {e}", d.dir().display());
                    }
                }
                Effect::ClearDraft => {
                    if let (Some(d), Some(s)) = (&drafts, &session) {
                        let _ = d.clear(&server, &s.me.login);
                    }
                }
                effect => {
                    let Some(s) = session.as_mut() else { continue };
                    // A session ended by the server (restart, pg_terminate_backend) is replaced
                    // before the next request rather than failing every request after it.
                    if let Err(why) = reconnect_if_closed(s).await {
                        let reply = offline_reply(&effect, &why);
                        if replies.send(Msg::Db(reply)).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    let (client, me, replies) = (s.client.clone(), s.me.clone(), replies.clone());
                    if is_action(&effect) {
                        // In order: the state allows one action in flight anyway.
                        let reply = perform(&client, &me, effect).await;
                        if replies.send(Msg::Db(reply)).await.is_err() {
                            return;
                        }
                    } else {
                        tokio::spawn(async move {
                            let reply = perform(&client, &me, effect).await;
                            let _ = replies.send(Msg::Db(reply)).await;
                        });
                    }
                }
            }
        }
    }
}

async fn reconnect_if_closed(s: &mut Session) -> Result<(), String> {
    if !s.client.is_closed() {
        return Ok(());
    }
    match super::connect_config(&s.config).await {
        Ok(client) => {
            tracing::info!("main session reconnected");
            s.client = Arc::new(client);
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The answer to an effect that could not even be sent: nothing was changed.
fn offline_reply(effect: &Effect, why: &str) -> Reply {
    let message = format!(
        "Offline ({why}). Nothing was sent; it will work again when the connection is back."
    );
    match effect {
        Effect::CreateTicket { .. } => Reply::CreateFailed { message },
        Effect::Claim { ticket }
        | Effect::Release { ticket }
        | Effect::HandOff { ticket, .. }
        | Effect::Change { ticket, .. } => Reply::ActionFailed {
            ticket: Some(*ticket),
            message,
        },
        Effect::LoadPage { req, .. }
        | Effect::LoadTicket { req, .. }
        | Effect::LoadHistory { req, .. }
        | Effect::LoadAudit { req, .. } => Reply::Failed {
            req: Some(*req),
            what: "Offline".into(),
            message,
        },
        _ => Reply::Failed {
            req: None,
            what: "Offline".into(),
            message,
        },
    }
}

fn is_action(e: &Effect) -> bool {
    matches!(
        e,
        Effect::Claim { .. }
            | Effect::Release { .. }
            | Effect::HandOff { .. }
            | Effect::Change { .. }
            | Effect::CreateTicket { .. }
    )
}

/// Drops loads superseded by a later load of the same kind in the same batch.
pub fn latest_wins(batch: Vec<Effect>) -> Vec<Effect> {
    fn slot(e: &Effect) -> Option<String> {
        match e {
            Effect::LoadPage { .. } => Some("page".into()),
            Effect::LoadTicket { .. } => Some("ticket".into()),
            Effect::LoadHistory { .. } => Some("history".into()),
            Effect::LoadAudit { .. } => Some("audit".into()),
            Effect::LoadCounts => Some("counts".into()),
            _ => None,
        }
    }
    let mut keep = vec![true; batch.len()];
    for i in 0..batch.len() {
        if let Some(s) = slot(&batch[i])
            && batch[i + 1..]
                .iter()
                .any(|later| slot(later).as_deref() == Some(&s))
        {
            keep[i] = false;
        }
    }
    batch
        .into_iter()
        .zip(keep)
        .filter_map(|(e, k)| k.then_some(e))
        .collect()
}

async fn login_session(
    config: &Config,
    login: &str,
    password: Option<&str>,
) -> Result<(Session, Vec<Move>, Vec<PersonName>), (String, bool)> {
    let mut config = config.clone();
    config.user(login);
    if let Some(p) = password.filter(|p| !p.is_empty()) {
        config.password(p);
    }
    let client = super::connect_config(&config)
        .await
        .map_err(|e| login_message(e, login, password))?;
    let failed = |e: DbError| {
        (
            format!("Logged in, but the database refused to set up the session: {e}"),
            false,
        )
    };
    let me = repo::whoami(&client).await.map_err(|_| {
        (format!("{login} can log in to PostgreSQL but is not an active tickets person. Ask an admin."), false)
    })?;
    let moves = repo::moves(&client, me.role).await.map_err(failed)?;
    let agents = repo::agents(&client, &me).await.map_err(failed)?;
    tracing::info!(login, role = %me.role, "logged in");
    let session = Session {
        client: Arc::new(client),
        me,
        config,
        stop_listening: CancellationToken::new(),
    };
    Ok((session, moves, agents))
}

/// One line for the login form, and whether the server wants a password typed.
fn login_message(e: DbError, login: &str, password: Option<&str>) -> (String, bool) {
    let typed = password.is_some_and(|p| !p.is_empty());
    match e {
        DbError::LoginRefused(m) if m.contains("not permitted to log in") => (
            format!("{login} is disabled. Ask an admin to enable it."),
            false,
        ),
        DbError::LoginRefused(m) if m.contains("password authentication failed") => {
            ("Wrong login or password.".into(), true)
        }
        DbError::LoginRefused(m) => (m, true),
        DbError::Unreachable(m)
            if m.contains("password missing") || (!typed && m.contains("password")) =>
        {
            ("Type your password.".into(), true)
        }
        DbError::Unreachable(m) => (m, false),
        DbError::Refused { message, .. } => (message, false),
    }
}

async fn perform(client: &Client, me: &Me, effect: Effect) -> Reply {
    match effect {
        Effect::LoadPage {
            req,
            queue,
            search,
            after,
            limit,
        } => match repo::list(client, me, queue, &search, after.as_ref(), limit as i64).await {
            Ok(rows) => Reply::Page {
                req,
                queue,
                rows,
                append: after.is_some(),
                limit,
            },
            Err(e) => failed(Some(req), "Loading the list", e),
        },
        Effect::LoadCounts => match repo::counts(client, me).await {
            Ok(counts) => Reply::Counts { counts },
            Err(e) => failed(None, "Counting", e),
        },
        Effect::LoadTicket { req, id } => match repo::ticket(client, me, id).await {
            Ok(detail) => Reply::Ticket { req, id, detail },
            Err(e) => failed(Some(req), "Loading the ticket", e),
        },
        Effect::LoadHistory { req, id } => match repo::history(client, me, id).await {
            Ok(entries) => Reply::History { req, id, entries },
            Err(e) => failed(Some(req), "Loading the history", e),
        },
        Effect::LoadAudit { req, filter, after } => {
            match repo::audit(client, &filter, after.as_ref(), repo::PAGE).await {
                Ok(rows) => Reply::Audit {
                    req,
                    rows,
                    append: after.is_some(),
                },
                Err(e) => failed(Some(req), "Loading the audit log", e),
            }
        }
        Effect::Claim { ticket } => done(
            ticket,
            repo::claim(client, ticket).await,
            "Claimed: the ticket is yours.",
        ),
        Effect::Release { ticket } => done(
            ticket,
            repo::release(client, ticket).await,
            "Released to the unassigned pool.",
        ),
        Effect::HandOff {
            ticket,
            to,
            to_name,
        } => done(
            ticket,
            repo::hand_off(client, ticket, to).await,
            &format!("Handed off to {to_name}."),
        ),
        Effect::Change {
            ticket,
            seen_at,
            change,
        } => {
            let what = match &change {
                Change::Status(s) => format!("Status is now {s}."),
                Change::Priority(p) => format!("Priority is now {p}."),
            };
            done(
                ticket,
                repo::change(client, ticket, seen_at, &change).await,
                &what,
            )
        }
        Effect::CreateTicket { ticket } => match repo::create_ticket(client, &ticket).await {
            Ok(id) => Reply::TicketCreated { id },
            Err(e) => Reply::CreateFailed {
                message: sentence(&e.to_string()),
            },
        },
        Effect::Login { .. } | Effect::SaveDraft { .. } | Effect::ClearDraft | Effect::Quit => {
            Reply::Failed {
                req: None,
                what: "internal".into(),
                message: "effect routed to the wrong handler".into(),
            }
        }
    }
}

fn done(ticket: uuid::Uuid, result: Result<(), DbError>, what: &str) -> Reply {
    match result {
        Ok(()) => Reply::ActionDone {
            ticket,
            done: what.to_owned(),
        },
        // The database's own reason ("ticket … was claimed by another agent"), not a trace.
        Err(e) => Reply::ActionFailed {
            ticket: Some(ticket),
            message: format!("Refused: {}", sentence(&e.to_string())),
        },
    }
}

fn failed(req: Option<crate::app::RequestId>, what: &str, e: DbError) -> Reply {
    Reply::Failed {
        req,
        what: what.into(),
        message: e.to_string(),
    }
}

fn sentence(s: &str) -> String {
    let s = s.trim();
    if s.ends_with('.') || s.ends_with(')') {
        s.to_owned()
    } else {
        format!("{s}.")
    }
}
