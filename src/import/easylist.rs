//! `pare import easylist`: the cosmetic filters of EasyList-style lists → pare rule files.
//!
//! What converts:
//! - `##sel` (every site) → one rule in a generic file per list, id `el-<hash of sel>`;
//! - `a.com,b.com##sel` → the same rule in each site's file `<domain>.easylist.toml`;
//! - `~a.com##sel` → a generic rule that `a.com`'s file disables;
//! - `#@#sel` exceptions → the generic rule dropped (no domain), or disabled for the
//!   domain (`disable = [id]`), or the site's own rule dropped;
//! - `sel:has-text(text)` (`##` or `#?#`) → `remove_containing = ["text"]`, `within = "sel"`;
//!   `sel:has-text(/re/i)` → `remove_matching` (pare matches normalized, lowercased text,
//!   so the regex is made case-insensitive);
//! - `sel:remove()` → `remove = "sel"`.
//!
//! What does not: network filters (skipped), scriptlets (`##+js`), CSS injection
//! (`#$#`, `:style()`), HTML filters (`##^`), procedural operators other than
//! `:has-text` (`:has`, `:upward`, `:xpath`, …), and selectors lol_html refuses
//! (sibling combinators, `:last-child`, …). Each is reported with its reason.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::{OutFile, OutRule, Report, Scope, check_rule, stable_hash};
use crate::rules::{Category, selectors_unchecked};

/// Choices for an EasyList import.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// One category for every rule, instead of the one guessed from each list's name.
    pub category: Option<Category>,
    /// Also convert generic filters the engine cannot index (combinators, `:nth-child`…).
    /// Each costs lol_html time on every tag of every page: a hundred of them more than
    /// halve the throughput, so they are left out unless asked for.
    pub slow_generic: bool,
}

/// Does the engine match every selector of this rule through its index (not lol_html)?
pub fn indexable(rule: &OutRule) -> bool {
    [&rule.remove, &rule.within, &rule.unwrap]
        .into_iter()
        .flatten()
        .all(|s| selectors_unchecked(s).complex.is_empty())
}

/// The category of a list's rules, from the list's file name.
pub fn category_of_list(path: &Path) -> Category {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.contains("cookie") {
        Category::Consent
    } else if name.contains("newsletter") {
        Category::Newsletter
    } else if name.contains("social") {
        Category::Social
    } else if name.contains("annoyance") {
        Category::Promo
    } else {
        // Notifications (push prompts, app banners) and anything unknown.
        Category::Other
    }
}

/// The generic file a list's rules go to: `easylist-<list name>.toml`.
pub fn generic_file_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if clean.starts_with("easylist") {
        format!("{clean}.toml")
    } else {
        format!("easylist-{clean}.toml")
    }
}

/// A site's file: `<domain>.easylist.toml`.
pub fn site_file_name(domain: &str) -> String {
    format!("{domain}.easylist.toml")
}

/// Generic rules per file. The rule loader finds each rule's line by counting from the
/// top of its file, so loading one file costs rules × size: tens of thousands of rules in
/// one file take seconds, in files of a thousand a few milliseconds each.
pub const GENERIC_FILE_RULES: usize = 250;

/// The id of the rule made from a filter's body (`.promo`, `div:has-text(x)`).
pub fn rule_id(body: &str) -> String {
    format!("el-{}", stable_hash(body.trim()))
}

/// What kind of line a filter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Hide,
    Exception,
}

/// One cosmetic filter, read but not yet translated.
#[derive(Debug, Clone)]
struct Filter {
    at: String,
    line: String,
    kind: Kind,
    include: Vec<String>,
    exclude: Vec<String>,
    body: String,
    category: Category,
    list: usize,
}

/// A filter's body as a pare action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Translated {
    Remove(String),
    Containing { within: String, phrase: String },
    Matching { within: String, regex: String },
}

