//! The reading copy (`--profile reader`): the located article alone, with its headline,
//! standfirst and lead image when they sit just before it, under a small `<head>` of
//! its own.
//!
//! Nothing here parses the page again. Pass 1 notes, besides its edits, the headlines
//! (`h1`) that closed with their own end tags ([`Lead`]); [`select`] picks the byte
//! ranges a reading copy keeps — the located article, the headline just before it and
//! what lies between the two (standfirst, byline, lead image: where pages put them) —
//! and [`restrict`] turns those into edits for the splicer (everything outside them is
//! cut, the rules' edits inside them stay), so pass 2 is the same byte copy as for the
//! whole page. Where the locator is not sure of the article, the reading copy keeps the
//! whole body, cleaned by every category: a reader that shows too much loses no
//! article; one that guesses does.

use super::locate::Region;
use super::meta::Metadata;
use super::plan::{Edit, Plan};

/// A headline (`h1`) pass 1 saw close with its own end tag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lead {
    /// Its bytes, start tag to end tag.
    pub start: u64,
    pub end: u64,
    /// Words and prose characters of the page's text up to its end.
    pub words_after: u64,
    pub prose_after: u64,
}

/// The headlines noted, and the depth of the one open on the finder's stack.
#[derive(Debug, Default)]
pub struct Leads {
    pub open: Vec<(usize, u64)>,
    pub done: Vec<Lead>,
}

/// Headlines kept (a page of teasers has many; an article's is among the first).
const MAX_HEADLINES: usize = 64;
/// A headline is the article's when at most this many words lie between it and the
/// article (a byline, a date, a share bar, a standfirst, a lead image) …
const NEAR_WORDS: u64 = 150;
/// … or up to this many, when what lies between reads mostly as prose (the article's
/// first paragraphs, outside the element the locator chose).
const FAR_WORDS: u64 = 2000;

impl Leads {
    /// A headline closed with its own end tag.
    pub fn closed(&mut self, l: Lead) {
        if self.done.len() < MAX_HEADLINES {
            self.done.push(l);
        }
    }
}

/// One byte range a reading copy keeps, and what it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Part {
    /// `headline`; `lead` (what lies between it and the article: standfirst, byline,
    /// lead image, first paragraphs); `article`; or `body` (the locator was not sure).
    pub what: &'static str,
    pub start: u64,
    pub end: u64,
}

impl Part {
    /// Whether the rules' removals apply inside it (a headline is kept whole even when
    /// a rule removed the page header around it).
    fn cut_inside(&self) -> bool {
        self.what != "headline"
    }
}

/// The byte ranges of the page a reading copy keeps, in order.
pub fn select(plan: &Plan) -> Vec<Part> {
    let Some(region) = plan.article.as_ref().filter(|a| chosen(a)) else {
        let (start, end) = plan.body.unwrap_or((0, plan.len));
        return vec![Part {
            what: "body",
            start,
            end,
        }];
    };
    let mut parts = Vec::new();
    if let Some(h) = headline(region, &plan.leads) {
        parts.push(Part {
            what: "headline",
            start: h.start,
            end: h.end,
        });
        if h.end < region.start {
            parts.push(Part {
                what: "lead",
                start: h.end,
                end: region.start,
            });
        }
    } else {
        // No headline before it, but the article's first paragraphs are (the run of
        // prose paragraphs that ends where the region starts), or its own header is
        // (the page's one `article` element starts before the region).
        let start = region
            .declared_start
            .map_or(region.lead_start, |d| d.min(region.lead_start));
        if start < region.start {
            parts.push(Part {
                what: "lead",
                start,
                end: region.start,
            });
        }
    }
    parts.push(Part {
        what: "article",
        start: region.start,
        end: region.end,
    });
    parts
}

/// Whether a reading copy may stand on the located region: the article guard's
/// measure, or — for a short article with no paragraph long enough to read as prose —
/// a confident region holding nearly all of the page's prose.
fn chosen(a: &Region) -> bool {
    a.sure() || (a.confidence >= 0.5 && a.prose as f64 >= 0.9 * a.page_prose as f64 && a.prose > 0)
}

