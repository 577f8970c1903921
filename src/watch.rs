//! The inbox watcher: filesystem events in, paths of files that are complete out.
//!
//! A file is complete when it was closed after writing (`Access(Close(Write))`), renamed
//! into the inbox (`Modify(Name(To))`), or — when neither event comes (polling, hard
//! links, files found at start) — once its size and mtime have stayed still for the
//! quiet period. With inotify, a file written to (`Modify(Data)`) and not closed since
//! is still open for writing: stillness alone does not take it, only its close, or the
//! `max_open_write` limit (then with a warning). This module owns that logic and
//! nothing else: it never opens, moves or cleans a file, and it may report a path twice
//! (the daemon's claim makes that harmless).
//!
//! notify's handler runs on notify's own thread and must never block; it only forwards
//! events into an unbounded channel read by [`Watch`]'s task.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tracing::{debug, warn};

/// What the watcher reports to the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A complete file (or a non-regular entry to refuse), relative to the inbox.
    File(PathBuf),
    /// A `NAME.reason` file (the failed folder's kind), not taken as an article.
    Reason(PathBuf),
    /// The first scan of the inbox has been reported in full.
    ScanDone,
}

/// Which names in the inbox are articles to take.
#[derive(Debug, Clone)]
pub struct Filter {
    pub inbox: PathBuf,
    /// Folders inside the inbox that are not input (work, done…), absolute.
    pub skip: Vec<PathBuf>,
    /// The same folders by identity (device, inode): found inside the inbox under
    /// another name — a bind mount, a link made into a folder — they are not input
    /// either (the outbox mounted inside the inbox would feed every output back in).
    pub skip_ids: Vec<(u64, u64)>,
    /// Patterns a file name must match (any); empty means every name.
    pub take: Vec<String>,
    /// Patterns a file name must not match, on top of the built-in temporary names.
    pub ignore: Vec<String>,
    /// Take `*.reason` files as articles (by default they are left alone: they are the
    /// failed folder's explanations, copied back by hand with their files).
    pub take_reason: bool,
}

/// Names of files still being written by common producers: never taken until renamed.
const TEMPORARY: &[&str] = &["*.part", "*.crdownload", "*.tmp", "*~", "*.swp"];

impl Filter {
    /// The path relative to the inbox, if it names something pare should take: no part
    /// of it is hidden (a dot-name), it is outside the skipped folders, and its name
    /// passes the patterns.
    pub fn wanted(&self, path: &Path) -> Option<PathBuf> {
        if self.skip.iter().any(|s| path.starts_with(s)) {
            return None;
        }
        let rel = path.strip_prefix(&self.inbox).ok()?;
        let mut parts = 0;
        for c in rel.components() {
            match c {
                Component::Normal(n) if !n.as_encoded_bytes().starts_with(b".") => parts += 1,
                _ => return None,
            }
        }
        if parts == 0 {
            return None;
        }
        let name = rel
            .file_name()?
            .to_str()
            .map_or_else(|| rel.file_name().unwrap().to_string_lossy(), Into::into);
        if TEMPORARY.iter().any(|p| glob(p, &name))
            || self.ignore.iter().any(|p| glob(p, &name))
            || self.is_reason(path)
        {
            return None;
        }
        if !self.take.is_empty() && !self.take.iter().any(|p| glob(p, &name)) {
            return None;
        }
        Some(rel.to_path_buf())
    }

    /// A `NAME.reason` file, not taken unless asked for.
    pub fn is_reason(&self, path: &Path) -> bool {
        !self.take_reason
            && path
                .as_os_str()
                .as_encoded_bytes()
                .ends_with(crate::config::REASON.as_bytes())
    }

    /// Whether a path is inside the inbox, outside the skipped folders, and not hidden.
    fn visible(&self, path: &Path) -> bool {
        if self.skip.iter().any(|s| path.starts_with(s)) {
            return false;
        }
        match path.strip_prefix(&self.inbox) {
            Ok(rel) => rel.components().all(
                |c| matches!(c, Component::Normal(n) if !n.as_encoded_bytes().starts_with(b".")),
            ),
            Err(_) => false,
        }
    }
}

