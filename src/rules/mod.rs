//! Rule files: load a set of rules folders, validate every rule, and pick the rules for a
//! site.
//!
//! A rule file is TOML (see `docs/RULES.md`). Loading checks everything a running engine
//! would trip over — bad TOML, unknown keys, selectors lol_html cannot parse, bad regexes,
//! duplicate ids — and reports each problem as `path:line:col: message`. The rules module
//! knows nothing of tokio, folders being watched, or output: it turns files into
//! [`RuleBook`]s and a `RuleBook` plus a host into a [`compile::Compiled`] set.

pub mod compile;
pub mod schema;
pub mod selector;
pub mod snapshot;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use regex::Regex;
use toml::Spanned;

use crate::text::normalize;
use schema::{RawExample, RawFile, RawRule};
use selector::{Compound, parse_compound, parse_pair, split_list};

/// What kind of clutter a rule removes. Logs, reports and the on/off switches use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Paywall,
    Donation,
    Newsletter,
    Related,
    Social,
    Promo,
    Tracking,
    Consent,
    /// Site navigation, header and footer outside the article: off unless asked for.
    Chrome,
    /// What only a browser needs — scripts, styles, frames, forms, inline styles: left
    /// out of a reading copy (`--profile reader`), off otherwise.
    Reader,
    Other,
}

impl Category {
    /// Every category, in the order reports list them.
    pub const ALL: [Category; 11] = [
        Category::Paywall,
        Category::Donation,
        Category::Newsletter,
        Category::Related,
        Category::Social,
        Category::Promo,
        Category::Tracking,
        Category::Consent,
        Category::Chrome,
        Category::Reader,
        Category::Other,
    ];

    /// The name used in rule files, logs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Category::Paywall => "paywall",
            Category::Donation => "donation",
            Category::Newsletter => "newsletter",
            Category::Related => "related",
            Category::Social => "social",
            Category::Promo => "promo",
            Category::Tracking => "tracking",
            Category::Consent => "consent",
            Category::Chrome => "chrome",
            Category::Reader => "reader",
            Category::Other => "other",
        }
    }

    /// Parses a category name as written in a rule file.
    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.name() == s)
    }

    /// Whether a category is applied when the user has not said.
    pub fn on_by_default(self) -> bool {
        !matches!(self, Category::Chrome | Category::Reader)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of categories (a bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Categories(u16);

impl Categories {
    /// The categories applied by default: all but `chrome`.
    pub fn defaults() -> Self {
        let mut s = Categories(0);
        for c in Category::ALL {
            if c.on_by_default() {
                s.insert(c);
            }
        }
        s
    }
    /// Every category: what a reading copy applies unless told otherwise.
    pub fn all() -> Self {
        let mut s = Categories(0);
        for c in Category::ALL {
            s.insert(c);
        }
        s
    }

    /// `spec` (as for [`FromStr`](std::str::FromStr)) with `+x` / `-x` items adjusting
    /// `base` instead of the defaults.
    pub fn adjust(base: Categories, spec: &str) -> Result<Categories, String> {
        let parsed: Categories = spec.parse()?;
        if spec
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .any(|i| !i.starts_with(['+', '-']))
        {
            return Ok(parsed);
        }
        let mut set = base;
        for item in spec.split(',').map(str::trim) {
            if let Some(c) = item.strip_prefix('+').and_then(Category::parse) {
                set.insert(c);
            } else if let Some(c) = item.strip_prefix('-').and_then(Category::parse) {
                set.remove(c);
            }
        }
        Ok(set)
    }

    pub fn contains(self, c: Category) -> bool {
        self.0 & (1 << c as u16) != 0
    }
    pub fn insert(&mut self, c: Category) {
        self.0 |= 1 << c as u16;
    }
    pub fn remove(&mut self, c: Category) {
        self.0 &= !(1 << c as u16);
    }
}

impl Default for Categories {
    fn default() -> Self {
        Categories::defaults()
    }
}

impl std::str::FromStr for Categories {
    type Err = String;

    /// `--categories` and `categories =`: a plain list (`paywall,donation`) replaces
    /// the defaults; `+x` / `-x` items adjust them (`+chrome,-related`).
    fn from_str(spec: &str) -> Result<Categories, String> {
        let items: Vec<&str> = spec
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let mut set = if items.iter().any(|i| !i.starts_with(['+', '-'])) {
            Categories(0)
        } else {
            Categories::defaults()
        };
        for item in items {
            let (add, name) = match item.strip_prefix('-') {
                Some(name) => (false, name),
                None => (true, item.strip_prefix('+').unwrap_or(item)),
            };
            let c = Category::parse(name).ok_or_else(|| {
                format!(
                    "unknown category `{name}` (expected one of: {})",
                    Category::ALL.map(|c| c.name()).join(", ")
                )
            })?;
            if add {
                set.insert(c);
            } else {
                set.remove(c);
            }
        }
        Ok(set)
    }
}

/// The shipped rules: `./rules` when run from a checkout, else the installed copy.
pub fn default_dir() -> Option<PathBuf> {
    ["rules", "/usr/share/pare/rules"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_dir())
}

/// Where a rule was written: for logs, reports and `pare explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file's path as reports show it, shared by the file's rules.
    pub file: Arc<str>,
    pub line: u32,
}

impl Origin {
    /// The path as an origin shows it: made once per file, since a report names the
    /// origin of every removal.
    pub fn shown(path: &Path) -> Arc<str> {
        Arc::from(path.display().to_string())
    }

    /// `file:line`, in one allocation of the right size.
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::with_capacity(self.file.len() + 11);
        s.push_str(&self.file);
        let _ = write!(s, ":{}", self.line);
        s
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A validated selector list: the simple parts (indexable) and the rest (for lol_html).
#[derive(Debug, Clone)]
pub struct Selectors {
    pub source: String,
    pub simple: Vec<Compound>,
    /// `A > B` and `A B`: (A, whether `>`, B), matched by the index too.
    pub pairs: Vec<(Compound, bool, Compound)>,
    pub complex: Vec<String>,
}

/// What a rule does.
#[derive(Debug, Clone)]
pub enum Action {
    /// Remove every element matching the selectors.
    Remove(Selectors),
    /// Remove the smallest `within` element whose text contains one of the phrases
    /// (already normalized: lowercase, folded quotes, single spaces).
    RemoveContaining {
        phrases: Vec<String>,
        within: Selectors,
    },
    /// Remove the smallest `within` element whose whole text matches the regex.
    RemoveMatching {
        regex: Regex,
        /// The longest text the regex can match as a whole, when it is anchored at both
        /// ends (`^…$`): longer element text cannot match and is not searched.
        max_len: Option<usize>,
        within: Selectors,
    },
    /// Remove the smallest `within` element holding the marker and everything after it
    /// in its parent.
    CutAfter { marker: String, within: Selectors },
    /// Drop the tags of matching elements, keep their content.
    Unwrap(Selectors),
    /// Drop attributes whose names match a glob (`on*`, `data-*`).
    DropAttributes {
        globs: Vec<String>,
        selector: Selectors,
    },
    /// Turn lazy images into real ones (`data-src` → `src`, `data-srcset` → `srcset`).
    LazyImages { selector: Selectors },
    /// Keep only the matching element(s) inside `<body>`: everything else in the body
    /// goes (the page's `<head>` stays).
    Keep(Selectors),
    /// Plain text only: drop the paragraphs from the one holding `start` to the one
    /// holding `end`.
    DropBetween { start: String, end: String },
}

impl Action {
    /// The action's key as written in a rule file.
    pub fn key(&self) -> &'static str {
        match self {
            Action::Remove(_) => "remove",
            Action::RemoveContaining { .. } => "remove_containing",
            Action::RemoveMatching { .. } => "remove_matching",
            Action::CutAfter { .. } => "cut_after",
            Action::Unwrap(_) => "unwrap",
            Action::DropAttributes { .. } => "drop_attributes",
            Action::LazyImages { .. } => "lazy_images",
            Action::DropBetween { .. } => "drop_between",
            Action::Keep(_) => "keep",
        }
    }
}

/// One validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub category: Category,
    pub action: Action,
    pub origin: Origin,
    /// From a generic file (the safety guard is stricter for these).
    pub generic: bool,
    pub note: Option<String>,
    /// Conditions the removed element must meet (`None`: none).
    pub cond: Option<Box<Conditions>>,
    /// A hand-written site rule that may take the located article's text.
    pub may_take_article: bool,
}

