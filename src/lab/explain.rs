//! `pare explain`: what the rules did to one page, and why.
//!
//! For every removal: the rule's `file:line`, its category, the element (`tag#id.class`)
//! and the start of its text; every removal the safety guard refused and why; the site
//! detected and the site files that applied; the generic rules that never fired.
//! With `--html OUT.html` the page itself is written with each removed block left in
//! place, outlined and labelled (refused removals are listed in a banner at the top:
//! the engine's plan carries no byte range for them).

use crate::written;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use crate::clean::{self, Input, Options, Report};
use crate::rules::{Action, RuleBook, compile::Compiled};

/// Everything `explain` found out about one page.
#[derive(Debug)]
pub struct Explanation {
    pub report: Report,
    /// Byte range of each entry in `report.removals`, when it could be placed.
    pub ranges: Vec<Option<(u64, u64)>>,
    /// Ids and origins of generic removal rules in force that removed nothing (and were
    /// not refused either).
    pub idle_generic: Vec<(String, String)>,
}

/// Cleans `input` without writing it and gathers the explanation.
pub fn explain(
    input: &[u8],
    book: &RuleBook,
    opts: &Options,
) -> Result<Explanation, clean::CleanError> {
    let report = clean::clean(Input::Bytes(input), book, opts, &mut io::sink())?;
    let compiled = book.for_site(report.site.as_deref(), opts.categories);
    // Each removal carries its byte range; `keep` removes several ranges (the body
    // around what it keeps), so it is not outlined as one block.
    let ranges = report
        .removals
        .iter()
        .map(|r| {
            (report.kind == clean::Kind::Html && r.action != "keep")
                .then_some((r.start, r.start + r.bytes))
        })
        .collect();
    let idle_generic = idle_generic(&compiled, &report);
    Ok(Explanation {
        report,
        ranges,
        idle_generic,
    })
}

/// Generic removal rules in force on this page that neither removed nor tried to remove
/// anything. Attribute rules (`drop_attributes`, `lazy_images`) are left out: they
/// remove nothing by design.
fn idle_generic(compiled: &Compiled, report: &Report) -> Vec<(String, String)> {
    compiled
        .rules()
        .map(|(_, r)| r)
        .filter(|r| r.generic)
        .filter(|r| {
            !matches!(
                r.action,
                Action::DropAttributes { .. } | Action::LazyImages { .. }
            )
        })
        .filter(|r| {
            !report.removals.iter().any(|m| m.rule == r.id)
                && !report.refused.iter().any(|m| m.removal.rule == r.id)
        })
        .map(|r| (r.id.clone(), r.origin.to_string()))
        .collect()
}

struct Paint(bool);

