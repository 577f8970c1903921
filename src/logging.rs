//! Log output for the daemon: one place that sets up `tracing`, so the code that logs
//! never knows where its lines go. Three formats:
//!
//! - **journal**, when stderr is the systemd journal: plain lines without timestamps
//!   (the journal stamps them), each starting with an sd-daemon priority prefix
//!   (`<3>` error, `<4>` warning, `<6>` info, `<7>` debug) so `journalctl -p warning`
//!   filters them;
//! - **human**, anywhere else: timestamp, level, message and fields;
//! - **json**, one object per line for log shippers.
//!
//! `RUST_LOG` filters in every format (default `info`).

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::fs::MetadataExt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// How log lines are written (`pare run --log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// `journal` when stderr is the systemd journal, else `human`.
    #[default]
    Auto,
    /// Timestamp, level, message and fields.
    Human,
    /// Priority prefix (`<4>`), message and fields; no timestamp.
    Journal,
    /// One JSON object per line.
    Json,
}

/// Sets up logging in the format chosen by the environment (`LogFormat::Auto`).
pub fn init_logging() {
    init_logging_as(LogFormat::Auto);
}

/// Sends logs to stderr in `format`, filtered by `RUST_LOG` (default `info`; notify's
/// own messages from warnings up unless `RUST_LOG` names it). Calling
/// it twice is harmless (the second call does nothing).
pub fn init_logging_as(format: LogFormat) {
    let spec = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    // notify logs its own housekeeping at info (a watch on a folder already removed);
    // only its warnings are news, unless RUST_LOG asks for more of it.
    let spec = if spec.contains("notify") {
        spec
    } else {
        format!("{spec},notify=warn")
    };
    let filter = EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new("info,notify=warn"));
    let format = match format {
        LogFormat::Auto if stderr_is_journal() => LogFormat::Journal,
        LogFormat::Auto => LogFormat::Human,
        f => f,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Journal => builder
            .with_ansi(false)
            .event_format(JournalLine)
            .try_init(),
        LogFormat::Json => builder
            .with_ansi(false)
            .json()
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
        LogFormat::Auto | LogFormat::Human => builder.with_ansi(crate::color::stderr()).try_init(),
    };
}

/// Whether stderr is connected to the journal: systemd sets `JOURNAL_STREAM` to the
/// `device:inode` of the stream it gives the service. The variable alone is not
/// enough — it is inherited by children whose stderr was redirected elsewhere.
pub fn stderr_is_journal() -> bool {
    let stderr = std::fs::metadata("/proc/self/fd/2")
        .ok()
        .map(|m| (m.dev(), m.ino()));
    journal_stream_matches(std::env::var_os("JOURNAL_STREAM").as_deref(), stderr)
}

/// Whether a `JOURNAL_STREAM` value names the file with this device and inode.
fn journal_stream_matches(var: Option<&OsStr>, stderr: Option<(u64, u64)>) -> bool {
    let (Some(var), Some(stderr)) = (var.and_then(OsStr::to_str), stderr) else {
        return false;
    };
    let Some((dev, ino)) = var.trim().split_once(':') else {
        return false;
    };
    matches!((dev.parse(), ino.parse()), (Ok(d), Ok(i)) if (d, i) == stderr)
}

/// The sd-daemon priority (syslog level) of a tracing level.
fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

/// Formats an event for the journal: `<N>message key=value…`. A message that spans
/// several lines becomes several lines with the same prefix (the journal makes an
/// entry of each line, and an unprefixed one would be logged as info).
struct JournalLine;

impl<S, N> FormatEvent<S, N> for JournalLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut text = String::new();
        ctx.format_fields(Writer::new(&mut text), event)?;
        let prio = priority(event.metadata().level());
        for line in text.lines() {
            writeln!(writer, "<{prio}>{line}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_stream_must_name_stderr() {
        let m = |v: &str, s| journal_stream_matches(Some(OsStr::new(v)), s);
        assert!(m("2049:123456", Some((2049, 123456))));
        assert!(!m("2049:123456", Some((2049, 123457))));
        assert!(!m("2049:123456", None));
        assert!(!m("2049", Some((2049, 0))));
        assert!(!m("x:y", Some((0, 0))));
        assert!(!journal_stream_matches(None, Some((1, 2))));
    }

    #[test]
    fn priorities_follow_syslog() {
        assert_eq!(priority(&Level::ERROR), 3);
        assert_eq!(priority(&Level::WARN), 4);
        assert_eq!(priority(&Level::INFO), 6);
        assert_eq!(priority(&Level::DEBUG), 7);
    }
}
