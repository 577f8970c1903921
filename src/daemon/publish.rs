//! Publishing: putting a finished file where a reader may see it, atomically and without
//! ever replacing someone else's file.
//!
//! Everything is first written under `<folder>/.pare-tmp/`, flushed to disk, then linked
//! into place under its final name, and the folder is flushed. A name taken by anything
//! — different content, or the same content from another input — makes the file
//! `name (2).ext`, then `(3)`… (a redo after a crash is recognized before it gets here:
//! [`own_output`]). Nothing here decides *whether* a file is cleaned or failed.

use super::folder::Folder;
use super::sys::Renamed;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The folder, inside each destination, that holds files being written.
pub const TMP_DIR: &str = ".pare-tmp";

/// How many numbered names are tried before giving up.
pub const MAX_NUMBER: u32 = 10_000;

/// What to do when a destination name is taken by different content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// Leave it: nothing is replaced.
    Keep,
    /// Replace it, atomically (`pare clean -o --overwrite`).
    Replace,
}

/// What [`TempFile::place_exact`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    New,
    /// The name already held the same content.
    Identical,
    /// The name holds different content, which was kept.
    Exists,
}

/// A name prefix no other process or run uses (`WHAT-<pid>-<nanoseconds>`), for the
/// temporary files of commands that publish beside a daemon (`clean -o`, `requeue`).
pub fn unique_tag(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{what}-{}-{nanos:x}", std::process::id())
}

/// The pid in a name that [`unique_tag`] made for one of `whats`, if it is one.
pub fn tag_pid(name: &str, whats: &[&str]) -> Option<u32> {
    let rest = whats
        .iter()
        .find_map(|w| name.strip_prefix(w)?.strip_prefix('-'))?;
    rest.split('-').next()?.parse().ok()
}

/// Removes from `tmp` (an -o folder's or the inbox's `.pare-tmp/`) what runs of `pare clean` and
/// `pare requeue` that were killed left there: files named `clean-<pid>-…` or
/// `requeue-<pid>-…` whose process is gone and that nobody has written for ten minutes
/// (a live run's file is being written, or was a moment ago; a pid in another pid
/// namespace would not be seen, so the age is asked too).
pub fn sweep_dead_runs(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    if !Path::new("/proc/self").exists() {
        return;
    }
    let now = std::time::SystemTime::now();
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| tag_pid(n, &["clean", "requeue"]))
        else {
            continue;
        };
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age >= std::time::Duration::from_secs(600));
        if old && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// A temporary file in `root/.pare-tmp/`, removed on drop unless it was placed.
///
/// The root and the temporary folder are held open, and the file is reached through
/// them (see [`Folder`]): it is placed below the root that was opened, whatever the
/// root's path names by the time.
pub struct TempFile {
    /// The file's path through its open folder (`/proc/self/fd/<fd>/<tag>`).
    path: PathBuf,
    file: Option<File>,
    /// Renamed to its destination: nothing left to remove.
    moved: bool,
    root: Folder,
    /// Holds the temporary folder open while `path` goes through it.
    _dir: Option<Folder>,
}

