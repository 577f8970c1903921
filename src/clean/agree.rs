//! Two matchers must agree: for every selector form the index handles, the elements
//! pare's selector index picks (from attributes it reads itself, on its own stack of
//! open elements) are the elements lol_html's own selector matching picks, on generated
//! pages and on the golden fixtures.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use lol_html::{ElementContentHandlers, HtmlRewriter, Settings};

use super::find::index_matches;
use crate::rules::compile::{Compiled, Target};

/// One selector of each form the index handles (tags, classes, ids, every attribute
/// operator with and without `i`, compounds, `:not(compound)`, `A B` and `A > B`).
const SELECTORS: &[&str] = &[
    "div",
    "li",
    "custom-el",
    "DIV",
    ".promo",
    ".Promo",
    "div.promo",
    ".promo.box",
    "#main",
    "section#main",
    "[data-kind]",
    "a[href]",
    "[DATA-KIND]",
    "[role=banner]",
    "[role='BANNER' i]",
    "[data-kind=\"promo-box\"]",
    "[class~=ad]",
    "[title~=b]",
    "[lang|=en]",
    "[href^='https://ads']",
    "[class^=pro]",
    "[id^=ma]",
    "[href$='/x']",
    "[class$=box]",
    "[class*=romo]",
    "[data-kind*=box]",
    "[href*=ADS i]",
    "[id=main]",
    "[class=promo]",
    ".promo:not(div)",
    "div:not(.box)",
    "li:not([role])",
    "div p",
    "div > p",
    "ul > li",
    "article .promo",
    "section#main > .box",
    "aside a[href]",
    ".promo span",
    "li > a",
];

/// The rules: one `remove` per selector, rule `i` for `SELECTORS[i]`.
fn compiled() -> Arc<Compiled> {
    let mut text = String::from("generic = true\n");
    for (i, s) in SELECTORS.iter().enumerate() {
        text.push_str(&format!(
            "[[rule]]\nid = 'r{i}'\ncategory = 'promo'\nremove = '''{s}'''\n"
        ));
    }
    let rules = crate::rules::parse_file(Path::new("agree.toml"), &text)
        .expect("valid selectors")
        .rules()
        .to_vec();
    let c = Compiled::new(rules, Vec::new());
    assert!(
        c.parts[0].complex.is_empty(),
        "every selector here must be one the index handles"
    );
    Arc::new(c)
}

/// (selector number, element start) of every match, by pare's index.
fn by_index(rules: &Arc<Compiled>, html: &str) -> BTreeSet<(u32, u64)> {
    index_matches(rules.clone(), html.as_bytes())
        .into_iter()
        .filter_map(|(at, t)| match t {
            Target::Remove(n) => Some((n, at)),
            _ => None,
        })
        .collect()
}

/// The same, by lol_html's own selector matching.
fn by_lol_html(html: &str) -> BTreeSet<(u32, u64)> {
    let seen = Rc::new(RefCell::new(BTreeSet::new()));
    let mut settings = Settings::new().with_strict(false);
    for (i, s) in SELECTORS.iter().enumerate() {
        let seen = seen.clone();
        settings = settings.append_element_content_handler((
            std::borrow::Cow::Owned(s.parse::<lol_html::Selector>().unwrap()),
            ElementContentHandlers::default().element(
                move |el: &mut lol_html::html_content::Element<'_, '_>| {
                    let at = el.source_location().bytes().start as u64;
                    seen.borrow_mut().insert((i as u32, at));
                    Ok(())
                },
            ),
        ));
    }
    let mut rw = HtmlRewriter::new(settings, |_: &[u8]| {});
    rw.write(html.as_bytes()).unwrap();
    rw.end().unwrap();
    Rc::try_unwrap(seen).unwrap().into_inner()
}

