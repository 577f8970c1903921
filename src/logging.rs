//! Log output for the daemon: one place that sets up `tracing`, so other formats
//! (journald, JSON) can be added here without touching the code that logs.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Sends logs to stderr, filtered by `RUST_LOG` (default `info`). Under systemd
/// (`JOURNAL_STREAM` set) lines carry no timestamp: the journal adds its own.
/// Calling it twice is harmless (the second call does nothing).
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.without_time().with_ansi(false).try_init()
    } else {
        builder.try_init()
    };
}