impl TempFile {
    /// Creates a new temporary file for a destination under `root` (which must exist).
    pub fn create(root: &Path, tag: &str) -> io::Result<TempFile> {
        if !root.is_dir() {
            return Err(missing(root));
        }
        TempFile::create_in(
            Folder::root(root).map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => missing(root),
                _ => e,
            })?,
            tag,
        )
    }

    /// [`create`](Self::create) in a root the caller opened (and checked).
    pub fn create_in(root: Folder, tag: &str) -> io::Result<TempFile> {
        let dir = match root.child(std::ffi::OsStr::new(TMP_DIR), true) {
            Ok((dir, _)) => dir,
            Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)) => {
                return Err(not_own_folder(&root.path().join(TMP_DIR)));
            }
            Err(e) => return Err(e),
        };
        let path = dir.at(std::ffi::OsStr::new(tag));
        let file = File::create_new(&path)?;
        Ok(TempFile {
            path,
            file: Some(file),
            moved: false,
            root,
            _dir: Some(dir),
        })
    }

    /// The destination folder this temporary file was made for.
    fn root(&self) -> &Path {
        self.root.path()
    }

    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("open until placed")
    }

    /// Flushes to disk and links the file in at `dest` (or a numbered variant of it).
    /// Flushes the file to disk and puts it at `dest`, or the first free numbered
    /// variant (a name holding the same content is another input's output that came out
    /// the same: every input gets an output of its own), then syncs the folder. Returns
    /// where it went. The file is hard-linked into place where the filesystem can: its
    /// temporary name stays until the returned [`Slot`] is dropped, after the caller has
    /// marked its claim (see [`own_output`]).
    pub fn place(self, dest: &Path) -> io::Result<Slot> {
        self.place_with(dest, true)
    }

    /// As [`place`](Self::place), but leaves the folder fsync to the caller (the
    /// committer batches it over many files): the new name is not durable until then.
    pub fn place_unsynced(self, dest: &Path) -> io::Result<Slot> {
        self.place_with(dest, false)
    }

    /// Flushes to disk and links the file in at exactly `dest` (the folder fsync left
    /// to the caller). A name holding the same content is [`Placed::Identical`]; a name
    /// holding something else is kept ([`Placed::Exists`], this file dropped) or, with
    /// [`Conflict::Replace`], atomically replaced.
    pub fn place_exact(self, dest: &Path, conflict: Conflict) -> io::Result<Placed> {
        self.place_exact_synced(dest, conflict, true)
    }

    /// [`place_exact`](Self::place_exact), flushing the file to disk first only when
    /// `sync` (a batch run that can be redone need not wait for the disk).
    pub fn place_exact_synced(
        mut self,
        dest: &Path,
        conflict: Conflict,
        sync: bool,
    ) -> io::Result<Placed> {
        if sync {
            self.flush()?;
        } else {
            self.file.take();
        }
        if conflict == Conflict::Replace {
            if same_content(&self.path, dest)? {
                return Ok(Placed::Identical);
            }
            std::fs::rename(&self.path, dest)?;
            return Ok(Placed::New);
        }
        self.link_at(dest, false)
    }

    fn place_with(mut self, dest: &Path, sync: bool) -> io::Result<Slot> {
        self.flush()?;
        let dir = dest.parent().expect("destination has a folder");
        let mut tries = 0;
        'made: loop {
            // The folders are made first and synced into their parents once the file is
            // in (still before the original may go): an empty new folder can be removed
            // by a consumer tidying the outbox while its parent's fsync runs, a folder
            // holding the file cannot. The file goes into the folder opened here, by
            // its descriptor (see `folder`): never through a link put in its place.
            let mut made = Vec::new();
            let folder = match self.root.descend(dir, true, &mut made) {
                Err(e) if raced(&e, &mut tries, self.root()) => continue 'made,
                r => r?,
            };
            for n in 1..=MAX_NUMBER {
                let path = numbered(dest, n);
                let at = folder.at(path.file_name().expect("a file name"));
                match self.link_at(&at, true) {
                    // The folder was removed after it was made (a consumer tidying
                    // empty folders): made again.
                    Err(e)
                        if folder.removed()
                            && self.path.exists()
                            && raced(&e, &mut tries, self.root()) =>
                    {
                        continue 'made;
                    }
                    r => match r? {
                        Placed::Exists | Placed::Identical => continue,
                        Placed::New => {}
                    },
                }
                // The new folders' names, then (if asked) the file's: the file's own
                // folder last, as the committer syncs it for the unsynced path.
                for parent in &made {
                    sync_folder(parent)?;
                }
                if sync {
                    sync_folder(&folder)?;
                }
                // Hard-linked: the temporary name goes with the slot.
                let linked = (!self.moved).then(|| Linked {
                    path: std::mem::take(&mut self.path),
                    _dir: self._dir.take(),
                });
                self.moved = true;
                return Ok(Slot {
                    path,
                    n,
                    folder: Arc::new(folder),
                    _linked: linked,
                });
            }
            return Err(too_many(dest));
        }
    }

    /// The file, on disk, closed.
    fn flush(&mut self) -> io::Result<()> {
        let f = self.file.take().expect("placed once");
        f.sync_all()
    }

    /// Puts the file in at `dest` unless that name is taken; a taken name is
    /// [`Placed::Identical`] when it holds the same content. A rename that cannot
    /// replace (one system call where a link and an unlink were two); where the
    /// filesystem lacks it, a hard link; without hard links either: check, then rename
    /// (only pare writes here, under unique temporary names).
    /// With `keep`, a hard link is tried first and the temporary name kept (see
    /// [`place`](Self::place)).
    fn link_at(&mut self, dest: &Path, keep: bool) -> io::Result<Placed> {
        if keep {
            match std::fs::hard_link(&self.path, dest) {
                Ok(()) => return Ok(Placed::New),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return taken(&self.path, dest);
                }
                Err(e) if is_unsupported(&e) => {}
                Err(e) => return Err(e),
            }
        }
        match super::sys::rename_new(&self.path, dest)? {
            Renamed::Moved => {
                self.moved = true;
                return Ok(Placed::New);
            }
            Renamed::Taken => return taken(&self.path, dest),
            Renamed::Cannot => {}
        }
        match std::fs::hard_link(&self.path, dest) {
            Ok(()) => Ok(Placed::New),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => taken(&self.path, dest),
            Err(e) if is_unsupported(&e) => {
                let placed = rename_unless_taken(&self.path, dest)?;
                self.moved = placed == Placed::New;
                Ok(placed)
            }
            Err(e) => Err(e),
        }
    }
}

/// Where neither a rename that cannot replace nor a hard link exists (a FAT outbox
/// through FUSE): look, then rename. The two steps are one under a lock of the whole
/// process: two workers placing outputs of the same name (`b.html` and `b.htm` both
/// become `b.md`) both found the name free and the second rename replaced the first
/// output, whose input was then retired (a hostile run lost 10 of 120 inputs so).
/// Another process writing the same outbox at the same moment is not held off: see
/// ROBUSTNESS.md.
fn rename_unless_taken(from: &Path, dest: &Path) -> io::Result<Placed> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _held = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if std::fs::symlink_metadata(dest).is_ok() {
        return taken(from, dest);
    }
    // In tests, the round trips of a FUSE filesystem between the two steps.
    #[cfg(test)]
    std::thread::sleep(std::time::Duration::from_millis(1));
    std::fs::rename(from, dest)?;
    Ok(Placed::New)
}

