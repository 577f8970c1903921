//! Pass 1, the finder: reads the page once through lol_html and decides every edit.
//!
//! It follows the open elements on its own stack (in step with lol_html's), the page's
//! visible text (normalized, in a short window) and every rule match. Removals are only
//! *candidates* until the element's own end tag is seen; at the end of the page each
//! candidate is checked by the safety guard (own end tag, protected elements, share of
//! the page's text) and the survivors become byte-range edits for pass 2. Nothing here
//! writes output: lol_html's own output goes to a sink that drops it.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use lol_html::html_content::Element;
use lol_html::{
    AsciiCompatibleEncoding, ElementContentHandlers, HtmlRewriter, MemorySettings, Settings,
};

use super::attr::{AttrSpan, scan_attributes};
use super::gap::{Context, Gaps, Stop};
use super::tag::{TagName, flag, tag_name_len};
use super::{CleanError, Guard, Refusal, Removal};
use aho_corasick::Anchored;
use aho_corasick::automaton::Automaton;
use aho_corasick::automaton::StateID;

use crate::rules::compile::{Compiled, Target};
use crate::rules::selector::{ElementView, Keys};
use crate::rules::{Action, Category, Rule};
use crate::text::Normalizer;

/// One byte-range change to the input, applied by pass 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Drop bytes `start..end`.
    Cut { start: u64, end: u64 },
    /// Change attributes inside the start tag at `start..end`: each op names the byte
    /// offset where an attribute's name begins.
    Attrs {
        start: u64,
        end: u64,
        /// Boxed: most edits are cuts, and a huge page holds many.
        ops: Box<Vec<(u64, AttrEdit)>>,
    },
}

impl Edit {
    fn start(&self) -> u64 {
        match self {
            Edit::Cut { start, .. } | Edit::Attrs { start, .. } => *start,
        }
    }
    fn end(&self) -> u64 {
        match self {
            Edit::Cut { end, .. } | Edit::Attrs { end, .. } => *end,
        }
    }
}

/// What happens to one attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrEdit {
    /// Remove the attribute (name and value).
    Drop,
    /// Give the attribute another name, keeping its value.
    Rename(&'static str),
}

/// Which report entry an edit stands for.
#[derive(Debug, Clone, Copy)]
enum Rem {
    /// An unwrap or attribute change: not a removal.
    None,
    /// `Plan::removals[i]`.
    Listed(u32),
    /// A removal past the listed ones: only counted.
    Counted(Category),
}

/// What the finder decided.
#[derive(Debug, Default)]
pub struct Plan {
    /// Sorted, non-overlapping edits.
    pub edits: Vec<Edit>,
    pub removals: Vec<Removal>,
    pub refused: Vec<Refusal>,
    /// Removals past the first 10,000, counted per category (not listed).
    pub unlisted: std::collections::BTreeMap<Category, usize>,
    /// Refusals past the first 10,000, counted.
    pub refused_unlisted: usize,
    pub unwrapped: usize,
    pub attributes_changed: usize,
    /// Bytes read.
    pub len: u64,
}

/// Raw bytes as text: borrowed when valid UTF-8 (the common case, checked fast).
fn utf8(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// How far down the open elements an end tag looks for its element.
const MAX_END_TAG_SEARCH: usize = 1024;

/// Why a candidate cannot be removed yet, or at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CandState {
    Open,
    Closed,
    Unsafe(&'static str),
}

#[derive(Debug)]
struct Cand {
    rule: u32,
    start: u64,
    end: u64,
    text_start: u64,
    text_len: u64,
    state: CandState,
    element: String,
    preview: String,
    preview_done: bool,
    /// A protected element (by tag) this removal would take: itself or one inside it.
    protected: Option<&'static str>,
}

#[derive(Debug)]
struct Open {
    tag: TagName,
    /// Raw text inside (script, style, title, …): only its own end tag ends it.
    raw: bool,
    start: u64,
    tag_end: u64,
    text_start: u64,
    /// Count of `<article>`/`<main>` start tags seen before this element's content.
    protected_before: u64,
    /// HTML would have closed this element before its end tag (e.g. a `<p>` followed by a `<div>`).
    implied: bool,
    cand: Option<u32>,
    unwrap: Option<u32>,
    /// `cut_after` found a marker in a child: (child's start, child's text start, rule).
    /// Boxed, like the rarely set fields below: the stack entry is moved on every push
    /// and pop, so it is kept small.
    cut: Option<Box<(u64, u64, u32)>>,
    /// Groups this element is a `within` candidate for (empty for most elements).
    groups: Groups,
    /// The ancestor compounds (of `A > B`, `A B` selectors) this element matches.
    anc: Groups,
    /// Id and class, kept for reports of elements some selector matched.
    label: Option<Box<Label>>,
    /// A `keep` rule matched this element.
    keep: Option<u32>,
}

#[derive(Debug, Default)]
struct Label {
    id: Option<Box<str>>,
    class: Option<Box<str>>,
}

struct Unwrap {
    start: u64,
    tag_end: u64,
    end_tag: Option<(u64, u64)>,
}

/// The `within` groups an element belongs to: a bit set for the first 64 groups (no
/// allocation for the common case), a list beyond.
#[derive(Debug, Default)]
struct Groups {
    low: u64,
    more: Vec<u32>,
}

impl Groups {
    fn is_empty(&self) -> bool {
        self.low == 0 && self.more.is_empty()
    }
    fn contains(&self, g: u32) -> bool {
        if g < 64 {
            self.low & (1 << g) != 0
        } else {
            self.more.contains(&g)
        }
    }
    fn insert(&mut self, g: u32) -> bool {
        if self.contains(g) {
            return false;
        }
        if g < 64 {
            self.low |= 1 << g;
        } else {
            self.more.push(g);
        }
        true
    }
    fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        let mut bits = self.low;
        std::iter::from_fn(move || {
            (bits != 0).then(|| {
                let g = bits.trailing_zeros();
                bits &= bits - 1;
                g
            })
        })
        .chain(self.more.iter().copied())
    }
}

/// `tag#id.class.class` for reports, at most 120 bytes.
fn describe_with(tag: &str, id: Option<&str>, class: Option<&str>) -> String {
    let mut d = tag.to_string();
    if let Some(id) = id.filter(|v| !v.is_empty()) {
        d.push('#');
        d.push_str(id);
    }
    for c in class.unwrap_or("").split_ascii_whitespace() {
        d.push('.');
        d.push_str(c);
    }
    if d.len() > 120 {
        let mut cut = 117;
        while !d.is_char_boundary(cut) {
            cut -= 1;
        }
        d.truncate(cut);
        d.push_str("...");
    }
    d
}

/// Bytes of normalized text kept behind the scan point.
const WINDOW_KEEP: usize = 4096;
/// `remove_matching` looks at elements whose text is at most this long.
const REGEX_MAX_TEXT: u64 = 2048;
const PREVIEW_CHARS: usize = 80;
/// Removals described in full (element and text) in a report; later ones only counted.
const DETAILED: usize = 10_000;

