//! The article locator: where on a page the article is, found in one streaming pass
//! with memory bounded by the nesting depth plus a few candidates — no DOM.
//!
//! [`Locator`] is fed the page as events (an element opens, text, an element closes) and
//! scores elements from signals every page has. When a block element closes, the text it
//! holds directly (outside its block children) is a paragraph if it is long enough: its
//! score — one, plus its commas and sentence stops, plus a point per 100 characters up
//! to three — goes to its parent and half of it to its grandparent, both still open on
//! the stack. A closed element's own score is then final: the sum it was given, plus a
//! weight for its class and id words (`content`, `story`, `entry` … up; `comment`,
//! `sidebar`, `related`, `promo` … down), scaled by one minus its link density. The best
//! few closed elements are kept as candidates with their byte ranges. Semantic elements
//! (`article`, `main`, `[itemprop=articleBody]`, `[role=main]`) are strong hints; the
//! scores decide between them and catch pages without them.
//!
//! At the end the best candidate is widened to an ancestor candidate that holds much
//! more of the page's prose (an article split into sibling blocks), and the result is a
//! [`Region`]: a byte range and how sure the locator is.
//!
//! The locator knows nothing of rules. The find pass drives it ([`super::find`]): every
//! element it opens and closes, every run of visible text, as normalized for phrases.
//! What it learns of each closed element ([`Closed`]: words, links, prose) also decides
//! rule conditions and the article guard ([`super::plan`]).

use std::sync::OnceLock;

use aho_corasick::Anchored;
use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;

/// Where the article is.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Region {
    /// The element's bytes, start tag to end tag, in the input.
    pub start: u64,
    pub end: u64,
    /// Its tag name.
    pub tag: String,
    /// How sure the locator is, from 0 to 1: the candidate's share of the page's prose,
    /// its lead over the best candidate outside it, and strong hints.
    pub confidence: f32,
    /// Characters of prose (paragraph text outside links) in it and in the page.
    pub prose: u64,
    pub page_prose: u64,
    /// Its paragraphs that read as prose (see [`PROSE_WORDS`]).
    pub paras: u32,
    /// Words of the page's text before it starts (for what sits just outside it: a
    /// headline a few words before the region is the article's).
    #[serde(skip)]
    pub words_before: u64,
    /// Characters of prose on the page before it starts.
    #[serde(skip)]
    pub prose_before: u64,
    /// Where the run of paragraphs reading as prose that ends just before it starts
    /// (its start when none does): the article's first paragraphs, when the element
    /// chosen holds the rest only.
    #[serde(skip)]
    pub lead_start: u64,
    /// Where the page's one `article` (or `[itemprop=articleBody]`) element holding it
    /// starts, when the region is inside it — or, on a page of many, the nearest one
    /// around it that starts at most [`HEADER_WORDS`] words before it: what lies between
    /// is the article's own header (headline, byline, lead image) by the page's word.
    #[serde(skip)]
    pub declared_start: Option<u64>,
}

impl Region {
    /// Whether the locator is sure enough of it for the article guard and `where`
    /// conditions: confident, and holding at least one paragraph that reads as prose
    /// (a page of short blurbs has no article to protect, or to be outside of).
    pub fn sure(&self) -> bool {
        self.confidence >= SURE && self.paras > 0
    }
}

/// The locator is sure of a region from this confidence on.
pub const SURE: f32 = 0.3;

