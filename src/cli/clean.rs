//! `pare clean`: one page to stdout, or many into a folder (`-o`), published the way the
//! daemon publishes: each through a temporary file of its own, linked in under a name
//! that replaces nothing unless `--overwrite` says so, and never an input.

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::{CleanArgs, load_rules};
use crate::clean::{self, Format, Input, Kind, Options, Profile, Report};
use crate::daemon::folder::Folder;
use crate::daemon::publish::{Conflict, Placed, TempFile};
use crate::rules::Categories;
use crate::rules::RuleBook;
use crate::written::real_name;

fn options(args: &CleanArgs) -> Result<Options, String> {
    let mut o = Options {
        url: super::checked_url(args.url.as_deref())?,
        // Without `--report` only the counts are kept: nothing to describe.
        describe: args.report.is_some(),
        ..Options::default()
    };
    if let Some(k) = &args.kind {
        o.kind = Some(if k == "html" { Kind::Html } else { Kind::Text });
    }
    o.profile = match args.profile.as_str() {
        "reader" => Profile::Reader,
        _ => Profile::Page,
    };
    o.format = match args.format.as_str() {
        "markdown" => Format::Markdown,
        "text" => Format::Text,
        _ => Format::Html,
    };
    if o.profile == Profile::Reader {
        o.categories = Categories::all();
    }
    if let Some(c) = &args.categories {
        o.categories = Categories::adjust(o.categories, c)?;
    }
    Ok(o)
}