struct Finder {
    rules: Arc<Compiled>,
    guard: Guard,
    stack: Vec<Open>,
    /// Indices into `stack` of elements with `groups`, innermost last.
    tcands: Vec<usize>,
    cands: Vec<Cand>,
    unwraps: Vec<(u32, Unwrap)>,
    attr_edits: Vec<Edit>,
    attr_edit_owner: Option<u64>,
    norm: Normalizer,
    window: String,
    window_base: u64,
    scanned: u64,
    protected_seen: u64,
    open_p: Vec<usize>,
    open_li: Vec<usize>,
    open_dd: Vec<usize>,
    open_cell: Vec<usize>,
    boundaries: Vec<usize>,
    lists: Vec<usize>,
    tables: Vec<usize>,
    previews: Vec<u32>,
    /// `remove_matching` per rule: text start of the last element removed, so ancestors
    /// holding the same text are not removed too.
    regex_last: std::collections::HashMap<u32, u64>,
    /// A candidate made by `remove_matching` for the element being closed.
    regex_cand: Option<u32>,
    /// A void element whose close waits until its other handlers have run.
    pending_void: Option<usize>,
    /// Elements a `keep` rule matched that ended with their own end tag.
    keeps: Vec<Kept>,
    /// Reused buffer for one element's selector matches.
    hits: Vec<Target>,
    /// The raw input between reported tags, read as text.
    gaps: Gaps,
    /// How many open elements hide their text (head, template, …).
    hidden: u32,
    /// Reused buffers: text runs of one read, attribute names and ranges of one element.
    runs: Vec<(usize, usize)>,
    names: String,
    /// Where each attribute name lies in `names`.
    name_spans: Vec<(u32, u32)>,
    attrs: Vec<AttrSpan>,
    /// How many open elements match each ancestor compound.
    anc_open: Vec<u32>,
    /// Candidates made so far (the first DETAILED are described in reports).
    made: usize,
    /// Slots of `cands` free for reuse.
    free: Vec<u32>,
    /// Removals accepted as soon as they closed: (start, end, category).
    early: Vec<(u64, u64, Category)>,
    /// Some `keep` rule is in force (its ranges are known only at the end).
    keeps_possible: bool,
    /// Each part's phrase automaton's state after the last byte scanned.
    ac_state: [StateID; 2],
    /// Phrases that end at the last byte scanned, waiting for the next character:
    /// (rule, start, whether the phrase ends in a letter or digit).
    pending: Vec<(u32, u64, bool)>,
    /// Reused buffer of phrases found in one scan.
    found: Vec<(u32, u64)>,
    /// The body's content: (start, text start) once `<body>` opened, end once it closed.
    body: Option<(u64, u64)>,
    body_end: Option<(u64, u64)>,
    /// Some selector is indexed by an attribute name (other than id and class).
    want_names: bool,
    /// The current element's keys, hashed once for every index (buffers reused).
    keys: Keys,
    /// Keep all the text read (for [`visible_text`]), not only a window of it.
    keep_text: bool,
}

/// An element a `keep` rule matched.
struct Kept {
    rule: u32,
    start: u64,
    end: u64,
    text_len: u64,
    element: String,
}

/// An element as selectors see it: its attributes read from the raw input.
struct View<'a> {
    tag: &'a str,
    id: Option<&'a str>,
    class: Option<&'a str>,
    gaps: &'a Gaps,
    /// The element's attributes.
    attrs: &'a [AttrSpan],
}

impl ElementView for View<'_> {
    fn tag(&self) -> &str {
        self.tag
    }
    fn attr(&self, name: &str) -> Option<Cow<'_, str>> {
        let a = self.attrs.iter().find(|a| {
            self.gaps
                .bytes(a.name_start, a.name_end)
                .eq_ignore_ascii_case(name.as_bytes())
        })?;
        Some(utf8(self.gaps.bytes(a.value_start, a.value_end)))
    }
    fn id(&self) -> Option<&str> {
        self.id
    }
    fn class(&self) -> Option<&str> {
        self.class
    }
}

impl Finder {
    fn new(rules: Arc<Compiled>, guard: Guard, encoding: &'static encoding_rs::Encoding) -> Finder {
        let ac_start = rules.parts.each_ref().map(|p| {
            p.phrases
                .as_ref()
                .and_then(|d| d.start_state(Anchored::No).ok())
                .unwrap_or_default()
        });
        let ancestors = rules.ancestors();
        let rules_want_names = rules.parts.iter().any(|p| p.index.wants_attribute_names());
        let keeps_possible = rules.has_keep();
        Finder {
            rules,
            guard,
            stack: Vec::new(),
            tcands: Vec::new(),
            cands: Vec::new(),
            unwraps: Vec::new(),
            attr_edits: Vec::new(),
            attr_edit_owner: None,
            norm: Normalizer::default(),
            window: String::new(),
            window_base: 0,
            scanned: 0,
            protected_seen: 0,
            open_p: Vec::new(),
            open_li: Vec::new(),
            open_dd: Vec::new(),
            open_cell: Vec::new(),
            boundaries: Vec::new(),
            lists: Vec::new(),
            tables: Vec::new(),
            previews: Vec::new(),
            regex_last: Default::default(),
            regex_cand: None,
            pending_void: None,
            keeps: Vec::new(),
            hits: Vec::new(),
            gaps: Gaps::new(encoding),
            hidden: 0,
            runs: Vec::new(),
            names: String::new(),
            name_spans: Vec::new(),
            attrs: Vec::new(),
            anc_open: vec![0; ancestors],
            made: 0,
            free: Vec::new(),
            early: Vec::new(),
            keeps_possible,
            ac_state: ac_start,
            pending: Vec::new(),
            found: Vec::new(),
            body: None,
            body_end: None,
            want_names: rules_want_names,
            keys: Keys::default(),
            keep_text: false,
        }
    }

    /// The id and class of the element whose start tag is at `start..tag_end`, read from
    /// the input (which must still be held).
    fn label_from_input(&self, start: u64, tag_end: u64) -> Label {
        let mut attrs = Vec::new();
        scan_attributes(self.gaps.bytes(start, tag_end), start, &mut attrs);
        let (id, class) = id_and_class(&self.gaps, &attrs);
        let text = |(s, e)| utf8(self.gaps.bytes(s, e)).into_owned().into_boxed_str();
        Label {
            id: id.map(text),
            class: class.map(text),
        }
    }

    /// `tag#id.class.class` of an element, for reports: its id and class from the input
    /// while its start tag is held, else from what was kept before it went.
    fn describe(&self, o: &Open) -> String {
        match o.label.as_deref() {
            Some(l) => describe_with(&o.tag, l.id.as_deref(), l.class.as_deref()),
            None if o.start >= self.gaps.base() => {
                let l = self.label_from_input(o.start, o.tag_end);
                describe_with(&o.tag, l.id.as_deref(), l.class.as_deref())
            }
            None => describe_with(&o.tag, None, None),
        }
    }

    /// Absolute position in the normalized text stream.
    fn pos(&self) -> u64 {
        self.window_base + self.window.len() as u64
    }

