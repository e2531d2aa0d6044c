//! `tickets bench`, the conversation: loading the busiest ticket's thread through RLS, as its
//! customer and as its agent (the real people, over their own logins), next to the same rows
//! read by a superuser without RLS (the floor). Four queries: what a psql user writes (all the
//! messages of a ticket; their first page; the first page of `ticket_thread`) and the client's
//! own page query (`db::thread`, with names). Each pair is checked to return the same rows
//! before it is timed; server-side times and buffers of both sides come from EXPLAIN (ANALYZE,
//! BUFFERS); the data is checked to be as it was found (the bench only reads).

use super::percentiles;
use crate::db::{self, repo, thread};
use crate::model::*;
use eyre::{Result, eyre};
use std::future::Future;
use std::time::{Duration, Instant};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config};
use uuid::Uuid;

/// A page as the client asks for it.
const PAGE: i64 = 50;

/// The psql user's queries (`$1` the ticket), each with its floor for the superuser, who sees
/// notes: `$2` says whether to leave them out.
const PSQL: [(&str, &str, &str); 3] = [
    (
        "psql: SELECT … FROM ticket_messages WHERE ticket_id = $1 ORDER BY created_at, id",
        "SELECT id, author_id, body, internal, created_at FROM ticket_messages \
         WHERE ticket_id = $1 ORDER BY created_at, id",
        "SELECT id, author_id, body, internal, created_at FROM ticket_messages \
         WHERE ticket_id = $1 AND NOT ($2 AND internal) ORDER BY created_at, id",
    ),
    (
        "psql: the same, first page (LIMIT 50)",
        "SELECT id, author_id, body, internal, created_at FROM ticket_messages \
         WHERE ticket_id = $1 ORDER BY created_at, id LIMIT 50",
        "SELECT id, author_id, body, internal, created_at FROM ticket_messages \
         WHERE ticket_id = $1 AND NOT ($2 AND internal) ORDER BY created_at, id LIMIT 50",
    ),
    (
        "psql: first page of ticket_thread (ORDER BY at, id LIMIT 50)",
        "SELECT * FROM ticket_thread WHERE ticket_id = $1 ORDER BY at, id LIMIT 50",
        "SELECT * FROM ticket_thread WHERE ticket_id = $1 AND NOT ($2 AND internal) \
         ORDER BY at, id LIMIT 50",
    ),
];
const CLIENT: &str = "client: first page with names (db::thread::page, 50)";

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

type Params<'a> = [&'a (dyn ToSql + Sync)];

/// Server-side cost of a statement: p50 of EXPLAIN ANALYZE's planning + execution (ms), and the
/// shared buffers its execution touched (hit or read) in that run.
async fn server(c: &Client, sql: &str, params: &Params<'_>, n: usize) -> Result<(f64, i64)> {
    let mut runs = Vec::with_capacity(n);
    for _ in 0..n {
        let row = c
            .query_one(
                &format!("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}"),
                params,
            )
            .await
            .map_err(db::DbError::from)?;
        let plan: serde_json::Value = row.get(0);
        let ms = |k: &str| plan[0][k].as_f64().unwrap_or(0.0);
        let blocks = |k: &str| plan[0]["Plan"][k].as_i64().unwrap_or(0);
        runs.push((
            ms("Planning Time") + ms("Execution Time"),
            blocks("Shared Hit Blocks") + blocks("Shared Read Blocks"),
        ));
    }
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(runs[runs.len() / 2])
}

