//! Pass 1, the finder: reads the page once through lol_html and decides every edit.
//!
//! The finder is a router over a few owned parts, each in its own file:
//!
//! - [`super::open`]: the open elements and HTML's implied-end rules;
//! - [`super::scan`]: the page's normalized text and the phrase automaton over it;
//! - [`super::cand`]: the removal candidates (one constructor);
//! - [`super::plan`]: the plan being drawn and the guard's judgement.
//!
//! Here, lol_html's start tags and the reader's end tags ([`super::gap`]) are turned
//! into pushes and pops, and every rule match is routed to the part its action needs.
//! The dispatch on actions is exhaustive ([`Target`], [`Phrase`]): a new action does not
//! compile until it is routed. Nothing here writes output: lol_html's own output goes to
//! a sink that drops it.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use lol_html::html_content::Element;
use lol_html::{
    AsciiCompatibleEncoding, ElementContentHandlers, HtmlRewriter, MemorySettings, Settings,
};

use super::attr::{
    AttrSpan, View, glob_match, id_and_class, lazy_image_ops, scan_attributes, utf8,
};
use super::cand::{Cand, CandState, Cands, RegexHit};
use super::gap::{Gaps, Stop};
use super::locate::{Closed, Locator};
use super::open::{Elements, Open};
use super::plan::{AttrEdit, Draft, Kept, Plan, Unwrap};
use super::reader::{Lead, Leads};
use super::scan::Scan;
use super::tag::{TagName, flag, tag_name_len};
use super::{CleanError, Guard};
use crate::rules::Action;
use crate::rules::compile::{Compiled, Phrase, Target};
use crate::rules::selector::Keys;

struct Finder {
    rules: Arc<Compiled>,
    guard: Guard,
    /// The raw input between reported tags, read as text.
    gaps: Gaps,
    open: Elements,
    text: Scan,
    cands: Cands,
    draft: Draft,
    /// The article locator, fed every element and text run.
    loc: Locator,
    /// For a reading copy: the headlines closed so far, and the one open (`None` unless asked for: the default profile pays nothing for them).
    leads: Option<Box<Leads>>,
    /// A void element whose close waits until its other handlers have run.
    pending_void: Option<usize>,
    /// Some selector is indexed by an attribute name (other than id and class).
    want_names: bool,
    /// Reused buffers: one element's matches, attribute names and ranges, keys; one
    /// read's text runs; one scan's phrases.
    hits: Vec<Target>,
    names: String,
    /// Where each attribute name lies in `names`.
    name_spans: Vec<(u32, u32)>,
    attrs: Vec<AttrSpan>,
    /// The current element's keys, hashed once for every index.
    keys: Keys,
    runs: Vec<(usize, usize)>,
    found: Vec<(Phrase, u64)>,
    /// Every index match, by element start (for the test that the index agrees with
    /// lol_html's own matching).
    #[cfg(test)]
    seen: Vec<(u64, Target)>,
    /// Buffer: the groups the element being opened joins by its tag name.
    tag_hits: Vec<u32>,
}

impl Finder {
    fn new(
        rules: Arc<Compiled>,
        guard: Guard,
        encoding: &'static encoding_rs::Encoding,
        keep_text: bool,
    ) -> Finder {
        Finder {
            open: Elements::new(rules.ancestors()),
            text: Scan::new(&rules, keep_text),
            cands: Cands::default(),
            draft: Draft::new(rules.has_keep()),
            loc: Locator::new(),
            leads: None,
            want_names: rules.parts.iter().any(|p| p.index.wants_attribute_names()),
            rules,
            guard,
            gaps: Gaps::new(encoding),
            pending_void: None,
            hits: Vec::new(),
            names: String::new(),
            name_spans: Vec::new(),
            attrs: Vec::new(),
            keys: Keys::default(),
            runs: Vec::new(),
            found: Vec::new(),
            #[cfg(test)]
            seen: Vec::new(),
            tag_hits: Vec::new(),
        }
    }

