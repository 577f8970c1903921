//! `pare import`: the real binary on small FiveFilters- and EasyList-style inputs written
//! here, its output loaded by the rule loader and used to clean pages.

use std::path::{Path, PathBuf};
use std::process::Command;

use pare::clean::{self, Input, Options};
use pare::rules::{Categories, Category, RuleBook};

fn pare() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pare"))
}

fn shipped_rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs pare; returns stderr, failing the test on a non-zero exit.
fn run(args: &[&str]) -> String {
    let out = pare().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "pare {args:?} failed:\n{stderr}");
    stderr
}

/// `pare import KIND FROM -o OUT`; returns stderr.
fn import(kind: &str, from: &Path, out: &Path) -> String {
    run(&[
        "import",
        kind,
        from.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ])
}

fn clean_page(book: &RuleBook, url: &str, html: &str) -> String {
    clean_with(book, url, html, Categories::defaults())
}

fn clean_with(book: &RuleBook, url: &str, html: &str, categories: Categories) -> String {
    let opts = Options {
        url: Some(url.to_string()),
        categories,
        ..Options::default()
    };
    let mut out = Vec::new();
    clean::clean(Input::Bytes(html.as_bytes()), book, &opts, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

const ARTICLE: &str = "<p>The article's own words, which must stay.</p>";

#[test]
fn ftr_configs_become_site_files_that_load_and_clean() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    write(
        src.path(),
        "example.com.txt",
        "title: //h1\nbody: //article\nstrip: //div[@class='sponsor-strip']\nstrip_id_or_class: promo-box\n\
         strip: //h2/following-sibling::p\nfind_string: <b>\nreplace_string: <strong>\n",
    );
    write(
        src.path(),
        ".blogs.org.txt",
        "strip: //aside[contains(@class, 'related')]\n",
    );
    write(src.path(), "README.md", "not a config");
    let report = out.path().join("report.txt");
    let stderr = run(&[
        "import",
        "ftr",
        src.path().to_str().unwrap(),
        "-o",
        out.path().join("rules").to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--no-keep",
    ]);
    assert!(
        stderr.starts_with(
            "ftr: 3 rules converted into 2 files (strip 2, strip_id_or_class 1)\nnot converted: 3\n"
        ),
        "{stderr}"
    );
    let details = std::fs::read_to_string(&report).unwrap();
    assert!(
        details.contains(
            "example.com.txt:5: xpath: axis: following-sibling:: — strip: //h2/following-sibling::p"
        ),
        "{details}"
    );
    assert_eq!(
        names(&out.path().join("rules")),
        ["_.blogs.org.ftr.toml", "example.com.ftr.toml"]
    );

    let book =
        RuleBook::load(&[shipped_rules(), out.path().join("rules")]).expect("imported rules load");
    let page = format!(
        "<html><body><article>{ARTICLE}<div class=\"sponsor-strip\">Sponsored words</div>\
         <div class=\"x promo-box-wide\">Buy now</div></article></body></html>"
    );
    let cleaned = clean_page(&book, "https://www.example.com/a", &page);
    assert!(cleaned.contains("must stay"), "{cleaned}");
    assert!(
        !cleaned.contains("Sponsored words") && !cleaned.contains("Buy now"),
        "{cleaned}"
    );
    let other = clean_page(&book, "https://other.net/a", &page);
    assert!(
        other.contains("Sponsored words"),
        "rules of example.com stay on example.com"
    );

    let aside =
        format!("<html><body>{ARTICLE}<aside class=\"related-links\">More</aside></body></html>");
    assert!(!clean_page(&book, "https://news.blogs.org/x", &aside).contains("More"));
}

#[test]
fn ftr_body_becomes_a_chrome_keep_rule() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let cfg = write(
        src.path(),
        "example.com.txt",
        "body: //div[@id='story'] | //article\n",
    );
    import("ftr", &cfg, out.path());
    let text = std::fs::read_to_string(out.path().join("example.com.ftr.toml")).unwrap();
    assert!(
        text.ends_with(
            "id = \"ftr-1\"\ncategory = \"chrome\"\nnote = \"ftr body: //div[@id='story'] | //article\"\n\
             keep = 'div[id=\"story\"], article'\n"
        ),
        "{text}"
    );
    // The engine knows `keep`: the folder loads, and the rule runs only with chrome on.
    let book = RuleBook::load(&[out.path().to_path_buf()]).expect("keep rules load");
    let page = format!(
        "<html><body><nav>Site menu</nav><article>{ARTICLE}</article><p>Below</p></body></html>"
    );
    let default = clean_page(&book, "https://example.com/a", &page);
    assert!(
        default.contains("Site menu") && default.contains("Below"),
        "{default}"
    );
    let mut with_chrome = Categories::defaults();
    with_chrome.insert(Category::Chrome);
    let kept = clean_with(&book, "https://example.com/a", &page, with_chrome);
    assert!(kept.contains("must stay"), "{kept}");
    assert!(
        !kept.contains("Site menu") && !kept.contains("Below"),
        "{kept}"
    );
}

