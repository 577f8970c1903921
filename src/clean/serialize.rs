//! A reading copy's HTML, written anew: the kept bytes of the page go through lol_html
//! and every element, attribute and text run is written out again, in UTF-8, so that
//! the copy parses as HTML5 without errors whatever the page's own markup was.
//!
//! What changes on the way: comments and doctypes are left out; text is re-escaped
//! (`&`, `<`, `>`) after its character references are decoded, and control characters
//! go; attributes are kept only when a reader uses them (`href`, `src`, `alt`, `title`,
//! `datetime`, table spans …), once each, quoted; the elements whose content is no text
//! (`script`, `style`, `svg`, `template`, frames) go with it; `html`, `head` and `body`
//! tags inside the content are dropped; end tags are written where HTML would close an
//! element — an open `<p>` before a block, an `<li>` before the next — and stray or
//! misnested ones are left out or put in order; whatever is still open at the end is
//! closed. Memory is the stack of open elements and one chunk of output.

use std::io::Write;

use lol_html::html_content::Element;

use super::stream::{Output, Stream, is_media};

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

/// How many of the innermost open elements HTML's scope searches look through.
const SCOPE_DEPTH: usize = 256;

/// Void elements: a start tag and nothing else.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// Elements whose start tag closes an open `<p>` (HTML's list, less what never reaches
/// a reading copy).
const CLOSES_P: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "ul",
    "li",
    "dd",
    "dt",
];

/// Attributes a reading copy keeps on every element.
const COMMON_ATTRS: &[&str] = &["id", "title", "lang", "dir"];

/// And those it keeps on some elements.
fn element_attrs(tag: &str) -> &'static [&'static str] {
    match tag {
        "a" => &["href", "name"],
        "img" => &["src", "srcset", "sizes", "alt", "width", "height"],
        "source" => &["src", "srcset", "sizes", "type", "media"],
        "video" | "audio" => &["src", "poster", "controls"],
        "td" | "th" => &["colspan", "rowspan", "headers", "scope", "abbr"],
        "col" | "colgroup" => &["span"],
        "time" | "del" | "ins" => &["datetime", "cite"],
        "q" | "blockquote" => &["cite"],
        "ol" => &["start", "reversed", "type"],
        "li" => &["value"],
        _ => &[],
    }
}

struct Open {
    tag: String,
    /// The element's number, matched by its end tag's handler.
    n: u64,
}

/// The serializer's state.
pub struct State {
    out: String,
    stack: Vec<Open>,
    next: u64,
    skip: u32,
    /// Open `<audio>` and `<video>` elements: their text is the fallback for browsers
    /// that play neither, left out (their `<source>` and `<track>` stay).
    media: u32,
    /// Inside an `<svg>` (left out with what it holds): its number, and the stack's
    /// depth when it opened (an ancestor's end tag ends it too, if its own never comes).
    svg: Option<(u64, usize)>,
    carry: String,
}

impl State {
    fn close_to(&mut self, i: usize) {
        while self.stack.len() > i {
            let o = self.stack.pop().expect("non-empty");
            if is_media(&o.tag) {
                self.media -= 1;
            }
            self.out.push_str("</");
            self.out.push_str(&o.tag);
            self.out.push('>');
        }
    }

    /// The index of the innermost open `tag` above the first of `bounds`.
    fn open_in_scope(&self, tag: &[&str], bounds: &[&str]) -> Option<usize> {
        // Only the innermost elements are searched: a page nested a hundred thousand
        // deep would otherwise cost a search of them all at every start tag.
        for (i, o) in self.stack.iter().enumerate().rev().take(SCOPE_DEPTH) {
            if tag.contains(&o.tag.as_str()) {
                return Some(i);
            }
            if bounds.contains(&o.tag.as_str()) {
                return None;
            }
        }
        None
    }

