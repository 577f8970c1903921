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
    /// Validate rule files and count their rules.
    Check(RulesArgs),
    /// Run the inbox daemon (see docs/DAEMON.md).
    Run(crate::daemon::RunArgs),
    /// Show what the daemon is doing: running or not, counts, last error, rules.
    Status(crate::status::StatusArgs),
    /// The rule-writing tools: `test`, `explain`, `suggest`.
    #[command(flatten)]
    Lab(crate::lab::LabCommand),
    /// Convert community rule sets (FiveFilters site configs, EasyList) into rule files.
    Import(crate::import::cli::ImportArgs),
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
    /// Write cleaned files into DIR (same names) instead of stdout.
    #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
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
    match RuleBook::load(&dirs) {
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

fn check_command(args: RulesArgs) -> ExitCode {
    let Some(book) = load_rules(&args) else {
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
fn clean_many(book: &RuleBook, opts: &Options, args: &CleanArgs, dir: &Path) -> ExitCode {
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    let files = &args.files;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<Option<Outcome>>> = Mutex::new(vec![None; files.len()]);
    let tty = io::stderr().is_terminal();
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..jobs.min(files.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let r = clean_one_to_dir(book, opts, file, dir);
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

/// Cleans one file into `dir` under the same name, through a temporary file renamed into
/// place, so `dir` never holds a partial page.
fn clean_one_to_dir(
    book: &RuleBook,
    opts: &Options,
    file: &Path,
    dir: &Path,
) -> Result<Report, String> {
    let name = file
        .file_name()
        .ok_or_else(|| "not a file name".to_string())?;
    let dest = dir.join(name);
    let tmp = dir.join(format!(".{}.pare-tmp", name.to_string_lossy()));
    let result = (|| {
        let f = std::fs::File::create(&tmp)
            .map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
        let mut w = io::BufWriter::new(f);
        let rep = clean::clean(Input::Path(file), book, opts, &mut w).map_err(|e| e.to_string())?;
        w.into_inner()
            .map_err(|e| e.to_string())?
            .sync_all()
            .map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, &dest)
            .map_err(|e| format!("cannot rename into {}: {e}", dest.display()))?;
        Ok(rep)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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
