//! A customer's unsent ticket, kept on disk from the first keystroke until the database
//! confirms the insert: it survives a failed submit, a dropped connection and a crash.

use crate::model::NewTicket;
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

    fn path(&self, server: &str, login: &str) -> PathBuf {
        // One draft per person per server; the name only needs to be stable and file-safe.
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
        self.dir.join(format!("{safe}.json"))
    }

    pub fn load(&self, server: &str, login: &str) -> Option<NewTicket> {
        let text = std::fs::read_to_string(self.path(server, login)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Writes atomically (temp file, then rename), so a crash mid-write keeps the old draft.
    pub fn save(&self, server: &str, login: &str, draft: &NewTicket) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.path(server, login);
        let tmp = path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(draft).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, &path)
    }

    pub fn clear(&self, server: &str, login: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.path(server, login)) {
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
        };
        store.save("db", "alice", &draft).unwrap();
        assert_eq!(store.load("db", "alice"), Some(draft));
        assert_eq!(store.load("db", "bob"), None, "drafts are per person");
        store.clear("db", "alice").unwrap();
        assert_eq!(store.load("db", "alice"), None);
        store.clear("db", "alice").unwrap();
    }
}
