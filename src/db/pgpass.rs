//! The password file (`~/.pgpass`, or `passfile` / PGPASSFILE) as libpq reads it: lines of
//! `hostname:port:database:username:password`, `*` matching anything, `\` escaping `:` and `\`;
//! a file readable by group or others is ignored with libpq's warning.

use std::path::{Path, PathBuf};

/// Where libpq builds put the server socket by default (Debian's, and upstream's).
const DEFAULT_SOCKET_DIRS: &[&str] = &["/var/run/postgresql", "/run/postgresql", "/tmp"];

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    fields: [String; 4],
    password: String,
}

/// A loaded password file.
#[derive(Debug, Clone, Default)]
pub struct PassFile {
    entries: Vec<Entry>,
}

/// What reading the file gave: its entries, and libpq's warning when it was ignored.
pub struct Loaded {
    pub file: PassFile,
    pub warning: Option<String>,
}

/// The file libpq would read: `passfile`, else ~/.pgpass.
pub fn default_path(home: Option<&Path>) -> Option<PathBuf> {
    home.map(|h| h.join(".pgpass"))
}

/// Reads the file; a missing file is an empty one, as in libpq.
pub fn load(path: &Path) -> Loaded {
    let empty = |warning| Loaded {
        file: PassFile::default(),
        warning,
    };
    let Ok(meta) = std::fs::metadata(path) else {
        return empty(None);
    };
    if !meta.is_file() {
        return empty(Some(format!(
            "WARNING: password file \"{}\" is not a plain file",
            path.display()
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return empty(Some(format!(
                "WARNING: password file \"{}\" has group or world access; permissions should be u=rw (0600) or less",
                path.display()
            )));
        }
    }
    match std::fs::read_to_string(path) {
        Ok(text) => Loaded {
            file: parse(&text),
            warning: None,
        },
        Err(e) => empty(Some(format!(
            "WARNING: password file \"{}\" cannot be read: {e}",
            path.display()
        ))),
    }
}

/// Parses the lines; comments (`#`) and lines with fewer than five fields are skipped.
pub fn parse(text: &str) -> PassFile {
    let entries = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|line| {
            let mut fields = Vec::with_capacity(5);
            let mut current = String::new();
            let mut chars = line.trim_end_matches('\r').chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => current.extend(chars.next()),
                    ':' if fields.len() < 4 => fields.push(std::mem::take(&mut current)),
                    c => current.push(c),
                }
            }
            if fields.len() < 4 {
                return None;
            }
            let [h, p, d, u]: [String; 4] = fields.try_into().ok()?;
            Some(Entry {
                fields: [h, p, d, u],
                password: current,
            })
        })
        .collect();
    PassFile { entries }
}

impl PassFile {
    /// The first matching line's password. `host` is what the connection names; no host or
    /// the default socket directory matches `localhost`, as in libpq (another socket
    /// directory matches itself).
    pub fn lookup(&self, host: &str, port: u16, dbname: &str, user: &str) -> Option<&str> {
        let host = if host.is_empty() || DEFAULT_SOCKET_DIRS.contains(&host) {
            "localhost"
        } else {
            host
        };
        let port = port.to_string();
        let wanted = [host, port.as_str(), dbname, user];
        self.entries
            .iter()
            .find(|e| {
                e.fields
                    .iter()
                    .zip(wanted)
                    .all(|(field, want)| field == "*" || field == want)
            })
            .map(|e| e.password.as_str())
            .filter(|p| !p.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_escapes_and_first_match() {
        let file = parse(
            "# comment\n\
             db.example:5432:tickets:al:first\n\
             db.example:*:*:al:second\n\
             localhost:5433:*:ad\\:min:co\\:lon\\\\s\n\
             *:*:*:*:any:thing\n\
             short:line\n",
        );
        assert_eq!(
            file.lookup("db.example", 5432, "tickets", "al"),
            Some("first")
        );
        assert_eq!(
            file.lookup("db.example", 6000, "other", "al"),
            Some("second")
        );
        assert_eq!(
            file.lookup("/var/run/postgresql", 5433, "x", "ad:min"),
            Some("co:lon\\s")
        );
        assert_eq!(file.lookup("else", 1, "d", "u"), Some("any:thing"));
    }

    #[cfg(unix)]
    #[test]
    fn loose_permissions_are_ignored_with_libpqs_warning() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "*:*:*:*:secret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let loaded = load(&path);
        assert!(
            loaded
                .warning
                .unwrap()
                .contains("has group or world access; permissions should be u=rw (0600) or less")
        );
        assert_eq!(loaded.file.lookup("h", 5432, "d", "u"), None);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let loaded = load(&path);
        assert!(loaded.warning.is_none());
        assert_eq!(loaded.file.lookup("h", 5432, "d", "u"), Some("secret"));
        assert!(load(&dir.path().join("missing")).warning.is_none());
    }
}
