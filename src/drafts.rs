//! A customer's unsent ticket, kept on disk from the first keystroke until the database
//! confirms the insert: it survives a failed submit, a dropped connection and a crash.

use crate::model::NewTicket;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct DraftStore {
    dir: PathBuf,
}

impl DraftStore {
    pub fn new(dir: impl Into<PathBuf>) -> DraftStore {
        DraftStore { dir: dir.into() }
    }

    /// The platform's data dir, e.g. ~/.local/share/tickets/drafts.
    pub fn default_location() -> Option<DraftStore> {
        directories::ProjectDirs::from("", "", "tickets")
            .map(|d| DraftStore::new(d.data_local_dir().join("drafts")))
    }

    fn path(&self, server: &str, login: &str, slot: &str) -> PathBuf {
        // One draft per person per server per slot; the name only needs to be stable and
        // file-safe.
        let safe: String = format!("{login}@{server}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '@' || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        match slot {
            "" => self.dir.join(format!("{safe}.json")),
            slot => self.dir.join(format!("{safe}.{slot}.json")),
        }
    }

    /// The customer's unsent new ticket.
    pub fn load(&self, server: &str, login: &str) -> Option<NewTicket> {
        self.load_slot(server, login, "")
    }

    pub fn save(&self, server: &str, login: &str, draft: &NewTicket) -> std::io::Result<()> {
        self.save_slot(server, login, "", draft)
    }

    pub fn clear(&self, server: &str, login: &str) -> std::io::Result<()> {
        self.clear_slot(server, login, "")
    }

    /// Any draft by slot name (`[a-z0-9-]`), e.g. a reply being written to one ticket.
    pub fn load_slot<T: DeserializeOwned>(
        &self,
        server: &str,
        login: &str,
        slot: &str,
    ) -> Option<T> {
        let text = std::fs::read_to_string(self.path(server, login, slot)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Writes atomically (temp file, then rename), so a crash mid-write keeps the old draft.
    /// Drafts are the person's private words: the directory is 0700 and each file 0600.
    pub fn save_slot<T: Serialize>(
        &self,
        server: &str,
        login: &str,
        slot: &str,
        draft: &T,
    ) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)?;
        let path = self.path(server, login, slot);
        let tmp = path.with_extension("json.tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(&serde_json::to_vec_pretty(draft).map_err(std::io::Error::other)?)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)
    }

    /// Every slot of the person's whose name starts with `prefix`, with what it holds.
    pub fn slots<T: DeserializeOwned>(
        &self,
        server: &str,
        login: &str,
        prefix: &str,
    ) -> Vec<(String, T)> {
        let base = self.path(server, login, "");
        let stem = base
            .file_stem()
            .map(|s| format!("{}.{prefix}", s.to_string_lossy()))
            .unwrap_or_default();
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut found: Vec<(String, T)> = dir
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let rest = name.strip_prefix(&stem)?.strip_suffix(".json")?;
                let slot = format!("{prefix}{rest}");
                let value = self.load_slot(server, login, &slot)?;
                Some((slot, value))
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    }

    pub fn clear_slot(&self, server: &str, login: &str, slot: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.path(server, login, slot)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_round_trips_and_is_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let store = DraftStore::new(dir.path().join("drafts"));
        assert_eq!(store.load("db", "alice"), None);
        let draft = NewTicket {
            subject: "Printer".into(),
            description: "on fire\nreally".into(),
            priority: "high".into(),
            customer: None,
        };
        store.save("db", "alice", &draft).unwrap();
        assert_eq!(store.load("db", "alice"), Some(draft));
        assert_eq!(store.load("db", "bob"), None, "drafts are per person");
        store.clear("db", "alice").unwrap();
        assert_eq!(store.load("db", "alice"), None);
        store.clear("db", "alice").unwrap();
    }
}