/// Shell-style match of a whole file name ([`crate::text::glob`], case as written).
pub fn glob(pattern: &str, name: &str) -> bool {
    crate::text::glob(pattern.as_bytes(), name.as_bytes(), false)
}

/// How the inbox is watched.
#[derive(Debug, Clone)]
pub struct Settings {
    pub filter: Filter,
    pub poll: Option<Duration>,
    pub quiet: Duration,
    /// How long a file still open for writing (inotify only) is waited for.
    pub max_open_write: Duration,
}

/// A running watch. Dropping it stops the events and the task.
pub struct Watch {
    _watcher: Box<dyn Watcher + Send>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Watch {
    /// Starts watching (recursively), then scans what is already there, reporting on
    /// `out`. Files in the scan last written within the quiet period wait for it, in
    /// case a writer is still busy with them.
    pub fn start(settings: Settings, out: mpsc::UnboundedSender<Found>) -> notify::Result<Watch> {
        let (raw_tx, raw_rx) = mpsc::unbounded_channel();
        let handler = move |ev: notify::Result<notify::Event>| {
            // Never blocks: an unbounded send only fails once the task has gone.
            let _ = raw_tx.send(ev);
        };
        let mut watcher: Box<dyn Watcher + Send> = match settings.poll {
            Some(every) => Box::new(notify::PollWatcher::new(
                handler,
                notify::Config::default()
                    .with_poll_interval(every)
                    .with_follow_symlinks(false),
            )?),
            None => Box::new(notify::RecommendedWatcher::new(
                handler,
                notify::Config::default().with_follow_symlinks(false),
            )?),
        };
        watcher.watch(&settings.filter.inbox, RecursiveMode::Recursive)?;
        let task = tokio::spawn(Quiet::new(settings, out).run(raw_rx));
        Ok(Watch {
            _watcher: watcher,
            task,
        })
    }
}

/// A file seen changing, with no event yet saying it is complete.
#[derive(Debug)]
struct Pending {
    size: u64,
    mtime: Option<SystemTime>,
    since: Instant,
    /// Written to and not closed since (inotify only): open for writing.
    writing: Option<Instant>,
    /// How long it must stay still: the quiet period, or after a close the short
    /// settle in which a writer may open it again (`>` then `>>`).
    still: Duration,
}

/// After a close-after-write, how long a file is given to be opened again before it is
/// taken (at most the quiet period).
const CLOSE_SETTLE: Duration = Duration::from_millis(200);

/// When a new folder is scanned again, after the first scan.
const NEW_FOLDER_RESCANS: [Duration; 2] = [Duration::from_millis(100), Duration::from_secs(1)];

/// How often the whole inbox is scanned, as a net under lost events.
pub const FULL_RESCAN: Duration = Duration::from_secs(60);

/// The task behind [`Watch`]: sorts events, and holds files until they are quiet.
struct Quiet {
    settings: Settings,
    out: mpsc::UnboundedSender<Found>,
    pending: HashMap<PathBuf, Pending>,
    /// Opens seen and not closed yet, per file (inotify only). A close-after-write is
    /// the end of a file at once only when no other open is counted: another process's
    /// close (`touch`, a second `>>`, a backup tool) while its producer still writes
    /// would otherwise take the file early, and lose what the producer writes after;
    /// then the file must stay still for the whole quiet period. The kernel's answer
    /// (a read lease, `daemon/lease.rs`) needs the file's owner or `CAP_LEASE`; this
    /// count needs neither, but cannot be exact (the kernel merges identical events
    /// queued back to back, readers' closes are not reported): it only ever makes a
    /// file wait longer, never less than before it.
    /// (As far as closes-after-write tell: notify does not report read-only closes.)
    opens: HashMap<PathBuf, u32>,
    /// Folders to scan again, and when (sorted).
    rescans: Vec<(Instant, PathBuf)>,
    /// Files renamed away while open for writing (by the rename's cookie): their state,
    /// for the name they are renamed to inside the inbox.
    moved: HashMap<usize, (u32, bool)>,
    /// Folders inside the inbox found to be one of the skipped folders by identity:
    /// nothing below them is reported.
    foreign: Vec<PathBuf>,
}

impl Quiet {
    fn new(settings: Settings, out: mpsc::UnboundedSender<Found>) -> Quiet {
        Quiet {
            settings,
            out,
            pending: HashMap::new(),
            opens: HashMap::new(),
            rescans: Vec::new(),
            moved: HashMap::new(),
            foreign: Vec::new(),
        }
    }

