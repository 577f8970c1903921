//! Pass 2, the splicer: copies the input to the output, leaving out the byte ranges the
//! finder cut and rewriting the attributes it changed. Every byte no edit names passes
//! through unchanged, so the output keeps the input's encoding and formatting.

use std::io::Write;

use super::CleanError;
use super::plan::{AttrEdit, Edit};

/// Start tags longer than this are copied unchanged rather than buffered for an
/// attribute edit.
const MAX_TAG: u64 = 1 << 20;

/// Applies `edits` (sorted, non-overlapping) to the stream of chunks `feed` hands over.
pub struct Splicer<'a, W: Write + ?Sized> {
    edits: &'a [Edit],
    next: usize,
    pos: u64,
    out: &'a mut W,
    written: u64,
    /// Bytes of a start tag being collected for an attribute edit.
    tag: Vec<u8>,
}

impl<'a, W: Write + ?Sized> Splicer<'a, W> {
    pub fn new(edits: &'a [Edit], out: &'a mut W) -> Self {
        Splicer {
            edits,
            next: 0,
            pos: 0,
            out,
            written: 0,
            tag: Vec::new(),
        }
    }

    fn emit(&mut self, b: &[u8]) -> Result<(), CleanError> {
        self.written += b.len() as u64;
        self.out.write_all(b).map_err(CleanError::Write)
    }

    /// Takes the next chunk of input.
    pub fn write(&mut self, mut chunk: &[u8]) -> Result<(), CleanError> {
        while !chunk.is_empty() {
            let Some(edit) = self.edits.get(self.next) else {
                self.pos += chunk.len() as u64;
                return self.emit(chunk);
            };
            let (start, end) = (edit.start(), edit.end());
            if self.pos < start {
                let n = ((start - self.pos) as usize).min(chunk.len());
                self.pos += n as u64;
                self.emit(&chunk[..n])?;
                chunk = &chunk[n..];
                continue;
            }
            // Inside the edit's range.
            let n = ((end - self.pos) as usize).min(chunk.len());
            match edit {
                Edit::Cut { .. } => {}
                Edit::Attrs { .. } if end - start > MAX_TAG => self.emit(&chunk[..n])?,
                Edit::Attrs { .. } => self.tag.extend_from_slice(&chunk[..n]),
            }
            self.pos += n as u64;
            chunk = &chunk[n..];
            if self.pos == end {
                if let Edit::Attrs { ops, .. } = edit
                    && end - start <= MAX_TAG
                {
                    let tag = std::mem::take(&mut self.tag);
                    let new = rewrite_tag(&tag, start, ops);
                    self.emit(&new)?;
                }
                self.next += 1;
            }
        }
        Ok(())
    }

    /// Ends the stream; returns the bytes written. `expected_len` is the length pass 1
    /// read: a different length means the file changed between the passes.
    pub fn finish(self, expected_len: u64) -> Result<u64, CleanError> {
        if self.pos != expected_len {
            return Err(CleanError::Changed);
        }
        Ok(self.written)
    }
}

/// Applies attribute edits to the raw bytes of one start tag that began at `base`.
pub fn rewrite_tag(tag: &[u8], base: u64, ops: &[(u64, AttrEdit)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tag.len());
    let mut at = 0usize;
    for (name_at, op) in ops {
        let Some(i) = name_at.checked_sub(base).map(|i| i as usize) else {
            continue;
        };
        if i < at || i >= tag.len() {
            continue;
        }
        out.extend_from_slice(&tag[at..i]);
        let name_end = i + tag[i..]
            .iter()
            .position(|&b| b.is_ascii_whitespace() || b == b'=' || b == b'>' || b == b'/')
            .unwrap_or(tag.len() - i);
        match op {
            AttrEdit::Rename(to) => {
                out.extend_from_slice(to.as_bytes());
                at = name_end;
            }
            AttrEdit::Drop => {
                let mut j = attribute_end(tag, name_end);
                // Take the white space after it too, so no double spaces remain.
                while j < tag.len() && tag[j].is_ascii_whitespace() {
                    j += 1;
                }
                // Unless that leaves the attribute before glued to a `/>` or `>`.
                if j < tag.len()
                    && matches!(tag[j], b'>' | b'/')
                    && out.last().is_some_and(|b| b.is_ascii_whitespace())
                {
                    out.pop();
                }
                at = j;
            }
        }
    }
    out.extend_from_slice(&tag[at..]);
    out
}

/// Where the attribute whose name ends at `i` ends (after its value, if any).
fn attribute_end(tag: &[u8], mut i: usize) -> usize {
    let n = tag.len();
    let mut j = i;
    while j < n && tag[j].is_ascii_whitespace() {
        j += 1;
    }
    if j >= n || tag[j] != b'=' {
        return i;
    }
    j += 1;
    while j < n && tag[j].is_ascii_whitespace() {
        j += 1;
    }
    if j < n && (tag[j] == b'"' || tag[j] == b'\'') {
        let q = tag[j];
        j += 1;
        while j < n && tag[j] != q {
            j += 1;
        }
        i = (j + 1).min(n);
    } else {
        while j < n && !tag[j].is_ascii_whitespace() && tag[j] != b'>' {
            j += 1;
        }
        i = j;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_and_renames_attributes_in_place() {
        let tag = br#"<img  src="data:x" data-src='a.jpg' onclick=go() alt="A">"#;
        let at = |s: &str| std::str::from_utf8(tag).unwrap().find(s).unwrap() as u64 + 100;
        let ops = vec![
            (at("src="), AttrEdit::Drop),
            (at("data-src"), AttrEdit::Rename("src")),
            (at("onclick"), AttrEdit::Drop),
        ];
        let out = rewrite_tag(tag, 100, &ops);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"<img  src='a.jpg' alt="A">"#
        );
    }

    #[test]
    fn dropping_the_last_attribute_leaves_a_tidy_tag() {
        let tag = br#"<a href="/x" onclick="y">"#;
        let out = rewrite_tag(tag, 0, &[(13, AttrEdit::Drop)]);
        assert_eq!(std::str::from_utf8(&out).unwrap(), r#"<a href="/x">"#);
    }

    #[test]
    fn cuts_across_chunk_boundaries() {
        let input = b"0123456789abcdef";
        let edits = vec![
            Edit::Cut { start: 2, end: 5 },
            Edit::Cut { start: 9, end: 12 },
        ];
        for size in 1..=input.len() {
            let mut out = Vec::new();
            let mut s = Splicer::new(&edits, &mut out);
            for c in input.chunks(size) {
                s.write(c).unwrap();
            }
            assert_eq!(s.finish(16).unwrap(), 10);
            assert_eq!(out, b"015678cdef");
        }
    }
}
