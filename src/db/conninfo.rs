//! libpq's connection parameters, read as libpq reads them: `postgres://` URLs, `key=value`
//! strings, the `PG*` environment variables and the connection service file. tokio-postgres'
//! own parser refuses libpq settings it does not know (`sslrootcert`, `service`, ...), so the
//! parameters are parsed here and handed on one host at a time (see `connect.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Parameters by libpq keyword; a multi-host value keeps libpq's comma-separated form.
pub type Params = BTreeMap<String, String>;

/// The keywords accepted, as libpq spells them.
pub const KEYWORDS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "service",
    "options",
    "application_name",
    "fallback_application_name",
    "connect_timeout",
    "client_encoding",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "target_session_attrs",
    "load_balance_hosts",
    "channel_binding",
    "sslmode",
    "sslnegotiation",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslcompression",
    "gssencmode",
];

/// The environment variable of each keyword (libpq's table).
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("PGHOST", "host"),
    ("PGHOSTADDR", "hostaddr"),
    ("PGPORT", "port"),
    ("PGDATABASE", "dbname"),
    ("PGUSER", "user"),
    ("PGPASSWORD", "password"),
    ("PGPASSFILE", "passfile"),
    ("PGSERVICE", "service"),
    ("PGOPTIONS", "options"),
    ("PGAPPNAME", "application_name"),
    ("PGCONNECT_TIMEOUT", "connect_timeout"),
    ("PGCLIENTENCODING", "client_encoding"),
    ("PGTARGETSESSIONATTRS", "target_session_attrs"),
    ("PGLOADBALANCEHOSTS", "load_balance_hosts"),
    ("PGCHANNELBINDING", "channel_binding"),
    ("PGSSLMODE", "sslmode"),
    ("PGSSLNEGOTIATION", "sslnegotiation"),
    ("PGSSLROOTCERT", "sslrootcert"),
    ("PGSSLCERT", "sslcert"),
    ("PGSSLKEY", "sslkey"),
    ("PGGSSENCMODE", "gssencmode"),
];

/// A `postgres://` / `postgresql://` URL or a libpq `key=value` string.
pub fn parse(s: &str) -> Result<Params, String> {
    let trimmed = s.trim();
    if let Some(rest) = trimmed
        .strip_prefix("postgresql://")
        .or_else(|| trimmed.strip_prefix("postgres://"))
    {
        parse_url(rest)
    } else {
        parse_keywords(trimmed)
    }
}

fn check_keyword(key: &str) -> Result<(), String> {
    if KEYWORDS.contains(&key) {
        Ok(())
    } else {
        Err(format!("invalid connection option \"{key}\""))
    }
}

/// `key=value` pairs; values may be single-quoted; backslash escapes the next character.
fn parse_keywords(s: &str) -> Result<Params, String> {
    let mut params = Params::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(params);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(format!(
                "missing \"=\" after \"{key}\" in connection info string"
            ));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    None => {
                        return Err("unterminated quoted string in connection info string".into());
                    }
                    Some('\'') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        check_keyword(&key)?;
        params.insert(key, value);
    }
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("invalid percent-encoded token: \"{s}\""))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("invalid percent-encoded token: \"{s}\""))
}

