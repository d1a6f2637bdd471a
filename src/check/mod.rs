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

/// What to check: the inputs `serve` would load, found as `serve` finds
/// them. Built from [`CheckOptions::new`] (everything found as `serve`
/// finds it, warnings do not fail) with a setter for each flag of
/// `specmock check`.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct CheckOptions {
    spec: Vec<PathBuf>,
    scenarios: Option<PathBuf>,
    fixtures: Option<PathBuf>,
    strict: bool,
}

impl CheckOptions {
    /// The inputs `serve` would find with no flags: `./openapi.yaml` if
    /// present, else the embedded Pieces User API, and their fixtures and
    /// scenarios.
    pub fn new() -> Self {
        Self::default()
    }

    /// An OpenAPI 3.0 or 3.1 document to check (as `--spec`); given more
    /// than once, the documents are checked as served together.
    pub fn spec_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.spec.push(path.into());
        self
    }

    /// The directory of scenario files (as `--scenarios`).
    pub fn scenarios_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.scenarios = Some(path.into());
        self
    }

    /// The directory of fixture files (as `--fixtures`).
    pub fn fixtures_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.fixtures = Some(path.into());
        self
    }

    /// Whether warnings fail the check too (as `--strict`).
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }
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
/// let report = specmock::check(specmock::CheckOptions::new().strict(true))?;
/// assert!(report.passed(), "{report}");
/// # Ok::<(), specmock::Diagnostic>(())
/// ```
pub fn check(options: CheckOptions) -> Result<CheckReport, Diagnostic> {
    let sources = Sources::resolve(options.spec, options.fixtures, options.scenarios, Path::new(""));
    let mut report = gather::gather(&sources)?;
    report.strict = options.strict;
    Ok(report)
}