    /// Closes a void element left open for its other handlers.
    fn settle(&mut self) {
        if let Some(depth) = self.pending_void.take()
            && self.open.len() == depth + 1
        {
            let o = self.open.get(depth);
            let at = o.tag_end;
            let tag = o.tag.clone();
            self.close(Some((&tag, (at, at))));
        }
    }

    /// Reads the input up to `upto` (a reported start tag when `bounded`), handling the
    /// end tags found there in order.
    fn pump(&mut self, upto: u64, bounded: bool) {
        loop {
            self.settle();
            let cx = self.open.context();
            let mut runs = std::mem::take(&mut self.runs);
            runs.clear();
            let stop = self.gaps.read(upto, &cx, bounded, &mut runs);
            let (text, loc) = (&mut self.text, &mut self.loc);
            self.gaps.emit(&runs, &mut |t| {
                let before = text.pos();
                text.push(t);
                loc.text(text.since(before));
            });
            self.runs = runs;
            match stop {
                Stop::Done => return,
                Stop::EndTag { name, start, end } => self.end_tag(name, start, end),
            }
        }
    }

    /// After lol_html took a chunk: read what is certain, drop what was read.
    fn drain(&mut self) {
        let end = self.gaps.end();
        self.pump(end, false);
        // Open elements whose start tags are about to go keep their id and class, for
        // reports that may still describe them (the stack is shallow; this is rare work).
        self.open
            .label_before(&self.gaps, self.gaps.compact_point());
        self.gaps.compact();
    }

    /// An end tag: closes the nearest open element of that name and, unsafely, anything
    /// open inside it. A stray end tag closes nothing.
    fn end_tag(&mut self, name: TagName, start: u64, end: u64) {
        self.scan(true);
        if let Some(depth) = self.open.find_open(&name) {
            while self.open.len() > depth + 1 {
                self.close(Some((&name, (start, end))));
            }
            self.close(Some((&name, (start, end))));
        } else {
            self.boundary(&name);
        }
    }

    fn boundary(&mut self, tag: &TagName) {
        if !tag.is(flag::INLINE) {
            self.text.boundary();
        }
    }

    /// Looks for phrases in the text read since the last scan and routes each match.
    fn scan(&mut self, at_end: bool) {
        let mut found = std::mem::take(&mut self.found);
        self.text.scan(&self.rules, at_end, &mut found);
        for &(phrase, at) in &found {
            self.on_phrase(phrase, at);
        }
        found.clear();
        self.found = found;
        self.cands.update_previews(&self.text);
        self.text.trim(self.cands.preview_from());
    }

    fn on_element(&mut self, el: &mut Element<'_, '_>) -> usize {
        let loc = el.source_location().bytes();
        let (start, tag_end) = (loc.start as u64, loc.end as u64);
        self.pump(start, true);
        self.gaps.skip_to(tag_end);
        self.scan(false);
        let raw_tag = self.gaps.bytes(start + 1, tag_end);
        let tag_name = TagName::new(&raw_tag[..tag_name_len(raw_tag)]);
        let content = el.can_have_content();
        let protected_before = self.open.start_tag(&tag_name, content);
        self.boundary(&tag_name);
        let raw = content
            && tag_name.is(flag::RAW_TEXT)
            && el.namespace_uri() == "http://www.w3.org/1999/xhtml";
        let depth = self.open.len();
        if &*tag_name == "body" && self.draft.body.is_none() {
            self.draft.body = Some((tag_end, self.text.pos()));
        }
        let mut o = Open::new(tag_name, raw, (start, tag_end), self.text.pos());
        o.protected_before = protected_before;
        let mut hits = std::mem::take(&mut self.hits);
        let mut groups = std::mem::take(&mut self.tag_hits);
        self.matches(&o.tag, (start, tag_end), &mut hits, &mut groups, &mut o.anc);
        #[cfg(test)]
        {
            self.seen.extend(hits.iter().map(|&t| (start, t)));
            self.seen
                .extend(groups.iter().map(|&g| (start, Target::Group(g))));
        }
        self.open.push(o);
        // Groups joined by tag name alone: their order among the element's matches
        // does not matter (joining only marks the element as a `within` candidate).
        for &g in &groups {
            self.open.join_group(depth, g);
        }
        groups.clear();
        self.tag_hits = groups;
        if !hits.is_empty() {
            // Lower rule numbers first: the first rule written wins an element.
            hits.sort_by_key(|t| t.order());
            for &t in &hits {
                self.hit(t);
            }
            hits.clear();
        }
        self.hits = hits;
        depth
    }