    async fn run(mut self, mut raw: mpsc::UnboundedReceiver<notify::Result<notify::Event>>) {
        let inbox = self.settings.filter.inbox.clone();
        self.scan(&inbox);
        let _ = self.out.send(Found::ScanDone);
        let step = (self.settings.quiet / 4).clamp(Duration::from_millis(10), CLOSE_SETTLE / 2);
        let mut tick = tokio::time::interval(step);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut full = tokio::time::interval(FULL_RESCAN);
        full.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        full.tick().await;
        loop {
            let next = self.rescans.first().map(|(t, _)| *t);
            tokio::select! {
                ev = raw.recv() => match ev {
                    Some(Ok(ev)) => self.event(ev),
                    Some(Err(e)) => warn!(error = %e, "inbox watch error"),
                    None => return,
                },
                _ = tick.tick(), if !self.pending.is_empty() => self.check_pending(),
                _ = tokio::time::sleep_until(next.unwrap_or_else(Instant::now).into()), if next.is_some() => {
                    let now = Instant::now();
                    let due: Vec<PathBuf> = self.rescans.iter().filter(|(t, _)| *t <= now).map(|(_, d)| d.clone()).collect();
                    self.rescans.retain(|(t, _)| *t > now);
                    for d in due {
                        self.scan(&d);
                    }
                },
                _ = full.tick() => self.scan(&inbox),
            }
        }
    }

    /// A folder that has just appeared: scanned now, and again once notify's watch on
    /// it is surely in place — a file created or renamed into it in between brings no
    /// event, and the first scan may have been too early to see it.
    fn new_folder(&mut self, dir: &Path) {
        self.scan(dir);
        let now = Instant::now();
        for after in NEW_FOLDER_RESCANS {
            self.rescans.push((now + after, dir.to_path_buf()));
        }
        self.rescans.sort_by_key(|(t, _)| *t);
    }

    fn ready(&mut self, path: &Path) {
        self.pending.remove(path);
        let filter = &self.settings.filter;
        if let Some(rel) = filter.wanted(path) {
            let _ = self.out.send(Found::File(rel));
        } else if filter.is_reason(path)
            && let Ok(rel) = path.strip_prefix(&filter.inbox)
        {
            let _ = self.out.send(Found::Reason(rel.to_path_buf()));
        }
    }

