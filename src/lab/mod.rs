//! Tools for people writing rules: `pare test` runs the examples inside rule files,
//! `pare explain` shows what each rule did to one page, `pare suggest` proposes rules
//! for clutter nothing removed yet.
//!
//! Everything here is built on the engine's public API (`clean::clean` and its report)
//! and the rule book; nothing here changes what the engine removes.

pub mod explain;
pub mod suggest;
pub mod test;

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::cli::{RulesArgs, load_rules};
use crate::rules::RuleBook;

/// The rules and the page a single-page command works on; errors are printed.
fn load(rules: &RulesArgs, page: &std::path::Path) -> Option<(RuleBook, Vec<u8>)> {
    let book = load_rules(rules)?;
    match std::fs::read(page) {
        Ok(b) => Some((book, b)),
        Err(e) => {
            eprintln!("error: {}: {e}", page.display());
            None
        }
    }
}

/// The rule-writing commands, flattened into `pare`'s own subcommands.
#[derive(Subcommand, Debug)]
pub enum LabCommand {
    /// Run the `[[example]]`s of every rule file; exit 1 if any fails.
    Test(RulesArgs),
    /// Show what each rule removed from one page, and what the guard refused.
    Explain(ExplainArgs),
    /// Propose rules for blocks that look like clutter but that no rule removed.
    Suggest(SuggestArgs),
}

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
    /// The saved page.
    pub file: PathBuf,
}

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

/// Runs one of the rule-writing commands.
pub fn run(cmd: LabCommand) -> std::process::ExitCode {
    match cmd {
        LabCommand::Test(a) => test::command(&a),
        LabCommand::Explain(a) => explain::command(&a),
        LabCommand::Suggest(a) => suggest::command(&a),
    }
}

/// The visible text of an HTML page, normalized the way rule phrases are (lowercase,
/// quotes folded, single spaces, entities decoded): tags, comments and the contents of
/// `script`, `style`, `noscript` and `template` dropped. Good enough to check phrases.
pub fn visible_text(html: &str) -> String {
    let mut raw = String::with_capacity(html.len() / 2);
    let lower = html.to_ascii_lowercase();
    let mut i = 0;
    while let Some(off) = html[i..].find('<') {
        raw.push_str(&html[i..i + off]);
        let at = i + off;
        if lower[at..].starts_with("<!--") {
            i = lower[at..].find("-->").map_or(html.len(), |e| at + e + 3);
            raw.push(' ');
            continue;
        }
        let name: String = lower[at + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let tag_end = lower[at..].find('>').map_or(html.len(), |e| at + e + 1);
        i = tag_end;
        if matches!(name.as_str(), "script" | "style" | "noscript" | "template") {
            let close = format!("</{name}");
            i = lower[tag_end..]
                .find(&close)
                .and_then(|c| lower[tag_end + c..].find('>').map(|e| tag_end + c + e + 1))
                .unwrap_or(html.len());
        }
        raw.push(' ');
    }
    if i < html.len() {
        raw.push_str(&html[i..]);
    }
    crate::text::normalize(&raw)
}

#[cfg(test)]
mod tests {
    use super::visible_text;

    #[test]
    fn visible_text_drops_markup_scripts_and_comments() {
        let t = visible_text(
            "<p>Tom&amp;Jerry <b>ran</b></p><script>var x = '<p>no</p>';</script><!-- c --><P>Fast</P>",
        );
        assert_eq!(t, "tom&jerry ran fast");
    }
}
