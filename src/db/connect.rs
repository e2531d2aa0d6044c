//! Connecting as libpq does: each host of a (multi-host) target in turn, with that host's
//! ~/.pgpass entry, TLS per `sslmode` (allow and prefer retry the other way, as libpq), and
//! `target_session_attrs` checked on the server. The parameters come from `conninfo.rs`.

use super::conninfo::{self, Params};
use super::error::DbError;
use super::pgpass::{self, PassFile};
use super::tls::{self, SslMode, Tls};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, Config, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

/// A connection whose messages the caller drives (the person's live connection does, to hear
/// its notifications).
pub type PgConnection =
    tokio_postgres::Connection<Socket, <MakeRustlsConnect as MakeTlsConnect<Socket>>::Stream>;

/// The connector of plain `Config` connections (tests, the demo, benchmarks): libpq's
/// prefer/require, encrypting without checking the certificate.
fn plain_tls() -> MakeRustlsConnect {
    static TLS: OnceLock<MakeRustlsConnect> = OnceLock::new();
    TLS.get_or_init(|| {
        tls::resolve(Some("require"), None, None, None, None)
            .expect("a TLS connector without files")
            .connector
    })
    .clone()
}

/// libpq's `target_session_attrs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionAttrs {
    Any,
    ReadWrite,
    ReadOnly,
    Primary,
    Standby,
    PreferStandby,
}

impl SessionAttrs {
    fn parse(s: &str) -> Result<SessionAttrs, String> {
        Ok(match s {
            "any" => SessionAttrs::Any,
            "read-write" => SessionAttrs::ReadWrite,
            "read-only" => SessionAttrs::ReadOnly,
            "primary" => SessionAttrs::Primary,
            "standby" => SessionAttrs::Standby,
            "prefer-standby" => SessionAttrs::PreferStandby,
            other => return Err(format!("invalid target_session_attrs value: \"{other}\"")),
        })
    }
}

/// One host of a target, with everything tokio-postgres needs to reach it.
#[derive(Clone)]
struct HostTarget {
    config: Config,
    /// As the parameters name it (a host name, an address or a socket directory).
    host: String,
    port: u16,
}

/// Where and how to connect: one or more hosts, TLS, the password file.
#[derive(Clone)]
pub struct Target {
    hosts: Vec<HostTarget>,
    tls: Tls,
    attrs: SessionAttrs,
    random_order: bool,
    passfile: Arc<PassFile>,
    /// What libpq would have printed while reading the settings (a loose ~/.pgpass).
    pub warnings: Vec<String>,
}

/// Parameters libpq knows that are resolved here rather than by tokio-postgres.
const HANDLED_HERE: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "service",
    "passfile",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "target_session_attrs",
    "load_balance_hosts",
    "application_name",
    "fallback_application_name",
    "connect_timeout",
    "client_encoding",
    "sslcompression",
    "gssencmode",
    "keepalives_count",
];

/// Defaults the caller supplies (libpq's compiled-in ones are not the client's).
pub struct Defaults<'a> {
    /// application_name when none is given (libpq's fallback_application_name).
    pub application_name: &'a str,
    pub dbname: Option<&'a str>,
}

