//! Rule sets compiled for matching: the selector index, the lol_html selectors that
//! cannot be indexed, and one phrase automaton per part.
//!
//! A page's rules come in two [`Part`]s: the generic rules, compiled once per set of
//! categories and shared by every site, and the site's own rules, compiled once per
//! (site files, categories). With tens of thousands of imported generic rules, compiling
//! them again for every site would cost seconds and gigabytes; sharing costs nothing.
//! Rule and group numbers are global: the site part's numbers follow the generic part's.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use aho_corasick::MatchKind;

use super::selector::Index;
use super::{Action, Rule, Selectors};

/// What a matching selector stands for: one variant per action that acts on the
/// matched element, so the finder's dispatch is exhaustive and a new action does not
/// compile until the finder handles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `remove`: the element is a removal candidate of rule `n`.
    Remove(u32),
    /// `unwrap`: the element's tags go, its content stays.
    Unwrap(u32),
    /// `keep`: the element is kept, the rest of the body goes.
    Keep(u32),
    /// `drop_attributes`: attributes of the element whose names match the rule's globs.
    DropAttributes(u32),
    /// `lazy_images`: the element's lazy image attributes become real ones.
    LazyImages(u32),
    /// The element is a candidate (`within`) for the text rules of this group.
    Group(u32),
    /// The element matches the `has` selectors numbered `h` (global): its ancestors
    /// have such a descendant.
    Has(u32),
}

impl Target {
    /// The order an element's matches are handled in: rules by number (the first rule
    /// written wins an element), then groups.
    pub fn order(self) -> (u8, u32) {
        match self {
            Target::Remove(n)
            | Target::Unwrap(n)
            | Target::Keep(n)
            | Target::DropAttributes(n)
            | Target::LazyImages(n) => (0, n),
            Target::Group(g) => (1, g),
            Target::Has(h) => (2, h),
        }
    }
}

/// What a phrase found in the text stands for, per action that looks for phrases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phrase {
    /// `remove_containing` rule `n`: the smallest `within` element holding it goes.
    Containing(u32),
    /// `cut_after` rule `n`: the marker and everything after it in its parent go.
    CutAfter(u32),
}

impl Phrase {
    /// The rule the phrase belongs to.
    pub fn rule(self) -> u32 {
        match self {
            Phrase::Containing(n) | Phrase::CutAfter(n) => n,
        }
    }
}

/// One compiled part: the generic rules, or one site's.
#[derive(Debug)]
pub struct Part {
    /// The part's rules; rule `rule_base + i` is `rules[i]`.
    pub rules: Vec<Arc<Rule>>,
    pub rule_base: u32,
    /// Group `group_base + i` is this part's group `i`.
    pub group_base: u32,
    /// Ancestor compound `anc_base + i` is this part's index's ancestor `i`.
    pub anc_base: u32,
    /// `has` selector list `has_base + i` is this part's list `i`.
    pub has_base: u32,
    /// Number of distinct `has` selector lists.
    pub has_count: usize,
    /// For each rule of the part, its `has` list (global number).
    rule_has: Vec<Option<u32>>,
    /// Simple selectors, matched by hash lookups.
    pub index: Index<Target>,
    /// `within` groups an element joins by its tag name alone (`div`, `p`, `*` in a
    /// `within` list): looked up once per element instead of going through the index
    /// as a match each, which most elements had several of. `*` is under `"*"`.
    pub tag_groups: rustc_hash::FxHashMap<Box<str>, Box<[u32]>>,
    /// Selectors lol_html has to match itself.
    pub complex: Vec<(lol_html::Selector, Target)>,
    /// Number of distinct `within` selector lists.
    pub groups: usize,
    /// For each rule of the part, its group (global number).
    rule_group: Vec<Option<u32>>,
    /// Every phrase of every `remove_containing` and `cut_after` rule, as a DFA the
    /// finder steps through one byte at a time.
    pub phrases: Option<aho_corasick::dfa::DFA>,
    /// Pattern number → its rule (global number) and action.
    pub phrase_rule: Vec<Phrase>,
    /// For each group of the part, its `remove_matching` rules.
    group_regexes: Vec<GroupRegexes>,
    /// Rule id → number (global), for `disable`.
    ids: HashMap<String, u32>,
    /// The part's `keep` rules (global numbers): known without walking every rule.
    keeps: Vec<u32>,
}

