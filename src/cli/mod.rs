//! The subcommands' flags, and their results printed and turned into exit
//! codes: the library decides, these modules parse and print.

pub mod check;
pub mod serve;
pub mod verify;

use std::path::Path;
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

/// The end of a run that judged something: its JUnit file written when
/// asked for (a file that cannot be written is a usage error), then exit 0
/// when it passed, 1 when it did not.
pub fn verdict(junit: Option<&Path>, junit_xml: impl FnOnce() -> String, passed: bool) -> ExitCode {
    if let Some(path) = junit {
        if let Err(error) = std::fs::write(path, junit_xml()) {
            return usage_error(format!("cannot write the JUnit report to {}: {error}", path.display()));
        }
    }
    match passed {
        true => ExitCode::SUCCESS,
        false => ExitCode::from(1),
    }
}
