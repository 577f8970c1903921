//! Files the user names for a command to write beside its real output (`--report`,
//! `--html`): never one of the command's inputs, and written whole or not at all.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A path with its folder's links and `..` resolved (the file itself need not exist).
pub fn real_name(p: &Path) -> Option<PathBuf> {
    let name = p.file_name()?;
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let abs = std::path::absolute(parent).ok()?;
    Some(crate::config::real_path(&abs).join(name))
}

/// Writes `bytes` as the file `path` whole or not at all: into a temporary file beside
/// it (with the mode of the file it replaces), flushed, then renamed over it. A full disk
/// leaves the report before it as it was, not cut short. A name that is a link is
/// followed, and its target replaced, not the link. What is no regular file — a pipe
/// (`--report >(jq .)`, `/dev/fd/N`), a FIFO, a device (`/dev/null`, `/dev/stdout`) — is
/// written into, never replaced; so is a file in a folder that takes no new file.
pub fn write_whole(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let existing = std::fs::metadata(path).ok();
    if existing.as_ref().is_some_and(|m| !m.is_file()) {
        return std::fs::OpenOptions::new()
            .write(true)
            .open(path)?
            .write_all(bytes);
    }
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path)?,
        _ => path.to_path_buf(),
    };
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".pare-{}.tmp", std::process::id()));
    let tmp = target.with_file_name(tmp_name);
    let mut f = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
    {
        Ok(f) => f,
        // A folder that takes no new name: the file is written in place, as before.
        Err(e) if existing.is_some() && e.kind() == io::ErrorKind::PermissionDenied => {
            return std::fs::write(&target, bytes);
        }
        Err(e) => return Err(e),
    };
    let written = (|| {
        if let Some(m) = &existing {
            f.set_permissions(std::fs::Permissions::from_mode(m.permissions().mode()))?;
        }
        f.write_all(bytes)?;
        f.sync_all()
    })();
    match written.and_then(|()| std::fs::rename(&tmp, &target)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Removes from `dir` the temporary files [`write_whole`] left when its process was
/// killed between creating and renaming one (`.NAME.pare-PID.tmp`): regular files whose
/// process is gone and that nobody has written for ten minutes (a pid in another pid
/// namespace would not be seen, so the age is asked too). Returns how many went.
pub fn sweep_dead_temps(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    if !Path::new("/proc/self").exists() {
        return 0;
    }
    let now = std::time::SystemTime::now();
    let mut gone = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.starts_with('.'))
            .and_then(|n| n.strip_suffix(".tmp"))
            .and_then(|n| n.rsplit_once(".pare-"))
            .and_then(|(_, pid)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(meta) = e.metadata() else { continue };
        let old = meta
            .modified()
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age >= std::time::Duration::from_secs(600));
        if meta.is_file()
            && old
            && pid != std::process::id()
            && !Path::new(&format!("/proc/{pid}")).exists()
            && std::fs::remove_file(e.path()).is_ok()
        {
            gone += 1;
        }
    }
    gone
}

/// Whether `a` and `b` are one file: the same inode, or the same real path — or, where a
/// case-insensitive filesystem gives each spelling of a name an inode number of its own
/// (FAT through FUSE), real paths that differ only in case, naming files of the same size
/// and modification time (to the nanosecond), in folders that answer to a third case
/// (the first differing part of the paths, spelled as neither, exists). On a
/// case-sensitive filesystem the last test fails: `Site/` and a `cp -a` copy `site/`
/// are two.
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (ma, mb) = (std::fs::metadata(a).ok(), std::fs::metadata(b).ok());
    if let (Some(x), Some(y)) = (&ma, &mb)
        && (x.dev(), x.ino()) == (y.dev(), y.ino())
    {
        return true;
    }
    let (Some(ra), Some(rb)) = (real_name(a), real_name(b)) else {
        return false;
    };
    if ra == rb {
        return true;
    }
    let (Some(x), Some(y)) = (ma, mb) else {
        return false;
    };
    let (sa, sb) = (ra.to_string_lossy(), rb.to_string_lossy());
    if !x.is_file()
        || (x.size(), x.mtime(), x.mtime_nsec()) != (y.size(), y.mtime(), y.mtime_nsec())
        || sa.to_lowercase() != sb.to_lowercase()
    {
        return false;
    }
    // The first part of the path that differs: does it answer to its case swapped?
    let mut probe = PathBuf::new();
    for (pa, pb) in ra.components().zip(rb.components()) {
        if pa == pb {
            probe.push(pa);
            continue;
        }
        // A third spelling, neither `a`'s nor `b`'s: one letter's case changed.
        let name = pa.as_os_str().to_string_lossy().into_owned();
        let other = pb.as_os_str().to_string_lossy();
        let third = name.char_indices().find_map(|(i, c)| {
            let flipped: String = if c.is_uppercase() {
                c.to_lowercase().collect()
            } else {
                c.to_uppercase().collect()
            };
            let s = format!("{}{flipped}{}", &name[..i], &name[i + c.len_utf8()..]);
            (s != name && s != *other).then_some(s)
        });
        return third.is_some_and(|t| probe.join(t).exists());
    }
    false
}

