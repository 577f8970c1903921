//! The `pare` binary: parse the command line, run the command, map the result to an exit
//! code. Everything else lives in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    pare::daemon::sys::ignore_file_size_signal();
    pare::cli::main()
}
