//! The test harness: a real PostgreSQL for every test binary and a fresh database per test.
//!
//! `TICKETS_TEST_DATABASE_URL` (a superuser URL) names a server to use; otherwise a throwaway
//! cluster is started once per test binary in a temporary directory (as root, run as the
//! `postgres` user) and stopped when the binary exits. Each `TestDb` is its own database,
//! migrated by the real migrator; dropping it drops the database and the login roles it made.
#![allow(dead_code)]

pub mod attack;
pub mod client;

use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use tickets::db::cluster::Cluster;
use tickets::db::{self, migrate};
use tokio_postgres::{Client, Config};

enum Server {
    Url(Config),
    Cluster {
        cluster: Cluster,
        dir: tempfile::TempDir,
    },
}

static SERVER: OnceLock<Server> = OnceLock::new();
static BOOTSTRAP: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

extern "C" fn stop_cluster_at_exit() {
    if let Some(Server::Cluster { cluster, dir }) = SERVER.get() {
        let _ = cluster.stop("immediate");
        let _ = std::fs::remove_dir_all(dir.path());
    }
}

fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        if let Ok(url) = std::env::var("TICKETS_TEST_DATABASE_URL") {
            let config =
                Config::from_str(&url).expect("TICKETS_TEST_DATABASE_URL is not a valid URL");
            return Server::Url(config);
        }
        let dir = tempfile::Builder::new()
            .prefix("tickets-test-")
            .tempdir()
            .expect("temp dir");
        let cluster = Cluster::start(dir.path(), 5432)
            .unwrap_or_else(|e| panic!("cannot start PostgreSQL: {e}"));
        // SAFETY: registering a plain extern "C" fn; it runs once at process exit.
        unsafe { libc::atexit(stop_cluster_at_exit) };
        Server::Cluster { cluster, dir }
    })
}

/// Restarts the throwaway server (fast shutdown: every session is ended, as in a real
/// restart). Returns false, doing nothing, when the server came from TICKETS_TEST_DATABASE_URL.
pub fn restart_server(down_for: std::time::Duration) -> bool {
    match server() {
        Server::Url(_) => false,
        Server::Cluster { cluster, dir } => {
            cluster.stop("fast").expect("stop the server");
            std::thread::sleep(down_for);
            Cluster::start(dir.path(), cluster.port()).expect("start the server again");
            true
        }
    }
}

/// A connection config for `user` on `dbname`, with a password when given.
pub fn config_for(user: &str, password: Option<&str>, dbname: &str) -> Config {
    let mut config = match server() {
        Server::Url(base) => base.clone(),
        Server::Cluster { cluster, .. } => {
            let mut c = Config::new();
            c.host_path(cluster.socket_dir()).port(cluster.port());
            c
        }
    };
    config
        .user(user)
        .dbname(dbname)
        .application_name("tickets-test");
    match password {
        Some(p) => config.password(p),
        None => config.password(""),
    };
    if let (Server::Url(base), None) = (server(), password)
        && let Some(p) = base.get_password()
    {
        config.password(p);
    }
    config
}

fn superuser() -> String {
    match server() {
        Server::Url(base) => base.get_user().unwrap_or("postgres").to_owned(),
        Server::Cluster { .. } => "postgres".to_owned(),
    }
}

/// A superuser connection to `dbname`.
pub async fn superuser_client(dbname: &str) -> Client {
    db::connect_config(&config_for(&superuser(), None, dbname))
        .await
        .unwrap_or_else(|e| panic!("superuser connection to {dbname}: {e}"))
}

/// The libpq/URL string a child process (the real binary) uses for a superuser connection.
pub fn superuser_conninfo(dbname: &str) -> String {
    conninfo(&config_for(&superuser(), None, dbname))
}