    /// Looks the element (its start tag at `start..end`, not pushed yet) up in every
    /// index: its matches go to `hits`, the ancestor compounds it matches to `anc`.
    fn matches(
        &mut self,
        tag: &TagName,
        (start, end): (u64, u64),
        hits: &mut Vec<Target>,
        groups: &mut Vec<u32>,
        anc: &mut super::open::Groups,
    ) {
        let mut names = std::mem::take(&mut self.names);
        names.clear();
        let mut spans = std::mem::take(&mut self.name_spans);
        spans.clear();
        let mut attrs = std::mem::take(&mut self.attrs);
        attrs.clear();
        scan_attributes(self.gaps.bytes(start, end), start, &mut attrs);
        let (id, class) = id_and_class(&self.gaps, &attrs);
        if self.want_names {
            for a in &attrs {
                let name = self.gaps.bytes(a.name_start, a.name_end);
                if !name.is_empty()
                    && !name.eq_ignore_ascii_case(b"id")
                    && !name.eq_ignore_ascii_case(b"class")
                {
                    let at = names.len() as u32;
                    names.extend(name.iter().map(|c| c.to_ascii_lowercase() as char));
                    spans.push((at, names.len() as u32));
                }
            }
        }
        let id_text = id.map(|(s, e)| utf8(self.gaps.bytes(s, e)));
        let class_text = class.map(|(s, e)| utf8(self.gaps.bytes(s, e)));
        {
            // The locator's view of the element: its name, class and id, and the two
            // attributes that name the article (`itemprop`, `role`).
            let (mut itemprop, mut role, mut href, mut anchor) = (None, None, false, false);
            if attrs.len() > usize::from(id.is_some()) + usize::from(class.is_some()) {
                for a in &attrs {
                    let name = self.gaps.bytes(a.name_start, a.name_end);
                    if itemprop.is_none() && name.eq_ignore_ascii_case(b"itemprop") {
                        itemprop = Some(utf8(self.gaps.bytes(a.value_start, a.value_end)));
                    } else if role.is_none() && name.eq_ignore_ascii_case(b"role") {
                        role = Some(utf8(self.gaps.bytes(a.value_start, a.value_end)));
                    } else if name.eq_ignore_ascii_case(b"href") {
                        href = true;
                    } else if name.eq_ignore_ascii_case(b"name") {
                        anchor = true;
                    }
                }
            }
            let name = match tag {
                // A named anchor is no link (`<a name="top"/>`, which HTML leaves
                // open: all that follows read as link text, and no paragraph as prose).
                // An `a` without `href` but with a script is still a link to readers.
                TagName::Known("a", _) if anchor && !href => "span",
                TagName::Known(k, _) => k,
                TagName::Other(_) => "element",
            };
            self.loc.open(
                name,
                start,
                class_text.as_deref(),
                id_text.as_deref(),
                itemprop.as_deref(),
                role.as_deref(),
            );
            if name == "h1"
                && let Some(leads) = self.leads.as_deref_mut()
            {
                leads.open.push((self.open.len(), start));
            }
        }
        {
            let view = View {
                tag,
                id: id_text.as_deref(),
                class: class_text.as_deref(),
                gaps: &self.gaps,
                attrs: &attrs,
            };
            let names = || spans.iter().map(|&(s, e)| &names[s as usize..e as usize]);
            // Hashed once for all the indexes below.
            self.keys.fill(&view, names());
            let keys = &self.keys;
            let parent = self.open.last().map(|o| &o.anc);
            for part in &self.rules.parts {
                if !part.tag_groups.is_empty() {
                    for key in [tag.as_str(), "*"] {
                        if let Some(gs) = part.tag_groups.get(key) {
                            groups.extend_from_slice(gs);
                        }
                    }
                }
                if part.index.is_empty() {
                    continue;
                }
                let base = part.anc_base;
                let anc_open = self.open.anc_open();
                let rel = |a: u32, child: bool| {
                    let g = base + a;
                    if child {
                        parent.is_some_and(|p| p.contains(g))
                    } else {
                        anc_open.get(g as usize).is_some_and(|&n| n > 0)
                    }
                };
                part.index
                    .for_each_match(&view, names(), keys, &rel, |t| hits.push(t));
                if part.index.ancestor_count() > 0 {
                    part.index
                        .for_each_ancestor_match(&view, names(), keys, |a| {
                            anc.insert(base + a);
                        });
                }
            }
        }
        self.names = names;
        self.name_spans = spans;
        self.attrs = attrs;
    }