impl Paint {
    fn p(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// Writes the explanation as text (ANSI colours when `color`).
pub fn print(x: &Explanation, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let c = Paint(color);
    let r = &x.report;
    let url = r.url.as_deref().unwrap_or("(none found)");
    let how = r
        .url_source
        .map(|s| format!(" (from {})", serde_json_name(&s)))
        .unwrap_or_default();
    writeln!(out, "{} {url}{how}", c.p("1", "url:"))?;
    writeln!(
        out,
        "{} {}",
        c.p("1", "site:"),
        r.site.as_deref().unwrap_or("(unknown: generic rules only)")
    )?;
    if r.site_files.is_empty() {
        writeln!(out, "{} none", c.p("1", "site files:"))?;
    } else {
        writeln!(
            out,
            "{} {}",
            c.p("1", "site files:"),
            r.site_files.join(", ")
        )?;
    }
    writeln!(
        out,
        "{} {} rules in force; {} removed, {} refused, {} unwrapped, {} attribute edits; {} → {} bytes",
        c.p("1", "summary:"),
        r.rules,
        r.removals.len(),
        r.refused.len(),
        r.unwrapped,
        r.attributes_changed,
        r.bytes_in,
        r.bytes_out
    )?;
    writeln!(out, "{} {}", c.p("1", "article:"), article_line(r))?;
    if let Some(m) = &r.metadata {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            c.p("1", &format!("reading copy: kept ({})", r.kept.len()))
        )?;
        for k in &r.kept {
            writeln!(
                out,
                "  {} bytes {}..{}  {}",
                c.p("32", &format!("{:<9}", k.what)),
                k.start,
                k.end,
                c.p("2", kept_why(k.what))
            )?;
        }
        writeln!(out, "{}", c.p("1", "metadata"))?;
        let mut any = false;
        for (key, v) in m.fields() {
            if let Some(v) = v {
                any = true;
                writeln!(out, "  {} {}", c.p("36", &format!("{key}:")), v)?;
            }
        }
        if !any {
            writeln!(out, "  (none found)")?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        c.p("1", &format!("removed ({})", r.removals.len()))
    )?;
    for m in &r.removals {
        writeln!(
            out,
            "  {} {} {} {}",
            c.p("31", &format!("{:<10}", m.category.name())),
            c.p("36", &m.rule),
            c.p("2", &m.origin),
            m.action
        )?;
        writeln!(
            out,
            "      {} {} bytes  {}",
            c.p("33", &m.element),
            m.bytes,
            quote(&m.text)
        )?;
        if !m.conditions.is_empty() {
            writeln!(out, "      {} {}", c.p("2", "met:"), m.conditions)?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        c.p("1", &format!("refused by the guard ({})", r.refused.len()))
    )?;
    for f in &r.refused {
        entry(&c, out, f, "35", "why:")?;
    }
    if !r.not_applied.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            c.p(
                "1",
                &format!("not applied: conditions not met ({})", r.not_applied.len())
            )
        )?;
        for f in &r.not_applied {
            entry(&c, out, f, "2", "unmet:")?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        c.p(
            "1",
            &format!("generic rules that never fired ({})", x.idle_generic.len())
        )
    )?;
    for (id, origin) in &x.idle_generic {
        writeln!(out, "  {} {}", id, c.p("2", origin))?;
    }
    Ok(())
}

/// A removal that did not happen (refused, or its conditions not met): rule, element,
/// text, and why after `label`, in colour `code`.
fn entry(
    c: &Paint,
    out: &mut dyn Write,
    f: &crate::clean::Refusal,
    code: &str,
    label: &str,
) -> io::Result<()> {
    let m = &f.removal;
    writeln!(
        out,
        "  {} {} {} {}",
        c.p(code, &format!("{:<10}", m.category.name())),
        c.p("36", &m.rule),
        c.p("2", &m.origin),
        m.action
    )?;
    writeln!(out, "      {} {}", c.p("33", &m.element), quote(&m.text))?;
    writeln!(out, "      {} {}", c.p(code, label), f.reason)
}

/// Why a reading copy keeps a part.
fn kept_why(what: &str) -> &'static str {
    match what {
        "article" => "the located article",
        "headline" => "the last <h1> before the article, with little or mostly prose between",
        "lead" => "between the headline and the article: standfirst, byline, lead image",
        "body" => "the whole body: the locator is not sure where the article is",
        _ => "",
    }
}

/// Where the locator put the article, in one line.
fn article_line(r: &Report) -> String {
    if r.kind == crate::clean::Kind::Text {
        return "a plain text: its paragraphs that read as prose, from the first to the last no rule drops".to_string();
    }
    match &r.article {
        None => "none found (no paragraph of prose)".to_string(),
        Some(a) => format!(
            "<{}> at bytes {}..{}, confidence {:.2} ({}), {} characters of prose in {} paragraph{} reading as prose ({:.0}% of the page's prose)",
            a.tag,
            a.start,
            a.end,
            a.confidence,
            if a.sure() {
                "sure: the article guard and `where` apply"
            } else {
                "not sure: only the page-share guard applies"
            },
            a.prose,
            a.paras,
            if a.paras == 1 { "" } else { "s" },
            if a.page_prose == 0 {
                0.0
            } else {
                100.0 * a.prose as f64 / a.page_prose as f64
            }
        ),
    }
}

fn serde_json_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn quote(s: &str) -> String {
    if s.is_empty() {
        "(no text)".into()
    } else {
        format!("\"{s}\"")
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "<style>\
pare-cut{display:block;position:relative;outline:3px solid #d22;outline-offset:1px;background:rgba(221,34,34,.08);margin:4px 0}\
pare-cut>pare-label{display:block;font:bold 12px/1.4 monospace;color:#fff;background:#d22;padding:1px 6px}\
pare-article{display:block;outline:3px dashed #1a7f37;outline-offset:3px}\
pare-article>pare-label{display:block;font:bold 12px/1.4 monospace;color:#fff;background:#1a7f37;padding:1px 6px}\
pare-kept{display:block;outline:3px solid #1f6feb;outline-offset:6px}\
pare-kept>pare-label{display:block;font:bold 12px/1.4 monospace;color:#fff;background:#1f6feb;padding:1px 6px}\
pare-banner{display:block;font:13px/1.5 monospace;background:#fffbe6;color:#222;border:3px solid #444;padding:8px;margin:8px}\
pare-banner b{color:#000}pare-banner .refused{color:#8a2be2}pare-banner .removed{color:#d22}\
</style>";

/// The page with every removed block wrapped in an outlined, labelled `<pare-cut>`, a
/// banner at the start of the body (site, files, refused removals in another colour, idle
/// rules) and scripts switched off, so the file can be opened offline.
pub fn annotate(input: &[u8], x: &Explanation) -> Vec<u8> {
    let r = &x.report;
    let body_at = body_content_start(input);
    let mut marks: Vec<(u64, bool, String)> = Vec::new(); // (offset, is_end, markup)
    for (m, range) in r.removals.iter().zip(&x.ranges) {
        let Some((s, e)) = *range else { continue };
        if body_at.is_some_and(|b| (s as usize) < b) {
            continue; // in the head: nothing to see, and a wrapper there would move it
        }
        let label = format!(
            "{} · {} · {} · {}",
            m.rule,
            m.category.name(),
            m.origin,
            m.element
        );
        marks.push((
            s,
            false,
            format!(
                "<pare-cut data-rule=\"{}\" data-category=\"{}\"><pare-label>{}</pare-label>",
                esc(&m.rule),
                m.category.name(),
                esc(&label)
            ),
        ));
        marks.push((e, true, "</pare-cut>".to_string()));
    }
    // At one offset, closings go before openings; cuts never overlap.
    marks.sort_by_key(|(o, is_end, _)| (*o, !*is_end));
    // The located article, outlined in another colour: opened before and closed after
    // any cut at the same offsets (it is the outer element).
    let mut article_marks = Vec::new();
    if let Some(a) = &r.article
        && body_at.is_none_or(|b| a.start as usize >= b)
        && (a.end as usize) <= input.len()
    {
        article_marks.push((
            a.start as usize,
            format!(
                "<pare-article><pare-label>article · &lt;{}&gt; · confidence {:.2}{}</pare-label>",
                esc(&a.tag),
                a.confidence,
                if a.sure() { "" } else { " · not sure" }
            ),
        ));
        article_marks.push((a.end as usize, "</pare-article>".to_string()));
    }
    let mut banner = String::from("<pare-banner>");
    banner.push_str(&format!(
        "<b>pare explain</b> — site: {} — site files: {} — <span class=\"removed\">{} removed</span>, <span class=\"refused\">{} refused</span><br>",
        esc(r.site.as_deref().unwrap_or("unknown")),
        esc(&if r.site_files.is_empty() { "none".to_string() } else { r.site_files.join(", ") }),
        r.removals.len(),
        r.refused.len()
    ));
    for f in &r.refused {
        banner.push_str(&format!(
            "<span class=\"refused\" data-refused=\"{}\">refused: {} ({}) {} — {} — “{}”</span><br>",
            esc(&f.removal.rule),
            esc(&f.removal.rule),
            f.removal.category.name(),
            esc(&f.removal.element),
            esc(&f.reason),
            esc(&f.removal.text)
        ));
    }
    let unplaced: Vec<&str> = r
        .removals
        .iter()
        .zip(&x.ranges)
        .filter(|(_, g)| g.is_none())
        .map(|(m, _)| m.rule.as_str())
        .collect();
    if !unplaced.is_empty() {
        banner.push_str(&format!(
            "removed but not placed: {}<br>",
            esc(&unplaced.join(", "))
        ));
    }
    if !x.idle_generic.is_empty() {
        let ids: Vec<&str> = x.idle_generic.iter().map(|(i, _)| i.as_str()).collect();
        banner.push_str(&format!(
            "generic rules that never fired: {}",
            esc(&ids.join(", "))
        ));
    }
    banner.push_str("</pare-banner>");
    let head = format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'none'\">{STYLE}"
    );
    // Every insertion as (offset, order at that offset, markup): the head's additions,
    // then the banner, then the closings and openings of the outlines.
    let body = body_at.unwrap_or(0);
    let head_at = tag_end(input, b"<head")
        .filter(|h| *h <= body)
        .unwrap_or(body);
    let mut inserts: Vec<(usize, u8, String)> = vec![(head_at, 0, head), (body, 1, banner)];
    for (o, is_end, m) in marks {
        inserts.push((o as usize, if is_end { 2 } else { 4 }, m));
    }
    if let [(s, open), (e, close)] = &article_marks[..] {
        inserts.push((*s, 3, open.clone()));
        inserts.push((*e, 1, close.clone()));
    }
    // A reading copy's parts, outermost of all: opened first and closed last at their
    // offsets.
    for k in &r.kept {
        let (s, e) = (k.start as usize, k.end as usize);
        if e > input.len() || body_at.is_some_and(|b| s < b) && k.what != "body" {
            continue;
        }
        inserts.push((
            s,
            2,
            format!("<pare-kept><pare-label>kept · {}</pare-label>", k.what),
        ));
        inserts.push((e, 0, "</pare-kept>".to_string()));
    }
    inserts.sort_by_key(|(o, k, _)| (*o, *k));
    let extra: usize = inserts.iter().map(|(_, _, m)| m.len()).sum();
    let mut out = Vec::with_capacity(input.len() + extra);
    let mut pos = 0usize;
    for (o, _, m) in inserts {
        out.extend_from_slice(&input[pos..o]);
        pos = o;
        out.extend_from_slice(m.as_bytes());
    }
    out.extend_from_slice(&input[pos..]);
    out
}

/// Offset just after the `<body …>` start tag, if the page has one.
fn body_content_start(input: &[u8]) -> Option<usize> {
    tag_end(input, b"<body")
}

/// Offset just after the first start tag named by `open` (`<body`), if any.
fn tag_end(input: &[u8], open: &[u8]) -> Option<usize> {
    let lower: Vec<u8> = input.iter().map(u8::to_ascii_lowercase).collect();
    let n = open.len();
    let mut from = 0;
    while let Some(i) = lower[from..].windows(n).position(|w| w == open) {
        let at = from + i;
        let next = lower.get(at + n).copied().unwrap_or(b'>');
        if next == b'>' || next.is_ascii_whitespace() || next == b'/' {
            return lower[at..]
                .iter()
                .position(|&b| b == b'>')
                .map(|e| at + e + 1);
        }
        from = at + n;
    }
    None
}

/// `pare explain FILE [--url URL] [--rules DIR]… [--html OUT.html]`, on the rules loaded.
pub fn command(book: &RuleBook, opts: &Options, file: &Path, html: Option<&Path>) -> ExitCode {
    if let Some(e) = html.and_then(|h| written::clashes_with_input(h, &[file.to_path_buf()])) {
        eprintln!("error: --html {e}");
        return ExitCode::from(2);
    }
    let Some(input) = super::read_page(file) else {
        return ExitCode::FAILURE;
    };
    let x = match explain(&input, book, opts) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    let stdout = io::stdout();
    let color = crate::color::stdout();
    if let Err(e) = print(&x, color, &mut stdout.lock()) {
        eprintln!("error: cannot write: {e}");
        return ExitCode::FAILURE;
    }
    if let Some(path) = html {
        if let Err(e) = written::write_whole(path, &annotate(&input, &x)) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        eprintln!("wrote {}", path.display());
    }
    ExitCode::SUCCESS
}
