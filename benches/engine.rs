//! Engine benchmark: `cargo bench --bench engine`.
//!
//! 1. Throughput of the engine (`clean::clean`, shipped rules) on a folder of pages,
//!    next to plain lol_html passes over the same bytes in the same run: one with a
//!    single no-op `*` element handler (the reference the goal is stated against), and
//!    one with no handler at all. Rounds alternate between them so machine noise
//!    hits all alike; the report gives medians and the ratio. The engine runs as
//!    `--report` runs it (removals described) and, on a line of its own, as the daemon
//!    and batch mode run it (counts only).
//! 2. Peak memory of `pare clean` (the real binary) on a generated page of
//!    `PARE_BENCH_BIG_MB` megabytes (default 1024), read from /proc while it runs.
//!
//! Pages: `PARE_BENCH_PAGES=DIR` (every *.html below it), else `../shared/corpus` when it
//! exists, else pages generated here. `PARE_BENCH_ROUNDS` (default 7). `PARE_BENCH_RULES=DIR`
//! loads another rules folder instead of the shipped `rules/`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lol_html::{HtmlRewriter, Settings, element};
use pare::clean::{self, Input, Options};
use pare::rules::RuleBook;

fn html_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            html_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "html") {
            out.push(p);
        }
    }
}

/// A page modeled on a news article: header, navigation, paragraphs, boilerplate blocks.
fn generated_page(n: usize) -> Vec<u8> {
    let mut s = String::from(
        "<!DOCTYPE html><html><head><meta charset=utf-8><title>Generated</title>\
         <link rel=canonical href=\"https://news.example.com/story\"></head><body>\
         <header class=site-header><nav><a href=/>Home</a> <a href=/world>World</a></nav></header>\
         <main><article class=story><h1>A generated story</h1>",
    );
    for i in 0..n {
        s.push_str(&format!(
            "<p class=para>Paragraph {i} of the story, with <a href=\"/x/{i}\">a link</a> and some \
             <em>emphasis</em> in a sentence long enough to look like prose &amp; carry entities.</p>"
        ));
        if i % 50 == 3 {
            s.push_str(
                "<div class=\"newsletter-signup\"><h3>Sign up for our newsletter</h3>\
                 <form action=/subscribe><input type=email name=e><button>Go</button></form></div>",
            );
        }
        if i % 100 == 5 {
            s.push_str("<div class=share-buttons><a href=#>Share</a> <a href=#>Tweet</a></div>");
        }
    }
    s.push_str(
        "<aside class=related-articles><h2>Related articles</h2><ul><li><a href=/a>One</a></li></ul></aside>\
         </article></main><footer>Footer</footer></body></html>",
    );
    s.into_bytes()
}

fn lol_pass(pages: &[Vec<u8>], handler: bool) -> usize {
    let mut elements = 0usize;
    for p in pages {
        let mut count = 0usize;
        let settings = if handler {
            Settings::new().append_element_content_handler(element!("*", |_el| {
                count += 1;
                Ok(())
            }))
        } else {
            Settings::new()
        };
        let mut rw = HtmlRewriter::new(settings, |_: &[u8]| {});
        for c in p.chunks(64 * 1024) {
            rw.write(c).unwrap();
        }
        rw.end().unwrap();
        elements += count;
    }
    elements
}

