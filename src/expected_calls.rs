//! Verifications against the journal: did the client make the calls it
//! should have, as often as it should have? Only calls the mock answered as
//! the contract allows count, unless the verification asks for the others;
//! those it did not count are listed beside the verdict. A failed one
//! explains itself with the closest calls that were made instead.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diagnostic::escape_pointer_token;
use crate::journal::{Entry, EntryKind};
use crate::json_subset::contains;
use crate::validate::Violation;

/// Closest calls listed when a verification fails, and refused calls
/// spelled out in its explanation.
const CLOSEST: usize = 5;

/// `POST /__mock/verify`: which calls, and how many of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    /// An operationId (or `METHOD /path`, resolved by the caller).
    pub operation: String,
    pub session: Option<String>,
    /// The request body contains this (objects by subset).
    pub body: Option<Value>,
    /// Answered with this status.
    pub status: Option<u16>,
    /// Count the calls that broke the contract (refused, or served anyway
    /// under `--lenient`) instead of those that kept it.
    #[serde(default)]
    pub refused: bool,
    pub count: Option<u64>,
    pub at_least: Option<u64>,
    pub at_most: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallCount {
    Exactly(u64),
    AtLeast(u64),
    AtMost(u64),
    /// From `min` to `max` calls, both included; `min <= max`.
    Between(u64, u64),
}

impl CallCount {
    /// `count` alone, or `at_least` and `at_most` alone or together (a
    /// range); none means "at least once".
    pub fn of(verification: &Verification) -> Result<Self, String> {
        match (verification.count, verification.at_least, verification.at_most) {
            (None, None, None) => Ok(CallCount::AtLeast(1)),
            (Some(n), None, None) => Ok(CallCount::Exactly(n)),
            (None, Some(n), None) => Ok(CallCount::AtLeast(n)),
            (None, None, Some(n)) => Ok(CallCount::AtMost(n)),
            (None, Some(min), Some(max)) if min <= max => Ok(CallCount::Between(min, max)),
            (None, Some(min), Some(max)) => Err(format!(
                "`at_least` ({min}) is greater than `at_most` ({max}): no number of calls is both"
            )),
            (Some(_), _, _) => Err("give either `count` or `at_least` and/or `at_most`, not both".into()),
        }
    }

    fn holds(self, matched: u64) -> bool {
        match self {
            CallCount::Exactly(n) => matched == n,
            CallCount::AtLeast(n) => matched >= n,
            CallCount::AtMost(n) => matched <= n,
            CallCount::Between(min, max) => (min..=max).contains(&matched),
        }
    }
}

impl std::fmt::Display for CallCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let calls = |n: u64| if n == 1 { "call" } else { "calls" };
        match *self {
            CallCount::Exactly(n) => write!(f, "exactly {n} {}", calls(n)),
            CallCount::AtLeast(n) => write!(f, "at least {n} {}", calls(n)),
            CallCount::AtMost(n) => write!(f, "at most {n} {}", calls(n)),
            CallCount::Between(min, max) => write!(f, "between {min} and {max} {}", calls(max)),
        }
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
    /// Unless the verification counts refused calls: the calls that would
    /// match but broke the contract, which do not count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<usize>,
    /// Those calls, each with its violations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused_entries: Option<Vec<Arc<Entry>>>,
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
pub fn verify(verification: &Verification, operation: &str, expectation: CallCount, entries: &[Arc<Entry>]) -> Verdict {
    let requests: Vec<&Arc<Entry>> = entries.iter().filter(|e| e.record.kind == EntryKind::Request).collect();
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
            ..verification.clone()
        };
        requests
            .iter()
            .filter(|e| *e.record.session != **session && differences_of(&any_session, operation, e).is_empty())
            .count()
    });
    let refused_entries = (!verification.refused).then(|| {
        requests
            .iter()
            .filter(|e| not_counted(e) && differences_but_the_contract(verification, operation, e).is_empty())
            .map(|e| Arc::clone(e))
            .collect::<Vec<_>>()
    });
    let mut subject = format!("{expectation} of `{operation}`");
    if let Some(session) = &verification.session {
        subject.push_str(&format!(" in session `{session}`"));
    }
    if let Some(body) = &verification.body {
        subject.push_str(&format!(" with a body containing {body}"));
    }
    if let Some(status) = verification.status {
        subject.push_str(&format!(" answered {status}"));
    }
    if verification.refused {
        subject.push_str(" that the mock refused or that broke the contract");
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
                .is_some_and(|s| **s != *entry.record.session)
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
        refused: refused_entries.as_ref().map(Vec::len),
        refused_entries,
        closest,
    }
}

impl Verdict {
    /// The verdict in one sentence: what was expected, what matched, where
    /// else matching calls went, and each refused call with its violations.
    pub fn explanation(&self) -> String {
        let mut text = format!("expected {}; {} matched", self.expected, self.matched);
        if let Some(elsewhere) = self.in_other_sessions.filter(|n| *n > 0) {
            text.push_str(&format!(
                " ({elsewhere} would match in other sessions: check the client's X-Mock-Session)"
            ));
        }
        if let Some(refused) = self.refused_entries.as_ref().filter(|r| !r.is_empty()) {
            let listed: Vec<String> = refused.iter().take(CLOSEST).map(|e| refusal(e)).collect();
            text.push_str(&format!("; refused: {} ({})", refused.len(), listed.join("; ")));
            if refused.len() > CLOSEST {
                text.push_str(&format!(" and {} more", refused.len() - CLOSEST));
            }
        }
        text
    }
}

