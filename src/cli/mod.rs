//! The commands of the `pare` binary: argument parsing and the short glue between the
//! command line and the library. Exit codes: 0 success, 1 some input or rule failed,
//! 2 usage error (clap's own).

mod clean;
mod import;
mod run;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::clean::Options;
use crate::rules::RuleBook;

#[derive(Parser, Debug)]
#[command(
    name = "pare",
    version,
    about = "Cleans saved news articles with TOML rule files"
)]
pub struct Cli {
    /// Colour output: `auto` (on a terminal, unless NO_COLOR is set), `always`, `never`.
    #[arg(
        long,
        value_enum,
        global = true,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub color: crate::color::Choice,
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
    Run(RunArgs),
    /// Show what the daemon is doing: running or not, counts, last error, rules.
    Status(StatusArgs),
    /// Move failed files back into the inbox (without their `.reason` files).
    Requeue(RequeueArgs),
    /// Run the `[[example]]`s of every rule file; exit 1 if any fails.
    Test(RulesArgs),
    /// Show what each rule removed from one page, and what the guard refused.
    Explain(ExplainArgs),
    /// Propose rules for blocks that look like clutter but that no rule removed.
    Suggest(SuggestArgs),
    /// Convert community rule sets (FiveFilters site configs, EasyList) into rule files.
    Import(import::ImportArgs),
    /// Writes the man pages (`man/`) and shell completions (`completions/`) made from
    /// this command line, for packaging.
    #[command(hide = true)]
    Generate { out_dir: PathBuf },
    /// Where the article is on a page: prints the located element (a tool for measuring
    /// the locator; `--json` prints its range and confidence instead).
    #[command(hide = true)]
    Locate {
        #[arg(long)]
        json: bool,
        file: PathBuf,
    },
}

/// `pare run` options.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// The config file (default /etc/pare/pare.toml if it exists; otherwise ./inbox,
    /// ./outbox, ./failed and ./rules in the current folder).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Log lines as `journal` (priority prefixes, no timestamps), `human` or `json`;
    /// `auto` picks `journal` when stderr is the systemd journal.
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "auto")]
    pub log_format: crate::logging::LogFormat,
}

/// The daemon's config file, for the commands that read it.
#[derive(Args, Debug, Clone)]
pub struct ConfigArgs {
    /// The daemon's config file (default as for `pare run`).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// `pare status` options.
#[derive(Args, Debug, Clone)]
pub struct StatusArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Print the state as JSON: counts, last error, rules, the last files and their
    /// outcome, and whether the daemon is running.
    #[arg(long)]
    pub json: bool,
}

/// `pare requeue` options.
#[derive(Args, Debug, Clone)]
pub struct RequeueArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Failed files to move back: paths in the failed folder, or relative to it.
    /// Default: every failed file.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// `pare explain` options.
#[derive(Args, Debug)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub rules: RulesArgs,
    /// The page's URL (overrides what the page says; picks the site rules).
    #[arg(long)]
    pub url: Option<String>,
    /// Categories to apply, as for `pare clean` (e.g. `+chrome`).
    #[arg(long, value_name = "LIST")]
    pub categories: Option<String>,
    /// Also write the page with every removed block outlined and labelled.
    #[arg(long, value_name = "OUT.html")]
    pub html: Option<PathBuf>,
    /// Explain a reading copy (`reader`): what it keeps and why, its metadata; with
    /// --html the kept parts are outlined too.
    #[arg(long, value_parser = ["page", "reader"], default_value = "page")]
    pub profile: String,
    /// The saved page.
    pub file: PathBuf,
}

/// `pare suggest` options.
#[derive(Args, Debug)]
pub struct SuggestArgs {
    #[command(flatten)]
    pub rules: RulesArgs,
    /// The page's URL (overrides what the page says; names the suggested rules).
    #[arg(long)]
    pub url: Option<String>,
    /// The saved page.
    pub file: PathBuf,
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
    /// Read every rule file from its TOML, neither using nor writing the snapshot that
    /// large rule sets (100 files or more) are kept in, in $XDG_CACHE_HOME/pare
    /// (~/.cache/pare).
    #[arg(long)]
    pub no_snapshot: bool,
}

impl RulesArgs {
    /// The folders given, or the shipped one.
    pub fn dirs(&self) -> Result<Vec<PathBuf>, String> {
        if !self.rules.is_empty() {
            return Ok(self.rules.clone());
        }
        crate::rules::default_dir().map(|d| vec![d]).ok_or_else(|| {
            "no rules folder: ./rules and /usr/share/pare/rules do not exist; pass --rules DIR"
                .into()
        })
    }
}

