//! The attributes of a start tag, found in its raw bytes as HTML's tokenizer splits them.
//!
//! lol_html is never asked to build an element's attributes: the finder reads them
//! from the input with [`scan_attributes`], as byte ranges ([`AttrSpan`]), and answers
//! selectors ([`View`]) and the attribute actions (`drop_attributes`, `lazy_images`)
//! from those ranges.

use std::borrow::Cow;

use super::gap::Gaps;
use super::plan::AttrEdit;
use super::tag::tag_name_len;
use crate::rules::selector::ElementView;

/// Where one attribute lies in the input: its name and its value (without quotes;
/// empty, at the name's end, when there is none), as absolute byte offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttrSpan {
    pub name_start: u64,
    pub name_end: u64,
    pub value_start: u64,
    pub value_end: u64,
}

/// Finds the attributes of the start tag `tag` (its bytes, `<` to `>`, starting at
/// absolute offset `base`), as HTML's tokenizer splits them: `out` gets the spans of
/// each.
pub fn scan_attributes(tag: &[u8], base: u64, out: &mut Vec<AttrSpan>) {
    let ws = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c');
    let n = tag.len();
    let mut i = 1 + tag_name_len(&tag[1.min(n)..]);
    let span = |ns: usize, ne: usize, vs: usize, ve: usize| AttrSpan {
        name_start: base + ns as u64,
        name_end: base + ne as u64,
        value_start: base + vs as u64,
        value_end: base + ve as u64,
    };
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
            out.push(span(ns, ne, ne, ne));
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
        out.push(span(ns, ne, vs, ve));
    }
}

/// Raw bytes as text: borrowed when valid UTF-8 (the common case, checked fast).
pub fn utf8(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// An element as selectors see it: its attributes read from the raw input.
pub struct View<'a> {
    pub tag: &'a str,
    pub id: Option<&'a str>,
    pub class: Option<&'a str>,
    pub gaps: &'a Gaps,
    /// The element's attributes.
    pub attrs: &'a [AttrSpan],
}

impl ElementView for View<'_> {
    fn tag(&self) -> &str {
        self.tag
    }
    fn attr(&self, name: &str) -> Option<Cow<'_, str>> {
        let a = self.attrs.iter().find(|a| {
            self.gaps
                .bytes(a.name_start, a.name_end)
                .eq_ignore_ascii_case(name.as_bytes())
        })?;
        Some(utf8(self.gaps.bytes(a.value_start, a.value_end)))
    }
    fn id(&self) -> Option<&str> {
        self.id
    }
    fn class(&self) -> Option<&str> {
        self.class
    }
}

/// A byte range of the input.
pub type Span = (u64, u64);

/// The value ranges of an element's id and class among its attributes: the first of
/// each, the one HTML keeps when an attribute is written twice.
pub fn id_and_class(gaps: &Gaps, attrs: &[AttrSpan]) -> (Option<Span>, Option<Span>) {
    let (mut id, mut class) = (None, None);
    for a in attrs {
        let name = gaps.bytes(a.name_start, a.name_end);
        if name.eq_ignore_ascii_case(b"id") {
            id.get_or_insert((a.value_start, a.value_end));
        } else if name.eq_ignore_ascii_case(b"class") {
            class.get_or_insert((a.value_start, a.value_end));
        }
    }
    (id, class)
}

/// `on*` matches `onclick`; `data-*` matches `data-x`; a name without `*` matches itself.
/// `name` is an attribute name as written in the source (any case): [`crate::text::glob`]
/// without case.
pub fn glob_match(glob: &str, name: &[u8]) -> bool {
    crate::text::glob(glob.as_bytes(), name, true)
}

/// `data-src` → `src` (and `data-srcset` → `srcset`) when the real attribute is missing
/// or holds a placeholder. `attrs`: the element's attributes as source ranges.
pub fn lazy_image_ops(gaps: &Gaps, attrs: &[AttrSpan]) -> Vec<(u64, AttrEdit)> {
    let mut ops = Vec::new();
    let named = |want: &str| {
        attrs.iter().find(|a| {
            gaps.bytes(a.name_start, a.name_end)
                .eq_ignore_ascii_case(want.as_bytes())
        })
    };
    for (real, lazies) in [
        (
            "src",
            &["data-src", "data-lazy-src", "data-original", "data-lazy"][..],
        ),
        ("srcset", &["data-srcset", "data-lazy-srcset"][..]),
    ] {
        // The first lazy attribute (in source order) that holds a value.
        let Some(lazy) = attrs.iter().find(|a| {
            let name = gaps.bytes(a.name_start, a.name_end);
            lazies
                .iter()
                .any(|l| name.eq_ignore_ascii_case(l.as_bytes()))
                && !gaps
                    .bytes(a.value_start, a.value_end)
                    .trim_ascii()
                    .is_empty()
        }) else {
            continue;
        };
        if let Some(a) = named(real) {
            let v = utf8(gaps.bytes(a.value_start, a.value_end));
            let v = v.trim();
            let placeholder = v.is_empty()
                || v.starts_with("data:")
                || v.contains("placeholder")
                || v.contains("blank.")
                || v.contains("spacer")
                || v.contains("lazy")
                || v == utf8(gaps.bytes(lazy.value_start, lazy.value_end)).trim();
            if !placeholder {
                continue;
            }
            ops.push((a.name_start, AttrEdit::Drop));
        }
        ops.push((lazy.name_start, AttrEdit::Rename(real)));
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let mut spans = Vec::new();
            scan_attributes(&html.as_bytes()[loc.clone()], loc.start as u64, &mut spans);
            let mine: Vec<_> = spans
                .iter()
                .map(|a| (a.name_start, a.name_end, a.value_start, a.value_end))
                .collect();
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
            .map(|a| {
                (
                    text(a.name_start, a.name_end),
                    text(a.value_start, a.value_end),
                )
            })
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
}
