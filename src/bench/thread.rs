//! `tickets bench`, the conversation: loading the busiest ticket's thread through RLS, as its
//! customer and as its agent (the real people, over their own logins), next to the same rows
//! read by a superuser without RLS (the floor). Three queries: what a psql user writes (the
//! messages of a ticket; the first page of `ticket_thread`) and the client's own page query
//! (`db::thread`, with names). Each pair is checked to return the same rows before it is timed,
//! server-side times of the first page come from EXPLAIN ANALYZE, and the data is checked to be
//! as it was found (the bench only reads).

use super::{percentiles, time};
use crate::db::{self, repo, thread};
use crate::model::*;
use eyre::{Result, eyre};
use tokio_postgres::{Client, Config};
use uuid::Uuid;

/// A page as the client asks for it.
const PAGE: i64 = 50;

/// The psql user's query of a ticket's messages: oldest first, all of them.
const PSQL_MESSAGES: &str = "SELECT id, author_id, body, internal, created_at FROM ticket_messages \
     WHERE ticket_id = $1 ORDER BY created_at, id";
/// The same for the superuser, who sees notes: `$2` says whether to leave them out.
const FLOOR_MESSAGES: &str = "SELECT id, author_id, body, internal, created_at FROM ticket_messages \
     WHERE ticket_id = $1 AND NOT ($2 AND internal) ORDER BY created_at, id";
/// The psql user's first page of the thread.
const PSQL_THREAD: &str =
    "SELECT * FROM ticket_thread WHERE ticket_id = $1 ORDER BY at, id LIMIT 50";
const FLOOR_THREAD: &str = "SELECT * FROM ticket_thread WHERE ticket_id = $1 AND NOT ($2 AND internal) \
     ORDER BY at, id LIMIT 50";

/// What must not change: the messages, the marks, the tickets' last change.
const FINGERPRINT: &str = "SELECT (SELECT count(*) FROM ticket_messages)::text || ' ' \
     || (SELECT max(created_at) FROM ticket_messages)::text || ' ' \
     || (SELECT count(*) FROM ticket_seen)::text || ' ' || (SELECT max(updated_at) FROM tickets)::text";

/// The client's page query for the floor: the staff form (names from users), as superuser,
/// notes left out when `$5` is true.
fn floor_page_sql() -> String {
    thread::page_sql(Role::Agent).replace(
        "WHERE ticket_id = $1 AND",
        "WHERE ticket_id = $1 AND NOT ($5::bool AND internal) AND",
    )
}

fn ids(rows: &[tokio_postgres::Row]) -> Vec<Uuid> {
    rows.iter().map(|r| r.get::<_, Uuid>("id")).collect()
}

