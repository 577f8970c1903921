//! Publishing: putting a finished file where a reader may see it, atomically and without
//! ever replacing someone else's file.
//!
//! Everything is first written under `<folder>/.pare-tmp/`, flushed to disk, then linked
//! into place under its final name, and the folder is flushed. A name that is taken by a
//! file with the same content counts as done (so redoing a file after a crash is
//! harmless); a name taken by different content makes the file `name (2).ext`, then
//! `(3)`… Nothing here decides *whether* a file is cleaned or failed.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The folder, inside each destination, that holds files being written.
pub const TMP_DIR: &str = ".pare-tmp";

/// How many numbered names are tried before giving up.
const MAX_NUMBER: u32 = 10_000;

/// A temporary file in `root/.pare-tmp/`, removed on drop unless it was placed.
pub struct TempFile {
    path: PathBuf,
    file: Option<File>,
}

impl TempFile {
    /// Creates a new temporary file for a destination under `root` (which must exist).
    pub fn create(root: &Path, tag: &str) -> io::Result<TempFile> {
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} is missing or not a folder", root.display()),
            ));
        }
        let dir = root.join(TMP_DIR);
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let path = dir.join(tag);
        let file = File::create_new(&path)?;
        Ok(TempFile {
            path,
            file: Some(file),
        })
    }

    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("open until placed")
    }

    /// Flushes to disk and links the file in at `dest` (or a numbered variant of it).
    /// Returns the name used, and whether an identical file was already there.
    pub fn place(self, dest: &Path) -> io::Result<(PathBuf, bool)> {
        self.place_with(dest, true)
    }

    /// As [`place`](Self::place), but leaves the folder fsync to the caller (the
    /// committer batches it over many files): the new name is not durable until then.
    pub fn place_unsynced(self, dest: &Path) -> io::Result<(PathBuf, bool)> {
        self.place_with(dest, false)
    }

    fn place_with(mut self, dest: &Path, sync: bool) -> io::Result<(PathBuf, bool)> {
        let f = self.file.take().expect("placed once");
        f.sync_all()?;
        drop(f);
        let dir = dest.parent().expect("destination has a folder");
        std::fs::create_dir_all(dir)?;
        for n in 1..=MAX_NUMBER {
            let cand = numbered(dest, n);
            match std::fs::hard_link(&self.path, &cand) {
                Ok(()) => {
                    if sync {
                        sync_dir(dir)?;
                    }
                    return Ok((cand, false));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if same_content(&self.path, &cand)? {
                        return Ok((cand, true));
                    }
                }
                // Filesystems without hard links: check, then rename. Only pare writes
                // here, and it names each temporary file uniquely.
                Err(e) if is_unsupported(&e) => {
                    if std::fs::symlink_metadata(&cand).is_err() {
                        std::fs::rename(&self.path, &cand)?;
                        if sync {
                            sync_dir(dir)?;
                        }
                        return Ok((cand, false));
                    } else if same_content(&self.path, &cand)? {
                        return Ok((cand, true));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other(format!(
            "{MAX_NUMBER} files named like {} already",
            dest.display()
        )))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn is_unsupported(e: &io::Error) -> bool {
    // EPERM (FAT, some FUSE) and EOPNOTSUPP for link(2).
    e.kind() == io::ErrorKind::Unsupported
        || e.kind() == io::ErrorKind::PermissionDenied
        || e.raw_os_error() == Some(95)
}

/// `x.html` for n = 1, `x (2).html` for 2, and so on.
pub fn numbered(dest: &Path, n: u32) -> PathBuf {
    if n <= 1 {
        return dest.to_path_buf();
    }
    // Built from the name's bytes: a name that is not UTF-8 keeps its bytes.
    let mut name = dest.file_stem().unwrap_or_default().to_os_string();
    name.push(format!(" ({n})"));
    if let Some(ext) = dest.extension() {
        name.push(".");
        name.push(ext);
    }
    dest.with_file_name(name)
}

/// Makes a folder's entries (a new name, a removed name) durable.
///
/// Group commit: workers publishing into the same folder at once share fsyncs. A
/// caller returns once an fsync that *started after its call* has finished — its own,
/// or one another worker ran meanwhile.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    use std::collections::HashMap;
    use std::sync::{Condvar, Mutex, OnceLock};
    /// Per folder: fsyncs asked for, fsyncs covered, one running.
    #[derive(Default)]
    struct Gen {
        asked: u64,
        done: u64,
        running: bool,
    }
    static SYNCS: OnceLock<(Mutex<HashMap<PathBuf, Gen>>, Condvar)> = OnceLock::new();
    let (lock, cv) = SYNCS.get_or_init(Default::default);
    let mut map = lock.lock().expect("sync lock");
    let g = map.entry(dir.to_path_buf()).or_default();
    g.asked += 1;
    let mine = g.asked;
    loop {
        let g = map.get_mut(dir).expect("entry kept");
        if g.done >= mine {
            return Ok(());
        }
        if !g.running {
            g.running = true;
            let covers = g.asked;
            drop(map);
            let r = File::open(dir).and_then(|f| f.sync_all());
            map = lock.lock().expect("sync lock");
            let g = map.get_mut(dir).expect("entry kept");
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
    let (mut fa, mut fb) = (File::open(a)?, File::open(b)?);
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
    let dir = dest.parent().expect("destination has a folder");
    if !root.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} is missing or not a folder", root.display()),
        ));
    }
    std::fs::create_dir_all(dir)?;
    let (free, identical) = slot(from, dest)?;
    if identical {
        std::fs::remove_file(from)?;
        return Ok(free);
    }
    match std::fs::hard_link(from, &free) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(18) /* EXDEV */ => {
            let meta = std::fs::symlink_metadata(from)?;
            if meta.file_type().is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(from)?, &free)?;
            } else if meta.is_file() {
                let mut t = TempFile::create(root, tag)?;
                io::copy(&mut File::open(from)?, t.file())?;
                return t.place(&free).and_then(|(p, _)| {
                    std::fs::remove_file(from)?;
                    Ok(p)
                });
            }
        }
        Err(e) if is_unsupported(&e) => std::fs::rename(from, &free)?,
        Err(e) => return Err(e),
    }
    sync_dir(dir)?;
    match std::fs::remove_file(from) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(free),
    }
}

