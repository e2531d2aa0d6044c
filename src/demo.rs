//! `tickets demo`: a private PostgreSQL cluster under the user's data directory, migrated and
//! seeded with a small, realistic data set, reused on the next run (`--reset` starts over).

use crate::db::cluster::{Cluster, find_bindir};
use crate::db::{self, migrate};
use crate::seed::{SeedPlan, seed};
use eyre::{Result, WrapErr, eyre};
use std::path::{Path, PathBuf};

pub const DATABASE: &str = "tickets";
const PORT: u16 = 5432;

/// The demo's data set: who can log in, with which password.
pub fn plan() -> SeedPlan {
    SeedPlan {
        tickets: 300,
        customers: 40,
        agents: 4,
        admins: 1,
        customer_logins: 6,
        prefix: "demo".into(),
        password: "demo".into(),
    }
}

/// Every demo login, for the login form: a first line to try, then each login by role, in
/// lines that fit the form (58 columns).
pub fn logins_line(p: &SeedPlan) -> String {
    let mut lines = vec![format!(
        "Try {}, password {}. Every demo login:",
        p.agent_login(1),
        p.password
    )];
    let groups = [
        (
            "admin",
            (1..=p.admins).map(|i| p.admin_login(i)).collect::<Vec<_>>(),
        ),
        ("agents", (1..=p.agents).map(|i| p.agent_login(i)).collect()),
        (
            "customers",
            (1..=p.customer_logins)
                .map(|i| p.customer_login(i))
                .collect(),
        ),
    ];
    for (label, logins) in groups {
        let mut line = format!("{label:<10} ");
        for login in logins {
            if line.len() + login.len() > 58 && line.len() > 11 {
                lines.push(std::mem::take(&mut line).trim_end().to_owned());
                line = " ".repeat(11);
            }
            line.push_str(&login);
            line.push(' ');
        }
        lines.push(line.trim_end().to_owned());
    }
    lines.join("\n")
}

/// Every demo login, for the terminal before the client opens.
pub fn logins_table(p: &SeedPlan) -> String {
    format!(
        "  admin      {}\n  agents     {} .. {}\n  customers  {} .. {}\n  password   {}",
        p.admin_login(1),
        p.agent_login(1),
        p.agent_login(p.agents),
        p.customer_login(1),
        p.customer_login(p.customer_logins),
        p.password
    )
}

pub fn default_dir() -> Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "tickets")
        .ok_or_else(|| eyre!("no home directory"))?;
    Ok(dirs.data_local_dir().join("demo"))
}

/// The running demo server; `stop` it when the client is done.
pub struct Demo {
    pub cluster: Cluster,
    /// Whether this run owns the server (and stops it), rather than another running demo.
    owned: bool,
    /// Held while this run owns the demo: another `tickets demo` then knows it is not alone.
    _lock: Option<std::fs::File>,
    /// Stops the server when this process ends without `stop` (see `spawn_guard`).
    guard: std::sync::Mutex<Option<std::process::Child>>,
}

impl Demo {
    /// The libpq settings the client connects with (the socket in the demo directory).
    pub fn pg_config(&self) -> tokio_postgres::Config {
        let mut c = tokio_postgres::Config::new();
        c.host_path(self.cluster.socket_dir())
            .port(self.cluster.port())
            .dbname(DATABASE)
            .application_name("tickets");
        c
    }

    /// The demo's notifier session (the cluster's superuser), which announces changes.
    pub fn notifier_config(&self) -> tokio_postgres::Config {
        let mut c = self.pg_config();
        c.user("postgres").application_name("tickets-notifier");
        c
    }

    /// Stops the server, unless another `tickets demo` that is still running owns it.
    pub fn stop(&self) {
        if !self.owned {
            return;
        }
        // Stopped here: the guard must not stop a server a later demo may have started.
        if let Some(mut guard) = self.guard.lock().unwrap().take() {
            let _ = guard.kill();
            let _ = guard.wait();
        }
        if let Err(e) = self.cluster.stop("fast") {
            eprintln!("tickets: could not stop the demo server: {e}");
        }
    }
}

/// The exact command that opens another client on the running demo.
pub fn second_client_command(demo: &Demo) -> String {
    format!(
        "{} --host {} --port {} --dbname {DATABASE}",
        shell_word(&program()),
        shell_word(&demo.cluster.socket_dir().display().to_string()),
        demo.cluster.port()
    )
}

/// How to run this binary: `tickets` when that is what PATH finds, else its full path.
fn program() -> String {
    let me = std::env::current_exe().and_then(std::fs::canonicalize).ok();
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("tickets"))
            .find(|p| p.is_file())
    });
    match (me, on_path.and_then(|p| std::fs::canonicalize(p).ok())) {
        (Some(me), Some(found)) if me == found => "tickets".into(),
        (Some(me), _) => me.display().to_string(),
        (None, _) => "tickets".into(),
    }
}

