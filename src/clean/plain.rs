//! Plain-text articles: the same rule files, applied to paragraphs.
//!
//! A paragraph is a run of lines between blank lines. `remove_containing` drops the
//! paragraphs holding a phrase, `remove_matching` those whose whole text matches,
//! `cut_after` drops the paragraph holding the marker and everything after it, and
//! `drop_between` drops the paragraphs from the one holding `start` to the one holding
//! `end`. Kept paragraphs and the blank lines between them pass through byte for byte.

use super::{Guard, Refusal, Removal};
use crate::rules::compile::Compiled;
use crate::rules::{Action, Place, Rule};
use crate::text::{has_words, normalize};

/// One paragraph: its byte range (with the blank lines after it) and its text.
struct Para {
    start: usize,
    end: usize,
    text: String,
}

impl Para {
    fn words(&self) -> u32 {
        self.text.split_ascii_whitespace().count() as u32
    }

    /// Reads as prose: the locator's measure for HTML paragraphs (many words, two
    /// commas or sentence stops).
    fn prose(&self) -> bool {
        super::locate::text_reads_as_prose(&self.text)
    }
}

/// The article of a plain text: from its first paragraph that reads as prose to its
/// last, leaving out those some rule would drop (`covered`): the calls to action and
/// appeals around the article go, one between its paragraphs is judged by the guard.
/// `None` without two such paragraphs (no article to protect, or to be outside of).
fn article(paras: &[Para], covered: &[bool]) -> Option<(usize, usize)> {
    let prose = |i: usize| !covered[i] && paras[i].prose();
    let first = (0..paras.len()).find(|&i| prose(i))?;
    let last = (0..paras.len()).rev().find(|&i| prose(i))?;
    ((first..=last).filter(|&i| prose(i)).count() >= 2).then_some((first, last + 1))
}

/// The article [`plan`] protects: [`article`] — unless the prose it spans is under half
/// of what it would be with only the rules that cut at a marker (`cut_after`,
/// `drop_between`). Rules mark the article's ends (an appeal after it, a sign-up before
/// it, a comments section cut off after its heading); rules that match paragraph by
/// paragraph and would take most of the prose (`remove_matching = ".*"`, a local phrase
/// every paragraph says) say nothing of where it is, and then the article is what the
/// markers leave, from its first paragraph reading as prose to its last, as an HTML
/// page's located article does not depend on its rules. (Until 2026-12-04 such a rule
/// emptied the text, and the daemon published the empty copy; the first mend measured
/// against all of the text's prose, and refused a site's cut of a comments section
/// longer than the article.)
fn trusted(paras: &[Para], covered: &[bool], cut: &[bool]) -> Option<(usize, usize)> {
    // The prose the guard protects in a span: every paragraph in it reading as prose.
    let prose_words = |(s, e): (usize, usize)| -> u32 {
        (s..e)
            .filter(|&i| paras[i].prose())
            .map(|i| paras[i].words())
            .sum()
    };
    match (article(paras, covered), article(paras, cut)) {
        (Some(a), Some(w)) if 2 * prose_words(a) >= prose_words(w) => Some(a),
        (a, None) => a,
        (_, w) => w,
    }
}

/// The normalized text of a plain text's first and last two paragraphs: where a
/// publication names itself (for site files' `names`).
pub fn ends(input: &[u8], encoding: &'static encoding_rs::Encoding) -> String {
    let paras = paragraphs(input, encoding);
    let n = paras.len();
    paras
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < 2 || *i + 2 >= n)
        .map(|(_, p)| p.text.as_str())
        .collect::<Vec<_>>()
        .join(" \n ")
}