    /// A selector matched the current element (top of the stack): routed by action.
    fn hit(&mut self, t: Target) {
        let depth = self.open.len() - 1;
        match t {
            Target::Group(g) => self.open.join_group(depth, g),
            Target::Has(h) => self.open.mark_has(depth, h),
            Target::Remove(n)
            | Target::Unwrap(n)
            | Target::Keep(n)
            | Target::DropAttributes(n)
            | Target::LazyImages(n)
                if self.rules.is_disabled(n) => {}
            Target::Remove(n) => self.candidate(depth, n, true),
            Target::Unwrap(n) => {
                let o = self.open.get_mut(depth);
                o.unwrap = o.unwrap.or(Some(n));
            }
            Target::Keep(n) => {
                let o = self.open.get_mut(depth);
                o.keep = o.keep.or(Some(n));
            }
            Target::DropAttributes(n) => {
                let mut ops = Vec::new();
                if let Action::DropAttributes { globs, .. } = &self.rules.rule(n).action {
                    for a in &self.attrs {
                        let name = self.gaps.bytes(a.name_start, a.name_end);
                        if globs.iter().any(|g| glob_match(g, name)) {
                            ops.push((a.name_start, AttrEdit::Drop));
                        }
                    }
                }
                self.attr_ops(depth, ops);
            }
            Target::LazyImages(_) => {
                let ops = lazy_image_ops(&self.gaps, &self.attrs);
                self.attr_ops(depth, ops);
            }
        }
    }

    fn attr_ops(&mut self, depth: usize, ops: Vec<(u64, AttrEdit)>) {
        let o = self.open.get(depth);
        self.draft.attr_ops(o.start, o.tag_end, ops);
    }

    /// Makes the element at `depth` a removal candidate of rule `n` (first rule wins).
    fn candidate(&mut self, depth: usize, n: u32, from_start: bool) {
        if let Some(id) = self.open.get(depth).cand {
            // A site rule takes an element over from a generic one: the guard trusts
            // site rules further, and the site's author meant this element.
            let c = self.cands.get_mut(id);
            if c.rule == n {
                return;
            }
            let mut other = n;
            if self.rules.rule(c.rule).generic && !self.rules.rule(n).generic {
                other = c.rule;
                c.rule = n;
            }
            // The rule left out stays in line while the one in charge has conditions,
            // which are decided only when the element ends.
            if self.rules.rule(c.rule).cond.is_some() {
                self.open.get_mut(depth).wait_behind(other);
            }
            return;
        }
        let o = self.open.get(depth);
        let detail = self.cands.next_detail(|| o.describe(&self.gaps));
        let mut c = Cand::new(n, o.start, o.text_start, detail);
        if !from_start {
            c.fill_preview(&self.text, false);
        }
        let id = self.cands.add(c);
        self.open.get_mut(depth).cand = Some(id);
    }

