//! Tools for people writing rules: `pare test` runs the examples inside rule files,
//! `pare explain` shows what each rule did to one page, `pare suggest` proposes rules
//! for clutter nothing removed yet.
//!
//! Everything here is built on the engine's public API (`clean::clean` and its report)
//! and the rule book; nothing here changes what the engine removes.

pub mod explain;
pub mod suggest;
pub mod test;

/// Reads the page a one-page command works on; the error is printed.
fn read_page(page: &std::path::Path) -> Option<Vec<u8>> {
    match std::fs::read(page) {
        Ok(b) => Some(b),
        Err(e) => {
            eprintln!("error: {}: {e}", page.display());
            None
        }
    }
}

/// The visible text of an HTML page, normalized the way rule phrases are (lowercase,
/// quotes folded, single spaces, entities decoded): tags, comments and the contents of
/// `script`, `style`, `noscript` and `template` dropped. Good enough to check phrases.
pub fn visible_text(html: &str) -> String {
    let mut raw = String::with_capacity(html.len() / 2);
    let lower = html.to_ascii_lowercase();
    let mut i = 0;
    while let Some(off) = html[i..].find('<') {
        raw.push_str(&html[i..i + off]);
        let at = i + off;
        if lower[at..].starts_with("<!--") {
            i = lower[at..].find("-->").map_or(html.len(), |e| at + e + 3);
            raw.push(' ');
            continue;
        }
        let name: String = lower[at + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let tag_end = lower[at..].find('>').map_or(html.len(), |e| at + e + 1);
        i = tag_end;
        if matches!(name.as_str(), "script" | "style" | "noscript" | "template") {
            let close = format!("</{name}");
            i = lower[tag_end..]
                .find(&close)
                .and_then(|c| lower[tag_end + c..].find('>').map(|e| tag_end + c + e + 1))
                .unwrap_or(html.len());
        }
        raw.push(' ');
    }
    if i < html.len() {
        raw.push_str(&html[i..]);
    }
    crate::text::normalize(&raw)
}

#[cfg(test)]
mod tests {
    use super::visible_text;

    #[test]
    fn visible_text_drops_markup_scripts_and_comments() {
        let t = visible_text(
            "<p>Tom&amp;Jerry <b>ran</b></p><script>var x = '<p>no</p>';</script><!-- c --><P>Fast</P>",
        );
        assert_eq!(t, "tom&jerry ran fast");
    }
}