/// Where a removal may be, against the located article.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    InsideArticle,
    OutsideArticle,
}

impl Place {
    pub fn name(self) -> &'static str {
        match self {
            Place::InsideArticle => "inside_article",
            Place::OutsideArticle => "outside_article",
        }
    }
}

/// Conditions a removal rule carries: the element is removed only if it meets them all.
/// Words, links and descendants are decided when the element ends; `place` at the end
/// of the page, against the located article (a page whose article the locator is not
/// sure of meets neither place).
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    pub min_words: Option<u32>,
    pub max_words: Option<u32>,
    pub min_link_density: Option<f32>,
    pub max_link_density: Option<f32>,
    pub has: Option<Selectors>,
    pub place: Option<Place>,
    /// [`describe`](Self::describe)'s text, made once at load.
    text: String,
}

impl Conditions {
    /// The conditions as a rule file writes them (for `pare explain` and reports).
    pub fn describe(&self) -> &str {
        &self.text
    }

    fn write(&self) -> String {
        let mut v = Vec::new();
        if let Some(n) = self.min_words {
            v.push(format!("min_words = {n}"));
        }
        if let Some(n) = self.max_words {
            v.push(format!("max_words = {n}"));
        }
        if let Some(d) = self.min_link_density {
            v.push(format!("min_link_density = {d}"));
        }
        if let Some(d) = self.max_link_density {
            v.push(format!("max_link_density = {d}"));
        }
        if let Some(h) = &self.has {
            v.push(format!("has = \"{}\"", h.source));
        }
        if let Some(p) = self.place {
            v.push(format!("where = \"{}\"", p.name()));
        }
        v.join(", ")
    }

    /// Whether an element of `words` words, `link_density` of its text in links, with
    /// `has` true when a descendant matched the `has` selectors, meets the conditions
    /// decided at its end: `None` if so, else which one failed (its words made only
    /// when a report shows them: most elements a rule with conditions asks for fail).
    pub fn unmet(&self, words: u32, link_density: f32, has: bool) -> Option<Unmet<'_>> {
        if let Some(n) = self.min_words
            && words < n
        {
            return Some(Unmet::MinWords(words, n));
        }
        if let Some(n) = self.max_words
            && words > n
        {
            return Some(Unmet::MaxWords(words, n));
        }
        if let Some(d) = self.min_link_density
            && link_density < d
        {
            return Some(Unmet::MinLinkDensity(link_density, d));
        }
        if let Some(d) = self.max_link_density
            && link_density > d
        {
            return Some(Unmet::MaxLinkDensity(link_density, d));
        }
        if let Some(h) = &self.has
            && !has
        {
            return Some(Unmet::Has(&h.source));
        }
        None
    }
}

/// The condition an element did not meet, with what it had.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unmet<'a> {
    MinWords(u32, u32),
    MaxWords(u32, u32),
    MinLinkDensity(f32, f32),
    MaxLinkDensity(f32, f32),
    /// No descendant matched these `has` selectors.
    Has(&'a str),
}

impl fmt::Display for Unmet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Unmet::MinWords(w, n) => write!(f, "{w} words (min_words = {n})"),
            Unmet::MaxWords(w, n) => write!(f, "{w} words (max_words = {n})"),
            Unmet::MinLinkDensity(l, d) => {
                write!(f, "link density {l:.2} (min_link_density = {d})")
            }
            Unmet::MaxLinkDensity(l, d) => {
                write!(f, "link density {l:.2} (max_link_density = {d})")
            }
            Unmet::Has(h) => write!(f, "no descendant matches `{h}` (has)"),
        }
    }
}

/// One validated rule file.
#[derive(Debug)]
pub struct RuleFile {
    pub path: Arc<Path>,
    /// Lowercased domains; empty for a generic file.
    pub domains: Vec<String>,
    /// Lowercased subdomains of `domains` the file is not for (nor their subdomains).
    pub except_domains: Vec<String>,
    /// `domains` cover their subdomains (the default), or only themselves.
    pub subdomains: bool,
    pub generic: bool,
    /// The publication's names, normalized like page text.
    pub names: Vec<String>,
    pub disable: Vec<String>,
    /// How many rules the file holds.
    rule_count: u32,
    /// A generic file's rule ids with their lines (checked across files at every load
    /// without making the rules); empty for a site file.
    ids: Vec<(Box<str>, u32)>,
    /// The file's validated text: its rules are made from it when first asked for (a
    /// site's rules when a page of the site comes), so a book of thousands of site files
    /// holds their text, not their rules.
    source: Source,
    parsed: OnceLock<Box<Parsed>>,
    /// Its rules decoded from a snapshot's binary form (generic files).
    decoded: OnceLock<Box<[Arc<Rule>]>>,
    /// What the file was on disk when read (for the snapshot); `None` when not read from
    /// disk.
    pub(crate) stamp: Option<Box<snapshot::Stamp>>,
    /// Which of the book's rules folders it is in (its index).
    pub(crate) dir: u32,
}

/// A rule file's validated text: held, or where it lies in a snapshot file (with, for
/// a generic file, its rules in the snapshot's binary form).
#[derive(Debug, Clone)]
enum Source {
    Own(Arc<str>),
    Snapshot {
        text: snapshot::Blob,
        rules: Option<snapshot::Blob>,
    },
}

impl Source {
    fn own(text: &str) -> Source {
        Source::Own(Arc::from(text))
    }

    /// Can the text still be read (always, unless it lies in a snapshot damaged since)?
    fn readable(&self) -> bool {
        match self {
            Source::Own(_) => true,
            Source::Snapshot { text, .. } => text.read().is_some(),
        }
    }

    /// The text's length in bytes.
    fn len(&self) -> usize {
        match self {
            Source::Own(t) => t.len(),
            Source::Snapshot { text, .. } => text.len(),
        }
    }

    /// The text, or `None` when the snapshot's bytes no longer hash as they did.
    fn text(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Source::Own(t) => Some(std::borrow::Cow::Borrowed(t)),
            Source::Snapshot { text, .. } => String::from_utf8(text.read()?)
                .ok()
                .map(std::borrow::Cow::Owned),
        }
    }
}

/// A file's rules and examples, made from its text.
#[derive(Debug, Default)]
struct Parsed {
    rules: Vec<Arc<Rule>>,
    examples: Vec<(u32, RawExample)>,
}

impl RuleFile {
    /// The file's rules, made on first use: from the snapshot's binary form for a
    /// generic file that has one, else from its text. The text was validated when the
    /// file was loaded, so this cannot fail; were it to (a snapshot's bytes damaged past
    /// their hashes and the file gone), the file has no rules rather than wrong ones.
    pub fn rules(&self) -> &[Arc<Rule>] {
        if let Some(p) = self.parsed.get() {
            return &p.rules;
        }
        if let Source::Snapshot {
            rules: Some(blob), ..
        } = &self.source
        {
            return self.decoded.get_or_init(|| {
                snapshot::read_rules(blob, &self.path)
                    .map(Vec::into_boxed_slice)
                    .unwrap_or_else(|| self.parsed().rules.clone().into_boxed_slice())
            });
        }
        &self.parsed().rules
    }

