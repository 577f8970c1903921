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
//! The locator knows nothing of rules; [`locate`] drives it with lol_html for a whole
//! page (`pare locate`); the find pass is to drive the same struct.

use std::cell::RefCell;
use std::rc::Rc;

use lol_html::html_content::{Element, TextType};
use lol_html::{HtmlRewriter, Settings};

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
}

/// An open element's running sums.
#[derive(Debug, Default, Clone)]
struct Open {
    start: u64,
    tag: Tag,
    /// Class and id words: + for content-like, − for clutter-like.
    weight: f32,
    /// A semantic element (`article`, `main`, `[itemprop=articleBody]`, `[role=main]`).
    hint: bool,
    /// Text directly in it or in inline descendants (not in block children).
    inline_chars: u32,
    inline_stops: u32,
    /// All text below it, and the part of it inside links.
    chars: u64,
    link_chars: u64,
    /// Prose below it: paragraph text outside links.
    prose: u64,
    /// The score its paragraphs gave it.
    score: f32,
    /// Inside a link (itself or an ancestor).
    in_link: bool,
    /// Text below it is not page text (`script`, `style`, `template`…).
    hidden: bool,
    /// Inside site chrome (`nav`, `aside`, `footer`): its paragraphs are no prose.
    chrome: bool,
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
    tag: String,
    score: f32,
    prose: u64,
    hint: bool,
}

/// How many candidates are kept (the best, and enough of its ancestors to widen to).
const KEEP: usize = 64;
/// Direct text shorter than this is no paragraph.
const MIN_PARAGRAPH: u32 = 25;

/// The streaming scorer. Feed it [`open`](Self::open), [`text`](Self::text) and
/// [`close`](Self::close) in document order; [`finish`](Self::finish) gives the region.
#[derive(Debug, Default)]
pub struct Locator {
    stack: Vec<Open>,
    tags: Vec<String>,
    cands: Vec<Cand>,
    page_prose: u64,
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

    /// An element opens at byte `start`. `attr` gives its attributes by name.
    pub fn open(&mut self, tag: &str, start: u64, attr: &dyn Fn(&str) -> Option<String>) {
        let kind = kind_of(tag);
        let parent = self.stack.last();
        let (in_link, hidden, chrome) =
            parent.map_or((false, false, false), |p| (p.in_link, p.hidden, p.chrome));
        let mut weight = 0.0;
        for name in ["class", "id"] {
            if let Some(v) = attr(name) {
                weight += class_weight(&v);
            }
        }
        let itemprop = attr("itemprop").is_some_and(|v| {
            v.split_ascii_whitespace()
                .any(|w| w.eq_ignore_ascii_case("articleBody"))
        });
        let role = attr("role").is_some_and(|v| v.eq_ignore_ascii_case("main"));
        let hint = matches!(tag, "article" | "main") || itemprop || role;
        if itemprop {
            weight += 25.0;
        }
        self.stack.push(Open {
            start,
            tag: kind,
            weight,
            hint,
            in_link: in_link || kind == Tag::Link,
            hidden: hidden || kind == Tag::Hidden,
            chrome: chrome || kind == Tag::Chrome,
            ..Open::default()
        });
        self.tags.push(tag.to_string());
    }

    /// Text of the page (not of a script or style): counted for the innermost element.
    pub fn text(&mut self, text: &str) {
        let Some(o) = self.stack.last_mut() else {
            return;
        };
        if o.hidden {
            return;
        }
        let chars = text.chars().filter(|c| !c.is_whitespace()).count() as u32;
        if chars == 0 {
            return;
        }
        let stops = text
            .chars()
            .filter(|c| matches!(c, ',' | '.' | '!' | '?' | '，' | '。' | '،'))
            .count() as u32;
        o.inline_chars += chars;
        o.inline_stops += stops;
        o.chars += u64::from(chars);
        if o.in_link {
            o.link_chars += u64::from(chars);
        }
    }