impl Target {
    /// Builds a target from layered libpq parameters (see `config.rs` for the layering).
    /// `var` reads the environment (for $HOME). Errors are one line naming the setting.
    pub fn from_params(
        params: &Params,
        defaults: &Defaults,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Target, String> {
        let get = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let home = conninfo::home_dir(&var);
        let hosts: Vec<String> = match get("host") {
            Some(h) => h.split(',').map(str::to_owned).collect(),
            // As libpq does: the local socket directory when there is one, else TCP localhost.
            None if std::path::Path::new("/var/run/postgresql").is_dir() => {
                vec!["/var/run/postgresql".into()]
            }
            None => vec!["localhost".into()],
        };
        let split = |k: &str| -> Result<Vec<String>, String> {
            let values: Vec<String> = get(k)
                .map(|v| v.split(',').map(str::to_owned).collect())
                .unwrap_or_default();
            match values.len() {
                0 | 1 => Ok(vec![
                    values.first().cloned().unwrap_or_default();
                    hosts.len()
                ]),
                n if n == hosts.len() => Ok(values),
                n => Err(format!(
                    "could not match {n} {k} values to {} hosts",
                    hosts.len()
                )),
            }
        };
        let ports = split("port")?;
        let addrs = split("hostaddr")?;
        let tls = tls::resolve(
            get("sslmode"),
            get("sslrootcert"),
            get("sslcert"),
            get("sslkey"),
            home.as_deref(),
        )?;
        let attrs = SessionAttrs::parse(get("target_session_attrs").unwrap_or("any"))?;
        let random_order = match get("load_balance_hosts").unwrap_or("disable") {
            "disable" => false,
            "random" => true,
            other => return Err(format!("invalid load_balance_hosts value: \"{other}\"")),
        };
        if let Some(mode) = get("gssencmode")
            && mode == "require"
        {
            return Err("gssencmode=require: GSSAPI encryption is not supported".into());
        }

        let mut common: Vec<(&str, &str)> = params
            .iter()
            .filter(|(k, v)| !HANDLED_HERE.contains(&k.as_str()) && !v.is_empty())
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if let Some(n) = get("keepalives_count") {
            common.push(("keepalives_retries", n));
        }
        let app = get("application_name")
            .or(get("fallback_application_name"))
            .unwrap_or(defaults.application_name);
        common.push(("application_name", app));
        // No connect_timeout at all would wait for the operating system (minutes); libpq's
        // "0" (wait forever) is still honoured.
        common.push(("connect_timeout", get("connect_timeout").unwrap_or("10")));
        if get("dbname").is_none()
            && let Some(db) = defaults.dbname
        {
            common.push(("dbname", db));
        }

        let mut targets = Vec::with_capacity(hosts.len());
        for ((host, port), addr) in hosts.iter().zip(&ports).zip(&addrs) {
            let port_number: u16 = if port.is_empty() {
                5432
            } else {
                port.parse()
                    .map_err(|_| format!("invalid port number: \"{port}\""))?
            };
            let unix = host.starts_with('/');
            let ssl = match tls.mode {
                // PostgreSQL has no TLS on Unix sockets; libpq does not ask there.
                _ if unix => "disable",
                SslMode::Disable | SslMode::Allow => "disable",
                SslMode::Prefer => "prefer",
                _ => "require",
            };
            let port_text = port_number.to_string();
            let mut pairs = common.clone();
            pairs.extend([
                ("host", host.as_str()),
                ("port", port_text.as_str()),
                ("sslmode", ssl),
            ]);
            if !addr.is_empty() {
                pairs.push(("hostaddr", addr.as_str()));
            }
            let config = Config::from_str(&conninfo::to_keywords(pairs))
                .map_err(|e| format!("the connection settings are not valid: {e}"))?;
            targets.push(HostTarget {
                config,
                host: host.clone(),
                port: port_number,
            });
        }

        let mut warnings = Vec::new();
        let passfile = match get("passfile")
            .map(std::path::PathBuf::from)
            .or_else(|| pgpass::default_path(home.as_deref()))
        {
            Some(path) => {
                let loaded = pgpass::load(&path);
                warnings.extend(loaded.warning);
                loaded.file
            }
            None => PassFile::default(),
        };
        Ok(Target {
            hosts: targets,
            tls,
            attrs,
            random_order,
            passfile: Arc::new(passfile),
            warnings,
        })
    }

    /// A target from a URL or key=value string alone (plus the environment's gaps filled, as
    /// libpq does): the administrative commands' connection.
    pub fn from_conninfo(
        conninfo: &str,
        application_name: &str,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Target, String> {
        let given = conninfo::parse(conninfo)
            .map_err(|e| format!("the connection string is not valid: {e}"))?;
        let params = crate::config::layer(&[conninfo::from_env(&var)], &given, &var)?;
        Target::from_params(
            &params,
            &Defaults {
                application_name,
                dbname: None,
            },
            var,
        )
    }

    pub fn user(&mut self, user: &str) -> &mut Target {
        for h in &mut self.hosts {
            h.config.user(user);
        }
        self
    }

    pub fn password(&mut self, password: &str) -> &mut Target {
        for h in &mut self.hosts {
            h.config.password(password);
        }
        self
    }

    pub fn get_user(&self) -> Option<&str> {
        self.hosts.first().and_then(|h| h.config.get_user())
    }

    pub fn sslmode(&self) -> SslMode {
        self.tls.mode
    }

    /// "host:port[,host:port]/dbname" for titles and messages, without credentials.
    pub fn describe(&self) -> String {
        let hosts: Vec<String> = self
            .hosts
            .iter()
            .map(|h| format!("{}:{}", h.host, h.port))
            .collect();
        let db = self
            .hosts
            .first()
            .and_then(|h| h.config.get_dbname())
            .unwrap_or("(default database)");
        format!("{}/{db}", hosts.join(","))
    }

    /// Connects; the connection runs on its own task until the client drops.
    pub async fn connect(&self) -> Result<Client, DbError> {
        let (client, connection) = self.connect_raw().await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("database connection ended: {e}");
            }
        });
        Ok(client)
    }

    /// Connects, leaving the connection's messages to the caller.
    pub async fn connect_raw(&self) -> Result<(Client, PgConnection), DbError> {
        let mut order: Vec<usize> = (0..self.hosts.len()).collect();
        if self.random_order {
            shuffle(&mut order);
        }
        let passes: &[SessionAttrs] = match self.attrs {
            SessionAttrs::PreferStandby => &[SessionAttrs::Standby, SessionAttrs::Any],
            ref one => std::slice::from_ref(one),
        };
        let mut failures: Vec<(String, DbError)> = Vec::new();
        for want in passes {
            for &i in &order {
                let h = &self.hosts[i];
                match self.connect_host(h, *want).await {
                    Ok(pair) => return Ok(pair),
                    Err(e) => {
                        let db = h.config.get_dbname().unwrap_or("(default database)");
                        let at = format!("{}:{}/{db}", h.host, h.port);
                        tracing::warn!(server = %at, error = %e, "connection attempt failed");
                        failures.push((at, e));
                    }
                }
            }
        }
        Err(combine(failures))
    }

    async fn connect_host(
        &self,
        h: &HostTarget,
        want: SessionAttrs,
    ) -> Result<(Client, PgConnection), DbError> {
        let mut config = h.config.clone();
        if config.get_password().is_none()
            && let Some(pw) = self.passfile.lookup(
                &h.host,
                h.port,
                config.get_dbname().or(config.get_user()).unwrap_or(""),
                config.get_user().unwrap_or(""),
            )
        {
            config.password(pw);
        }
        config.options(conninfo::session_options(config.get_options()));
        let unix = h.host.starts_with('/');
        let first = config.connect(self.tls.connector.clone()).await;
        let (client, mut connection) = match first {
            Ok(pair) => pair,
            Err(e) if !unix && retry_other_way(self.tls.mode, &e) => {
                let other = if self.tls.mode == SslMode::Allow {
                    tokio_postgres::config::SslMode::Require
                } else {
                    tokio_postgres::config::SslMode::Disable
                };
                tracing::info!(
                    "sslmode={}: {}; retrying {}",
                    self.tls.mode.as_str(),
                    DbError::from(e),
                    if other == tokio_postgres::config::SslMode::Disable {
                        "without TLS"
                    } else {
                        "with TLS"
                    }
                );
                config.ssl_mode(other);
                config
                    .connect(self.tls.connector.clone())
                    .await
                    .map_err(DbError::from)?
            }
            Err(e) => return Err(e.into()),
        };
        if want != SessionAttrs::Any {
            let state = drive_while(&mut connection, server_state(&client)).await?;
            let refusal = match want {
                SessionAttrs::ReadWrite if state.read_only => Some("session is read-only"),
                SessionAttrs::ReadOnly if !state.read_only => Some("session is not read-only"),
                SessionAttrs::Primary if state.standby => Some("server is in hot standby mode"),
                SessionAttrs::Standby if !state.standby => {
                    Some("server is not in hot standby mode")
                }
                _ => None,
            };
            if let Some(why) = refusal {
                return Err(DbError::Unreachable(why.into()));
            }
        }
        Ok((client, connection))
    }
}

