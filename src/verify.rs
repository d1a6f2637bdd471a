//! Verifications against the journal: did the client make the calls it
//! should have, as often as it should have? A failed one explains itself
//! with the closest calls that were made instead.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diagnostic::escape_pointer_token;
use crate::journal::{Entry, Kind};
use crate::scenario::engine::contains;

/// Closest calls listed when a verification fails.
const CLOSEST: usize = 5;

/// `POST /__mock/verify`: which calls, and how many of them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    /// An operationId (or `METHOD /path`, resolved by the caller).
    pub operation: String,
    pub session: Option<String>,
    /// The request body contains this (objects by subset).
    pub body: Option<Value>,
    pub count: Option<u64>,
    pub at_least: Option<u64>,
    pub at_most: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    Exactly(u64),
    AtLeast(u64),
    AtMost(u64),
}

impl Expectation {
    /// At most one of the three; none means "at least once".
    pub fn of(verification: &Verification) -> Result<Self, String> {
        match (verification.count, verification.at_least, verification.at_most) {
            (None, None, None) => Ok(Expectation::AtLeast(1)),
            (Some(n), None, None) => Ok(Expectation::Exactly(n)),
            (None, Some(n), None) => Ok(Expectation::AtLeast(n)),
            (None, None, Some(n)) => Ok(Expectation::AtMost(n)),
            _ => Err("give at most one of `count`, `at_least`, `at_most`".into()),
        }
    }

    fn holds(self, matched: u64) -> bool {
        match self {
            Expectation::Exactly(n) => matched == n,
            Expectation::AtLeast(n) => matched >= n,
            Expectation::AtMost(n) => matched <= n,
        }
    }
}

impl std::fmt::Display for Expectation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (how, n) = match self {
            Expectation::Exactly(n) => ("exactly", n),
            Expectation::AtLeast(n) => ("at least", n),
            Expectation::AtMost(n) => ("at most", n),
        };
        write!(f, "{how} {n} call{}", if *n == 1 { "" } else { "s" })
    }
}

#[derive(Debug, Serialize)]
pub struct Verdict {
    pub verified: bool,
    /// What was expected, in words.
    pub expected: String,
    pub matched: usize,
    /// Calls that would match but for the session (a client that sent the
    /// wrong `X-Mock-Session`, most often).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_other_sessions: Option<usize>,
    pub entries: Vec<Arc<Entry>>,
    /// When it failed: the calls nearest to what was expected, and how they differ.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub closest: Vec<Near>,
}

#[derive(Debug, Serialize)]
pub struct Near {
    pub entry: Arc<Entry>,
    pub differences: Vec<String>,
}

/// Checks `verification` (its operation already resolved to `operation`)
/// against the journal's `entries`, oldest first.
pub fn verify(
    verification: &Verification,
    operation: &str,
    expectation: Expectation,
    entries: &[Arc<Entry>],
) -> Verdict {
    let requests: Vec<&Arc<Entry>> = entries.iter().filter(|e| e.record.kind == Kind::Request).collect();
    let differences = |entry: &Entry| differences_of(verification, operation, entry);
    let matched: Vec<Arc<Entry>> = requests
        .iter()
        .filter(|e| differences(e).is_empty())
        .map(|e| Arc::clone(e))
        .collect();
    let verified = expectation.holds(matched.len() as u64);
    let in_other_sessions = verification.session.as_ref().map(|session| {
        let any_session = Verification {
            session: None,
            body: verification.body.clone(),
            operation: verification.operation.clone(),
            count: None,
            at_least: None,
            at_most: None,
        };
        requests
            .iter()
            .filter(|e| e.record.session != *session && differences_of(&any_session, operation, e).is_empty())
            .count()
    });
    let mut subject = format!("{expectation} of `{operation}`");
    if let Some(session) = &verification.session {
        subject.push_str(&format!(" in session `{session}`"));
    }
    if let Some(body) = &verification.body {
        subject.push_str(&format!(" with a body containing {body}"));
    }
    let closest = if verified || !matched.is_empty() {
        Vec::new()
    } else {
        let mut near: Vec<Near> = requests
            .iter()
            .map(|e| Near {
                entry: Arc::clone(e),
                differences: differences(e),
            })
            .collect();
        // The session's own calls first (what the client under test sent),
        // of the operation first among them; then the fewest differences;
        // among equals, the most recent.
        let other_session = |entry: &Entry| {
            verification
                .session
                .as_ref()
                .is_some_and(|s| *s != entry.record.session)
        };
        near.sort_by_key(|n| {
            let other_operation = n.entry.record.operation.as_deref() != Some(operation);
            (
                other_session(&n.entry),
                other_operation,
                n.differences.len(),
                std::cmp::Reverse(n.entry.id),
            )
        });
        near.truncate(CLOSEST);
        near
    };
    Verdict {
        verified,
        expected: subject,
        matched: matched.len(),
        in_other_sessions,
        entries: matched,
        closest,
    }
}