/// What a name already taken holds for a file about to be placed at it: the same
/// content ([`Placed::Identical`], a redo after a crash) or something else.
fn taken(path: &Path, dest: &Path) -> io::Result<Placed> {
    Ok(if same_content(path, dest)? {
        Placed::Identical
    } else {
        Placed::Exists
    })
}

/// Where [`TempFile::place`] put a file: the name, which numbered variant it is (1 for
/// the name itself), and the folder it went into, open (to be synced by descriptor,
/// whatever its path names by then). Dropping it removes the file's temporary name.
#[derive(Debug)]
pub struct Slot {
    pub path: PathBuf,
    pub n: u32,
    pub folder: Arc<Folder>,
    _linked: Option<Linked>,
}

/// A placed file's temporary name, still there (hard-linked), removed on drop.
#[derive(Debug)]
struct Linked {
    path: PathBuf,
    /// Holds the temporary folder open while `path` goes through it.
    _dir: Option<Folder>,
}

impl Drop for Linked {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether a claim's output was placed before a crash: the number of the name under
/// `dest` (1 for `dest` itself, 2 for `x (2).ext`…) whose file *is* the claim's
/// temporary file `<root>/.pare-tmp/<tag>`, still there because the claim was not yet
/// marked (same device and inode: both exist, so no freed inode number given to another
/// file can be mistaken for it). `None` when there is no such temporary file, or it was
/// never placed. Names are looked at through folders opened without following links; a
/// folder that is a link is an error (`ELOOP`), not "not placed".
pub fn own_output(root: &Path, tag: &str, dest: &Path) -> io::Result<Option<u32>> {
    let tmp = root.join(TMP_DIR).join(tag);
    let t = match std::fs::symlink_metadata(&tmp) {
        Ok(m) if m.is_file() => m,
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    // Placed: linked, so it has another name.
    if t.nlink() < 2 {
        return Ok(None);
    }
    let dir = dest.parent().expect("destination has a folder");
    let folder = match Folder::below(root, dir, false, &mut Vec::new()) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    for n in 1..=MAX_NUMBER {
        let name = numbered(dest, n);
        if let Ok(m) = std::fs::symlink_metadata(folder.at(name.file_name().expect("a name")))
            && (m.dev(), m.ino()) == (t.dev(), t.ino())
        {
            return Ok(Some(n));
        }
    }
    Ok(None)
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.moved {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn is_unsupported(e: &io::Error) -> bool {
    // EPERM (FAT, some FUSE) and EOPNOTSUPP for link(2).
    e.kind() == io::ErrorKind::Unsupported
        || e.kind() == io::ErrorKind::PermissionDenied
        || e.raw_os_error() == Some(95)
}

/// `x.html` for n = 1, `x (2).html` for 2, and so on, shortened to fit a file name
/// (see [`fitted`]).
pub fn numbered(dest: &Path, n: u32) -> PathBuf {
    fitted(dest, n, 0)
}

/// `dest` numbered `n`, with its name shortened when it and `room` more bytes (a
/// `.reason` suffix) would be longer than a file name may be: the stem is cut (on a
/// character boundary when the name is UTF-8) and `~` and a hash of the whole name
/// put at the cut, so the same name always gives the same short name (a publish redone
/// after a crash finds its own file). Names that fit are unchanged.
pub fn fitted(dest: &Path, n: u32, room: usize) -> PathBuf {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let name = dest.file_name().unwrap_or_default().as_bytes();
    // Built from the name's bytes: a name that is not UTF-8 keeps its bytes.
    let mut stem = dest.file_stem().unwrap_or_default().as_bytes();
    let mut ext = dest.extension().map(OsStrExt::as_bytes);
    let number = if n <= 1 {
        String::new()
    } else {
        format!(" ({n})")
    };
    let len = |stem: &[u8], ext: Option<&[u8]>| {
        stem.len() + number.len() + ext.map_or(0, |e| e.len() + 1) + room
    };
    let mut out = Vec::with_capacity(NAME_MAX);
    if len(stem, ext) <= NAME_MAX {
        out.extend_from_slice(stem);
    } else {
        // A very long "extension" is part of the name, not a type: cut it with the rest.
        if ext.is_some_and(|e| e.len() > 32) {
            (stem, ext) = (name, None);
        }
        let hash = format!("~{:08x}", fnv1a(name) as u32);
        let keep = NAME_MAX.saturating_sub(len(&[], ext) + hash.len());
        let mut cut = keep.min(stem.len());
        if let Ok(s) = std::str::from_utf8(stem) {
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
        }
        out.extend_from_slice(&stem[..cut]);
        out.extend_from_slice(hash.as_bytes());
    }
    out.extend_from_slice(number.as_bytes());
    if let Some(e) = ext {
        out.push(b'.');
        out.extend_from_slice(e);
    }
    dest.with_file_name(std::ffi::OsString::from_vec(out))
}

/// The longest file name, in bytes.
const NAME_MAX: usize = super::claim::NAME_MAX;

/// FNV-1a: a small hash that is the same in every build and run.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Makes a folder's entries (a new name, a removed name) durable: the folder its path
/// names now (see [`sync_folder`]).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    sync_folder(&Folder::root(dir)?)
}

/// Makes an open folder's entries durable.
///
/// Group commit: workers publishing into the same folder at once share fsyncs. A
/// caller returns once an fsync that *started after its call* has finished — its own,
/// or one another worker ran meanwhile.
pub fn sync_folder(dir: &Folder) -> io::Result<()> {
    use std::collections::HashMap;
    use std::sync::{Condvar, Mutex, OnceLock};
    /// Per folder: fsyncs asked for, fsyncs covered, one running.
    #[derive(Default)]
    struct Gen {
        asked: u64,
        done: u64,
        running: bool,
    }
    /// A folder's device and inode.
    type Id = (u64, u64);
    static SYNCS: OnceLock<(Mutex<HashMap<Id, Gen>>, Condvar)> = OnceLock::new();
    let key = dir.id()?;
    let (lock, cv) = SYNCS.get_or_init(Default::default);
    let mut map = lock.lock().expect("sync lock");
    let g = map.entry(key).or_default();
    g.asked += 1;
    let mine = g.asked;
    loop {
        let g = map.get_mut(&key).expect("entry kept");
        if g.done >= mine {
            return Ok(());
        }
        if !g.running {
            g.running = true;
            let covers = g.asked;
            drop(map);
            let r = dir.sync();
            map = lock.lock().expect("sync lock");
            let g = map.get_mut(&key).expect("entry kept");
            g.running = false;
            if r.is_ok() {
                g.done = covers;
            }
            cv.notify_all();
            return r;
        }
        map = cv.wait(map).expect("sync lock");
    }
}

fn same_content(a: &Path, b: &Path) -> io::Result<bool> {
    let (Ok(ma), Ok(mb)) = (std::fs::symlink_metadata(a), std::fs::symlink_metadata(b)) else {
        return Ok(false);
    };
    if !ma.is_file() || !mb.is_file() || ma.len() != mb.len() {
        return Ok(false);
    }
    if (ma.dev(), ma.ino()) == (mb.dev(), mb.ino()) {
        return Ok(true);
    }
    // What cannot be read cannot be shown to be the same (another user's file): a
    // different file, so the next free name is used and nothing is replaced.
    let (Ok(mut fa), Ok(mut fb)) = (File::open(a), File::open(b)) else {
        return Ok(false);
    };
    let (mut ba, mut bb) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let n = read_full(&mut fa, &mut ba)?;
        let m = read_full(&mut fb, &mut bb)?;
        if n != m || ba[..n] != bb[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Moves `from` (a claimed file, or a link or FIFO) to `dest` or a free numbered variant,
/// never replacing anything. A name already holding the same content counts as done
/// (a move redone after a crash). Across filesystems a regular file is copied, a
/// symbolic link recreated, and any other entry (FIFO, device: no content) only removed.
pub fn move_to(from: &Path, dest: &Path, root: &Path, tag: &str) -> io::Result<PathBuf> {
    if !root.is_dir() {
        return Err(missing(root));
    }
    move_into(from, dest, &Folder::root(root)?, tag)
}

/// [`move_to`] into `root` as it was opened (and checked) by the caller: a root swapped
/// for a link since cannot send the file elsewhere.
pub fn move_into(from: &Path, dest: &Path, root: &Folder, tag: &str) -> io::Result<PathBuf> {
    let dir = dest.parent().expect("destination has a folder");
    let folder = made_below(root, dir)?;
    let root = root.path();
    for n in 1..=MAX_NUMBER {
        let cand = numbered(dest, n);
        let at = folder.at(cand.file_name().expect("a file name"));
        if let Ok(there) = std::fs::symlink_metadata(&at) {
            if moved_before(from, &at, &there)? {
                remove_moved(from)?;
                return Ok(cand);
            }
            continue;
        }
        if link_new(from, &at, root, tag)? {
            sync_folder(&folder)?;
            remove_moved(from)?;
            return Ok(cand);
        }
    }
    Err(too_many(dest))
}

fn missing(root: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} is missing or not a folder", root.display()),
    )
}

fn remove_moved(from: &Path) -> io::Result<()> {
    match std::fs::remove_file(from) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn too_many(dest: &Path) -> io::Error {
    io::Error::other(format!(
        "{MAX_NUMBER} files named like {} already",
        dest.display()
    ))
}

/// Whether `at` (whose metadata is `there`) is `from` moved there by a move redone
/// after a crash: the very file, linked there before it (on one filesystem), or the
/// same bytes copied there (across filesystems). The same bytes from another file on
/// one filesystem are another delivery (the same page saved twice): a name of its own,
/// not deduplicated away.
fn moved_before(from: &Path, at: &Path, there: &std::fs::Metadata) -> io::Result<bool> {
    Ok(match std::fs::symlink_metadata(from) {
        Ok(m) if (m.dev(), m.ino()) == (there.dev(), there.ino()) => true,
        Ok(m) if m.dev() != there.dev() => same_content(from, at)?,
        _ => false,
    })
}

/// Puts `from` at `to` unless `to` is taken (then `false`, nothing changed): a rename
/// that cannot replace (it needs no permission on the file itself, so another user's
/// unreadable file moves too), else a hard link, which cannot replace either; across
/// filesystems a copy through a temporary file in `root` (a symbolic link recreated,
/// another entry left out). `from` is gone after the rename and stays otherwise: the
/// caller removes it.
fn link_new(from: &Path, to: &Path, root: &Path, tag: &str) -> io::Result<bool> {
    let copy = || -> io::Result<bool> {
        let mut t = TempFile::create(root, tag)?;
        io::copy(&mut File::open(from)?, t.file())?;
        Ok(t.place_exact(to, Conflict::Keep)? != Placed::Exists)
    };
    match super::sys::rename_new(from, to)? {
        Renamed::Moved => return Ok(true),
        Renamed::Taken => return Ok(false),
        Renamed::Cannot => {}
    }
    match std::fs::hard_link(from, to) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) if e.raw_os_error() == Some(18) /* EXDEV */ => {
            let meta = std::fs::symlink_metadata(from)?;
            if meta.file_type().is_symlink() {
                match std::os::unix::fs::symlink(std::fs::read_link(from)?, to) {
                    Ok(()) => Ok(true),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                    Err(e) => Err(e),
                }
            } else if meta.is_file() {
                copy()
            } else {
                Ok(true)
            }
        }
        // Filesystems without hard links: a copy, placed by the same rules.
        Err(e) if is_unsupported(&e) => copy(),
        Err(e) => Err(e),
    }
}

pub use crate::config::REASON;

/// Moves `from` into the failed folder as `dest` (or a numbered variant) with
/// `NAME.reason` beside it holding `reason`. The two names are one reservation: the
/// reason is linked in first, where neither name is taken, so neither can replace
/// anything — not another failure, not someone's file named like a reason. A name
/// already holding this very file (a quarantine redone after a crash) is reused.
/// Names too long for a reason beside them are shortened ([`fitted`]).
pub fn quarantine(
    from: &Path,
    dest: &Path,
    root: &Path,
    tag: &str,
    reason: &str,
) -> io::Result<PathBuf> {
    if !root.is_dir() {
        return Err(missing(root));
    }
    quarantine_in(from, dest, &Folder::root(root)?, tag, reason)
}

/// [`quarantine`] into `root` as it was opened (and checked) by the caller: a root
/// swapped for a link since cannot send the file elsewhere.
pub fn quarantine_in(
    from: &Path,
    dest: &Path,
    root: &Folder,
    tag: &str,
    reason: &str,
) -> io::Result<PathBuf> {
    // One reservation at a time in this process: a reason saying the same with no
    // file beside it counts as a crash's leftover and is taken over, so a second
    // worker failing a file of the same name with the same reason took the first's
    // reservation, placed its file first, and the first, finding the name taken, gave
    // the reason's name back: a failure without its reason (fifth hostile run, names
    // differing by case on a FAT failed folder: 32 of 80).
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _held = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = dest.parent().expect("destination has a folder");
    let folder = made_below(root, dir)?;
    let root = root.path();
    let text = format!("{reason}\n");
    let ours = |p: &Path| std::fs::read(p).is_ok_and(|b| b == text.as_bytes());
    for n in 1..=MAX_NUMBER {
        let named = fitted(dest, n, REASON.len());
        let name = named.file_name().expect("a file name");
        let cand = folder.at(name);
        let mut sidecar = name.to_os_string();
        sidecar.push(REASON);
        let sidecar = folder.at(&sidecar);
        let have_reason = std::fs::symlink_metadata(&sidecar).is_ok();
        if let Ok(there) = std::fs::symlink_metadata(&cand) {
            // Redone after a crash only as a move is (until 2026-12-04 the same bytes
            // were enough, and a second delivery of one bad file was removed as such).
            if moved_before(from, &cand, &there)? && (!have_reason || ours(&sidecar)) {
                if !have_reason {
                    put_new(&sidecar, root, tag, text.as_bytes())?;
                }
                sync_folder(&folder)?;
                remove_moved(from)?;
                return Ok(named);
            }
            continue;
        }
        // A reason with no file beside it is ours only if it says the same (a crash
        // between the two links); otherwise it is somebody's file.
        if have_reason && !ours(&sidecar) {
            continue;
        }
        let placed = !have_reason;
        if placed && !put_new(&sidecar, root, tag, text.as_bytes())? {
            continue;
        }
        match link_new(from, &cand, root, tag) {
            Ok(true) => {
                sync_folder(&folder)?;
                remove_moved(from)?;
                return Ok(named);
            }
            Ok(false) => {}
            // The file could not follow its reason (a full disk): no reason stays alone.
            Err(e) => {
                if placed {
                    let _ = std::fs::remove_file(&sidecar);
                }
                return Err(e);
            }
        }
        // The file's name was taken meanwhile: give the reason's name back.
        let _ = std::fs::remove_file(&sidecar);
    }
    Err(too_many(dest))
}

/// Writes `text` durably as a new file `path`; `false` if the name is taken.
fn put_new(path: &Path, root: &Path, tag: &str, text: &[u8]) -> io::Result<bool> {
    let mut t = TempFile::create(root, tag)?;
    t.file().write_all(text)?;
    Ok(t.place_exact(path, Conflict::Keep)? != Placed::Exists)
}

/// Makes the folders from `root` down to `dir`, following no link, and opens `dir` (to
/// be used by descriptor: see [`Folder`]): a part of the path below `root` that is a
/// symbolic link is one file's trouble (`ELOOP`: pare never writes through a link —
/// `outbox/site.com` linked back into the inbox would feed outputs in again, linked
/// elsewhere would write outside), and so is a part that is a file (`ENOTDIR`). `root`
/// itself is the caller's, checked by the folder layout. Each folder made is synced
/// into its parent.
pub fn make_dirs(root: &Path, dir: &Path) -> io::Result<Folder> {
    make_dirs_synced(root, dir, true)
}

/// [`make_dirs`], syncing each new folder into its parent only if `sync` (a batch run
/// without `--sync` promises complete outputs, not durable ones: a folder's sync there
/// was 5% of its time over a corpus of one page per folder).
pub fn make_dirs_synced(root: &Path, dir: &Path, sync: bool) -> io::Result<Folder> {
    made_below_synced(&Folder::root(root)?, dir, sync)
}

/// [`make_dirs`] from an open root.
fn made_below(root: &Folder, dir: &Path) -> io::Result<Folder> {
    made_below_synced(root, dir, true)
}

fn made_below_synced(root: &Folder, dir: &Path, sync: bool) -> io::Result<Folder> {
    let mut tries = 0;
    loop {
        let mut made = Vec::new();
        match root.descend(dir, true, &mut made) {
            Err(e) if raced(&e, &mut tries, root.path()) => {}
            Err(e) => return Err(e),
            Ok(folder) => {
                // The new folders' names are durable only once their parents are
                // synced: else a power loss could take a folder, and the file placed
                // in it (whose own folder alone is synced), after the original went.
                if sync {
                    for parent in &made {
                        sync_folder(parent)?;
                    }
                }
                return Ok(folder);
            }
        }
    }
}

/// How many times a folder removed under pare as it places a file (a consumer tidying
/// empty folders) is made again before that counts as the folder's trouble.
const RACE_TRIES: u32 = 200;

/// Whether `e` is a folder removed under pare while it made folders in `root` or placed
/// a file in them (a consumer that removes empty folders as it takes outputs), to be
/// made again: counted in `tries`, up to [`RACE_TRIES`]. The root itself gone is the
/// folder's trouble, not a race.
fn raced(e: &io::Error, tries: &mut u32, root: &Path) -> bool {
    if e.kind() == io::ErrorKind::NotFound && *tries < RACE_TRIES && root.is_dir() {
        *tries += 1;
        std::thread::yield_now();
        true
    } else {
        false
    }
}

/// Checks that the temporary folder is a folder itself, not a link to one elsewhere:
/// pare writes and deletes in it, and must never do so anywhere else.
fn own_folder(dir: &Path) -> io::Result<()> {
    let m = std::fs::symlink_metadata(dir)?;
    if m.is_dir() {
        Ok(())
    } else {
        Err(not_own_folder(dir))
    }
}

fn not_own_folder(dir: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{} is not a folder (a link, or a file): pare writes its temporary files there and will not follow it; remove it",
            dir.display()
        ),
    )
}