    /// A phrase of a text rule starts at `at` in the text stream: routed by action.
    fn on_phrase(&mut self, phrase: Phrase, at: u64) {
        let n = phrase.rule();
        if self.rules.is_disabled(n) {
            return;
        }
        let Some(g) = self.rules.rule_group(n) else {
            return;
        };
        let Some(depth) = self.open.innermost_within(g, at) else {
            return;
        };
        match phrase {
            Phrase::Containing(n) => self.candidate(depth, n, false),
            Phrase::CutAfter(n) => {
                // Climb out of inline wrappers that hold nothing before the marker:
                // `<p><strong>Related</strong>…` cuts from the `<p>`.
                let mut m = depth;
                while m > 0
                    && self.open.get(m).tag.is(flag::INLINE)
                    && self.open.get(m - 1).text_start == self.open.get(m).text_start
                {
                    m -= 1;
                }
                if m == 0 {
                    return;
                }
                let (start, ts) = (self.open.get(m).start, self.open.get(m).text_start);
                let totals = self.loc.totals();
                let parent = self.open.get_mut(m - 1);
                if parent.cut.is_none() {
                    parent.cut = Some(Box::new((start, ts, n, totals)));
                }
            }
        }
    }

    /// Pops the top element. `end` is `None` when it ends without an end tag (EOF, void).
    fn close(&mut self, end: Option<(&TagName, (u64, u64))>) {
        let pos = self.text.pos();
        let mut o = self.open.pop(end.is_some_and(|(_, (s, e))| s == e));
        let own = match end {
            Some((name, _)) => *name == o.tag && !o.implied,
            None => false,
        };
        let seen = self.loc.close(match end {
            Some((_, (_, e))) if own => e,
            Some((_, (s, _))) => s,
            None => self.gaps.end(),
        });
        if let Some(leads) = self.leads.as_deref_mut()
            && leads.open.last().is_some_and(|l| l.0 == self.open.len())
        {
            let (_, start) = leads.open.pop().expect("just seen");
            if let (true, Some((_, (_, e)))) = (own, end) {
                leads.closed(Lead {
                    start,
                    end: e,
                    words_after: self.loc.words(),
                    prose_after: self.loc.totals().0,
                });
            }
        }
        let text_len = pos - o.text_start;
        let contains_protected = self.open.held_protected(&o);
        let protected = if o.tag.is(flag::PROTECTED) {
            Some(o.tag.protected_name())
        } else if contains_protected {
            Some("article")
        } else {
            None
        };
        let unsafe_reason = match end {
            None => "no end tag: open at the end of the page",
            Some(_) if o.implied => "end tag implied, not written: HTML closed it earlier",
            Some(_) => "end tag implied, not written: closed by an ancestor's end tag",
        };
        let mut regex_cand = None;
        if !o.groups.is_empty() {
            let gaps = &self.gaps;
            match self
                .cands
                .regex_candidate(&self.rules, &self.text, &o, text_len, pos, |o| {
                    o.describe(gaps)
                }) {
                Some(RegexHit::New(id, rest)) => {
                    regex_cand = Some(id);
                    for n in rest {
                        o.wait_behind(n);
                    }
                }
                Some(RegexHit::Behind(rules)) => {
                    for n in rules {
                        o.wait_behind(n);
                    }
                }
                None => {}
            }
        }
        if let Some(id) = o.cand.or(regex_cand) {
            let c = self.cands.get_mut(id);
            c.text_len = text_len;
            c.protected = protected;
            c.prose = seen.prose;
            c.paras = seen.paras;
            if let (true, Some((_, (_, e)))) = (own, end) {
                c.end = e;
                c.state = CandState::Closed;
            } else {
                c.state = CandState::Unsafe(unsafe_reason);
            }
            if self.conditions_met(id, &o, &seen) {
                self.settle_early(id, pos);
            }
        }
        if let (Some(n), true, Some((_, (_, e)))) = (o.keep, own, end) {
            self.draft.keeps.push(Kept {
                rule: n,
                start: o.start,
                end: e,
                text_len,
                element: if self.cands.describes() {
                    o.describe(&self.gaps)
                } else {
                    String::new()
                },
            });
        }
        if &*o.tag == "body" && self.draft.body_end.is_none() {
            self.draft.body_end = Some(match end {
                Some((_, (s, _))) if own => (s, pos),
                _ => (u64::MAX, pos),
            });
        }
        if o.unwrap.is_some() {
            self.draft.unwraps.push(Unwrap {
                start: o.start,
                tag_end: o.tag_end,
                end_tag: match end {
                    Some((_, r)) if own => Some(r),
                    _ => None,
                },
            });
        }
        if let Some(&(start, ts, n, (prose0, paras0))) = o.cut.as_deref() {
            let detail = self
                .cands
                .next_detail(|| format!("{} (from the marker to the end)", o.describe(&self.gaps)));
            let mut c = Cand::new(n, start, ts, detail);
            c.text_len = pos - ts;
            c.state = CandState::Unsafe(unsafe_reason);
            c.protected = contains_protected.then_some("article");
            if let (true, Some((_, (s, _)))) = (own, end) {
                c.end = s;
                c.state = CandState::Closed;
            }
            let (prose1, paras1) = self.loc.totals();
            c.prose = prose1 - prose0;
            c.paras = (paras1 - paras0) as u32;
            c.fill_preview(&self.text, true);
            let id = self.cands.add(c);
            self.settle_early(id, pos);
        }
        if let Some((name, _)) = end {
            self.boundary(name);
        }
    }