    /// The innermost open element closes; its bytes end at `end`.
    pub fn close(&mut self, end: u64) {
        let Some(o) = self.stack.pop() else { return };
        let tag = self.tags.pop().unwrap_or_default();
        let depth = self.stack.len();
        let mut prose = o.prose;
        let mut score_up = 0.0;
        let paragraph = o.tag == Tag::Paragraph && !o.chrome && o.inline_chars >= MIN_PARAGRAPH;
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
                tag: tag.clone(),
                score: own_score,
                prose,
                hint: o.hint,
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
                hint: o.hint,
            });
        }
        let n = self.stack.len();
        if let Some(p) = self.stack.last_mut() {
            p.chars += o.chars;
            p.link_chars += o.link_chars;
            p.prose += prose;
            p.score += score_up;
            if matches!(o.tag, Tag::Inline | Tag::Link) {
                p.inline_chars += o.inline_chars;
                p.inline_stops += o.inline_stops;
            }
        }
        if n >= 2 {
            self.stack[n - 2].score += score_up / 2.0;
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
            });
        };
        // Widen to the other parts of the article: candidates apart from each other that
        // score like the best — a fifth of its score or more, Readability's threshold for
        // siblings — (an article split into blocks between figures and ads).
        // The region is the largest element holding the best that is still mostly made
        // of such parts (60% of its prose at least).
        let mut parts: Vec<&Cand> = vec![&best];
        for c in cands.iter().skip(1) {
            let apart = parts.iter().all(|p| c.end <= p.start || c.start >= p.end);
            if apart && c.score >= best.score * 0.2 {
                parts.push(c);
            }
        }
        let mut pick = best.clone();
        let mut covered = best.prose;
        for a in self.largest.iter().chain(cands.iter()) {
            if a.start > best.start || a.end < best.end {
                continue;
            }
            let inside: u64 = parts
                .iter()
                .filter(|p| p.start >= a.start && p.end <= a.end)
                .map(|p| p.prose)
                .sum();
            let better = inside > covered || (inside == covered && a.depth > pick.depth);
            if better && inside as f32 >= 0.6 * a.prose as f32 {
                pick = a.clone();
                covered = inside;
            }
        }
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
        let confidence =
            (0.5 * share + 0.4 * lead + if pick.hint { 0.1 } else { 0.0 }).clamp(0.0, 1.0);
        Some(Region {
            start: pick.start,
            end: pick.end,
            tag: pick.tag,
            confidence,
            prose: pick.prose,
            page_prose: page,
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

/// Class and id words: content-like up, clutter-like down (whole words or word parts
/// between `-`, `_` and camel case are matched by substring on the lowercased value).
fn class_weight(v: &str) -> f32 {
    const UP: &[&str] = &[
        "article",
        "body",
        "content",
        "entry",
        "main",
        "page",
        "post",
        "text",
        "blog",
        "story",
        "prose",
        "rich-text",
        "richtext",
    ];
    const DOWN: &[&str] = &[
        "comment",
        "sidebar",
        "footer",
        "footnote",
        "masthead",
        "related",
        "promo",
        "share",
        "social",
        "sponsor",
        "advert",
        "banner",
        "newsletter",
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
        "recommend",
        "trending",
        "most-read",
        "popular",
        "outbrain",
        "taboola",
        "teaser",
        "tags",
        "author-bio",
        "hidden",
        "skip",
        "toolbar",
    ];
    let v = v.to_ascii_lowercase();
    let mut w = 0.0;
    if UP.iter().any(|u| v.contains(u)) {
        w += 25.0;
    }
    if DOWN.iter().any(|d| v.contains(d)) {
        w -= 25.0;
    }
    w
}

/// Locates the article of a whole page in its own lol_html pass.
pub fn locate(page: &[u8]) -> Option<Region> {
    let loc = Rc::new(RefCell::new(Locator::new()));
    let (l1, l2) = (loc.clone(), loc.clone());
    let settings = Settings::new()
        .with_strict(false)
        .append_element_content_handler(lol_html::element!("*", move |el| {
            on_element(&l1, el);
            Ok(())
        }))
        .append_document_content_handler(lol_html::doc_text!(move |t| {
            if matches!(t.text_type(), TextType::Data | TextType::CDataSection) {
                l2.borrow_mut().text(t.as_str());
            }
            Ok(())
        }));
    let mut rw = HtmlRewriter::new(settings, |_: &[u8]| {});
    if rw.write(page).is_err() || rw.end().is_err() {
        return None;
    }
    let loc = Rc::try_unwrap(loc).ok()?.into_inner();
    loc.finish(page.len() as u64)
}

fn on_element(loc: &Rc<RefCell<Locator>>, el: &mut Element<'_, '_>) {
    let start = el.source_location().bytes().start as u64;
    let tag = el.tag_name();
    let attr = |n: &str| el.get_attribute(n);
    loc.borrow_mut().open(&tag, start, &attr);
    if !el.can_have_content() {
        loc.borrow_mut()
            .close(el.source_location().bytes().end as u64);
        return;
    }
    let l = loc.clone();
    let ok = el.on_end_tag(Box::new(move |end| {
        l.borrow_mut()
            .close(end.source_location().bytes().end as u64);
        Ok(())
    }));
    if ok.is_err() {
        loc.borrow_mut()
            .close(el.source_location().bytes().end as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region_text(page: &str) -> String {
        let r = locate(page.as_bytes()).expect("a region");
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
        assert_eq!(locate(b"<ul><li><a href=/>Home</a></li></ul>"), None);
    }
}
