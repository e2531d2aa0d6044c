//! A hot standby (pg_basebackup -R of a throwaway primary) and a read-only database: the
//! client says so in one sentence instead of staying "offline", and a multi-host URL with
//! target_session_attrs finds the server it asks for.

#[path = "common/tls.rs"]
mod tls;

use std::time::Duration;
use tickets::config::{ConnectionConfig, resolve_target};
use tickets::db::cluster::Setup;
use tickets::headless::Headless;
use tickets::model::ReadOnlyServer;

fn socket_config(server: &tls::OwnServer, login: &str, password: &str) -> tokio_postgres::Config {
    let mut c = tokio_postgres::Config::new();
    c.host_path(server.dir.path())
        .port(server.port)
        .dbname("tickets")
        .user(login)
        .password(password);
    c
}

async fn login_on(server: &tls::OwnServer) -> Headless {
    let mut c = socket_config(server, "sam", "");
    c.password("");
    let mut h = Headless::start(c, None);
    h.log_in("sam", "sam-pw").await.expect("logged in");
    h.wait_until(Duration::from_secs(10), |app| {
        app_main(app).is_some_and(|m| m.read_only.is_some()) || app.notice.is_some()
    })
    .await
    .ok();
    h.idle(Duration::from_millis(300)).await;
    h
}

fn app_main(app: &tickets::app::App) -> Option<&tickets::app::Main> {
    match &app.screen {
        tickets::app::Screen::Main(m) => Some(m),
        _ => None,
    }
}

#[tokio::test]
async fn a_standby_is_named_and_read_write_finds_the_primary() {
    let primary = tls::OwnServer::start(&Setup {
        replication: true,
        ..Default::default()
    });
    let su = primary.superuser("postgres").await;
    su.batch_execute("CREATE DATABASE tickets").await.unwrap();
    let mut admin = primary.superuser("tickets").await;
    tickets::db::migrate::migrate(&mut admin).await.unwrap();
    tickets::people::add(&admin, "sam", "agent", "Sam", "sam@example.test", "sam-pw")
        .await
        .unwrap();
    let standby = tls::OwnServer::start(&Setup {
        standby_of: Some(primary.cluster.clone()),
        ..Default::default()
    });

    // One URL naming the standby first: each target_session_attrs picks its server.
    let both = format!(
        "host={},{} port={},{} dbname=tickets user=sam password=sam-pw",
        standby.dir.path().display(),
        primary.dir.path().display(),
        standby.port,
        primary.port
    );
    let var = |k: &str| (k == "HOME").then(|| "/nonexistent".to_owned());
    for (attrs, in_recovery) in [
        ("any", true),
        ("read-write", false),
        ("primary", false),
        ("read-only", true),
        ("standby", true),
        ("prefer-standby", true),
    ] {
        let flags = ConnectionConfig {
            url: Some(format!("{both} target_session_attrs={attrs}")),
            ..Default::default()
        };
        let (target, _) = resolve_target(&ConnectionConfig::default(), &flags, var).unwrap();
        let client = target.connect().await.unwrap();
        let row = client
            .query_one("SELECT pg_is_in_recovery()", &[])
            .await
            .unwrap();
        assert_eq!(row.get::<_, bool>(0), in_recovery, "{attrs}");
    }
    // Only the standby listed: read-write says why nothing fits.
    let flags = ConnectionConfig {
        url: Some(format!(
            "host={} port={} dbname=tickets user=sam password=sam-pw target_session_attrs=read-write",
            standby.dir.path().display(),
            standby.port
        )),
        ..Default::default()
    };
    let (target, _) = resolve_target(&ConnectionConfig::default(), &flags, var).unwrap();
    let e = target.connect().await.err().unwrap().to_string();
    assert!(e.contains("session is read-only"), "{e}");

    // The client on the standby: one sentence, and the status line keeps saying it.
    let h = login_on(&standby).await;
    let main = app_main(&h.app).expect("logged in");
    assert_eq!(main.read_only, Some(ReadOnlyServer::Standby));
    assert!(main.online, "a standby is not an offline server");
    let notice = h.app.notice.as_ref().expect("a notice").text.clone();
    assert!(
        notice.starts_with("This server is a read-only standby"),
        "{notice}"
    );
    assert!(
        notice.contains("target_session_attrs=read-write"),
        "{notice}"
    );

    // On the primary: nothing to say.
    let h = login_on(&primary).await;
    assert_eq!(app_main(&h.app).unwrap().read_only, None);

    // A database set read-only by configuration.
    admin
        .batch_execute("ALTER ROLE sam SET default_transaction_read_only = on")
        .await
        .unwrap();
    let h = login_on(&primary).await;
    assert_eq!(
        app_main(&h.app).unwrap().read_only,
        Some(ReadOnlyServer::ReadOnly)
    );
    let notice = h.app.notice.as_ref().unwrap().text.clone();
    assert!(notice.starts_with("This database is read-only"), "{notice}");
}