/// The headline of the article in `region`: the last `h1` before it with little
/// between them, or with mostly prose between them.
fn headline(region: &Region, leads: &[Lead]) -> Option<Lead> {
    leads
        .iter()
        .rev()
        .filter(|l| l.end <= region.start)
        .find(|l| {
            let words = region.words_before.saturating_sub(l.words_after);
            let prose = region.prose_before.saturating_sub(l.prose_after);
            words <= NEAR_WORDS || (words <= FAR_WORDS && prose >= 3 * words)
        })
        .copied()
}

/// The edits that make a reading copy of `parts`: everything outside them cut, and the
/// plan's edits inside them (clipped to them) kept — but for a headline's, which is
/// kept whole. Both lists are sorted.
pub fn restrict(edits: &[Edit], parts: &[Part], len: u64) -> Vec<Edit> {
    let mut out = Vec::new();
    let mut pos = 0;
    for p in parts {
        let (start, end) = (p.start.max(pos), p.end.min(len));
        if start >= end {
            continue;
        }
        if pos < start {
            out.push(Edit::Cut {
                start: pos,
                end: start,
            });
        }
        let first = edits.partition_point(|e| e.end() <= start);
        for e in edits[first..].iter().take_while(|e| e.start() < end) {
            match e {
                Edit::Cut { start: s, end: t } if p.cut_inside() => out.push(Edit::Cut {
                    start: (*s).max(start),
                    end: (*t).min(end),
                }),
                Edit::Cut { .. } => {}
                Edit::Attrs { .. } if e.start() >= start && e.end() <= end => out.push(e.clone()),
                Edit::Attrs { .. } => {}
            }
        }
        pos = end;
    }
    if pos < len {
        out.push(Edit::Cut {
            start: pos,
            end: len,
        });
    }
    // Adjacent cuts are one.
    let mut merged: Vec<Edit> = Vec::with_capacity(out.len());
    for e in out {
        if let (Some(Edit::Cut { end, .. }), Edit::Cut { start: s, end: t }) =
            (merged.last_mut(), &e)
            && *end >= *s
        {
            *end = (*end).max(*t);
            continue;
        }
        merged.push(e);
    }
    merged
}

/// The start of a reading copy in HTML, up to and with `<body>`: the doctype, the
/// language, and a head of the charset (UTF-8: the copy is written anew), title,
/// canonical link, description and the other metadata as `<meta>`.
pub fn html_head(m: &Metadata) -> String {
    let mut h = String::from("<!DOCTYPE html>\n<html");
    if let Some(l) = &m.language {
        h.push_str(&format!(" lang=\"{}\"", escape(l)));
    }
    h.push_str(">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str(&format!(
        "<title>{}</title>\n",
        escape(m.title.as_deref().unwrap_or(""))
    ));
    if let Some(u) = &m.canonical {
        h.push_str(&format!(
            "<link rel=\"canonical\" href=\"{}\">\n",
            escape(u)
        ));
    }
    let metas = [
        ("name", "description", &m.description),
        ("name", "author", &m.byline),
        ("property", "article:published_time", &m.published),
        ("property", "article:modified_time", &m.modified),
        ("property", "og:site_name", &m.site_name),
        ("property", "og:image", &m.image),
    ];
    for (attr, key, v) in metas {
        if let Some(v) = v {
            h.push_str(&format!(
                "<meta {attr}=\"{key}\" content=\"{}\">\n",
                escape(v)
            ));
        }
    }
    h.push_str("<meta name=\"generator\" content=\"pare (reader profile)\">\n</head>\n<body>\n");
    h
}