impl From<Config> for Target {
    /// A plain tokio-postgres config (tests, the demo, benchmarks): TLS as its sslmode says,
    /// encrypting without checking the certificate (libpq's prefer and require).
    fn from(config: Config) -> Target {
        let hosts = config
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let mut single = config.clone();
                let port = config
                    .get_ports()
                    .get(i)
                    .or(config.get_ports().first())
                    .copied()
                    .unwrap_or(5432);
                let host = match h {
                    tokio_postgres::config::Host::Tcp(name) => name.clone(),
                    tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
                };
                // tokio-postgres only appends hosts: a fresh list of one, via its parser.
                let mut fresh = Config::from_str(&conninfo::to_keywords([
                    ("host", host.as_str()),
                    ("port", port.to_string().as_str()),
                ]))
                .expect("a host and port parse");
                copy_settings(&mut single, &mut fresh);
                HostTarget {
                    config: fresh,
                    host,
                    port,
                }
            })
            .collect();
        let mode = match config.get_ssl_mode() {
            tokio_postgres::config::SslMode::Disable => SslMode::Disable,
            tokio_postgres::config::SslMode::Prefer => SslMode::Prefer,
            _ => SslMode::Require,
        };
        Target {
            hosts,
            tls: Tls {
                mode,
                check: tls::Check::None,
                connector: plain_tls(),
            },
            attrs: SessionAttrs::Any,
            random_order: false,
            passfile: Arc::new(PassFile::default()),
            warnings: Vec::new(),
        }
    }
}

