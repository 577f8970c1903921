//! `pare requeue`: failed files back into the inbox, each under its inbox path, without
//! its `.reason` file — so that a failure fixed by a new rule or a new pare is cleaned
//! again, and its explanation is never taken for an article.
//!
//! A file first leaves the failed folder — its reason, then the file itself, renamed into
//! `failed/.pare-requeue/`, where the daemon never looks, so it cannot fail the file again
//! onto the very copy being moved, nor take over a reason left alone — and then it goes
//! into the inbox the way the daemon moves files: linked in under a name that replaces
//! nothing (`x (2).html` if `x.html` is back already), through no link, under the name it
//! was delivered with when its reason says it was shortened; only then does the held
//! reason go. A requeue killed half way leaves the file in `.pare-requeue/`; the next
//! `pare requeue` finishes it (and removes a held reason whose file never left, and the
//! copies a killed requeue left in `inbox/.pare-tmp/`). Paths in the failed folder that
//! pass through a link are refused.

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::publish::{self, REASON, TMP_DIR};
use crate::config::{Config, real_path};

/// `pare requeue [FILE…]`: moves failed files back (every one when `files` is empty);
/// exit 1 if any could not be.
pub fn command(config: Option<&Path>, files: &[PathBuf]) -> ExitCode {
    let config = match Config::find(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let failed = &config.failed;
    let mut errors = 0;
    let rels: Vec<PathBuf> = if files.is_empty() {
        let mut all = Vec::new();
        walk(failed, Path::new(""), &mut all);
        all.sort();
        all
    } else {
        files
            .iter()
            .filter_map(|f| match in_failed(f, failed) {
                Some(rel) => Some(rel),
                None => {
                    eprintln!(
                        "error: {}: not a file in the failed folder {}",
                        f.display(),
                        failed.display()
                    );
                    errors += 1;
                    None
                }
            })
            .collect()
    };
    // A folder named (the failed folder itself, a site folder): every file in it.
    let rels: Vec<PathBuf> = rels
        .into_iter()
        .flat_map(|rel| {
            if failed.join(&rel).is_dir() {
                let mut all = Vec::new();
                walk(failed, &rel, &mut all);
                all.sort();
                all
            } else {
                vec![rel]
            }
        })
        .collect();
    // Copies across filesystems that killed requeues left in the inbox.
    publish::sweep_dead_runs(&config.inbox.join(TMP_DIR));
    // Files an earlier, interrupted requeue had taken out: finished first.
    let mut moved = 0;
    let hold = failed.join(HOLD);
    let mut held = Vec::new();
    walk(&hold, Path::new(""), &mut held);
    for rel in held {
        match finish(&config, &hold.join(&rel), &strip_tag(&rel)) {
            Ok(to) => {
                println!(
                    "{} -> {} (an earlier requeue, finished)",
                    rel.display(),
                    to.display()
                );
                moved += 1;
            }
            Err(e) => {
                eprintln!("error: {}: {e}", hold.join(&rel).display());
                errors += 1;
            }
        }
    }
    lone_reasons(&config, &hold);
    for rel in &rels {
        match requeue(&config, rel) {
            Ok(to) => {
                println!("{} -> {}", rel.display(), to.display());
                moved += 1;
            }
            Err(e) => {
                eprintln!("error: {}: {e}", rel.display());
                errors += 1;
            }
        }
    }
    // The temporary folder a copy across filesystems may have made.
    let _ = std::fs::remove_dir(config.inbox.join(TMP_DIR));
    println!(
        "requeued {moved} file{} into {}",
        if moved == 1 { "" } else { "s" },
        config.inbox.display()
    );
    if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The failed folder's path of a file named on the command line: a path to a file in the
/// failed folder, or a path relative to it.
fn in_failed(f: &Path, failed: &Path) -> Option<PathBuf> {
    let root = real_path(failed);
    if std::fs::symlink_metadata(f).is_ok() {
        let parent = f
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let real = real_path(&std::path::absolute(parent).ok()?).join(f.file_name()?);
        if let Ok(rel) = real.strip_prefix(&root) {
            return Some(rel.to_path_buf());
        }
    }
    let rel = f.to_path_buf();
    let plain = rel
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    (plain && std::fs::symlink_metadata(failed.join(&rel)).is_ok()).then_some(rel)
}

/// Every failed file below `dir` (reasons and temporary files left out).
fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(root.join(dir)) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let rel = dir.join(&name);
        // Hidden names (the hold, temporary folders) the daemon never fails a file under,
        // and the watcher would never take back from the inbox.
        if name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        match e.file_type() {
            Ok(t) if t.is_dir() => walk(root, &rel, out),
            Ok(_) if !name.as_encoded_bytes().ends_with(REASON.as_bytes()) => out.push(rel),
            _ => {}
        }
    }
}