#[derive(Args, Debug)]
pub struct CleanArgs {
    #[command(flatten)]
    pub rules: RulesArgs,
    /// The page's URL (overrides what the page says; picks the site rules).
    #[arg(long)]
    pub url: Option<String>,
    /// Write a JSON report of every removal to FILE (`-`: stdout, with -o):
    /// `{"version": 1, "pages": [{"file": …, "removals": […], …}]}`.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write cleaned files into DIR instead of stdout: each under its path below the
    /// inputs' common folder (`a/x.html b/x.html` → DIR/a/x.html, DIR/b/x.html).
    #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// With -o, replace outputs already in DIR that differ (never an input).
    #[arg(long, requires = "out_dir")]
    pub overwrite: bool,
    /// With -o, make every output durable before the run ends (fsync of each file and
    /// of its folder). Without it outputs are complete, never partial, but a power cut
    /// right after the run may lose some: run it again. The daemon always syncs.
    #[arg(long, requires = "out_dir")]
    pub sync: bool,
    /// Treat input as HTML or text (default: by name and content).
    #[arg(long, value_parser = ["html", "text"])]
    pub kind: Option<String>,
    /// Categories to apply, comma-separated (default: all but chrome). E.g. `+chrome`
    /// adds one, `-related` drops one.
    #[arg(long, value_name = "LIST")]
    pub categories: Option<String>,
    /// What to write: `page` (the page minus its clutter) or `reader` (the article
    /// alone, with its headline, lead image and metadata; every category applies).
    #[arg(long, value_parser = ["page", "reader"], default_value = "page")]
    pub profile: String,
    /// How to write it: `html`, `markdown` (CommonMark; metadata as YAML front matter)
    /// or `text`. With -o, Markdown outputs are named `.md` and text `.txt`.
    #[arg(long, value_parser = ["html", "markdown", "text"], default_value = "html")]
    pub format: String,
    /// Parallel workers for -o (default: number of cores).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Files to clean; `-` or nothing reads stdin (to stdout: -o needs files).
    pub files: Vec<PathBuf>,
}

/// Parses the command line and runs the command; its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::color::set(cli.color);
    match cli.command {
        Command::Clean(a) => clean::command(a),
        Command::Check(a) => check_command(a),
        Command::Run(a) => run::command(a),
        Command::Status(a) => crate::status::command(a.config.config.as_deref(), a.json),
        Command::Requeue(a) => {
            crate::daemon::requeue::command(a.config.config.as_deref(), &a.files)
        }
        Command::Test(a) => match load_rules(&a, "; no example was run") {
            Some(book) => crate::lab::test::command(&book),
            None => ExitCode::FAILURE,
        },
        Command::Explain(a) => match page_command(&a.rules, a.url.clone(), a.categories.as_deref())
        {
            Ok((book, mut opts)) => {
                if a.profile == "reader" {
                    opts.profile = crate::clean::Profile::Reader;
                    let spec = a.categories.as_deref().unwrap_or("");
                    match crate::rules::Categories::adjust(crate::rules::Categories::all(), spec) {
                        Ok(c) => opts.categories = c,
                        Err(e) => {
                            eprintln!("error: {e}");
                            return ExitCode::from(2);
                        }
                    }
                }
                crate::lab::explain::command(&book, &opts, &a.file, a.html.as_deref())
            }
            Err(code) => code,
        },
        Command::Suggest(a) => match page_command(&a.rules, a.url.clone(), None) {
            Ok((book, opts)) => crate::lab::suggest::command(&book, &opts, &a.file),
            Err(code) => code,
        },
        Command::Import(a) => import::run(a),
        Command::Locate { json, file } => locate(&file, json),
        Command::Generate { out_dir } => generate(&out_dir),
    }
}

