//! The migrator against a real PostgreSQL.

mod common;

use common::TestDb;
use tickets::db::migrate::{self, MIGRATIONS, MigrateError, Migration};

#[test]
fn every_migration_file_is_embedded_in_order() {
    let mut files: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|f| f.ends_with(".sql"))
            .collect();
    files.sort();
    let embedded: Vec<&str> = MIGRATIONS.iter().map(|m| m.name).collect();
    assert_eq!(files, embedded);
    for (i, m) in MIGRATIONS.iter().enumerate() {
        assert_eq!(m.version as usize, i + 1, "{} is out of sequence", m.name);
        assert!(m.name.starts_with(&format!("{:04}_", m.version)));
    }
}

#[tokio::test]
async fn migrate_applies_everything_once_then_nothing() {
    let db = TestDb::create_unmigrated().await;
    let first = db.migrate().await;
    assert_eq!(first.applied.len(), MIGRATIONS.len());
    let second = db.migrate().await;
    assert!(second.applied.is_empty());
    assert_eq!(second.already, MIGRATIONS.len());
    let admin = db.admin().await;
    assert_eq!(migrate::pending(&admin).await.unwrap(), 0);
}

/// Migrators take turns per migration (a lock on the bookkeeping table), so two at once may
/// share the work; each migration is applied once, and both end up up to date.
#[tokio::test]
async fn concurrent_migrations_both_succeed_and_each_migration_applies_once() {
    // Roles exist after the first database of the cluster; this measures the per-database race.
    let _warm = TestDb::new().await;
    for _ in 0..3 {
        let db = TestDb::create_unmigrated().await;
        let (mut a, mut b) = (db.admin().await, db.admin().await);
        let (ra, rb) = tokio::join!(migrate::migrate(&mut a), migrate::migrate(&mut b));
        let (ra, rb) = (ra.expect("first migrate"), rb.expect("second migrate"));
        let mut both: Vec<&String> = ra.applied.iter().chain(&rb.applied).collect();
        both.sort();
        let all: Vec<&str> = MIGRATIONS.iter().map(|m| m.name).collect();
        assert_eq!(both, all, "{ra:?} {rb:?}");
        assert_eq!(ra.applied.len() + ra.already, MIGRATIONS.len());
        assert_eq!(rb.applied.len() + rb.already, MIGRATIONS.len());
    }
}

#[tokio::test]
async fn an_edited_migration_is_refused_by_name() {
    let db = TestDb::new().await;
    let admin = db.admin().await;
    admin
        .execute(
            "UPDATE schema_migrations SET checksum = 'x' WHERE version = 2",
            &[],
        )
        .await
        .unwrap();
    let mut client = db.admin().await;
    match migrate::migrate(&mut client).await {
        Err(MigrateError::Edited(name)) => assert_eq!(name, "0002_identity_and_rules.sql"),
        other => panic!("expected the edit to be refused, got {other:?}"),
    }
    let err = migrate::migrate(&mut client).await.unwrap_err().to_string();
    assert!(
        err.contains("0002_identity_and_rules.sql was changed after it was applied"),
        "{err}"
    );
}

#[tokio::test]
async fn a_database_from_a_newer_binary_is_refused() {
    let db = TestDb::new().await;
    let admin = db.admin().await;
    admin
        .execute(
            "INSERT INTO schema_migrations VALUES (99, '0099_future.sql', 'x')",
            &[],
        )
        .await
        .unwrap();
    let mut client = db.admin().await;
    assert!(matches!(
        migrate::migrate(&mut client).await,
        Err(MigrateError::Unknown(99))
    ));
}

