//! Integration tests on the real `pare` binary, one module per area.

mod daemon;
