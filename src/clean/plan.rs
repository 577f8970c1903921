//! The plan: every edit pass 2 applies, and the guard's judgement of every removal.
//!
//! The finder hands over what it found — removal candidates, kept elements, unwrapped
//! elements, attribute changes — and this module decides: a candidate is removed only
//! when its own end tag was seen, it takes nothing protected, and it holds no more of
//! the page's text than its rule's share limit ([`Guard::limit`], the one place that
//! picks it). Candidates that are safe already when they close are accepted at once
//! ([`Draft::accept_early`]); the rest wait for the end of the page ([`Draft::finish`]),
//! where the edits are also sorted and overlaps dropped. [`super::splice`] reads only
//! the [`Plan`].

use std::collections::BTreeMap;

use super::cand::{Cand, CandState, Cands, DETAILED};
use super::locate::Region;
use super::{Guard, Refusal, Removal};
use crate::rules::compile::Compiled;
use crate::rules::{Category, Place, Rule};

/// One byte-range change to the input, applied by pass 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Drop bytes `start..end`.
    Cut { start: u64, end: u64 },
    /// Change attributes inside the start tag at `start..start + len`: each op names
    /// the byte offset where an attribute's name begins.
    Attrs {
        start: u64,
        /// A start tag's length (lol_html's memory limit keeps it far below 4 GiB); with
        /// the boxed ops this keeps an edit in 24 bytes: a huge page holds millions.
        len: u32,
        ops: Box<Vec<(u64, AttrEdit)>>,
    },
}

const _: () = assert!(std::mem::size_of::<Edit>() == 24);

