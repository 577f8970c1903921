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
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::clean::{self, CleanError, Input, Options, Report};
use crate::config::Config;
use crate::rules::RuleBook;

use super::claim::{self, Claimed};
use super::publish::{self, TempFile};

/// Work for one file.
#[derive(Debug, Clone)]
pub enum Job {
    /// A file in the inbox, relative to it, not yet claimed.
    Inbox(PathBuf),
    /// A file already in the work folder (a retry, or left by an earlier run).
    Claimed(Claimed),
}

impl Job {
    /// The inbox path the job is about.
    pub fn rel(&self) -> &Path {
        match self {
            Job::Inbox(rel) => rel,
            Job::Claimed(c) => &c.rel,
        }
    }
}

/// What became of a job.
#[derive(Debug)]
pub enum Outcome {
    Cleaned {
        rel: PathBuf,
        output: PathBuf,
        /// The output was already there, identical (a redo after a crash).
        identical: bool,
        report: Box<Report>,
        ms: u64,
    },
    Failed {
        rel: PathBuf,
        reason: String,
        to: PathBuf,
    },
    /// Nothing to do: the file was claimed already, or has gone.
    Gone(PathBuf),
    /// The destination could not be written; the input is kept and the job is to be
    /// tried again later.
    Retry { job: Job, error: String },
}

/// A file pare will not clean, with the reason written beside it.
struct Refuse(String);

/// Everything a job needs besides its file.
pub struct Ctx<'a> {
    pub config: &'a Config,
    pub book: &'a RuleBook,
    /// Makes outputs durable in batches and then disposes of their originals.
    pub commit: &'a super::commit::Committer,
    /// A name prefix unique to this job (`<run>-<seq>`).
    pub tag: String,
}

/// Runs one job to its end.
pub fn process(job: Job, cx: &Ctx<'_>) -> Outcome {
    let t0 = Instant::now();
    let claimed = match job {
        Job::Claimed(c) => c,
        Job::Inbox(rel) => match claim::claim(&cx.config.inbox, &cx.config.work, &rel, &cx.tag) {
            Ok(Some(c)) => c,
            Ok(None) => return Outcome::Gone(rel),
            Err(e) => {
                return Outcome::Retry {
                    error: format!("cannot claim into {}: {e}", cx.config.work.display()),
                    job: Job::Inbox(rel),
                };
            }
        },
    };
    let refused = match check(&claimed.work, cx.config.max_file_size) {
        Ok(()) => match clean_into_outbox(&claimed, cx) {
            Ok((output, identical, report)) => {
                let rel = claimed.rel.clone();
                cx.commit.submit(
                    super::commit::Pending {
                        dir: output.parent().expect("output in a folder").to_path_buf(),
                        claimed,
                        tag: cx.tag.clone(),
                    },
                    &cx.config.processed,
                );
                return Outcome::Cleaned {
                    rel,
                    output,
                    identical,
                    report: Box::new(report),
                    ms: t0.elapsed().as_millis() as u64,
                };
            }
            Err(Err(e)) => {
                return Outcome::Retry {
                    error: e.to_string(),
                    job: Job::Claimed(claimed),
                };
            }
            Err(Ok(Refuse(r))) => r,
        },
        Err(Ok(Refuse(r))) => r,
        Err(Err(e)) if e.kind() == io::ErrorKind::NotFound => return Outcome::Gone(claimed.rel),
        Err(Err(e)) => format!("cannot inspect the file: {e}"),
    };
    let dest = cx.config.failed.join(&claimed.rel);
    match quarantine(&claimed.work, &dest, &refused, cx) {
        Ok(to) => Outcome::Failed {
            rel: claimed.rel,
            reason: refused,
            to,
        },
        Err(e) => Outcome::Retry {
            error: format!("cannot move to {}: {e}", cx.config.failed.display()),
            job: Job::Claimed(claimed),
        },
    }
}

/// Refuses what is not a regular file of an acceptable size. Looks at the entry itself,
/// never what a link points to, and never opens it.
fn check(path: &Path, max: u64) -> Result<(), Result<Refuse, io::Error>> {
    let m = std::fs::symlink_metadata(path).map_err(Err)?;
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
        return Err(Ok(Refuse(format!(
            "too big: {} bytes, more than max_file_size ({max} bytes)",
            m.len()
        ))));
    } else {
        return Ok(());
    };
    Err(Ok(Refuse(what.to_string())))
}

/// Cleans into a temporary file in the outbox and publishes it. `Err(Ok(_))` is the
/// article's fault; `Err(Err(_))` the destination's.
fn clean_into_outbox(
    c: &Claimed,
    cx: &Ctx<'_>,
) -> Result<(PathBuf, bool, Report), Result<Refuse, io::Error>> {
    let outbox = &cx.config.outbox;
    let mut tmp = TempFile::create(outbox, &cx.tag).map_err(|e| Err(context(e, outbox)))?;
    let opts = Options {
        site_hint: crate::watch::site_of(&c.rel),
        categories: cx.config.categories,
        ..Options::default()
    };
    let report = {
        let mut w = BufWriter::with_capacity(64 * 1024, tmp.file());
        // A panic in the engine is a bug, but it must not keep a file (and the daemon)
        // going round: the file is failed with the panic as its reason.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            clean::clean(Input::Path(&c.work), cx.book, &opts, &mut w)
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
        match r {
            Ok(report) => {
                flushed.map_err(|e| Err(context(e, outbox)))?;
                report
            }
            Err(CleanError::Write(e)) => return Err(Err(context(e, outbox))),
            Err(e) => return Err(Ok(Refuse(e.to_string()))),
        }
    };
    let (output, identical) = tmp
        .place_unsynced(&outbox.join(&c.rel))
        .map_err(|e| Err(context(e, outbox)))?;
    Ok((output, identical, report))
}

fn context(e: io::Error, dir: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", dir.display()))
}

/// Writes `NAME.reason`, then moves the file beside it.
fn quarantine(work: &Path, dest: &Path, reason: &str, cx: &Ctx<'_>) -> io::Result<PathBuf> {
    let failed = &cx.config.failed;
    if !failed.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "missing or not a folder",
        ));
    }
    std::fs::create_dir_all(dest.parent().expect("has a folder"))?;
    // The reason goes beside the name the file will get: the first free one, or one
    // already holding this very file (a quarantine redone after a crash).
    let (target, identical) = publish::slot(work, dest)?;
    let mut sidecar = target.clone().into_os_string();
    sidecar.push(".reason");
    let text = format!("{reason}\n");
    publish::write_replace(Path::new(&sidecar), failed, &cx.tag, text.as_bytes())?;
    if identical {
        std::fs::remove_file(work)?;
        return Ok(target);
    }
    let to = publish::move_to(work, &target, failed, &cx.tag)?;
    if to != target {
        // Someone took the name meanwhile; keep the reason beside the file.
        let mut moved = to.clone().into_os_string();
        moved.push(".reason");
        std::fs::rename(&sidecar, moved)?;
    }
    Ok(to)
}
