//! What a page says of its article: title, byline, dates, site name, language,
//! canonical URL, lead image, description — from its `<meta>` tags (OpenGraph,
//! `article:*`, Twitter, Dublin Core, `name=author` …), its JSON-LD (`NewsArticle`,
//! `Article`, `BlogPosting` … also inside `@graph`) and its own markup (`<html lang>`,
//! `<title>`, `rel=author`, `itemprop=author`, the first `<time datetime>`).
//!
//! Read from the page's first bytes (the same 512 KiB the engine sniffs), so memory
//! stays bounded; a page's JSON-LD is read up to 1 MiB in all. The handlers
//! ([`Collector`]) run beside the engine's find pass, which tokenizes the page anyway
//! (a reading copy used to pay a second lol_html pass for them: 12% of its
//! instructions), or in a pass of their own ([`read`]).
//! Each field takes the first source that has it, in an order that prefers what the
//! publisher wrote for machines (JSON-LD, OpenGraph) to what a page shows.

use std::cell::RefCell;
use std::rc::Rc;

use lol_html::html_content::{Element, TextChunk};
use lol_html::{HtmlRewriter, Settings};
use serde_json::Value;

/// An article's metadata. Every field is optional; empty ones are left out of reports.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Metadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byline: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canonical: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Metadata {
    /// Its fields in the order front matter lists them, with their keys.
    pub fn fields(&self) -> [(&'static str, Option<&str>); 9] {
        [
            ("title", self.title.as_deref()),
            ("byline", self.byline.as_deref()),
            ("published", self.published.as_deref()),
            ("modified", self.modified.as_deref()),
            ("site_name", self.site_name.as_deref()),
            ("language", self.language.as_deref()),
            ("canonical", self.canonical.as_deref()),
            ("image", self.image.as_deref()),
            ("description", self.description.as_deref()),
        ]
    }
}

/// Each source's findings, ranked when the pass ends.
#[derive(Default)]
struct Found {
    meta: Vec<(String, String)>,
    title: String,
    in_title: bool,
    lang: Option<String>,
    canonical: Option<String>,
    json: Vec<String>,
    json_bytes: usize,
    json_open: bool,
    author_link: FirstText,
    author_prop: FirstText,
    time: Option<String>,
    /// Per capped text handler (title, `rel=author`, `itemprop=author`): inside a text
    /// node, and whether it is taken ([`takes`]).
    node: (bool, bool),
}

/// A byline read from an element's text (`rel=author`, `itemprop=author`): its first
/// text node that is not blank, and any blank ones before it.
#[derive(Default)]
struct FirstText {
    text: String,
    done: bool,
    /// Inside a text node, and whether it is taken ([`takes`]).
    node: (bool, bool),
}

impl FirstText {
    /// Takes chunk `t`, of which `text` lies in the head; `spaced`: a space after each
    /// text node (`<span>Jane</span><span>Doe</span>`), never inside one a pass received
    /// in two chunks.
    fn take(&mut self, t: &TextChunk, text: &str, spaced: bool) {
        let take = !self.done && self.text.len() < MAX_FIELD;
        if takes(&mut self.node.0, &mut self.node.1, t, take) {
            self.text.push_str(text);
            if spaced && t.last_in_text_node() {
                self.text.push(' ');
            }
        }
        if t.last_in_text_node() && !self.text.trim().is_empty() {
            self.done = true;
        }
    }
}

const HEAD_LIMIT: usize = 512 * 1024;
const JSON_LIMIT: usize = 1 << 20;
/// The JSON-LD blocks.
const JSON_LD: &str = r#"script[type="application/ld+json" i]"#;
/// A byline or title longer than this is not one.
const MAX_FIELD: usize = 300;

/// What a lol_html pass hands the metadata's handlers; see [`Collector::handlers`].
pub type Handler = (
    std::borrow::Cow<'static, lol_html::Selector>,
    lol_html::ElementContentHandlers<'static>,
);

/// Reads the metadata from a page's first bytes, in a lol_html pass of its own.
pub fn read(head: &[u8], encoding: &'static encoding_rs::Encoding) -> Metadata {
    let head = &head[..head.len().min(HEAD_LIMIT)];
    let enc = lol_html::AsciiCompatibleEncoding::new(encoding)
        .unwrap_or_else(lol_html::AsciiCompatibleEncoding::utf_8);
    let collector = Collector::new();
    let mut settings = Settings::new().with_strict(false).with_encoding(enc);
    for h in collector.handlers() {
        settings = settings.append_element_content_handler(h);
    }
    {
        let mut rw = HtmlRewriter::new(settings, |_: &[u8]| {});
        if rw.write(head).is_ok() {
            let _ = rw.end();
        }
    }
    collector.finish()
}

