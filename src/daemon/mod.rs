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
pub mod folder;
pub mod job;
pub mod lease;
pub mod metrics;
pub mod publish;
pub mod requeue;
pub mod sys;

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// The rules in force, swapped whole on reload.
type Rules = Arc<RwLock<Arc<RuleBook>>>;

/// Runs the daemon until `shutdown` completes, then finishes the files in progress
/// (within `shutdown_timeout`). Errors are start-up problems only; once running, every
/// problem is logged and survived.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), String> {
    let mut hup = signal(SignalKind::hangup()).map_err(|e| format!("cannot handle SIGHUP: {e}"))?;
    prepare_folders(&config)?;
    let mut _locks = lock_folders(&config)?;
    let config = Arc::new(config);
    let book = load_rules(&config, false).await.map_err(|errors| {
        for e in &errors {
            error!(problem = %e, "rule file");
        }
        format!("{} problem(s) in rule files; not starting", errors.len())
    })?;
    let notifier = Notifier::from_env();
    let mut st = State::new(config.clone(), &book, notifier);
    let rules: Rules = Arc::new(RwLock::new(Arc::new(book)));

    let strays = claim::strays(&config.work);
    if let Some(first) = strays.first() {
        warn!(entries = strays.len(), first = %first.to_string_lossy(), folder = %config.work.display(), "the work folder holds entries that are not claims pare can read back; left alone (a damaged claim's name? look at them)");
    }
    // The temporary files of claims not yet marked stay: such a claim whose output was
    // placed is known by its temporary file, still there (see `claim`, `job::process`).
    let mut keep = Vec::new();
    match claim::leftovers(&config.work) {
        Ok(left) => {
            if !left.is_empty() {
                info!(
                    files = left.len(),
                    "resuming files claimed by an earlier run"
                );
            }
            keep.extend(
                left.iter()
                    .filter(|c| c.published.is_none())
                    .map(|c| c.tag.clone()),
            );
            st.queue.extend(left.into_iter().map(Job::Claimed));
        }
        Err(e) => {
            return Err(format!(
                "cannot read the work folder {}: {e}",
                config.work.display()
            ));
        }
    }
    for root in [Some(&config.outbox), Some(&config.failed), config.done()]
        .into_iter()
        .flatten()
    {
        let keep: &[String] = if root == &config.outbox { &keep } else { &[] };
        match publish::sweep(root, keep) {
            Ok(0) => {}
            Ok(n) => {
                info!(folder = %root.display(), files = n, "removed temporary files left by an earlier run")
            }
            Err(e) => warn!(folder = %root.display(), error = %e, "temporary files not removed"),
        }
    }

    let (found_tx, mut found_rx) = mpsc::unbounded_channel();
    let mut inbox_id = folder_id(&config.inbox);
    let mut watch = Some(
        Watch::start(watch_settings(&config), found_tx.clone())
            .map_err(|e| format!("cannot watch the inbox {}: {e}", config.inbox.display()))?,
    );
    let (reload_tx, mut reload_rx) = mpsc::unbounded_channel();
    let writing = Writing::default();
    let mut rules_watch = watch_rules(&config.rules, reload_tx.clone(), &writing);
    let mut rules_seen = rules_fingerprint(&config.rules);
    let mut fingerprint: Option<tokio::sync::oneshot::Receiver<(u64, Duration)>> = None;
    let mut fingerprint_next = Instant::now();
    info!(
        inbox = %config.inbox.display(),
        outbox = %config.outbox.display(),
        workers = config.workers,
        polling = config.poll,
        "watching the inbox"
    );

    let sem = Arc::new(Semaphore::new(config.workers));
    let committer = Arc::new(commit::Committer::start(&config));
    let mut tasks: JoinSet<(u64, Probe, Outcome)> = JoinSet::new();
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
        let dispatch = ((!st.queue.is_empty() || (!st.held.is_empty() && st.blocked.is_some()))
            && st.may_dispatch(now))
            || st.may_probe_failed(now);
        let wake = [
            st.blocked
                .as_ref()
                .map(|b| b.until)
                .filter(|_| !st.queue.is_empty() || !st.held.is_empty()),
            st.failed_blocked
                .as_ref()
                .map(|b| b.until)
                .filter(|_| !st.held.is_empty()),
        ]
        .into_iter()
        .flatten()
        .min();
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            Some(found) = found_rx.recv() => match found {
                Found::File(rel) => st.found(rel),
                Found::Reason(rel) => st.reason_file(rel),
                Found::ScanDone if !st.ready => {
                    st.ready = true;
                    st.notifier.ready();
                    info!(queued = st.queue.len(), "ready");
                    st.dirty = true;
                }
                Found::ScanDone => {}
            },
            Some(done) = tasks.join_next() => st.finished(done),
            permit = sem.clone().acquire_owned(), if dispatch => {
                let permit = permit.expect("semaphore never closed");
                let Some((job, probe)) = st.next_job(now) else { continue };
                st.seq += 1;
                let id = st.seq;
                st.running.insert(id, (Instant::now(), job.rel().to_path_buf()));
                let (config, book, tag) = (config.clone(), rules.read().expect("rules lock").clone(), format!("{}-{id:x}", st.run));
                let committer = committer.clone();
                let overdue = st.overdue(job.rel());
                tasks.spawn_blocking(move || {
                    let outcome = job::process(job, &job::Ctx { config: &config, book: &book, commit: &committer, tag, overdue });
                    drop(permit);
                    (id, probe, outcome)
                });
            },
            _ = tokio::time::sleep_until(wake.map_or_else(tokio::time::Instant::now, Into::into)), if wake.is_some_and(|w| w > now) => {},
            Some(()) = reload_rx.recv() => {
                reload_at = Some(tokio::time::Instant::now() + RULES_SETTLE);
            },
            _ = tokio::time::sleep_until(reload_at.unwrap_or_else(tokio::time::Instant::now)), if reload_at.is_some() => {
                // A rule file still being written in place (scp, rsync --inplace, an
                // editor saving slowly) is read only once its writer closes it: half a
                // file can parse and would go live as the whole.
                if let Some(p) = still_written(&writing, config.max_open_write) {
                    debug!(file = %p.display(), "rule file still being written; reloading once it is closed");
                    reload_at = Some(tokio::time::Instant::now() + RULES_SETTLE);
                } else {
                    reload_at = None;
                    // Watch afresh first: a rules folder replaced by a new one (a package
                    // upgrade) is a new inode, which the old watch no longer sees.
                    rules_watch = watch_rules(&config.rules, reload_tx.clone(), &writing);
                    rules_seen = rules_fingerprint(&config.rules);
                    // A look started before this reload would report what it replaced.
                    fingerprint = None;
                    st.reload(&rules, "rule files changed").await;
                }
            },
            _ = hup.recv() => {
                rules_watch = watch_rules(&config.rules, reload_tx.clone(), &writing);
                rules_seen = rules_fingerprint(&config.rules);
                fingerprint = None;
                st.reload(&rules, "SIGHUP").await;
            },
            _ = tick.tick() => {
                st.wake_waiting();
                let waiting = committer.waiting();
                if waiting != st.originals_waiting {
                    st.originals_waiting = waiting;
                    st.dirty = true;
                }
                // The inbox (and the work folder in it) still the one watched? A folder
                // moved away, deleted or replaced is watched again at its configured path.
                let id = folder_id(&config.inbox);
                if id.is_none() || id != inbox_id || !config.work.is_dir() {
                    drop(watch.take());
                    // The old folders' locks go first: a new lock on a folder this
                    // process still holds through another descriptor would be refused.
                    _locks = [None, None];
                    match rewatch(&config, found_tx.clone()) {
                        Ok((w, locks)) => {
                            _locks = locks;
                            warn!(inbox = %config.inbox.display(), work = %config.work.display(), "the inbox or its work folder was replaced, moved or removed; watching the folders now at their paths (files claimed in an old work folder stay there)");
                            watch = Some(w);
                            inbox_id = folder_id(&config.inbox);
                            st.dirty = true;
                        }
                        Err(e) => st.note_folder_trouble(e),
                    }
                }
                // The folders may have been rearranged under it (an outbox replaced by a
                // link into the inbox): checked as at start; work waits while they loop.
                st.check_layout();
                // Rule files whose rules could not be read back from a snapshot written
                // over in place while in use: load everything again, from the files.
                let lost = crate::rules::snapshot::LOST.load(std::sync::atomic::Ordering::Relaxed);
                if lost > st.lost_seen {
                    warn!(files = lost - st.lost_seen, "the rules of some files could not be read back from the rules snapshot (written over while in use?) nor from their files as they were; loading every rule file again");
                    st.lost_seen = lost;
                    st.rebuild_snapshot = true;
                    reload_at.get_or_insert_with(|| tokio::time::Instant::now() + RULES_SETTLE);
                }
                // Rule files checked by their metadata too: edits to the targets of
                // linked files, and anything inotify cannot see. On a blocking thread,
                // every second, or less often for a set so big (tens of thousands of
                // imported files) that looking costs more than 2% of a core.
                match fingerprint.as_mut().map(|rx| rx.try_recv()) {
                    Some(Ok((now_seen, took))) => {
                        fingerprint = None;
                        fingerprint_next = Instant::now() + (took * 50).max(Duration::from_secs(1));
                        if now_seen != rules_seen && reload_at.is_none() {
                            reload_at = Some(tokio::time::Instant::now() + RULES_SETTLE);
                        }
                        rules_seen = now_seen;
                    }
                    Some(Err(tokio::sync::oneshot::error::TryRecvError::Empty)) => {}
                    Some(Err(_)) => fingerprint = None,
                    None if reload_at.is_none() && Instant::now() >= fingerprint_next => {
                        let (tx, rx) = tokio::sync::oneshot::channel();
                        let dirs = config.rules.clone();
                        tokio::task::spawn_blocking(move || {
                            let t = Instant::now();
                            let seen = rules_fingerprint(&dirs);
                            let _ = tx.send((seen, t.elapsed()));
                        });
                        fingerprint = Some(rx);
                    }
                    None => {}
                }
                st.publish_status();
            },
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
    st.stopped = true;
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
    c.check_layout()?;
    share_inbox(&c.inbox);
    // A sticky inbox (mode 1777, like /tmp) lets only a file's owner move it: the
    // daemon could take no producer's file. Said once, at start.
    if let (Ok(i), Ok(w)) = (std::fs::metadata(&c.inbox), std::fs::metadata(&c.work))
        && i.mode() & 0o1000 != 0
        && i.uid() != w.uid()
        && w.uid() != 0
    {
        warn!(inbox = %c.inbox.display(), "the inbox is sticky (mode 1777) and not the daemon's: pare can move only its own files out of it; clear the sticky bit (chmod -t)");
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

/// Makes the inbox set-group-ID, so that a file a producer of another primary group drops
/// in belongs to the inbox's group (`pare` under the shipped unit), which the daemon is in:
/// with a producer's `umask 027`, group-readable. Only the inbox's owner can; anyone
/// else's inbox is left as it is.
fn share_inbox(inbox: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(m) = std::fs::metadata(inbox) else {
        return;
    };
    let mode = m.permissions().mode();
    if mode & 0o2000 != 0 {
        return;
    }
    match std::fs::set_permissions(inbox, std::fs::Permissions::from_mode(mode | 0o2000)) {
        Ok(()) => {
            info!(inbox = %inbox.display(), "inbox made set-group-ID: files dropped in belong to its group")
        }
        Err(e) => debug!(inbox = %inbox.display(), error = %e, "inbox left without set-group-ID"),
    }
}

fn watch_settings(c: &Config) -> Settings {
    let mut skip = vec![c.work.clone(), c.outbox.clone(), c.failed.clone()];
    skip.extend(c.done().cloned());
    // The work folder as the watch names it: below the inbox path as configured, even
    // when one of them is reached through a link.
    let (inbox, work) = (
        crate::config::real_path(&c.inbox),
        crate::config::real_path(&c.work),
    );
    if let Ok(below) = work.strip_prefix(&inbox) {
        skip.push(c.inbox.join(below));
    }
    let skip_ids = skip
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| (m.dev(), m.ino()))
        .collect();
    Settings {
        filter: Filter {
            inbox: c.inbox.clone(),
            skip,
            skip_ids,
            take: c.take.clone(),
            ignore: c.ignore.clone(),
            take_reason: c.take_reason_files,
        },
        poll: c.poll.then_some(c.poll_interval),
        quiet: c.quiet,
        max_open_write: c.max_open_write,
    }
}

