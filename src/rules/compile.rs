//! A rule set compiled for one site: the selector index, the lol_html selectors that
//! cannot be indexed, and one phrase automaton for every text rule.
//!
//! Compiled once per (site files, categories) and shared by every page of that site.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::selector::Index;
use super::{Action, Rule, Selectors};

/// What a matching selector stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A rule acting on the matched element itself (remove, unwrap, attributes).
    Rule(u32),
    /// The element is a candidate (`within`) for the text rules of this group.
    Group(u32),
}

/// The compiled rules for one site.
#[derive(Debug)]
pub struct Compiled {
    /// Every rule in force, generic first, then the site's.
    pub rules: Vec<Arc<Rule>>,
    /// The site files that applied.
    pub site_files: Vec<Arc<Path>>,
    /// Simple selectors, matched by hash lookups.
    pub index: Index<Target>,
    /// Selectors lol_html has to match itself.
    pub complex: Vec<(lol_html::Selector, Target)>,
    /// Number of distinct `within` selector lists.
    pub groups: usize,
    /// For each text rule (by rule number), its group.
    pub rule_group: Vec<Option<u32>>,
    /// Every phrase of every `remove_containing` and `cut_after` rule.
    pub phrases: Option<AhoCorasick>,
    /// Pattern number → rule number.
    pub phrase_rule: Vec<u32>,
    /// Length in bytes of the longest phrase.
    pub max_phrase: usize,
    /// For each group, its `remove_matching` rules.
    pub group_regex: Vec<Vec<u32>>,
    /// Some rule touches attributes (so every element's attributes are looked at).
    pub has_attribute_rules: bool,
}

impl Compiled {
    /// Compiles `rules` (already filtered for the site and the categories).
    pub fn new(rules: Vec<Arc<Rule>>, site_files: Vec<Arc<Path>>) -> Compiled {
        let mut index = Index::default();
        let mut complex = Vec::new();
        let mut group_of: HashMap<String, u32> = HashMap::new();
        let mut rule_group = vec![None; rules.len()];
        let mut patterns: Vec<String> = Vec::new();
        let mut phrase_rule = Vec::new();
        let mut group_regex: Vec<Vec<u32>> = Vec::new();
        let mut has_attribute_rules = false;

        let mut add = |sel: &Selectors, t: Target, complex: &mut Vec<(lol_html::Selector, Target)>| {
            for c in &sel.simple {
                index.insert(c.clone(), t);
            }
            for s in &sel.complex {
                // Validated when the rule file was loaded.
                if let Ok(parsed) = s.parse::<lol_html::Selector>() {
                    complex.push((parsed, t));
                }
            }
        };
        for (n, rule) in rules.iter().enumerate() {
            let n = n as u32;
            let within = match &rule.action {
                Action::Remove(s) | Action::Unwrap(s) => {
                    add(s, Target::Rule(n), &mut complex);
                    None
                }
                Action::DropAttributes { selector, .. } | Action::LazyImages { selector } => {
                    has_attribute_rules = true;
                    add(selector, Target::Rule(n), &mut complex);
                    None
                }
                Action::RemoveContaining { phrases, within } => {
                    for p in phrases {
                        patterns.push(p.clone());
                        phrase_rule.push(n);
                    }
                    Some(within)
                }
                Action::CutAfter { marker, within } => {
                    patterns.push(marker.clone());
                    phrase_rule.push(n);
                    Some(within)
                }
                Action::RemoveMatching { within, .. } => Some(within),
                Action::DropBetween { .. } => None,
            };
            if let Some(w) = within {
                let key = w.source.split_whitespace().collect::<Vec<_>>().join(" ");
                let next = group_of.len() as u32;
                let g = *group_of.entry(key).or_insert_with(|| {
                    add(w, Target::Group(next), &mut complex);
                    group_regex.push(Vec::new());
                    next
                });
                rule_group[n as usize] = Some(g);
                if matches!(rule.action, Action::RemoveMatching { .. }) {
                    group_regex[g as usize].push(n);
                }
            }
        }
        let max_phrase = patterns.iter().map(String::len).max().unwrap_or(0);
        let phrases = (!patterns.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(&patterns)
                .expect("phrases are short, validated strings")
        });
        Compiled {
            rules,
            site_files,
            index,
            complex,
            groups: group_of.len(),
            rule_group,
            phrases,
            phrase_rule,
            max_phrase,
            group_regex,
            has_attribute_rules,
        }
    }

    /// True when some rule looks at text (so the finder must follow the page's text).
    pub fn has_text_rules(&self) -> bool {
        self.groups > 0
    }
}