/// The metadata's findings as a lol_html pass goes: its handlers run in a pass of their
/// own ([`read`]) or beside the engine's find pass, which reads the same bytes, so a
/// reading copy tokenizes its page once less. Only what lies in the page's first
/// [`HEAD_LIMIT`] bytes counts (start tags that end there, text up to there), read in
/// the encoding the engine sniffed, each text node taken whole or not at all: what a
/// pass of its own over those bytes, which gets each node in one chunk, finds.
pub struct Collector {
    found: Rc<RefCell<Found>>,
}

impl Default for Collector {
    fn default() -> Self {
        Collector::new()
    }
}

/// Whether a unit starting at byte `at` of the page is read.
/// Whether a start tag ending at byte `end` of the page is read (a pass of its own
/// over the first [`HEAD_LIMIT`] bytes sees only whole tags).
fn in_head(end: usize) -> bool {
    end <= HEAD_LIMIT
}

/// The part of a text chunk within the page's first [`HEAD_LIMIT`] bytes, if any.
fn head_text<'t>(t: &'t TextChunk) -> Option<&'t str> {
    let r = t.source_location().bytes();
    if r.start >= HEAD_LIMIT {
        return None;
    }
    let s = t.as_str();
    if r.end <= HEAD_LIMIT {
        return Some(s);
    }
    let mut n = (HEAD_LIMIT - r.start).min(s.len());
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    Some(&s[..n])
}

/// Whether a text handler takes the chunk `t`: decided at each text node's first chunk
/// by `take` (the caps), then kept for the node's other chunks, so a node arriving in
/// several chunks is taken whole or not at all, as a pass that got it in one would.
fn takes(mid: &mut bool, taking: &mut bool, t: &TextChunk, take: bool) -> bool {
    if !*mid {
        *taking = take;
    }
    *mid = !t.last_in_text_node();
    *taking
}

impl Collector {
    pub fn new() -> Collector {
        Collector {
            found: Rc::new(RefCell::new(Found::default())),
        }
    }