    /// The file's `[[example]]`s with their lines.
    pub fn examples(&self) -> &[(u32, RawExample)] {
        &self.parsed().examples
    }

    /// How many rules the file holds (without making them).
    pub fn rule_count(&self) -> usize {
        self.rule_count as usize
    }

    fn parsed(&self) -> &Parsed {
        self.parsed.get_or_init(|| {
            // The snapshot's copy is checked by its hash; were it damaged on disk since
            // the book was loaded, the file itself (validated again) is the fallback.
            let parsed = |text: &str, trusted| {
                parse_text(&self.path, text, trusted)
                    .ok()
                    .and_then(|f| f.parsed.into_inner())
            };
            self.source
                .text()
                .and_then(|t| parsed(&t, true))
                .or_else(|| {
                    // Only the file as it was validated: an edit made since (a bad one the
                    // daemon refused, or a good one not yet reloaded) is not taken here.
                    let text = read_rule_file(&self.path, DEFAULT_MAX_FILE_SIZE << 4).ok()?;
                    let same = self
                        .stamp
                        .as_ref()
                        .is_none_or(|s| snapshot::hash(text.as_bytes()) == s.hash);
                    same.then(|| parsed(&text, false)).flatten()
                })
                .unwrap_or_else(|| {
                    snapshot::LOST.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    Box::default()
                })
        })
    }

    /// The file's text as validated (`None`: its snapshot copy is damaged).
    pub(crate) fn text(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.source.text()
    }

    /// Forgets the rules made from the text (they are made again when asked for).
    fn shed(&mut self) {
        self.parsed = OnceLock::new();
    }

    /// Does this site file cover `host`?
    pub fn covers(&self, host: &str) -> bool {
        self.domains
            .iter()
            .any(|d| entry_covers(d, host, self.subdomains))
            && !self.except_domains.iter().any(|d| domain_covers(d, host))
    }

    /// A host named by the file's first `domains` entry (`*.example.com` stands for
    /// `sub.example.com`), for running its examples; `None` for a generic file.
    pub fn example_host(&self) -> Option<String> {
        let d = self.domains.first()?;
        Some(match entry_base(d) {
            (true, base) => format!("sub.{base}"),
            (false, _) => d.clone(),
        })
    }
}

/// A `domains` entry's domain, and whether it was written `*.domain` (the hosts one
/// label below it).
fn entry_base(entry: &str) -> (bool, &str) {
    match entry.strip_prefix("*.") {
        Some(base) => (true, base),
        None => (false, entry),
    }
}

/// Does a `domains` entry cover `host`? `example.com` covers example.com and, with
/// `subdomains`, every subdomain; without, only `www.example.com` besides. `*.example.com`
/// covers the hosts one label below example.com and, with `subdomains`, theirs; without,
/// only those (`www.` in front is the same host, and `www.example.com` is example.com).
pub fn entry_covers(entry: &str, host: &str, subdomains: bool) -> bool {
    let host = host.trim_end_matches('.');
    let (wild, base) = entry_base(entry);
    let exact = |h: &str| h.eq_ignore_ascii_case(base);
    if subdomains {
        return domain_covers(base, host) && !(wild && exact(host));
    }
    let bare = match host.get(..4) {
        Some(w) if w.eq_ignore_ascii_case("www.") => &host[4..],
        _ => host,
    };
    if !wild {
        return exact(host) || exact(bare);
    }
    // One label, then `.base`.
    bare.len() > base.len() + 1
        && domain_covers(base, bare)
        && !bare[..bare.len() - base.len() - 1].contains('.')
}

/// `example.com` covers `example.com` and `*.example.com`.
pub fn domain_covers(domain: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host.eq_ignore_ascii_case(domain)
        || (host.len() > domain.len()
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
            && host[host.len() - domain.len()..].eq_ignore_ascii_case(domain))
}

/// A rule-file problem, located as `path:line:col`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{col}: {message}", path.display())]
pub struct RuleError {
    pub path: PathBuf,
    pub line: u32,
    pub col: u32,
    pub message: String,
}

impl RuleError {
    /// A problem with a whole file or folder (no line to point at).
    fn whole(path: &Path, message: String) -> RuleError {
        RuleError {
            path: path.to_path_buf(),
            line: 0,
            col: 0,
            message,
        }
    }
}

/// The largest rule file loaded by default (16 MiB): far above any hand-written or
/// imported file (everything imported from FiveFilters and EasyList is under 3 MB), far
/// below what would strain the daemon's memory.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 16 << 20;

