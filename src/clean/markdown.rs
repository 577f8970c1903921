//! A reading copy as Markdown (CommonMark) or plain text, converted as it streams.
//!
//! The splicer's output (the article's kept bytes) is written into a lol_html rewriter
//! whose handlers drive a small state machine: block elements end paragraphs, headings
//! become `#` lines, lists `-` / `1.` items (nested by four spaces), block quotes `>`
//! lines, `pre` a fenced block, tables pipe rows, links, images, emphasis and code their
//! inline forms. Memory is one chunk of output and the open lists' counters; nothing of
//! the page is held. Plain text keeps paragraphs, headings (as their own lines) and list
//! items, and no markup.

use std::io::Write;

use lol_html::html_content::Element;

use super::stream::{Output, Stream, is_media};

/// Quotes and lists nest in the Markdown at most this deep (parsers stop nesting
/// further, and what is deeper would be lost to their readers): deeper ones are written
/// at this depth.
const MAX_NEST: u32 = 8;

/// A code block's fence: four backticks, so a line of three inside the code does not
/// end it.
const FENCE: &str = "````";

/// The longest piece of a text run held back for the rest of its word.
const MAX_CARRY: usize = 4096;

/// What the converter writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Markdown,
    Text,
}

/// Elements left out with their content: those whose content is raw text, which only
/// their own end tag ends (others — `svg`, `template`, `object` — may be left open by a
/// page, and the reader profile's rules remove them in pass 1, where ends are tracked).
const SKIP: &[&str] = &[
    "script",
    "style",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
];

/// Besides [`BLOCK`], the starts that end an `<audio>` or `<video>` left open in a `<p>`
/// or `<li>` (HTML closes those there, and this writer sees only the page's end tags).
const CLOSES_MEDIA: &[&str] = &[
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "table",
    "tr",
    "td",
    "th",
    "blockquote",
    "pre",
];

/// Elements that end a paragraph where they start and end.
const BLOCK: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "footer",
    "aside",
    "nav",
    "figure",
    "figcaption",
    "address",
    "details",
    "summary",
    "dl",
    "dt",
    "dd",
    "form",
    "fieldset",
    "center",
    "body",
    "html",
    "caption",
    "hgroup",
    "picture",
];

/// The converter's state.
pub struct State {
    style: Style,
    /// Output not yet handed on.
    out: String,
    skip: u32,
    /// Inside `<audio>` or `<video>`: their text is the fallback for browsers that play
    /// neither ("Your browser does not support the audio element"), never the article.
    media: u32,
    /// A paragraph break (2), a line break (1) or nothing (0) waits for the next text.
    brk: u8,
    /// The quote depth of the blank line a paragraph break writes (the shallowest asked
    /// for since the last text: a quote's first paragraph follows an unquoted blank).
    brk_quote: u32,
    /// A space waits for the next word.
    space: bool,
    /// Nothing written on the current line yet (after its prefix).
    line_start: bool,
    /// The next word is the first of its line (Markdown reads line starts as markup).
    fresh: bool,
    /// Something was written.
    started: bool,
    /// Open lists: ordered, and the next number.
    lists: Vec<(bool, u32)>,
    /// A list item's marker waits for its first text.
    marker: Option<String>,
    quote: u32,
    pre: u32,
    /// Inside inline code.
    code: u32,
    /// Inline markers opened but not yet written (they wait for text).
    opening: String,
    /// Open links (a count: their `]` and URL are written at their end tags).
    links: Vec<usize>,
    /// Inside a table: cells in this row, cells in the first row, rows written, and the
    /// columns the current cell spans beyond its own.
    span: u32,
    table: u32,
    cells: u32,
    first_cells: u32,
    rows: u32,
    in_row: bool,
    heading: bool,
    /// An entity cut by a chunk boundary.
    carry: String,
}

impl State {
    fn new(style: Style) -> State {
        State {
            style,
            out: String::new(),
            skip: 0,
            media: 0,
            brk: 0,
            brk_quote: 0,
            space: false,
            line_start: true,
            fresh: true,
            started: false,
            lists: Vec::new(),
            marker: None,
            quote: 0,
            pre: 0,
            code: 0,
            opening: String::new(),
            links: Vec::new(),
            table: 0,
            span: 0,
            cells: 0,
            first_cells: 0,
            rows: 0,
            in_row: false,
            heading: false,
            carry: String::new(),
        }
    }