/// Why `path` may not be written by a command that reads `inputs` (files, or folders
/// whose files it reads): it is one of them — the very file, a hard link to it, or the
/// same path spelled otherwise — or a file that is inside one of the folders.
pub fn clashes_with_input(path: &Path, inputs: &[PathBuf]) -> Option<String> {
    let id = std::fs::metadata(path).ok();
    let real = real_name(path);
    for input in inputs {
        let m = std::fs::metadata(input).ok();
        if same_file(path, input) {
            return Some(format!(
                "{} is the input {}; pare never writes over an input",
                path.display(),
                input.display()
            ));
        }
        if id.is_some()
            && m.is_some_and(|m| m.is_dir())
            && let (Some(r), Ok(dir)) = (&real, std::fs::canonicalize(input))
            && r.starts_with(&dir)
        {
            return Some(format!(
                "{} is a file in the input folder {}; pare never writes over an input",
                path.display(),
                input.display()
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a killed `write_whole` left goes once its process is gone and it is old;
    /// a live process's, a fresh one, and everything else stay.
    #[test]
    fn a_killed_runs_temporary_files_go_and_nothing_else() {
        let d = tempfile::tempdir().unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        let make = |name: &str, aged: bool| {
            let f = std::fs::File::create(d.path().join(name)).unwrap();
            if aged {
                f.set_modified(old).unwrap();
            }
        };
        let live = format!(".a.toml.pare-{}.tmp", std::process::id());
        make(".a.toml.pare-999999999.tmp", true);
        make(".b.toml.pare-999999998.tmp", false);
        make(&live, true);
        make("c.toml.pare-999999999.tmp", true);
        make("d.toml", true);
        assert_eq!(sweep_dead_temps(d.path()), 1);
        let mut left: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                live.as_str(),
                ".b.toml.pare-999999998.tmp",
                "c.toml.pare-999999999.tmp",
                "d.toml"
            ]
        );
    }

    #[test]
    fn a_named_output_never_lands_on_an_input() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        std::fs::create_dir_all(p.join("src/sub")).unwrap();
        std::fs::write(p.join("src/a.txt"), "a").unwrap();
        std::fs::write(p.join("src/sub/b.txt"), "b").unwrap();
        std::fs::hard_link(p.join("src/a.txt"), p.join("link.txt")).unwrap();
        let files = [p.join("src/a.txt")];
        let folders = [p.join("src")];
        assert!(clashes_with_input(&p.join("src/a.txt"), &files).is_some());
        assert!(clashes_with_input(&p.join("src/sub/../a.txt"), &files).is_some());
        assert!(clashes_with_input(&p.join("link.txt"), &files).is_some());
        assert!(clashes_with_input(&p.join("src/sub/b.txt"), &folders).is_some());
        // New names, and names outside every input, are free.
        assert!(clashes_with_input(&p.join("src/new.txt"), &files).is_none());
        assert!(clashes_with_input(&p.join("report.txt"), &folders).is_none());
        assert!(clashes_with_input(&p.join("src/new.txt"), &folders).is_none());
        // Written whole: the earlier file stays until the new one is complete.
        write_whole(&p.join("report.txt"), b"one").unwrap();
        write_whole(&p.join("report.txt"), b"two").unwrap();
        assert_eq!(std::fs::read(p.join("report.txt")).unwrap(), b"two");
        assert_eq!(
            std::fs::read_dir(p).unwrap().count(),
            3,
            "no temporary file left"
        );
    }
}
