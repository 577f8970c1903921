//! Removal candidates: every removal the rules ask for, from the moment its element (or
//! the text after a `cut_after` marker) starts until the plan judges it.
//!
//! A candidate is made by one constructor ([`Cand::new`]), whatever the action; it
//! records the byte range, the text it holds and what a report says of it (the first
//! [`DETAILED`] are described, later ones only counted, so memory does not grow with the
//! number of removals of a huge page). Whether it is removed is the plan's decision
//! ([`super::plan`]); candidates accepted early leave the list and their slots are
//! reused.

use std::collections::HashMap;

use super::open::Open;
use super::scan::Scan;
use crate::rules::compile::Compiled;
use crate::rules::{Action, Rule};

/// `remove_matching` looks at elements whose text is at most this long.
const REGEX_MAX_TEXT: u64 = 2048;
pub const PREVIEW_CHARS: usize = 80;
/// Removals described in full (element and text) in a report; later ones only counted.
pub const DETAILED: usize = 10_000;

/// What a report says of a candidate.
pub enum Detail {
    /// One of the first [`DETAILED`], described: its element, and its text's preview
    /// once read.
    Described(String),
    /// One of the first [`DETAILED`], on a page whose report keeps only counts (the
    /// daemon, batch mode without `--report`): judged and counted exactly as a
    /// described one, but no description or preview is made.
    Quiet,
    /// Past the first [`DETAILED`]: counted, and accepted early where it can be.
    Counted,
}

/// What a `remove_matching` rule's match on a closing element comes to.
pub enum RegexHit {
    /// A new candidate (its id), and the other regex rules matching the element, which
    /// wait behind its rule when that has conditions.
    New(u32, Vec<u32>),
    /// The element is some other rule's candidate already: these rules (their
    /// numbers) wait behind it.
    Behind(Vec<u32>),
}

/// Why a candidate cannot be removed yet, or at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandState {
    Open,
    Closed,
    Unsafe(&'static str),
}

/// One removal waiting for its judgement.
#[derive(Debug)]
pub struct Cand {
    pub rule: u32,
    pub start: u64,
    pub end: u64,
    pub text_start: u64,
    pub text_len: u64,
    pub state: CandState,
    /// One of the page's first [`DETAILED`]: judged at the end and listed in the report
    /// (described there only when the page is cleaned for a report).
    pub detailed: bool,
    pub element: String,
    pub preview: String,
    pub preview_done: bool,
    /// A protected element (by tag) this removal would take: itself or one inside it.
    pub protected: Option<&'static str>,
    /// Characters of prose in it, and its paragraphs that read as prose (the locator's).
    pub prose: u64,
    pub paras: u32,
    /// Other rules whose conditions the element met, tried in order at the end when
    /// `rule`'s `where` is not met.
    pub alts: Option<Box<[u32]>>,
}

impl Cand {
    /// Whether the report describes it (its element, its text, why a rule passed it by).
    pub fn described(&self) -> bool {
        !self.element.is_empty()
    }

    /// A candidate of rule `rule` from `start` (its text from `text_start`), still open,
    /// with what the report says of it.
    pub fn new(rule: u32, start: u64, text_start: u64, detail: Detail) -> Cand {
        let detailed = !matches!(detail, Detail::Counted);
        let (element, preview_done) = match detail {
            Detail::Described(e) => (e, false),
            Detail::Quiet | Detail::Counted => (String::new(), true),
        };
        Cand {
            rule,
            start,
            end: u64::MAX,
            text_start,
            text_len: 0,
            state: CandState::Open,
            detailed,
            preview_done,
            element,
            preview: String::new(),
            protected: None,
            prose: 0,
            paras: 0,
            alts: None,
        }
    }

    /// Takes the first [`PREVIEW_CHARS`] of its text for the report, once that much has
    /// been read or the candidate has `closed`.
    pub fn fill_preview(&mut self, scan: &Scan, closed: bool) {
        if self.preview_done {
            return;
        }
        let from = self.text_start.max(scan.base());
        let s = scan.since(self.text_start);
        if s.trim_start().chars().count() >= PREVIEW_CHARS || closed {
            // Once the element has ended, its text is exactly `text_len` bytes from its
            // start: never show what follows it.
            let limit = if closed {
                (self.text_len.saturating_sub(from - self.text_start)) as usize
            } else {
                s.len()
            };
            let s = s[..floor(s, limit.min(s.len()))].trim_start();
            self.preview = s
                .chars()
                .take(PREVIEW_CHARS)
                .collect::<String>()
                .trim_end()
                .to_string();
            self.preview_done = true;
        }
    }
}

