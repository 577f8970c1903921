//! Engine behaviours that fixtures do not show well: which rule wins an element, what a
//! site's `disable` does, `keep`, and the guard's refusals.

use pare::clean::{self, Input, Options, Report};
use pare::rules::{Categories, Category, RuleBook};

use crate::book;

fn clean(book: &RuleBook, url: &str, html: &str, categories: Categories) -> (String, Report) {
    let opts = Options {
        url: Some(url.into()),
        categories,
        ..Options::default()
    };
    let mut out = Vec::new();
    let r = clean::clean(Input::Bytes(html.as_bytes()), book, &opts, &mut out).unwrap();
    (String::from_utf8(out).unwrap(), r)
}

const GENERIC: &str = r#"generic = true
[[rule]]
id = "g-cookies"
category = "consent"
remove_containing = ["we use cookies"]
within = "div"

[[rule]]
id = "g-promo"
category = "promo"
remove = ".promo"
"#;

const SITE: &str = r#"domains = ["example.com"]
disable = ["g-promo"]
[[rule]]
id = "s-cookies"
category = "consent"
remove_containing = ["we use cookies"]
within = "div"
"#;

const PAGE: &str = "<html><body><article><p>A short story, told in two sentences of modest length. \
    It ends here.</p></article>\
    <div class=box><p>We use cookies to make this site better for you.</p></div>\
    <div class=promo>Buy now</div></body></html>";

#[test]
fn a_site_rule_takes_an_element_over_from_a_generic_rule() {
    let b = book(&[("generic.toml", GENERIC), ("example.com.toml", SITE)]);
    // The cookie box holds over 25% of this small page's text (under 60%): too much for
    // a generic rule, allowed for the site's own.
    let (out, r) = clean(
        &b,
        "https://www.example.com/a",
        PAGE,
        Categories::defaults(),
    );
    assert!(!out.contains("We use cookies"), "{out}");
    assert_eq!(r.removals[0].rule, "s-cookies");
    // The site switched g-promo off.
    assert!(out.contains("Buy now"), "{out}");

    let (out, r) = clean(&b, "https://elsewhere.org/a", PAGE, Categories::defaults());
    assert!(out.contains("We use cookies"), "{out}");
    assert!(r.refused[0].reason.starts_with("holds "), "{:?}", r.refused);
    assert!(!out.contains("Buy now"), "{out}");
}

#[test]
fn keep_applies_only_with_its_category_and_keeps_the_head() {
    let site = r#"domains = ["example.com"]
[[rule]]
id = "k"
category = "chrome"
keep = "div.story"
"#;
    let b = book(&[("example.com.toml", site)]);
    let page = "<html><head><title>T</title></head><body><nav>Menu</nav>\
        <div class=story><p>The whole story, long enough to be most of the page.</p></div>\
        <footer>Foot</footer></body></html>";
    let (out, _) = clean(&b, "https://example.com/", page, Categories::defaults());
    assert_eq!(out, page);
    let mut cats = Categories::defaults();
    cats.insert(Category::Chrome);
    let (out, r) = clean(&b, "https://example.com/", page, cats);
    assert_eq!(
        out,
        "<html><head><title>T</title></head><body><div class=story><p>The whole story, long \
         enough to be most of the page.</p></div></body></html>"
    );
    assert_eq!(r.removals[0].action, "keep");
}

#[test]
fn generic_rules_never_take_article_main_or_what_holds_them() {
    let g = r#"generic = true
[[rule]]
id = "wide"
category = "other"
remove = "article, .wrap"
"#;
    let b = book(&[("g.toml", g)]);
    let page = "<html><body><div class=wrap><article><p>Story</p></article></div></body></html>";
    let (out, r) = clean(&b, "https://x.org/", page, Categories::defaults());
    assert_eq!(out, page);
    let reasons: Vec<&str> = r.refused.iter().map(|f| f.reason.as_str()).collect();
    assert!(
        reasons
            .iter()
            .all(|r| r.starts_with("protected element <article>")),
        "{reasons:?}"
    );
    assert_eq!(reasons.len(), 2);
}