    fn md(&self) -> bool {
        self.style == Style::Markdown
    }

    /// Inside a link (in Markdown): what follows is inline text.
    fn inline_only(&self) -> bool {
        self.md() && !self.links.is_empty()
    }

    /// The prefix of a continued line: quotes, and the list items' indentation.
    fn prefix(&self) -> String {
        let mut p = String::new();
        if self.md() {
            for _ in 0..self.quote.min(MAX_NEST) {
                p.push_str("> ");
            }
        }
        for _ in 0..self.lists.len().min(MAX_NEST as usize) {
            p.push_str("    ");
        }
        p
    }

    fn block(&mut self) {
        // Inside a table row or a link, Markdown has no blocks: a space stands for one
        // (a card's `<a><div>title</div><div>date</div></a>` stays one link).
        if self.table > 0 || self.inline_only() {
            self.space = true;
            return;
        }
        if self.brk < 2 {
            self.brk_quote = self.quote;
        }
        self.brk = 2;
        self.brk_quote = self.brk_quote.min(self.quote);
        self.space = false;
    }

    /// Writes what waits before text: a break with the next line's prefix, a marker, a
    /// space, opened inline markers.
    fn before_text(&mut self) {
        if self.brk > 0 && self.started {
            let quote = if self.md() {
                "> ".repeat(self.quote.min(self.brk_quote).min(MAX_NEST) as usize)
            } else {
                String::new()
            };
            if self.brk == 2 {
                self.out.push('\n');
                self.out.push_str(quote.trim_end());
            }
            self.out.push('\n');
            self.line_start = true;
        }
        self.brk = 0;
        if self.line_start {
            let mut p = self.prefix();
            if let Some(m) = self.marker.take() {
                // The item's own marker sits one level out.
                p.truncate(p.len().saturating_sub(4));
                p.push_str(&m);
            }
            self.out.push_str(&p);
            self.line_start = false;
            self.space = false;
            self.fresh = true;
        }
        self.started = true;
        if self.space {
            self.out.push(' ');
            self.space = false;
        }
        let o = std::mem::take(&mut self.opening);
        if !o.is_empty() {
            // A marker before the word (`*`, `[`, a heading's `## `): the word no longer
            // starts the line, where Markdown would read it as markup.
            self.fresh = false;
        }
        self.out.push_str(&o);
    }

    fn text(&mut self, raw: &str, last: bool) {
        if self.skip > 0 || self.media > 0 {
            return;
        }
        let mut s = std::mem::take(&mut self.carry);
        s.push_str(raw);
        if !last {
            // A text run may arrive in pieces: an entity or a word cut by a chunk boundary
            // waits for the rest (a word decides its own escaping: `1.` at a line's start).
            let cut = match s.rfind('&') {
                Some(i) if !s[i..].contains(';') && s.len() - i < 32 => Some(i),
                _ => None,
            };
            let word = s
                .rfind(|c: char| c.is_ascii_whitespace())
                .map_or(0, |i| i + 1)
                .max(s.len().saturating_sub(MAX_CARRY));
            let at = cut.map_or(word, |c| c.min(word));
            let at = (0..=at).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
            if self.pre == 0 || cut.is_some() {
                let at = if self.pre == 0 { at } else { cut.unwrap_or(at) };
                self.carry = s[at..].to_string();
                s.truncate(at);
            }
        }
        let s = crate::text::decode_entities(&s).into_owned();
        if self.pre > 0 {
            self.before_text();
            let prefix = self.prefix();
            for (i, line) in s.split('\n').enumerate() {
                if i > 0 {
                    self.out.push('\n');
                    self.out.push_str(&prefix);
                }
                self.out.push_str(line);
            }
            return;
        }
        if s.starts_with(|c: char| c.is_ascii_whitespace()) {
            self.space = true;
        }
        for (i, word) in s.split_ascii_whitespace().enumerate() {
            if i > 0 {
                self.space = true;
            }
            self.before_text();
            self.word(word);
        }
        if s.ends_with(|c: char| c.is_ascii_whitespace()) {
            self.space = true;
        }
    }

