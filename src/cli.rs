//! The commands of the `pare` binary: argument parsing and the short glue between the
//! command line and the library. Exit codes: 0 success, 1 some input or rule failed,
//! 2 usage error (clap's own).

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use clap::{Args, Parser, Subcommand};

use crate::clean::{self, Input, Kind, Options, Report};
use crate::daemon::publish::{Conflict, Placed, TempFile};
use crate::rules::{Categories, Category, RuleBook};

#[derive(Parser, Debug)]
#[command(
    name = "pare",
    version,
    about = "Cleans saved news articles with TOML rule files"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Clean pages: one to stdout, or many into a folder with -o.
    Clean(CleanArgs),
    /// Validate rule files and count their rules; with --config, the daemon's whole
    /// setup (config, folder layout, rules).
    Check(CheckArgs),
    /// Run the inbox daemon (see docs/DAEMON.md).
    Run(crate::daemon::RunArgs),
    /// Show what the daemon is doing: running or not, counts, last error, rules.
    Status(crate::status::StatusArgs),
    /// Move failed files back into the inbox (without their `.reason` files).
    Requeue(crate::daemon::requeue::RequeueArgs),
    /// The rule-writing tools: `test`, `explain`, `suggest`.
    #[command(flatten)]
    Lab(crate::lab::LabCommand),
    /// Convert community rule sets (FiveFilters site configs, EasyList) into rule files.
    Import(crate::import::cli::ImportArgs),
}

/// `pare check` options.
#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    #[command(flatten)]
    pub rules: RulesArgs,
    /// Check the daemon's config file instead: its keys, its folders against each other
    /// (as `pare run` would refuse them), and the rules folders it names.
    #[arg(long, value_name = "PATH", conflicts_with = "rules")]
    pub config: Option<PathBuf>,
}

/// Where rules come from.
#[derive(Args, Debug, Clone)]
pub struct RulesArgs {
    /// A rules folder (repeatable; a file in a later folder replaces one of the same name
    /// in an earlier). Default: ./rules, else /usr/share/pare/rules.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
}

impl RulesArgs {
    /// The folders given, or the shipped one.
    pub fn dirs(&self) -> Result<Vec<PathBuf>, String> {
        if !self.rules.is_empty() {
            return Ok(self.rules.clone());
        }
        default_rules_dir().map(|d| vec![d]).ok_or_else(|| {
            "no rules folder: ./rules and /usr/share/pare/rules do not exist; pass --rules DIR"
                .into()
        })
    }
}

/// The shipped rules: `./rules` when run from a checkout, else the installed copy.
pub fn default_rules_dir() -> Option<PathBuf> {
    ["rules", "/usr/share/pare/rules"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_dir())
}

#[derive(Args, Debug)]
pub struct CleanArgs {
    #[command(flatten)]
    pub rules: RulesArgs,
    /// The page's URL (overrides what the page says; picks the site rules).
    #[arg(long)]
    pub url: Option<String>,
    /// Write a JSON report of every removal to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write cleaned files into DIR instead of stdout: each under its path below the
    /// inputs' common folder (`a/x.html b/x.html` → DIR/a/x.html, DIR/b/x.html).
    #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// With -o, replace outputs already in DIR that differ (never an input).
    #[arg(long, requires = "out_dir")]
    pub overwrite: bool,
    /// Treat input as HTML or text (default: by name and content).
    #[arg(long, value_parser = ["html", "text"])]
    pub kind: Option<String>,
    /// Categories to apply, comma-separated (default: all but chrome). E.g. `+chrome`
    /// adds one, `-related` drops one.
    #[arg(long, value_name = "LIST")]
    pub categories: Option<String>,
    /// Parallel workers for -o (default: number of cores).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Files to clean; `-` or nothing reads stdin.
    pub files: Vec<PathBuf>,
}

