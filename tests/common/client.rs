//! A client without a terminal: the real state machine and the real worker on a person's own
//! session. Tests type keys and read what the person would see from the state.

use super::{TestDb, TestPerson};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::time::Duration;
use tickets::app::keymap::Keymap;
use tickets::app::{App, Effect, Main, Msg, Screen, update};
use tickets::db::worker;
use tickets::drafts::DraftStore;
use tokio::sync::mpsc;

/// A client: the state, the worker it talks to, and the replies coming back.
pub struct Client {
    /// How many list loads the state has asked for (to count refetches).
    pub page_loads: usize,
    pub app: App,
    pub effects: mpsc::UnboundedSender<Effect>,
    pub replies: mpsc::Receiver<Msg>,
    pub _drafts: tempfile::TempDir,
}

impl Client {
    pub fn start(db: &TestDb, person: &TestPerson) -> Client {
        let drafts = tempfile::tempdir().unwrap();
        let mut config = db.login_config(person);
        config.password("");
        let (tx, rx) = mpsc::channel(1024);
        let effects = worker::spawn(
            config,
            "test".into(),
            Some(DraftStore::new(drafts.path())),
            tx,
        );
        Client {
            page_loads: 0,
            app: App::new(Keymap::default(), "test".into(), None),
            effects,
            replies: rx,
            _drafts: drafts,
        }
    }

    pub fn apply(&mut self, msg: Msg) {
        for e in update(&mut self.app, msg) {
            if matches!(e, Effect::LoadPage { .. }) {
                self.page_loads += 1;
            }
            self.effects.send(e).unwrap();
        }
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

    /// Feeds replies into the state until nothing is loading or in flight.
    pub async fn settle(&mut self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if !self.busy() {
                // Replies already queued (counts) still count: take them too.
                tokio::time::sleep(Duration::from_millis(30)).await;
                match self.replies.try_recv() {
                    Ok(m) => {
                        self.apply(m);
                        continue;
                    }
                    Err(_) => return,
                }
            }
            let msg = tokio::time::timeout_at(deadline, self.replies.recv())
                .await
                .expect("the worker answers")
                .expect("worker alive");
            self.apply(msg);
        }
    }

    pub fn busy(&self) -> bool {
        match &self.app.screen {
            Screen::Login(f) => f.busy,
            Screen::Main(m) => {
                m.list.loading.is_some()
                    || m.detail_req.is_some()
                    || m.history_req.is_some()
                    || m.audit.loading.is_some()
                    || m.acting
                    || m.form.as_ref().is_some_and(|f| f.submitting)
            }
        }
    }

    pub async fn login(&mut self, person: &TestPerson) {
        self.typed(&person.login);
        self.key(KeyCode::Tab);
        self.typed(&person.password);
        self.key(KeyCode::Enter);
        self.settle().await;
        assert!(
            self.app.main().is_some(),
            "logged in as {}: {:?}",
            person.login,
            self.login_error()
        );
    }

    pub fn login_error(&self) -> Option<String> {
        match &self.app.screen {
            Screen::Login(f) => f.error.clone(),
            Screen::Main(_) => None,
        }
    }

    pub fn main(&self) -> &Main {
        self.app.main().expect("main screen")
    }

    pub fn subjects(&self) -> Vec<String> {
        self.main()
            .list
            .rows
            .iter()
            .map(|r| r.subject.clone())
            .collect()
    }

    pub fn notice(&self) -> String {
        self.app
            .notice
            .as_ref()
            .map(|n| n.text.clone())
            .unwrap_or_default()
    }
}

impl Client {
    pub async fn login_attempt(&mut self, person: &TestPerson) {
        self.typed(&person.login);
        self.key(KeyCode::Tab);
        self.typed(&person.password);
        self.key(KeyCode::Enter);
        self.settle().await;
    }
}

impl Client {
    /// Feeds replies (no keys) until `done` holds for the state, or panics after `secs`.
    pub async fn wait_until(&mut self, secs: u64, what: &str, done: impl Fn(&App) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        while !done(&self.app) {
            match tokio::time::timeout_at(deadline, self.replies.recv()).await {
                Ok(Some(m)) => self.apply(m),
                Ok(None) => panic!("the worker stopped while waiting for: {what}"),
                Err(_) => panic!(
                    "timed out after {secs}s waiting for: {what}; notice: {:?}",
                    self.app.notice
                ),
            }
        }
    }
}