    /// The conditions of candidate `id`'s rule, decided as its element `o` closes (the
    /// locator saw it as `seen`). A candidate that fails them leaves the list (described
    /// in the report as not applied); a text rule's candidacy then passes to the next
    /// `within` element around it, the smallest one holding the phrase that meets them.
    fn conditions_met(&mut self, id: u32, o: &Open, seen: &Closed) -> bool {
        let first = self.cands.get(id).rule;
        if self.rules.rule(first).cond.is_none() {
            return true;
        }
        let alts = o.alt.as_deref().unwrap_or(&[]);
        let mut met = Vec::new();
        let mut passed_up = Vec::new();
        for &n in std::iter::once(&first).chain(alts) {
            let rule = self.rules.rule(n).clone();
            let has = self
                .rules
                .rule_has(n)
                .is_none_or(|h| o.has.as_ref().is_some_and(|s| s.contains(h)));
            let unmet = rule
                .cond
                .as_deref()
                .and_then(|c| c.unmet(seen.words, seen.link_density(), has));
            match unmet {
                None => met.push(n),
                Some(why) => {
                    let c = self.cands.get(id);
                    self.draft.not_applied(c, &rule, why);
                    // Elements around this one have at least as many words: past
                    // `max_words` here, past it there.
                    let too_long = rule
                        .cond
                        .as_deref()
                        .and_then(|c| c.max_words)
                        .is_some_and(|m| seen.words > m);
                    if matches!(rule.action, Action::RemoveContaining { .. }) && !too_long {
                        passed_up.push(n);
                    }
                }
            }
        }
        // A text rule whose conditions failed here asks the next `within` element
        // around — even when another rule takes this one (a "Read also" label removed
        // by one rule, the list of links around it by the one that named it).
        let at = self.cands.get(id).text_start;
        for n in passed_up {
            if let Some(g) = self.rules.rule_group(n)
                && let Some(depth) = self.open.innermost_within(g, at)
            {
                self.candidate(depth, n, false);
            }
        }
        if let Some((&n, rest)) = met.split_first() {
            // The first rule whose conditions are met; the others, in order, are tried
            // at the end if its `where` is not met.
            let c = self.cands.get_mut(id);
            c.rule = n;
            c.alts = (!rest.is_empty()).then(|| rest.into());
            return true;
        }
        self.cands.release(id);
        false
    }

