//! A private PostgreSQL cluster run from the installed server binaries: the test harness's
//! throwaway server (and the demo's). As root, the server runs as the `postgres` system user,
//! since initdb and postgres refuse to run as root.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where the server binaries are: a PATH directory with initdb and pg_ctl, `pg_config
/// --bindir`, or the newest /usr/lib/postgresql/*/bin (Debian installs them only there).
pub fn find_bindir() -> Result<PathBuf, String> {
    let has_both = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH")
        && let Some(d) = std::env::split_paths(&path).find(|d| has_both(d))
    {
        // A symlink on PATH (e.g. /usr/local/bin/initdb): the real directory also holds
        // pg_basebackup and the other tools.
        return Ok(std::fs::canonicalize(d.join("initdb"))
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .filter(|real| has_both(real))
            .unwrap_or(d));
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_both(&d) {
            return Ok(d);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_both(&bin).then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, d)| d).ok_or_else(|| {
        "no PostgreSQL server binaries found (initdb, pg_ctl): install them, e.g. `apt-get install postgresql`, or put their directory on PATH".to_owned()
    })
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// What a cluster needs beyond a private socket (all empty by default).
#[derive(Debug, Default)]
pub struct Setup {
    /// listen_addresses, e.g. "127.0.0.1" (default: none, the socket only).
    pub listen: String,
    /// Extra `name=value` server settings (no spaces inside a value).
    pub settings: Vec<String>,
    /// Extra pg_hba.conf lines, after the socket ones.
    pub hba: String,
    /// Let `postgres` stream from this cluster over the socket (for pg_basebackup).
    pub replication: bool,
    /// Make this cluster a streaming standby of another (pg_basebackup -R) instead of initdb.
    pub standby_of: Option<Cluster>,
}

/// A cluster in `dir` (data in dir/data, socket in dir), listening on its Unix socket only.
#[derive(Debug, Clone)]
pub struct Cluster {
    dir: PathBuf,
    port: u16,
    bindir: PathBuf,
}

impl Cluster {
    /// Creates the cluster if `dir` holds none, then starts it. The superuser is `postgres`,
    /// trusted over the socket; every other login authenticates with a SCRAM password.
    pub fn start(dir: &Path, port: u16) -> Result<Cluster, String> {
        Cluster::start_with(dir, port, &Setup::default())
    }

    /// As `start`, with the extra settings of `setup` (TCP, TLS, pg_hba lines, a standby).
    pub fn start_with(dir: &Path, port: u16, setup: &Setup) -> Result<Cluster, String> {
        let bindir = find_bindir()?;
        let cluster = Cluster {
            dir: dir.to_path_buf(),
            port,
            bindir,
        };
        if cluster.data_dir().join("PG_VERSION").exists() && cluster.is_running() {
            return Ok(cluster);
        }
        let bindir = cluster.bindir;
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let cluster = Cluster {
            dir: dir.to_path_buf(),
            port,
            bindir,
        };
        let data = cluster.data_dir();
        if let Some(primary) = &setup.standby_of {
            if !data.join("PG_VERSION").exists() {
                cluster.hand_to_postgres_user()?;
                cluster.run(
                    "pg_basebackup",
                    &[
                        "-h",
                        &path_str(primary.socket_dir()),
                        "-p",
                        &primary.port().to_string(),
                        "-U",
                        "postgres",
                        "-R",
                        "-c",
                        "fast",
                        "-X",
                        "stream",
                        "--no-sync",
                        "-D",
                        &path_str(&data),
                    ],
                )?;
            }
        } else if !data.join("PG_VERSION").exists() {
            cluster.hand_to_postgres_user()?;
            cluster.run(
                "initdb",
                &[
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                    "-D",
                    &path_str(&data),
                ],
            )?;
            let mut hba =
                "# written by tickets: the superuser over the socket, everyone else by password\n\
                       local all postgres trust\n\
                       local all all scram-sha-256\n"
                    .to_owned();
            if setup.replication {
                hba.push_str("local replication postgres trust\n");
            }
            hba.push_str(&setup.hba);
            std::fs::write(data.join("pg_hba.conf"), hba)
                .map_err(|e| format!("cannot write pg_hba.conf: {e}"))?;
        }
        // Certificates and keys the caller put in `dir` belong to the server's user too.
        cluster.hand_to_postgres_user()?;
        let mut options = format!(
            "-c listen_addresses='{}' -k {} -p {} -F -c max_connections=200 -c shared_buffers=128MB",
            setup.listen,
            path_str(&cluster.dir),
            port
        );
        for setting in &setup.settings {
            options.push_str(" -c ");
            options.push_str(setting);
        }
        let log = path_str(&cluster.dir.join("server.log"));
        cluster.run(
            "pg_ctl",
            &[
                "-w",
                "-s",
                "-t",
                "60",
                "-l",
                &log,
                "-D",
                &path_str(&data),
                "-o",
                &options,
                "start",
            ],
        )?;
        Ok(cluster)
    }

    /// Whether a cluster exists in `dir` and a server is running on it.
    pub fn is_running_in(dir: &Path) -> bool {
        let Ok(bindir) = find_bindir() else {
            return false;
        };
        let cluster = Cluster {
            dir: dir.to_path_buf(),
            port: 0,
            bindir,
        };
        cluster.data_dir().join("PG_VERSION").exists() && cluster.is_running()
    }

    /// Whether a server is running on this cluster's data (`pg_ctl status`).
    pub fn is_running(&self) -> bool {
        self.run("pg_ctl", &["status", "-D", &path_str(&self.data_dir())])
            .is_ok()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The directory holding the server's socket (the `host` of a connection).
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A libpq key=value connection string.
    pub fn conninfo(&self, user: &str, dbname: &str) -> String {
        format!(
            "host={} port={} user={user} dbname={dbname}",
            path_str(&self.dir),
            self.port
        )
    }

    /// Stops the server at once (`immediate`: no checkpoint, which a throwaway cluster skips).
    pub fn stop(&self, mode: &str) -> Result<(), String> {
        self.run(
            "pg_ctl",
            &[
                "-w",
                "-s",
                "-m",
                mode,
                "-D",
                &path_str(&self.data_dir()),
                "stop",
            ],
        )
    }

    /// The command (program first) that `stop(mode)` runs, for a process that has to stop
    /// the server after this one is gone.
    pub fn stop_command(&self, mode: &str) -> Vec<std::ffi::OsString> {
        let mut argv: Vec<std::ffi::OsString> = Vec::new();
        if running_as_root() {
            argv.extend(["runuser", "-u", "postgres", "--"].map(Into::into));
        }
        argv.push(self.bindir.join("pg_ctl").into());
        let data = path_str(&self.data_dir());
        argv.extend(["-w", "-s", "-m", mode, "-D", &data, "stop"].map(Into::into));
        argv
    }

    fn hand_to_postgres_user(&self) -> Result<(), String> {
        if !running_as_root() {
            return Ok(());
        }
        let out = Command::new("chown")
            .args(["-R", "postgres:postgres", &path_str(&self.dir)])
            .output()
            .map_err(|e| format!("cannot run chown: {e}"))?;
        check("chown", out)
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let program = self.bindir.join(tool);
        let out = if running_as_root() {
            Command::new("runuser")
                .arg("-u")
                .arg("postgres")
                .arg("--")
                .arg(&program)
                .args(args)
                .output()
        } else {
            Command::new(&program).args(args).output()
        }
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
        check(tool, out)
    }
}

fn check(tool: &str, out: Output) -> Result<(), String> {
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{tool} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim(),
        String::from_utf8_lossy(&out.stdout).trim()
    ))
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}
