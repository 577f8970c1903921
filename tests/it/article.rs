//! Knowing where the article is: the locator's region, the article guard, and rule
//! conditions (words, links, descendants, where). Pages modelled on real markup: a
//! newspaper's paywalled teaser under heavy navigation, a blog post with a sign-up box
//! and a link list inside it.

use std::path::Path;

use pare::clean::{self, Input, Options, Report};
use pare::rules::{RuleBook, parse_file};

use crate::book;

fn clean(book: &RuleBook, html: &str) -> (String, Report) {
    let opts = Options {
        url: Some("https://news.example.com/2026/12/council".into()),
        ..Options::default()
    };
    let mut out = Vec::new();
    let r = clean::clean(Input::Bytes(html.as_bytes()), book, &opts, &mut out).unwrap();
    (String::from_utf8(out).unwrap(), r)
}

const P1: &str = "The city council voted on Tuesday to raise the budget for street repairs by a tenth, after a debate that ran for more than four hours and ended close to midnight.";
const P2: &str = "Members who opposed the plan said the money would be better spent on buses, while its supporters argued that the roads had been neglected for a decade and could wait no longer.";
const P3: &str = "The mayor, who had asked for a larger rise, said she would accept the vote, and that work on the worst streets would begin in the spring, weather permitting, and last until autumn.";

/// Heavy navigation (a menu of 120 links), then the article's teaser in a subscriber
/// container, then more navigation: the article is a small share of the page's text.
fn paywalled_page() -> String {
    let menu: String = (0..120)
        .map(|i| format!("<li><a href=\"/section/{i}\">Section {i} news and more</a></li>"))
        .collect();
    format!(
        "<html><head><title>Council</title></head><body>\
         <header><nav><ul>{menu}</ul></nav></header>\
         <div class=\"page\"><div class=\"subscriber-teaser\"><article class=\"story\">\
         <h1>Council raises repair budget</h1><p>{P1}</p><p>{P2}</p><p>{P3}</p>\
         </article></div></div>\
         <footer><ul>{menu}</ul></footer></body></html>"
    )
}

const IMPORTED: &str = r#"domains = ["example.com"]
[[rule]]
id = "ftr-strip-1"
category = "paywall"
remove = ".subscriber-teaser"
"#;

#[test]
fn the_located_article_is_in_the_report() {
    let page = paywalled_page();
    let (_, r) = clean(&book(&[]), &page);
    let a = r.article.expect("a region");
    let region = &page[a.start as usize..a.end as usize];
    assert!(region.starts_with("<article class=\"story\">"), "{region}");
    for p in [P1, P2, P3] {
        assert!(region.contains(p));
    }
    assert!(!region.contains("Section 3 news"));
    assert!(a.sure(), "{a:?}");
    assert_eq!(a.paras, 3);
}

#[test]
fn a_site_rule_may_not_take_the_whole_article_even_under_its_page_share() {
    let page = paywalled_page();
    let (out, r) = clean(&book(&[("example.com.toml", IMPORTED)]), &page);
    // The teaser container holds under 60% of the page's text (the menus are most of
    // it): the page-share guard would let it go. The article guard does not.
    assert!(out.contains(P1) && out.contains(P3), "the article went");
    assert_eq!(r.removals.len(), 0, "{:?}", r.removals);
    let refusal = &r.refused[0];
    assert_eq!(refusal.removal.rule, "ftr-strip-1");
    assert!(
        refusal
            .reason
            .starts_with("would take the located article (<article> at byte"),
        "{}",
        refusal.reason
    );
}

#[test]
fn a_hand_written_site_rule_can_say_it_may_take_the_article() {
    let site = format!("{IMPORTED}may_take_article = true\n");
    let (out, r) = clean(&book(&[("example.com.toml", &site)]), &paywalled_page());
    assert!(!out.contains(P1));
    assert_eq!(r.removals[0].rule, "ftr-strip-1");
}

#[test]
fn may_take_article_is_refused_in_generic_files() {
    let e = parse_file(
        Path::new("g.toml"),
        "generic = true\n[[rule]]\nid = \"x\"\ncategory = \"promo\"\nremove = \".x\"\nmay_take_article = true\n",
    )
    .unwrap_err();
    assert_eq!(
        e[0].to_string(),
        "g.toml:6:20: `may_take_article` belongs in site files: a generic rule never takes the article"
    );
}

