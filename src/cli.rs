//! Command-line definitions (clap derive).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "tickets",
    version,
    about = "Support tickets in PostgreSQL, worked from a terminal"
)]
pub struct Cli {
    /// Config file (default: the platform config dir, e.g. ~/.config/tickets/config.toml).
    #[arg(long, global = true, env = "TICKETS_CONFIG")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Colour theme (NO_COLOR in the environment forces no-color).
    #[arg(long, value_enum)]
    pub theme: Option<ThemeName>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Where the terminal client connects: over the config file, the PG* variables and the
/// service file, as psql does (a URL here wins over the environment; each flag below
/// overrides only its own part of it).
#[derive(Debug, Args, Default)]
pub struct ConnectArgs {
    /// A postgres:// URL or libpq key=value string (multi-host, target_session_attrs,
    /// sslrootcert... as libpq). Its password is used like PGPASSWORD.
    #[arg(long)]
    pub url: Option<String>,
    /// A service of ~/.pg_service.conf or PGSERVICEFILE (like PGSERVICE).
    #[arg(long)]
    pub service: Option<String>,
    /// Server host name, or a socket directory (like PGHOST).
    #[arg(long)]
    pub host: Option<String>,
    #[arg(long)]
    pub port: Option<u16>,
    /// Database name (default: tickets).
    #[arg(long)]
    pub dbname: Option<String>,
    /// TLS, with libpq's meanings (default: prefer).
    #[arg(long, value_enum)]
    pub sslmode: Option<crate::db::tls::SslMode>,
    /// CA certificate file that signs the server's certificate, or "system" (like PGSSLROOTCERT).
    #[arg(long)]
    pub sslrootcert: Option<String>,
    /// Client certificate file, for certificate logins (like PGSSLCERT).
    #[arg(long)]
    pub sslcert: Option<String>,
    /// The client certificate's private key (like PGSSLKEY).
    #[arg(long)]
    pub sslkey: Option<String>,
    /// Prefill the login field (like PGUSER).
    #[arg(long)]
    pub login: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ThemeName {
    Dark,
    Light,
    NoColor,
}

impl ThemeName {
    /// The name the config file uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ThemeName::Dark => "dark",
            ThemeName::Light => "light",
            ThemeName::NoColor => "no-color",
        }
    }
}

/// The parts of `tickets bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchSection {
    Panes,
    Thread,
    Client,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleName {
    Customer,
    Agent,
    Admin,
}