    /// One word, escaped for Markdown.
    fn word(&mut self, w: &str) {
        if !self.md() {
            self.fresh = false;
            self.out.push_str(w);
            return;
        }
        let at_line = std::mem::replace(&mut self.fresh, false);
        if self.code > 0 {
            // Inside a code span nothing is markup, and a backslash would show.
            self.out.push_str(w);
            return;
        }
        if self.heading && w.bytes().all(|b| b == b'#') {
            // A heading's last word of `#`s would be read as its closing sequence.
            self.out.push('\\');
        }
        for (i, c) in w.char_indices() {
            let escape = match c {
                '\\' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '|' => true,
                '&' => w[i + 1..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '#'),
                '#' | '-' | '+' | '=' | '~' => i == 0 && at_line,
                '.' | ')' => at_line && i > 0 && w[..i].bytes().all(|b| b.is_ascii_digit()),
                '!' => w[i + 1..].starts_with('['),
                _ => false,
            };
            if escape {
                self.out.push('\\');
            }
            self.out.push(c);
        }
    }

    fn inline_open(&mut self, marker: &str) {
        // A code block shows its text as it is: no markup inside.
        if self.skip == 0 && self.md() && self.pre == 0 {
            self.opening.push_str(marker);
        }
    }

    fn inline_close(&mut self, marker: &str) {
        if self.skip > 0 || !self.md() || self.pre > 0 {
            return;
        }
        if let Some(i) = self.opening.rfind(marker) {
            // Nothing was written inside: the pair is dropped.
            self.opening.truncate(i);
            return;
        }
        self.out.push_str(marker);
    }

