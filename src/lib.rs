//! pare cleans saved news articles: it streams each page through lol_html, driven by TOML
//! rule files, and removes paywall notices, donation appeals, newsletter sign-ups,
//! "related articles" and similar clutter — never the article itself.
//!
//! The library is organised as the data flows (see ARCHITECTURE.md):
//! [`rules`] loads and compiles rule files; [`clean`] is the engine (bytes in, bytes and a
//! report out); [`cli`] holds the commands the `pare` binary runs.

pub mod clean;
pub mod cli;
pub mod import;
pub mod rules;
pub mod text;
