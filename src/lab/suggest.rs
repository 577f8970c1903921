//! `pare suggest`: finds blocks that read like clutter ("newsletter", "subscribe",
//! "support our journalism", …) but that no rule removed, and prints a ready-to-paste
//! `[[rule]]` for each, with the narrowest selector that matches that block alone.
//!
//! The page is cleaned first with the rules in force, so only what is left is looked
//! at. A block is only suggested when it (or an element a little larger around it) has a
//! stable class or id — words, not the random-looking hashes of generated CSS — because
//! a rule keyed on a hash breaks with the site's next deploy.

use std::cell::RefCell;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::rc::Rc;

use lol_html::html_content::TextType;
use lol_html::{DocumentContentHandlers, HtmlRewriter, Settings};

use crate::clean::{self, Input, Options};
use crate::rules::{Category, RuleBook};

/// Phrases that give a block away, with the category a rule removing it belongs to.
/// Normalized (lowercase, ASCII quotes).
pub const PHRASES: &[(&str, Category)] = &[
    ("newsletter", Category::Newsletter),
    ("sign up", Category::Newsletter),
    ("in your inbox", Category::Newsletter),
    ("already a subscriber", Category::Paywall),
    ("subscribe", Category::Paywall),
    ("subscription", Category::Paywall),
    ("log in to continue", Category::Paywall),
    ("continue reading", Category::Paywall),
    ("member-only", Category::Paywall),
    ("members only", Category::Paywall),
    ("become a member", Category::Donation),
    ("donate", Category::Donation),
    ("donation", Category::Donation),
    ("support our journalism", Category::Donation),
    ("support independent", Category::Donation),
    ("support us", Category::Donation),
    ("related articles", Category::Related),
    ("related stories", Category::Related),
    ("read more", Category::Related),
    ("you might also like", Category::Related),
    ("recommended for you", Category::Related),
    ("most popular", Category::Related),
    ("advertisement", Category::Promo),
    ("sponsored", Category::Promo),
    ("share this", Category::Social),
    ("follow us", Category::Social),
    ("cookies", Category::Consent),
];

/// Longest block text (normalized bytes) worth suggesting: beyond this it is no longer
/// "a block of clutter" but a section of the page.
const MAX_TEXT: usize = 400;

/// One proposed rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub id: String,
    pub category: Category,
    pub selector: String,
    /// How many elements of the (cleaned) page the selector matches.
    pub matches: usize,
    /// The phrase that gave the block away.
    pub phrase: &'static str,
    /// The start of the block's text.
    pub text: String,
    /// Words in the block: the rule gets a `max_words` above it, so it can never take
    /// a large part of a page whose markup changes.
    pub words: u32,
    /// The block lies outside the located article (when the locator was sure): the rule
    /// gets `where = "outside_article"`.
    pub outside_article: bool,
}

impl Suggestion {
    /// The suggestion as a TOML `[[rule]]` table, with a comment saying why.
    pub fn to_toml(&self) -> String {
        let preview: String = self.text.chars().take(70).collect();
        let matches = if self.matches == 1 {
            "matches this block only".to_string()
        } else {
            format!("matches {} elements on this page: check them", self.matches)
        };
        let mut t = format!(
            "# {matches}; says {:?}: \"{}\"\n[[rule]]\nid = \"{}\"\ncategory = \"{}\"\nremove = \"{}\"\n",
            self.phrase,
            preview.replace('"', "'"),
            self.id,
            self.category.name(),
            self.selector
        );
        // Room for the block to grow a little, never to a section of the page.
        t.push_str(&format!("max_words = {}\n", (self.words * 2).max(20)));
        if self.outside_article {
            t.push_str("where = \"outside_article\"\n");
        }
        t
    }
}

#[derive(Debug, Clone)]
struct Node {
    tag: String,
    id: Option<String>,
    classes: Vec<String>,
    parent: Option<usize>,
}

#[derive(Debug)]
struct Open {
    node: usize,
    start: u64,
    text: String,
    holds_protected: bool,
}

#[derive(Debug)]
struct Block {
    node: usize,
    start: u64,
    text: String,
    phrase: &'static str,
}

#[derive(Default)]
struct Scan {
    nodes: Vec<Node>,
    stack: Vec<Open>,
    blocks: Vec<Block>,
}

