//! Running as a service: log formats (journal priority prefixes when stderr is the
//! journal, timestamps otherwise, JSON on request) and `pare status`, on the real
//! binary, synchronised on the notify socket and files with deadlines, never on sleeps.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(20);
const RULE: &str =
    "generic = true\n[[rule]]\nid = \"promo\"\ncategory = \"promo\"\nremove = \".promo\"\n";

fn page() -> String {
    format!(
        "<html><body><article><p>{}</p></article><div class=\"promo\">Buy now</div></body></html>",
        "The council met on Tuesday to discuss the budget for the coming year. ".repeat(8)
    )
}

/// A pipeline in a temporary folder, its notify socket, and the daemon once started.
struct Pipeline {
    dir: tempfile::TempDir,
    config: PathBuf,
    notify: UnixDatagram,
    notify_path: PathBuf,
    heard: Vec<String>,
    child: Option<Child>,
}

impl Pipeline {
    fn new() -> Pipeline {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        fs::create_dir_all(p.join("rules")).unwrap();
        fs::create_dir_all(p.join("staging")).unwrap();
        fs::write(p.join("rules/generic.toml"), RULE).unwrap();
        let config = p.join("pare.toml");
        fs::write(
            &config,
            "inbox = \"inbox\"\noutbox = \"outbox\"\nfailed = \"failed\"\nrules = \"rules\"\nworkers = 1\nquiet_ms = 300\n",
        )
        .unwrap();
        let notify_path = p.join("notify.sock");
        let notify = UnixDatagram::bind(&notify_path).unwrap();
        notify
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        Pipeline {
            dir,
            config,
            notify,
            notify_path,
            heard: Vec::new(),
            child: None,
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("stderr.log")
    }

    fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Starts `pare run` with stderr in `stderr.log` and waits for READY=1.
    /// `journal_stream` is a function of stderr's (device, inode).
    fn start(
        &mut self,
        args: &[&str],
        journal_stream: impl Fn(u64, u64) -> String,
        rust_log: &str,
    ) {
        let stderr = fs::File::create(self.log_path()).unwrap();
        let meta = stderr.metadata().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pare"));
        cmd.arg("run")
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .env("JOURNAL_STREAM", journal_stream(meta.dev(), meta.ino()))
            .env("NOTIFY_SOCKET", &self.notify_path)
            .env("RUST_LOG", rust_log)
            .env_remove("WATCHDOG_USEC")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        self.child = Some(cmd.spawn().unwrap());
        self.hear("READY=1");
    }

    /// Waits for a notify message starting with `want`; returns it.
    fn hear(&mut self, want: &str) -> String {
        let end = Instant::now() + DEADLINE;
        loop {
            if let Some(m) = self.heard.iter().find(|m| m.starts_with(want)) {
                return m.clone();
            }
            assert!(
                Instant::now() < end,
                "timed out waiting for {want}; heard {:?}; log:\n{}",
                self.heard,
                self.log()
            );
            let mut buf = [0u8; 4096];
            if let Ok(k) = self.notify.recv(&mut buf) {
                self.heard
                    .push(String::from_utf8_lossy(&buf[..k]).into_owned());
            }
        }
    }

    /// Renames a file into the inbox.
    fn deliver(&self, name: &str, body: &[u8]) {
        let tmp = self.dir.path().join("staging").join(name);
        fs::write(&tmp, body).unwrap();
        fs::rename(&tmp, self.dir.path().join("inbox").join(name)).unwrap();
    }

    /// One good article and one PNG: a cleaned (info) and a failed (warning) line.
    fn process_two(&mut self) -> String {
        self.deliver("good.html", page().as_bytes());
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(&[0u8; 64]);
        self.deliver("image.html", &png);
        self.hear("STATUS=processed 1, failed 1, queued 0, working 0")
    }

    /// SIGTERM, then waits for a successful exit.
    fn stop(&mut self) {
        let mut child = self.child.take().expect("started");
        let ok = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let end = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < end, "the daemon did not exit");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "{status}; log:\n{}", self.log());
    }

    fn status(&self) -> Output {
        Command::new(env!("CARGO_BIN_EXE_pare"))
            .args(["status", "--config"])
            .arg(&self.config)
            .output()
            .unwrap()
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// An RFC 3339 timestamp such as tracing's human format starts lines with.
fn has_timestamp(line: &str) -> bool {
    regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
        .unwrap()
        .is_match(line)
}

fn lines(log: &str) -> Vec<&str> {
    log.lines().filter(|l| !l.is_empty()).collect()
}

#[test]
fn under_the_journal_lines_carry_priorities_and_no_timestamps() {
    let mut p = Pipeline::new();
    p.start(&[], |dev, ino| format!("{dev}:{ino}"), "info");
    p.process_two();
    p.stop();
    let log = p.log();
    let lines = lines(&log);
    assert!(lines.len() >= 5, "{log}");
    let prefix = regex::Regex::new(r"^<[3467]>\S").unwrap();
    for l in &lines {
        assert!(prefix.is_match(l), "no priority prefix: {l:?}\n{log}");
        assert!(!has_timestamp(l), "timestamp under the journal: {l:?}");
        assert!(!l.contains("INFO") && !l.contains("WARN"), "{l:?}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<6>cleaned file=good.html")),
        "{log}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<4>failed file=image.html") && l.contains("PNG")),
        "{log}"
    );
}

