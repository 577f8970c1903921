//! Selectors: the ones simple enough to index, and the rest, which lol_html matches.
//!
//! A *simple* selector is one compound selector (`div`, `.promo`, `#id`,
//! `aside.related[data-x="y"]`, `.bar:not(body)`): it can be checked against one element's tag and
//! attributes without knowing its ancestors. Simple selectors go into [`Index`], which
//! finds the candidates for an element by hash lookups on its id, classes, attribute
//! names and tag, so the cost per element does not grow with the number of rules.
//! Anything else (descendant and child combinators, `:nth-child`, `:not` around more than
//! one compound, …) is handed to lol_html as a selector of its own.

use std::collections::HashMap;
use std::hash::Hasher;
use std::sync::OnceLock;

use aho_corasick::automaton::Automaton;
use aho_corasick::{AhoCorasick, AhoCorasickKind, Anchored, MatchKind, StartKind};

/// The index's maps hash short keys (tag names, class tokens) several times for every
/// element of every page, where SipHash's strength buys nothing: rustc's Fx hash.
type FastMap<K, V> = HashMap<K, V, rustc_hash::FxBuildHasher>;

/// How an attribute selector compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrOp {
    /// `[a]`
    Exists,
    /// `[a=v]`
    Equals,
    /// `[a~=v]`: v is one of the whitespace-separated words.
    Word,
    /// `[a|=v]`: v, or v followed by `-`.
    DashPrefix,
    /// `[a^=v]`
    Prefix,
    /// `[a$=v]`
    Suffix,
    /// `[a*=v]`
    Contains,
}

/// One `[name op value]` part of a compound selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrSel {
    pub name: String,
    pub op: AttrOp,
    pub value: String,
    pub ignore_case: bool,
}

impl AttrSel {
    fn matches(&self, actual: &str) -> bool {
        let (a, v);
        let (actual, value) = if self.ignore_case {
            a = actual.to_ascii_lowercase();
            v = self.value.to_ascii_lowercase();
            (a.as_str(), v.as_str())
        } else {
            (actual, self.value.as_str())
        };
        match self.op {
            AttrOp::Exists => true,
            AttrOp::Equals => actual == value,
            AttrOp::Word => {
                !value.is_empty() && actual.split_ascii_whitespace().any(|w| w == value)
            }
            AttrOp::DashPrefix => {
                actual == value
                    || (actual.starts_with(value)
                        && actual.as_bytes().get(value.len()) == Some(&b'-'))
            }
            AttrOp::Prefix => !value.is_empty() && actual.starts_with(value),
            AttrOp::Suffix => !value.is_empty() && actual.ends_with(value),
            AttrOp::Contains => !value.is_empty() && actual.contains(value),
        }
    }
}

/// A compound selector: `tag#id.class.class[attr…]:not(…)`, every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compound {
    /// Lowercased tag name; `None` for `*` or no tag.
    pub tag: Option<String>,
    pub id: Option<String>,
    pub classes: Vec<String>,
    pub attrs: Vec<AttrSel>,
    /// `:not(…)` parts: the element must match none of these (each a compound without
    /// `:not` of its own).
    pub not: Vec<Compound>,
}

/// What the engine knows of an element when it matches simple selectors. `id` and
/// `class` are asked of every element; other attributes only when a selector needs them.
pub trait ElementView {
    fn tag(&self) -> &str;
    fn attr(&self, name: &str) -> Option<std::borrow::Cow<'_, str>>;
    fn id(&self) -> Option<&str>;
    fn class(&self) -> Option<&str>;
}

impl Compound {
    /// Does this element match every part?
    pub fn matches(&self, el: &dyn ElementView) -> bool {
        if let Some(t) = &self.tag
            && t != el.tag()
        {
            return false;
        }
        if let Some(id) = &self.id
            && el.id() != Some(id.as_str())
        {
            return false;
        }
        if !self.classes.is_empty() {
            let Some(class) = el.class() else {
                return false;
            };
            if !self
                .classes
                .iter()
                .all(|c| class.split_ascii_whitespace().any(|w| w == c))
            {
                return false;
            }
        }
        self.attrs.iter().all(|a| match a.name.as_str() {
            "id" => el.id().is_some_and(|v| a.matches(v)),
            "class" => el.class().is_some_and(|v| a.matches(v)),
            n => el.attr(n).is_some_and(|v| a.matches(&v)),
        }) && !self.not.iter().any(|n| n.matches(el))
    }
}

