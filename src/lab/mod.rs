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
/// quotes folded, single spaces, entities decoded): the engine's own view of the page's
/// text ([`crate::clean::find::visible_text`]), so examples are checked against the text
/// rules see — never text HTML hides (`head`, `title`, `select`, `iframe`, scripts).
pub fn visible_text(html: &str) -> String {
    crate::clean::find::visible_text(html.as_bytes()).unwrap_or_default()
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

    #[test]
    fn examples_see_what_the_engine_sees() {
        // The old second extractor counted all of these as text; the engine does not.
        let t = visible_text(
            "<html><head><title>Head title</title></head><body><p>Body</p><select><option>An option</option></select><iframe>Frame text</iframe><template>Later</template></body></html>",
        );
        assert_eq!(t, "body");
    }
}