    /// The handlers that fill this collector, for a lol_html pass's settings.
    pub fn handlers(&self) -> Vec<Handler> {
        vec![
            self.on_element("html[lang]", |f, el| {
                if f.lang.is_none() {
                    f.lang = el.get_attribute("lang");
                }
            }),
            self.on_element("meta[content]", |f, el| {
                let key = el
                    .get_attribute("property")
                    .or_else(|| el.get_attribute("name"))
                    .or_else(|| el.get_attribute("itemprop"))
                    .or_else(|| el.get_attribute("http-equiv"));
                if let (Some(k), Some(v)) = (key, el.get_attribute("content"))
                    && f.meta.len() < 512
                {
                    f.meta.push((k.to_ascii_lowercase(), v));
                }
            }),
            self.on_element("link[rel][href]", |f, el| {
                let rel = el.get_attribute("rel").unwrap_or_default();
                if f.canonical.is_none()
                    && rel
                        .split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("canonical"))
                {
                    f.canonical = el.get_attribute("href");
                }
            }),
            {
                let found = self.found.clone();
                self.on_element("title", move |f, el| {
                    if f.title.is_empty() {
                        f.in_title = true;
                        let g = found.clone();
                        if let Some(h) = el.end_tag_handlers() {
                            h.push(Box::new(move |_| {
                                g.borrow_mut().in_title = false;
                                Ok(())
                            }));
                        }
                    }
                })
            },
            self.on_text("title", |f, t, text| {
                let take = f.in_title && f.title.len() < MAX_FIELD * 4;
                let Found { node, title, .. } = f;
                if takes(&mut node.0, &mut node.1, t, take) {
                    title.push_str(text);
                }
            }),
            self.on_element(JSON_LD, |f, _| {
                f.json.push(String::new());
                f.json_open = true;
            }),
            self.on_text(JSON_LD, |f, _, text| {
                f.json_bytes += text.len();
                if f.json_bytes <= JSON_LIMIT
                    && let Some(s) = f.json.last_mut()
                {
                    s.push_str(text);
                }
            }),
            self.on_text(r#"a[rel~="author"]"#, |f, t, text| {
                f.author_link.take(t, text, false);
            }),
            self.on_text(r#"[itemprop~="author"]"#, |f, t, text| {
                f.author_prop.take(t, text, true);
            }),
            self.on_element("time[datetime]", |f, el| {
                if f.time.is_none() {
                    f.time = el.get_attribute("datetime");
                }
            }),
        ]
    }

    /// A handler running `on` for each element matching `selector` whose start tag lies
    /// in the head.
    fn on_element(
        &self,
        selector: &str,
        on: impl Fn(&mut Found, &mut Element) + 'static,
    ) -> Handler {
        let found = self.found.clone();
        (
            std::borrow::Cow::Owned(selector.parse().expect("a valid selector")),
            lol_html::ElementContentHandlers::default().element(move |el: &mut Element| {
                if in_head(el.source_location().bytes().end) {
                    on(&mut found.borrow_mut(), el);
                }
                Ok(())
            }),
        )
    }

    /// A handler running `on` for each text chunk inside an element matching
    /// `selector`, with the chunk's part in the head.
    fn on_text(
        &self,
        selector: &str,
        on: impl Fn(&mut Found, &TextChunk, &str) + 'static,
    ) -> Handler {
        let found = self.found.clone();
        (
            std::borrow::Cow::Owned(selector.parse().expect("a valid selector")),
            lol_html::ElementContentHandlers::default().text(move |t: &mut TextChunk| {
                if let Some(text) = head_text(t) {
                    on(&mut found.borrow_mut(), t, text);
                }
                Ok(())
            }),
        )
    }

    /// What the pass found, ranked.
    pub fn finish(self) -> Metadata {
        let f = self.found.borrow();
        let meta = |keys: &[&str]| {
            keys.iter().find_map(|k| {
                f.meta
                    .iter()
                    .find(|(n, v)| n == k && !v.trim().is_empty())
                    .map(|(_, v)| clean(v))
            })
        };
        let ld = f
            .json
            .iter()
            .filter_map(|s| serde_json::from_str::<Value>(s.trim()).ok())
            .find_map(|v| article_object(&v).cloned());
        let ld_str = |key: &str| ld.as_ref().and_then(|o| o.get(key)).and_then(as_text);
        let byline = ld
            .as_ref()
            .and_then(|o| o.get("author"))
            .and_then(names)
            .or_else(|| {
                meta(&[
                    "author",
                    "article:author",
                    "byl",
                    "dc.creator",
                    "parsely-author",
                ])
            })
            .filter(|a| !a.starts_with("http"))
            .or_else(|| Some(clean(&f.author_link.text)).filter(|s| !s.is_empty()))
            .or_else(|| Some(clean(&f.author_prop.text)).filter(|s| !s.is_empty()));
        let canonical = f
            .canonical
            .as_deref()
            .map(clean)
            .filter(|u| super::site::host_of(u).is_some())
            .or_else(|| meta(&["og:url"]).filter(|u| super::site::host_of(u).is_some()));
        let title_tag = Some(clean(&f.title)).filter(|s| !s.is_empty());
        let image = meta(&[
            "og:image",
            "og:image:url",
            "og:image:secure_url",
            "twitter:image",
        ])
        .or_else(|| ld.as_ref().and_then(|o| o.get("image")).and_then(image_url));
        let site_name = meta(&["og:site_name"])
            .or_else(|| {
                ld.as_ref()
                    .and_then(|o| o.get("publisher"))
                    .and_then(|p| p.get("name"))
                    .and_then(as_text)
            })
            .or_else(|| meta(&["application-name"]));
        let language = f
            .lang
            .as_deref()
            .map(clean)
            .or_else(|| meta(&["content-language", "og:locale", "dc.language"]))
            .or_else(|| ld_str("inLanguage"));
        let short = |s: Option<String>| s.filter(|s| s.chars().count() <= MAX_FIELD);
        Metadata {
            title: short(
                meta(&["og:title", "twitter:title"])
                    .or_else(|| ld_str("headline"))
                    .or(title_tag),
            ),
            byline: short(byline),
            published: ld_str("datePublished")
                .or_else(|| {
                    meta(&[
                        "article:published_time",
                        "datepublished",
                        "date",
                        "pubdate",
                        "publishdate",
                        "dc.date.issued",
                        "dcterms.created",
                        "sailthru.date",
                    ])
                })
                .or_else(|| f.time.as_deref().map(clean)),
            modified: ld_str("dateModified").or_else(|| {
                meta(&[
                    "article:modified_time",
                    "og:updated_time",
                    "datemodified",
                    "dcterms.modified",
                ])
            }),
            site_name: short(site_name),
            language,
            canonical,
            image,
            description: meta(&["og:description", "description", "twitter:description"])
                .or_else(|| ld_str("description")),
        }
    }
}

/// The JSON-LD object that describes the article: an `Article` type (`NewsArticle`,
/// `BlogPosting`, `ReportageNewsArticle` … any type ending in `Article` or `Posting`),
/// found at the top, in an array or in `@graph`.
fn article_object(v: &Value) -> Option<&serde_json::Map<String, Value>> {
    match v {
        Value::Array(a) => a.iter().find_map(article_object),
        Value::Object(o) => {
            let is_article = |t: &Value| match t {
                Value::String(s) => s.ends_with("Article") || s.ends_with("Posting"),
                _ => false,
            };
            let typed = match o.get("@type") {
                Some(Value::Array(a)) => a.iter().any(is_article),
                Some(t) => is_article(t),
                None => false,
            };
            if typed {
                return Some(o);
            }
            o.get("@graph").and_then(article_object)
        }
        _ => None,
    }
}