    fn event(&mut self, ev: notify::Event) {
        if ev.need_rescan() {
            warn!("inbox event queue overflowed; rescanning the inbox");
            // Opens and closes were lost with the queue: counts would lie, and a close
            // may be among what was lost. Files marked open for writing are judged by
            // stillness over the quiet period from now on, as files found by a scan.
            self.opens.clear();
            let (now, quiet) = (Instant::now(), self.settings.quiet);
            for p in self.pending.values_mut() {
                if p.writing.take().is_some() {
                    p.since = now;
                    p.still = quiet;
                }
            }
            let inbox = self.settings.filter.inbox.clone();
            self.scan(&inbox);
            return;
        }
        for path in &ev.paths {
            if !self.settings.filter.visible(path)
                || self.foreign.iter().any(|f| path.starts_with(f))
            {
                continue;
            }
            match ev.kind {
                EventKind::Access(AccessKind::Close(AccessMode::Write)) => {
                    let settle = self.close_seen(path);
                    self.closed(path, settle);
                }
                EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
                    // Renamed inside the inbox while still open for writing: the new
                    // name carries on as the old one was (it is no delivery).
                    let carried = ev.attrs.tracker().and_then(|t| self.moved.remove(&t));
                    match std::fs::symlink_metadata(path) {
                        Ok(m) if m.is_dir() => self.new_folder(path),
                        Ok(m) if m.is_file() && carried.is_some() => {
                            // Counted opens and nothing marked: the quiet period, which
                            // a new pending entry waits for.
                            let (opens, writing) = carried.expect("checked");
                            if opens > 0 {
                                self.opens.insert(path.clone(), opens);
                            }
                            self.touch(path, &m, writing);
                        }
                        Ok(_) => self.ready(path),
                        Err(_) => {}
                    }
                }
                EventKind::Modify(ModifyKind::Name(RenameMode::From)) => {
                    let opens = self.opens.remove(path).unwrap_or_default();
                    let writing = self
                        .pending
                        .remove(path)
                        .is_some_and(|p| p.writing.is_some());
                    if let Some(t) = ev.attrs.tracker()
                        && (opens > 0 || writing)
                    {
                        if self.moved.len() >= 1024 {
                            // Renamed out of the inbox (claims, producers): never seen again.
                            self.moved.clear();
                        }
                        self.moved.insert(t, (opens, writing));
                    }
                }
                // The paired `Both` event repeats what `From` and `To` said.
                EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {}
                EventKind::Remove(_) => {
                    self.pending.remove(path);
                    self.opens.remove(path);
                }
                EventKind::Create(_) | EventKind::Modify(_) | EventKind::Any | EventKind::Other => {
                    match std::fs::symlink_metadata(path) {
                        // A new folder may already hold files written before its watch.
                        Ok(m) if m.is_dir() => {
                            if matches!(ev.kind, EventKind::Create(_))
                                && *path != self.settings.filter.inbox
                            {
                                self.new_folder(path);
                            }
                        }
                        // Links, FIFOs, devices: nothing will be written; refuse now.
                        Ok(m) if !m.is_file() => self.ready(path),
                        Ok(m) => {
                            let wrote = matches!(ev.kind, EventKind::Modify(ModifyKind::Data(_)));
                            self.touch(path, &m, wrote);
                        }
                        Err(_) => {
                            self.pending.remove(path);
                        }
                    }
                }
                // An empty file opened (by `open(O_CREAT)`, most likely its writer): open
                // for writing until its close, even before the first byte.
                EventKind::Access(AccessKind::Open(_)) => {
                    if let Ok(m) = std::fs::symlink_metadata(path)
                        && m.is_file()
                    {
                        if self.settings.filter.wanted(path).is_some() {
                            *self.opens.entry(path.clone()).or_default() += 1;
                        }
                        if m.len() == 0 {
                            self.touch(path, &m, true);
                        }
                    }
                }
                EventKind::Access(_) => {}
            }
        }
    }

    /// A close-after-write of `path`: how long the file must then stay still. The last
    /// of the opens counted closing: the short settle. Others still counted — a writer
    /// still at work while a `touch` or a reader came and went (notify does not report
    /// read-only closes, so a reader's open stays counted) — or no open counted at all
    /// (opened before the watch, or counts lost with an overflowed queue): the whole
    /// quiet period, so a writer that pauses less than `quiet_ms` is waited for.
    fn close_seen(&mut self, path: &Path) -> Duration {
        let quiet = self.settings.quiet;
        let Some(open) = self.opens.get_mut(path) else {
            return quiet;
        };
        *open = open.saturating_sub(1);
        if *open > 0 {
            return quiet;
        }
        self.opens.remove(path);
        CLOSE_SETTLE.min(quiet)
    }

