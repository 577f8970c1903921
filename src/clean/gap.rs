//! The raw input between the start tags lol_html reports: text and end tags.
//!
//! lol_html tells the finder where every start tag is (with its attributes parsed). The
//! bytes in between hold text, end tags, comments and doctypes, and this module reads
//! them itself: text runs go to the finder's normalizer, end tags are handed back one
//! at a time so the finder can close elements in order. Doing this here rather than
//! through lol_html's text and end-tag handlers spares a decoded string per text chunk
//! and a boxed closure per element (measured on the corpus: together more than half of
//! the finder's time).
//!
//! Inside raw-text elements (`script`, `style`, `title`, …) only the element's own end
//! tag is looked for, as the HTML tokenizer does.

/// What HTML's parsing rules say of a tag, as bits of [`TagName::is`].
pub mod flag {
    /// Content parsed but not shown: `template`, `head`, `select`, `object`.
    pub const HIDDEN: u16 = 1 << 0;
    /// Raw text, ended only by the element's own end tag: `script`, `style`, `title`, ….
    pub const RAW_TEXT: u16 = 1 << 1;
    /// Inline: text on both sides runs on (`a`, `span`, `em`, …).
    pub const INLINE: u16 = 1 << 2;
    /// Closes an open `<p>` (HTML's "close a p element" list).
    pub const CLOSES_P: u16 = 1 << 3;
    /// Bounds the scope in which `p`, `li`, `dd` close implicitly (`table`, `td`, …).
    pub const SCOPE: u16 = 1 << 4;
    /// `h1` … `h6`.
    pub const HEADING: u16 = 1 << 5;
    /// Never removed by a generic rule: `html`, `head`, `body`, `main`, `article`.
    pub const PROTECTED: u16 = 1 << 6;
}

