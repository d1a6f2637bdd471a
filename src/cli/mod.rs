//! The subcommands' flags, and their results printed and turned into exit
//! codes: the library decides, these modules parse and print.

pub mod check;
pub mod serve;
pub mod verify;

use std::process::ExitCode;

/// The runtime `serve` and `verify` run on.
pub fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| usage_error(format!("cannot start the async runtime: {error}")))
}

/// A usage or I/O error: said on stderr, exit code 2.
pub fn usage_error(error: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(2)
}