/// An open element's running sums.
#[derive(Debug, Default, Clone)]
struct Open {
    start: u64,
    /// Words and prose characters of the page before it.
    words_before: u64,
    prose_before: u64,
    /// The start of the run of prose paragraphs that ends just before it.
    lead_start: u64,
    tag: Tag,
    /// Class and id words: + for content-like, − for clutter-like.
    weight: f32,
    /// A semantic element (`article`, `main`, `[itemprop=articleBody]`, `[role=main]`).
    hint: bool,
    /// `article` (1) or `[itemprop=articleBody]` (2): the page says the article is
    /// here, and — when the page has one such element only — the region is not
    /// widened past it.
    bounds: u8,
    /// Text directly in it or in inline descendants (not in block children).
    inline_chars: u32,
    inline_stops: u32,
    inline_words: u32,
    /// Words below it.
    words: u32,
    /// Paragraphs below it (itself included) that read as prose.
    paras: u32,
    /// All text below it, and the part of it inside links.
    chars: u64,
    link_chars: u64,
    /// Prose below it: paragraph text outside links.
    prose: u64,
    /// The part of it in paragraphs reading as prose that are its own children.
    direct: u64,
    /// The score its paragraphs gave it.
    score: f32,
    /// Inside a link (itself or an ancestor).
    in_link: bool,
    /// Text below it is not page text (`script`, `style`, `template`…).
    hidden: bool,
    /// Inside site chrome (`nav`, `aside`, `footer`): its paragraphs are no prose.
    chrome: bool,
    /// Inside an element whose class or id names clutter (`related`, `comments`,
    /// `newsletter`…) and no element inside that names the article (`article`,
    /// `[itemprop=articleBody]`, class `story-body`…): its paragraphs are no prose.
    clutter: bool,
    /// Inside a block whose class or id names a kind of block that never holds the
    /// article (`comments`, `related-posts`, `newsletter`…): a class word inside it does
    /// not lift the clutter (a comment's `entry-content`, a comments section's `content`
    /// wrapper), only `main`, `[role=main]` or `[itemprop=articleBody]` does.
    sealed: bool,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Tag {
    /// A block whose own text can be a paragraph: `p`, `pre`, `td`, `blockquote`, and
    /// `div`-like containers holding text themselves.
    #[default]
    Paragraph,
    /// Any other block (`li`, `dd`, `figcaption`, `h1`…): its text counts, never as a
    /// paragraph — lists are mostly links, menus and references.
    Block,
    /// Text-level (`a`, `span`, `b`, `em`…): its text belongs to the block around it.
    Inline,
    /// A link: inline, and its text counts as link text.
    Link,
    /// Site chrome (`nav`, `aside`, `footer`): its text is counted, never as prose.
    Chrome,
    /// Holds no page text at all.
    Hidden,
}

/// A closed element that may be the article.
#[derive(Debug, Clone)]
struct Cand {
    start: u64,
    end: u64,
    depth: usize,
    tag: &'static str,
    score: f32,
    prose: u64,
    /// Prose in paragraphs reading as prose that are its own children.
    direct: u64,
    paras: u32,
    hint: bool,
    bounds: u8,
    words_before: u64,
    prose_before: u64,
    lead_start: u64,
}

/// Byte classes for counting text: 1 white space, 2 a UTF-8 continuation byte, 4 a
/// comma or sentence stop, 8 the lead byte of a stop outside ASCII (`，` `。` `、` `،`),
/// 16 the lead byte of a kana or CJK ideograph (U+3000–U+9FFF: text written without
/// spaces between words).
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = if c.is_ascii_whitespace() {
            1
        } else if c & 0xC0 == 0x80 {
            2
        } else if matches!(c, b',' | b'.' | b'!' | b'?' | b';') {
            4
        } else if c == 0xE3 {
            8 | 16
        } else if matches!(c, 0xEF | 0xD8) {
            8
        } else if matches!(c, 0xE4..=0xE9) {
            16
        } else {
            0
        };
        i += 1;
    }
    t
};

/// Characters (not white space), commas and sentence stops, and words of a text.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    chars: u32,
    stops: u32,
    words: u32,
}

/// Counts `text`; `in_word`: the text before it ended inside a word (its first word
/// continues that one). Returns whether it ends inside a word.
///
/// Bytes, not chars: the text is normalized (ASCII spaces), a character is a byte that
/// does not continue another, and the stops outside ASCII are three (their lead bytes
/// are checked).
fn count(text: &str, in_word: bool) -> (Counts, bool) {
    let (mut chars, mut stops, mut words, mut odd, mut cjk) = (0u32, 0u32, 0u32, 0u32, 0u32);
    let mut prev_space = u32::from(!in_word);
    let b = text.as_bytes();
    for &c in b {
        let k = u32::from(CLASS[c as usize]);
        let space = k & 1;
        let cont = (k >> 1) & 1;
        chars += 1 - (space | cont);
        words += prev_space & (1 - space);
        stops += (k >> 2) & 1;
        odd |= (k >> 3) & 1;
        cjk += (k >> 4) & 1;
        prev_space = space;
    }
    // Text written without spaces: each kana or CJK character counts as a word (as word
    // processors count them; a count that does not depend on where a run is cut).
    words += cjk;
    if odd != 0 {
        for i in 0..b.len() {
            let w = &b[i..(i + 3).min(b.len())];
            if matches!(
                w,
                [0xEF, 0xBC, 0x8C] | [0xE3, 0x80, 0x82] | [0xE3, 0x80, 0x81] | [0xD8, 0x8C, ..]
            ) {
                stops += 1;
            }
        }
    }
    let ends_in_word = if b.is_empty() {
        in_word
    } else {
        prev_space == 0
    };
    (
        Counts {
            chars,
            stops,
            words,
        },
        ends_in_word,
    )
}