/// A tag name, lowercased: a shared static string for the tags pages use (no allocation,
/// no copy) with what HTML's rules say of it, an owned one for anything else.
#[derive(Clone, Eq)]
pub enum TagName {
    Known(&'static str, u16),
    Other(Box<str>),
}

/// The longest name in [`known_tag`].
const KNOWN_MAX: usize = 14;

/// The static name of a common tag, given lowercased, and its [`flag`]s.
fn known_tag(lower: &[u8]) -> Option<(&'static str, u16)> {
    Some(match lower {
        b"a" => ("a", flag::INLINE),
        b"abbr" => ("abbr", flag::INLINE),
        b"address" => ("address", flag::CLOSES_P),
        b"area" => ("area", 0),
        b"article" => ("article", flag::CLOSES_P | flag::PROTECTED),
        b"aside" => ("aside", flag::CLOSES_P),
        b"audio" => ("audio", 0),
        b"b" => ("b", flag::INLINE),
        b"base" => ("base", 0),
        b"bdi" => ("bdi", flag::INLINE),
        b"bdo" => ("bdo", flag::INLINE),
        b"blockquote" => ("blockquote", flag::CLOSES_P),
        b"body" => ("body", flag::PROTECTED),
        b"br" => ("br", 0),
        b"button" => ("button", flag::SCOPE),
        b"canvas" => ("canvas", 0),
        b"caption" => ("caption", flag::SCOPE),
        b"center" => ("center", flag::CLOSES_P),
        b"cite" => ("cite", flag::INLINE),
        b"code" => ("code", flag::INLINE),
        b"col" => ("col", 0),
        b"colgroup" => ("colgroup", 0),
        b"data" => ("data", flag::INLINE),
        b"datalist" => ("datalist", 0),
        b"dd" => ("dd", flag::CLOSES_P),
        b"del" => ("del", 0),
        b"details" => ("details", flag::CLOSES_P),
        b"dfn" => ("dfn", flag::INLINE),
        b"dialog" => ("dialog", flag::CLOSES_P),
        b"dir" => ("dir", flag::CLOSES_P),
        b"div" => ("div", flag::CLOSES_P),
        b"dl" => ("dl", flag::CLOSES_P),
        b"dt" => ("dt", flag::CLOSES_P),
        b"em" => ("em", flag::INLINE),
        b"embed" => ("embed", 0),
        b"fieldset" => ("fieldset", flag::CLOSES_P),
        b"figcaption" => ("figcaption", flag::CLOSES_P),
        b"figure" => ("figure", flag::CLOSES_P),
        b"font" => ("font", flag::INLINE),
        b"footer" => ("footer", flag::CLOSES_P),
        b"form" => ("form", flag::CLOSES_P),
        b"frame" => ("frame", 0),
        b"frameset" => ("frameset", 0),
        b"h1" => ("h1", flag::CLOSES_P | flag::HEADING),
        b"h2" => ("h2", flag::CLOSES_P | flag::HEADING),
        b"h3" => ("h3", flag::CLOSES_P | flag::HEADING),
        b"h4" => ("h4", flag::CLOSES_P | flag::HEADING),
        b"h5" => ("h5", flag::CLOSES_P | flag::HEADING),
        b"h6" => ("h6", flag::CLOSES_P | flag::HEADING),
        b"head" => ("head", flag::HIDDEN | flag::PROTECTED),
        b"header" => ("header", flag::CLOSES_P),
        b"hgroup" => ("hgroup", flag::CLOSES_P),
        b"hr" => ("hr", flag::CLOSES_P),
        b"html" => ("html", flag::SCOPE | flag::PROTECTED),
        b"i" => ("i", flag::INLINE),
        b"iframe" => ("iframe", flag::RAW_TEXT),
        b"img" => ("img", 0),
        b"input" => ("input", 0),
        b"ins" => ("ins", 0),
        b"kbd" => ("kbd", flag::INLINE),
        b"label" => ("label", 0),
        b"legend" => ("legend", 0),
        b"li" => ("li", flag::CLOSES_P),
        b"link" => ("link", 0),
        b"listing" => ("listing", flag::CLOSES_P),
        b"main" => ("main", flag::CLOSES_P | flag::PROTECTED),
        b"map" => ("map", 0),
        b"mark" => ("mark", flag::INLINE),
        b"marquee" => ("marquee", flag::SCOPE),
        b"math" => ("math", flag::SCOPE),
        b"menu" => ("menu", flag::CLOSES_P),
        b"meta" => ("meta", 0),
        b"meter" => ("meter", 0),
        b"nav" => ("nav", flag::CLOSES_P),
        b"noembed" => ("noembed", flag::RAW_TEXT),
        b"noframes" => ("noframes", flag::RAW_TEXT),
        b"noscript" => ("noscript", flag::RAW_TEXT),
        b"object" => ("object", flag::HIDDEN | flag::SCOPE),
        b"ol" => ("ol", flag::CLOSES_P),
        b"optgroup" => ("optgroup", 0),
        b"option" => ("option", 0),
        b"output" => ("output", 0),
        b"p" => ("p", flag::CLOSES_P),
        b"param" => ("param", 0),
        b"picture" => ("picture", 0),
        b"plaintext" => ("plaintext", flag::CLOSES_P),
        b"pre" => ("pre", flag::CLOSES_P),
        b"progress" => ("progress", 0),
        b"q" => ("q", flag::INLINE),
        b"rp" => ("rp", 0),
        b"rt" => ("rt", 0),
        b"ruby" => ("ruby", 0),
        b"s" => ("s", flag::INLINE),
        b"samp" => ("samp", flag::INLINE),
        b"script" => ("script", flag::RAW_TEXT),
        b"search" => ("search", 0),
        b"section" => ("section", flag::CLOSES_P),
        b"select" => ("select", flag::HIDDEN),
        b"slot" => ("slot", 0),
        b"small" => ("small", flag::INLINE),
        b"source" => ("source", 0),
        b"span" => ("span", flag::INLINE),
        b"strike" => ("strike", 0),
        b"strong" => ("strong", flag::INLINE),
        b"style" => ("style", flag::RAW_TEXT),
        b"sub" => ("sub", flag::INLINE),
        b"summary" => ("summary", flag::CLOSES_P),
        b"sup" => ("sup", flag::INLINE),
        b"svg" => ("svg", flag::SCOPE),
        b"table" => ("table", flag::CLOSES_P | flag::SCOPE),
        b"tbody" => ("tbody", 0),
        b"td" => ("td", flag::SCOPE),
        b"template" => ("template", flag::HIDDEN | flag::SCOPE),
        b"textarea" => ("textarea", flag::RAW_TEXT),
        b"tfoot" => ("tfoot", 0),
        b"th" => ("th", flag::SCOPE),
        b"thead" => ("thead", 0),
        b"time" => ("time", flag::INLINE),
        b"title" => ("title", flag::RAW_TEXT),
        b"tr" => ("tr", 0),
        b"track" => ("track", 0),
        b"tt" => ("tt", 0),
        b"u" => ("u", flag::INLINE),
        b"ul" => ("ul", flag::CLOSES_P),
        b"var" => ("var", flag::INLINE),
        b"video" => ("video", 0),
        b"wbr" => ("wbr", flag::INLINE),
        b"xmp" => ("xmp", flag::RAW_TEXT | flag::CLOSES_P),
        b"applet" => ("applet", flag::SCOPE),
        b"g" => ("g", 0),
        b"path" => ("path", 0),
        b"use" => ("use", 0),
        b"symbol" => ("symbol", 0),
        b"defs" => ("defs", 0),
        b"rect" => ("rect", 0),
        b"circle" => ("circle", 0),
        b"line" => ("line", 0),
        b"polygon" => ("polygon", 0),
        b"polyline" => ("polyline", 0),
        b"ellipse" => ("ellipse", 0),
        b"lineargradient" => ("lineargradient", 0),
        b"stop" => ("stop", 0),
        b"clippath" => ("clippath", 0),
        b"mask" => ("mask", 0),
        b"image" => ("image", 0),
        _ => return None,
    })
}

impl TagName {
    /// From raw bytes (ASCII-lowercased).
    pub fn new(raw: &[u8]) -> TagName {
        if raw.len() <= KNOWN_MAX {
            let mut buf = [0u8; KNOWN_MAX];
            for (d, s) in buf.iter_mut().zip(raw) {
                *d = s.to_ascii_lowercase();
            }
            if let Some((k, f)) = known_tag(&buf[..raw.len()]) {
                return TagName::Known(k, f);
            }
        }
        TagName::Other(String::from_utf8_lossy(raw).to_lowercase().into_boxed_str())
    }