/// The characters of a selector outside quotes and attribute brackets, and not escaped
/// with `\`, with their byte offsets and their depth in parentheses. The one scanner
/// behind [`split_list`] and [`parse_pair`] (depth 0: `.a\,b` is one selector) and the
/// EasyList importer's look for combinators (any depth).
pub fn unquoted(s: &str) -> impl Iterator<Item = (usize, char, usize)> + '_ {
    let (mut paren, mut bracket, mut quote, mut escaped) = (0usize, 0usize, None::<char>, false);
    s.char_indices().filter_map(move |(i, c)| {
        if std::mem::take(&mut escaped) {
            return None;
        }
        match (quote, c) {
            (_, '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[') => bracket += 1,
            (None, ']') => bracket = bracket.saturating_sub(1),
            (None, '(') if bracket == 0 => paren += 1,
            (None, ')') if bracket == 0 => paren = paren.saturating_sub(1),
            (None, c) if bracket == 0 => return Some((i, c, paren)),
            _ => {}
        }
        None
    })
}

/// The characters at the top level: outside quotes, brackets and parentheses.
fn top_level(s: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    unquoted(s)
        .filter(|&(_, _, p)| p == 0)
        .map(|(i, c, _)| (i, c))
}

/// Splits a selector list at top-level commas (not inside brackets, parentheses or quotes,
/// and not escaped).
pub fn split_list(list: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, _) in top_level(list).filter(|&(_, c)| c == ',') {
        parts.push(list[start..i].trim());
        start = i + 1;
    }
    parts.push(list[start..].trim());
    parts
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || !c.is_ascii()
}

/// Parses one selector (no commas) as a compound selector, or `None` when it is not one
/// (combinators, pseudo-classes other than `:not(compound)`, escapes): such selectors go
/// to lol_html instead.
pub fn parse_compound(sel: &str) -> Option<Compound> {
    let s = sel.trim();
    if s.is_empty() || s.contains('\\') {
        return None;
    }
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut c = Compound::default();
    let ident = |i: &mut usize| -> Option<String> {
        let st = *i;
        while *i < b.len() && is_ident_char(b[*i]) {
            *i += 1;
        }
        (*i > st).then(|| b[st..*i].iter().collect())
    };
    if b[0] == '*' {
        i = 1;
    } else if is_ident_char(b[0]) {
        c.tag = Some(ident(&mut i)?.to_ascii_lowercase());
    }
    while i < b.len() {
        match b[i] {
            '#' => {
                i += 1;
                if c.id.is_some() {
                    return None;
                }
                c.id = Some(ident(&mut i)?);
            }
            '.' => {
                i += 1;
                c.classes.push(ident(&mut i)?);
            }
            '[' => {
                i += 1;
                let skip_ws = |i: &mut usize| {
                    while *i < b.len() && b[*i].is_whitespace() {
                        *i += 1;
                    }
                };
                skip_ws(&mut i);
                let name = ident(&mut i)?.to_ascii_lowercase();
                skip_ws(&mut i);
                let op = match b.get(i)? {
                    ']' => AttrOp::Exists,
                    '=' => AttrOp::Equals,
                    '~' => AttrOp::Word,
                    '|' => AttrOp::DashPrefix,
                    '^' => AttrOp::Prefix,
                    '$' => AttrOp::Suffix,
                    '*' => AttrOp::Contains,
                    _ => return None,
                };
                let mut value = String::new();
                let mut ignore_case = false;
                if op != AttrOp::Exists {
                    if op != AttrOp::Equals {
                        i += 1;
                    }
                    if b.get(i) != Some(&'=') {
                        return None;
                    }
                    i += 1;
                    skip_ws(&mut i);
                    match b.get(i)? {
                        q @ ('"' | '\'') => {
                            let q = *q;
                            i += 1;
                            let st = i;
                            while i < b.len() && b[i] != q {
                                i += 1;
                            }
                            if i >= b.len() {
                                return None;
                            }
                            value = b[st..i].iter().collect();
                            i += 1;
                        }
                        _ => value = ident(&mut i)?,
                    }
                    skip_ws(&mut i);
                    if matches!(b.get(i), Some('i' | 'I')) {
                        ignore_case = true;
                        i += 1;
                        skip_ws(&mut i);
                    } else if matches!(b.get(i), Some('s' | 'S')) {
                        i += 1;
                        skip_ws(&mut i);
                    }
                }
                if b.get(i) != Some(&']') {
                    return None;
                }
                i += 1;
                c.attrs.push(AttrSel {
                    name,
                    op,
                    value,
                    ignore_case,
                });
            }
            ':' => {
                // `:not(compound)`: lol_html takes a compound there, and so does the index.
                let rest: String = b[i..].iter().collect();
                if !rest
                    .get(..5)
                    .is_some_and(|p| p.eq_ignore_ascii_case(":not("))
                {
                    return None;
                }
                let inner_start = i + 5;
                let mut j = inner_start;
                let mut quote = None;
                while j < b.len() {
                    match (quote, b[j]) {
                        (Some(q), ch) if ch == q => quote = None,
                        (Some(_), _) => {}
                        (None, '"' | '\'') => quote = Some(b[j]),
                        (None, '(') => return None,
                        (None, ')') => break,
                        _ => {}
                    }
                    j += 1;
                }
                if j >= b.len() {
                    return None;
                }
                let inner: String = b[inner_start..j].iter().collect();
                let n = parse_compound(&inner)?;
                if !n.not.is_empty() || inner.trim().is_empty() {
                    return None;
                }
                c.not.push(n);
                i = j + 1;
            }
            _ => return None,
        }
    }
    // Thousands of imported selectors are kept: no room to spare in each.
    c.classes.shrink_to_fit();
    c.attrs.shrink_to_fit();
    c.not.shrink_to_fit();
    Some(c)
}

