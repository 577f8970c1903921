//! `pare requeue`: failed files back into the inbox, each under its inbox path, without
//! its `.reason` file — so that a failure fixed by a new rule or a new pare is cleaned
//! again, and its explanation is never taken for an article.
//!
//! A file goes back the way the daemon moves files: linked in under a name that replaces
//! nothing (`x (2).html` if `x.html` is back in the inbox already), and only then removed
//! from the failed folder with its reason.

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
    let mut moved = 0;
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
            Ok(t) if t.is_dir() && !(dir.as_os_str().is_empty() && name == TMP_DIR) => {
                walk(root, &rel, out);
            }
            Ok(t) if t.is_dir() => {}
            Ok(_) if !name.as_encoded_bytes().ends_with(REASON.as_bytes()) => out.push(rel),
            _ => {}
        }
    }
}

/// Moves `failed/rel` to `inbox/rel` (or a free numbered name), then removes its reason.
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
    let from = config.failed.join(rel);
    let tag = format!("requeue-{}", std::process::id());
    let to = publish::move_to(&from, &config.inbox.join(rel), &config.inbox, &tag)?;
    let mut reason = from.into_os_string();
    reason.push(REASON);
    match std::fs::remove_file(&reason) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(to),
    }
}