/// `pare generate DIR`: `DIR/man/pare.1`, `pare-clean.1`… (one page per visible command)
/// and `DIR/completions/pare.bash`, `_pare` (zsh), `pare.fish`.
fn generate(dir: &std::path::Path) -> ExitCode {
    use clap::CommandFactory;
    let run = || -> io::Result<()> {
        let man = dir.join("man");
        let comp = dir.join("completions");
        std::fs::create_dir_all(&man)?;
        std::fs::create_dir_all(&comp)?;
        let cmd = Cli::command();
        clap_mangen::generate_to(cmd.clone(), &man)?;
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            clap_complete::generate_to(shell, &mut cmd.clone(), "pare", &comp)?;
        }
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write into {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}

/// `pare locate FILE`: the located region's bytes, or its description as JSON.
fn locate(file: &std::path::Path, json: bool) -> ExitCode {
    let page = match std::fs::read(file) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    let region = match crate::clean::locate(&page) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    let mut out = io::stdout().lock();
    let r = match (&region, json) {
        (_, true) => writeln!(out, "{}", serde_json::to_string(&region).expect("json")),
        (Some(r), false) => out.write_all(&page[r.start as usize..r.end as usize]),
        (None, false) => Ok(()),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--url` as given, if pare can take a host from it to choose site rules by; an error
/// saying so otherwise (a URL whose site rules would silently be skipped).
fn checked_url(url: Option<&str>) -> Result<Option<String>, String> {
    match url {
        None => Ok(None),
        Some(u) if crate::clean::site::host_of(u).is_some() => Ok(Some(u.to_string())),
        Some(u) => Err(format!(
            "--url `{u}` is not a web address pare can take a host from: write it as https://example.com/path"
        )),
    }
}

/// The rules and options of a one-page lab command; after saying why, exit 2 for a bad
/// category list, 1 for rules that do not load.
fn page_command(
    rules: &RulesArgs,
    url: Option<String>,
    categories: Option<&str>,
) -> Result<(RuleBook, Options), ExitCode> {
    let url = match checked_url(url.as_deref()) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("error: {e}");
            return Err(ExitCode::from(2));
        }
    };
    let mut opts = Options {
        url,
        ..Options::default()
    };
    if let Some(c) = categories {
        match c.parse() {
            Ok(c) => opts.categories = c,
            Err(e) => {
                eprintln!("error: {e}");
                return Err(ExitCode::from(2));
            }
        }
    }
    load_rules(rules, "; nothing was done")
        .map(|book| (book, opts))
        .ok_or(ExitCode::FAILURE)
}

/// Loads the rule book, printing every error as `path:line:col: message`.
/// `undone` says what the command did not do because of it ("nothing was cleaned").
pub fn load_rules(args: &RulesArgs, undone: &str) -> Option<RuleBook> {
    let dirs = match args.dirs() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return None;
        }
    };
    let max = crate::rules::DEFAULT_MAX_FILE_SIZE;
    let snap = (!args.no_snapshot)
        .then(|| snapshot_path(&dirs, max))
        .flatten();
    load_rules_from(&dirs, max, undone, snap)
}

/// Where a command-line run keeps the snapshot of `dirs`: the user's cache folder.
fn snapshot_path(dirs: &[PathBuf], max: u64) -> Option<PathBuf> {
    let dir = crate::rules::snapshot::user_cache_dir()?;
    Some(dir.join(crate::rules::snapshot::file_name(dirs, max)))
}

/// Loads the rule book with the snapshot at `snap`, if any: the user's cache (whose
/// older snapshots are then pruned) or, for `check --config`, the daemon's own.
fn load_rules_from(
    dirs: &[PathBuf],
    max: u64,
    undone: &str,
    snap: Option<PathBuf>,
) -> Option<RuleBook> {
    match RuleBook::load_with(dirs, max, snap.as_deref()) {
        Ok(b) => {
            let cache = crate::rules::snapshot::user_cache_dir();
            if b.loaded.written
                && let Some(dir) = snap.as_deref().and_then(Path::parent)
                && cache.as_deref() == Some(dir)
            {
                // One snapshot is made per list of folders: keep the recent ones.
                crate::rules::snapshot::prune(dir, 8);
            }
            if let Some(e) = &b.loaded.write_error {
                eprintln!("warning: the rules snapshot could not be written: {e}");
            }
            Some(b)
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!("error: {} problem(s) in rule files{undone}", errors.len());
            None
        }
    }
}

fn check_command(args: CheckArgs) -> ExitCode {
    let book = match &args.config {
        None => load_rules(&args.rules, ""),
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
            // The daemon's own snapshot: `pare check --config` is what its unit runs
            // before starting it, and leaves the snapshot warm for it. Only where the
            // daemon's folder already is: a check run by another user must not make
            // the daemon's work folder.
            let snap = config
                .rule_snapshot()
                .filter(|p| !args.rules.no_snapshot && p.parent().is_some_and(Path::is_dir));
            load_rules_from(&config.rule_dirs(), config.max_rule_file_size, "", snap)
        }
    };
    let Some(book) = book else {
        return ExitCode::FAILURE;
    };
    // One line per file: written in blocks, not a write per line (31,347 with imports).
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    for f in &book.files {
        // Written piece by piece: formatting a path through `Display` (lossy UTF-8
        // chunks) and joining the domains into a string of their own was a sixth of a
        // warm check's instructions with imports.
        let _ = match f.path.to_str() {
            Some(p) => out.write_all(p.as_bytes()),
            None => write!(out, "{}", f.path.display()),
        };
        let _ = write!(out, ": {} rules (", f.rule_count());
        if f.generic {
            let _ = out.write_all(b"generic");
        } else {
            for (i, d) in f.domains.iter().enumerate() {
                if i > 0 {
                    let _ = out.write_all(b", ");
                }
                let _ = out.write_all(d.as_bytes());
            }
            if !f.subdomains {
                let _ = out.write_all(b"; exact hosts");
            }
        }
        let _ = out.write_all(b")\n");
    }
    if let Some(line) = book.loaded.describe() {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "ok: {} files, {} rules",
        book.files.len(),
        book.rule_count()
    );
    let _ = out.flush();
    // Left to the OS: freeing tens of thousands of files piece by piece is time lost.
    std::mem::forget(book);
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use crate::rules::{Categories, Category};

    #[test]
    fn category_lists() {
        let s: Categories = "+chrome,-related".parse().unwrap();
        assert!(
            s.contains(Category::Chrome)
                && !s.contains(Category::Related)
                && s.contains(Category::Paywall)
        );
        let s: Categories = "paywall".parse().unwrap();
        assert!(s.contains(Category::Paywall) && !s.contains(Category::Donation));
        assert!("nope".parse::<Categories>().is_err());
    }
}