    fn rule(&self, n: u32) -> &Rule {
        self.rules.rule(n)
    }

    /// Closes a void element left open for its other handlers.
    fn settle(&mut self) {
        if let Some(depth) = self.pending_void.take()
            && self.stack.len() == depth + 1
        {
            let at = self.stack[depth].tag_end;
            let tag = self.stack[depth].tag.clone();
            self.close(Some((&tag, (at, at))));
        }
    }

    /// How the text at the read position is to be taken.
    fn context(&self) -> Context {
        match self.stack.last() {
            Some(o) if o.raw => Context::Raw(o.tag.clone()),
            _ if self.hidden > 0 => Context::Hidden,
            _ => Context::Visible,
        }
    }

    /// Reads the input up to `upto` (a reported start tag when `bounded`), handling the
    /// end tags found there in order.
    fn pump(&mut self, upto: u64, bounded: bool) {
        loop {
            self.settle();
            let cx = self.context();
            let mut runs = std::mem::take(&mut self.runs);
            runs.clear();
            let stop = self.gaps.read(upto, &cx, bounded, &mut runs);
            let (norm, window) = (&mut self.norm, &mut self.window);
            self.gaps.emit(&runs, &mut |t| norm.push(t, true, window));
            self.runs = runs;
            match stop {
                Stop::Done => return,
                Stop::EndTag { name, start, end } => self.end_tag(name, start, end),
            }
        }
    }

    /// After lol_html took a chunk: read what is certain, drop what was read.
    fn drain(&mut self) {
        let end = self.gaps.end();
        self.pump(end, false);
        // Open elements whose start tags are about to go keep their id and class, for
        // reports that may still describe them (the stack is shallow; this is rare work).
        let point = self.gaps.compact_point();
        for i in 0..self.stack.len() {
            let o = &self.stack[i];
            if o.label.is_none() && o.start < point && o.start >= self.gaps.base() {
                let l = self.label_from_input(o.start, o.tag_end);
                self.stack[i].label = Some(Box::new(l));
            }
        }
        self.gaps.compact();
    }

    /// An end tag: closes the nearest open element of that name and, unsafely, anything
    /// open inside it. A stray end tag closes nothing.
    fn end_tag(&mut self, name: TagName, start: u64, end: u64) {
        self.scan(true);
        let found = self
            .stack
            .iter()
            .rev()
            .take(MAX_END_TAG_SEARCH)
            .position(|o| o.tag == name)
            .map(|up| self.stack.len() - 1 - up);
        if let Some(depth) = found {
            while self.stack.len() > depth + 1 {
                self.close(Some((&name, (start, end))));
            }
            self.close(Some((&name, (start, end))));
        } else {
            self.boundary(&name);
        }
    }

    fn boundary(&mut self, tag: &TagName) {
        if !tag.is(flag::INLINE) {
            self.norm.boundary(&mut self.window);
        }
    }

    /// Marks open elements that HTML would close implicitly at a start tag `tag`.
    fn implied_closes(&mut self, tag: &TagName) {
        let bound = self.boundaries.last().copied();
        let above = |i: usize, b: Option<usize>| b.is_none_or(|b| i > b);
        if tag.is(flag::CLOSES_P)
            && let Some(&i) = self.open_p.last()
            && above(i, bound)
        {
            self.stack[i].implied = true;
        }
        if tag.as_str() == "li"
            && let Some(&i) = self.open_li.last()
            && above(i, bound.max(self.lists.last().copied()))
        {
            self.stack[i].implied = true;
        }
        if matches!(tag.as_str(), "dd" | "dt")
            && let Some(&i) = self.open_dd.last()
            && above(i, bound.max(self.lists.last().copied()))
        {
            self.stack[i].implied = true;
        }
        if matches!(
            tag.as_str(),
            "td" | "th" | "tr" | "tbody" | "thead" | "tfoot"
        ) && let Some(&i) = self.open_cell.last()
            && above(i, self.tables.last().copied())
        {
            self.stack[i].implied = true;
        }
        if tag.is(flag::HEADING)
            && let Some(top) = self.stack.last_mut()
            && top.tag.is(flag::HEADING)
        {
            top.implied = true;
        }
    }

    fn on_element(&mut self, el: &mut Element<'_, '_>) -> usize {
        let loc = el.source_location().bytes();
        self.pump(loc.start as u64, true);
        self.gaps.skip_to(loc.end as u64);
        self.scan(false);
        let raw_tag = self.gaps.bytes(loc.start as u64 + 1, loc.end as u64);
        let tag_name = TagName::new(&raw_tag[..tag_name_len(raw_tag)]);
        let tag = tag_name.as_str();
        let content = el.can_have_content();
        self.implied_closes(&tag_name);
        self.boundary(&tag_name);
        if tag_name.is(flag::HIDDEN) && content {
            self.hidden += 1;
        }
        let raw = content
            && tag_name.is(flag::RAW_TEXT)
            && el.namespace_uri() == "http://www.w3.org/1999/xhtml";
        let depth = self.stack.len();
        let protected_before = self.protected_seen;
        if matches!(tag, "article" | "main") {
            self.protected_seen += 1;
        }
        match tag {
            "p" => self.open_p.push(depth),
            "li" => self.open_li.push(depth),
            "dd" | "dt" => self.open_dd.push(depth),
            "td" | "th" | "tr" => self.open_cell.push(depth),
            "ul" | "ol" => self.lists.push(depth),
            "table" => self.tables.push(depth),
            _ if tag_name.is(flag::SCOPE) => self.boundaries.push(depth),
            _ => {}
        }
        let mut names = std::mem::take(&mut self.names);
        names.clear();
        let mut spans = std::mem::take(&mut self.name_spans);
        spans.clear();
        let mut attrs = std::mem::take(&mut self.attrs);
        attrs.clear();
        let want_names = self.want_names;
        scan_attributes(
            self.gaps.bytes(loc.start as u64, loc.end as u64),
            loc.start as u64,
            &mut attrs,
        );
        let (id, class) = id_and_class(&self.gaps, &attrs);
        if want_names {
            for a in &attrs {
                let name = self.gaps.bytes(a.name_start, a.name_end);
                if !name.is_empty()
                    && !name.eq_ignore_ascii_case(b"id")
                    && !name.eq_ignore_ascii_case(b"class")
                {
                    let at = names.len() as u32;
                    names.extend(name.iter().map(|c| c.to_ascii_lowercase() as char));
                    spans.push((at, names.len() as u32));
                }
            }
        }
        if tag == "body" && self.body.is_none() {
            self.body = Some((loc.end as u64, self.pos()));
        }
        let mut hits = std::mem::take(&mut self.hits);
        let mut anc = Groups::default();
        let id_text = id.map(|(s, e)| utf8(self.gaps.bytes(s, e)));
        let class_text = class.map(|(s, e)| utf8(self.gaps.bytes(s, e)));
        {
            let view = View {
                tag,
                id: id_text.as_deref(),
                class: class_text.as_deref(),
                gaps: &self.gaps,
                attrs: &attrs,
            };
            let names = || spans.iter().map(|&(s, e)| &names[s as usize..e as usize]);
            // Hashed once for all the indexes below.
            self.keys.fill(&view, names());
            let keys = &self.keys;
            let parent = self.stack.last().map(|o| &o.anc);
            for part in &self.rules.parts {
                if part.index.is_empty() {
                    continue;
                }
                let base = part.anc_base;
                let anc_open = &self.anc_open;
                let rel = |a: u32, child: bool| {
                    let g = base + a;
                    if child {
                        parent.is_some_and(|p| p.contains(g))
                    } else {
                        anc_open.get(g as usize).is_some_and(|&n| n > 0)
                    }
                };
                part.index
                    .for_each_match(&view, names(), keys, &rel, |t| hits.push(t));
                if part.index.ancestor_count() > 0 {
                    part.index
                        .for_each_ancestor_match(&view, names(), keys, |a| {
                            anc.insert(base + a);
                        });
                }
            }
        }
        for g in anc.iter() {
            self.anc_open[g as usize] += 1;
        }
        self.names = names;
        self.name_spans = spans;
        self.attrs = attrs;
        self.stack.push(Open {
            raw,
            tag: tag_name.clone(),
            start: loc.start as u64,
            tag_end: loc.end as u64,
            text_start: self.pos(),
            protected_before,
            implied: false,
            cand: None,
            unwrap: None,
            cut: None,
            groups: Groups::default(),
            anc,
            // Read from the input when needed (see `describe`, `drain`).
            label: None,
            keep: None,
        });
        if !hits.is_empty() {
            // Lower rule numbers first: the first rule written wins an element.
            hits.sort_by_key(|t| match t {
                Target::Rule(n) => (0, *n),
                Target::Group(g) => (1, *g),
            });
            for &t in &hits {
                self.hit(t);
            }
            hits.clear();
        }
        self.hits = hits;
        depth
    }