/// Renders a Config as a key=value string.
pub fn conninfo(config: &Config) -> String {
    let mut parts = Vec::new();
    if let Some(h) = config.get_hosts().first() {
        match h {
            tokio_postgres::config::Host::Tcp(name) => parts.push(format!("host={name}")),
            tokio_postgres::config::Host::Unix(p) => parts.push(format!("host={}", p.display())),
        }
    }
    if let Some(p) = config.get_ports().first() {
        parts.push(format!("port={p}"));
    }
    if let Some(u) = config.get_user() {
        parts.push(format!("user={u}"));
    }
    if let Some(p) = config.get_password()
        && !p.is_empty()
    {
        parts.push(format!(
            "password='{}'",
            String::from_utf8_lossy(p).replace('\'', "\\'")
        ));
    }
    if let Some(d) = config.get_dbname() {
        parts.push(format!("dbname={d}"));
    }
    parts.join(" ")
}

/// Where a `tickets` process started by a test finds its files: every variable that decides a
/// config, data, state or cache directory points into `home` (the test's temporary directory),
/// so a test never reads the user's config nor writes into their data directory, whatever
/// XDG_* variables the user has set.
pub fn private_home_env(home: &std::path::Path) -> Vec<(&'static str, std::path::PathBuf)> {
    vec![
        ("HOME", home.to_path_buf()),
        ("XDG_CONFIG_HOME", home.join(".config")),
        ("XDG_DATA_HOME", home.join(".local/share")),
        ("XDG_STATE_HOME", home.join(".local/state")),
        ("XDG_CACHE_HOME", home.join(".cache")),
    ]
}

/// [`private_home_env`] as the start of a shell line: `env -u TICKETS_CONFIG HOME=… …`.
pub fn private_home_shell(home: &std::path::Path) -> String {
    let mut line = String::from("env -u TICKETS_CONFIG");
    for (name, value) in private_home_env(home) {
        line.push_str(&format!(" {name}={}", value.display()));
    }
    line
}

/// The usual people of a test: two customers, two agents and an admin, all real logins.
pub struct Cast {
    pub alice: TestPerson,
    pub bob: TestPerson,
    pub al: TestPerson,
    pub bo: TestPerson,
    pub ada: TestPerson,
}

/// A person made for a test: their login is unique across the cluster.
#[derive(Debug, Clone)]
pub struct TestPerson {
    pub id: uuid::Uuid,
    pub login: String,
    pub password: String,
    pub role: &'static str,
}

pub struct TestDb {
    pub name: String,
    logins: Mutex<Vec<String>>,
    /// The notifier announcing this database's changes, once a live client needs one.
    notifier: OnceLock<tokio_util::sync::CancellationToken>,
}

impl TestDb {
    /// A new, migrated database.
    pub async fn new() -> TestDb {
        // The first migration in a cluster creates the shared roles; do it once, alone, so
        // parallel tests then only create their own objects.
        BOOTSTRAP
            .get_or_init(|| async {
                let db = TestDb::create_unmigrated().await;
                db.migrate().await;
            })
            .await;
        let db = TestDb::create_unmigrated().await;
        db.migrate().await;
        db
    }

    /// A new, empty database (for migration tests).
    pub async fn create_unmigrated() -> TestDb {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("tickets_test_{}_{n}", std::process::id());
        let admin = superuser_client("postgres").await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        TestDb {
            name,
            logins: Mutex::new(Vec::new()),
            notifier: OnceLock::new(),
        }
    }

    pub async fn migrate(&self) -> migrate::Report {
        let mut client = self.admin().await;
        migrate::migrate(&mut client).await.expect("migrate")
    }

    /// A superuser connection to this database.
    pub async fn admin(&self) -> Client {
        superuser_client(&self.name).await
    }

    /// Counts calls of PL/pgSQL functions (track_functions, a superuser setting) in the
    /// sessions that log in from now on; read with `calls_this_transaction`.
    pub async fn count_function_calls(&self) {
        self.admin()
            .await
            .batch_execute(&format!(
                "ALTER DATABASE {} SET track_functions = 'pl'",
                self.name
            ))
            .await
            .unwrap();
    }

