//! Whether output is coloured: `--color auto|always|never`, and the `NO_COLOR`
//! convention (<https://no-color.org>) — any non-empty `NO_COLOR` turns colour off
//! unless `--color always` asks for it. Set once by the command line, read by every
//! output that can colour (the daemon's human log, `pare test`, `pare explain`).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU8, Ordering};

/// The `--color` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Choice {
    /// Colour on a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    Always,
    Never,
}

static CHOICE: AtomicU8 = AtomicU8::new(0);

/// Records the choice for the whole process.
pub fn set(c: Choice) {
    CHOICE.store(c as u8, Ordering::Relaxed);
}

fn choice() -> Choice {
    match CHOICE.load(Ordering::Relaxed) {
        1 => Choice::Always,
        2 => Choice::Never,
        _ => Choice::Auto,
    }
}

/// Whether to colour a stream that is (or is not) a terminal.
pub fn enabled(terminal: bool) -> bool {
    decide(
        choice(),
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        terminal,
    )
}

/// For stdout.
pub fn stdout() -> bool {
    enabled(std::io::stdout().is_terminal())
}

/// For stderr.
pub fn stderr() -> bool {
    enabled(std::io::stderr().is_terminal())
}

fn decide(choice: Choice, no_color: bool, terminal: bool) -> bool {
    match choice {
        Choice::Always => true,
        Choice::Never => false,
        Choice::Auto => terminal && !no_color,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_wins_over_a_terminal_but_not_over_always() {
        assert!(decide(Choice::Auto, false, true));
        assert!(!decide(Choice::Auto, true, true));
        assert!(!decide(Choice::Auto, false, false));
        assert!(decide(Choice::Always, true, false));
        assert!(!decide(Choice::Never, false, true));
    }
}
