//! `POST /__mock/verify`: an expectation checked against the journal.

use serde_json::{json, Value};

use super::operation_named;
use crate::app::App;
use crate::expected_calls::{verify, CallCount, Verdict, Verification};
use crate::journal::Filter;
use crate::problem::Problem;

/// 200 with the matches, or 417 explaining what came instead.
pub(super) fn answer(app: &App, body: &[u8]) -> Result<Value, Problem> {
    let verification: Verification = serde_json::from_slice(body).map_err(|e| {
        Problem::admin_bad_request(&format!(
            "expected {{\"operation\": ID, \"session\"?, \"body\"?, \"status\"?, \"refused\"?, \"count\" or \"at_least\" and/or \"at_most\"}}: {e}"
        ))
    })?;
    let verdict = verdict(app, &verification)?;
    let mut value = json!(verdict);
    value["journal_rolled_off"] = json!(app.journal().has_rolled_off());
    if verdict.verified {
        return Ok(value);
    }
    let Value::Object(extra) = value else {
        return Ok(value);
    };
    Err(Problem::verification_failed(&verdict, extra))
}

/// The verdict of `verification` on the journal as it stands, or the
/// problem with the verification itself (an unknown operation, two counts):
/// what the admin API answers and what a library test's `verify` returns.
pub(crate) fn verdict(app: &App, verification: &Verification) -> Result<Verdict, Problem> {
    let expectation = CallCount::of(verification).map_err(|e| Problem::admin_bad_request(&e))?;
    let operation = operation_named(app, &verification.operation)?;
    let entries = app.journal().entries(&Filter::default());
    Ok(verify(verification, &operation, expectation, &entries))
}
