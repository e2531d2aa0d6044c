//! The person's one connection, kept alive: it carries the client's queries and hears the
//! notifications (one backend per logged-in client). This task owns the connection: it
//! LISTENs on the person's private channels (`my_change_channels()`, migration 0022), which
//! the notifier wakes only for changes the person may read; it then reads what changed since
//! its last read from the change log, through RLS. Reads are coalesced into batches; a
//! heartbeat makes a silent network cut show within about two seconds; when the connection is
//! lost it reconnects with backoff, re-LISTENs and hands the new connection to the runtime.

use super::connect::Target;
use super::error::DbError;
use futures_util::StreamExt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Client};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The public channel (DESIGN §3), announced for scripts; the client listens on its private ones.
pub const CHANNEL: &str = "tickets_changed";
/// At most one batch of hints per this interval. The first hint after a quiet spell goes out
/// at once (no added latency); hints during a burst wait for the next slot, together.
pub const THROTTLE: Duration = Duration::from_millis(75);
/// Visible changes per read up to which the next read may follow after THROTTLE. A read that
/// found more waits proportionally longer, up to THROTTLE_MAX: a screen that changes more than
/// about a hundred times a second cannot show each change anyway, and each read costs the
/// server a scan of every change since the last. (At 650 writes/s in the pool, 100 agents'
/// clients reading every 75 ms took as much of the server as the writers themselves.)
const CHANGES_PER_THROTTLE: usize = 8;
const THROTTLE_MAX: Duration = Duration::from_millis(600);

/// The least time between the read that found `changes` visible changes and the next read.
fn pause_after(changes: usize) -> Duration {
    let scaled = THROTTLE.mul_f64(changes as f64 / CHANGES_PER_THROTTLE as f64);
    scaled.clamp(THROTTLE, THROTTLE_MAX)
}
/// How often the connection is checked, and how long a check may take while nothing else is
/// in flight on it.
const HEARTBEAT: Duration = Duration::from_millis(500);
const HEARTBEAT_TIMEOUT: Duration = Duration::from_millis(2000);
/// How long a check may take behind the person's own queries (answers come in order, and the
/// database ends any statement of a person after 60 s).
const BUSY_TIMEOUT: Duration = Duration::from_secs(75);
/// Notifications waiting to be looked at; more are dropped (one pending read covers them all).
const NOTES: usize = 64;
/// What changed since `$1` up to the announced head, through the change log's RLS. The head
/// comes from the database, never from a notification (anyone may send on a channel they know).
/// MATERIALIZED asks for the head once: inlined, `ticket_changes_head()` became a filter called
/// on every row read (300 changes: 4.0 ms and 623 buffers, against 0.5 ms and 24 once), and
/// the upper bound was no index condition.
pub const READ_CHANGES: &str = "WITH head AS MATERIALIZED (SELECT coalesce(public.ticket_changes_head(), 0) AS seq) \
     SELECT head.seq, c.ticket_id, c.moves_counts FROM head \
     LEFT JOIN public.ticket_changes c ON c.seq > $1 AND c.seq <= head.seq \
     ORDER BY c.seq";

#[derive(Debug, Clone, PartialEq)]
pub enum ListenEvent {
    /// Listening (again): anything missed while away must be re-read.
    Online,
    Offline(String),
    /// Tickets the person may read that changed (from the change log, through RLS), and
    /// whether any of those changes may have moved a count (0039).
    Changed {
        ids: Vec<Uuid>,
        counts: bool,
    },
}

/// The notifications of one connection, and the task that drives it (it ends, with the
/// reason, when the connection does).
pub struct Notes {
    payloads: mpsc::Receiver<String>,
    driver: JoinHandle<String>,
}

/// Connects and drives the connection on its own task, keeping its notifications.
pub async fn connect(config: &Target) -> Result<(Client, Notes), DbError> {
    let (client, mut connection) = config.connect_raw().await?;
    let (tx, payloads) = mpsc::channel(NOTES);
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                // A full queue already has a read coming; nobody listening is fine too.
                Ok(AsyncMessage::Notification(n)) => {
                    let _ = tx.try_send(n.payload().to_owned());
                }
                Ok(_) => {}
                Err(e) => return super::describe(&e),
            }
        }
        "the connection to the database was closed".to_owned()
    });
    Ok((client, Notes { payloads, driver }))
}