/// A blog post: three paragraphs, a sign-up box and a list of related links inside the
/// article's container, a prose paragraph that mentions subscribing.
fn blog_post(extra_inside: &str) -> String {
    format!(
        "<html><body><nav><a href=/>Home</a> <a href=/about>About</a></nav>\
         <main><div class=\"entry-content\"><h1>Council</h1><p>{P1}</p>\
         <div class=\"box-1\"><h3>Get the morning briefing</h3><p>Sign up for our free newsletter.</p>\
         <form action=/s><input type=\"email\" name=e><button>Sign up</button></form></div>\
         <p>{P2}</p>{extra_inside}<p>{P3}</p>\
         <div class=\"more\"><h3>More stories</h3><ul><li><a href=/a>Bridge reopens after a year of work</a></li>\
         <li><a href=/b>Buses to run later on weekends</a></li><li><a href=/c>Market moves to the square</a></li></ul></div>\
         </div></main>\
         <div class=\"box-2\"><p>Sign up for our free newsletter.</p></div>\
         </body></html>"
    )
}

const SUBSCRIBE_PROSE: &str = "Readers who subscribe to the council's own newsletter, a thin sheet posted to every house, learned of the vote a week later, long after the debate had ended and the street crews had been booked.";

#[test]
fn a_generic_rule_may_not_take_a_paragraph_of_the_article_that_reads_as_prose() {
    let g = "generic = true\n[[rule]]\nid = \"g-subscribe\"\ncategory = \"newsletter\"\nremove_containing = [\"subscribe to\"]\nwithin = \"p, div\"\n";
    let page = blog_post(&format!("<p>{SUBSCRIBE_PROSE}</p>"));
    let (out, r) = clean(&book(&[("g.toml", g)]), &page);
    assert!(out.contains(SUBSCRIBE_PROSE));
    let refusal = r
        .refused
        .iter()
        .find(|x| x.removal.rule == "g-subscribe")
        .expect("refused");
    assert_eq!(
        refusal.reason,
        "holds 1 paragraph of the located article that reads as prose"
    );
}

#[test]
fn conditions_decide_which_element_goes() {
    let g = r#"generic = true
[[rule]]
id = "g-signup-box"
category = "newsletter"
remove_containing = ["sign up for our"]
within = "div, p"
has = "form, input[type=email]"
max_words = 40

[[rule]]
id = "g-link-list"
category = "related"
remove = "div"
min_link_density = 0.6
max_words = 60
where = "inside_article"

[[rule]]
id = "g-outside"
category = "newsletter"
remove_containing = ["newsletter"]
within = "div"
where = "outside_article"
"#;
    let page = blog_post("");
    let (out, r) = clean(&book(&[("g.toml", g)]), &page);
    // The sign-up box: the phrase's smallest holder (`p`) has no form; the `div` around
    // it does, and is short.
    assert!(!out.contains("Get the morning briefing"), "{out}");
    assert!(!out.contains("type=\"email\""));
    // The link list inside the article: links are most of its text.
    assert!(!out.contains("Bridge reopens"));
    // The box after the article, outside it.
    assert!(!out.contains("box-2"));
    for p in [P1, P2, P3] {
        assert!(out.contains(p));
    }
    let mut rules: Vec<&str> = r.removals.iter().map(|x| x.rule.as_str()).collect();
    rules.sort();
    assert_eq!(rules, ["g-link-list", "g-outside", "g-signup-box"], "{r:?}");
    // What the conditions decided against is in the report.
    let why: Vec<&str> = r.not_applied.iter().map(|x| x.reason.as_str()).collect();
    assert!(
        why.contains(&"no descendant matches `form, input[type=email]` (has)"),
        "{why:?}"
    );
    assert!(
        why.iter()
            .any(|w| w.starts_with("where = \"outside_article\": the element is inside")),
        "{why:?}"
    );
    assert!(
        why.iter()
            .any(|w| w.starts_with("link density 0.00 (min_link_density = 0.6)")),
        "{why:?}"
    );
}

