//! Bytes and frames per key on the paths people scroll (the list, the audit view, a ticket's
//! description and its conversation) at 80x24 and 200x60: the real state machine and the real
//! worker on a real login, drawn by the real render code into a backend writing to a counting
//! buffer, paced as the terminal loop paces it (src/wire/pace.rs).
//!
//! "before" is the path the client had until issue 15: ratatui's crossterm backend behind
//! std's line-buffered stdout (1 KiB writes), synchronized-update markers written around each
//! draw, and a frame as soon as the state changed. "after" is src/wire with its pacing.

use crate::headless::Headless;
use crate::ui::{Theme, render_at};
use crate::wire::WireBackend;
use crate::wire::pace::{self, Pacer};
use chrono::{DateTime, Utc};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::KeyCode;
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use ratatui::layout::Size;
use std::io::{self, LineWriter, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Counts what is written and how many writes it took (shared: the crossterm backend does not
/// lend its writer).
#[derive(Debug, Default, Clone)]
pub struct Counter {
    bytes: Arc<AtomicU64>,
    writes: Arc<AtomicU64>,
}

impl Counter {
    pub fn counts(&self) -> (u64, u64) {
        (
            self.bytes.load(Ordering::Relaxed),
            self.writes.load(Ordering::Relaxed),
        )
    }
}

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
        self.writes.fetch_add(1, Ordering::Relaxed);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The two output paths.
pub enum Output {
    /// ratatui's crossterm backend behind a 1 KiB line buffer, as std's stdout is.
    Crossterm(
        Box<Terminal<CrosstermBackend<LineWriter<Counter>>>>,
        Counter,
    ),
    Wire(Box<Terminal<WireBackend<Counter>>>),
}

impl Output {
    pub fn crossterm(size: Size) -> io::Result<Output> {
        let counter = Counter::default();
        let backend = CrosstermBackend::new(LineWriter::with_capacity(1024, counter.clone()));
        let viewport =
            ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, size.width, size.height));
        let terminal = Terminal::with_options(backend, ratatui::TerminalOptions { viewport })?;
        Ok(Output::Crossterm(Box::new(terminal), counter))
    }

    pub fn wire(size: Size) -> io::Result<Output> {
        Ok(Output::Wire(Box::new(Terminal::new(WireBackend::new(
            Counter::default(),
            Some(size),
        )?)?)))
    }

    fn draw(&mut self, app: &crate::app::App, theme: &Theme, now: DateTime<Utc>) -> io::Result<()> {
        match self {
            Output::Wire(t) => t.draw(|f| render_at(app, theme, f, now)).map(|_| ()),
            Output::Crossterm(t, _) => {
                // As the terminal loop did: markers written (and flushed) around the draw.
                execute!(t.backend_mut(), BeginSynchronizedUpdate)?;
                t.draw(|f| render_at(app, theme, f, now))?;
                execute!(t.backend_mut(), EndSynchronizedUpdate)
            }
        }
    }

    /// Bytes and writes so far.
    pub fn counts(&self) -> (u64, u64) {
        match self {
            Output::Wire(t) => t.backend().writer().counts(),
            Output::Crossterm(_, c) => c.counts(),
        }
    }
}

/// What one key cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyCost {
    pub bytes: u64,
    pub writes: u64,
    /// Frames that reached the terminal (a draw that changes nothing sends nothing).
    pub frames: u64,
}

/// A client (state machine, worker, session) and its output, driven key by key.
pub struct WireSession {
    pub client: Headless,
    pub out: Output,
    pub pacer: Pacer,
    theme: Theme,
    now: DateTime<Utc>,
}

impl WireSession {
    pub fn new(client: Headless, out: Output, pacer: Pacer) -> WireSession {
        WireSession {
            client,
            out,
            pacer,
            theme: Theme::dark(),
            now: Utc::now(),
        }
    }

    /// Types `code` and runs the loop until the screen has settled; returns what went out.
    pub async fn press(&mut self, code: KeyCode) -> io::Result<KeyCost> {
        let (bytes, writes) = self.out.counts();
        self.client.key(code);
        self.pacer.changed(Instant::now());
        let frames = self.settle().await?;
        let (b, w) = self.out.counts();
        Ok(KeyCost {
            bytes: b - bytes,
            writes: w - writes,
            frames,
        })
    }

