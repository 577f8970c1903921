//! `pare run`: sets up logging, the async runtime and the signals, then runs the daemon
//! ([`crate::daemon::run`]) until SIGTERM or SIGINT.

use std::process::ExitCode;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info};

use super::RunArgs;
use crate::config::Config;
use crate::daemon;

/// `pare run`: config, logging, the runtime and signals around [`daemon::run`]; the exit
/// code.
pub fn command(args: RunArgs) -> ExitCode {
    crate::logging::init_logging_as(args.log_format);
    let config = match Config::find(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        let (mut term, mut int) = match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(t), Ok(i)) => (t, i),
            (Err(e), _) | (_, Err(e)) => return Err(format!("cannot handle signals: {e}")),
        };
        let shutdown = async move {
            tokio::select! {
                _ = term.recv() => info!(signal = "SIGTERM", "shutting down"),
                _ = int.recv() => info!(signal = "SIGINT", "shutting down"),
            }
        };
        daemon::run(config, shutdown).await
    });
    // Workers still busy past the shutdown timeout are abandoned: their files stay in
    // the work folder.
    rt.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            ExitCode::FAILURE
        }
    }
}