/// Why a filter does not convert: a reason class and details.
pub type Refusal = (&'static str, String);

/// Procedural (uBlock Origin / AdGuard / ABP extended) operators.
const PROCEDURAL: &[&str] = &[
    ":has-text(",
    ":-abp-contains(",
    ":contains(",
    ":-abp-has(",
    ":has(",
    ":if(",
    ":if-not(",
    ":upward(",
    ":xpath(",
    ":matches-css(",
    ":matches-css-before(",
    ":matches-css-after(",
    ":matches-path(",
    ":matches-attr(",
    ":matches-prop(",
    ":matches-media(",
    ":min-text-length(",
    ":watch-attr(",
    ":others(",
    ":shadow(",
    ":remove(",
    ":remove-attr(",
    ":remove-class(",
    ":style(",
    ":-abp-properties(",
    ":nth-ancestor(",
];

/// Pseudo-classes lol_html does not know.
const UNSUPPORTED_PSEUDO: &[&str] = &[
    ":last-child",
    ":last-of-type",
    ":nth-last-child",
    ":nth-last-of-type",
    ":only-child",
    ":only-of-type",
    ":empty",
    ":is(",
    ":where(",
    ":root",
    ":visible",
    ":hover",
    ":focus",
    ":checked",
    ":first-line",
    ":before",
    ":after",
    ":lang(",
    ":target",
];

/// Says why lol_html refuses a selector, in the report's words.
pub fn why_refused(sel: &str, err: &str) -> Refusal {
    let lower = sel.to_ascii_lowercase();
    for op in PROCEDURAL {
        if lower.contains(op) {
            return ("procedural operator", op.trim_end_matches('(').to_string());
        }
    }
    let sibling = crate::rules::selector::unquoted(sel)
        .map(|(i, c, _)| (i, c))
        .find(|&(i, c)| c == '+' || (c == '~' && !sel[i + 1..].starts_with('=')))
        .map(|(_, c)| c);
    if let Some(c) = sibling {
        return ("sibling combinator", c.to_string());
    }
    for p in UNSUPPORTED_PSEUDO {
        if lower.contains(p) {
            return (
                "unsupported pseudo-class",
                p.trim_end_matches('(').to_string(),
            );
        }
    }
    if let Some(i) = lower.find(":not(") {
        let inner = &sel[i + 5..];
        if inner
            .split(')')
            .next()
            .is_some_and(|x| x.contains([' ', '>']))
        {
            return ("combinator inside :not", String::new());
        }
    }
    ("refused by lol_html", err.to_string())
}

/// Checks a selector with lol_html's parser.
fn selector(sel: &str) -> Result<String, Refusal> {
    let sel = sel.trim();
    if sel.is_empty() {
        return Err(("empty selector", String::new()));
    }
    match sel.parse::<lol_html::Selector>() {
        Ok(_) => Ok(sel.to_string()),
        Err(e) => Err(why_refused(sel, &e.to_string())),
    }
}

/// `/re/flags` of `:has-text` as a Rust regex over pare's normalized (lowercased) text.
pub fn js_regex(arg: &str) -> Option<String> {
    let rest = arg.strip_prefix('/')?;
    let end = rest.rfind('/')?;
    let (re, flags) = (&rest[..end], &rest[end + 1..]);
    if re.is_empty() || !flags.chars().all(|f| matches!(f, 'i' | 'u' | 's' | 'm')) {
        return None;
    }
    let mut out = String::from("(?i");
    for f in ['s', 'm'] {
        if flags.contains(f) {
            out.push(f);
        }
    }
    out.push(')');
    out.push_str(re);
    Some(out)
}

/// Is a `:style(…)` argument exactly `display: none` (with or without `!important` and a
/// final `;`)? Only that is hiding: `visibility: hidden` keeps the element's place and
/// lets its children show themselves, so it is not a removal.
pub fn hides(style: &str) -> bool {
    let squeezed: String = style
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    let decl = squeezed.trim_end_matches(';');
    let decl = decl.strip_suffix("!important").unwrap_or(decl);
    decl == "display:none"
}

/// Reasons of filters that are not element hiding at all, with a word of why: pare has
/// nothing they could become, and they are kept out of the share of cosmetic filters
/// converted (they are still listed as not converted).
pub const NOT_ELEMENT_HIDING: &[(&str, &str)] = &[
    (
        "scriptlet",
        "script injection, not element hiding; pare runs no scripts",
    ),
    (
        "CSS injection",
        "changes styles, not element hiding; pare removes elements",
    ),
];

/// The reason (one of [`NOT_ELEMENT_HIDING`]) when a filter's body is not element hiding.
pub fn not_element_hiding(body: &str) -> Option<&'static str> {
    let body = body.trim();
    if body.starts_with("+js(") {
        return Some("scriptlet");
    }
    if let Some(i) = body.rfind(":style(") {
        let hiding = body.ends_with(')')
            && !body[..i].contains(":style(")
            && hides(&body[i + ":style(".len()..body.len() - 1]);
        if !hiding {
            return Some("CSS injection");
        }
    }
    None
}

