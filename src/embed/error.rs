//! What can go wrong for a test embedding the mock, each error saying it in
//! the words the command line and the admin API use.

use std::fmt;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::problem::Problem;

/// The spec, a fixture or a scenario does not load (or the start scenario
/// is unknown): every problem found, each with its `file:line:column` (or
/// JSON pointer) and what was expected, one a line as `specmock` prints
/// them (without its `error: ` prefix, and all of them where it prints the
/// first 50).
pub struct LoadError(Diagnostics);

impl LoadError {
    /// Each problem found, in the order found.
    pub fn diagnostics(&self) -> impl ExactSizeIterator<Item = &Diagnostic> {
        self.0.iter()
    }
}

impl LoadError {
    pub(super) fn new(problems: Diagnostics) -> Self {
        Self(problems)
    }
}

/// One problem a line: `scenarios/x.yaml:3:23: unknown operation ...`.
impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// As `Display`: a test that unwraps the error, or returns it from a test
/// function, prints the problems rather than their structure.
impl fmt::Debug for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for LoadError {}

/// Why [`MockServerBuilder::start`](crate::MockServerBuilder::start) (or
/// `start_blocking`) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The inputs do not load.
    Load(LoadError),
    /// No loopback port could be bound, or the server's runtime or thread
    /// could not be started.
    Io(std::io::Error),
}

impl From<LoadError> for StartError {
    fn from(error: LoadError) -> Self {
        StartError::Load(error)
    }
}

impl From<std::io::Error> for StartError {
    fn from(error: std::io::Error) -> Self {
        StartError::Io(error)
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Load(error) => error.fmt(f),
            StartError::Io(error) => write!(f, "cannot start the mock server: {error}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Load(error) => Some(error),
            StartError::Io(error) => Some(error),
        }
    }
}

/// The expected calls were not made: the explanation the admin API's 417
/// answer gives (what was expected, what matched, the refused calls), then
/// the closest calls and how each differs. Or the expectation itself is
/// wrong (an operation the spec does not have), as its 400 says.
pub struct VerificationError(String);

impl VerificationError {
    pub(super) fn new(explanation: String) -> Self {
        Self(explanation)
    }
}

impl fmt::Display for VerificationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// As `Display`, for the same reason as [`LoadError`]'s.
impl fmt::Debug for VerificationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for VerificationError {}

/// A session could not be moved or read, said as the admin API's problem
/// says it: an unknown scenario (the known ones are listed), or the mock's
/// configuration kept changing under the call (`POST /__mock/reload` again
/// and again), so that none stayed in force long enough to act on the
/// session; trying again once the reloads stop succeeds.
pub struct SessionError(String);

impl SessionError {
    pub(super) fn new(problem: Problem) -> Self {
        Self(problem.detail)
    }
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// As `Display`, for the same reason as [`LoadError`]'s.
impl fmt::Debug for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SessionError {}
