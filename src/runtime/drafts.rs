//! Saving what a person types without blocking the async threads on the disk: the latest text
//! of each draft is written at most `QUIET` after the keystroke that changed it (one write per
//! spell of typing, not one per key), on the blocking pool, and flushed at the end. A clear
//! wins over an earlier pending save of the same draft; a save after a clear is kept.

use crate::drafts::DraftStore;
use crate::model::{NewTicket, ReplyDraft};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use uuid::Uuid;

const QUIET: Duration = Duration::from_millis(300);
/// The slot of the customer's new ticket; replies are `reply-<ticket id>`.
const NEW_TICKET: &str = "";
const REPLY: &str = "reply-";

enum Op {
    /// Write this (serialized) draft to the slot; None deletes it.
    Put(String, Option<serde_json::Value>),
    Flush(tokio::sync::oneshot::Sender<()>),
}

pub struct DraftSaver {
    store: Option<DraftStore>,
    server: String,
    login: Arc<Mutex<Option<String>>>,
    ops: mpsc::UnboundedSender<Op>,
}

impl DraftSaver {
    pub fn start(store: Option<DraftStore>, server: String) -> DraftSaver {
        let (ops, rx) = mpsc::unbounded_channel();
        let login = Arc::new(Mutex::new(None));
        if let Some(store) = store.clone() {
            tokio::spawn(writer(store, server.clone(), login.clone(), rx));
        }
        DraftSaver {
            store,
            server,
            login,
            ops,
        }
    }

    /// Whose drafts are saved from now on.
    pub fn set_login(&self, login: &str) {
        *self.login.lock().unwrap_or_else(|e| e.into_inner()) = Some(login.to_owned());
    }

    /// The person's unsent ticket and replies, read on the blocking pool.
    pub async fn load(&self, login: &str) -> (Option<NewTicket>, Vec<(Uuid, ReplyDraft)>) {
        let Some(store) = self.store.clone() else {
            return (None, Vec::new());
        };
        let (server, login) = (self.server.clone(), login.to_owned());
        tokio::task::spawn_blocking(move || {
            let ticket = store.load(&server, &login);
            let replies = store
                .slots::<ReplyDraft>(&server, &login, REPLY)
                .into_iter()
                .filter_map(|(slot, d)| Some((slot[REPLY.len()..].parse().ok()?, d)))
                .collect();
            (ticket, replies)
        })
        .await
        .unwrap_or_default()
    }

    pub fn save(&self, ticket: NewTicket) {
        self.put(NEW_TICKET.into(), serde_json::to_value(ticket).ok());
    }

    pub fn clear(&self) {
        self.put(NEW_TICKET.into(), None);
    }

    pub fn save_reply(&self, ticket: Uuid, draft: ReplyDraft) {
        self.put(format!("{REPLY}{ticket}"), serde_json::to_value(draft).ok());
    }

    pub fn clear_reply(&self, ticket: Uuid) {
        self.put(format!("{REPLY}{ticket}"), None);
    }

    fn put(&self, slot: String, value: Option<serde_json::Value>) {
        let _ = self.ops.send(Op::Put(slot, value));
    }

    /// Writes what is pending now and waits for it.
    pub async fn flush(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.ops.send(Op::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

type Pending = HashMap<String, Option<serde_json::Value>>;

async fn writer(
    store: DraftStore,
    server: String,
    login: Arc<Mutex<Option<String>>>,
    mut ops: mpsc::UnboundedReceiver<Op>,
) {
    let mut pending: Pending = HashMap::new();
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let op = match deadline {
            Some(at) => tokio::select! {
                op = ops.recv() => op,
                _ = tokio::time::sleep_until(at) => {
                    write(&store, &server, &login, std::mem::take(&mut pending)).await;
                    deadline = None;
                    continue;
                }
            },
            None => ops.recv().await,
        };
        match op {
            Some(Op::Flush(done)) => {
                write(&store, &server, &login, std::mem::take(&mut pending)).await;
                deadline = None;
                let _ = done.send(());
            }
            Some(Op::Put(slot, value)) => {
                pending.insert(slot, value);
                deadline.get_or_insert_with(|| tokio::time::Instant::now() + QUIET);
            }
            None => {
                write(&store, &server, &login, std::mem::take(&mut pending)).await;
                return;
            }
        }
    }
}

async fn write(store: &DraftStore, server: &str, login: &Arc<Mutex<Option<String>>>, ops: Pending) {
    if ops.is_empty() {
        return;
    }
    let Some(who) = login.lock().unwrap_or_else(|e| e.into_inner()).clone() else {
        return;
    };
    let (store, server) = (store.clone(), server.to_owned());
    let result = tokio::task::spawn_blocking(move || {
        for (slot, value) in ops {
            let done = match value {
                Some(v) => store.save_slot(&server, &who, &slot, &v),
                None => store.clear_slot(&server, &who, &slot),
            };
            done?;
        }
        Ok::<(), std::io::Error>(())
    })
    .await;
    match result {
        Ok(Err(e)) => tracing::warn!("cannot write a draft: {e}"),
        Err(e) => tracing::warn!("the draft writer failed: {e}"),
        Ok(Ok(())) => {}
    }
}