    /// A selector matched the current element (top of the stack).
    fn hit(&mut self, t: Target) {
        let depth = self.stack.len() - 1;
        match t {
            Target::Group(g) => {
                let o = &mut self.stack[depth];
                let first = o.groups.is_empty();
                if o.groups.insert(g) && first {
                    self.tcands.push(depth);
                }
            }
            Target::Rule(n) if self.rules.is_disabled(n) => {}
            Target::Rule(n) => {
                // The rule is read through `self.rules` (no Arc clone per hit); what
                // must change `self` happens once that borrow has ended.
                let ops = match &self.rules.rule(n).action {
                    Action::Remove(_) => {
                        self.candidate(depth, n, true);
                        return;
                    }
                    Action::Unwrap(_) => {
                        let o = &mut self.stack[depth];
                        o.unwrap = o.unwrap.or(Some(n));
                        return;
                    }
                    Action::Keep(_) => {
                        let o = &mut self.stack[depth];
                        o.keep = o.keep.or(Some(n));
                        return;
                    }
                    Action::DropAttributes { globs, .. } => {
                        let mut ops = Vec::new();
                        for a in &self.attrs {
                            let name = self.gaps.bytes(a.name_start, a.name_end);
                            if globs.iter().any(|g| glob_match(g, name)) {
                                ops.push((a.name_start, AttrEdit::Drop));
                            }
                        }
                        ops
                    }
                    Action::LazyImages { .. } => lazy_image_ops(&self.gaps, &self.attrs),
                    _ => return,
                };
                self.attr_ops(depth, ops);
            }
        }
    }

    fn attr_ops(&mut self, depth: usize, ops: Vec<(u64, AttrEdit)>) {
        if ops.is_empty() {
            return;
        }
        let o = &self.stack[depth];
        let (start, end) = (o.start, o.tag_end);
        if self.attr_edit_owner != Some(start) {
            self.attr_edit_owner = Some(start);
            self.attr_edits.push(Edit::Attrs {
                start,
                end,
                ops: Box::default(),
            });
        }
        let Some(Edit::Attrs { ops: have, .. }) = self.attr_edits.last_mut() else {
            unreachable!()
        };
        for (at, op) in ops {
            match have.iter_mut().find(|(a, _)| *a == at) {
                // A rename (lazy image) wins over a drop of the same attribute.
                Some(slot) => {
                    if matches!(op, AttrEdit::Rename(_)) {
                        slot.1 = op;
                    }
                }
                None => have.push((at, op)),
            }
        }
        have.sort_by_key(|(a, _)| *a);
    }

    /// Makes the element at `depth` a removal candidate of rule `n` (first rule wins).
    fn candidate(&mut self, depth: usize, n: u32, from_start: bool) {
        if let Some(id) = self.stack[depth].cand {
            // A site rule takes an element over from a generic one: the guard trusts
            // site rules further, and the site's author meant this element.
            let c = &mut self.cands[id as usize];
            if self.rules.rule(c.rule).generic && !self.rules.rule(n).generic {
                c.rule = n;
            }
            return;
        }
        let detailed = self.next_detailed();
        let o = &self.stack[depth];
        let mut c = Cand {
            rule: n,
            start: o.start,
            end: u64::MAX,
            text_start: o.text_start,
            text_len: 0,
            state: CandState::Open,
            // Past the first DETAILED candidates, reports carry no text: a huge page with
            // a huge number of removals must not grow memory by their descriptions.
            element: if detailed {
                self.describe(o)
            } else {
                String::new()
            },
            preview: String::new(),
            preview_done: !detailed,
            protected: None,
        };
        if !from_start {
            self.fill_preview(&mut c, false);
        }
        let id = self.add_cand(c);
        if !self.cands[id as usize].preview_done {
            self.previews.push(id);
        }
        self.stack[depth].cand = Some(id);
    }

    /// Stores a candidate in a free slot (one accepted early) or a new one.
    fn add_cand(&mut self, c: Cand) -> u32 {
        match self.free.pop() {
            Some(id) => {
                self.cands[id as usize] = c;
                id
            }
            None => {
                self.cands.push(c);
                self.cands.len() as u32 - 1
            }
        }
    }

    /// Whether the next candidate is one of the first DETAILED, described in reports
    /// (counts it). Later ones carry no text, so a huge page's memory does not grow by
    /// their descriptions, and they can be accepted early.
    fn next_detailed(&mut self) -> bool {
        self.made += 1;
        self.made <= DETAILED
    }

    fn fill_preview(&self, c: &mut Cand, closed: bool) {
        if c.preview_done {
            return;
        }
        let from = c.text_start.max(self.window_base);
        let s = &self.window[(from - self.window_base) as usize..];
        if s.trim_start().chars().count() >= PREVIEW_CHARS || closed {
            // Once the element has ended, its text is exactly `text_len` bytes from its
            // start: never show what follows it.
            let limit = if closed {
                (c.text_len.saturating_sub(from - c.text_start)) as usize
            } else {
                s.len()
            };
            let s = s[..floor(s, limit.min(s.len()))].trim_start();
            c.preview = s
                .chars()
                .take(PREVIEW_CHARS)
                .collect::<String>()
                .trim_end()
                .to_string();
            c.preview_done = true;
        }
    }

