//! Importers: turn community rule sets (FiveFilters site configs, EasyList cosmetic
//! filters) into pare rule files.
//!
//! Each importer reads its format, translates what pare can do faithfully, and refuses
//! the rest with a reason. Every rule it keeps is checked by the same code that loads rule
//! files ([`crate::rules::parse_file`]), so an import never writes a rule pare would refuse.
//! This module knows nothing of the engine: it only writes files.

pub mod easylist;
pub mod ftr;
pub mod xpath;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::rules::{Category, parse_file};

/// One rule as the importer writes it (the on-disk format of `docs/RULES.md`).
///
/// Exactly one action field is set; the constructors below make sure of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OutRule {
    pub id: String,
    pub category: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remove: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remove_containing: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remove_matching: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unwrap: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop_attributes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
}

impl OutRule {
    fn new(id: String, category: Category) -> Self {
        OutRule {
            id,
            category: category.name().to_string(),
            ..OutRule::default()
        }
    }

    /// `remove = "selectors"`.
    pub fn remove(id: String, category: Category, selectors: String) -> Self {
        OutRule {
            remove: Some(selectors),
            ..OutRule::new(id, category)
        }
    }

    /// `unwrap = "selectors"`.
    pub fn unwrap(id: String, category: Category, selectors: String) -> Self {
        OutRule {
            unwrap: Some(selectors),
            ..OutRule::new(id, category)
        }
    }

    /// `remove_containing = [phrases]` + `within`.
    pub fn remove_containing(
        id: String,
        category: Category,
        phrases: Vec<String>,
        within: String,
    ) -> Self {
        OutRule {
            remove_containing: Some(phrases),
            within: Some(within),
            ..OutRule::new(id, category)
        }
    }

    /// `remove_matching = 'regex'` + `within`.
    pub fn remove_matching(id: String, category: Category, regex: String, within: String) -> Self {
        OutRule {
            remove_matching: Some(regex),
            within: Some(within),
            ..OutRule::new(id, category)
        }
    }

    /// `drop_attributes = [names]` + `selector`.
    pub fn drop_attributes(
        id: String,
        category: Category,
        names: Vec<String>,
        selector: String,
    ) -> Self {
        OutRule {
            drop_attributes: Some(names),
            selector: Some(selector),
            ..OutRule::new(id, category)
        }
    }

    /// `keep = "selectors"`: keep only these elements inside `<body>`.
    ///
    /// Imported keep rules are `chrome`, which is off by default: they cut away
    /// everything around the article, so they only run when the user asks for chrome.
    pub fn keep(id: String, selectors: String) -> Self {
        OutRule {
            keep: Some(selectors),
            ..OutRule::new(id, Category::Chrome)
        }
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// Whom a rule file is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Generic,
    Domains(Vec<String>),
}

/// One rule file as the importer writes it.
#[derive(Debug, Clone)]
pub struct OutFile {
    /// File name inside the output folder.
    pub name: String,
    pub scope: Scope,
    /// Ids of generic rules this site switches off.
    pub disable: Vec<String>,
    /// Subdomains left to files of their own (`except_domains`).
    pub except_domains: Vec<String>,
    /// `Some(false)`: `domains` are exact hosts (`subdomains = false`).
    pub subdomains: Option<bool>,
    pub rules: Vec<OutRule>,
    /// Comment lines written at the top.
    pub header: Vec<String>,
}

#[derive(Serialize)]
struct FileRepr<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    generic: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    domains: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subdomains: Option<bool>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    except_domains: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    disable: &'a [String],
    #[serde(rename = "rule", skip_serializing_if = "Vec::is_empty")]
    rules: Vec<&'a OutRule>,
}

impl OutFile {
    /// The file's TOML text.
    pub fn to_toml(&self) -> String {
        let repr = FileRepr {
            generic: (self.scope == Scope::Generic).then_some(true),
            domains: match &self.scope {
                Scope::Domains(d) => Some(d),
                Scope::Generic => None,
            },
            subdomains: self.subdomains,
            except_domains: &self.except_domains,
            disable: &self.disable,
            rules: self.rules.iter().collect(),
        };
        let mut out = String::new();
        for h in &self.header {
            let _ = writeln!(out, "# {h}");
        }
        out.push_str(&toml::to_string(&repr).expect("rule files serialize"));
        out
    }

