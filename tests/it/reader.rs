//! The reader profile: a reading copy of the article alone, as HTML, Markdown or text,
//! with its metadata. Fixtures in `tests/reader/NAME/`: `input.html` (pages modelled on
//! common markup: OpenGraph, JSON-LD in a graph, `rel=author` and `<time>`, a blog with
//! comments, a legacy windows-1252 table layout) and `expected.md`, the Markdown copy
//! word for word.

use std::path::{Path, PathBuf};
use std::process::Command;

use html5ever::tendril::TendrilSink;
use pare::clean::{self, Format, Input, Options, Profile, Report};
use pare::rules::{Categories, RuleBook};

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reader");
    let mut v: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("input.html").exists())
        .collect();
    v.sort();
    assert_eq!(v.len(), 5, "five reader fixtures");
    v
}

fn shipped() -> RuleBook {
    RuleBook::load(&[Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")]).unwrap()
}

fn reader(format: Format, chunk: usize) -> Options {
    Options {
        profile: Profile::Reader,
        format,
        categories: Categories::all(),
        chunk_size: chunk,
        ..Options::default()
    }
}

fn copy(book: &RuleBook, input: &[u8], opts: &Options) -> (String, Report) {
    let mut out = Vec::new();
    let r = clean::clean(Input::Bytes(input), book, opts, &mut out).unwrap();
    (String::from_utf8(out).unwrap(), r)
}

/// The parse errors an HTML5 parser reports for `html`.
fn parse_errors(html: &str) -> Vec<String> {
    let dom = html5ever::parse_document(markup5ever_rcdom::RcDom::default(), Default::default())
        .from_utf8()
        .read_from(&mut html.as_bytes())
        .unwrap();
    dom.errors.borrow().iter().map(|e| e.to_string()).collect()
}

/// The text a CommonMark parser reads out of `md` (front matter left out), normalized.
fn rendered_text(md: &str) -> String {
    let body = md
        .strip_prefix("---\n")
        .and_then(|r| r.split_once("\n---\n"))
        .map_or(md, |(_, b)| b);
    let mut t = String::new();
    let mut in_image = 0;
    for ev in pulldown_cmark::Parser::new_ext(body, pulldown_cmark::Options::ENABLE_TABLES) {
        use pulldown_cmark::{Event, Tag, TagEnd};
        match ev {
            Event::Start(Tag::Image { .. }) => in_image += 1,
            Event::End(TagEnd::Image) => in_image -= 1,
            Event::Text(s) | Event::Code(s) if in_image == 0 => t.push_str(&s),
            Event::SoftBreak | Event::HardBreak => t.push(' '),
            Event::Start(_) | Event::End(_) => t.push(' '),
            _ => {}
        }
    }
    pare::text::normalize(&t)
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The share of `a`'s word 4-grams found in `b`.
fn shingle_recall(a: &str, b: &str) -> f64 {
    let (a, b) = (words(a), words(b));
    let grams = |w: &[String]| -> std::collections::HashSet<Vec<String>> {
        w.windows(4).map(|g| g.to_vec()).collect()
    };
    let (ga, gb) = (grams(&a), grams(&b));
    if ga.is_empty() {
        return 1.0;
    }
    ga.intersection(&gb).count() as f64 / ga.len() as f64
}

#[test]
fn the_markdown_copy_of_each_fixture_is_as_expected_word_for_word() {
    let book = shipped();
    for dir in fixtures() {
        let input = std::fs::read(dir.join("input.html")).unwrap();
        let expected = std::fs::read_to_string(dir.join("expected.md")).unwrap();
        for chunk in [1, 7, 4096, 1 << 20] {
            let (md, _) = copy(&book, &input, &reader(Format::Markdown, chunk));
            assert_eq!(md, expected, "{} (chunks of {chunk})", dir.display());
        }
    }
}

#[test]
fn every_markdown_copy_renders_with_the_reading_copys_text() {
    let book = shipped();
    for dir in fixtures() {
        let input = std::fs::read(dir.join("input.html")).unwrap();
        let (html, _) = copy(&book, &input, &reader(Format::Html, 64 * 1024));
        let (md, _) = copy(&book, &input, &reader(Format::Markdown, 64 * 1024));
        let shown = clean::find::visible_text(html.as_bytes()).unwrap();
        let read = rendered_text(&md);
        let r = shingle_recall(&shown, &read);
        assert!(
            r >= 0.99,
            "{}: {r:.3} of the HTML copy's text in the rendered Markdown\nHTML: {shown}\nMD: {read}",
            dir.display()
        );
        // And the Markdown holds no markup the parser would show as text.
        for leak in ["<p", "</", "&amp;", "&lt;"] {
            assert!(!read.contains(leak), "{}: {leak} in {read}", dir.display());
        }
    }
}

#[test]
fn the_html_copy_parses_without_errors_and_keeps_the_article_alone() {
    let book = shipped();
    for dir in fixtures() {
        let input = std::fs::read(dir.join("input.html")).unwrap();
        let (html, report) = copy(&book, &input, &reader(Format::Html, 7));
        assert_eq!(
            parse_errors(&html),
            Vec::<String>::new(),
            "{}",
            dir.display()
        );
        assert!(
            html.starts_with("<!DOCTYPE html>\n<html"),
            "{}",
            dir.display()
        );
        assert!(html.contains("<meta charset=\"utf-8\">"));
        for gone in [
            "<script", "<style", "<iframe", "<form", "<!--", "onclick", " class=",
        ] {
            assert!(!html.contains(gone), "{}: {gone} left", dir.display());
        }
        assert!(
            report.kept.iter().any(|k| k.what == "article"),
            "{}: {:?}",
            dir.display(),
            report.kept
        );
        // The source's own page parses with errors in some fixtures: the copy is
        // written anew, not spliced.
        let _ = parse_errors(&String::from_utf8_lossy(&input));
    }
}

#[test]
fn a_reading_copy_keeps_headline_standfirst_byline_and_lead_image_and_drops_the_frame() {
    let book = shipped();
    let input = std::fs::read(fixtures_dir("opengraph-news").join("input.html")).unwrap();
    let (html, report) = copy(&book, &input, &reader(Format::Html, 4096));
    let text = clean::find::visible_text(html.as_bytes()).unwrap();
    for kept in [
        "tidal barrier closes early as storm nears",
        "engineers shut the river's tidal barrier six hours ahead",
        "by priya natarajan, environment correspondent",
        "the gates rose at dawn on tuesday",
        "the river's tidal barrier was closed at four o'clock",
        "ten gates, each weighing 3,300 tonnes",
        "the coast road stays shut between the two bridges",
    ] {
        assert!(text.contains(kept), "{kept} missing from {text}");
    }
    assert!(html.contains("<img src=\"https://img.harbourpost.example/barrier-800.jpg\""));
    for gone in [
        "sport",
        "subscribe",
        "advertisement",
        "get the harbour briefing",
        "related articles",
        "join the conversation",
        "all rights reserved",
    ] {
        assert!(!text.contains(gone), "{gone} left in {text}");
    }
    let what: Vec<&str> = report.kept.iter().map(|k| k.what).collect();
    assert_eq!(what, ["headline", "lead", "article"]);
}

fn fixtures_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reader")
        .join(name)
}

#[test]
fn metadata_comes_from_opengraph_json_ld_and_the_page_itself() {
    let book = shipped();
    let meta = |name: &str| {
        let input = std::fs::read(fixtures_dir(name).join("input.html")).unwrap();
        copy(&book, &input, &reader(Format::Html, 4096))
            .1
            .metadata
            .unwrap()
    };
    let m = meta("opengraph-news");
    assert_eq!(
        m.title.as_deref(),
        Some("Tidal barrier closes early as storm nears")
    );
    assert_eq!(m.byline.as_deref(), Some("Priya Natarajan"));
    assert_eq!(m.published.as_deref(), Some("2026-11-03T06:15:00Z"));
    assert_eq!(m.modified.as_deref(), Some("2026-11-03T09:40:00Z"));
    assert_eq!(m.site_name.as_deref(), Some("The Harbour Post"));
    assert_eq!(m.language.as_deref(), Some("en-GB"));
    assert_eq!(
        m.canonical.as_deref(),
        Some("https://www.harbourpost.example/news/2026/tidal-barrier")
    );
    assert_eq!(
        m.image.as_deref(),
        Some("https://img.harbourpost.example/barrier-1200.jpg")
    );
    let m = meta("jsonld-graph");
    assert_eq!(
        m.title.as_deref(),
        Some("Neue Brücke über den Fluss eröffnet")
    );
    assert_eq!(m.byline.as_deref(), Some("Jana Weber, Lukas Brandt"));
    assert_eq!(m.published.as_deref(), Some("2026-10-18T10:00:00+02:00"));
    assert_eq!(m.modified.as_deref(), Some("2026-10-19T08:30:00+02:00"));
    assert_eq!(m.site_name.as_deref(), Some("Stadtanzeiger"));
    assert_eq!(
        m.image.as_deref(),
        Some("https://stadtanzeiger.example/bilder/bruecke.jpg")
    );
    assert_eq!(m.language.as_deref(), Some("de"));
    let m = meta("byline-time");
    assert_eq!(m.byline.as_deref(), Some("Sam Oduya"));
    assert_eq!(m.published.as_deref(), Some("2026-06-21"));
    assert_eq!(m.title.as_deref(), Some("Why our build got 40% faster"));
    let m = meta("legacy-table");
    assert_eq!(
        m.title.as_deref(),
        Some("Valley Gazette - Mill reopens after forty years")
    );
}

#[test]
fn metadata_read_beside_the_find_pass_is_the_same_however_the_page_arrives() {
    // The metadata's handlers run in the engine's own lol_html pass, which takes the page
    // in chunks: what they find must not depend on where the chunks end, and must be what
    // a pass of their own over the page's first 512 KiB finds.
    let book = shipped();
    let mut pages: Vec<Vec<u8>> = fixtures()
        .iter()
        .map(|f| std::fs::read(f.join("input.html")).unwrap())
        .collect();
    let story = "<p>The council met on Tuesday evening and voted, after a long debate, \
        to keep the library open on Sundays.</p>";
    let byline = format!(
        "<html><head><title>Library stays open</title></head><body><article>\
         <h1>Library stays open</h1><p class=by>By <span itemprop=\"author\">Jane Doe</span>\
         </p>{}</article></body></html>",
        story.repeat(6)
    );
    pages.push(byline.clone().into_bytes());
    // A `<time>` and a JSON-LD block past the first 512 KiB are not read; one before is.
    let padding = story.repeat(600_000 / story.len());
    let late = |early: &str| {
        format!(
            "<html><head><title>Late fields</title></head><body><article>{early}{padding}\
             <time datetime=\"2026-02-02\">2 February</time>\
             <script type=\"application/ld+json\">{{\"@type\":\"NewsArticle\",\
             \"headline\":\"From the script\"}}</script></article></body></html>"
        )
    };
    pages.push(late("").into_bytes());
    pages.push(late("<time datetime=\"2026-01-01\">1 January</time>").into_bytes());
    for page in &pages {
        let alone = clean::meta::read(&page[..page.len().min(512 << 10)], encoding_rs::UTF_8);
        for chunk in [1, 7, 4096, usize::MAX] {
            let mut m = copy(&book, page, &reader(Format::Html, chunk.min(page.len())))
                .1
                .metadata
                .unwrap();
            // The page's URL, when it names none, is the engine's addition.
            if alone.canonical.is_none() {
                m.canonical = None;
            }
            assert_eq!(m, alone, "chunks of {chunk}");
        }
    }
    let m = |page: &str| {
        copy(&book, page.as_bytes(), &reader(Format::Html, 1))
            .1
            .metadata
            .unwrap()
    };
    assert_eq!(m(&byline).byline.as_deref(), Some("Jane Doe"));
    let far = m(&late(""));
    assert_eq!(
        (far.published, far.title.as_deref()),
        (None, Some("Late fields"))
    );
    assert_eq!(
        m(&late("<time datetime=\"2026-01-01\">1 January</time>"))
            .published
            .as_deref(),
        Some("2026-01-01")
    );
}

#[test]
fn metadata_at_its_edges_is_what_a_pass_of_its_own_over_512_kib_finds() {
    // Each case with the value the separate metadata pass gave before its handlers moved
    // into the find pass, for every chunk size.
    let book = shipped();
    let limit = 512 << 10;
    let story = "<p>The ferry timetable changes on Monday, the harbour office said, and \
        the last boat leaves an hour earlier.</p>";
    let opening = "<html><head><title>Ferry times</title></head><body><article>";
    // A `<time>` whose start tag begins before the 512 KiB and ends after it.
    let mut straddling = String::from(opening);
    while straddling.len() + story.len() < limit - 20 {
        straddling.push_str(story);
    }
    straddling.push_str(&"x".repeat(limit - 1 - straddling.len()));
    straddling.push_str("<time datetime=\"2026-01-01\">1 January</time></article></body></html>");
    assert_eq!(straddling.find("<time"), Some(limit - 1));
    // A byline too long to be one, however the page arrives.
    let long_byline = format!(
        "{opening}<p>By <a rel=\"author\" href=\"/staff\">{}</a></p>{}</article></body></html>",
        "A".repeat(400),
        story.repeat(4)
    );
    // A byte order mark says UTF-8; a later `<meta>` says otherwise: the mark wins.
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(
        format!(
            "<html><head><meta charset=\"iso-8859-1\"><title>Café</title></head><body>\
             <article>{}</article></body></html>",
            story.repeat(4)
        )
        .as_bytes(),
    );
    for chunk in [1, 7, 4096, usize::MAX] {
        let m = |page: &[u8]| {
            copy(&book, page, &reader(Format::Html, chunk.min(page.len())))
                .1
                .metadata
                .unwrap()
        };
        let s = m(straddling.as_bytes());
        assert_eq!(
            (s.published, s.title.as_deref()),
            (None, Some("Ferry times"))
        );
        assert_eq!(m(long_byline.as_bytes()).byline, None, "chunks of {chunk}");
        assert_eq!(m(&bom).title.as_deref(), Some("Café"), "chunks of {chunk}");
    }
    // What the metadata's text handlers make lol_html hold (here a comment inside an
    // unclosed `rel=author` link) may pass the engine's memory bound: the page is still
    // cleaned, its metadata read apart.
    let held = format!(
        "<html><head><title>Held</title></head><body><article><p>By <a rel=\"author\">\
         Jo Park <!--{}--></p>{}</article></body></html>",
        "c".repeat(300_000),
        story.repeat(4)
    );
    let opts = Options {
        max_memory: 128 << 10,
        ..reader(Format::Html, 4096)
    };
    let (out, r) = copy(&book, held.as_bytes(), &opts);
    assert!(out.contains("ferry timetable changes"), "{out}");
    let m = r.metadata.unwrap();
    assert_eq!(m.title.as_deref(), Some("Held"));
    assert_eq!(m.byline.as_deref(), Some("Jo Park"));
}

#[test]
fn the_metadata_is_in_the_head_the_front_matter_and_the_report() {
    let book = shipped();
    let input = std::fs::read(fixtures_dir("jsonld-graph").join("input.html")).unwrap();
    let (html, report) = copy(&book, &input, &reader(Format::Html, 4096));
    assert!(html.contains("<html lang=\"de\">"));
    assert!(html.contains("<title>Neue Brücke über den Fluss eröffnet</title>"));
    assert!(html.contains(
        "<link rel=\"canonical\" href=\"https://stadtanzeiger.example/lokales/neue-bruecke-1234.html\">"
    ));
    assert!(html.contains("<meta name=\"author\" content=\"Jana Weber, Lukas Brandt\">"));
    assert!(html.contains(
        "<meta property=\"article:published_time\" content=\"2026-10-18T10:00:00+02:00\">"
    ));
    let (md, _) = copy(&book, &input, &reader(Format::Markdown, 4096));
    assert!(md.starts_with("---\ntitle: \"Neue Brücke über den Fluss eröffnet\"\nbyline: \"Jana Weber, Lukas Brandt\"\n"));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["metadata"]["site_name"], "Stadtanzeiger");
    assert_eq!(json["kept"][0]["what"], "headline");
}

#[test]
fn a_legacy_page_comes_out_in_utf8_with_its_references_read() {
    let book = shipped();
    let input = std::fs::read(fixtures_dir("legacy-table").join("input.html")).unwrap();
    assert!(
        std::str::from_utf8(&input).is_err(),
        "the fixture is windows-1252"
    );
    let (html, _) = copy(&book, &input, &reader(Format::Html, 7));
    assert!(html.contains("The town\u{2019}s historical society"));
    assert!(
        html.contains(
            "\u{201C}We didn\u{2019}t think we\u{2019}d see the wheel turn again,\u{201D}"
        )
    );
    assert!(html.contains("adults pay \u{20AC}3"));
    assert!(
        !html.contains("Obituaries"),
        "the navigation cell is not the article"
    );
    assert_eq!(parse_errors(&html), Vec::<String>::new());
}

#[test]
fn the_text_copy_keeps_paragraphs_and_headings_and_no_markup() {
    let book = shipped();
    let input = std::fs::read(fixtures_dir("byline-time").join("input.html")).unwrap();
    let (text, _) = copy(&book, &input, &reader(Format::Text, 4096));
    assert!(text.starts_with("Why our build got 40% faster\n\n"));
    assert!(text.contains("\n\n1. Cache the right folder\n\nWe had been caching ~/.cache, but"));
    assert!(text.contains("key: build-${{ hashFiles('Cargo.lock') }}"));
    for markup in ["<", "**", "](", "```", "\\"] {
        assert!(!text.contains(markup), "{markup} in {text}");
    }
}

#[test]
fn a_page_the_locator_is_not_sure_of_keeps_its_whole_body() {
    let book = shipped();
    let page = b"<html><head><title>Links</title></head><body><h1>Links</h1>\
<ul><li><a href=/a>One</a></li><li><a href=/b>Two</a></li></ul><p>Short note.</p>\
<script>x()</script></body></html>";
    let (html, report) = copy(&book, page, &reader(Format::Html, 4096));
    assert_eq!(report.kept.len(), 1);
    assert_eq!(report.kept[0].what, "body");
    assert!(html.contains("Short note.") && html.contains("One") && !html.contains("x()"));
}

#[test]
fn clean_writes_md_and_txt_files_and_refuses_names_that_would_collide() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixtures_dir("byline-time").join("input.html");
    let a = dir.path().join("in/story.html");
    let b = dir.path().join("in/story.php");
    std::fs::create_dir_all(a.parent().unwrap()).unwrap();
    std::fs::copy(&src, &a).unwrap();
    std::fs::copy(&src, &b).unwrap();
    let out = dir.path().join("out");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pare"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .output()
            .unwrap()
    };
    let o = run(&[
        "clean",
        "--profile",
        "reader",
        "--format",
        "markdown",
        "-o",
        out.to_str().unwrap(),
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(out.join("story.md")).unwrap();
    assert!(md.starts_with("---\ntitle: \"Why our build got 40% faster\""));
    assert!(out.join("story.php.md").exists());
    // `a.html` and `a.htm` would both be `a.txt`: refused before anything is written.
    let c = dir.path().join("in/a.html");
    let d = dir.path().join("in/a.htm");
    std::fs::copy(&src, &c).unwrap();
    std::fs::copy(&src, &d).unwrap();
    let out2 = dir.path().join("out2");
    let o = run(&[
        "clean",
        "--profile",
        "reader",
        "--format",
        "text",
        "-o",
        out2.to_str().unwrap(),
        c.to_str().unwrap(),
        d.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("would both be written to"), "{err}");
    assert!(!out2.join("a.txt").exists());
    assert!(c.exists() && d.exists(), "inputs untouched");
}

#[test]
fn explain_shows_what_a_reading_copy_keeps_and_outlines_it() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("out.html");
    let o = Command::new(env!("CARGO_BIN_EXE_pare"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["explain", "--profile", "reader", "--html"])
        .arg(&page)
        .arg(fixtures_dir("opengraph-news").join("input.html"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("reading copy: kept (3)"), "{text}");
    assert!(text.contains("headline  bytes "), "{text}");
    assert!(text.contains("  byline: Priya Natarajan"), "{text}");
    let outlined = std::fs::read_to_string(&page).unwrap();
    assert!(outlined.contains("<pare-kept><pare-label>kept · article</pare-label>"));
    assert!(outlined.contains("<pare-kept><pare-label>kept · headline</pare-label>"));
}

/// A daemon on folders under `root` (inbox, outbox, failed, work made here), the shipped
/// rules, and `extra` config lines.
fn daemon(root: &Path, extra: &str) -> std::process::Child {
    for d in ["inbox", "outbox", "failed", "work"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let config = root.join("pare.toml");
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    std::fs::write(
        &config,
        format!(
            "inbox = {:?}\noutbox = {:?}\nfailed = {:?}\nwork = {:?}\nrules = {:?}\nstate_file = {:?}\nquiet_ms = 100\n{extra}",
            root.join("inbox"),
            root.join("outbox"),
            root.join("failed"),
            root.join("work"),
            rules,
            root.join("state.json"),
        ),
    )
    .unwrap();
    Command::new(env!("CARGO_BIN_EXE_pare"))
        .args(["run", "--config"])
        .arg(&config)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Puts `from` into the inbox as `to`, the way producers should: written beside, renamed in.
fn drop_in(root: &Path, from: &Path, to: &str) {
    let tmp = root.join("drop.part");
    std::fs::copy(from, &tmp).unwrap();
    std::fs::rename(&tmp, root.join("inbox").join(to)).unwrap();
}

/// Waits (20 s at most) until every path exists, then stops the daemon.
fn wait_and_stop(mut child: std::process::Child, paths: &[&Path]) {
    let t0 = std::time::Instant::now();
    while !paths.iter().all(|p| p.exists()) && t0.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

#[test]
fn the_daemon_writes_reading_copies_when_its_config_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let child = daemon(root, "profile = \"reader\"\nformat = \"markdown\"\n");
    drop_in(
        root,
        &fixtures_dir("jsonld-graph").join("input.html"),
        "story.html",
    );
    // Another input whose copy would have the same name: it gets a numbered one.
    drop_in(
        root,
        &fixtures_dir("byline-time").join("input.html"),
        "story.htm",
    );
    let want = root.join("outbox/story.md");
    let second = root.join("outbox/story (2).md");
    wait_and_stop(child, &[&want, &second]);
    let mut copies = [
        std::fs::read_to_string(&want).expect("outbox/story.md"),
        std::fs::read_to_string(&second).expect("outbox/story (2).md"),
    ];
    copies.sort();
    let mut expected = [
        std::fs::read_to_string(fixtures_dir("jsonld-graph").join("expected.md")).unwrap(),
        std::fs::read_to_string(fixtures_dir("byline-time").join("expected.md")).unwrap(),
    ];
    expected.sort();
    assert_eq!(copies, expected);
    assert!(!root.join("inbox/story.htm").exists());
    assert!(!root.join("outbox/story.html").exists());
    assert!(
        !root.join("inbox/story.html").exists(),
        "the input goes once its copy is out"
    );
}

/// `pare check --config` on a config of `text`: it must fail; its error output.
fn config_error(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pare.toml");
    std::fs::write(&config, text).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_pare"))
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!o.status.success());
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn profile_and_format_are_checked_in_the_config() {
    let err = config_error("inbox = \"i\"\noutbox = \"o\"\nfailed = \"f\"\nprofile = \"readr\"\n");
    assert!(err.contains("readr") && err.contains("reader"), "{err}");
}

#[test]
fn an_inbox_folder_can_have_a_profile_and_format_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("inbox/read-later")).unwrap();
    let child = daemon(
        root,
        "\n[folder.\"read-later\"]\nprofile = \"reader\"\nformat = \"markdown\"\n",
    );
    let page = fixtures_dir("opengraph-news").join("input.html");
    drop_in(root, &page, "read-later/story.html");
    drop_in(root, &page, "story.html");
    let (md, html) = (
        root.join("outbox/read-later/story.md"),
        root.join("outbox/story.html"),
    );
    wait_and_stop(child, &[&md, &html]);
    let md = std::fs::read_to_string(&md).expect("the folder's reading copy");
    assert_eq!(
        md,
        std::fs::read_to_string(fixtures_dir("opengraph-news").join("expected.md")).unwrap()
    );
    // Elsewhere, the config's own profile: the page minus its clutter, its head and
    // scripts included.
    let html = std::fs::read_to_string(&html).expect("the page profile's output");
    assert!(
        html.contains("<script>window.dataLayer"),
        "page profile keeps scripts"
    );
    assert!(!html.contains("Sign up for our free morning newsletter"));
}

#[test]
fn a_folder_route_is_one_name() {
    let err = config_error(
        "inbox = \"i\"\noutbox = \"o\"\nfailed = \"f\"\n\n[folder.\"a/b\"]\nprofile = \"reader\"\n",
    );
    assert!(
        err.contains("pare.toml:5:") && err.contains("a folder is one name inside the inbox"),
        "{err}"
    );
    // A hidden name is never watched: a route for it would silently never apply.
    let err = config_error(
        "inbox = \"i\"\noutbox = \"o\"\nfailed = \"f\"\n\n[folder.\".drafts\"]\nprofile = \"reader\"\n",
    );
    assert!(
        err.contains("pare.toml:5:") && err.contains("pare ignores hidden names in the inbox"),
        "{err}"
    );
}

#[test]
fn a_first_paragraph_outside_the_located_element_is_kept_as_its_lead() {
    // No <h1>; the locator's element holds all paragraphs but the first, which stands
    // before it three levels up (too far to be taken as a paragraph beside it).
    let book = shipped();
    let page = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reader-extra/lede-outside.html"),
    )
    .unwrap();
    let (md, report) = copy(&book, &page, &reader(Format::Markdown, 7));
    let what: Vec<&str> = report.kept.iter().map(|k| k.what).collect();
    assert_eq!(what, ["lead", "article"]);
    assert!(
        md.contains("\n\nAfter nine days the ferry strike is over,"),
        "{md}"
    );
    assert!(md.contains("the chamber of commerce said in a message to members.\n"));
    assert!(
        !md.contains("Home") && !md.contains("Photo: Harbour Office"),
        "{md}"
    );
}

/// The real binary's reading copy of `input` in `format`.
fn clean_as(input: &Path, format: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pare"))
        .args([
            "clean",
            "--profile",
            "reader",
            "--format",
            format,
            "--rules",
        ])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"))
        .arg(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_text_article_as_markdown_is_escaped_and_renders_as_its_text() {
    let dir = tempfile::tempdir().unwrap();
    let text = "A headline\n\nThe council met on Tuesday <b>not bold</b> & agreed to the budget for the coming year, after a long debate.\n\n# Not a heading, but the start of a line\n\n1. Not a list either, said the clerk, reading the minutes aloud.\n> Nor a quote; *stars* and _lines_ stay as they are, [brackets] too.\n";
    let input = dir.path().join("minutes.txt");
    std::fs::write(&input, text).unwrap();
    let md = clean_as(&input, "markdown");
    assert!(md.contains("\\<b\\>not bold\\</b\\>"), "{md}");
    assert!(md.contains("\n\\# Not a heading"), "{md}");
    assert!(md.contains("\n1\\. Not a list"), "{md}");
    // A CommonMark reader gets the text back, word for word, and no markup.
    assert_eq!(rendered_text(&md), pare::text::normalize(text));
    for ev in pulldown_cmark::Parser::new(&md) {
        use pulldown_cmark::{Event, Tag};
        assert!(
            matches!(
                ev,
                Event::Text(_)
                    | Event::SoftBreak
                    | Event::Start(Tag::Paragraph)
                    | Event::End(pulldown_cmark::TagEnd::Paragraph)
            ),
            "{ev:?} in {md}"
        );
    }
    // As text it is the text, as it was.
    assert_eq!(clean_as(&input, "text"), text);
}

/// A page whose headline is no `h1` (a `div`) and whose title is in JSON-LD: the reading
/// copy opens with the title as its headline, without the site's name; a page that keeps
/// its headline in another element (a bold line) does not get it twice.
#[test]
fn a_reading_copy_without_a_kept_headline_opens_with_the_title() {
    let book = shipped();
    let prose = "The council voted on Tuesday to extend the program for another year, after officials said participation had doubled, costs had fallen, and residents had asked for more pickup days.";
    let page = format!(
        "<html><head><title>Council extends program | Valley News</title>\
         <script type=\"application/ld+json\">{{\"@type\":\"NewsArticle\",\"headline\":\"Council extends program\"}}</script></head>\
         <body><nav><a href=\"/\">Home</a> <a href=\"/news\">News</a></nav><div class=\"t\">Council extends program</div>\
         <div class=\"txt\"><div>{prose}</div><div>{prose}</div><div>{prose}</div></div></body></html>"
    );
    let opts = reader(Format::Html, 4096);
    let (out, _) = copy(&book, page.as_bytes(), &opts);
    let body = out.split("<body>").nth(1).unwrap();
    assert!(
        body.trim_start()
            .starts_with("<h1>Council extends program</h1>"),
        "{out}"
    );
    assert_eq!(
        out.matches("Council extends program").count(),
        2,
        "title and headline only: {out}"
    );
    // Kept in the article as a bold line: not added again.
    let kept = page.replace(
        "<div class=\"txt\">",
        "<div class=\"txt\"><p><b>Council extends program</b></p>",
    );
    let (out, _) = copy(&book, kept.as_bytes(), &opts);
    assert!(!out.contains("<h1>"), "{out}");
}
