//! Embedded migrations: applied in order, each in its own transaction, serialised by an
//! advisory lock, and refused when a file already applied has since been edited.

use super::error::DbError;
use tokio_postgres::Client;

pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migration {
    ($version:literal, $file:literal) => {
        Migration {
            version: $version,
            name: $file,
            sql: include_str!(concat!("../../migrations/", $file)),
        }
    };
}

/// Every file in migrations/, in order. A test checks that none is forgotten here.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_roles_and_schema.sql"),
    migration!(2, "0002_identity_and_rules.sql"),
    migration!(3, "0003_people.sql"),
    migration!(4, "0004_search.sql"),
    migration!(5, "0005_fast_identity_and_queues.sql"),
    migration!(6, "0006_history_customer.sql"),
    migration!(7, "0007_people_messages.sql"),
    migration!(8, "0008_clearer_refusals.sql"),
    migration!(9, "0009_ticket_counts.sql"),
    migration!(10, "0010_names_on_tickets.sql"),
    migration!(11, "0011_comments.sql"),
    migration!(12, "0012_closed_is_final_for_agents.sql"),
    migration!(13, "0013_conversation.sql"),
    migration!(14, "0014_abuse_refusals_and_time.sql"),
    migration!(15, "0015_search_messages_planned.sql"),
    migration!(16, "0016_names_in_thread.sql"),
    migration!(17, "0017_customer_history_policy_plan.sql"),
    migration!(18, "0018_agents_file_for_customers.sql"),
    migration!(19, "0019_rls_plans_like_the_floor.sql"),
    migration!(20, "0020_change_log.sql"),
    migration!(21, "0021_abuse_limits.sql"),
    migration!(22, "0022_private_change_channels.sql"),
    migration!(23, "0023_watchdog.sql"),
    migration!(24, "0024_disable_hands_on_tickets.sql"),
];

/// Session advisory lock key: "tickets" in ASCII, so it is recognisable in pg_locks.
const LOCK_KEY: i64 = 0x0074_6963_6b65_7473;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub applied: Vec<String>,
    pub already: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(
        "migrate needs a superuser connection: {0} is not a superuser (connect as the cluster's owner, e.g. postgres)"
    )]
    NotSuperuser(String),
    #[error(
        "migration {0} was changed after it was applied to this database; restore the file as it was and put the change in a new migration"
    )]
    Edited(String),
    #[error(
        "this database has migration {0} which this tickets binary does not know; use a newer tickets"
    )]
    Unknown(i32),
    #[error("migration {name} failed: {source}")]
    Failed { name: String, source: DbError },
    #[error("{0}")]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for MigrateError {
    fn from(e: tokio_postgres::Error) -> Self {
        MigrateError::Db(e.into())
    }
}

/// Applies what is missing. Safe to run concurrently: the others wait, then find nothing to do.
pub async fn migrate(client: &mut Client) -> Result<Report, MigrateError> {
    let row = client
        .query_one(
            "SELECT current_user::text, rolsuper FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await?;
    let (who, superuser): (String, bool) = (row.get(0), row.get(1));
    if !superuser {
        return Err(MigrateError::NotSuperuser(who));
    }
    // The database's own limits for people (migration 0021) are not for its migrations,
    // which may rewrite every row of a large table.
    client
        .batch_execute("SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0")
        .await?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await?;
    let result = apply_locked(client).await;
    // Released on disconnect anyway; unlocking here keeps a long-lived connection clean.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await;
    result
}

async fn apply_locked(client: &mut Client) -> Result<Report, MigrateError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS public.schema_migrations (
                 version    integer PRIMARY KEY,
                 name       text NOT NULL,
                 checksum   text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await?;
    let applied = client
        .query(
            "SELECT version, name, checksum FROM public.schema_migrations ORDER BY version",
            &[],
        )
        .await?;
    let mut report = Report::default();
    for row in &applied {
        let version: i32 = row.get(0);
        if !MIGRATIONS.iter().any(|m| m.version == version) {
            return Err(MigrateError::Unknown(version));
        }
    }
    for m in MIGRATIONS {
        let checksum = checksum(client, m.sql).await?;
        if let Some(row) = applied.iter().find(|r| r.get::<_, i32>(0) == m.version) {
            if row.get::<_, String>(2) != checksum {
                return Err(MigrateError::Edited(m.name.to_owned()));
            }
            report.already += 1;
            continue;
        }
        let tx = client.transaction().await?;
        let failed = |e: tokio_postgres::Error| MigrateError::Failed {
            name: m.name.to_owned(),
            source: e.into(),
        };
        tx.batch_execute(m.sql).await.map_err(failed)?;
        // Migrations create objects as tickets_owner (SET LOCAL ROLE); the bookkeeping is ours.
        tx.batch_execute("RESET ROLE").await.map_err(failed)?;
        tx.execute(
            "INSERT INTO public.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &checksum],
        )
        .await
        .map_err(failed)?;
        tx.commit().await.map_err(failed)?;
        tracing::info!(migration = m.name, "applied");
        report.applied.push(m.name.to_owned());
    }
    Ok(report)
}

/// SHA-256 of the file, computed by the server so the binary needs no hashing crate.
async fn checksum(client: &Client, sql: &str) -> Result<String, MigrateError> {
    let row = client
        .query_one(
            "SELECT encode(sha256(convert_to($1::text, 'UTF8')), 'hex')",
            &[&sql],
        )
        .await?;
    Ok(row.get(0))
}

/// Whether every embedded migration has been applied (for commands that need the schema).
pub async fn pending(client: &Client) -> Result<usize, DbError> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('public.schema_migrations') IS NOT NULL",
            &[],
        )
        .await?
        .get(0);
    if !exists {
        return Ok(MIGRATIONS.len());
    }
    let n: i64 = client
        .query_one("SELECT count(*) FROM public.schema_migrations", &[])
        .await?
        .get(0);
    Ok(MIGRATIONS.len().saturating_sub(n as usize))
}