    /// Checks the whole file with the rule loader.
    pub fn check(&self) -> Result<(), String> {
        let text = self.to_toml();
        parse_file(Path::new(&self.name), &text)
            .map(|_| ())
            .map_err(|es| {
                es.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
    }
}

/// Checks one rule alone, as the loader would, in a file of the given kind.
pub fn check_rule(rule: &OutRule, generic: bool) -> Result<(), String> {
    let f = OutFile {
        name: "check.toml".into(),
        scope: if generic {
            Scope::Generic
        } else {
            Scope::Domains(vec!["example.com".into()])
        },
        disable: Vec::new(),
        except_domains: Vec::new(),
        subdomains: None,
        rules: vec![rule.clone()],
        header: Vec::new(),
    };
    let text = f.to_toml();
    match parse_file(Path::new("check.toml"), &text) {
        Ok(_) => Ok(()),
        // Drop the `check.toml:l:c: ` prefix: the location means nothing to the user.
        Err(es) => Err(es
            .first()
            .map(|e| e.message.clone())
            .unwrap_or_else(|| "refused by the rule loader".into())),
    }
}

/// A rule of the source that was not converted, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Miss {
    /// `path:line` in the source.
    pub at: String,
    /// The source line.
    pub text: String,
    /// A short class of reason (`axis`, `sibling combinator`, …), for the summary.
    pub kind: String,
    /// The details.
    pub detail: String,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Report {
    /// Rules written, by what they came from (`strip`, `##`, …).
    pub converted: BTreeMap<String, usize>,
    /// Lines deliberately passed over (comments, network filters, metadata directives).
    pub skipped: BTreeMap<String, usize>,
    /// Rules not converted, each with its reason.
    pub missed: Vec<Miss>,
    /// Files written.
    pub files: usize,
    /// Notes for the user (e.g. semantics that differ).
    pub notes: Vec<String>,
    /// Reasons ([`Miss::kind`]) for source rules that are outside what the importer is
    /// for (EasyList scriptlets are not element hiding), each with a word of why. They
    /// are still listed as not converted, but the share of converted rules leaves them
    /// out.
    pub not_applicable: Vec<(&'static str, &'static str)>,
    /// The rules the share counts (`cosmetic filters (…)`); no share line when `None`.
    pub share_of: Option<&'static str>,
}

impl Report {
    pub fn convert(&mut self, what: &str) {
        *self.converted.entry(what.to_string()).or_default() += 1;
    }

    pub fn skip(&mut self, what: &str) {
        *self.skipped.entry(what.to_string()).or_default() += 1;
    }

    pub fn miss(
        &mut self,
        at: String,
        text: &str,
        kind: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.missed.push(Miss {
            at,
            text: text.to_string(),
            kind: kind.into(),
            detail: detail.into(),
        });
    }

    pub fn converted_total(&self) -> usize {
        self.converted.values().sum()
    }

    /// Why `kind` is outside what the importer is for, if it is.
    pub fn not_applicable_why(&self, kind: &str) -> Option<&'static str> {
        self.not_applicable
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, why)| *why)
    }

    /// Rules converted, and rules the importer is for (converted or not): the share's
    /// numerator and denominator. Not-applicable rules are in neither.
    pub fn share(&self) -> (usize, usize) {
        let converted = self.converted_total();
        let missed = self
            .missed
            .iter()
            .filter(|m| self.not_applicable_why(&m.kind).is_none())
            .count();
        (converted, converted + missed)
    }

    /// Not-converted rules counted by reason, most frequent first.
    pub fn missed_by_kind(&self) -> Vec<(String, usize)> {
        let mut m: BTreeMap<&str, usize> = BTreeMap::new();
        for x in &self.missed {
            *m.entry(&x.kind).or_default() += 1;
        }
        let mut v: Vec<(String, usize)> = m.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }

    /// The summary printed on stderr.
    pub fn summary(&self, what: &str) -> String {
        let mut s = String::new();
        let list = |m: &BTreeMap<String, usize>| {
            m.iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            s,
            "{what}: {} rules converted into {} files ({})",
            self.converted_total(),
            self.files,
            list(&self.converted)
        );
        if let Some(of) = self.share_of {
            let (done, all) = self.share();
            let pct = if all == 0 {
                100.0
            } else {
                done as f64 * 100.0 / all as f64
            };
            let _ = writeln!(s, "{of}: {done} of {all} converted ({pct:.1}%)");
        }
        let _ = writeln!(s, "not converted: {}", self.missed.len());
        for (k, n) in self.missed_by_kind() {
            match self.not_applicable_why(&k) {
                Some(why) => {
                    let _ = writeln!(s, "  {n:>6}  {k} (not counted in the share: {why})");
                }
                None => {
                    let _ = writeln!(s, "  {n:>6}  {k}");
                }
            }
        }
        let skipped: usize = self.skipped.values().sum();
        let _ = writeln!(s, "skipped: {skipped} ({})", list(&self.skipped));
        for n in &self.notes {
            let _ = writeln!(s, "note: {n}");
        }
        s
    }

    /// The per-rule list for `--report FILE`: one line per rule not converted.
    pub fn details(&self) -> String {
        let mut s = String::new();
        for m in &self.missed {
            let _ = writeln!(s, "{}: {}: {} — {}", m.at, m.kind, m.detail, m.text);
        }
        s
    }
}