/// Parses `--categories`: a plain list replaces the defaults; `+x`/`-x` adjust them.
pub fn parse_categories(spec: &str) -> Result<Categories, String> {
    let mut set = Categories::defaults();
    let items: Vec<&str> = spec
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if items.iter().any(|i| !i.starts_with(['+', '-'])) {
        set = Categories::defaults();
        for c in Category::ALL {
            set.remove(c);
        }
    }
    for item in items {
        let (op, name) = match item.as_bytes()[0] {
            b'+' | b'-' => (item.as_bytes()[0], &item[1..]),
            _ => (b'+', item),
        };
        let c = Category::parse(name).ok_or_else(|| {
            format!(
                "unknown category `{name}` (expected one of: {})",
                Category::ALL.map(|c| c.name()).join(", ")
            )
        })?;
        if op == b'+' {
            set.insert(c);
        } else {
            set.remove(c);
        }
    }
    Ok(set)
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Clean(a) => clean_command(a),
        Command::Check(a) => check_command(a),
        Command::Run(a) => crate::daemon::run_command(a),
        Command::Status(a) => crate::status::status_command(a),
        Command::Requeue(a) => crate::daemon::requeue::requeue_command(a),
        Command::Lab(c) => crate::lab::run(c),
        Command::Import(a) => crate::import::cli::run(a),
    }
}

/// Loads the rule book, printing every error as `path:line:col: message`.
pub fn load_rules(args: &RulesArgs) -> Option<RuleBook> {
    let dirs = match args.dirs() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return None;
        }
    };
    load_rules_from(&dirs, crate::rules::DEFAULT_MAX_FILE_SIZE)
}

fn load_rules_from(dirs: &[PathBuf], max: u64) -> Option<RuleBook> {
    match RuleBook::load_limited(dirs, max) {
        Ok(b) => Some(b),
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!(
                "error: {} problem(s) in rule files; nothing was cleaned",
                errors.len()
            );
            None
        }
    }
}

fn check_command(args: CheckArgs) -> ExitCode {
    let book = match &args.config {
        None => load_rules(&args.rules),
        Some(path) => {
            let config = match crate::config::Config::find(Some(path)) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            };
            if let Err(e) = config.check_layout() {
                for line in e.lines() {
                    eprintln!("{}: {line}", path.display());
                }
                eprintln!("error: pare run would refuse this folder layout");
                return ExitCode::FAILURE;
            }
            load_rules_from(&config.rule_dirs(), config.max_rule_file_size)
        }
    };
    let Some(book) = book else {
        return ExitCode::FAILURE;
    };
    let mut out = io::stdout().lock();
    for f in &book.files {
        let what = if f.generic {
            "generic".to_string()
        } else if f.subdomains {
            f.domains.join(", ")
        } else {
            format!("{}; exact hosts", f.domains.join(", "))
        };
        let _ = writeln!(
            out,
            "{}: {} rules ({what})",
            f.path.display(),
            f.rules.len()
        );
    }
    let _ = writeln!(
        out,
        "ok: {} files, {} rules",
        book.files.len(),
        book.rule_count()
    );
    ExitCode::SUCCESS
}

fn options(args: &CleanArgs) -> Result<Options, String> {
    let mut o = Options {
        url: args.url.clone(),
        ..Options::default()
    };
    if let Some(k) = &args.kind {
        o.kind = Some(if k == "html" { Kind::Html } else { Kind::Text });
    }
    if let Some(c) = &args.categories {
        o.categories = parse_categories(c)?;
    }
    Ok(o)
}