#[test]
fn untouched_pages_pass_through_byte_for_byte() {
    let b = book(&[("generic.toml", GENERIC)]);
    let page = "<!DOCTYPE html>\n<HTML><Body  class=x><p>caf&eacute; &amp; <b>bold</B><br/>\r\n<!-- c --></p>\
        <script>if (a<b) document.write('</div>')</script><p>unclosed";
    let (out, r) = clean(&b, "https://x.org/", page, Categories::defaults());
    assert_eq!(out, page);
    assert!(r.removals.is_empty() && r.refused.is_empty());
}

#[test]
fn attribute_rules_read_names_in_any_case() {
    let b = book(&[(
        "generic.toml",
        r#"generic = true
[[rule]]
id = "g-on"
category = "tracking"
drop_attributes = ["on*", "data-track"]

[[rule]]
id = "g-lazy"
category = "other"
lazy_images = true
"#,
    )]);
    let page = "<html><body><article><p ONCLICK=\"x()\" Data-Track=1 title=t>Text of the story.</p>\
        <img SRC=\"blank.gif\" DATA-SRC=\"/photo.jpg\" alt=a><img src=/real.jpg data-src=/other.jpg>\
        </article></body></html>";
    let (out, _) = clean(&b, "https://example.com/a", page, Categories::default());
    assert_eq!(
        out,
        "<html><body><article><p title=t>Text of the story.</p>\
        <img src=\"/photo.jpg\" alt=a><img src=/real.jpg data-src=/other.jpg>\
        </article></body></html>"
    );
}

#[test]
fn remove_matching_finds_unanchored_patterns_in_long_text() {
    // Only a `^…$` regex bounds the text it can match; this one must still be tried on
    // an element far longer than anything it matches by itself.
    let b = book(&[(
        "generic.toml",
        r#"generic = true
[[rule]]
id = "g-paid"
category = "promo"
remove_matching = 'paid (partner|post)'
within = "aside"

[[rule]]
id = "g-label"
category = "promo"
remove_matching = '^(ad|advert)$'
within = "span"
"#,
    )]);
    let filler = "Words of the article that make the page long enough. ".repeat(40);
    let aside = "This box is long and only at its very end says it is a paid post. ".repeat(3);
    let page = format!(
        "<html><body><article><p>{filler}</p><span>Ad</span><span>Adverts are everywhere</span></article>\
         <aside>{aside}</aside></body></html>"
    );
    let (out, r) = clean(&b, "https://example.com/a", &page, Categories::default());
    assert!(!out.contains("<aside>"), "{out}");
    assert!(!out.contains("<span>Ad</span>"), "{out}");
    assert!(out.contains("<span>Adverts are everywhere</span>"), "{out}");
    let rules: Vec<_> = r.removals.iter().map(|x| x.rule.as_str()).collect();
    assert_eq!(rules, vec!["g-label", "g-paid"]);
}

#[test]
fn text_rule_removals_past_the_listed_ones_are_counted_and_made() {
    // Label (`remove_matching`) and `cut_after` removals past the first 10,000 carry no
    // description and are accepted as they close; each must still be made and counted.
    let b = book(&[(
        "generic.toml",
        r#"generic = true
[[rule]]
id = "g-share"
category = "social"
remove_matching = '^share$'
within = "span"

[[rule]]
id = "g-more"
category = "related"
cut_after = "more stories"
within = "h4"
"#,
    )]);
    let n = 10_100;
    let mut page = String::from("<html><body><article>");
    for i in 0..n {
        page.push_str(&format!(
            "<p>Paragraph {i} of a long story. <span>Share</span></p>\
             <div><p>Part {i}.</p><h4>More stories</h4><p>Elsewhere {i}</p></div>"
        ));
    }
    page.push_str("</article></body></html>");
    let (out, r) = clean(&b, "https://example.com/a", &page, Categories::default());
    assert!(!out.contains("<span>Share</span>"));
    assert!(!out.contains("More stories") && !out.contains("Elsewhere"));
    assert!(out.contains(&format!("Paragraph {} of a long story.", n - 1)));
    assert!(out.contains(&format!("<div><p>Part {}.</p></div>", n - 1)));
    let listed = r.removals.len();
    let counted: usize = r.removals_unlisted.values().sum();
    assert_eq!(listed, 10_000);
    assert_eq!(listed + counted, 2 * n);
}

