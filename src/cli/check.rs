//! `specmock check`: the flags, the report printed (stdout) and the exit
//! code: 0 clean, 1 contract problems, 2 usage or I/O errors.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use specmock::{check, CheckOptions};

use super::usage_error;

/// Flags of `specmock check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// The OpenAPI 3.0 or 3.1 document (repeatable: several specs served together). Default: ./openapi.yaml if present, else the embedded one.
    #[arg(long, value_name = "FILE")]
    spec: Vec<PathBuf>,
    /// Directory of scenario files.
    #[arg(long, value_name = "DIR")]
    scenarios: Option<PathBuf>,
    /// Directory of fixture files.
    #[arg(long, value_name = "DIR")]
    fixtures: Option<PathBuf>,
    /// Also write the findings as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Report format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Warnings fail the check too.
    #[arg(long)]
    strict: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

pub fn run(args: CheckArgs) -> ExitCode {
    let mut options = args.spec.into_iter().fold(CheckOptions::new(), CheckOptions::spec_file);
    if let Some(scenarios) = args.scenarios {
        options = options.scenarios_dir(scenarios);
    }
    if let Some(fixtures) = args.fixtures {
        options = options.fixtures_dir(fixtures);
    }
    let options = options.strict(args.strict);
    let report = match check(options) {
        Ok(report) => report,
        Err(diagnostic) => return usage_error(diagnostic),
    };
    let printed = match args.format {
        Format::Text => report.to_string(),
        Format::Json => format!("{:#}\n", report.to_json()),
    };
    if let Err(error) = std::io::stdout().lock().write_all(printed.as_bytes()) {
        return usage_error(format!("cannot write the report to stdout: {error}"));
    }
    super::verdict(args.junit.as_deref(), || report.to_junit_xml(), report.passed())
}