#[test]
fn where_conditions_are_not_met_when_the_locator_is_not_sure() {
    let g = "generic = true\n[[rule]]\nid = \"g\"\ncategory = \"promo\"\nremove = \".promo\"\nwhere = \"outside_article\"\n";
    // No paragraph reads as prose: no article to be outside of.
    let page = "<html><body><p>Short.</p><div class=promo>Buy</div></body></html>";
    let (out, r) = clean(&book(&[("g.toml", g)]), page);
    assert!(out.contains("Buy"));
    assert!(
        r.not_applied[0]
            .reason
            .contains("the locator is not sure where the article is"),
        "{:?}",
        r.not_applied
    );
}

#[test]
fn conditions_are_validated_with_their_place() {
    let errs = |body: &str| -> Vec<String> {
        parse_file(
            Path::new("g.toml"),
            &format!("generic = true\n[[rule]]\nid = \"x\"\ncategory = \"promo\"\n{body}"),
        )
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect()
    };
    assert_eq!(
        errs("remove = \".x\"\nmax_words = -1\n"),
        ["g.toml:6:13: `max_words` is a number of words, 0 or more"]
    );
    assert_eq!(
        errs("remove = \".x\"\nmax_link_density = 2.0\n"),
        ["g.toml:6:20: `max_link_density` is the share of the text in links, from 0 to 1"]
    );
    assert_eq!(
        errs("remove = \".x\"\nwhere = \"sidebar\"\n"),
        ["g.toml:6:9: `where = \"sidebar\"`: expected \"outside_article\" or \"inside_article\""]
    );
    assert_eq!(
        errs("remove = \".x\"\nhas = \"p[\"\n"),
        ["g.toml:6:7: bad selector `p[`: Unexpected end of selector."]
    );
    assert_eq!(
        errs("unwrap = \".x\"\nmax_words = 3\n"),
        [
            "g.toml:6:13: conditions (min_words, max_words, min_link_density, max_link_density, has, where) go with remove, remove_containing or remove_matching, not unwrap"
        ]
    );
    assert_eq!(
        errs("remove = \".x\"\nmin_words = 9\nmax_words = 3\n"),
        ["g.toml:6:13: `min_words = 9` is more than `max_words = 3`"]
    );
}