    /// Looks for phrases in the text that arrived since the last scan.
    /// Looks for phrases in the text that arrived since the last scan, stepping the
    /// phrase automaton one byte at a time from where it stopped (no text is searched
    /// twice). `at_end`: the text of an element ends here, so a phrase that ends at the
    /// last byte ends a word.
    fn scan(&mut self, at_end: bool) {
        let pos = self.pos();
        let rules = &self.rules;
        if rules.parts.iter().any(|p| p.phrases.is_some()) {
            let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
            let mut found = std::mem::take(&mut self.found);
            let start = (self.scanned - self.window_base) as usize;
            let w = self.window.as_str();
            // Phrases that ended exactly at the last scan point: the next character is
            // known now (or the element ended).
            if !self.pending.is_empty() && (pos > self.scanned || at_end) {
                let after = w[start..].chars().next();
                for (rule, at, last_is_word) in self.pending.drain(..) {
                    if !(last_is_word && word(after)) {
                        found.push((rule, at));
                    }
                }
            }
            for (pi, part) in rules.parts.iter().enumerate() {
                let Some(dfa) = part.phrases.as_ref() else {
                    continue;
                };
                let mut sid = self.ac_state[pi];
                for (k, &b) in w.as_bytes()[start..].iter().enumerate() {
                    sid = dfa.next_state(Anchored::No, sid, b);
                    if !dfa.is_match(sid) {
                        continue;
                    }
                    let end = start + k + 1;
                    for m in 0..dfa.match_len(sid) {
                        let pid = dfa.match_pattern(sid, m);
                        let Some(s_idx) = end.checked_sub(dfa.pattern_len(pid)) else {
                            continue;
                        };
                        // Whole words only: "donate" must not match "donated".
                        let before = w[..s_idx].chars().next_back();
                        let first = w[s_idx..].chars().next();
                        if word(first) && word(before) {
                            continue;
                        }
                        let rule = part.phrase_rule[pid.as_usize()];
                        let at = self.window_base + s_idx as u64;
                        let last_is_word = word(w[..end].chars().next_back());
                        if end == w.len() && !at_end {
                            self.pending.push((rule, at, last_is_word));
                        } else if !(last_is_word && word(w[end..].chars().next())) {
                            found.push((rule, at));
                        }
                    }
                }
                self.ac_state[pi] = sid;
            }
            // Matches of both parts, in text order.
            found.sort_by_key(|&(_, at)| at);
            for &(rule, at) in &found {
                self.on_phrase(rule, at);
            }
            found.clear();
            self.found = found;
        }
        self.scanned = pos;
        self.update_previews();
        self.trim_window();
    }

    fn update_previews(&mut self) {
        if self.previews.is_empty() {
            return;
        }
        let mut keep = Vec::new();
        for id in std::mem::take(&mut self.previews) {
            let mut c = std::mem::replace(
                &mut self.cands[id as usize],
                Cand {
                    rule: 0,
                    start: 0,
                    end: 0,
                    text_start: 0,
                    text_len: 0,
                    state: CandState::Open,
                    element: String::new(),
                    preview: String::new(),
                    preview_done: true,
                    protected: None,
                },
            );
            let closed = c.state != CandState::Open;
            self.fill_preview(&mut c, closed);
            if !c.preview_done {
                keep.push(id);
            }
            self.cands[id as usize] = c;
        }
        self.previews = keep;
    }

    fn trim_window(&mut self) {
        if self.keep_text || self.window.len() < 2 * WINDOW_KEEP {
            return;
        }
        let mut keep_from = self.pos() - WINDOW_KEEP as u64;
        for &id in &self.previews {
            keep_from = keep_from.min(self.cands[id as usize].text_start);
        }
        let mut cut = (keep_from.saturating_sub(self.window_base)) as usize;
        while cut > 0 && !self.window.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut > WINDOW_KEEP {
            self.window.drain(..cut);
            self.window_base += cut as u64;
        }
    }

    /// A phrase of rule `n` starts at `at` in the text stream.
    fn on_phrase(&mut self, n: u32, at: u64) {
        if self.rules.is_disabled(n) {
            return;
        }
        let Some(g) = self.rules.rule_group(n) else {
            return;
        };
        let Some(depth) = self
            .tcands
            .iter()
            .rev()
            .copied()
            .find(|&d| self.stack[d].text_start <= at && self.stack[d].groups.contains(g))
        else {
            return;
        };
        match self.rule(n).action {
            Action::RemoveContaining { .. } => self.candidate(depth, n, false),
            Action::CutAfter { .. } => {
                // Climb out of inline wrappers that hold nothing before the marker:
                // `<p><strong>Related</strong>…` cuts from the `<p>`.
                let mut m = depth;
                while m > 0
                    && self.stack[m].tag.is(flag::INLINE)
                    && self.stack[m - 1].text_start == self.stack[m].text_start
                {
                    m -= 1;
                }
                if m == 0 {
                    return;
                }
                let (start, ts) = (self.stack[m].start, self.stack[m].text_start);
                let parent = &mut self.stack[m - 1];
                if parent.cut.is_none() {
                    parent.cut = Some(Box::new((start, ts, n)));
                }
            }
            _ => {}
        }
    }

    /// Pops the top element. `end` is `None` when it ends without an end tag (EOF, void).
    fn close(&mut self, end: Option<(&TagName, (u64, u64))>) {
        let depth = self.stack.len() - 1;
        let pos = self.pos();
        let o = self.stack.pop().expect("close on an empty stack");
        for g in o.anc.iter() {
            self.anc_open[g as usize] -= 1;
        }
        if o.tag.is(flag::HIDDEN) && self.hidden > 0 && end.is_none_or(|(_, (s, e))| s != e) {
            self.hidden -= 1;
        }
        for v in [
            &mut self.open_p,
            &mut self.open_li,
            &mut self.open_dd,
            &mut self.open_cell,
            &mut self.lists,
            &mut self.tables,
            &mut self.boundaries,
        ] {
            if v.last() == Some(&depth) {
                v.pop();
            }
        }
        let own = match end {
            Some((name, _)) => *name == o.tag && !o.implied,
            None => false,
        };
        let text_len = pos - o.text_start;
        let contains_protected = self.protected_seen > o.protected_before;
        let protected = if o.tag.is(flag::PROTECTED) {
            Some(tag_static(&o.tag))
        } else if contains_protected {
            Some("article")
        } else {
            None
        };
        let unsafe_reason = match end {
            None => "no end tag: open at the end of the page",
            Some(_) if o.implied => "end tag implied, not written: HTML closed it earlier",
            Some(_) => "end tag implied, not written: closed by an ancestor's end tag",
        };
        if !o.groups.is_empty() {
            self.tcands.pop();
            self.regex_candidates(&o, text_len, pos);
        }
        if let Some(id) = o.cand.or(self.regex_cand.take()) {
            let c = &mut self.cands[id as usize];
            c.text_len = text_len;
            c.protected = protected;
            if let (true, Some((_, (_, e)))) = (own, end) {
                c.end = e;
                c.state = CandState::Closed;
            } else {
                c.state = CandState::Unsafe(unsafe_reason);
            }
            self.settle_early(id, pos);
        }
        if let (Some(n), true, Some((_, (_, e)))) = (o.keep, own, end) {
            self.keeps.push(Kept {
                rule: n,
                start: o.start,
                end: e,
                text_len,
                element: self.describe(&o),
            });
        }
        if &*o.tag == "body" && self.body_end.is_none() {
            self.body_end = Some(match end {
                Some((_, (s, _))) if own => (s, pos),
                _ => (u64::MAX, pos),
            });
        }
        if let Some(n) = o.unwrap {
            self.unwraps.push((
                n,
                Unwrap {
                    start: o.start,
                    tag_end: o.tag_end,
                    end_tag: match end {
                        Some((_, r)) if own => Some(r),
                        _ => None,
                    },
                },
            ));
        }
        if let Some(&(start, ts, n)) = o.cut.as_deref() {
            let detailed = self.next_detailed();
            let mut c = Cand {
                rule: n,
                start,
                end: u64::MAX,
                text_start: ts,
                text_len: pos - ts,
                state: CandState::Unsafe(unsafe_reason),
                element: if detailed {
                    format!("{} (from the marker to the end)", self.describe(&o))
                } else {
                    String::new()
                },
                preview: String::new(),
                preview_done: !detailed,
                protected: if contains_protected {
                    Some("article")
                } else {
                    None
                },
            };
            if let (true, Some((_, (s, _)))) = (own, end) {
                c.end = s;
                c.state = CandState::Closed;
            }
            self.fill_preview(&mut c, true);
            let id = self.add_cand(c);
            self.settle_early(id, pos);
        }
        if let Some((name, _)) = end {
            self.boundary(name);
        }
    }