#[test]
fn ftr_comment_rules_are_chrome_and_leave_comments_by_default() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let cfg = write(
        src.path(),
        ".blog.test.txt",
        "strip_id_or_class: comments
strip: //div[@id='disqus_thread']
strip_id_or_class: share-row
",
    );
    import("ftr", &cfg, out.path());
    let text = std::fs::read_to_string(out.path().join("_.blog.test.ftr.toml")).unwrap();
    assert_eq!(text.matches("category = \"chrome\"").count(), 2, "{text}");
    let book = RuleBook::load(&[shipped_rules(), out.path().to_path_buf()]).expect("loads");
    let page = format!(
        "<html><body><article>{ARTICLE}<div class=\"share-row\">Tweet this</div></article>\
         <section id=\"comments\"><p>A reader wrote a long and useful reply.</p></section>\
         <div id=\"disqus_thread\"><p>Another reader answered.</p></div></body></html>"
    );
    let default = clean_page(&book, "https://news.blog.test/post", &page);
    assert!(!default.contains("Tweet this"), "{default}");
    assert!(
        default.contains("useful reply") && default.contains("Another reader"),
        "comments stay unless chrome is on: {default}"
    );
    let mut with_chrome = Categories::defaults();
    with_chrome.insert(Category::Chrome);
    let stripped = clean_with(&book, "https://news.blog.test/post", &page, with_chrome);
    assert!(
        !stripped.contains("useful reply") && !stripped.contains("Another reader"),
        "{stripped}"
    );
    assert!(stripped.contains("must stay"));
}

#[test]
fn a_host_with_its_own_config_gets_only_that_one() {
    // FiveFilters uses one config per host: `host.txt` (www. dropped), else
    // `.parent.txt` for the host minus its first label. So `.example.test.txt` is for
    // a.example.test, not for news.example.test (it has a config of its own), nor for
    // example.test, www.example.test or hosts two labels down.
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    write(
        src.path(),
        ".example.test.txt",
        "strip_id_or_class: promo-box\n",
    );
    write(
        src.path(),
        "news.example.test.txt",
        "strip_id_or_class: nl-signup\n",
    );
    import("ftr", src.path(), out.path());
    let text = std::fs::read_to_string(out.path().join("_.example.test.ftr.toml")).unwrap();
    assert!(
        text.contains("domains = [\"*.example.test\"]")
            && text.contains("subdomains = false")
            && text.contains("except_domains = [\"news.example.test\"]"),
        "{text}"
    );
    let book = RuleBook::load(&[out.path().to_path_buf()]).expect("loads");
    let page = format!(
        "<html><body><article>{ARTICLE}</article><div class=\"promo-box\">Buy</div>\
         <div class=\"nl-signup\">Sign up</div></body></html>"
    );
    let removed = |url: &str| {
        let out = clean_page(&book, url, &page);
        (!out.contains("Buy"), !out.contains("Sign up"))
    };
    assert_eq!(removed("https://a.example.test/x"), (true, false));
    assert_eq!(removed("https://www.a.example.test/x"), (true, false));
    assert_eq!(removed("https://news.example.test/x"), (false, true));
    assert_eq!(removed("https://www.news.example.test/x"), (false, true));
    assert_eq!(removed("https://www.example.test/x"), (false, false));
    assert_eq!(removed("https://example.test/x"), (false, false));
    assert_eq!(removed("https://m.news.example.test/x"), (false, false));
}

