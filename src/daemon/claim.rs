//! Claiming: a file is taken from the inbox by renaming it into the work folder, on the
//! same filesystem, under a name no other claim uses. The rename is the lock: whoever
//! renames first owns the file, and a duplicate event finds nothing left to claim.
//!
//! A work name is `<run>-<seq>_<inbox path>`, the inbox path escaped (`%` → `%25`,
//! `/` → `%2F`) so that a file left behind by a crash can be put back in context —
//! its site folder and output name — at the next start. Nothing here reads or writes
//! file contents.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// A file owned by this daemon: where it waits, and the inbox path it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub work: PathBuf,
    /// The path relative to the inbox (it names the site folder and the output).
    pub rel: PathBuf,
}

/// Moves `inbox/rel` into `work`. `Ok(None)` when there is nothing to claim (already
/// claimed, removed, or a folder).
pub fn claim(inbox: &Path, work: &Path, rel: &Path, tag: &str) -> io::Result<Option<Claimed>> {
    let src = inbox.join(rel);
    match std::fs::symlink_metadata(&src) {
        Ok(m) if m.is_dir() => return Ok(None),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut name = OsString::from(tag);
    name.push("_");
    name.push(escape(rel));
    let dest = work.join(name);
    match std::fs::rename(&src, &dest) {
        Ok(()) => Ok(Some(Claimed {
            work: dest,
            rel: rel.to_path_buf(),
        })),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Files a previous run claimed and did not finish, oldest claim first.
pub fn leftovers(work: &Path) -> io::Result<Vec<Claimed>> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(work)? {
        let e = e?;
        if let Some(rel) = parse(&e.file_name()) {
            found.push(Claimed {
                work: e.path(),
                rel,
            });
        }
    }
    found.sort_by(|a, b| a.work.cmp(&b.work));
    Ok(found)
}

fn escape(rel: &Path) -> OsString {
    let mut out = Vec::new();
    for &b in rel.as_os_str().as_bytes() {
        match b {
            b'%' => out.extend_from_slice(b"%25"),
            b'/' => out.extend_from_slice(b"%2F"),
            _ => out.push(b),
        }
    }
    OsString::from_vec(out)
}

/// The inbox path of a work name, or `None` for anything that is not a claim.
fn parse(name: &OsStr) -> Option<PathBuf> {
    let b = name.as_bytes();
    let us = b.iter().position(|&c| c == b'_')?;
    let tag = &b[..us];
    if tag.is_empty() || !tag.iter().all(|c| c.is_ascii_hexdigit() || *c == b'-') {
        return None;
    }
    let mut out = Vec::new();
    let mut i = us + 1;
    while i < b.len() {
        if b[i] == b'%' {
            match b.get(i + 1..i + 3)? {
                b"25" => out.push(b'%'),
                b"2F" => out.push(b'/'),
                _ => return None,
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    let rel = PathBuf::from(OsString::from_vec(out));
    let sane = rel
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    (sane && rel.file_name().is_some()).then_some(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for rel in ["a.html", "site.com/a b%2F.html", "x/y/z_1.txt"] {
            let mut n = OsString::from("1f-a");
            n.push("_");
            n.push(escape(Path::new(rel)));
            assert_eq!(parse(&n), Some(PathBuf::from(rel)), "{n:?}");
        }
    }

    #[test]
    fn other_names_are_not_claims() {
        for n in [
            "status.json",
            "_a.html",
            "zz_a.html",
            "1_",
            "1_a%2",
            "1_..%2Fetc",
            "1_%2Fetc",
        ] {
            assert_eq!(parse(OsStr::new(n)), None, "{n}");
        }
    }

    #[test]
    fn claim_moves_once() {
        let d = tempfile::tempdir().unwrap();
        let (inbox, work) = (d.path().join("in"), d.path().join("work"));
        std::fs::create_dir_all(inbox.join("s.com")).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        std::fs::write(inbox.join("s.com/a.html"), "x").unwrap();
        let c = claim(&inbox, &work, Path::new("s.com/a.html"), "1")
            .unwrap()
            .unwrap();
        assert_eq!(std::fs::read(&c.work).unwrap(), b"x");
        assert_eq!(
            claim(&inbox, &work, Path::new("s.com/a.html"), "2").unwrap(),
            None
        );
        assert_eq!(leftovers(&work).unwrap(), vec![c]);
    }
}