/// Is a class or id a word someone chose, rather than a generated hash?
pub fn is_stable(tok: &str) -> bool {
    let n = tok.len();
    if !(3..=48).contains(&n) || !tok.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return false;
    }
    if !tok
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return false;
    }
    if tok.chars().filter(char::is_ascii_digit).count() > 2 {
        return false;
    }
    let lower = tok.to_ascii_lowercase();
    if [
        "css-", "sc-", "jsx-", "svelte-", "emotion-", "styled-", "tw-",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
    {
        return false;
    }
    tok.split(['-', '_']).all(|seg| {
        let letters = seg.chars().filter(char::is_ascii_alphabetic).count();
        let vowels = seg.chars().filter(|c| "aeiouyAEIOUY".contains(*c)).count();
        // "xkq7z" or "bHdTrw": no vowels in a longer run of letters reads as a hash.
        !((letters >= 5 && vowels == 0) || (seg.len() >= 6 && vowels * 6 < letters))
    })
}

/// Headers, footers, menus: site chrome, which has its own (off by default) category
/// and is no clutter to suggest removing.
fn is_chrome(n: &Node) -> bool {
    matches!(n.tag.as_str(), "header" | "footer" | "nav" | "menu")
        || n.id.iter().chain(n.classes.iter()).any(|t| {
            let t = t.to_ascii_lowercase();
            ["header", "footer", "nav", "menu", "masthead"]
                .iter()
                .any(|w| t.contains(w))
        })
}

fn phrase_in(text: &str) -> Option<&'static str> {
    PHRASES.iter().map(|(p, _)| *p).find(|p| text.contains(p))
}

fn category_of(phrase: &str) -> Category {
    PHRASES
        .iter()
        .find(|(p, _)| *p == phrase)
        .map_or(Category::Other, |(_, c)| *c)
}

impl Scan {
    fn start(
        &mut self,
        tag: String,
        id: Option<String>,
        classes: Vec<String>,
        start: u64,
    ) -> usize {
        let parent = self.stack.last().map(|o| o.node);
        let protected = matches!(tag.as_str(), "article" | "main" | "body" | "html");
        if protected {
            for o in &mut self.stack {
                o.holds_protected = true;
            }
        }
        self.nodes.push(Node {
            tag,
            id,
            classes,
            parent,
        });
        self.stack.push(Open {
            node: self.nodes.len() - 1,
            start,
            text: String::new(),
            holds_protected: protected,
        });
        self.stack.len() - 1
    }

    fn text(&mut self, chunk: &str) {
        for o in &mut self.stack {
            if o.text.len() <= MAX_TEXT * 2 {
                o.text.push_str(chunk);
            }
        }
    }

    fn end(&mut self, depth: usize) {
        if depth >= self.stack.len() {
            return;
        }
        let o = self.stack.remove(depth);
        let rest = self.stack.split_off(depth);
        // Elements closed implicitly by this end tag go too.
        drop(rest);
        let text = crate::text::normalize(&o.text);
        let node = &self.nodes[o.node];
        let named =
            node.id.as_deref().is_some_and(is_stable) || node.classes.iter().any(|c| is_stable(c));
        let Some(phrase) = phrase_in(&text) else {
            return;
        };
        if o.holds_protected || text.len() > MAX_TEXT || !named || is_chrome(node) {
            return;
        }
        // Blocks already found inside this one: take this one instead when it is not
        // much bigger (the whole promo rather than its heading).
        let inner_from = self.blocks.partition_point(|b| b.start < o.start);
        let inner_max = self.blocks[inner_from..].iter().map(|b| b.text.len()).max();
        match inner_max {
            Some(m) if text.len() > m * 5 / 2 + 80 => {}
            _ => {
                self.blocks.truncate(inner_from);
                self.blocks.push(Block {
                    node: o.node,
                    start: o.start,
                    text,
                    phrase,
                });
            }
        }
    }
}

