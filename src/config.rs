//! Settings: defaults < config file < environment < command line (DESIGN.md §1, §4).

use eyre::{Result, WrapErr, eyre};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The config file's contents. Every field is optional; config.example.toml documents them.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Superuser URL for `migrate` and `user` commands.
    pub database_url: Option<String>,
    /// dark, light or no-color.
    pub theme: Option<String>,
    #[serde(default)]
    pub connection: ConnectionConfig,
    /// action = "key" or ["key", ...]; [] unbinds.
    #[serde(default)]
    pub keys: BTreeMap<String, KeyList>,
}

/// Where the terminal client connects; the libpq names, as psql users know them.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConnectionConfig {
    /// A postgres:// URL as the base; the fields below override its parts.
    pub url: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub dbname: Option<String>,
    /// disable, prefer or require (require verifies the certificate and host name).
    pub sslmode: Option<String>,
    /// Prefills the login field.
    pub login: Option<String>,
}

impl ConnectionConfig {
    /// Later layers win field by field: `self` < `over`.
    pub fn overlay(self, over: ConnectionConfig) -> ConnectionConfig {
        ConnectionConfig {
            url: over.url.or(self.url),
            host: over.host.or(self.host),
            port: over.port.or(self.port),
            dbname: over.dbname.or(self.dbname),
            sslmode: over.sslmode.or(self.sslmode),
            login: over.login.or(self.login),
        }
    }

    /// The libpq environment: PGHOST, PGPORT, PGDATABASE, PGSSLMODE, PGUSER.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<ConnectionConfig> {
        let port = match var("PGPORT") {
            Some(p) => Some(
                p.parse()
                    .map_err(|_| eyre!("PGPORT={p} is not a port number"))?,
            ),
            None => None,
        };
        Ok(ConnectionConfig {
            url: None,
            host: var("PGHOST"),
            port,
            dbname: var("PGDATABASE"),
            sslmode: var("PGSSLMODE"),
            login: var("PGUSER"),
        })
    }

    /// A driver config without user or password (the login form supplies those).
    pub fn to_pg_config(&self) -> Result<tokio_postgres::Config> {
        use std::str::FromStr;
        let mut c = match &self.url {
            Some(url) => tokio_postgres::Config::from_str(url)
                .map_err(|e| eyre!("the connection URL is not valid: {e}"))?,
            None => tokio_postgres::Config::new(),
        };
        if let Some(host) = &self.host {
            c = replace_hosts(c, host);
        } else if c.get_hosts().is_empty() {
            // As libpq does: the local socket directory when there is one, else TCP localhost.
            let socket = Path::new("/var/run/postgresql");
            c = replace_hosts(
                c,
                if socket.is_dir() {
                    "/var/run/postgresql"
                } else {
                    "localhost"
                },
            );
        }
        if let Some(port) = self.port {
            c.port(port);
        }
        match (&self.dbname, c.get_dbname()) {
            (Some(db), _) => {
                c.dbname(db);
            }
            (None, None) => {
                c.dbname("tickets");
            }
            _ => {}
        }
        if let Some(mode) = &self.sslmode {
            c.ssl_mode(match mode.as_str() {
                "disable" => tokio_postgres::config::SslMode::Disable,
                "prefer" | "allow" => tokio_postgres::config::SslMode::Prefer,
                "require" | "verify-ca" | "verify-full" => tokio_postgres::config::SslMode::Require,
                other => {
                    return Err(eyre!(
                        "sslmode \"{other}\" is not one of disable, prefer, require"
                    ));
                }
            });
        }
        c.application_name("tickets");
        c.connect_timeout(std::time::Duration::from_secs(10));
        Ok(c)
    }
}

fn replace_hosts(mut c: tokio_postgres::Config, host: &str) -> tokio_postgres::Config {
    // tokio_postgres::Config only appends hosts; rebuild from a copy with this one host.
    let ports: Vec<u16> = c.get_ports().to_vec();
    let mut fresh = tokio_postgres::Config::new();
    if let Some(db) = c.get_dbname() {
        fresh.dbname(db);
    }
    if let Some(p) = ports.first() {
        fresh.port(*p);
    }
    fresh.ssl_mode(c.get_ssl_mode());
    if let Some(u) = c.get_user() {
        fresh.user(u);
    }
    if host.starts_with('/') {
        fresh.host_path(host);
    } else {
        fresh.host(host);
    }
    c = fresh;
    c
}