/// Refused by the mock, or served despite violations under `--lenient`:
/// not what a verification counts unless it asks for such calls.
fn not_counted(entry: &Entry) -> bool {
    entry.record.refused || client_violations(entry).next().is_some()
}

/// The violations of the client's request; those of an answer relayed
/// from `--upstream` are the provider's, and do not make the call refused.
fn client_violations(entry: &Entry) -> impl Iterator<Item = &Violation> {
    entry.record.violations.iter().filter(|v| v.side.is_client())
}

/// `request #3 answered 400: /body/id (required): ...`, or `request #4
/// answered 426 with a problem of its own` when no violation says why.
fn refusal(entry: &Entry) -> String {
    let answered = format!("request #{} answered {}", entry.id, entry.record.status);
    let violations: Vec<String> = client_violations(entry).map(ToString::to_string).collect();
    if violations.is_empty() {
        return format!("{answered} with a problem of its own");
    }
    format!("{answered}: {}", violations.join(", "))
}

/// How a journal entry differs from what the verification asks for; empty: it matches.
fn differences_of(verification: &Verification, operation: &str, entry: &Entry) -> Vec<String> {
    let mut found = differences_but_the_contract(verification, operation, entry);
    match (verification.refused, not_counted(entry)) {
        (false, true) => {
            let pointers: Vec<&str> = client_violations(entry).map(|v| v.pointer.as_str()).collect();
            let why = if pointers.is_empty() {
                "with a problem of its own".to_string()
            } else {
                format!("for breaking the contract ({})", pointers.join(", "))
            };
            found.push(format!(
                "refused: answered {} {why}; such calls count with \"refused\": true",
                entry.record.status
            ));
        }
        (true, false) => found.push(format!(
            "refused: expected a call the mock refused or that broke the contract, this one kept it (answered {})",
            entry.record.status
        )),
        _ => {}
    }
    found
}