    pub fn as_str(&self) -> &str {
        match self {
            TagName::Known(k, _) => k,
            TagName::Other(o) => o,
        }
    }

    /// Whether the tag has all of `f` (bits of [`flag`]); tags HTML gives no rule are
    /// none of these.
    pub fn is(&self, f: u16) -> bool {
        matches!(self, TagName::Known(_, have) if have & f == f)
    }
}

impl PartialEq for TagName {
    fn eq(&self, other: &TagName) -> bool {
        match (self, other) {
            // Each known name is one static string (`known_tag` is the only maker of
            // `Known`), so two known names are the same exactly when their strings are
            // the same object: no byte comparison on the end-tag and stack paths.
            (TagName::Known(a, _), TagName::Known(b, _)) => std::ptr::eq(*a, *b),
            _ => self.as_str() == other.as_str(),
        }
    }
}

impl std::ops::Deref for TagName {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for TagName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for TagName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name of a tag at the start of `b` (after `<` or `</`).
pub fn tag_name_len(b: &[u8]) -> usize {
    b.iter()
        .position(|&c| c.is_ascii_whitespace() || c == b'/' || c == b'>')
        .unwrap_or(b.len())
}

/// Finds the attributes of the start tag `tag` (its bytes, `<` to `>`, starting at
/// absolute offset `base`), as HTML's tokenizer splits them: `out` gets (name start,
/// name end, value start, value end) for each, the value without its quotes (empty, at
/// the name's end, when there is none).
pub fn scan_attributes(tag: &[u8], base: u64, out: &mut Vec<(u64, u64, u64, u64)>) {
    let ws = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c');
    let n = tag.len();
    let mut i = 1 + tag_name_len(&tag[1.min(n)..]);
    let at = |k: usize| base + k as u64;
    loop {
        // Before an attribute name: white space and stray `/` are skipped.
        while i < n && (ws(tag[i]) || tag[i] == b'/') {
            i += 1;
        }
        if i >= n || tag[i] == b'>' {
            return;
        }
        // The name: a leading `=` belongs to it.
        let ns = i;
        i += 1;
        while i < n && !ws(tag[i]) && !matches!(tag[i], b'/' | b'>' | b'=') {
            i += 1;
        }
        let ne = i;
        while i < n && ws(tag[i]) {
            i += 1;
        }
        if i >= n || tag[i] != b'=' {
            out.push((at(ns), at(ne), at(ne), at(ne)));
            continue;
        }
        i += 1;
        while i < n && ws(tag[i]) {
            i += 1;
        }
        let (vs, ve);
        match tag.get(i) {
            Some(&q @ (b'"' | b'\'')) => {
                vs = i + 1;
                ve = memchr::memchr(q, &tag[vs..]).map_or(n, |p| vs + p);
                i = (ve + 1).min(n);
            }
            Some(b'>') | None => {
                vs = i;
                ve = i;
            }
            Some(_) => {
                vs = i;
                while i < n && !ws(tag[i]) && tag[i] != b'>' {
                    i += 1;
                }
                ve = i;
            }
        }
        out.push((at(ns), at(ne), at(vs), at(ve)));
    }
}

/// How the text at the read position is to be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Context {
    /// Visible text: decode and hand over.
    Visible,
    /// Parsed, but not shown (inside `head`, `template`, …): markup matters, text not.
    Hidden,
    /// Raw text (`script`, `style`, `title`, …) that only `</name` ends.
    Raw(TagName),
}

/// Why a read stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// Read up to the limit.
    Done,
    /// An end tag at `start..end`, named `name`.
    EndTag { name: TagName, start: u64, end: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    /// Inside `<!-- … -->`; counts the dashes just seen.
    Comment(u8),
    /// Inside `<!…>` or `<?…>`: up to the next `>`.
    ToGt,
}

/// The unread input and the scanner's state.
pub struct Gaps {
    carry: Vec<u8>,
    /// Absolute offset of `carry[0]`.
    base: u64,
    /// Absolute offset up to which the input has been read.
    from: u64,
    state: State,
    decoder: encoding_rs::Decoder,
    utf8: bool,
    buf: String,
}

impl Gaps {
    pub fn new(encoding: &'static encoding_rs::Encoding) -> Gaps {
        Gaps {
            carry: Vec::new(),
            base: 0,
            from: 0,
            state: State::Text,
            decoder: encoding.new_decoder_without_bom_handling(),
            utf8: encoding == encoding_rs::UTF_8,
            buf: String::new(),
        }
    }

