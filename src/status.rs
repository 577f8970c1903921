//! `pare status`, and the one-line summary the daemon sends systemd as `STATUS=`.
//!
//! The daemon writes its state file (`state_file` in the config, by default
//! `<work>/status.json`) whenever its counts change, as a [`StateFile`]; this module
//! defines that file and reads it back. Both sides build the summary with
//! [`Counts::line`], so `pare status` and `systemctl status` say the same thing.

use std::path::Path;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::config::Config;

/// The daemon's counts, as summed up in one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub processed: u64,
    pub failed: u64,
    pub queued: usize,
    pub working: usize,
    pub publishing_blocked: bool,
    /// Files that could not be cleaned and wait in the work folder because the failed
    /// folder cannot be written.
    #[serde(default)]
    pub held_for_failed: usize,
    /// Files cleaned and published whose originals wait in the work folder because they
    /// cannot be deleted or moved to `done` yet (retried).
    #[serde(default)]
    pub originals_waiting: usize,
    /// Shutting down (the state file says `"state": "stopping"`).
    #[serde(skip)]
    pub stopping: bool,
}

impl Counts {
    /// `processed N, failed N, queued N, working N`, with `stopping: ` in front while
    /// shutting down and a note when publishing is blocked.
    pub fn line(&self) -> String {
        // ` (N what)` when N is not zero.
        let some = |n: usize, what: &str| {
            if n > 0 {
                format!(" ({n} {what})")
            } else {
                String::new()
            }
        };
        format!(
            "{}processed {}, failed {}, queued {}, working {}{}{}{}",
            if self.stopping { "stopping: " } else { "" },
            self.processed,
            self.failed,
            self.queued,
            self.working,
            if self.publishing_blocked {
                " (cannot publish; retrying)"
            } else {
                ""
            },
            some(
                self.held_for_failed,
                "held: cannot move to the failed folder; retrying"
            ),
            some(
                self.originals_waiting,
                "cleaned, originals waiting in the work folder: cannot remove or move them to done; retrying"
            ),
        )
    }
}

/// The state file: written by the daemon, read by `pare status`.
#[derive(Debug, Serialize, Deserialize)]
pub struct StateFile {
    pub pid: u32,
    /// `running`, `stopping` (finishing the files in progress) or `stopped`.
    pub state: String,
    #[serde(flatten)]
    pub counts: Counts,
    /// `NAME.reason` files seen in the inbox and left there (not articles).
    #[serde(default)]
    pub reason_files: u64,
    pub last_error: Option<String>,
    pub rules: RulesState,
    /// Seconds since the Unix epoch.
    #[serde(default)]
    pub updated_at: u64,
    /// The last files finished, newest last (at most [`RECENT`]).
    #[serde(default)]
    pub recent: Vec<Recent>,
}

/// How many finished files the state file lists.
pub const RECENT: usize = 20;

/// One finished file, in the state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recent {
    /// The path relative to the inbox.
    /// (Names that are not UTF-8 are written lossily: JSON holds text.)
    pub file: String,
    /// `cleaned` or `failed`.
    pub outcome: String,
    /// The output, or the file in failed/.
    pub to: String,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Seconds since the Unix epoch.
    pub at: u64,
}

/// The rules in force, in the state file.
#[derive(Debug, Serialize, Deserialize)]
pub struct RulesState {
    pub files: usize,
    pub rules: usize,
    /// Seconds since the Unix epoch.
    pub loaded_at: u64,
    /// (Written lossily where not UTF-8.)
    pub dirs: Vec<String>,
}

impl StateFile {
    /// Writes the file atomically (a temporary name renamed over it).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let mut tmp = path.to_path_buf().into_os_string();
        tmp.push(".tmp");
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        let r = std::fs::write(&tmp, json + "\n").and_then(|()| std::fs::rename(&tmp, path));
        if r.is_err() {
            // A half-written copy (the disk full) is not left beside the state file.
            let _ = std::fs::remove_file(&tmp);
        }
        r
    }
}

/// Exit code when the daemon is not running (as `systemctl status` and LSB use).
const NOT_RUNNING: u8 = 3;

