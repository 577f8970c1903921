//! Whether another process still holds a file open for writing.
//!
//! A writer's `close` is not the end of its file when someone else opens and closes it
//! meanwhile (`touch`, a second `>>`, a backup tool): inotify reports that close as any
//! other, and the file would be taken while its producer is still writing — whatever it
//! writes after the claim would go with the deleted input. Linux answers the question
//! exactly with a read lease: `fcntl(F_SETLEASE, F_RDLCK)` on a descriptor opened
//! read-only succeeds only when no process has the file open for writing. The lease is
//! released at once; it is never held while the file is read.
//!
//! A lease needs the file's owner or `CAP_LEASE`, and a filesystem that supports
//! leases (not NFS, not some FUSE): where the kernel will not say, the answer is
//! [`Writers::Unknown`], and the watcher's close-and-quiet rule is all there is.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// What the kernel says of a file's writers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writers {
    /// Nobody has it open for writing.
    None,
    /// Some process has it open for writing.
    Some,
    /// No lease could be tried (not the file's owner, no `CAP_LEASE`, a filesystem
    /// without leases, leases turned off).
    Unknown,
}

/// Asks whether any process holds `path` open for writing.
pub fn writers(path: &Path) -> io::Result<Writers> {
    // O_NONBLOCK: a FIFO must not hang the worker (it is refused later), and an open
    // that would break another process's lease returns at once instead of waiting;
    // O_NOFOLLOW: a link is never followed (it is refused later, unopened).
    let f = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)?;
    Ok(writers_of(&f))
}

/// As [`writers`], for a file open read-only.
fn writers_of(f: &File) -> Writers {
    match super::sys::try_read_lease(f.as_raw_fd()) {
        Ok(()) => Writers::None,
        Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => Writers::Some,
        Err(_) => Writers::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::{Writers, writers};
    use std::io::Write;

    #[test]
    fn a_file_open_for_writing_has_a_writer_until_it_is_closed() {
        let dir = std::env::temp_dir().join(format!("pare-lease-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.html");
        let mut w = std::fs::File::create(&path).unwrap();
        w.write_all(b"<p>first half").unwrap();
        // Where the kernel cannot say (a filesystem without leases), nothing to test.
        let open = writers(&path).unwrap();
        if open != Writers::Unknown {
            assert_eq!(open, Writers::Some);
            let reader = std::fs::File::open(&path).unwrap();
            drop(w);
            assert_eq!(
                writers(&path).unwrap(),
                Writers::None,
                "a reader is no writer"
            );
            drop(reader);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
