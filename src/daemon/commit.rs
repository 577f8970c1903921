//! The committer: makes published outputs durable in batches, then lets their originals
//! go.
//!
//! A worker fsyncs its output file and links it into the outbox, then hands the job
//! here and takes the next file. This thread fsyncs the outbox folder once for every
//! output published since its last fsync (one folder fsync for many files, instead of
//! one per file) and only then deletes or moves each original. A crash before the
//! folder fsync leaves the original in the work folder: at the next start it is
//! committed again if its output survived, and cleaned again if not.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::mpsc::{self, Sender};
use std::thread::JoinHandle;

use super::claim::Claimed;
use super::folder::Folder;
use super::publish;
use crate::config::{Config, Processed};

/// How long published outputs gather before their folder fsync (only their originals'
/// deletion waits; a burst of 2,000 shares about 100 folder fsyncs).
const GATHER: std::time::Duration = std::time::Duration::from_millis(25);
/// The most outputs one folder fsync waits for.
const MAX_BATCH: usize = 512;

/// One published output waiting for its folder fsync.
pub struct Pending {
    /// The folder the output was linked into.
    pub dir: PathBuf,
    /// That folder, open, when the worker placed the output (`None` for a redo's
    /// output found at its name): synced by descriptor, so a link swapped in for the
    /// folder's name meanwhile cannot send the fsync elsewhere.
    pub folder: Option<std::sync::Arc<super::folder::Folder>>,
    pub claimed: Claimed,
    /// The job's unique name prefix (for temporary names when moving to `done`).
    pub tag: String,
}

/// Handle to the committer thread.
pub struct Committer {
    /// How many originals wait in the work folder to be deleted or moved (for the
    /// status).
    waiting: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    tx: Mutex<Option<Sender<Pending>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    config: Config,
}

impl Committer {
    /// Starts the thread.
    pub fn start(config: &Config) -> Committer {
        let (tx, rx) = mpsc::channel::<Pending>();
        let cfg = config.clone();
        let waiting = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = waiting.clone();
        let thread = std::thread::Builder::new()
            .name("pare-commit".into())
            .spawn(move || {
                let mut stuck = Stuck::default();
                loop {
                    // Outputs are already in place: what waits is only the deletion of
                    // their originals, so a burst's outputs gather for a moment and
                    // share one folder fsync (a journal commit each, on most
                    // filesystems, which the workers' own fsyncs then wait on).
                    let first = match stuck.due_in() {
                        None => match rx.recv() {
                            Ok(p) => Some(p),
                            Err(_) => break,
                        },
                        Some(left) => match rx.recv_timeout(left) {
                            Ok(p) => Some(p),
                            Err(mpsc::RecvTimeoutError::Timeout) => None,
                            Err(mpsc::RecvTimeoutError::Disconnected) => {
                                // Stopping: one last try; what still cannot go stays
                                // in the work folder and is committed at the next start.
                                stuck.retry(&cfg);
                                break;
                            }
                        },
                    };
                    if let Some(first) = first {
                        let mut batch = vec![first];
                        let until = std::time::Instant::now() + GATHER;
                        while batch.len() < MAX_BATCH {
                            let left = until.saturating_duration_since(std::time::Instant::now());
                            match rx.recv_timeout(left) {
                                Ok(p) => batch.push(p),
                                Err(_) => break,
                            }
                        }
                        stuck.add(commit(batch, &cfg));
                    }
                    if stuck.due_in() == Some(std::time::Duration::ZERO) {
                        stuck.retry(&cfg);
                    }
                    count.store(stuck.files.len(), std::sync::atomic::Ordering::Relaxed);
                }
            })
            .expect("spawn the committer thread");
        Committer {
            waiting,
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            config: config.clone(),
        }
    }

    /// Queues a published output. After [`finish`](Self::finish) (or if the thread is
    /// gone) the job is committed on the caller's thread instead.
    pub fn submit(&self, p: Pending) {
        let p = match self.tx.lock().expect("committer lock").as_ref() {
            Some(tx) => match tx.send(p) {
                Ok(()) => return,
                Err(mpsc::SendError(p)) => p,
            },
            None => p,
        };
        for p in commit(vec![p], &self.config) {
            // Stopping: left in the work folder for the next start.
            tracing::warn!(file = %p.claimed.rel.display(), "the original stays in the work folder until the next start");
        }
    }

