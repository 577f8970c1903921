//! pare cleans saved news articles: it streams each page through lol_html, driven by TOML
//! rule files, and removes paywall notices, donation appeals, newsletter sign-ups,
//! "related articles" and similar clutter — never the article itself.
//!
//! The library is organised as the data flows (see ARCHITECTURE.md):
//! [`rules`] loads and compiles rule files; [`clean`] is the engine (bytes in, bytes and a
//! report out); [`cli`] holds the commands the `pare` binary runs. [`daemon`] is `pare run`:
//! [`watch`] finds complete files in the inbox, the daemon cleans and publishes them, with
//! [`config`], [`systemd`] and [`logging`] around it.

pub mod clean;
pub mod cli;
pub mod color;
pub mod config;
pub mod daemon;
mod entities;
pub mod import;
pub mod lab;
pub mod logging;
pub mod rules;
pub mod status;
pub mod systemd;
pub mod text;
pub mod watch;
pub mod written;
