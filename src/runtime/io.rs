//! The I/O task: performs the state's effects on the person's own session and answers with
//! messages. Reads are sent at once and pipelined on the one connection, and their answers
//! reach the state in the order the loads were asked for, the order the connection answers
//! in; when effects pile up, only the latest load of each pane runs (latest wins). Actions run
//! one at a time, in order. No sentence is written here: the answers are model types and
//! typed errors, and `app` says what they mean to a person.

use super::drafts::DraftSaver;
use super::requests::{failure, perform};
use crate::app::{Effect, LoadKind, Msg, Reply};
use crate::db::Target;
use crate::db::listen::{self, Link, ListenEvent};
use crate::db::statements::Conn;
use crate::db::{session, session::Session};
use crate::drafts::DraftStore;
use crate::model::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

/// Starts the task; send it effects, read its answers from `replies`.
pub fn spawn(
    config: Target,
    server: String,
    drafts: Option<DraftStore>,
    replies: mpsc::Sender<Msg>,
    change_reads: Arc<AtomicU64>,
) -> mpsc::UnboundedSender<Effect> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(config, server, drafts, rx, replies, change_reads));
    tx
}

/// The logged-in person's session, the connection their live task keeps, and the token that
/// stops that task.
struct LoggedIn {
    session: Session,
    /// The current connection and the statements prepared on it.
    conn: Conn,
    /// The current connection (the live task replaces it after a reconnect).
    client: watch::Receiver<Option<Arc<Client>>>,
    /// Requests in flight, which the live task's heartbeat waits behind.
    busy: Arc<AtomicUsize>,
    stop_listening: CancellationToken,
}

impl LoggedIn {
    /// The session on the current connection, or why there is none (the live task is
    /// reconnecting, and says so itself).
    fn current(&mut self) -> Result<(Session, Conn), DbError> {
        match self.client.borrow().clone() {
            Some(client) if !client.is_closed() => {
                if !self.conn.is(&client) {
                    // A new connection: nothing is prepared on it yet.
                    self.conn = Conn::new(client.clone());
                }
                self.session.client = client;
                Ok((self.session.clone(), self.conn.clone()))
            }
            _ => Err(DbError::Unreachable(
                "the connection to the database was lost; reconnecting".into(),
            )),
        }
    }
}

