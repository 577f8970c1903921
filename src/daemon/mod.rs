//! `pare run`: the inbox daemon. It watches the inbox, claims each complete file, cleans
//! it on a bounded pool of blocking workers, publishes the result atomically in the
//! outbox, and keeps going — through bad articles, a full disk, rule edits and signals.
//!
//! Pieces, joined by channels in [`run`]'s loop:
//! - [`crate::watch`] turns inotify (or polling) events into complete inbox paths;
//! - [`claim`] moves a file into the work folder, so it is owned exactly once;
//! - [`job`] cleans one file and publishes it ([`publish`]) or quarantines it;
//! - a second watcher and SIGHUP reload the rules; a bad rule file keeps the old rules;
//! - [`crate::systemd`] tells systemd about readiness, status, reloads and shutdown.
//!
//! Invariants: an input is deleted only after its output is durable; the outbox never
//! holds a partial file; whatever is claimed and not finished stays in the work folder
//! and is picked up at the next start.

pub mod claim;
pub mod commit;
pub mod job;
pub mod publish;

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn};

use crate::config::Config;
use crate::rules::RuleBook;
use crate::systemd::Notifier;
use crate::watch::{Filter, Found, Settings, Watch};
use job::{Job, Outcome};

/// `pare run` options.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// The config file (default /etc/pare/pare.toml if it exists; otherwise ./inbox,
    /// ./outbox, ./failed and ./rules in the current folder).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Log lines as `journal` (priority prefixes, no timestamps), `human` or `json`;
    /// `auto` picks `journal` when stderr is the systemd journal.
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "auto")]
    pub log_format: crate::logging::LogFormat,
}

