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
mod robust;
mod service;
