//! Claiming: a file is taken from the inbox by renaming it into the work folder, on the
//! same filesystem, under a name no other claim uses. The rename is the lock: whoever
//! renames first owns the file, and a duplicate event finds nothing left to claim.
//!
//! A work name is `<run>-<seq>_<inbox path>`, the inbox path escaped (`%` → `%25`,
//! `/` → `%2F`) so that a file left behind by a crash can be put back in context —
//! its site folder and output name — at the next start. When that name would be longer
//! than a file name may be (255 bytes: a long name, or a deep site folder), the file is
//! claimed as `<run>-<seq>.d/<inbox path>` instead: the same folders below a folder of
//! its own, every part of which fits because it fitted in the inbox. Nothing here reads
//! or writes file contents.
//!
//! Once a file's cleaned copy is linked into the outbox, its claim is renamed to say so
//! (`<run>-<seq>+<n>_…`, `n` the number of the output's name: 1 for `x.html`, 2 for
//! `x (2).html`): a file a crash left after that point is not cleaned again at the next
//! start — with rules changed meanwhile, that would publish a second, different copy —
//! but only committed. Once its output is durable, a claim whose original cannot go
//! yet (`done` full or missing) is renamed `+<n>d`: at the next start it is committed
//! even if its output has left the outbox (a consumer took it), not cleaned again.
//!
//! A claim's output is written to `<outbox>/.pare-tmp/<run>-<seq>`, named by the
//! claim's tag, and hard-linked into place; the temporary name goes only once the claim
//! is marked. So a crash between the link and the `+n` mark leaves a claim whose own
//! output can be told from another input's that came out the same: it is the file at the
//! output's name that *is* that temporary file (same inode, both still there — an inode
//! number freed and given to another file cannot be mistaken for it). The next start
//! looks for it before it sweeps the temporary folder (`job::resolve`).

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
    /// The output was published under the `n`th name for it (see the module doc).
    pub published: Option<u32>,
    /// Claimed by an earlier run (a crash or a stop left it).
    pub resumed: bool,
    /// The claim's tag (`<run>-<seq>`): its output's temporary file is named by it.
    pub tag: String,
    /// Its output was made durable (the outbox folder synced) and only the original's
    /// going failed (`done` full, missing…): marked `+nd`. At the next start such a
    /// claim whose output is no longer in the outbox is committed, not cleaned again —
    /// a consumer took the output meanwhile.
    pub durable: bool,
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
    let dest = if name.len() + MARK_ROOM <= NAME_MAX {
        work.join(name)
    } else {
        let nested = work.join(format!("{tag}{NESTED}")).join(rel);
        std::fs::create_dir_all(nested.parent().expect("a claim has a folder"))?;
        nested
    };
    match std::fs::rename(&src, &dest) {
        Ok(()) => Ok(Some(Claimed {
            work: dest,
            rel: rel.to_path_buf(),
            published: None,
            resumed: false,
            tag: tag.to_string(),
            durable: false,
        })),
        // Gone from the inbox (claimed by a duplicate event, removed): nothing to do.
        // But the work folder itself missing is the folder's trouble, not the file's.
        Err(e) if e.kind() == io::ErrorKind::NotFound && !work.is_dir() => Err(e),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            release(work, &dest);
            Ok(None)
        }
        Err(e) => {
            release(work, &dest);
            Err(e)
        }
    }
}

/// The longest file name Linux filesystems take, in bytes.
pub const NAME_MAX: usize = 255;

/// Room a claim's name keeps for its published mark (`+10000d`, the highest number a
/// name is given): a name that fits only without it could not be marked, and a crash
/// after publishing would clean it again.
const MARK_ROOM: usize = 7;

/// The suffix of a claim's own folder (`<tag>.d/`), for names too long to escape.
const NESTED: &str = ".d";

/// After a claimed file has gone (deleted, moved to `done` or `failed`): removes the
/// folders a nested claim made, up to the work folder. Harmless for a flat claim.
pub fn release(work: &Path, claimed: &Path) {
    let mut dir = claimed.parent();
    while let Some(d) = dir {
        if d == work || !d.starts_with(work) || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// Files a previous run claimed and did not finish, oldest claim first.
pub fn leftovers(work: &Path) -> io::Result<Vec<Claimed>> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(work)? {
        let e = e?;
        let name = e.file_name();
        if let Some((mark, rel)) = parse(&name) {
            found.push(Claimed {
                work: e.path(),
                rel,
                published: mark.published,
                resumed: true,
                tag: mark.tag,
                durable: mark.durable,
            });
        } else if let Some(mark) = nested_tag(&name)
            && e.file_type().is_ok_and(|t| t.is_dir())
        {
            nested(&e.path(), &e.path(), &mark, &mut found);
        }
    }
    found.sort_by(|a, b| a.work.cmp(&b.work));
    Ok(found)
}

/// What a claim's tag says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mark {
    published: Option<u32>,
    durable: bool,
    tag: String,
}

