//! Embedded migrations: applied in order, each in its own transaction, serialised by a lock on
//! the bookkeeping table that no client can take, and refused when a file already applied has
//! since been edited.

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
    migration!(25, "0025_bounded_calls.sql"),
    migration!(26, "0026_agents_read_messages_like_the_floor.sql"),
    migration!(27, "0027_claim_names_the_winner.sql"),
    migration!(28, "0028_message_copy_under_repeatable_read.sql"),
    migration!(29, "0029_lists_read_like_the_floor.sql"),
    migration!(30, "0030_agents_active_count_maintained.sql"),
    migration!(31, "0031_unseen_count_at_most.sql"),
    migration!(
        32,
        "0032_reopened_by_a_customer_reaches_an_active_agent.sql"
    ),
    migration!(33, "0033_the_pool_rule_as_a_restrictive_policy.sql"),
    migration!(34, "0034_announcer_reads_its_queues_by_index.sql"),
    migration!(35, "0035_unseen_count_plans_per_role.sql"),
    migration!(36, "0036_one_index_less_per_ticket_write.sql"),
    migration!(37, "0037_seen_markers_know_closed_tickets.sql"),
    migration!(38, "0038_seen_markers_keep_their_flag_to_themselves.sql"),
    migration!(39, "0039_changes_say_whether_counts_moved.sql"),
    migration!(40, "0040_agents_news_count_reads_only_the_index.sql"),
    migration!(41, "0041_client_functions_plan_once.sql"),
    migration!(42, "0042_search_without_parallel_workers.sql"),
    migration!(43, "0043_urgent_first_pages_read_two_ranges.sql"),
    migration!(44, "0044_agent_queue_refuses_a_null_queue.sql"),
    migration!(45, "0045_appended_rows_take_time_ordered_ids.sql"),
    migration!(46, "0046_names_on_a_page_looked_up_by_id.sql"),
    migration!(47, "0047_a_write_computes_only_what_it_changes.sql"),
    migration!(48, "0048_a_ticket_probed_by_id_reads_two_pages.sql"),
    migration!(49, "0049_a_customers_search_reads_only_their_words.sql"),
    migration!(50, "0050_an_agents_count_reads_like_the_floor.sql"),
    migration!(
        51,
        "0051_a_ticket_update_asks_who_only_for_a_status_move.sql"
    ),
    migration!(52, "0052_the_update_checks_lineage.sql"),
];

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
    #[error(
        "public.schema_migrations belongs to {0}, not a superuser: someone else made it (migrate relies on nobody but superusers being able to lock it); drop it and run migrate again"
    )]
    ForeignBookkeeping(String),
    #[error(
        "migration {name} waited too long for a lock held by: {holders}; run migrate again when they are done (the watchdog of `tickets notifier` ends a person's transaction after app.limits.longest_idle_in_transaction), or end them now with SELECT pg_terminate_backend(pid)"
    )]
    LockHeld { name: String, holders: String },
    #[error(
        "migration {name} needs an extension this PostgreSQL server does not have: {source}. It is part of PostgreSQL's contrib: Debian's and Ubuntu's postgresql package ships it; elsewhere install postgresql-contrib (or your distribution's equivalent) for the server's version, then run migrate again"
    )]
    MissingExtension { name: String, source: DbError },
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
    migrate_with(client, MIGRATIONS).await
}

