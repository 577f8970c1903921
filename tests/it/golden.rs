//! Golden fixtures: `tests/fixtures/<case>/input.{html,txt}` cleaned with the shipped
//! rules (or the case's own `rules/` folder) must equal `expected.{html,txt}`, whether
//! the input is fed whole or in chunks of 1, 7 and 4096 bytes.
//!
//! Besides the exact output, each case lists phrases in `kept.txt` (must survive) and
//! `gone.txt` (must be removed), one per line: these hold even when the expected files
//! are rewritten with `PARE_BLESS=1 cargo test`, so blessing cannot hide lost text.
//! An optional `url.txt` gives the page's URL.

use std::path::{Path, PathBuf};

use pare::clean::{self, Input, Options};
use pare::rules::RuleBook;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn shipped_rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .map(|s| {
            s.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The visible text of a page, roughly: tags dropped, entities and case left alone,
/// white space collapsed. Enough to check phrases.
fn visible(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn first_difference(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}:\n  expected: {x}\n  got:      {y}", i + 1);
        }
    }
    format!(
        "lengths differ: expected {} lines, got {}",
        a.lines().count(),
        b.lines().count()
    )
}

#[test]
fn golden_fixtures() {
    let bless = std::env::var_os("PARE_BLESS").is_some();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 7, "fixtures missing: {cases:?}");
    let shipped = RuleBook::load(&[shipped_rules()]).expect("shipped rules load");
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let (input_path, ext) = if case.join("input.html").exists() {
            (case.join("input.html"), "html")
        } else {
            (case.join("input.txt"), "txt")
        };
        let input = std::fs::read(&input_path).unwrap();
        let own_rules;
        let book = if case.join("rules").is_dir() {
            own_rules = RuleBook::load(&[case.join("rules")]).expect("case rules load");
            &own_rules
        } else {
            &shipped
        };
        let url = std::fs::read_to_string(case.join("url.txt"))
            .ok()
            .map(|s| s.trim().to_string());
        let mut outputs = Vec::new();
        for chunk in [usize::MAX, 1, 7, 4096] {
            let opts = Options {
                url: url.clone(),
                chunk_size: chunk.min(input.len().max(1)),
                kind: Some(if ext == "html" {
                    clean::Kind::Html
                } else {
                    clean::Kind::Text
                }),
                ..Options::default()
            };
            let mut out = Vec::new();
            clean::clean(Input::Bytes(&input), book, &opts, &mut out)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            outputs.push(out);
        }
        for (i, o) in outputs.iter().enumerate().skip(1) {
            if o != &outputs[0] {
                failures.push(format!(
                    "{name}: output with chunk size #{i} differs from whole-input output"
                ));
            }
        }
        let got = &outputs[0];
        // Compare and check phrases in the page's own encoding, decoded for reading.
        let enc = pare_encoding(&input);
        let got_text = enc.decode(got).0.into_owned();
        let expected_path = case.join(format!("expected.{ext}"));
        if bless {
            std::fs::write(&expected_path, got).unwrap();
        } else {
            match std::fs::read(&expected_path) {
                Ok(exp) if &exp == got => {}
                Ok(exp) => failures.push(format!(
                    "{name}: output differs from expected.{ext} ({})",
                    first_difference(&enc.decode(&exp).0, &got_text)
                )),
                Err(_) => failures.push(format!(
                    "{name}: no expected.{ext}; run PARE_BLESS=1 cargo test"
                )),
            }
        }
        let vis = visible(&got_text);
        let kept = lines(&case.join("kept.txt"));
        let gone = lines(&case.join("gone.txt"));
        assert!(
            !kept.is_empty() && !gone.is_empty(),
            "{name}: needs kept.txt and gone.txt"
        );
        for k in &kept {
            if !vis.contains(k.as_str()) {
                failures.push(format!("{name}: lost article text: {k:?}"));
            }
        }
        for g in &gone {
            if vis.contains(g.as_str()) {
                failures.push(format!("{name}: boilerplate still there: {g:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}\n", failures.join("\n"));
}

/// The encoding a fixture declares (for reading its output in a failure message).
fn pare_encoding(input: &[u8]) -> &'static encoding_rs::Encoding {
    let head = String::from_utf8_lossy(&input[..input.len().min(2048)]).to_lowercase();
    if let Some(i) = head.find("charset=") {
        let label: String = head[i + 8..]
            .chars()
            .skip_while(|c| *c == '"' || *c == '\'')
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        if let Some(e) = encoding_rs::Encoding::for_label(label.as_bytes()) {
            return e;
        }
    }
    encoding_rs::UTF_8
}