impl Edit {
    pub fn start(&self) -> u64 {
        match self {
            Edit::Cut { start, .. } | Edit::Attrs { start, .. } => *start,
        }
    }
    pub fn end(&self) -> u64 {
        match self {
            Edit::Cut { end, .. } => *end,
            Edit::Attrs { start, len, .. } => start + u64::from(*len),
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
    pub unlisted: BTreeMap<Category, usize>,
    /// Refusals past the first 10,000, counted.
    pub refused_unlisted: usize,
    /// Removals whose rule's conditions the element did not meet (the first 50 of each
    /// rule, 10,000 in all).
    pub not_applied: Vec<Refusal>,
    /// Those past the described ones, counted.
    pub not_applied_unlisted: usize,
    /// Where the article is, as the locator found it.
    pub article: Option<Region>,
    /// The body's content (after `<body …>`, before `</body>` or the end of the page).
    pub body: Option<(u64, u64)>,
    /// Headlines, standfirsts and images noted for a reading copy (when asked for).
    pub leads: Vec<super::reader::Lead>,
    pub unwrapped: usize,
    pub attributes_changed: usize,
    /// Bytes read.
    pub len: u64,
}

impl Guard {
    /// The share of the page's text one removal by `rule` may take: the one place a
    /// rule's limit is chosen (HTML candidates, `keep`, plain-text paragraphs).
    pub fn limit(&self, rule: &Rule) -> f64 {
        if rule.generic {
            self.generic_max_share
        } else {
            self.site_max_share
        }
    }
}

/// An element a `keep` rule matched that ended with its own end tag.
pub struct Kept {
    pub rule: u32,
    pub start: u64,
    pub end: u64,
    pub text_len: u64,
    pub element: String,
}

/// An element an `unwrap` rule matched: its start tag, and its end tag when written.
pub struct Unwrap {
    pub start: u64,
    pub tag_end: u64,
    pub end_tag: Option<(u64, u64)>,
}

const _: () = assert!(std::mem::size_of::<Early>() == 24);

/// A removal accepted as soon as it closed: what the article guard needs of it at the
/// end. Kept in 24 bytes: a huge page has millions (a removal longer than 4 GiB is not
/// accepted early; prose and paragraph counts saturate, which only makes the guard
/// stricter).
#[derive(Debug, Clone, Copy)]
struct Early {
    start: u64,
    len: u32,
    rule: u32,
    prose: u32,
    paras: u16,
}

/// The plan being drawn: what the finder decided so far, besides the candidates.
#[derive(Default)]
pub struct Draft {
    pub keeps: Vec<Kept>,
    pub unwraps: Vec<Unwrap>,
    attr_edits: Vec<Edit>,
    attr_edit_owner: Option<u64>,
    /// Removals accepted as soon as they closed, for the article guard's last word.
    early: Vec<Early>,
    not_applied: NotApplied,
    /// Some `keep` rule is in force (its ranges are known only at the end, so no
    /// removal is accepted early).
    keeps_possible: bool,
    /// The body's content: (start, text start) once `<body>` opened, end once it closed.
    pub body: Option<(u64, u64)>,
    pub body_end: Option<(u64, u64)>,
}

impl Draft {
    /// The body's content, when the page has a `<body>`: from its start tag's end to its
    /// end tag (or the end of the page).
    pub fn body_inner(&self, len: u64) -> Option<(u64, u64)> {
        let (start, _) = self.body?;
        let end = self.body_end.map_or(len, |(e, _)| e.min(len));
        (start <= end).then_some((start, end))
    }

    pub fn new(keeps_possible: bool) -> Draft {
        Draft {
            keeps_possible,
            ..Draft::default()
        }
    }

    /// Attribute changes to the start tag at `start..end` (merged with the ones made
    /// to the same tag already).
    pub fn attr_ops(&mut self, start: u64, end: u64, ops: Vec<(u64, AttrEdit)>) {
        if ops.is_empty() {
            return;
        }
        if self.attr_edit_owner != Some(start) {
            let Ok(len) = u32::try_from(end - start) else {
                return;
            };
            self.attr_edit_owner = Some(start);
            self.attr_edits.push(Edit::Attrs {
                start,
                len,
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

    /// A candidate that closed safely, holds nothing protected, and holds less text than
    /// the guard's limit of the text read *so far* (`pos`; the page's total can only be
    /// larger) is accepted now, and true is returned: the caller frees its slot.
    /// Undescribed ones only: described ones are judged at the end, for the report.
    pub fn accept_early(&mut self, c: &Cand, rule: &Rule, guard: &Guard, pos: u64) -> bool {
        if !c.preview_done || c.detailed || c.state != CandState::Closed || c.alts.is_some() {
            return false;
        }
        let limit = guard.limit(rule);
        if self.keeps_possible || c.protected.is_some() || c.text_len as f64 > limit * pos as f64 {
            return false;
        }
        let Ok(len) = u32::try_from(c.end - c.start) else {
            return false;
        };
        // Removals inside this one closed before it, so they end the list: they would
        // be dropped when the edits are ordered; dropped now, they hold no memory (a
        // share bar's links on a huge page, each once a removal of its own).
        // Only when nothing decided at the end can refuse this one: no `where`, and no
        // prose for the article guard to protect (a share bar, a link list).
        let settled =
            rule.cond.as_ref().is_none_or(|c| c.place.is_none()) && c.prose == 0 && c.paras == 0;
        while settled
            && self
                .early
                .last()
                .is_some_and(|e| e.start >= c.start && e.start + u64::from(e.len) <= c.end)
        {
            self.early.pop();
        }
        self.early.push(Early {
            start: c.start,
            len,
            rule: c.rule,
            prose: u32::try_from(c.prose).unwrap_or(u32::MAX),
            paras: u16::try_from(c.paras).unwrap_or(u16::MAX),
        });
        true
    }

    /// A candidate whose element did not meet its rule's conditions (`why`): listed in
    /// the report while it is one of the described ones.
    pub fn not_applied(&mut self, c: &Cand, rule: &Rule, why: impl std::fmt::Display) {
        self.not_applied.list(c, rule, why);
    }

    /// `keep` rules: cut the body's content around the kept elements, if the guard
    /// allows it.
    fn keep_gaps(
        &self,
        rules: &Compiled,
        guard: &Guard,
        len: u64,
        total: u64,
        article: Option<&Region>,
    ) -> Keeping {
        let Some(first) = self.keeps.first() else {
            return Keeping::Nothing;
        };
        let mut keeps: Vec<&Kept> = self.keeps.iter().collect();
        keeps.sort_by_key(|k| (k.start, std::cmp::Reverse(k.end)));
        let mut ranges: Vec<&Kept> = Vec::new();
        for k in keeps {
            if ranges.last().is_none_or(|l| k.start >= l.end) {
                ranges.push(k);
            }
        }
        let rule = rules.rule(first.rule);
        let mut r = removal(rule, first.start);
        r.element = format!(
            "everything in <body> outside {}",
            ranges
                .iter()
                .map(|k| k.element.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let (Some((body_start, body_text)), Some((body_end, body_text_end))) =
            (self.body, self.body_end)
        else {
            return Keeping::Refused(
                first.start,
                Refusal {
                    removal: r,
                    reason: "no <body> element to keep things in".into(),
                },
            );
        };
        let body_end = body_end.min(len);
        let kept_text: u64 = ranges.iter().map(|k| k.text_len).sum();
        let body_text = body_text_end.saturating_sub(body_text);
        let share = body_text.saturating_sub(kept_text) as f64 / total as f64;
        let limit = guard.limit(rule);
        if share > limit
            || ranges
                .iter()
                .any(|k| k.start < body_start || k.end > body_end)
        {
            return Keeping::Refused(
                first.start,
                Refusal {
                    removal: r,
                    reason: format!(
                        "keeping only this would drop {:.0}% of the page's text (limit {:.0}%)",
                        share * 100.0,
                        limit * 100.0
                    ),
                },
            );
        }
        if let Some(a) = article
            && !rule.may_take_article
            && !ranges.iter().any(|k| k.start < a.end && a.start < k.end)
        {
            return Keeping::Refused(
                first.start,
                Refusal {
                    removal: r,
                    reason: format!(
                        "keeping only this would drop the located article (<{}> at byte {})",
                        a.tag, a.start
                    ),
                },
            );
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
        Keeping::Cut {
            removal: r,
            gaps,
            kept: ranges.iter().map(|k| (k.start, k.end)).collect(),
        }
    }

    /// End of the page (`len` bytes, `total` bytes of text): judges every candidate
    /// left, and orders the edits.
    pub fn finish(
        mut self,
        cands: &Cands,
        rules: &Compiled,
        guard: &Guard,
        len: u64,
        total: u64,
        article: Option<Region>,
    ) -> Plan {
        let mut plan = Plan {
            len,
            ..Plan::default()
        };
        // Where the locator is not sure, the article guard stands aside (the page-share
        // guard still applies) and no `where` condition is met.
        let sure = article.as_ref().filter(|a| a.sure());
        let mut edits: Vec<(Edit, Rem)> = Vec::new();
        let mut refused: Vec<(u64, Refusal)> = Vec::new();
        let mut not_applied = std::mem::take(&mut self.not_applied);
        let kept = match self.keep_gaps(rules, guard, len, total, sure) {
            Keeping::Nothing => Vec::new(),
            Keeping::Refused(at, r) => {
                refused.push((at, r));
                Vec::new()
            }
            Keeping::Cut {
                removal,
                gaps,
                kept,
            } => {
                plan.removals.push(removal);
                let idx = plan.removals.len() as u32 - 1;
                for (start, end) in gaps {
                    edits.push((Edit::Cut { start, end }, Rem::Listed(idx)));
                }
                kept
            }
        };
        for c in cands.live() {
            // Nothing may take an element that a `keep` rule kept.
            if kept.iter().any(|&(s, e)| c.start <= s && e <= c.end) {
                continue;
            }
            // The first of its rules whose `where` is met (most have one rule, and
            // no `where`).
            let mut rule = None;
            let alts = c.alts.as_deref().unwrap_or(&[]);
            for &n in std::iter::once(&c.rule).chain(alts) {
                let r = rules.rule(n);
                match place_unmet(r, c.start, c.end, sure) {
                    None => {
                        rule = Some(r);
                        break;
                    }
                    Some(why) => not_applied.list(c, r, why),
                }
            }
            let Some(rule) = rule else {
                continue;
            };
            let reason = verdict(c, rule, guard, total)
                .or_else(|| article_verdict(c.start, c.end, c.prose, c.paras, rule, guard, sure));
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
            let mut r = removal(rule, c.start);
            r.element = c.element.clone();
            r.bytes = if c.end == u64::MAX {
                0
            } else {
                c.end - c.start
            };
            r.text = c.preview.clone();
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
        for u in &self.unwraps {
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
        for e in std::mem::take(&mut self.attr_edits) {
            edits.push((e, Rem::None));
        }
        // Judged in place: on a huge page this list is nearly every removal, and a
        // second list beside it would double the page's memory.
        let mut early = std::mem::take(&mut self.early);
        let mut refused_early = 0;
        early.retain(|e| {
            let rule = rules.rule(e.rule);
            let end = e.start + u64::from(e.len);
            if place_unmet(rule, e.start, end, sure).is_some() {
                return false;
            }
            let (prose, paras) = (u64::from(e.prose), u32::from(e.paras));
            if article_verdict(e.start, end, prose, paras, rule, guard, sure).is_some() {
                refused_early += 1;
                return false;
            }
            true
        });
        plan.refused_unlisted += refused_early;
        order(&mut plan, edits, early, rules, refused);
        not_applied.list.sort_by_key(|r| r.removal.start);
        plan.not_applied = not_applied.list;
        plan.not_applied_unlisted = not_applied.unlisted;
        plan.article = article;
        plan
    }
}

/// What the `keep` rules come to.
enum Keeping {
    /// No element was kept.
    Nothing,
    /// The guard refused (at this offset).
    Refused(u64, Refusal),
    /// The body's content outside the `kept` ranges goes, as `gaps`.
    Cut {
        removal: Removal,
        gaps: Vec<(u64, u64)>,
        kept: Vec<(u64, u64)>,
    },
}

/// The guard's judgement of a candidate at the end of the page: `None` to remove it,
/// else why not.
fn verdict(c: &Cand, rule: &Rule, guard: &Guard, total: u64) -> Option<String> {
    let share = c.text_len as f64 / total as f64;
    let limit = guard.limit(rule);
    match c.state {
        CandState::Unsafe(r) => Some(r.to_string()),
        CandState::Open => Some("no end tag: open at the end of the page".to_string()),
        CandState::Closed => match c.protected {
            Some(t @ ("html" | "head" | "body")) => Some(format!("protected element <{t}>")),
            Some(t) if rule.generic => Some(format!("protected element <{t}> (or one inside it)")),
            _ if share > limit => Some(format!(
                "holds {:.0}% of the page's text (limit {:.0}%)",
                share * 100.0,
                limit * 100.0
            )),
            _ => None,
        },
    }
}

/// Removals a rule asked for whose element did not meet its conditions: the first
/// [`NOT_APPLIED_PER_RULE`] of each rule described, the rest counted (a rule on every
/// `div` with `min_link_density` is not met by most of them).
#[derive(Debug, Default)]
pub struct NotApplied {
    pub list: Vec<Refusal>,
    per_rule: rustc_hash::FxHashMap<String, u32>,
    pub unlisted: usize,
}

/// How many elements that did not meet a rule's conditions are described per rule.
pub const NOT_APPLIED_PER_RULE: u32 = 50;

impl NotApplied {
    /// Lists candidate `c` as not applied by `rule` (its conditions not met: `why`),
    /// while it is one of the described ones and its rule has not filled its share.
    fn list(&mut self, c: &Cand, rule: &Rule, why: impl std::fmt::Display) {
        let n = match self.per_rule.get_mut(rule.id.as_str()) {
            Some(n) => n,
            None => self.per_rule.entry(rule.id.clone()).or_insert(0),
        };
        if !c.detailed || *n >= NOT_APPLIED_PER_RULE || self.list.len() >= DETAILED {
            self.unlisted += 1;
            return;
        }
        *n += 1;
        let mut r = removal(rule, c.start);
        r.element = c.element.clone();
        r.text = c.preview.clone();
        self.list.push(Refusal {
            removal: r,
            // A quiet candidate (no descriptions wanted) gets no words either.
            reason: if c.described() {
                why.to_string()
            } else {
                String::new()
            },
        });
    }
}

/// The article guard: why a removal of `start..end` holding `prose` characters of prose
/// and `paras` paragraphs that read as prose may not go, against the located `article`
/// (`None`: the locator was not sure, and this guard stands aside).
fn article_verdict(
    start: u64,
    end: u64,
    prose: u64,
    paras: u32,
    rule: &Rule,
    guard: &Guard,
    article: Option<&Region>,
) -> Option<String> {
    let a = article?;
    if rule.may_take_article || end <= a.start || start >= a.end {
        return None;
    }
    if start <= a.start && end >= a.end {
        return Some(format!(
            "would take the located article (<{}> at byte {}, {} characters of prose)",
            a.tag, a.start, a.prose
        ));
    }
    if paras > 0 {
        return Some(format!(
            "holds {paras} paragraph{} of the located article that read{} as prose",
            if paras == 1 { "" } else { "s" },
            if paras == 1 { "s" } else { "" }
        ));
    }
    let share = prose as f64 / a.prose.max(1) as f64;
    (share > guard.article_max_share).then(|| {
        format!(
            "holds {:.0}% of the located article's prose (limit {:.0}%)",
            share * 100.0,
            guard.article_max_share * 100.0
        )
    })
}

/// A rule's `where` condition against the located article: why it is not met, if not.
fn place_unmet(rule: &Rule, start: u64, end: u64, article: Option<&Region>) -> Option<String> {
    let place = rule.cond.as_ref()?.place?;
    let Some(a) = article else {
        return Some(format!(
            "where = \"{}\": the locator is not sure where the article is",
            place.name()
        ));
    };
    // The part of the page's one `article` element before the region — its header:
    // headline, standfirst, byline — is the article's by the page's word, for `where`
    // as for the reading copy: a chrome rule on `header` must not take it.
    let from = a.declared_start.map_or(a.start, |d| d.min(a.start));
    let inside = start >= from && end <= a.end;
    let outside = end <= from || start >= a.end;
    let met = match place {
        Place::InsideArticle => inside,
        Place::OutsideArticle => outside,
    };
    (!met).then(|| {
        format!(
            "where = \"{}\": the element is {} the located article (<{}> at byte {})",
            place.name(),
            if inside {
                "inside"
            } else if outside {
                "outside"
            } else {
                "around or across"
            },
            a.tag,
            a.start
        )
    })
}

/// A report entry for a removal by `rule` starting at `start` (element, size and text
/// filled in by the caller).
fn removal(rule: &Rule, start: u64) -> Removal {
    Removal {
        rule: rule.id.clone(),
        category: rule.category,
        origin: rule.origin.text(),
        action: rule.action.key(),
        element: String::new(),
        start,
        bytes: 0,
        text: String::new(),
        conditions: rule
            .cond
            .as_ref()
            .map(|c| c.describe().to_string())
            .unwrap_or_default(),
    }
}

/// Sorts the edits (outer first), drops those inside an earlier cut, and keeps the
/// report entries and refusals of what is left.
fn order(
    plan: &mut Plan,
    mut edits: Vec<(Edit, Rem)>,
    mut early: Vec<Early>,
    rules: &Compiled,
    mut refused: Vec<(u64, Refusal)>,
) {
    // Outer edits first; anything inside an earlier cut is dropped (and so not reported).
    let order = |a: (u64, u64), b: (u64, u64)| a.0.cmp(&b.0).then(b.1.cmp(&a.1));
    edits.sort_by(|a, b| order((a.0.start(), a.0.end()), (b.0.start(), b.0.end())));
    // The removals accepted early are merged in from their own (compact) list rather
    // than copied into `edits`: on a huge page they are nearly all of them.
    let span = |e: &Early| (e.start, e.start + u64::from(e.len));
    // Last first, taken from the end: the list gives its memory back as the edits
    // grow (a huge page's removals are held once, not twice).
    early.sort_unstable_by(|a, b| order(span(b), span(a)));
    plan.edits.reserve_exact(edits.len() + early.len());
    let mut edits = edits.into_iter().peekable();
    let mut covered = 0u64;
    let mut kept_removals = vec![false; plan.removals.len()];
    loop {
        if early.capacity() > 4096 && early.len() < early.capacity() / 2 {
            early.shrink_to_fit();
        }
        let take_early = match (early.last(), edits.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(b)) => order(span(a), (b.0.start(), b.0.end())).is_le(),
        };
        let (e, rem) = if take_early {
            let e = early.pop().expect("peeked");
            let (start, end) = span(&e);
            (
                Edit::Cut { start, end },
                Rem::Counted(rules.rule(e.rule).category),
            )
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
}