/// Loads the rules (`rebuild`: every file read, the snapshot written anew).
async fn load_rules(
    config: &Config,
    rebuild: bool,
) -> Result<RuleBook, Vec<crate::rules::RuleError>> {
    let dirs = config.rule_dirs();
    let max = config.max_rule_file_size;
    let snapshot = config.rule_snapshot();
    let book = tokio::task::spawn_blocking(move || {
        if rebuild {
            RuleBook::load_rebuilding(&dirs, max, snapshot.as_deref())
        } else {
            RuleBook::load_with(&dirs, max, snapshot.as_deref())
        }
    })
    .await
    .expect("rule loading does not panic")?;
    if let Some(line) = book.loaded.describe() {
        info!("rules {line}");
    }
    if let Some(e) = &book.loaded.write_error {
        warn!(error = %e, "the rules snapshot could not be written (rules load from their files)");
    }
    Ok(book)
}

/// A folder's identity (device, inode), or `None` when it is missing.
fn folder_id(p: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(p)
        .ok()
        .filter(|m| m.is_dir())
        .map(|m| (m.dev(), m.ino()))
}

/// The folders prepared again and a new watch on the inbox at its configured path.
fn rewatch(
    config: &Config,
    tx: mpsc::UnboundedSender<Found>,
) -> Result<(Watch, [Option<std::fs::File>; 2]), String> {
    prepare_folders(config)?;
    let locks = lock_folders(config)?;
    let w = Watch::start(watch_settings(config), tx)
        .map_err(|e| format!("cannot watch the inbox {}: {e}", config.inbox.display()))?;
    Ok((w, locks))
}