/// Entries of the work folder that are neither claims nor pare's own files (the state
/// file, the rules snapshot, probes): left alone, but named at the start — a claim
/// whose name was damaged would otherwise wait there unseen.
pub fn strays(work: &Path) -> Vec<OsString> {
    let Ok(rd) = std::fs::read_dir(work) else {
        return Vec::new();
    };
    let mut found: Vec<OsString> = rd
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| {
            let b = n.as_bytes();
            let own = [b"status.json".as_slice(), b"rules.snapshot", b".probe-"]
                .iter()
                .any(|p| b.starts_with(p));
            !own && parse(n).is_none() && nested_tag(n).is_none()
        })
        .collect();
    found.sort();
    found
}

/// `<run>-<seq>[+n].d`, a claim's own folder: what its tag says.
fn nested_tag(name: &OsStr) -> Option<Mark> {
    tag(name.as_bytes().strip_suffix(NESTED.as_bytes())?)
}

/// A claim's tag, `<run>-<seq>` and optionally `+n` or `+nd`: the number it was
/// published under, and whether its output was made durable.
fn tag(t: &[u8]) -> Option<Mark> {
    let (t, n, durable) = match t.iter().position(|&c| c == b'+') {
        Some(i) => {
            let mark = &t[i + 1..];
            let (num, durable) = match mark.strip_suffix(b"d") {
                Some(m) => (m, true),
                None => (mark, false),
            };
            (
                &t[..i],
                Some(std::str::from_utf8(num).ok()?.parse().ok()?),
                durable,
            )
        }
        None => (t, None, false),
    };
    (!t.is_empty() && t.iter().all(|c| c.is_ascii_hexdigit() || *c == b'-')).then(|| Mark {
        published: n,
        durable,
        tag: String::from_utf8_lossy(t).into_owned(),
    })
}

/// The files below a claim's own folder; each one's inbox path is its path below it.
fn nested(root: &Path, dir: &Path, mark: &Mark, found: &mut Vec<Claimed>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let path = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => nested(root, &path, mark, found),
            Ok(_) => {
                let rel = path
                    .strip_prefix(root)
                    .expect("below its root")
                    .to_path_buf();
                found.push(Claimed {
                    work: path,
                    rel,
                    published: mark.published,
                    resumed: true,
                    tag: mark.tag.clone(),
                    durable: mark.durable,
                });
            }
            Err(_) => {}
        }
    }
    // Folders a finished claim left empty (a crash before its release) go; a folder
    // still holding a file stays.
    let _ = std::fs::remove_dir(dir);
}

/// Marks a claim as published under the `n`th name for its output: renames it (or its
/// own folder) with `+n` after the tag. On failure the claim is left as it was: at
/// worst the file is cleaned again after a crash.
pub fn mark_published(work: &Path, c: Claimed, n: u32) -> Claimed {
    match retag(work, &c.work, format!("+{n}").as_bytes()) {
        Some(to) => Claimed {
            work: to,
            published: Some(n),
            durable: false,
            ..c
        },
        None => c,
    }
}

/// Marks a published claim whose output is durable (`+n` becomes `+nd`), when only
/// its original's going failed: see [`Claimed::durable`]. On failure (a read-only work
/// folder) the claim is left as it was: at worst it is cleaned again at the next start.
pub fn mark_durable(work: &Path, c: Claimed) -> Claimed {
    if c.published.is_none() || c.durable {
        return c;
    }
    match retag(work, &c.work, b"d") {
        Some(to) => Claimed {
            work: to,
            durable: true,
            ..c
        },
        None => c,
    }
}

