//! `pare import ftr`: FiveFilters Full-Text RSS site configs → pare site files.
//!
//! A site config is a text file named after a host (`example.com.txt`, or
//! `.example.com.txt` for every subdomain) holding `directive: value` lines. The
//! directives that remove or reshape parts of a page translate: `strip` (XPath),
//! `strip_id_or_class`, `strip_image_src`, `strip_attr`, `dissolve`, and `body` (which
//! becomes a `keep` rule). Directives about fetching and metadata (`title`, `date`,
//! `test_url`, `http_header`, login…) have nothing to clean and are skipped; rewriting
//! the source (`find_string`/`replace_string`, `wrap_in`) has no pare equivalent and is
//! reported as not converted. `global.txt` becomes a generic file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::xpath;
use super::{OutFile, OutRule, Report, Scope, check_rule, guess_category};
use crate::rules::Category;

/// Choices for a FiveFilters import.
#[derive(Debug, Clone)]
pub struct Options {
    /// Turn `body:` into `keep` rules (category `chrome`, off by default).
    pub keep_body: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { keep_body: true }
    }
}

/// Which pages a site config is for, from its file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `global.txt`: every page.
    Global,
    /// `example.com.txt`: example.com (FiveFilters also tries it for www.example.com).
    Host(String),
    /// `.example.com.txt`: any subdomain of example.com.
    Subdomains(String),
}

/// Reads a site config's file name. `None` for files that are not site configs.
pub fn target_of(path: &Path) -> Option<Target> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".txt")?.to_ascii_lowercase();
    if stem == "global" {
        return Some(Target::Global);
    }
    let (wild, host) = match stem.strip_prefix('.') {
        Some(h) => (true, h.to_string()),
        None => (false, stem),
    };
    let valid = host.contains('.')
        && !host.starts_with('.')
        && !host.ends_with('.')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || !c.is_ascii());
    if !valid {
        return None;
    }
    Some(if wild {
        Target::Subdomains(host)
    } else {
        Target::Host(host)
    })
}

/// Lists the `.txt` files of `paths` (folders are read one level deep), sorted.
pub fn collect_inputs(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "txt") && p.is_file())
                .collect();
            v.sort();
            out.extend(v);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Splits `key: value` (keys may carry an argument: `replace_string(<h2): …`).
pub fn split_directive(line: &str) -> Option<(&str, &str)> {
    let key_len = line
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(line.len(), |(i, _)| i);
    if key_len == 0 {
        return None;
    }
    let mut end = key_len;
    if line[end..].starts_with('(') {
        end += line[end..].find("):")? + 1;
    }
    let rest = line[end..].trim_start();
    let value = rest.strip_prefix(':')?;
    Some((&line[..end], value.trim()))
}

/// Directives about fetching, metadata or tests: nothing to clean.
const IGNORED: &[&str] = &[
    "title",
    "author",
    "date",
    "test_url",
    "test_contains",
    "prune",
    "tidy",
    "autodetect_on_failure",
    "next_page_link",
    "single_page_link",
    "single_page_link_in_feed",
    "login_uri",
    "login_username_field",
    "login_password_field",
    "login_extra_fields",
    "not_logged_in_xpath",
    "requires_login",
    "skip_json_ld",
    "insert_detected_image",
    "native_ad_clue",
    "parser",
    "convert_double_br_tags",
    "src_lazy_load_attr",
    "if_page_contains",
    "http_header",
    "skip_id_or_class",
];

