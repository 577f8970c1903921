//! The phrase scan: the page's visible text, normalized into a short window, and the
//! phrase automaton stepped over it.
//!
//! Text arrives from the reader of the raw input ([`super::gap`]); the normalizer folds
//! it the way rule phrases are folded (case, quotes, white space, entities) and the
//! automaton of each rule part is stepped one byte at a time from where it stopped, so
//! no text is searched twice. Only whole-word matches count: a phrase that ends at the
//! last byte read waits for the next character. Positions are offsets in the
//! normalized text stream. Nothing here knows elements; the finder gives each match to
//! the element that holds it.

use aho_corasick::Anchored;
use aho_corasick::automaton::{Automaton, StateID};

use crate::rules::compile::{Compiled, Phrase};
use crate::text::Normalizer;

/// Bytes of normalized text kept behind the scan point.
const WINDOW_KEEP: usize = 4096;

/// The text read so far (a window of it) and the automata's state.
pub struct Scan {
    norm: Normalizer,
    window: String,
    window_base: u64,
    scanned: u64,
    /// Each part's phrase automaton's state after the last byte scanned.
    ac_state: [StateID; 2],
    /// Phrases that end at the last byte scanned, waiting for the next character:
    /// (phrase, start, whether the phrase ends in a letter or digit).
    pending: Vec<(Phrase, u64, bool)>,
    /// Keep all the text read (for [`super::find::visible_text`]), not only a window.
    keep_all: bool,
}

impl Scan {
    pub fn new(rules: &Compiled, keep_all: bool) -> Scan {
        let ac_state = rules.parts.each_ref().map(|p| {
            p.phrases
                .as_ref()
                .and_then(|d| d.start_state(Anchored::No).ok())
                .unwrap_or_default()
        });
        Scan {
            norm: Normalizer::default(),
            window: String::new(),
            window_base: 0,
            scanned: 0,
            ac_state,
            pending: Vec::new(),
            keep_all,
        }
    }

    /// Absolute position in the normalized text stream.
    pub fn pos(&self) -> u64 {
        self.window_base + self.window.len() as u64
    }

    /// Where the text still held starts.
    pub fn base(&self) -> u64 {
        self.window_base
    }

    /// Adds raw text (entities still encoded).
    pub fn push(&mut self, t: &str) {
        self.norm.push(t, true, &mut self.window);
    }

    /// A word break (a block tag).
    pub fn boundary(&mut self) {
        self.norm.boundary(&mut self.window);
    }

    /// The input has ended: writes out an entity left open.
    pub fn finish(&mut self) {
        self.norm.finish(&mut self.window);
    }

    /// The text held from `from` (or from the window's start, if it went) to the end.
    pub fn since(&self, from: u64) -> &str {
        &self.window[(from.max(self.window_base) - self.window_base) as usize..]
    }

    /// The text `from..to`; `from` must still be held.
    pub fn between(&self, from: u64, to: u64) -> &str {
        &self.window[(from - self.window_base) as usize..(to - self.window_base) as usize]
    }

    /// All the text read, when it was all kept.
    pub fn into_text(self) -> String {
        self.window
    }

    /// Looks for phrases in the text that arrived since the last scan, stepping the
    /// phrase automaton one byte at a time from where it stopped (no text is searched
    /// twice). `at_end`: the text of an element ends here, so a phrase that ends at the
    /// last byte ends a word. `found` gets the matches, in text order.
    pub fn scan(&mut self, rules: &Compiled, at_end: bool, found: &mut Vec<(Phrase, u64)>) {
        let pos = self.pos();
        if rules.parts.iter().any(|p| p.phrases.is_some()) {
            let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
            let start = (self.scanned - self.window_base) as usize;
            let w = self.window.as_str();
            // Phrases that ended exactly at the last scan point: the next character is
            // known now (or the element ended).
            if !self.pending.is_empty() && (pos > self.scanned || at_end) {
                let after = w[start..].chars().next();
                for (phrase, at, last_is_word) in self.pending.drain(..) {
                    if !(last_is_word && word(after)) {
                        found.push((phrase, at));
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
                        let phrase = part.phrase_rule[pid.as_usize()];
                        let at = self.window_base + s_idx as u64;
                        let last_is_word = word(w[..end].chars().next_back());
                        if end == w.len() && !at_end {
                            self.pending.push((phrase, at, last_is_word));
                        } else if !(last_is_word && word(w[end..].chars().next())) {
                            found.push((phrase, at));
                        }
                    }
                }
                self.ac_state[pi] = sid;
            }
            // Matches of both parts, in text order.
            found.sort_by_key(|&(_, at)| at);
        }
        self.scanned = pos;
    }

    /// Drops text far behind the scan point, keeping what starts at `keep_from` (text a
    /// report's preview still needs).
    pub fn trim(&mut self, keep_from: Option<u64>) {
        if self.keep_all || self.window.len() < 2 * WINDOW_KEEP {
            return;
        }
        let mut from = self.pos() - WINDOW_KEEP as u64;
        if let Some(k) = keep_from {
            from = from.min(k);
        }
        let mut cut = (from.saturating_sub(self.window_base)) as usize;
        while cut > 0 && !self.window.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut > WINDOW_KEEP {
            self.window.drain(..cut);
            self.window_base += cut as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::find::visible_text;

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
