//! One integration-test binary (faster to build than many): a module per area.

mod article;
mod daemon;
mod engine;
mod errors;
mod golden;
mod import;
mod install;
mod lab;
mod lossless;
mod reader;
mod robust;
mod service;
mod snapshot;

/// A rule book from files given as (name, text), every one of which must load.
pub(crate) fn book(files: &[(&str, &str)]) -> pare::rules::RuleBook {
    let parsed = files
        .iter()
        .map(|(name, text)| pare::rules::parse_file(std::path::Path::new(name), text).unwrap())
        .collect();
    pare::rules::RuleBook::from_files(parsed, vec![])
}
