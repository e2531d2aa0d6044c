//! The client's figures: first frame, render time, memory, and live latency.

use super::{BenchArgs, base_without_user, percentiles};
use crate::headless::Headless;
use crate::model::*;
use eyre::{Result, eyre};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::{Duration, Instant};
use tokio_postgres::{Client, Config};

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

pub async fn run(
    args: &BenchArgs,
    base: &Config,
    admin_db: &Client,
    tickets: i64,
) -> Result<String> {
    let admin = format!("{}_admin1", args.prefix);
    let agent = format!("{}_agent1", args.prefix);
    let mut out = String::new();
    // Live clients hear of changes through the notifier: one runs for the bench's duration.
    let stop_notifier = tokio_util::sync::CancellationToken::new();
    tokio::spawn(crate::db::notifier::run(
        base.clone(),
        stop_notifier.clone(),
    ));
    // --- The client ----------------------------------------------------------------------
    out.push_str("\n| client | figure |\n|---|---|\n");
    let rss_start = rss_mb();
    let mut first_frames = Vec::new();
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).map_err(|e| eyre!("{e}"))?;
    let theme = crate::ui::Theme::dark();
    for _ in 0..5 {
        let mut h = Headless::start(base_without_user(base), None);
        h.typed(&admin);
        h.key(ratatui::crossterm::event::KeyCode::Tab);
        h.typed(&args.password);
        let started = Instant::now();
        h.key(ratatui::crossterm::event::KeyCode::Enter);
        h.wait_until(Duration::from_secs(30), |app| {
            app.main().is_some_and(|m| {
                !m.list.rows.is_empty() && m.detail.is_some() && !m.thread.is_empty()
            })
        })
        .await
        .map_err(|e| eyre!("admin login: {e}"))?;
        terminal
            .draw(|f| crate::ui::render(&h.app, &theme, f))
            .map_err(|e| eyre!("{e}"))?;
        first_frames.push(started.elapsed());
        drop(h);
    }
    let (p50, _) = percentiles(first_frames.clone());
    let worst = first_frames
        .iter()
        .max()
        .copied()
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0;
    out.push_str(&format!("| login to first full frame (admin, list+detail+history), 5 runs | p50 {p50:.1} ms, max {worst:.1} ms |\n"));

    // One admin session: render time, then memory while paging through everything visible.
    let mut h = Headless::start(base_without_user(base), None);
    h.log_in(&admin, &args.password)
        .await
        .map_err(|e| eyre!("admin login: {e}"))?;
    let rss_logged_in = rss_mb();
    let mut renders = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let started = Instant::now();
        terminal
            .draw(|f| crate::ui::render(&h.app, &theme, f))
            .map_err(|e| eyre!("{e}"))?;
        renders.push(started.elapsed());
    }
    let (p50, p99) = percentiles(renders);
    out.push_str(&format!("| frame render at 200x60 (admin, 100 rows loaded), 1000 frames | p50 {p50:.3} ms, p99 {p99:.3} ms |\n"));
    let target_rows = 10_000;
    while h
        .main()
        .is_some_and(|m| m.list.rows.len() < target_rows && !m.list.exhausted)
    {
        h.key(ratatui::crossterm::event::KeyCode::Char('G'));
        h.settle().await.map_err(|e| eyre!("{e}"))?;
    }
    let loaded = h.main().map_or(0, |m| m.list.rows.len());
    out.push_str(&format!(
        "| resident memory (whole bench process): before login / admin logged in, {tickets} visible / after paging through {loaded} rows | {rss_start:.1} / {rss_logged_in:.1} / {:.1} MB |\n",
        rss_mb()
    ));
    drop(h);

    // --- Live: COMMIT in one session to the refreshed frame in another client ------------
    // On a ticket of the bench's own (filed by the admin for the busiest customer, so it
    // heads their list, newest first), removed afterwards with its history and change rows:
    // the measured data stays as it was.
    if args.live_changes > 0 {
        let watcher = format!("{}_customer1", args.prefix);
        let outcome = live(args, base, admin_db, &agent, &watcher).await;
        out.push_str(&outcome?);
    }
    out.push_str(
        &super::wire::run(&base_without_user(base), &admin, &args.password)
            .await
            .map_err(|e| eyre!("bytes per key: {e}"))?,
    );
    stop_notifier.cancel();
    Ok(out)
}

