//! `specmock check`: is the mock's configuration consistent with the spec?
//! For CI: the spec linted, every fixture, scenario, stream frame and
//! example checked statically, and which documented statuses scenarios
//! reach. Exit 0 clean, 1 contract problems, 2 usage or I/O errors.

pub(crate) mod coverage;
mod fixtures;
mod gather;
mod junit_report;
mod output;
mod positions;
mod report;
mod scenarios;
mod spec_lint;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::sources::Sources;

/// Flags of `specmock check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// The OpenAPI 3.0 or 3.1 document (repeatable: several specs served together). Default: ./openapi.yaml if present, else the embedded one.
    #[arg(long, value_name = "FILE")]
    pub spec: Vec<PathBuf>,
    /// Directory of scenario files.
    #[arg(long, value_name = "DIR")]
    pub scenarios: Option<PathBuf>,
    /// Directory of fixture files.
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,
    /// Also write the findings as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Report format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Warnings fail the check too.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Runs the check; the exit code is 0 clean, 1 contract problems, 2 usage or I/O errors.
pub fn run(args: CheckArgs) -> ExitCode {
    // The inputs `serve` would load from this directory, labelled relative to
    // it (`scenarios/x.yaml:3:5`) as a person would write them.
    let sources = Sources::resolve(args.spec, args.fixtures, args.scenarios, Path::new(""));
    let report = match gather::gather(&sources) {
        Ok(report) => report,
        Err(diagnostic) => return usage_error(diagnostic),
    };
    let printed = match args.format {
        Format::Text => output::text(&report),
        Format::Json => output::json(&report, args.strict),
    };
    if let Err(error) = std::io::stdout().lock().write_all(printed.as_bytes()) {
        return usage_error(format!("cannot write the report to stdout: {error}"));
    }
    if let Some(path) = &args.junit {
        let xml = crate::junit::render(&[junit_report::suite(&report, args.strict)]);
        if let Err(error) = std::fs::write(path, xml) {
            return usage_error(format!("cannot write the JUnit report to {}: {error}", path.display()));
        }
    }
    match report.fails(args.strict) {
        true => ExitCode::from(1),
        false => ExitCode::SUCCESS,
    }
}

fn usage_error(error: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(2)
}