    /// A start tag; whether its end tag is to be reported.
    fn start(&mut self, tag: &str, el: &Element) -> bool {
        if self.skip > 0 {
            // Raw text holds no elements; nothing else is skipped.
            return false;
        }
        if SKIP.contains(&tag) {
            self.skip += 1;
            return true;
        }
        if is_media(tag) {
            self.media += 1;
            return true;
        }
        if self.media > 0 && (BLOCK.contains(&tag) || CLOSES_MEDIA.contains(&tag)) {
            // A block starts: an `<audio>` left open in a `<p>` or `<li>` that HTML
            // closes here is closed too, and what follows is the page's again (this
            // writer sees end tags only as the page writes them). A fallback written as
            // blocks inside a closed `<video>` is shown then: text shown is the safe
            // side of text lost.
            self.media = 0;
        }
        match tag {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.block();
                if self.table == 0 && !self.inline_only() {
                    self.heading = true;
                    if self.md() {
                        let n = usize::from(tag.as_bytes()[1] - b'0');
                        self.opening.push_str(&"#".repeat(n));
                        self.opening.push(' ');
                    }
                }
            }
            "ul" | "ol" | "menu" if self.inline_only() => self.space = true,
            "ul" | "ol" | "menu" => {
                if self.lists.is_empty() {
                    self.block();
                } else {
                    // A list in an item: on the next line, indented.
                    self.brk = self.brk.max(1);
                }
                let start = el
                    .get_attribute("start")
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(1);
                self.lists.push((tag == "ol", start));
            }
            "li" => {
                if self.table > 0 || self.inline_only() {
                    self.space = true;
                    return true;
                }
                self.brk = self.brk.max(1);
                let m = match self.lists.last_mut() {
                    Some((true, n)) => {
                        let m = format!("{n}. ");
                        *n += 1;
                        m
                    }
                    _ => "- ".into(),
                };
                if self.lists.is_empty() {
                    self.lists.push((false, 1));
                }
                self.marker = Some(m);
            }
            "blockquote" => {
                self.block();
                if self.table == 0 {
                    self.quote += 1;
                }
            }
            "pre" => {
                self.block();
                if self.table == 0 {
                    if self.md() {
                        self.before_text();
                        self.out.push_str(FENCE);
                        self.out.push('\n');
                        self.out.push_str(&self.prefix());
                    }
                    self.pre += 1;
                }
            }
            "br" => {
                if self.pre > 0 {
                    self.out.push('\n');
                } else if self.table > 0 || self.heading {
                    self.space = true;
                } else if !self.line_start || self.brk > 0 {
                    if self.md() && self.brk == 0 {
                        self.out.push('\\');
                    }
                    self.brk = self.brk.max(1);
                }
            }
            "hr" => {
                self.block();
                if self.md() && self.table == 0 {
                    self.before_text();
                    self.out.push_str("* * *");
                    self.block();
                }
            }
            "em" | "i" | "cite" => self.inline_open("*"),
            "strong" | "b" => self.inline_open("**"),
            "code" | "kbd" | "samp" if self.pre == 0 => {
                self.inline_open("`");
                self.code += 1;
            }
            "a" => {
                if self.md()
                    && self.pre == 0
                    && let Some(href) = el.get_attribute("href")
                {
                    let href = crate::text::decode_entities(href.trim()).into_owned();
                    if !href.is_empty() && !href.starts_with("javascript:") {
                        // Written with the link's first text; `]` and the URL at its end.
                        self.opening.push('[');
                        self.links.push(self.out.len());
                    }
                }
            }
            "img" => {
                let src = el
                    .get_attribute("src")
                    .map(|s| crate::text::decode_entities(s.trim()).into_owned())
                    .filter(|s| !s.is_empty() && !s.starts_with("data:"));
                if let (true, Some(src)) = (self.md(), src) {
                    let alt = el.get_attribute("alt").unwrap_or_default();
                    let alt = crate::text::decode_entities(&alt)
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .replace(['[', ']'], "");
                    self.before_text();
                    self.out.push_str(&format!("![{alt}]({})", url(&src)));
                }
            }
            "table" => {
                self.block();
                self.table += 1;
                if self.table == 1 {
                    self.rows = 0;
                    self.in_row = false;
                }
            }
            "tr" if self.table == 1 => {
                self.end_row();
                self.in_row = true;
                self.cells = 0;
            }
            "td" | "th" if self.table == 1 => {
                if !self.in_row {
                    self.in_row = true;
                    self.cells = 0;
                }
                self.flush_span();
                if self.cells == 0 {
                    self.brk = self.brk.max(1);
                    self.before_text();
                    self.out.push_str(if self.md() { "|" } else { "" });
                    self.cells = 1;
                } else if self.md() && self.rows > 0 && self.cells >= self.first_cells {
                    // More cells than the header row: a Markdown table would drop them,
                    // so they join the last cell.
                    self.space = true;
                    return true;
                } else {
                    self.out.push_str(if self.md() { " |" } else { "\t" });
                    self.cells += 1;
                }
                self.space = self.md();
                if self.md() {
                    // A cell spanning columns is followed by empty ones, so rows line up.
                    self.span = el
                        .get_attribute("colspan")
                        .and_then(|v| v.trim().parse::<u32>().ok())
                        .map_or(0, |n| n.clamp(1, 16) - 1);
                }
            }
            t if BLOCK.contains(&t) => self.block(),
            _ => {}
        }
        true
    }

    fn end(&mut self, tag: &str, href: Option<&str>) {
        if self.skip > 0 {
            self.skip -= 1;
            return;
        }
        if is_media(tag) {
            self.media = self.media.saturating_sub(1);
            return;
        }
        match tag {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" if self.inline_only() => self.space = true,
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                // A heading's `#`s wait for its text; an empty heading leaves none.
                if let Some(i) = self.opening.find('#') {
                    self.opening.truncate(i);
                }
                self.heading = false;
                self.block();
            }
            "ul" | "ol" | "menu" if self.inline_only() => self.space = true,
            "ul" | "ol" | "menu" => {
                self.lists.pop();
                self.marker = None;
                if self.lists.is_empty() {
                    self.block();
                } else {
                    self.brk = self.brk.max(1);
                }
            }
            "li" => self.brk = self.brk.max(1),
            "blockquote" => {
                self.block();
                self.quote = self.quote.saturating_sub(1);
            }
            "pre" if self.pre > 0 => {
                self.pre -= 1;
                if self.md() && self.pre == 0 {
                    self.out.push('\n');
                    self.out.push_str(&self.prefix());
                    self.out.push_str(FENCE);
                }
                self.block();
            }
            "em" | "i" | "cite" => self.inline_close("*"),
            "strong" | "b" => self.inline_close("**"),
            "code" | "kbd" | "samp" if self.pre == 0 => {
                self.code = self.code.saturating_sub(1);
                self.inline_close("`");
            }
            "a" => {
                if let (Some(_), Some(href)) = (self.links.pop(), href) {
                    if let Some(i) = self.opening.rfind('[') {
                        // Nothing inside: no link.
                        self.opening.truncate(i);
                    } else {
                        self.out.push_str(&format!("]({})", url(href)));
                    }
                }
            }
            "table" => {
                if self.table == 1 {
                    self.end_row();
                }
                self.table = self.table.saturating_sub(1);
                self.block();
            }
            "tr" if self.table == 1 => self.end_row(),
            t if BLOCK.contains(&t) => self.block(),
            _ => {}
        }
    }

    /// Writes the empty cells a spanning cell stands for (within the header's width).
    fn flush_span(&mut self) {
        while self.span > 0 && (self.rows == 0 || self.cells < self.first_cells) {
            self.out.push_str(" |");
            self.cells += 1;
            self.span -= 1;
        }
        self.span = 0;
    }

    fn end_row(&mut self) {
        if !self.in_row || self.cells == 0 {
            self.in_row = false;
            self.span = 0;
            return;
        }
        self.flush_span();
        if self.md() {
            self.out.push_str(" |");
            if self.rows == 0 {
                self.first_cells = self.cells;
                self.out.push('\n');
                self.out.push_str(&self.prefix());
                self.out.push('|');
                for _ in 0..self.cells {
                    self.out.push_str(" --- |");
                }
            }
        }
        self.rows += 1;
        self.in_row = false;
        self.cells = 0;
        self.brk = 1;
        self.space = false;
    }
}