impl Part {
    /// Compiles `rules`, numbering them from `rule_base` and their groups from `group_base`.
    pub fn new(
        rules: Vec<Arc<Rule>>,
        rule_base: u32,
        group_base: u32,
        anc_base: u32,
        has_base: u32,
    ) -> Part {
        let mut index = Index::default();
        let mut complex = Vec::new();
        let mut group_of: HashMap<String, u32> = HashMap::new();
        let mut rule_group = vec![None; rules.len()];
        let mut patterns: Vec<String> = Vec::new();
        let mut phrase_rule = Vec::new();
        let mut group_regex: Vec<Vec<u32>> = Vec::new();
        let mut has_of: HashMap<String, u32> = HashMap::new();
        let mut rule_has = vec![None; rules.len()];

        let mut tag_groups: rustc_hash::FxHashMap<Box<str>, Vec<u32>> = Default::default();
        let mut add =
            |sel: &Selectors, t: Target, complex: &mut Vec<(lol_html::Selector, Target)>| {
                for c in &sel.simple {
                    let bare = c.id.is_none()
                        && c.classes.is_empty()
                        && c.attrs.is_empty()
                        && c.not.is_empty();
                    match t {
                        Target::Group(g) if bare => {
                            let key = c.tag.as_deref().unwrap_or("*");
                            let gs = tag_groups.entry(key.into()).or_default();
                            if !gs.contains(&g) {
                                gs.push(g);
                            }
                        }
                        _ => index.insert(c.clone(), t),
                    }
                }
                for (a, child, b) in &sel.pairs {
                    index.insert_pair(a.clone(), *child, b.clone(), t);
                }
                for s in &sel.complex {
                    // Validated when the rule file was loaded.
                    if let Ok(parsed) = s.parse::<lol_html::Selector>() {
                        complex.push((parsed, t));
                    }
                }
            };
        for (i, rule) in rules.iter().enumerate() {
            let n = rule_base + i as u32;
            let within = match &rule.action {
                Action::Remove(s) => {
                    add(s, Target::Remove(n), &mut complex);
                    None
                }
                Action::Unwrap(s) => {
                    add(s, Target::Unwrap(n), &mut complex);
                    None
                }
                Action::Keep(s) => {
                    add(s, Target::Keep(n), &mut complex);
                    None
                }
                Action::DropAttributes { selector, .. } => {
                    add(selector, Target::DropAttributes(n), &mut complex);
                    None
                }
                Action::LazyImages { selector } => {
                    add(selector, Target::LazyImages(n), &mut complex);
                    None
                }
                Action::RemoveContaining { phrases, within } => {
                    for p in phrases {
                        patterns.push(p.clone());
                        phrase_rule.push(Phrase::Containing(n));
                    }
                    Some(within)
                }
                Action::CutAfter { marker, within } => {
                    patterns.push(marker.clone());
                    phrase_rule.push(Phrase::CutAfter(n));
                    Some(within)
                }
                Action::RemoveMatching { within, .. } => Some(within),
                Action::DropBetween { .. } => None,
            };
            if let Some(h) = rule.cond.as_ref().and_then(|c| c.has.as_ref()) {
                let key = h.source.split_whitespace().collect::<Vec<_>>().join(" ");
                let next = has_of.len() as u32;
                let local = *has_of.entry(key).or_insert_with(|| {
                    add(h, Target::Has(has_base + next), &mut complex);
                    next
                });
                rule_has[i] = Some(has_base + local);
            }
            if let Some(w) = within {
                let key = w.source.split_whitespace().collect::<Vec<_>>().join(" ");
                let next = group_of.len() as u32;
                let local = *group_of.entry(key).or_insert_with(|| {
                    add(w, Target::Group(group_base + next), &mut complex);
                    group_regex.push(Vec::new());
                    next
                });
                rule_group[i] = Some(group_base + local);
                if matches!(rule.action, Action::RemoveMatching { .. }) {
                    group_regex[local as usize].push(n);
                }
            }
        }
        let tag_groups = tag_groups
            .into_iter()
            .map(|(k, v)| (k, v.into_boxed_slice()))
            .collect();
        let phrases = (!patterns.is_empty()).then(|| {
            aho_corasick::dfa::Builder::new()
                .match_kind(MatchKind::Standard)
                .build(&patterns)
                .expect("phrases are short, validated strings")
        });
        let ids = rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), rule_base + i as u32))
            .collect();
        let keeps = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.action, Action::Keep(_)))
            .map(|(i, _)| rule_base + i as u32)
            .collect();
        let group_regexes = group_regex
            .into_iter()
            .map(|ns| GroupRegexes::new(ns, &rules, rule_base))
            .collect();
        Part {
            rules,
            rule_base,
            group_base,
            anc_base,
            has_base,
            has_count: has_of.len(),
            rule_has,
            index,
            tag_groups,
            complex,
            groups: group_of.len(),
            rule_group,
            phrases,
            phrase_rule,
            group_regexes,
            ids,
            keeps,
        }
    }

    fn has(&self, n: u32) -> bool {
        n >= self.rule_base && ((n - self.rule_base) as usize) < self.rules.len()
    }
}

