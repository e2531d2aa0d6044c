//! The measuring half of the pane bench: timing a run on both paths, the server's own
//! figures, and the keys compared with the floor.

use super::super::{percentiles, time};
use crate::db::DbError;
use eyre::Result;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};
use tokio_postgres::Client;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

/// What a run returned, to compare with the floor: ids in order, or a count.
pub(super) type Keys = Vec<String>;
pub(super) type Run<'a> =
    Box<dyn FnMut() -> Pin<Box<dyn Future<Output = Result<Keys, DbError>> + 'a>> + 'a>;

pub(super) struct Measured {
    pub(super) p50: f64,
    pub(super) p99: f64,
    /// Server-side execution per call (ms, the median) and shared buffers per call (the mean),
    /// when known.
    pub(super) server: Option<(f64, f64)>,
    pub(super) keys: Keys,
}

/// One side's calls.
#[derive(Default)]
struct Samples {
    round_trips: Vec<Duration>,
    server_ms: Vec<f64>,
    blocks: f64,
}

impl Samples {
    fn finish(self, statements: bool, keys: Keys) -> Measured {
        let calls = self.server_ms.len();
        let server = (statements && calls > 0).then(|| {
            let mut ms = self.server_ms;
            ms.sort_by(f64::total_cmp);
            (ms[calls / 2], self.blocks / calls as f64)
        });
        let (p50, p99) = percentiles(self.round_trips);
        Measured {
            p50,
            p99,
            server,
            keys,
        }
    }
}

pub(super) struct Bench<'a> {
    pub(super) admin: &'a Client,
    pub(super) statements: bool,
    pub(super) n: usize,
    pub(super) out: String,
}

impl<'a> Bench<'a> {
    /// The server's running totals for `role`'s statements: execution ms and shared buffers.
    async fn totals(&self, role: &str) -> Result<(f64, f64)> {
        let row = self
            .admin
            .query_one(
                "SELECT coalesce(sum(s.total_exec_time), 0)::float8,
                        coalesce(sum(s.shared_blks_hit + s.shared_blks_read), 0)::float8
                 FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
                 WHERE r.rolname = $1 AND s.query NOT ILIKE '%pg_stat_statements%'",
                &[&role],
            )
            .await?;
        Ok((row.get(0), row.get(1)))
    }

    /// One call of `run` as `role`: its round trip and, when pg_stat_statements is there, the
    /// server's execution time and buffers for it (the change in the role's totals).
    async fn call(&self, role: &str, run: &mut Run<'_>, into: &mut Samples) -> Result<()> {
        let before = if self.statements {
            Some(self.totals(role).await?)
        } else {
            None
        };
        let started = Instant::now();
        run().await?;
        into.round_trips.push(started.elapsed());
        if let Some((ms, blocks)) = before {
            let (ms_after, blocks_after) = self.totals(role).await?;
            into.server_ms.push(ms_after - ms);
            into.blocks += blocks_after - blocks;
        }
        Ok(())
    }

    /// Times the path as `role` and its floor as the superuser, call for call in turn, so that
    /// both meet the same moments of a shared machine; a side's server time is the median of
    /// its calls (one call slowed by a neighbour moves a mean, not a median).
    pub(super) async fn measure(
        &self,
        (role, run): (&str, &mut Run<'_>),
        (su, floor): (&str, &mut Run<'_>),
        n: usize,
    ) -> Result<(Measured, Measured)> {
        time(2, &mut *run).await?; // plans and caches warm before the statistics start
        time(2, &mut *floor).await?;
        if self.statements {
            self.admin
                .batch_execute("SELECT pg_stat_statements_reset()")
                .await?;
        }
        let (mut m, mut f) = (Samples::default(), Samples::default());
        for _ in 0..n {
            self.call(role, run, &mut m).await?;
            self.call(su, floor, &mut f).await?;
        }
        Ok((
            m.finish(self.statements, run().await?),
            f.finish(self.statements, floor().await?),
        ))
    }

    /// One table row: a path measured as `role`, its floor as the superuser.
    pub(super) async fn row(
        &mut self,
        name: &str,
        path: &str,
        role: &str,
        heavy: bool,
        mut run: Run<'_>,
        mut floor: Run<'_>,
    ) -> Result<()> {
        let n = if heavy { self.n.min(20) } else { self.n };
        let su = self.admin_role().await?;
        let (m, f) = self.measure((role, &mut run), (&su, &mut floor), n).await?;
        let server = |m: &Measured| {
            m.server
                .map_or("-".to_owned(), |(ms, _)| format!("{ms:.3}"))
        };
        let buffers = |m: &Measured| m.server.map_or("-".to_owned(), |(_, b)| format!("{b:.0}"));
        let ratio = match (m.server, f.server) {
            (Some((a, _)), Some((b, _))) if b > 0.0 => format!("{:.2}x", a / b),
            _ => format!("{:.2}x (round trip)", m.p50 / f.p50),
        };
        // The goal (issue 13): within 2x of the floor plus 0.2 ms, and under 2 ms, server-side.
        let goal = match (m.server, f.server) {
            (Some((a, _)), Some((b, _))) if a <= 2.0 * b + 0.2 && a < 2.0 => "met",
            (Some(_), Some(_)) => "NOT met",
            _ => "-",
        };
        let same = if m.keys == f.keys {
            format!("yes ({})", m.keys.len())
        } else {
            format!("NO ({} vs {})", m.keys.len(), f.keys.len())
        };
        self.out.push_str(&format!(
            "| {name} | {path} | {:.3} / {:.3} | {} | {} | {:.3} / {:.3} | {} | {} | {ratio} | {goal} | {same} |\n",
            m.p50,
            m.p99,
            server(&m),
            buffers(&m),
            f.p50,
            f.p99,
            server(&f),
            buffers(&f),
        ));
        Ok(())
    }

    pub(super) async fn admin_role(&self) -> Result<String> {
        Ok(self
            .admin
            .query_one("SELECT session_user::text", &[])
            .await?
            .get(0))
    }
}

/// A plain statement's first column as keys (ids or a count).
pub(super) fn sql<'a>(
    c: &'a Client,
    sql: String,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
) -> Run<'a> {
    let params = std::sync::Arc::new(params);
    Box::new(move || {
        let sql = sql.clone();
        let params = params.clone();
        Box::pin(async move {
            let refs: Vec<&(dyn ToSql + Sync)> = params
                .iter()
                .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                .collect();
            let rows = c.query(&sql, &refs).await?;
            Ok(rows.iter().map(key_of).collect())
        })
    })
}

pub(super) fn key_of(r: &tokio_postgres::Row) -> String {
    if let Ok(id) = r.try_get::<_, Uuid>(0) {
        return id.to_string();
    }
    r.try_get::<_, i64>(0)
        .map(|n| n.to_string())
        .unwrap_or_default()
}

pub(super) fn boxed<T: ToSql + Sync + Send + 'static>(v: T) -> Box<dyn ToSql + Sync + Send> {
    Box::new(v)
}

pub(super) fn ids<T>(rows: Vec<T>, id: impl Fn(&T) -> Uuid) -> Keys {
    rows.iter().map(|r| id(r).to_string()).collect()
}