/// Whether a paragraph of `words` words and `chars` characters with `stops` commas or
/// sentence stops and `link_share` of its text in links reads as prose: what the article guard never lets
/// a rule take.
fn reads_as_prose(words: u32, chars: u32, stops: u32, link_share: f32) -> bool {
    (words >= PROSE_WORDS || (chars >= PROSE_CHARS && words >= PROSE_WORDS / 2))
        && stops >= 2
        && link_share < 0.25
}

/// Whether a paragraph's text (no links) reads as prose, by the locator's measure:
/// for texts and for blocks outside the find pass (`pare suggest`).
pub fn text_reads_as_prose(text: &str) -> bool {
    let (c, _) = count(text, false);
    reads_as_prose(c.words, c.chars, c.stops, 0.0)
}

/// Paragraphs reading as prose with at most this many words between them are one run
/// (a caption or a dateline between two paragraphs of an article).
const RUN_GAP: u64 = 40;

/// How many candidates are kept (the best, and enough of its ancestors to widen to).
const KEEP: usize = 64;

/// At most this many words between an `article` element's start and the region inside
/// it, on a page of many `article` elements, for what lies between to be the article's
/// own header (a headline, a standfirst, a byline and a caption fit; a page's masthead
/// and menus wrapped in one `article` with the story do not, as a rule).
const HEADER_WORDS: u64 = 150;

/// Direct text shorter than this is no paragraph.
const MIN_PARAGRAPH: u32 = 25;
/// A paragraph reads as prose with this many words, two commas or sentence stops, and
/// under a quarter of its text in links: what the article guard never lets a rule take.
pub const PROSE_WORDS: u32 = 30;
/// Or with half as many words if they make this many characters (not white space):
/// about what 30 English words make, and what fewer, longer words make in languages
/// that inflect (a Polish paragraph of 24 words; measured on unseen pages, where a Polish
/// article had no paragraph of 30 words).
pub const PROSE_CHARS: u32 = 140;

/// What the locator learned of an element when it closed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Closed {
    /// Words of its text.
    pub words: u32,
    /// Characters of its text (not white space), and those inside links.
    pub chars: u64,
    pub link_chars: u64,
    /// Characters of prose in it (paragraph text outside links).
    pub prose: u64,
    /// Paragraphs in it that read as prose.
    pub paras: u32,
}

impl Closed {
    /// The share of its text inside links.
    pub fn link_density(&self) -> f32 {
        if self.chars == 0 {
            0.0
        } else {
            self.link_chars as f32 / self.chars as f32
        }
    }
}

/// The streaming scorer. Feed it [`open`](Self::open), [`text`](Self::text) and
/// [`close`](Self::close) in document order; [`finish`](Self::finish) gives the region.
#[derive(Debug, Default)]
pub struct Locator {
    stack: Vec<Open>,
    tags: Vec<&'static str>,
    cands: Vec<Cand>,
    page_prose: u64,
    /// Words of the page's text read so far.
    page_words: u64,
    /// The run of paragraphs reading as prose last closed: where it starts, and the
    /// page's words when its last paragraph ended (`None`: no paragraph yet).
    run: Option<(u64, u64)>,
    /// Prose-reading paragraphs closed so far.
    page_paras: u64,
    /// The last text character seen was part of a word.
    in_word: bool,
    /// `article` elements and `[itemprop=articleBody]` elements seen: a page of many
    /// (cards, teasers) says nothing by them.
    bound_seen: [u32; 2],
    /// The closed elements holding the most prose (and no clutter words): the
    /// containers an article split into parts can be widened to.
    largest: Vec<Cand>,
    /// The `body` element's range, the region when no candidate stands out.
    body: Option<(u64, u64)>,
}

impl Locator {
    pub fn new() -> Locator {
        Locator::default()
    }