#[tokio::test]
async fn a_non_superuser_cannot_migrate_and_nothing_is_created() {
    let db = TestDb::create_unmigrated().await;
    let admin = db.admin().await;
    let login = db.unique_login("plain");
    admin
        .batch_execute(&format!(
            "CREATE ROLE {login} LOGIN PASSWORD 'pw'; GRANT CONNECT ON DATABASE {} TO {login}",
            db.name
        ))
        .await
        .unwrap();
    let mut client = tickets::db::connect_config(&common::config_for(&login, Some("pw"), &db.name))
        .await
        .unwrap();
    let err = migrate::migrate(&mut client).await.unwrap_err();
    assert!(
        matches!(err, MigrateError::NotSuperuser(ref who) if who == &login),
        "{err}"
    );
    let exists: bool = admin
        .query_one(
            "SELECT to_regclass('public.schema_migrations') IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!exists);
}

/// The key of the advisory lock migrate took until issue 14 ("tickets" in ASCII): any login
/// may take any advisory lock, and keys are shared by everyone in a database.
const OLD_LOCK_KEY: i64 = 0x0074_6963_6b65_7473;

/// A refusal's text names each of `words`.
fn says_all(said: &str, words: &[&str]) {
    for words in words {
        assert!(said.contains(words), "{words:?} missing from: {said}");
    }
}

/// The embedded migrations and one more of a test's own.
fn with_one_more(sql: &'static str) -> Vec<Migration> {
    let mut all: Vec<Migration> = MIGRATIONS
        .iter()
        .map(|m| Migration {
            version: m.version,
            name: m.name,
            sql: m.sql,
        })
        .collect();
    let version = all.len() as i32 + 1;
    all.push(Migration {
        version,
        name: "9999_a_test_of_its_own.sql",
        sql,
    });
    all
}

/// Issue 14 item 9: a customer holding the advisory key migrate used to take cannot stop
/// migrate, neither on a new database of the cluster (where she may connect before it is
/// migrated) nor on her own with a migration pending. (Proven to fail with the advisory lock:
/// the first waited forever, the second failed on the lock timeout.)
#[tokio::test]
async fn a_customer_holding_the_old_lock_key_does_not_block_migrate() {
    let home = TestDb::new().await;
    let alice = home.person("customer", "alice").await;
    let fresh = TestDb::create_unmigrated().await;
    let mut held = Vec::new();
    for db in [&fresh.name, &home.name] {
        let c = tickets::db::connect_config(&common::config_for(
            &alice.login,
            Some(&alice.password),
            db,
        ))
        .await
        .unwrap_or_else(|e| panic!("alice connects to {db}: {e}"));
        c.execute("SELECT pg_advisory_lock($1)", &[&OLD_LOCK_KEY])
            .await
            .unwrap();
        held.push(c);
    }
    let within = std::time::Duration::from_secs(30);
    let report = tokio::time::timeout(within, fresh.migrate())
        .await
        .expect("migrate of a new database waited on a customer's advisory lock");
    assert_eq!(report.applied.len(), MIGRATIONS.len());
    let mut su = home.admin().await;
    let report = tokio::time::timeout(
        within,
        migrate::migrate_with(&mut su, &with_one_more("SELECT 1")),
    )
    .await
    .expect("migrate waited on a customer's advisory lock")
    .expect("migrate with a customer holding the old key");
    assert_eq!(report.applied, ["9999_a_test_of_its_own.sql"]);
}

/// The lock migrators take turns on is one nobody but a superuser can take: not a customer,
/// not an admin (who may read the bookkeeping table, a lock that does not conflict).
#[tokio::test]
async fn nobody_but_superusers_can_take_the_migrate_lock() {
    let db = TestDb::new().await;
    for (role, base) in [("customer", "alice"), ("admin", "ada")] {
        let p = db.person(role, base).await;
        let c = db.login(&p).await;
        for sql in [
            "LOCK TABLE public.schema_migrations IN EXCLUSIVE MODE",
            "LOCK TABLE public.schema_migrations IN ROW SHARE MODE",
            "LOCK TABLE public.schema_migrations IN SHARE MODE",
            "SELECT 1 FROM public.schema_migrations FOR KEY SHARE",
        ] {
            let tx = format!("BEGIN; {sql}");
            let got = c.batch_execute(&tx).await;
            assert_eq!(common::sqlstate(got), "42501", "{base}: {sql}");
            c.batch_execute("ROLLBACK").await.unwrap();
        }
    }
}

/// When a migration waits too long for a lock a person holds (their transaction on tickets),
/// migrate says who holds it, their backend and since when, instead of a bare lock timeout.
#[tokio::test]
async fn a_migration_behind_a_persons_lock_names_the_holder() {
    let db = TestDb::new().await;
    let alice = db.person("customer", "alice").await;
    let c = db.login(&alice).await;
    c.batch_execute("BEGIN; SELECT count(*) FROM tickets")
        .await
        .unwrap();
    let pid: i32 = c
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let mut su = db.admin().await;
    su.batch_execute("SET lock_timeout = '1s'").await.unwrap();
    let err = migrate::migrate_with(
        &mut su,
        &with_one_more("ALTER TABLE public.tickets ADD COLUMN probe integer"),
    )
    .await
    .unwrap_err();
    let said = err.to_string();
    assert!(
        matches!(err, MigrateError::LockHeld { .. }),
        "not a lock refusal: {said}"
    );
    says_all(
        &said,
        &[
            "9999_a_test_of_its_own.sql",
            alice.login.as_str(),
            &format!("pid {pid}"),
            "in a transaction since",
            "pg_terminate_backend",
        ],
    );
}

/// Issue 14 item 11: the maintenance databases are open to every login by default (a customer
/// could keep temp tables in `postgres`). `tickets migrate --lock-maintenance-db`, asked for by
/// the operator, closes them to PUBLIC and says how to undo it; superusers keep their way in;
/// a second run finds nothing to do. A plain migrate leaves them alone (alice gets in first).
#[tokio::test]
async fn migrate_closes_the_maintenance_databases_when_asked() {
    let db = TestDb::new().await;
    let alice = db.person("customer", "alice").await;
    let into = |dbname: &'static str| {
        let config = common::config_for(&alice.login, Some(&alice.password), dbname);
        async move { tickets::db::connect_config(&config).await }
    };
    for dbname in ["postgres", "template1"] {
        into(dbname)
            .await
            .unwrap_or_else(|e| panic!("before: alice could not open {dbname}: {e}"));
    }
    let run = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tickets"))
            .args(["migrate", "--lock-maintenance-db"])
            .env("DATABASE_URL", db.admin_conninfo())
            .env_remove("TICKETS_CONFIG")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run tickets migrate");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let first = run();
    for dbname in ["postgres", "template1"] {
        assert!(
            first.contains(&format!("closed database {dbname} to PUBLIC"))
                && first.contains(&format!(
                    "GRANT CONNECT, TEMPORARY ON DATABASE {dbname} TO PUBLIC"
                )),
            "{first}"
        );
        let refused = into(dbname).await.err().map(|e| e.to_string());
        assert!(
            refused
                .as_deref()
                .is_some_and(|e| e.contains("permission denied for database")),
            "alice opened {dbname} after it was closed: {refused:?}"
        );
    }
    common::superuser_client("postgres").await;
    let second = run();
    assert!(second.contains("already closed"), "{second}");
    // The cluster is shared by this binary's tests: give it back as it was.
    db.admin()
        .await
        .batch_execute(
            "GRANT CONNECT, TEMPORARY ON DATABASE postgres TO PUBLIC;
             GRANT CONNECT, TEMPORARY ON DATABASE template1 TO PUBLIC",
        )
        .await
        .unwrap();
}

/// A server installed without PostgreSQL's contrib lacks the extension 0049 installs
/// (btree_gin): migrate says which migration needs what, and where it comes from, instead of
/// a bare "could not open extension control file". Nothing of that migration is applied.
#[tokio::test]
async fn a_missing_extension_is_named_with_where_to_get_it() {
    let db = TestDb::new().await;
    let mut su = db.admin().await;
    let err = migrate::migrate_with(
        &mut su,
        &with_one_more("CREATE EXTENSION tickets_no_such_extension; CREATE TABLE app.probe ()"),
    )
    .await
    .unwrap_err();
    let said = err.to_string();
    assert!(
        matches!(err, MigrateError::MissingExtension { .. }),
        "not an extension refusal: {said}"
    );
    says_all(
        &said,
        &[
            "9999_a_test_of_its_own.sql",
            "tickets_no_such_extension",
            "postgresql-contrib",
            "run migrate again",
        ],
    );
    let made: bool = su
        .query_one("SELECT to_regclass('app.probe') IS NOT NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!made, "the failed migration left a table behind");
}