/// Reads a rule file, following a symbolic link. Opened without blocking (a FIFO named
/// `*.toml` must not hang the loader), checked to be a regular file no larger than
/// `max` on the open handle, and read no further than `max` bytes whatever it claims.
fn read_rule_file(path: &Path, max: u64) -> Result<String, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    /// `O_NONBLOCK` on Linux: opening a FIFO returns at once instead of waiting for a
    /// writer.
    const O_NONBLOCK: i32 = 0o4000;
    let not_file =
        |what: &str| format!("not a readable regular file ({what}); rule files must be files");
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => return Err(format!("cannot read: {e}")),
    };
    let link = meta.file_type().is_symlink();
    let mut f = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if link && e.kind() == std::io::ErrorKind::NotFound => {
            let to = std::fs::read_link(path)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            return Err(not_file(&format!("a dangling symbolic link to {to}")));
        }
        Err(e) => return Err(format!("cannot read: {e}")),
    };
    let m = f.metadata().map_err(|e| format!("cannot read: {e}"))?;
    let t = m.file_type();
    if !t.is_file() {
        use std::os::unix::fs::FileTypeExt;
        let what = if t.is_dir() {
            "a folder"
        } else if t.is_fifo() {
            "a named pipe"
        } else if t.is_block_device() || t.is_char_device() {
            "a device"
        } else if t.is_socket() {
            "a socket"
        } else {
            "not a file"
        };
        return Err(not_file(what));
    }
    if m.len() > max {
        return Err(format!(
            "{} bytes, larger than the limit of {max} bytes for a rule file (max_rule_file_size); not read",
            m.len()
        ));
    }
    let mut bytes = Vec::with_capacity(m.len() as usize);
    (&mut f)
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > max {
        return Err(format!(
            "grew past the limit of {max} bytes for a rule file while being read; not loaded"
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "not UTF-8 text: invalid byte at offset {}",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Which compiled set a page needs: its site files and the categories in force.
type SiteKey = (Vec<usize>, Categories);

/// All the rule files pare runs with, and a cache of rule sets compiled per site.
#[derive(Debug)]
pub struct RuleBook {
    pub files: Vec<RuleFile>,
    pub dirs: Vec<PathBuf>,
    /// Domain → the site files naming it.
    by_domain: rustc_hash::FxHashMap<String, Vec<usize>>,
    cache: Mutex<HashMap<SiteKey, Arc<compile::Compiled>>>,
    /// The generic rules compiled per set of categories.
    generic: Mutex<HashMap<Categories, Arc<compile::Part>>>,
    /// How the book was loaded (snapshot or files).
    pub loaded: Loaded,
}

/// How a rule book was loaded: how many files came from its snapshot and how many were
/// read, and what became of the snapshot.
#[derive(Debug, Default, Clone)]
pub struct Loaded {
    /// The snapshot file, when one was asked for and the book is large enough.
    pub snapshot: Option<PathBuf>,
    /// Files taken from the snapshot on their metadata.
    pub unchanged: usize,
    /// Files taken from the snapshot after their text was compared (changed in the
    /// second before they were last read).
    pub verified: usize,
    /// Files read and validated from their TOML.
    pub read: usize,
    /// Why the snapshot there was not used (`None`: there was none, or it was used).
    pub refused: Option<String>,
    /// A new snapshot was written.
    pub written: bool,
    /// Why writing it failed.
    pub write_error: Option<String>,
}

impl Loaded {
    /// One line for logs and `pare check`, when a snapshot was involved.
    pub fn describe(&self) -> Option<String> {
        let p = self.snapshot.as_ref()?;
        let mut s = format!(
            "snapshot {}: {} file(s) from it, {} read",
            p.display(),
            self.unchanged + self.verified,
            self.read
        );
        if let Some(why) = &self.refused {
            s.push_str(&format!(" (the one there was not used: {why})"));
        }
        if self.written {
            s.push_str("; written anew");
        }
        if let Some(e) = &self.write_error {
            s.push_str(&format!("; could not be written: {e}"));
        }
        Some(s)
    }
}

/// The metadata of every listed file (a link's target's), in order.
fn metadata_of(paths: &[Listed]) -> Vec<Option<snapshot::Meta>> {
    let one = |l: &Listed| {
        let m = match l.entry.file_type() {
            Ok(t) if !t.is_symlink() => l.entry.metadata(),
            _ => std::fs::metadata(&l.path),
        };
        m.ok().map(|m| snapshot::Meta::of(&m))
    };
    if paths.len() < 2 * snapshot::MIN_FILES {
        return paths.iter().map(one).collect();
    }
    let (a, b) = paths.split_at(paths.len() / 2);
    std::thread::scope(|s| {
        let second = s.spawn(|| b.iter().map(one).collect::<Vec<_>>());
        let mut out: Vec<_> = a.iter().map(one).collect();
        match second.join() {
            Ok(v) => out.extend(v),
            Err(_) => out.extend(b.iter().map(one)),
        }
        out
    })
}

/// The `*.toml` entries of `dirs` in load order: by file name, a later folder's file
/// replacing an earlier one's of the same name. Each comes with its directory entry,
/// whose metadata is read relative to the open folder (no walk of the whole path).
fn list_rule_files(dirs: &[PathBuf]) -> (Vec<Listed>, Vec<RuleError>) {
    let mut all: Vec<(std::ffi::OsString, usize, std::fs::DirEntry)> = Vec::new();
    let mut errors = Vec::new();
    for (k, dir) in dirs.iter().enumerate() {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                errors.push(RuleError::whole(
                    dir,
                    format!("cannot read rules folder: {e}"),
                ));
                continue;
            }
        };
        for e in entries.filter_map(|e| e.ok()) {
            let name = e.file_name();
            if name.as_encoded_bytes().ends_with(b".toml") && name.len() > 5 {
                all.push((name, k, e));
            }
        }
    }
    // By name, and for one name the last folder's first. Sorted as small keys (the
    // name's first eight bytes, then its place): moving and comparing the entries
    // themselves was a tenth of a warm load with 31,347 files.
    let mut order: Vec<(u64, u32)> = all
        .iter()
        .enumerate()
        .map(|(i, (name, _, _))| (name_prefix(name.as_encoded_bytes()), i as u32))
        .collect();
    order.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| {
            let (x, y) = (&all[a.1 as usize], &all[b.1 as usize]);
            x.0.cmp(&y.0).then(y.1.cmp(&x.1))
        })
    });
    let mut all: Vec<Option<_>> = all.into_iter().map(Some).collect();
    let mut files: Vec<Listed> = Vec::with_capacity(order.len());
    let mut last: Option<std::ffi::OsString> = None;
    for (_, i) in order {
        let (name, k, entry) = all[i as usize].take().expect("each entry sorted once");
        if last.as_ref() == Some(&name) {
            continue;
        }
        files.push(Listed {
            path: dirs[k].join(&name),
            dir: k as u32,
            entry,
        });
        last = Some(name);
    }
    (files, errors)
}

/// The first eight bytes of a file name as a number that orders as the names do (a
/// shorter name is padded with zeros, and names hold no zero byte).
fn name_prefix(name: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = name.len().min(8);
    b[..n].copy_from_slice(&name[..n]);
    u64::from_be_bytes(b)
}

/// A rule file found in a rules folder.
struct Listed {
    path: PathBuf,
    /// Which of the folders (its index).
    dir: u32,
    entry: std::fs::DirEntry,
}

impl RuleBook {
    /// The host of the site file whose publication `text` names (normalized text: a
    /// page's `og:site_name`, or a plain text's first and last paragraphs), as whole
    /// words; the longest name wins. `None` when no file's name is there.
    pub fn host_named(&self, text: &str) -> Option<String> {
        let mut best: Option<(usize, &RuleFile)> = None;
        for f in self.files.iter().filter(|f| !f.generic) {
            for n in &f.names {
                if best.is_some_and(|(len, _)| len >= n.len()) {
                    continue;
                }
                if crate::text::has_words(text, n) {
                    best = Some((n.len(), f));
                }
            }
        }
        best.and_then(|(_, f)| f.example_host())
    }

    /// Loads every `*.toml` file in `dirs`, refusing files over
    /// [`DEFAULT_MAX_FILE_SIZE`]. See [`load_with`](Self::load_with).
    pub fn load(dirs: &[PathBuf]) -> Result<RuleBook, Vec<RuleError>> {
        RuleBook::load_with(dirs, DEFAULT_MAX_FILE_SIZE, None)
    }

    /// [`load_with`](Self::load_with) without a snapshot.
    pub fn load_limited(dirs: &[PathBuf], max_size: u64) -> Result<RuleBook, Vec<RuleError>> {
        RuleBook::load_with(dirs, max_size, None)
    }

    /// Loads every `*.toml` entry in `dirs`. A file in a later folder replaces the file
    /// of the same name in an earlier one (local rules override shipped ones). A
    /// symbolic link is followed; an entry named `*.toml` that is not a readable
    /// regular file (a dangling link, a FIFO, a device, a folder) is an error, and so
    /// is a file larger than `max_size` bytes, refused before it is read. Returns every
    /// problem found, not just the first.
    ///
    /// With `snapshot` (a file path) and at least [`snapshot::MIN_FILES`] files, the
    /// files that have not changed since the snapshot there was written are taken from
    /// it instead of being read and validated again, and after a load that read any
    /// file a new snapshot is written there (see [`snapshot`]). What happened is in
    /// [`RuleBook::loaded`].
    pub fn load_with(
        dirs: &[PathBuf],
        max_size: u64,
        snapshot: Option<&Path>,
    ) -> Result<RuleBook, Vec<RuleError>> {
        RuleBook::load_snapshot(dirs, max_size, snapshot, true)
    }

    /// [`load_with`](Self::load_with) reading every file, not the snapshot there, and
    /// writing a new one: for when the one there was found damaged in use.
    pub fn load_rebuilding(
        dirs: &[PathBuf],
        max_size: u64,
        snapshot: Option<&Path>,
    ) -> Result<RuleBook, Vec<RuleError>> {
        RuleBook::load_snapshot(dirs, max_size, snapshot, false)
    }

