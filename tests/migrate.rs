//! The migrator against a real PostgreSQL.

mod common;

use common::TestDb;
use tickets::db::migrate::{self, MIGRATIONS, MigrateError};

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

#[tokio::test]
async fn concurrent_migrations_both_succeed_and_one_applies() {
    // Roles exist after the first database of the cluster; this measures the per-database race.
    let _warm = TestDb::new().await;
    for _ in 0..3 {
        let db = TestDb::create_unmigrated().await;
        let (mut a, mut b) = (db.admin().await, db.admin().await);
        let (ra, rb) = tokio::join!(migrate::migrate(&mut a), migrate::migrate(&mut b));
        let (ra, rb) = (ra.expect("first migrate"), rb.expect("second migrate"));
        assert_eq!(
            ra.applied.len() + rb.applied.len(),
            MIGRATIONS.len(),
            "{ra:?} {rb:?}"
        );
        assert!(
            ra.applied.is_empty() || rb.applied.is_empty(),
            "both applied: {ra:?} {rb:?}"
        );
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
