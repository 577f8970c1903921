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

use super::tag::{TagName, tag_name_len};

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
