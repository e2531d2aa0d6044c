//! Connecting as psql does, against real servers configured for each case: TLS modes with a
//! throwaway CA, certificate logins, ~/.pgpass, PGPASSWORD, the service file, PGAPPNAME,
//! precedence, multi-host URLs.

#[path = "common/tls.rs"]
mod tls;

use std::collections::HashMap;
use std::path::Path;
use tickets::config::{ConnectionConfig, resolve_target};
use tickets::db::{DbError, Target};
use tls::TlsServer;

/// An environment for one resolution (the process environment is never touched).
fn env(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    move |k| map.get(k).cloned()
}

fn url(u: impl Into<String>) -> ConnectionConfig {
    ConnectionConfig {
        url: Some(u.into()),
        ..Default::default()
    }
}

fn target(
    flags: &ConnectionConfig,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Target, String> {
    resolve_target(&ConnectionConfig::default(), flags, var).map(|(t, _)| t)
}

/// Connects and reports (login, TLS in use, application_name).
async fn who(target: &Target) -> Result<(String, bool, String), DbError> {
    let client = target.connect().await?;
    let row = client
        .query_one(
            "SELECT session_user::text, coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false), current_setting('application_name')",
            &[],
        )
        .await?;
    Ok((row.get(0), row.get(1), row.get(2)))
}

async fn setup_roles(server: &TlsServer) {
    let su = server.server.superuser("postgres").await;
    su.batch_execute(
        "CREATE ROLE certusers NOLOGIN;
         CREATE ROLE carol LOGIN IN ROLE certusers;
         CREATE ROLE dave LOGIN PASSWORD 'dave-pw';",
    )
    .await
    .unwrap();
}

fn home() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[tokio::test]
async fn tls_modes_mean_what_they_mean_in_libpq() {
    let server = TlsServer::start();
    setup_roles(&server).await;
    let port = server.port();
    let h = home();
    let root = server.root().display().to_string();
    let base = |host: &str, extra: &str| {
        url(format!(
            "postgres://dave:dave-pw@{host}:{port}/postgres?{extra}"
        ))
    };
    let var = env(&[("HOME", h.path().display().to_string())]);

    // prefer (the default) and require encrypt without checking the certificate.
    for extra in ["", "sslmode=require"] {
        let t = target(&base("localhost", extra), &var).unwrap();
        assert!(who(&t).await.unwrap().1, "{extra}");
    }
    // allow tries without TLS first; this server refuses that, so it retries with TLS.
    let t = target(&base("localhost", "sslmode=allow"), &var).unwrap();
    assert!(who(&t).await.unwrap().1);
    // disable: the server's refusal, with its reason.
    let t = target(&base("localhost", "sslmode=disable"), &var).unwrap();
    let e = who(&t).await.unwrap_err().to_string();
    assert!(e.contains("no encryption"), "{e}");

    // verify-ca checks the chain only: 127.0.0.1 is not in the certificate, and is fine.
    let ca = format!("sslmode=verify-ca&sslrootcert={root}");
    assert!(
        who(&target(&base("127.0.0.1", &ca), &var).unwrap())
            .await
            .unwrap()
            .1
    );
    // verify-full checks the name too.
    let full = format!("sslmode=verify-full&sslrootcert={root}");
    assert!(
        who(&target(&base("localhost", &full), &var).unwrap())
            .await
            .unwrap()
            .1
    );
    let e = who(&target(&base("127.0.0.1", &full), &var).unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot reach PostgreSQL at 127.0.0.1"), "{e}");
    assert!(e.contains("not valid for name"), "the whole cause: {e}");

    // Another CA's root: refused by verify-ca, with the reason.
    let other = tls::Ca::new("someone else");
    let other_root = h.path().join("other.crt");
    other.write_root(&other_root);
    let wrong = format!("sslmode=verify-ca&sslrootcert={}", other_root.display());
    let e = who(&target(&base("localhost", &wrong), &var).unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("UnknownIssuer"), "{e}");

    // ~/.postgresql/root.crt, as in libpq, turns require into verify-ca.
    std::fs::create_dir(h.path().join(".postgresql")).unwrap();
    std::fs::copy(&other_root, h.path().join(".postgresql/root.crt")).unwrap();
    let e = who(&target(&base("localhost", "sslmode=require"), &var).unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("UnknownIssuer"), "{e}");
    std::fs::copy(server.root(), h.path().join(".postgresql/root.crt")).unwrap();
    assert!(
        who(&target(&base("127.0.0.1", "sslmode=require"), &var).unwrap())
            .await
            .unwrap()
            .1
    );
    let e = who(&target(&base("127.0.0.1", "sslmode=verify-full"), &var).unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("not valid for name"), "{e}");

    // The same settings from the PG* variables, with the flags' names.
    let var = env(&[
        ("HOME", h.path().display().to_string()),
        ("PGSSLMODE", "verify-full".into()),
        ("PGSSLROOTCERT", root.clone()),
        ("PGPASSWORD", "dave-pw".into()),
        ("PGUSER", "dave".into()),
        ("PGHOST", "localhost".into()),
        ("PGPORT", port.to_string()),
        ("PGDATABASE", "postgres".into()),
    ]);
    let t = target(&ConnectionConfig::default(), &var).unwrap();
    assert_eq!(who(&t).await.unwrap().0, "dave");
    let flags = ConnectionConfig {
        host: Some("127.0.0.1".into()),
        ..Default::default()
    };
    assert!(who(&target(&flags, &var).unwrap()).await.is_err());
    let flags = ConnectionConfig {
        sslmode: Some("verify-ca".into()),
        ..flags
    };
    assert!(who(&target(&flags, &var).unwrap()).await.is_ok());
}

#[tokio::test]
async fn certificate_logins_need_no_password() {
    let server = TlsServer::start();
    setup_roles(&server).await;
    let (cert, key) = server.client_cert("carol");
    let h = home();
    let root = server.root().display().to_string();
    let var = env(&[
        ("HOME", h.path().display().to_string()),
        ("PGSSLCERT", cert.display().to_string()),
        ("PGSSLKEY", key.display().to_string()),
    ]);
    let flags = url(format!(
        "postgres://carol@localhost:{}/postgres?sslmode=verify-full&sslrootcert={root}",
        server.port()
    ));
    assert_eq!(
        who(&target(&flags, &var).unwrap()).await.unwrap().0,
        "carol"
    );

    // Without the certificate the server refuses, saying why.
    let bare = env(&[("HOME", h.path().display().to_string())]);
    let e = who(&target(&flags, &bare).unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("certificate"), "{e}");
    // Carol's certificate does not make her dave.
    let dave = url(format!(
        "postgres://dave@localhost:{}/postgres?sslmode=verify-full&sslrootcert={root}",
        server.port()
    ));
    assert!(who(&target(&dave, &var).unwrap()).await.is_err());

    // From libpq's default place, ~/.postgresql/postgresql.crt and .key.
    std::fs::create_dir(h.path().join(".postgresql")).unwrap();
    std::fs::copy(&cert, h.path().join(".postgresql/postgresql.crt")).unwrap();
    tls::write_private(
        &h.path().join(".postgresql/postgresql.key"),
        &std::fs::read_to_string(&key).unwrap(),
    );
    assert_eq!(
        who(&target(&flags, &bare).unwrap()).await.unwrap().0,
        "carol"
    );

    // A key others can read is refused, as libpq does, naming the setting.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = target(&flags, &var).err().unwrap();
    assert!(e.starts_with("sslkey: private key file"), "{e}");
}

fn write_pgpass(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test]
async fn pgpass_pgpassword_service_and_precedence() {
    let server = TlsServer::start();
    setup_roles(&server).await;
    let port = server.port();
    let h = home();
    let home_s = h.path().display().to_string();
    let pgpass = h.path().join(".pgpass");
    write_pgpass(
        &pgpass,
        &format!("# team\nlocalhost:{port}:*:dave:dave-pw\n*:*:*:*:wrong\n"),
        0o600,
    );
    let plain = url(format!(
        "postgres://dave@localhost:{port}/postgres?sslmode=require"
    ));

    // ~/.pgpass supplies the password.
    let var = env(&[("HOME", home_s.clone())]);
    let t = target(&plain, &var).unwrap();
    assert!(t.warnings.is_empty());
    assert_eq!(who(&t).await.unwrap().0, "dave");
    // Read by others: ignored with libpq's warning, so no password at all.
    write_pgpass(
        &pgpass,
        &format!("localhost:{port}:*:dave:dave-pw\n"),
        0o644,
    );
    let t = target(&plain, &var).unwrap();
    assert!(
        t.warnings[0].contains("has group or world access"),
        "{:?}",
        t.warnings
    );
    assert!(
        who(&t)
            .await
            .unwrap_err()
            .to_string()
            .contains("password missing")
    );
    // PGPASSFILE names another file; PGPASSWORD beats the file.
    let other = h.path().join("team.pgpass");
    write_pgpass(&other, "*:*:*:dave:dave-pw\n", 0o600);
    let var = env(&[
        ("HOME", home_s.clone()),
        ("PGPASSFILE", other.display().to_string()),
    ]);
    assert_eq!(who(&target(&plain, &var).unwrap()).await.unwrap().0, "dave");
    write_pgpass(&other, "*:*:*:dave:wrong\n", 0o600);
    let var = env(&[
        ("HOME", home_s.clone()),
        ("PGPASSFILE", other.display().to_string()),
        ("PGPASSWORD", "dave-pw".into()),
    ]);
    assert_eq!(who(&target(&plain, &var).unwrap()).await.unwrap().0, "dave");

    // The service file beats the environment; the command line beats the service.
    let services = h.path().join("services.conf");
    std::fs::write(
        &services,
        format!(
            "[support]\nhost=localhost\nport={port}\ndbname=postgres\nuser=dave\nsslmode=verify-full\nsslrootcert={}\n",
            server.root().display()
        ),
    )
    .unwrap();
    let var = env(&[
        ("HOME", home_s.clone()),
        ("PGSERVICEFILE", services.display().to_string()),
        ("PGSERVICE", "support".into()),
        ("PGHOST", "/nonexistent".into()),
        ("PGPORT", "1".into()),
        ("PGPASSWORD", "dave-pw".into()),
    ]);
    let (login, tls, app) = who(&target(&ConnectionConfig::default(), &var).unwrap())
        .await
        .unwrap();
    assert_eq!(
        (login.as_str(), tls, app.as_str()),
        ("dave", true, "tickets")
    );
    let flags = ConnectionConfig {
        host: Some("127.0.0.1".into()),
        ..Default::default()
    };
    let e = who(&target(&flags, &var).unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("not valid for name"),
        "the flag's host was used: {e}"
    );
    let missing = ConnectionConfig {
        service: Some("nope".into()),
        ..Default::default()
    };
    assert_eq!(
        target(&missing, &var).err().unwrap(),
        "definition of service \"nope\" not found"
    );

    // A URL on the command line wins over PGHOST/PGPORT; PGAPPNAME is kept, and a URL's
    // application_name beats it.
    let var = env(&[
        ("HOME", home_s.clone()),
        ("PGHOST", "/nonexistent".into()),
        ("PGPORT", "1".into()),
        ("PGPASSWORD", "dave-pw".into()),
        ("PGAPPNAME", "from-env".into()),
        ("PGCONNECT_TIMEOUT", "5".into()),
    ]);
    let (_, _, app) = who(&target(&plain, &var).unwrap()).await.unwrap();
    assert_eq!(app, "from-env");
    let named = url(format!(
        "postgres://dave@localhost:{port}/postgres?application_name=mine"
    ));
    assert_eq!(who(&target(&named, &var).unwrap()).await.unwrap().2, "mine");

    // Multi-host: the first host refuses connections, the second is used; --dbname keeps
    // both hosts.
    let dead = tls::free_port();
    let multi = ConnectionConfig {
        dbname: Some("postgres".into()),
        ..url(format!(
            "postgres://dave@localhost:{dead},localhost:{port}/nothere?connect_timeout=2"
        ))
    };
    let t = target(&multi, &var).unwrap();
    assert_eq!(
        t.describe(),
        format!("localhost:{dead},localhost:{port}/postgres")
    );
    assert_eq!(who(&t).await.unwrap().0, "dave");
}

#[tokio::test]
async fn unreachable_servers_say_where_and_why() {
    let dead = tls::free_port();
    let var = env(&[("HOME", "/nonexistent".into())]);
    let t = target(&url(format!("postgres://x@localhost:{dead}/d")), &var).unwrap();
    let e = t.connect().await.err().unwrap();
    assert!(matches!(e, DbError::Unreachable(_)));
    let e = e.to_string();
    assert!(
        e.starts_with(&format!("cannot reach PostgreSQL at localhost:{dead}/d:")),
        "{e}"
    );
    assert!(e.contains("onnection refused"), "{e}");
}