/// Checks one page; returns the selectors that matched something.
fn check(rules: &Arc<Compiled>, name: &str, html: &str) -> BTreeSet<u32> {
    let mine = by_index(rules, html);
    let theirs = by_lol_html(html);
    if mine != theirs {
        let show = |set: &BTreeSet<(u32, u64)>, other: &BTreeSet<(u32, u64)>| {
            set.difference(other)
                .take(5)
                .map(|&(n, at)| {
                    let tag: String = html[at as usize..].chars().take(60).collect();
                    format!("  `{}` at {at}: {tag}", SELECTORS[n as usize])
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "{name}: the index and lol_html disagree\nonly the index:\n{}\nonly lol_html:\n{}",
            show(&mine, &theirs),
            show(&theirs, &mine)
        );
    }
    mine.into_iter().map(|(n, _)| n).collect()
}

/// A small deterministic generator of messy pages: nested elements from a few tags,
/// classes, ids and attributes, written in every quoting style and case, with void
/// elements, unclosed `p` and `li`, and stray end tags.
fn page(seed: u64) -> String {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = |n: usize| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((x >> 33) as usize) % n
    };
    const TAGS: &[&str] = &[
        "div",
        "p",
        "span",
        "a",
        "section",
        "ul",
        "li",
        "article",
        "aside",
        "em",
        "custom-el",
        "DIV",
        "h2",
        "table",
        "td",
    ];
    const VOID: &[&str] = &["img", "br", "input"];
    const CLASSES: &[&str] = &[
        "promo",
        "box",
        "ad",
        "Promo",
        "promo box",
        "x-promo-box",
        "ad promo",
        "",
    ];
    const ATTRS: &[(&str, &[&str])] = &[
        ("data-kind", &["promo-box", "box", "", "PROMO-BOX"]),
        (
            "href",
            &["https://ads.example/x", "/x", "https://ADS.example", "/y"],
        ),
        ("role", &["banner", "BANNER", "main"]),
        ("lang", &["en", "en-US", "fr", "english"]),
        ("title", &["a b", "b", "ab"]),
        ("DATA-KIND", &["box"]),
    ];
    let mut out = String::from("<!doctype html><html><body>");
    let mut open: Vec<&str> = Vec::new();
    for _ in 0..120 {
        match next(10) {
            0..=4 => {
                let t = TAGS[next(TAGS.len())];
                out.push('<');
                out.push_str(t);
                let attr = |out: &mut String, name: &str, v: &str, style: usize| match style {
                    0 => out.push_str(&format!(" {name}=\"{v}\"")),
                    1 => out.push_str(&format!(" {name}='{v}'")),
                    _ if !v.is_empty() && !v.contains(' ') => out.push_str(&format!(" {name}={v}")),
                    _ => out.push_str(&format!(" {name}=\"{v}\"")),
                };
                if next(2) == 0 {
                    let style = next(3);
                    attr(&mut out, "class", CLASSES[next(CLASSES.len())], style);
                }
                if next(4) == 0 {
                    let style = next(3);
                    attr(
                        &mut out,
                        ["id", "ID"][next(2)],
                        ["main", "mast", "x"][next(3)],
                        style,
                    );
                }
                for _ in 0..next(3) {
                    let (name, vals) = ATTRS[next(ATTRS.len())];
                    let style = next(3);
                    attr(&mut out, name, vals[next(vals.len())], style);
                }
                if next(8) == 0 {
                    out.push_str(" class=\"second\""); // a repeated attribute: the first counts
                }
                out.push('>');
                open.push(t);
            }
            5 => {
                out.push_str(&format!("<{}>", VOID[next(VOID.len())]));
            }
            6 | 7 => {
                if let Some(t) = open.pop()
                    && !(matches!(t, "p" | "li") && next(3) == 0)
                {
                    out.push_str(&format!("</{t}>"));
                }
            }
            8 => out.push_str("text "),
            _ => out.push_str(["</span>", "</p>", "<!-- <div class=promo> -->", "</x>"][next(4)]),
        }
    }
    while let Some(t) = open.pop() {
        out.push_str(&format!("</{t}>"));
    }
    out.push_str("</body></html>");
    out
}

#[test]
fn the_index_agrees_with_lol_html_on_generated_pages() {
    let rules = compiled();
    let mut matched = BTreeSet::new();
    for seed in 0..300 {
        matched.extend(check(
            &rules,
            &format!("generated page {seed}"),
            &page(seed),
        ));
    }
    // The pages exercise every selector: none agrees by matching nothing anywhere.
    let never: Vec<&str> = (0..SELECTORS.len() as u32)
        .filter(|n| !matched.contains(n))
        .map(|n| SELECTORS[n as usize])
        .collect();
    assert!(never.is_empty(), "never matched: {never:?}");
}

#[test]
fn the_index_agrees_with_lol_html_on_the_fixtures() {
    let rules = compiled();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let input = entry.unwrap().path().join("input.html");
        let Ok(bytes) = std::fs::read(&input) else {
            continue;
        };
        // lol_html is run on UTF-8 here; other fixtures test encodings, not matching.
        let Ok(html) = String::from_utf8(bytes) else {
            continue;
        };
        check(&rules, &input.display().to_string(), &html);
        n += 1;
    }
    assert!(n >= 5, "only {n} fixtures read");
}