/// Translates a filter's body (what follows `##` or `#?#`).
pub fn translate(body: &str) -> Result<Translated, Refusal> {
    let body = body.trim();
    if let Some(kind) = not_element_hiding(body) {
        return Err((kind, String::new()));
    }
    if body.starts_with('^') {
        return Err(("HTML filter", String::new()));
    }
    if let Some(sel) = body.strip_suffix(":remove()") {
        return selector(sel).map(Translated::Remove);
    }
    if let Some(i) = body.rfind(":style(") {
        // Only `:style(display: none)` gets here: it hides the element like a plain
        // `##sel` (uBlock Origin reads it so too).
        return translate(&body[..i]);
    }
    if let Some(i) = body.rfind(":has-text(")
        && body.ends_with(')')
    {
        let sel = &body[..i];
        let arg = &body[i + ":has-text(".len()..body.len() - 1];
        if sel.trim().is_empty() {
            return Err(("has-text without a selector", String::new()));
        }
        if arg.contains(":has-text(") {
            return Err(("procedural operator", ":has-text twice".into()));
        }
        let within = selector(sel)?;
        if arg.starts_with('/') && arg.len() > 1 {
            return match js_regex(arg) {
                Some(regex) => Ok(Translated::Matching { within, regex }),
                None => Err(("regex flags", arg.to_string())),
            };
        }
        if arg.trim().is_empty() {
            return Err(("empty has-text", String::new()));
        }
        return Ok(Translated::Containing {
            within,
            phrase: arg.to_string(),
        });
    }
    selector(body).map(Translated::Remove)
}

/// Separators of cosmetic filters, longest first.
const SEPARATORS: &[(&str, Option<Kind>, &str)] = &[
    ("#@?#", Some(Kind::Exception), ""),
    ("#@$#", None, "CSS injection"),
    ("#@%#", None, "scriptlet"),
    ("#@#", Some(Kind::Exception), ""),
    ("#?#", Some(Kind::Hide), ""),
    ("#$#", None, "CSS injection"),
    ("#%#", None, "scriptlet"),
    ("##", Some(Kind::Hide), ""),
];

/// What one list line is.
enum Line {
    /// Nothing to do; counted under this name.
    Skip(&'static str),
    /// A cosmetic filter pare has no equivalent for.
    Refused(Refusal),
    Filter {
        kind: Kind,
        include: Vec<String>,
        exclude: Vec<String>,
        body: String,
    },
}

fn read_line(line: &str) -> Line {
    let line = line.trim();
    if line.is_empty() {
        return Line::Skip("empty line");
    }
    if line.starts_with('!') {
        return Line::Skip("comment");
    }
    if line.starts_with('[') && line.to_ascii_lowercase().starts_with("[adblock") {
        return Line::Skip("header");
    }
    let found = line.find('#').and_then(|start| {
        line[start..].char_indices().find_map(|(off, _)| {
            let at = start + off;
            SEPARATORS
                .iter()
                .find(|(s, _, _)| line[at..].starts_with(s))
                .map(|sep| (at, *sep))
        })
    });
    let Some((at, (sep, kind, refusal))) = found else {
        return Line::Skip("network filter");
    };
    let domains = &line[..at];
    let domain_like = domains.chars().all(|c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | ',' | '~' | '-' | '_' | '*') || !c.is_ascii()
    });
    if !domain_like {
        return Line::Skip("network filter");
    }
    let Some(kind) = kind else {
        return Line::Refused((refusal, String::new()));
    };
    let mut include = Vec::new();
    let mut exclude = Vec::new();
    for d in domains.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        match d.strip_prefix('~') {
            Some(n) => exclude.push(n.to_ascii_lowercase()),
            None => include.push(d.to_ascii_lowercase()),
        }
    }
    Line::Filter {
        kind,
        include,
        exclude,
        body: line[at + sep.len()..].trim().to_string(),
    }
}