#[test]
fn easylist_filters_become_generic_and_site_files() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let list = write(
        src.path(),
        "easylist-cookies.txt",
        "[Adblock Plus 2.0]\n! Title: test list\n||tracker.example^\n##.cc-strip-bar\n##.consent-overlay:not(body)\n\
         ##.wrap > .cookie-note\nexample.com#@#.cc-strip-bar\nnews.test##.gdpr-wall\nnews.test#?#div.box:has-text(We use cookies)\n\
         shop.test##.a + .b\nexample.com##+js(set-cookie, x, 1)\n",
    );
    let stderr = import("easylist", &list, out.path());
    assert!(
        stderr.starts_with(
            "easylist: 6 rules converted into 3 files (exception #@# 1, generic ## 3, site ## 2)\n\
             cosmetic filters (element hiding: ##, #?#, #@#): 6 of 7 converted (85.7%)\n\
             not converted: 2\n"
        ),
        "{stderr}"
    );
    // `.wrap > .cookie-note` is two compounds: the index matches it, so it converts.
    assert!(
        stderr.contains("      1  scriptlet (not counted in the share: script injection, not element hiding; pare runs no scripts)\n"),
        "{stderr}"
    );
    assert!(stderr.contains("      1  sibling combinator\n"), "{stderr}");
    assert!(
        stderr.contains("skipped: 3 (comment 1, header 1, network filter 1)\n"),
        "{stderr}"
    );
    assert_eq!(
        names(out.path()),
        [
            "easylist-cookies.toml",
            "example.com.easylist.toml",
            "news.test.easylist.toml"
        ]
    );

    let book =
        RuleBook::load(&[shipped_rules(), out.path().to_path_buf()]).expect("imported rules load");
    let page = format!(
        "<html><body><article>{ARTICLE}</article><div class=\"cc-strip-bar\">Accept all</div>\
         <div class=\"consent-overlay\">Consent</div><div class=\"gdpr-wall\">Wall</div>\
         <div class=\"box\"><p>We use cookies to improve</p></div></body></html>"
    );
    let elsewhere = clean_page(&book, "https://any.where/x", &page);
    assert!(elsewhere.contains("must stay"));
    assert!(
        !elsewhere.contains("Accept all") && !elsewhere.contains("Consent"),
        "{elsewhere}"
    );
    assert!(
        elsewhere.contains("Wall") && elsewhere.contains("We use cookies"),
        "site rules stay on their site"
    );

    let example = clean_page(&book, "https://www.example.com/x", &page);
    assert!(
        example.contains("Accept all"),
        "example.com disables the generic rule: {example}"
    );
    assert!(!example.contains("Consent"));

    let news = clean_page(&book, "https://news.test/x", &page);
    assert!(
        !news.contains("Wall") && !news.contains("We use cookies"),
        "{news}"
    );
    assert!(news.contains("must stay"));
}

#[test]
fn a_second_import_removes_the_files_of_the_first() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let list = write(
        src.path(),
        "easylist-social.txt",
        "a.test##.share\nb.test##.share\n",
    );
    write(out.path(), "mine.toml", "generic = true\n");
    import("easylist", &list, out.path());
    assert_eq!(
        names(out.path()),
        ["a.test.easylist.toml", "b.test.easylist.toml", "mine.toml"]
    );
    write(src.path(), "easylist-social.txt", "a.test##.share\n");
    let stderr = import("easylist", &list, out.path());
    assert_eq!(
        names(out.path()),
        ["a.test.easylist.toml", "mine.toml"],
        "a file the importer did not write stays"
    );
    assert!(
        stderr.contains("note: removed 1 files an earlier `pare import easylist` left in"),
        "{stderr}"
    );
}