    /// An element opens at byte `start`: `tag` is its name (lowercase; any name outside
    /// HTML's may be given as `"element"`), the other arguments its attributes.
    pub fn open(
        &mut self,
        tag: &'static str,
        start: u64,
        class: Option<&str>,
        id: Option<&str>,
        itemprop: Option<&str>,
        role: Option<&str>,
    ) {
        let kind = kind_of(tag);
        let parent = self.stack.last();
        let (in_link, hidden, chrome, mut clutter, mut sealed) = parent
            .map_or((false, false, false, false, false), |p| {
                (p.in_link, p.hidden, p.chrome, p.clutter, p.sealed)
            });
        let mut weight = 0.0;
        let (mut down, mut strong, mut seals) = (false, false, false);
        // Only containers are searched: text-level, hidden and list elements, and
        // paragraphs themselves, are rarely the article or a clutter block around it, and
        // the search is the locator's dearest step per element.
        let words = if !matches!(kind, Tag::Paragraph | Tag::Chrome) || tag == "p" || tag == "td" {
            [None, None]
        } else {
            [class, id]
        };
        for v in words.into_iter().flatten() {
            let w = class_words(v);
            weight += 25.0 * (f32::from(u8::from(w.up)) - f32::from(u8::from(w.down)));
            down |= w.down;
            strong |= w.strong;
            seals |= w.block && !matches!(tag, "body" | "html") && names_a_block(v);
        }
        let itemprop = itemprop.is_some_and(|v| {
            v.split_ascii_whitespace()
                .any(|w| w.eq_ignore_ascii_case("articleBody"))
        });
        let role = role.is_some_and(|v| v.trim().eq_ignore_ascii_case("main"));
        let hint = matches!(tag, "article" | "main") || itemprop || role;
        if itemprop {
            weight += 25.0;
        }
        if tag == "main" || itemprop || role {
            clutter = false;
            sealed = false;
        } else if sealed {
        } else if hint || strong {
            clutter = false;
        } else if down {
            clutter = true;
            sealed = seals;
        }
        if !matches!(kind, Tag::Inline | Tag::Link) {
            self.in_word = false;
        }
        // An `article` inside clutter (a comment in a comments list) is not one of the
        // page's articles.
        let parent_clutter = parent.is_some_and(|p| p.clutter);
        if itemprop {
            self.bound_seen[1] += 1;
        } else if tag == "article" && !parent_clutter {
            self.bound_seen[0] += 1;
        }
        self.stack.push(Open {
            start,
            words_before: self.page_words,
            prose_before: self.page_prose,
            lead_start: match self.run {
                Some((s, w)) if self.page_words - w <= RUN_GAP => s,
                _ => start,
            },
            tag: kind,
            weight,
            hint,
            bounds: if itemprop {
                2
            } else {
                u8::from(tag == "article" && !parent_clutter)
            },
            in_link: in_link || kind == Tag::Link,
            hidden: hidden || kind == Tag::Hidden,
            chrome: chrome || kind == Tag::Chrome,
            clutter,
            sealed,
            ..Open::default()
        });
        self.tags.push(tag);
    }

    /// Prose and prose-reading paragraphs closed so far: a range's share is the
    /// difference of two readings.
    pub fn totals(&self) -> (u64, u64) {
        (self.page_prose, self.page_paras)
    }

    /// Words of the page's text read so far.
    pub fn words(&self) -> u64 {
        self.page_words
    }

    /// Text of the page (not of a script or style): counted for the innermost element.
    pub fn text(&mut self, text: &str) {
        let Some(o) = self.stack.last_mut() else {
            return;
        };
        if o.hidden {
            return;
        }
        let (c, in_word) = count(text, self.in_word);
        let (chars, stops, words) = (c.chars, c.stops, c.words);
        self.in_word = in_word;
        if chars == 0 {
            return;
        }
        o.inline_chars += chars;
        o.inline_stops += stops;
        o.inline_words += words;
        o.words += words;
        self.page_words += u64::from(words);
        o.chars += u64::from(chars);
        if o.in_link {
            o.link_chars += u64::from(chars);
        }
    }