/// Is `d` a domain pare can name (no entity wildcards like `example.*`)?
fn plain_domain(d: &str) -> bool {
    !d.is_empty() && !d.contains(['*', '/', ':', ' ']) && !d.starts_with('.') && !d.ends_with('.')
}

/// Is `sub` `parent` or below it?
fn under(sub: &str, parent: &str) -> bool {
    sub == parent || sub.ends_with(&format!(".{parent}"))
}

/// The parent domains of `d`, nearest first (`a.b.com` → `b.com`, `com`).
fn parents(d: &str) -> impl Iterator<Item = &str> {
    d.match_indices('.').map(move |(i, _)| &d[i + 1..])
}

fn make_rule(id: String, category: Category, t: &Translated, note: String) -> OutRule {
    let r = match t {
        Translated::Remove(sel) => OutRule::remove(id, category, sel.clone()),
        Translated::Containing { within, phrase } => {
            OutRule::remove_containing(id, category, vec![phrase.clone()], within.clone())
        }
        Translated::Matching { within, regex } => {
            OutRule::remove_matching(id, category, regex.clone(), within.clone())
        }
    };
    r.with_note(note)
}

/// A site's rules while they are gathered.
#[derive(Default)]
struct Site {
    rules: Vec<OutRule>,
    ids: HashSet<String>,
    disable: BTreeSet<String>,
}

/// Converts the cosmetic filters of every list in `paths`.
pub fn import(paths: &[PathBuf], opts: &Options) -> std::io::Result<(Vec<OutFile>, Report)> {
    let mut report = Report::default();
    let mut filters = Vec::new();
    let mut lists: Vec<(PathBuf, String, Category)> = Vec::new();
    for path in paths {
        let bytes = std::fs::read(path)?;
        let text = String::from_utf8_lossy(&bytes);
        let category = opts.category.unwrap_or_else(|| category_of_list(path));
        let list = lists.len();
        lists.push((path.clone(), generic_file_name(path), category));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (i, l) in text.lines().enumerate() {
            let at = format!("{}:{}", path.display(), i + 1);
            match read_line(l) {
                Line::Skip("empty line") => {}
                Line::Skip(what) => report.skip(what),
                Line::Refused((kind, detail)) => report.miss(at, l.trim(), kind, detail),
                Line::Filter {
                    kind,
                    include,
                    exclude,
                    body,
                } => filters.push(Filter {
                    at: format!("{name}:{}", i + 1),
                    line: l.trim().to_string(),
                    kind,
                    include,
                    exclude,
                    body,
                    category,
                    list,
                }),
            }
        }
    }
    report.not_applicable = NOT_ELEMENT_HIDING.to_vec();
    report.share_of = Some("cosmetic filters (element hiding: ##, #?#, #@#)");
    let files = convert(&filters, &lists, opts.slow_generic, &mut report);
    Ok((files, report))
}

