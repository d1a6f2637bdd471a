//! Expectations about the calls a client made, checked against the
//! journal by the same verification `POST /__mock/verify` runs.

use serde_json::Value;

use crate::app::App;
use crate::expected_calls::{Verdict, Verification};

use super::error::VerificationError;

/// Which calls a client should have made, and how many: what
/// `POST /__mock/verify` takes, built in Rust. Without a count, at least
/// one call is expected; a count is exact ([`times`](Self::times),
/// [`never`](Self::never)) or bounded ([`at_least`](Self::at_least),
/// [`at_most`](Self::at_most), or both for a range), never both kinds. Only calls the mock answered as the contract
/// allows count, unless [`refused`](Self::refused) asks for the others.
///
/// ```
/// use specmock::{Expectation, MockServer};
///
/// let mock = MockServer::builder().start_blocking()?;
/// let session = mock.session("t1");
/// // ... the client under test made no call ...
/// let twice = Expectation::operation("user-update-vanity").times(2);
/// let error = session.verify(twice).unwrap_err();
/// assert!(error.to_string().starts_with("expected exactly 2 calls of `user-update-vanity` in session `t1`; 0 matched"));
///
/// let none_refused = Expectation::operation("POST /user/update").refused().never();
/// session.verify(none_refused)?;
/// let one_to_three = Expectation::operation("user-update-vanity").at_least(1).at_most(3);
/// assert!(session.verify(one_to_three).is_err());
/// let renamed = Expectation::operation("user-update-vanity")
///     .with_body(serde_json::json!({"vanityname": "mark"}))
///     .with_status(200);
/// let error = mock.verify(renamed).unwrap_err();
/// assert!(error.to_string().contains(r#"with a body containing {"vanityname":"mark"} answered 200"#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
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

    /// Exactly `n` calls. A count excludes bounds: with
    /// [`at_least`](Self::at_least) or [`at_most`](Self::at_most) too,
    /// `verify` returns an error saying so (whatever the calls). Given
    /// twice, the last `n` holds.
    pub fn times(mut self, n: u64) -> Self {
        self.0.count = Some(n);
        self
    }

    /// `n` calls or more. With [`at_most`](Self::at_most), a range:
    /// `.at_least(1).at_most(3)` is between 1 and 3 calls (`verify` returns
    /// an error if the least is above the most). Not with
    /// [`times`](Self::times) or [`never`](Self::never): see there. Given
    /// twice, the last `n` holds.
    pub fn at_least(mut self, n: u64) -> Self {
        self.0.at_least = Some(n);
        self
    }

    /// `n` calls or fewer. With [`at_least`](Self::at_least), a range (see
    /// there); not with [`times`](Self::times) or [`never`](Self::never).
    /// Given twice, the last `n` holds.
    pub fn at_most(mut self, n: u64) -> Self {
        self.0.at_most = Some(n);
        self
    }

    /// No call at all: `times(0)`, and like it not to be combined with
    /// [`at_least`](Self::at_least) or [`at_most`](Self::at_most).
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

    /// Checks the expectation against the journal, in `session` or in all.
    pub(super) fn check(self, app: &App, session: Option<&str>) -> Result<(), VerificationError> {
        let mut verification = self.0;
        verification.session = session.map(str::to_string);
        let verdict = crate::admin::verify::verdict(app, &verification)
            .map_err(|problem| VerificationError::new(problem.detail))?;
        if verdict.verified {
            return Ok(());
        }
        let mut explanation = explained(&verdict);
        // What the admin API's `journal_rolled_off` says beside its verdict.
        if app.journal().has_rolled_off() {
            explanation.push_str(ROLLED_OFF);
        }
        Err(VerificationError::new(explanation))
    }
}

/// Why a call may be missing from the count.
const ROLLED_OFF: &str = "\nthe journal no longer holds the oldest requests (more came than it keeps): \
                          calls among them were not counted";

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