    /// Adds the next chunk of input (before lol_html sees it).
    pub fn push(&mut self, chunk: &[u8]) {
        self.carry.extend_from_slice(chunk);
    }

    /// Start of the input held.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// End of the input held.
    pub fn end(&self) -> u64 {
        self.base + self.carry.len() as u64
    }

    /// The raw bytes of `start..end`, if still held (a reported tag always is).
    pub fn bytes(&self, start: u64, end: u64) -> &[u8] {
        let s = (start.saturating_sub(self.base) as usize).min(self.carry.len());
        let e = (end.saturating_sub(self.base) as usize).min(self.carry.len());
        &self.carry[s..e.max(s)]
    }

    /// After a reported start tag at `..end`: continue reading after it.
    pub fn skip_to(&mut self, end: u64) {
        self.state = State::Text;
        self.from = self.from.max(end);
    }

    /// Drops input already read (kept while lol_html may still report a tag in it).
    pub fn compact(&mut self) {
        let keep = self.compact_point();
        let used = (keep - self.base) as usize;
        if used > 0 {
            self.carry.drain(..used);
            self.base = keep;
        }
    }

    /// Where the held input will start after [`compact`](Self::compact): bytes before
    /// this are about to go.
    pub fn compact_point(&self) -> u64 {
        let used = (self.from.saturating_sub(self.base) as usize).min(self.carry.len());
        if used >= 64 * 1024 || used == self.carry.len() {
            self.base + used as u64
        } else {
            self.base
        }
    }