fn clean_command(args: CleanArgs) -> ExitCode {
    let opts = match options(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(book) = load_rules(&args.rules) else {
        return ExitCode::FAILURE;
    };
    if let Some(dir) = &args.out_dir {
        return clean_many(&book, &opts, &args, dir);
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
    match clean::clean(input, &book, &opts, &mut out) {
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

type Outcome = (String, Result<Report, String>);

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
    let json = if entries.len() == 1 {
        serde_json::to_string_pretty(&entries[0])
    } else {
        serde_json::to_string_pretty(&entries)
    }
    .expect("json");
    match std::fs::write(path, json + "\n") {
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
    let files = &args.files;
    let dests = match output_paths(files, dir) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let inputs: std::collections::HashSet<(u64, u64)> =
        files.iter().filter_map(|f| file_id(f)).collect();
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
    let outcomes: Mutex<Vec<Option<Outcome>>> = Mutex::new(vec![None; files.len()]);
    let tty = io::stderr().is_terminal();
    let t0 = Instant::now();
    let run = format!("clean-{}-{:x}", std::process::id(), nanos());
    std::thread::scope(|s| {
        for _ in 0..jobs.min(files.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let to = Target {
                        dest: &dests[i],
                        root: dir,
                        tag: format!("{run}-{i}"),
                        conflict,
                        inputs: &inputs,
                    };
                    let r = clean_one_to_dir(book, opts, file, &to);
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
    let folders: std::collections::BTreeSet<&Path> =
        dests.iter().filter_map(|d| d.parent()).collect();
    let mut unsynced = None;
    for f in folders {
        if let Err(e) = crate::daemon::publish::sync_dir(f) {
            unsynced = Some(format!(
                "cannot flush the folder {} to disk: {e}",
                f.display()
            ));
        }
    }
    let _ = std::fs::remove_dir(dir.join(crate::daemon::publish::TMP_DIR));
    let outcomes: Vec<Outcome> = outcomes
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
                removed += rep.removal_count();
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
        && write_report(r, &outcomes) != ExitCode::SUCCESS
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

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
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
fn output_paths(files: &[PathBuf], dir: &Path) -> Result<Vec<PathBuf>, String> {
    let real: Vec<PathBuf> = files
        .iter()
        .map(|f| {
            let name = f
                .file_name()
                .ok_or_else(|| format!("{}: not a file name", f.display()))?;
            let parent = match f.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let abs = std::path::absolute(parent).map_err(|e| format!("{}: {e}", f.display()))?;
            Ok(crate::config::real_path(&abs).join(name))
        })
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
        .map(|r| dir.join(r.strip_prefix(&common).expect("below the common folder")))
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
        Ok(dests)
    } else {
        Err(format!(
            "inputs that are the same file:\n  {}",
            clashes.join("\n  ")
        ))
    }
}

/// Where one input's cleaned page goes, and under what terms.
struct Target<'a> {
    dest: &'a Path,
    /// The -o folder (its `.pare-tmp/` holds the file while it is written).
    root: &'a Path,
    /// A name unique to this file in this run.
    tag: String,
    conflict: Conflict,
    /// Every input's identity: none may be replaced.
    inputs: &'a std::collections::HashSet<(u64, u64)>,
}

/// Cleans one file into a temporary file of its own and links it in at its output
/// path (see [`clean_many`]); the folder's fsync is left to the caller.
fn clean_one_to_dir(
    book: &RuleBook,
    opts: &Options,
    file: &Path,
    to: &Target<'_>,
) -> Result<Report, String> {
    let dest = to.dest;
    if file_id(dest).is_some_and(|id| to.inputs.contains(&id)) {
        return Err(if file_id(dest) == file_id(file) {
            format!(
                "{} is its own input; pare never writes over an input",
                dest.display()
            )
        } else {
            format!(
                "{} is another input; pare never writes over an input",
                dest.display()
            )
        });
    }
    let mut tmp = TempFile::create(to.root, &to.tag).map_err(|e| {
        format!(
            "cannot create a temporary file in {}: {e}",
            to.root.display()
        )
    })?;
    let rep = {
        let mut w = io::BufWriter::with_capacity(64 * 1024, tmp.file());
        let rep = clean::clean(Input::Path(file), book, opts, &mut w).map_err(|e| e.to_string())?;
        w.flush()
            .map_err(|e| format!("cannot write the output: {e}"))?;
        rep
    };
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    match tmp.place_exact(dest, to.conflict) {
        Ok(Placed::New | Placed::Identical) => Ok(rep),
        Ok(Placed::Exists) => Err(format!(
            "{} exists with other content; left as it is (--overwrite replaces it)",
            dest.display()
        )),
        Err(e) => Err(format!("cannot write {}: {e}", dest.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_lists() {
        let s = parse_categories("+chrome,-related").unwrap();
        assert!(
            s.contains(Category::Chrome)
                && !s.contains(Category::Related)
                && s.contains(Category::Paywall)
        );
        let s = parse_categories("paywall").unwrap();
        assert!(s.contains(Category::Paywall) && !s.contains(Category::Donation));
        assert!(parse_categories("nope").is_err());
    }
}
