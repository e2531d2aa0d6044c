//! The dedicated LISTEN connection: one per logged-in client, on the person's own login.
//! A notification on `tickets_changed` says only that the change log grew (migration 0020);
//! this connection then reads what changed since its last read, through RLS, so it hears of
//! the tickets its person may read and of nothing else. Reads are coalesced into batches; a
//! heartbeat makes a silent network cut show within about two seconds; it reconnects with
//! backoff (re-LISTENing) until told to stop.

use super::connect::Target;
use futures_util::StreamExt;
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
/// What changed since `$1` up to the announced head, through the change log's RLS. The head
/// comes from the database, never from a notification (anyone can send one).
const READ_CHANGES: &str = "WITH head AS (SELECT coalesce(public.ticket_changes_head(), 0) AS seq) \
     SELECT head.seq, c.ticket_id FROM head \
     LEFT JOIN public.ticket_changes c ON c.seq > $1 AND c.seq <= head.seq \
     ORDER BY c.seq";

#[derive(Debug, Clone, PartialEq)]
pub enum ListenEvent {
    /// Listening (again): anything missed while away must be re-read.
    Online,
    Offline(String),
    /// Tickets the person may read that changed (from the change log, through RLS).
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
    // Where reading starts: everything before it is covered by the refetch that Online causes.
    let mut last: i64 = match client
        .query_one("SELECT coalesce(public.ticket_changes_head(), 0)", &[])
        .await
    {
        Ok(row) => row.get(0),
        Err(e) => {
            driver.abort();
            return super::describe(&e);
        }
    };
    let read = match client.prepare(READ_CHANGES).await {
        Ok(s) => s,
        Err(e) => {
            driver.abort();
            return super::describe(&e);
        }
    };
    *attempt = 0;
    *was_online = true;
    let _ = events.send(ListenEvent::Online);

    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    let mut pending = false;
    let mut last_flush: Option<tokio::time::Instant> = None;
    let flush = tokio::time::sleep(Duration::from_secs(3600));
    tokio::pin!(flush);
    let mut driver = driver;
    loop {
        tokio::select! {
            note = notes.recv() => match note {
                Some(payload) => {
                    // Only a sequence number announces anything; other payloads are somebody's
                    // noise. A forged number costs one read that the head bounds.
                    if payload.trim().parse::<i64>().is_ok_and(|seq| seq > last) && !pending {
                        let now = tokio::time::Instant::now();
                        let at = last_flush.map_or(now, |t| (t + THROTTLE).max(now));
                        flush.as_mut().reset(at);
                        pending = true;
                    }
                }
                None => break,
            },
            () = &mut flush, if pending => {
                pending = false;
                last_flush = Some(tokio::time::Instant::now());
                flush.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(3600));
                let rows = match client.query(&read, &[&last]).await {
                    Ok(rows) => rows,
                    Err(e) => return super::describe(&e),
                };
                let mut ids: Vec<Uuid> = Vec::new();
                for row in &rows {
                    last = last.max(row.get::<_, Option<i64>>(0).unwrap_or(last));
                    if let Some(id) = row.get::<_, Option<Uuid>>(1)
                        && !ids.contains(&id)
                    {
                        ids.push(id);
                    }
                }
                // Changes this person may not read leave nothing to do: no event at all.
                if !ids.is_empty() && events.send(ListenEvent::Changed(ids)).is_err() {
                    break;
                }
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