/// The connection a client's queries use, kept by the live task.
pub struct Link {
    /// The person's settings (with their password): reconnections use the current ones.
    pub config: Arc<Mutex<Target>>,
    /// The current connection, replaced after a reconnect (None until the first).
    pub client: watch::Sender<Option<Arc<Client>>>,
    /// The notifications of the current connection, when one is already open.
    pub notes: Option<Notes>,
    /// False on a hot standby, which refuses LISTEN: then only heartbeat and reconnect.
    pub listens: bool,
    /// Requests in flight on the connection (the heartbeat waits longer behind them).
    pub busy: Arc<AtomicUsize>,
    /// Change-log reads made so far (what hints cost; the benchmarks and tests count them).
    pub reads: Arc<AtomicU64>,
}

impl Link {
    /// A link that connects by itself (a listener with no queries of its own).
    pub fn standalone(config: Target) -> Link {
        Link {
            config: Arc::new(Mutex::new(config)),
            client: watch::Sender::new(None),
            notes: None,
            listens: true,
            busy: Arc::new(AtomicUsize::new(0)),
            reads: Arc::new(AtomicU64::new(0)),
        }
    }
}

/// Runs until `stop` is cancelled or `events` is closed.
pub async fn run(
    mut link: Link,
    events: mpsc::UnboundedSender<ListenEvent>,
    stop: CancellationToken,
) {
    let mut attempt: u32 = 0;
    let mut was_online = false;
    loop {
        let why = tokio::select! {
            _ = stop.cancelled() => return,
            why = live_once(&mut link, &events, &mut attempt, &mut was_online) => why,
        };
        if events.is_closed() {
            return;
        }
        // A login that may no longer log in (the person was disabled) will not come back:
        // say so every time and stop, instead of retrying in silence.
        let refused = why.contains("not permitted to log in");
        if was_online || attempt == 0 || refused {
            let _ = events.send(ListenEvent::Offline(why));
        }
        if refused {
            return;
        }
        was_online = false;
        // Exponential backoff with jitter: 100 ms, 200 ms, ... up to 5 s.
        let base = 100u64.saturating_mul(1 << attempt.min(6)).min(5_000);
        let jitter =
            u64::from(std::process::id() ^ attempt.wrapping_mul(2_654_435_761)) % (base / 4 + 1);
        attempt = attempt.saturating_add(1);
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(base + jitter)) => {}
        }
    }
}

/// One connection's life; returns why it ended.
async fn live_once(
    link: &mut Link,
    events: &mpsc::UnboundedSender<ListenEvent>,
    attempt: &mut u32,
    was_online: &mut bool,
) -> String {
    let (client, notes) = match link.notes.take() {
        Some(notes) => match link.client.borrow().clone() {
            Some(client) => (client, notes),
            None => return "no connection to listen on".to_owned(),
        },
        None => {
            let config = link.config.lock().expect("settings lock").clone();
            match connect(&config).await {
                Ok((client, notes)) => {
                    let client = Arc::new(client);
                    link.client.send_replace(Some(client.clone()));
                    (client, notes)
                }
                Err(e) => return e.to_string(),
            }
        }
    };
    let Notes {
        payloads: mut notes,
        driver,
    } = notes;
    let mut driver = driver;
    let why = serve(
        &client,
        &mut notes,
        &mut driver,
        link,
        events,
        attempt,
        was_online,
    )
    .await;
    driver.abort();
    why
}