    /// Starts this database's notifier (`tickets notifier`, as the superuser), once: live
    /// clients hear of changes only through it. On a thread of its own, so a test that
    /// blocks its runtime (the tmux tests wait with thread::sleep) does not stall it.
    /// Stopped with the database.
    pub fn start_notifier(&self) {
        self.notifier.get_or_init(|| {
            let stop = tokio_util::sync::CancellationToken::new();
            let config = config_for(&superuser(), None, &self.name);
            let token = stop.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("the notifier's runtime");
                rt.block_on(tickets::db::notifier::run(config, token));
            });
            stop
        });
    }

    pub fn admin_conninfo(&self) -> String {
        superuser_conninfo(&self.name)
    }

    /// A login name unique to this database, from a readable base.
    pub fn unique_login(&self, base: &str) -> String {
        let suffix = self.name.trim_start_matches("tickets_test_");
        let login = format!("{base}_{suffix}");
        self.logins.lock().unwrap().push(login.clone());
        login
    }

    /// Creates a person through the real `create_person` function.
    pub async fn person(&self, role: &'static str, base: &str) -> TestPerson {
        let login = self.unique_login(base);
        let password = format!("pw-{login}");
        let admin = self.admin().await;
        let id = tickets::people::add(
            &admin,
            &login,
            role,
            &format!("{base} {role}"),
            &format!("{login}@example.test"),
            &password,
        )
        .await
        .unwrap_or_else(|e| panic!("create {login}: {e}"));
        TestPerson {
            id,
            login,
            password,
            role,
        }
    }

    /// Customers alice and bob, agents al and bo, admin ada.
    pub async fn cast(&self) -> Cast {
        Cast {
            alice: self.person("customer", "alice").await,
            bob: self.person("customer", "bob").await,
            al: self.person("agent", "al").await,
            bo: self.person("agent", "bo").await,
            ada: self.person("admin", "ada").await,
        }
    }

    /// Logs in as the person over a real, password-authenticated connection.
    pub async fn login(&self, p: &TestPerson) -> Client {
        db::connect_config(&self.login_config(p))
            .await
            .unwrap_or_else(|e| panic!("log in as {}: {e}", p.login))
    }

    pub fn login_config(&self, p: &TestPerson) -> Config {
        config_for(&p.login, Some(&p.password), &self.name)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(stop) = self.notifier.get() {
            stop.cancel();
        }
        let name = self.name.clone();
        let logins = std::mem::take(&mut *self.logins.lock().unwrap());
        // Drop may run inside a test's runtime: clean up from a thread with its own, and wait a
        // little only. DROP DATABASE waits for every backend, including one still logging in
        // from this very (now blocked) runtime, which would stall until the server's
        // authentication timeout; past the wait the cleanup finishes on its own.
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let _cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let admin = superuser_client("postgres").await;
                let _ = admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
                for login in logins {
                    let _ = admin
                        .batch_execute(&format!("DROP ROLE IF EXISTS \"{login}\""))
                        .await;
                }
            });
            let _ = done_tx.send(());
        });
        let _ = done_rx.recv_timeout(std::time::Duration::from_secs(5));
    }
}

/// How many times `function` ran in `client`'s open transaction (in a session that logged in
/// after `TestDb::count_function_calls`).
pub async fn calls_this_transaction(client: &Client, function: &str) -> i64 {
    client
        .query_one(
            "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_xact_user_functions \
             WHERE funcname = $1",
            &[&function],
        )
        .await
        .unwrap()
        .get(0)
}

/// The SQLSTATE of a failed statement, or a panic naming what came back instead.
pub fn sqlstate<T: std::fmt::Debug>(result: Result<T, tokio_postgres::Error>) -> String {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => match e.code() {
            Some(code) => code.code().to_owned(),
            None => panic!("expected a database error, got {e}"),
        },
    }
}
