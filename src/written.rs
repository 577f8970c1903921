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
/// it, flushed, then renamed over it. A full disk leaves the report before it as it was,
/// not cut short.
pub fn write_whole(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".pare-{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    match written.and_then(|()| std::fs::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Why `path` may not be written by a command that reads `inputs` (files, or folders
/// whose files it reads): it is one of them — the very file, a hard link to it, or the
/// same path spelled otherwise — or a file that is inside one of the folders.
pub fn clashes_with_input(path: &Path, inputs: &[PathBuf]) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let id = std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
    let real = real_name(path);
    for input in inputs {
        let m = std::fs::metadata(input).ok();
        let same_file = id.is_some() && m.as_ref().map(|m| (m.dev(), m.ino())) == id;
        if same_file || (real.is_some() && real_name(input) == real) {
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
