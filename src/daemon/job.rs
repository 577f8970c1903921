//! One file's way through the daemon, run on a blocking thread: claim it, check what it
//! is, clean it into a temporary file, publish the result, and only then delete or move
//! the original. Or, when the file cannot be cleaned, move it to the failed folder with
//! a reason beside it.
//!
//! The [`Outcome`] says what happened; the orchestration in `daemon/mod.rs` counts, logs
//! and retries. Trouble with the outbox or the failed folder (disk full, missing,
//! unwritable) is never the article's fault: the file is kept and the job comes back as
//! [`Outcome::Retry`].

use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::clean::{self, CleanError, Options, Report};
use crate::config::Config;
use crate::rules::RuleBook;

use super::claim::{self, Claimed};
use super::lease::Writers;
use super::publish::{self, TempFile};

/// Work for one file.
#[derive(Debug, Clone)]
pub enum Job {
    /// A file in the inbox, relative to it, not yet claimed.
    Inbox(PathBuf),
    /// A file already in the work folder (a retry, or left by an earlier run).
    Claimed(Claimed),
    /// A file to send to the failed folder without trying again: it could not be
    /// published time after time while other files were.
    Fail(Box<Job>, String),
}

impl Job {
    /// The inbox path the job is about.
    pub fn rel(&self) -> &Path {
        match self {
            Job::Inbox(rel) => rel,
            Job::Claimed(c) => &c.rel,
            Job::Fail(job, _) => job.rel(),
        }
    }
}

/// What became of a job.
#[derive(Debug)]
pub enum Outcome {
    Cleaned {
        rel: PathBuf,
        output: PathBuf,
        report: Box<Report>,
        ms: u64,
    },
    Failed {
        rel: PathBuf,
        reason: String,
        to: PathBuf,
    },
    /// Cleaned and published before a crash (its claim says so): only committed now.
    Published { rel: PathBuf, output: PathBuf },
    /// Nothing to do: the file was claimed already, or has gone.
    Gone(PathBuf),
    /// The file cannot be taken out of the inbox at all — neither claimed nor moved to
    /// the failed folder: the daemon may not move it (a producer's folder it cannot
    /// write in, an append-only or immutable file). It stays where it is and is tried
    /// again at the next rescan; the other files go on.
    Untakable { rel: PathBuf, reason: String },
    /// The destination could not be written; the input is kept and the job is to be
    /// tried again later. `failed_folder`: the destination was the failed folder (the
    /// file could not be cleaned and could not be moved there either), so the outbox
    /// may still be fine for the other files.
    Retry {
        job: Job,
        error: String,
        failed_folder: bool,
    },
    /// Another process still holds the file open for writing, or wrote to it while it
    /// was being cleaned: nothing was published, the claim is kept, and the job is to
    /// be tried again once the writer is done.
    Busy(Job),
}

/// Why a step of a job did not go through.
#[derive(Debug)]
enum Trouble {
    /// The article's fault (not HTML, too big…): it goes to failed with this reason.
    Refuse(String),
    /// This file's own trouble outside its content — a name too long for a folder,
    /// bytes a filesystem will not take in a name: failed too, and the others go on.
    File(String),
    /// A destination folder's trouble (missing, full, read-only): the file is kept and
    /// work is held back until publishing works again.
    Folder(io::Error),
    /// The input changed while it was read, or is open for writing again.
    Busy,
}

/// Errors that belong to one file's name or shape, not to the folder it goes to: a name
/// or path too long (`ENAMETOOLONG`), bytes a filesystem refuses in a name (`EILSEQ`,
/// as on some FUSE and network filesystems), too many links to follow (`ELOOP`), a
/// file too large for the destination (`EFBIG`), a part of its path that is a file
/// there (`ENOTDIR`: `failed/foo` a file, `failed/foo/x.html` wanted). Everything else
/// is the folder's: it is safer to hold a file back than to fail it for the disk's sake.
pub fn file_fault(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(36 | 84 | 40 | 27 | 20))
}

/// Everything a job needs besides its file.
pub struct Ctx<'a> {
    pub config: &'a Config,
    pub book: &'a RuleBook,
    /// Makes outputs durable in batches and then disposes of their originals.
    pub commit: &'a super::commit::Committer,
    /// A name prefix unique to this job (`<run>-<seq>`).
    pub tag: String,
    /// The file has been held open for writing longer than `max_open_write_ms`: taken
    /// as it is.
    pub overdue: bool,
}

/// Where a file to fail is now.
enum Source {
    Inbox(PathBuf),
    Claimed(Claimed),
}