/// Entry point of `pare run`: config, logging, runtime, signals; exit code.
pub fn run_command(args: RunArgs) -> ExitCode {
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
        run(config, shutdown).await
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

/// The rules in force, swapped whole on reload.
type Rules = Arc<RwLock<Arc<RuleBook>>>;

/// Runs the daemon until `shutdown` completes, then finishes the files in progress
/// (within `shutdown_timeout`). Errors are start-up problems only; once running, every
/// problem is logged and survived.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), String> {
    let mut hup = signal(SignalKind::hangup()).map_err(|e| format!("cannot handle SIGHUP: {e}"))?;
    prepare_folders(&config)?;
    let config = Arc::new(config);
    let book = load_rules(&config.rules).await.map_err(|errors| {
        for e in &errors {
            error!(problem = %e, "rule file");
        }
        format!("{} problem(s) in rule files; not starting", errors.len())
    })?;
    let notifier = Notifier::from_env();
    let mut st = State::new(config.clone(), &book, notifier);
    let rules: Rules = Arc::new(RwLock::new(Arc::new(book)));

    for root in [Some(&config.outbox), Some(&config.failed), config.done()]
        .into_iter()
        .flatten()
    {
        if let Ok(n @ 1..) = publish::sweep(root) {
            info!(folder = %root.display(), files = n, "removed temporary files left by an earlier run");
        }
    }
    match claim::leftovers(&config.work) {
        Ok(left) => {
            if !left.is_empty() {
                info!(
                    files = left.len(),
                    "resuming files claimed by an earlier run"
                );
            }
            st.queue.extend(left.into_iter().map(Job::Claimed));
        }
        Err(e) => {
            return Err(format!(
                "cannot read the work folder {}: {e}",
                config.work.display()
            ));
        }
    }

    let (found_tx, mut found_rx) = mpsc::unbounded_channel();
    let watch = Watch::start(watch_settings(&config), found_tx)
        .map_err(|e| format!("cannot watch the inbox {}: {e}", config.inbox.display()))?;
    let (reload_tx, mut reload_rx) = mpsc::unbounded_channel();
    let mut rules_watch = watch_rules(&config.rules, reload_tx.clone());
    info!(
        inbox = %config.inbox.display(),
        outbox = %config.outbox.display(),
        workers = config.workers,
        polling = config.poll,
        "watching the inbox"
    );

    let sem = Arc::new(Semaphore::new(config.workers));
    let committer = Arc::new(commit::Committer::start(&config));
    let mut tasks: JoinSet<(u64, bool, Outcome)> = JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut watchdog = tokio::time::interval(
        st.notifier
            .watchdog_interval()
            .unwrap_or(Duration::from_secs(3600)),
    );
    let watchdog_on = st.notifier.watchdog_interval().is_some();
    let mut reload_at: Option<tokio::time::Instant> = None;
    tokio::pin!(shutdown);

    loop {
        let now = Instant::now();
        let dispatch = !st.queue.is_empty() && st.may_dispatch(now);
        let wake = st
            .blocked
            .as_ref()
            .map(|b| b.until)
            .filter(|_| !st.queue.is_empty());
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            Some(found) = found_rx.recv() => match found {
                Found::File(rel) => st.found(rel),
                Found::ScanDone => {
                    st.notifier.ready();
                    info!(queued = st.queue.len(), "ready");
                    st.dirty = true;
                }
            },
            Some(done) = tasks.join_next() => st.finished(done),
            permit = sem.clone().acquire_owned(), if dispatch => {
                let permit = permit.expect("semaphore never closed");
                let Some(job) = st.queue.pop_front() else { continue };
                let probe = st.blocked.as_mut().map(|b| b.probing = true).is_some();
                st.seq += 1;
                let id = st.seq;
                st.running.insert(id, (Instant::now(), job.rel().to_path_buf()));
                let (config, book, tag) = (config.clone(), rules.read().expect("rules lock").clone(), format!("{}-{id:x}", st.run));
                let committer = committer.clone();
                tasks.spawn_blocking(move || {
                    let outcome = job::process(job, &job::Ctx { config: &config, book: &book, commit: &committer, tag });
                    drop(permit);
                    (id, probe, outcome)
                });
            },
            _ = tokio::time::sleep_until(wake.map_or_else(tokio::time::Instant::now, Into::into)), if wake.is_some_and(|w| w > now) => {},
            Some(()) = reload_rx.recv() => {
                reload_at = Some(tokio::time::Instant::now() + Duration::from_millis(200));
            },
            _ = tokio::time::sleep_until(reload_at.unwrap_or_else(tokio::time::Instant::now)), if reload_at.is_some() => {
                reload_at = None;
                // Watch afresh first: a rules folder replaced by a new one (a package
                // upgrade) is a new inode, which the old watch no longer sees.
                rules_watch = watch_rules(&config.rules, reload_tx.clone());
                st.reload(&rules, "rule files changed").await;
            },
            _ = hup.recv() => {
                rules_watch = watch_rules(&config.rules, reload_tx.clone());
                st.reload(&rules, "SIGHUP").await;
            },
            _ = tick.tick() => st.publish_status(),
            _ = watchdog.tick(), if watchdog_on => st.watchdog(),
        }
    }

    drop(watch);
    drop(rules_watch);
    st.stopping = true;
    st.notifier.stopping();
    info!(
        working = tasks.len(),
        queued = st.queue.len(),
        "stopping: finishing files in progress"
    );
    st.publish_status();
    let drain = async {
        while let Some(done) = tasks.join_next().await {
            st.finished(done);
        }
    };
    if tokio::time::timeout(config.shutdown_timeout, drain)
        .await
        .is_err()
    {
        let files: Vec<String> = st
            .running
            .values()
            .map(|(_, p)| p.display().to_string())
            .collect();
        warn!(files = ?files, "shutdown timeout: files left in the work folder for the next start");
    }
    // Outputs published by the jobs that finished: make them durable, let originals go.
    committer.finish();
    st.dirty = true;
    st.publish_status();
    info!(processed = st.processed, failed = st.failed, "stopped");
    Ok(())
}

