//! Logs go to a file, never to the screen the client draws on.

use eyre::{Result, eyre};
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Starts file logging (TICKETS_LOG sets the filter, default info) in the platform's state dir,
/// e.g. ~/.local/state/tickets/logs. Keep the guard until exit, or the tail is lost.
pub fn init() -> Result<tracing_appender::non_blocking::WorkerGuard> {
    let dirs = directories::ProjectDirs::from("", "", "tickets")
        .ok_or_else(|| eyre!("no home directory for the log"))?;
    let dir = dirs
        .state_dir()
        .unwrap_or(dirs.data_local_dir())
        .join("logs");
    std::fs::create_dir_all(&dir)
        .map_err(|e| eyre!("cannot create the log directory {}: {e}", dir.display()))?;
    let appender = tracing_appender::rolling::RollingFileAppender::builder()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("tickets.log")
        .max_log_files(7)
        .build(&dir)
        .map_err(|e| eyre!("cannot open the log in {}: {e}", dir.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env("TICKETS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(writer).with_ansi(false))
        .try_init();
    Ok(guard)
}