impl Source {
    fn of(job: Job) -> Source {
        match job {
            Job::Inbox(rel) => Source::Inbox(rel),
            Job::Claimed(c) => Source::Claimed(c),
            Job::Fail(job, _) => Source::of(*job),
        }
    }

    fn path(&self, cx: &Ctx<'_>) -> PathBuf {
        match self {
            Source::Inbox(rel) => cx.config.inbox.join(rel),
            Source::Claimed(c) => c.work.clone(),
        }
    }

    fn rel(&self) -> &Path {
        match self {
            Source::Inbox(rel) => rel,
            Source::Claimed(c) => &c.rel,
        }
    }

    fn job(self) -> Job {
        match self {
            Source::Inbox(rel) => Job::Inbox(rel),
            Source::Claimed(c) => Job::Claimed(c),
        }
    }
}

/// Runs one job to its end.
pub fn process(job: Job, cx: &Ctx<'_>) -> Outcome {
    let t0 = Instant::now();
    let claimed = match job {
        Job::Claimed(c) => c,
        Job::Inbox(rel) => match claim::claim(&cx.config.inbox, &cx.config.work, &rel, &cx.tag) {
            Ok(Some(c)) => c,
            Ok(None) => return Outcome::Gone(rel),
            // EXDEV: the work folder is no longer on the inbox's filesystem (something
            // mounted on it): the folder's trouble, not the file's.
            Err(e)
                if e.raw_os_error() == Some(18)
                    && !same_device(&cx.config.inbox, &cx.config.work) =>
            {
                return Outcome::Retry {
                    error: format!(
                        "cannot claim into {}: it is no longer on the inbox's filesystem ({e})",
                        cx.config.work.display()
                    ),
                    job: Job::Inbox(rel),
                    failed_folder: false,
                };
            }
            // EXDEV otherwise: the file is on another filesystem than the inbox (a mount
            // inside it), where no rename can claim it.
            Err(e) if file_fault(&e) || e.raw_os_error() == Some(18) => {
                let reason = format!("cannot be claimed into the work folder: {e}");
                return fail(Source::Inbox(rel), reason, cx);
            }
            // Not allowed to move it (EACCES, EPERM) while the work folder itself takes
            // new files: the file's own folder or the file stands in the way, and it
            // could not be moved to the failed folder either.
            Err(e)
                if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM))
                    && takes_files(&cx.config.work, &cx.tag) =>
            {
                return Outcome::Untakable {
                    rel,
                    reason: format!("the daemon may not move it out of the inbox: {e}"),
                };
            }
            Err(e) => {
                return Outcome::Retry {
                    error: format!("cannot claim into {}: {e}", cx.config.work.display()),
                    job: Job::Inbox(rel),
                    failed_folder: false,
                };
            }
        },
        Job::Fail(job, reason) => return fail(Source::of(*job), reason, cx),
    };
    if let Some(n) = claimed.published {
        let output = publish::numbered(&output_path(&claimed.rel, cx.config), n);
        // Its output there, or made durable and taken by a consumer since (the claim
        // says `+nd`): committed, not cleaned again. Looked for without following a
        // link: a site folder that is a link now (moved away, a link in its place)
        // hides the output, which is not to be published a second time: held.
        let there = || -> io::Result<bool> {
            let dir = output.parent().expect("output in a folder");
            match super::folder::Folder::below(&cx.config.outbox, dir, false, &mut Vec::new()) {
                Ok(f) => Ok(
                    std::fs::symlink_metadata(f.at(output.file_name().expect("a name"))).is_ok(),
                ),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(e),
            }
        };
        let there = match claimed.durable {
            true => Ok(true),
            false => there(),
        };
        match there {
            Ok(true) => {
                let rel = claimed.rel.clone();
                commit(claimed, &output, None, cx);
                return Outcome::Published { rel, output };
            }
            Ok(false) => {}
            Err(e) => {
                return Outcome::Retry {
                    error: format!(
                        "cannot look for its output {} (published before the restart): {e}",
                        output.display()
                    ),
                    job: Job::Claimed(claimed),
                    failed_folder: false,
                };
            }
        }
    }
    // Left unmarked by an earlier run: published already if its temporary file, kept
    // through the start's sweep, is one of its output's names (see `claim`); then it is
    // marked and committed, not cleaned again. Otherwise its stale temporary file goes
    // and it is cleaned again, under a name of its own.
    if claimed.resumed && claimed.published.is_none() {
        let dest = output_path(&claimed.rel, cx.config);
        let stale = cx.config.outbox.join(publish::TMP_DIR).join(&claimed.tag);
        match publish::own_output(&cx.config.outbox, &claimed.tag, &dest) {
            Ok(Some(n)) => {
                let rel = claimed.rel.clone();
                let output = publish::numbered(&dest, n);
                let claimed = claim::mark_published(&cx.config.work, claimed, n);
                tracing::info!(file = %rel.display(), output = %output.display(), "published before the restart, its claim not yet marked: marked now");
                if claimed.published.is_some() {
                    let _ = std::fs::remove_file(&stale);
                }
                commit(claimed, &output, None, cx);
                return Outcome::Published { rel, output };
            }
            Ok(None) => {
                let _ = std::fs::remove_file(&stale);
            }
            // Its output's folder cannot be looked in without following a link (a site
            // folder replaced by one): held, not cleaned and published a second time.
            Err(e) => {
                return Outcome::Retry {
                    error: format!(
                        "cannot tell whether it was published before the restart: {}: {e}",
                        dest.display()
                    ),
                    job: Job::Claimed(claimed),
                    failed_folder: false,
                };
            }
        }
    }
    // Still being written (another process's close woke the watcher, a writer pausing
    // longer than the quiet period): cleaned once its writer is done, never now — what
    // it writes after the claim would be lost with the input.
    // Regular files only: links, FIFOs and devices are refused below without being
    // opened.
    let before = std::fs::symlink_metadata(&claimed.work).ok();
    if !cx.overdue && before.as_ref().is_some_and(|m| m.is_file()) {
        match super::lease::writers(&claimed.work) {
            Ok(Writers::Some) => return Outcome::Busy(Job::Claimed(claimed)),
            Ok(Writers::Unknown) => lease_unknown(cx.config.poll),
            _ => {}
        }
    }
    let reason = match check(&claimed.work, cx.config.max_file_size) {
        Ok(()) => match clean_into_outbox(&claimed, before.as_ref(), cx) {
            Ok((slot, report)) => {
                let rel = claimed.rel.clone();
                let claimed = claim::mark_published(&cx.config.work, claimed, slot.n);
                let output = slot.path.clone();
                commit(claimed, &output, Some(slot.folder.clone()), cx);
                // The claim is marked: the output's temporary name, which a restart
                // would have recognized it by, goes.
                drop(slot);
                return Outcome::Cleaned {
                    rel,
                    output,
                    report: Box::new(report),
                    ms: t0.elapsed().as_millis() as u64,
                };
            }
            Err(Trouble::Folder(e)) => {
                return Outcome::Retry {
                    error: e.to_string(),
                    job: Job::Claimed(claimed),
                    failed_folder: false,
                };
            }
            Err(Trouble::Busy) => return Outcome::Busy(Job::Claimed(claimed)),
            Err(Trouble::Refuse(r) | Trouble::File(r)) => r,
        },
        Err(Trouble::Folder(e)) if e.kind() == io::ErrorKind::NotFound => {
            return Outcome::Gone(claimed.rel);
        }
        Err(Trouble::Folder(e)) => format!("cannot inspect the file: {e}"),
        Err(Trouble::Busy) => return Outcome::Busy(Job::Claimed(claimed)),
        Err(Trouble::Refuse(r) | Trouble::File(r)) => r,
    };
    fail(Source::Claimed(claimed), reason, cx)
}