/// `A > B` (parent) or `A B` (ancestor): the element matching `B` must sit in an element
/// matching ancestor compound number `anc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rel {
    pub anc: u32,
    pub child: bool,
}

/// Parses `A B` or `A > B` (two compound selectors) into (A, whether `>`, B).
pub fn parse_pair(sel: &str) -> Option<(Compound, bool, Compound)> {
    let s = sel.trim();
    let cut = top_level(s)
        .find(|&(_, c)| c.is_whitespace() || c == '>')
        .map(|(i, _)| i);
    let at = cut?;
    let (a, rest) = s.split_at(at);
    let rest_trim = rest.trim_start();
    let child = rest_trim.starts_with('>');
    let b = rest_trim.trim_start_matches('>').trim_start();
    if b.is_empty()
        || b.contains(|c: char| c.is_whitespace() || c == '>') && parse_compound(b).is_none()
    {
        return None;
    }
    Some((parse_compound(a)?, child, parse_compound(b)?))
}

/// One selector of an [`Index`].
#[derive(Debug)]
struct Entry<T> {
    /// The subject compound.
    compound: Compound,
    payload: T,
    /// For `A > B` / `A B`: which ancestor compound must hold it (and whether as its
    /// parent).
    rel: Option<Rel>,
    /// The compound is nothing but the key it is filed under (`div`, `.donate`,
    /// `#paywall`, `*`): being found under that key is a match, no need to compare again.
    key_only: bool,
}

/// Index keys for compounds keyed on having an id or a class attribute (kept apart from
/// the attribute names callers list, which never include these).
const ID_KEY: &str = " id";
const CLASS_KEY: &str = " class";

/// Finds, for one element, every simple selector that matches it, by hash lookups.
///
/// Each entry carries a caller-chosen payload `T` (a rule or a group number).
#[derive(Debug)]
pub struct Index<T> {
    /// Every selector held, numbered in insertion order (the maps below hold numbers).
    compounds: Vec<Entry<T>>,
    /// The distinct ancestor compounds of `A > B` / `A B` selectors, by source text.
    ancestor_ids: HashMap<String, u32>,
    /// Finds which ancestor compounds an element matches.
    ancestors: Option<Box<Index<u32>>>,
    by_id: FastMap<String, Vec<u32>>,
    by_class: FastMap<String, Vec<u32>>,
    by_attr: FastMap<String, Vec<u32>>,
    by_tag: FastMap<String, Vec<u32>>,
    universal: Vec<u32>,
    /// Compounds keyed by a literal one attribute's value must contain
    /// (`[class*="promo"]`, `a[href^="https://twitter.com/intent"]`): (attribute key,
    /// literal, whether it must start the value, compound), as inserted.
    literals: Vec<(String, String, bool, u32)>,
    /// What lookups need that is derived from the above: built on first use, dropped by
    /// every insert.
    prepared: OnceLock<Prepared>,
}

/// The lookup structures an [`Index`] derives from its keys.
#[derive(Debug)]
struct Prepared {
    /// Every key (id, class token, attribute name, tag, literal attribute): with tens of
    /// thousands of imported selectors the maps outgrow the CPU caches, and most of an
    /// element's keys are in none of them; a bit test in a small array says so without
    /// touching a map.
    bloom: Bloom,
    /// Some selector is keyed on having an id (`[id^="ad-" i]`, no literal), or a class.
    id_key: bool,
    class_key: bool,
    /// The literal attribute selectors' automata.
    literals: LiteralSets,
}

#[derive(Debug)]
struct Bloom {
    bits: Vec<u64>,
    /// Bit-number mask (a power of two, minus one).
    mask: u64,
}

impl Bloom {
    fn new<'a>(keys: impl Iterator<Item = &'a str>, count: usize) -> Bloom {
        // About 16 bits per key, two probes: under 2% false positives.
        let nbits = (count * 16).next_power_of_two().max(1024);
        let mut b = Bloom {
            bits: vec![0; nbits / 64],
            mask: nbits as u64 - 1,
        };
        for k in keys {
            let h = key_hash(k);
            for bit in [h & b.mask, (h >> 32) & b.mask] {
                b.bits[(bit / 64) as usize] |= 1 << (bit % 64);
            }
        }
        b
    }

    fn may_contain(&self, h: u64) -> bool {
        [h & self.mask, (h >> 32) & self.mask]
            .iter()
            .all(|&bit| self.bits[(bit / 64) as usize] & (1 << (bit % 64)) != 0)
    }
}

