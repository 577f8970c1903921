//! Cleaning arbitrary bytes with a small rule set that uses every action (keep too, with
//! the chrome category on). Checks, for every input:
//! - no panic;
//! - the same result (output, or error kind) whether the input is fed whole or in chunks
//!   of a size taken from the input itself;
//! - the output is never longer than the input (the only growth an edit could cause is
//!   an attribute rename, and lazy-image renames always shorten: `data-src` → `src`);
//! - with rules that cannot match, the output is the input, byte for byte.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pare::clean::{self, Guard, Input, Options};
use pare::rules::{Categories, Category, RuleBook};

const EVERY_ACTION: &str = r#"
generic = true

[[rule]]
id = "f-remove"
category = "promo"
remove = ".promo, aside, div > .ad, [data-ad]"

[[rule]]
id = "f-containing"
category = "newsletter"
remove_containing = ["sign up", "subscribe now"]

[[rule]]
id = "f-matching"
category = "donation"
remove_matching = "^(please )?support (us|our journalism)"
within = "p, div"

[[rule]]
id = "f-cut"
category = "related"
cut_after = "read more"

[[rule]]
id = "f-unwrap"
category = "other"
unwrap = "font, span.w"

[[rule]]
id = "f-attrs"
category = "tracking"
drop_attributes = ["on*", "data-track*"]
selector = "*"

[[rule]]
id = "f-lazy"
category = "other"
lazy_images = true
selector = "img"

[[rule]]
id = "f-keep"
category = "chrome"
keep = "article, main"
"#;

const NEVER: &str = r#"
generic = true

[[rule]]
id = "f-never"
category = "promo"
remove = "pare-never-matches"
"#;

fn book(src: &str) -> RuleBook {
    let file = pare::rules::parse_file(Path::new("fuzz.toml"), src).expect("fuzz rules parse");
    RuleBook::from_files(vec![file], Vec::new())
}

fn books() -> &'static (RuleBook, RuleBook, RuleBook) {
    static B: OnceLock<(RuleBook, RuleBook, RuleBook)> = OnceLock::new();
    B.get_or_init(|| {
        (
            book(EVERY_ACTION),
            book(NEVER),
            RuleBook::from_files(Vec::new(), Vec::new()),
        )
    })
}

fn options(chunk_size: usize) -> Options {
    let mut categories = Categories::defaults();
    categories.insert(Category::Chrome);
    Options {
        categories,
        chunk_size,
        // The loosest guard, so that removals happen and their edits are exercised.
        guard: Guard {
            generic_max_share: 1.0,
            site_max_share: 1.0,
        },
        ..Options::default()
    }
}

/// The output, or the error's kind (its message may name a byte offset).
fn run(data: &[u8], book: &RuleBook, chunk_size: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    match clean::clean(Input::Bytes(data), book, &options(chunk_size), &mut out) {
        Ok(report) => {
            assert_eq!(report.bytes_out, out.len() as u64, "report miscounts output");
            Ok(out)
        }
        Err(e) => Err(format!("{e:?}").split('(').next().unwrap_or("").to_string()),
    }
}

fuzz_target!(|data: &[u8]| {
    let (every, never, empty) = books();
    let whole = data.len().max(1);
    let small = data.first().map_or(1, |b| (*b as usize % 23) + 1);

    let a = run(data, every, whole);
    let b = run(data, every, small);
    assert_eq!(a, b, "chunk size {small} changes the result");
    if let Ok(out) = &a {
        assert!(out.len() <= data.len(), "output longer than input");
    }

    for (name, book) in [("empty", empty), ("never", never)] {
        if name == "never"
            && data
                .windows(18)
                .any(|w| w.eq_ignore_ascii_case(b"pare-never-matches"))
        {
            continue;
        }
        for size in [whole, small] {
            if let Ok(out) = run(data, book, size) {
                assert!(out == data, "{name} rules changed the page (chunk {size})");
            }
        }
    }
});