/// Turns the filters of every list into files: generic rules (by id, in the order first
/// seen, each in its first list's file), then the exceptions, then one file per site.
fn convert(
    filters: &[Filter],
    lists: &[(PathBuf, String, Category)],
    slow_generic: bool,
    report: &mut Report,
) -> Vec<OutFile> {
    let mut generic_order: Vec<String> = Vec::new();
    let mut generic: HashMap<String, (usize, OutRule)> = HashMap::new();
    let mut sites: BTreeMap<String, Site> = BTreeMap::new();
    // A body translated and checked once, whatever the number of lines using it.
    let mut checked: HashMap<(String, bool), Result<Translated, Refusal>> = HashMap::new();
    let mut check = |body: &str, generic: bool, category: Category| {
        checked
            .entry((body.to_string(), generic))
            .or_insert_with(|| {
                let t = translate(body)?;
                let probe = make_rule(rule_id(body), category, &t, String::new());
                check_rule(&probe, generic).map_err(|e| ("refused by the rule loader", e))?;
                if generic && !slow_generic && !indexable(&probe) {
                    return Err((
                        "generic selector the index cannot match",
                        "lol_html would test it on every tag of every page (--slow-generic converts it)".into(),
                    ));
                }
                Ok(t)
            })
            .clone()
    };

    for f in filters.iter().filter(|f| f.kind == Kind::Hide) {
        let id = rule_id(&f.body);
        let note = format!("easylist {}", f.at);
        // Scriptlets and style changes are listed as what they are, whatever their domains.
        if let Some(kind) = not_element_hiding(&f.body) {
            report.miss(f.at.clone(), &f.line, kind, "");
            continue;
        }
        let include: Vec<&String> = f.include.iter().filter(|d| plain_domain(d)).collect();
        if include.len() < f.include.len() {
            for _ in include.len()..f.include.len() {
                report.skip("entity domain (example.*)");
            }
            if include.is_empty() {
                report.miss(
                    f.at.clone(),
                    &f.line,
                    "entity domains only",
                    "example.* names no domain",
                );
                continue;
            }
        }
        if include.is_empty() {
            let t = match check(&f.body, true, f.category) {
                Ok(t) => t,
                Err((kind, detail)) => {
                    report.miss(f.at.clone(), &f.line, kind, detail);
                    continue;
                }
            };
            if generic.contains_key(&id) {
                report.skip("duplicate filter");
            } else {
                generic_order.push(id.clone());
                generic.insert(
                    id.clone(),
                    (f.list, make_rule(id.clone(), f.category, &t, note)),
                );
                report.convert("generic ##");
            }
            for d in f.exclude.iter().filter(|d| plain_domain(d)) {
                sites
                    .entry(d.clone())
                    .or_default()
                    .disable
                    .insert(id.clone());
            }
            continue;
        }
        if f.exclude
            .iter()
            .any(|x| include.iter().any(|d| under(x, d)))
        {
            report.miss(
                f.at.clone(),
                &f.line,
                "excluded subdomain",
                "pare cannot switch a site rule off for a subdomain",
            );
            continue;
        }
        let t = match check(&f.body, false, f.category) {
            Ok(t) => t,
            Err((kind, detail)) => {
                report.miss(f.at.clone(), &f.line, kind, detail);
                continue;
            }
        };
        report.convert("site ##");
        for d in include {
            let site = sites.entry(d.clone()).or_default();
            if site.ids.insert(id.clone()) {
                site.rules
                    .push(make_rule(id.clone(), f.category, &t, note.clone()));
            }
        }
    }

    // Exceptions, once every rule is known. Each line counts once: converted when it
    // switches a rule off somewhere, not converted when a domain of it cannot.
    for f in filters.iter().filter(|f| f.kind == Kind::Exception) {
        let id = rule_id(&f.body);
        if let Some(kind) = not_element_hiding(&f.body) {
            report.miss(f.at.clone(), &f.line, kind, "");
            continue;
        }
        let include: Vec<&String> = f.include.iter().filter(|d| plain_domain(d)).collect();
        if f.include.is_empty() {
            if generic.remove(&id).is_some() {
                report.convert("generic exception (rule dropped)");
            } else {
                report.skip("exception for a filter not converted");
            }
            continue;
        }
        let mut done = false;
        let mut cannot = Vec::new();
        for d in include {
            if let Some(site) = sites.get_mut(d.as_str())
                && site.ids.remove(&id)
            {
                site.rules.retain(|r| r.id != id);
                done = true;
            }
            if generic.contains_key(&id) {
                sites
                    .entry(d.clone())
                    .or_default()
                    .disable
                    .insert(id.clone());
                done = true;
            }
            if parents(d).any(|p| sites.get(p).is_some_and(|s| s.ids.contains(&id))) {
                cannot.push(format!("`{d}`"));
            }
        }
        if !cannot.is_empty() {
            report.miss(
                f.at.clone(),
                &f.line,
                "exception below a site rule",
                format!(
                    "{} cannot switch off a rule of a parent domain's file",
                    cannot.join(", ")
                ),
            );
        } else if done {
            report.convert("exception #@#");
        } else {
            report.skip("exception for a filter not converted");
        }
    }

    // Files: one generic file per list, one file per site.
    let mut files = Vec::new();
    let list_names: Vec<String> = lists
        .iter()
        .map(|(p, _, _)| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    for (n, (_, file, _)) in lists.iter().enumerate() {
        let rules: Vec<OutRule> = generic_order
            .iter()
            .filter_map(|id| {
                generic
                    .get(id)
                    .filter(|(l, _)| *l == n)
                    .map(|(_, r)| r.clone())
            })
            .collect();
        let chunks: Vec<&[OutRule]> = rules.chunks(GENERIC_FILE_RULES).collect();
        for (k, chunk) in chunks.iter().enumerate() {
            let name = if chunks.len() == 1 {
                file.clone()
            } else {
                format!("{}-{:02}.toml", file.trim_end_matches(".toml"), k + 1)
            };
            files.push(OutFile {
                name,
                scope: Scope::Generic,
                disable: Vec::new(),
                except_domains: Vec::new(),
                subdomains: None,
                rules: chunk.to_vec(),
                header: vec![
                    format!(
                        "Imported by `pare import easylist` from `{}`: its generic cosmetic filters.",
                        list_names[n]
                    ),
                    "Rule ids are `el-` and a hash of the filter, so sites can disable them. Re-run the import rather than editing.".into(),
                ],
            });
        }
    }
    for (domain, site) in sites {
        // A generic rule dropped by a generic exception cannot be disabled.
        let disable: Vec<String> = site
            .disable
            .into_iter()
            .filter(|id| generic.contains_key(id))
            .collect();
        if site.rules.is_empty() && disable.is_empty() {
            continue;
        }
        files.push(OutFile {
            name: site_file_name(&domain),
            scope: Scope::Domains(vec![domain]),
            disable,
            except_domains: Vec::new(),
            subdomains: None,
            rules: site.rules,
            header: vec![format!(
                "Imported by `pare import easylist` from {}: this site's cosmetic filters and exceptions.",
                list_names.join(", ")
            )],
        });
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lists: &[(&str, &str)]) -> (Vec<OutFile>, Report) {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = lists
            .iter()
            .map(|(name, text)| {
                let p = dir.path().join(name);
                std::fs::write(&p, text).unwrap();
                p
            })
            .collect();
        import(&paths, &Options::default()).unwrap()
    }

    fn file<'a>(files: &'a [OutFile], name: &str) -> &'a OutFile {
        files
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
    }

    #[test]
    fn translations() {
        assert_eq!(
            translate(".a > .b"),
            Ok(Translated::Remove(".a > .b".into()))
        );
        assert_eq!(
            translate("div:remove()"),
            Ok(Translated::Remove("div".into()))
        );
        assert_eq!(
            translate(".box:has-text(Subscribe now)"),
            Ok(Translated::Containing {
                within: ".box".into(),
                phrase: "Subscribe now".into()
            })
        );
        assert_eq!(
            translate("div.x:has-text(/join (us|now)/i)"),
            Ok(Translated::Matching {
                within: "div.x".into(),
                regex: "(?i)join (us|now)".into()
            })
        );
        assert_eq!(translate(".a + .b").unwrap_err().0, "sibling combinator");
        assert_eq!(translate(".a ~ .b").unwrap_err().0, "sibling combinator");
        assert_eq!(
            translate("[class~=\"x\"]"),
            Ok(Translated::Remove("[class~=\"x\"]".into()))
        );
        assert_eq!(
            translate("div:has(> .ad)").unwrap_err(),
            ("procedural operator", ":has".into())
        );
        assert_eq!(
            translate("li:last-child").unwrap_err().0,
            "unsupported pseudo-class"
        );
        assert_eq!(
            translate("div:not(.a .b)").unwrap_err().0,
            "combinator inside :not"
        );
        assert_eq!(
            translate("body:style(overflow: auto !important)")
                .unwrap_err()
                .0,
            "CSS injection"
        );
        assert_eq!(
            translate("+js(set-constant, x, 1)").unwrap_err().0,
            "scriptlet"
        );
        assert_eq!(
            translate(".x:has-text(/(?<=a)b/)").map(|_| ()),
            Ok(()),
            "checked later by the loader"
        );
    }

    #[test]
    fn style_that_hides_is_hiding_and_other_style_is_not() {
        assert!(hides("display: none !important;"));
        assert!(hides("display:none"));
        assert!(hides(" DISPLAY : NONE "));
        assert!(!hides("display: none; overflow: auto"));
        assert!(!hides("visibility: hidden !important"));
        assert!(!hides("overflow: auto !important"));
        assert_eq!(
            translate(".promo:style(display: none !important)"),
            Ok(Translated::Remove(".promo".into()))
        );
        assert_eq!(
            translate(".promo:style(overflow: auto !important)"),
            Err(("CSS injection", String::new()))
        );
        // Hiding a pseudo-element hides no element: lol_html refuses the selector.
        assert_ne!(
            translate("body.x::after:style(display: none !important)")
                .unwrap_err()
                .0,
            "CSS injection"
        );
        assert_eq!(not_element_hiding("+js(noop)"), Some("scriptlet"));
        assert_eq!(
            not_element_hiding("html:style(overflow: auto)"),
            Some("CSS injection")
        );
        assert_eq!(not_element_hiding(".a:style(display:none)"), None);
        assert_eq!(not_element_hiding(".a"), None);
    }

    #[test]
    fn the_share_counts_cosmetic_filters_only() {
        let (files, rep) = run(&[(
            "easylist-annoyances.txt",
            "##.popup
a.com,b.com##.x
shop.*##+js(noop)
a.com##+js(noop)
\
             a.com##html:style(overflow: auto !important)
b.com##.ad:style(display: none !important)
\
             a.com,b.com#@#.popup
c.com##.a + .b
",
        )]);
        let kinds: Vec<&str> = rep.missed.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "scriptlet",
                "scriptlet",
                "CSS injection",
                "sibling combinator"
            ],
            "a scriptlet for entity domains is a scriptlet first"
        );
        assert_eq!(
            rep.converted.get("exception #@#"),
            Some(&1),
            "one exception line, however many domains"
        );
        assert_eq!(rep.converted.get("site ##"), Some(&2));
        assert_eq!(rep.share(), (4, 5), "scriptlets and CSS injection left out");
        let summary = rep.summary("easylist");
        assert!(
            summary.contains(
                "cosmetic filters (element hiding: ##, #?#, #@#): 4 of 5 converted (80.0%)\n"
            ),
            "{summary}"
        );
        assert!(
            summary.contains("      2  scriptlet (not counted in the share: script injection"),
            "{summary}"
        );
        let b = file(&files, "b.com.easylist.toml");
        assert!(b.rules.iter().any(|r| r.remove.as_deref() == Some(".ad")));
    }

    #[test]
    fn lines_are_sorted_into_kinds() {
        let (files, rep) = run(&[(
            "easylist-newsletters.txt",
            "[Adblock Plus 2.0]\n! comment\n||ads.example.com^\n/banner/news.png\n##.nl-box\n##.nl-box\n##.a + .b\nexample.com#$#body { overflow: auto }\nexample.com##+js(noop)\n",
        )]);
        assert_eq!(rep.skipped.get("header"), Some(&1));
        assert_eq!(rep.skipped.get("comment"), Some(&1));
        assert_eq!(rep.skipped.get("network filter"), Some(&2));
        assert_eq!(rep.skipped.get("duplicate filter"), Some(&1));
        let kinds: Vec<&str> = rep.missed.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds, ["CSS injection", "sibling combinator", "scriptlet"]);
        let g = file(&files, "easylist-newsletters.toml");
        assert_eq!(g.scope, Scope::Generic);
        assert_eq!(g.rules.len(), 1);
        assert_eq!(g.rules[0].id, rule_id(".nl-box"));
        assert_eq!(g.rules[0].category, "newsletter");
        assert_eq!(g.rules[0].remove.as_deref(), Some(".nl-box"));
    }

    #[test]
    fn site_filters_and_exceptions() {
        let (files, rep) = run(&[(
            "easylist-cookies.txt",
            "##.cookie-bar\n##.gdpr\na.com,b.org##.consent-wall\n~c.net##.cmp\na.com#@#.cookie-bar\n#@#.gdpr\nb.org#@#.consent-wall\nshop.*##.x\nd.com,~sub.d.com##.y\n",
        )]);
        let g = file(&files, "easylist-cookies.toml");
        let ids: Vec<&str> = g.rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [rule_id(".cookie-bar"), rule_id(".cmp")],
            ".gdpr was dropped by its generic exception"
        );
        assert!(g.rules.iter().all(|r| r.category == "consent"));
        let a = file(&files, "a.com.easylist.toml");
        assert_eq!(a.scope, Scope::Domains(vec!["a.com".into()]));
        assert_eq!(a.rules[0].remove.as_deref(), Some(".consent-wall"));
        assert_eq!(a.disable, vec![rule_id(".cookie-bar")]);
        assert!(
            !files.iter().any(|f| f.name == "b.org.easylist.toml"),
            "b.org's only rule was excepted"
        );
        let c = file(&files, "c.net.easylist.toml");
        assert!(c.rules.is_empty());
        assert_eq!(c.disable, vec![rule_id(".cmp")]);
        let kinds: Vec<&str> = rep.missed.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds, ["entity domains only", "excluded subdomain"]);
    }

    #[test]
    fn slow_generic_selectors_need_asking_for() {
        let lists = [(
            "easylist-cookies.txt",
            "##.a .bar > .x\n##.bar:not(body)\nexample.com##.a .bar > .x\n",
        )];
        let (files, rep) = run(&lists);
        let g = file(&files, "easylist-cookies.toml");
        assert_eq!(
            g.rules.len(),
            1,
            "`:not(compound)` and two-compound combinators are indexed, three compounds are not"
        );
        assert_eq!(g.rules[0].remove.as_deref(), Some(".bar:not(body)"));
        assert_eq!(
            file(&files, "example.com.easylist.toml").rules.len(),
            1,
            "site rules may be slow"
        );
        assert_eq!(
            rep.missed[0].kind,
            "generic selector the index cannot match"
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(lists[0].0);
        std::fs::write(&p, lists[0].1).unwrap();
        let opts = Options {
            slow_generic: true,
            ..Options::default()
        };
        let (files, _) = import(&[p], &opts).unwrap();
        assert_eq!(file(&files, "easylist-cookies.toml").rules.len(), 2);
    }

    #[test]
    fn a_selector_in_two_lists_is_one_rule() {
        let (files, _) = run(&[
            ("easylist-social.txt", "##.share\n"),
            ("easylist-annoyances.txt", "##.share\n##.popup\n"),
        ]);
        assert_eq!(file(&files, "easylist-social.toml").rules.len(), 1);
        let ann = file(&files, "easylist-annoyances.toml");
        assert_eq!(ann.rules.len(), 1);
        assert_eq!(ann.rules[0].category, "promo");
    }

    #[test]
    fn names_and_categories_of_lists() {
        assert_eq!(
            generic_file_name(Path::new("x/easylist-cookies.txt")),
            "easylist-cookies.toml"
        );
        assert_eq!(
            generic_file_name(Path::new("fanboy social.txt")),
            "easylist-fanboy-social.toml"
        );
        assert_eq!(
            category_of_list(Path::new("easylist-notifications.txt")),
            Category::Other
        );
        assert_eq!(js_regex("/a/g"), None);
        assert_eq!(js_regex("/a/"), Some("(?i)a".into()));
    }
}