/// Takes an exclusive advisory lock (`flock`) on the inbox and on the work folder for as
/// long as the returned handles live, so that a second daemon on the same folders —
/// the service and a `pare run` started by hand, two configs naming one inbox — stops
/// at start with a clear error instead of claiming beside the first. Where the
/// filesystem has no locks, a warning, and the daemon runs unprotected.
fn lock_folders(c: &Config) -> Result<[Option<std::fs::File>; 2], String> {
    let lock = |p: &Path| -> Result<Option<std::fs::File>, String> {
        let f = std::fs::File::open(p).map_err(|e| format!("cannot open {}: {e}", p.display()))?;
        match self::sys::try_lock(std::os::fd::AsRawFd::as_raw_fd(&f)) {
            Ok(true) => Ok(Some(f)),
            Ok(false) => Err(format!(
                "another process holds the lock on {} — another pare daemon on these folders?; not starting a second",
                p.display()
            )),
            Err(e) => {
                warn!(folder = %p.display(), error = %e, "cannot lock the folder; a second daemon on it would not be stopped");
                Ok(None)
            }
        }
    };
    Ok([lock(&c.inbox)?, lock(&c.work)?])
}

/// What the rules folders hold, hashed: each folder's identity, and each `*.toml`
/// entry's name, device, inode, size, modification and change times — of the entry
/// and, for a link, of its target (or that it dangles). Two equal fingerprints mean nothing to
/// reload.
fn rules_fingerprint(dirs: &[PathBuf]) -> u64 {
    use std::hash::{Hash, Hasher};
    let stamp = |m: std::fs::Metadata| {
        // The change time too: an edit that puts the modification time back moves it.
        (
            m.dev(),
            m.ino(),
            m.size(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
        )
    };
    let mut h = rustc_hash::FxHasher::default();
    for d in dirs {
        (d, std::fs::metadata(d).ok().map(stamp)).hash(&mut h);
        let Ok(rd) = std::fs::read_dir(d) else {
            continue;
        };
        let mut entries: Vec<(std::ffi::OsString, std::fs::DirEntry)> = rd
            .flatten()
            .map(|e| (e.file_name(), e))
            .filter(|(n, _)| Path::new(n).extension().is_some_and(|x| x == "toml"))
            .collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (name, e) in entries {
            // The entry's own metadata, read relative to the open folder; a link's
            // target's too (an edit there changes nothing in the folder).
            let own = e.metadata().ok();
            let link = own.as_ref().is_some_and(|m| m.file_type().is_symlink());
            (&name, own.map(stamp)).hash(&mut h);
            if link {
                std::fs::metadata(e.path()).ok().map(stamp).hash(&mut h);
            }
        }
    }
    h.finish()
}

/// Watches the rules folders; any change to a `*.toml` file in one sends on `tx`. Each
/// folder's parent is watched too, so that a folder deleted, renamed away or put back
/// (a new folder renamed into place) also sends: the reload then reports the missing
/// folder, or loads the new one and watches it.
fn watch_rules(
    dirs: &[PathBuf],
    tx: mpsc::UnboundedSender<()>,
    writing: &Writing,
) -> Option<notify::RecommendedWatcher> {
    let watched: Vec<PathBuf> = dirs.to_vec();
    let writing = writing.clone();
    let handler = move |ev: notify::Result<notify::Event>| {
        let Ok(ev) = ev else { return };
        use notify::event::{AccessKind, AccessMode, ModifyKind};
        let is_rule_file = |p: &PathBuf| {
            p.extension().is_some_and(|x| x == "toml")
                && p.parent().is_some_and(|d| watched.iter().any(|w| w == d))
        };
        {
            let mut w = writing.lock().expect("rules writing lock");
            for p in ev.paths.iter().filter(|p| is_rule_file(p)) {
                match ev.kind {
                    EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any) => {
                        w.entry(p.clone()).or_insert_with(Instant::now);
                    }
                    EventKind::Access(AccessKind::Close(AccessMode::Write))
                    | EventKind::Remove(_)
                    | EventKind::Modify(ModifyKind::Name(_)) => {
                        w.remove(p);
                    }
                    _ => {}
                }
            }
        }
        let relevant = match ev.kind {
            EventKind::Access(notify::event::AccessKind::Close(
                notify::event::AccessMode::Write,
            )) => true,
            EventKind::Access(_) | EventKind::Modify(notify::event::ModifyKind::Metadata(_)) => {
                false
            }
            _ => true,
        };
        let ours = |p: &PathBuf| watched.contains(p) || is_rule_file(p);
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
    for d in crate::config::existing_rule_dirs(dirs) {
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

/// What a started job tests besides itself: nothing, whether the outbox can be written
/// again, or whether the failed folder can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    None,
    Outbox,
    Failed,
}

/// The outbox (or the failed folder) could not be written: hold work back and probe.
struct Blocked {
    until: Instant,
    backoff: Duration,
    probing: bool,
}

impl Blocked {
    /// A destination could not be written (`error`): the first time, a block starts,
    /// said once as a warning (`first`); a failed probe of it (`probed`) doubles the
    /// back-off (said at debug level, `again`); a job already in flight when it began
    /// changes nothing.
    fn note(
        block: &mut Option<Blocked>,
        probed: bool,
        error: String,
        last_error: &mut Option<String>,
        first: &str,
        again: &str,
    ) {
        let now = Instant::now();
        match block {
            None => {
                warn!(error = %error, "{first}");
                *last_error = Some(error);
                *block = Some(Blocked {
                    until: now + Duration::from_secs(1),
                    backoff: Duration::from_secs(1),
                    probing: false,
                });
            }
            Some(b) if probed => {
                b.backoff = (b.backoff * 2).min(MAX_BACKOFF);
                b.until = now + b.backoff;
                b.probing = false;
                debug!(error = %error, retry_in = ?b.backoff, "{again}");
            }
            Some(_) => {}
        }
    }
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
    /// The failed folder could not be written: files that failed wait in `held` (in the
    /// work folder) while the others go on, and one of them probes now and then.
    failed_blocked: Option<Blocked>,
    held: VecDeque<Job>,
    /// Published files whose originals wait in the work folder (the committer's count,
    /// read on the tick).
    originals_waiting: usize,
    /// The state file could not be written (warned once).
    state_trouble: bool,
    /// Inbox files the daemon may not move (each warned about once).
    untakable: HashSet<PathBuf>,
    stuck: bool,
    stopping: bool,
    dirty: bool,
    /// Makes work and temporary names unique to this run.
    run: String,
    seq: u64,
    /// READY sent (the first scan done; a re-established watch scans again).
    ready: bool,
    /// `NAME.reason` files seen in the inbox and left there.
    reasons: HashSet<PathBuf>,
    /// Per file sent back for a retry: tries, and files finished when first retried.
    tries: HashMap<PathBuf, (u32, u64)>,
    /// Whether the rules in force have a generic file (a reload without one is refused).
    generic: bool,
    /// The last folder problem logged, so a lasting one is logged once.
    folder_trouble: Option<String>,
    /// What is wrong with the folder layout now, if it went wrong while running.
    layout: Option<String>,
    /// `last_error` is a rule-file problem (cleared by the next good reload).
    rules_error: bool,
    /// Stopped: the last state written.
    stopped: bool,
    /// The last files finished, for the state file.
    recent: VecDeque<crate::status::Recent>,
    /// Counts for the metrics file.
    metrics: metrics::Metrics,
    /// The next reload reads every rule file and writes the snapshot anew (the one in
    /// use was found damaged).
    rebuild_snapshot: bool,
    /// [`crate::rules::snapshot::LOST`] when last looked at.
    lost_seen: usize,
    /// Claimed files still open for writing by another process, and when each is to be
    /// tried again.
    waiting: Vec<(Instant, Job)>,
    /// Per such file, when it was first found still open (for `max_open_write_ms`).
    busy_since: HashMap<PathBuf, Instant>,
}

/// How long a file still open for writing waits before it is looked at again.
const BUSY_RETRY: Duration = Duration::from_millis(500);

const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// A file sent back this often, while other files were published meanwhile, has a
/// trouble of its own: it goes to the failed folder with the last error.
const MAX_TRIES: u32 = 5;

/// How long events on the rules folders must have stopped before a reload: a folder
/// copied back file by file is loaded whole.
const RULES_SETTLE: Duration = Duration::from_millis(500);

/// Rule files inotify saw written (`IN_MODIFY`) and not yet closed (`IN_CLOSE_WRITE`),
/// with when the first write was seen.
type Writing = Arc<std::sync::Mutex<HashMap<PathBuf, Instant>>>;

/// A rule file still open for writing, if any. An entry goes when its file is gone,
/// when the kernel says nobody writes it (a read lease, where the daemon may take
/// one: a close missed while the watch was renewed), or after `max` (then the file is
/// read as it is, with a warning, as an inbox file would be).
fn still_written(writing: &Writing, max: Duration) -> Option<PathBuf> {
    let mut w = writing.lock().expect("rules writing lock");
    w.retain(|p, since| {
        if std::fs::symlink_metadata(p).is_err()
            || lease::writers(p).ok() == Some(lease::Writers::None)
        {
            return false;
        }
        if since.elapsed() >= max {
            warn!(file = %p.display(), "a rule file has been open for writing longer than max_open_write_ms; reading it as it is");
            return false;
        }
        true
    });
    w.keys().next().cloned()
}

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
            failed_blocked: None,
            held: VecDeque::new(),
            originals_waiting: 0,
            state_trouble: false,
            untakable: HashSet::new(),
            stuck: false,
            stopping: false,
            dirty: true,
            run: format!("{nanos:x}"),
            seq: 0,
            ready: false,
            reasons: HashSet::new(),
            tries: HashMap::new(),
            generic: book.files.iter().any(|f| f.generic),
            folder_trouble: None,
            layout: None,
            rules_error: false,
            stopped: false,
            recent: VecDeque::new(),
            metrics: metrics::Metrics::default(),
            rebuild_snapshot: false,
            lost_seen: crate::rules::snapshot::LOST.load(std::sync::atomic::Ordering::Relaxed),
            waiting: Vec::new(),
            busy_since: HashMap::new(),
        }
    }

    /// Remembers a finished file for `pare status --json`.
    fn remember(&mut self, file: &Path, outcome: &str, to: &Path, reason: Option<&str>) {
        if self.recent.len() == crate::status::RECENT {
            self.recent.pop_front();
        }
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.recent.push_back(crate::status::Recent {
            file: file.to_string_lossy().into_owned(),
            outcome: outcome.into(),
            to: to.to_string_lossy().into_owned(),
            reason: reason.map(String::from),
            at,
        });
    }

    /// The layout checked again; work is held while it loops or mixes files.
    fn check_layout(&mut self) {
        match self.config.check_layout() {
            Err(e) if self.layout.as_ref() != Some(&e) => {
                error!(problem = %e, "the folders were rearranged into a layout pare refuses; files are held until it is mended");
                self.last_error = Some(e.clone());
                self.layout = Some(e);
                self.dirty = true;
            }
            Err(_) => {}
            Ok(()) => {
                if self.layout.take().is_some() {
                    info!("the folder layout is mended; resuming");
                    self.dirty = true;
                }
            }
        }
    }

    fn reason_file(&mut self, rel: PathBuf) {
        if self.reasons.insert(rel.clone()) {
            info!(file = %rel.display(), "not taken: a .reason file explains a failure, it is no article (take_reason_files = true takes them)");
            self.dirty = true;
        }
    }

    /// Logs a folder problem once, until it changes or goes.
    fn note_folder_trouble(&mut self, e: String) {
        if self.folder_trouble.as_ref() != Some(&e) {
            warn!(problem = %e, "cannot watch the inbox; trying again");
            self.last_error = Some(e.clone());
            self.folder_trouble = Some(e);
            self.dirty = true;
        }
    }

    fn found(&mut self, rel: PathBuf) {
        if self.known.insert(rel.clone()) {
            self.queue.push_back(Job::Inbox(rel));
            self.dirty = true;
        }
    }

    /// A file's job is over (or it waits in the work folder): its inbox name is free.
    /// Another file may have been delivered under it meanwhile, whose events came while
    /// the name was still known and added nothing: taken now, not at the next rescan
    /// (nor, for a file held for a full failed folder, only once that one settles).
    fn forget(&mut self, rel: &Path) {
        self.known.remove(rel);
        if std::fs::symlink_metadata(self.config.inbox.join(rel)).is_ok_and(|m| m.is_file()) {
            self.found(rel.to_path_buf());
        }
    }

    /// Files found still open for writing whose wait is over go back in the queue.
    fn wake_waiting(&mut self) {
        let now = Instant::now();
        let (due, wait): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|(t, _)| *t <= now);
        self.waiting = wait;
        self.queue.extend(due.into_iter().map(|(_, j)| j));
    }

    /// Whether the file has been held open for writing longer than `max_open_write_ms`:
    /// then it is taken as it is, with a warning, as the watcher does.
    fn overdue(&self, rel: &Path) -> bool {
        let Some(t) = self.busy_since.get(rel) else {
            return false;
        };
        let over = t.elapsed() >= self.config.max_open_write;
        if over {
            warn!(file = %rel.display(), waited_ms = self.config.max_open_write.as_millis() as u64, "still open for writing after max_open_write_ms; taking it as it is");
        }
        over
    }

    /// Whether a file held for the failed folder may be tried again now (as the probe).
    fn may_probe_failed(&self, now: Instant) -> bool {
        self.layout.is_none()
            && self.blocked.is_none()
            && !self.held.is_empty()
            && self
                .failed_blocked
                .as_ref()
                .is_some_and(|b| !b.probing && now >= b.until)
    }

    /// The next job to start, and what it probes. A file held for the failed folder
    /// goes first when its back-off is over; otherwise the queue's first.
    fn next_job(&mut self, now: Instant) -> Option<(Job, Probe)> {
        if self.may_probe_failed(now) {
            let job = self.held.pop_front()?;
            if let Some(b) = self.failed_blocked.as_mut() {
                b.probing = true;
            }
            return Some((job, Probe::Failed));
        }
        if !self.may_dispatch(now) {
            return None;
        }
        // With the outbox blocked and nothing else queued, a file held for the failed
        // folder probes the outbox (else nothing would, until a new file came).
        let job = match self.queue.pop_front() {
            Some(j) => j,
            None if self.blocked.is_some() => self.held.pop_front()?,
            None => return None,
        };
        let probe = match self.blocked.as_mut() {
            Some(b) => {
                b.probing = true;
                Probe::Outbox
            }
            None => Probe::None,
        };
        Some((job, probe))
    }

    fn may_dispatch(&self, now: Instant) -> bool {
        if self.layout.is_some() {
            return false;
        }
        match &self.blocked {
            None => true,
            Some(b) => !b.probing && now >= b.until,
        }
    }

    fn finished(&mut self, done: Result<(u64, Probe, Outcome), tokio::task::JoinError>) {
        let (id, probe, outcome) = match done {
            Ok(d) => d,
            Err(e) => {
                // A panic outside the engine (the engine's own are caught in the job).
                error!(error = %e, "worker crashed; its file stays in the work folder");
                // It may have been a probe: let the next job probe.
                for b in [self.blocked.as_mut(), self.failed_blocked.as_mut()]
                    .into_iter()
                    .flatten()
                {
                    b.probing = false;
                }
                return;
            }
        };
        self.running.remove(&id);
        self.dirty = true;
        let ok = !matches!(
            outcome,
            Outcome::Retry { .. } | Outcome::Busy(_) | Outcome::Untakable { .. }
        );
        let settled = !matches!(outcome, Outcome::Busy(_) | Outcome::Retry { .. });
        let quarantined = matches!(outcome, Outcome::Failed { .. });
        match outcome {
            Outcome::Cleaned {
                rel,
                output,
                report,
                ms,
            } => {
                self.forget(&rel);
                self.tries.remove(&rel);
                self.untakable.remove(&rel);
                self.processed += 1;
                self.remember(&rel, "cleaned", &output, None);
                self.metrics.processed += 1;
                self.metrics.bytes_in += report.bytes_in;
                self.metrics.bytes_out += report.bytes_out;
                self.metrics.took(ms);
                for (c, n) in report.per_category() {
                    *self.metrics.removals.entry(c.name()).or_default() += n as u64;
                }
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
                    "cleaned"
                );
            }
            Outcome::Failed { rel, reason, to } => {
                self.forget(&rel);
                self.tries.remove(&rel);
                self.untakable.remove(&rel);
                self.failed += 1;
                self.remember(&rel, "failed", &to, Some(&reason));
                self.metrics.failed += 1;
                warn!(file = %rel.display(), reason = %reason, moved_to = %to.display(), "failed");
                self.last_error = Some(format!("{}: {reason}", rel.display()));
            }
            Outcome::Published { rel, output } => {
                self.forget(&rel);
                self.tries.remove(&rel);
                self.processed += 1;
                info!(file = %rel.display(), output = %output.display(), "cleaned before a restart; committed now");
            }
            Outcome::Untakable { rel, reason } => {
                self.known.remove(&rel);
                self.tries.remove(&rel);
                if self.untakable.insert(rel.clone()) {
                    warn!(file = %rel.display(), reason = %reason, "cannot take this file; it stays in the inbox and is tried again at each rescan (the other files go on)");
                    self.last_error = Some(format!("{}: {reason}", rel.display()));
                }
            }
            Outcome::Gone(rel) => {
                self.forget(&rel);
                self.tries.remove(&rel);
                self.untakable.remove(&rel);
                debug!(file = %rel.display(), "already taken");
            }
            Outcome::Busy(job) => {
                // Still being written: kept in the work folder (its writer's descriptor
                // still reaches it there) and looked at again shortly; nothing else
                // waits for it.
                let rel = job.rel().to_path_buf();
                let now = Instant::now();
                if let std::collections::hash_map::Entry::Vacant(e) = self.busy_since.entry(rel) {
                    info!(file = %e.key().display(), "still open for writing by another process; waiting for its writer");
                    e.insert(now);
                }
                self.waiting.push((now + BUSY_RETRY, job));
            }
            Outcome::Retry {
                job,
                error,
                failed_folder: true,
            } => {
                // The file could be neither cleaned nor moved to the failed folder: it
                // waits (claimed, in the work folder) while the others go on; one held
                // file at a time tries again, with back-off. Its inbox name is free
                // again: a file delivered under it is taken meanwhile.
                let rel = job.rel().to_path_buf();
                self.held.push_back(job);
                self.forget(&rel);
                Blocked::note(
                    &mut self.failed_blocked,
                    probe == Probe::Failed,
                    error,
                    &mut self.last_error,
                    "cannot move a file to the failed folder; keeping it in the work folder and retrying (other files go on)",
                    "still cannot move to the failed folder",
                );
            }
            Outcome::Retry { job, error, .. } => {
                // To the back: one file's trouble taken for the folder's must not keep
                // the others from being tried.
                let rel = job.rel().to_path_buf();
                let processed = self.processed + self.failed;
                let tries = self.tries.entry(rel).or_insert((0, processed));
                tries.0 += 1;
                if tries.0 >= MAX_TRIES && processed > tries.1 && !matches!(job, Job::Fail(..)) {
                    let reason = format!(
                        "could not be published after {} tries while other files were: {error}",
                        tries.0
                    );
                    self.queue.push_back(Job::Fail(Box::new(job), reason));
                } else {
                    self.queue.push_back(job);
                }
                Blocked::note(
                    &mut self.blocked,
                    probe == Probe::Outbox,
                    error,
                    &mut self.last_error,
                    "cannot publish; keeping files and retrying",
                    "still cannot publish",
                );
            }
        }
        if settled && !self.busy_since.is_empty() {
            self.busy_since.retain(|rel, _| self.known.contains(rel));
        }
        // Only a probe (a job started while blocked) proves publishing works again: a job
        // already in flight when the disk filled may still have squeezed through.
        if ok && probe == Probe::Outbox && self.blocked.take().is_some() {
            info!("publishing works again; resuming");
        }
        // An outbox probe that proved nothing (its file held for the failed folder, not
        // movable, still being written): the next job probes.
        if probe == Probe::Outbox
            && let Some(b) = self.blocked.as_mut()
        {
            b.probing = false;
        }
        // A held file that got through (to the failed folder, or cleaned after all)
        // proves the failed folder works: the others held follow, first in line. One
        // that did not get there for another reason (the outbox, its writer) leaves
        // the next probe to its back-off.
        if probe == Probe::Failed || (quarantined && self.failed_blocked.is_some()) {
            if (ok || quarantined) && self.failed_blocked.take().is_some() {
                info!(
                    files = self.held.len(),
                    "the failed folder works again; moving the files held for it"
                );
                while let Some(j) = self.held.pop_back() {
                    self.queue.push_front(j);
                }
            } else if let Some(b) = self.failed_blocked.as_mut() {
                b.probing = false;
            }
        }
    }

    async fn reload(&mut self, rules: &Rules, why: &str) {
        self.notifier.reloading();
        let rebuild = std::mem::take(&mut self.rebuild_snapshot);
        match load_rules(&self.config, rebuild).await {
            Ok(book)
                if book.files.is_empty()
                    || (self.generic && !book.files.iter().any(|f| f.generic)) =>
            {
                let what = if book.files.is_empty() {
                    "no rule files"
                } else {
                    "no generic rules"
                };
                warn!(reason = %why, files = book.files.len(), "the rules folders now hold {what}; pare keeps the running rules (a folder being copied back?)");
                self.metrics.reloads_refused += 1;
                self.last_error =
                    Some(format!("rules not reloaded: the rules folders hold {what}"));
                self.rules_error = true;
            }
            Ok(book) => {
                info!(
                    reason = %why,
                    files = book.files.len(),
                    rules = book.rule_count(),
                    "rules reloaded"
                );
                self.metrics.reloads_ok += 1;
                self.rule_files = book.files.len();
                self.rule_count = book.rule_count();
                self.generic = book.files.iter().any(|f| f.generic);
                self.rules_loaded_at = SystemTime::now();
                *rules.write().expect("rules lock") = Arc::new(book);
                // A rule error mended by this reload is no longer the news.
                if std::mem::take(&mut self.rules_error) {
                    self.last_error = None;
                }
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
                self.metrics.reloads_refused += 1;
                self.last_error = errors.first().map(|e| e.to_string());
                self.rules_error = true;
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
        let counts = crate::status::Counts {
            processed: self.processed,
            failed: self.failed,
            queued: self.queue.len(),
            working: self.running.len(),
            publishing_blocked: self.blocked.is_some() || self.layout.is_some(),
            held_for_failed: self.held.len(),
            originals_waiting: self.originals_waiting,
            stopping: self.stopping && !self.stopped,
        };
        self.notifier.status(&counts.line());
        let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let state = crate::status::StateFile {
            pid: std::process::id(),
            state: match (self.stopped, self.stopping) {
                (true, _) => "stopped",
                (false, true) => "stopping",
                (false, false) => "running",
            }
            .into(),
            counts,
            reason_files: self.reasons.len() as u64,
            last_error: self.last_error.clone(),
            rules: crate::status::RulesState {
                files: self.rule_files,
                rules: self.rule_count,
                loaded_at: secs(self.rules_loaded_at),
                dirs: self
                    .config
                    .rules
                    .iter()
                    .map(|d| d.to_string_lossy().into_owned())
                    .collect(),
            },
            updated_at: secs(SystemTime::now()),
            recent: self.recent.iter().cloned().collect(),
        };
        let path = &self.config.state_file;
        if let Some(m) = &self.config.metrics_file
            && self.layout.is_none()
            && let Err(e) = self.metrics.write(m, self.queue.len(), self.running.len())
        {
            debug!(file = %m.display(), error = %e, "cannot write the metrics file");
        }
        // While the layout is refused the state file may sit anywhere (a work folder
        // linked into the outbox): it is not written until the layout is mended.
        if self.layout.is_some() {
            return;
        }
        match state.write(path) {
            // Once per episode: `pare status` shows the last state written until then.
            Err(e) if !self.state_trouble => {
                warn!(file = %path.display(), error = %e, "cannot write the state file; pare status shows an older state until it can");
                self.state_trouble = true;
            }
            Err(e) => debug!(file = %path.display(), error = %e, "cannot write the state file"),
            Ok(()) if self.state_trouble => {
                info!(file = %path.display(), "the state file is written again");
                self.state_trouble = false;
            }
            Ok(()) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The daemon in-process, as `pare run` starts it but with the shutdown in the test's
    /// hands: a file dropped in is cleaned, and the shutdown future stops it cleanly.
    #[test]
    fn runs_in_process_until_its_shutdown_future_completes() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        std::fs::create_dir_all(p.join("rules")).unwrap();
        std::fs::write(
            p.join("rules/generic.toml"),
            "generic = true\n[[rule]]\nid = \"promo\"\ncategory = \"promo\"\nremove = \".promo\"\n",
        )
        .unwrap();
        let text = "inbox = \"inbox\"\noutbox = \"outbox\"\nfailed = \"failed\"\nrules = \"rules\"\nquiet_ms = 200\n";
        let config = Config::parse(&p.join("pare.toml"), text).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let daemon = rt.spawn(run(config, async {
            let _ = stopped.await;
        }));
        let article = format!(
            "<html><body><article><p>{}</p></article><div class=\"promo\">Buy now</div></body></html>",
            "The council met on Tuesday to discuss the budget. ".repeat(10)
        );
        let end = Instant::now() + Duration::from_secs(20);
        while !p.join("inbox").is_dir() {
            assert!(Instant::now() < end, "the inbox was not made");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::fs::write(p.join("a.tmp"), &article).unwrap();
        std::fs::rename(p.join("a.tmp"), p.join("inbox/a.html")).unwrap();
        while !p.join("outbox/a.html").exists() || p.join("inbox/a.html").exists() {
            assert!(Instant::now() < end, "a.html was not cleaned");
            std::thread::sleep(Duration::from_millis(20));
        }
        stop.send(()).unwrap();
        rt.block_on(daemon).unwrap().unwrap();
        let out = std::fs::read_to_string(p.join("outbox/a.html")).unwrap();
        assert!(
            out.contains("The council met") && !out.contains("Buy now"),
            "{out}"
        );
        // Stopped, and said so in its state file.
        let state = std::fs::read_to_string(p.join("inbox/.pare-work/status.json")).unwrap();
        assert!(state.contains("\"stopped\""), "{state}");
    }
}
