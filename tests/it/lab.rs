//! The rule-writing tools: `pare test` on the shipped rules and on broken ones,
//! `pare explain` (text and the annotated page), `pare suggest`.

use std::path::{Path, PathBuf};
use std::process::Command;

use pare::clean::Options;
use pare::lab::{explain, suggest, test};
use pare::rules::RuleBook;

fn shipped_rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

fn pare(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pare"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn folder_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

#[test]
fn every_shipped_example_passes() {
    let book = RuleBook::load(&[shipped_rules()]).expect("shipped rules load");
    let outcomes = test::run(&book);
    let failures: Vec<String> = outcomes
        .iter()
        .flat_map(|f| {
            f.examples.iter().flat_map(move |e| {
                e.problems
                    .iter()
                    .map(move |p| format!("{}:{}: {p}", f.path.display(), e.line))
            })
        })
        .collect();
    assert!(failures.is_empty(), "\n{}\n", failures.join("\n"));
}

#[test]
fn the_library_covers_thirty_sites_each_with_an_example() {
    let book = RuleBook::load(&[shipped_rules()]).unwrap();
    let sites: Vec<_> = book.files.iter().filter(|f| !f.generic).collect();
    assert!(sites.len() >= 30, "only {} site files", sites.len());
    for f in &sites {
        assert!(
            !f.examples().is_empty(),
            "{} has no [[example]]",
            f.path.display()
        );
    }
    for f in book.files.iter().filter(|f| f.generic) {
        assert!(
            !f.examples().is_empty(),
            "{} has no [[example]]",
            f.path.display()
        );
    }
}

const SITE: &str = r#"domains = ["example.com"]

[[rule]]
id = "ex-promo"
category = "promo"
remove = ".promo"

[[example]]
html = '<div class="promo">Buy the mug</div><p class="lede">The river rose overnight.</p><p>Then the town council met in the school hall to decide who pays for the new flood walls and the pumps.</p>'
gone = ["Buy the mug"]
kept = ["The river rose overnight."]
"#;

#[test]
fn pare_test_passes_and_fails_honestly() {
    let good = folder_with(&[("example.com.toml", SITE)]);
    let (code, out, _) = pare(&["test", "--rules", good.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("example.com.toml: 1 example(s), ok"), "{out}");

    // The rule removes too much: the kept phrase is lost, and the report names the rule.
    let greedy = SITE.replace("remove = \".promo\"", "remove = \".promo, .lede\"");
    let bad = folder_with(&[("example.com.toml", &greedy)]);
    let (code, out, _) = pare(&["test", "--rules", bad.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("1 FAILED"), "{out}");
    assert!(
        out.contains("lost: \"The river rose overnight.\" — removed by ex-promo at"),
        "{out}"
    );

    // A file for the hosts one label below a domain runs its examples on such a host
    // (without one, its rules would not apply and `gone` would fail).
    let below = SITE.replace(
        "domains = [\"example.com\"]",
        "domains = [\"*.example.com\"]\nsubdomains = false",
    );
    let ok = folder_with(&[("_.example.com.toml", &below)]);
    let (code, out, _) = pare(&["test", "--rules", ok.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");

    // A phrase the example does not even contain is a mistake in the example.
    let typo = SITE.replace("gone = [\"Buy the mug\"]", "gone = [\"Buy the cup\"]");
    let bad = folder_with(&[("example.com.toml", &typo)]);
    let (code, out, _) = pare(&["test", "--rules", bad.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        out.contains("gone phrase \"Buy the cup\" is not in the example's text at all"),
        "{out}"
    );
}

#[test]
fn example_files_are_read_relative_to_the_rule_file() {
    let dir = folder_with(&[
        (
            "page.html",
            "<div class=\"promo\">Buy the mug</div><p>Kept words here.</p>",
        ),
        (
            "example.com.toml",
            "domains = [\"example.com\"]\n[[rule]]\nid = \"p\"\ncategory = \"promo\"\nremove = \".promo\"\n\
             [[example]]\nfile = \"page.html\"\ngone = [\"Buy the mug\"]\nkept = [\"Kept words here.\"]\n",
        ),
    ]);
    let book = RuleBook::load(&[dir.path().to_path_buf()]).unwrap();
    let outcomes = test::run(&book);
    assert_eq!(outcomes[0].examples.len(), 1);
    assert!(
        outcomes[0].examples[0].problems.is_empty(),
        "{:?}",
        outcomes[0].examples
    );
}

const PAGE: &str = r#"<!DOCTYPE html><html><head><title>t</title>
<link rel="canonical" href="https://www.example.com/story"></head>
<body><div class="promo">Buy the mug</div>
<article><p>The river rose overnight and the bridge closed.</p></article>
<div class="hog"><p>Everything below is one huge block.</p><p>The river rose overnight and the bridge closed again, with many more words in it than the page has elsewhere.</p></div>
</body></html>"#;

const HOG_RULES: &str = r#"domains = ["example.com"]

[[rule]]
id = "ex-promo"
category = "promo"
remove = ".promo"

[[rule]]
id = "ex-hog"
category = "related"
remove = ".hog"
"#;

#[test]
fn explain_names_rules_refusals_site_and_idle_rules() {
    let dir = folder_with(&[
        ("example.com.toml", HOG_RULES),
        (
            "generic.toml",
            "generic = true\n[[rule]]\nid = \"g-never\"\ncategory = \"promo\"\nremove = \".nothing-here\"\n",
        ),
    ]);
    let page = dir.path().join("page.html");
    std::fs::write(&page, PAGE).unwrap();
    let html = dir.path().join("out.html");
    let (code, out, err) = pare(&[
        "explain",
        page.to_str().unwrap(),
        "--rules",
        dir.path().to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    assert!(out.contains("site: www.example.com"), "{out}");
    assert!(out.contains("example.com.toml"), "{out}");
    assert!(out.contains("ex-promo"), "{out}");
    assert!(
        out.contains("example.com.toml:3"),
        "origin file:line: {out}"
    );
    assert!(out.contains("div.promo"), "{out}");
    assert!(out.contains("\"buy the mug\""), "{out}");
    assert!(out.contains("refused by the guard (1)"), "{out}");
    assert!(out.contains("holds"), "the refusal says why: {out}");
    assert!(out.contains("generic rules that never fired (1)"), "{out}");
    assert!(out.contains("g-never"), "{out}");
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .contains("<pare-cut")
    );
}

#[test]
fn the_annotated_page_keeps_removed_blocks_outlined_and_labelled() {
    let dir = folder_with(&[("example.com.toml", HOG_RULES)]);
    let book = RuleBook::load(&[dir.path().to_path_buf()]).unwrap();
    let x = explain::explain(PAGE.as_bytes(), &book, &Options::default()).unwrap();
    assert_eq!(x.report.removals.len(), 1);
    let start = PAGE.find("<div class=\"promo\">").unwrap() as u64;
    let end = start + "<div class=\"promo\">Buy the mug</div>".len() as u64;
    assert_eq!(x.ranges, vec![Some((start, end))]);
    let out = String::from_utf8(explain::annotate(PAGE.as_bytes(), &x)).unwrap();
    // The removed block is still there, wrapped in a labelled outline, exactly once.
    let wrapped =
        "<pare-cut data-rule=\"ex-promo\" data-category=\"promo\"><pare-label>ex-promo · promo · ";
    assert_eq!(out.matches(wrapped).count(), 1, "{out}");
    let at = out.find(wrapped).unwrap();
    let after = &out[at..];
    let close = after.find("</pare-cut>").unwrap();
    assert!(
        after[..close].contains("<div class=\"promo\">Buy the mug</div>"),
        "{out}"
    );
    // The refused removal is listed in the banner, in its own class, with the reason.
    assert!(out.contains("<span class=\"refused\" data-refused=\"ex-hog\">refused: ex-hog (related) div.hog — holds"), "{out}");
    // The banner sits right after <body>; scripts are switched off in the head.
    assert!(out.contains("<body><pare-banner>"), "{out}");
    assert!(out.contains("<head><meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'none'\"><style>"), "{out}");
    // Take the insertions out again and the page is byte for byte the original.
    let mut plain = out.clone();
    let banner_end = plain.find("</pare-banner>").unwrap() + "</pare-banner>".len();
    let banner_start = plain.find("<pare-banner>").unwrap();
    plain.replace_range(banner_start..banner_end, "");
    let style_end = plain.find("</style>").unwrap() + "</style>".len();
    let meta_start = plain
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .unwrap();
    plain.replace_range(meta_start..style_end, "");
    let label_end = plain.find("</pare-label>").unwrap() + "</pare-label>".len();
    let cut_start = plain.find("<pare-cut").unwrap();
    plain.replace_range(cut_start..label_end, "");
    let mut plain = plain.replace("</pare-cut>", "");
    // The located article's outline, when the locator was sure of one.
    if let Some(a) = plain.find("<pare-article>") {
        let label_end = a + plain[a..].find("</pare-label>").unwrap() + "</pare-label>".len();
        plain.replace_range(a..label_end, "");
        plain = plain.replace("</pare-article>", "");
    }
    assert_eq!(plain, PAGE);
}

#[test]
fn suggest_prints_rules_that_pare_test_accepts() {
    let dir = folder_with(&[(
        "example.com.toml",
        "domains = [\"example.com\"]\n[[rule]]\nid = \"ex-none\"\ncategory = \"promo\"\nremove = \".none\"\n",
    )]);
    let page = dir.path().join("page.html");
    std::fs::write(
        &page,
        r#"<html><head><link rel="canonical" href="https://example.com/a"></head><body>
<article><p>The council met on Tuesday to discuss the budget.</p>
<aside class="inline-signup"><h4>The Briefing newsletter</h4><button>Sign up</button></aside>
<p>The vote is next week.</p></article></body></html>"#,
    )
    .unwrap();
    let (code, out, _) = pare(&[
        "suggest",
        page.to_str().unwrap(),
        "--rules",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("remove = \"aside.inline-signup\""), "{out}");
    assert!(out.contains("category = \"newsletter\""), "{out}");
    // The suggestion, pasted into the site file, removes the block and nothing else.
    let rule = out[out.find("[[rule]]").unwrap()..].to_string();
    let file = format!(
        "domains = [\"example.com\"]\n{rule}\n[[example]]\nfile = \"page.html\"\ngone = [\"The Briefing newsletter\"]\nkept = [\"discuss the budget\", \"The vote is next week.\"]\n"
    );
    std::fs::write(dir.path().join("example.com.toml"), file).unwrap();
    let (code, out, err) = pare(&["test", "--rules", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let s = suggest::suggest_html(b"<p>nothing here</p>", None, None);
    assert!(s.is_empty());
}

/// A story of three paragraphs between a menu and a box of links, and a rule with
/// conditions that one element meets and one does not.
const STORY: &str = "<html><head><title>t</title></head><body><nav><a href=/>Home</a> <a href=/w>World</a></nav>\
<div class=\"story-body\"><h1>Council</h1>\
<p>The city council voted on Tuesday to raise the budget for street repairs by a tenth, after a debate that ran for more than four hours and ended close to midnight.</p>\
<p>Members who opposed the plan said the money would be better spent on buses, while its supporters argued that the roads had been neglected for a decade and could wait no longer.</p>\
<p>The mayor, who had asked for a larger rise, said she would accept the vote, and that work on the worst streets would begin in the spring, weather permitting, and last until autumn.</p>\
</div><div class=\"x1\"><p>Sign up for the weekly letter.</p></div><div class=\"x2\"><p>Sign up for the weekly letter, a long letter about everything that happened in the city during the week and a lot more besides.</p></div></body></html>";

const SHORT_SIGNUPS: &str = "generic = true\n[[rule]]\nid = \"g-short\"\ncategory = \"newsletter\"\nremove_containing = [\"sign up for the weekly letter\"]\nwithin = \"div\"\nmax_words = 10\nwhere = \"outside_article\"\n";

#[test]
fn explain_shows_the_article_and_what_conditions_decided() {
    let dir = folder_with(&[("generic.toml", SHORT_SIGNUPS)]);
    let page = dir.path().join("page.html");
    std::fs::write(&page, STORY).unwrap();
    let html = dir.path().join("out.html");
    let (code, out, err) = pare(&[
        "explain",
        page.to_str().unwrap(),
        "--rules",
        dir.path().to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let start = STORY.find("<div class=\"story-body\">").unwrap();
    let end = STORY.find("<div class=\"x1\">").unwrap();
    assert!(
        out.contains(&format!(
            "article: <div> at bytes {start}..{end}, confidence"
        )),
        "{out}"
    );
    assert!(
        out.contains("(sure: the article guard and `where` apply)"),
        "{out}"
    );
    assert!(out.contains("in 3 paragraphs reading as prose"), "{out}");
    // The short box went, with the conditions it met; the long one did not, and why.
    assert!(out.contains("removed (1)"), "{out}");
    assert!(out.contains("      div.x1 "), "{out}");
    assert!(
        out.contains("met: max_words = 10, where = \"outside_article\""),
        "{out}"
    );
    assert!(out.contains("not applied: conditions not met (1)"), "{out}");
    assert!(out.contains("      div.x2 "), "{out}");
    assert!(out.contains("unmet: 24 words (max_words = 10)"), "{out}");
    // The annotated page outlines the article, around its element.
    let annotated = std::fs::read_to_string(&html).unwrap();
    assert!(
        annotated.contains("<pare-article><pare-label>article · &lt;div&gt; · confidence"),
        "{annotated}"
    );
    let opened = annotated.find("<pare-article>").unwrap();
    let closed = annotated.find("</pare-article>").unwrap();
    assert!(annotated[opened..closed].contains("<div class=\"story-body\">"));
    assert!(
        annotated[closed..].starts_with("</pare-article><pare-cut"),
        "{annotated}"
    );
}

#[test]
fn suggest_uses_the_located_article_for_its_rules() {
    // The story above, with a sign-up block after it that no rule removes.
    let page = STORY.replace(
        "<div class=\"x1\">",
        "<div class=\"letter-signup\"><p>Get the newsletter every Friday.</p></div><div class=\"x1\">",
    );
    let book = RuleBook::from_files(Vec::new(), Vec::new());
    let (_, s) = suggest::suggest(page.as_bytes(), &book, &Options::default()).unwrap();
    let signup = s
        .iter()
        .find(|x| x.selector == "div.letter-signup")
        .expect("suggested");
    let toml = signup.to_toml();
    assert!(toml.contains("max_words = 20\n"), "{toml}");
    assert!(toml.contains("where = \"outside_article\"\n"), "{toml}");
    // What pare suggests loads, and cleans the block away.
    let file = format!("domains = [\"example.com\"]\n{toml}");
    let parsed = pare::rules::parse_file(Path::new("example.com.toml"), &file).unwrap();
    let book = RuleBook::from_files(vec![parsed], Vec::new());
    let opts = Options {
        url: Some("https://example.com/a".into()),
        ..Options::default()
    };
    let mut out = Vec::new();
    pare::clean::clean(
        pare::clean::Input::Bytes(page.as_bytes()),
        &book,
        &opts,
        &mut out,
    )
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(!out.contains("Get the newsletter every Friday"), "{out}");
    assert!(out.contains("The mayor, who had asked"));
}
