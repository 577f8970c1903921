//! Text normalization shared by rules and the engine: what "the text contains this
//! phrase" means.
//!
//! Both a rule's phrase and a page's text go through the same steps: HTML entities are
//! decoded (the page's text arrives raw from lol_html, entities and all), letters are
//! lowercased, typographic quotes and dashes are folded to ASCII, and every run of
//! white space becomes one space. The streaming form, [`Normalizer`], accepts text in
//! chunks that may end in the middle of an entity.

/// Whether `phrase` is in `text` (both normalized) as whole words: "donate" is not in
/// "donated".
pub fn has_words(text: &str, phrase: &str) -> bool {
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

/// Normalizes a whole string (rule phrases, plain-text paragraphs).
pub fn normalize(s: &str) -> String {
    let mut n = Normalizer::default();
    let mut out = String::with_capacity(s.len());
    n.push(s, true, &mut out);
    n.finish(&mut out);
    out.trim().to_string()
}

/// Streaming normalizer: feed chunks with [`push`](Self::push), break words at tags with
/// [`boundary`](Self::boundary).
#[derive(Debug, Default)]
pub struct Normalizer {
    /// The last character written was a space (or nothing was written yet).
    space: bool,
    started: bool,
    /// An entity begun at the end of the previous chunk (`&am`).
    pending: String,
}

/// Runs at least this long are tried for the fast path of [`Normalizer::put_run`].
const FAST_RUN: usize = 16;

/// ASCII whose only white space is single spaces: normalizing it only lowercases it.
fn plain_ascii(b: &[u8]) -> bool {
    b.is_ascii()
        && memchr::memchr3(b'\n', b'\t', b'\r', b).is_none()
        && memchr::memchr(0x0c, b).is_none()
        && memchr::memmem::find(b, b"  ").is_none()
}

/// Longest entity we look for, with `&` and `;`.
const MAX_ENTITY: usize = 12;

/// Where an entity whose first `have` bytes were already seen ends in `s`: after its `;`,
/// before the first character that cannot belong to it, or at the length limit. `None`
/// when `s` ends while the entity is still open.
fn entity_end(s: &str, have: usize) -> Option<usize> {
    for (i, c) in s.char_indices() {
        if c == ';' {
            return Some(i + 1);
        }
        if !(c.is_ascii_alphanumeric() || c == '#') {
            return Some(i);
        }
        if have + i + 1 >= MAX_ENTITY {
            return Some(i + 1);
        }
    }
    None
}

impl Normalizer {
    /// Appends the normalized form of `chunk` to `out`. With `decode_entities`, `&name;`
    /// and `&#n;` are decoded (for HTML text); plain text is taken literally.
    pub fn push(&mut self, chunk: &str, decode_entities: bool, out: &mut String) {
        if self.pending.is_empty() && chunk.bytes().all(|c| c.is_ascii_whitespace()) {
            // The common run between two tags: nothing but indentation.
            if !chunk.is_empty() && !self.space && self.started {
                out.push(' ');
                self.space = true;
            }
            return;
        }
        if !decode_entities {
            self.put_run(chunk, out);
            return;
        }
        let mut rest = chunk;
        if !self.pending.is_empty() {
            // Complete the entity begun in the previous chunk.
            let mut buf = std::mem::take(&mut self.pending);
            match entity_end(rest, buf.len()) {
                Some(e) => {
                    buf.push_str(&rest[..e]);
                    rest = &rest[e..];
                    self.entity_or_literal(&buf, out);
                }
                None => {
                    buf.push_str(rest);
                    self.pending = buf;
                    return;
                }
            }
        }
        while let Some(amp) = rest.find('&') {
            self.put_run(&rest[..amp], out);
            let tail = &rest[amp..];
            match entity_end(&tail[1..], 1) {
                Some(e) => {
                    self.entity_or_literal(&tail[..e + 1], out);
                    rest = &tail[e + 1..];
                }
                None => {
                    self.pending = tail.to_string();
                    return;
                }
            }
        }
        self.put_run(rest, out);
    }

    /// Appends a run without entities: ASCII words are copied and lowercased in bulk.
    fn put_run(&mut self, s: &str, out: &mut String) {
        let b = s.as_bytes();
        if b.len() >= FAST_RUN && plain_ascii(b) {
            // Prose on one line: copied and lowercased whole, each step a SIMD loop.
            let (lead, t) = match b[0] {
                b' ' => (true, &s[1..]),
                _ => (false, s),
            };
            if lead && !self.space && self.started {
                out.push(' ');
                self.space = true;
            }
            if !t.is_empty() {
                let at = out.len();
                out.push_str(t);
                out[at..].make_ascii_lowercase();
                self.started = true;
                self.space = t.ends_with(' ');
            }
            return;
        }
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c >= 0x80 {
                let ch = s[i..].chars().next().unwrap_or('\u{FFFD}');
                self.put(ch, out);
                i += ch.len_utf8();
            } else if c.is_ascii_whitespace() {
                // A whole run of white space (indentation between tags, mostly) at once.
                i += 1;
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                if !self.space && self.started {
                    out.push(' ');
                    self.space = true;
                }
            } else {
                let start = i;
                while i < b.len() && b[i] < 0x80 && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                let at = out.len();
                out.push_str(&s[start..i]);
                out[at..].make_ascii_lowercase();
                self.started = true;
                self.space = false;
            }
        }
    }

    /// A tag between two texts: words on either side do not run together.
    pub fn boundary(&mut self, out: &mut String) {
        self.flush(out);
        if !self.space && self.started {
            out.push(' ');
            self.space = true;
        }
    }

    /// Writes out an entity left open at the end of the input.
    pub fn finish(&mut self, out: &mut String) {
        self.flush(out);
    }

    fn flush(&mut self, out: &mut String) {
        if !self.pending.is_empty() {
            let p = std::mem::take(&mut self.pending);
            self.entity_or_literal(&p, out);
        }
    }

    fn entity_or_literal(&mut self, ent: &str, out: &mut String) {
        match decode_entity(ent) {
            Some(c) => self.put(c, out),
            None => {
                for c in ent.chars() {
                    self.put(c, out);
                }
            }
        }
    }

    #[inline]
    fn put(&mut self, c: char, out: &mut String) {
        if c.is_ascii() {
            if c.is_ascii_whitespace() {
                if !self.space && self.started {
                    out.push(' ');
                    self.space = true;
                }
            } else {
                self.started = true;
                self.space = false;
                out.push(c.to_ascii_lowercase());
            }
            return;
        }
        let c = fold(c);
        if c.is_whitespace() {
            if !self.space && self.started {
                out.push(' ');
                self.space = true;
            }
            return;
        }
        self.started = true;
        self.space = false;
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
}

/// Folds typographic variants to their plain form.
#[inline]
fn fold(c: char) -> char {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{2032}' => '\'',
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{00AB}' | '\u{00BB}' => '"',
        '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
        '\u{00A0}' | '\u{2007}' | '\u{202F}' | '\u{200B}' => ' ',
        c => c,
    }
}

