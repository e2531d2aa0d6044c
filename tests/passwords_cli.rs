//! Passwords never reach the server in clear (`tickets user add`, `tickets passwd`), shown on a
//! server of its own that logs every statement; and the command-line conventions: exit codes
//! as psql's, completions, the manual page, value lists in --help.

#[path = "common/tls.rs"]
mod tls;

use std::time::Duration;
use tickets::db::cluster::Setup;
use tokio::io::AsyncWriteExt;

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the real binary with `env` (and nothing of the machine's PG* settings or config).
async fn tickets(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Outcome {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_tickets"));
    cmd.args(args)
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .env("XDG_DATA_HOME", home.path().join(".local/share"))
        .env("XDG_STATE_HOME", home.path().join(".local/state"))
        .env("XDG_CACHE_HOME", home.path().join(".cache"))
        .env_remove("TICKETS_CONFIG")
        .env_remove("DATABASE_URL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (name, _) in std::env::vars() {
        if name.starts_with("PG") {
            cmd.env_remove(name);
        }
    }
    cmd.envs(env.iter().copied());
    let mut child = cmd.spawn().expect("run tickets");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test]
async fn no_password_reaches_the_server_log() {
    let server = tls::OwnServer::start(&Setup {
        settings: vec!["log_statement=all".into()],
        ..Default::default()
    });
    server
        .superuser("postgres")
        .await
        .batch_execute("CREATE DATABASE tickets")
        .await
        .unwrap();
    let admin_url = server.superuser_conninfo("tickets");
    let admin = [("DATABASE_URL", admin_url.as_str())];
    let out = tickets(&["migrate"], &admin, "").await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    let first = "First-Secret-4417";
    let out = tickets(
        &[
            "user",
            "add",
            "pat",
            "--role",
            "agent",
            "--name",
            "Pat",
            "--email",
            "pat@example.test",
            "--password-stdin",
        ],
        &admin,
        &format!("{first}\n"),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    // Pat changes their own password, logging in with the first one.
    let client_url = format!(
        "host={} port={} dbname=tickets",
        server.dir.path().display(),
        server.port
    );
    let second = "Second-Secret-9902";
    let out = tickets(
        &[
            "--url",
            &client_url,
            "--login",
            "pat",
            "passwd",
            "--password-stdin",
        ],
        &[("PGPASSWORD", first)],
        &format!("{second}\n"),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "changed the password of pat");

    // The new password works, the old one no longer does.
    let login = |pw: &str| {
        let mut c = tokio_postgres::Config::new();
        c.host_path(server.dir.path())
            .port(server.port)
            .dbname("tickets")
            .user("pat")
            .password(pw);
        c
    };
    assert!(tickets::db::connect_config(&login(second)).await.is_ok());
    assert!(tickets::db::connect_config(&login(first)).await.is_err());

    // Without a way to log in, --password-stdin says what it needs.
    let out = tickets(
        &[
            "--url",
            &client_url,
            "--login",
            "pat",
            "passwd",
            "--password-stdin",
        ],
        &[],
        "whatever\n",
    )
    .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("asks for pat's current password"),
        "{}",
        out.stderr
    );

    let log = server.log();
    assert!(
        log.contains("create_person"),
        "statements are logged:\n{log}"
    );
    assert!(log.contains("ALTER ROLE CURRENT_USER PASSWORD 'SCRAM-SHA-256$4096:"));
    for secret in [first, second] {
        assert!(!log.contains(secret), "{secret} is in the server log");
    }
}

#[tokio::test]
async fn exit_codes_are_psqls() {
    // Nothing listens there: 2, as psql.
    let gone = [(
        "DATABASE_URL",
        "host=/nonexistent port=5432 user=postgres dbname=tickets",
    )];
    let out = tickets(&["migrate"], &gone, "").await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("tickets: cannot reach PostgreSQL at /nonexistent:5432/tickets")
    );

    // A server that answers but refuses what is asked: 1.
    let server = tls::OwnServer::start(&Setup::default());
    let su = server.superuser("postgres").await;
    su.batch_execute("CREATE ROLE plain LOGIN PASSWORD 'plain-pw'")
        .await
        .unwrap();
    su.batch_execute("CREATE DATABASE tickets").await.unwrap();
    let url = format!(
        "host={} port={} user=plain password=plain-pw dbname=tickets",
        server.dir.path().display(),
        server.port
    );
    let out = tickets(&["migrate"], &[("DATABASE_URL", url.as_str())], "").await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("is not a superuser"), "{}", out.stderr);
    // A wrong password: no connection was made, 2 as psql.
    let wrong = url.replace("plain-pw", "nope");
    let out = tickets(&["migrate"], &[("DATABASE_URL", wrong.as_str())], "").await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("password authentication failed"),
        "{}",
        out.stderr
    );

    // Bad settings are one line naming the setting.
    let out = tickets(
        &["passwd"],
        &[("PGSSLMODE", "sometimes"), ("PGUSER", "x")],
        "",
    )
    .await;
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("invalid sslmode value: \"sometimes\""),
        "{}",
        out.stderr
    );
    let out = tickets(
        &["passwd"],
        &[("PGSERVICE", "nowhere"), ("PGUSER", "x")],
        "",
    )
    .await;
    assert!(
        out.stderr
            .contains("definition of service \"nowhere\" not found"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn completions_man_page_and_value_lists() {
    let out = tickets(&["completions", "bash"], &[], "").await;
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("_tickets()"), "{}", out.stdout);
    assert!(out.stdout.contains("verify-full"));
    let out = tickets(&["completions", "zsh"], &[], "").await;
    assert!(out.stdout.starts_with("#compdef tickets"));
    let out = tickets(&["man"], &[], "").await;
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains(".TH tickets"), "{}", out.stdout);

    let out = tickets(&["--help"], &[], "").await;
    for values in [
        "[possible values: disable, allow, prefer, require, verify-ca, verify-full]",
        "[possible values: dark, light, no-color]",
    ] {
        assert!(out.stdout.contains(values), "{values} in\n{}", out.stdout);
    }
    let out = tickets(&["user", "add", "--help"], &[], "").await;
    assert!(
        out.stdout
            .contains("[possible values: customer, agent, admin]")
    );
    // A role that does not exist is refused before any prompt, with the choices.
    let out = tickets(
        &[
            "user",
            "add",
            "x",
            "--role",
            "boss",
            "--name",
            "X",
            "--email",
            "x@example.test",
        ],
        &[],
        "",
    )
    .await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("invalid value 'boss' for '--role <ROLE>'"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("[possible values: customer, agent, admin]")
    );
}