/// The hash an index's Bloom filter uses for a key (an id, a class token, an attribute
/// name).
pub fn key_hash(key: &str) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(key.as_bytes());
    h.finish()
}

/// An element's keys, hashed once and shared by every index it is looked up in (the
/// generic rules', the site's, and each one's index of `A B` ancestors).
#[derive(Debug, Default)]
pub struct Keys {
    tag: u64,
    id: Option<u64>,
    /// One per class token, in order; `None` for a token written before.
    classes: Vec<Option<u64>>,
    /// One per attribute name offered, in order.
    names: Vec<u64>,
}

impl Keys {
    /// Hashes `el`'s id, class tokens and the attribute names `names` (reusing this
    /// value's buffers).
    pub fn fill<'a>(&mut self, el: &dyn ElementView, names: impl Iterator<Item = &'a str>) {
        self.tag = key_hash(el.tag());
        self.id = el.id().map(key_hash);
        self.classes.clear();
        if let Some(class) = el.class() {
            for w in class.split_ascii_whitespace() {
                let h = key_hash(w);
                // Compared by hash first: long class lists must not cost a string
                // comparison per pair of tokens.
                let again = self.classes.contains(&Some(h))
                    && class_before(class, w)
                        .split_ascii_whitespace()
                        .any(|p| p == w);
                self.classes.push((!again).then_some(h));
            }
        }
        self.names.clear();
        self.names.extend(names.map(key_hash));
    }
}

/// The literal sets, by attribute: id and class apart (every element is probed for
/// them), the other attribute names in a map.
#[derive(Debug, Default)]
struct LiteralSets {
    id: Option<LiteralSet>,
    class: Option<LiteralSet>,
    named: FastMap<String, LiteralSet>,
}

/// One attribute's literals: those that must start its value (`=`, `^=`, `|=`), found
/// by an anchored search that looks no further than the longest of them, and those that
/// may stand anywhere (`*=`, `~=`, `$=`).
#[derive(Debug, Default)]
struct LiteralSet {
    at_start: Option<(aho_corasick::dfa::DFA, Vec<Vec<u32>>)>,
    anywhere: Option<Literal>,
}

#[derive(Debug)]
struct Literal {
    ac: AhoCorasick,
    /// Pattern number → the compounds that need it.
    compounds: Vec<Vec<u32>>,
}

impl Literal {
    fn new(pats: &[&str], compounds: Vec<Vec<u32>>) -> Option<Literal> {
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(pats)
            .ok()?;
        Some(Literal { ac, compounds })
    }
}

impl LiteralSets {
    /// Attribute selectors indexed by their literal: per attribute (id, class or a
    /// name), one automaton finds every literal in the element's value in one pass, so
    /// only compounds whose literal occurs are checked, however many there are.
    fn new(entries: &[(String, String, bool, u32)]) -> LiteralSets {
        /// One attribute's literals (distinct), their compounds, and where each is.
        type Building<'a> = (Vec<&'a str>, Vec<Vec<u32>>, HashMap<&'a str, usize>);
        let mut by_key: FastMap<(&str, bool), Building<'_>> = FastMap::default();
        for (key, lit, anchored, n) in entries {
            let (pats, comps, seen) = by_key.entry((key, *anchored)).or_default();
            let p = *seen.entry(lit).or_insert_with(|| {
                pats.push(lit);
                comps.push(Vec::new());
                pats.len() - 1
            });
            comps[p].push(*n);
        }
        let mut sets: FastMap<String, LiteralSet> = FastMap::default();
        for ((key, anchored), (pats, compounds, _)) in by_key {
            let set = sets.entry(key.to_string()).or_default();
            if anchored {
                set.at_start = aho_corasick::dfa::Builder::new()
                    .match_kind(MatchKind::Standard)
                    .start_kind(StartKind::Anchored)
                    .build(&pats)
                    .ok()
                    .map(|d| (d, compounds));
            } else {
                set.anywhere = Literal::new(&pats, compounds);
            }
        }
        LiteralSets {
            id: sets.remove(ID_KEY),
            class: sets.remove(CLASS_KEY),
            named: sets,
        }
    }
}

/// The part of `class` before its token `w` (a subslice of it).
fn class_before<'a>(class: &'a str, w: &str) -> &'a str {
    let at = w.as_ptr() as usize - class.as_ptr() as usize;
    &class[..at]
}

/// The literal an attribute selector's value must contain, when it has one that is
/// matched case-sensitively (`[a]` and `[a="v" i]` have none).
fn literal_of(a: &AttrSel) -> Option<&str> {
    (a.op != AttrOp::Exists && !a.ignore_case && !a.value.is_empty()).then_some(a.value.as_str())
}