/// Hands a published file to the committer: its output made durable, then the original
/// deleted or moved to `done`.
/// Hands a published output to the committer, with the folder it went into when this
/// job placed it (synced by descriptor); a redo's folder is found by its name.
fn commit(
    claimed: Claimed,
    output: &Path,
    folder: Option<std::sync::Arc<super::folder::Folder>>,
    cx: &Ctx<'_>,
) {
    cx.commit.submit(super::commit::Pending {
        dir: output.parent().expect("output in a folder").to_path_buf(),
        folder,
        claimed,
        tag: cx.tag.clone(),
    });
}

/// Sends a file to the failed folder with its reason: under its inbox path, or — when
/// that path cannot be made there (too long for the failed folder) — at the top of the
/// failed folder under a shortened name. A shortened name's reason gives the original.
fn fail(source: Source, reason: String, cx: &Ctx<'_>) -> Outcome {
    let failed = &cx.config.failed;
    let from = source.path(cx);
    let rel = source.rel().to_path_buf();
    let dest = failed.join(&rel);
    let named = |dest: &Path| {
        if publish::fitted(dest, 1, publish::REASON.len()) == dest {
            reason.clone()
        } else {
            format!("{reason} (original name: {})", rel.display())
        }
    };
    let r = checked(cx, Root::Failed).and_then(|root| {
        let r = publish::quarantine_in(&from, &dest, &root, &cx.tag, &named(&dest));
        match &r {
            Err(e) if file_fault(e) => {
                let flat = failed.join(flat_name(&rel));
                let why = format!("{reason} (original name: {})", rel.display());
                publish::quarantine_in(&from, &flat, &root, &cx.tag, &why)
            }
            _ => r,
        }
    });
    if r.is_ok()
        && let Source::Claimed(c) = &source
    {
        claim::release(&cx.config.work, &c.work);
    }
    match r {
        Ok(to) => Outcome::Failed { rel, reason, to },
        Err(e) => Outcome::Retry {
            error: format!("cannot move to {}: {e}", failed.display()),
            job: source.job(),
            failed_folder: true,
        },
    }
}