/// How a journal entry differs from what the verification asks for; empty: it matches.
fn differences_of(verification: &Verification, operation: &str, entry: &Entry) -> Vec<String> {
    let mut found = Vec::new();
    let called = entry.record.operation.as_deref().unwrap_or("no operation");
    if called != operation {
        found.push(format!(
            "operation: expected `{operation}`, received `{called}` ({} {})",
            entry.record.method, entry.record.target
        ));
    }
    if let Some(session) = &verification.session {
        if *session != entry.record.session {
            found.push(format!(
                "session: expected `{session}`, received `{}`",
                entry.record.session
            ));
        }
    }
    if let Some(expected) = &verification.body {
        match (entry.json(), &entry.record.body) {
            (Some(actual), _) if contains(&actual, expected) => {}
            (Some(actual), _) => body_differences(expected, &actual, "/body", &mut found),
            (None, Some(body)) => found.push(format!(
                "/body: expected JSON containing {expected}, received {} bytes that are not JSON",
                body.len()
            )),
            (None, None) => found.push(format!("/body: expected JSON containing {expected}, received no body")),
        }
    }
    found
}

/// Where `actual` fails to contain `expected`, by pointer.
fn body_differences(expected: &Value, actual: &Value, at: &str, found: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(expected), Value::Object(actual)) => {
            for (key, value) in expected {
                let here = format!("{at}/{}", escape_pointer_token(key));
                match actual.get(key) {
                    Some(actual) => body_differences(value, actual, &here, found),
                    None => found.push(format!("{here}: expected {value}, missing")),
                }
            }
        }
        (Value::Array(expected), Value::Array(actual)) if expected.len() == actual.len() => {
            for (index, (expected, actual)) in expected.iter().zip(actual).enumerate() {
                body_differences(expected, actual, &format!("{at}/{index}"), found);
            }
        }
        _ if contains(actual, expected) => {}
        _ => found.push(format!("{at}: expected {expected}, received {actual}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Record;
    use bytes::Bytes;
    use serde_json::json;
    use std::time::{Duration, SystemTime};

    fn entry(id: u64, session: &str, operation: &str, body: Value) -> Arc<Entry> {
        Arc::new(Entry {
            id,
            at: SystemTime::UNIX_EPOCH,
            record: Record {
                kind: Kind::Request,
                session: session.into(),
                method: "POST".into(),
                target: "/user/update/vanity".into(),
                operation: Some(operation.into()),
                rule: None,
                status: 200,
                latency: Duration::from_micros(1),
                violations: Vec::new(),
                body: Some(Bytes::from(body.to_string())),
            },
        })
    }

    fn verification(value: Value) -> Verification {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn counts_matching_calls() {
        let entries = vec![
            entry(1, "a", "vanity", json!({"vanityname": "mark"})),
            entry(2, "a", "vanity", json!({"vanityname": "ada"})),
            entry(3, "b", "vanity", json!({"vanityname": "mark"})),
        ];
        let check = verification(json!({"operation": "vanity", "session": "a", "body": {"vanityname": "mark"}}));
        let verdict = verify(&check, "vanity", Expectation::of(&check).unwrap(), &entries);
        assert!(verdict.verified);
        assert_eq!(verdict.matched, 1);
        let exactly_two = verification(json!({"operation": "vanity", "count": 2}));
        let verdict = verify(&exactly_two, "vanity", Expectation::of(&exactly_two).unwrap(), &entries);
        assert!(!verdict.verified, "three calls, not two");
        assert!(verdict.closest.is_empty(), "the matches themselves are the evidence");
    }

    #[test]
    fn a_failure_lists_the_closest_calls_and_their_differences() {
        let entries = vec![
            entry(1, "a", "snapshot", json!({})),
            entry(2, "a", "vanity", json!({"vanityname": "ada"})),
        ];
        let check = verification(json!({"operation": "vanity", "session": "a", "body": {"vanityname": "mark"}}));
        let verdict = verify(&check, "vanity", Expectation::AtLeast(1), &entries);
        assert!(!verdict.verified);
        assert_eq!(verdict.closest[0].entry.id, 2);
        assert_eq!(
            verdict.closest[0].differences,
            vec![r#"/body/vanityname: expected "mark", received "ada""#]
        );
        assert!(verdict.closest[1].differences[0].starts_with("operation: expected `vanity`"));
    }

    #[test]
    fn one_expectation_at_most() {
        let both = verification(json!({"operation": "x", "count": 1, "at_most": 2}));
        assert!(Expectation::of(&both).is_err());
        assert_eq!(Expectation::AtLeast(1).to_string(), "at least 1 call");
        assert_eq!(Expectation::Exactly(0).to_string(), "exactly 0 calls");
    }
}
