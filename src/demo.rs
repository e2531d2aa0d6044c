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

/// Who to log in as, short enough for the login form.
pub fn logins_line(p: &SeedPlan) -> String {
    format!(
        "Try {} / {} (or {}, {})",
        p.agent_login(1),
        p.password,
        p.admin_login(1),
        p.customer_login(1)
    )
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
    started_here: bool,
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

    /// Stops the server, unless it was already running before this demo started it.
    pub fn stop(&self) {
        if self.started_here
            && let Err(e) = self.cluster.stop("fast")
        {
            eprintln!("tickets: could not stop the demo server: {e}");
        }
    }
}

/// Starts (creating and seeding on first use) the demo cluster in `dir`.
pub async fn prepare(dir: &Path, reset: bool) -> Result<Demo> {
    find_bindir().map_err(|e| eyre!("{e}"))?;
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
    let started_here = !(Cluster::is_running_in(dir));
    let cluster = Cluster::start(dir, PORT).map_err(|e| eyre!("{e}"))?;
    let demo = Demo {
        cluster,
        started_here,
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