/// The first line of every file an importer writes, naming the importer.
pub fn header_mark(importer: &str) -> String {
    format!("# Imported by `pare import {importer}`")
}

/// Writes `files` into `dir` (created if needed), checking each file with the rule
/// loader first. A file that fails the check is not written and is reported: that is a
/// bug in an importer, since every rule was checked on its own before.
///
/// Files a previous run of the same importer wrote into `dir` (known by their first
/// line) and this run did not write are deleted, so a re-import never leaves stale rules
/// (or duplicate ids) behind. Other files are left alone.
///
/// Nothing is written when a file would replace what this importer did not write — a
/// hand-written rule file, a link, one of the `inputs` — or when two sources make one
/// file name (`Example.com.txt` and `example.com.txt`, `my list.txt` and `my_list.txt`):
/// the error (kind `AlreadyExists`) names them all. Each file is written whole or not at
/// all (beside its name, then renamed over it), so a full disk leaves the rules before it
/// as they were, and a running daemon never loads a file cut short.
pub fn write_files(
    dir: &Path,
    importer: &str,
    files: &[OutFile],
    inputs: &[PathBuf],
    report: &mut Report,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mark = header_mark(importer);
    let mut todo = Vec::new();
    for f in files {
        if f.rules.is_empty() && f.disable.is_empty() {
            continue;
        }
        if let Err(e) = f.check() {
            report.miss(f.name.clone(), "", "file refused by the loader", e);
            continue;
        }
        todo.push(f);
    }
    let mut problems = Vec::new();
    // Case folded: on a case-insensitive folder `Example.com…` and `example.com…` are one.
    let mut names: std::collections::HashMap<String, usize> = Default::default();
    for f in &todo {
        let n = names.entry(f.name.to_lowercase()).or_default();
        *n += 1;
        if *n == 2 {
            problems.push(format!(
                "two or more sources make the rule file `{}` (their names differ only in case or punctuation): import them into different folders, or rename one",
                f.name
            ));
        }
    }
    for f in &todo {
        let path = dir.join(&f.name);
        // A source inside the folder is refused below like any file pare did not
        // write; one named on the command line is named as such.
        if let Some(input) = inputs.iter().find(|i| crate::written::same_file(&path, i)) {
            problems.push(format!(
                "{} is the source {}: pare import never writes over its input",
                path.display(),
                input.display()
            ));
            continue;
        }
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => problems.push(format!(
                "{} is a symbolic link: pare import replaces only files it wrote",
                path.display()
            )),
            Ok(m) if !m.is_file() => problems.push(format!(
                "{} is not a regular file: pare import replaces only files it wrote",
                path.display()
            )),
            Ok(_) if !starts_with_mark(&path, &mark) => problems.push(format!(
                "{} exists and was not written by `pare import {importer}` (its first line is not `{mark}…`): move it, or choose another -o folder",
                path.display()
            )),
            _ => {}
        }
    }
    if !problems.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("nothing written:\n  {}", problems.join("\n  ")),
        ));
    }
    let mut written = std::collections::HashSet::new();
    for f in todo {
        let path: PathBuf = dir.join(&f.name);
        crate::written::write_whole(&path, f.to_toml().as_bytes())?;
        written.insert(f.name.clone());
        report.files += 1;
    }
    let mut stale = 0;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !name.ends_with(".toml") || written.contains(&name) {
            continue;
        }
        let regular = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file());
        if regular && starts_with_mark(&path, &mark) {
            std::fs::remove_file(&path)?;
            stale += 1;
        }
    }
    if stale > 0 {
        report.notes.push(format!(
            "removed {stale} files an earlier `pare import {importer}` left in {}",
            dir.display()
        ));
    }
    let temps = crate::written::sweep_dead_temps(dir);
    if temps > 0 {
        report.notes.push(format!(
            "removed {temps} temporary files a killed run left in {}",
            dir.display()
        ));
    }
    Ok(())
}