fn shipped() -> RuleBook {
    RuleBook::load(&[Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")]).unwrap()
}

fn clean_no_url(book: &RuleBook, input: &[u8]) -> (String, Report) {
    let mut out = Vec::new();
    let r = clean::clean(Input::Bytes(input), book, &Options::default(), &mut out).unwrap();
    (String::from_utf8(out).unwrap(), r)
}

#[test]
fn a_text_with_no_url_is_matched_by_the_publication_it_names() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed-text");
    let input = std::fs::read(case.join("input.txt")).unwrap();
    let (out, r) = clean_no_url(&shipped(), &input);
    assert_eq!(r.site.as_deref(), Some("themoscowtimes.com"));
    assert_eq!(r.url_source, Some(clean::UrlSource::Name));
    // The same cleaning as with the article's URL given.
    let expected = std::fs::read_to_string(case.join("expected.txt")).unwrap();
    assert_eq!(out, expected);
}

#[test]
fn a_page_with_no_url_is_matched_by_its_site_name() {
    let site = r#"domains = ["paper.example"]
names = ["The Evening Paper"]
[[rule]]
id = "ep-box"
category = "promo"
remove = ".ep-box"
"#;
    let page = format!(
        "<html><head><meta property=\"og:site_name\" content=\"The Evening Paper\"></head><body><article><p>{P1}</p><p>{P2}</p></article><div class=\"ep-box\">Buy the mug</div></body></html>"
    );
    let book = book(&[("paper.example.toml", site)]);
    let (out, r) = clean_no_url(&book, page.as_bytes());
    assert!(!out.contains("Buy the mug"), "{out}");
    assert_eq!(r.site.as_deref(), Some("paper.example"));
    // Another name is no match.
    let other = page.replace("The Evening Paper", "The Evening Papers Group");
    let (out, r) = clean_no_url(&book, other.as_bytes());
    assert!(out.contains("Buy the mug"));
    assert_eq!(r.site, None);
}

#[test]
fn names_belong_in_site_files_and_name_something() {
    let e = parse_file(Path::new("g.toml"), "generic = true\nnames = [\"Paper\"]\n").unwrap_err();
    assert_eq!(
        e[0].to_string(),
        "g.toml:2:9: `names` belongs in site files, not generic ones"
    );
    let e = parse_file(
        Path::new("s.toml"),
        "domains = [\"a.example\"]\nnames = [\"AB\"]\n",
    )
    .unwrap_err();
    assert_eq!(
        e[0].to_string(),
        "s.toml:2:10: `AB` is too short to name a publication (three letters or more)"
    );
}

#[test]
fn in_a_text_the_calls_to_action_around_the_article_go_and_its_prose_stays() {
    let g = "generic = true\n[[rule]]\nid = \"g-sub\"\ncategory = \"newsletter\"\nremove_containing = [\"subscribe\"]\n";
    let text = format!(
        "Subscribe today!\n\n{P1}\n\n{SUBSCRIBE_PROSE}\n\n{P2}\n\nSubscribe to the letter, it is free and it comes every day, with the news of the day and more, written by the newsroom, read by thousands of people who like it.\n"
    );
    let opts = Options {
        kind: Some(clean::Kind::Text),
        ..Options::default()
    };
    let mut out = Vec::new();
    let r = clean::clean(
        Input::Bytes(text.as_bytes()),
        &book(&[("g.toml", g)]),
        &opts,
        &mut out,
    )
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(!out.contains("Subscribe today"));
    // After the article: it reads as prose, but the article ends before it.
    assert!(!out.contains("Subscribe to the letter"), "{out}");
    // Between the article's paragraphs, prose: the guard keeps it.
    assert!(out.contains(SUBSCRIBE_PROSE));
    assert_eq!(
        r.refused[0].reason,
        "holds 1 paragraph of the article that reads as prose"
    );
}

#[test]
fn the_located_article_does_not_depend_on_how_the_page_is_read() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let book = shipped();
    for name in [
        "moscow-times",
        "guardian-support",
        "nyt-newsletter",
        "wapo-paywall-body",
    ] {
        let input = std::fs::read(case.join(name).join("input.html")).unwrap();
        let mut seen = Vec::new();
        for chunk_size in [1, 7, 4096, 1 << 20] {
            let opts = Options {
                chunk_size,
                ..Options::default()
            };
            let mut out = Vec::new();
            let r = clean::clean(Input::Bytes(&input), &book, &opts, &mut out).unwrap();
            seen.push((r.article.clone(), out));
        }
        let first = &seen[0];
        assert!(first.0.is_some(), "{name}: no article");
        for s in &seen[1..] {
            assert_eq!(s.0, first.0, "{name}: the region depends on the chunk size");
            assert!(
                s.1 == first.1,
                "{name}: the output depends on the chunk size"
            );
        }
    }
}

/// Pages in `tests/regions/`, modelled on common markup (a blog engine's post with
/// comments and widgets, a newspaper's teaser under heavy navigation, an article split
/// by ads, hashed class names only, an `articleBody` beside a longer comment thread):
/// the element marked `data-expect-article` is the one the locator must find, and it
/// must be sure of it.
#[test]
fn the_locator_finds_the_marked_element_of_every_region_fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let page = std::fs::read_to_string(&path).unwrap();
        let mark = page.find("data-expect-article").expect("a marked element");
        let start = page[..mark].rfind('<').unwrap() as u64;
        let r = clean::locate(page.as_bytes()).unwrap().expect("a region");
        assert_eq!(r.start, start, "{}: {r:?}", path.display());
        assert!(r.sure(), "{}: not sure: {r:?}", path.display());
        n += 1;
    }
    assert!(n >= 5, "fixtures missing: {n}");
}

#[test]
fn in_a_text_a_where_rule_cannot_move_the_article_to_take_its_last_paragraph() {
    let g = "generic = true\n[[rule]]\nid = \"g-out\"\ncategory = \"newsletter\"\nremove_containing = [\"subscribe\"]\nwhere = \"outside_article\"\nmax_words = 60\n";
    let last = "Residents who want the schedule can subscribe to the works bulletin at the town hall, which lists every street, the week its repairs begin, and the detours that the buses will take while it is closed.";
    // Long enough that the page-share guard (25%) would let the paragraph go.
    let text = format!("{P1}\n\n{P2}\n\n{P3}\n\n{P1}\n\n{P2}\n\n{last}\n\nSubscribe now!\n");
    let opts = Options {
        kind: Some(clean::Kind::Text),
        ..Options::default()
    };
    let mut out = Vec::new();
    clean::clean(
        Input::Bytes(text.as_bytes()),
        &book(&[("g.toml", g)]),
        &opts,
        &mut out,
    )
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains(last), "{out}");
    assert!(!out.contains("Subscribe now!"), "{out}");
}

