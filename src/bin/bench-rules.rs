//! Measures what a huge rule set costs: load time, memory, and cleaning throughput with
//! the shipped rules alone vs shipped + imported, on the same pages in the same run.
//!
//! usage: bench-rules --rules DIR… [--extra DIR…] [--pages DIR] [--rounds N]
//!
//! `--rules` folders make the baseline book; the full book adds the `--extra` folders.
//! Each round also times the engine bench's reference on the same pages — lol_html with
//! one no-op `*` element handler — so the baseline's ratio to it is measured here too
//! (and `scripts/count-instructions.sh REFERENCE=1` counts its instructions).
//! Pages are `<pages>/*/*/source.html` (the shared corpus layout); without any, a set of
//! generated article pages is used. Cleaning runs on one thread, rounds alternating
//! between the two books so both see the same machine state.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pare::clean::{self, Input, Options};
use pare::rules::RuleBook;

struct Args {
    rules: Vec<PathBuf>,
    extra: Vec<PathBuf>,
    pages: Option<PathBuf>,
    rounds: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        rules: Vec::new(),
        extra: Vec::new(),
        pages: None,
        rounds: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--rules" => a.rules.push(value()?.into()),
            "--extra" => a.extra.push(value()?.into()),
            "--pages" => a.pages = Some(value()?.into()),
            "--rounds" => a.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?,
            _ => return Err(format!("unknown argument `{flag}`")),
        }
    }
    if a.rules.is_empty() {
        return Err("give at least one --rules DIR".into());
    }
    Ok(a)
}

/// Resident memory of this process, in kB (Linux; 0 elsewhere).
fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn load_pages(dir: Option<&Path>) -> Vec<(String, Vec<u8>)> {
    let mut pages = Vec::new();
    if let Some(dir) = dir {
        let mut paths = Vec::new();
        for corpus in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            for page in std::fs::read_dir(corpus.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let p = page.path().join("source.html");
                if p.is_file() {
                    paths.push(p);
                }
            }
        }
        paths.sort();
        for p in paths {
            if let Ok(b) = std::fs::read(&p) {
                pages.push((p.display().to_string(), b));
            }
        }
    }
    if pages.is_empty() {
        pages = generated_pages();
    }
    pages
}

/// Article-shaped pages with the usual clutter, for machines without the corpus.
fn generated_pages() -> Vec<(String, Vec<u8>)> {
    (0..200)
        .map(|i| {
            let mut s = format!(
                "<!doctype html><html><head><title>Story {i}</title>\
                 <link rel=canonical href=\"https://news{}.example.com/story/{i}\"></head><body>\
                 <header class=site-header><nav class=menu><a href=/>Home</a></nav></header>\
                 <main><article class=\"post entry-content\"><h1>Story {i}</h1>",
                i % 17
            );
            for p in 0..40 {
                s.push_str(&format!(
                    "<p class=\"para p{p}\">Paragraph {p} of story {i}: plain article text that \
                     runs long enough to look like writing, with <a href=\"/x/{p}\">a link</a>.</p>"
                ));
                if p % 10 == 5 {
                    s.push_str(
                        "<div class=\"share-buttons social\" id=share><a class=fb>Share</a></div>\
                         <aside class=newsletter-signup><p>Sign up for our newsletter</p></aside>",
                    );
                }
            }
            s.push_str(
                "</article></main><div class=related-articles><ul><li>More</li></ul></div>\
                 <footer class=site-footer>© Example</footer></body></html>",
            );
            (format!("generated-{i}.html"), s.into_bytes())
        })
        .collect()
}

fn load(dirs: &[PathBuf]) -> (RuleBook, Duration) {
    let t = Instant::now();
    let book = RuleBook::load(dirs).unwrap_or_else(|errs| {
        for e in errs.iter().take(20) {
            eprintln!("{e}");
        }
        eprintln!("error: {} problem(s) loading rules", errs.len());
        std::process::exit(1);
    });
    (book, t.elapsed())
}