    /// Gives a closed candidate to the plan for early acceptance (see
    /// [`Draft::accept_early`]); accepted ones leave the candidate list.
    fn settle_early(&mut self, id: u32, pos: u64) {
        let c = self.cands.get(id);
        if self
            .draft
            .accept_early(c, self.rules.rule(c.rule), &self.guard, pos)
        {
            self.cands.release(id);
        }
    }

    /// The input has ended: read what is left and close what is open.
    fn end_of_input(&mut self) {
        self.pump(u64::MAX, true);
        self.settle();
        self.text.finish();
        self.scan(true);
        while !self.open.is_empty() {
            self.close(None);
        }
    }

    /// End of the page: close what is open, and let the plan judge and order the edits.
    fn finish(mut self, len: u64) -> Plan {
        self.end_of_input();
        self.cands.update_previews(&self.text);
        let total = self.text.pos().max(1);
        let article = std::mem::take(&mut self.loc).finish(len);
        let body = self.draft.body_inner(len);
        let mut plan =
            self.draft
                .finish(&self.cands, &self.rules, &self.guard, len, total, article);
        plan.body = body;
        plan.leads = self.leads.take().map(|l| l.done).unwrap_or_default();
        plan
    }
}

/// What a find pass does besides finding the removals.
pub struct Also {
    /// Note the headlines, standfirsts and images a reading copy takes from beside the
    /// article ([`Plan::leads`]).
    pub leads: bool,
    /// Describe the removals (element and text) for the report; without it the plan is
    /// the same, its removals only counted.
    pub describe: bool,
    /// More handlers for the same lol_html pass, which only look (the reading copy's
    /// metadata, [`super::meta::Collector`]).
    pub handlers: Vec<super::meta::Handler>,
}

/// Pass 1 over a page.
pub fn find(
    rules: Arc<Compiled>,
    guard: Guard,
    encoding: &'static encoding_rs::Encoding,
    max_memory: usize,
    also: Also,
    feed: impl FnMut(&mut dyn FnMut(&[u8]) -> Result<(), CleanError>) -> Result<(), CleanError>,
) -> Result<Plan, CleanError> {
    let mut finder = Finder::new(rules, guard, encoding, false);
    if also.leads {
        finder.leads = Some(Box::default());
    }
    if !also.describe {
        finder.cands = Cands::quiet();
    }
    let (finder, len) = run(finder, encoding, max_memory, also.handlers, feed)?;
    Ok(finder.finish(len))
}

/// The text of an HTML page (UTF-8) exactly as the finder sees it: normalized the way
/// rule phrases are, with what HTML hides (`head`, `template`, `select`, raw-text
/// elements such as `script`, `title` and `iframe`, comments) left out. What rule
/// authors' examples are checked against.
pub fn visible_text(html: &[u8]) -> Result<String, CleanError> {
    let rules = Arc::new(Compiled::new(Vec::new(), Vec::new()));
    let encoding = encoding_rs::UTF_8;
    let finder = Finder::new(rules, Guard::default(), encoding, true);
    let feed = |sink: &mut dyn FnMut(&[u8]) -> Result<(), CleanError>| sink(html);
    let (mut finder, _) = run(
        finder,
        encoding,
        super::Options::default().max_memory,
        Vec::new(),
        feed,
    )?;
    finder.end_of_input();
    Ok(finder.text.into_text().trim().to_string())
}