/// Rules that would take most of a text's prose say nothing of where its article is:
/// a rule matching every paragraph (a generic `.*`, a site's overbroad phrase) is
/// refused on each paragraph reading as prose, as on an HTML page, and the text keeps
/// them; only the short lines go (eighth hostile run: the text came out empty, and the
/// daemon published the empty copy).
#[test]
fn in_a_text_a_rule_that_matches_every_paragraph_cannot_take_the_prose() {
    let opts = Options {
        kind: Some(clean::Kind::Text),
        ..Options::default()
    };
    let text = format!("{P1}\n\n{P2}\n\n{P3}\n\n{P1}\n\nShare this story\n");
    for (name, rules) in [
        (
            "g.toml",
            "generic = true\n[[rule]]\nid = \"g-all\"\ncategory = \"promo\"\nremove_matching = \".*\"\n",
        ),
        (
            "s.toml",
            "domains = [\"x.test\"]\n[[rule]]\nid = \"s-all\"\ncategory = \"promo\"\nremove_matching = \"^.{20,}$\"\n",
        ),
    ] {
        let mut out = Vec::new();
        let report = clean::clean(
            Input::Bytes(text.as_bytes()),
            &book(&[("g0.toml", "generic = true\n"), (name, rules)]),
            &Options {
                url: Some("https://x.test/a".into()),
                ..opts.clone()
            },
            &mut out,
        )
        .unwrap();
        let out = String::from_utf8(out).unwrap();
        for p in [P1, P2, P3] {
            assert!(out.contains(p), "{name}: prose lost: {out:?}");
        }
        assert!(report.refused.len() >= 3, "{name}: {:?}", report.refused);
    }
    // A site's cut of its comments, whose prose outweighs the article's (and within
    // the page-share limit), still cuts:
    // a marker says where the article ends, as a rule matching every paragraph does not.
    let comment = "I have lived on one of those streets for twenty years, and every spring the same holes open again, so forgive me if I doubt that a tenth more will change anything at all.";
    let comments: Vec<String> = (1..=2)
        .map(|n| format!("Reader {n} wrote: {comment}"))
        .collect();
    let text = format!("{P1}\n\n{P2}\n\nComments\n\n{}\n", comments.join("\n\n"));
    let mut out = Vec::new();
    let report = clean::clean(
        Input::Bytes(text.as_bytes()),
        &book(&[
            ("g0.toml", "generic = true\n"),
            (
                "s.toml",
                "domains = [\"x.test\"]\n[[rule]]\nid = \"s-comments\"\ncategory = \"other\"\ncut_after = \"Comments\"\n",
            ),
        ]),
        &Options {
            url: Some("https://x.test/a".into()),
            ..opts.clone()
        },
        &mut out,
    )
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains(P1) && out.contains(P2), "prose lost: {out:?}");
    assert!(
        !out.contains("Reader"),
        "comments kept: {out:?} {:?}",
        report.refused
    );
}

