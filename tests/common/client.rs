//! The headless client (tickets::headless) with the test harness's conveniences: started for a
//! test database, logging in as a test person, and panicking with context instead of erring.

use super::{TestDb, TestPerson};
use std::ops::{Deref, DerefMut};
use std::time::Duration;
use tickets::app::{App, Main};
use tickets::drafts::DraftStore;
use tickets::headless::Headless;

pub struct Client {
    inner: Headless,
    _drafts: tempfile::TempDir,
}

impl Deref for Client {
    type Target = Headless;
    fn deref(&self) -> &Headless {
        &self.inner
    }
}

impl DerefMut for Client {
    fn deref_mut(&mut self) -> &mut Headless {
        &mut self.inner
    }
}

impl Client {
    pub fn start(db: &TestDb, person: &TestPerson) -> Client {
        db.start_notifier();
        let mut config = db.login_config(person);
        config.password("");
        Client::for_config(config)
    }

    pub fn for_config(config: tokio_postgres::Config) -> Client {
        let drafts = tempfile::tempdir().unwrap();
        let inner = Headless::start(config, Some(DraftStore::new(drafts.path())));
        Client {
            inner,
            _drafts: drafts,
        }
    }

    /// A client keeping its drafts in `drafts` (which outlives it).
    #[allow(dead_code)]
    pub fn for_config_with_drafts(
        config: tokio_postgres::Config,
        drafts: Option<DraftStore>,
    ) -> Client {
        Client {
            inner: Headless::start(config, drafts),
            _drafts: tempfile::tempdir().unwrap(),
        }
    }

    pub async fn settle(&mut self) {
        self.inner.settle().await.expect("the client settles");
    }

    pub async fn login(&mut self, person: &TestPerson) {
        if let Err(e) = self.inner.log_in(&person.login, &person.password).await {
            panic!("logged in as {}: {e}", person.login);
        }
    }

    /// Types the login and password and waits, whatever the outcome.
    pub async fn login_attempt(&mut self, person: &TestPerson) {
        let _ = self.inner.log_in(&person.login, &person.password).await;
    }

    /// Feeds replies (no keys) until `done` holds for the state, or panics after `secs`.
    pub async fn wait_until(&mut self, secs: u64, what: &str, done: impl Fn(&App) -> bool) {
        if let Err(e) = self.inner.wait_until(Duration::from_secs(secs), done).await {
            panic!("waiting for {what}: {e}");
        }
    }

    pub fn main(&self) -> &Main {
        self.inner.main().expect("main screen")
    }

    pub fn subjects(&self) -> Vec<String> {
        self.main()
            .list
            .rows
            .iter()
            .map(|r| r.subject.clone())
            .collect()
    }

    /// The open ticket's history events in words, oldest first (its conversation without the
    /// messages).
    pub fn events(&self) -> Vec<String> {
        self.main()
            .thread
            .iter()
            .filter_map(|e| e.describe())
            .collect()
    }

    /// Who made the open ticket's latest change.
    pub fn last_changed_by(&self) -> Option<String> {
        self.main()
            .thread
            .iter()
            .rev()
            .find(|e| e.describe().is_some())
            .and_then(|e| e.person_name.clone())
    }

    pub fn notice(&self) -> String {
        self.app
            .notice
            .as_ref()
            .map(|n| n.text.clone())
            .unwrap_or_default()
    }
}