    /// Closes what HTML closes before a `tag` start tag.
    fn implied_ends(&mut self, tag: &str) {
        const SCOPE: &[&str] = &[
            "table", "td", "th", "caption", "html", "template", "button", "marquee",
        ];
        if CLOSES_P.contains(&tag)
            && let Some(i) = self.open_in_scope(&["p"], SCOPE)
        {
            self.close_to(i);
        }
        let found = match tag {
            "li" => self.open_in_scope(&["li"], &["ul", "ol", "menu", "table"]),
            "dt" | "dd" => self.open_in_scope(&["dt", "dd"], &["dl", "table"]),
            "td" | "th" => self.open_in_scope(&["td", "th"], &["tr", "table"]),
            // A row closes the open row (and its cells); a table section the open section
            // (or, outside one, the open row).
            "tr" => self.open_in_scope(&["tr"], &["table", "tbody", "thead", "tfoot"]),
            "tbody" | "thead" | "tfoot" => self
                .open_in_scope(&["tbody", "thead", "tfoot"], &["table"])
                .or_else(|| self.open_in_scope(&["tr"], &["table"])),
            "a" => self.open_in_scope(&["a"], &[]),
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => self
                .stack
                .last()
                .filter(|o| matches!(o.tag.as_str(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6"))
                .map(|_| self.stack.len() - 1),
            "option" => self.open_in_scope(&["option"], &["select"]),
            _ => None,
        };
        if let Some(i) = found {
            self.close_to(i);
        }
    }

    /// Opens what a table part needs around it when the kept bytes begin inside a table
    /// (the article is a `<tbody>` or a `<td>` of a layout table).
    fn table_context(&mut self, tag: &str) {
        const PARTS: &[&str] = &[
            "tbody", "thead", "tfoot", "tr", "td", "th", "caption", "col", "colgroup",
        ];
        if !PARTS.contains(&tag) {
            return;
        }
        if self.open_in_scope(&["table"], &[]).is_none() {
            self.open_synthetic("table");
        }
        if matches!(tag, "td" | "th") && self.open_in_scope(&["tr"], &["table"]).is_none() {
            self.open_synthetic("tr");
        }
    }

    /// Opens a row and a cell for what may not stand directly in a table (HTML would
    /// move it out of the table, an error): an element that is no part of a table, or
    /// text (`#text`).
    fn cell_context(&mut self, tag: &str) {
        const TABLE_CONTENT: &[&str] = &[
            "tbody", "thead", "tfoot", "tr", "td", "th", "caption", "col", "colgroup", "script",
            "style", "template", "form", "input",
        ];
        let Some(top) = self.stack.last() else { return };
        if TABLE_CONTENT.contains(&tag) {
            return;
        }
        match top.tag.as_str() {
            "table" | "tbody" | "thead" | "tfoot" => {
                self.open_synthetic("tr");
                self.open_synthetic("td");
            }
            "tr" => self.open_synthetic("td"),
            _ => {}
        }
    }

    fn open_synthetic(&mut self, tag: &str) {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
        self.next += 1;
        self.stack.push(Open {
            tag: tag.to_string(),
            n: self.next,
        });
    }

    /// A start tag; returns the element's number when it is open (it has content).
    fn start(&mut self, el: &Element) -> Option<u64> {
        let mut tag = el.tag_name();
        if tag == "image" {
            // HTML reads `<image>` as `<img>`.
            tag = "img".to_string();
        }
        if self.skip > 0 || self.svg.is_some() {
            return None;
        }
        if SKIP.contains(&tag.as_str()) {
            self.skip += 1;
            return Some(0);
        }
        if tag == "svg" {
            // A drawing: its shapes are no text, and its markup is XML's.
            self.next += 1;
            self.svg = Some((self.next, self.stack.len()));
            return Some(self.next);
        }
        let name_ok = !tag.is_empty()
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if matches!(tag.as_str(), "html" | "body" | "head") || !name_ok {
            return None;
        }
        self.implied_ends(&tag);
        self.table_context(&tag);
        self.cell_context(&tag);
        self.out.push('<');
        self.out.push_str(&tag);
        // Looked up by name, each once (the first if a page writes one twice): most
        // attributes — class, style, data-* — are never read.
        for &name in COMMON_ATTRS.iter().chain(element_attrs(&tag)) {
            let Some(raw) = el.get_attribute(name) else {
                continue;
            };
            let value = crate::text::decode_entities(&raw);
            if matches!(name, "href" | "src")
                && value
                    .trim_start()
                    .get(..11)
                    .is_some_and(|p| p.eq_ignore_ascii_case("javascript:"))
            {
                continue;
            }
            self.out.push(' ');
            self.out.push_str(name);
            self.out.push_str("=\"");
            push_escaped(&mut self.out, &value, true);
            self.out.push('"');
        }
        self.out.push('>');
        if VOID.contains(&tag.as_str()) || !el.can_have_content() {
            // Its end tag (`</image>`, `</br>` …) is no element's: no handler for it.
            return None;
        }
        self.next += 1;
        if is_media(&tag) {
            self.media += 1;
        }
        self.stack.push(Open { tag, n: self.next });
        Some(self.next)
    }

    /// Where element `n` is on the stack, if still open (numbers grow up the stack).
    fn position(&self, n: u64) -> Option<usize> {
        self.stack.binary_search_by_key(&n, |o| o.n).ok()
    }

    fn end(&mut self, n: u64) {
        if n == 0 {
            self.skip = self.skip.saturating_sub(1);
            return;
        }
        if let Some((svg, depth)) = self.svg {
            if svg == n {
                self.svg = None;
                return;
            }
            match self.position(n) {
                Some(i) if i < depth => self.svg = None,
                _ => return,
            }
        }
        if let Some(i) = self.position(n) {
            self.close_to(i);
        }
    }

    fn text(&mut self, raw: &str, last: bool) {
        if self.skip > 0 || self.svg.is_some() || self.media > 0 {
            return;
        }
        // A reference cut by the chunk's end waits for the rest (`carry`).
        let joined;
        let mut s = raw;
        if !self.carry.is_empty() {
            let mut j = std::mem::take(&mut self.carry);
            j.push_str(raw);
            joined = j;
            s = &joined;
        }
        if !last
            && let Some(i) = s.rfind('&')
            && !s[i..].contains(';')
            && s.len() - i < 32
        {
            self.carry = s[i..].to_string();
            s = &s[..i];
        }
        let decoded = crate::text::decode_entities(s);
        if !decoded.trim().is_empty() {
            self.cell_context("#text");
        }
        push_escaped(&mut self.out, &decoded, false);
    }
}

/// Appends `s` escaped for HTML text (or a double-quoted attribute value), without the
/// control characters HTML does not allow. Runs of characters that go through as they
/// are (nearly all of a page's text) are copied whole.
pub(super) fn push_escaped(out: &mut String, s: &str, attr: bool) {
    let b = s.as_bytes();
    let (mut i, mut run) = (0, 0);
    while i < b.len() {
        let plain = match b[i] {
            b'&' | b'<' | b'>' => false,
            b'"' => !attr,
            0x20..=0x7E | b'\t' | b'\n' | b'\r' | 0x0C => true,
            0x80.. => {
                let c = s[i..].chars().next().expect("a char starts here");
                if kept_as_is(c) {
                    i += c.len_utf8();
                    continue;
                }
                false
            }
            _ => false,
        };
        if plain {
            i += 1;
            continue;
        }
        out.push_str(&s[run..i]);
        let c = s[i..].chars().next().expect("a char starts here");
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => {} // a control character or a noncharacter: left out
        }
        i += c.len_utf8();
        run = i;
    }
    out.push_str(&s[run..]);
}

/// Whether a character other than the escaped ones goes into the output as it is: not a
/// control character (tab, line feed, form feed and carriage return excepted) and not a
/// noncharacter.
fn kept_as_is(c: char) -> bool {
    match c {
        '\t' | '\n' | '\r' | '\u{C}' => true,
        c if c.is_control() => false,
        '\u{FDD0}'..='\u{FDEF}' => false,
        c if (c as u32) & 0xFFFE == 0xFFFE => false,
        _ => true,
    }
}

/// Streams HTML into clean HTML: write the page's bytes (any chunks), then
/// [`finish`](super::stream::Stream::finish).
pub type Serializer<'w> = Stream<'w, State>;

impl<'w> Serializer<'w> {
    /// `encoding`: the page's; the output is UTF-8.
    pub fn new(encoding: &'static encoding_rs::Encoding, out: &'w mut dyn Write) -> Self {
        let state = State {
            out: String::new(),
            stack: Vec::new(),
            next: 0,
            skip: 0,
            media: 0,
            svg: None,
            carry: String::new(),
        };
        Stream::with(state, encoding, out)
    }
}

impl Output for State {
    /// The element's number (0: a skipped one).
    type Open = u64;

    fn start(&mut self, el: &Element) -> Option<u64> {
        State::start(self, el)
    }

    fn end_tag(&mut self, n: u64) {
        self.end(n);
    }

    fn no_end_tag(&mut self, n: u64) {
        if n == 0 {
            // A skipped element with no end tag to come.
            self.end(0);
        }
    }

    fn text(&mut self, raw: &str, last: bool) {
        State::text(self, raw, last);
    }

    fn take(&mut self) -> String {
        std::mem::take(&mut self.out)
    }

    /// Closes what is still open.
    fn end(&mut self) {
        let carry = std::mem::take(&mut self.carry);
        if !carry.is_empty() {
            self.text(&carry, true);
        }
        self.close_to(0);
    }
}

/// Serializes a whole fragment (UTF-8) at once: for tests.
pub fn serialize(html: &[u8]) -> String {
    let mut v = Vec::new();
    let mut s = Serializer::new(encoding_rs::UTF_8, &mut v);
    s.write_all(html).expect("in memory");
    s.finish().expect("in memory");
    String::from_utf8(v).expect("utf-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_by_runs_writes_what_escaping_each_character_writes() {
        // The definition, one character at a time.
        fn each(s: &str, attr: bool) -> String {
            let mut out = String::new();
            for c in s.chars() {
                match c {
                    '&' => out.push_str("&amp;"),
                    '<' => out.push_str("&lt;"),
                    '>' => out.push_str("&gt;"),
                    '"' if attr => out.push_str("&quot;"),
                    '\t' | '\n' | '\r' | '\u{C}' => out.push(c),
                    c if c.is_control() => {}
                    '\u{FDD0}'..='\u{FDEF}' => {}
                    c if (c as u32) & 0xFFFE == 0xFFFE => {}
                    c => out.push(c),
                }
            }
            out
        }
        let mut every: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        every.extend([
            '\u{FDD0}',
            '\u{FDEF}',
            '\u{FFFE}',
            '\u{FFFF}',
            '\u{1FFFE}',
            '😀',
        ]);
        let cases = [
            "plain text, nothing to do",
            "Tom & Jerry <b>\"quoted\"</b> > less",
            "tabs\tand\nlines\r\u{C}form\u{0}nul\u{7}bell\u{7F}del\u{85}nel",
            "Привет, мир — «кавычки» & 日本語のテキスト",
            "\u{FDD0}x\u{FFFE}y\u{10FFFF}z\u{9F}",
            "",
            &every,
        ];
        for s in cases {
            for attr in [false, true] {
                let mut got = String::new();
                push_escaped(&mut got, s, attr);
                assert_eq!(got, each(s, attr), "{s:?} (attribute: {attr})");
            }
        }
        let mut got = String::new();
        push_escaped(&mut got, "a\u{0}b&\"", true);
        assert_eq!(got, "ab&amp;&quot;");
    }

    #[test]
    fn implied_and_stray_end_tags_are_put_in_order() {
        assert_eq!(
            serialize(b"<p>one<div>two</span></div></p><ul><li>a<li>b</ul>"),
            "<p>one</p><div>two</div><ul><li>a</li><li>b</li></ul>"
        );
        assert_eq!(serialize(b"<div><b>x</div>y</b>"), "<div><b>x</b></div>y");
    }

    #[test]
    fn a_page_nested_very_deep_is_written_in_one_pass() {
        // 60,000 open list items: each start tag searches only the innermost elements
        // (searching them all would be 1.8 billion steps).
        let n = 60_000;
        let page = format!("{}x", "<ul><li>".repeat(n));
        let out = serialize(page.as_bytes());
        assert!(out.starts_with("<ul><li><ul><li>"));
        assert!(out.ends_with(&format!("x{}", "</li></ul>".repeat(n))));
    }

    #[test]
    fn the_fallback_text_of_audio_and_video_is_left_out() {
        assert_eq!(
            serialize(
                b"<p>Before</p><audio src=/a.mp3 controls>Your browser does not support the audio \
element.</audio><video src=/v.mp4><source src=/v.webm>No video <b>here</b>.</video><p>After</p>"
            ),
            "<p>Before</p><audio src=\"/a.mp3\" controls=\"\"></audio><video src=\"/v.mp4\"><source src=\"/v.webm\"><b></b></video><p>After</p>"
        );
    }

    #[test]
    fn text_attributes_and_what_is_left_out() {
        assert_eq!(
            serialize(
                b"<!-- c -- d --><p class=x onclick=go() title='a \"q\"' title=b>AT&T &amp; \x01<b>\
&lt;ok&gt;</b></p><script>if (a < b) {}</script><img src=/i.png alt=\"i\"/>\
<a href=\"javascript:x()\">l</a>"
            ),
            "<p title=\"a &quot;q&quot;\">AT&amp;T &amp; <b>&lt;ok&gt;</b></p><img src=\"/i.png\" alt=\"i\"><a>l</a>"
        );
    }
}
