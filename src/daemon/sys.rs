//! The two system calls std does not offer, and the project's only `unsafe` code.
//!
//! - `fcntl(F_SETLEASE)`: whether another process holds a file open for writing
//!   (used by [`super::lease`]).
//! - `renameat2(RENAME_NOREPLACE)`: moving an entry to a name only if that name is
//!   free, atomically. Unlike a hard link it needs no permission on the file itself
//!   (only on the two folders), so a file the daemon may not read or link — another
//!   user's mode-0600 file under `fs.protected_hardlinks` — can still be moved to the
//!   failed folder.
//! - `signal(SIGXFSZ, SIG_IGN)`: a write past the file-size limit is an error, not death.
//! - `flock(LOCK_EX | LOCK_NB)`: one daemon per inbox (`File::try_lock` is newer than
//!   the Rust the project builds with, 1.85).

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Tries a read lease on `fd` and releases it at once: `Ok(())` when it was granted
/// (nobody has the file open for writing), else the error (`EAGAIN`: a writer).
pub fn try_read_lease(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_SETLEASE takes an int argument and touches no memory of ours; a bad
    // descriptor is an error return (EBADF), not undefined behaviour.
    #[allow(unsafe_code)]
    unsafe {
        if libc::fcntl(fd, libc::F_SETLEASE, libc::F_RDLCK) != 0 {
            return Err(io::Error::last_os_error());
        }
        libc::fcntl(fd, libc::F_SETLEASE, libc::F_UNLCK);
    }
    Ok(())
}

/// Takes an exclusive advisory lock on the open file `fd` without waiting: `Ok(true)`
/// taken (held until the file is closed), `Ok(false)` held by another process.
pub fn try_lock(fd: RawFd) -> io::Result<bool> {
    // SAFETY: flock takes a descriptor and an int; a bad descriptor is an error return.
    #[allow(unsafe_code)]
    let r = unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// Ignores `SIGXFSZ`, so that a write past the process's file-size limit (`ulimit -f`,
/// systemd's `LimitFSIZE=`) fails with `EFBIG` — one file's error — instead of killing
/// the process (the default action), which would resume the same file and die again
/// at every start.
pub fn ignore_file_size_signal() {
    // SAFETY: setting a signal's disposition to SIG_IGN installs no handler of ours.
    #[allow(unsafe_code)]
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// What a no-replace rename did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renamed {
    /// `from` is now `to`.
    Moved,
    /// `to` exists; nothing changed.
    Taken,
    /// This filesystem (or kernel) cannot do it, or the two are on different
    /// filesystems: nothing changed, another way is needed.
    Cannot,
}

/// Renames `from` to `to` unless `to` exists, in one step.
pub fn rename_new(from: &Path, to: &Path) -> io::Result<Renamed> {
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in a path"))
    };
    let (a, b) = (c(from)?, c(to)?);
    // SAFETY: both pointers are NUL-terminated strings that live across the call; the
    // kernel only reads them.
    #[allow(unsafe_code)]
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if r == 0 {
        return Ok(Renamed::Moved);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EEXIST) => Ok(Renamed::Taken),
        // EPERM: a sticky folder, or a filesystem that refuses; the link or copy that
        // follows decides.
        Some(libc::EINVAL | libc::ENOSYS | libc::EXDEV | libc::EOPNOTSUPP | libc::EPERM) => {
            Ok(Renamed::Cannot)
        }
        _ => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::{Renamed, rename_new};

    #[test]
    fn a_no_replace_rename_moves_to_a_free_name_and_never_over_a_taken_one() {
        let dir = std::env::temp_dir().join(format!("pare-sys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b, c) = (dir.join("a"), dir.join("b"), dir.join("c"));
        std::fs::write(&a, "first").unwrap();
        std::fs::write(&b, "second").unwrap();
        match rename_new(&a, &b).unwrap() {
            Renamed::Cannot => {} // a filesystem without the flag: nothing to test
            r => {
                assert_eq!(r, Renamed::Taken);
                assert_eq!(std::fs::read_to_string(&b).unwrap(), "second");
                assert_eq!(rename_new(&a, &c).unwrap(), Renamed::Moved);
                assert!(!a.exists());
                assert_eq!(std::fs::read_to_string(&c).unwrap(), "first");
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