/// The `remove_matching` rules of one group, and a test of all of them at once: an
/// element's text is searched once, and each rule only when one of them matched (rarely).
#[derive(Debug, Default)]
pub struct GroupRegexes {
    /// The rules (global numbers), in order.
    pub rules: Vec<u32>,
    /// The regexes anchored at the text's start as one set; `None` when there are none,
    /// or the set would be too large to build (then each rule is tried on its own).
    set: Option<regex::RegexSet>,
    /// Some regexes are anchored but their set could not be built.
    set_failed: bool,
    /// The regexes that scan the whole text (not anchored at its start, or opening with
    /// an unbounded repetition like `^[^"]*(…)`), each searched on its own: in one set,
    /// two of them make a DFA whose states are pairs of their positions, built anew
    /// for nearly every text (one such rule added to the set cost 3% of the engine's
    /// instructions, `scripts/count-instructions.sh`). With the longest text each can
    /// match, when known.
    scanning: Vec<(regex::Regex, Option<usize>)>,
    /// The longest text any of them can match, when all are anchored at both ends.
    max_len: Option<usize>,
}

impl GroupRegexes {
    /// `numbers` are global rule numbers of `rules`, which starts at `rule_base`.
    fn new(numbers: Vec<u32>, rules: &[Arc<Rule>], rule_base: u32) -> GroupRegexes {
        let mut patterns = Vec::new();
        let mut scanning = Vec::new();
        let mut max_len = Some(0);
        let mut any = false;
        for &n in &numbers {
            if let Action::RemoveMatching {
                regex, max_len: m, ..
            } = &rules[(n - rule_base) as usize].action
            {
                any = true;
                if scans(regex.as_str()) {
                    let r = regex::RegexBuilder::new(regex.as_str())
                        .size_limit(1 << 20)
                        .dfa_size_limit(DFA_CACHE)
                        .build()
                        .unwrap_or_else(|_| regex.clone());
                    scanning.push((r, *m));
                } else {
                    patterns.push(regex.as_str().to_string());
                }
                max_len = max_len.zip(*m).map(|(a, b)| a.max(b));
            }
        }
        if !any {
            return GroupRegexes::default();
        }
        let set = (!patterns.is_empty())
            .then(|| {
                regex::RegexSetBuilder::new(&patterns)
                    .size_limit(1 << 23)
                    .dfa_size_limit(DFA_CACHE)
                    .build()
                    .ok()
            })
            .flatten();
        GroupRegexes {
            rules: numbers,
            set_failed: !patterns.is_empty() && set.is_none(),
            set,
            scanning,
            max_len,
        }
    }

    /// False when no rule of the group can match `text`; true when some may.
    pub fn may_match(&self, text: &str) -> bool {
        if self.max_len.is_some_and(|m| text.len() > m) {
            return false;
        }
        self.set_failed
            || self.set.as_ref().is_some_and(|s| s.is_match(text))
            || self
                .scanning
                .iter()
                .any(|(r, m)| m.is_none_or(|m| text.len() <= m) && r.is_match(text))
    }
}