/// An inbox path as one file name (`site.com/a/x.html` → `site.com_a_x.html`), for
/// the top of the failed folder; shortened later if too long.
pub(super) fn flat_name(rel: &Path) -> std::ffi::OsString {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let bytes: Vec<u8> = rel
        .as_os_str()
        .as_bytes()
        .iter()
        .map(|&b| if b == b'/' { b'_' } else { b })
        .collect();
    std::ffi::OsString::from_vec(bytes)
}

/// Whether two folders are on one filesystem (unknown: assumed so).
fn same_device(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev(),
        _ => true,
    }
}

/// Whether `dir` takes a new file: one is made there and removed.
fn takes_files(dir: &Path, tag: &str) -> bool {
    let probe = dir.join(format!(".probe-{tag}"));
    let ok = std::fs::File::create_new(&probe).is_ok();
    if ok {
        let _ = std::fs::remove_file(&probe);
    }
    ok
}

/// Says once per run that the kernel cannot be asked whether files are still being
/// written (the daemon neither owns them nor has `CAP_LEASE`, as under the shipped
/// unit): the watcher's open and close accounting — or, polling, the quiet period
/// alone — decides then.
fn lease_unknown(polling: bool) {
    static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
        if polling {
            tracing::warn!(
                "cannot ask the kernel whether inbox files are still open for writing (not their owner, no CAP_LEASE) and polling sees no opens or closes: a writer that pauses longer than quiet_ms loses what it writes after; deliver by rename, or use inotify"
            );
        } else {
            tracing::info!(
                "cannot ask the kernel whether inbox files are still open for writing (not their owner, no CAP_LEASE): inotify's opens and closes decide"
            );
        }
    }
}

/// Refuses what is not a regular file of an acceptable size. Looks at the entry itself,
/// never what a link points to, and never opens it.
fn check(path: &Path, max: u64) -> Result<(), Trouble> {
    let m = std::fs::symlink_metadata(path).map_err(Trouble::Folder)?;
    let t = m.file_type();
    let what = if t.is_symlink() {
        "a symbolic link (pare never follows links in the inbox; move the file itself in)"
    } else if t.is_fifo() {
        "a named pipe (FIFO), not a file"
    } else if t.is_socket() {
        "a socket, not a file"
    } else if t.is_block_device() || t.is_char_device() {
        "a device, not a file"
    } else if t.is_dir() {
        "a folder"
    } else if m.len() > max {
        return Err(Trouble::Refuse(format!(
            "too big: {} bytes, more than max_file_size ({max} bytes)",
            m.len()
        )));
    } else {
        return Ok(());
    };
    Err(Trouble::Refuse(what.to_string()))
}

