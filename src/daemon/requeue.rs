//! `pare requeue`: failed files back into the inbox, each under its inbox path, without
//! its `.reason` file — so that a failure fixed by a new rule or a new pare is cleaned
//! again, and its explanation is never taken for an article.
//!
//! A file first leaves the failed folder — renamed into `failed/.pare-requeue/`, where
//! the daemon never looks, so it cannot fail the file again onto the very copy being
//! moved — then its reason is removed, and then it goes into the inbox the way the
//! daemon moves files: linked in under a name that replaces nothing (`x (2).html` if
//! `x.html` is back already), through no link. A requeue killed half way leaves the file
//! in `.pare-requeue/`; the next `pare requeue` finishes it. Paths in the failed folder
//! that pass through a link are refused.

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
    // Out of the daemon's sight first, under a tag of this requeue's own.
    let tag = publish::unique_tag("requeue");
    let held = config.failed.join(HOLD).join(&tag).join(rel);
    std::fs::create_dir_all(held.parent().expect("held in a folder"))?;
    std::fs::rename(&from, &held)?;
    let mut reason = from.into_os_string();
    reason.push(REASON);
    match std::fs::remove_file(&reason) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    finish(config, &held, rel)
}

/// Moves a held file into the inbox at `rel`, then tidies the hold.
fn finish(config: &Config, held: &Path, rel: &Path) -> io::Result<PathBuf> {
    let tag = format!("requeue-{}", std::process::id());
    let to = publish::move_to(held, &config.inbox.join(rel), &config.inbox, &tag)?;
    let hold = config.failed.join(HOLD);
    let mut dir = held.parent();
    while let Some(d) = dir {
        if !d.starts_with(&hold) || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    Ok(to)
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