/// Counts a request in flight while it lives.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(busy: &Arc<AtomicUsize>) -> InFlight {
        busy.fetch_add(1, Ordering::Relaxed);
        InFlight(busy.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Drop for LoggedIn {
    fn drop(&mut self) {
        self.stop_listening.cancel();
    }
}

async fn run(
    config: Target,
    server: String,
    drafts: Option<DraftStore>,
    mut effects: mpsc::UnboundedReceiver<Effect>,
    replies: mpsc::Sender<Msg>,
    stats_reads: Arc<AtomicU64>,
) {
    let mut current: Option<LoggedIn> = None;
    // When the last load spawned has handed its answer to the state (see below).
    let mut delivered: Option<oneshot::Receiver<()>> = None;
    let drafts = DraftSaver::start(drafts, server);
    let (live_tx, mut live) = mpsc::unbounded_channel();
    loop {
        let first = tokio::select! {
            effect = effects.recv() => match effect {
                Some(e) => e,
                None => break,
            },
            Some(event) = live.recv() => {
                let reply = match event {
                    ListenEvent::Changed { ids, counts } => Reply::Changed { ids, counts },
                    ListenEvent::Offline(why) => Reply::Connection { online: false, message: why },
                    ListenEvent::Online => {
                        if current.is_none() {
                            continue;
                        }
                        Reply::Connection { online: true, message: String::new() }
                    }
                };
                if replies.send(Msg::Db(reply)).await.is_err() {
                    break;
                }
                continue;
            }
        };
        let mut batch = vec![first];
        while let Ok(more) = effects.try_recv() {
            batch.push(more);
        }
        // One connection answers in order: the counts go last, so the list and the open ticket
        // are not held up behind them.
        batch.sort_by_key(|e| matches!(e, Effect::LoadCounts | Effect::LoadUnseen));
        for effect in latest_wins(batch) {
            match effect {
                Effect::Quit => {
                    drafts.flush().await;
                    return;
                }
                Effect::Login { login, password } => {
                    let mut read_only = None;
                    let reply = match session::open(&config, &login, password.as_deref()).await {
                        Ok(opened) => {
                            read_only = opened.read_only;
                            let (draft, reply_drafts) = drafts.load(&login).await;
                            drafts.set_login(&login);
                            let stop_listening = CancellationToken::new();
                            let busy = Arc::new(AtomicUsize::new(0));
                            let reads = stats_reads.clone();
                            let (client, client_rx) =
                                watch::channel(Some(opened.session.client.clone()));
                            // The one connection: kept (and replaced when lost) by the live
                            // task, which also listens on it, except on a hot standby (no LISTEN).
                            let link = Link {
                                config: opened.session.config.clone(),
                                client,
                                notes: Some(opened.notes),
                                listens: opened.read_only != Some(ReadOnlyServer::Standby),
                                busy: busy.clone(),
                                reads: reads.clone(),
                            };
                            tokio::spawn(listen::run(
                                link,
                                live_tx.clone(),
                                stop_listening.clone(),
                            ));
                            let me = opened.session.me.clone();
                            current = Some(LoggedIn {
                                conn: Conn::new(opened.session.client.clone()),
                                session: opened.session,
                                client: client_rx,
                                busy,
                                stop_listening,
                            });
                            Reply::LoggedIn {
                                me,
                                moves: opened.moves,
                                agents: opened.agents,
                                draft,
                                reply_drafts,
                            }
                        }
                        Err(e) => {
                            // The whole reason, causes included, for whoever reads the log.
                            tracing::warn!(login = %login, error = ?e, "login failed");
                            Reply::LoginFailed(e)
                        }
                    };
                    if replies.send(Msg::Db(reply)).await.is_err() {
                        break;
                    }
                    if let Some(kind) = read_only.take()
                        && replies.send(Msg::Db(Reply::ReadOnly(kind))).await.is_err()
                    {
                        break;
                    }
                }
                Effect::ChangePassword { password } => {
                    let Some(c) = current.as_mut() else { continue };
                    let result = match c.current() {
                        Err(e) => Err(e),
                        Ok((session, _)) => {
                            let _busy = InFlight::new(&c.busy);
                            crate::people::change_own_password(&session.client, &password).await
                        }
                    };
                    if result.is_ok() {
                        // Reconnections log in with the new one.
                        c.session
                            .config
                            .lock()
                            .expect("settings lock")
                            .password(&password);
                    }
                    let reply = Reply::PasswordChanged { result };
                    if replies.send(Msg::Db(reply)).await.is_err() {
                        break;
                    }
                }
                Effect::LoggedOut => current = None,
                Effect::SaveDraft { ticket } => drafts.save(ticket),
                Effect::ClearDraft => drafts.clear(),
                Effect::SaveReplyDraft { ticket, draft } => drafts.save_reply(ticket, draft),
                Effect::ClearReplyDraft { ticket } => drafts.clear_reply(ticket),
                effect => {
                    let Some(c) = current.as_mut() else { continue };
                    let (session, conn) = match c.current() {
                        Ok(current) => current,
                        Err(why) => {
                            // Nothing could be sent: answer every effect with the reason.
                            if replies.send(Msg::Db(failure(effect, why))).await.is_err() {
                                break;
                            }
                            continue;
                        }
                    };
                    let (busy, replies) = (InFlight::new(&c.busy), replies.clone());
                    if is_action(&effect) {
                        // In order: the state allows one action in flight anyway.
                        let reply = perform(&session, &conn, effect).await;
                        drop(busy);
                        if replies.send(Msg::Db(reply)).await.is_err() {
                            break;
                        }
                    } else {
                        // The connection answers in the order the loads were asked, but the
                        // tasks that carry the answers back are scheduled in any order: each
                        // waits until the load before it has handed over its answer, or the
                        // header's count could show a ticket a frame before the list does.
                        let before = delivered.take();
                        let (done, after) = oneshot::channel();
                        delivered = Some(after);
                        tokio::spawn(async move {
                            let reply = perform(&session, &conn, effect).await;
                            drop(busy);
                            if let Some(before) = before {
                                // An error only means that task ended without answering.
                                let _ = before.await;
                            }
                            let _ = replies.send(Msg::Db(reply)).await;
                            let _ = done.send(());
                        });
                    }
                }
            }
        }
    }
    drafts.flush().await;
}

fn is_action(e: &Effect) -> bool {
    matches!(
        e,
        Effect::Act { .. } | Effect::CreateTicket { .. } | Effect::Post { .. }
    )
}

/// Which pane a load fills: of several loads for one pane in a batch, only the last runs.
fn pane(e: &Effect) -> Option<LoadKind> {
    match e {
        Effect::LoadPage { .. } | Effect::LoadTail { .. } => Some(LoadKind::List),
        Effect::LoadTicket { .. } => Some(LoadKind::Ticket),
        Effect::LoadThread { .. } => Some(LoadKind::Thread),
        Effect::LoadAudit { .. } | Effect::LoadAuditTail { .. } => Some(LoadKind::Audit),
        Effect::LoadCounts | Effect::LoadUnseen => Some(LoadKind::Counts),
        _ => None,
    }
}

/// Drops loads superseded by a later load of the same pane in the same batch (all the counts
/// supersede the news count alone, wherever they stand).
pub fn latest_wins(mut batch: Vec<Effect>) -> Vec<Effect> {
    if batch.contains(&Effect::LoadCounts) {
        batch.retain(|e| *e != Effect::LoadUnseen);
    }
    let keep: Vec<bool> = (0..batch.len())
        .map(|i| match pane(&batch[i]) {
            Some(p) => !batch[i + 1..].iter().any(|later| pane(later) == Some(p)),
            None => true,
        })
        .collect();
    batch
        .into_iter()
        .zip(keep)
        .filter_map(|(e, k)| k.then_some(e))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn all_the_counts_supersede_the_news_count_alone() {
        let id = Uuid::from_u128(1);
        let batch = vec![
            Effect::LoadUnseen,
            Effect::LoadTicket { req: 1, id },
            Effect::LoadCounts,
            Effect::LoadUnseen,
        ];
        assert_eq!(
            latest_wins(batch),
            vec![Effect::LoadTicket { req: 1, id }, Effect::LoadCounts]
        );
        let batch = vec![Effect::LoadUnseen, Effect::LoadUnseen];
        assert_eq!(latest_wins(batch), vec![Effect::LoadUnseen]);
    }

    #[test]
    fn only_the_latest_load_of_each_pane_runs() {
        let id = Uuid::from_u128(1);
        let batch = vec![
            Effect::LoadTicket { req: 1, id },
            Effect::LoadCounts,
            Effect::Act {
                ticket: id,
                action: TicketAction::Claim,
            },
            Effect::LoadTicket { req: 2, id },
            Effect::LoadCounts,
        ];
        assert_eq!(
            latest_wins(batch),
            vec![
                Effect::Act {
                    ticket: id,
                    action: TicketAction::Claim
                },
                Effect::LoadTicket { req: 2, id },
                Effect::LoadCounts,
            ]
        );
    }
}