#[test]
fn attribute_rules_for_every_element_can_be_disabled_by_a_site() {
    let generic = r#"generic = true
[[rule]]
id = "g-on"
category = "tracking"
drop_attributes = ["on*"]
"#;
    let site = r#"domains = ["example.com"]
disable = ["g-on"]
"#;
    let b = book(&[("generic.toml", generic), ("example.com.toml", site)]);
    let page = "<html><body><p onclick=\"x()\" id=a>Text</p></body></html>";
    let (out, _) = clean(&b, "https://www.example.com/a", page, Categories::default());
    assert_eq!(out, page);
    let (out, r) = clean(&b, "https://other.org/a", page, Categories::default());
    assert_eq!(out, "<html><body><p id=a>Text</p></body></html>");
    assert_eq!(r.attributes_changed, 1);
}

#[test]
fn reports_describe_elements_whose_start_tags_were_read_long_before() {
    // The phrase comes 100 KB after the box's start tag: the engine no longer holds
    // those bytes when the box becomes a removal, yet the report still names its id
    // and classes (read before the bytes went).
    let b = book(&[(
        "generic.toml",
        r#"generic = true
[[rule]]
id = "g-appeal"
category = "donation"
remove_containing = ["please support us"]
within = "div"
"#,
    )]);
    let story =
        "<p>A paragraph of the story, long enough to be prose of some length.</p>".repeat(8_000);
    let filler = "<span>Reader-funded journalism needs you.</span> ".repeat(2_000);
    let page = format!(
        "<html><body><article>{story}</article>\
         <div id=\"appeal\" class=\"box  wide\">{filler}<b>Please support us</b></div>\
         </body></html>"
    );
    for chunk in [4096, 64 * 1024] {
        let opts = Options {
            url: Some("https://example.com/a".into()),
            chunk_size: chunk,
            ..Options::default()
        };
        let mut out = Vec::new();
        let r = clean::clean(Input::Bytes(page.as_bytes()), &b, &opts, &mut out).unwrap();
        assert_eq!(r.removals.len(), 1, "chunk {chunk}");
        assert_eq!(
            r.removals[0].element, "div#appeal.box.wide",
            "chunk {chunk}"
        );
        assert!(
            !String::from_utf8(out)
                .unwrap()
                .contains("Please support us")
        );
    }
}

#[test]
fn batch_mode_reads_small_files_once_and_still_goes_by_their_names() {
    // A `.txt` that starts like markup is a text by its name, read whole or not.
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("note.txt");
    std::fs::write(&note, "<b>Draft</b>\n\nThe council met on Tuesday.\n").unwrap();
    for sync in [false, true] {
        let out = dir.path().join(format!("out-{sync}"));
        let report = dir.path().join(format!("r-{sync}.json"));
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pare"));
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("clean")
            .arg("-o")
            .arg(&out)
            .arg("--report")
            .arg(&report)
            .arg(&note);
        if sync {
            cmd.arg("--sync");
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        assert_eq!(r["pages"][0]["kind"], "text");
        assert_eq!(
            std::fs::read_to_string(out.join("note.txt")).unwrap(),
            "<b>Draft</b>\n\nThe council met on Tuesday.\n"
        );
    }
}

/// A report with each removal's description and text blanked (and the words saying why
/// a rule's conditions were not met): what a report without descriptions must equal.
fn undescribed(r: &Report) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap();
    for list in ["removals", "refused", "not_applied"] {
        if let Some(items) = v.get_mut(list).and_then(|l| l.as_array_mut()) {
            for it in items {
                // Why a rule's conditions were not met is words for a reader too.
                if list == "not_applied" {
                    it["reason"] = "".into();
                }
                let it = if it.get("removal").is_some() {
                    &mut it["removal"]
                } else {
                    it
                };
                it["element"] = "".into();
                it["text"] = "".into();
            }
        }
    }
    v
}

