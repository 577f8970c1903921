//! Tag names and what HTML's parsing rules say of each tag, as flags on one table.
//!
//! The finder asks a tag's flags (inline, raw text, closes `<p>`, scope boundary,
//! protected, …) instead of comparing its name with string literals: a tag's rules are
//! written once, in [`known_tag`].

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
    /// `p`: ended implicitly by a tag that [`CLOSES_P`].
    pub const P: u16 = 1 << 7;
    /// `li`: ended implicitly by the next `li` in the same list.
    pub const LI: u16 = 1 << 8;
    /// `dd`, `dt`: ended implicitly by the next `dd` or `dt` in the same list.
    pub const DD_DT: u16 = 1 << 9;
    /// `td`, `th`, `tr`: ended implicitly by a tag that [`CLOSES_CELL`] in the same table.
    pub const CELL: u16 = 1 << 10;
    /// Ends an open [`CELL`]: `td`, `th`, `tr`, `tbody`, `thead`, `tfoot`.
    pub const CLOSES_CELL: u16 = 1 << 11;
    /// `ul`, `ol`: bounds where an `li` (or `dd`, `dt`) closes implicitly.
    pub const LIST: u16 = 1 << 12;
    /// `table`: bounds where a [`CELL`] closes implicitly.
    pub const TABLE: u16 = 1 << 13;
    /// `article`, `main`: an element holding one holds the article (guarded).
    pub const ARTICLE: u16 = 1 << 14;
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
        b"article" => ("article", flag::CLOSES_P | flag::PROTECTED | flag::ARTICLE),
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
        b"dd" => ("dd", flag::CLOSES_P | flag::DD_DT),
        b"del" => ("del", 0),
        b"details" => ("details", flag::CLOSES_P),
        b"dfn" => ("dfn", flag::INLINE),
        b"dialog" => ("dialog", flag::CLOSES_P),
        b"dir" => ("dir", flag::CLOSES_P),
        b"div" => ("div", flag::CLOSES_P),
        b"dl" => ("dl", flag::CLOSES_P),
        b"dt" => ("dt", flag::CLOSES_P | flag::DD_DT),
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
        b"li" => ("li", flag::CLOSES_P | flag::LI),
        b"link" => ("link", 0),
        b"listing" => ("listing", flag::CLOSES_P),
        b"main" => ("main", flag::CLOSES_P | flag::PROTECTED | flag::ARTICLE),
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
        b"ol" => ("ol", flag::CLOSES_P | flag::LIST),
        b"optgroup" => ("optgroup", 0),
        b"option" => ("option", 0),
        b"output" => ("output", 0),
        b"p" => ("p", flag::CLOSES_P | flag::P),
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
        b"table" => ("table", flag::CLOSES_P | flag::SCOPE | flag::TABLE),
        b"tbody" => ("tbody", flag::CLOSES_CELL),
        b"td" => ("td", flag::SCOPE | flag::CELL | flag::CLOSES_CELL),
        b"template" => ("template", flag::HIDDEN | flag::SCOPE),
        b"textarea" => ("textarea", flag::RAW_TEXT),
        b"tfoot" => ("tfoot", flag::CLOSES_CELL),
        b"th" => ("th", flag::SCOPE | flag::CELL | flag::CLOSES_CELL),
        b"thead" => ("thead", flag::CLOSES_CELL),
        b"time" => ("time", flag::INLINE),
        b"title" => ("title", flag::RAW_TEXT),
        b"tr" => ("tr", flag::CELL | flag::CLOSES_CELL),
        b"track" => ("track", 0),
        b"tt" => ("tt", 0),
        b"u" => ("u", flag::INLINE),
        b"ul" => ("ul", flag::CLOSES_P | flag::LIST),
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

    /// The name a refusal gives a [`flag::PROTECTED`] tag (`article` for anything else).
    pub fn protected_name(&self) -> &'static str {
        match self.as_str() {
            "html" => "html",
            "head" => "head",
            "body" => "body",
            "main" => "main",
            _ => "article",
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

    /// The implied-end flags name exactly the tags HTML's rules name.
    #[test]
    fn implied_end_flags_name_the_tags_of_the_rules() {
        let all = [
            "a",
            "p",
            "li",
            "dd",
            "dt",
            "td",
            "th",
            "tr",
            "tbody",
            "thead",
            "tfoot",
            "ul",
            "ol",
            "table",
            "article",
            "main",
            "div",
            "dl",
            "caption",
            "body",
            "gu-island",
        ];
        let with = |f: u16| -> Vec<&str> {
            all.iter()
                .copied()
                .filter(|t| TagName::new(t.as_bytes()).is(f))
                .collect()
        };
        assert_eq!(with(flag::P), ["p"]);
        assert_eq!(with(flag::LI), ["li"]);
        assert_eq!(with(flag::DD_DT), ["dd", "dt"]);
        assert_eq!(with(flag::CELL), ["td", "th", "tr"]);
        assert_eq!(
            with(flag::CLOSES_CELL),
            ["td", "th", "tr", "tbody", "thead", "tfoot"]
        );
        assert_eq!(with(flag::LIST), ["ul", "ol"]);
        assert_eq!(with(flag::TABLE), ["table"]);
        assert_eq!(with(flag::ARTICLE), ["article", "main"]);
    }
}
