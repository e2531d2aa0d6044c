//! Saving what a person types, without blocking the async threads on the disk: the latest text
//! is written after a short quiet spell (debounced), on the blocking pool, and flushed at the
//! end. A clear wins over an earlier pending save; a save after a clear is kept.

use crate::drafts::DraftStore;
use crate::model::NewTicket;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Written this long after the last keystroke (and at least this often while typing goes on).
const QUIET: Duration = Duration::from_millis(300);

enum Op {
    Save(NewTicket),
    Clear,
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

    /// The person's unsent ticket, read on the blocking pool.
    pub async fn load(&self, login: &str) -> Option<NewTicket> {
        let store = self.store.clone()?;
        let (server, login) = (self.server.clone(), login.to_owned());
        tokio::task::spawn_blocking(move || store.load(&server, &login))
            .await
            .ok()
            .flatten()
    }

    pub fn save(&self, ticket: NewTicket) {
        let _ = self.ops.send(Op::Save(ticket));
    }

    pub fn clear(&self) {
        let _ = self.ops.send(Op::Clear);
    }

    /// Writes what is pending now and waits for it.
    pub async fn flush(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.ops.send(Op::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

async fn writer(
    store: DraftStore,
    server: String,
    login: Arc<Mutex<Option<String>>>,
    mut ops: mpsc::UnboundedReceiver<Op>,
) {
    let mut pending: Option<Op> = None;
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let op = match deadline {
            Some(at) => tokio::select! {
                op = ops.recv() => op,
                _ = tokio::time::sleep_until(at) => {
                    write(&store, &server, &login, pending.take()).await;
                    deadline = None;
                    continue;
                }
            },
            None => ops.recv().await,
        };
        match op {
            Some(Op::Flush(done)) => {
                write(&store, &server, &login, pending.take()).await;
                deadline = None;
                let _ = done.send(());
            }
            Some(op) => {
                pending = Some(op);
                deadline.get_or_insert_with(|| tokio::time::Instant::now() + QUIET);
            }
            None => {
                write(&store, &server, &login, pending.take()).await;
                return;
            }
        }
    }
}

async fn write(
    store: &DraftStore,
    server: &str,
    login: &Arc<Mutex<Option<String>>>,
    op: Option<Op>,
) {
    let Some(op) = op else { return };
    let Some(who) = login.lock().unwrap_or_else(|e| e.into_inner()).clone() else {
        return;
    };
    let (store, server) = (store.clone(), server.to_owned());
    let result = tokio::task::spawn_blocking(move || match op {
        Op::Save(ticket) => store.save(&server, &who, &ticket),
        Op::Clear => store.clear(&server, &who),
        Op::Flush(_) => Ok(()),
    })
    .await;
    match result {
        Ok(Err(e)) => tracing::warn!("cannot write the draft: {e}"),
        Err(e) => tracing::warn!("the draft writer failed: {e}"),
        Ok(Ok(())) => {}
    }
}