impl Config {
    fn done(&self) -> Option<&PathBuf> {
        match &self.processed {
            crate::config::Processed::Move(d) => Some(d),
            crate::config::Processed::Delete => None,
        }
    }
}

/// Creates the folders pare owns, and checks the work folder can take a rename from
/// the inbox.
fn prepare_folders(c: &Config) -> Result<(), String> {
    let mk = |p: &Path| {
        std::fs::create_dir_all(p).map_err(|e| format!("cannot create {}: {e}", p.display()))
    };
    if c.create_dirs {
        for p in [&c.inbox, &c.outbox, &c.failed] {
            mk(p)?;
        }
    }
    if let Some(d) = c.done() {
        mk(d)?;
    }
    mk(&c.work)?;
    if let Some(p) = c.state_file.parent() {
        mk(p)?;
    }
    let dev = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.dev())
            .map_err(|e| format!("{}: {e}", p.display()))
    };
    if dev(&c.inbox)? != dev(&c.work)? {
        return Err(format!(
            "the work folder {} must be on the same filesystem as the inbox {}",
            c.work.display(),
            c.inbox.display()
        ));
    }
    for p in [&c.outbox, &c.failed] {
        if !p.is_dir() {
            warn!(folder = %p.display(), "missing; files will wait until it exists");
        }
    }
    Ok(())
}

fn watch_settings(c: &Config) -> Settings {
    let mut skip = vec![c.work.clone(), c.outbox.clone(), c.failed.clone()];
    skip.extend(c.done().cloned());
    Settings {
        filter: Filter {
            inbox: c.inbox.clone(),
            skip,
            take: c.take.clone(),
            ignore: c.ignore.clone(),
        },
        poll: c.poll.then_some(c.poll_interval),
        quiet: c.quiet,
    }
}

/// The rules folders that exist: the first is required, later (local) ones optional.
fn existing_rule_dirs(dirs: &[PathBuf]) -> Vec<PathBuf> {
    dirs.iter()
        .enumerate()
        .filter(|(i, d)| *i == 0 || d.is_dir())
        .map(|(_, d)| d.clone())
        .collect()
}

async fn load_rules(dirs: &[PathBuf]) -> Result<RuleBook, Vec<crate::rules::RuleError>> {
    let dirs = existing_rule_dirs(dirs);
    tokio::task::spawn_blocking(move || RuleBook::load(&dirs))
        .await
        .expect("rule loading does not panic")
}

/// Watches the rules folders; any change to a `*.toml` file in one sends on `tx`. Each
/// folder's parent is watched too, so that a folder deleted, renamed away or put back
/// (a new folder renamed into place) also sends: the reload then reports the missing
/// folder, or loads the new one and watches it.
fn watch_rules(
    dirs: &[PathBuf],
    tx: mpsc::UnboundedSender<()>,
) -> Option<notify::RecommendedWatcher> {
    let watched: Vec<PathBuf> = dirs.to_vec();
    let handler = move |ev: notify::Result<notify::Event>| {
        let Ok(ev) = ev else { return };
        let relevant = match ev.kind {
            EventKind::Access(notify::event::AccessKind::Close(
                notify::event::AccessMode::Write,
            )) => true,
            EventKind::Access(_) | EventKind::Modify(notify::event::ModifyKind::Metadata(_)) => {
                false
            }
            _ => true,
        };
        let ours = |p: &PathBuf| {
            watched.contains(p)
                || (p.extension().is_some_and(|x| x == "toml")
                    && p.parent().is_some_and(|d| watched.iter().any(|w| w == d)))
        };
        if relevant && ev.paths.iter().any(ours) {
            let _ = tx.send(());
        }
    };
    let mut w = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(e) => {
            warn!(error = %e, "cannot watch the rules folders; reload with SIGHUP");
            return None;
        }
    };
    for d in existing_rule_dirs(dirs) {
        if let Err(e) = w.watch(&d, RecursiveMode::NonRecursive) {
            debug!(folder = %d.display(), error = %e, "cannot watch rules folder");
        }
    }
    let mut parents: Vec<&Path> = dirs.iter().filter_map(|d| d.parent()).collect();
    parents.sort();
    parents.dedup();
    for p in parents {
        if let Err(e) = w.watch(p, RecursiveMode::NonRecursive) {
            warn!(folder = %p.display(), error = %e, "cannot watch the rules folder's parent; reload with SIGHUP after replacing the folder");
        }
    }
    Some(w)
}