/// The most the lazy DFA of a group's regex set, or of a scanning regex, may keep of
/// the states it has built (per regex and thread; it grows only as far as it is used).
/// At the regex crate's default, 2 MiB, the shipped rules' sets filled it on the corpus
/// and it was cleared and built anew: determinizing was 4–5% of the engine's time
/// (perf), and 4 MiB cut the engine's instructions by 3.6%
/// (`scripts/count-instructions.sh`; 16 and 64 MiB no more).
const DFA_CACHE: usize = 8 << 20;

/// Whether a regex scans the whole text rather than dying within a few bytes of its
/// start: it is not anchored at the start, or opens with an unbounded repetition.
fn scans(pattern: &str) -> bool {
    use regex_syntax::hir::{HirKind, Look};
    let Ok(hir) = regex_syntax::parse(pattern) else {
        return true;
    };
    if !hir.properties().look_set_prefix().contains(Look::Start) {
        return true;
    }
    let mut h = &hir;
    loop {
        match h.kind() {
            HirKind::Concat(items) => {
                match items.iter().find(|i| !matches!(i.kind(), HirKind::Look(_))) {
                    Some(first) => h = first,
                    None => return false,
                }
            }
            HirKind::Capture(c) => h = &c.sub,
            HirKind::Repetition(r) => return r.max.is_none(),
            _ => return false,
        }
    }
}

/// The compiled rules for one page: the shared generic part and the site's part.
#[derive(Debug)]
pub struct Compiled {
    /// `[generic, site]`.
    pub parts: [Arc<Part>; 2],
    /// Generic rules the site switches off (global numbers, sorted).
    disabled: Vec<u32>,
    /// The site files that applied.
    pub site_files: Vec<Arc<Path>>,
}

impl Compiled {
    /// Compiles all `rules` as one (tests and tools that need no sharing).
    pub fn new(rules: Vec<Arc<Rule>>, site_files: Vec<Arc<Path>>) -> Compiled {
        let generic = Arc::new(Part::new(rules, 0, 0, 0, 0));
        Compiled::with_site(generic, Vec::new(), &[], site_files)
    }

    /// Adds a site's rules (and its `disable` list) to a shared generic part.
    pub fn with_site(
        generic: Arc<Part>,
        site_rules: Vec<Arc<Rule>>,
        disable: &[&str],
        site_files: Vec<Arc<Path>>,
    ) -> Compiled {
        let site = Part::new(
            site_rules,
            generic.rules.len() as u32,
            generic.group_base + generic.groups as u32,
            generic.anc_base + generic.index.ancestor_count() as u32,
            generic.has_base + generic.has_count as u32,
        );
        let mut disabled: Vec<u32> = disable
            .iter()
            .filter_map(|id| generic.ids.get(*id).copied())
            .collect();
        disabled.sort_unstable();
        Compiled {
            parts: [generic, Arc::new(site)],
            disabled,
            site_files,
        }
    }

    fn part(&self, n: u32) -> &Part {
        if self.parts[1].has(n) {
            &self.parts[1]
        } else {
            &self.parts[0]
        }
    }

    /// Rule number `n`.
    pub fn rule(&self, n: u32) -> &Arc<Rule> {
        let p = self.part(n);
        &p.rules[(n - p.rule_base) as usize]
    }

    /// Number of rules (generic and site), disabled ones included.
    pub fn rule_count(&self) -> usize {
        self.parts[0].rules.len() + self.parts[1].rules.len()
    }

    /// Number of rules in force for the page.
    pub fn rules_in_force(&self) -> usize {
        self.rule_count() - self.disabled.len()
    }

