//! Rule-file loading on arbitrary bytes: `parse_file` must return rules or located
//! errors, never panic. Non-UTF-8 input is read lossily, as a user's editor might.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match pare::rules::parse_file(Path::new("fuzz.toml"), &text) {
        Ok(file) => {
            // A file that loads must also compile for every page it could meet.
            let host = file.domains.first().cloned();
            let book = pare::rules::RuleBook::from_files(vec![file], Vec::new());
            let mut all = pare::rules::Categories::defaults();
            all.insert(pare::rules::Category::Chrome);
            let _ = book.for_site(host.as_deref(), all);
        }
        Err(errors) => {
            for e in errors {
                // Every error is located in the file it is about.
                assert!(e.line as usize <= text.lines().count() + 1, "{e}");
            }
        }
    }
});