/// The engine bench's reference: one lol_html pass over every page with a single no-op
/// `*` element handler. Returns the number of elements seen.
#[inline(never)]
fn reference(pages: &[(String, Vec<u8>)]) -> usize {
    use lol_html::{HtmlRewriter, Settings, element};
    let mut elements = 0;
    for (_, page) in pages {
        let settings = Settings::new().append_element_content_handler(element!("*", |_el| {
            elements += 1;
            Ok(())
        }));
        let mut rw = HtmlRewriter::new(settings, |_: &[u8]| {});
        // Pages lol_html refuses count as far as they got, like the engine's failures.
        let _ = page
            .chunks(64 * 1024)
            .try_for_each(|c| rw.write(c))
            .and_then(|()| rw.end());
    }
    elements
}

/// Cleans every page once; returns the time taken and the number of failures.
fn round(book: &RuleBook, pages: &[(String, Vec<u8>)], out: &mut Vec<u8>) -> (Duration, usize) {
    let opts = Options::default();
    let t = Instant::now();
    let mut failed = 0;
    for (_, page) in pages {
        out.clear();
        if clean::clean(Input::Bytes(page), book, &opts, out).is_err() {
            failed += 1;
        }
    }
    (t.elapsed(), failed)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "error: {e}\nusage: bench-rules --rules DIR… [--extra DIR…] [--pages DIR] [--rounds N]"
            );
            std::process::exit(2);
        }
    };
    let pages = load_pages(args.pages.as_deref());
    let bytes: usize = pages.iter().map(|(_, b)| b.len()).sum();
    let mb = bytes as f64 / 1e6;

    let all: Vec<PathBuf> = args.rules.iter().chain(&args.extra).cloned().collect();
    let rss0 = rss_kb();
    let (full, full_load) = load(&all);
    let rss1 = rss_kb();
    let (base, base_load) = load(&args.rules);

    let mut out = Vec::with_capacity(1 << 20);
    // Warm-up: compiles each site's rule set once (cached afterwards) and the page cache.
    let (full_first, _) = round(&full, &pages, &mut out);
    let (base_first, _) = round(&base, &pages, &mut out);
    let rss2 = rss_kb();
    let (mut tb, mut tf, mut tr) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let (mut fb, mut ff) = (0, 0);
    for _ in 0..args.rounds {
        let (t, f) = round(&base, &pages, &mut out);
        tb += t;
        fb += f;
        let (t, f) = round(&full, &pages, &mut out);
        tf += t;
        ff += f;
        let t = Instant::now();
        std::hint::black_box(reference(&pages));
        tr += t.elapsed();
    }
    let n = args.rounds.max(1) as f64;
    let base_mbs = mb * n / tb.as_secs_f64().max(1e-9);
    let full_mbs = mb * n / tf.as_secs_f64().max(1e-9);
    let ref_mbs = mb * n / tr.as_secs_f64().max(1e-9);

    let mut o = std::io::stdout().lock();
    let _ = writeln!(
        o,
        "pages: {} ({mb:.1} MB), rounds: {}",
        pages.len(),
        args.rounds
    );
    let _ = writeln!(
        o,
        "baseline: {} files, {} rules, loaded in {:.3} s",
        base.files.len(),
        base.rule_count(),
        base_load.as_secs_f64()
    );
    let _ = writeln!(
        o,
        "full:     {} files, {} rules, loaded in {:.3} s",
        full.files.len(),
        full.rule_count(),
        full_load.as_secs_f64()
    );
    let _ = writeln!(
        o,
        "memory: full book {:.1} MB RSS after load; {:.1} MB after first round (compiled per-site sets cached)",
        rss1.saturating_sub(rss0) as f64 / 1024.0,
        rss2.saturating_sub(rss0) as f64 / 1024.0
    );
    let _ = writeln!(
        o,
        "first round (compiles per-site sets): baseline {:.2} s, full {:.2} s",
        base_first.as_secs_f64(),
        full_first.as_secs_f64()
    );
    let _ = writeln!(
        o,
        "throughput: baseline {base_mbs:.1} MB/s, full {full_mbs:.1} MB/s"
    );
    let _ = writeln!(
        o,
        "ratio full/baseline: {:.0}%",
        100.0 * full_mbs / base_mbs.max(1e-9)
    );
    let _ = writeln!(
        o,
        "reference (lol_html, one no-op * handler): {ref_mbs:.1} MB/s; baseline/reference {:.2}, full/reference {:.2}",
        base_mbs / ref_mbs.max(1e-9),
        full_mbs / ref_mbs.max(1e-9)
    );
    if fb + ff > 0 {
        let _ = writeln!(o, "failures: baseline {fb}, full {ff}");
    }
}