/// The settings of `from` a single-host config needs.
fn copy_settings(from: &mut Config, to: &mut Config) {
    if let Some(u) = from.get_user() {
        to.user(u);
    }
    if let Some(p) = from.get_password() {
        to.password(p);
    }
    if let Some(d) = from.get_dbname() {
        to.dbname(d);
    }
    if let Some(o) = from.get_options() {
        to.options(o);
    }
    if let Some(a) = from.get_application_name() {
        to.application_name(a);
    }
    if let Some(t) = from.get_connect_timeout() {
        to.connect_timeout(*t);
    }
    to.ssl_mode(from.get_ssl_mode());
}

/// Whether libpq would try again the other way: allow retries with TLS when the server
/// refused the plain connection; prefer retries without TLS when the handshake failed or the
/// server refused the encrypted one.
fn retry_other_way(mode: SslMode, e: &tokio_postgres::Error) -> bool {
    let hba_refusal = e.code() == Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION)
        && e.as_db_error()
            .is_some_and(|d| d.message().contains("pg_hba.conf"));
    match mode {
        SslMode::Allow => hba_refusal,
        SslMode::Prefer => hba_refusal || e.to_string().contains("TLS"),
        _ => false,
    }
}

/// One line per host tried; a refusal from a server that was reached is what matters most.
fn combine(mut failures: Vec<(String, DbError)>) -> DbError {
    if failures.len() == 1 {
        let (at, e) = failures.remove(0);
        return match e {
            DbError::Unreachable(why) => {
                DbError::Unreachable(format!("cannot reach PostgreSQL at {at}: {why}"))
            }
            other => other,
        };
    }
    if let Some(i) = failures
        .iter()
        .position(|(_, e)| matches!(e, DbError::LoginRefused(_)))
    {
        return failures.swap_remove(i).1;
    }
    let all: Vec<String> = failures
        .iter()
        .map(|(at, e)| format!("{at}: {e}"))
        .collect();
    DbError::Unreachable(format!("no server could be used: {}", all.join("; ")))
}

fn shuffle(order: &mut [usize]) {
    use std::hash::{BuildHasher, RandomState};
    let seed = RandomState::new().hash_one(std::time::SystemTime::now());
    for i in (1..order.len()).rev() {
        let j = (seed.rotate_left(i as u32) as usize) % (i + 1);
        order.swap(i, j);
    }
}

/// Whether the server takes writes, and whether it is a standby.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerState {
    pub read_only: bool,
    pub standby: bool,
}

/// Asks the server (libpq asks the same for target_session_attrs).
pub async fn server_state(client: &Client) -> Result<ServerState, DbError> {
    let row = client
        .query_one(
            "SELECT pg_catalog.current_setting('transaction_read_only') = 'on', pg_catalog.pg_is_in_recovery()",
            &[],
        )
        .await?;
    Ok(ServerState {
        read_only: row.get(0),
        standby: row.get(1),
    })
}

/// Runs `work` on the client while driving the connection (notices are dropped).
async fn drive_while<T>(
    connection: &mut PgConnection,
    work: impl std::future::Future<Output = Result<T, DbError>>,
) -> Result<T, DbError> {
    let mut work = std::pin::pin!(work);
    loop {
        tokio::select! {
            out = &mut work => return out,
            message = std::future::poll_fn(|cx| connection.poll_message(cx)) => match message {
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Err(DbError::Unreachable("the connection to the database was closed".into())),
            },
        }
    }
}

/// Connects with a `postgres://` URL or a libpq `key=value` string (and the environment's
/// gaps filled, as libpq does).
pub async fn connect(conninfo: &str, application_name: &str) -> Result<Client, DbError> {
    let target = Target::from_conninfo(conninfo, application_name, |k| std::env::var(k).ok())
        .map_err(DbError::Unreachable)?;
    for w in &target.warnings {
        eprintln!("{w}");
    }
    target.connect().await
}

/// Connects with a prepared tokio-postgres config.
pub async fn connect_config(config: &Config) -> Result<Client, DbError> {
    Target::from(config.clone()).connect().await
}

/// "host:port/dbname" for messages, without credentials.
pub fn describe_target(config: &Config) -> String {
    Target::from(config.clone()).describe()
}