/// Converts one site config's text. `source` names it in the report.
pub fn convert_config(
    source: &str,
    text: &str,
    target: &Target,
    opts: &Options,
    report: &mut Report,
) -> Vec<OutRule> {
    let generic = *target == Target::Global;
    let prefix = if generic { "ftr-global-" } else { "ftr-" };
    let mut rules: Vec<OutRule> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("{source}:{}", i + 1);
        let Some((key, value)) = split_directive(line) else {
            report.skip("not a directive");
            continue;
        };
        let base = key.split('(').next().unwrap_or(key).to_ascii_lowercase();
        let id = format!("{prefix}{}", rules.len() + 1);
        let note = format!("ftr {line}");
        let rule = match base.as_str() {
            "strip" => {
                xpath::to_css(value).map(|css| OutRule::remove(id, guess_category(value), css))
            }
            "strip_id_or_class" => {
                let v = value.trim_matches(|c| c == '"' || c == '\'');
                if v.is_empty() {
                    report.miss(at, line, "empty value", "");
                    continue;
                }
                let q = xpath::css_string(v);
                Ok(OutRule::remove(
                    id,
                    guess_category(v),
                    format!("[class*={q}], [id*={q}]"),
                ))
            }
            "strip_image_src" => {
                if value.is_empty() {
                    report.miss(at, line, "empty value", "");
                    continue;
                }
                let q = xpath::css_string(value);
                Ok(OutRule::remove(
                    id,
                    guess_category(value),
                    format!("img[src*={q}]"),
                ))
            }
            "strip_attr" | "post_strip_attr" => match xpath::to_css_and_attribute(value) {
                // FiveFilters' global `post_strip_attr: //*/@class` tidies its own
                // extracted text; on a whole saved page it would strip every class
                // of every element, and with them the page's styles.
                Ok((css, attr)) if css.trim() == "*" => {
                    report.miss(
                        at,
                        line,
                        "every element",
                        format!(
                            "dropping `{attr}` from every element would restyle the whole page"
                        ),
                    );
                    continue;
                }
                r => r.map(|(css, attr)| {
                    OutRule::drop_attributes(id, Category::Other, vec![attr], css)
                }),
            },
            "dissolve" => xpath::to_css(value).map(|css| OutRule::unwrap(id, Category::Other, css)),
            "body" if !opts.keep_body => {
                report.skip("body (keep rules turned off)");
                continue;
            }
            "body" => xpath::to_css(value).map(|css| keep_rule(id, css)),
            "find_string" | "replace_string" => {
                report.miss(
                    at,
                    line,
                    "find/replace",
                    "rewrites the source; pare has no equivalent",
                );
                continue;
            }
            "wrap_in" => {
                report.miss(
                    at,
                    line,
                    "wrap_in",
                    "wraps elements in a new tag; pare has no equivalent",
                );
                continue;
            }
            k if IGNORED.contains(&k) => {
                report.skip("metadata, fetching or test directive");
                continue;
            }
            _ => {
                report.skip("unknown directive");
                continue;
            }
        };
        match rule {
            Ok(r) => {
                let r = r.with_note(note);
                match check_rule(&r, generic) {
                    Ok(()) => {
                        report.convert(&base);
                        rules.push(r);
                    }
                    Err(e) => report.miss(at, line, "refused by lol_html", e),
                }
            }
            Err(e) => report.miss(at, line, format!("xpath: {}", e.kind), e.detail),
        }
    }
    rules
}

/// A FiveFilters `body:` as a pare `keep` rule.
pub fn keep_rule(id: String, css: String) -> OutRule {
    OutRule::keep(id, css)
}

/// The output file name for a site config.
pub fn file_name(target: &Target) -> String {
    match target {
        Target::Global => "ftr-global.toml".into(),
        Target::Host(h) => format!("{h}.ftr.toml"),
        Target::Subdomains(h) => format!("_.{h}.ftr.toml"),
    }
}