/// Removes every leftover temporary file under `root` (from a crash) but those named in
/// `keep` (the temporary files of claims still to be resolved: see [`own_output`]).
pub fn sweep(root: &Path, keep: &[String]) -> io::Result<usize> {
    let dir = root.join(TMP_DIR);
    let mut n = 0;
    match std::fs::symlink_metadata(&dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
        Ok(_) => own_folder(&dir)?,
    }
    match std::fs::read_dir(&dir) {
        Ok(entries) => {
            for e in entries.flatten() {
                if keep.iter().any(|k| e.file_name() == k.as_str()) {
                    continue;
                }
                if std::fs::remove_file(e.path()).is_ok() {
                    n += 1;
                }
            }
            Ok(n)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering() {
        assert_eq!(
            numbered(Path::new("/o/x.html"), 1),
            PathBuf::from("/o/x.html")
        );
        assert_eq!(
            numbered(Path::new("/o/x.html"), 2),
            PathBuf::from("/o/x (2).html")
        );
        assert_eq!(
            numbered(Path::new("/o/a.b.html"), 3),
            PathBuf::from("/o/a.b (3).html")
        );
        assert_eq!(
            numbered(Path::new("/o/README"), 2),
            PathBuf::from("/o/README (2)")
        );
        use std::os::unix::ffi::OsStrExt;
        let latin1 = Path::new(std::ffi::OsStr::from_bytes(b"/o/caf\xe9.ht\xffml"));
        assert_eq!(
            numbered(latin1, 2).as_os_str().as_bytes(),
            b"/o/caf\xe9 (2).ht\xffml"
        );
    }

    #[test]
    fn long_names_are_shortened_to_fit_the_same_way_every_time() {
        use std::os::unix::ffi::OsStrExt;
        let long = format!("/o/{}.html", "é".repeat(124)); // 248 + 5 bytes
        let p = Path::new(&long);
        assert_eq!(fitted(p, 1, 0), p, "it fits: unchanged");
        let with_reason = fitted(p, 1, REASON.len());
        let name = with_reason.file_name().unwrap().as_bytes();
        assert!(name.len() + REASON.len() <= 255, "{}", name.len());
        let name = std::str::from_utf8(name).expect("cut on a character boundary");
        assert!(name.ends_with(".html") && name.contains('~'), "{name}");
        assert_eq!(
            fitted(p, 1, REASON.len()),
            with_reason,
            "the same every time"
        );
        let two = numbered(p, 2);
        let two = two.file_name().unwrap().to_str().unwrap();
        assert!(two.len() <= 255 && two.ends_with(" (2).html"), "{two}");
        // Bytes that are not UTF-8 are cut anywhere, and kept otherwise.
        let raw = [b"/o/".to_vec(), vec![0xff; 260]].concat();
        let raw = Path::new(std::ffi::OsStr::from_bytes(&raw));
        assert!(fitted(raw, 1, 0).file_name().unwrap().len() <= 255);
    }

    fn put(root: &Path, tag: &str, dest: &Path, body: &str) -> PathBuf {
        let mut t = TempFile::create(root, tag).unwrap();
        t.file().write_all(body.as_bytes()).unwrap();
        t.place(dest).unwrap().path
    }

    #[test]
    fn the_same_content_from_another_input_gets_a_name_of_its_own() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("x.md");
        let place = |tag: &str| {
            let mut t = TempFile::create(d.path(), tag).unwrap();
            t.file().write_all(b"same").unwrap();
            let s = t.place(&dest).unwrap();
            s.path.file_name().unwrap().to_str().unwrap().to_string()
        };
        assert_eq!(place("1"), "x.md");
        assert_eq!(place("2"), "x (2).md");
        assert_eq!(place("3"), "x (3).md");
        assert_eq!(
            std::fs::read_dir(d.path().join(TMP_DIR)).unwrap().count(),
            0
        );
    }

    /// A placed file keeps its temporary name until its slot is dropped (after the
    /// claim is marked): a restart in between finds its output by that file — and only
    /// that very file, not another input's identical output, nor a file that got the
    /// inode number of a temporary file removed since.
    #[test]
    fn a_placed_files_temporary_name_tells_its_output_after_a_crash() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("s/x.md");
        let tmp = |tag: &str| {
            let mut t = TempFile::create(d.path(), tag).unwrap();
            t.file().write_all(b"same").unwrap();
            t
        };
        // Another input's identical output, placed and done with.
        drop(tmp("9-1").place(&dest).unwrap());
        // Ours: placed, the "crash" before the slot goes (it is leaked).
        let ours = tmp("9-2").place(&dest).unwrap();
        assert_eq!(ours.path, d.path().join("s/x (2).md"));
        assert!(d.path().join(TMP_DIR).join("9-2").exists());
        std::mem::forget(ours);
        assert_eq!(own_output(d.path(), "9-2", &dest).unwrap(), Some(2));
        // Not placed (its temporary file alone), unknown, or placed and finished.
        let mut unplaced = tmp("9-3");
        unplaced.file().sync_all().unwrap();
        assert_eq!(own_output(d.path(), "9-3", &dest).unwrap(), None);
        assert_eq!(own_output(d.path(), "9-4", &dest).unwrap(), None);
        assert_eq!(own_output(d.path(), "9-1", &dest).unwrap(), None);
        // A site folder that is a link is an error, not "never placed".
        std::fs::rename(d.path().join("s"), d.path().join("moved")).unwrap();
        std::os::unix::fs::symlink(d.path().join("moved"), d.path().join("s")).unwrap();
        assert!(own_output(d.path(), "9-2", &dest).is_err());
    }

    #[test]
    fn looking_then_renaming_never_replaces_an_output_placed_meanwhile() {
        // The fallback for filesystems without a no-replace rename or hard links, raced
        // by as many workers as a daemon may have, all placing at one name.
        let dir = std::env::temp_dir().join(format!("pare-race-place-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let dest = dir.join("b.md");
        for round in 0..60 {
            let _ = std::fs::remove_file(&dest);
            let threads = 8;
            let go = std::sync::Arc::new(std::sync::Barrier::new(threads));
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (go, dir, dest) = (go.clone(), dir.clone(), dest.clone());
                    std::thread::spawn(move || {
                        let from = dir.join(format!("tmp-{t}"));
                        std::fs::write(&from, format!("output {t} of round {round}")).unwrap();
                        go.wait();
                        (t, super::rename_unless_taken(&from, &dest).unwrap(), from)
                    })
                })
                .collect();
            let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            let won: Vec<usize> = results
                .iter()
                .filter(|r| r.1 == Placed::New)
                .map(|r| r.0)
                .collect();
            assert_eq!(won.len(), 1, "round {round}: placed by {won:?}");
            assert_eq!(
                std::fs::read_to_string(&dest).unwrap(),
                format!("output {} of round {round}", won[0])
            );
            for (t, placed, from) in &results {
                if *t != won[0] {
                    assert_eq!(*placed, Placed::Exists);
                    assert!(from.exists(), "a loser's file stays to be placed elsewhere");
                    std::fs::remove_file(from).unwrap();
                }
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn never_replaces_different_content() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("s/x.html");
        assert_eq!(put(d.path(), "1", &dest, "one"), dest.clone());
        let two = d.path().join("s/x (2).html");
        assert_eq!(put(d.path(), "3", &dest, "two"), two.clone());
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "one");
        assert_eq!(std::fs::read_to_string(&two).unwrap(), "two");
        assert_eq!(
            std::fs::read_dir(d.path().join(TMP_DIR)).unwrap().count(),
            0
        );
    }

    #[test]
    fn failures_of_one_name_quarantined_at_once_each_keep_their_reason() {
        let d = tempfile::tempdir().unwrap();
        let failed = d.path().join("failed");
        std::fs::create_dir_all(&failed).unwrap();
        for round in 0..20 {
            let threads = 6;
            let go = std::sync::Arc::new(std::sync::Barrier::new(threads));
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (go, dir, failed) = (go.clone(), d.path().to_path_buf(), failed.clone());
                    std::thread::spawn(move || {
                        let from = dir.join(format!("in-{round}-{t}"));
                        std::fs::write(&from, format!("bad input {t} of round {round}")).unwrap();
                        go.wait();
                        let dest = failed.join(format!("r{round}/x.html"));
                        quarantine(&from, &dest, &failed, &format!("{round}-{t}"), "not HTML")
                            .unwrap()
                    })
                })
                .collect();
            let placed: Vec<PathBuf> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            let mut seen = std::collections::HashSet::new();
            for p in &placed {
                assert!(seen.insert(p.clone()), "round {round}: {p:?} given twice");
                let mut r = p.clone().into_os_string();
                r.push(REASON);
                assert_eq!(
                    std::fs::read_to_string(&r).unwrap_or_default(),
                    "not HTML\n",
                    "round {round}: {p:?} has no reason beside it"
                );
            }
        }
    }

    #[test]
    fn the_same_bad_file_delivered_twice_keeps_two_failures_but_a_redo_one() {
        let d = tempfile::tempdir().unwrap();
        let failed = d.path().join("failed");
        std::fs::create_dir_all(&failed).unwrap();
        let dest = failed.join("x.html");
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        std::fs::write(&a, "PNG bytes").unwrap();
        std::fs::write(&b, "PNG bytes").unwrap();
        assert_eq!(
            quarantine(&a, &dest, &failed, "1", "not HTML").unwrap(),
            dest
        );
        let second = failed.join("x (2).html");
        assert_eq!(
            quarantine(&b, &dest, &failed, "2", "not HTML").unwrap(),
            second
        );
        assert!(!a.exists() && !b.exists());
        for p in [&dest, &second] {
            assert_eq!(std::fs::read(p).unwrap(), b"PNG bytes");
            let mut r = p.clone().into_os_string();
            r.push(REASON);
            assert_eq!(std::fs::read_to_string(r).unwrap(), "not HTML\n");
        }
        // Redone after a crash (the file linked in, its old name still there): the
        // very file is recognised, not given a third name.
        std::fs::hard_link(&second, &b).unwrap();
        assert_eq!(
            quarantine(&b, &dest, &failed, "3", "not HTML").unwrap(),
            second
        );
        assert!(!b.exists() && !failed.join("x (3).html").exists());
    }

    #[test]
    fn move_never_replaces() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        std::fs::write(&a, "a").unwrap();
        std::fs::write(&b, "b").unwrap();
        let dest = d.path().join("f/x.html");
        assert_eq!(move_to(&a, &dest, d.path(), "1").unwrap(), dest);
        assert_eq!(
            move_to(&b, &dest, d.path(), "2").unwrap(),
            d.path().join("f/x (2).html")
        );
        assert!(!a.exists() && !b.exists());
        // Redone after a crash (the file linked there, its old name still there): the
        // very file is recognised, not numbered again.
        std::fs::hard_link(&dest, &a).unwrap();
        assert_eq!(move_to(&a, &dest, d.path(), "3").unwrap(), dest);
        assert!(!a.exists() && !d.path().join("f/x (3).html").exists());
        // The same bytes from another file (the page delivered twice): kept, numbered.
        std::fs::write(&a, "a").unwrap();
        assert_eq!(
            move_to(&a, &dest, d.path(), "4").unwrap(),
            d.path().join("f/x (3).html")
        );
        assert_eq!(std::fs::read(d.path().join("f/x (3).html")).unwrap(), b"a");
    }
}