impl<T> Default for Index<T> {
    fn default() -> Self {
        Index {
            compounds: Vec::new(),
            ancestor_ids: HashMap::new(),
            ancestors: None,
            by_id: FastMap::default(),
            by_class: FastMap::default(),
            by_attr: FastMap::default(),
            by_tag: FastMap::default(),
            universal: Vec::new(),
            literals: Vec::new(),
            prepared: OnceLock::new(),
        }
    }
}

impl<T: Copy> Index<T> {
    /// Adds a compound selector under its most selective key: id, then a class, then an
    /// attribute name, then the tag.
    pub fn insert(&mut self, c: Compound, payload: T) {
        self.insert_rel(c, payload, None);
    }

    /// Adds `ancestor > subject` (`child`) or `ancestor subject`.
    pub fn insert_pair(&mut self, ancestor: Compound, child: bool, subject: Compound, payload: T) {
        let key = format!("{ancestor:?}");
        let next = self.ancestor_ids.len() as u32;
        let anc = *self.ancestor_ids.entry(key).or_insert_with(|| {
            self.ancestors
                .get_or_insert_with(Default::default)
                .insert(ancestor, next);
            next
        });
        self.insert_rel(subject, payload, Some(Rel { anc, child }));
    }

    /// Number of distinct ancestor compounds.
    pub fn ancestor_count(&self) -> usize {
        self.ancestor_ids.len()
    }