    fn load_snapshot(
        dirs: &[PathBuf],
        max_size: u64,
        snapshot: Option<&Path>,
        use_it: bool,
    ) -> Result<RuleBook, Vec<RuleError>> {
        let (paths, mut errors) = list_rule_files(dirs);
        let snapshot = snapshot.filter(|_| paths.len() >= snapshot::MIN_FILES);
        let mut loaded = Loaded {
            snapshot: snapshot.map(Path::to_path_buf),
            ..Loaded::default()
        };
        let mut snap = snapshot.filter(|_| use_it).and_then(|p| {
            match snapshot::Snapshot::read(p, dirs, max_size) {
                Ok(s) => Some(s),
                Err(why) => {
                    loaded.refused = why;
                    None
                }
            }
        });
        // Every file's metadata, looked at after `checked` (so a file changed since reads
        // as racy), on two threads: with tens of thousands of files the kernel's lookups
        // are most of a warm load.
        let checked = snapshot::now_ns();
        let metas: Vec<Option<snapshot::Meta>> = if snapshot.is_some() {
            metadata_of(&paths)
        } else {
            vec![None; paths.len()]
        };
        let mut files = Vec::with_capacity(paths.len());
        let mut settled_any = false;
        let creds = snapshot::Creds::of_process();
        for (Listed { path, dir, .. }, meta) in paths.into_iter().zip(metas) {
            // A file this process may not read is read, to report it as before.
            if let (Some(s), Some(m)) = (&mut snap, meta.as_ref().filter(|m| creds.may_read(m))) {
                match s.take(dir, &path, m, checked, max_size) {
                    Some(snapshot::Taken::Unchanged(f)) => {
                        loaded.unchanged += 1;
                        files.push(f);
                        continue;
                    }
                    Some(snapshot::Taken::Verified { file, settled }) => {
                        loaded.verified += 1;
                        settled_any |= settled;
                        files.push(file);
                        continue;
                    }
                    None => {}
                }
            }
            loaded.read += 1;
            match read_rule_file(&path, max_size) {
                Ok(text) => match parse_file(&path, &text) {
                    Ok(mut f) => {
                        f.dir = dir;
                        f.stamp = meta.map(|m| {
                            Box::new(snapshot::Stamp::new(
                                &m,
                                snapshot::hash(text.as_bytes()),
                                checked,
                            ))
                        });
                        // A site's rules are made again from its text when a page of
                        // the site comes: thousands of site files hold little memory.
                        if !f.generic {
                            f.shed();
                        }
                        files.push(f);
                    }
                    Err(mut es) => errors.append(&mut es),
                },
                Err(message) => errors.push(RuleError::whole(&path, message)),
            }
        }
        if errors.is_empty() {
            check_across_files(&files, &mut errors);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let stale = snap.as_ref().is_none_or(|s| s.len() != files.len());
        if let Some(p) = snapshot
            && (loaded.read > 0 || settled_any || stale)
        {
            match snapshot::write(p, dirs, max_size, &files) {
                Ok(()) => loaded.written = true,
                Err(e) => loaded.write_error = Some(e.to_string()),
            }
        }
        let mut book = RuleBook::from_files(files, dirs.to_vec());
        book.loaded = loaded;
        Ok(book)
    }

    /// A rule book from files already parsed (used by `load` and tests).
    pub fn from_files(files: Vec<RuleFile>, dirs: Vec<PathBuf>) -> RuleBook {
        let mut by_domain: rustc_hash::FxHashMap<String, Vec<usize>> =
            rustc_hash::FxHashMap::with_capacity_and_hasher(files.len(), Default::default());
        for (i, f) in files.iter().enumerate().filter(|(_, f)| !f.generic) {
            for d in &f.domains {
                let (_, base) = entry_base(d);
                let v = by_domain.entry(base.to_string()).or_default();
                if !v.contains(&i) {
                    v.push(i);
                }
            }
        }
        RuleBook {
            files,
            dirs,
            by_domain,
            cache: Mutex::new(HashMap::new()),
            generic: Mutex::new(HashMap::new()),
            loaded: Loaded::default(),
        }
    }

    /// Number of rules over all files.
    pub fn rule_count(&self) -> usize {
        self.files.iter().map(|f| f.rule_count()).sum()
    }

    /// The site files covering `host`, most specific domain first: looked up by the
    /// host and each of its parent domains, so the cost does not grow with the number
    /// of site files.
    pub fn site_files(&self, host: Option<&str>) -> Vec<usize> {
        let Some(host) = host else { return Vec::new() };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let mut out = Vec::new();
        let mut rest = host.as_str();
        loop {
            for &i in self.by_domain.get(rest).into_iter().flatten() {
                if self.files[i].covers(&host) && !out.contains(&i) {
                    out.push(i);
                }
            }
            match rest.split_once('.') {
                Some((_, parent)) if !parent.is_empty() => rest = parent,
                _ => break,
            }
        }
        out
    }

    /// The compiled rules for a page of `host` (generic rules, minus those the site
    /// disables, plus the site's own), limited to `categories`. Compiled once per
    /// combination and cached.
    pub fn for_site(&self, host: Option<&str>, categories: Categories) -> Arc<compile::Compiled> {
        let sites = self.site_files(host);
        let key = (sites.clone(), categories);
        if let Some(c) = self.cache.lock().unwrap().get(&key) {
            return c.clone();
        }
        let generic = self.generic_part(categories);
        let disable: Vec<&str> = sites
            .iter()
            .flat_map(|&i| self.files[i].disable.iter().map(String::as_str))
            .collect();
        let site_rules: Vec<Arc<Rule>> = sites
            .iter()
            .flat_map(|&i| self.files[i].rules().iter())
            .filter(|r| categories.contains(r.category))
            .cloned()
            .collect();
        let site_paths = sites.iter().map(|&i| self.files[i].path.clone()).collect();
        let compiled = Arc::new(compile::Compiled::with_site(
            generic, site_rules, &disable, site_paths,
        ));
        self.cache.lock().unwrap().insert(key, compiled.clone());
        compiled
    }

    /// The generic rules of `categories`, compiled once and shared by every site.
    fn generic_part(&self, categories: Categories) -> Arc<compile::Part> {
        if let Some(p) = self.generic.lock().unwrap().get(&categories) {
            return p.clone();
        }
        let rules: Vec<Arc<Rule>> = self
            .files
            .iter()
            .filter(|f| f.generic)
            .flat_map(|f| f.rules().iter())
            .filter(|r| categories.contains(r.category))
            .cloned()
            .collect();
        let part = Arc::new(compile::Part::new(rules, 0, 0, 0, 0));
        self.generic
            .lock()
            .unwrap()
            .insert(categories, part.clone());
        part
    }
}

/// Checks that need every file: generic ids are unique, and `disable` names a generic rule.
fn check_across_files(files: &[RuleFile], errors: &mut Vec<RuleError>) {
    let mut generic_ids: rustc_hash::FxHashMap<&str, (&Path, u32)> = Default::default();
    for f in files.iter().filter(|f| f.generic) {
        for (id, line) in &f.ids {
            if let Some((file, first)) = generic_ids.insert(id, (&f.path, *line)) {
                errors.push(RuleError {
                    path: f.path.to_path_buf(),
                    line: *line,
                    col: 1,
                    message: format!(
                        "generic rule id `{id}` is already used at {}:{first}",
                        file.display()
                    ),
                });
            }
        }
    }
    // `disable` entries are checked against the generic ids only when generic files are
    // loaded at all: a local folder checked on its own may disable shipped rules.
    if generic_ids.is_empty() {
        return;
    }
    for f in files.iter().filter(|f| !f.generic) {
        for d in &f.disable {
            if !generic_ids.contains_key(d.as_str()) {
                errors.push(RuleError {
                    path: f.path.to_path_buf(),
                    line: 0,
                    col: 0,
                    message: format!("`disable` names `{d}`, which is no generic rule"),
                });
            }
        }
    }
}

/// Line and column (1-based, column in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() as u32 + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() as u32 + 1;
    (line, col)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Byte offset → line and column, in O(log lines) per lookup (large imported files
/// hold thousands of rules).
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { text, starts }
    }

    fn line_col(&self, offset: usize) -> (u32, u32) {
        let offset = floor_char_boundary(self.text, offset.min(self.text.len()));
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let col = self.text[start..offset].chars().count() as u32 + 1;
        (line as u32, col)
    }
}

struct Ctx<'a> {
    path: &'a Path,
    lines: Lines<'a>,
    errors: Vec<RuleError>,
    /// The text was validated by this build before (a snapshot's, or one read at this
    /// load): selectors are not parsed by lol_html again to check them.
    trusted: bool,
}