fn pare_pass(pages: &[Vec<u8>], book: &RuleBook, opts: &Options) -> usize {
    let mut removed = 0;
    for p in pages {
        let mut sink = std::io::sink();
        // Pages every pass can handle were chosen beforehand.
        if let Ok(r) = clean::clean(Input::Bytes(p), book, opts, &mut sink) {
            removed += r.removals.len();
        }
    }
    removed
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rounds: usize = std::env::var("PARE_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let dir = std::env::var_os("PARE_BENCH_PAGES")
        .map(PathBuf::from)
        .or_else(|| Some(root.join("../shared/corpus")).filter(|p| p.is_dir()));
    let mut pages: Vec<Vec<u8>> = Vec::new();
    let source = match &dir {
        Some(d) => {
            let mut files = Vec::new();
            html_files(d, &mut files);
            files.sort();
            for f in files.iter().filter(|f| {
                f.file_name().is_some_and(|n| n == "source.html")
                    || std::env::var_os("PARE_BENCH_PAGES").is_some()
            }) {
                pages.push(std::fs::read(f).unwrap());
            }
            d.display().to_string()
        }
        None => {
            for i in 0..200 {
                pages.push(generated_page(20 + i % 80));
            }
            "generated".to_string()
        }
    };
    // `PARE_BENCH_RULES=DIR` measures another rule set (an empty folder: the engine's
    // floor, what it costs with no rule at all).
    let rules = std::env::var_os("PARE_BENCH_RULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("rules"));
    let book = RuleBook::load(std::slice::from_ref(&rules)).expect("rules load");
    let opts = Options::default();
    // Keep the pages every pass can handle, so all three read the same bytes.
    pages.retain(|p| clean::clean(Input::Bytes(p), &book, &opts, &mut std::io::sink()).is_ok());
    let bytes: usize = pages.iter().map(Vec::len).sum();
    println!(
        "engine throughput: {} pages, {:.1} MB from {source}, {rounds} rounds, rules from {} ({} rules)",
        pages.len(),
        bytes as f64 / 1e6,
        rules.display(),
        book.rule_count()
    );
    // The daemon and batch mode without `--report` keep only counts: no descriptions.
    let quiet = Options {
        describe: false,
        ..Options::default()
    };
    let (mut pare, mut one, mut none) = (Vec::new(), Vec::new(), Vec::new());
    let mut counts = Vec::new();
    let mbps = |d: Duration| bytes as f64 / 1e6 / d.as_secs_f64();
    for _ in 0..rounds {
        let t = Instant::now();
        std::hint::black_box(pare_pass(&pages, &book, &opts));
        pare.push(mbps(t.elapsed()));
        let t = Instant::now();
        std::hint::black_box(lol_pass(&pages, true));
        one.push(mbps(t.elapsed()));
        let t = Instant::now();
        std::hint::black_box(lol_pass(&pages, false));
        none.push(mbps(t.elapsed()));
        let t = Instant::now();
        std::hint::black_box(pare_pass(&pages, &book, &quiet));
        counts.push(mbps(t.elapsed()));
    }
    let (p, o, n) = (median(&mut pare), median(&mut one), median(&mut none));
    let q = median(&mut counts);
    println!("  lol_html, no handler:          {n:8.1} MB/s");
    println!("  lol_html, one no-op * handler: {o:8.1} MB/s");
    println!("  pare clean (two passes):       {p:8.1} MB/s");
    println!(
        "  ratio pare / lol_html one-handler pass: {:.2} (goal >= 0.40)",
        p / o
    );
    println!("  ratio pare / lol_html bare pass:        {:.2}", p / n);
    println!(
        "  pare clean, counts only (daemon, batch without --report): {q:.1} MB/s, ratio {:.2}",
        q / o
    );
    let _ = std::io::stdout().flush();

    big_page_memory();
}

/// Writes a large generated page and runs the real binary on it, sampling its peak RSS.
fn big_page_memory() {
    let mb: usize = std::env::var("PARE_BENCH_BIG_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1024);
    if mb == 0 {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.html");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let block = generated_page(200);
        // Head once, then the body's middle repeated.
        let mid_start = block.windows(6).position(|w| w == b"<main>").unwrap();
        let mid_end = block.windows(7).position(|w| w == b"</main>").unwrap() + 7;
        f.write_all(&block[..mid_start]).unwrap();
        let mut written = mid_start;
        while written < mb << 20 {
            f.write_all(&block[mid_start..mid_end]).unwrap();
            written += mid_end - mid_start;
        }
        f.write_all(&block[mid_end..]).unwrap();
    }
    let size = std::fs::metadata(&path).unwrap().len();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let t = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pare"))
        .arg("clean")
        .arg("--rules")
        .arg(&rules)
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    loop {
        if let Ok(s) = std::fs::read_to_string(&status_path) {
            for l in s.lines() {
                if let Some(v) = l.strip_prefix("VmHWM:") {
                    let kb: u64 = v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
                    peak_kb = peak_kb.max(kb);
                }
            }
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "big page: {:.0} MB cleaned by the pare binary in {secs:.1}s ({:.1} MB/s); peak RSS {:.1} MB (goal < 64 MB)",
        size as f64 / 1e6,
        size as f64 / 1e6 / secs,
        peak_kb as f64 / 1024.0
    );
}