    /// How many originals of published files wait in the work folder, retried.
    pub fn waiting(&self) -> usize {
        self.waiting.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Commits everything queued and stops the thread.
    pub fn finish(&self) {
        drop(self.tx.lock().expect("committer lock").take());
        if let Some(t) = self.thread.lock().expect("committer lock").take() {
            let _ = t.join();
        }
    }
}

/// Makes the batch's outputs durable and lets their originals go; returns those whose
/// originals could not go.
fn commit(batch: Vec<Pending>, config: &Config) -> Vec<Pending> {
    // One fsync per folder: an open one by its identity (a folder removed by a consumer
    // meanwhile is synced harmlessly), one known by name only by that name.
    let key = |p: &Pending| match p.folder.as_ref().map(|f| f.id()) {
        Some(Ok(id)) => Key::Open(id),
        _ => Key::Named(p.dir.clone()),
    };
    let keys: Vec<Key> = batch.iter().map(key).collect();
    let mut dirs: BTreeMap<&Key, &Pending> = BTreeMap::new();
    for (k, p) in keys.iter().zip(&batch) {
        dirs.entry(k).or_insert(p);
    }
    let mut kept: BTreeSet<Key> = BTreeSet::new();
    for (k, p) in dirs {
        let dir = &p.dir;
        let synced = match (k, &p.folder) {
            (Key::Open(_), Some(f)) => publish::sync_folder(f),
            _ => publish::sync_dir(dir),
        };
        match synced {
            Ok(()) => {}
            // The folder is gone: a consumer took its outputs and removed it (or
            // someone deleted them). Nothing is left to make durable, and keeping the
            // originals would only publish them again at the next start.
            // (Its parent still there, or the outbox: the folder itself was removed,
            // with the empty folders above it — a consumer tidying as it takes — not
            // the outbox moved or unmounted under it.)
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && (dir.parent().is_some_and(|p| p.is_dir())
                        || (dir.starts_with(&config.outbox) && config.outbox.is_dir())) =>
            {
                tracing::debug!(folder = %dir.display(), "outbox folder removed before its fsync; its outputs were taken");
            }
            Err(e) => {
                // Its outputs may not be durable: keep their originals for the next
                // start; the other folders' are committed.
                tracing::warn!(folder = %dir.display(), error = %e, "cannot make the outbox durable; originals kept in the work folder");
                kept.insert(k.clone());
            }
        }
    }
    let batch: Vec<Pending> = batch
        .into_iter()
        .zip(&keys)
        .filter(|(_, k)| !kept.contains(k))
        .map(|(p, _)| p)
        .collect();
    // Their outputs are durable now: an original that cannot go yet is marked so, and
    // a restart commits it even if a consumer took its output meanwhile. Its folder
    // is let go (closed): originals may wait long, and each holds a descriptor.
    let durable = |p: Pending| Pending {
        claimed: super::claim::mark_durable(&config.work, p.claimed),
        folder: None,
        ..p
    };
    let done = match layout(config) {
        Ok(done) => done,
        Err(e) => {
            tracing::warn!(problem = %e, files = batch.len(), "cleaned, but the originals stay in the work folder until the folder layout is mended");
            return batch.into_iter().map(durable).collect();
        }
    };
    let mut stuck = Vec::new();
    let mut first = None;
    for p in batch {
        if let Err(e) = let_go(&p, done.as_ref(), config) {
            first.get_or_insert((p.claimed.rel.clone(), e));
            stuck.push(durable(p));
        }
    }
    // One warning for the batch, not one per file.
    if let Some((file, e)) = first {
        tracing::warn!(file = %file.display(), files = stuck.len(), error = %e, "cleaned, but cannot remove the original from the work folder; trying again");
    }
    stuck
}

/// A folder to sync: open (its device and inode), or known by its path only.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Open((u64, u64)),
    Named(PathBuf),
}

/// Whether originals may be moved to `done` now: the folders checked against each other
/// as at start, `done` as the folder opened here (used by descriptor, so a link
/// swapped in for it after the check cannot send them elsewhere). A `done` folder
/// replaced by a link into the inbox would feed them back in; one into the outbox
/// would mix them with the cleaned pages. (Deleting needs no check.) `Ok(None)`:
/// deleting, or `done` cannot be opened (missing: each move says so).
fn layout(config: &Config) -> Result<Option<Folder>, String> {
    match &config.processed {
        Processed::Move(done) => {
            let Ok(opened) = Folder::root(done) else {
                return config.check_layout().map(|()| None);
            };
            let real = opened.real_path().ok();
            config
                .check_layout_with(None, None, real.as_deref())
                .map(|()| Some(opened))
        }
        Processed::Delete => Ok(None),
    }
}

/// Deletes or moves a committed file's original and releases its claim.
fn let_go(p: &Pending, opened: Option<&Folder>, config: &Config) -> std::io::Result<()> {
    match &config.processed {
        Processed::Delete => match std::fs::remove_file(&p.claimed.work) {
            // Gone already (someone took it from the work folder): nothing to let go.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            r => r,
        },
        Processed::Move(done) => {
            let move_to = |dest: &std::path::Path| match opened {
                Some(root) => publish::move_into(&p.claimed.work, dest, root, &p.tag),
                None => publish::move_to(&p.claimed.work, dest, done, &p.tag),
            };
            match move_to(&done.join(&p.claimed.rel)) {
                // Its path cannot be made in `done` (too long there, a link or a file
                // in the way): at the top of `done` under its path as one name, as the
                // failed folder does, rather than in the work folder for ever.
                Err(e) if super::job::file_fault(&e) => {
                    let flat =
                        publish::fitted(&done.join(super::job::flat_name(&p.claimed.rel)), 1, 0);
                    let to = move_to(&flat)?;
                    tracing::warn!(file = %p.claimed.rel.display(), error = %e, moved_to = %to.display(), "the original cannot go to done under its path; moved there under one name");
                    Ok(())
                }
                r => r.map(|_| ()),
            }
        }
    }?;
    super::claim::release(&config.work, &p.claimed.work);
    Ok(())
}