/// Converts every site config in `paths` (files, or folders of `.txt` files).
pub fn import(paths: &[PathBuf], opts: &Options) -> std::io::Result<(Vec<OutFile>, Report)> {
    let mut report = Report::default();
    let mut files = Vec::new();
    let mut hosts: BTreeSet<String> = BTreeSet::new();
    for path in collect_inputs(paths)? {
        let Some(target) = target_of(&path) else {
            report.skip("file not named after a host");
            continue;
        };
        let text = match std::fs::read(&path) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                report.miss(path.display().to_string(), "", "unreadable", e.to_string());
                continue;
            }
        };
        let source = path.display().to_string();
        let rules = convert_config(&source, &text, &target, opts, &mut report);
        // As FiveFilters matches: `example.com.txt` is example.com (and www.) alone,
        // `.example.com.txt` the hosts one label below it.
        let scope = match &target {
            Target::Global => Scope::Generic,
            Target::Host(h) => {
                hosts.insert(h.clone());
                Scope::Domains(vec![h.clone()])
            }
            Target::Subdomains(h) => Scope::Domains(vec![format!("*.{h}")]),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        files.push(OutFile {
            name: file_name(&target),
            scope,
            disable: Vec::new(),
            except_domains: Vec::new(),
            subdomains: (target != Target::Global).then_some(false),
            rules,
            header: vec![
                format!("Imported by `pare import ftr` from FiveFilters ftr-site-config `{name}`."),
                "Each rule's note holds the directive it came from. Re-run the import rather than editing.".into(),
            ],
        });
    }
    // FiveFilters uses only the most specific config for a host; pare applies every file
    // whose `domains` covers it. So a `.example.com` file leaves the hosts below it that
    // have a config of their own to those (`except_domains`), and each page gets one
    // site's rules.
    let mut nested = 0;
    for f in &mut files {
        let Scope::Domains(d) = &f.scope else {
            continue;
        };
        let Some(domain) = d.first() else {
            continue;
        };
        f.except_domains = hosts
            .iter()
            .filter(|h| *h != domain && crate::rules::entry_covers(domain, h, false))
            .cloned()
            .collect();
        if !f.except_domains.is_empty() {
            nested += 1;
        }
    }
    if nested > 0 {
        report.notes.push(format!(
            "{nested} configs have more specific configs below them: as in FiveFilters, those \
             hosts get only their own (`except_domains`)"
        ));
    }
    Ok((files, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_targets() {
        assert_eq!(
            target_of(Path::new("d/example.com.txt")),
            Some(Target::Host("example.com".into()))
        );
        assert_eq!(
            target_of(Path::new(".Example.com.txt")),
            Some(Target::Subdomains("example.com".into()))
        );
        assert_eq!(target_of(Path::new("global.txt")), Some(Target::Global));
        assert_eq!(target_of(Path::new("LICENSE.txt")), None);
        assert_eq!(target_of(Path::new("README.md")), None);
        assert_eq!(
            file_name(&Target::Subdomains("example.com".into())),
            "_.example.com.ftr.toml"
        );
    }

    #[test]
    fn directives_split_at_the_first_colon_after_the_key() {
        assert_eq!(
            split_directive("strip: //div[@a='b:c']"),
            Some(("strip", "//div[@a='b:c']"))
        );
        assert_eq!(split_directive("strip://p"), Some(("strip", "//p")));
        assert_eq!(
            split_directive("replace_string(<h2): <h3"),
            Some(("replace_string(<h2)", "<h3"))
        );
        assert_eq!(
            split_directive("http_header(user-agent): x"),
            Some(("http_header(user-agent)", "x"))
        );
        assert_eq!(split_directive("no directive here"), None);
    }

    #[test]
    fn converts_the_cleaning_directives() {
        let text = "\
# a comment
title: //h1
strip: //div[@class='share-bar']
strip_id_or_class: newsletter
strip_image_src: pixel.gif
strip_attr: //img/@srcset
dissolve: //span[@class='wrap']
body: //article
find_string: <b>
replace_string: <strong>
strip: //h2/following-sibling::p
";
        let mut rep = Report::default();
        let rules = convert_config(
            "x.txt",
            text,
            &Target::Host("x.com".into()),
            &Options::default(),
            &mut rep,
        );
        let got: Vec<(String, String)> = rules
            .iter()
            .map(|r| {
                let action = r
                    .remove
                    .clone()
                    .or(r.unwrap.clone())
                    .or(r.keep.clone())
                    .or(r.selector.clone())
                    .unwrap();
                (r.category.clone(), action)
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("social".into(), r#"div[class="share-bar"]"#.into()),
                (
                    "newsletter".into(),
                    r#"[class*="newsletter"], [id*="newsletter"]"#.into()
                ),
                ("tracking".into(), r#"img[src*="pixel.gif"]"#.into()),
                ("other".into(), "img".into()),
                ("other".into(), r#"span[class="wrap"]"#.into()),
                ("chrome".into(), "article".into()),
            ]
        );
        assert_eq!(rules[3].drop_attributes, Some(vec!["srcset".to_string()]));
        assert_eq!(
            rules.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["ftr-1", "ftr-2", "ftr-3", "ftr-4", "ftr-5", "ftr-6"]
        );
        assert_eq!(
            rules[0].note.as_deref(),
            Some("ftr strip: //div[@class='share-bar']")
        );
        let kinds: Vec<&str> = rep.missed.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds, ["find/replace", "find/replace", "xpath: axis"]);
        assert_eq!(rep.missed[2].at, "x.txt:11");
        assert_eq!(
            rep.skipped.get("metadata, fetching or test directive"),
            Some(&1)
        );
    }

    #[test]
    fn attributes_are_not_dropped_from_every_element() {
        let mut rep = Report::default();
        let rules = convert_config(
            "global.txt",
            "post_strip_attr: //*/@class\nstrip_attr: //iframe/@srcdoc\n",
            &Target::Global,
            &Options::default(),
            &mut rep,
        );
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].selector.as_deref(), Some("iframe"));
        assert_eq!(rules[0].drop_attributes, Some(vec!["srcdoc".to_string()]));
        assert_eq!(rep.missed.len(), 1);
        assert_eq!(rep.missed[0].kind, "every element");
        assert_eq!(rep.missed[0].at, "global.txt:1");
        assert_eq!(
            rep.missed[0].detail,
            "dropping `class` from every element would restyle the whole page"
        );
    }

    #[test]
    fn body_can_be_left_out() {
        let mut rep = Report::default();
        let opts = Options { keep_body: false };
        let rules = convert_config(
            "x.txt",
            "body: //article\n",
            &Target::Host("x.com".into()),
            &opts,
            &mut rep,
        );
        assert!(rules.is_empty());
        assert_eq!(rep.skipped.get("body (keep rules turned off)"), Some(&1));
    }

    #[test]
    fn global_rules_get_their_own_ids() {
        let mut rep = Report::default();
        let rules = convert_config(
            "global.txt",
            "strip_id_or_class: ad-slot\n",
            &Target::Global,
            &Options::default(),
            &mut rep,
        );
        assert_eq!(rules[0].id, "ftr-global-1");
    }
}