/// Cleans into a temporary file in the outbox and publishes it — unless the input
/// changed from `before` (its size, modification or change time) while it was read, or
/// is open for writing again: then nothing is published ([`Trouble::Busy`]).
fn clean_into_outbox(
    c: &Claimed,
    before: Option<&std::fs::Metadata>,
    cx: &Ctx<'_>,
) -> Result<(publish::Slot, Report), Trouble> {
    let outbox = &cx.config.outbox;
    let folder = |e: io::Error| Trouble::Folder(context(e, outbox));
    let mut tmp = temp_file(cx, &c.tag).map_err(folder)?;
    let (route, below) = cx.config.route(&c.rel);
    let opts = Options {
        site_hint: crate::watch::site_of(below),
        categories: route.categories,
        profile: route.profile,
        format: route.format,
        // The daemon keeps a page's counts only (the log line, the metrics).
        describe: false,
        ..Options::default()
    };
    let report = {
        let mut w = BufWriter::with_capacity(64 * 1024, tmp.file());
        // A panic in the engine is a bug, but it must not keep a file (and the daemon)
        // going round: the file is failed with the panic as its reason.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            BUFFER.with(|b| {
                let mut buf = b.borrow_mut();
                let r = clean::clean_file(&c.work, &mut buf, cx.book, &opts, &mut w);
                if buf.capacity() > KEEP_BUFFER {
                    *buf = Vec::new();
                }
                r
            })
        }))
        .unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(CleanError::Engine(format!(
                "the engine crashed (a bug in pare): {msg}"
            )))
        });
        let flushed = w.flush();
        // A write refused for its size (EFBIG: the process's file-size limit, systemd's
        // LimitFSIZE=, the filesystem's largest file) is this file's trouble.
        let write_error = |e: io::Error| {
            if e.raw_os_error() == Some(libc::EFBIG) {
                Trouble::File(format!("the cleaned page is too big to write: {e}"))
            } else {
                folder(e)
            }
        };
        match r {
            Ok(report) => {
                flushed.map_err(write_error)?;
                report
            }
            Err(CleanError::Write(e)) => return Err(write_error(e)),
            Err(e) => return Err(Trouble::Refuse(e.to_string())),
        }
    };
    if !cx.overdue {
        let after = std::fs::symlink_metadata(&c.work).ok();
        let stamp = |m: &std::fs::Metadata| {
            (
                m.len(),
                m.mtime(),
                m.mtime_nsec(),
                m.ctime(),
                m.ctime_nsec(),
            )
        };
        if before.map(stamp) != after.as_ref().map(stamp)
            || super::lease::writers(&c.work).ok() == Some(Writers::Some)
        {
            return Err(Trouble::Busy);
        }
    }
    let dest = outbox.join(route.format.output_name(&c.rel));
    let slot = tmp.place_unsynced(&dest).map_err(|e| {
        if file_fault(&e) {
            Trouble::File(format!(
                "cannot publish the cleaned page as {}: {e}",
                dest.display()
            ))
        } else {
            folder(e)
        }
    })?;
    Ok((slot, report))
}

/// Where the output of the inbox file `rel` goes (its first name; taken names are
/// numbered from it).
fn output_path(rel: &Path, config: &Config) -> PathBuf {
    config
        .outbox
        .join(config.route(rel).0.format.output_name(rel))
}

/// A temporary file for a job's output, in the outbox as opened now (see [`checked`]).
fn temp_file(cx: &Ctx<'_>, name: &str) -> io::Result<TempFile> {
    TempFile::create_in(checked(cx, Root::Outbox)?, name)
}

/// The roots a job writes below, each opened once per job and checked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Root {
    Outbox,
    Failed,
}

/// The outbox or the failed folder as opened now, checked against the folder layout
/// whenever it is not the folder last checked, where it was (the daemon checks the
/// layout by name four times a second; a root swapped for a link into the inbox, or
/// moved into it, between two checks must not take files, which would be taken again as
/// inputs). The common case costs an `fstat` and a `readlink`. A missing root is an
/// error, never a second look by name.
fn checked(cx: &Ctx<'_>, which: Root) -> io::Result<super::folder::Folder> {
    use std::sync::Mutex;
    /// A root last checked: which, its path, identity and real path.
    type Checked = (PathBuf, (u64, u64), PathBuf);
    static CHECKED: Mutex<[Option<Checked>; 2]> = Mutex::new([None, None]);
    let (path, slot) = match which {
        Root::Outbox => (&cx.config.outbox, 0),
        Root::Failed => (&cx.config.failed, 1),
    };
    let root = super::folder::Folder::root(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} is missing or not a folder", path.display()),
        ),
        _ => e,
    })?;
    let (id, real) = (root.id()?, root.real_path()?);
    let known = CHECKED.lock().expect("root check lock")[slot]
        .as_ref()
        .is_some_and(|(p, i, r)| p == path && *i == id && *r == real);
    if !known {
        match which {
            Root::Outbox => cx.config.check_layout_with(Some(&real), None, None),
            Root::Failed => cx.config.check_layout_with(None, Some(&real), None),
        }
        .map_err(io::Error::other)?;
        CHECKED.lock().expect("root check lock")[slot] = Some((path.clone(), id, real));
    }
    Ok(root)
}

/// A worker keeps a buffer this large between files (for `clean::clean_file`); a
/// larger one goes after its file.
const KEEP_BUFFER: usize = 1 << 20;

thread_local! {
    static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn context(e: io::Error, dir: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", dir.display()))
}