/// Prints the daemon's state. Exit code 0 when it is running, 3 when it is not (or has
/// never run with this config), 1 when the config or state file cannot be read.
pub fn command(config: Option<&Path>, json: bool) -> ExitCode {
    let config = match Config::find(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let path = &config.state_file;
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"running": false, "state_file": path})
                );
            } else {
                println!(
                    "pare is not running: no state file at {} (it has not run with this config)",
                    path.display()
                );
            }
            return ExitCode::from(NOT_RUNNING);
        }
        Err(e) => {
            eprintln!("error: cannot read the state file {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let mut state: StateFile = match serde_json::from_str(&text) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}: not a pare state file: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    state.counts.stopping = state.state == "stopping";
    let running = match holds_lock(&config.work, state.pid) {
        Some(held) => held,
        None => is_pare(state.pid),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if json {
        let mut v = serde_json::to_value(&state).expect("the state serializes");
        v["running"] = running.into();
        v["state_file"] = serde_json::json!(path);
        println!("{}", serde_json::to_string_pretty(&v).expect("json"));
    } else {
        print!("{}", report(&state, running, path, now));
    }
    if running {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(NOT_RUNNING)
    }
}

/// The text `pare status` prints.
fn report(s: &StateFile, running: bool, path: &Path, now: u64) -> String {
    let mut out = if running {
        format!("pare is running (pid {})\n", s.pid)
    } else {
        format!(
            "pare is not running (pid {} has exited); its last state:\n",
            s.pid
        )
    };
    out += &format!("status: {}\n", s.counts.line());
    if s.reason_files > 0 {
        out += &format!(
            "inbox: {} reason file{} left there, not taken (`pare requeue` moves failures back without them)\n",
            s.reason_files,
            if s.reason_files == 1 { "" } else { "s" }
        );
    }
    out += &format!(
        "last error: {}\n",
        s.last_error.as_deref().unwrap_or("none")
    );
    out += &format!(
        "rules: {} files, {} rules, loaded {} ({} ago)\n",
        s.rules.files,
        s.rules.rules,
        utc(s.rules.loaded_at),
        age(now.saturating_sub(s.rules.loaded_at))
    );
    out += &format!("rules folders: {}\n", s.rules.dirs.join(", "));
    out += &format!("state file: {}\n", path.display());
    out
}

/// Whether process `pid` holds the daemon's lock on the work folder (`flock`, listed in
/// `/proc/locks` by device and inode): true of a running daemon whatever its binary is
/// called, false of a pid reused after it died. `None` when that cannot be told (no
/// `/proc/locks`, the folder gone): then the process's name decides.
fn holds_lock(work: &Path, pid: u32) -> Option<bool> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(work).ok()?;
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    let (major, minor) = (libc::major(m.dev()), libc::minor(m.dev()));
    let want = format!("{major:02x}:{minor:02x}:{}", m.ino());
    Some(locks_hold(&locks, pid, &want))
}

/// Whether `/proc/locks` text `locks` lists a `FLOCK … WRITE` lock of `pid` on `dev_ino`
/// (`MAJOR:MINOR:INODE`, the numbers of the device in hex).
fn locks_hold(locks: &str, pid: u32, dev_ino: &str) -> bool {
    locks.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        // "1: FLOCK ADVISORY WRITE 718 fe:00:10117155 0 EOF" (blocked waiters: "->")
        f.len() >= 6
            && f[1] == "FLOCK"
            && f[3] == "WRITE"
            && f[4].parse() == Ok(pid)
            && f[5] == dev_ino
    })
}

/// Whether `pid` is a live process named `pare`: a pid reused by another program after
/// the daemon died does not count, nor does a zombie (exited, not yet reaped).
fn is_pare(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| stat_is_live_pare(&s))
}

/// Reads `/proc/PID/stat`: `PID (COMM) STATE …`, where COMM may itself hold `)`.
fn stat_is_live_pare(stat: &str) -> bool {
    let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
        return false;
    };
    let state = stat[close + 1..].trim_start().chars().next();
    &stat[open + 1..close] == "pare" && !matches!(state, None | Some('Z' | 'X' | 'x'))
}