/// The selector index's matches on `html` (UTF-8), by element start: what the finder
/// found by its own lookups, without lol_html's selectors.
#[cfg(test)]
pub(super) fn index_matches(rules: Arc<Compiled>, html: &[u8]) -> Vec<(u64, Target)> {
    let finder = Finder::new(rules, Guard::default(), encoding_rs::UTF_8, false);
    let feed = |sink: &mut dyn FnMut(&[u8]) -> Result<(), CleanError>| sink(html);
    let (finder, _) =
        run(finder, encoding_rs::UTF_8, 32 << 20, Vec::new(), feed).expect("a test page");
    finder.seen
}

/// Reads the page through lol_html with `finder` following it; returns the finder and
/// the number of bytes read.
fn run(
    finder: Finder,
    encoding: &'static encoding_rs::Encoding,
    max_memory: usize,
    also: Vec<super::meta::Handler>,
    mut feed: impl FnMut(&mut dyn FnMut(&[u8]) -> Result<(), CleanError>) -> Result<(), CleanError>,
) -> Result<(Finder, u64), CleanError> {
    let complex: Vec<(lol_html::Selector, Target)> = finder
        .rules
        .parts
        .iter()
        .flat_map(|p| p.complex.iter().cloned())
        .collect();
    let finder = Rc::new(RefCell::new(finder));
    let f1 = finder.clone();
    let mut settings = Settings::new()
        .with_encoding(AsciiCompatibleEncoding::new(encoding).ok_or_else(|| {
            CleanError::Encoding(format!("{} is not ASCII-compatible", encoding.name()))
        })?)
        // The engine reads the page in the encoding it sniffed (the byte order mark, or
        // a `<meta charset>` in the first 4 KiB); handlers riding along (the reading
        // copy's metadata) read it so too, as the serializer does, not in one a later
        // `<meta>` names.
        .with_adjust_charset_on_meta_tag(also.is_empty())
        .with_strict(false)
        .with_memory_settings(MemorySettings::new().with_max_allowed_memory_usage(max_memory))
        .append_element_content_handler(lol_html::element!("*", move |el| {
            let mut f = f1.borrow_mut();
            let depth = f.on_element(el);
            if !el.can_have_content() {
                // Void elements: the start tag is the whole element. Closed once the
                // element's other handlers have run.
                f.pending_void = Some(depth);
            }
            Ok(())
        }));
    for (sel, t) in complex {
        let f = finder.clone();
        settings = settings.append_element_content_handler((
            Cow::Owned(sel),
            ElementContentHandlers::default().element(move |_: &mut Element<'_, '_>| {
                f.borrow_mut().hit(t);
                Ok(())
            }),
        ));
    }
    for h in also {
        settings = settings.append_element_content_handler(h);
    }
    let mut len = 0u64;
    {
        let mut rw = HtmlRewriter::new(settings, |_: &[u8]| {});
        feed(&mut |chunk: &[u8]| {
            len += chunk.len() as u64;
            finder.borrow_mut().gaps.push(chunk);
            rw.write(chunk).map_err(rewriting_error)?;
            finder.borrow_mut().drain();
            Ok(())
        })?;
        rw.end().map_err(rewriting_error)?;
    }
    let finder = Rc::try_unwrap(finder)
        .map_err(|_| CleanError::Engine("finder still shared after the pass".into()))?
        .into_inner();
    Ok((finder, len))
}

fn rewriting_error(e: lol_html::errors::RewritingError) -> CleanError {
    match e {
        lol_html::errors::RewritingError::MemoryLimitExceeded(_) => CleanError::TooComplex(
            "a single tag or text run too large (a huge attribute), or hundreds of thousands of elements left open (unclosed <p>, <li> or <td>)".into(),
        ),
        other => CleanError::Engine(other.to_string()),
    }
}
