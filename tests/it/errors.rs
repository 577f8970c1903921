//! The errors a user sees for bad rule files, word for word, from the real binary.

use std::path::Path;
use std::process::Command;

fn pare() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pare"))
}

/// Writes `files` into a fresh rules folder and runs `pare check` on it.
fn check(files: &[(&str, &str)]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let out = pare()
        .arg("check")
        .arg("--rules")
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr)
        .unwrap()
        .replace(&format!("{}/", dir.path().display()), "");
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        stderr,
    )
}

#[test]
fn bad_selector() {
    let (code, _, err) = check(&[(
        "a.toml",
        "generic = true\n[[rule]]\nid = \"a\"\ncategory = \"promo\"\nremove = \"div + p\"\n",
    )]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "a.toml:5:10: bad selector `div + p`: Unsupported combinator `+` in selector.\n\
         error: 1 problem(s) in rule files\n"
    );
}

#[test]
fn unknown_key() {
    let (code, _, err) = check(&[(
        "k.toml",
        "generic = true\n[[rule]]\nid = \"b\"\ncategory = \"promo\"\nremvoe = \".x\"\n",
    )]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("k.toml:5:1: unknown field `remvoe`, expected one of `id`, `category`"),
        "{err}"
    );
}

#[test]
fn bad_regex_bad_category_missing_id_and_bad_toml() {
    let (code, _, err) = check(&[
        (
            "re.toml",
            "generic = true\n[[rule]]\nid = \"c\"\ncategory = \"promo\"\nremove_matching = \"(unclosed\"\n",
        ),
        (
            "cat.toml",
            "generic = true\n\n[[rule]]\nid = \"e\"\ncategory = \"ads\"\nremove = \".ad\"\n\n[[rule]]\ncategory = \"promo\"\nremove = \".x\"\n",
        ),
        ("syntax.toml", "generic = true\n[[rule]\nid = \"d\"\n"),
        (
            "example.com.toml",
            "domains = [\"https://example.com/\"]\n[[rule]]\nid = \"f\"\ncategory = \"promo\"\nremove = \".x\"\n",
        ),
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "cat.toml:5:12: unknown category `ads` (expected one of: paywall, donation, newsletter, related, social, promo, tracking, consent, chrome, reader, other)\n\
         cat.toml:8:1: rule has no `id`\n\
         example.com.toml:1:12: `https://example.com/` is not a domain (write `example.com`, no scheme or path)\n\
         re.toml:5:19: bad regex: unclosed group\n\
         syntax.toml:2:8: unclosed array table, expected `]`\n\
         error: 5 problem(s) in rule files\n"
    );
}

#[test]
fn two_actions_and_duplicate_ids() {
    let (_, _, err) = check(&[(
        "g.toml",
        "generic = true\n[[rule]]\nid = \"x\"\ncategory = \"promo\"\nremove = \".a\"\n\n[[rule]]\nid = \"x\"\ncategory = \"promo\"\nremove = \".b\"\nunwrap = \"span\"\n\n[[rule]]\nid = \"x\"\ncategory = \"promo\"\nremove = \".c\"\n",
    )]);
    assert_eq!(
        err,
        "g.toml:7:1: rule has 2 actions (remove, unwrap); write one rule per action\n\
         g.toml:14:6: rule id `x` is already used on line 2\n\
         error: 2 problem(s) in rule files\n"
    );
}

#[test]
fn shipped_rules_check_clean() {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let out = pare()
        .arg("check")
        .arg("--rules")
        .arg(&rules)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("generic.toml: "), "{stdout}");
    assert!(stdout.contains("themoscowtimes.com.toml: "), "{stdout}");
    assert!(
        stdout.lines().last().unwrap().starts_with("ok: "),
        "{stdout}"
    );
}