    /// Reads from the current position towards `upto`, collecting text runs in `runs`
    /// (as offsets into the held input; hand them to [`emit`](Self::emit)), and stops
    /// at the first end tag. `bounded`: `upto` is a reported start tag, so nothing
    /// before it starts one; otherwise stop before anything that may still become one.
    pub fn read(
        &mut self,
        upto: u64,
        cx: &Context,
        bounded: bool,
        runs: &mut Vec<(usize, usize)>,
    ) -> Stop {
        let upto = upto.min(self.end());
        if upto <= self.from {
            return Stop::Done;
        }
        let lo = (self.from - self.base) as usize;
        let hi = (upto - self.base) as usize;
        let b = &self.carry;
        if let Context::Raw(name) = cx {
            // Look for `</name` followed by white space, `/` or `>`.
            let n = name.as_str().as_bytes();
            let mut i = lo;
            while let Some(p) = memchr::memmem::find(&b[i..hi], b"</") {
                let at = i + p;
                let name_end = at + 2 + n.len();
                if name_end >= hi {
                    if bounded {
                        i = at + 2;
                        continue;
                    }
                    self.from = self.base + at as u64;
                    return Stop::Done;
                }
                if b[at + 2..name_end].eq_ignore_ascii_case(n)
                    && matches!(
                        b[name_end],
                        b'>' | b'/' | b' ' | b'\t' | b'\n' | b'\r' | b'\x0c'
                    )
                {
                    return self.end_tag(at, hi, bounded);
                }
                i = at + 2;
            }
            // No end tag: all raw text, except a possible `<` or `</…` split at the end.
            self.from = if bounded {
                upto
            } else {
                let keep = b[lo..hi].len().min(n.len() + 2);
                (self.base + hi as u64 - keep as u64).max(self.from)
            };
            return Stop::Done;
        }
        let visible = *cx == Context::Visible;
        let mut i = lo;
        let mut text_start = lo;
        while i < hi {
            match self.state {
                State::Text => {
                    let Some(p) = memchr::memchr(b'<', &b[i..hi]) else {
                        break;
                    };
                    let lt = i + p;
                    let at = |k: usize| b.get(lt + k).copied().filter(|_| lt + k < hi);
                    let undecided = |runs: &mut Vec<(usize, usize)>, this: &mut Self| {
                        if visible {
                            runs.push((text_start, lt));
                        }
                        this.from = this.base + lt as u64;
                        Stop::Done
                    };
                    match at(1) {
                        None if !bounded => return undecided(runs, self),
                        None => break,
                        Some(c) if c.is_ascii_alphabetic() => {
                            if !bounded {
                                // A start tag lol_html will report.
                                return undecided(runs, self);
                            }
                            i = lt + 1; // text, as lol_html saw it
                        }
                        Some(b'/') => match at(2) {
                            None if !bounded => return undecided(runs, self),
                            Some(c) if c.is_ascii_alphabetic() => {
                                if visible {
                                    runs.push((text_start, lt));
                                }
                                return self.end_tag(lt, hi, bounded);
                            }
                            _ => {
                                if visible {
                                    runs.push((text_start, lt));
                                }
                                self.state = State::ToGt;
                                i = lt + 2;
                            }
                        },
                        Some(b'?') => {
                            if visible {
                                runs.push((text_start, lt));
                            }
                            self.state = State::ToGt;
                            i = lt + 2;
                        }
                        Some(b'!') => {
                            if !bounded
                                && (at(2).is_none() || (at(2) == Some(b'-') && at(3).is_none()))
                            {
                                return undecided(runs, self);
                            }
                            if visible {
                                runs.push((text_start, lt));
                            }
                            if at(2) == Some(b'-') && at(3) == Some(b'-') {
                                self.state = State::Comment(0);
                                i = lt + 4;
                            } else {
                                self.state = State::ToGt;
                                i = lt + 2;
                            }
                        }
                        Some(_) => i = lt + 1,
                    }
                }
                State::ToGt => match memchr::memchr(b'>', &b[i..hi]) {
                    Some(p) => {
                        i += p + 1;
                        text_start = i;
                        self.state = State::Text;
                    }
                    None => {
                        i = hi;
                        text_start = hi;
                    }
                },
                State::Comment(mut dashes) => {
                    let mut closed = false;
                    while i < hi {
                        let c = b[i];
                        i += 1;
                        if c == b'>' && dashes >= 2 {
                            closed = true;
                            break;
                        }
                        dashes = match c {
                            b'-' => dashes.saturating_add(1),
                            b'!' if dashes >= 2 => dashes,
                            _ => 0,
                        };
                    }
                    if closed {
                        self.state = State::Text;
                        text_start = i;
                    } else {
                        self.state = State::Comment(dashes);
                        text_start = hi;
                    }
                }
            }
        }
        if visible && self.state == State::Text && text_start < hi {
            runs.push((text_start, hi));
        }
        self.from = upto;
        Stop::Done
    }