/// How an entry differs in operation, session, status and body.
fn differences_but_the_contract(verification: &Verification, operation: &str, entry: &Entry) -> Vec<String> {
    let mut found = Vec::new();
    let called = entry.record.operation.as_deref().unwrap_or("no operation");
    if called != operation {
        found.push(format!(
            "operation: expected `{operation}`, received `{called}` ({} {})",
            entry.record.method, entry.record.target
        ));
    }
    if let Some(session) = &verification.session {
        if **session != *entry.record.session {
            found.push(format!(
                "session: expected `{session}`, received `{}`",
                entry.record.session
            ));
        }
    }
    if let Some(status) = verification.status {
        if status != entry.record.status {
            found.push(format!("status: expected {status}, received {}", entry.record.status));
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
    use crate::validate::Violation;
    use bytes::Bytes;
    use serde_json::json;
    use std::time::{Duration, SystemTime};

    fn entry(id: u64, session: &str, operation: &str, body: Value) -> Arc<Entry> {
        Arc::new(Entry {
            id,
            at: SystemTime::UNIX_EPOCH,
            record: Record {
                kind: EntryKind::Request,
                session: session.into(),
                method: "POST".into(),
                target: "/user/update/vanity".into(),
                operation: Some(operation.into()),
                rule: None,
                status: 200,
                refused: false,
                latency: Duration::from_micros(1),
                violations: Vec::new(),
                body: Some(Bytes::from(body.to_string())),
                response: None,
                response_content_type: None,
                origin: None,
                note: None,
            },
            response_dropped: false,
            cut: Default::default(),
        })
    }

    /// A call the mock refused: 400, with a violation.
    fn refused(id: u64, session: &str, body: Value) -> Arc<Entry> {
        let mut refused = Arc::unwrap_or_clone(entry(id, session, "vanity", body));
        refused.record.status = 400;
        refused.record.refused = true;
        refused.record.violations = vec![Violation::new("/body/id", "required", "`id` is missing")];
        Arc::new(refused)
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
        let verdict = verify(&check, "vanity", CallCount::of(&check).unwrap(), &entries);
        assert!(verdict.verified);
        assert_eq!(verdict.matched, 1);
        let exactly_two = verification(json!({"operation": "vanity", "count": 2}));
        let verdict = verify(&exactly_two, "vanity", CallCount::of(&exactly_two).unwrap(), &entries);
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
        let verdict = verify(&check, "vanity", CallCount::AtLeast(1), &entries);
        assert!(!verdict.verified);
        assert_eq!(verdict.closest[0].entry.id, 2);
        assert_eq!(
            verdict.closest[0].differences,
            vec![r#"/body/vanityname: expected "mark", received "ada""#]
        );
        assert!(verdict.closest[1].differences[0].starts_with("operation: expected `vanity`"));
    }

    #[test]
    fn refused_calls_are_listed_not_counted_unless_asked_for() {
        let entries = vec![
            entry(1, "a", "vanity", json!({"vanityname": "mark"})),
            refused(2, "a", json!({"vanityname": "mark"})),
            refused(3, "a", json!({"vanityname": "ada"})),
        ];
        let check = verification(json!({"operation": "vanity", "body": {"vanityname": "mark"}, "count": 1}));
        let verdict = verify(&check, "vanity", CallCount::of(&check).unwrap(), &entries);
        assert!(verdict.verified);
        assert_eq!(verdict.refused, Some(1));
        let listed: Vec<u64> = verdict.refused_entries.iter().flatten().map(|e| e.id).collect();
        assert_eq!(listed, vec![2], "the call with another body is not listed");
        assert_eq!(
            verdict.explanation(),
            "expected exactly 1 call of `vanity` with a body containing {\"vanityname\":\"mark\"}; 1 matched; \
             refused: 1 (request #2 answered 400: /body/id (required): `id` is missing)"
        );

        let refused_only = verification(json!({"operation": "vanity", "refused": true}));
        let verdict = verify(&refused_only, "vanity", CallCount::AtLeast(1), &entries);
        assert_eq!(verdict.entries.iter().map(|e| e.id).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!((verdict.refused, verdict.refused_entries.is_none()), (None, true));
        assert!(verdict.expected.ends_with("that broke the contract"));
    }

    #[test]
    fn a_refused_call_is_the_closest_and_says_how_to_count_it() {
        let entries = vec![refused(1, "a", json!({"vanityname": "mark"}))];
        let check = verification(json!({"operation": "vanity", "session": "a"}));
        let verdict = verify(&check, "vanity", CallCount::AtLeast(1), &entries);
        assert!(!verdict.verified);
        assert_eq!(
            verdict.closest[0].differences,
            vec![
                r#"refused: answered 400 for breaking the contract (/body/id); such calls count with "refused": true"#
            ]
        );
    }

    #[test]
    fn a_refusal_without_violations_is_not_counted_either() {
        let mut unknown_scenario = Arc::unwrap_or_clone(entry(1, "a", "vanity", json!({})));
        unknown_scenario.record.status = 400;
        unknown_scenario.record.refused = true;
        let entries = vec![Arc::new(unknown_scenario)];
        let check = verification(json!({"operation": "vanity", "count": 1}));
        let verdict = verify(&check, "vanity", CallCount::of(&check).unwrap(), &entries);
        assert!(!verdict.verified);
        assert_eq!(verdict.refused, Some(1));
        assert!(
            verdict
                .explanation()
                .ends_with("refused: 1 (request #1 answered 400 with a problem of its own)"),
            "{}",
            verdict.explanation()
        );
        assert_eq!(
            verdict.closest[0].differences,
            vec![r#"refused: answered 400 with a problem of its own; such calls count with "refused": true"#]
        );
        let counted = verification(json!({"operation": "vanity", "refused": true, "count": 1}));
        assert!(verify(&counted, "vanity", CallCount::of(&counted).unwrap(), &entries).verified);
    }

    #[test]
    fn status_narrows_the_match() {
        let entries = vec![entry(1, "a", "vanity", json!({})), refused(2, "a", json!({}))];
        let check = verification(json!({"operation": "vanity", "status": 409}));
        let verdict = verify(&check, "vanity", CallCount::AtLeast(1), &entries);
        assert_eq!(
            (verdict.matched, verdict.refused),
            (0, Some(0)),
            "a refused 400 is not a 409 either"
        );
        assert_eq!(
            verdict.closest[0].differences,
            vec!["status: expected 409, received 200"]
        );
        assert!(verdict.expected.ends_with("answered 409"));
        let ok = verification(json!({"operation": "vanity", "status": 200}));
        assert!(verify(&ok, "vanity", CallCount::Exactly(1), &entries).verified);
    }

    #[test]
    fn a_count_excludes_bounds_and_two_bounds_make_a_range() {
        let both = verification(json!({"operation": "x", "count": 1, "at_most": 2}));
        assert!(CallCount::of(&both).unwrap_err().contains("either `count` or"));
        assert_eq!(CallCount::AtLeast(1).to_string(), "at least 1 call");
        assert_eq!(CallCount::Exactly(0).to_string(), "exactly 0 calls");

        let range = verification(json!({"operation": "x", "at_least": 1, "at_most": 3}));
        let range = CallCount::of(&range).unwrap();
        assert_eq!(range, CallCount::Between(1, 3));
        assert_eq!(range.to_string(), "between 1 and 3 calls");
        let holds: Vec<bool> = (0..5).map(|n| range.holds(n)).collect();
        assert_eq!(holds, [false, true, true, true, false]);
        assert!(CallCount::Between(2, 2).holds(2));

        let empty = verification(json!({"operation": "x", "at_least": 3, "at_most": 1}));
        assert_eq!(
            CallCount::of(&empty).unwrap_err(),
            "`at_least` (3) is greater than `at_most` (1): no number of calls is both"
        );
    }
}