/// Committed outputs whose originals could not go (a full or missing `done` folder, a
/// work folder turned read-only): their outputs are durable, so only the originals
/// wait, in the work folder, tried again with a backoff while the daemon runs (not
/// only at its next start).
#[derive(Default)]
struct Stuck {
    files: Vec<Pending>,
    next: Option<std::time::Instant>,
    backoff: std::time::Duration,
}

/// The first wait before trying again, and the longest.
const RETRY_FIRST: std::time::Duration = std::time::Duration::from_millis(500);
const RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(30);

impl Stuck {
    /// How long until the next try (`None`: nothing waits).
    fn due_in(&self) -> Option<std::time::Duration> {
        self.next
            .map(|t| t.saturating_duration_since(std::time::Instant::now()))
    }

    fn add(&mut self, files: Vec<Pending>) {
        if files.is_empty() {
            return;
        }
        self.files.extend(files);
        if self.next.is_none() {
            self.backoff = RETRY_FIRST;
            self.next = Some(std::time::Instant::now() + self.backoff);
        }
    }

    fn retry(&mut self, config: &Config) {
        let before = self.files.len();
        let (done, mut error) = match layout(config) {
            Ok(done) => (done, None),
            Err(e) => (None, Some(e)),
        };
        if error.is_none() {
            self.files
                .retain(|p| match let_go(p, done.as_ref(), config) {
                    Ok(()) => false,
                    Err(e) => {
                        error.get_or_insert(e.to_string());
                        true
                    }
                });
        }
        match error {
            None => {
                tracing::info!(
                    files = before,
                    "the originals left in the work folder went after all"
                );
                self.next = None;
            }
            Some(e) => {
                tracing::debug!(files = self.files.len(), error = %e, "originals still cannot leave the work folder");
                self.backoff = (self.backoff * 2).min(RETRY_MAX);
                self.next = Some(std::time::Instant::now() + self.backoff);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Pending, commit};
    use crate::daemon::claim::Claimed;

    /// A consumer took the outputs and removed their site folder before the folder's
    /// fsync: the originals are committed (they were once kept, to be published a
    /// second time at the next start); a folder whose fsync fails otherwise keeps its
    /// own originals only.
    #[test]
    fn a_removed_outbox_folder_commits_its_originals_and_a_failing_one_keeps_only_its_own() {
        let d = std::env::temp_dir().join(format!("pare-commit-{}", std::process::id()));
        let work = d.join("work");
        std::fs::create_dir_all(&work).unwrap();
        let outbox = d.join("outbox");
        std::fs::create_dir_all(outbox.join("kept.example")).unwrap();
        let pending = |name: &str, dir: std::path::PathBuf| {
            let w = work.join(name);
            std::fs::write(&w, "original").unwrap();
            Pending {
                dir,
                folder: None,
                claimed: Claimed {
                    work: w,
                    rel: name.into(),
                    published: Some(1),
                    resumed: false,
                    tag: format!("t-{name}"),
                    durable: false,
                },
                tag: format!("t-{name}"),
            }
        };
        // A file where a folder's parent should be: opening the folder fails with
        // ENOTDIR, not ENOENT.
        std::fs::write(outbox.join("odd"), "").unwrap();
        let batch = vec![
            pending("a.html", outbox.join("gone.example")),
            pending("b.html", outbox.join("kept.example")),
            pending("c.html", outbox.join("odd").join("sub")),
            // The outbox itself moved away under its site folder: kept.
            pending("d.html", d.join("moved-outbox").join("site.example")),
            // A consumer removed the folder and the empty ones above it: taken.
            pending(
                "e.html",
                outbox.join("gone.example").join("2024").join("05"),
            ),
        ];
        let config = crate::config::Config::parse(
            &d.join("pare.toml"),
            "inbox = \"inbox\"\noutbox = \"outbox\"\nfailed = \"failed\"\nwork = \"work\"\n",
        )
        .unwrap();
        assert_eq!(config.work, work);
        commit(batch, &config);
        assert!(
            work.join("d.html").exists(),
            "an original went with the outbox moved away"
        );
        assert!(
            !work.join("a.html").exists(),
            "the taken folder's original stayed"
        );
        assert!(!work.join("b.html").exists());
        assert!(
            !work.join("e.html").exists(),
            "the original of an output whose folders a consumer removed stayed"
        );
        assert!(
            work.join("c.html").exists(),
            "an original whose output may not be durable went"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