impl RoleName {
    pub fn as_sql(self) -> &'static str {
        match self {
            RoleName::Customer => "customer",
            RoleName::Agent => "agent",
            RoleName::Admin => "admin",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Try it: a private PostgreSQL with demo data (under your data directory), then the
    /// client at its login form. The server stops when you quit; the data stays for next time.
    Demo {
        /// Throw the demo data away and start over.
        #[arg(long)]
        reset: bool,
    },
    /// Apply the embedded schema migrations (needs a superuser connection).
    Migrate(MigrateArgs),
    /// Fill a database with realistic, skewed tickets and history (needs a superuser
    /// connection; for demos and benchmarks, not for production data).
    Seed(SeedArgs),
    /// Measure pane queries (RLS vs. no-RLS floor), the client and live refresh on a seeded
    /// database: `tickets seed --prefix bench ...` first.
    Bench {
        /// The seeded logins' prefix and password.
        #[arg(long, default_value = "bench")]
        prefix: String,
        #[arg(long, default_value = "demo")]
        password: String,
        /// Runs per pane query.
        #[arg(long, default_value_t = 200)]
        iterations: usize,
        /// Live changes to time (0 skips; 250 ms apart).
        #[arg(long, default_value_t = 500)]
        live_changes: usize,
        /// Instead of measuring: hold this many live clients of seeded people open until
        /// Ctrl-C (to run pgbench beside them; BENCHMARKS.md has the commands).
        #[arg(long, default_value_t = 0)]
        listeners: usize,
        /// With --listeners: bare `LISTEN tickets_changed` sessions rather than clients.
        #[arg(long)]
        raw_listen: bool,
        /// Instead of the pane and client figures: this many headless clients of mixed roles
        /// while changes are committed at --crowd-rate per second for --crowd-seconds: queries
        /// and server CPU per change, COMMIT-to-frame p50/p99.
        #[arg(long, default_value_t = 0)]
        crowd: usize,
        #[arg(long, default_value_t = 60)]
        crowd_seconds: u64,
        #[arg(long, default_value_t = 50)]
        crowd_rate: u32,
        /// Measure one part only: the pane queries, the conversation (the busiest ticket's
        /// thread) or the client.
        #[arg(long, value_enum)]
        only: Option<BenchSection>,
        #[command(flatten)]
        db: AdminDb,
    },
    /// Create, list and disable people.
    #[command(subcommand)]
    User(UserCommand),
    /// Change your own password (as psql's \password: only a SCRAM verifier is sent). Logs in
    /// with the client's connection settings (--login, PGUSER, else your OS user name).
    Passwd {
        /// Read the new password from standard input (first line) instead of prompting twice.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Print a shell completion script, e.g. `tickets completions bash > /etc/bash_completion.d/tickets`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `tickets man | man -l -`.
    Man,
    /// Announce changes to live clients: run one beside the database, as a superuser or a
    /// login granted tickets_notifier (writers only queue their changes; without a notifier
    /// clients are not refreshed live). It also runs the watchdog, which cancels people's
    /// statements and open transactions past the database's limits (app.limits), whatever
    /// their sessions set. Runs until interrupted.
    Notifier(AdminDb),
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    #[arg(long, default_value_t = 10_000)]
    pub tickets: u32,
    #[arg(long, default_value_t = 1_000)]
    pub customers: u32,
    #[arg(long, default_value_t = 20)]
    pub agents: u32,
    #[arg(long, default_value_t = 2)]
    pub admins: u32,
    /// How many customers (the busiest first) get a login; the rest are rows only.
    #[arg(long, default_value_t = 10)]
    pub customer_logins: u32,
    /// Logins are PREFIX_admin1, PREFIX_agent1, PREFIX_customer1, ...
    #[arg(long, default_value = "demo")]
    pub prefix: String,
    /// The password of every seeded login.
    #[arg(long, default_value = "demo")]
    pub password: String,
    #[command(flatten)]
    pub db: AdminDb,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub db: AdminDb,
    /// Also close the cluster's maintenance databases (postgres, template1) to everyone but
    /// superusers and roles granted CONNECT by name: REVOKE CONNECT, TEMPORARY ... FROM PUBLIC.
    /// Cluster-wide: use it when nothing else in the cluster needs PUBLIC's access there.
    #[arg(long)]
    pub lock_maintenance_db: bool,
}

/// The connection used by administrative commands: a superuser (or the cluster owner).
#[derive(Debug, Args)]
pub struct AdminDb {
    /// postgres:// URL or libpq key=value string of a superuser connection.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a person: a PostgreSQL login role plus their users row, in one transaction.
    Add {
        /// The login (a PostgreSQL role name: lowercase letters, digits and _).
        login: String,
        #[arg(long, value_enum)]
        role: RoleName,
        /// The name shown to others.
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        /// Read the password from standard input (first line) instead of prompting.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        db: AdminDb,
    },
    /// List everyone, disabled people included.
    List {
        #[command(flatten)]
        db: AdminDb,
    },
    /// Disable a person: they can no longer log in; open sessions end; their history stays.
    /// Their active tickets go back to the pool, or to the agent given with --hand-to.
    Disable {
        login: String,
        /// Hand the person's active tickets to this active agent instead of the pool.
        #[arg(long, value_name = "LOGIN")]
        hand_to: Option<String>,
        #[command(flatten)]
        db: AdminDb,
    },
    /// Let a disabled person log in again.
    Enable {
        login: String,
        #[command(flatten)]
        db: AdminDb,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
