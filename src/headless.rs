//! The client without a terminal: the real state machine driven by the real runtime on a
//! person's own session, fed typed keys. The benchmarks and the tests use it to read what a
//! person would see, straight from the state.

use crate::app::keymap::Keymap;
use crate::app::{App, Main, Msg, Screen};
use crate::drafts::DraftStore;
use crate::runtime::{Flow, Runtime, Stats};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::time::Duration;

pub struct Headless {
    pub app: App,
    pub runtime: Runtime,
}

impl Headless {
    /// A client for the server in `config` (no user or password: those are typed).
    pub fn start(config: tokio_postgres::Config, drafts: Option<DraftStore>) -> Headless {
        let server = crate::db::connect::describe_target(&config);
        let runtime = Runtime::start(config, server.clone(), drafts);
        Headless {
            app: App::new(Keymap::default(), server, None),
            runtime,
        }
    }

    pub fn apply(&mut self, msg: Msg) {
        if self.runtime.dispatch(&mut self.app, msg) == Flow::Quit {
            self.app.quit = true;
        }
    }

    /// How many loads and actions the state has asked for so far.
    pub fn stats(&self) -> &Stats {
        &self.runtime.stats
    }

    pub fn key(&mut self, code: KeyCode) {
        self.apply(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    pub fn ctrl(&mut self, c: char) {
        self.apply(Msg::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::CONTROL,
        )));
    }

    pub fn typed(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    /// Types a login and password into the form and waits for the answer.
    pub async fn log_in(&mut self, login: &str, password: &str) -> Result<(), String> {
        self.typed(login);
        self.key(KeyCode::Tab);
        self.typed(password);
        self.key(KeyCode::Enter);
        self.settle().await?;
        match &self.app.screen {
            Screen::Main(_) => Ok(()),
            Screen::Login(f) => Err(f.error.clone().unwrap_or_else(|| "not logged in".into())),
        }
    }

    /// Feeds replies into the state until nothing is loading or in flight.
    pub async fn settle(&mut self) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if !self.busy() {
                // Replies already queued (counts) still count: take them too.
                tokio::time::sleep(Duration::from_millis(30)).await;
                match self.runtime.try_recv() {
                    Some(m) => {
                        self.apply(m);
                        continue;
                    }
                    None => return Ok(()),
                }
            }
            match tokio::time::timeout_at(deadline, self.runtime.recv()).await {
                Ok(Some(msg)) => self.apply(msg),
                Ok(None) => return Err("the runtime stopped".into()),
                Err(_) => {
                    return Err(format!(
                        "no answer within 10 s; notice: {:?}",
                        self.app.notice
                    ));
                }
            }
        }
    }

    /// Feeds replies (no keys) until `done` holds for the state.
    pub async fn wait_until(
        &mut self,
        timeout: Duration,
        done: impl Fn(&App) -> bool,
    ) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + timeout;
        while !done(&self.app) {
            match tokio::time::timeout_at(deadline, self.runtime.recv()).await {
                Ok(Some(m)) => self.apply(m),
                Ok(None) => return Err("the runtime stopped".into()),
                Err(_) => {
                    return Err(format!(
                        "timed out after {timeout:?}; notice: {:?}",
                        self.app.notice
                    ));
                }
            }
        }
        Ok(())
    }

    /// Feeds whatever replies arrive during `time` (to see that nothing more comes).
    pub async fn idle(&mut self, time: Duration) {
        let deadline = tokio::time::Instant::now() + time;
        while let Ok(Some(m)) = tokio::time::timeout_at(deadline, self.runtime.recv()).await {
            self.apply(m);
        }
    }

    pub fn busy(&self) -> bool {
        match &self.app.screen {
            Screen::Login(f) => f.busy,
            Screen::Main(m) => {
                m.list.loading.is_some()
                    || m.rows_req.is_some()
                    || m.detail_req.is_some()
                    || m.thread_req.is_some()
                    || m.audit.loading.is_some()
                    || m.acting
                    || !m.awaiting_echo.is_empty()
                    || m.form.as_ref().is_some_and(|f| f.submitting)
                    || m.composer.as_ref().is_some_and(|c| c.sending)
            }
        }
    }

    pub fn main(&self) -> Option<&Main> {
        self.app.main()
    }

    pub fn login_error(&self) -> Option<String> {
        match &self.app.screen {
            Screen::Login(f) => f.error.clone(),
            Screen::Main(_) => None,
        }
    }
}
