//! Settings: defaults < config file < environment < command line (DESIGN.md §1, §4).

use crate::db::connect::{Defaults, Target};
use crate::db::conninfo::{self, Params};
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
    /// A postgres:// URL or libpq key=value string as the base; the fields below override
    /// its parts (and only those).
    pub url: Option<String>,
    /// A service of pg_service.conf (PGSERVICE).
    pub service: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub dbname: Option<String>,
    /// disable, allow, prefer, require, verify-ca or verify-full (libpq's meanings).
    pub sslmode: Option<String>,
    /// The CA certificate file that signs the server's certificate, or "system".
    pub sslrootcert: Option<String>,
    /// A client certificate and its key, for certificate logins.
    pub sslcert: Option<String>,
    pub sslkey: Option<String>,
    /// Prefills the login field (the libpq `user`).
    pub login: Option<String>,
}

impl ConnectionConfig {
    /// This layer as libpq parameters: the URL's, then each field over its part.
    pub fn to_params(&self) -> std::result::Result<Params, String> {
        let mut params = match &self.url {
            Some(url) => {
                conninfo::parse(url).map_err(|e| format!("the connection URL is not valid: {e}"))?
            }
            None => Params::new(),
        };
        let fields = [
            ("service", self.service.clone()),
            ("host", self.host.clone()),
            ("port", self.port.map(|p| p.to_string())),
            ("dbname", self.dbname.clone()),
            ("sslmode", self.sslmode.clone()),
            ("sslrootcert", self.sslrootcert.clone()),
            ("sslcert", self.sslcert.clone()),
            ("sslkey", self.sslkey.clone()),
            ("user", self.login.clone()),
        ];
        for (key, value) in fields {
            if let Some(v) = value {
                params.insert(key.to_owned(), v);
            }
        }
        Ok(params)
    }
}

/// libpq's precedence: `lower` layers in order (later wins), then the service file's
/// settings (the service named by the highest layer that names one; a service beats the
/// environment, as in libpq), then `top` (what the command line gave).
pub fn layer(
    lower: &[Params],
    top: &Params,
    var: impl Fn(&str) -> Option<String>,
) -> std::result::Result<Params, String> {
    let mut merged = Params::new();
    for layer in lower {
        merged.extend(layer.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let service = top.get("service").or(merged.get("service")).cloned();
    if let Some(name) = service.filter(|s| !s.is_empty()) {
        merged.extend(conninfo::service(&name, &var)?);
    }
    merged.extend(top.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(merged)
}

/// The terminal client's target and login: config file < environment < service file <
/// command line (a URL given there, then the single flags over its parts).
pub fn resolve_target(
    file: &ConnectionConfig,
    flags: &ConnectionConfig,
    var: impl Fn(&str) -> Option<String>,
) -> std::result::Result<(Target, Option<String>), String> {
    let params = layer(
        &[file.to_params()?, conninfo::from_env(&var)],
        &flags.to_params()?,
        &var,
    )?;
    let login = params.get("user").filter(|u| !u.is_empty()).cloned();
    let target = Target::from_params(
        &params,
        &Defaults {
            application_name: "tickets",
            dbname: Some("tickets"),
        },
        var,
    )?;
    Ok((target, login))
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

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn layers_apply_file_then_environment_then_flags() {
        let file: FileConfig = toml::from_str(
            "theme = \"light\"\n[connection]\nhost = \"db.example\"\nport = 5433\ndbname = \"support\"\nlogin = \"filelogin\"\n[keys]\nclaim = [\"C\"]\nquit = \"\"\n",
        )
        .unwrap();
        let var = env(&[
            ("PGPORT", "6000"),
            ("PGUSER", "envlogin"),
            ("HOME", "/nonexistent"),
        ]);
        let flags = ConnectionConfig {
            dbname: Some("flagdb".into()),
            ..Default::default()
        };
        let params = layer(
            &[
                file.connection.to_params().unwrap(),
                conninfo::from_env(&var),
            ],
            &flags.to_params().unwrap(),
            &var,
        )
        .unwrap();
        assert_eq!(params["host"], "db.example");
        assert_eq!(params["port"], "6000");
        assert_eq!(params["dbname"], "flagdb");
        assert_eq!(params["user"], "envlogin");
        let (target, login) = resolve_target(&file.connection, &flags, &var).unwrap();
        assert_eq!(login.as_deref(), Some("envlogin"));
        assert_eq!(target.describe(), "db.example:6000/flagdb");
        let keys = file.key_overrides();
        assert_eq!(keys["claim"], vec!["C".to_owned()]);
        assert!(keys["quit"].is_empty());
    }

    #[test]
    fn a_url_on_the_command_line_wins_over_the_environment_and_flags_keep_its_other_parts() {
        let var = env(&[
            ("PGHOST", "envhost"),
            ("PGPORT", "7000"),
            ("PGAPPNAME", "from-env"),
            ("PGCONNECT_TIMEOUT", "3"),
            ("HOME", "/nonexistent"),
        ]);
        let flags = ConnectionConfig {
            url: Some("postgres://db1:5433,db2:5434/support?target_session_attrs=read-write&options=-c%20statement_timeout%3D5s&keepalives_idle=30&application_name=mine".into()),
            ..Default::default()
        };
        let (target, _) = resolve_target(&ConnectionConfig::default(), &flags, &var).unwrap();
        assert_eq!(target.describe(), "db1:5433,db2:5434/support");
        // --dbname over the same URL keeps both hosts and the rest.
        let flags = ConnectionConfig {
            dbname: Some("other".into()),
            ..flags
        };
        let params = layer(
            &[conninfo::from_env(&var)],
            &flags.to_params().unwrap(),
            &var,
        )
        .unwrap();
        assert_eq!(params["host"], "db1,db2");
        assert_eq!(params["target_session_attrs"], "read-write");
        assert_eq!(params["options"], "-c statement_timeout=5s");
        assert_eq!(params["keepalives_idle"], "30");
        assert_eq!(params["application_name"], "mine");
        assert_eq!(params["connect_timeout"], "3");
        // --host replaces the host list only; two ports for one host is libpq's error.
        let one = ConnectionConfig {
            host: Some("db9".into()),
            ..flags.clone()
        };
        assert_eq!(
            resolve_target(&ConnectionConfig::default(), &one, &var)
                .err()
                .unwrap(),
            "could not match 2 port values to 1 hosts"
        );
        let one = ConnectionConfig {
            port: Some(6000),
            ..one
        };
        let (target, _) = resolve_target(&ConnectionConfig::default(), &one, &var).unwrap();
        assert_eq!(target.describe(), "db9:6000/other");
        assert!(
            layer(&[], &one.to_params().unwrap(), &var).unwrap()["target_session_attrs"]
                == "read-write"
        );
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        let var = env(&[("PGPORT", "x"), ("HOME", "/nonexistent")]);
        let none = ConnectionConfig::default();
        assert_eq!(
            resolve_target(&none, &none, &var).err().unwrap(),
            "invalid port number: \"x\""
        );
        let var = env(&[("HOME", "/nonexistent")]);
        let c = ConnectionConfig {
            sslmode: Some("maybe".into()),
            ..Default::default()
        };
        assert!(
            resolve_target(&none, &c, &var)
                .err()
                .unwrap()
                .starts_with("invalid sslmode value: \"maybe\"")
        );
        let c = ConnectionConfig {
            service: Some("nowhere".into()),
            ..Default::default()
        };
        assert_eq!(
            resolve_target(&none, &c, &var).err().unwrap(),
            "definition of service \"nowhere\" not found"
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
