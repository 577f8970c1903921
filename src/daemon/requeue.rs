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
        match e.file_type() {
            Ok(t)
                if t.is_dir()
                    && !(dir.as_os_str().is_empty() && (name == TMP_DIR || name == HOLD)) =>
            {
                walk(root, &rel, out);
            }
            Ok(t) if t.is_dir() => {}
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
/// shortened to fit the failed folder: "… (original name: site/2024/…/long.html)"):
/// a relative path of plain names only.
fn original_name(reason: &Path) -> Option<PathBuf> {
    let text = std::fs::read(reason).ok()?;
    let text = String::from_utf8_lossy(&text);
    let start = text.rfind("(original name: ")? + "(original name: ".len();
    let name = text[start..].trim_end().strip_suffix(')')?;
    let p = PathBuf::from(name);
    let plain = !name.is_empty()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
    plain.then_some(p)
}

/// Moves a held file into the inbox at `rel` — or at the name its held reason gives —
/// then removes the held reason and tidies the hold.
fn finish(config: &Config, held: &Path, rel: &Path) -> io::Result<PathBuf> {
    // A name of this move's own for a copy across filesystems: one per file, so that a
    // copy an earlier, killed run left (the same pid in a container) blocks nothing.
    let tag = publish::unique_tag("requeue");
    let held_reason = with_reason(held);
    let original = original_name(&held_reason);
    let to = match &original {
        Some(o) if o != rel => {
            match publish::move_to(held, &config.inbox.join(o), &config.inbox, &tag) {
                Ok(to) => Ok(to),
                // The original name cannot be made (too long there too): the name it
                // failed under, as before.
                Err(_) if std::fs::symlink_metadata(held).is_ok() => {
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

/// Reasons in the hold whose file is not beside them (a requeue killed between moving
/// the two): removed, with the folders they leave empty. The file itself stayed in the
/// failed folder and is requeued as any other.
fn lone_reasons(config: &Config, dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let path = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => lone_reasons(config, &path),
            Ok(_) => {
                let name = e.file_name();
                let bytes = std::os::unix::ffi::OsStrExt::as_bytes(name.as_os_str());
                if let Some(file) = bytes.strip_suffix(REASON.as_bytes()) {
                    let file = dir
                        .join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(file));
                    if std::fs::symlink_metadata(&file).is_err() {
                        let _ = std::fs::remove_file(&path);
                        tidy(config, &path);
                    }
                }
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