/// A string value, or the `name` of an object.
fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(clean(s)).filter(|s| !s.is_empty()),
        Value::Object(o) => o.get("name").and_then(as_text),
        _ => None,
    }
}

/// Author names: a string, an object's `name`, or a list of them joined.
fn names(v: &Value) -> Option<String> {
    let list: Vec<String> = match v {
        Value::Array(a) => a.iter().filter_map(as_text).collect(),
        v => as_text(v).into_iter().collect(),
    };
    let mut seen: Vec<String> = Vec::new();
    for n in list {
        if !seen.contains(&n) {
            seen.push(n);
        }
    }
    (!seen.is_empty()).then(|| seen.join(", "))
}

/// An image's URL: a string, an `ImageObject`'s `url`, or the first of a list.
fn image_url(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(clean(s)).filter(|s| !s.is_empty()),
        Value::Array(a) => a.iter().find_map(image_url),
        Value::Object(o) => o.get("url").and_then(image_url),
        _ => None,
    }
}

/// Entities decoded, white space collapsed, control characters gone (a value goes into
/// an HTML head and YAML front matter, which take none).
fn clean(s: &str) -> String {
    let s = crate::text::decode_entities(s);
    s.split_whitespace()
        .map(|w| w.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opengraph_beats_the_title_tag() {
        let page = br#"<html lang="en-GB"><head><title>Story | Site</title>
<meta property="og:title" content="Story &amp; more">
<meta property="og:site_name" content="The Daily">
<meta name="description" content="What happened.">
<meta property="article:published_time" content="2026-01-02T03:04:05Z">
<link rel="canonical" href="https://daily.example.com/story"></head><body>"#;
        let m = read(page, encoding_rs::UTF_8);
        assert_eq!(m.title.as_deref(), Some("Story & more"));
        assert_eq!(m.site_name.as_deref(), Some("The Daily"));
        assert_eq!(m.language.as_deref(), Some("en-GB"));
        assert_eq!(m.description.as_deref(), Some("What happened."));
        assert_eq!(m.published.as_deref(), Some("2026-01-02T03:04:05Z"));
        assert_eq!(
            m.canonical.as_deref(),
            Some("https://daily.example.com/story")
        );
    }

    #[test]
    fn json_ld_in_a_graph_and_the_page_itself() {
        let page = br#"<html><head><title>Only the tag</title>
<script type="application/ld+json">{"@context":"https://schema.org","@graph":[
 {"@type":"WebSite","name":"x"},
 {"@type":["NewsArticle"],"headline":"From JSON-LD","datePublished":"2025-05-06",
  "dateModified":"2025-05-07","author":[{"@type":"Person","name":"Ann Lee"},{"name":"Bo Chen"}],
  "image":{"@type":"ImageObject","url":"https://img.example.com/a.jpg"},
  "publisher":{"name":"Example News"}}]}</script></head>
<body><a rel="author" href="/ann">Someone Else</a><time datetime="2020-01-01">then</time>"#;
        let m = read(page, encoding_rs::UTF_8);
        assert_eq!(m.title.as_deref(), Some("From JSON-LD"));
        assert_eq!(m.byline.as_deref(), Some("Ann Lee, Bo Chen"));
        assert_eq!(m.published.as_deref(), Some("2025-05-06"));
        assert_eq!(m.modified.as_deref(), Some("2025-05-07"));
        assert_eq!(m.image.as_deref(), Some("https://img.example.com/a.jpg"));
        assert_eq!(m.site_name.as_deref(), Some("Example News"));
    }

    #[test]
    fn values_hold_no_control_characters() {
        let m = read(
            "<title>T\u{80}\u{7f} end</title>".as_bytes(),
            encoding_rs::UTF_8,
        );
        assert_eq!(m.title.as_deref(), Some("T end"));
    }

    #[test]
    fn rel_author_and_time_when_nothing_else_says() {
        let page = br#"<html><head><title> A  plain page </title></head><body>
<p>By <a rel="author" href="/z">Zoe Park</a></p><time datetime="2024-09-10T08:00">Sept 10</time>"#;
        let m = read(page, encoding_rs::UTF_8);
        assert_eq!(m.title.as_deref(), Some("A plain page"));
        assert_eq!(m.byline.as_deref(), Some("Zoe Park"));
        assert_eq!(m.published.as_deref(), Some("2024-09-10T08:00"));
        assert_eq!(m.canonical, None);
    }
}
