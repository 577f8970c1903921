//! The open elements: the finder's own stack, kept in step with lol_html's, and HTML's
//! rules for elements that end without their end tag.
//!
//! Each entry remembers where its element starts, where its text starts and what rules
//! wait for its end. The implied-end rules (a `<p>` ended by a `<div>`, an `<li>` by the
//! next `<li>`, a cell by the next cell) are read from the tag table's flags
//! ([`flag`]): an element HTML would have closed early is marked, and its removal is
//! never safe. Nothing here knows what a rule does.

use super::attr::{id_and_class, scan_attributes, utf8};
use super::gap::{Context, Gaps};
use super::tag::{TagName, flag};

/// How far down the open elements an end tag looks for its element.
const MAX_END_TAG_SEARCH: usize = 1024;

/// A `cut_after` marker in a child: (the child's start, its text start, the rule, and
/// the locator's totals at the marker: prose, prose paragraphs).
pub type Cut = (u64, u64, u32, (u64, u64));

/// One open element.
#[derive(Debug)]
pub struct Open {
    pub tag: TagName,
    /// Raw text inside (script, style, title, …): only its own end tag ends it.
    pub raw: bool,
    pub start: u64,
    pub tag_end: u64,
    pub text_start: u64,
    /// Count of `<article>`/`<main>` start tags seen before this element's content.
    pub protected_before: u64,
    /// HTML would have closed this element before its end tag (e.g. a `<p>` followed by a `<div>`).
    pub implied: bool,
    pub cand: Option<u32>,
    pub unwrap: Option<u32>,
    /// `cut_after` found a marker in a child: (child's start, child's text start, rule).
    /// Boxed, like the rarely set fields below: the stack entry is moved on every push
    /// and pop, so it is kept small.
    /// With the locator's totals at the marker (prose, prose paragraphs).
    pub cut: Option<Box<Cut>>,
    /// Groups this element is a `within` candidate for (empty for most elements).
    pub groups: Groups,
    /// The ancestor compounds (of `A > B`, `A B` selectors) this element matches.
    pub anc: Groups,
    /// Id and class, kept for reports of elements some selector matched.
    pub label: Option<Box<Label>>,
    /// A `keep` rule matched this element.
    pub keep: Option<u32>,
    /// The `has` selector lists some descendant matched (boxed: rarely set, and the
    /// entry is moved on every push and pop).
    pub has: Option<Box<Groups>>,
    /// Other rules that asked for this element while its candidate's rule has
    /// conditions: tried in order if those are not met.
    pub alt: Option<Box<[u32]>>,
}

impl Open {
    /// A new entry for the element whose start tag is at `start..tag_end`.
    pub fn new(tag: TagName, raw: bool, (start, tag_end): (u64, u64), text_start: u64) -> Open {
        Open {
            tag,
            raw,
            start,
            tag_end,
            text_start,
            protected_before: 0,
            implied: false,
            cand: None,
            unwrap: None,
            cut: None,
            groups: Groups::default(),
            anc: Groups::default(),
            // Read from the input when needed (see `describe`, `Elements::label_all`).
            label: None,
            keep: None,
            has: None,
            alt: None,
        }
    }

    /// Rule `n` asked for this element too: it waits in line behind the candidate's
    /// rule, which has conditions (see `Finder::conditions_met`).
    pub fn wait_behind(&mut self, n: u32) {
        let have = self.alt.as_deref().unwrap_or(&[]);
        if !have.contains(&n) {
            self.alt = Some(have.iter().copied().chain([n]).collect());
        }
    }

    /// `tag#id.class.class` of the element, for reports: its id and class from the
    /// input while its start tag is held, else from what was kept before it went.
    pub fn describe(&self, gaps: &Gaps) -> String {
        match self.label.as_deref() {
            Some(l) => describe_with(&self.tag, l.id.as_deref(), l.class.as_deref()),
            None if self.start >= gaps.base() => {
                let l = Label::from_input(gaps, self.start, self.tag_end);
                describe_with(&self.tag, l.id.as_deref(), l.class.as_deref())
            }
            None => describe_with(&self.tag, None, None),
        }
    }
}