/// `pare import KIND ARGS… -o OUT`, expected to refuse: returns stderr.
fn refused(kind: &str, from: &[&Path], out: &Path) -> String {
    let mut args = vec!["import".to_string(), kind.to_string()];
    args.extend(from.iter().map(|p| p.to_str().unwrap().to_string()));
    args.extend(["-o".to_string(), out.to_str().unwrap().to_string()]);
    let o = pare().args(&args).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(
        o.status.code(),
        Some(2),
        "pare {args:?} should refuse:\n{stderr}"
    );
    assert!(stderr.contains("nothing written"), "{stderr}");
    stderr
}

#[test]
fn an_import_never_replaces_a_file_it_did_not_write_nor_drops_a_source() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let (s, o) = (src.path(), out.path());
    let cfg = write(s, "example.com.txt", "strip_id_or_class: promo-box\n");
    let other = write(s, "news.test.txt", "strip_id_or_class: teaser\n");

    // A hand-written rule file under the name an import would give: kept, and the
    // other source's file is not written either (the run writes all or nothing).
    let mine = "generic = false\ndomains = [\"example.com\"]\n# mine\n";
    write(o, "example.com.ftr.toml", mine);
    let e = refused("ftr", &[&cfg, &other], o);
    assert!(e.contains("was not written by `pare import ftr`"), "{e}");
    assert_eq!(
        std::fs::read_to_string(o.join("example.com.ftr.toml")).unwrap(),
        mine
    );
    assert!(!o.join("news.test.ftr.toml").exists());

    // The name a link: its target stays as it was.
    std::fs::remove_file(o.join("example.com.ftr.toml")).unwrap();
    let target = write(s, "elsewhere.toml", mine);
    std::os::unix::fs::symlink(&target, o.join("example.com.ftr.toml")).unwrap();
    let e = refused("ftr", &[&cfg], o);
    assert!(e.contains("is a symbolic link"), "{e}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), mine);
    std::fs::remove_file(o.join("example.com.ftr.toml")).unwrap();

    // A list that is itself named like the rule file it would give, inside -o.
    let list = write(o, "easylist.toml", "##.share-bar\n");
    let e = refused("easylist", &[&list], o);
    assert!(e.contains("is the source"), "{e}");
    assert_eq!(std::fs::read_to_string(&list).unwrap(), "##.share-bar\n");

    // Two sources that give one name: refused, not one of them dropped in silence.
    let twins = tempfile::tempdir().unwrap();
    let t = twins.path();
    let a = write(t, "my list.txt", "##.share-a\n");
    let b = write(t, "my_list.txt", "##.promo-b\n");
    let fresh = tempfile::tempdir().unwrap();
    let e = refused("easylist", &[&a, &b], fresh.path());
    assert!(e.contains("two or more sources make the rule file"), "{e}");
    assert!(names(fresh.path()).is_empty(), "{:?}", names(fresh.path()));

    // An earlier import's own file is replaced as before, whole.
    std::fs::remove_file(&list).unwrap();
    import("ftr", &cfg, o);
    let first = std::fs::read_to_string(o.join("example.com.ftr.toml")).unwrap();
    write(
        s,
        "example.com.txt",
        "strip_id_or_class: promo-box\nstrip_id_or_class: paywall\n",
    );
    import("ftr", &cfg, o);
    let second = std::fs::read_to_string(o.join("example.com.ftr.toml")).unwrap();
    assert!(
        second.contains("paywall") && !first.contains("paywall"),
        "{second}"
    );
    assert!(
        names(o).iter().all(|n| !n.contains(".pare-")),
        "no temporary file left: {:?}",
        names(o)
    );
}

#[test]
fn unknown_category_is_a_usage_error() {
    let out = pare()
        .args([
            "import",
            "easylist",
            "x.txt",
            "-o",
            "/nonexistent",
            "--category",
            "ads",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: unknown category `ads` (expected one of: paywall, donation, newsletter, related, social, promo, tracking, consent, chrome, reader, other)\n"
    );
}
