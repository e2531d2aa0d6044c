//! Live clients held open, for measuring writers beside them (pgbench, BENCHMARKS.md).

use crate::db::listen::{self, ListenEvent};
use eyre::{Result, eyre};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio_postgres::Config;

/// Holds `count` live listeners (the client's own, reading the change log through RLS) as
/// seeded agents PREFIX_agent2.. and customers, until Ctrl-C; prints what they heard.
/// With `raw`, each is a bare `LISTEN tickets_changed` session instead (what every client
/// held before the change log, for the comparison).
pub async fn hold_listeners(
    database_url: &str,
    prefix: &str,
    password: &str,
    count: usize,
    raw: bool,
) -> Result<()> {
    let base = Config::from_str(database_url).map_err(|e| eyre!("the database URL: {e}"))?;
    let heard = Arc::new(AtomicUsize::new(0));
    let stop = tokio_util::sync::CancellationToken::new();
    for i in 0..count {
        // Mixed roles: two agents for every customer the seed gave a login (10 by default).
        let login = if i % 3 == 2 && i / 3 < 10 {
            format!("{prefix}_customer{}", i / 3 + 1)
        } else {
            format!("{prefix}_agent{}", 2 + i % 199)
        };
        let config = super::login(&base, &login, password);
        let heard = heard.clone();
        let stop = stop.clone();
        if raw {
            tokio::spawn(async move {
                let Ok((client, mut conn)) = config.connect(tokio_postgres::NoTls).await else {
                    return;
                };
                let driver = tokio::spawn(async move {
                    while let Some(Ok(m)) =
                        futures_util::future::poll_fn(|cx| conn.poll_message(cx)).await
                    {
                        if matches!(m, tokio_postgres::AsyncMessage::Notification(_)) {
                            heard.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
                let _ = client.batch_execute("LISTEN tickets_changed").await;
                stop.cancelled().await;
                driver.abort();
            });
        } else {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(listen::run(
                listen::Link::standalone(config.into()),
                tx,
                stop.clone(),
            ));
            tokio::spawn(async move {
                while let Some(e) = rx.recv().await {
                    if let ListenEvent::Changed { ids, .. } = e {
                        heard.fetch_add(ids.len(), Ordering::Relaxed);
                    }
                }
            });
        }
    }
    println!(
        "{count} {} listening as {prefix}_agent2.. and {prefix}_customer1..; Ctrl-C stops",
        if raw {
            "bare LISTEN sessions"
        } else {
            "live clients"
        }
    );
    tokio::signal::ctrl_c().await?;
    stop.cancel();
    println!(
        "heard {} {}",
        heard.load(Ordering::Relaxed),
        if raw {
            "notifications"
        } else {
            "visible changes"
        }
    );
    Ok(())
}