impl Ctx<'_> {
    fn err_at(&mut self, offset: usize, message: impl Into<String>) {
        let (line, col) = self.lines.line_col(offset);
        self.errors.push(RuleError {
            path: self.path.to_path_buf(),
            line,
            col,
            message: message.into(),
        });
    }
    fn err<T>(&mut self, s: &Spanned<T>, message: impl Into<String>) {
        self.err_at(s.span().start, message)
    }
}

/// Parses and validates one rule file.
pub fn parse_file(path: &Path, text: &str) -> Result<RuleFile, Vec<RuleError>> {
    parse_text(path, text, false)
}

fn parse_text(path: &Path, text: &str, trusted: bool) -> Result<RuleFile, Vec<RuleError>> {
    let mut cx = Ctx {
        path,
        lines: Lines::new(text),
        errors: Vec::new(),
        trusted,
    };
    let raw: RawFile = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let at = e.span().map(|s| s.start).unwrap_or(0);
            cx.err_at(at, e.message().trim_end().to_string());
            return Err(cx.errors);
        }
    };
    let generic = raw.generic.as_ref().is_some_and(|g| *g.get_ref());
    let mut domains = Vec::new();
    match (&raw.domains, &raw.generic) {
        (Some(d), Some(g)) if *g.get_ref() => cx.err(
            d,
            "a file is either `generic = true` or for `domains`, not both",
        ),
        (None, Some(g)) if !*g.get_ref() => cx.err(g, "`generic = false` needs `domains = [...]`"),
        (None, None) => cx.err_at(
            0,
            "say which pages this file is for: `domains = [\"example.com\"]` or `generic = true`",
        ),
        _ => {}
    }
    if let Some(d) = &raw.domains {
        if d.get_ref().is_empty() {
            cx.err(d, "`domains` is empty");
        }
        for dom in d.get_ref() {
            let v = dom
                .get_ref()
                .trim()
                .trim_start_matches('.')
                .to_ascii_lowercase();
            let (_, plain) = entry_base(&v);
            if plain.is_empty() || plain.contains(['/', ':', ' ', '*']) {
                cx.err(
                    dom,
                    format!(
                        "`{}` is not a domain (write `example.com`, no scheme or path)",
                        dom.get_ref()
                    ),
                );
            } else {
                domains.push(v);
            }
        }
    }
    let subdomains = raw.subdomains.as_ref().is_none_or(|s| *s.get_ref());
    if generic && let Some(s) = &raw.subdomains {
        cx.err(s, "`subdomains` belongs in site files, not generic ones");
    }
    let mut except_domains = Vec::new();
    if let Some(x) = &raw.except_domains {
        for dom in x.get_ref() {
            let v = dom
                .get_ref()
                .trim()
                .trim_start_matches('.')
                .to_ascii_lowercase();
            if !domains
                .iter()
                .any(|d| d != &v && entry_covers(d, &v, subdomains))
            {
                cx.err(
                    dom,
                    format!(
                        "`{}` is not a subdomain of this file's `domains`",
                        dom.get_ref()
                    ),
                );
            } else {
                except_domains.push(v);
            }
        }
    }
    let mut names = Vec::new();
    if let Some(ns) = &raw.names {
        if generic {
            cx.err(ns, "`names` belongs in site files, not generic ones");
        }
        for n in ns.get_ref() {
            let v = crate::text::normalize(n.get_ref()).trim().to_string();
            if v.chars().filter(|c| c.is_alphanumeric()).count() < 3 {
                cx.err(
                    n,
                    format!(
                        "`{}` is too short to name a publication (three letters or more)",
                        n.get_ref()
                    ),
                );
            } else {
                names.push(v);
            }
        }
    }
    if generic && !raw.disable.is_empty() {
        cx.err(
            &raw.disable[0],
            "`disable` belongs in site files, not generic ones",
        );
    }
    let file = Origin::shown(path);
    let mut rules = Vec::new();
    let mut ids: HashMap<String, u32> = HashMap::new();
    for r in &raw.rules {
        let (line, _) = cx.lines.line_col(r.span().start);
        if let Some(rule) = validate_rule(&mut cx, r, &file, line, generic) {
            if let Some(prev) = ids.insert(rule.id.clone(), line) {
                let id = r.get_ref().id.as_ref().unwrap();
                cx.err(
                    id,
                    format!("rule id `{}` is already used on line {prev}", rule.id),
                );
            }
            rules.push(Arc::new(rule));
        }
    }
    let examples = raw
        .examples
        .iter()
        .map(|e| {
            if e.get_ref().html.is_some() == e.get_ref().file.is_some() {
                cx.err(e, "an example needs exactly one of `html` or `file`");
            }
            (cx.lines.line_col(e.span().start).0, e.get_ref().clone())
        })
        .collect();
    if cx.errors.is_empty() {
        Ok(RuleFile {
            path: Arc::from(path),
            domains,
            except_domains,
            subdomains,
            generic,
            names,
            disable: raw.disable.iter().map(|d| d.get_ref().clone()).collect(),
            rule_count: rules.len() as u32,
            ids: if generic {
                rules
                    .iter()
                    .map(|r| (Box::from(r.id.as_str()), r.origin.line))
                    .collect()
            } else {
                Vec::new()
            },
            source: Source::own(text),
            parsed: OnceLock::from(Box::new(Parsed { rules, examples })),
            decoded: OnceLock::new(),
            stamp: None,
            dir: 0,
        })
    } else {
        Err(cx.errors)
    }
}

/// The `within` used when a text rule does not give one.
pub const DEFAULT_WITHIN: &str = "div, section, aside, form, p, li, figure, blockquote, span, a";
/// The `within` used by `cut_after` when the rule does not give one.
pub const DEFAULT_CUT_WITHIN: &str = "h1, h2, h3, h4, h5, h6, p, div, span, strong, b";

