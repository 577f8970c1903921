//! The driver the reading copy's writers share ([`super::serialize`], [`super::markdown`]):
//! the page's kept bytes, written in chunks of any size, go through a lol_html rewriter
//! whose handlers build the copy in a state of the writer's own; after every chunk what
//! the state has ready is handed on, so nothing of the page is held.

use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

use lol_html::html_content::{Element, EndTag, TextChunk};
use lol_html::{DocumentContentHandlers, HtmlRewriter, Settings, element};

/// Elements whose text is the fallback for browsers that play neither ("Your browser
/// does not support the audio element"): both writers leave that text out.
pub fn is_media(tag: &str) -> bool {
    matches!(tag, "audio" | "video")
}

/// A writer's state: what the handlers tell it, and what it gives the driver.
pub trait Output: 'static {
    /// What a start tag leaves for its end tag.
    type Open: 'static;
    /// A start tag; `Some` when its end tag is to be reported.
    fn start(&mut self, el: &Element) -> Option<Self::Open>;
    /// The end tag of an element `start` asked about.
    fn end_tag(&mut self, open: Self::Open);
    /// An element `start` asked about has no end tag to come (void, or self-closing).
    fn no_end_tag(&mut self, open: Self::Open);
    /// A run of text (raw: its references undecoded); `last` ends a text node.
    fn text(&mut self, raw: &str, last: bool);
    /// The output ready so far, taken.
    fn take(&mut self) -> String;
    /// The input has ended: whatever is still pending goes into the output.
    fn end(&mut self);
}

/// The rewriter a writer reads with: its own output is discarded (the handlers write).
type Rewriter = HtmlRewriter<'static, fn(&[u8])>;

fn discard(_: &[u8]) {}

/// The handlers that feed `state`, reading the page's `encoding`.
fn settings<S: Output>(
    encoding: &'static encoding_rs::Encoding,
    state: &Rc<RefCell<S>>,
) -> Settings<'static, 'static> {
    let (s1, s2) = (state.clone(), state.clone());
    Settings::new()
        .with_strict(false)
        .with_encoding(
            lol_html::AsciiCompatibleEncoding::new(encoding)
                .unwrap_or_else(lol_html::AsciiCompatibleEncoding::utf_8),
        )
        .append_element_content_handler(element!("*", move |el: &mut Element| {
            let open = s1.borrow_mut().start(el);
            if let Some(open) = open {
                match el.end_tag_handlers() {
                    Some(h) => {
                        let s = s1.clone();
                        h.push(Box::new(move |_: &mut EndTag| {
                            s.borrow_mut().end_tag(open);
                            Ok(())
                        }));
                    }
                    None => s1.borrow_mut().no_end_tag(open),
                }
            }
            Ok(())
        }))
        .append_document_content_handler(DocumentContentHandlers::default().text(
            move |t: &mut TextChunk| {
                s2.borrow_mut().text(t.as_str(), t.last_in_text_node());
                Ok(())
            },
        ))
}

/// HTML in (write it, any chunks), a writer's output out; then [`finish`](Self::finish).
pub struct Stream<'w, S: Output> {
    state: Rc<RefCell<S>>,
    rewriter: Option<Rewriter>,
    out: &'w mut dyn Write,
    /// Bytes written, for the report's `bytes_out`.
    pub written: u64,
}

impl<'w, S: Output> Stream<'w, S> {
    /// A writer starting from `state`, reading the page's `encoding`.
    pub fn with(
        state: S,
        encoding: &'static encoding_rs::Encoding,
        out: &'w mut dyn Write,
    ) -> Self {
        let state = Rc::new(RefCell::new(state));
        let settings = settings(encoding, &state);
        Stream {
            state,
            rewriter: Some(HtmlRewriter::new(settings, discard as fn(&[u8]))),
            out,
            written: 0,
        }
    }

    fn flush_ready(&mut self) -> io::Result<()> {
        let ready = self.state.borrow_mut().take();
        self.written += ready.len() as u64;
        self.out.write_all(ready.as_bytes())
    }

    /// Writes text that is not HTML (front matter) straight to the output.
    pub fn write_raw(&mut self, s: &str) -> io::Result<()> {
        self.flush_ready()?;
        self.written += s.len() as u64;
        self.out.write_all(s.as_bytes())
    }

    /// Ends the input; returns the bytes written.
    pub fn finish(mut self) -> io::Result<u64> {
        if let Some(rw) = self.rewriter.take() {
            rw.end().map_err(|e| io::Error::other(e.to_string()))?;
        }
        self.state.borrow_mut().end();
        self.flush_ready()?;
        self.out.flush()?;
        Ok(self.written)
    }
}

impl<S: Output> Write for Stream<'_, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(rw) = self.rewriter.as_mut() {
            rw.write(buf).map_err(|e| io::Error::other(e.to_string()))?;
        }
        self.flush_ready()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