#[test]
fn rust_log_filters_journal_lines() {
    let mut p = Pipeline::new();
    p.start(&[], |dev, ino| format!("{dev}:{ino}"), "warn");
    p.process_two();
    p.stop();
    let log = p.log();
    let lines = lines(&log);
    assert!(!lines.is_empty(), "the warning is missing");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("<4>") || l.starts_with("<3>")),
        "{log}"
    );
}

#[test]
fn a_journal_stream_naming_another_file_keeps_timestamps() {
    let mut p = Pipeline::new();
    // Inherited from a parent whose stderr was the journal; ours is a file.
    p.start(&[], |dev, ino| format!("{dev}:{}", ino + 1), "info");
    p.process_two();
    p.stop();
    let log = p.log();
    let lines = lines(&log);
    assert!(lines.len() >= 5, "{log}");
    for l in &lines {
        assert!(has_timestamp(l), "no timestamp: {l:?}");
        assert!(!l.starts_with('<'), "journal prefix off the journal: {l:?}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains(" WARN ") && l.contains("image.html")),
        "{log}"
    );
}

#[test]
fn log_format_json_writes_one_object_per_line() {
    let mut p = Pipeline::new();
    // Asked for explicitly, JSON wins even under the journal.
    p.start(
        &["--log-format", "json"],
        |dev, ino| format!("{dev}:{ino}"),
        "info",
    );
    p.process_two();
    p.stop();
    let log = p.log();
    let events: Vec<serde_json::Value> = lines(&log)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    let failed = events
        .iter()
        .find(|e| e["fields"]["message"] == "failed")
        .expect("a failed event");
    assert_eq!(failed["level"], "WARN");
    assert_eq!(failed["fields"]["file"], "image.html");
    assert!(failed["timestamp"].is_string());
}

/// `pare status` prints `status: <the last STATUS= the daemon sent>`.
fn status_line(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("status: "))
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
        .to_string()
}

