//! Plain-text articles: the same rule files, applied to paragraphs.
//!
//! A paragraph is a run of lines between blank lines. `remove_containing` drops the
//! paragraphs holding a phrase, `remove_matching` those whose whole text matches,
//! `cut_after` drops the paragraph holding the marker and everything after it, and
//! `drop_between` drops the paragraphs from the one holding `start` to the one holding
//! `end`. Kept paragraphs and the blank lines between them pass through byte for byte.

use super::{Guard, Refusal, Removal};
use crate::rules::compile::Compiled;
use crate::rules::{Action, Rule};
use crate::text::normalize;

/// One paragraph: its byte range (with the blank lines after it) and its text.
struct Para {
    start: usize,
    end: usize,
    text: String,
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
        origin: rule.origin.to_string(),
        action: rule.action.key(),
        element: "paragraph".into(),
        start: p.start as u64,
        bytes: bytes as u64,
        text: p.text.chars().take(80).collect(),
        conditions: String::new(),
    }
}

fn has_phrase(text: &str, phrase: &str) -> bool {
    let mut from = 0;
    while let Some(i) = text[from..].find(phrase) {
        let s = from + i;
        let e = s + phrase.len();
        let before = text[..s].chars().next_back();
        let after = text[e..].chars().next();
        let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        let first = phrase.chars().next();
        let last = phrase.chars().next_back();
        if !((word(first) && word(before)) || (word(last) && word(after))) {
            return true;
        }
        from = s + phrase.chars().next().map_or(1, char::len_utf8);
    }
    false
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
    // Which rule drops each paragraph (first rule wins).
    let mut dropped: Vec<Option<usize>> = vec![None; paras.len()];
    let mut refused = Vec::new();
    let mut removals = Vec::new();
    for (rn, rule) in rules.rules() {
        let rn = rn as usize;
        let limit = guard.limit(rule);
        // The paragraph ranges this rule would drop.
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        match &rule.action {
            Action::RemoveContaining { phrases, .. } => {
                for (i, p) in paras.iter().enumerate() {
                    if phrases.iter().any(|ph| has_phrase(&p.text, ph)) {
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
                if let Some(i) = paras.iter().position(|p| has_phrase(&p.text, marker)) {
                    ranges.push((i, paras.len()));
                }
            }
            Action::DropBetween { start, end } => {
                let mut i = 0;
                while i < paras.len() {
                    if has_phrase(&paras[i].text, start)
                        && let Some(k) = (i..paras.len()).find(|&k| has_phrase(&paras[k].text, end))
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
        for (a, b) in ranges {
            let text: usize = paras[a..b].iter().map(|p| p.text.len()).sum();
            let bytes = paras[b - 1].end - paras[a].start;
            let mut r = removal(rule, &paras[a], bytes);
            if b - a > 1 {
                r.element = format!("{} paragraphs", b - a);
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
        assert!(has_phrase("please donate today", "donate"));
        assert!(!has_phrase("he donated it", "donate"));
        assert!(has_phrase("read more", "read more"));
    }
}
