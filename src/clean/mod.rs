//! The engine: one article in, the cleaned article out, and a report of what went.
//!
//! Pure and synchronous: bytes and compiled rules in, bytes and a [`Report`] out. It knows
//! nothing of tokio, inotify or folders. An HTML page is read twice:
//!
//! 1. [`find`] — lol_html parses the page; one handler follows every element, its text and
//!    every rule match, and decides the edits (byte ranges to drop, attributes to change).
//!    A removal is only made when the element's own end tag was seen and the safety
//!    guard allows it.
//! 2. [`splice`] — the input is copied to the output, leaving out the ranges decided.
//!    Bytes no rule touches pass through unchanged (encoding included).
//!
//! Files are read twice from disk (the page cache) rather than held in memory, so memory
//! does not grow with the page. Plain-text articles go through [`plain`].

#[cfg(test)]
mod agree;
mod attr;
mod cand;
pub mod find;
mod gap;
pub mod locate;
pub mod markdown;
pub mod meta;
mod open;
pub mod plain;
pub mod plan;
pub mod reader;
mod scan;
pub mod serialize;
pub mod site;
pub mod splice;
pub mod stream;
mod tag;

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use crate::rules::{Categories, Category, RuleBook};
pub use site::UrlSource;

/// How much of a page's text one removal may take: a removal holding more is refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Guard {
    /// For rules from generic files (share of the page's visible text, 0–1).
    pub generic_max_share: f64,
    /// For rules from the site's own file.
    pub site_max_share: f64,
    /// For any rule, of the located article's prose (when the locator is sure of it).
    pub article_max_share: f64,
}

impl Default for Guard {
    fn default() -> Self {
        Guard {
            generic_max_share: 0.25,
            site_max_share: 0.6,
            article_max_share: 0.15,
        }
    }
}

/// What kind of document the input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Html,
    Text,
}

/// What a cleaned page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// The page, minus what the rules remove.
    #[default]
    Page,
    /// The article alone (with its headline, standfirst and lead image) under a small
    /// head of its own: a reading copy.
    Reader,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Page => "page",
            Profile::Reader => "reader",
        }
    }
}

/// How a cleaned page is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Html,
    /// CommonMark, with the metadata as YAML front matter.
    Markdown,
    /// Paragraphs and headings, no markup.
    Text,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Markdown => "markdown",
            Format::Text => "text",
        }
    }

    /// The extension of an output file in this format (HTML keeps the input's own).
    pub fn extension(self) -> Option<&'static str> {
        match self {
            Format::Html => None,
            Format::Markdown => Some("md"),
            Format::Text => Some("txt"),
        }
    }

    /// The name of the output of the input named `name`: for Markdown and text, an HTML
    /// or text extension is replaced (`a.html` → `a.md`) and any other name gets one
    /// added (`story.php` → `story.php.md`, `page` → `page.md`). HTML keeps the name.
    pub fn output_name(self, name: &Path) -> std::path::PathBuf {
        let Some(ext) = self.extension() else {
            return name.to_path_buf();
        };
        let known = name
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| kind_by_name(Path::new(&format!("x.{e}"))).is_some());
        if known {
            name.with_extension(ext)
        } else {
            let mut s = name.as_os_str().to_owned();
            s.push(".");
            s.push(ext);
            s.into()
        }
    }
}

/// How to clean one page.
#[derive(Debug, Clone)]
pub struct Options {
    /// The page's URL, when known (`--url`): overrides what the page says.
    pub url: Option<String>,
    /// A host named by where the file came from (an inbox sub-folder).
    pub site_hint: Option<String>,
    pub categories: Categories,
    /// Bytes read at a time.
    pub chunk_size: usize,
    /// HTML or text; `None` decides from the file name and content.
    pub kind: Option<Kind>,
    pub guard: Guard,
    /// Bound on lol_html's own buffers (a single tag or text run), in bytes.
    pub max_memory: usize,
    pub profile: Profile,
    pub format: Format,
    /// Describe each removal (its element and the start of its text) in the report.
    /// Off where only the counts are kept (the daemon, batch mode without `--report`):
    /// the page is cleaned the same, without making text nobody reads.
    pub describe: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            url: None,
            site_hint: None,
            categories: Categories::defaults(),
            chunk_size: 64 * 1024,
            kind: None,
            guard: Guard::default(),
            max_memory: 32 << 20,
            profile: Profile::Page,
            format: Format::Html,
            describe: true,
        }
    }
}

