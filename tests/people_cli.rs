//! The people commands of the real binary (`tickets user add|list|disable`, `tickets migrate`)
//! run as an operator would, with DATABASE_URL set. Every refusal must be a non-zero exit and
//! one clear line on stderr, and must leave nothing half-created: never a login role without
//! its users row, nor the reverse.

mod common;

use common::{TestDb, TestPerson};
use tokio::io::AsyncWriteExt;
use tokio_postgres::NoTls;

struct Outcome {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs `tickets ARGS` against `url` with `stdin`, away from any config file and terminal of
/// the machine's.
async fn tickets(url: &str, args: &[&str], stdin: &str) -> Outcome {
    let home = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tickets"));
    // A session of its own: no controlling terminal, as under cron or in a pipeline (and a
    // test can never prompt on the developer's terminal).
    // SAFETY: setsid is async-signal-safe and touches nothing of the parent.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = command
        .args(args)
        .env("DATABASE_URL", url)
        .envs(common::private_home_env(home.path()))
        .env_remove("TICKETS_CONFIG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run tickets");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    Outcome {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `tickets user add LOGIN --role ROLE --name NAME --email EMAIL --password-stdin`.
async fn add(db: &TestDb, login: &str, role: &str, email: &str, password: &str) -> Outcome {
    let args = [
        "user",
        "add",
        login,
        "--role",
        role,
        "--name",
        "Pat Doe",
        "--email",
        email,
        "--password-stdin",
    ];
    tickets(&db.admin_conninfo(), &args, &format!("{password}\n")).await
}

/// The command failed with one line on stderr that says `what`.
fn refused(out: &Outcome, what: &str) {
    assert!(!out.ok, "expected a failure, got success: {}", out.stdout);
    let lines: Vec<&str> = out.stderr.trim_end().lines().collect();
    assert_eq!(lines.len(), 1, "stderr is not one line:\n{}", out.stderr);
    assert!(
        lines[0].starts_with("tickets: ") && lines[0].contains(what),
        "stderr does not say {what:?}: {}",
        lines[0]
    );
}

/// (login roles, users rows) with this login, as superuser.
async fn traces(db: &TestDb, login: &str) -> (i64, i64) {
    let row = db
        .admin()
        .await
        .query_one(
            "SELECT (SELECT count(*) FROM pg_roles WHERE rolname = $1),
                    (SELECT count(*) FROM users WHERE login = $1)",
            &[&login],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

fn person(login: &str, password: &str) -> TestPerson {
    TestPerson {
        id: uuid::Uuid::nil(),
        login: login.into(),
        password: password.into(),
        role: "agent",
    }
}

#[tokio::test]
async fn add_list_and_disable_a_person() {
    let db = TestDb::new().await;
    let login = db.unique_login("cli_agent");
    let email = format!("{login}@Example.test");
    let out = add(&db, &login, "agent", &email, "correct horse").await;
    assert!(out.ok, "user add failed: {}", out.stderr);
    assert!(out.stdout.starts_with(&format!("created agent {login} (")));
    assert_eq!(out.stderr, "");

    // The person logs in with the password given on stdin, and is themselves.
    let pat = person(&login, "correct horse");
    let c = db.login(&pat).await;
    let row = c
        .query_one(
            "SELECT login, display_name, email, role::text FROM users WHERE id = app.uid()",
            &[],
        )
        .await
        .unwrap();
    let me: (String, String, String, String) = (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(
        me,
        (
            login.clone(),
            "Pat Doe".into(),
            email.clone(),
            "agent".into()
        )
    );
    drop(c);

    let out = tickets(&db.admin_conninfo(), &["user", "list"], "").await;
    assert!(out.ok, "{}", out.stderr);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with(&format!("{login} ")))
        .unwrap_or_else(|| panic!("{login} is not listed:\n{}", out.stdout));
    for column in ["agent", "Pat Doe", email.as_str(), "active"] {
        assert!(line.contains(column), "{column:?} missing from {line:?}");
    }

    let out = tickets(&db.admin_conninfo(), &["user", "disable", &login], "").await;
    assert!(out.ok, "{}", out.stderr);
    assert!(out.stdout.starts_with(&format!("disabled {login}")));
    let refused = db.login_config(&pat).connect(NoTls).await;
    assert_eq!(common::sqlstate(refused.map(|_| ())), "28000");
    let out = tickets(&db.admin_conninfo(), &["user", "list"], "").await;
    let line = out.stdout.lines().find(|l| l.starts_with(&login)).unwrap();
    assert!(line.contains("disabled"), "{line}");
    assert_eq!(
        traces(&db, &login).await,
        (1, 1),
        "history stays: so do role and row"
    );
}

#[tokio::test]
async fn bad_role_login_or_password_creates_nothing() {
    let db = TestDb::new().await;
    let login = db.unique_login("pat");
    let email = format!("{login}@example.test");
    let cases = [
        (
            &login,
            "agent",
            &email,
            "",
            "the password must not be empty",
        ),
        (
            &login,
            "agent",
            &"not-an-email".to_owned(),
            "pw",
            "e-mail \"not-an-email\" is not valid",
        ),
        (
            &"Bad-Name".to_owned(),
            "agent",
            &email,
            "pw",
            "login \"Bad-Name\" is not valid",
        ),
        (
            &"pg_x".to_owned(),
            "agent",
            &email,
            "pw",
            "login \"pg_x\" is reserved",
        ),
        (
            &"tickets_owner".to_owned(),
            "admin",
            &email,
            "pw",
            "login \"tickets_owner\" is reserved",
        ),
    ];
    for (login, role, email, password, says) in cases {
        refused(&add(&db, login, role, email, password).await, says);
        assert_eq!(
            traces(&db, login).await,
            (i64::from(login == "tickets_owner"), 0),
            "{login}"
        );
        assert_eq!(traces(&db, &login.to_lowercase()).await.1, 0);
    }
    // No password at all on stdin.
    let args = [
        "user",
        "add",
        &login,
        "--role",
        "agent",
        "--name",
        "P",
        "--email",
        &email,
        "--password-stdin",
    ];
    refused(
        &tickets(&db.admin_conninfo(), &args, "").await,
        "the password must not be empty",
    );
    assert_eq!(traces(&db, &login).await, (0, 0));
}

#[tokio::test]
async fn a_taken_login_or_email_creates_nothing() {
    let db = TestDb::new().await;
    let first = db.unique_login("first");
    let second = db.unique_login("second");
    let email = format!("{first}@example.test");
    assert!(add(&db, &first, "customer", &email, "pw").await.ok);

    let out = add(&db, &first, "agent", "other@example.test", "pw").await;
    refused(&out, &format!("login \"{first}\" is already taken"));
    let row = db
        .admin()
        .await
        .query_one(
            "SELECT email, role::text FROM users WHERE login = $1",
            &[&first],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, String>(1)),
        (email.clone(), "customer".into())
    );

    // The same e-mail in other letters is the same e-mail.
    let shouted = email.to_uppercase();
    let out = add(&db, &second, "agent", &shouted, "pw").await;
    refused(&out, &format!("e-mail \"{shouted}\""));
    assert!(out.stderr.contains("already"), "{}", out.stderr);
    assert_eq!(traces(&db, &second).await, (0, 0));
    assert_eq!(traces(&db, &first).await, (1, 1));
}

/// A taken e-mail is named as such (create_person's race handler once swallowed this message).
#[tokio::test]
async fn a_taken_email_is_named_as_such() {
    let db = TestDb::new().await;
    let (first, second) = (db.unique_login("first"), db.unique_login("second"));
    assert!(
        add(&db, &first, "customer", "same@example.test", "pw")
            .await
            .ok
    );
    let out = add(&db, &second, "agent", "SAME@example.test", "pw").await;
    refused(
        &out,
        "e-mail \"SAME@example.test\" is already used by another person",
    );
}

#[tokio::test]
async fn an_unreachable_database_is_one_line() {
    let db = TestDb::new().await;
    let login = db.unique_login("pat");
    let url = "host=/nonexistent port=5432 user=postgres dbname=tickets";
    let email = format!("{login}@example.test");
    let args = [
        "user",
        "add",
        &login,
        "--role",
        "agent",
        "--name",
        "P",
        "--email",
        &email,
        "--password-stdin",
    ];
    let out = tickets(url, &args, "pw\n").await;
    refused(&out, "cannot reach PostgreSQL at /nonexistent:5432/tickets");
    assert_eq!(traces(&db, &login).await, (0, 0));
    for args in [&["user", "list"][..], &["migrate"][..]] {
        refused(&tickets(url, args, "").await, "cannot reach PostgreSQL");
    }
}

#[tokio::test]
async fn migrate_without_superuser_rights_changes_nothing() {
    let db = TestDb::create_unmigrated().await;
    let login = db.unique_login("plain");
    let admin = db.admin().await;
    admin
        .batch_execute(&format!(
            "CREATE ROLE {login} LOGIN PASSWORD 'pw'; GRANT CONNECT ON DATABASE {} TO {login}",
            db.name
        ))
        .await
        .unwrap();
    let url = common::conninfo(&db.login_config(&person(&login, "pw")));
    let out = tickets(&url, &["migrate"], "").await;
    refused(
        &out,
        &format!("migrate needs a superuser connection: {login} is not a superuser"),
    );
    let untouched: bool = admin
        .query_one(
            "SELECT to_regclass('public.schema_migrations') IS NULL
                AND to_regnamespace('app') IS NULL AND to_regclass('public.tickets') IS NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(untouched, "migrate as {login} left objects behind");
}

/// An admin may manage people from psql with their own login (create_person and friends are
/// granted to tickets_admin), but `tickets user add` with that same login fails with
/// "permission denied for table schema_migrations": it should either work or say plainly that
/// it needs a superuser connection.
#[tokio::test]
async fn user_commands_with_an_admins_url_work_or_say_why_not() {
    let db = TestDb::new().await;
    let boss = db.person("admin", "boss").await;
    let url = common::conninfo(&db.login_config(&boss));
    let out = tickets(&url, &["user", "list"], "").await;
    if !out.ok {
        refused(&out, "superuser");
    }
}

/// Only admins manage people: a customer's or an agent's own login is told so, and a login that
/// can log in but is no person of this database is told that, each in one sentence, before any
/// password is asked; nothing is created.
#[tokio::test]
async fn people_commands_by_non_admins_say_who_may() {
    let db = TestDb::new().await;
    let agent = db.person("agent", "al").await;
    let customer = db.person("customer", "cy").await;
    let stray = db.unique_login("stray");
    db.admin()
        .await
        .batch_execute(&format!(
            "CREATE ROLE {stray} LOGIN PASSWORD 'pw'; GRANT CONNECT ON DATABASE {} TO {stray}",
            db.name
        ))
        .await
        .unwrap();
    let newcomer = db.unique_login("newcomer");
    let email = format!("{newcomer}@example.test");
    let add = [
        "user", "add", &newcomer, "--role", "admin", "--name", "N", "--email", &email,
    ];
    let cases = [
        (
            agent.clone(),
            format!("only admins manage people, and {} is an agent", agent.login),
        ),
        (
            customer.clone(),
            format!(
                "only admins manage people, and {} is a customer",
                customer.login
            ),
        ),
        (
            person(&stray, "pw"),
            format!(
                "{stray} can log in to PostgreSQL but is not an active person of this tickets database"
            ),
        ),
    ];
    for (who, says) in &cases {
        let url = common::conninfo(&db.login_config(who));
        for args in [
            &["user", "list"][..],
            &["user", "disable", &agent.login],
            &add,
        ] {
            let out = tickets(&url, args, "").await;
            refused(&out, says);
            assert!(
                out.stderr.contains("use an admin's login"),
                "{}",
                out.stderr
            );
        }
    }
    assert_eq!(traces(&db, &newcomer).await, (0, 0));
}

/// With no terminal to prompt on, `user add` without --password-stdin says what to do instead.
#[tokio::test]
async fn user_add_without_a_terminal_says_to_use_password_stdin() {
    let db = TestDb::new().await;
    let login = db.unique_login("pat");
    let email = format!("{login}@example.test");
    let args = [
        "user", "add", &login, "--role", "agent", "--name", "P", "--email", &email,
    ];
    let out = tickets(&db.admin_conninfo(), &args, "").await;
    refused(&out, "there is no terminal to ask for");
    assert!(out.stderr.contains("--password-stdin"), "{}", out.stderr);
    assert!(out.stderr.contains("nothing was created"), "{}", out.stderr);
    assert_eq!(traces(&db, &login).await, (0, 0));
}

/// `tickets user list` keeps its columns aligned on the screen for active and disabled people
/// alike, whatever the names are made of (wide, combining, emoji).
#[test]
fn the_people_table_keeps_its_columns_aligned() {
    use tickets::people::{Person, format_table};
    use unicode_width::UnicodeWidthStr;
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    let person = |login: &str, name: &str, disabled: Option<&str>| Person {
        id: uuid::Uuid::nil(),
        login: login.into(),
        display_name: name.into(),
        email: format!("{login}@example.test"),
        role: "agent".into(),
        disabled_at: disabled.map(at),
        created_at: at("2026-01-02T03:04:05Z"),
    };
    let people = [
        person("ada", "Ada Admin", None),
        person("yamada", "山田 太郎", Some("2026-11-30T10:00:00Z")),
        person("zoe", "Zoe\u{0308} Quist", Some("2026-12-01T09:00:00Z")),
        person("kim", "Kim 👩‍💻", None),
    ];
    let table = format_table(&people);
    let lines: Vec<&str> = table.lines().collect();
    // Where each column starts on screen, from the header.
    let starts: Vec<usize> = ["ROLE", "NAME", "EMAIL", "STATUS", "CREATED"]
        .iter()
        .map(|h| lines[0][..lines[0].find(h).unwrap()].width())
        .collect();
    for (line, p) in lines[1..].iter().zip(&people) {
        let status = if p.disabled_at.is_some() {
            "disabled"
        } else {
            "active"
        };
        let cells = ["agent", &p.display_name, &p.email, status, "2026-01-02"];
        for ((cell, start), header) in cells
            .iter()
            .zip(&starts)
            .zip(["ROLE", "NAME", "EMAIL", "STATUS", "CREATED"])
        {
            let at = line
                .find(cell)
                .unwrap_or_else(|| panic!("{cell} not in {line}"));
            assert_eq!(line[..at].width(), *start, "{header} misaligned:\n{table}");
        }
    }
}