    /// Notes a change to a file, restarting its quiet period; `wrote` when the change
    /// was a write (inotify's `IN_MODIFY`): the file is then open for writing until it
    /// is closed. Polling cannot tell, and relies on the quiet period alone.
    fn touch(&mut self, path: &Path, m: &std::fs::Metadata, wrote: bool) {
        if self.settings.filter.wanted(path).is_none() {
            return;
        }
        let now = Instant::now();
        let old = self.pending.get(path);
        let writing = match old {
            Some(p) if p.writing.is_some() => p.writing,
            _ if wrote && self.settings.poll.is_none() => Some(now),
            _ => None,
        };
        let (size, mtime) = (m.len(), m.modified().ok());
        // Seen again unchanged (a rescan): its quiet period goes on.
        let (since, still) = match old {
            Some(p) if !wrote && p.size == size && p.mtime == mtime => (p.since, p.still),
            _ => (now, self.settings.quiet),
        };
        self.pending.insert(
            path.to_path_buf(),
            Pending {
                size,
                mtime,
                since,
                writing,
                still,
            },
        );
    }

    /// Closed after writing: taken once it has stayed closed and still for `settle`
    /// (at least [`CLOSE_SETTLE`]), so a writer that opens it again at once (a shell's
    /// `>` then `>>`, a downloader resuming) is waited for.
    fn closed(&mut self, path: &Path, settle: Duration) {
        let Ok(m) = std::fs::symlink_metadata(path) else {
            self.pending.remove(path);
            return;
        };
        if !m.is_file() || self.settings.filter.wanted(path).is_none() {
            self.ready(path);
            return;
        }
        // Closed empty: a placeholder (a browser makes the final name empty at the
        // start of a download and renames the finished `.part` over it), or a file
        // about to be written. Waited for like a file open for writing.
        let writing = (m.len() == 0).then(Instant::now);
        self.pending.insert(
            path.to_path_buf(),
            Pending {
                size: m.len(),
                mtime: m.modified().ok(),
                since: Instant::now(),
                writing,
                still: settle,
            },
        );
    }

    fn check_pending(&mut self) {
        let now = Instant::now();
        let max_open = self.settings.max_open_write;
        let mut done = Vec::new();
        self.pending
            .retain(|path, p| match std::fs::symlink_metadata(path) {
                Ok(m) => {
                    let mtime = m.modified().ok();
                    if let Some(t) = p.writing {
                        if now.duration_since(t) >= max_open {
                            warn!(file = %path.display(), waited_ms = max_open.as_millis() as u64, "still open for writing after max_open_write_ms; taking it as it is");
                            done.push(path.clone());
                            return false;
                        }
                        return true;
                    }
                    if m.len() != p.size || mtime != p.mtime {
                        p.size = m.len();
                        p.mtime = mtime;
                        p.since = now;
                        true
                    } else if m.len() == 0 && now.duration_since(p.since) < max_open {
                        // Still empty (polling, or found by a scan): nothing to take yet.
                        true
                    } else if now.duration_since(p.since) >= p.still {
                        done.push(path.clone());
                        false
                    } else {
                        true
                    }
                }
                Err(_) => false,
            });
        for path in done {
            debug!(file = %path.display(), "quiet long enough");
            self.ready(&path);
        }
    }

    /// Whether `dir` (inside the inbox) is one of the skipped folders under another name:
    /// remembered, and said once, when it is.
    fn is_foreign(&mut self, dir: &Path) -> bool {
        if self.foreign.iter().any(|f| dir.starts_with(f)) {
            return true;
        }
        if self.settings.filter.skip_ids.is_empty() || *dir == self.settings.filter.inbox {
            return false;
        }
        use std::os::unix::fs::MetadataExt;
        let Ok(m) = std::fs::metadata(dir) else {
            return false;
        };
        if !self.settings.filter.skip_ids.contains(&(m.dev(), m.ino())) {
            return false;
        }
        warn!(folder = %dir.display(), "this folder inside the inbox is the outbox, failed, done or work folder under another name (a bind mount or a link): nothing in it is taken");
        self.foreign.push(dir.to_path_buf());
        true
    }