/// Runs `pare clean`.
pub fn command(args: CleanArgs) -> ExitCode {
    let opts = match options(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if args.out_dir.is_none() && args.report.as_deref() == Some(Path::new("-")) {
        eprintln!("error: --report - needs -o DIR: without it, stdout carries the cleaned page");
        return ExitCode::from(2);
    }
    if let Err(e) = check_destinations(&args) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let Some(book) = load_rules(&args.rules, "; nothing was cleaned") else {
        return ExitCode::FAILURE;
    };
    // The process ends with the command: the book (tens of thousands of rules with
    // everything imported) is left to the OS rather than freed piece by piece.
    let book: &RuleBook = Box::leak(Box::new(book));
    if let Some(dir) = &args.out_dir {
        return clean_many(book, &opts, &args, dir);
    }
    if args.files.len() > 1 {
        eprintln!("error: several files need -o DIR (stdout takes one page)");
        return ExitCode::from(2);
    }
    let stdin_buf;
    let path = args.files.first().filter(|p| p.as_os_str() != "-");
    let input = match path {
        Some(p) => Input::Path(p),
        None => {
            let mut v = Vec::new();
            if let Err(e) = io::stdin().lock().read_to_end(&mut v) {
                eprintln!("error: cannot read stdin: {e}");
                return ExitCode::FAILURE;
            }
            stdin_buf = v;
            Input::Bytes(&stdin_buf)
        }
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let name = path.map_or("-".into(), |p| p.display().to_string());
    match clean::clean(input, book, &opts, &mut out) {
        Ok(report) => {
            if let Some(r) = &args.report {
                return write_report(r, &[(name, Ok(report))]);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Refuses, before anything is read or written, what would lose or hide a page: `-`
/// or no file at all with `-o` (stdin has no name to write under, and nothing would be
/// cleaned while the run said it succeeded), stdout or `--report` that is one of
/// the inputs (`pare clean a.html >> a.html` reads what it appends without end; a report
/// written over an input loses it), and a report named like one of the outputs.
fn check_destinations(args: &CleanArgs) -> Result<(), String> {
    let named: Vec<&PathBuf> = args.files.iter().filter(|f| f.as_os_str() != "-").collect();
    if args.out_dir.is_some() {
        if named.len() < args.files.len() {
            return Err(
                "`-` (stdin) cannot be cleaned with -o: it has no name to write under; \
                 pipe it without -o, or save it to a file first"
                    .into(),
            );
        }
        if named.is_empty() {
            return Err("-o DIR needs the files to clean (stdin goes without -o)".into());
        }
    }
    // The inputs by path, and stdin when a page is read from it and it is a file
    // (`pare clean < p.html >> p.html`, `pare clean --report p.html < p.html`).
    let mut inputs: Vec<PathBuf> = named.iter().map(|f| f.to_path_buf()).collect();
    let stdin = Path::new("/proc/self/fd/0");
    if named.is_empty() && std::fs::metadata(stdin).is_ok_and(|m| m.is_file()) {
        inputs.push(stdin.to_path_buf());
    }
    let shown = |f: &Path| {
        if f == stdin {
            "read from stdin".to_string()
        } else {
            f.display().to_string()
        }
    };
    let stdout = Path::new("/proc/self/fd/1");
    let stdout_used = args.out_dir.is_none() || args.report.as_deref() == Some(Path::new("-"));
    // What fd 1 is, through its link in /proc. (A closed stdout cannot be told here:
    // Rust's runtime opens /dev/null in its place before `main`.)
    let stdout_file = stdout_used && std::fs::metadata(stdout).is_ok_and(|m| m.is_file());
    if stdout_file && let Some(f) = inputs.iter().find(|f| crate::written::same_file(stdout, f)) {
        return Err(format!(
            "stdout is the input {}; pare never writes over an input",
            shown(f)
        ));
    }
    let report = args.report.as_deref().filter(|r| r.as_os_str() != "-");
    let dests = match &args.out_dir {
        Some(dir) if stdout_file || report.is_some() => {
            output_paths(&args.files, dir, options(args)?.format)
                .map_or_else(|_| Vec::new(), |o| o.dests)
        }
        _ => Vec::new(),
    };
    if stdout_file && let Some(d) = dests.iter().find(|d| crate::written::same_file(stdout, d)) {
        return Err(format!(
            "stdout (for --report -) is the output {}: one would replace the other",
            d.display()
        ));
    }
    if let Some(r) = report {
        if let Some(f) = inputs.iter().find(|f| crate::written::same_file(r, f)) {
            return Err(format!(
                "--report {} is the input {}; pare never writes over an input",
                r.display(),
                shown(f)
            ));
        }
        if stdout_file && crate::written::same_file(r, stdout) {
            return Err(format!(
                "--report {} is where stdout goes: the report would replace the cleaned page",
                r.display()
            ));
        }
        if let Some(d) = dests.iter().find(|d| crate::written::same_file(r, d)) {
            return Err(format!(
                "--report {} is the output {}: one would replace the other",
                r.display(),
                d.display()
            ));
        }
        if let Some(dir) = &args.out_dir
            && let (Some(rr), Ok(d)) = (real_name(r), std::path::absolute(dir))
            && let d = crate::config::real_path(&d)
            && (rr == d || rr.starts_with(d.join(crate::daemon::publish::TMP_DIR)))
        {
            return Err(format!(
                "--report {} is -o's folder or its temporary folder",
                r.display()
            ));
        }
    }
    Ok(())
}

type Outcome = (String, Result<Report, String>);

/// One file of a batch: its name, and what came of it.
type Cleaned = (String, Result<Done, String>);

/// What batch mode keeps of a page it cleaned: the summary's counts, and the report
/// itself only when `--report` asks for it.
#[derive(Clone)]
struct Done {
    bytes_in: u64,
    bytes_out: u64,
    removed: usize,
    report: Option<Report>,
}

impl Done {
    fn of(rep: Report, keep: bool) -> Done {
        Done {
            bytes_in: rep.bytes_in,
            bytes_out: rep.bytes_out,
            removed: rep.removal_count(),
            report: keep.then_some(rep),
        }
    }
}

/// The report's format: `{"version": 1, "pages": [{"file": …, …}]}`.
const REPORT_VERSION: u32 = 1;

fn write_report(path: &Path, outcomes: &[Outcome]) -> ExitCode {
    let entries: Vec<serde_json::Value> = outcomes
        .iter()
        .map(|(file, r)| match r {
            Ok(rep) => {
                let mut v = serde_json::to_value(rep).expect("reports serialize");
                v["file"] = serde_json::Value::String(file.clone());
                v
            }
            Err(e) => serde_json::json!({"file": file, "error": e}),
        })
        .collect();
    // One shape whatever the number of pages; `version` changes when it does.
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "version": REPORT_VERSION,
        "pages": entries,
    }))
    .expect("json");
    if path.as_os_str() == "-" {
        let mut out = io::stdout().lock();
        return match out.write_all((json + "\n").as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: cannot write the report to stdout: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match crate::written::write_whole(path, (json + "\n").as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write report {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}

/// `pare clean -o DIR FILE…`: many files, in parallel, with progress and a summary.
/// Each output is published as the daemon publishes: written under `DIR/.pare-tmp/`
/// with a name of its own, fsynced, then linked in under its final name, which replaces
/// nothing unless `--overwrite` says so — and never an input.
fn clean_many(book: &RuleBook, opts: &Options, args: &CleanArgs, dir: &Path) -> ExitCode {
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    // The folder is opened once and used through its descriptor for the whole run: a
    // link put in its place meanwhile (`mv out out.old; ln -s elsewhere out`) is not
    // followed, the outputs go on into the folder the run started with.
    let opened = match Folder::root(dir) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot open {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    let base = opened.reach();
    crate::daemon::publish::sweep_dead_runs(&base.join(crate::daemon::publish::TMP_DIR));
    let files = &args.files;
    let Outputs { real, dests } = match output_paths(files, dir, opts.format) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let rels: Vec<&Path> = dests
        .iter()
        .map(|d| d.strip_prefix(dir).expect("outputs are below the folder"))
        .collect();
    let reached: Vec<PathBuf> = rels.iter().map(|r| base.join(r)).collect();
    // Each output's real path, folded, found once: the -o folder's real path and the
    // output's place below it (pare makes the folders below and never follows a link
    // there).
    let real_dir = std::path::absolute(dir)
        .map_or_else(|_| dir.to_path_buf(), |a| crate::config::real_path(&a));
    let keys: Vec<String> = rels.iter().map(|r| folded(&real_dir.join(r))).collect();
    let inputs = Inputs::of(files, &real);
    let conflict = if args.overwrite {
        Conflict::Replace
    } else {
        Conflict::Keep
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<Option<Cleaned>>> = Mutex::new(vec![None; files.len()]);
    let tty = io::stderr().is_terminal();
    let t0 = Instant::now();
    let run = crate::daemon::publish::unique_tag("clean");
    std::thread::scope(|s| {
        for _ in 0..jobs.min(files.len().max(1)) {
            s.spawn(|| {
                // One buffer per worker, reused for every file it reads whole.
                let mut buf = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let to = Target {
                        dest: &reached[i],
                        shown: &dests[i],
                        key: &keys[i],
                        root: &base,
                        shown_root: dir,
                        tag: format!("{run}-{i}"),
                        conflict,
                        sync: args.sync,
                        inputs: &inputs,
                    };
                    // Only the summary's counts are kept unless a report is asked for,
                    // so memory does not grow with the number of files.
                    let r = clean_one_to_dir(book, opts, file, &to, &mut buf)
                        .map(|rep| Done::of(rep, args.report.is_some()));
                    outcomes.lock().unwrap()[i] = Some((file.display().to_string(), r));
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if tty && (n % 16 == 0 || n == files.len()) {
                        progress(n, files.len());
                    }
                }
            });
        }
    });
    if tty {
        eprintln!();
    }
    // New names are durable once their folders are: one fsync per folder.
    let folders: std::collections::BTreeSet<&Path> = reached
        .iter()
        .filter(|_| args.sync)
        .filter_map(|d| d.parent())
        .collect();
    let mut unsynced = None;
    for f in folders {
        if let Err(e) = crate::daemon::publish::sync_dir(f) {
            let shown = f
                .strip_prefix(&base)
                .map_or(f.to_path_buf(), |r| dir.join(r));
            unsynced = Some(format!(
                "cannot flush the folder {} to disk: {e}",
                shown.display()
            ));
        }
    }
    let _ = std::fs::remove_dir(base.join(crate::daemon::publish::TMP_DIR));
    drop(opened);
    let outcomes: Vec<Cleaned> = outcomes
        .into_inner()
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    let mut failed = 0;
    let (mut bytes_in, mut bytes_out, mut removed) = (0u64, 0u64, 0usize);
    for (f, r) in &outcomes {
        match r {
            Ok(rep) => {
                bytes_in += rep.bytes_in;
                bytes_out += rep.bytes_out;
                removed += rep.removed;
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {f}: {e}");
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "{} cleaned, {failed} failed, {removed} blocks removed, {:.1} MB in, {:.1} MB out, {:.2}s ({:.1} MB/s)",
        outcomes.len() - failed,
        bytes_in as f64 / 1e6,
        bytes_out as f64 / 1e6,
        secs,
        bytes_in as f64 / 1e6 / secs.max(1e-9)
    );
    let mut code = if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    };
    if let Some(e) = unsynced {
        eprintln!("error: {e}");
        code = ExitCode::FAILURE;
    }
    if let Some(r) = &args.report
        && write_report(
            r,
            &outcomes
                .into_iter()
                .map(|(f, r)| (f, r.map(|d| d.report.expect("kept for the report"))))
                .collect::<Vec<_>>(),
        ) != ExitCode::SUCCESS
    {
        code = ExitCode::FAILURE;
    }
    code
}

fn progress(n: usize, total: usize) {
    let width = 30;
    let filled = n * width / total.max(1);
    eprint!(
        "\r[{}{}] {n}/{total}",
        "#".repeat(filled),
        " ".repeat(width - filled)
    );
    let _ = io::stderr().flush();
}

/// A file's identity (device, inode), following links.
fn file_id(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

/// Where each input's output goes: `dir` and the input's path below the folder all
/// inputs share (its real path, links and `..` resolved), so same-named files from
/// different folders (a `wget -r` mirror's `index.html`s) keep apart. Inputs that would
/// still meet — one file named twice — are refused, every clash listed.
fn output_paths(files: &[PathBuf], dir: &Path, format: Format) -> Result<Outputs, String> {
    let real: Vec<PathBuf> = files
        .iter()
        .map(|f| real_name(f).ok_or_else(|| format!("{}: not a file name", f.display())))
        .collect::<Result<_, String>>()?;
    let mut common: Option<PathBuf> = None;
    for r in &real {
        let parent = r.parent().unwrap_or(Path::new("/"));
        common = Some(match common {
            None => parent.to_path_buf(),
            Some(c) => c
                .components()
                .zip(parent.components())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect(),
        });
    }
    let common = common.unwrap_or_default();
    let dests: Vec<PathBuf> = real
        .iter()
        .map(|r| {
            let rel = r.strip_prefix(&common).expect("below the common folder");
            dir.join(format.output_name(rel))
        })
        .collect();
    let mut seen: std::collections::HashMap<&Path, usize> = std::collections::HashMap::new();
    let mut clashes = Vec::new();
    for (i, d) in dests.iter().enumerate() {
        if let Some(&j) = seen.get(d.as_path()) {
            clashes.push(format!(
                "{} and {} would both be written to {}",
                files[j].display(),
                files[i].display(),
                d.display()
            ));
        } else {
            seen.insert(d, i);
        }
    }
    if clashes.is_empty() {
        Ok(Outputs { real, dests })
    } else {
        Err(format!(
            "inputs whose outputs would have one name:\n  {}",
            clashes.join("\n  ")
        ))
    }
}

/// Where a run's outputs go ([`output_paths`]), and the inputs' real paths it found them by.
struct Outputs {
    real: Vec<PathBuf>,
    dests: Vec<PathBuf>,
}

/// The inputs of a run, as an output about to be written is checked against them.
struct Inputs {
    /// Each input's identity (device, inode).
    ids: std::collections::HashSet<(u64, u64)>,
    /// Each input by its real path in lower case.
    folded: std::collections::HashMap<String, PathBuf>,
}

/// A real path in lower case: how an input and an output are paired on a filesystem
/// that may ignore case.
fn folded(real: &Path) -> String {
    real.to_string_lossy().to_lowercase()
}

impl Inputs {
    /// `files` and their real paths (`real[i]` is `files[i]`'s).
    fn of(files: &[PathBuf], real: &[PathBuf]) -> Inputs {
        Inputs {
            ids: files.iter().filter_map(|f| file_id(f)).collect(),
            folded: real
                .iter()
                .map(|r| folded(r))
                .zip(files.iter().cloned())
                .collect(),
        }
    }

    /// Whether the file at `at` (an output's path, `shown` as the user would name it,
    /// `key` its [`folded`] real path) is one of the inputs: the same inode, or the input
    /// under another spelling on a case-insensitive filesystem that gives each spelling
    /// an inode number of its own (FAT through FUSE; see [`crate::written::same_file`]).
    fn holds(&self, at: &Path, shown: &Path, key: &str) -> bool {
        file_id(at).is_some_and(|id| self.ids.contains(&id))
            || self
                .folded
                .get(key)
                .is_some_and(|input| crate::written::same_file(shown, input))
    }
}

/// Where one input's cleaned page goes, and under what terms.
struct Target<'a> {
    /// The output's path through the open -o folder (see [`Folder::reach`]).
    dest: &'a Path,
    /// The same as the user named it, for messages.
    shown: &'a Path,
    /// Its real path, [`folded`].
    key: &'a str,
    /// The -o folder, reached through its descriptor (its `.pare-tmp/` holds the file
    /// while it is written).
    root: &'a Path,
    /// The -o folder as the user named it.
    shown_root: &'a Path,
    /// A name unique to this file in this run.
    tag: String,
    conflict: Conflict,
    /// Flush each output to disk (`--sync`).
    sync: bool,
    /// Every input's identity: none may be replaced.
    inputs: &'a Inputs,
}

/// Cleans one file into a temporary file of its own and links it in at its output
/// path (see [`clean_many`]); the folder's fsync is left to the caller.
fn clean_one_to_dir(
    book: &RuleBook,
    opts: &Options,
    file: &Path,
    to: &Target<'_>,
    buf: &mut Vec<u8>,
) -> Result<Report, String> {
    let (dest, shown) = (to.dest, to.shown);
    // A FIFO or a device would block or never end: -o cleans files.
    match std::fs::metadata(file) {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err("not a regular file; -o cleans files (pipe others through stdin)".into());
        }
        Err(e) => return Err(format!("cannot read the input: {e}")),
    }
    let over_input = |at: &Path| -> Result<(), String> {
        if to.inputs.holds(at, shown, to.key) {
            return Err(
                if file_id(at) == file_id(file)
                    || real_name(file).is_some_and(|r| folded(&r) == to.key)
                {
                    format!(
                        "{} is its own input; pare never writes over an input",
                        shown.display()
                    )
                } else {
                    format!(
                        "{} is another input; pare never writes over an input",
                        shown.display()
                    )
                },
            );
        }
        Ok(())
    };
    over_input(dest)?;
    // The system's words name paths through the open folder (`/proc/self/fd/N/…`):
    // shown as the user named the folder.
    let said = |e: io::Error| {
        e.to_string().replace(
            &to.root.display().to_string(),
            &to.shown_root.display().to_string(),
        )
    };
    let mut tmp = TempFile::create(to.root, &to.tag).map_err(|e| {
        format!(
            "cannot create a temporary file in {}: {}",
            to.shown_root.display(),
            said(e)
        )
    })?;
    let rep = {
        let mut w = io::BufWriter::with_capacity(64 * 1024, tmp.file());
        let rep = clean::clean_file(file, buf, book, opts, &mut w).map_err(|e| e.to_string())?;
        w.flush()
            .map_err(|e| format!("cannot write the output: {e}"))?;
        rep
    };
    let parent = dest.parent().expect("an output has a folder");
    // The output's folder, opened level by level without following a link, and the
    // file placed in it through its descriptor: a folder swapped for a link meanwhile
    // is never written through.
    let folder =
        crate::daemon::publish::make_dirs_synced(to.root, parent, to.sync).map_err(|e| {
            format!(
                "cannot create {}: {}",
                shown.parent().unwrap_or(shown).display(),
                said(e)
            )
        })?;
    let at = folder.at(dest.file_name().expect("an output has a name"));
    over_input(&at)?;
    match tmp.place_exact_synced(&at, to.conflict, to.sync) {
        Ok(Placed::New | Placed::Identical) => Ok(rep),
        Ok(Placed::Exists) => Err(format!(
            "{} exists with other content; left as it is (--overwrite replaces it)",
            shown.display()
        )),
        Err(e) => Err(format!("cannot write {}: {}", shown.display(), said(e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_files_of_killed_runs_go_and_others_stay() {
        let d = tempfile::tempdir().unwrap();
        let tmp = d.path();
        let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        let make = |name: &str, old: bool| {
            let f = std::fs::File::create(tmp.join(name)).unwrap();
            if old {
                f.set_modified(long_ago).unwrap();
            }
        };
        // pid 999999999 is above any pid_max: a run that is gone.
        make("clean-999999999-18a2b-0", true);
        make("requeue-999999999-18a2b", true);
        make("clean-999999999-18a2c-1", false); // written a moment ago
        make(&format!("clean-{}-18a2d-0", std::process::id()), true); // a live run
        make("0a1b2c-claim", true); // the daemon's
        make("clean-notapid-0", true);
        crate::daemon::publish::sweep_dead_runs(tmp);
        let mut left: Vec<String> = std::fs::read_dir(tmp)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut want = vec![
            "0a1b2c-claim".to_string(),
            "clean-999999999-18a2c-1".into(),
            format!("clean-{}-18a2d-0", std::process::id()),
            "clean-notapid-0".into(),
        ];
        want.sort();
        assert_eq!(left, want);
    }

    #[test]
    fn an_input_is_known_under_another_spelling_by_its_size_and_time() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        let (input, other) = (p.join("src/Page.html"), p.join("SRC/Page.html"));
        for f in [&input, &other] {
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, "<p>the same bytes</p>").unwrap();
        }
        let when = std::time::SystemTime::UNIX_EPOCH
            + std::time::Duration::new(1_700_000_000, 123_456_789);
        let set = |f: &Path, t| {
            std::fs::File::options()
                .write(true)
                .open(f)
                .unwrap()
                .set_modified(t)
                .unwrap()
        };
        set(&input, when);
        set(&other, when);
        let inputs = Inputs::of(std::slice::from_ref(&input), &[real_name(&input).unwrap()]);
        let holds = |f: &Path| inputs.holds(f, f, &folded(&real_name(f).unwrap()));
        assert!(holds(&input), "the very file");
        // This filesystem is case-sensitive: `SRC/` is another folder (a `cp -a` copy,
        // same size and time), and its file is no input.
        assert!(!holds(&other), "a copy on a case-sensitive filesystem");
        // A folder that answers to a third spelling is what a case-insensitive one
        // does (FUSE FAT: one file, an inode number per spelling): stood in for here by
        // folders of every other spelling.
        for third in ["Src", "sRc", "srC", "SRc", "SrC", "sRC"] {
            std::fs::create_dir_all(p.join(third)).unwrap();
        }
        assert!(holds(&other), "taken for the input");
        set(&other, when + std::time::Duration::from_nanos(1));
        assert!(!holds(&other), "another time: another file");
        set(&other, when);
        std::fs::write(&other, "<p>other bytes, longer</p>").unwrap();
        set(&other, when);
        assert!(!holds(&other), "another size: another file");
        assert!(!holds(&p.join("src/none.html")));
    }
}