/// Where the page comes from. A path is read twice; bytes are used as they are.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    Path(&'a Path),
    Bytes(&'a [u8]),
}

/// One element (or text block) a rule removed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Removal {
    pub rule: String,
    pub category: Category,
    /// `file:line` of the rule.
    pub origin: String,
    /// The rule's action key (`remove`, `remove_containing`, …).
    pub action: &'static str,
    /// `tag#id.class` of the element.
    pub element: String,
    /// Byte offset in the input where the removed range starts (for `keep`, the first
    /// of its ranges; `bytes` then counts them all).
    pub start: u64,
    pub bytes: u64,
    /// The first 80 characters of its text (normalized).
    pub text: String,
    /// The rule's conditions, as written (`max_words = 45, has = "form"`), when it has
    /// any: they were met (or, for a refusal or a rule not applied, decided).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub conditions: String,
}

/// A removal the safety guard refused, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Refusal {
    #[serde(flatten)]
    pub removal: Removal,
    pub reason: String,
}

/// What cleaning one page did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub kind: Kind,
    pub encoding: &'static str,
    pub url: Option<String>,
    pub url_source: Option<UrlSource>,
    /// The host whose site rules were looked up.
    pub site: Option<String>,
    /// Site rule files that applied.
    pub site_files: Vec<String>,
    /// Rules in force for this page.
    pub rules: usize,
    /// The removals, described (the first 10,000 of a page).
    pub removals: Vec<Removal>,
    pub refused: Vec<Refusal>,
    /// Removals past the described ones, counted per category.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub removals_unlisted: std::collections::BTreeMap<Category, usize>,
    /// Refusals past the described ones.
    #[serde(skip_serializing_if = "is_zero")]
    pub refused_unlisted: usize,
    /// Removals a rule asked for whose element did not meet the rule's conditions (the
    /// first 50 of each rule).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_applied: Vec<Refusal>,
    /// Those past the described ones, counted.
    #[serde(skip_serializing_if = "is_zero")]
    pub not_applied_unlisted: usize,
    /// Where the article is (HTML pages), as the locator found it.
    pub article: Option<locate::Region>,
    /// What a reading copy kept (`--profile reader`, HTML pages): byte ranges and
    /// what each is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<reader::Part>,
    /// The article's metadata (`--profile reader`, HTML pages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<meta::Metadata>,
    pub unwrapped: usize,
    pub attributes_changed: usize,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl Report {
    /// Number of removals per category, for logs.
    pub fn per_category(&self) -> Vec<(Category, usize)> {
        Category::ALL
            .into_iter()
            .map(|c| {
                let listed = self.removals.iter().filter(|r| r.category == c).count();
                (
                    c,
                    listed + self.removals_unlisted.get(&c).copied().unwrap_or(0),
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// Number of removals, listed or not.
    pub fn removal_count(&self) -> usize {
        self.removals.len() + self.removals_unlisted.values().sum::<usize>()
    }
}

/// Why a page could not be cleaned. The daemon writes this as the reason beside a failed
/// file, so each says what is wrong with the input in plain words.
#[derive(Debug, thiserror::Error)]
pub enum CleanError {
    #[error("cannot read the input: {0}")]
    Read(#[source] io::Error),
    #[error("cannot write the output: {0}")]
    Write(#[source] io::Error),
    #[error("not HTML or text: {0}")]
    NotText(String),
    #[error("unsupported encoding: {0}")]
    Encoding(String),
    #[error("too complex to clean within the memory limit: {0}")]
    TooComplex(String),
    #[error("the input changed while it was being cleaned")]
    Changed,
    #[error("HTML engine error: {0}")]
    Engine(String),
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// How many bytes of the start are read to sniff the kind, encoding and URL.
const HEAD: usize = 512 * 1024;

/// Cleans one page into `out`.
pub fn clean(
    input: Input<'_>,
    book: &RuleBook,
    opts: &Options,
    out: &mut dyn Write,
) -> Result<Report, CleanError> {
    let head = read_head(input)?;
    let bom = encoding_rs::Encoding::for_bom(&head);
    if let Some((enc, _)) = bom
        && (enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE)
    {
        return Err(CleanError::Encoding(format!(
            "{} (byte order mark); save the page as UTF-8",
            enc.name()
        )));
    }
    if let Some(what) = sniff_binary(&head) {
        return Err(CleanError::NotText(what));
    }
    let kind = opts.kind.unwrap_or_else(|| match input {
        Input::Path(p) => kind_by_name(p).map_or_else(|| sniff_kind(&head), |k| by_name(k, &head)),
        Input::Bytes(_) => sniff_kind(&head),
    });
    let encoding = match bom {
        Some((enc, _)) => enc,
        None if kind == Kind::Html => meta_charset(&head).unwrap_or(encoding_rs::UTF_8),
        None => {
            if std::str::from_utf8(&head).is_ok() || head.len() == HEAD {
                encoding_rs::UTF_8
            } else {
                encoding_rs::WINDOWS_1252
            }
        }
    };
    // What the page's head says of itself (its URL, its publication's name): read only
    // when neither the caller nor the folder named the site.
    let mut page_head = if kind == Kind::Html && opts.url.is_none() && opts.site_hint.is_none() {
        site::read(&head)
    } else {
        site::Head::default()
    };
    let (url, url_source) = match (&opts.url, &opts.site_hint) {
        (Some(u), _) => (Some(u.clone()), Some(UrlSource::Given)),
        (None, Some(h)) => (Some(h.clone()), Some(UrlSource::Folder)),
        (None, None) if kind == Kind::Html => match page_head.url.take() {
            Some((u, s)) => (Some(u), Some(s)),
            None => (None, None),
        },
        _ => (None, None),
    };
    // A text is read whole, once: for the names its ends give, and for its paragraphs.
    let mut text: Option<Vec<u8>> = None;
    let mut url_source = url_source;
    let mut host = url.as_deref().and_then(site::host_of);
    if host.is_none() && book.files.iter().any(|f| !f.names.is_empty()) {
        // No URL: the publication may still name itself.
        let named = match kind {
            Kind::Html => page_head.name.as_deref().and_then(|n| book.host_named(n)),
            Kind::Text => {
                let all = text_input(input, &mut text)?;
                book.host_named(&plain::ends(all, encoding))
            }
        };
        if named.is_some() {
            host = named;
            url_source = Some(UrlSource::Name);
        }
    }
    // A reading copy also leaves out what only a browser needs (category `reader`).
    let mut categories = opts.categories;
    if opts.profile == Profile::Reader {
        categories.insert(Category::Reader);
    }
    let compiled = book.for_site(host.as_deref(), categories);
    let mut report = Report {
        kind,
        encoding: encoding.name(),
        url,
        url_source,
        site: host,
        site_files: compiled
            .site_files
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        rules: compiled.rules_in_force(),
        removals: Vec::new(),
        refused: Vec::new(),
        removals_unlisted: Default::default(),
        refused_unlisted: 0,
        not_applied: Vec::new(),
        not_applied_unlisted: 0,
        article: None,
        kept: Vec::new(),
        metadata: None,
        unwrapped: 0,
        attributes_changed: 0,
        bytes_in: 0,
        bytes_out: 0,
    };
    match kind {
        Kind::Text => {
            let all = text_input(input, &mut text)?;
            let (keep, removals, refused) = plain::plan(all, encoding, &compiled, opts.guard);
            let mut written = 0;
            if opts.format == Format::Markdown {
                // Text is not Markdown: its `#`, `*`, `<b>` or `1.` would be read as
                // markup. Its paragraphs go through the Markdown writer, escaped.
                let mut kept = Vec::new();
                for (s, e) in keep {
                    kept.extend_from_slice(&all[s..e]);
                }
                let (text, _) = encoding.decode_without_bom_handling(&kept);
                let html = plain::as_html(&text);
                let mut conv =
                    markdown::Converter::new(markdown::Style::Markdown, encoding_rs::UTF_8, out);
                conv.write_all(html.as_bytes()).map_err(CleanError::Write)?;
                written = conv.finish().map_err(CleanError::Write)?;
            } else {
                for (s, e) in keep {
                    out.write_all(&all[s..e]).map_err(CleanError::Write)?;
                    written += (e - s) as u64;
                }
            }
            report.removals = removals;
            report.refused = refused;
            report.bytes_in = all.len() as u64;
            report.bytes_out = written;
        }
        Kind::Html => {
            let reading = opts.profile == Profile::Reader;
            // A reading copy's metadata is read in the same pass.
            let collector = reading.then(meta::Collector::new);
            let pass = |handlers| {
                find::find(
                    compiled.clone(),
                    opts.guard,
                    encoding,
                    opts.max_memory,
                    find::Also {
                        leads: reading,
                        describe: opts.describe,
                        handlers,
                    },
                    |sink| feed(input, opts.chunk_size, sink),
                )
            };
            let handlers = collector
                .as_ref()
                .map(meta::Collector::handlers)
                .unwrap_or_default();
            let (mut plan, collector) = match pass(handlers) {
                // The metadata's text handlers make lol_html hold what it reads inside
                // their elements (a comment in an unclosed `<a rel=author>` …): where that
                // is too much, the page is read without them and its metadata apart, as
                // a pass of its own over the first 512 KiB would.
                Err(CleanError::TooComplex(_)) if collector.is_some() => (pass(Vec::new())?, None),
                r => (r?, collector),
            };
            let mut metadata = None;
            if reading {
                let parts = reader::select(&plan);
                plan.edits = reader::restrict(&plan.edits, &parts, plan.len);
                let mut m = match collector {
                    Some(c) => c.finish(),
                    None => meta::read(&head, encoding),
                };
                if m.canonical.is_none() {
                    m.canonical = report.url.clone().filter(|u| site::host_of(u).is_some());
                }
                report.kept = parts;
                metadata = Some(m);
            }
            report.bytes_out = match opts.format {
                Format::Html if metadata.is_some() => {
                    // A reading copy is written anew (clean/serialize.rs), in UTF-8.
                    let m = metadata.as_ref().expect("reading");
                    let mut written = write_all(out, reader::html_head(m).as_bytes())?;
                    if let Some(h) = reader::missing_headline(
                        m,
                        &report.kept,
                        &plan.leads,
                        &kept_start(input, &report.kept),
                        None,
                    ) {
                        written += write_all(out, h.as_bytes())?;
                    }
                    let mut ser = serialize::Serializer::new(encoding, out);
                    let mut splicer = splice::Splicer::new(&plan.edits, &mut ser);
                    feed(input, opts.chunk_size, &mut |c| splicer.write(c))?;
                    splicer.finish(plan.len)?;
                    written += ser.finish().map_err(CleanError::Write)?;
                    written + write_all(out, b"\n</body>\n</html>\n")?
                }
                Format::Html => {
                    let mut splicer = splice::Splicer::new(&plan.edits, out);
                    feed(input, opts.chunk_size, &mut |c| splicer.write(c))?;
                    splicer.finish(plan.len)?
                }
                Format::Markdown | Format::Text => {
                    let style = if opts.format == Format::Markdown {
                        markdown::Style::Markdown
                    } else {
                        markdown::Style::Text
                    };
                    let mut conv = markdown::Converter::new(style, encoding, out);
                    if let Some(m) = metadata
                        .as_ref()
                        .filter(|_| style == markdown::Style::Markdown)
                    {
                        conv.write_raw(&reader::front_matter(m))
                            .map_err(CleanError::Write)?;
                    }
                    if let Some(h) = metadata.as_ref().and_then(|m| {
                        reader::missing_headline(
                            m,
                            &report.kept,
                            &plan.leads,
                            &kept_start(input, &report.kept),
                            Some(style),
                        )
                    }) {
                        conv.write_raw(&h).map_err(CleanError::Write)?;
                    }
                    let mut splicer = splice::Splicer::new(&plan.edits, &mut conv);
                    feed(input, opts.chunk_size, &mut |c| splicer.write(c))?;
                    splicer.finish(plan.len)?;
                    conv.finish().map_err(CleanError::Write)?
                }
            };
            report.metadata = metadata;
            report.bytes_in = plan.len;
            report.removals = plan.removals;
            report.refused = plan.refused;
            report.removals_unlisted = plan.unlisted;
            report.refused_unlisted = plan.refused_unlisted;
            report.not_applied = plan.not_applied;
            report.not_applied_unlisted = plan.not_applied_unlisted;
            report.article = plan.article;
            report.unwrapped = plan.unwrapped;
            report.attributes_changed = plan.attributes_changed;
        }
    }
    out.flush().map_err(CleanError::Write)?;
    Ok(report)
}

/// Files up to this size are read once, whole, by [`clean_file`] (a larger one is read
/// from disk for each pass, and never held).
pub const READ_WHOLE: u64 = 16 << 20;

/// Cleans the file at `path` into `out`: read once into `buf` (the caller's, reused
/// from file to file) when it is at most [`READ_WHOLE`] bytes, else from disk for each
/// pass. Either way its name says what it is (`.txt`) unless `opts.kind` does.
pub fn clean_file(
    path: &Path,
    buf: &mut Vec<u8>,
    book: &RuleBook,
    opts: &Options,
    out: &mut dyn Write,
) -> Result<Report, CleanError> {
    let small = std::fs::metadata(path).is_ok_and(|m| m.len() <= READ_WHOLE);
    if !small {
        return clean(Input::Path(path), book, opts, out);
    }
    buf.clear();
    File::open(path)
        .and_then(|mut f| f.read_to_end(buf))
        .map_err(CleanError::Read)?;
    let named;
    let opts = if opts.kind.is_none() {
        named = Options {
            kind: kind_by_name(path).map(|k| by_name(k, buf)),
            ..opts.clone()
        };
        &named
    } else {
        opts
    };
    clean(Input::Bytes(buf), book, opts, out)
}

fn write_all(out: &mut dyn Write, b: &[u8]) -> Result<u64, CleanError> {
    out.write_all(b).map_err(CleanError::Write)?;
    Ok(b.len() as u64)
}

/// A text article's bytes: borrowed, or read from its file once into `held`.
fn text_input<'a>(input: Input<'a>, held: &'a mut Option<Vec<u8>>) -> Result<&'a [u8], CleanError> {
    match input {
        Input::Bytes(b) => Ok(b),
        Input::Path(p) => {
            if held.is_none() {
                *held = Some(std::fs::read(p).map_err(CleanError::Read)?);
            }
            Ok(held.as_deref().expect("just read"))
        }
    }
}

/// Where the article of an HTML page is: the find pass run with no rules, for its
/// locator (`pare locate`, `scripts/locate-score.py`).
pub fn locate(page: &[u8]) -> Result<Option<locate::Region>, CleanError> {
    let book = RuleBook::from_files(Vec::new(), Vec::new());
    let opts = Options {
        kind: Some(Kind::Html),
        ..Options::default()
    };
    Ok(clean(Input::Bytes(page), &book, &opts, &mut io::sink())?.article)
}

/// The first [`HEAD`] bytes: borrowed from bytes in memory, read from a file.
fn read_head(input: Input<'_>) -> Result<std::borrow::Cow<'_, [u8]>, CleanError> {
    match input {
        Input::Bytes(b) => Ok(std::borrow::Cow::Borrowed(&b[..b.len().min(HEAD)])),
        Input::Path(p) => {
            let f = File::open(p).map_err(CleanError::Read)?;
            let mut v = Vec::new();
            f.take(HEAD as u64)
                .read_to_end(&mut v)
                .map_err(CleanError::Read)?;
            Ok(std::borrow::Cow::Owned(v))
        }
    }
}

/// The first 64 KiB of each kept part of the input, one after the other (read again
/// from the file when the input is not held in memory).
fn kept_start(input: Input<'_>, parts: &[reader::Part]) -> Vec<u8> {
    const EACH: u64 = 64 << 10;
    let mut out = Vec::new();
    let mut file = match input {
        Input::Path(p) => File::open(p).ok(),
        Input::Bytes(_) => None,
    };
    for p in parts {
        let end = p.end.min(p.start + EACH);
        match (input, file.as_mut()) {
            (Input::Bytes(b), _) => {
                let (s, e) = ((p.start as usize).min(b.len()), (end as usize).min(b.len()));
                out.extend_from_slice(&b[s..e]);
            }
            (Input::Path(_), Some(f)) => {
                use std::io::Seek;
                let mut buf = vec![0u8; (end - p.start.min(end)) as usize];
                if f.seek(io::SeekFrom::Start(p.start)).is_ok() {
                    let n = f.read(&mut buf).unwrap_or(0);
                    out.extend_from_slice(&buf[..n]);
                }
            }
            (Input::Path(_), None) => {}
        }
        out.push(b'\n');
    }
    out
}

/// Hands the input to `sink` in chunks of `size` bytes.
fn feed(
    input: Input<'_>,
    size: usize,
    sink: &mut dyn FnMut(&[u8]) -> Result<(), CleanError>,
) -> Result<(), CleanError> {
    let size = size.max(1);
    match input {
        Input::Bytes(b) => {
            for c in b.chunks(size) {
                sink(c)?;
            }
        }
        Input::Path(p) => {
            let mut f = File::open(p).map_err(CleanError::Read)?;
            let mut buf = vec![0u8; size];
            loop {
                let n = match f.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(CleanError::Read(e)),
                };
                sink(&buf[..n])?;
            }
        }
    }
    Ok(())
}

/// What a file's name says it is (`.html`, `.txt` …), if it says.
pub fn kind_by_name(p: &Path) -> Option<Kind> {
    let ext = p.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" | "xhtml" | "shtml" | "mhtml" => Some(Kind::Html),
        "txt" | "text" | "md" => Some(Kind::Text),
        _ => None,
    }
}

/// What a file named as `named` is: as named, except a file named as text (`.txt`,
/// `.md`) that is unmistakably an HTML document — it opens with `<!DOCTYPE html` or
/// `<html` — which is HTML (a saved page renamed, or a fetcher's wrong extension):
/// cleaned as text, its markup would be taken for paragraphs.
fn by_name(named: Kind, head: &[u8]) -> Kind {
    if named != Kind::Text {
        return named;
    }
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace() && !matches!(b, 0xEF | 0xBB | 0xBF))
        .map_or(&[][..], |i| &head[i..head.len().min(i + 14)]);
    let opens = |p: &[u8]| start.len() >= p.len() && start[..p.len()].eq_ignore_ascii_case(p);
    if opens(b"<!doctype html") || opens(b"<html") {
        Kind::Html
    } else {
        Kind::Text
    }
}

/// HTML when the start looks like markup; text otherwise.
fn sniff_kind(head: &[u8]) -> Kind {
    let start = &head[..head.len().min(4096)];
    let lower: Vec<u8> = start.iter().map(u8::to_ascii_lowercase).collect();
    let first = lower
        .iter()
        .position(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF);
    let begins_tag = first.is_some_and(|i| lower[i] == b'<');
    let has = |n: &[u8]| find(&lower, n).is_some();
    if begins_tag
        || has(b"<html")
        || has(b"<body")
        || has(b"<!doctype")
        || has(b"<div")
        || has(b"<p>")
    {
        Kind::Html
    } else {
        Kind::Text
    }
}

/// Names well-known binary formats, and anything with NUL bytes.
fn sniff_binary(head: &[u8]) -> Option<String> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"\x1f\x8b", "gzip-compressed data"),
        (b"PK\x03\x04", "a ZIP archive"),
        (b"%PDF-", "a PDF document"),
        (b"RIFF", "a RIFF (WebP/WAV/AVI) file"),
        (b"\x7fELF", "an executable"),
        (b"BZh", "bzip2-compressed data"),
        (b"\xfd7zXZ\x00", "xz-compressed data"),
        (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    ];
    for (m, what) in MAGIC {
        if head.starts_with(m) {
            return Some(format!("looks like {what}"));
        }
    }
    let probe = &head[..head.len().min(8192)];
    if probe.contains(&0) {
        return Some("binary data (NUL bytes)".into());
    }
    None
}

/// The encoding a page declares in a `<meta>` in its first 4 KiB (`charset=…` or the
/// `http-equiv` form), if it is one lol_html can read.
fn meta_charset(head: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let start = &head[..head.len().min(4096)];
    let lower: Vec<u8> = start.iter().map(u8::to_ascii_lowercase).collect();
    let mut from = 0;
    while let Some(i) = find(&lower[from..], b"<meta") {
        let at = from + i;
        let end = lower[at..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(lower.len(), |p| at + p);
        let tag = &lower[at..end];
        if let Some(c) = find(tag, b"charset=") {
            let v = &tag[c + 8..];
            let v: Vec<u8> = v
                .iter()
                .copied()
                .skip_while(|b| *b == b'"' || *b == b'\'' || b.is_ascii_whitespace())
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.'))
                .collect();
            if let Some(enc) = encoding_rs::Encoding::for_label(&v) {
                // HTML: a page that declares UTF-16 in ASCII bytes is read as UTF-8.
                return Some(if enc.is_ascii_compatible() {
                    enc
                } else {
                    encoding_rs::UTF_8
                });
            }
        }
        from = end.max(at + 1);
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_charsets() {
        assert_eq!(
            meta_charset(b"<meta charset=\"windows-1251\">"),
            Some(encoding_rs::WINDOWS_1251)
        );
        assert_eq!(
            meta_charset(b"<META HTTP-EQUIV=Content-Type CONTENT='text/html; charset=Shift_JIS'>"),
            Some(encoding_rs::SHIFT_JIS)
        );
        assert_eq!(
            meta_charset(b"<meta charset=utf-16>"),
            Some(encoding_rs::UTF_8)
        );
        assert_eq!(meta_charset(b"<p>no meta</p>"), None);
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff_kind(b"  <!DOCTYPE html><p>x"), Kind::Html);
        assert_eq!(
            sniff_kind(b"Support The Moscow Times!\n\nLavrov"),
            Kind::Text
        );
        assert!(
            sniff_binary(b"\x89PNG\r\n\x1a\nxxxx")
                .unwrap()
                .contains("PNG")
        );
        assert!(sniff_binary(b"<html>\0</html>").unwrap().contains("NUL"));
        // A name saying text gives way only to a whole HTML document.
        assert_eq!(by_name(Kind::Text, b"\n <!DOCTYPE HTML><p>x"), Kind::Html);
        assert_eq!(by_name(Kind::Text, b"<html lang=en>"), Kind::Html);
        assert_eq!(by_name(Kind::Text, b"Notes on <html> tags"), Kind::Text);
        assert_eq!(by_name(Kind::Text, b"<p>a paragraph"), Kind::Text);
        assert_eq!(by_name(Kind::Html, b"plain words"), Kind::Html);
        assert_eq!(sniff_binary(b"<html></html>"), None);
    }
}