/// Decodes `&name;` or `&#n;` / `&#xh;`; `None` when it is not an entity we know.
fn decode_entity(ent: &str) -> Option<char> {
    let body = ent.strip_prefix('&')?;
    let body = body.strip_suffix(';').unwrap_or(body);
    if let Some(num) = body.strip_prefix('#') {
        let n = if let Some(h) = num.strip_prefix(['x', 'X']) {
            u32::from_str_radix(h, 16).ok()?
        } else {
            num.parse::<u32>().ok()?
        };
        return char::from_u32(n).or(Some('\u{FFFD}'));
    }
    Some(match body {
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "rsquo" | "lsquo" | "sbquo" | "prime" => '\'',
        "rdquo" | "ldquo" | "bdquo" | "laquo" | "raquo" => '"',
        "mdash" | "ndash" | "minus" | "hyphen" => '-',
        "hellip" => '…',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "middot" => '·',
        "bull" => '•',
        "eacute" => 'é',
        "egrave" => 'è',
        "aacute" => 'á',
        "agrave" => 'à',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "auml" => 'ä',
        "szlig" => 'ß',
        "ccedil" => 'ç',
        "iacute" => 'í',
        "oacute" => 'ó',
        "uacute" => 'ú',
        "ntilde" => 'ñ',
        "zwnj" | "zwj" | "shy" => return Some('\u{200B}'),
        _ => return None,
    })
}