#[tokio::test]
async fn the_client_changes_its_own_password_with_a_key() {
    use ratatui::crossterm::event::KeyCode;
    let server = tls::OwnServer::start(&Setup {
        settings: vec!["log_statement=all".into()],
        ..Default::default()
    });
    server
        .superuser("postgres")
        .await
        .batch_execute("CREATE DATABASE tickets")
        .await
        .unwrap();
    let mut admin = server.superuser("tickets").await;
    tickets::db::migrate::migrate(&mut admin).await.unwrap();
    tickets::people::add(
        &admin,
        "kim",
        "customer",
        "Kim",
        "kim@example.test",
        "Old-Pw-1",
    )
    .await
    .unwrap();
    let config = |pw: &str| {
        let mut c = tokio_postgres::Config::new();
        c.host_path(server.dir.path())
            .port(server.port)
            .dbname("tickets")
            .user("kim")
            .password(pw);
        c
    };
    let mut h = tickets::headless::Headless::start(config(""), None);
    h.log_in("kim", "Old-Pw-1").await.unwrap();
    let notice = |h: &tickets::headless::Headless| {
        h.app
            .notice
            .as_ref()
            .map(|n| n.text.clone())
            .unwrap_or_default()
    };
    let prompt_error = |h: &tickets::headless::Headless| {
        h.main()
            .and_then(|m| m.prompt_error.clone())
            .unwrap_or_default()
    };

    // Two different entries: asked again, nothing sent.
    h.key(KeyCode::Char('P'));
    h.typed("New-Pw-2");
    h.key(KeyCode::Enter);
    h.typed("New-Pw-3");
    h.key(KeyCode::Enter);
    assert!(
        prompt_error(&h).contains("did not match"),
        "{}",
        prompt_error(&h)
    );
    // The same twice: changed.
    h.typed("New-Pw-2");
    h.key(KeyCode::Enter);
    h.typed("New-Pw-2");
    h.key(KeyCode::Enter);
    h.wait_until(Duration::from_secs(10), |app| {
        app.notice
            .as_ref()
            .is_some_and(|n| n.text.contains("password"))
    })
    .await
    .unwrap();
    assert_eq!(notice(&h), "Your password was changed.");
    assert!(
        tickets::db::connect_config(&config("New-Pw-2"))
            .await
            .is_ok()
    );
    assert!(
        tickets::db::connect_config(&config("Old-Pw-1"))
            .await
            .is_err()
    );
    let log = server.log();
    assert!(log.contains("ALTER ROLE CURRENT_USER PASSWORD 'SCRAM-SHA-256$"));
    assert!(
        !log.contains("New-Pw-2"),
        "the new password is in the server log"
    );
}