async fn live(
    args: &BenchArgs,
    base: &Config,
    admin_db: &Client,
    agent: &str,
    watcher: &str,
) -> Result<String> {
    let writer = crate::db::connect_config(&super::login(
        base,
        &format!("{}_admin1", args.prefix),
        &args.password,
    ))
    .await?;
    let agent_id: uuid::Uuid = admin_db
        .query_one("SELECT id FROM users WHERE login = $1", &[&agent])
        .await?
        .get(0);
    let customer_id: uuid::Uuid = admin_db
        .query_one(
            "SELECT id FROM users WHERE login = $1",
            &[&format!("{}_customer1", args.prefix)],
        )
        .await?
        .get(0);
    let ticket: uuid::Uuid = writer
        .query_one(
            "INSERT INTO tickets (subject, customer_id, agent_id, priority)
             VALUES ('tickets bench: live latency (removed afterwards)', $1, $2, 'urgent')
             RETURNING id",
            &[&customer_id, &agent_id],
        )
        .await?
        .get(0);
    let result = live_on(args, base, &writer, watcher, ticket).await;
    // Remove the bench's ticket whatever happened.
    super::remove_tickets(admin_db, &[ticket]).await?;
    result
}

async fn live_on(
    args: &BenchArgs,
    base: &Config,
    writer: &Client,
    watcher_login: &str,
    ticket: uuid::Uuid,
) -> Result<String> {
    let theme = crate::ui::Theme::dark();
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).map_err(|e| eyre!("{e}"))?;
    let mut watcher = Headless::start(base_without_user(base), None);
    watcher
        .log_in(watcher_login, &args.password)
        .await
        .map_err(|e| eyre!("{watcher_login} login: {e}"))?;
    let shown = watcher
        .main()
        .and_then(|m| m.detail.as_ref().map(|d| d.row.id))
        .ok_or_else(|| eyre!("{watcher_login} shows no ticket"))?;
    if shown != ticket {
        return Err(eyre!(
            "{watcher_login}'s newest ticket is not the bench's (another change at the same moment?)"
        ));
    }
    let mut latencies = Vec::with_capacity(args.live_changes);
    for i in 0..args.live_changes {
        let to = if i % 2 == 0 {
            Priority::High
        } else {
            Priority::Urgent
        };
        // Spaced past the 200 ms throttle, so each change is measured on its own.
        tokio::time::sleep(Duration::from_millis(250)).await;
        writer
            .execute(
                "UPDATE tickets SET priority = $1::text::ticket_priority WHERE id = $2",
                &[&to.as_sql(), &ticket],
            )
            .await?;
        let committed = Instant::now();
        watcher
            .wait_until(Duration::from_secs(10), |app| {
                app.main()
                    .and_then(|m| m.detail.as_ref())
                    .is_some_and(|d| d.row.id == ticket && d.row.priority == to)
            })
            .await
            .map_err(|e| eyre!("live change {i}: {e}"))?;
        terminal
            .draw(|f| crate::ui::render(&watcher.app, &theme, f))
            .map_err(|e| eyre!("{e}"))?;
        latencies.push(committed.elapsed());
    }
    drop(watcher);
    let (p50, p99) = percentiles(latencies);
    Ok(format!(
        "| COMMIT to refreshed frame in another client (through the notifier), {} changes on the bench's own ticket | p50 {p50:.2} ms, p99 {p99:.2} ms |\n",
        args.live_changes
    ))
}