/// Where files wait between leaving the failed folder and entering the inbox.
const HOLD: &str = ".pare-requeue";

/// Moves `failed/rel` to `inbox/rel` (or a free numbered name) and removes its reason.
///
/// The reason leaves the failed folder first, then the file, both into the hold: a
/// reason left alone beside no file for a moment is what the daemon takes over when it
/// fails another file of that name with the same reason (a quarantine redone after a
/// crash), and removing it by name afterwards took that new failure's reason (eighth
/// hostile run). The held reason goes once the file is in the inbox, under the name it
/// was delivered with when its reason gives one (a name shortened to fit the failed
/// folder).
fn requeue(config: &Config, rel: &Path) -> io::Result<PathBuf> {
    if rel
        .as_os_str()
        .as_encoded_bytes()
        .ends_with(REASON.as_bytes())
    {
        return Err(io::Error::other(
            "a .reason file explains a failure; name the failed file itself",
        ));
    }
    if !plain(rel) {
        return Err(io::Error::other(
            "a hidden name is never taken from the inbox; rename the file first",
        ));
    }
    through_link(&config.failed, rel)?;
    let from = config.failed.join(rel);
    std::fs::symlink_metadata(&from)?;
    // Out of the daemon's sight first, under a tag of this requeue's own.
    let tag = publish::unique_tag("requeue");
    let held = config.failed.join(HOLD).join(&tag).join(rel);
    std::fs::create_dir_all(held.parent().expect("held in a folder"))?;
    let (reason, held_reason) = (with_reason(&from), with_reason(&held));
    let had_reason = match std::fs::rename(&reason, &held_reason) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(e),
    };
    if let Err(e) = std::fs::rename(&from, &held) {
        // Gone meanwhile (another requeue took it): its reason goes back if the name
        // is free, else with the hold.
        if had_reason && std::fs::hard_link(&held_reason, &reason).is_ok() {
            let _ = std::fs::remove_file(&held_reason);
        }
        tidy(config, &held);
        return Err(e);
    }
    finish(config, &held, rel)
}

/// The `.reason` file beside `p`.
fn with_reason(p: &Path) -> PathBuf {
    let mut r = p.as_os_str().to_owned();
    r.push(REASON);
    PathBuf::from(r)
}

/// The inbox path a failed file was delivered under, when its reason gives it (a name
/// shortened to fit the failed folder: "… (original name: site/2024/…/long.html)").
///
/// Taken only as the daemon writes it: a relative path of plain names, none hidden (the
/// watcher never takes a hidden name, and one such as `.pare-work/…` would put the file
/// where the daemon keeps its claims), that the daemon would have shortened to `rel` —
/// the failed file's own path — in its folder or flattened at the top. A reason that
/// says otherwise (written by hand, or a name that itself holds the words) is not
/// followed, and the file goes back under the name it failed under.
fn original_name(reason: &Path, rel: &Path) -> Option<PathBuf> {
    const MARK: &str = "(original name: ";
    let text = std::fs::read(reason).ok()?;
    let text = String::from_utf8_lossy(&text);
    let text = text.trim_end();
    // Every place the words start, earliest first: a reason's own text comes before
    // the name, and a name may hold the words.
    text.match_indices(MARK).find_map(|(at, _)| {
        let name = text[at + MARK.len()..].strip_suffix(')')?;
        let p = PathBuf::from(name);
        (plain(&p) && shortens_to(&p, rel)).then_some(p)
    })
}

/// Whether a path is relative and made of plain names, none empty or hidden.
fn plain(p: &Path) -> bool {
    !p.as_os_str().is_empty()
        && p.components().all(|c| {
            matches!(c, std::path::Component::Normal(n) if !n.as_encoded_bytes().starts_with(b"."))
        })
}

/// Whether the daemon, failing a file delivered as `original`, could have named it
/// `rel` in the failed folder: its own name shortened (and numbered), or its path
/// flattened into one name at the top.
fn shortens_to(original: &Path, rel: &Path) -> bool {
    let Some(want) = rel.file_name() else {
        return false;
    };
    let parent = rel.parent().unwrap_or(Path::new(""));
    let flat = PathBuf::from(super::job::flat_name(original));
    let forms = [
        (original.parent() == Some(parent)).then_some(original),
        parent.as_os_str().is_empty().then_some(flat.as_path()),
    ];
    forms.into_iter().flatten().any(|form| {
        (1..=publish::MAX_NUMBER)
            .any(|n| publish::fitted(form, n, REASON.len()).file_name() == Some(want))
    })
}