    /// An end tag starts at `lt` (`</`): read its name and find its `>`.
    fn end_tag(&mut self, lt: usize, hi: usize, bounded: bool) -> Stop {
        let b = &self.carry;
        let name_len = tag_name_len(&b[lt + 2..hi]);
        let Some(gt) = memchr::memchr(b'>', &b[lt + 2 + name_len..hi]) else {
            if bounded {
                // Unterminated before a reported tag: lol_html took it as text or a
                // bogus tag; skip it.
                self.from = self.base + hi as u64;
                return Stop::Done;
            }
            self.from = self.base + lt as u64;
            return Stop::Done;
        };
        let end = lt + 2 + name_len + gt + 1;
        let name = TagName::new(&b[lt + 2..lt + 2 + name_len]);
        self.from = self.base + end as u64;
        self.state = State::Text;
        Stop::EndTag {
            name,
            start: self.base + lt as u64,
            end: self.base + end as u64,
        }
    }

    /// Decodes text runs found by [`read`](Self::read) and hands them to `sink`.
    pub fn emit(&mut self, runs: &[(usize, usize)], sink: &mut dyn FnMut(&str)) {
        for &(s, e) in runs {
            if e <= s {
                continue;
            }
            let bytes = &self.carry[s..e];
            if self.utf8
                && let Ok(t) = std::str::from_utf8(bytes)
            {
                sink(t);
                continue;
            }
            self.buf.clear();
            self.buf.reserve(
                self.decoder
                    .max_utf8_buffer_length(bytes.len())
                    .unwrap_or(bytes.len() * 3),
            );
            let _ = self.decoder.decode_to_string(bytes, &mut self.buf, false);
            sink(&self.buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_names_compare_by_name() {
        let div = TagName::new(b"div");
        assert_eq!(div, TagName::new(b"DIV"));
        assert_ne!(div, TagName::new(b"nav"));
        assert_ne!(div, TagName::new(b"dir"));
        assert!(matches!(div, TagName::Known(..)));
        let custom = TagName::new(b"gu-island");
        assert!(matches!(custom, TagName::Other(_)));
        assert_eq!(custom, TagName::new(b"GU-Island"));
        assert_ne!(custom, TagName::new(b"gu-islands"));
        assert_ne!(custom, div);
    }

    /// Checks, for every start tag of `html`, that [`scan_attributes`] finds the
    /// attribute ranges lol_html reports. Returns how many tags were compared.
    fn same_as_lol_html(html: &str) -> usize {
        use lol_html::{HtmlRewriter, Settings, element};
        let mut all = Vec::new();
        let mut rw = HtmlRewriter::new(
            Settings::new().append_element_content_handler(element!("*", |el| {
                let mut v = Vec::new();
                for a in el.attributes() {
                    let n = a.name_source_location().unwrap().bytes();
                    let (vs, ve) = a
                        .value_source_location()
                        .map_or((n.end as u64, n.end as u64), |v| {
                            (v.bytes().start as u64, v.bytes().end as u64)
                        });
                    v.push((n.start as u64, n.end as u64, vs, ve));
                }
                all.push((el.source_location().bytes(), v));
                Ok(())
            })),
            |_: &[u8]| {},
        );
        rw.write(html.as_bytes()).unwrap();
        rw.end().unwrap();
        for (loc, lol) in &all {
            let mut mine = Vec::new();
            scan_attributes(&html.as_bytes()[loc.clone()], loc.start as u64, &mut mine);
            assert_eq!(mine.len(), lol.len(), "{}", &html[loc.clone()]);
            for (m, l) in mine.iter().zip(lol) {
                // Names must agree; a value lol_html gives no range (`<a b>`, `<a b=>`)
                // must be empty here.
                assert_eq!((m.0, m.1), (l.0, l.1), "{}", &html[loc.clone()]);
                if l.2 == l.3 {
                    assert_eq!(m.2, m.3, "{}", &html[loc.clone()]);
                } else {
                    assert_eq!((m.2, m.3), (l.2, l.3), "{}", &html[loc.clone()]);
                }
            }
        }
        all.len()
    }

    #[test]
    fn attributes_split_as_the_tokenizer_does() {
        let html = "<div id=a class='b c' data-x=\"1>2\" hidden>x</div>\
            <img src=/a.png alt = \"spaced\" /><br/><p/class=x>\
            <a href=x/y/ title=\"q\"data-y=z>l</a><input value='' disabled=>\
            <span =odd x='unterminated>";
        assert_eq!(same_as_lol_html(html), 6); // the unterminated tag is not one
        let mut v = Vec::new();
        let tag = b"<div id=a class='b c' data-x=\"1>2\" hidden>";
        scan_attributes(tag, 100, &mut v);
        let text = |s: u64, e: u64| {
            std::str::from_utf8(&tag[(s - 100) as usize..(e - 100) as usize]).unwrap()
        };
        let got: Vec<(&str, &str)> = v
            .iter()
            .map(|&(a, b, c, d)| (text(a, b), text(c, d)))
            .collect();
        assert_eq!(
            got,
            vec![
                ("id", "a"),
                ("class", "b c"),
                ("data-x", "1>2"),
                ("hidden", "")
            ]
        );
    }

    /// Reads `input` pushed in chunks of `chunk`, with start tags "reported" at `events`;
    /// returns the text and the end tags seen, in order.
    fn read_all(input: &str, events: &[(usize, usize)], chunk: usize, cx: Context) -> String {
        let mut g = Gaps::new(encoding_rs::UTF_8);
        let mut out = String::new();
        let bytes = input.as_bytes();
        let mut ev = events.iter().peekable();
        let mut pos = 0;
        let pump = |g: &mut Gaps, upto: u64, bounded: bool, out: &mut String| loop {
            let mut runs = Vec::new();
            let stop = g.read(upto, &cx, bounded, &mut runs);
            g.emit(&runs, &mut |t| out.push_str(t));
            match stop {
                Stop::Done => break,
                Stop::EndTag { name, .. } => out.push_str(&format!("[/{}]", name.as_str())),
            }
        };
        while pos < bytes.len() {
            let end = (pos + chunk).min(bytes.len());
            g.push(&bytes[pos..end]);
            while let Some(&&(s, e)) = ev.peek() {
                if e <= end {
                    pump(&mut g, s as u64, true, &mut out);
                    out.push_str("[tag]");
                    g.skip_to(e as u64);
                    ev.next();
                } else {
                    break;
                }
            }
            pump(&mut g, end as u64, false, &mut out);
            g.compact();
            pos = end;
        }
        pump(&mut g, u64::MAX, true, &mut out);
        out
    }

    #[test]
    fn text_end_tags_comments_and_doctypes_at_any_chunking() {
        let input =
            "<p>one</p> two <!-- <b>no</b> --> three <!DOCTYPE x> a < b </x >four<?pi?>five</P\n>";
        let p = input.find("<p>").unwrap();
        let events = [(p, p + 3)];
        let want = read_all(input, &events, input.len(), Context::Visible);
        assert_eq!(want, "[tag]one[/p] two  three  a < b [/x]fourfive[/p]");
        for chunk in 1..12 {
            assert_eq!(
                read_all(input, &events, chunk, Context::Visible),
                want,
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn raw_text_ends_only_at_its_own_end_tag() {
        let input = "var a = '</div>'; if (a<b) {}</scriptx></SCRIPT >after";
        let cx = Context::Raw(TagName::new(b"script"));
        let want = read_all(input, &[], input.len(), cx.clone());
        assert_eq!(want, "[/script]");
        for chunk in 1..12 {
            assert_eq!(
                read_all(input, &[], chunk, cx.clone()),
                want,
                "chunk {chunk}"
            );
        }
    }
}