/// An element's id and class, kept once its start tag has left the input held.
#[derive(Debug, Default)]
pub struct Label {
    id: Option<Box<str>>,
    class: Option<Box<str>>,
}

impl Label {
    /// The id and class of the element whose start tag is at `start..tag_end`, read from
    /// the input (which must still be held).
    fn from_input(gaps: &Gaps, start: u64, tag_end: u64) -> Label {
        let mut attrs = Vec::new();
        scan_attributes(gaps.bytes(start, tag_end), start, &mut attrs);
        let (id, class) = id_and_class(gaps, &attrs);
        let text = |(s, e)| utf8(gaps.bytes(s, e)).into_owned().into_boxed_str();
        Label {
            id: id.map(text),
            class: class.map(text),
        }
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

/// The `within` groups an element belongs to: a bit set for the first 64 groups (no
/// allocation for the common case), a list beyond.
#[derive(Debug, Default)]
pub struct Groups {
    low: u64,
    more: Vec<u32>,
}

impl Groups {
    pub fn is_empty(&self) -> bool {
        self.low == 0 && self.more.is_empty()
    }
    pub fn contains(&self, g: u32) -> bool {
        if g < 64 {
            self.low & (1 << g) != 0
        } else {
            self.more.contains(&g)
        }
    }
    pub fn insert(&mut self, g: u32) -> bool {
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
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
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

/// The open elements, innermost last, and what HTML's implied-end rules need of them.
#[derive(Debug, Default)]
pub struct Elements {
    stack: Vec<Open>,
    /// Indices into `stack` of elements with `groups`, innermost last.
    within: Vec<usize>,
    /// Indices of the open elements of each kind the implied-end rules look at.
    open_p: Vec<usize>,
    open_li: Vec<usize>,
    open_dd: Vec<usize>,
    open_cell: Vec<usize>,
    boundaries: Vec<usize>,
    lists: Vec<usize>,
    tables: Vec<usize>,
    /// How many open elements hide their text (head, template, …).
    hidden: u32,
    /// `<article>`/`<main>` start tags seen so far.
    protected_seen: u64,
    /// How many open elements match each ancestor compound.
    anc_open: Vec<u32>,
}

impl Elements {
    /// No element open; `ancestors` compounds to count.
    pub fn new(ancestors: usize) -> Elements {
        Elements {
            anc_open: vec![0; ancestors],
            ..Elements::default()
        }
    }

    pub fn len(&self) -> usize {
        self.stack.len()
    }

    pub fn is_empty(&self) -> bool {
        self.stack.is_empty()
    }

    pub fn last(&self) -> Option<&Open> {
        self.stack.last()
    }

    pub fn get(&self, depth: usize) -> &Open {
        &self.stack[depth]
    }

    pub fn get_mut(&mut self, depth: usize) -> &mut Open {
        &mut self.stack[depth]
    }

    /// How many open elements match ancestor compound `g`, by compound.
    pub fn anc_open(&self) -> &[u32] {
        &self.anc_open
    }

    /// How the text at the read position is to be taken.
    pub fn context(&self) -> Context {
        match self.stack.last() {
            Some(o) if o.raw => Context::Raw(o.tag.clone()),
            _ if self.hidden > 0 => Context::Hidden,
            _ => Context::Visible,
        }
    }

    /// A start tag `tag` arrived (before its element is pushed): marks the open
    /// elements HTML closes implicitly here, and counts what the tag hides or protects.
    /// Returns the element's `protected_before`.
    pub fn start_tag(&mut self, tag: &TagName, content: bool) -> u64 {
        self.implied_closes(tag);
        if tag.is(flag::HIDDEN) && content {
            self.hidden += 1;
        }
        let before = self.protected_seen;
        if tag.is(flag::ARTICLE) {
            self.protected_seen += 1;
        }
        before
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
        if tag.is(flag::LI)
            && let Some(&i) = self.open_li.last()
            && above(i, bound.max(self.lists.last().copied()))
        {
            self.stack[i].implied = true;
        }
        if tag.is(flag::DD_DT)
            && let Some(&i) = self.open_dd.last()
            && above(i, bound.max(self.lists.last().copied()))
        {
            self.stack[i].implied = true;
        }
        if tag.is(flag::CLOSES_CELL)
            && let Some(&i) = self.open_cell.last()
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

    /// Opens an element (after [`start_tag`](Self::start_tag)).
    pub fn push(&mut self, o: Open) {
        let depth = self.stack.len();
        let t = &o.tag;
        let kind = if t.is(flag::P) {
            Some(&mut self.open_p)
        } else if t.is(flag::LI) {
            Some(&mut self.open_li)
        } else if t.is(flag::DD_DT) {
            Some(&mut self.open_dd)
        } else if t.is(flag::CELL) {
            Some(&mut self.open_cell)
        } else if t.is(flag::LIST) {
            Some(&mut self.lists)
        } else if t.is(flag::TABLE) {
            Some(&mut self.tables)
        } else if t.is(flag::SCOPE) {
            Some(&mut self.boundaries)
        } else {
            None
        };
        if let Some(v) = kind {
            v.push(depth);
        }
        for g in o.anc.iter() {
            self.anc_open[g as usize] += 1;
        }
        self.stack.push(o);
    }

    /// Makes the element at `depth` a `within` candidate of group `g`.
    pub fn join_group(&mut self, depth: usize, g: u32) {
        let o = &mut self.stack[depth];
        let first = o.groups.is_empty();
        if o.groups.insert(g) && first {
            self.within.push(depth);
        }
    }

    /// The element at `depth` matches `has` list `h`: every element around it has such
    /// a descendant (marked up to the first that already knew).
    pub fn mark_has(&mut self, depth: usize, h: u32) {
        for o in self.stack[..depth].iter_mut().rev() {
            if !o.has.get_or_insert_with(Box::default).insert(h) {
                break;
            }
        }
    }

    /// The innermost open `within` element of group `g` whose text starts at or before `at`.
    pub fn innermost_within(&self, g: u32, at: u64) -> Option<usize> {
        self.within
            .iter()
            .rev()
            .copied()
            .find(|&d| self.stack[d].text_start <= at && self.stack[d].groups.contains(g))
    }

    /// The depth of the nearest open element named `name`, if an end tag of that name
    /// closes one.
    pub fn find_open(&self, name: &TagName) -> Option<usize> {
        self.stack
            .iter()
            .rev()
            .take(MAX_END_TAG_SEARCH)
            .position(|o| o.tag == *name)
            .map(|up| self.stack.len() - 1 - up)
    }

    /// Closes the innermost element. `void_close`: it is a void element closed after
    /// its start tag, not at an end tag or the end of the page.
    pub fn pop(&mut self, void_close: bool) -> Open {
        let depth = self.stack.len() - 1;
        let o = self.stack.pop().expect("close on an empty stack");
        for g in o.anc.iter() {
            self.anc_open[g as usize] -= 1;
        }
        if o.tag.is(flag::HIDDEN) && self.hidden > 0 && !void_close {
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
        if !o.groups.is_empty() {
            self.within.pop();
        }
        o
    }

    /// Whether `o` (just closed) held an `<article>` or `<main>`.
    pub fn held_protected(&self, o: &Open) -> bool {
        self.protected_seen > o.protected_before
    }

    /// Open elements whose start tags are before `point` (about to leave the input
    /// held) keep their id and class, for reports that may still describe them.
    pub fn label_before(&mut self, gaps: &Gaps, point: u64) {
        for o in &mut self.stack {
            if o.label.is_none() && o.start < point && o.start >= gaps.base() {
                o.label = Some(Box::new(Label::from_input(gaps, o.start, o.tag_end)));
            }
        }
    }
}