    /// The terminal loop without a terminal: draw when the pacer says so, take replies as they
    /// come, until nothing is due, nothing is awaited and no reply came for a while.
    pub async fn settle(&mut self) -> io::Result<u64> {
        const QUIET: Duration = Duration::from_millis(40);
        let give_up = Instant::now() + Duration::from_secs(20);
        let mut frames = 0;
        loop {
            if self.pacer.ready(&self.client.app, Instant::now()) {
                let before = self.out.counts();
                self.out.draw(&self.client.app, &self.theme, self.now)?;
                self.pacer.drawn(Instant::now());
                frames += u64::from(self.out.counts().0 > before.0);
            }
            let due = self.pacer.due(&self.client.app);
            let until = due.unwrap_or(Instant::now() + QUIET).min(give_up);
            match tokio::time::timeout_at(until.into(), self.client.runtime.recv()).await {
                Ok(Some(m)) => {
                    self.client.apply(m);
                    self.pacer.changed(Instant::now());
                }
                Ok(None) => return Err(io::Error::other("the worker stopped")),
                Err(_) if Instant::now() >= give_up => {
                    return Err(io::Error::other("the client did not settle in 20 s"));
                }
                Err(_) => {
                    if due.is_none() && !pace::awaits_reply(&self.client.app) {
                        return Ok(frames);
                    }
                }
            }
        }
    }
}

/// Mean cost of `n` presses of `code`.
async fn mean(s: &mut WireSession, code: KeyCode, n: usize) -> io::Result<PerKey> {
    let mut total = KeyCost::default();
    for _ in 0..n {
        let c = s.press(code).await?;
        total.bytes += c.bytes;
        total.writes += c.writes;
        total.frames += c.frames;
    }
    let n = n as f64;
    Ok((
        total.bytes as f64 / n,
        total.frames as f64 / n,
        total.writes as f64 / n,
    ))
}

/// Bytes, frames and writes per key.
pub type PerKey = (f64, f64, f64);

/// One row of figures per path: (path, [before, after]).
pub type PathFigures = Vec<(&'static str, [PerKey; 2])>;

/// Logs in as `login` and measures every path at `size`, on both outputs.
pub async fn measure(
    config: &tokio_postgres::Config,
    login: &str,
    password: &str,
    size: Size,
    keys: usize,
) -> Result<PathFigures, String> {
    let mut figures: Vec<(&'static str, Vec<PerKey>)> = Vec::new();
    for after in [false, true] {
        let out = if after {
            Output::wire(size)
        } else {
            Output::crossterm(size)
        }
        .map_err(|e| e.to_string())?;
        let pacer = if after {
            Pacer::new()
        } else {
            Pacer::with_hold(Duration::ZERO)
        };
        let mut client = Headless::start(config.clone(), None);
        client.log_in(login, password).await?;
        let mut s = WireSession::new(client, out, pacer);
        s.settle().await.map_err(|e| e.to_string())?;
        let j = KeyCode::Char('j');
        let e = |e: io::Error| e.to_string();
        let mut row =
            |name: &'static str, v: PerKey| match figures.iter_mut().find(|(n, _)| *n == name) {
                Some((_, list)) => list.push(v),
                None => figures.push((name, vec![v])),
            };
        // The list: past the middle of the window first, so every key scrolls it.
        mean(&mut s, j, size.height as usize).await.map_err(e)?;
        row("list, j", mean(&mut s, j, keys).await.map_err(e)?);
        // A ticket's conversation (Tab to it; at 80x24 it takes the screen), then back.
        s.press(KeyCode::Tab).await.map_err(e)?;
        row("detail, j", mean(&mut s, j, keys.min(10)).await.map_err(e)?);
        s.press(KeyCode::Tab).await.map_err(e)?;
        // The audit view (admins).
        s.press(KeyCode::Char('A')).await.map_err(e)?;
        mean(&mut s, j, size.height as usize).await.map_err(e)?;
        row("audit, j", mean(&mut s, j, keys).await.map_err(e)?);
        drop(s);
    }
    Ok(figures
        .into_iter()
        .map(|(n, v)| (n, [v[0], v[1]]))
        .collect())
}

/// The `tickets bench` section.
pub async fn run(
    config: &tokio_postgres::Config,
    admin: &str,
    password: &str,
) -> Result<String, String> {
    let mut out = String::from(
        "\n| per key, as admin (before: crossterm backend, draw at once / after: src/wire, paced) | size | bytes before | bytes after | frames before | frames after | writes before | writes after |\n|---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for (w, h) in [(80, 24), (200, 60)] {
        let size = Size {
            width: w,
            height: h,
        };
        for (path, [b, a]) in measure(config, admin, password, size, 30).await? {
            out.push_str(&format!(
                "| {path} | {w}x{h} | {:.0} | {:.0} | {:.2} | {:.2} | {:.1} | {:.1} |\n",
                b.0, a.0, b.1, a.1, b.2, a.2
            ));
        }
    }
    Ok(out)
}