    /// A candidate that closed safely, holds nothing protected, and holds less text than
    /// the guard's limit of the text read *so far* (the page's total can only be larger)
    /// is accepted now. Undescribed ones then leave the candidate list for a compact
    /// one, so memory does not grow with the number of removals of a huge page.
    fn settle_early(&mut self, id: u32, pos: u64) {
        let c = &self.cands[id as usize];
        if !c.preview_done || !c.element.is_empty() || c.state != CandState::Closed {
            return;
        }
        let rule = self.rules.rule(c.rule);
        let limit = if rule.generic {
            self.guard.generic_max_share
        } else {
            self.guard.site_max_share
        };
        if self.keeps_possible || c.protected.is_some() || c.text_len as f64 > limit * pos as f64 {
            return;
        }
        self.early.push((c.start, c.end, rule.category));
        self.free.push(id);
    }

    /// `remove_matching` rules, tested when a `within` element ends.
    fn regex_candidates(&mut self, o: &Open, text_len: u64, pos: u64) {
        if o.cand.is_some() || text_len > REGEX_MAX_TEXT || o.text_start < self.window_base {
            return;
        }
        let rules = self.rules.clone();
        let text = self.window
            [(o.text_start - self.window_base) as usize..(pos - self.window_base) as usize]
            .trim();
        for g in o.groups.iter() {
            let Some(group) = rules.group_regexes(g).filter(|r| r.may_match(text)) else {
                continue;
            };
            for &n in &group.rules {
                if rules.is_disabled(n) {
                    continue;
                }
                if self
                    .regex_last
                    .get(&n)
                    .is_some_and(|&last| last >= o.text_start)
                {
                    continue; // a smaller element inside already matched
                }
                if let Action::RemoveMatching { regex, max_len, .. } = &rules.rule(n).action
                    && max_len.is_none_or(|m| text.len() <= m)
                    && regex.is_match(text)
                {
                    let preview: String = text.chars().take(PREVIEW_CHARS).collect();
                    self.regex_last.insert(n, o.text_start);
                    let detailed = self.next_detailed();
                    let c = Cand {
                        rule: n,
                        start: o.start,
                        end: u64::MAX,
                        text_start: o.text_start,
                        text_len,
                        state: CandState::Open,
                        element: if detailed {
                            self.describe(o)
                        } else {
                            String::new()
                        },
                        preview: if detailed { preview } else { String::new() },
                        preview_done: true,
                        protected: None,
                    };
                    self.regex_cand = Some(self.add_cand(c));
                    return;
                }
            }
        }
    }