    /// Calls `hit` with every ancestor compound `el` matches.
    pub fn for_each_ancestor_match<'a>(
        &self,
        el: &dyn ElementView,
        attr_names: impl Iterator<Item = &'a str> + Clone,
        keys: &Keys,
        hit: impl FnMut(u32),
    ) {
        if let Some(a) = &self.ancestors {
            a.for_each_match(el, attr_names, keys, &|_, _| true, hit);
        }
    }

    fn insert_rel(&mut self, c: Compound, payload: T, rel: Option<Rel>) {
        let n = self.compounds.len() as u32;
        // Keys change: derive the lookup structures again on next use.
        self.prepared = OnceLock::new();
        if let Some(id) = &c.id {
            self.by_id.entry(id.clone()).or_default().push(n);
        } else if let Some(cl) = c.classes.first() {
            self.by_class.entry(cl.clone()).or_default().push(n);
        } else if let Some((a, lit)) = c
            .attrs
            .iter()
            .find_map(|a| literal_of(a).map(|l| (a, l.to_string())))
        {
            let key = match a.name.as_str() {
                "id" => ID_KEY,
                "class" => CLASS_KEY,
                name => name,
            };
            let anchored = matches!(a.op, AttrOp::Equals | AttrOp::Prefix | AttrOp::DashPrefix);
            self.literals.push((key.to_string(), lit, anchored, n));
        } else if let Some(a) = c.attrs.iter().find(|a| a.name != "id" && a.name != "class") {
            // Attribute names are read from the raw input for every element: cheap keys.
            self.by_attr.entry(a.name.clone()).or_default().push(n);
        } else if let Some(t) = c.tag.as_ref().filter(|_| !c.attrs.is_empty()) {
            // `div[class*="ad"]`: keyed by tag rather than by having a class at all.
            self.by_tag.entry(t.clone()).or_default().push(n);
        } else if let Some(a) = c.attrs.iter().find(|a| a.name == "id" || a.name == "class") {
            // `[id^="ad-"]`: every element's id and class are read anyway.
            let key = if a.name == "id" { ID_KEY } else { CLASS_KEY };
            self.by_attr.entry(key.to_string()).or_default().push(n);
        } else if let Some(a) = c.attrs.first() {
            self.by_attr.entry(a.name.clone()).or_default().push(n);
        } else if let Some(t) = &c.tag {
            self.by_tag.entry(t.clone()).or_default().push(n);
        } else {
            self.universal.push(n);
        }
        let key_only = c.attrs.is_empty()
            && c.not.is_empty()
            && matches!(
                (&c.tag, &c.id, c.classes.len()),
                (None, Some(_), 0) | (None, None, 0 | 1) | (Some(_), None, 0)
            );
        self.compounds.push(Entry {
            compound: c,
            payload,
            rel,
            key_only,
        });
    }

    /// Number of selectors held.
    pub fn len(&self) -> usize {
        self.compounds.len()
    }

    /// True when the index holds nothing.
    pub fn is_empty(&self) -> bool {
        self.compounds.is_empty()
    }

    /// True when some selector is keyed on an attribute name (so callers must offer
    /// every attribute name of each element).
    pub fn wants_attribute_names(&self) -> bool {
        self.attribute_key_count() > 0
    }

    /// Number of distinct attribute names (other than id and class) selectors are keyed on.
    pub fn attribute_key_count(&self) -> usize {
        let mut keys: Vec<&str> = self
            .by_attr
            .keys()
            .map(String::as_str)
            .chain(self.literals.iter().map(|(k, ..)| k.as_str()))
            .filter(|k| *k != ID_KEY && *k != CLASS_KEY)
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys.len()
            + self
                .ancestors
                .as_ref()
                .map_or(0, |a| a.attribute_key_count())
    }

    /// The lookup structures, derived from the keys on first use after an insert.
    fn prepared(&self) -> &Prepared {
        self.prepared.get_or_init(|| {
            let keys = self
                .by_id
                .keys()
                .chain(self.by_class.keys())
                .chain(self.by_attr.keys())
                .chain(self.by_tag.keys())
                .map(String::as_str)
                .chain(self.literals.iter().map(|(k, ..)| k.as_str()));
            let count = self.by_id.len()
                + self.by_class.len()
                + self.by_attr.len()
                + self.by_tag.len()
                + self.literals.len();
            Prepared {
                bloom: Bloom::new(keys, count),
                id_key: self.by_attr.contains_key(ID_KEY),
                class_key: self.by_attr.contains_key(CLASS_KEY),
                literals: LiteralSets::new(&self.literals),
            }
        })
    }

    /// Calls `hit` with the payload of every selector that matches `el`.
    /// `attr_names` lists the element's attribute names (only read when
    /// [`wants_attribute_names`](Self::wants_attribute_names)).
    /// `rel(anc, child)` says whether the element sits in (`child`: directly in) an open
    /// element matching ancestor compound `anc`.
    pub fn for_each_match<'a>(
        &self,
        el: &dyn ElementView,
        attr_names: impl Iterator<Item = &'a str> + Clone,
        hashed: &Keys,
        rel: &dyn Fn(u32, bool) -> bool,
        mut hit: impl FnMut(T),
    ) {
        let mut check = |ns: Option<&Vec<u32>>| {
            for &n in ns.into_iter().flatten() {
                let e = &self.compounds[n as usize];
                if (e.key_only || e.compound.matches(el))
                    && e.rel.is_none_or(|r| rel(r.anc, r.child))
                {
                    hit(e.payload);
                }
            }
        };
        let prepared = self.prepared();
        let bloom = &prepared.bloom;
        if !self.by_id.is_empty()
            && let (Some(id), Some(h)) = (el.id(), hashed.id)
            && bloom.may_contain(h)
        {
            check(self.by_id.get(id));
        }
        if !self.by_class.is_empty()
            && let Some(class) = el.class()
        {
            // A class written twice must not match twice: its repeats have no hash.
            for (w, h) in class.split_ascii_whitespace().zip(&hashed.classes) {
                if let Some(h) = *h
                    && bloom.may_contain(h)
                {
                    check(self.by_class.get(w));
                }
            }
        }
        if !self.literals.is_empty() {
            let sets = &prepared.literals;
            let mut probe = |set: Option<&LiteralSet>, value: &str| {
                let Some(set) = set else {
                    return;
                };
                if let Some((dfa, compounds)) = &set.at_start
                    && let Ok(mut sid) = dfa.start_state(Anchored::Yes)
                {
                    // Stepped from the value's first byte until no literal can match
                    // any more; each literal can match once, so none repeats.
                    for &b in value.as_bytes() {
                        sid = dfa.next_state(Anchored::Yes, sid, b);
                        if dfa.is_dead(sid) {
                            break;
                        }
                        if dfa.is_match(sid) {
                            for i in 0..dfa.match_len(sid) {
                                check(Some(&compounds[dfa.match_pattern(sid, i).as_usize()]));
                            }
                        }
                    }
                }
                let Some(lit) = &set.anywhere else {
                    return;
                };
                // Most values hold none of the literals: a prefiltered search says so
                // faster than the overlapping one that lists them.
                if !lit.ac.is_match(value) {
                    return;
                }
                // A literal found twice in one value is checked once. Few literals are
                // found in one value: the first ones are remembered without allocating.
                let mut first = [usize::MAX; 8];
                let mut more: Vec<usize> = Vec::new();
                let mut found = 0;
                for m in lit.ac.find_overlapping_iter(value) {
                    let p = m.pattern().as_usize();
                    if first.contains(&p) || more.contains(&p) {
                        continue;
                    }
                    match first.get_mut(found) {
                        Some(slot) => *slot = p,
                        None => more.push(p),
                    }
                    found += 1;
                    check(Some(&lit.compounds[p]));
                }
            };
            if let Some(id) = el.id() {
                probe(sets.id.as_ref(), id);
            }
            if let Some(class) = el.class() {
                probe(sets.class.as_ref(), class);
            }
            if !sets.named.is_empty() {
                for (name, &h) in attr_names.clone().zip(&hashed.names) {
                    if bloom.may_contain(h)
                        && let Some(set) = sets.named.get(name)
                        && let Some(v) = el.attr(name)
                    {
                        probe(Some(set), &v);
                    }
                }
            }
        }
        if !self.by_attr.is_empty() {
            if el.id().is_some() && prepared.id_key {
                check(self.by_attr.get(ID_KEY));
            }
            if el.class().is_some() && prepared.class_key {
                check(self.by_attr.get(CLASS_KEY));
            }
            for (name, &h) in attr_names.zip(&hashed.names) {
                if bloom.may_contain(h) {
                    check(self.by_attr.get(name));
                }
            }
        }
        if !self.by_tag.is_empty() && bloom.may_contain(hashed.tag) {
            check(self.by_tag.get(el.tag()));
        }
        check(Some(&self.universal));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct El(&'static str, Vec<(&'static str, &'static str)>);
    impl ElementView for El {
        fn tag(&self) -> &str {
            self.0
        }
        fn attr(&self, name: &str) -> Option<std::borrow::Cow<'_, str>> {
            self.1
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).into())
        }
        fn id(&self) -> Option<&str> {
            self.1.iter().find(|(n, _)| *n == "id").map(|(_, v)| *v)
        }
        fn class(&self) -> Option<&str> {
            self.1.iter().find(|(n, _)| *n == "class").map(|(_, v)| *v)
        }
    }

    #[test]
    fn lists_split_at_top_level_commas_only() {
        assert_eq!(
            split_list(".a, b[x=','] ,c:not(.d,.e)"),
            [".a", "b[x=',']", "c:not(.d,.e)"]
        );
        assert_eq!(split_list(".a\\,b, .c"), [".a\\,b", ".c"]);
        assert_eq!(split_list(".a\\\\,b"), [".a\\\\", "b"]);
    }

    #[test]
    fn parses_compounds_and_rejects_combinators() {
        let c = parse_compound("aside.related.box#x[data-kind^='promo' i]").unwrap();
        assert_eq!(c.tag.as_deref(), Some("aside"));
        assert_eq!(c.id.as_deref(), Some("x"));
        assert_eq!(c.classes, vec!["related", "box"]);
        assert_eq!(c.attrs[0].op, AttrOp::Prefix);
        assert!(c.attrs[0].ignore_case);
        assert!(parse_compound("div p").is_none());
        assert!(parse_compound("div > p").is_none());
        assert!(parse_compound("li:nth-child(2)").is_none());
        assert!(parse_compound(".a:not(.b .c)").is_none());
        assert!(parse_compound(".a:not(:nth-child(2))").is_none());
        assert!(parse_compound(".a:not(.b:not(.c))").is_none());
        assert!(parse_compound(".a:not()").is_none());
        let c = parse_compound(".a:not(.b):NOT(div[x=')'])").unwrap();
        assert_eq!(c.classes, vec!["a"]);
        assert_eq!(c.not.len(), 2);
        assert_eq!(c.not[1].attrs[0].value, ")");
    }

    #[test]
    fn negations_match_like_css() {
        let el = El("div", vec![("class", "a b"), ("id", "x")]);
        let m = |s: &str| parse_compound(s).unwrap().matches(&el);
        assert!(m(".a:not(.c)"));
        assert!(!m(".a:not(.b)"));
        assert!(m(".a:not(.b.c)"), "not(b and c): the element lacks c");
        assert!(!m(".a:not(div)"));
        assert!(m(":not(body):not(html)"));
        assert!(!m("#x:not([class~=a])"));
        let mut ix = Index::default();
        ix.insert(parse_compound(".a:not(body)").unwrap(), 1);
        ix.insert(parse_compound(":not(span)").unwrap(), 2);
        ix.insert(parse_compound(".a:not(div)").unwrap(), 3);
        let mut got = Vec::new();
        let names = ["class", "id"];
        let keys = keyed(&el, &names);
        ix.for_each_match(&el, names.into_iter(), &keys, &|_, _| true, |p| got.push(p));
        got.sort();
        assert_eq!(got, vec![1, 2]);
    }

    #[test]
    fn index_matches_by_every_key() {
        let mut ix = Index::default();
        for (i, s) in [
            "#main",
            ".promo",
            "[data-ad]",
            "aside",
            "*[hidden]",
            "div.a.b",
        ]
        .iter()
        .enumerate()
        {
            ix.insert(parse_compound(s).unwrap(), i);
        }
        let el = El(
            "div",
            vec![
                ("id", "main"),
                ("class", "b promo a promo"),
                ("data-ad", "1"),
            ],
        );
        let mut got = Vec::new();
        let names = ["id", "class", "data-ad"];
        let keys = keyed(&el, &names);
        ix.for_each_match(&el, names.into_iter(), &keys, &|_, _| true, |p| got.push(p));
        got.sort();
        assert_eq!(got, vec![0, 1, 2, 5]);
    }

    fn keyed(el: &El, names: &[&str]) -> Keys {
        let mut keys = Keys::default();
        keys.fill(el, names.iter().copied());
        keys
    }

    fn matches_of(ix: &Index<usize>, el: &El) -> Vec<usize> {
        let names: Vec<&str> = el.1.iter().map(|(n, _)| *n).collect();
        let mut keys = Keys::default();
        keys.fill(el, names.iter().copied());
        let mut got = Vec::new();
        ix.for_each_match(el, names.into_iter(), &keys, &|_, _| true, |p| got.push(p));
        got.sort();
        got
    }

    #[test]
    fn attribute_literals_are_found_in_values_once_each() {
        let mut ix = Index::default();
        for (i, s) in [
            "[class*=\"promo\"]",
            "[id^=\"ad-\"]",
            "a[href*=\"share\"]",
            "[data-kind$=\"box\"]",
            "[class*=\"PROMO\" i]",
            "[title=\"Ad\"]",
            "[class~=\"x\"]",
        ]
        .iter()
        .enumerate()
        {
            ix.insert(parse_compound(s).unwrap(), i);
        }
        assert_eq!(ix.attribute_key_count(), 3); // href, data-kind, title
        let el = El(
            "a",
            vec![
                ("id", "ad-top"),
                ("class", "big-promo promo-box xx"),
                ("href", "/share?u=share"),
                ("data-kind", "promo-box"),
            ],
        );
        // `promo` and `share` occur twice: one match each; `x` is only part of a word.
        assert_eq!(matches_of(&ix, &el), vec![0, 1, 2, 3, 4]);
        // The same literal, but in the wrong attribute or in another case.
        let el = El(
            "div",
            vec![("class", "Promo"), ("title", "ad"), ("href", "/share")],
        );
        assert_eq!(matches_of(&ix, &el), vec![4]);
        // Long values, literals far in: the same answers.
        let long_class = format!("{} promo {}", "x".repeat(70), "promo-again");
        let long_href = format!("/share/{}/share", "y".repeat(80));
        let el = El(
            "a",
            vec![
                ("class", Box::leak(long_class.into_boxed_str())),
                ("href", Box::leak(long_href.into_boxed_str())),
            ],
        );
        assert_eq!(matches_of(&ix, &el), vec![0, 2, 4]);
    }

    #[test]
    fn selectors_added_after_a_lookup_are_found() {
        let mut ix = Index::default();
        ix.insert(parse_compound(".a").unwrap(), 0);
        ix.insert(parse_compound("[class^=\"q\"]").unwrap(), 1);
        let el = El("div", vec![("class", "qb b a a")]);
        assert_eq!(matches_of(&ix, &el), vec![0, 1]);
        // The filter and the literal sets built by that lookup must not hide these.
        ix.insert(parse_compound(".b").unwrap(), 2);
        ix.insert(parse_compound("[class*=\"b b\"]").unwrap(), 3);
        assert_eq!(matches_of(&ix, &el), vec![0, 1, 2, 3]);
    }

    #[test]
    fn pairs_parse_and_match_through_the_relation() {
        let (a, child, b) = parse_pair("div.box > a[href]").unwrap();
        assert!(child && a.classes == ["box"] && b.tag.as_deref() == Some("a"));
        let (a, child, _) = parse_pair("nav   a").unwrap();
        assert!(!child && a.tag.as_deref() == Some("nav"));
        assert!(parse_pair("a b c").is_none());
        assert!(parse_pair("div + p").is_none());
        assert!(parse_pair(".x").is_none());
        let mut ix = Index::default();
        let (a, child, b) = parse_pair("nav a").unwrap();
        ix.insert_pair(a, child, b, 7);
        assert_eq!(ix.ancestor_count(), 1);
        let el = El("a", vec![]);
        let mut got = Vec::new();
        let keys = keyed(&el, &[]);
        ix.for_each_match(
            &el,
            std::iter::empty(),
            &keys,
            &|anc, child| anc == 0 && !child,
            |p| got.push(p),
        );
        assert_eq!(got, vec![7]);
        got.clear();
        ix.for_each_match(&el, std::iter::empty(), &keys, &|_, _| false, |p| {
            got.push(p)
        });
        assert!(got.is_empty());
        let mut ancs = Vec::new();
        let nav = El("nav", vec![]);
        ix.for_each_ancestor_match(&nav, std::iter::empty(), &keyed(&nav, &[]), |a| {
            ancs.push(a)
        });
        assert_eq!(ancs, vec![0]);
    }

    #[test]
    fn attribute_operators() {
        let el = El("a", vec![("class", "x-y z"), ("lang", "en-GB")]);
        let m = |s: &str| parse_compound(s).unwrap().matches(&el);
        assert!(m("[class~=z]"));
        assert!(!m("[class~=x]"));
        assert!(m("[lang|=en]"));
        assert!(m("[class*='-y']"));
        assert!(m("[class$=z]"));
        assert!(m("[LANG='EN-gb' i]"));
        assert!(!m("[lang='EN-gb']"));
        assert!(!m("[class*='']"));
    }
}