/// A URL as a Markdown link destination: in `<…>` when it holds spaces or parentheses.
fn url(u: &str) -> String {
    if u.contains([' ', '(', ')', '<', '>']) {
        format!("<{}>", u.replace(['<', '>'], ""))
    } else {
        u.to_string()
    }
}

/// Streams HTML into Markdown or text: write the HTML (any chunks), then
/// [`finish`](super::stream::Stream::finish).
pub type Converter<'w> = Stream<'w, State>;

impl<'w> Converter<'w> {
    /// `encoding`: the HTML's (the page's own); the output is UTF-8.
    pub fn new(
        style: Style,
        encoding: &'static encoding_rs::Encoding,
        out: &'w mut dyn Write,
    ) -> Converter<'w> {
        Stream::with(State::new(style), encoding, out)
    }
}

impl Output for State {
    /// The tag, and a link's target.
    type Open = (String, Option<String>);

    fn start(&mut self, el: &Element) -> Option<Self::Open> {
        let tag = el.tag_name();
        let href = (tag == "a").then(|| el.get_attribute("href")).flatten();
        self.start(&tag, el).then_some((tag, href))
    }

    fn end_tag(&mut self, (tag, href): Self::Open) {
        let href = href.map(|h| crate::text::decode_entities(h.trim()).into_owned());
        self.end(&tag, href.as_deref());
    }

    fn no_end_tag(&mut self, (tag, _): Self::Open) {
        if SKIP.contains(&tag.as_str()) {
            // A skipped element with no end tag to come.
            self.skip = self.skip.saturating_sub(1);
        } else if is_media(&tag) {
            self.media = self.media.saturating_sub(1);
        }
    }

    fn text(&mut self, raw: &str, last: bool) {
        State::text(self, raw, last);
    }

    fn take(&mut self) -> String {
        std::mem::take(&mut self.out)
    }

    /// The output ends with one newline.
    fn end(&mut self) {
        let carry = std::mem::take(&mut self.carry);
        if !carry.is_empty() {
            self.text(&carry, true);
        }
        let trimmed = self.out.trim_end().len();
        self.out.truncate(trimmed);
        self.out.push('\n');
    }
}