    /// `keep` rules: cut the body's content around the kept elements. Returns the kept
    /// ranges (empty when nothing is kept, or the guard refused).
    fn keep_gaps(
        &self,
        len: u64,
        total: u64,
        plan: &mut Plan,
        edits: &mut Vec<(Edit, Rem)>,
        refused: &mut Vec<(u64, Refusal)>,
    ) -> Vec<(u64, u64)> {
        let Some(first) = self.keeps.first() else {
            return Vec::new();
        };
        let mut keeps: Vec<&Kept> = self.keeps.iter().collect();
        keeps.sort_by_key(|k| (k.start, std::cmp::Reverse(k.end)));
        let mut ranges: Vec<&Kept> = Vec::new();
        for k in keeps {
            if ranges.last().is_none_or(|l| k.start >= l.end) {
                ranges.push(k);
            }
        }
        let rule = self.rules.rule(first.rule);
        let mut r = Removal {
            rule: rule.id.clone(),
            category: rule.category,
            origin: rule.origin.to_string(),
            action: rule.action.key(),
            element: format!(
                "everything in <body> outside {}",
                ranges
                    .iter()
                    .map(|k| k.element.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            start: first.start,
            bytes: 0,
            text: String::new(),
        };
        let (Some((body_start, body_text)), Some((body_end, body_text_end))) =
            (self.body, self.body_end)
        else {
            refused.push((
                first.start,
                Refusal {
                    removal: r,
                    reason: "no <body> element to keep things in".into(),
                },
            ));
            return Vec::new();
        };
        let body_end = body_end.min(len);
        let kept_text: u64 = ranges.iter().map(|k| k.text_len).sum();
        let body_text = body_text_end.saturating_sub(body_text);
        let share = body_text.saturating_sub(kept_text) as f64 / total as f64;
        let limit = if rule.generic {
            self.guard.generic_max_share
        } else {
            self.guard.site_max_share
        };
        if share > limit
            || ranges
                .iter()
                .any(|k| k.start < body_start || k.end > body_end)
        {
            refused.push((
                first.start,
                Refusal {
                    removal: r,
                    reason: format!(
                        "keeping only this would drop {:.0}% of the page's text (limit {:.0}%)",
                        share * 100.0,
                        limit * 100.0
                    ),
                },
            ));
            return Vec::new();
        }
        let mut at = body_start;
        let mut gaps = Vec::new();
        for k in &ranges {
            gaps.push((at, k.start));
            at = k.end;
        }
        gaps.push((at, body_end));
        gaps.retain(|(s, e)| e > s);
        r.bytes = gaps.iter().map(|(s, e)| e - s).sum();
        r.start = gaps.first().map_or(r.start, |g| g.0);
        plan.removals.push(r);
        let idx = plan.removals.len() - 1;
        for (s, e) in gaps {
            edits.push((Edit::Cut { start: s, end: e }, Rem::Listed(idx as u32)));
        }
        ranges.iter().map(|k| (k.start, k.end)).collect()
    }

    /// The input has ended: read what is left and close what is open.
    fn end_of_input(&mut self) {
        self.pump(u64::MAX, true);
        self.settle();
        self.norm.finish(&mut self.window);
        self.scan(true);
        while !self.stack.is_empty() {
            self.close(None);
        }
    }

    /// End of the page: close what is open, run the guard, and order the edits.
    fn finish(mut self, len: u64) -> Plan {
        self.end_of_input();
        self.update_previews();
        let total = self.pos().max(1);
        let mut plan = Plan {
            len,
            ..Plan::default()
        };
        let mut edits: Vec<(Edit, Rem)> = Vec::new();
        let mut refused: Vec<(u64, Refusal)> = Vec::new();
        let kept = self.keep_gaps(len, total, &mut plan, &mut edits, &mut refused);
        let mut free = vec![false; self.cands.len()];
        for &id in &self.free {
            free[id as usize] = true;
        }
        for (i, c) in self.cands.iter().enumerate() {
            if free[i] {
                continue;
            }
            // Nothing may take an element that a `keep` rule kept.
            if kept.iter().any(|&(s, e)| c.start <= s && e <= c.end) {
                continue;
            }
            let rule = self.rules.rule(c.rule);
            let share = c.text_len as f64 / total as f64;
            let limit = if rule.generic {
                self.guard.generic_max_share
            } else {
                self.guard.site_max_share
            };
            let reason = match c.state {
                CandState::Unsafe(r) => Some(r.to_string()),
                CandState::Open => Some("no end tag: open at the end of the page".to_string()),
                CandState::Closed => match c.protected {
                    Some(t @ ("html" | "head" | "body")) => {
                        Some(format!("protected element <{t}>"))
                    }
                    Some(t) if rule.generic => {
                        Some(format!("protected element <{t}> (or one inside it)"))
                    }
                    _ if share > limit => Some(format!(
                        "holds {:.0}% of the page's text (limit {:.0}%)",
                        share * 100.0,
                        limit * 100.0
                    )),
                    _ => None,
                },
            };
            let listed = match reason {
                Some(_) => refused.len() < DETAILED,
                None => plan.removals.len() < DETAILED,
            };
            if !listed {
                // Past the first DETAILED: counted, not described.
                match reason {
                    Some(_) => plan.refused_unlisted += 1,
                    None => edits.push((
                        Edit::Cut {
                            start: c.start,
                            end: c.end,
                        },
                        Rem::Counted(rule.category),
                    )),
                }
                continue;
            }
            let mut r = Removal {
                rule: rule.id.clone(),
                category: rule.category,
                origin: rule.origin.to_string(),
                action: rule.action.key(),
                element: c.element.clone(),
                start: c.start,
                bytes: if c.end == u64::MAX {
                    0
                } else {
                    c.end - c.start
                },
                text: c.preview.clone(),
            };
            match reason {
                Some(reason) => {
                    r.bytes = 0;
                    refused.push((c.start, Refusal { removal: r, reason }));
                }
                None => {
                    plan.removals.push(r);
                    edits.push((
                        Edit::Cut {
                            start: c.start,
                            end: c.end,
                        },
                        Rem::Listed(plan.removals.len() as u32 - 1),
                    ));
                }
            }
        }
        for (_, u) in &self.unwraps {
            edits.push((
                Edit::Cut {
                    start: u.start,
                    end: u.tag_end,
                },
                Rem::None,
            ));
            if let Some((s, e)) = u.end_tag {
                edits.push((Edit::Cut { start: s, end: e }, Rem::None));
            }
        }
        plan.unwrapped = self.unwraps.len();
        for e in self.attr_edits {
            edits.push((e, Rem::None));
        }
        // Outer edits first; anything inside an earlier cut is dropped (and so not reported).
        let order = |a: (u64, u64), b: (u64, u64)| a.0.cmp(&b.0).then(b.1.cmp(&a.1));
        edits.sort_by(|a, b| order((a.0.start(), a.0.end()), (b.0.start(), b.0.end())));
        // The removals accepted early are merged in from their own (compact) list rather
        // than copied into `edits`: on a huge page they are nearly all of them.
        let mut early = std::mem::take(&mut self.early);
        early.sort_unstable_by(|a, b| order((a.0, a.1), (b.0, b.1)));
        let mut early = early.into_iter().peekable();
        let mut edits = edits.into_iter().peekable();
        let mut covered = 0u64;
        let mut kept_removals = vec![false; plan.removals.len()];
        loop {
            let take_early = match (early.peek(), edits.peek()) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some(a), Some(b)) => order((a.0, a.1), (b.0.start(), b.0.end())).is_le(),
            };
            let (e, rem) = if take_early {
                let (start, end, category) = early.next().expect("peeked");
                (Edit::Cut { start, end }, Rem::Counted(category))
            } else {
                edits.next().expect("peeked")
            };
            if e.start() < covered {
                continue;
            }
            if let Edit::Cut { end, .. } = e {
                covered = end;
            } else {
                plan.attributes_changed += 1;
            }
            match rem {
                Rem::Listed(i) => kept_removals[i as usize] = true,
                Rem::Counted(c) => *plan.unlisted.entry(c).or_default() += 1,
                Rem::None => {}
            }
            plan.edits.push(e);
        }
        let mut i = 0;
        plan.removals.retain(|_| {
            i += 1;
            kept_removals[i - 1]
        });
        // Refusals inside something removed anyway are not worth a word.
        refused.sort_by_key(|(s, _)| *s);
        plan.refused = refused
            .into_iter()
            .filter(|(s, _)| {
                // Edits are sorted and disjoint: the one starting last at or before `s`.
                let k = plan.edits.partition_point(|e| e.start() <= *s);
                k == 0 || !matches!(plan.edits[k - 1], Edit::Cut { end, .. } if end > *s)
            })
            .map(|(_, r)| r)
            .collect();
        plan
    }
}

fn floor(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn tag_static(tag: &str) -> &'static str {
    match tag {
        "html" => "html",
        "head" => "head",
        "body" => "body",
        "main" => "main",
        _ => "article",
    }
}

/// A byte range of the input.
type Span = (u64, u64);

/// The value ranges of an element's id and class among its attributes: the first of
/// each, the one HTML keeps when an attribute is written twice.
fn id_and_class(gaps: &Gaps, attrs: &[AttrSpan]) -> (Option<Span>, Option<Span>) {
    let (mut id, mut class) = (None, None);
    for a in attrs {
        let name = gaps.bytes(a.name_start, a.name_end);
        if name.eq_ignore_ascii_case(b"id") {
            id.get_or_insert((a.value_start, a.value_end));
        } else if name.eq_ignore_ascii_case(b"class") {
            class.get_or_insert((a.value_start, a.value_end));
        }
    }
    (id, class)
}