/// An HTML5 article's own header — inside the page's one `<article>`, before the
/// section the locator picks — is the article's: with `+chrome` (which removes site
/// headers outside the article) the headline, standfirst and byline stay, and the
/// site's own header and footer go.
#[test]
fn the_header_of_the_pages_one_article_is_inside_the_article() {
    let book = shipped();
    let body: String = [P1, P2, P3, P1]
        .iter()
        .map(|p| format!("<p>{p}</p>"))
        .collect();
    let page = format!(
        "<html><head><title>Council raises repair budget</title></head><body>\
         <header class=\"site-head\"><nav><a href=\"/\">Home</a> <a href=\"/city\">City</a> <a href=\"/sport\">Sport</a></nav></header>\
         <main><article class=\"post\"><header class=\"post-header\"><a href=\"/tag/city\">City</a>\
         <h1>Council raises repair budget</h1><p class=\"excerpt\">A tenth more for streets after a long night.</p>\
         <div class=\"byline\"><a href=\"/author/ann\">Ann Lee</a></div></header>\
         <section class=\"post-content\">{body}</section></article></main>\
         <footer class=\"site-foot\"><a href=\"/about\">About us</a> <a href=\"/jobs\">Jobs</a></footer></body></html>"
    );
    let opts = Options {
        categories: pare::rules::Categories::adjust(Options::default().categories, "+chrome")
            .unwrap(),
        ..Options::default()
    };
    let mut out = Vec::new();
    clean::clean(Input::Bytes(page.as_bytes()), &book, &opts, &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    for kept in [
        "<h1>Council raises repair budget</h1>",
        "A tenth more for streets",
        "Ann Lee",
        P1,
        P3,
    ] {
        assert!(out.contains(kept), "{kept} lost: {out}");
    }
    assert!(
        !out.contains("About us") && !out.contains(">Sport<"),
        "site chrome kept: {out}"
    );
}

/// A page of many `<article>` elements — teaser cards beside the story, as news sites
/// and blog themes mark them up — still says where the story starts: the `<article>`
/// around the located block. Its header (headline, standfirst, byline) is inside the
/// article for `where`, and it is the reading copy's lead when no `h1` is there; the
/// site's header and the cards are outside.
#[test]
fn the_header_of_the_article_around_the_region_is_inside_it_among_teaser_cards() {
    let body: String = [P1, P2, P3, P1]
        .iter()
        .map(|p| format!("<p>{p}</p>"))
        .collect();
    let cards: String = (0..4)
        .map(|i| {
            format!(
                "<article class=\"card\"><header><h3><a href=\"/s/{i}\">Story {i} of the day</a></h3></header>\
                 <p>A short teaser for story {i}.</p></article>"
            )
        })
        .collect();
    let page = format!(
        "<html><head><title>Council raises repair budget</title></head><body>\
         <header class=\"masthead\"><a href=\"/\">The Gazette</a><p>Printed since 1901, news of the valley.</p></header>\
         <main><article><header>\
         <h2 class=\"entry-title\">Council raises repair budget</h2>\
         <p class=\"standfirst\">A tenth more for streets after a long night.</p>\
         <div class=\"byline\">By Ann Lee</div></header>\
         <div class=\"entry-content\">{body}</div></article>\
         <section class=\"more\">{cards}</section></main></body></html>"
    );
    let r = clean::locate(page.as_bytes()).unwrap().expect("a region");
    assert!(r.sure(), "{r:?}");
    let story = page.find("<main><article>").unwrap() as u64 + 6;
    assert!(
        r.start > story,
        "the test wants the region inside the story: {r:?}"
    );
    assert_eq!(r.declared_start, Some(story), "{r:?}");

    // A rule for site headers outside the article, with no other condition.
    let g = "generic = true\n[[rule]]\nid = \"g-headers\"\ncategory = \"related\"\nremove = \"header\"\nwhere = \"outside_article\"\n";
    let (out, _) = clean(&book(&[("g.toml", g)]), &page);
    for kept in [
        "Council raises repair budget</h2>",
        "A tenth more for streets",
        "By Ann Lee",
        P3,
    ] {
        assert!(out.contains(kept), "{kept} lost: {out}");
    }
    assert!(!out.contains("Printed since 1901"), "masthead kept: {out}");
    assert!(
        !out.contains("Story 2 of the day"),
        "a card's header kept: {out}"
    );

    // The reading copy: the story's header is its lead (no h1 to find), the cards and
    // the masthead are not in it.
    let opts = Options {
        profile: clean::Profile::Reader,
        format: clean::Format::Text,
        ..Options::default()
    };
    let mut copy = Vec::new();
    clean::clean(Input::Bytes(page.as_bytes()), &book(&[]), &opts, &mut copy).unwrap();
    let copy = String::from_utf8(copy).unwrap();
    for kept in ["A tenth more for streets", "By Ann Lee", P1, P3] {
        assert!(copy.contains(kept), "{kept} not in the copy: {copy}");
    }
    for gone in ["Printed since 1901", "A short teaser for story"] {
        assert!(!copy.contains(gone), "{gone} in the copy: {copy}");
    }
}