#[test]
fn pare_status_agrees_with_systemd_status_and_sees_the_daemon_stop() {
    let mut p = Pipeline::new();
    let before = p.status();
    assert_eq!(before.status.code(), Some(3), "{before:?}");
    assert!(String::from_utf8_lossy(&before.stdout).contains("not running"));

    p.start(&[], |_, _| String::new(), "info");
    let sent = p.process_two();
    let sent = sent.strip_prefix("STATUS=").unwrap().to_string();
    // The state file is written just after STATUS= is sent.
    let end = Instant::now() + DEADLINE;
    let out = loop {
        let out = p.status();
        if out.status.success() && status_line(&out) == sent {
            break out;
        }
        assert!(Instant::now() < end, "status never said {sent:?}: {out:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let pid = p.child.as_ref().unwrap().id();
    assert!(
        text.starts_with(&format!("pare is running (pid {pid})\n")),
        "{text}"
    );
    assert!(
        text.contains("\nlast error: image.html: not HTML or text"),
        "{text}"
    );
    assert!(
        text.contains("\nrules: 1 files, 1 rules, loaded 2"),
        "{text}"
    );
    let rules = fs::canonicalize(p.dir.path().join("rules")).unwrap();
    let shown = text
        .lines()
        .find_map(|l| l.strip_prefix("rules folders: "))
        .unwrap();
    assert_eq!(fs::canonicalize(shown).unwrap(), rules, "{text}");

    p.stop();
    let after = p.status();
    assert_eq!(after.status.code(), Some(3), "{after:?}");
    let text = String::from_utf8_lossy(&after.stdout);
    assert!(
        text.starts_with(&format!("pare is not running (pid {pid} has exited)")),
        "{text}"
    );
    // Stopped, not "stopping": the last state says the shutdown finished.
    assert_eq!(
        status_line(&after),
        "processed 1, failed 1, queued 0, working 0"
    );
}

#[test]
fn pare_status_reports_an_unreadable_config() {
    let d = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pare"))
        .args(["status", "--config"])
        .arg(d.path().join("missing.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("missing.toml:0:0: cannot read config"),
        "{err}"
    );
}

/// A producer in another primary group delivers with `umask 027`, as docs/SERVICE.md
/// says, to a daemon running as its own user: the inbox is set-group-ID, so the file
/// belongs to the daemon's group and is cleaned (without it: "Permission denied").
/// Needs root (to run both as other users); skipped, saying so, otherwise.
#[test]
fn a_file_from_another_user_and_group_is_cleaned() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let root = fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    if !root || Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("skipped: needs root and setpriv");
        return;
    }
    let (pare_id, producer_id) = ("4242", "4343");
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
    for f in ["inbox", "outbox", "failed"] {
        fs::create_dir(p.join(f)).unwrap();
        fs::set_permissions(p.join(f), fs::Permissions::from_mode(0o770)).unwrap();
        std::os::unix::fs::chown(p.join(f), Some(4242), Some(4242)).unwrap();
    }
    fs::create_dir(p.join("rules")).unwrap();
    fs::write(
        p.join("rules/generic.toml"),
        "generic = true\n[[rule]]\nid = \"promo\"\ncategory = \"promo\"\nremove = \".promo\"\n",
    )
    .unwrap();
    fs::set_permissions(p.join("rules"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(
        p.join("pare.toml"),
        "inbox = \"inbox\"\noutbox = \"outbox\"\nfailed = \"failed\"\nrules = \"rules\"\nquiet_ms = 300\n",
    )
    .unwrap();
    let log = p.join("daemon.log");
    /// Killed however the test ends (a panic must not leave it running).
    struct Running(std::process::Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _daemon = Running(
        Command::new("setpriv")
            .args([
                "--reuid",
                pare_id,
                "--regid",
                pare_id,
                "--clear-groups",
                "--",
            ])
            .arg(env!("CARGO_BIN_EXE_pare"))
            .args(["run", "--config"])
            .arg(p.join("pare.toml"))
            .env("RUST_LOG", "info")
            .env_remove("NOTIFY_SOCKET")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let end = std::time::Instant::now() + Duration::from_secs(20);
    while !fs::read_to_string(&log)
        .unwrap_or_default()
        .contains(" ready ")
    {
        assert!(
            std::time::Instant::now() < end,
            "{}",
            fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_ne!(fs::metadata(p.join("inbox")).unwrap().mode() & 0o2000, 0);
    // The producer: its own user and group, a member of the daemon's group.
    let page = "<html><body><article><p>Written by a fetcher in another group, all of it kept here.</p></article><div class=\"promo\">Buy now</div></body></html>";
    let ok = Command::new("setpriv")
        .args([
            "--reuid",
            producer_id,
            "--regid",
            producer_id,
            "--groups",
            pare_id,
            "--",
        ])
        .args([
            "sh",
            "-c",
            "umask 027 && cat > inbox/.x.tmp && mv inbox/.x.tmp inbox/x.html",
        ])
        .current_dir(p)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(page.as_bytes())?;
            c.wait()
        })
        .unwrap();
    assert!(ok.success());
    while !p.join("outbox/x.html").exists() {
        if std::time::Instant::now() >= end {
            panic!("not cleaned: {}", fs::read_to_string(&log).unwrap());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = fs::read_to_string(p.join("outbox/x.html")).unwrap();
    assert!(
        out.contains("Written by a fetcher") && !out.contains("Buy now"),
        "{out}"
    );
}