/// The goal: server-side within 2x of the floor (+0.2 ms for the fixed cost of identity) and,
/// for a page, under 2 ms.
fn goal(rls: f64, floor: f64, page: bool) -> &'static str {
    if rls <= 2.0 * floor + 0.2 && (!page || rls < 2.0) {
        "met"
    } else {
        "**NOT met**"
    }
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
        "\n## The busiest ticket's thread ({messages} messages, {notes} of them notes, {history} history rows; {})\n\n\
         | query | as | rows | RLS p50 ms | RLS p99 ms | floor p50 ms | floor p99 ms | p50 ratio | server RLS ms (buffers) | server floor ms (buffers) | goal (server) |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
        super::load_average()
    );
    let floor_page = floor_page_sql();
    let none_at: Option<chrono::DateTime<chrono::Utc>> = None;
    let none_id: Option<Uuid> = None;
    for (login, hides_notes) in [(&customer_login, true), (&agent_login, false)] {
        let mut config = base.clone();
        config.user(login.as_str()).password(password);
        let c = db::connect_config(&config)
            .await
            .map_err(|e| eyre!("log in as {login}: {e}"))?;
        let me = repo::whoami(&c).await?;
        let who = me.role.to_string();
        let rls_params: [&(dyn ToSql + Sync); 1] = [&ticket];
        let floor_params: [&(dyn ToSql + Sync); 2] = [&ticket, &hides_notes];
        let page_params: [&(dyn ToSql + Sync); 4] = [&ticket, &none_at, &none_id, &PAGE];
        let floor_page_params: [&(dyn ToSql + Sync); 5] =
            [&ticket, &none_at, &none_id, &PAGE, &hides_notes];

        let mut rows = Vec::new();
        for (name, rls_sql, floor_sql) in PSQL {
            // Both sides must return the same rows before their times mean anything.
            let got = ids(&c
                .query(rls_sql, &rls_params)
                .await
                .map_err(db::DbError::from)?);
            let want = ids(&admin_db
                .query(floor_sql, &floor_params)
                .await
                .map_err(db::DbError::from)?);
            same(name, login, &got, &want)?;
            let (rls, floor) = interleaved(
                n,
                || async {
                    c.query(rls_sql, &rls_params)
                        .await
                        .map_err(db::DbError::from)
                },
                || async {
                    admin_db
                        .query(floor_sql, &floor_params)
                        .await
                        .map_err(db::DbError::from)
                },
            )
            .await?;
            let page = rls_sql.contains("LIMIT");
            let s_rls = server(&c, rls_sql, &rls_params, 21).await?;
            let s_floor = server(admin_db, floor_sql, &floor_params, 21).await?;
            rows.push((name, got.len(), rls, floor, s_rls, s_floor, page));
        }
        // The client's own page query, through its own function.
        let got: Vec<Uuid> = thread::page(&c, &me, ticket, None, PAGE)
            .await?
            .iter()
            .map(|e| e.id)
            .collect();
        let want = ids(&admin_db
            .query(&floor_page, &floor_page_params)
            .await
            .map_err(db::DbError::from)?);
        same(CLIENT, login, &got, &want)?;
        let (rls, floor) = interleaved(
            n,
            || thread::page(&c, &me, ticket, None, PAGE),
            || async {
                admin_db
                    .query(&floor_page, &floor_page_params)
                    .await
                    .map_err(db::DbError::from)
            },
        )
        .await?;
        let s_rls = server(&c, &thread::page_sql(me.role), &page_params, 21).await?;
        let s_floor = server(admin_db, &floor_page, &floor_page_params, 21).await?;
        rows.push((CLIENT, got.len(), rls, floor, s_rls, s_floor, true));

        for (name, count, rls, floor, (s_rls, b_rls), (s_floor, b_floor), page) in rows {
            let ((a, b), (c_, d)) = (percentiles(rls), percentiles(floor));
            out.push_str(&format!(
                "| {name} | {who} | {count} | {a:.3} | {b:.3} | {c_:.3} | {d:.3} | {:.2}x | {s_rls:.3} ({b_rls}) | {s_floor:.3} ({b_floor}) | {} |\n",
                a / c_,
                goal(s_rls, s_floor, page)
            ));
        }
    }
    out.push_str(
        "\nRound trips over the bench's connection; server-side: p50 of 21 EXPLAIN (ANALYZE, BUFFERS) \
         runs, planning + execution, with that run's shared buffers. Goal: within 2x of the floor \
         (+0.2 ms) and a page under 2 ms.\n",
    );
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

/// Times both sides `n` times each, alternating (after a warm-up of each), so that whatever else
/// the machine does falls on both alike.
async fn interleaved<A, AF, TA, B, BF, TB>(
    n: usize,
    mut rls: A,
    mut floor: B,
) -> Result<(Vec<Duration>, Vec<Duration>)>
where
    A: FnMut() -> AF,
    AF: Future<Output = Result<TA, db::DbError>>,
    B: FnMut() -> BF,
    BF: Future<Output = Result<TB, db::DbError>>,
{
    for _ in 0..n.div_ceil(10).max(3) {
        rls().await?;
        floor().await?;
    }
    let (mut a, mut b) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let started = Instant::now();
        rls().await?;
        a.push(started.elapsed());
        let started = Instant::now();
        floor().await?;
        b.push(started.elapsed());
    }
    Ok((a, b))
}

fn same(name: &str, login: &str, rls: &[Uuid], floor: &[Uuid]) -> Result<()> {
    if rls != floor || rls.is_empty() {
        return Err(eyre!(
            "{name} as {login}: {} rows through RLS, {} at the floor, not the same",
            rls.len(),
            floor.len()
        ));
    }
    Ok(())
}