    /// Reports every file under `dir`: old ones at once, recent ones after the quiet
    /// period; files known to be open for writing are left to their close.
    fn scan(&mut self, dir: &Path) {
        let mut stack = vec![dir.to_path_buf()];
        let now = SystemTime::now();
        let quiet = self.settings.quiet;
        let mut files = Vec::new();
        while let Some(d) = stack.pop() {
            if !self.settings.filter.visible(&d) || self.is_foreign(&d) {
                continue;
            }
            let entries = match std::fs::read_dir(&d) {
                Ok(e) => e,
                // Gone again (a folder removed before its rescan): nothing to take.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    warn!(folder = %d.display(), error = %e, "cannot scan inbox folder");
                    continue;
                }
            };
            for e in entries.flatten() {
                let path = e.path();
                match e.file_type() {
                    Ok(t) if t.is_dir() => stack.push(path),
                    Ok(_) => files.push(path),
                    Err(_) => {}
                }
            }
        }
        files.sort();
        for path in files {
            // Open for writing: its close decides, not a scan.
            if self.pending.get(&path).is_some_and(|p| p.writing.is_some()) {
                continue;
            }
            let Ok(m) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let old = m
                .modified()
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age >= quiet);
            if !m.is_file() || (old && m.len() > 0) {
                self.ready(&path);
            } else {
                // Recent, or empty (a placeholder waits for what replaces it).
                self.touch(&path, &m, false);
            }
        }
    }
}

/// The site an inbox path names: its first folder, when it has one.
pub fn site_of(rel: &Path) -> Option<String> {
    let mut c = rel.components();
    let first = c.next()?;
    c.next()?;
    Some(OsStr::new(first.as_os_str()).to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*.html", "a.html"));
        assert!(glob("*.html", ".html"));
        assert!(!glob("*.html", "a.htm"));
        assert!(glob("a?c", "abc"));
        assert!(glob("*~", "x~"));
        assert!(glob("*a*b*", "xxaxxbxx"));
        assert!(!glob("*a*b", "xxaxxbxx"));
        assert!(glob("*", ""));
    }

    fn filter() -> Filter {
        Filter {
            inbox: "/in".into(),
            skip: vec!["/in/done".into()],
            skip_ids: vec![],
            take: vec![],
            ignore: vec!["*.bak".into()],
            take_reason: false,
        }
    }

    #[test]
    fn filter_names() {
        let f = filter();
        assert_eq!(f.wanted(Path::new("/in/a.html")), Some("a.html".into()));
        assert_eq!(
            f.wanted(Path::new("/in/site.com/a.html")),
            Some("site.com/a.html".into())
        );
        for no in [
            "/in/.a.html",
            "/in/a.html.part",
            "/in/a.crdownload",
            "/in/a.tmp",
            "/in/a.html~",
            "/in/a.bak",
            "/in/a.html.reason",
            "/in/.pare-work/1_a.html",
            "/in/done/a.html",
            "/in",
            "/elsewhere/a.html",
        ] {
            assert_eq!(f.wanted(Path::new(no)), None, "{no}");
        }
        let mut f = filter();
        f.take = vec!["*.html".into(), "*.txt".into()];
        assert!(f.wanted(Path::new("/in/a.txt")).is_some());
        assert!(f.wanted(Path::new("/in/a.pdf")).is_none());
        let mut f = filter();
        f.take_reason = true;
        assert!(f.wanted(Path::new("/in/a.html.reason")).is_some());
    }

    #[test]
    fn sites() {
        assert_eq!(
            site_of(Path::new("theguardian.com/x.html")).as_deref(),
            Some("theguardian.com")
        );
        assert_eq!(site_of(Path::new("x.html")), None);
    }
}