/// `[user[:password]@][host[:port][,...]][/dbname][?key=value&...]`, as libpq reads it.
fn parse_url(rest: &str) -> Result<Params, String> {
    let mut params = Params::new();
    let (main, query) = match rest.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (rest, None),
    };
    let (authority, dbname) = match main.split_once('/') {
        Some((a, d)) => (a, Some(d)),
        None => (main, None),
    };
    let hostspec = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                params.insert("user".into(), percent_decode(user)?);
            }
            if let Some(p) = password {
                params.insert("password".into(), percent_decode(p)?);
            }
            hosts
        }
        None => authority,
    };
    if !hostspec.is_empty() {
        let mut hosts = Vec::new();
        let mut ports = Vec::new();
        for spec in hostspec.split(',') {
            let (host, port) = if let Some(v6) = spec.strip_prefix('[') {
                let (h, after) = v6.split_once(']').ok_or_else(|| {
                    format!("missing \"]\" in IPv6 host address in URI: \"{spec}\"")
                })?;
                (h.to_owned(), after.strip_prefix(':'))
            } else {
                match spec.rsplit_once(':') {
                    Some((h, p)) => (percent_decode(h)?, Some(p)),
                    None => (percent_decode(spec)?, None),
                }
            };
            hosts.push(host);
            ports.push(port.unwrap_or("").to_owned());
        }
        if hosts.iter().any(|h| !h.is_empty()) {
            params.insert("host".into(), hosts.join(","));
        }
        if ports.iter().any(|p| !p.is_empty()) {
            params.insert("port".into(), ports.join(","));
        }
    }
    if let Some(db) = dbname.filter(|d| !d.is_empty()) {
        params.insert("dbname".into(), percent_decode(db)?);
    }
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        if pair.is_empty() {
            continue;
        }
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            format!("missing key/value separator \"=\" in URI query parameter: \"{pair}\"")
        })?;
        let (k, v) = (percent_decode(k)?, percent_decode(v)?);
        // libpq's JDBC-compatible spelling.
        if k == "ssl" && v == "true" {
            params.insert("sslmode".into(), "require".into());
            continue;
        }
        check_keyword(&k)?;
        params.insert(k, v);
    }
    Ok(params)
}

/// The parameters set in the environment (empty values count as unset, as in libpq).
pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Params {
    ENVIRONMENT
        .iter()
        .filter_map(|(name, key)| {
            var(name)
                .filter(|v| !v.is_empty())
                .map(|v| ((*key).to_owned(), v))
        })
        .collect()
}

/// The home directory, as libpq finds it ($HOME first).
pub fn home_dir(var: &impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    var("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()))
}

/// The service file's parameters for `name`: PGSERVICEFILE or ~/.pg_service.conf first, then
/// the system-wide file (PGSYSCONFDIR/pg_service.conf, else Debian's /etc/postgresql-common).
pub fn service(name: &str, var: impl Fn(&str) -> Option<String>) -> Result<Params, String> {
    let user_file = var("PGSERVICEFILE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| home_dir(&var).map(|h| h.join(".pg_service.conf")));
    let sysconf = var("PGSYSCONFDIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/postgresql-common"))
        .join("pg_service.conf");
    for file in user_file.iter().chain([&sysconf]) {
        if let Some(params) = service_in(file, name)? {
            return Ok(params);
        }
    }
    Err(format!("definition of service \"{name}\" not found"))
}

/// One service's section of one file, if the file exists and has it.
pub fn service_in(file: &Path, name: &str) -> Result<Option<Params>, String> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("service file \"{}\": {e}", file.display())),
    };
    let mut found: Option<Params> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if found.is_some() {
                break;
            }
            if section == name {
                found = Some(Params::new());
            }
            continue;
        }
        let Some(params) = found.as_mut() else {
            continue;
        };
        let (k, v) = line.split_once('=').ok_or_else(|| {
            format!(
                "syntax error in service file \"{}\", line {}",
                file.display(),
                n + 1
            )
        })?;
        let (k, v) = (k.trim(), v.trim());
        if k == "service" {
            return Err(format!(
                "nested service specifications not supported in service file \"{}\", line {}",
                file.display(),
                n + 1
            ));
        }
        check_keyword(k)
            .map_err(|e| format!("{e} in service file \"{}\", line {}", file.display(), n + 1))?;
        params.insert(k.to_owned(), v.to_owned());
    }
    Ok(found)
}

