//! One integration-test binary (faster to build than many): a module per area.

mod daemon;
mod errors;
mod golden;
mod lab;
mod robust;
