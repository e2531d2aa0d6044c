//! The dedicated LISTEN connection: one per logged-in client, on the person's own login.
//! It forwards "ticket X changed" hints, coalesced into batches, watches the connection with
//! a heartbeat so a silent network cut shows within about two seconds, and reconnects
//! with backoff (re-LISTENing) until told to stop.

use super::connect::Target;
use futures_util::StreamExt;
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const CHANNEL: &str = "tickets_changed";
/// At most one batch of hints per this interval. The first hint after a quiet spell goes out
/// at once (no added latency); hints during a burst wait for the next slot, together.
pub const THROTTLE: Duration = Duration::from_millis(200);
/// How often the connection is checked, and how long a check may take.
const HEARTBEAT: Duration = Duration::from_millis(500);
const HEARTBEAT_TIMEOUT: Duration = Duration::from_millis(2000);

#[derive(Debug, Clone, PartialEq)]
pub enum ListenEvent {
    /// Listening (again): anything missed while away must be re-read.
    Online,
    Offline(String),
    /// Tickets that changed. Only hints: anyone can NOTIFY, so ids are re-read through RLS.
    Changed(Vec<Uuid>),
}

/// Runs until `stop` is cancelled or `events` is closed.
pub async fn run(
    config: Target,
    events: mpsc::UnboundedSender<ListenEvent>,
    stop: CancellationToken,
) {
    let mut attempt: u32 = 0;
    let mut was_online = false;
    loop {
        let why = tokio::select! {
            _ = stop.cancelled() => return,
            why = listen_once(&config, &events, &mut attempt, &mut was_online) => why,
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
async fn listen_once(
    config: &Target,
    events: &mpsc::UnboundedSender<ListenEvent>,
    attempt: &mut u32,
    was_online: &mut bool,
) -> String {
    let (client, mut connection) = match config.connect_raw().await {
        Ok(pair) => pair,
        Err(e) => return e.to_string(),
    };
    let (notes_tx, mut notes) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if notes_tx.send(n.payload().to_owned()).is_err() {
                        return "listener stopped".to_owned();
                    }
                }
                Ok(_) => {}
                Err(e) => return super::describe(&e),
            }
        }
        "the connection to the database was closed".to_owned()
    });
    if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
        driver.abort();
        return super::describe(&e);
    }
    *attempt = 0;
    *was_online = true;
    let _ = events.send(ListenEvent::Online);

    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    let mut pending: HashSet<Uuid> = HashSet::new();
    let mut last_flush: Option<tokio::time::Instant> = None;
    let flush = tokio::time::sleep(Duration::from_secs(3600));
    tokio::pin!(flush);
    let mut driver = driver;
    loop {
        tokio::select! {
            note = notes.recv() => match note {
                Some(payload) => {
                    // Anything that is not a ticket id is somebody's noise: ignore it.
                    if let Ok(id) = Uuid::parse_str(payload.trim()) {
                        if pending.is_empty() {
                            let now = tokio::time::Instant::now();
                            let at = last_flush.map_or(now, |t| (t + THROTTLE).max(now));
                            flush.as_mut().reset(at);
                        }
                        pending.insert(id);
                    }
                }
                None => break,
            },
            () = &mut flush, if !pending.is_empty() => {
                let ids: Vec<Uuid> = pending.drain().collect();
                last_flush = Some(tokio::time::Instant::now());
                if events.send(ListenEvent::Changed(ids)).is_err() {
                    break;
                }
                flush.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(3600));
            }
            _ = heartbeat.tick() => {
                match tokio::time::timeout(HEARTBEAT_TIMEOUT, client.simple_query("")).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return super::describe(&e),
                    Err(_) => return "the database did not answer for 2 s".to_owned(),
                }
            }
            why = &mut driver => {
                return why.unwrap_or_else(|e| format!("listener task failed: {e}"));
            }
        }
    }
    driver.abort();
    "listener stopped".to_owned()
}