fn validate_rule(
    cx: &mut Ctx<'_>,
    spanned: &Spanned<RawRule>,
    file: &Arc<str>,
    line: u32,
    generic: bool,
) -> Option<Rule> {
    let r = spanned.get_ref();
    let before = cx.errors.len();
    let id = match &r.id {
        Some(id) if id.get_ref().trim().is_empty() => {
            cx.err(id, "`id` is empty");
            String::new()
        }
        Some(id) => id.get_ref().trim().to_string(),
        None => {
            cx.err(spanned, "rule has no `id`");
            String::new()
        }
    };
    let category = match &r.category {
        Some(c) => Category::parse(c.get_ref()).unwrap_or_else(|| {
            cx.err(
                c,
                format!(
                    "unknown category `{}` (expected one of: {})",
                    c.get_ref(),
                    Category::ALL.map(|c| c.name()).join(", ")
                ),
            );
            Category::Other
        }),
        None => {
            cx.err(spanned, "rule has no `category`");
            Category::Other
        }
    };
    let mut keys = Vec::new();
    macro_rules! key {
        ($f:ident) => {
            if r.$f.is_some() {
                keys.push(stringify!($f));
            }
        };
    }
    key!(remove);
    key!(remove_containing);
    key!(remove_matching);
    key!(cut_after);
    key!(unwrap);
    key!(drop_attributes);
    key!(lazy_images);
    key!(drop_between);
    key!(keep);
    if keys.len() != 1 {
        let msg = if keys.is_empty() {
            "rule has no action (one of: remove, remove_containing, remove_matching, cut_after, unwrap, drop_attributes, lazy_images, drop_between, keep)".to_string()
        } else {
            format!(
                "rule has {} actions ({}); write one rule per action",
                keys.len(),
                keys.join(", ")
            )
        };
        cx.err(spanned, msg);
        return None;
    }
    let text_action =
        r.remove_containing.is_some() || r.remove_matching.is_some() || r.cut_after.is_some();
    if let Some(w) = &r.within
        && !text_action
    {
        cx.err(
            w,
            "`within` goes with remove_containing, remove_matching or cut_after",
        );
    }
    let attr_action = r.drop_attributes.is_some() || r.lazy_images.is_some();
    if let Some(sel) = &r.selector
        && !attr_action
    {
        cx.err(
            sel,
            "`selector` goes with drop_attributes or lazy_images (for removal write `remove = \"...\"`)",
        );
    }
    let within = |cx: &mut Ctx<'_>, default: &str| match &r.within {
        Some(w) => selectors(cx, w),
        None => Some(selectors_unchecked(default)),
    };
    let action = if let Some(s) = &r.remove {
        Action::Remove(selectors(cx, s)?)
    } else if let Some(list) = &r.remove_containing {
        if list.get_ref().is_empty() {
            cx.err(list, "`remove_containing` is empty");
        }
        let mut phrases = Vec::new();
        for p in list.get_ref() {
            match phrase(cx, p) {
                Some(p) => phrases.push(p),
                None => return None,
            }
        }
        Action::RemoveContaining {
            phrases,
            within: within(cx, DEFAULT_WITHIN)?,
        }
    } else if let Some(re) = &r.remove_matching {
        let regex = match regex::RegexBuilder::new(re.get_ref())
            .size_limit(1 << 20)
            .build()
        {
            Ok(x) => x,
            Err(e) => {
                let msg = e.to_string();
                let last = msg
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("");
                cx.err(
                    re,
                    format!("bad regex: {}", last.trim().trim_start_matches("error: ")),
                );
                return None;
            }
        };
        Action::RemoveMatching {
            max_len: anchored_max_len(re.get_ref()),
            regex,
            within: within(cx, DEFAULT_WITHIN)?,
        }
    } else if let Some(m) = &r.cut_after {
        Action::CutAfter {
            marker: phrase(cx, m)?,
            within: within(cx, DEFAULT_CUT_WITHIN)?,
        }
    } else if let Some(s) = &r.unwrap {
        Action::Unwrap(selectors(cx, s)?)
    } else if let Some(globs) = &r.drop_attributes {
        if globs.get_ref().is_empty() {
            cx.err(globs, "`drop_attributes` is empty");
        }
        for g in globs.get_ref() {
            let v = g.get_ref();
            if v.is_empty()
                || v.contains(|c: char| c.is_whitespace() || c == '=' || c == '>')
                || v.matches('*').count() > 1
            {
                cx.err(
                    g,
                    format!("`{v}` is not an attribute name or a pattern like `on*` or `data-*`"),
                );
            }
        }
        Action::DropAttributes {
            globs: globs
                .get_ref()
                .iter()
                .map(|g| g.get_ref().to_ascii_lowercase())
                .collect(),
            selector: match &r.selector {
                Some(s) => selectors(cx, s)?,
                None => selectors_unchecked("*"),
            },
        }
    } else if let Some(l) = &r.lazy_images {
        if !*l.get_ref() {
            cx.err(
                l,
                "`lazy_images = false` does nothing; remove the rule instead",
            );
        }
        Action::LazyImages {
            selector: match &r.selector {
                Some(s) => selectors(cx, s)?,
                None => selectors_unchecked("img, source, iframe"),
            },
        }
    } else if let Some(s) = &r.keep {
        Action::Keep(selectors(cx, s)?)
    } else if let Some(b) = &r.drop_between {
        let b = b.get_ref();
        Action::DropBetween {
            start: phrase(cx, &b.start)?,
            end: phrase(cx, &b.end)?,
        }
    } else {
        unreachable!("one action key was counted")
    };
    let cond = conditions(cx, r, &action);
    let may_take_article = match &r.may_take_article {
        Some(m) if generic => {
            cx.err(
                m,
                "`may_take_article` belongs in site files: a generic rule never takes the article",
            );
            false
        }
        Some(m)
            if !matches!(
                action,
                Action::Remove(_)
                    | Action::RemoveContaining { .. }
                    | Action::RemoveMatching { .. }
                    | Action::CutAfter { .. }
                    | Action::DropBetween { .. }
            ) =>
        {
            cx.err(m, "`may_take_article` goes with a removal rule");
            false
        }
        Some(m) => *m.get_ref(),
        None => false,
    };
    if cx.errors.len() > before {
        return None;
    }
    Some(Rule {
        id,
        category,
        action,
        origin: Origin {
            file: file.clone(),
            line,
        },
        generic,
        note: r.note.clone(),
        cond,
        may_take_article,
    })
}

/// The conditions of a rule (validated): errors for values out of range and for
/// conditions on actions that remove no element.
fn conditions(cx: &mut Ctx<'_>, r: &RawRule, action: &Action) -> Option<Box<Conditions>> {
    let mut c = Conditions::default();
    let mut any: Option<std::ops::Range<usize>> = None;
    let mut words = |cx: &mut Ctx<'_>, w: &Option<Spanned<i64>>, name: &str| -> Option<u32> {
        let w = w.as_ref()?;
        any.get_or_insert(w.span());
        match u32::try_from(*w.get_ref()) {
            Ok(n) => Some(n),
            Err(_) => {
                cx.err(w, format!("`{name}` is a number of words, 0 or more"));
                None
            }
        }
    };
    c.min_words = words(cx, &r.min_words, "min_words");
    c.max_words = words(cx, &r.max_words, "max_words");
    for (d, name, slot) in [
        (
            &r.min_link_density,
            "min_link_density",
            &mut c.min_link_density,
        ),
        (
            &r.max_link_density,
            "max_link_density",
            &mut c.max_link_density,
        ),
    ] {
        if let Some(d) = d {
            any.get_or_insert(d.span());
            let v = *d.get_ref();
            if (0.0..=1.0).contains(&v) {
                *slot = Some(v as f32);
            } else {
                cx.err(
                    d,
                    format!("`{name}` is the share of the text in links, from 0 to 1"),
                );
            }
        }
    }
    if let (Some(lo), Some(hi)) = (c.min_words, c.max_words)
        && lo > hi
        && let Some(w) = &r.min_words
    {
        cx.err(
            w,
            format!("`min_words = {lo}` is more than `max_words = {hi}`"),
        );
    }
    if let Some(h) = &r.has {
        any.get_or_insert(h.span());
        c.has = selectors(cx, h);
    }
    if let Some(p) = &r.place {
        any.get_or_insert(p.span());
        c.place = match p.get_ref().as_str() {
            "outside_article" => Some(Place::OutsideArticle),
            "inside_article" => Some(Place::InsideArticle),
            other => {
                cx.err(
                    p,
                    format!(
                        "`where = \"{other}\"`: expected \"outside_article\" or \"inside_article\""
                    ),
                );
                None
            }
        };
    }
    let span = any?;
    c.text = c.write();
    if !matches!(
        action,
        Action::Remove(_) | Action::RemoveContaining { .. } | Action::RemoveMatching { .. }
    ) {
        cx.err_at(
            span.start,
            format!(
                "conditions (min_words, max_words, min_link_density, max_link_density, has, where) go with remove, remove_containing or remove_matching, not {}",
                action.key()
            ),
        );
        return None;
    }
    Some(Box::new(c))
}

/// The longest text a whole-text regex (`^…$`, no multi-line anchors) can match, so the
/// finder can skip longer elements without running it. `None`: unbounded or not anchored.
fn anchored_max_len(pattern: &str) -> Option<usize> {
    use regex_syntax::hir::Look;
    let hir = regex_syntax::parse(pattern).ok()?;
    let p = hir.properties();
    (p.look_set_prefix().contains(Look::Start) && p.look_set_suffix().contains(Look::End))
        .then(|| p.maximum_len())
        .flatten()
}

