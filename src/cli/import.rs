//! `pare import ftr|easylist PATH… -o DIR [--report FILE]`: the command around the
//! importers. Prints a summary on stderr; the per-rule list of what was not converted
//! goes to `--report FILE`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::import::{Report, easylist, ftr, write_files};
use crate::rules::Category;

#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub source: Source,
}

#[derive(Subcommand, Debug)]
pub enum Source {
    /// FiveFilters Full-Text RSS site configs (`example.com.txt` files, or folders of them).
    Ftr {
        #[command(flatten)]
        common: Common,
        /// Leave `body:` out instead of turning it into `keep` rules (category chrome).
        #[arg(long)]
        no_keep: bool,
    },
    /// EasyList-style filter lists: their cosmetic filters (`##`, `#@#`, `#?#`).
    Easylist {
        #[command(flatten)]
        common: Common,
        /// Give every rule this category instead of guessing it from the list's name.
        #[arg(long)]
        category: Option<String>,
        /// Also convert generic filters the engine cannot index (combinators,
        /// `:nth-child`…): each slows every page down.
        #[arg(long)]
        slow_generic: bool,
    },
}

#[derive(Args, Debug)]
pub struct Common {
    /// The files to convert: site configs or folders of them (ftr), filter lists
    /// (easylist).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The folder to write rule files into.
    #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Write every rule not converted, with its reason, to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// Runs an import; exit code 1 when the sources cannot be read or nothing can be written.
pub fn run(args: ImportArgs) -> ExitCode {
    let (what, common, result) = match args.source {
        Source::Ftr { common, no_keep } => {
            let opts = ftr::Options {
                keep_body: !no_keep,
            };
            let r = ftr::import(&common.paths, &opts);
            ("ftr", common, r)
        }
        Source::Easylist {
            common,
            category,
            slow_generic,
        } => {
            let category = match category.as_deref().map(|c| Category::parse(c).ok_or(c)) {
                None => None,
                Some(Ok(c)) => Some(c),
                Some(Err(c)) => {
                    eprintln!(
                        "error: unknown category `{c}` (expected one of: {})",
                        Category::ALL.map(|c| c.name()).join(", ")
                    );
                    return ExitCode::from(2);
                }
            };
            let r = easylist::import(
                &common.paths,
                &easylist::Options {
                    category,
                    slow_generic,
                },
            );
            ("easylist", common, r)
        }
    };
    let (files, mut report) = match result {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: cannot read the sources: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(e) = common
        .report
        .as_deref()
        .and_then(|r| crate::written::clashes_with_input(r, &common.paths))
    {
        eprintln!("error: --report {e}");
        return ExitCode::from(2);
    }
    if let Err(e) = write_files(&common.out_dir, what, &files, &common.paths, &mut report) {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
        eprintln!("error: cannot write into {}: {e}", common.out_dir.display());
        return ExitCode::FAILURE;
    }
    finish(what, &report, common.report.as_ref())
}

fn finish(what: &str, report: &Report, details: Option<&PathBuf>) -> ExitCode {
    eprint!("{}", report.summary(what));
    if let Some(path) = details {
        if let Err(e) = crate::written::write_whole(path, report.details().as_bytes()) {
            eprintln!("error: cannot write report {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        eprintln!("the rules not converted, with reasons: {}", path.display());
    }
    ExitCode::SUCCESS
}