/// Finds the clutter-like blocks of an HTML page (already cleaned) and proposes rules.
/// `site` names the rules (`nytimes` in `nytimes-newsletter-promo`).
/// Suggestions for the blocks of `html` (already cleaned) that read like clutter.
/// `article`: the located article's byte range in `html`, when the locator was sure of
/// it — blocks in it that read as prose are never suggested, blocks outside it get
/// `where = "outside_article"`.
pub fn suggest_html(
    html: &[u8],
    site: Option<&str>,
    article: Option<(u64, u64)>,
) -> Vec<Suggestion> {
    let scan = Rc::new(RefCell::new(Scan::default()));
    let (s1, s3) = (scan.clone(), scan.clone());
    let settings = Settings::new()
        .with_strict(false)
        .append_element_content_handler(lol_html::element!("*", move |el| {
            let tag = el.tag_name().to_ascii_lowercase();
            let id = el.get_attribute("id").filter(|s| !s.trim().is_empty());
            let classes: Vec<String> = el
                .get_attribute("class")
                .map(|c| c.split_ascii_whitespace().map(str::to_string).collect())
                .unwrap_or_default();
            let start = el.source_location().bytes().start as u64;
            if let Some(handlers) = el.end_tag_handlers() {
                let depth = s1.borrow_mut().start(tag, id, classes, start);
                let s2 = s1.clone();
                handlers.push(lol_html::end_tag!(move |_end| {
                    s2.borrow_mut().end(depth);
                    Ok(())
                }));
            } else {
                let mut s = s1.borrow_mut();
                let parent = s.stack.last().map(|o| o.node);
                s.nodes.push(Node {
                    tag,
                    id,
                    classes,
                    parent,
                });
            }
            Ok(())
        }))
        .append_document_content_handler(DocumentContentHandlers::default().text(
            move |t: &mut lol_html::html_content::TextChunk<'_>| {
                if t.text_type() == TextType::Data {
                    s3.borrow_mut().text(t.as_str());
                }
                Ok(())
            },
        ));
    {
        let mut rw = HtmlRewriter::new(settings, |_: &[u8]| {});
        if rw.write(html).is_err() || rw.end().is_err() {
            return Vec::new();
        }
    }
    let scan = Rc::try_unwrap(scan)
        .map(RefCell::into_inner)
        .unwrap_or_default();
    let stem = site
        .map(|s| {
            let s = s.trim_start_matches("www.");
            s.split('.').next().unwrap_or(s).to_string()
        })
        .unwrap_or_else(|| "site".to_string());
    let mut out: Vec<Suggestion> = Vec::new();
    for b in &scan.blocks {
        let words = b.text.split_whitespace().count() as u32;
        let inside = article.is_some_and(|(s, e)| b.start >= s && b.start < e);
        if inside && crate::clean::locate::text_reads_as_prose(&b.text) {
            // Reads as the article's prose: the guard would refuse the rule anyway.
            continue;
        }
        let Some((selector, matches)) = narrowest(&scan.nodes, b.node) else {
            continue;
        };
        if out.iter().any(|s| s.selector == selector) {
            continue;
        }
        // Named after the class or id the selector ends with.
        let last = selector.rsplit(' ').next().unwrap_or(&selector);
        let name = last.rsplit(['.', '#']).next().unwrap_or(last).to_string();
        let mut id = format!("{stem}-{}", slug(&name));
        let mut n = 2;
        while out.iter().any(|s| s.id == id) {
            id = format!("{stem}-{}-{n}", slug(&name));
            n += 1;
        }
        out.push(Suggestion {
            id,
            category: category_of(b.phrase),
            selector,
            matches,
            phrase: b.phrase,
            text: b.text.chars().take(120).collect(),
            words,
            outside_article: article.is_some() && !inside,
        });
    }
    out
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('-');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(if c == '_' {
            '-'
        } else {
            c.to_ascii_lowercase()
        });
    }
    out
}

/// A compound selector: tag (or none), id, classes.
#[derive(Debug, Clone)]
struct Compound {
    tag: Option<String>,
    id: Option<String>,
    classes: Vec<String>,
}

impl Compound {
    fn matches(&self, n: &Node) -> bool {
        self.tag.as_ref().is_none_or(|t| *t == n.tag)
            && self.id.as_ref().is_none_or(|i| n.id.as_ref() == Some(i))
            && self.classes.iter().all(|c| n.classes.contains(c))
    }
    fn render(&self) -> String {
        let mut s = self.tag.clone().unwrap_or_default();
        if let Some(i) = &self.id {
            s.push('#');
            s.push_str(i);
        }
        for c in &self.classes {
            s.push('.');
            s.push_str(c);
        }
        s
    }
}