#[test]
fn clean_refuses_to_run_on_bad_rules_and_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("r.toml"),
        "generic = true\n[[rule]]\nid = \"a\"\ncategory = \"promo\"\nremove = \"p:has(a)\"\n",
    )
    .unwrap();
    let page = dir.path().join("p.html");
    std::fs::write(&page, "<p>x</p>").unwrap();
    let out = pare()
        .args(["clean", "--rules"])
        .arg(dir.path())
        .arg(&page)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("r.toml:5:10: bad selector `p:has(a)`"),
        "{err}"
    );
}

/// Each command says what it did not do, and a URL with no host is refused, not ignored.
#[test]
fn commands_speak_of_what_they_did() {
    let dir = tempfile::tempdir().unwrap();
    let nope = dir.path().join("nope");
    let run = |args: &[&str]| {
        let out = pare().args(args).output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let nope = nope.to_str().unwrap();
    let (code, err) = run(&["check", "--rules", nope]);
    assert_eq!(code, 1);
    assert!(
        err.ends_with("error: 1 problem(s) in rule files\n"),
        "{err}"
    );
    let (_, err) = run(&["clean", "--rules", nope, "x.html"]);
    assert!(err.ends_with("; nothing was cleaned\n"), "{err}");
    let (_, err) = run(&["test", "--rules", nope]);
    assert!(err.ends_with("; no example was run\n"), "{err}");
    let page = dir.path().join("p.html");
    std::fs::write(&page, "<p>x</p>").unwrap();
    for cmd in ["clean", "explain", "suggest"] {
        let (code, err) = run(&[
            cmd,
            "--rules",
            "rules",
            "--url",
            "notaurl",
            page.to_str().unwrap(),
        ]);
        assert_eq!(code, 2, "{cmd}: {err}");
        assert!(
            err.contains("--url `notaurl` is not a web address"),
            "{cmd}: {err}"
        );
    }
}

/// `--color` decides, for every command that colours; NO_COLOR turns `auto` off.
#[test]
fn color_follows_the_flag() {
    let run = |args: &[&str], no_color: bool| {
        let mut c = pare();
        c.args(args);
        if no_color {
            c.env("NO_COLOR", "1");
        }
        let out = c.output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(run(&["test", "--rules", "rules", "--color", "always"], false).contains("\x1b[32m"));
    assert!(run(&["--color", "always", "test", "--rules", "rules"], true).contains("\x1b["));
    assert!(!run(&["test", "--rules", "rules", "--color", "never"], false).contains("\x1b["));
    assert!(!run(&["test", "--rules", "rules"], true).contains("\x1b["));
}

/// One report shape, versioned, for one page or many; `--report -` is stdout (with -o).
#[test]
fn reports_have_one_shape_and_can_go_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.html"), dir.path().join("b.html"));
    std::fs::write(&a, "<p>one</p>").unwrap();
    std::fs::write(&b, "<p>two</p>").unwrap();
    let one = dir.path().join("one.json");
    let out = pare()
        .args(["clean", "--rules", "rules", "--report"])
        .arg(&one)
        .arg(&a)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&one).unwrap()).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["pages"].as_array().unwrap().len(), 1);
    let out = pare()
        .args(["clean", "--rules", "rules", "--report", "-", "-o"])
        .arg(dir.path().join("out"))
        .args([&a, &b])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["pages"].as_array().unwrap().len(), 2);
    assert!(!std::path::Path::new("-").exists());
    let out = pare()
        .args(["clean", "--rules", "rules", "--report", "-"])
        .arg(&a)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--report - needs -o"));
}

/// A saved page named as text (`.md`, `.txt`: a fetcher's wrong extension) that is an
/// HTML document is cleaned as HTML (the unit test `sniffing` covers text that merely
/// mentions tags).
#[test]
fn an_html_document_named_as_text_is_cleaned_as_html() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("story.md");
    std::fs::copy(root.join("tests/fixtures/moscow-times/input.html"), &page).unwrap();
    let out = pare()
        .args(["clean", "--rules"])
        .arg(root.join("rules"))
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = String::from_utf8(out.stdout).unwrap();
    assert!(html.contains("Lavrov"), "{html}");
    assert!(!html.contains("Support The Moscow Times"), "{html}");
}