fn floor(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The candidates of one page.
#[derive(Debug, Default)]
pub struct Cands {
    list: Vec<Cand>,
    /// Slots of `list` free for reuse (their candidates were accepted early).
    free: Vec<u32>,
    /// Candidates whose preview is not taken yet.
    previews: Vec<u32>,
    /// Candidates made so far (the first DETAILED are described in reports).
    made: usize,
    /// Whether descriptions and previews are made at all (`Options::describe`).
    quiet: bool,
    /// `remove_matching` per rule: text start of the last element removed, so ancestors
    /// holding the same text are not removed too.
    regex_last: HashMap<u32, u64>,
}

impl Cands {
    /// Whether the next candidate is one of the first DETAILED, described in reports
    /// (counts it). Later ones carry no text, so a huge page's memory does not grow by
    /// their descriptions, and they can be accepted early.
    fn next_detailed(&mut self) -> bool {
        self.made += 1;
        self.made <= DETAILED
    }

    /// Whether removals are described (not a page whose report keeps only counts).
    pub fn describes(&self) -> bool {
        !self.quiet
    }

    /// A page whose report keeps only counts: no candidate is described.
    pub fn quiet() -> Cands {
        Cands {
            quiet: true,
            ..Cands::default()
        }
    }

    /// What the report says of the next candidate (counts it): `describe` makes its
    /// description when it is one of the first DETAILED and descriptions are wanted.
    pub fn next_detail(&mut self, describe: impl FnOnce() -> String) -> Detail {
        match (self.next_detailed(), self.quiet) {
            (false, _) => Detail::Counted,
            (true, true) => Detail::Quiet,
            (true, false) => Detail::Described(describe()),
        }
    }

    /// Stores a candidate in a free slot (one accepted early) or a new one.
    pub fn add(&mut self, c: Cand) -> u32 {
        let waits = !c.preview_done;
        let id = match self.free.pop() {
            Some(id) => {
                self.list[id as usize] = c;
                id
            }
            None => {
                self.list.push(c);
                self.list.len() as u32 - 1
            }
        };
        if waits {
            self.previews.push(id);
        }
        id
    }

    pub fn get(&self, id: u32) -> &Cand {
        &self.list[id as usize]
    }

    pub fn get_mut(&mut self, id: u32) -> &mut Cand {
        &mut self.list[id as usize]
    }

    /// Frees the slot of candidate `id` (accepted early, now kept elsewhere).
    pub fn release(&mut self, id: u32) {
        self.free.push(id);
    }

    /// The candidates still listed (not accepted early).
    pub fn live(&self) -> impl Iterator<Item = &Cand> {
        let mut free = vec![false; self.list.len()];
        for &id in &self.free {
            free[id as usize] = true;
        }
        self.list
            .iter()
            .zip(free)
            .filter(|(_, f)| !f)
            .map(|(c, _)| c)
    }

    /// Takes the previews that can be taken now.
    pub fn update_previews(&mut self, scan: &Scan) {
        if self.previews.is_empty() {
            return;
        }
        let list = &mut self.list;
        self.previews.retain(|&id| {
            let c = &mut list[id as usize];
            let closed = c.state != CandState::Open;
            c.fill_preview(scan, closed);
            !c.preview_done
        });
    }

    /// Where the oldest text a preview still waits for starts.
    pub fn preview_from(&self) -> Option<u64> {
        self.previews
            .iter()
            .map(|&id| self.list[id as usize].text_start)
            .min()
    }

    /// `remove_matching` rules, tested when a `within` element `o` ends with `text_len`
    /// bytes of text (the text stream is at `pos`): a candidate for the first rule of
    /// its groups whose regex matches its whole text.
    pub fn regex_candidate(
        &mut self,
        rules: &Compiled,
        scan: &Scan,
        o: &Open,
        text_len: u64,
        pos: u64,
        describe: impl Fn(&Open) -> String,
    ) -> Option<RegexHit> {
        // An element some rule already asked for: a regex rule may still wait in line
        // behind it when that rule has conditions (see `Finder::conditions_met`).
        let behind = o.cand.map(|id| self.list[id as usize].rule);
        if behind.is_some_and(|n| rules.rule(n).cond.is_none())
            || text_len > REGEX_MAX_TEXT
            || o.text_start < scan.base()
        {
            return None;
        }
        let text = scan.between(o.text_start, pos).trim();
        // Every regex rule matching the element, as the groups list them: the first
        // becomes its candidate (or waits, like the others, behind the rule that has
        // it already); the rest wait behind it while rules with conditions lead (a
        // rule whose `where` fails hands the element to the next).
        let mut matched: Vec<u32> = Vec::new();
        'groups: for g in o.groups.iter() {
            let Some(group) = rules.group_regexes(g).filter(|r| r.may_match(text)) else {
                continue;
            };
            for &n in &group.rules {
                if rules.is_disabled(n) || matched.contains(&n) {
                    continue;
                }
                if self
                    .regex_last
                    .get(&n)
                    .is_some_and(|&last| last >= o.text_start)
                {
                    continue; // a smaller element inside already matched
                }
                if regex_matches(rules.rule(n), text) {
                    // Only the rule that takes the element (the first, as before) marks
                    // it: the others, waiting behind, may still match an element around.
                    if matched.is_empty() {
                        self.regex_last.insert(n, o.text_start);
                    }
                    matched.push(n);
                    // A rule without conditions takes it whatever follows.
                    if rules.rule(n).cond.is_none() {
                        break 'groups;
                    }
                }
            }
        }
        if matched.is_empty() {
            return None;
        }
        if behind.is_some() {
            return Some(RegexHit::Behind(matched));
        }
        let n = matched.remove(0);
        let detail = self.next_detail(|| describe(o));
        let mut c = Cand::new(n, o.start, o.text_start, detail);
        c.text_len = text_len;
        if c.described() {
            c.preview = text.chars().take(PREVIEW_CHARS).collect();
        }
        c.preview_done = true;
        Some(RegexHit::New(self.add(c), matched))
    }
}

/// Whether `remove_matching` rule `rule` matches the whole text `text`.
fn regex_matches(rule: &Rule, text: &str) -> bool {
    match &rule.action {
        Action::RemoveMatching { regex, max_len, .. } => {
            max_len.is_none_or(|m| text.len() <= m) && regex.is_match(text)
        }
        // Groups list only their `remove_matching` rules.
        Action::Remove(_)
        | Action::RemoveContaining { .. }
        | Action::CutAfter { .. }
        | Action::Unwrap(_)
        | Action::DropAttributes { .. }
        | Action::LazyImages { .. }
        | Action::Keep(_)
        | Action::DropBetween { .. } => false,
    }
}
