//! Settings: defaults < config file < environment < command line (DESIGN.md §1, §4).

use color_eyre::eyre::{Result, WrapErr, eyre};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The config file's contents. Every field is optional; config.example.toml documents them.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Superuser URL for `migrate` and `user` commands.
    pub database_url: Option<String>,
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