/// A `key=value` string for tokio-postgres (values quoted and escaped).
pub fn to_keywords<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}='{}'", v.replace('\\', "\\\\").replace('\'', "\\'")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The startup options of every session: the connection's own, plus `jit=off` unless they
/// set one of the `jit` settings themselves. PostgreSQL compiles a plan's expressions with
/// LLVM when the plan's *estimated* cost is high, and the client's statements are short
/// whatever their estimates: a read of a 789-row timeline (joins estimated at 2.6 million
/// rows) spent 290 ms compiling a statement that ran in 3.
pub(crate) fn session_options(given: Option<&str>) -> String {
    let given = given.map(str::trim).unwrap_or("");
    // `-c jit=on`, `-cjit=on`, `--jit=on`, `-c jit_above_cost=...`: the person's own choice.
    let sets_jit = given.split_whitespace().any(|word| {
        let setting = word
            .strip_prefix("--")
            .or_else(|| word.strip_prefix("-c"))
            .unwrap_or(word);
        setting.starts_with("jit=") || setting.starts_with("jit_")
    });
    match given {
        _ if sets_jit => given.to_owned(),
        "" => "-c jit=off".to_owned(),
        _ => format!("{given} -c jit=off"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn urls_as_libpq_reads_them() {
        assert_eq!(
            parse("postgresql://al%40x:p%3Aw@db1:5433,[::1]:5434,db3/support?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&target_session_attrs=read-write")
                .unwrap(),
            p(&[
                ("user", "al@x"),
                ("password", "p:w"),
                ("host", "db1,::1,db3"),
                ("port", "5433,5434,"),
                ("dbname", "support"),
                ("sslmode", "verify-full"),
                ("sslrootcert", "/etc/ca.pem"),
                ("target_session_attrs", "read-write"),
            ])
        );
        assert_eq!(
            parse("postgres://%2Fvar%2Frun%2Fpostgresql/t").unwrap(),
            p(&[("host", "/var/run/postgresql"), ("dbname", "t")])
        );
        assert_eq!(
            parse("postgres:///t?host=/tmp&ssl=true").unwrap(),
            p(&[("host", "/tmp"), ("dbname", "t"), ("sslmode", "require")])
        );
        assert_eq!(
            parse("postgres://h?colour=1").unwrap_err(),
            "invalid connection option \"colour\""
        );
    }

    #[test]
    fn keyword_strings_with_quotes_and_escapes() {
        assert_eq!(
            parse("host=/tmp port = 5432 password='it\\'s' options='-c search_path=x' user=a\\ b")
                .unwrap(),
            p(&[
                ("host", "/tmp"),
                ("port", "5432"),
                ("password", "it's"),
                ("options", "-c search_path=x"),
                ("user", "a b"),
            ])
        );
        let back = to_keywords([("password", "it's \\ x")]);
        assert_eq!(parse(&back).unwrap(), p(&[("password", "it's \\ x")]));
    }

    #[test]
    fn environment_and_service_file() {
        let env = from_env(|k| match k {
            "PGHOST" => Some("envhost".into()),
            "PGAPPNAME" => Some(String::new()),
            "PGSSLROOTCERT" => Some("/ca".into()),
            _ => None,
        });
        assert_eq!(env, p(&[("host", "envhost"), ("sslrootcert", "/ca")]));

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("services");
        std::fs::write(
            &file,
            "# team\n[other]\nhost=x\n\n[support]\nhost = db.example\nport=6432\nsslmode=verify-full\n[last]\nuser=z\n",
        )
        .unwrap();
        let path = file.display().to_string();
        let var = |k: &str| match k {
            "PGSERVICEFILE" => Some(path.clone()),
            "PGSYSCONFDIR" => Some(dir.path().display().to_string()),
            _ => None,
        };
        assert_eq!(
            service("support", var).unwrap(),
            p(&[
                ("host", "db.example"),
                ("port", "6432"),
                ("sslmode", "verify-full")
            ])
        );
        assert_eq!(
            service("nope", var).unwrap_err(),
            "definition of service \"nope\" not found"
        );
        std::fs::write(&file, "[bad]\nsslmod=require\n").unwrap();
        assert!(
            service("bad", var)
                .unwrap_err()
                .contains("invalid connection option \"sslmod\"")
        );
    }

    #[test]
    fn jit_is_off_unless_the_options_set_it() {
        assert_eq!(session_options(None), "-c jit=off");
        assert_eq!(session_options(Some("  ")), "-c jit=off");
        assert_eq!(
            session_options(Some("-c search_path=jitter")),
            "-c search_path=jitter -c jit=off"
        );
        for own in ["-c jit=on", "-cjit=on", "--jit=on", "-c jit_above_cost=10"] {
            assert_eq!(session_options(Some(own)), own);
        }
    }
}
