//! Benchmark helper for `scripts/bench-reader.sh`: runs rs-trafilatura over
//! pages and writes what it extracts.
//!
//! Usage: `bench-rs-trafilatura OUTDIR < paths` — one input path a line on
//! stdin. Page number i (from 0, in stdin's order) is written to
//! `OUTDIR/<i>.html`: rs-trafilatura's `content_html`, its counterpart of
//! trafilatura's `output_format="html"` (its text as `<p>`s when it has text
//! but no HTML; empty when it found no content).
//! Prints the seconds spent in extraction alone (not reading, writing or
//! process start) on stdout; pages with no content or a panic go to stderr.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn main() {
    let out_dir = PathBuf::from(std::env::args_os().nth(1).unwrap_or_else(|| {
        eprintln!("usage: bench-rs-trafilatura OUTDIR < paths");
        std::process::exit(2);
    }));
    std::fs::create_dir_all(&out_dir).expect("create OUTDIR");

    // Defaults mirror trafilatura's `extract()` (tables on; images, links and
    // formatting off), except comments: trafilatura extracts them by default
    // (though its HTML output leaves them out), so do the same work here.
    let options = rs_trafilatura::Options {
        include_comments: true,
        ..rs_trafilatura::Options::default()
    };

    // Silence the default panic message; a panicking page is reported below.
    std::panic::set_hook(Box::new(|_| {}));

    let mut spent = Duration::ZERO;
    let (mut empty, mut panicked, mut text_only) = (0usize, 0usize, 0usize);
    for (i, line) in std::io::stdin().lock().lines().enumerate() {
        let path = line.expect("read stdin");
        if path.is_empty() {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));

        let start = Instant::now();
        let outcome = std::panic::catch_unwind(|| {
            rs_trafilatura::extract_bytes_with_options(&bytes, &options)
        });
        spent += start.elapsed();

        let html = match outcome {
            // Some of its fallbacks (multi-candidate merge, repeated items,
            // JSON-LD) give text only, with no content_html: write that text
            // as paragraphs, so the page still has its output.
            Ok(Ok(result)) => match result.content_html {
                Some(html) if !html.is_empty() => html,
                _ if !result.content_text.trim().is_empty() => {
                    eprintln!("rs-trafilatura: text only: {path}");
                    text_only += 1;
                    paragraphs(&result.content_text)
                }
                _ => {
                    eprintln!("rs-trafilatura: no content: {path}: empty result");
                    String::new()
                }
            },
            Ok(Err(e)) => {
                eprintln!("rs-trafilatura: no content: {path}: {e}");
                String::new()
            }
            Err(_) => {
                eprintln!("rs-trafilatura: PANIC: {path}");
                panicked += 1;
                String::new()
            }
        };
        if html.is_empty() {
            empty += 1;
        }
        let mut file = std::fs::File::create(out_dir.join(format!("{i}.html"))).expect("create output");
        file.write_all(html.as_bytes()).expect("write output");
    }
    if text_only > 0 {
        eprintln!("rs-trafilatura: {text_only} page(s) with text only (no content_html), written as <p>s");
    }
    if empty > 0 || panicked > 0 {
        eprintln!("rs-trafilatura: {empty} page(s) with empty output ({panicked} panicked)");
    }
    println!("{:.3}", spent.as_secs_f64());
}

/// Text as HTML paragraphs, one per blank-line-separated block.
fn paragraphs(text: &str) -> String {
    let mut html = String::new();
    for block in text.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
        html.push_str("<p>");
        for c in block.chars() {
            match c {
                '&' => html.push_str("&amp;"),
                '<' => html.push_str("&lt;"),
                '>' => html.push_str("&gt;"),
                _ => html.push(c),
            }
        }
        html.push_str("</p>\n");
    }
    html
}
