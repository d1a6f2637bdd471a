//! Expectations about the calls a client made, checked against the
//! journal by the same verification `POST /__mock/verify` runs.

use serde_json::Value;

use crate::app::App;
use crate::expected_calls::{Verdict, Verification};

use super::error::VerificationError;

/// Which calls a client should have made, and how many: what
/// `POST /__mock/verify` takes, built in Rust. Without a count, at least
/// one call is expected. Only calls the mock answered as the contract
/// allows count, unless [`refused`](Self::refused) asks for the others.
///
/// ```
/// use specmock::Expectation;
///
/// let twice = Expectation::operation("user-update-vanity").times(2);
/// let none_refused = Expectation::operation("POST /user/update").refused().never();
/// let renamed = Expectation::operation("user-update-vanity")
///     .with_body(serde_json::json!({"vanityname": "mark"}))
///     .with_status(200);
/// # let _ = (twice, none_refused, renamed);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Expectation(Verification);

impl Expectation {
    /// Calls of an operation: its operationId, or `METHOD /path` as the
    /// spec writes the path.
    pub fn operation(operation: impl Into<String>) -> Self {
        Self(Verification {
            operation: operation.into(),
            session: None,
            body: None,
            status: None,
            refused: false,
            count: None,
            at_least: None,
            at_most: None,
        })
    }

    /// Exactly `n` calls.
    pub fn times(self, n: u64) -> Self {
        self.counted(Some(n), None, None)
    }

    /// `n` calls or more.
    pub fn at_least(self, n: u64) -> Self {
        self.counted(None, Some(n), None)
    }

    /// `n` calls or fewer.
    pub fn at_most(self, n: u64) -> Self {
        self.counted(None, None, Some(n))
    }

    /// No call at all.
    pub fn never(self) -> Self {
        self.times(0)
    }

    /// Only calls whose request body contains `body` (objects by subset,
    /// arrays item by item).
    pub fn with_body(mut self, body: Value) -> Self {
        self.0.body = Some(body);
        self
    }

    /// Only calls the mock answered with `status`.
    pub fn with_status(mut self, status: u16) -> Self {
        self.0.status = Some(status);
        self
    }

    /// Count the calls that broke the contract (the mock refused them)
    /// instead of those that kept it: a test that the client's invalid
    /// call was caught.
    pub fn refused(mut self) -> Self {
        self.0.refused = true;
        self
    }

    /// The last count given is the one that holds.
    fn counted(mut self, count: Option<u64>, at_least: Option<u64>, at_most: Option<u64>) -> Self {
        (self.0.count, self.0.at_least, self.0.at_most) = (count, at_least, at_most);
        self
    }

    /// Checks the expectation against the journal, in `session` or in all.
    pub(super) fn check(self, app: &App, session: Option<&str>) -> Result<(), VerificationError> {
        let mut verification = self.0;
        verification.session = session.map(str::to_string);
        let verdict = crate::admin::verify::verdict(app, &verification)
            .map_err(|problem| VerificationError::new(problem.detail))?;
        match verdict.verified {
            true => Ok(()),
            false => Err(VerificationError::new(explained(&verdict))),
        }
    }
}

/// The 417's explanation, then the closest calls with how each differs.
fn explained(verdict: &Verdict) -> String {
    let mut text = verdict.explanation();
    if !verdict.closest.is_empty() {
        text.push_str("\nclosest calls:");
    }
    for near in &verdict.closest {
        let call = super::request::ReceivedRequest::new(near.entry.clone());
        text.push_str(&format!("\n  {call}: {}", near.differences.join("; ")));
    }
    text
}