/// Renames the claim at `path` (or its own folder) with `mark` added at the end of its
/// tag (before the `_` or the `.d` that follows it); the claim's new path, or `None`
/// if the rename failed.
fn retag(work: &Path, path: &Path, mark: &[u8]) -> Option<PathBuf> {
    let below = path.strip_prefix(work).ok()?;
    let mut parts = below.components();
    let first = parts.next()?.as_os_str().as_bytes();
    let cut = first.iter().position(|&b| b == b'_' || b == b'.')?;
    let mut renamed = first[..cut].to_vec();
    renamed.extend_from_slice(mark);
    renamed.extend_from_slice(&first[cut..]);
    let to = work.join(OsStr::from_bytes(&renamed));
    std::fs::rename(work.join(OsStr::from_bytes(first)), &to).ok()?;
    Some(match parts.as_path() {
        rest if rest.as_os_str().is_empty() => to,
        rest => to.join(rest),
    })
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

/// Whether a work name says its file was published, and its inbox path; `None` for
/// anything that is not a claim.
fn parse(name: &OsStr) -> Option<(Mark, PathBuf)> {
    let b = name.as_bytes();
    let us = b.iter().position(|&c| c == b'_')?;
    let published = tag(&b[..us])?;
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
    // As the watcher takes them: plain parts, none empty or hidden (a crafted work name
    // must not publish into the outbox's `.pare-tmp`, nor as `x/` under a hidden name).
    let whole = out
        .split(|&b| b == b'/')
        .all(|p| !p.is_empty() && p[0] != b'.');
    let rel = PathBuf::from(OsString::from_vec(out));
    let sane = whole
        && rel.components().all(
            |c| matches!(c, std::path::Component::Normal(n) if !n.as_bytes().starts_with(b".")),
        );
    (sane && rel.file_name().is_some()).then_some((published, rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temporary inbox (with a site folder `s.com`) and work folder.
    fn folders() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let (inbox, work) = (d.path().join("in"), d.path().join("work"));
        std::fs::create_dir_all(inbox.join("s.com")).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        (d, inbox, work)
    }

    #[test]
    fn names_round_trip() {
        for rel in ["a.html", "site.com/a b%2F.html", "x/y/z_1.txt"] {
            let mut n = OsString::from("1f-a");
            n.push("_");
            n.push(escape(Path::new(rel)));
            assert_eq!(
                parse(&n),
                Some((
                    Mark {
                        published: None,
                        durable: false,
                        tag: "1f-a".to_string()
                    },
                    PathBuf::from(rel)
                )),
                "{n:?}"
            );
        }
    }

    #[test]
    fn other_names_are_not_claims() {
        for n in [
            "status.json",
            "rules.snapshot",
            "rules.snapshot.tmp4242",
            "_a.html",
            "zz_a.html",
            "1_",
            "1_a%2",
            "1_..%2Fetc",
            "1_%2Fetc",
            "1_.pare-tmp%2Fq.html",
        ] {
            assert_eq!(parse(OsStr::new(n)), None, "{n}");
        }
    }

    #[test]
    fn claim_moves_once() {
        let (_d, inbox, work) = folders();
        std::fs::write(inbox.join("s.com/a.html"), "x").unwrap();
        let c = claim(&inbox, &work, Path::new("s.com/a.html"), "1")
            .unwrap()
            .unwrap();
        assert_eq!(std::fs::read(&c.work).unwrap(), b"x");
        assert_eq!(
            claim(&inbox, &work, Path::new("s.com/a.html"), "2").unwrap(),
            None
        );
        assert_eq!(leftovers(&work).unwrap(), vec![resumed(c)]);
    }

    #[test]
    fn entries_that_are_not_claims_are_named() {
        let d = tempfile::tempdir().unwrap();
        for n in [
            "1f-1_a.html",
            "status.json",
            "rules.snapshot.tmp1",
            "1~3_b.html",
            "x",
        ] {
            std::fs::write(d.path().join(n), "").unwrap();
        }
        std::fs::create_dir(d.path().join("1f-2.d")).unwrap();
        assert_eq!(strays(d.path()), ["1~3_b.html", "x"]);
    }

    /// A claim's tag is read back with every mark, flat or in a folder of its own.
    #[test]
    fn a_claim_knows_its_tag_after_a_restart() {
        let (_d, inbox, work) = folders();
        std::fs::write(inbox.join("s.com/a.html"), "x").unwrap();
        let long = PathBuf::from(format!("{}.html", "n".repeat(247)));
        std::fs::write(inbox.join(&long), "y").unwrap();
        let a = claim(&inbox, &work, Path::new("s.com/a.html"), "1f-1")
            .unwrap()
            .unwrap();
        let b = claim(&inbox, &work, &long, "1f-2").unwrap().unwrap();
        assert_eq!((a.tag.as_str(), b.tag.as_str()), ("1f-1", "1f-2"));
        let a = mark_durable(&work, mark_published(&work, a, 2));
        let b = mark_published(&work, b, 7);
        let found = leftovers(&work).unwrap();
        assert_eq!(found, vec![resumed(a), resumed(b)]);
        assert_eq!(
            (found[0].tag.as_str(), found[1].tag.as_str()),
            ("1f-1", "1f-2")
        );
        for n in ["1~1_a", "1_x10%2F", "1_a%2F%2Fb", "1_%2Fa"] {
            assert_eq!(parse(OsStr::new(n)), None, "{n}");
        }
    }

    /// A published claim whose original could not go is marked durable (`+nd`), flat
    /// or in a folder of its own, and the next start reads both marks back.
    #[test]
    fn a_durable_mark_survives_a_restart() {
        let (_d, inbox, work) = folders();
        std::fs::write(inbox.join("s.com/a+3.html"), "x").unwrap();
        let long = PathBuf::from(format!("{}.html", "n".repeat(243)));
        std::fs::write(inbox.join(&long), "y").unwrap();
        let a = claim(&inbox, &work, Path::new("s.com/a+3.html"), "1f-1")
            .unwrap()
            .unwrap();
        let b = claim(&inbox, &work, &long, "1f-2").unwrap().unwrap();
        // Not published: nothing to mark.
        assert_eq!(mark_durable(&work, a.clone()), a);
        let a = mark_durable(&work, mark_published(&work, a, 3));
        let b = mark_durable(&work, mark_published(&work, b, 12));
        assert!(a.durable && b.durable);
        assert_eq!(a.work.file_name().unwrap(), "1f-1+3d_s.com%2Fa+3.html");
        assert_eq!(b.work, work.join("1f-2+12d.d").join(&long));
        assert_eq!(std::fs::read(&a.work).unwrap(), b"x");
        assert_eq!(leftovers(&work).unwrap(), vec![resumed(a), resumed(b)]);
    }

    /// A claim as the next start finds it.
    fn resumed(c: Claimed) -> Claimed {
        Claimed { resumed: true, ..c }
    }

    #[test]
    fn a_name_that_fits_only_without_its_mark_is_claimed_in_a_folder_of_its_own() {
        let (_d, inbox, work) = folders();
        // "1f-4_" and the name make 253 bytes: room for no "+n".
        let rel = PathBuf::from(format!("{}.html", "n".repeat(243)));
        std::fs::write(inbox.join(&rel), "x").unwrap();
        let c = claim(&inbox, &work, &rel, "1f-4").unwrap().unwrap();
        let c = mark_published(&work, c, 10_000);
        assert_eq!(c.published, Some(10_000));
        assert_eq!(c.work, work.join("1f-4+10000.d").join(&rel));
        assert_eq!(leftovers(&work).unwrap(), vec![resumed(c)]);
    }

    #[test]
    fn names_too_long_to_escape_are_claimed_in_a_folder_of_their_own() {
        let d = tempfile::tempdir().unwrap();
        let (inbox, work) = (d.path().join("in"), d.path().join("work"));
        let rel = PathBuf::from(format!("site.com/2024/05/{}.html", "s".repeat(240)));
        std::fs::create_dir_all(inbox.join(rel.parent().unwrap())).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        std::fs::write(inbox.join(&rel), "x").unwrap();
        let c = claim(&inbox, &work, &rel, "1f-2").unwrap().unwrap();
        assert_eq!(c.work, work.join("1f-2.d").join(&rel));
        assert_eq!(std::fs::read(&c.work).unwrap(), b"x");
        // Found again after a crash, with its inbox path.
        assert_eq!(leftovers(&work).unwrap(), vec![resumed(c.clone())]);
        // Published, then found again: it says so.
        let c = mark_published(&work, c, 2);
        assert_eq!(c.work, work.join("1f-2+2.d").join(&rel));
        assert_eq!(leftovers(&work).unwrap(), vec![resumed(c.clone())]);
        std::fs::remove_file(&c.work).unwrap();
        release(&work, &c.work);
        assert_eq!(std::fs::read_dir(&work).unwrap().count(), 0);
    }

    #[test]
    fn a_published_claim_says_so_after_a_crash() {
        let (_d, inbox, work) = folders();
        std::fs::write(inbox.join("s.com/a_b.html"), "x").unwrap();
        let c = claim(&inbox, &work, Path::new("s.com/a_b.html"), "1f-3")
            .unwrap()
            .unwrap();
        assert_eq!(leftovers(&work).unwrap()[0].published, None);
        let c = mark_published(&work, c, 1);
        assert_eq!(c.work, work.join("1f-3+1_s.com%2Fa_b.html"));
        assert_eq!(leftovers(&work).unwrap(), vec![resumed(c)]);
        for n in ["1+_a", "1+x_a", "+1_a", "1+-1_a"] {
            assert_eq!(parse(OsStr::new(n)), None, "{n}");
        }
    }

    #[test]
    fn a_missing_work_folder_is_an_error_not_a_file_gone() {
        let d = tempfile::tempdir().unwrap();
        let inbox = d.path().join("in");
        std::fs::create_dir_all(&inbox).unwrap();
        std::fs::write(inbox.join("a.html"), "x").unwrap();
        assert!(claim(&inbox, &d.path().join("nope"), Path::new("a.html"), "1").is_err());
        assert!(inbox.join("a.html").exists());
    }
}
