//! `specmock check`: is the mock's configuration consistent with the spec?
//! For CI: the spec linted, every fixture, scenario, stream frame and
//! example checked statically, and which documented statuses scenarios
//! reach. The command line prints the report and turns it into an exit
//! code; this module only finds and describes.

pub(crate) mod coverage;
mod fixtures;
mod gather;
mod junit_report;
mod output;
mod positions;
mod report;
mod scenarios;
mod spec_lint;

use std::path::{Path, PathBuf};

pub use report::CheckReport;

use crate::diagnostic::Diagnostic;
use crate::sources::Sources;

/// What to check: the inputs `serve` would load, found as `serve` finds them.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// The OpenAPI 3.0 or 3.1 documents, served together when several;
    /// none: `./openapi.yaml` if present, else the embedded one.
    pub spec: Vec<PathBuf>,
    /// The directory of scenario files; none: as `serve` finds it.
    pub scenarios: Option<PathBuf>,
    /// The directory of fixture files; none: as `serve` finds it.
    pub fixtures: Option<PathBuf>,
    /// Warnings fail the check too.
    pub strict: bool,
}

/// Checks the spec, fixtures and scenarios `options` names, collecting
/// every finding instead of stopping at the first. Files are labelled
/// relative to the working directory (`scenarios/x.yaml:3:5`), as a person
/// would write them.
///
/// `Err`: an input cannot be read at all (a usage or I/O error, not a
/// contract problem).
///
/// A test that keeps a project's mock consistent (here, run from this
/// repository: its `openapi.yaml`, `fixtures/` and `scenarios/`):
///
/// ```
/// let report = specmock::check(specmock::CheckOptions { strict: true, ..Default::default() })?;
/// assert!(report.passed(), "{report}");
/// # Ok::<(), specmock::Diagnostic>(())
/// ```
pub fn check(options: CheckOptions) -> Result<CheckReport, Diagnostic> {
    let sources = Sources::resolve(options.spec, options.fixtures, options.scenarios, Path::new(""));
    let mut report = gather::gather(&sources)?;
    report.strict = options.strict;
    Ok(report)
}