/// The outbox (or failed folder) could not be written: hold work back and probe.
struct Blocked {
    until: Instant,
    backoff: Duration,
    probing: bool,
}

/// The daemon's bookkeeping, owned by the loop in [`run`].
struct State {
    config: Arc<Config>,
    notifier: Notifier,
    queue: VecDeque<Job>,
    /// Inbox paths queued or being worked on, so duplicate events add nothing.
    known: HashSet<PathBuf>,
    running: HashMap<u64, (Instant, PathBuf)>,
    processed: u64,
    failed: u64,
    last_error: Option<String>,
    rule_files: usize,
    rule_count: usize,
    rules_loaded_at: SystemTime,
    blocked: Option<Blocked>,
    stuck: bool,
    stopping: bool,
    dirty: bool,
    /// Makes work and temporary names unique to this run.
    run: String,
    seq: u64,
}

const MAX_BACKOFF: Duration = Duration::from_secs(60);

impl State {
    fn new(config: Arc<Config>, book: &RuleBook, notifier: Notifier) -> State {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        info!(
            files = book.files.len(),
            rules = book.rule_count(),
            "rules loaded"
        );
        State {
            config,
            notifier,
            queue: VecDeque::new(),
            known: HashSet::new(),
            running: HashMap::new(),
            processed: 0,
            failed: 0,
            last_error: None,
            rule_files: book.files.len(),
            rule_count: book.rule_count(),
            rules_loaded_at: SystemTime::now(),
            blocked: None,
            stuck: false,
            stopping: false,
            dirty: true,
            run: format!("{nanos:x}"),
            seq: 0,
        }
    }

    fn found(&mut self, rel: PathBuf) {
        if self.known.insert(rel.clone()) {
            self.queue.push_back(Job::Inbox(rel));
            self.dirty = true;
        }
    }

    fn may_dispatch(&self, now: Instant) -> bool {
        match &self.blocked {
            None => true,
            Some(b) => !b.probing && now >= b.until,
        }
    }

    fn finished(&mut self, done: Result<(u64, bool, Outcome), tokio::task::JoinError>) {
        let (id, probe, outcome) = match done {
            Ok(d) => d,
            Err(e) => {
                // A panic outside the engine (the engine's own are caught in the job).
                error!(error = %e, "worker crashed; its file stays in the work folder");
                return;
            }
        };
        self.running.remove(&id);
        self.dirty = true;
        let ok = !matches!(outcome, Outcome::Retry { .. });
        match outcome {
            Outcome::Cleaned {
                rel,
                output,
                identical,
                report,
                ms,
            } => {
                self.known.remove(&rel);
                self.processed += 1;
                let removed: Vec<String> = report
                    .per_category()
                    .iter()
                    .map(|(c, n)| format!("{}={n}", c.name()))
                    .collect();
                info!(
                    file = %rel.display(),
                    site = %report.site.as_deref().unwrap_or("-"),
                    rules = report.rules,
                    removed = %if removed.is_empty() { "none".to_string() } else { removed.join(",") },
                    bytes_in = report.bytes_in,
                    bytes_out = report.bytes_out,
                    ms,
                    output = %output.display(),
                    already_there = identical,
                    "cleaned"
                );
            }
            Outcome::Failed { rel, reason, to } => {
                self.known.remove(&rel);
                self.failed += 1;
                warn!(file = %rel.display(), reason = %reason, moved_to = %to.display(), "failed");
                self.last_error = Some(format!("{}: {reason}", rel.display()));
            }
            Outcome::Gone(rel) => {
                self.known.remove(&rel);
                debug!(file = %rel.display(), "already taken");
            }
            Outcome::Retry { job, error } => {
                self.queue.push_front(job);
                let now = Instant::now();
                match &mut self.blocked {
                    None => {
                        warn!(error = %error, "cannot publish; keeping files and retrying");
                        self.last_error = Some(error);
                        self.blocked = Some(Blocked {
                            until: now + Duration::from_secs(1),
                            backoff: Duration::from_secs(1),
                            probing: false,
                        });
                    }
                    Some(b) if probe => {
                        b.backoff = (b.backoff * 2).min(MAX_BACKOFF);
                        b.until = now + b.backoff;
                        b.probing = false;
                        debug!(error = %error, retry_in = ?b.backoff, "still cannot publish");
                    }
                    Some(_) => {}
                }
            }
        }
        // Only a probe (a job started while blocked) proves publishing works again: a job
        // already in flight when the disk filled may still have squeezed through.
        if ok && probe && self.blocked.take().is_some() {
            info!("publishing works again; resuming");
        }
    }

