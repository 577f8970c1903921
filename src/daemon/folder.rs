//! Folders used by descriptor, not by name.
//!
//! A folder below a root (an outbox site folder, a folder in `done` or the failed
//! folder) is opened one level at a time with `O_NOFOLLOW | O_DIRECTORY`, each level
//! opened inside the one above it, and then used through its descriptor: names in it
//! are reached as `/proc/self/fd/<fd>/<name>`, which the kernel resolves to the folder
//! that was opened, whatever its path names now. So a folder swapped for a link after
//! pare checked it (`RENAME_EXCHANGE` in a loop) cannot turn a placement into a write
//! through the link: the file goes into the folder pare opened, or nowhere. Without
//! `/proc` (a chroot without it) names are used as before, each level still opened
//! without following a link.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

/// An open folder and the path it was opened by (for messages and logs).
#[derive(Debug)]
pub struct Folder {
    file: File,
    path: PathBuf,
}

/// Whether `/proc/self/fd` reaches this process's descriptors.
fn proc_fds() -> bool {
    static HAVE: OnceLock<bool> = OnceLock::new();
    *HAVE.get_or_init(|| std::fs::metadata("/proc/self/fd").is_ok_and(|m| m.is_dir()))
}

fn open_dir(path: &Path, follow: bool) -> io::Result<File> {
    let mut flags = libc::O_DIRECTORY | libc::O_CLOEXEC;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
}

impl Folder {
    /// Opens a root folder (links in its path followed: the configured path is the
    /// user's, and the folder layout is checked on it).
    pub fn root(path: &Path) -> io::Result<Folder> {
        Ok(Folder {
            file: open_dir(path, true)?,
            path: path.to_path_buf(),
        })
    }

    /// The path this folder was opened by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path that reaches this folder through its open descriptor (its opening path
    /// without `/proc`): names joined to it stay in the folder that was opened.
    pub fn reach(&self) -> PathBuf {
        if proc_fds() {
            PathBuf::from(format!("/proc/self/fd/{}", self.file.as_raw_fd()))
        } else {
            self.path.clone()
        }
    }

    /// A path for `name` in this folder that reaches it through the open descriptor.
    pub fn at(&self, name: &OsStr) -> PathBuf {
        self.reach().join(name)
    }

    /// Opens the folder `name` in this one, never through a link (`ELOOP`) and never a
    /// file (`ENOTDIR`); made first when missing and `make` (then `true` with it).
    pub fn child(&self, name: &OsStr, make: bool) -> io::Result<(Folder, bool)> {
        let at = self.at(name);
        let path = self.path.join(name);
        let mut made = false;
        loop {
            match open_dir(&at, false) {
                Ok(file) => return Ok((Folder { file, path }, made)),
                Err(e) if e.kind() == io::ErrorKind::NotFound && make && !made => {
                    match std::fs::create_dir(&at) {
                        Ok(()) => made = true,
                        // Made meanwhile (another worker): as good, if it is a folder.
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(e),
                    }
                }
                // A link (with O_DIRECTORY the kernel says ENOTDIR for it): ELOOP, the
                // file's trouble (pare never writes through a link).
                Err(e)
                    if e.raw_os_error() == Some(libc::ENOTDIR)
                        && std::fs::symlink_metadata(&at)
                            .is_ok_and(|m| m.file_type().is_symlink()) =>
                {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Opens `dir` below `root` level by level (see [`child`](Self::child)). The
    /// folders made on the way are in `made`, each with the folder whose entry it is
    /// (to be synced for the new name to be durable).
    pub fn below(
        root: &Path,
        dir: &Path,
        make: bool,
        made: &mut Vec<Folder>,
    ) -> io::Result<Folder> {
        Folder::root(root)?.descend(dir, make, made)
    }

    /// As [`below`](Self::below), from this open folder: `dir` is a path below the
    /// one this folder was opened by.
    pub fn descend(&self, dir: &Path, make: bool, made: &mut Vec<Folder>) -> io::Result<Folder> {
        let rel = dir.strip_prefix(&self.path).map_err(|_| {
            io::Error::other(format!(
                "{} is not below {}",
                dir.display(),
                self.path.display()
            ))
        })?;
        let mut at = Folder {
            file: self.file.try_clone()?,
            path: self.path.clone(),
        };
        for part in rel.components() {
            let name = match part {
                Component::Normal(n) => n,
                Component::CurDir => continue,
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "{} is not a plain path below {}",
                            dir.display(),
                            self.path.display()
                        ),
                    ));
                }
            };
            let (next, new) = at.child(name, make)?;
            if new {
                made.push(at);
            }
            at = next;
        }
        Ok(at)
    }

    /// Flushes the folder's entries to disk.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_all()
    }

    /// The folder's identity (device, inode), whatever its path.
    pub fn id(&self) -> io::Result<(u64, u64)> {
        let m = self.file.metadata()?;
        Ok((m.dev(), m.ino()))
    }

    /// Whether the folder has been removed (no name reaches it any more).
    pub fn removed(&self) -> bool {
        self.file.metadata().is_ok_and(|m| m.nlink() == 0)
    }

    /// Where the open folder is now, as the kernel knows it (for checking the folder
    /// actually used against the layout, not the one a name led to earlier).
    pub fn real_path(&self) -> io::Result<PathBuf> {
        if proc_fds() {
            std::fs::read_link(format!("/proc/self/fd/{}", self.file.as_raw_fd()))
        } else {
            std::fs::canonicalize(&self.path)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder swapped for a link after it was opened: a file put in it through the
    /// descriptor lands in the folder that was opened, never through the link.
    #[test]
    fn a_folder_swapped_for_a_link_after_it_was_opened_is_still_the_one_used() {
        let d = tempfile::tempdir().unwrap();
        let (root, elsewhere) = (d.path().join("out"), d.path().join("inbox"));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        let mut made = Vec::new();
        let site = Folder::below(&root, &root.join("s.com/2024"), true, &mut made).unwrap();
        assert_eq!(made.len(), 2);
        assert_eq!(made[0].path(), root);
        assert_eq!(made[1].path(), root.join("s.com"));
        // The site folder moved away and a link into the inbox put in its place.
        std::fs::rename(root.join("s.com"), d.path().join("moved")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, root.join("s.com")).unwrap();
        std::fs::write(site.at(OsStr::new("a.html")), "x").unwrap();
        site.sync().unwrap();
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
        if proc_fds() {
            assert_eq!(
                std::fs::read(d.path().join("moved/2024/a.html")).unwrap(),
                b"x"
            );
            assert_eq!(
                site.real_path().unwrap(),
                std::fs::canonicalize(d.path().join("moved/2024")).unwrap()
            );
        }
        // Opened again by name: the link is refused, not followed.
        let e = Folder::below(&root, &root.join("s.com/2024"), true, &mut Vec::new()).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP), "{e}");
        std::fs::write(root.join("file"), "").unwrap();
        let e = Folder::below(&root, &root.join("file/x"), true, &mut Vec::new()).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOTDIR), "{e}");
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    }

    #[test]
    fn a_removed_folder_says_so() {
        let d = tempfile::tempdir().unwrap();
        let (f, _) = Folder::root(d.path())
            .unwrap()
            .child(OsStr::new("x"), true)
            .unwrap();
        assert!(!f.removed());
        std::fs::remove_dir(d.path().join("x")).unwrap();
        assert!(f.removed());
        let id = f.id().unwrap();
        assert!(id.1 > 0);
    }
}