/// How a reading copy opens when it keeps no headline (`h1`) of the page —
/// the page's headline is a `div`, or sits far from the body: its title from the
/// metadata (JSON-LD `headline`, `og:title`, `<title>`) as the copy's own headline, so a
/// reader sees what the article is. `None` when a headline was kept or no title known.
pub fn missing_headline(
    m: &Metadata,
    parts: &[Part],
    leads: &[Lead],
    kept: &[u8],
    style: Option<crate::clean::markdown::Style>,
) -> Option<String> {
    // The whole body (the locator not sure) keeps whatever headline the page has; an
    // `h1` inside a kept part is the copy's headline already.
    let kept_h1 = leads
        .iter()
        .any(|l| parts.iter().any(|p| l.start >= p.start && l.end <= p.end));
    if kept_h1 || !parts.iter().any(|p| p.what == "article") {
        return None;
    }
    let t = headline_of(m.title.as_deref()?, m.site_name.as_deref())?;
    // Kept already in another element (a bold line, a `div`): once is enough. `kept`
    // (the start of each kept part, as written) is searched for its first words.
    let probe: String = t.chars().take(24).collect();
    if contains(kept, probe.as_bytes()) {
        return None;
    }
    let t = t.as_str();
    Some(match style {
        None => format!("<h1>{}</h1>\n", escape(t)),
        Some(crate::clean::markdown::Style::Markdown) => {
            // Markdown's inline specials and a line that would start a block.
            let mut e = String::new();
            for c in t.chars() {
                if matches!(
                    c,
                    '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|'
                ) {
                    e.push('\\');
                }
                e.push(c);
            }
            format!("# {e}\n\n")
        }
        Some(crate::clean::markdown::Style::Text) => format!("{t}\n\n"),
    })
}

/// A page's title as its article's headline: without the site's name where the title
/// joins the two (`Story | Site`, `Site - Story`, `Story – Site`): the name given by the
/// metadata, else the shorter side of the last separator when the longer holds at
/// least three words.
fn headline_of(title: &str, site: Option<&str>) -> Option<String> {
    let t = title.trim();
    let seps = [" | ", " - ", " – ", " — ", " :: ", " · "];
    let site = site
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty());
    for sep in seps {
        if let Some((a, b)) = t.rsplit_once(sep).or_else(|| t.split_once(sep)) {
            let (a, b) = (a.trim(), b.trim());
            if let Some(s) = &site {
                if b.to_lowercase() == *s {
                    return Some(a.to_string());
                }
                if a.to_lowercase() == *s {
                    return Some(b.to_string());
                }
            }
            let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
            if long.split_whitespace().count() >= 3 && short.split_whitespace().count() <= 4 {
                return Some(long.to_string());
            }
        }
    }
    // One word is a placeholder more often than a headline (`Document`, `Home`).
    (t.split_whitespace().count() >= 2).then(|| t.to_string())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// The metadata as YAML front matter for Markdown: one `key: "value"` line per field
/// known (double-quoted scalars, escaped as JSON strings are, which YAML reads alike).
pub fn front_matter(m: &Metadata) -> String {
    let mut f = String::from("---\n");
    for (k, v) in m.fields() {
        if let Some(v) = v {
            let q = serde_json::to_string(v).expect("strings serialize");
            f.push_str(&format!("{k}: {q}\n"));
        }
    }
    f.push_str("---\n\n");
    f
}

/// Text for an HTML attribute value or element.
fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    super::serialize::push_escaped(&mut o, s, true);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restrict_cuts_outside_and_clips_inside() {
        let edits = vec![
            Edit::Cut { start: 5, end: 15 },
            Edit::Cut { start: 30, end: 35 },
            Edit::Cut { start: 60, end: 70 },
        ];
        let parts = vec![
            Part {
                what: "lead",
                start: 10,
                end: 20,
            },
            Part {
                what: "article",
                start: 25,
                end: 50,
            },
        ];
        assert_eq!(
            restrict(&edits, &parts, 100),
            vec![
                Edit::Cut { start: 0, end: 15 },
                Edit::Cut { start: 20, end: 25 },
                Edit::Cut { start: 30, end: 35 },
                Edit::Cut {
                    start: 50,
                    end: 100
                },
            ]
        );
        // A headline is kept whole, whatever a rule cut around it.
        let headline = [Part {
            what: "headline",
            start: 10,
            end: 20,
        }];
        assert_eq!(
            restrict(&edits, &headline, 30),
            vec![
                Edit::Cut { start: 0, end: 10 },
                Edit::Cut { start: 20, end: 30 }
            ]
        );
    }
}