    async fn reload(&mut self, rules: &Rules, why: &str) {
        self.notifier.reloading();
        match load_rules(&self.config.rules).await {
            Ok(book) => {
                info!(
                    reason = %why,
                    files = book.files.len(),
                    rules = book.rule_count(),
                    "rules reloaded"
                );
                self.rule_files = book.files.len();
                self.rule_count = book.rule_count();
                self.rules_loaded_at = SystemTime::now();
                *rules.write().expect("rules lock") = Arc::new(book);
            }
            Err(errors) => {
                for e in &errors {
                    error!(problem = %e, "rule file");
                }
                error!(
                    reason = %why,
                    problems = errors.len(),
                    "rules not reloaded; the previous rules stay in force"
                );
                self.last_error = errors.first().map(|e| e.to_string());
            }
        }
        self.dirty = true;
        self.notifier.ready();
        self.publish_status();
    }

    fn watchdog(&mut self) {
        let limit = self.config.stuck_after;
        let stuck = self.running.values().find(|(t, _)| t.elapsed() > limit);
        match (stuck, self.stuck) {
            (Some((t, p)), false) => {
                error!(file = %p.display(), secs = t.elapsed().as_secs(), "a worker is stuck; stopping watchdog pings");
                self.stuck = true;
            }
            (None, true) => {
                info!("no worker is stuck any more; resuming watchdog pings");
                self.stuck = false;
            }
            _ => {}
        }
        if !self.stuck {
            self.notifier.watchdog();
        }
    }

    /// Writes the state file and sends STATUS, when something changed.
    fn publish_status(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let text = crate::status::Counts {
            processed: self.processed,
            failed: self.failed,
            queued: self.queue.len(),
            working: self.running.len(),
            publishing_blocked: self.blocked.is_some(),
            stopping: self.stopping,
        }
        .line();
        self.notifier.status(&text);
        let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let json = serde_json::json!({
            "pid": std::process::id(),
            "state": if self.stopping { "stopping" } else { "running" },
            "processed": self.processed,
            "failed": self.failed,
            "queued": self.queue.len(),
            "working": self.running.len(),
            "publishing_blocked": self.blocked.is_some(),
            "last_error": self.last_error,
            "rules": {
                "files": self.rule_files,
                "rules": self.rule_count,
                "loaded_at": secs(self.rules_loaded_at),
                "dirs": self.config.rules,
            },
            "updated_at": secs(SystemTime::now()),
        });
        let path = &self.config.state_file;
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        let r =
            std::fs::write(&tmp, format!("{json:#}\n")).and_then(|_| std::fs::rename(&tmp, path));
        if let Err(e) = r {
            debug!(file = %path.display(), error = %e, "cannot write the state file");
        }
    }
}