/// Where `from` goes: the first of `dest`, `dest (2)`, … that is free, or that already
/// holds the same content (then `true`).
pub fn slot(from: &Path, dest: &Path) -> io::Result<(PathBuf, bool)> {
    for n in 1..=MAX_NUMBER {
        let cand = numbered(dest, n);
        if std::fs::symlink_metadata(&cand).is_err() {
            return Ok((cand, false));
        }
        if same_content(from, &cand)? {
            return Ok((cand, true));
        }
    }
    Err(io::Error::other(format!(
        "{MAX_NUMBER} files named like {} already",
        dest.display()
    )))
}

/// Writes `text` durably as `path` (replacing it): through a temporary file in `root`.
pub fn write_replace(path: &Path, root: &Path, tag: &str, text: &[u8]) -> io::Result<()> {
    let mut t = TempFile::create(root, tag)?;
    t.file().write_all(text)?;
    let f = t.file.take().expect("open");
    f.sync_all()?;
    drop(f);
    std::fs::rename(&t.path, path)?;
    sync_dir(path.parent().expect("has a folder"))
}

/// Removes every leftover temporary file under `root` (from a crash).
pub fn sweep(root: &Path) -> io::Result<usize> {
    let dir = root.join(TMP_DIR);
    let mut n = 0;
    match std::fs::read_dir(&dir) {
        Ok(entries) => {
            for e in entries.flatten() {
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

    fn put(root: &Path, tag: &str, dest: &Path, body: &str) -> (PathBuf, bool) {
        let mut t = TempFile::create(root, tag).unwrap();
        t.file().write_all(body.as_bytes()).unwrap();
        t.place(dest).unwrap()
    }

    #[test]
    fn never_replaces_different_content() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("s/x.html");
        assert_eq!(put(d.path(), "1", &dest, "one"), (dest.clone(), false));
        assert_eq!(put(d.path(), "2", &dest, "one"), (dest.clone(), true));
        let two = d.path().join("s/x (2).html");
        assert_eq!(put(d.path(), "3", &dest, "two"), (two.clone(), false));
        assert_eq!(put(d.path(), "4", &dest, "two"), (two.clone(), true));
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "one");
        assert_eq!(std::fs::read_to_string(&two).unwrap(), "two");
        assert_eq!(
            std::fs::read_dir(d.path().join(TMP_DIR)).unwrap().count(),
            0
        );
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
        // Redone after a crash: the same content is recognised, not numbered again.
        std::fs::write(&a, "a").unwrap();
        assert_eq!(move_to(&a, &dest, d.path(), "3").unwrap(), dest);
        assert!(!a.exists() && !d.path().join("f/x (3).html").exists());
    }
}