    /// Every rule in force, generic first, with its number.
    pub fn rules(&self) -> impl Iterator<Item = (u32, &Arc<Rule>)> {
        self.parts
            .iter()
            .flat_map(|p| {
                p.rules
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (p.rule_base + i as u32, r))
            })
            .filter(|(n, _)| !self.is_disabled(*n))
    }

    /// Whether the site switched rule `n` off.
    pub fn is_disabled(&self, n: u32) -> bool {
        !self.disabled.is_empty() && self.disabled.binary_search(&n).is_ok()
    }

    /// The group of text rule `n`.
    pub fn rule_group(&self, n: u32) -> Option<u32> {
        let p = self.part(n);
        p.rule_group[(n - p.rule_base) as usize]
    }

    /// The `has` selector list of rule `n`.
    pub fn rule_has(&self, n: u32) -> Option<u32> {
        let p = self.part(n);
        p.rule_has[(n - p.rule_base) as usize]
    }

    /// The `remove_matching` rules of group `g`.
    pub fn group_regexes(&self, g: u32) -> Option<&GroupRegexes> {
        let p = if g >= self.parts[1].group_base {
            &self.parts[1]
        } else {
            &self.parts[0]
        };
        p.group_regexes.get((g - p.group_base) as usize)
    }

    /// Whether some `keep` rule is in force.
    pub fn has_keep(&self) -> bool {
        self.parts
            .iter()
            .any(|p| p.keeps.iter().any(|&n| !self.is_disabled(n)))
    }

    /// Number of ancestor compounds over both parts.
    pub fn ancestors(&self) -> usize {
        self.parts[0].index.ancestor_count() + self.parts[1].index.ancestor_count()
    }

    /// Number of groups over both parts.
    pub fn groups(&self) -> usize {
        self.parts[0].groups + self.parts[1].groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<Arc<Rule>> {
        super::super::parse_file(Path::new("g.toml"), text)
            .unwrap()
            .rules()
            .to_vec()
    }

    #[test]
    fn a_group_filter_rules_out_only_what_no_rule_matches() {
        let both = rules(
            "generic = true\n\
             [[rule]]\nid='a'\ncategory='promo'\nremove_matching='^(ad|advert)$'\n\
             [[rule]]\nid='b'\ncategory='promo'\nremove_matching='^share$'\n",
        );
        let f = GroupRegexes::new(vec![0, 1], &both, 0);
        assert_eq!(f.max_len, Some(6));
        assert!(f.may_match("advert"));
        assert!(f.may_match("share"));
        assert!(!f.may_match("shared"));
        assert!(!f.may_match("a much longer paragraph of text"));

        // One unanchored rule: no length bound for the group.
        let mixed = rules(
            "generic = true\n\
             [[rule]]\nid='a'\ncategory='promo'\nremove_matching='^ad$'\n\
             [[rule]]\nid='b'\ncategory='promo'\nremove_matching='paid post'\n",
        );
        let f = GroupRegexes::new(vec![0, 1], &mixed, 0);
        assert_eq!(f.max_len, None);
        assert!(f.may_match("a long box of text that ends by calling itself a paid post"));
        assert!(!f.may_match("a long box of text"));
    }

    /// Regexes that scan the whole text are searched apart from the anchored set, and
    /// the group still says "may match" for each of its rules' matches, and only then.
    #[test]
    fn scanning_regexes_are_searched_apart_and_still_decide() {
        assert!(scans("paid post"));
        assert!(scans(r#"^[^"]*(our newsletter)[^"]*$"#));
        assert!(scans("^(?:.*)x$"));
        assert!(!scans("^(read more|related)$"));
        assert!(!scans(r#"^([^.?!"]{1,60}[?!] )?(sign up) .*$"#));
        let three = rules(
            "generic = true\n\
             [[rule]]\nid='a'\ncategory='promo'\nremove_matching='^(read more|related)$'\n\
             [[rule]]\nid='b'\ncategory='promo'\nremove_matching='^[^\"]*(our newsletter)[^\"]*$'\n\
             [[rule]]\nid='c'\ncategory='promo'\nremove_matching='^[^\"]*(support us)[^\"]*$'\n",
        );
        let f = GroupRegexes::new(vec![0, 1, 2], &three, 0);
        assert_eq!(f.scanning.len(), 2);
        assert!(f.set.is_some());
        assert!(f.may_match("read more"));
        assert!(f.may_match("sign up for our newsletter here"));
        assert!(f.may_match("if you can, support us today"));
        assert!(!f.may_match("read more of this"));
        assert!(!f.may_match("\"support us,\" she said"));
        // Only scanning regexes: no set, and nothing else matches.
        let two = GroupRegexes::new(vec![1, 2], &three, 0);
        assert!(two.set.is_none() && !two.set_failed);
        assert!(!two.may_match("read more"));
        assert!(two.may_match("our newsletter"));
    }
}