/// Converts a whole HTML document (UTF-8) at once: for tests and `pare explain`.
pub fn convert(html: &[u8], style: Style) -> String {
    let mut v = Vec::new();
    let mut c = Converter::new(style, encoding_rs::UTF_8, &mut v);
    c.write_all(html).expect("in memory");
    c.finish().expect("in memory");
    String::from_utf8(v).expect("utf-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fallback_text_of_audio_and_video_is_left_out() {
        let html = b"<p>Before</p><audio src=/a.mp3>Your browser does not support the audio element.</audio>\
<video>No video.</video><p>After</p>";
        assert_eq!(convert(html, Style::Markdown), "Before\n\nAfter\n");
        assert_eq!(convert(html, Style::Text), "Before\n\nAfter\n");
        // Left open by a page: the text after it is the page's again when an ancestor ends.
        let open = b"<div><audio>fallback</div><p>After</p>";
        assert_eq!(convert(open, Style::Markdown), "After\n");
        // Left open in a paragraph or a list item that the next block closes.
        let in_p = b"<p>Listen: <audio src=/a.mp3>Fallback<p>First.</p><p>Second.</p>";
        assert_eq!(
            convert(in_p, Style::Markdown),
            "Listen:\n\nFirst.\n\nSecond.\n"
        );
        let in_li = b"<ul><li>One <video src=/v.mp4><li>Two</ul>";
        assert_eq!(convert(in_li, Style::Markdown), "- One\n- Two\n");
    }

    #[test]
    fn blocks_and_inlines() {
        let md = convert(
            b"<h2>Title  here</h2><p>One <em>two</em> <strong> three </strong> \
<a href=\"/x\">link</a> and <code>a_b</code>.</p><p>Next&nbsp;para &amp; more</p>",
            Style::Markdown,
        );
        assert_eq!(
            md,
            "## Title here\n\nOne *two* **three** [link](/x) and `a_b`.\n\nNext\u{a0}para & more\n"
        );
    }

    #[test]
    fn lists_quotes_and_code() {
        let md = convert(
            b"<ul><li>a</li><li>b<ol><li>c</li><li>d</li></ol></li></ul>\
<blockquote><p>q1</p><p>q2</p></blockquote><pre>x  = 1\n  y</pre>",
            Style::Markdown,
        );
        assert_eq!(
            md,
            "- a\n- b\n    1. c\n    2. d\n\n> q1\n>\n> q2\n\n````\nx  = 1\n  y\n````\n"
        );
    }

    #[test]
    fn tables_images_and_text() {
        let html = b"<table><tr><th>k</th><th>v</th></tr><tr><td>a</td><td>1|2</td></tr></table>\
<p><img src=\"/i.png\" alt=\"An [image]\"></p><script>var x;</script><p>end</p>";
        assert_eq!(
            convert(html, Style::Markdown),
            "| k | v |\n| --- | --- |\n| a | 1\\|2 |\n\n![An image](/i.png)\n\nend\n"
        );
        assert_eq!(convert(html, Style::Text), "k\tv\na\t1|2\n\nend\n");
    }

    #[test]
    fn code_spans_hashes_and_deep_quotes_render_as_written() {
        assert_eq!(
            convert(
                b"<h2>Issue #</h2><p>Use <code>a_b &lt;i&gt;</code> here.</p>",
                Style::Markdown
            ),
            "## Issue \\#\n\nUse `a_b <i>` here.\n"
        );
        let deep = format!("{}<p>deep</p>", "<blockquote>".repeat(30));
        assert_eq!(
            convert(deep.as_bytes(), Style::Markdown),
            format!("{}deep\n", "> ".repeat(8))
        );
    }

    #[test]
    fn table_rows_line_up_with_the_header() {
        assert_eq!(
            convert(
                b"<table><tr><th colspan=2>Both</th></tr><tr><td>a</td><td>b</td><td>c</td></tr></table>",
                Style::Markdown
            ),
            "| Both | |\n| --- | --- |\n| a | b c |\n"
        );
    }

    #[test]
    fn blocks_inside_a_link_stay_inside_it() {
        assert_eq!(
            convert(
                b"<ul><li><a href=\"/s\"><h3>Title</h3><div>2 hours ago</div></a></li></ul>",
                Style::Markdown
            ),
            "- [Title 2 hours ago](/s)\n"
        );
    }

    #[test]
    fn empty_links_and_emphasis_leave_nothing() {
        assert_eq!(
            convert(b"<p>a <a href=\"/x\"> </a><em></em>b</p>", Style::Markdown),
            "a b\n"
        );
    }
}