/// Whether the file at `path` starts with an importer's first line.
fn starts_with_mark(path: &Path, mark: &str) -> bool {
    let mut first = [0u8; 64];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut first))
        .unwrap_or(0);
    first[..n].starts_with(mark.as_bytes())
}

/// A stable id for a piece of source text: 64-bit FNV-1a, shown as 12 hex digits.
/// Stable across runs, platforms and Rust versions (unlike `DefaultHasher`).
pub fn stable_hash(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:012x}", h >> 16)
}

/// Guesses a category from the words of a class name, id or selector. Falls back to
/// `other`. Site navigation (`nav`, `footer`, `menu`, …) is `chrome`, off by default.
///
/// Readers' comments are `chrome` too, whatever else the name says: they are text
/// people wrote about the article, which pare's own rules never remove, and which a
/// reader may have saved the page for. A source that strips them (FiveFilters extracts
/// the article alone) does so for a narrower purpose than pare's, so its comment rules
/// only run when the user turns chrome on.
pub fn guess_category(text: &str) -> Category {
    let t = text.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if is_comments(&t) {
        Category::Chrome
    } else if has(&["newsletter", "subscribe", "signup", "sign-up", "mailing"]) {
        Category::Newsletter
    } else if has(&["paywall", "premium", "meter"]) {
        Category::Paywall
    } else if has(&["donat", "support-us", "contribut"]) {
        Category::Donation
    } else if has(&["cookie", "consent", "gdpr"]) {
        Category::Consent
    } else if has(&[
        "related",
        "recommend",
        "more-stories",
        "morestories",
        "read-more",
        "readmore",
        "also-",
    ]) {
        Category::Related
    } else if has(&[
        "share",
        "social",
        "facebook",
        "twitter",
        "tweet",
        "pinterest",
        "whatsapp",
        "linkedin",
        "follow",
    ]) {
        Category::Social
    } else if has(&[
        "promo", "advert", "sponsor", "banner", "adsense", "dfp", "taboola", "outbrain",
    ]) {
        Category::Promo
    } else if has(&["tracking", "analytics", "pixel"]) {
        Category::Tracking
    } else if has(&[
        "nav",
        "menu",
        "footer",
        "header",
        "breadcrumb",
        "sidebar",
        "masthead",
    ]) {
        Category::Chrome
    } else {
        Category::Other
    }
}