    /// The innermost open element closes; its bytes end at `end`.
    pub fn close(&mut self, end: u64) -> Closed {
        let Some(o) = self.stack.pop() else {
            return Closed::default();
        };
        let tag = self.tags.pop().unwrap_or("element");
        if !matches!(o.tag, Tag::Inline | Tag::Link) {
            self.in_word = false;
        }
        let depth = self.stack.len();
        let mut prose = o.prose;
        let mut paras = o.paras;
        let mut score_up = 0.0;
        let mut own_prose = 0;
        let paragraph =
            o.tag == Tag::Paragraph && !o.chrome && !o.clutter && o.inline_chars >= MIN_PARAGRAPH;
        if paragraph {
            let link_share = if o.chars == 0 {
                0.0
            } else {
                o.link_chars as f32 / o.chars as f32
            };
            if link_share < 0.5 {
                score_up = 1.0 + o.inline_stops as f32 + (o.inline_chars as f32 / 100.0).min(3.0);
                let own = u64::from(o.inline_chars)
                    .saturating_sub(o.link_chars.min(u64::from(o.inline_chars)));
                prose += own;
                self.page_prose += own;
                if reads_as_prose(o.inline_words, o.inline_chars, o.inline_stops, link_share) {
                    own_prose = own;
                    paras += 1;
                    self.page_paras += 1;
                    let start = match self.run {
                        Some((s, w)) if o.words_before.saturating_sub(w) <= RUN_GAP => s,
                        _ => o.start,
                    };
                    self.run = Some((start, self.page_words));
                }
            }
        }
        let density = if o.chars == 0 {
            0.0
        } else {
            o.link_chars as f32 / o.chars as f32
        };
        let own_score = (o.score + o.weight) * (1.0 - density);
        if tag == "body" {
            self.body = Some((o.start, end));
        }
        if prose > 0 && o.tag != Tag::Hidden && o.weight >= 0.0 {
            let c = Cand {
                start: o.start,
                end,
                depth,
                tag,
                score: own_score,
                prose,
                direct: o.direct,
                paras,
                hint: o.hint,
                bounds: o.bounds,
                words_before: o.words_before,
                prose_before: o.prose_before,
                lead_start: o.lead_start,
            };
            keep(&mut self.largest, c, |c| c.prose as f32);
        }
        if o.score > 0.0 && o.tag != Tag::Hidden {
            self.keep(Cand {
                start: o.start,
                end,
                depth,
                tag,
                score: own_score + if o.hint { 10.0 } else { 0.0 },
                prose,
                direct: o.direct,
                paras,
                hint: o.hint,
                bounds: o.bounds,
                words_before: o.words_before,
                prose_before: o.prose_before,
                lead_start: o.lead_start,
            });
        }
        let n = self.stack.len();
        if let Some(p) = self.stack.last_mut() {
            p.chars += o.chars;
            p.link_chars += o.link_chars;
            p.words += o.words;
            p.prose += prose;
            p.direct += own_prose;
            p.paras += paras;
            p.score += score_up;
            if matches!(o.tag, Tag::Inline | Tag::Link) {
                p.inline_chars += o.inline_chars;
                p.inline_stops += o.inline_stops;
                p.inline_words += o.inline_words;
            }
        }
        if n >= 2 {
            self.stack[n - 2].score += score_up / 2.0;
        }
        Closed {
            words: o.words,
            chars: o.chars,
            link_chars: o.link_chars,
            prose,
            paras,
        }
    }

    fn keep(&mut self, c: Cand) {
        keep(&mut self.cands, c, |c| c.score);
    }