/// `on*` matches `onclick`; `data-*` matches `data-x`; a name without `*` matches itself.
/// `name` is an attribute name as written in the source (any case); `glob` is lower case.
fn glob_match(glob: &str, name: &[u8]) -> bool {
    let glob = glob.as_bytes();
    // Globs are a few bytes long: a plain loop finds the star faster than a searcher.
    match glob.iter().position(|&b| b == b'*') {
        None => name.eq_ignore_ascii_case(glob),
        Some(star) => {
            let (pre, post) = (&glob[..star], &glob[star + 1..]);
            name.len() >= pre.len() + post.len()
                && name[..pre.len()].eq_ignore_ascii_case(pre)
                && name[name.len() - post.len()..].eq_ignore_ascii_case(post)
        }
    }
}

/// `data-src` → `src` (and `data-srcset` → `srcset`) when the real attribute is missing
/// or holds a placeholder. `attrs`: the element's attributes as source ranges.
fn lazy_image_ops(gaps: &Gaps, attrs: &[AttrSpan]) -> Vec<(u64, AttrEdit)> {
    let mut ops = Vec::new();
    let named = |want: &str| {
        attrs.iter().find(|a| {
            gaps.bytes(a.name_start, a.name_end)
                .eq_ignore_ascii_case(want.as_bytes())
        })
    };
    for (real, lazies) in [
        (
            "src",
            &["data-src", "data-lazy-src", "data-original", "data-lazy"][..],
        ),
        ("srcset", &["data-srcset", "data-lazy-srcset"][..]),
    ] {
        // The first lazy attribute (in source order) that holds a value.
        let Some(lazy) = attrs.iter().find(|a| {
            let name = gaps.bytes(a.name_start, a.name_end);
            lazies
                .iter()
                .any(|l| name.eq_ignore_ascii_case(l.as_bytes()))
                && !gaps
                    .bytes(a.value_start, a.value_end)
                    .trim_ascii()
                    .is_empty()
        }) else {
            continue;
        };
        if let Some(a) = named(real) {
            let v = utf8(gaps.bytes(a.value_start, a.value_end));
            let v = v.trim();
            let placeholder = v.is_empty()
                || v.starts_with("data:")
                || v.contains("placeholder")
                || v.contains("blank.")
                || v.contains("spacer")
                || v.contains("lazy")
                || v == utf8(gaps.bytes(lazy.value_start, lazy.value_end)).trim();
            if !placeholder {
                continue;
            }
            ops.push((a.name_start, AttrEdit::Drop));
        }
        ops.push((lazy.name_start, AttrEdit::Rename(real)));
    }
    ops
}

pub fn find(
    rules: Arc<Compiled>,
    guard: Guard,
    encoding: &'static encoding_rs::Encoding,
    max_memory: usize,
    feed: impl FnMut(&mut dyn FnMut(&[u8]) -> Result<(), CleanError>) -> Result<(), CleanError>,
) -> Result<Plan, CleanError> {
    let finder = Finder::new(rules, guard, encoding);
    let (finder, len) = run(finder, encoding, max_memory, feed)?;
    Ok(finder.finish(len))
}

/// The text of an HTML page (UTF-8) exactly as the finder sees it: normalized the way
/// rule phrases are, with what HTML hides (`head`, `template`, `select`, raw-text
/// elements such as `script`, `title` and `iframe`, comments) left out. What rule
/// authors' examples are checked against.
pub fn visible_text(html: &[u8]) -> Result<String, CleanError> {
    let rules = Arc::new(Compiled::new(Vec::new(), Vec::new()));
    let encoding = encoding_rs::UTF_8;
    let mut finder = Finder::new(rules, Guard::default(), encoding);
    finder.keep_text = true;
    let feed = |sink: &mut dyn FnMut(&[u8]) -> Result<(), CleanError>| sink(html);
    let (mut finder, _) = run(finder, encoding, super::Options::default().max_memory, feed)?;
    finder.end_of_input();
    Ok(finder.window.trim().to_string())
}

/// Reads the page through lol_html with `finder` following it; returns the finder and
/// the number of bytes read.
fn run(
    finder: Finder,
    encoding: &'static encoding_rs::Encoding,
    max_memory: usize,
    mut feed: impl FnMut(&mut dyn FnMut(&[u8]) -> Result<(), CleanError>) -> Result<(), CleanError>,
) -> Result<(Finder, u64), CleanError> {
    let complex: Vec<(lol_html::Selector, Target)> = finder
        .rules
        .parts
        .iter()
        .flat_map(|p| p.complex.iter().cloned())
        .collect();
    let finder = Rc::new(RefCell::new(finder));
    let f1 = finder.clone();
    let mut settings = Settings::new()
        .with_encoding(AsciiCompatibleEncoding::new(encoding).ok_or_else(|| {
            CleanError::Encoding(format!("{} is not ASCII-compatible", encoding.name()))
        })?)
        .with_adjust_charset_on_meta_tag(true)
        .with_strict(false)
        .with_memory_settings(MemorySettings::new().with_max_allowed_memory_usage(max_memory))
        .append_element_content_handler(lol_html::element!("*", move |el| {
            let mut f = f1.borrow_mut();
            let depth = f.on_element(el);
            if !el.can_have_content() {
                // Void elements: the start tag is the whole element. Closed once the
                // element's other handlers have run.
                f.pending_void = Some(depth);
            }
            Ok(())
        }));
    for (sel, t) in complex {
        let f = finder.clone();
        settings = settings.append_element_content_handler((
            Cow::Owned(sel),
            ElementContentHandlers::default().element(move |_: &mut Element<'_, '_>| {
                f.borrow_mut().hit(t);
                Ok(())
            }),
        ));
    }
    let mut len = 0u64;
    {
        let mut rw = HtmlRewriter::new(settings, |_: &[u8]| {});
        feed(&mut |chunk: &[u8]| {
            len += chunk.len() as u64;
            finder.borrow_mut().gaps.push(chunk);
            rw.write(chunk).map_err(rewriting_error)?;
            finder.borrow_mut().drain();
            Ok(())
        })?;
        rw.end().map_err(rewriting_error)?;
    }
    let finder = Rc::try_unwrap(finder)
        .map_err(|_| CleanError::Engine("finder still shared after the pass".into()))?
        .into_inner();
    Ok((finder, len))
}

fn rewriting_error(e: lol_html::errors::RewritingError) -> CleanError {
    match e {
        lol_html::errors::RewritingError::MemoryLimitExceeded(_) => CleanError::TooComplex(
            "a single tag or text run needs more memory than the limit (for example a huge attribute)".into(),
        ),
        other => CleanError::Engine(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::visible_text;

    #[test]
    fn the_text_view_is_the_text_rules_see() {
        let t = visible_text(
            b"<html><head><title>Title</title></head><body><p>Tom&amp;Jerry <b>ran</b></p>\
              <script>var x = '<p>no</p>';</script><!-- c --><select><option>Pick</option></select>\
              <iframe>frame</iframe><template><p>later</p></template><P>Fast</P></body></html>",
        )
        .unwrap();
        assert_eq!(t, "tom&jerry ran fast");
    }
}