/// Does a (lowercased) name, id or selector speak of readers' comments?
pub fn is_comments(lower: &str) -> bool {
    ["comment", "disqus"].iter().any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_round_trips_awkward_strings() {
        let awkward =
            "a \"quoted\" 'single' back\\slash tab\t newline\n unicode é 字 \u{1F600} ''' \"\"\"";
        let f = OutFile {
            name: "x.toml".into(),
            scope: Scope::Domains(vec!["example.com".into()]),
            disable: vec!["el-1".into()],
            except_domains: Vec::new(),
            subdomains: Some(false),
            rules: vec![
                OutRule::remove_containing(
                    "r1".into(),
                    Category::Promo,
                    vec![awkward.into()],
                    "div".into(),
                )
                .with_note(awkward),
            ],
            header: vec!["made by a test".into()],
        };
        let text = f.to_toml();
        assert!(text.starts_with("# made by a test\n"));
        let parsed = parse_file(Path::new("x.toml"), &text).expect("loads");
        assert_eq!(parsed.rules()[0].note.as_deref(), Some(awkward));
        assert_eq!(parsed.domains, vec!["example.com"]);
        assert_eq!(parsed.disable, vec!["el-1"]);
    }

    #[test]
    fn check_rule_uses_the_loader() {
        let ok = OutRule::remove("a".into(), Category::Other, "div.x > p".into());
        assert_eq!(check_rule(&ok, true), Ok(()));
        let bad = OutRule::remove("a".into(), Category::Other, "div + p".into());
        assert!(check_rule(&bad, true).unwrap_err().contains("bad selector"));
        let bad_re =
            OutRule::remove_matching("a".into(), Category::Other, "(?=x)".into(), "div".into());
        assert!(
            check_rule(&bad_re, false)
                .unwrap_err()
                .contains("bad regex")
        );
    }

    #[test]
    fn keep_rules_are_chrome_and_checked_by_the_loader() {
        let k = OutRule::keep("k".into(), "article".into());
        assert_eq!(k.category, "chrome");
        assert_eq!(check_rule(&k, false), Ok(()));
        let bad = check_rule(&OutRule::keep("k".into(), "a ~ b".into()), false).unwrap_err();
        assert!(bad.contains("bad selector"), "{bad}");
        let f = OutFile {
            name: "x.toml".into(),
            scope: Scope::Domains(vec!["example.com".into()]),
            disable: vec![],
            except_domains: vec![],
            subdomains: None,
            rules: vec![k, OutRule::remove("r".into(), Category::Other, ".x".into())],
            header: vec![],
        };
        assert!(f.to_toml().contains("keep = \"article\""));
        assert_eq!(f.check(), Ok(()));
        let parsed = parse_file(Path::new("x.toml"), &f.to_toml()).expect("loads");
        assert_eq!(parsed.rules().len(), 2);
    }

    #[test]
    fn hashes_are_stable() {
        assert_eq!(stable_hash(".newsletter"), stable_hash(".newsletter"));
        assert_ne!(stable_hash(".newsletter"), stable_hash(".newsletters"));
        assert_eq!(stable_hash("").len(), 12);
        // FNV-1a of the empty string is the offset basis.
        assert_eq!(stable_hash(""), "cbf29ce48422");
    }

    #[test]
    fn categories_from_names() {
        assert_eq!(guess_category("newsletter-box"), Category::Newsletter);
        assert_eq!(guess_category("share-buttons"), Category::Social);
        assert_eq!(guess_category("related_posts"), Category::Related);
        assert_eq!(guess_category("site-footer"), Category::Chrome);
        assert_eq!(guess_category("xyz"), Category::Other);
    }

    #[test]
    fn comment_sections_are_chrome_even_beside_other_words() {
        assert_eq!(guess_category("comments"), Category::Chrome);
        assert_eq!(
            guess_category("//div[@id='disqus_thread']"),
            Category::Chrome
        );
        assert_eq!(guess_category("share-and-comments"), Category::Chrome);
        assert_eq!(guess_category("Comment-Form"), Category::Chrome);
        assert_eq!(guess_category("share-bar"), Category::Social);
    }
}