/// Server-side time of a statement: p50 of EXPLAIN ANALYZE's planning + execution, in ms.
async fn server_ms(
    c: &Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    n: usize,
) -> Result<f64> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let row = c
            .query_one(&format!("EXPLAIN (ANALYZE, FORMAT JSON) {sql}"), params)
            .await
            .map_err(db::DbError::from)?;
        let plan: serde_json::Value = row.get(0);
        let at = |k: &str| plan[0][k].as_f64().unwrap_or(0.0);
        times.push(at("Planning Time") + at("Execution Time"));
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// The thread section of the report (markdown).
pub async fn section(base: &Config, admin_db: &Client, password: &str, n: usize) -> Result<String> {
    let busiest = admin_db
        .query_one(
            "SELECT m.ticket_id, count(*), count(*) FILTER (WHERE m.internal), c.login, a.login, \
                    (SELECT count(*) FROM ticket_status_history h WHERE h.ticket_id = m.ticket_id) \
             FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id \
             JOIN users c ON c.id = t.customer_id LEFT JOIN users a ON a.id = t.agent_id \
             GROUP BY m.ticket_id, c.login, a.login ORDER BY count(*) DESC LIMIT 1",
            &[],
        )
        .await
        .map_err(db::DbError::from)?;
    let ticket: Uuid = busiest.get(0);
    let (messages, notes, history): (i64, i64, i64) =
        (busiest.get(1), busiest.get(2), busiest.get(5));
    let customer_login: String = busiest.get(3);
    let agent_login: Option<String> = busiest.get(4);
    let agent_login =
        agent_login.ok_or_else(|| eyre!("the busiest ticket has no agent to read it as"))?;
    let before: String = admin_db
        .query_one(FINGERPRINT, &[])
        .await
        .map_err(db::DbError::from)?
        .get(0);

    let mut out = format!(
        "\n| thread of the busiest ticket ({messages} messages, {notes} of them notes, {history} history rows) | as | RLS p50 ms | RLS p99 ms | floor p50 ms | floor p99 ms | p50 ratio |\n|---|---|---:|---:|---:|---:|---:|\n"
    );
    let mut server = Vec::new();
    for (login, hides_notes) in [(&customer_login, true), (&agent_login, false)] {
        let mut config = base.clone();
        config.user(login.as_str()).password(password);
        let c = db::connect_config(&config)
            .await
            .map_err(|e| eyre!("log in as {login}: {e}"))?;
        let me = repo::whoami(&c).await?;
        let who = me.role.to_string();
        let floor_page = floor_page_sql();
        let none_at: Option<chrono::DateTime<chrono::Utc>> = None;
        let none_id: Option<Uuid> = None;

        // Both sides must return the same rows before their times mean anything.
        let pairs: [(&str, Vec<Uuid>, Vec<Uuid>); 3] = [
            (
                "psql: SELECT … FROM ticket_messages WHERE ticket_id = $1 ORDER BY created_at, id",
                ids(&c
                    .query(PSQL_MESSAGES, &[&ticket])
                    .await
                    .map_err(db::DbError::from)?),
                ids(&admin_db
                    .query(FLOOR_MESSAGES, &[&ticket, &hides_notes])
                    .await
                    .map_err(db::DbError::from)?),
            ),
            (
                "psql: first page of ticket_thread (LIMIT 50)",
                ids(&c
                    .query(PSQL_THREAD, &[&ticket])
                    .await
                    .map_err(db::DbError::from)?),
                ids(&admin_db
                    .query(FLOOR_THREAD, &[&ticket, &hides_notes])
                    .await
                    .map_err(db::DbError::from)?),
            ),
            (
                "client: first page with names (db::thread::page, 50)",
                thread::page(&c, &me, ticket, None, PAGE)
                    .await?
                    .iter()
                    .map(|e| e.id)
                    .collect(),
                ids(&admin_db
                    .query(
                        &floor_page,
                        &[&ticket, &none_at, &none_id, &PAGE, &hides_notes],
                    )
                    .await
                    .map_err(db::DbError::from)?),
            ),
        ];
        for (name, rls, floor) in &pairs {
            if rls != floor || rls.is_empty() {
                return Err(eyre!(
                    "{name} as {login}: {} rows through RLS, {} at the floor, not the same",
                    rls.len(),
                    floor.len()
                ));
            }
        }
        let rls = [
            time(n, || async {
                c.query(PSQL_MESSAGES, &[&ticket])
                    .await
                    .map_err(db::DbError::from)
            })
            .await?,
            time(n, || async {
                c.query(PSQL_THREAD, &[&ticket])
                    .await
                    .map_err(db::DbError::from)
            })
            .await?,
            time(n, || thread::page(&c, &me, ticket, None, PAGE)).await?,
        ];
        let floor = [
            time(n, || async {
                admin_db
                    .query(FLOOR_MESSAGES, &[&ticket, &hides_notes])
                    .await
                    .map_err(db::DbError::from)
            })
            .await?,
            time(n, || async {
                admin_db
                    .query(FLOOR_THREAD, &[&ticket, &hides_notes])
                    .await
                    .map_err(db::DbError::from)
            })
            .await?,
            time(n, || async {
                admin_db
                    .query(
                        &floor_page,
                        &[&ticket, &none_at, &none_id, &PAGE, &hides_notes],
                    )
                    .await
                    .map_err(db::DbError::from)
            })
            .await?,
        ];
        for (((name, got, _), rls), floor) in pairs.iter().zip(rls).zip(floor) {
            let ((a, b), (c_, d)) = (percentiles(rls), percentiles(floor));
            out.push_str(&format!(
                "| {name} ({} rows) | {who} | {a:.3} | {b:.3} | {c_:.3} | {d:.3} | {:.2}x |\n",
                got.len(),
                a / c_
            ));
        }
        let page_sql = thread::page_sql(me.role);
        let rls_ms = server_ms(&c, &page_sql, &[&ticket, &none_at, &none_id, &PAGE], 21).await?;
        let floor_ms = server_ms(
            admin_db,
            &floor_page,
            &[&ticket, &none_at, &none_id, &PAGE, &hides_notes],
            21,
        )
        .await?;
        let psql_ms = server_ms(&c, PSQL_THREAD, &[&ticket], 21).await?;
        server.push(format!(
            "| {who} | {rls_ms:.3} | {floor_ms:.3} | {psql_ms:.3} |"
        ));
    }
    out.push_str("\n| first page server-side (EXPLAIN ANALYZE, planning + execution, p50 of 21) | client's page query, RLS ms | same at the floor ms | psql's ticket_thread page, RLS ms |\n|---|---:|---:|---:|\n");
    for line in server {
        out.push_str(&line);
        out.push('\n');
    }
    let after: String = admin_db
        .query_one(FINGERPRINT, &[])
        .await
        .map_err(db::DbError::from)?
        .get(0);
    if after != before {
        return Err(eyre!(
            "the thread bench changed the data: {before} -> {after}"
        ));
    }
    out.push_str("\n(data checked unchanged after the thread bench)\n");
    Ok(out)
}