/// `s` with its character references decoded to the characters they stand for (not
/// folded as [`normalize`] folds them): for text a reading copy writes out. References
/// not known are left as written.
pub fn decode_entities(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('&') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .map_or(rest.len(), |e| e + 1);
        let with_semi = rest[end..].starts_with(';');
        let ent = &rest[1..end];
        match (ent.len() <= 32).then(|| reference(ent)).flatten() {
            Some(r)
                if with_semi
                    || ent.starts_with('#')
                    || matches!(ent, "amp" | "lt" | "gt" | "quot" | "nbsp") =>
            {
                match r {
                    Ref::Char(c) => out.push(c),
                    Ref::Str(s) => out.push_str(s),
                }
                rest = &rest[end + usize::from(with_semi)..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// What a reference (`amp`, `#8217`, `#x2019`, without `&` and `;`) stands for: numeric
/// ones as HTML reads them (`&#146;` is windows-1252's `’`), named ones from HTML5's
/// whole list (2,125 names; a few stand for two characters).
fn reference(ent: &str) -> Option<Ref> {
    if ent.is_empty() {
        return None;
    }
    if let Some(num) = ent.strip_prefix('#') {
        let n = match num.strip_prefix(['x', 'X']) {
            Some(h) => u32::from_str_radix(h, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        return Some(Ref::Char(match n {
            0 => '\u{FFFD}',
            0x80..=0x9F => {
                let byte = [n as u8];
                let (c, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&byte);
                c.chars().next().unwrap_or('\u{FFFD}')
            }
            n => char::from_u32(n).unwrap_or('\u{FFFD}'),
        }));
    }
    let named = &crate::entities::NAMED;
    let i = named
        .binary_search_by(|(name, _)| name.as_bytes().cmp(ent.as_bytes()))
        .ok()?;
    Some(Ref::Str(named[i].1))
}

/// A reference's characters.
enum Ref {
    Char(char),
    Str(&'static str),
}

/// Shell-style match of a whole name, the one pattern dialect of pare: `*` any run, `?`
/// one character (one UTF-8 character; one byte of a name that is not UTF-8), every other
/// byte itself — compared without case when `fold` (attribute names), exactly otherwise
/// (file names). Patterns are a few bytes long: no pattern, or one star, is a plain
/// compare.
pub fn glob(pattern: &[u8], name: &[u8], fold: bool) -> bool {
    let eq = |a: &[u8], b: &[u8]| {
        if fold {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    if !pattern.contains(&b'?') {
        let mut stars = pattern.iter().enumerate().filter(|&(_, &b)| b == b'*');
        match (stars.next(), stars.next()) {
            (None, _) => return eq(pattern, name),
            (Some((star, _)), None) => {
                let (pre, post) = (&pattern[..star], &pattern[star + 1..]);
                return name.len() >= pre.len() + post.len()
                    && eq(&name[..pre.len()], pre)
                    && eq(&name[name.len() - post.len()..], post);
            }
            _ => {}
        }
    }
    // The general case: backtrack to the last star.
    let one = |b: u8| if fold { b.to_ascii_lowercase() } else { b };
    let char_len = |n: &[u8]| {
        let extra = n[1..].iter().take_while(|&&b| b & 0xC0 == 0x80).count();
        if n[0] >= 0xC0 { 1 + extra.min(3) } else { 1 }
    };
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < name.len() {
        if pi < pattern.len() && pattern[pi] == b'?' {
            pi += 1;
            ni += char_len(&name[ni..]);
        } else if pi < pattern.len() && pattern[pi] == b'*' {
            star = Some((pi, ni));
            pi += 1;
        } else if pi < pattern.len() && one(pattern[pi]) == one(name[ni]) {
            pi += 1;
            ni += 1;
        } else if let Some((sp, sn)) = star {
            let next = sn + char_len(&name[sn..]);
            pi = sp + 1;
            ni = next;
            star = Some((sp, next));
        } else {
            return false;
        }
    }
    pattern[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_glob_for_file_and_attribute_names() {
        assert!(glob(b"*.html", b"a.html", false));
        assert!(!glob(b"*.HTML", b"a.html", false));
        assert!(glob(b"on*", b"ONCLICK", true));
        assert!(glob(b"data-*", b"data-x", true));
        assert!(glob(b"style", b"Style", true));
        assert!(glob(b"caf?.html", "café.html".as_bytes(), false));
        assert!(glob(b"?", b"\xff", false));
        assert!(glob(b"*a*b*", b"xxaxxbxx", false));
        assert!(!glob(b"*a*b", b"xxaxxbxx", false));
        assert!(glob(b"*~", b"x~", false));
        assert!(glob(b"*", b"", false));
        assert!(!glob(b"a?c", b"ac", false));
    }

    #[test]
    fn references_decode_as_html_reads_them() {
        assert_eq!(
            decode_entities("I&#146;m &atilde; &Omega;&omega; &sigmaf; AT&T &amp &bogus; &#x2019;"),
            "I\u{2019}m \u{E3} \u{3A9}\u{3C9} \u{3C2} AT&T & &bogus; \u{2019}"
        );
        assert_eq!(decode_entities("a & b &"), "a & b &");
        // HTML5's whole list: Czech, fractions, maths, a name for two characters, the
        // longest name; unknown and unterminated names stay as written.
        assert_eq!(
            decode_entities(
                "&rcaron;&Rcaron; &half; &NotNestedGreaterGreater; &CounterClockwiseContourIntegral; &rcaron &Rcaronx;"
            ),
            "\u{159}\u{158} \u{BD} \u{2AA2}\u{338} \u{2233} &rcaron &Rcaronx;"
        );
    }

    #[test]
    fn the_named_references_are_sorted_and_whole() {
        let n = &crate::entities::NAMED;
        assert_eq!(n.len(), 2125);
        assert!(n.windows(2).all(|w| w[0].0.as_bytes() < w[1].0.as_bytes()));
        assert!(n.iter().all(|(k, v)| !k.is_empty() && !v.is_empty()));
    }

    #[test]
    fn folds_case_quotes_space_and_entities() {
        assert_eq!(
            normalize("  Don’t   MISS\n&amp; &#8220;Sign&nbsp;up&rdquo; "),
            "don't miss & \"sign up\""
        );
        assert_eq!(normalize("a &bogus; b &#x41;"), "a &bogus; b a");
    }

    #[test]
    fn white_space_only_chunks_make_one_space() {
        let run = |chunks: &[&str]| {
            let mut n = Normalizer::default();
            let mut out = String::new();
            for c in chunks {
                n.push(c, true, &mut out);
            }
            n.finish(&mut out);
            out
        };
        assert_eq!(run(&["\n   ", "A", " \t\n  ", "\n", "B  "]), "a b ");
        // An entity left open by one chunk is ended by the white space of the next.
        assert_eq!(run(&["x &amp", "   ", "y"]), "x & y");
        assert_eq!(run(&["", "  "]), "");
    }

    #[test]
    fn long_plain_runs_normalize_as_char_by_char() {
        // Whole strings take the fast path where they can; one character at a time
        // never does (FAST_RUN).
        let cases = [
            "A plain sentence, Mixed Case, on one line.",
            " Leading space and a trailing one ",
            "Two  spaces inside this long enough run",
            "A tab\there and a newline\nthere, long enough",
            "Café au lait is not ASCII but long enough",
            "   ",
            "x",
            "EXACTLY SIXTEEN!",
        ];
        for (prefix, case, suffix) in ["", "word", "word "]
            .into_iter()
            .flat_map(|p| cases.map(|c| (p, c)))
            .flat_map(|(p, c)| ["", " \n ", "tail", " tail"].map(|s| (p, c, s)))
        {
            let whole = {
                let mut n = Normalizer::default();
                let mut o = String::new();
                for part in [prefix, case, suffix] {
                    n.push(part, true, &mut o);
                }
                n.finish(&mut o);
                o
            };
            let mut n = Normalizer::default();
            let mut o = String::new();
            n.push(prefix, true, &mut o);
            for ch in case.chars() {
                n.push(ch.encode_utf8(&mut [0; 4]), true, &mut o);
            }
            n.push(suffix, true, &mut o);
            n.finish(&mut o);
            assert_eq!(whole, o, "{prefix:?} + {case:?} + {suffix:?}");
        }
        assert!(plain_ascii(b"EXACTLY SIXTEEN!"));
        assert!(!plain_ascii(b"two  spaces"));
    }

    #[test]
    fn entities_split_across_chunks_decode_the_same() {
        let whole = "Tom &amp; Jerry&#8217;s &rsquo; &notanentity x&";
        let expect = {
            let mut n = Normalizer::default();
            let mut o = String::new();
            n.push(whole, true, &mut o);
            n.finish(&mut o);
            o
        };
        for size in 1..8 {
            let mut n = Normalizer::default();
            let mut o = String::new();
            let chars: Vec<char> = whole.chars().collect();
            for part in chars.chunks(size) {
                n.push(&part.iter().collect::<String>(), true, &mut o);
            }
            n.finish(&mut o);
            assert_eq!(o, expect, "chunk size {size}");
        }
        assert_eq!(expect, "tom & jerry's ' &notanentity x&");
    }
}