/// `YYYY-MM-DD HH:MM:SS UTC` for seconds since the Unix epoch.
fn utc(secs: u64) -> String {
    let (mut days, rem) = (secs / 86_400, secs % 86_400);
    let leap = |y: u64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mut year = 1970;
    while days >= if leap(year) { 366 } else { 365 } {
        days -= if leap(year) { 366 } else { 365 };
        year += 1;
    }
    let feb = if leap(year) { 29 } else { 28 };
    let mut month = 1;
    for len in [31, feb, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] {
        if days < len {
            break;
        }
        days -= len;
        month += 1;
    }
    format!(
        "{year}-{month:02}-{:02} {:02}:{:02}:{:02} UTC",
        days + 1,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A duration in seconds as `3d 4h`, `2h 5m`, `4m 10s` or `12s`.
fn age(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_709_251_199), "2024-02-29 23:59:59 UTC");
        assert_eq!(utc(1_735_689_600), "2025-01-01 00:00:00 UTC");
    }

    #[test]
    fn proc_stat() {
        assert!(stat_is_live_pare("12 (pare) S 1 12 12 0"));
        assert!(!stat_is_live_pare("12 (pare) Z 1 12 12 0"));
        assert!(!stat_is_live_pare("12 (bash) S 1 12 12 0"));
        assert!(!stat_is_live_pare("12 (a) pare) S 1"));
        assert!(!stat_is_live_pare(""));
    }

    #[test]
    fn ages() {
        assert_eq!(age(12), "12s");
        assert_eq!(age(250), "4m 10s");
        assert_eq!(age(7500), "2h 5m");
        assert_eq!(age(3 * 86_400 + 4 * 3600 + 7), "3d 4h");
    }

    #[test]
    fn the_line_matches_what_the_daemon_used_to_send() {
        let mut c = Counts {
            processed: 3,
            failed: 1,
            queued: 2,
            working: 0,
            publishing_blocked: false,
            held_for_failed: 0,
            originals_waiting: 0,
            stopping: false,
        };
        assert_eq!(c.line(), "processed 3, failed 1, queued 2, working 0");
        c.stopping = true;
        c.publishing_blocked = true;
        assert_eq!(
            c.line(),
            "stopping: processed 3, failed 1, queued 2, working 0 (cannot publish; retrying)"
        );
        c.stopping = false;
        c.publishing_blocked = false;
        c.held_for_failed = 1;
        assert_eq!(
            c.line(),
            "processed 3, failed 1, queued 2, working 0 (1 held: cannot move to the failed folder; retrying)"
        );
        c.held_for_failed = 0;
        c.originals_waiting = 2;
        assert_eq!(
            c.line(),
            "processed 3, failed 1, queued 2, working 0 (2 cleaned, originals waiting in the work folder: cannot remove or move them to done; retrying)"
        );
    }

    #[test]
    fn a_lock_in_proc_locks_is_found_by_pid_and_inode() {
        let locks = "1: FLOCK  ADVISORY  WRITE 718 fe:00:10117155 0 EOF\n\
                     2: POSIX  ADVISORY  WRITE 99 fe:00:42 0 EOF\n\
                     3: -> FLOCK  ADVISORY  WRITE 77 fe:00:42 0 EOF\n";
        assert!(locks_hold(locks, 718, "fe:00:10117155"));
        assert!(!locks_hold(locks, 718, "fe:00:42"));
        assert!(
            !locks_hold(locks, 99, "fe:00:42"),
            "a POSIX lock is not the daemon's"
        );
        assert!(!locks_hold(locks, 77, "fe:00:42"), "a waiter holds nothing");
    }

    #[test]
    fn a_state_file_reads_back() {
        let json = r#"{"pid": 42, "state": "running", "processed": 5, "failed": 1,
            "queued": 0, "working": 1, "publishing_blocked": false,
            "last_error": "y.html: not HTML or text",
            "rules": {"files": 2, "rules": 9, "loaded_at": 1735689600, "dirs": ["/r"]},
            "updated_at": 1735689601}"#;
        let s: StateFile = serde_json::from_str(json).unwrap();
        let text = report(&s, true, Path::new("/s.json"), 1_735_689_600 + 250);
        assert_eq!(
            text,
            "pare is running (pid 42)\n\
             status: processed 5, failed 1, queued 0, working 1\n\
             last error: y.html: not HTML or text\n\
             rules: 2 files, 9 rules, loaded 2025-01-01 00:00:00 UTC (4m 10s ago)\n\
             rules folders: /r\n\
             state file: /s.json\n"
        );
    }
}