    /// The page ended at byte `len`: closes what is still open and picks the region.
    pub fn finish(mut self, len: u64) -> Option<Region> {
        while !self.stack.is_empty() {
            self.close(len);
        }
        let page = self.page_prose;
        let mut cands = self.cands;
        cands.sort_by(|a, b| {
            b.score
                .partial_cmp(&a.score)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        cands.truncate(KEEP);
        let Some(best) = cands.first().cloned() else {
            // Nothing reads as an article: the whole page, and no confidence.
            let (start, end) = self.body.unwrap_or((0, len));
            return (page > 0 || self.body.is_some()).then(|| Region {
                start,
                end,
                tag: "body".into(),
                confidence: 0.0,
                prose: page,
                page_prose: page,
                paras: self.page_paras as u32,
                words_before: 0,
                prose_before: 0,
                lead_start: start,
                declared_start: None,
            });
        };
        // Widen to the other parts of the article: candidates apart from each other that
        // score like the best — a fifth of its score or more, Readability's threshold for
        // siblings — (an article split into blocks between figures and ads).
        // The region is the largest element holding the best that is still mostly made
        // of such parts (60% of its prose at least).
        // Where the page says the article is (`article`, `[itemprop=articleBody]` around
        // the best), nothing beyond it is a part: comments and teasers after it are not.
        let bound = self
            .largest
            .iter()
            .chain(cands.iter())
            .filter(|a| {
                a.bounds > 0
                    && self.bound_seen[usize::from(a.bounds - 1)] == 1
                    && a.start <= best.start
                    && a.end >= best.end
            })
            .max_by_key(|a| a.end - a.start)
            .cloned();
        let (lo, hi) = bound.as_ref().map_or((0, u64::MAX), |a| (a.start, a.end));
        let declared = lo > 0 || hi < u64::MAX;
        let within = |c: &Cand| c.start >= lo && c.end <= hi;
        let mut parts: Vec<&Cand> = vec![&best];
        for c in cands.iter().skip(1) {
            let apart = parts.iter().all(|p| c.end <= p.start || c.start >= p.end);
            // A part holds text: a paragraph reading as prose, or a tenth of the best's
            // prose (an article's last short paragraphs after an ad). A block that scores
            // on its class words alone (`Page-topbar`, `Figure-content`: 2–5% of the
            // best's prose) is no part: taken as one, it widened the region of a public
            // broadcaster's page to the whole body.
            // Inside the page's one article element, a block with a paragraph reading
            // as prose is a part however it scores: the page says it is the article's.
            let part = (c.score >= best.score * 0.2 && (c.paras > 0 || c.prose * 10 >= best.prose))
                || (declared && c.paras > 0);
            if apart && within(c) && part {
                parts.push(c);
            }
        }
        let mut pick = best.clone();
        let mut covered = best.prose;
        for a in self.largest.iter().chain(cands.iter()) {
            if a.start > best.start || a.end < best.end || !within(a) {
                continue;
            }
            // Its parts, and the paragraphs reading as prose that are its own children:
            // an article's paragraphs beside the block chosen (as Readability takes the
            // top candidate's sibling paragraphs).
            // Two levels up at most: a wrapper's own paragraphs far above the article
            // (a notice under `body`) are not the article's.
            let own = if a.depth < best.depth && a.depth + 2 >= best.depth {
                a.direct
            } else {
                0
            };
            let inside: u64 = own
                + parts
                    .iter()
                    .filter(|p| p.start >= a.start && p.end <= a.end)
                    .map(|p| p.prose)
                    .sum::<u64>();
            let better = inside > covered || (inside == covered && a.depth > pick.depth);
            if better && inside as f32 >= 0.6 * a.prose as f32 {
                pick = a.clone();
                covered = inside;
            }
        }
        // The page's one article element is the article when what was picked inside it
        // holds less than 60% of its prose (the rest: parts too weak to be picked up).
        if let Some(b) = bound
            && (pick.prose as f32) < 0.6 * b.prose as f32
        {
            pick = b;
        }
        // Where the article starts by the page's word: its one `article` element; or,
        // on a page of many (teaser cards beside the story), the nearest one around the
        // region that starts a header's length before it. What lies between — headline,
        // standfirst, byline, lead image — is the article's own header.
        let declared_start = if declared {
            Some(lo)
        } else {
            self.largest
                .iter()
                .chain(cands.iter())
                .filter(|a| {
                    a.bounds > 0
                        && a.start < pick.start
                        && a.end >= pick.end
                        && pick.words_before.saturating_sub(a.words_before) <= HEADER_WORDS
                })
                .map(|a| a.start)
                .max()
        };
        let outside = cands
            .iter()
            .filter(|c| c.end <= pick.start || c.start >= pick.end)
            .map(|c| c.score)
            .fold(0.0f32, f32::max);
        let share = if page == 0 {
            0.0
        } else {
            pick.prose as f32 / page as f32
        };
        let lead = if best.score <= 0.0 {
            0.0
        } else {
            1.0 - (outside / best.score).min(1.0)
        };
        // The page's own word for it (its one `article` or `articleBody` holds the
        // region) counts like a clear lead.
        let confidence = (0.5 * share
            + 0.4 * lead
            + if pick.hint { 0.1 } else { 0.0 }
            + if declared { 0.2 } else { 0.0 })
        .clamp(0.0, 1.0);
        Some(Region {
            start: pick.start,
            end: pick.end,
            tag: pick.tag.to_string(),
            confidence,
            prose: pick.prose,
            page_prose: page,
            paras: pick.paras,
            words_before: pick.words_before,
            prose_before: pick.prose_before,
            lead_start: pick.lead_start,
            declared_start,
        })
    }
}

/// Adds `c` to a bounded list ranked by `rank`: it keeps the best [`KEEP`].
fn keep(list: &mut Vec<Cand>, c: Cand, rank: impl Fn(&Cand) -> f32) {
    list.push(c);
    if list.len() > KEEP * 2 {
        list.sort_by(|a, b| {
            rank(b)
                .partial_cmp(&rank(a))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        list.truncate(KEEP);
    }
}

/// How a tag's text counts.
fn kind_of(tag: &str) -> Tag {
    match tag {
        "a" => Tag::Link,
        "abbr" | "b" | "bdi" | "bdo" | "br" | "cite" | "code" | "data" | "dfn" | "em" | "font"
        | "i" | "img" | "kbd" | "mark" | "q" | "s" | "samp" | "small" | "span" | "strong"
        | "sub" | "sup" | "time" | "u" | "var" | "wbr" | "ins" | "del" | "strike" | "tt" => {
            Tag::Inline
        }
        "script" | "style" | "noscript" | "template" | "svg" | "math" | "head" | "title"
        | "iframe" | "object" | "select" | "option" | "textarea" | "button" => Tag::Hidden,
        "nav" | "aside" | "footer" => Tag::Chrome,
        "p" | "pre" | "td" | "blockquote" | "div" | "section" | "article" | "main" | "body"
        | "center" => Tag::Paragraph,
        _ => Tag::Block,
    }
}

/// How many of [`DOWN`]'s words, from the first, name a kind of block that never
/// holds the article.
const BLOCKS: usize = 8;
/// Clutter-like class and id words.
const DOWN: &[&str] = &[
    // The first eight name a kind of block that never holds the article: inside
    // one, only the page's own markers (`main`, `articleBody`) lift the clutter.
    "comment",
    "related",
    "recommend",
    "recirc",
    "newsletter",
    "promo",
    "outbrain",
    "taboola",
    "sidebar",
    "footer",
    "footnote",
    "masthead",
    "share",
    "social",
    "sponsor",
    "advert",
    "banner",
    "subscribe",
    "signup",
    "popup",
    "modal",
    "cookie",
    "consent",
    "widget",
    "menu",
    "nav",
    "breadcrumb",
    "trending",
    "most-read",
    "popular",
    "teaser",
    "tags",
    "author-bio",
    "hidden",
    "skip",
    "toolbar",
];

/// Class and id words: content-like up, clutter-like down (word parts, matched as
/// substrings without case: `storyBody`, `c-related-links`).
fn class_words(v: &str) -> Words {
    // The first six name the article itself: they outweigh a clutter word in the
    // same value (`article-related` is the article's), the others do not
    // (`jp-relatedposts` is a related block).
    const UP: &[&str] = &[
        "article",
        "content",
        "entry",
        "main",
        "story",
        "body",
        "page",
        "post",
        "text",
        "blog",
        "prose",
        "rich-text",
        "richtext",
    ];
    const STRONG: usize = 6;
    // A DFA stepped by hand: class values are short, and a searcher's set-up per call
    // cost more than the search.
    static WORDS: OnceLock<(DFA, aho_corasick::automaton::StateID)> = OnceLock::new();
    let (dfa, start) = WORDS.get_or_init(|| {
        let dfa = aho_corasick::dfa::Builder::new()
            .ascii_case_insensitive(true)
            .build(UP.iter().chain(DOWN))
            .expect("fixed words");
        let start = dfa.start_state(Anchored::No).expect("unanchored start");
        (dfa, start)
    });
    let mut w = Words::default();
    let mut sid = *start;
    for &b in v.as_bytes() {
        sid = dfa.next_state(Anchored::No, sid, b);
        if !dfa.is_match(sid) {
            continue;
        }
        for m in 0..dfa.match_len(sid) {
            let i = dfa.match_pattern(sid, m).as_usize();
            if i < STRONG {
                w.strong = true;
                w.up = true;
            } else if i < UP.len() {
                w.up = true;
            } else {
                w.down = true;
                w.block |= i < UP.len() + BLOCKS;
            }
        }
    }
    w
}

/// What an element's class and id words say of it.
#[derive(Debug, Default, Clone, Copy)]
struct Words {
    /// Some word is content-like, and one of those names the article itself.
    up: bool,
    strong: bool,
    /// Some word is clutter-like, and one of those names a kind of block that never
    /// holds the article.
    down: bool,
    block: bool,
}

/// Whether a class or id value names a block (`comments`, `comment-list`,
/// `related-posts`) rather than a state of the page (`has-comments`, `comments-open`,
/// `no-related`): some word of it that names such a block is not one of a state's
/// shapes.
fn names_a_block(v: &str) -> bool {
    const STATE_BEFORE: &[&str] = &[
        "has-", "has_", "no-", "no_", "with-", "show-", "is-", "enable",
    ];
    const STATE_AFTER: &[&str] = &[
        "-open",
        "_open",
        "-closed",
        "-enabled",
        "-disabled",
        "-active",
        "-on",
        "-off",
        "-visible",
    ];
    v.split_ascii_whitespace().any(|t| {
        let t = t.to_ascii_lowercase();
        DOWN[..BLOCKS].iter().any(|b| t.contains(b))
            && !STATE_BEFORE.iter().any(|s| t.starts_with(s))
            && !STATE_AFTER.iter().any(|s| t.ends_with(s))
    })
}

#[cfg(test)]
mod tests {
    use super::{count, text_reads_as_prose};

    #[test]
    fn text_without_spaces_counts_its_characters_as_words() {
        // A Japanese paragraph: no spaces, full-width stops and commas.
        let ja = "新しい橋が土曜日に開通し、多くの市民が渡り初めに参加した。市によると、工事は三年かかり、費用は予定より増えたという。";
        assert!(text_reads_as_prose(ja));
        let (c, _) = count(ja, false);
        assert!(c.words >= 50 && c.stops >= 4, "{c:?}");
        // Cut anywhere, the counts add up to the same.
        let cut = ja.char_indices().nth(17).unwrap().0;
        let (a, w) = count(&ja[..cut], false);
        let (b, _) = count(&ja[cut..], w);
        assert_eq!((a.words + b.words, a.stops + b.stops), (c.words, c.stops));
        assert!(!text_reads_as_prose("短い見出し"));
    }

    #[test]
    fn prose_is_measured_in_characters_too_for_languages_with_long_words() {
        // Polish: 24 words, two sentences, 147 characters; under PROSE_WORDS words.
        let pl = "Radni miasta zdecydowali we wtorek, że budżet na remonty ulic wzrośnie o jedną dziesiątą. Przeciwnicy projektu twierdzili, że pieniądze lepiej wydać na autobusy miejskie.";
        let (c, _) = count(pl, false);
        assert!(
            c.words < super::PROSE_WORDS && c.chars >= super::PROSE_CHARS,
            "{c:?}"
        );
        assert!(text_reads_as_prose(pl));
        // As many words but short ones, as in an English caption or a list of names:
        // not prose.
        let short = "Bob, Ann, Sue, Tom, Jim, Kim, Ray, Lee, Max, Sam, Dan, Pat, Joe, Amy, Eve, Ian, Ned, Ted, Zoe, Liz, Meg, Kit, Roy, Guy.";
        let (c, _) = count(short, false);
        assert!(c.words >= 20 && c.chars < super::PROSE_CHARS, "{c:?}");
        assert!(!text_reads_as_prose(short));
        // Long words alone, too few of them, are no paragraph either.
        assert!(!text_reads_as_prose(
            "Sprawozdanie finansowe, zatwierdzone jednogłośnie przez radę nadzorczą, opublikowano."
        ));
    }

    fn region_text(page: &str) -> String {
        let r = crate::clean::locate(page.as_bytes())
            .expect("cleans")
            .expect("a region");
        page[r.start as usize..r.end as usize].to_string()
    }

    const PARA: &str = "The council met on Tuesday to discuss the budget, which rose by a tenth. Members argued for hours, and the vote was close.";

    #[test]
    fn finds_the_article_among_navigation_and_related_links() {
        let nav: String = (0..30)
            .map(|i| format!("<li><a href=\"/s{i}\">Section number {i} of the site</a></li>"))
            .collect();
        let page = format!(
            "<html><body><nav><ul>{nav}</ul></nav><div class=\"wrap\"><div class=\"story-body\"><h1>Budget</h1><p>{PARA}</p><p>{PARA}</p><p>{PARA}</p></div><div class=\"related\"><ul>{nav}</ul></div></div><footer><p>Copyright and all that, the usual words in a footer of a site.</p></footer></body></html>"
        );
        let text = region_text(&page);
        assert!(text.starts_with("<div class=\"story-body\">"), "{text}");
        assert_eq!(text.matches(PARA).count(), 3);
        assert!(!text.contains("Section number"));
    }

    #[test]
    fn an_article_split_into_sibling_blocks_is_taken_whole() {
        let page = format!(
            "<body><div id=\"main\"><section><p>{PARA}</p><p>{PARA}</p></section><figure><img src=x></figure><section><p>{PARA}</p><p>{PARA}</p></section></div><div class=\"comments\"><p>{PARA}</p></div></body>"
        );
        let text = region_text(&page);
        assert!(text.starts_with("<div id=\"main\">"), "{text}");
        assert_eq!(text.matches(PARA).count(), 4);
    }

    #[test]
    fn a_page_without_prose_has_no_region() {
        assert_eq!(
            crate::clean::locate(b"<ul><li><a href=/>Home</a></li></ul>").expect("cleans"),
            None
        );
    }
}