/// [`migrate`] with a list of one's own (tests add a migration to the embedded ones).
pub async fn migrate_with(
    client: &mut Client,
    migrations: &[Migration],
) -> Result<Report, MigrateError> {
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
    create_bookkeeping(client).await?;
    let applied = client
        .query(
            "SELECT version, name, checksum FROM public.schema_migrations ORDER BY version",
            &[],
        )
        .await?;
    let mut report = Report::default();
    for row in &applied {
        let version: i32 = row.get(0);
        if !migrations.iter().any(|m| m.version == version) {
            return Err(MigrateError::Unknown(version));
        }
    }
    for m in migrations {
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
        // Migrators take turns per migration on a lock of the bookkeeping table, which only
        // its owner (a superuser) and superusers can take: EXCLUSIVE conflicts with every
        // lock but a plain read's, and the others need UPDATE, DELETE or TRUNCATE on it, which
        // nobody is granted. (It was an advisory lock: any login could hold its key forever.)
        // Another migrator is waited for however long its migration takes.
        let wait: String = tx.query_one("SHOW lock_timeout", &[]).await?.get(0);
        tx.batch_execute(
            "SET LOCAL lock_timeout = 0; LOCK TABLE public.schema_migrations IN EXCLUSIVE MODE",
        )
        .await?;
        tx.execute("SELECT set_config('lock_timeout', $1, true)", &[&wait])
            .await?;
        let done = tx
            .query_opt(
                "SELECT checksum FROM public.schema_migrations WHERE version = $1",
                &[&m.version],
            )
            .await?;
        if let Some(row) = done {
            // Applied by another migrator while this one waited.
            if row.get::<_, String>(0) != checksum {
                return Err(MigrateError::Edited(m.name.to_owned()));
            }
            tx.commit().await?;
            report.already += 1;
            continue;
        }
        if let Err(e) = tx.batch_execute(m.sql).await {
            drop(tx);
            if e.code() == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE)
                && let Some(holders) = lock_holders(client).await
            {
                return Err(MigrateError::LockHeld {
                    name: m.name.to_owned(),
                    holders,
                });
            }
            if missing_extension(&e) {
                return Err(MigrateError::MissingExtension {
                    name: m.name.to_owned(),
                    source: e.into(),
                });
            }
            return Err(failed(e));
        }
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

/// Whether CREATE EXTENSION failed for want of the extension's files on the server (installed
/// without its contrib package): 0A000 "extension ... is not available" in current minor
/// releases (15.18 here), 58P01 "could not open extension control file" in older ones.
fn missing_extension(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    let Some(db) = e.as_db_error() else {
        return false;
    };
    let message = db.message();
    match db.code() {
        c if *c == SqlState::FEATURE_NOT_SUPPORTED => {
            message.starts_with("extension ") && message.ends_with(" is not available")
        }
        c if *c == SqlState::UNDEFINED_FILE => message.contains("extension control file"),
        _ => false,
    }
}

/// Creates the bookkeeping table if missing (two migrators may race to: the loser finds it
/// made), and refuses one that a non-superuser owns, since its owner could hold its lock.
async fn create_bookkeeping(client: &Client) -> Result<(), MigrateError> {
    let created = client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS public.schema_migrations (
                 version    integer PRIMARY KEY,
                 name       text NOT NULL,
                 checksum   text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await;
    if let Err(e) = created {
        use tokio_postgres::error::SqlState;
        // Depending on where the two met: the row type, the table, or a catalog index.
        let raced = [
            SqlState::UNIQUE_VIOLATION,
            SqlState::DUPLICATE_TABLE,
            SqlState::DUPLICATE_OBJECT,
        ]
        .iter()
        .any(|c| e.code() == Some(c));
        if !raced {
            return Err(e.into());
        }
    }
    let row = client
        .query_one(
            "SELECT r.rolname::text, r.rolsuper FROM pg_catalog.pg_class c
             JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
             WHERE c.oid = 'public.schema_migrations'::regclass",
            &[],
        )
        .await?;
    if !row.get::<_, bool>(1) {
        return Err(MigrateError::ForeignBookkeeping(row.get(0)));
    }
    Ok(())
}

/// Issue 14 item 11, on the operator's request (`tickets migrate --lock-maintenance-db`): the
/// cluster's maintenance databases grant CONNECT and TEMPORARY to PUBLIC by default, so every
/// person could open `postgres` and keep temp tables there. Revokes both from PUBLIC on
/// `postgres` and `template1` where PUBLIC still has either; returns the databases changed.
/// Superusers keep their way in; a role that needs them gets CONNECT by name.
pub async fn lock_maintenance_databases(client: &Client) -> Result<Vec<String>, MigrateError> {
    let open = client
        .query(
            "SELECT d.datname::text FROM pg_catalog.pg_database d
             WHERE d.datname IN ('postgres', 'template1')
               AND (pg_catalog.has_database_privilege('public', d.oid, 'CONNECT')
                    OR pg_catalog.has_database_privilege('public', d.oid, 'TEMPORARY'))
             ORDER BY d.datname",
            &[],
        )
        .await?;
    let mut closed = Vec::new();
    for row in open {
        let name: String = row.get(0);
        client
            .batch_execute(&format!(
                "REVOKE CONNECT, TEMPORARY ON DATABASE \"{}\" FROM PUBLIC",
                name.replace('"', "\"\"")
            ))
            .await?;
        closed.push(name);
    }
    Ok(closed)
}

/// Who holds table locks in this database in an open transaction (a migration's lock wait
/// timed out behind one of them): "login (pid N, in a transaction since HH:MM:SS, state)".
async fn lock_holders(client: &Client) -> Option<String> {
    let rows = client
        .query(
            "SELECT format('%s (pid %s, in a transaction since %s, %s)', a.usename, a.pid,
                           to_char(a.xact_start, 'YYYY-MM-DD HH24:MI:SS TZ'), a.state)
             FROM pg_catalog.pg_stat_activity a
             WHERE a.datname = current_database() AND a.pid <> pg_catalog.pg_backend_pid()
               AND a.xact_start IS NOT NULL
               AND EXISTS (SELECT 1 FROM pg_catalog.pg_locks l
                           WHERE l.pid = a.pid AND l.granted AND l.locktype = 'relation')
             ORDER BY a.xact_start",
            &[],
        )
        .await
        .ok()?;
    let holders: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    (!holders.is_empty()).then(|| holders.join(", "))
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