fn paragraphs(input: &[u8], encoding: &'static encoding_rs::Encoding) -> Vec<Para> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = input.len();
    while i < n {
        let start = i;
        // Up to the first blank line (a line holding only white space).
        let mut content_end = n;
        let mut line_start = i;
        let mut j = i;
        let mut found_blank = false;
        while j < n {
            if input[j] == b'\n' {
                let next = j + 1;
                let next_line_end = input[next..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map(|p| next + p);
                let blank = match next_line_end {
                    Some(e) => input[next..e].iter().all(|b| b.is_ascii_whitespace()),
                    None => input[next..].iter().all(|b| b.is_ascii_whitespace()),
                };
                if blank && next > line_start {
                    content_end = j + 1;
                    found_blank = true;
                    break;
                }
                line_start = next;
            }
            j += 1;
        }
        // Swallow the blank lines that follow.
        let mut end = content_end;
        if found_blank {
            while end < n {
                let e = input[end..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map(|p| end + p + 1)
                    .unwrap_or(n);
                if input[end..e].iter().all(|b| b.is_ascii_whitespace()) {
                    end = e;
                } else {
                    break;
                }
            }
        }
        let (text, _) = encoding.decode_without_bom_handling(&input[start..content_end]);
        out.push(Para {
            start,
            end,
            text: normalize(&text),
        });
        i = end.max(start + 1);
    }
    out
}

fn removal(rule: &Rule, p: &Para, bytes: usize) -> Removal {
    Removal {
        rule: rule.id.clone(),
        category: rule.category,
        origin: rule.origin.text(),
        action: rule.action.key(),
        element: "paragraph".into(),
        start: p.start as u64,
        bytes: bytes as u64,
        text: p.text.chars().take(80).collect(),
        conditions: String::new(),
    }
}

/// Cleans a plain-text article: returns the byte ranges to keep, the removals and the
/// refusals.
pub fn plan(
    input: &[u8],
    encoding: &'static encoding_rs::Encoding,
    rules: &Compiled,
    guard: Guard,
) -> (Vec<(usize, usize)>, Vec<Removal>, Vec<Refusal>) {
    let paras = paragraphs(input, encoding);
    let total: usize = paras.iter().map(|p| p.text.len()).sum::<usize>().max(1);
    // Each rule with the paragraph ranges it asks for (first index, end index).
    type Asked<'a> = (u32, &'a std::sync::Arc<Rule>, Vec<(usize, usize)>);
    let mut asked: Vec<Asked<'_>> = Vec::new();
    // Which rule drops each paragraph (first rule wins).
    let mut dropped: Vec<Option<usize>> = vec![None; paras.len()];
    let mut refused = Vec::new();
    let mut removals = Vec::new();
    for (rn, rule) in rules.rules() {
        // The paragraph ranges this rule would drop.
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        match &rule.action {
            Action::RemoveContaining { phrases, .. } => {
                for (i, p) in paras.iter().enumerate() {
                    if phrases.iter().any(|ph| has_words(&p.text, ph)) {
                        ranges.push((i, i + 1));
                    }
                }
            }
            Action::RemoveMatching { regex, .. } => {
                for (i, p) in paras.iter().enumerate() {
                    if regex.is_match(&p.text) {
                        ranges.push((i, i + 1));
                    }
                }
            }
            Action::CutAfter { marker, .. } => {
                if let Some(i) = paras.iter().position(|p| has_words(&p.text, marker)) {
                    ranges.push((i, paras.len()));
                }
            }
            Action::DropBetween { start, end } => {
                let mut i = 0;
                while i < paras.len() {
                    if has_words(&paras[i].text, start)
                        && let Some(k) = (i..paras.len()).find(|&k| has_words(&paras[k].text, end))
                    {
                        ranges.push((i, k + 1));
                        i = k + 1;
                        continue;
                    }
                    i += 1;
                }
            }
            // Element actions: a plain-text article has no elements.
            Action::Remove(_)
            | Action::Unwrap(_)
            | Action::DropAttributes { .. }
            | Action::LazyImages { .. }
            | Action::Keep(_) => {}
        }
        asked.push((rn, rule, ranges));
    }
    // What marks the article's ends: the paragraphs rules would drop — but not those of
    // rules that ask where the article is (`where`), which would otherwise move its
    // ends to suit themselves (a last paragraph that mentions subscribing would leave
    // the article, then be "outside" it).
    let mut covered = vec![false; paras.len()];
    // The part of it that rules cutting at a marker cover.
    let mut cut = vec![false; paras.len()];
    for (_, rule, ranges) in &asked {
        if rule.cond.as_ref().is_some_and(|c| c.place.is_some()) {
            continue;
        }
        let marked = matches!(
            rule.action,
            Action::CutAfter { .. } | Action::DropBetween { .. }
        );
        for &(a, b) in ranges {
            covered[a..b].iter_mut().for_each(|c| *c = true);
            if marked {
                cut[a..b].iter_mut().for_each(|c| *c = true);
            }
        }
    }
    let art = trusted(&paras, &covered, &cut);
    for (rn, rule, ranges) in asked {
        let rn = rn as usize;
        let limit = guard.limit(rule);
        for (a, b) in ranges {
            let text: usize = paras[a..b].iter().map(|p| p.text.len()).sum();
            let bytes = paras[b - 1].end - paras[a].start;
            let mut r = removal(rule, &paras[a], bytes);
            if b - a > 1 {
                r.element = format!("{} paragraphs", b - a);
            }
            if let Some(cond) = rule.cond.as_deref() {
                // A text has no links and no elements: link density is 0, and no
                // descendant matches `has`.
                let words: u32 = paras[a..b].iter().map(Para::words).sum();
                let place = cond.place.map(|place| {
                    let inside = art.is_some_and(|(s, e)| a >= s && b <= e);
                    let outside = art.is_some_and(|(s, e)| b <= s || a >= e);
                    match place {
                        Place::InsideArticle => inside,
                        Place::OutsideArticle => outside,
                    }
                });
                if cond.unmet(words, 0.0, cond.has.is_none()).is_some() || place == Some(false) {
                    continue;
                }
            }
            let prose = art.map_or(0, |(s, e)| {
                paras[a.max(s)..b.min(e).max(a.max(s))]
                    .iter()
                    .filter(|p| p.prose())
                    .count()
            });
            if prose > 0 && !rule.may_take_article {
                r.bytes = 0;
                refused.push(Refusal {
                    removal: r,
                    reason: format!(
                        "holds {prose} paragraph{} of the article that read{} as prose",
                        if prose == 1 { "" } else { "s" },
                        if prose == 1 { "s" } else { "" }
                    ),
                });
                continue;
            }
            let share = text as f64 / total as f64;
            if share > limit {
                r.bytes = 0;
                refused.push(Refusal {
                    removal: r,
                    reason: format!(
                        "holds {:.0}% of the page's text (limit {:.0}%)",
                        share * 100.0,
                        limit * 100.0
                    ),
                });
                continue;
            }
            if dropped[a..b].iter().all(Option::is_some) {
                continue;
            }
            for d in &mut dropped[a..b] {
                d.get_or_insert(rn);
            }
            removals.push(r);
        }
    }
    let keep = paras
        .iter()
        .zip(&dropped)
        .filter(|(_, d)| d.is_none())
        .map(|(p, _)| (p.start, p.end))
        .collect();
    (keep, removals, refused)
}

/// A text's paragraphs (runs of lines between blank lines) as HTML paragraphs, its
/// characters escaped: the form the Markdown writer takes.
pub fn as_html(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + text.len() / 8);
    let mut open = false;
    for line in text.lines() {
        if line.trim().is_empty() {
            if open {
                html.push_str("</p>\n");
                open = false;
            }
            continue;
        }
        html.push_str(if open { "\n" } else { "<p>" });
        open = true;
        super::serialize::push_escaped(&mut html, line, false);
    }
    if open {
        html.push_str("</p>\n");
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_split_at_blank_lines_and_keep_their_bytes() {
        let t = b"One\nline two\n\n\nPara two\n  \nThree";
        let ps = paragraphs(t, encoding_rs::UTF_8);
        let texts: Vec<_> = ps.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(texts, ["one line two", "para two", "three"]);
        let joined: Vec<u8> = ps.iter().flat_map(|p| t[p.start..p.end].to_vec()).collect();
        assert_eq!(joined, t);
    }

    #[test]
    fn phrases_match_whole_words() {
        assert!(has_words("please donate today", "donate"));
        assert!(!has_words("he donated it", "donate"));
        assert!(has_words("read more", "read more"));
    }
}