/// The narrowest selector for `target`, tried from simplest to most qualified; the first
/// that matches it alone wins, else the one matching fewest elements.
fn narrowest(nodes: &[Node], target: usize) -> Option<(String, usize)> {
    let n = &nodes[target];
    let tag = Some(n.tag.clone());
    let classes: Vec<String> = n.classes.iter().filter(|c| is_stable(c)).cloned().collect();
    let stable_id = n.id.clone().filter(|i| is_stable(i));
    let mut tries: Vec<(Option<Compound>, Compound)> = Vec::new();
    if let Some(i) = &stable_id {
        tries.push((
            None,
            Compound {
                tag: None,
                id: Some(i.clone()),
                classes: vec![],
            },
        ));
    }
    for c in &classes {
        tries.push((
            None,
            Compound {
                tag: tag.clone(),
                id: None,
                classes: vec![c.clone()],
            },
        ));
    }
    if classes.len() >= 2 {
        tries.push((
            None,
            Compound {
                tag: tag.clone(),
                id: None,
                classes: classes.clone(),
            },
        ));
    }
    let parent = n.parent.and_then(|p| {
        let pn = &nodes[p];
        if let Some(i) = pn.id.clone().filter(|i| is_stable(i)) {
            Some(Compound {
                tag: None,
                id: Some(i),
                classes: vec![],
            })
        } else {
            pn.classes.iter().find(|c| is_stable(c)).map(|c| Compound {
                tag: Some(pn.tag.clone()),
                id: None,
                classes: vec![c.clone()],
            })
        }
    });
    if let Some(p) = &parent {
        for c in &classes {
            tries.push((
                Some(p.clone()),
                Compound {
                    tag: tag.clone(),
                    id: None,
                    classes: vec![c.clone()],
                },
            ));
        }
    }
    let count = |(p, c): &(Option<Compound>, Compound)| {
        nodes
            .iter()
            .filter(|m| {
                c.matches(m)
                    && p.as_ref()
                        .is_none_or(|p| m.parent.is_some_and(|q| p.matches(&nodes[q])))
            })
            .count()
    };
    let render = |(p, c): &(Option<Compound>, Compound)| match p {
        Some(p) => format!("{} > {}", p.render(), c.render()),
        None => c.render(),
    };
    let mut best: Option<(String, usize)> = None;
    for t in &tries {
        let k = count(t);
        if k == 1 {
            return Some((render(t), 1));
        }
        if k > 0 && best.as_ref().is_none_or(|(_, b)| k < *b) {
            best = Some((render(t), k));
        }
    }
    best
}

/// Cleans the page with `book` and suggests rules for what is left.
pub fn suggest(
    input: &[u8],
    book: &RuleBook,
    opts: &Options,
) -> Result<(Option<String>, Vec<Suggestion>), clean::CleanError> {
    let mut cleaned = Vec::new();
    let report = clean::clean(Input::Bytes(input), book, opts, &mut cleaned)?;
    if report.kind != clean::Kind::Html {
        return Ok((report.site, Vec::new()));
    }
    let article = clean::locate(&cleaned)
        .ok()
        .flatten()
        .filter(|a| a.sure())
        .map(|a| (a.start, a.end));
    let s = suggest_html(&cleaned, report.site.as_deref(), article);
    Ok((report.site, s))
}

/// `pare suggest FILE [--url URL] [--rules DIR]…`, on the rules loaded.
pub fn command(book: &RuleBook, opts: &Options, file: &Path) -> ExitCode {
    let Some(input) = super::read_page(file) else {
        return ExitCode::FAILURE;
    };
    let (site, suggestions) = match suggest(&input, book, opts) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    let mut out = io::stdout().lock();
    let target = site
        .as_deref()
        .map(|s| format!("rules/{}.toml", s.trim_start_matches("www.")))
        .unwrap_or_else(|| "a site file".into());
    let _ = writeln!(
        out,
        "# {} suggestion(s) for {}; paste into {target}, then add an [[example]] and run `pare test`",
        suggestions.len(),
        file.display()
    );
    for s in &suggestions {
        let _ = writeln!(out, "\n{}", s.to_toml());
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_names_and_hashes() {
        for ok in [
            "newsletter-promo",
            "StoryBodyCompanionColumn",
            "support_box",
            "h2",
            "ad-slot-1",
        ] {
            assert!(is_stable(ok) || ok == "h2", "{ok}");
        }
        for bad in ["css-1x2y3z", "sc-bdVaJa", "e1xn4z3b0", "xkqzt", "a"] {
            assert!(!is_stable(bad), "{bad}");
        }
    }

    #[test]
    fn suggests_the_whole_promo_with_a_unique_selector() {
        let html = br#"<html><body><article><p>The council voted on Tuesday.</p>
<div class="promo newsletter-box"><h3 class="promo-title">Get the Morning newsletter</h3>
<form class="css-9x8y7z"><input type="email"><button>Sign up</button></form></div>
<div class="promo"><p>Not clutter at all, only a block with a shared class.</p></div>
</article></body></html>"#;
        let s = suggest_html(html, Some("www.example.com"), None);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0].selector, "div.newsletter-box");
        assert_eq!(s[0].matches, 1);
        assert_eq!(s[0].category, Category::Newsletter);
        assert_eq!(s[0].id, "example-newsletter-box");
        assert!(s[0].to_toml().contains("remove = \"div.newsletter-box\""));
    }

    #[test]
    fn hashed_classes_and_the_article_are_never_suggested() {
        let html = br#"<html><body><article class="story"><p>Subscribe to nothing: this is the story.</p></article>
<div class="css-1q2w3e"><p>Subscribe now</p></div></body></html>"#;
        assert!(suggest_html(html, None, None).is_empty());
    }
}