/// Moves a held file into the inbox at `rel` — or at the name its held reason gives —
/// then removes the held reason and tidies the hold.
fn finish(config: &Config, held: &Path, rel: &Path) -> io::Result<PathBuf> {
    // A name of this move's own for a copy across filesystems: one per file, so that a
    // copy an earlier, killed run left (the same pid in a container) blocks nothing.
    let tag = publish::unique_tag("requeue");
    let held_reason = with_reason(held);
    let original = original_name(&held_reason, rel);
    let to = match &original {
        Some(o) if o != rel => {
            match publish::move_to(held, &config.inbox.join(o), &config.inbox, &tag) {
                Ok(to) => Ok(to),
                // The original name cannot be made (too long there too): the name it
                // failed under, as before.
                Err(e) if std::fs::symlink_metadata(held).is_ok() => {
                    eprintln!(
                        "note: {}: cannot go back as {} ({e}); requeued under the name it failed under",
                        rel.display(),
                        o.display()
                    );
                    publish::move_to(held, &config.inbox.join(rel), &config.inbox, &tag)
                }
                Err(e) => Err(e),
            }
        }
        _ => publish::move_to(held, &config.inbox.join(rel), &config.inbox, &tag),
    }?;
    let _ = std::fs::remove_file(&held_reason);
    tidy(config, held);
    Ok(to)
}

/// Removes the empty folders of the hold above `held`.
fn tidy(config: &Config, held: &Path) {
    let hold = config.failed.join(HOLD);
    let mut dir = held.parent();
    while let Some(d) = dir {
        if !d.starts_with(&hold) || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// Reasons in the hold whose file is not beside them: a requeue killed between moving
/// the two, whose file stayed in the failed folder. Each goes back beside its file there
/// (never over a reason the file has meanwhile), so the file is requeued as any other
/// and keeps the name its reason gives; one whose file is gone altogether is removed.
/// The hold of a requeue that is still running (its pid alive) is left alone: it is
/// moving that file right now.
fn lone_reasons(config: &Config, hold: &Path) {
    let Ok(rd) = std::fs::read_dir(hold) else {
        return;
    };
    for e in rd.flatten() {
        let tag = e.file_name();
        let running = tag
            .to_str()
            .and_then(|t| publish::tag_pid(t, &["requeue"]))
            .is_some_and(|pid| {
                pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists()
            });
        if !running {
            put_back(config, &e.path(), Path::new(""));
        }
    }
}

/// [`lone_reasons`] for one requeue's hold folder `top`, below `dir`.
fn put_back(config: &Config, top: &Path, dir: &Path) {
    let Ok(rd) = std::fs::read_dir(top.join(dir)) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let rel = dir.join(&name);
        let path = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => put_back(config, top, &rel),
            Ok(_) => {
                let bytes = name.as_encoded_bytes();
                let Some(file) = bytes.strip_suffix(REASON.as_bytes()) else {
                    continue;
                };
                let file =
                    dir.join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(file));
                if std::fs::symlink_metadata(top.join(&file)).is_ok() {
                    continue;
                }
                let failed = config.failed.join(&file);
                if through_link(&config.failed, &file).is_err() {
                    continue;
                }
                if std::fs::symlink_metadata(&failed).is_ok() {
                    let back = with_reason(&failed);
                    match std::fs::hard_link(&path, &back) {
                        Ok(()) => {}
                        // The file has a reason again: this one is the older.
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                        Err(_) => continue,
                    }
                }
                let _ = std::fs::remove_file(&path);
                tidy(config, &path);
            }
            _ => {}
        }
    }
}

/// A held file's inbox path: its path below the hold, less the requeue's tag.
fn strip_tag(rel: &Path) -> PathBuf {
    rel.components().skip(1).collect()
}

/// Refuses a path whose folders below `root` pass through a symbolic link: a failed
/// file is moved as it is, never fetched from elsewhere.
fn through_link(root: &Path, rel: &Path) -> io::Result<()> {
    let mut at = root.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        at.push(part);
        if std::fs::symlink_metadata(&at)?.file_type().is_symlink() {
            return Err(io::Error::other(format!(
                "{} is a symbolic link; pare requeue moves only what is in the failed folder",
                at.display()
            )));
        }
    }
    Ok(())
}