async fn serve(
    client: &Client,
    notes: &mut mpsc::Receiver<String>,
    driver: &mut JoinHandle<String>,
    link: &Link,
    events: &mpsc::UnboundedSender<ListenEvent>,
    attempt: &mut u32,
    was_online: &mut bool,
) -> String {
    // Where reading starts: everything before it is covered by the refetch that Online causes.
    let mut last: i64 = 0;
    let mut read = None;
    if link.listens {
        match subscribe(client).await {
            Ok((head, statement)) => {
                last = head;
                read = Some(statement);
            }
            Err(e) => return super::describe(&e),
        }
    }
    *attempt = 0;
    *was_online = true;
    let _ = events.send(ListenEvent::Online);

    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    let mut pending = false;
    let mut last_flush: Option<tokio::time::Instant> = None;
    let mut pause = THROTTLE;
    let flush = tokio::time::sleep(Duration::from_secs(3600));
    tokio::pin!(flush);
    loop {
        tokio::select! {
            note = notes.recv() => match note {
                Some(payload) => {
                    // Only a sequence number announces anything; other payloads are somebody's
                    // noise. A forged number costs one read that the head bounds.
                    if payload.trim().parse::<i64>().is_ok_and(|seq| seq > last) && !pending {
                        let now = tokio::time::Instant::now();
                        let at = last_flush.map_or(now, |t| (t + pause).max(now));
                        flush.as_mut().reset(at);
                        pending = true;
                    }
                }
                // The driver ended: its reason comes below.
                None => return (&mut *driver).await.unwrap_or_else(|e| format!("connection task failed: {e}")),
            },
            () = &mut flush, if pending => {
                pending = false;
                last_flush = Some(tokio::time::Instant::now());
                flush.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(3600));
                let Some(read) = read.as_ref() else { continue };
                link.reads.fetch_add(1, Ordering::Relaxed);
                let rows = match client.query(read, &[&last]).await {
                    Ok(rows) => rows,
                    Err(e) => return super::describe(&e),
                };
                let mut ids: Vec<Uuid> = Vec::new();
                let mut changes = 0;
                let mut counts = false;
                for row in &rows {
                    last = last.max(row.get::<_, Option<i64>>(0).unwrap_or(last));
                    if let Some(id) = row.get::<_, Option<Uuid>>(1) {
                        changes += 1;
                        counts |= row.get::<_, Option<bool>>(2).unwrap_or(true);
                        if !ids.contains(&id) {
                            ids.push(id);
                        }
                    }
                }
                pause = pause_after(changes);
                // Changes this person may not read leave nothing to do: no event at all.
                if !ids.is_empty() && events.send(ListenEvent::Changed { ids, counts }).is_err() {
                    return "listener stopped".to_owned();
                }
            }
            _ = heartbeat.tick() => {
                if let Err(why) = check(client, &link.busy).await {
                    return why;
                }
            }
            why = &mut *driver => {
                return why.unwrap_or_else(|e| format!("connection task failed: {e}"));
            }
        }
    }
}

/// LISTENs on the person's channels; returns the head to read from and the read statement.
async fn subscribe(
    client: &Client,
) -> Result<(i64, tokio_postgres::Statement), tokio_postgres::Error> {
    let channels: Vec<String> = client
        .query_one("SELECT public.my_change_channels()", &[])
        .await?
        .get(0);
    // The names come from the database and are plain identifiers (tickets_ and hex digits).
    let listen: String = channels
        .iter()
        .filter(|c| c.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric()))
        .map(|c| format!("LISTEN {c};"))
        .collect();
    client.batch_execute(&listen).await?;
    let head: i64 = client
        .query_one("SELECT coalesce(public.ticket_changes_head(), 0)", &[])
        .await?
        .get(0);
    let read = client.prepare(READ_CHANGES).await?;
    Ok((head, read))
}

/// The connection answers: within 2 s when idle, or later when the person's own requests are
/// ahead of the check (answers come in order).
async fn check(client: &Client, busy: &AtomicUsize) -> Result<(), String> {
    let ping = client.simple_query("");
    tokio::pin!(ping);
    let answered = match tokio::time::timeout(HEARTBEAT_TIMEOUT, &mut ping).await {
        Ok(answer) => answer,
        Err(_) if busy.load(Ordering::Relaxed) > 0 => {
            match tokio::time::timeout(BUSY_TIMEOUT - HEARTBEAT_TIMEOUT, &mut ping).await {
                Ok(answer) => answer,
                Err(_) => return Err("the database did not answer for 75 s".to_owned()),
            }
        }
        Err(_) => return Err("the database did not answer for 2 s".to_owned()),
    };
    answered.map(|_| ()).map_err(|e| super::describe(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_screen_is_read_less_often_up_to_a_bound() {
        assert_eq!(pause_after(0), THROTTLE);
        assert_eq!(pause_after(CHANGES_PER_THROTTLE), THROTTLE);
        assert_eq!(pause_after(4 * CHANGES_PER_THROTTLE), THROTTLE * 4);
        assert_eq!(pause_after(10_000), THROTTLE_MAX);
    }
}