fn phrase(cx: &mut Ctx<'_>, p: &Spanned<String>) -> Option<String> {
    let n = normalize(p.get_ref());
    if n.is_empty() {
        cx.err(p, "empty phrase");
        return None;
    }
    if n.len() > 512 {
        cx.err(p, "phrase longer than 512 bytes");
        return None;
    }
    Some(n)
}

/// Validates a selector list with lol_html's own parser, then sorts its parts into
/// indexable and not.
fn selectors(cx: &mut Ctx<'_>, s: &Spanned<String>) -> Option<Selectors> {
    let src = s.get_ref();
    if src.trim().is_empty() {
        cx.err(s, "empty selector");
        return None;
    }
    if !cx.trusted
        && let Err(e) = src.parse::<lol_html::Selector>()
    {
        cx.err(s, format!("bad selector `{src}`: {e}"));
        return None;
    }
    Some(selectors_unchecked(src))
}

/// Sorts an already validated selector list into indexable and not.
pub fn selectors_unchecked(src: &str) -> Selectors {
    let mut simple = Vec::new();
    let mut pairs = Vec::new();
    let mut complex = Vec::new();
    for part in split_list(src) {
        if let Some(c) = parse_compound(part) {
            simple.push(c);
        } else if let Some(p) = parse_pair(part) {
            pairs.push(p);
        } else {
            complex.push(part.to_string());
        }
    }
    // Thousands of imported rules keep theirs: no room to spare in each.
    simple.shrink_to_fit();
    pairs.shrink_to_fit();
    complex.shrink_to_fit();
    Selectors {
        source: src.to_string(),
        simple,
        pairs,
        complex,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errs(text: &str) -> Vec<String> {
        parse_file(Path::new("r.toml"), text)
            .err()
            .unwrap_or_default()
            .iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn domain_matching_includes_subdomains_only() {
        assert!(domain_covers("example.com", "example.com"));
        assert!(domain_covers("example.com", "www.example.com"));
        assert!(domain_covers("example.com", "WWW.Example.com."));
        assert!(!domain_covers("example.com", "badexample.com"));
        assert!(!domain_covers("www.example.com", "example.com"));
    }

    #[test]
    fn site_files_most_specific_first() {
        let a = parse_file(Path::new("a.toml"), "domains = [\"example.com\"]\n").unwrap();
        let b = parse_file(Path::new("b.toml"), "domains = [\"news.example.com\"]\n").unwrap();
        let book = RuleBook::from_files(vec![a, b], vec![]);
        assert_eq!(book.site_files(Some("www.news.example.com")), vec![1, 0]);
        assert_eq!(book.site_files(Some("Example.COM.")), vec![0]);
        assert!(book.site_files(Some("badexample.com")).is_empty());
        assert!(book.site_files(None).is_empty());
    }

    #[test]
    fn only_whole_text_regexes_have_a_longest_match() {
        assert_eq!(anchored_max_len("^(ad|advert)$"), Some(6));
        assert_eq!(anchored_max_len("^(share|share this)[:!]?$"), Some(11));
        assert_eq!(anchored_max_len("paid post"), None);
        assert_eq!(anchored_max_len("^paid post"), None);
        assert_eq!(anchored_max_len("^a.*$"), None);
        assert_eq!(anchored_max_len("(?m)^ad$"), None);
    }

    #[test]
    fn except_domains_leave_subdomains_to_other_files() {
        let a = parse_file(
            Path::new("a.toml"),
            "domains = [\"mozilla.org\"]\nexcept_domains = [\"Blog.Nightly.mozilla.org\"]\n",
        )
        .unwrap();
        let b = parse_file(
            Path::new("b.toml"),
            "domains = [\"blog.nightly.mozilla.org\"]\n",
        )
        .unwrap();
        assert!(a.covers("hacks.mozilla.org") && !a.covers("blog.nightly.mozilla.org"));
        let book = RuleBook::from_files(vec![a, b], vec![]);
        assert_eq!(book.site_files(Some("hacks.mozilla.org")), vec![0]);
        assert_eq!(book.site_files(Some("blog.nightly.mozilla.org")), vec![1]);
        assert_eq!(
            book.site_files(Some("www.blog.nightly.mozilla.org")),
            vec![1]
        );
        assert_eq!(
            errs("domains = [\"a.com\"]\nexcept_domains = [\"a.com\", \"b.com\"]\n"),
            vec![
                "r.toml:2:19: `a.com` is not a subdomain of this file's `domains`",
                "r.toml:2:28: `b.com` is not a subdomain of this file's `domains`",
            ]
        );
    }

    #[test]
    fn entries_cover_exact_hosts_or_one_label_without_subdomains() {
        let cases = [
            // entry, host, with subdomains, without
            ("example.com", "example.com", true, true),
            ("example.com", "WWW.example.com.", true, true),
            ("example.com", "cooking.example.com", true, false),
            ("example.com", "www.cooking.example.com", true, false),
            ("example.com", "badexample.com", false, false),
            ("www.example.com", "www.example.com", true, true),
            ("www.example.com", "example.com", false, false),
            ("*.example.com", "example.com", false, false),
            ("*.example.com", "www.example.com", true, false),
            ("*.example.com", "news.example.com", true, true),
            ("*.example.com", "www.news.example.com", true, true),
            ("*.example.com", "a.news.example.com", true, false),
            ("*.example.com", "news.badexample.com", false, false),
        ];
        for (entry, host, sub, exact) in cases {
            let got = (
                entry_covers(entry, host, true),
                entry_covers(entry, host, false),
            );
            assert_eq!(got, (sub, exact), "{entry} {host}: (subdomains, exact)");
        }
    }

    #[test]
    fn files_for_exact_hosts_leave_subdomains_alone() {
        let site = |text: &str| parse_file(Path::new("s.toml"), text).unwrap();
        let host = site("domains = [\"nytimes.com\"]\nsubdomains = false\n");
        let below = site(
            "domains = [\"*.nytimes.com\"]\nsubdomains = false\nexcept_domains = [\"cooking.nytimes.com\"]\n",
        );
        let cooking = site("domains = [\"cooking.nytimes.com\"]\nsubdomains = false\n");
        let book = RuleBook::from_files(vec![host, below, cooking], vec![]);
        assert_eq!(book.site_files(Some("www.nytimes.com")), vec![0]);
        assert_eq!(book.site_files(Some("cooking.nytimes.com")), vec![2]);
        assert_eq!(book.site_files(Some("wirecutter.nytimes.com")), vec![1]);
        assert!(book.site_files(Some("a.b.nytimes.com")).is_empty());
        assert_eq!(
            errs("generic = true\nsubdomains = false\n"),
            vec!["r.toml:2:14: `subdomains` belongs in site files, not generic ones"]
        );
        assert_eq!(
            errs(
                "domains = [\"a.com\", \"*.\"]\nsubdomains = false\nexcept_domains = [\"x.a.com\"]\n"
            ),
            vec![
                "r.toml:1:21: `*.` is not a domain (write `example.com`, no scheme or path)",
                "r.toml:3:19: `x.a.com` is not a subdomain of this file's `domains`",
            ]
        );
    }

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 0), (1, 1));
    }

    #[test]
    fn a_file_must_say_what_it_is_for() {
        assert_eq!(
            errs("[[rule]]\nid='a'\ncategory='promo'\nremove='.x'\n"),
            vec![
                "r.toml:1:1: say which pages this file is for: `domains = [\"example.com\"]` or `generic = true`"
            ]
        );
    }

    #[test]
    fn two_actions_in_one_rule_are_refused() {
        let e =
            errs("generic = true\n[[rule]]\nid='a'\ncategory='promo'\nremove='.x'\nunwrap='b'\n");
        assert_eq!(
            e,
            vec!["r.toml:2:1: rule has 2 actions (remove, unwrap); write one rule per action"]
        );
    }
}