fn shell_word(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Takes the demo's lock without waiting: None when another `tickets demo` holds it.
fn try_lock(path: &Path) -> Result<Option<std::fs::File>> {
    use std::os::fd::AsRawFd;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .wrap_err_with(|| format!("cannot open {}", path.display()))?;
    // SAFETY: flock on a descriptor we own; the lock goes with the file (closed on exec).
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    Ok(locked.then_some(file))
}

/// A small process that outlives this one: it waits for its stdin (a pipe only this process
/// holds) to close, which happens however this process ends (quit, panic, SIGHUP when the
/// terminal is closed, SIGTERM, SIGKILL), and then stops the server. It ignores the terminal's
/// signals and sits in its own process group, so closing the terminal does not end it first.
fn spawn_guard(cluster: &Cluster) -> std::io::Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg("trap '' HUP INT TERM QUIT; cat >/dev/null; exec \"$@\"")
        .arg("tickets-demo-guard")
        .args(cluster.stop_command("fast"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
}

/// Starts (creating and seeding on first use) the demo cluster in `dir`.
pub async fn prepare(dir: &Path, reset: bool) -> Result<Demo> {
    find_bindir().map_err(|e| eyre!("{e}"))?;
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)
            .wrap_err_with(|| format!("cannot create {}", parent.display()))?;
    }
    let lock = try_lock(&dir.with_extension("lock"))?;
    if lock.is_none() {
        if reset {
            return Err(eyre!(
                "another `tickets demo` is running on {}: quit it before --reset",
                dir.display()
            ));
        }
        println!(
            "another `tickets demo` is running: this client uses its server and leaves it running"
        );
    }
    if reset && dir.exists() {
        if dir.join("data").join("PG_VERSION").exists() {
            let old = Cluster::start(dir, PORT).map_err(|e| eyre!("{e}"))?;
            let _ = old.stop("fast");
        }
        std::fs::remove_dir_all(dir)
            .wrap_err_with(|| format!("cannot remove {}", dir.display()))?;
        println!("removed the old demo in {}", dir.display());
    }
    std::fs::create_dir_all(dir).wrap_err_with(|| format!("cannot create {}", dir.display()))?;
    let fresh = !dir.join("data").join("PG_VERSION").exists();
    if running_as_root() {
        let opened = open_path_for_postgres(dir)?;
        if !opened.is_empty() {
            println!(
                "as root, the demo server runs as the postgres user: made {} traversable (o+x, not readable) so it can reach {}",
                opened
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                dir.display()
            );
        }
    }
    if fresh {
        println!("creating a PostgreSQL cluster in {} …", dir.display());
    }
    let owned = lock.is_some();
    if owned && Cluster::is_running_in(dir) {
        println!(
            "a demo server was left running by an earlier run: this demo takes it over and stops it when you quit"
        );
    }
    let cluster = Cluster::start(dir, PORT).map_err(|e| eyre!("{e}"))?;
    let guard = match owned.then(|| spawn_guard(&cluster)).transpose() {
        Ok(guard) => guard,
        Err(e) => {
            let _ = cluster.stop("fast");
            return Err(eyre!(
                "cannot start the process that stops the demo server: {e}"
            ));
        }
    };
    let demo = Demo {
        cluster,
        owned,
        _lock: lock,
        guard: std::sync::Mutex::new(guard),
    };
    if let Err(e) = setup(&demo).await {
        demo.stop();
        return Err(e);
    }
    Ok(demo)
}

async fn setup(demo: &Demo) -> Result<()> {
    let admin_conninfo = |db: &str| demo.cluster.conninfo("postgres", db);
    let server = db::connect(&admin_conninfo("postgres"), "tickets-demo").await?;
    let exists: bool = server
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            &[&DATABASE],
        )
        .await?
        .get(0);
    if !exists {
        server
            .batch_execute(&format!("CREATE DATABASE {DATABASE}"))
            .await?;
    }
    let mut client = db::connect(&admin_conninfo(DATABASE), "tickets-demo").await?;
    migrate::migrate(&mut client).await?;
    let tickets: i64 = client
        .query_one("SELECT count(*) FROM public.tickets", &[])
        .await?
        .get(0);
    if tickets == 0 {
        let plan = plan();
        let report = seed(&mut client, &plan).await?;
        println!(
            "seeded {} tickets with {} history entries and {} people",
            report.tickets, report.history, report.people
        );
    }
    Ok(())
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Adds o+x to the ancestors of `dir` that lack it, so the postgres user can reach the data.
fn open_path_for_postgres(dir: &Path) -> Result<Vec<PathBuf>> {
    use std::os::unix::fs::PermissionsExt;
    let mut opened = Vec::new();
    for ancestor in dir.ancestors().skip(1) {
        let meta = std::fs::metadata(ancestor)
            .wrap_err_with(|| format!("cannot read {}", ancestor.display()))?;
        let mode = meta.permissions().mode();
        if mode & 0o001 == 0 {
            std::fs::set_permissions(ancestor, std::fs::Permissions::from_mode(mode | 0o001))
                .wrap_err_with(|| format!("cannot make {} traversable", ancestor.display()))?;
            opened.push(ancestor.to_path_buf());
        }
    }
    Ok(opened)
}
