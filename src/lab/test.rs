//! `pare test`: runs every `[[example]]` of every rule file and says, per file, whether
//! the phrases listed under `gone` were removed and those under `kept` survived.
//!
//! An example is cleaned with the whole rule book (generic rules included), as a real
//! page would be. Its URL is the example's `url`, else the first domain of a site file,
//! else whatever the page itself names. A `file` is read relative to the rule file's
//! folder. This module only reports; it never changes a rule file.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::clean::{self, Input, Kind, Options, Removal};
use crate::rules::RuleBook;
use crate::rules::schema::RawExample;

/// The outcome of one example.
#[derive(Debug, Clone)]
pub struct ExampleOutcome {
    /// Line of the `[[example]]` table in its file.
    pub line: u32,
    /// What went wrong; empty when the example passed.
    pub problems: Vec<String>,
}

/// The outcomes of one rule file's examples.
#[derive(Debug, Clone)]
pub struct FileOutcome {
    pub path: PathBuf,
    pub examples: Vec<ExampleOutcome>,
}

impl FileOutcome {
    pub fn failed(&self) -> usize {
        self.examples
            .iter()
            .filter(|e| !e.problems.is_empty())
            .count()
    }
}

/// Runs the examples of every file in `book`.
pub fn run(book: &RuleBook) -> Vec<FileOutcome> {
    book.files
        .iter()
        .map(|f| {
            let site_url = f.example_host().map(|h| format!("https://{h}/"));
            let examples = f
                .examples()
                .iter()
                .map(|(line, ex)| ExampleOutcome {
                    line: *line,
                    problems: check(book, &f.path, site_url.as_deref(), ex),
                })
                .collect();
            FileOutcome {
                path: f.path.to_path_buf(),
                examples,
            }
        })
        .collect()
}

/// Cleans one example and lists its problems.
fn check(
    book: &RuleBook,
    rule_file: &Path,
    site_url: Option<&str>,
    ex: &RawExample,
) -> Vec<String> {
    let mut problems = Vec::new();
    if ex.gone.is_empty() && ex.kept.is_empty() {
        problems.push("checks nothing: give `gone` and/or `kept` phrases".to_string());
    }
    let input = match (&ex.html, &ex.file) {
        (Some(h), _) => h.clone().into_bytes(),
        (None, Some(f)) => {
            let p = rule_file.parent().unwrap_or(Path::new(".")).join(f);
            match std::fs::read(&p) {
                Ok(b) => b,
                Err(e) => {
                    problems.push(format!("cannot read {}: {e}", p.display()));
                    return problems;
                }
            }
        }
        (None, None) => {
            problems.push("no `html` or `file`".to_string());
            return problems;
        }
    };
    let profile = match ex.profile.as_deref() {
        None | Some("page") => crate::clean::Profile::Page,
        Some("reader") => crate::clean::Profile::Reader,
        Some(other) => {
            problems.push(format!(
                "unknown profile `{other}` (expected `page` or `reader`)"
            ));
            return problems;
        }
    };
    let base = if profile == crate::clean::Profile::Reader {
        crate::rules::Categories::all()
    } else {
        crate::rules::Categories::defaults()
    };
    let categories = match ex.categories.as_deref() {
        None => base,
        Some(spec) => match crate::rules::Categories::adjust(base, spec) {
            Ok(c) => c,
            Err(e) => {
                problems.push(format!("categories: {e}"));
                return problems;
            }
        },
    };
    let html_like = ex.file.as_deref().is_none_or(|f| !f.ends_with(".txt"));
    let opts = Options {
        url: ex.url.clone().or_else(|| site_url.map(str::to_string)),
        kind: Some(if html_like { Kind::Html } else { Kind::Text }),
        profile,
        categories,
        ..Options::default()
    };
    let mut out = Vec::new();
    let report = match clean::clean(Input::Bytes(&input), book, &opts, &mut out) {
        Ok(r) => r,
        Err(e) => {
            problems.push(format!("cleaning failed: {e}"));
            return problems;
        }
    };
    let out = String::from_utf8_lossy(&out);
    let text = if html_like {
        super::visible_text(&out)
    } else {
        crate::text::normalize(&out)
    };
    let before = if html_like {
        super::visible_text(&String::from_utf8_lossy(&input))
    } else {
        crate::text::normalize(&String::from_utf8_lossy(&input))
    };
    for g in &ex.gone {
        let n = crate::text::normalize(g);
        if !before.contains(&n) {
            problems.push(format!(
                "gone phrase {g:?} is not in the example's text at all"
            ));
        } else if text.contains(&n) {
            problems.push(format!("still there: {g:?}"));
        }
    }
    for k in &ex.kept {
        let n = crate::text::normalize(k);
        if !before.contains(&n) {
            problems.push(format!(
                "kept phrase {k:?} is not in the example's text at all"
            ));
        } else if !text.contains(&n) {
            problems.push(format!("lost: {k:?}{}", culprits(&report.removals, &n)));
        }
    }
    for r in &report.refused {
        let hits_gone = ex
            .gone
            .iter()
            .any(|g| r.removal.text.contains(&crate::text::normalize(g)));
        if hits_gone {
            problems.push(format!(
                "the guard refused {} ({}) by {}: {}",
                r.removal.rule, r.removal.element, r.removal.origin, r.reason
            ));
        }
    }
    problems
}

/// Names the removals that probably took a lost phrase (their text preview holds its
/// start), else all of them.
fn culprits(removals: &[Removal], phrase: &str) -> String {
    let head: String = phrase.chars().take(20).collect();
    let named: Vec<&Removal> = removals.iter().filter(|r| r.text.contains(&head)).collect();
    let list = if named.is_empty() {
        removals.iter().collect()
    } else {
        named
    };
    if list.is_empty() {
        return String::new();
    }
    let names: Vec<String> = list
        .iter()
        .map(|r| format!("{} at {} ({})", r.rule, r.origin, r.element))
        .collect();
    format!(" — removed by {}", names.join(" or "))
}

/// Writes the per-file summary; returns the number of failed examples.
pub fn print(outcomes: &[FileOutcome], color: bool, out: &mut dyn Write) -> io::Result<usize> {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let (mut total, mut failed) = (0, 0);
    for f in outcomes {
        let n = f.examples.len();
        let bad = f.failed();
        total += n;
        failed += bad;
        let status = if n == 0 {
            paint("33", "no examples")
        } else if bad == 0 {
            paint("32", "ok")
        } else {
            paint("31", &format!("{bad} FAILED"))
        };
        writeln!(out, "{}: {n} example(s), {status}", f.path.display())?;
        for e in f.examples.iter().filter(|e| !e.problems.is_empty()) {
            for p in &e.problems {
                writeln!(out, "  {}:{}: {p}", f.path.display(), e.line)?;
            }
        }
    }
    let files_without = outcomes.iter().filter(|f| f.examples.is_empty()).count();
    writeln!(
        out,
        "{}: {total} example(s) in {} file(s), {failed} failed; {files_without} file(s) without examples",
        if failed == 0 {
            paint("32", "ok")
        } else {
            paint("31", "FAILED")
        },
        outcomes.len()
    )?;
    Ok(failed)
}

/// `pare test [--rules DIR]…`, on the rules loaded.
pub fn command(book: &RuleBook) -> ExitCode {
    let outcomes = run(book);
    let stdout = io::stdout();
    let color = crate::color::stdout();
    match print(&outcomes, color, &mut stdout.lock()) {
        Ok(0) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}
