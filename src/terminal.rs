//! The terminal: enter and leave it, restore it on every exit path (also on panic, Ctrl-C,
//! SIGTERM and Ctrl-Z/fg), and run the client's loop: events in, one state, draws out.

use crate::app::{App, Msg};
use crate::runtime::{Flow, Runtime};
use crate::ui::{self, theme::Theme};
use crate::wire::WireTerminal;
use crate::wire::pace::Pacer;
use futures_util::StreamExt;
use ratatui::crossterm::event::{
    DisableBracketedPaste, EnableBracketedPaste, Event, EventStream, KeyCode, KeyEventKind,
    KeyModifiers,
};
use ratatui::crossterm::execute;
use std::io::{Write, stdout};
use std::time::{Duration, Instant};

fn enter() -> std::io::Result<WireTerminal> {
    // ratatui::try_init installs a panic hook that restores the terminal before the report,
    // enters raw mode and the alternate screen; the frames go through our own backend, which
    // sends each in one write with only what changed (src/wire).
    drop(ratatui::try_init()?);
    execute!(stdout(), EnableBracketedPaste)?;
    crate::wire::terminal()
}

fn leave() {
    // The frames hide the cursor; the shell gets it back.
    let _ = execute!(
        stdout(),
        DisableBracketedPaste,
        ratatui::crossterm::cursor::Show
    );
    ratatui::restore();
}

/// Runs the client until the person quits: terminal events and the runtime's answers in, one
/// state, draws out. Every message goes through `runtime.dispatch`.
pub async fn run(mut app: App, theme: Theme, mut runtime: Runtime) -> std::io::Result<()> {
    let mut terminal = enter()?;
    let result = event_loop(&mut terminal, &mut app, &theme, &mut runtime).await;
    drop(runtime);
    leave();
    result
}

async fn event_loop(
    terminal: &mut WireTerminal,
    app: &mut App,
    theme: &Theme,
    runtime: &mut Runtime,
) -> std::io::Result<()> {
    if runtime.begin(app) == Flow::Quit {
        return Ok(());
    }
    let mut events = EventStream::new();
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    // One frame per key: a change that awaits the database's replies is held briefly
    // (src/wire/pace.rs).
    let mut pacer = Pacer::new();
    loop {
        if pacer.ready(app, Instant::now()) {
            draw(terminal, app, theme)?;
            pacer.drawn(Instant::now());
        }
        let tick = tokio::time::sleep_until(
            pacer
                .due(app)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600))
                .into(),
        );
        let msg = tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release
                    && k.code == KeyCode::Char('z') && k.modifiers.contains(KeyModifiers::CONTROL) => {
                    suspend(terminal, &mut events)?;
                    pacer.changed(Instant::now());
                    continue;
                }
                Some(Ok(Event::Key(k))) => Msg::Key(k),
                Some(Ok(Event::Paste(text))) => Msg::Paste(text),
                Some(Ok(Event::Resize(..))) => Msg::Resize,
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
            reply = runtime.recv() => match reply {
                Some(m) => m,
                None => return Ok(()),
            },
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = sigterm.recv() => return Ok(()),
            _ = tick => continue,
        };
        if runtime.dispatch(app, msg) == Flow::Quit {
            return Ok(());
        }
        // Take whatever else is waiting, so a burst costs one frame.
        while let Some(more) = runtime.try_recv() {
            if runtime.dispatch(app, more) == Flow::Quit {
                return Ok(());
            }
        }
        pacer.changed(Instant::now());
    }
}

fn draw(terminal: &mut WireTerminal, app: &App, theme: &Theme) -> std::io::Result<()> {
    // One write per frame, inside a synchronized update (src/wire).
    terminal.draw(|f| ui::render(app, theme, f)).map(|_| ())
}

/// Ctrl-Z: give the terminal back, stop, and take it again on `fg`.
fn suspend(terminal: &mut WireTerminal, events: &mut EventStream) -> std::io::Result<()> {
    leave();
    stdout().flush()?;
    // SAFETY: raising SIGTSTP on ourselves stops the process; the default action resumes on SIGCONT.
    unsafe {
        libc::raise(libc::SIGTSTP);
    }
    *terminal = enter()?;
    terminal.clear()?;
    *events = EventStream::new();
    Ok(())
}