/// A key binding in the config file: one key or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum KeyList {
    One(String),
    Many(Vec<String>),
}

impl FileConfig {
    pub fn key_overrides(&self) -> BTreeMap<String, Vec<String>> {
        self.keys
            .iter()
            .map(|(action, keys)| {
                let keys = match keys {
                    KeyList::One(k) if k.is_empty() => Vec::new(),
                    KeyList::One(k) => vec![k.clone()],
                    KeyList::Many(ks) => ks.clone(),
                };
                (action.clone(), keys)
            })
            .collect()
    }
}

/// Where the config file lives unless `--config` says otherwise.
pub fn default_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "tickets").map(|d| d.config_dir().join("config.toml"))
}

/// Reads the config file. A missing default file is fine; a missing explicit one is an error.
pub fn load(explicit: Option<&Path>) -> Result<FileConfig> {
    let (path, required) = match explicit {
        Some(p) => (p.to_path_buf(), true),
        None => match default_config_path() {
            Some(p) => (p, false),
            None => return Ok(FileConfig::default()),
        },
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text)
            .wrap_err_with(|| format!("config file {} is not valid", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
            Ok(FileConfig::default())
        }
        Err(e) => Err(eyre!("cannot read config file {}: {e}", path.display())),
    }
}

/// The administrative database URL: flag or DATABASE_URL (clap merges those), else the file.
pub fn admin_database_url(flag_or_env: Option<&str>, file: &FileConfig) -> Result<String> {
    flag_or_env
        .map(str::to_owned)
        .or_else(|| file.database_url.clone())
        .ok_or_else(|| {
            eyre!(
                "no database given: pass --database-url, set DATABASE_URL, or put database_url in the config file"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_file_then_environment_then_flags() {
        let file: FileConfig = toml::from_str(
            "theme = \"light\"\n[connection]\nhost = \"db.example\"\nport = 5433\ndbname = \"support\"\nlogin = \"filelogin\"\n[keys]\nclaim = [\"C\"]\nquit = \"\"\n",
        )
        .unwrap();
        let env = ConnectionConfig::from_env(|k| match k {
            "PGPORT" => Some("6000".into()),
            "PGUSER" => Some("envlogin".into()),
            _ => None,
        })
        .unwrap();
        let flags = ConnectionConfig {
            dbname: Some("flagdb".into()),
            ..Default::default()
        };
        let merged = file.connection.clone().overlay(env).overlay(flags);
        assert_eq!(merged.host.as_deref(), Some("db.example"));
        assert_eq!(merged.port, Some(6000));
        assert_eq!(merged.dbname.as_deref(), Some("flagdb"));
        assert_eq!(merged.login.as_deref(), Some("envlogin"));
        let pg = merged.to_pg_config().unwrap();
        assert_eq!(pg.get_dbname(), Some("flagdb"));
        assert_eq!(pg.get_ports(), &[6000]);
        let keys = file.key_overrides();
        assert_eq!(keys["claim"], vec!["C".to_owned()]);
        assert!(keys["quit"].is_empty());
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        assert!(
            ConnectionConfig::from_env(|k| (k == "PGPORT").then(|| "x".into()))
                .unwrap_err()
                .to_string()
                .contains("PGPORT=x")
        );
        let c = ConnectionConfig {
            sslmode: Some("maybe".into()),
            ..Default::default()
        };
        assert!(
            c.to_pg_config()
                .unwrap_err()
                .to_string()
                .contains("sslmode \"maybe\"")
        );
        assert!(toml::from_str::<FileConfig>("colour = 1").is_err());
    }

    #[test]
    fn the_example_config_parses() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"))
                .unwrap();
        let file: FileConfig = toml::from_str(&text).unwrap();
        crate::app::keymap::Keymap::with_overrides(&file.key_overrides()).unwrap();
    }
}