#[test]
fn a_page_cleaned_without_descriptions_is_judged_the_same() {
    // The daemon and batch mode keep only counts, so they ask for no descriptions: every
    // removal must still be judged exactly as when it is described (the same output, the
    // same removals, refusals and rules not applied, listed the same), only without text.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped = RuleBook::load(&[root.join("rules")]).unwrap();
    let mut pages: Vec<(String, Vec<u8>)> = Vec::new();
    for dir in ["tests/fixtures", "tests/regions", "tests/reader"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            let file = if p.is_dir() {
                p.join("input.html")
            } else {
                p.clone()
            };
            if file.extension().is_some_and(|x| x == "html") && file.exists() {
                pages.push((file.display().to_string(), std::fs::read(&file).unwrap()));
            }
        }
    }
    assert!(pages.len() >= 20, "pages missing: {}", pages.len());
    // Past the first 10,000 removals (counted, accepted early) as well.
    let mut big = String::from("<html><body><article>");
    for i in 0..10_050 {
        big.push_str(&format!(
            "<p>Paragraph {i} of a long story, long enough to read as prose.</p>\
             <div class=share-bar><a href=\"https://twitter.com/share\">Share</a></div>"
        ));
    }
    big.push_str("</article></body></html>");
    pages.push(("generated".into(), big.into_bytes()));
    let (mut listed, mut refused, mut not_applied) = (0, 0, 0);
    for (name, html) in &pages {
        for profile in [clean::Profile::Page, clean::Profile::Reader] {
            let run = |describe: bool| {
                let opts = Options {
                    profile,
                    describe,
                    categories: if profile == clean::Profile::Reader {
                        Categories::all()
                    } else {
                        Categories::default()
                    },
                    ..Options::default()
                };
                let mut out = Vec::new();
                let r = clean::clean(Input::Bytes(html), &shipped, &opts, &mut out).unwrap();
                (out, r)
            };
            let (out_d, rep_d) = run(true);
            let (out_q, rep_q) = run(false);
            assert!(out_d == out_q, "{name} ({profile:?}): outputs differ");
            assert_eq!(
                undescribed(&rep_d),
                undescribed(&rep_q),
                "{name} ({profile:?})"
            );
            assert!(
                rep_d.removals.iter().all(|r| !r.element.is_empty()),
                "{name}: a described removal without its element"
            );
            assert!(
                rep_q
                    .removals
                    .iter()
                    .all(|r| r.element.is_empty() && r.text.is_empty())
                    && rep_q.refused.iter().all(|r| r.removal.element.is_empty()),
                "{name}: a description made although none was asked for"
            );
            assert!(
                rep_q
                    .not_applied
                    .iter()
                    .all(|r| r.removal.element.is_empty()),
                "{name}: a rule not applied described although no description was asked for"
            );
            listed += rep_q.removals.len();
            refused += rep_q.refused.len();
            not_applied += rep_q.not_applied.len();
        }
    }
    // The comparison covered real work: removals listed past none, refusals, and rules
    // whose conditions were not met, all listed in reports without descriptions too.
    assert!(listed > 10_000, "{listed} removals listed");
    assert!(refused > 0, "no refusal on any page");
    assert!(not_applied > 0, "no rule not applied on any page");
}
