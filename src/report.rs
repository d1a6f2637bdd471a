//! The report `serve --report FILE` writes at shutdown: one JUnit test case
//! per operation the clients called, failing with the contract violations
//! among those calls; with `--upstream`, a `provider` suite too, one case
//! per operation the upstream answered, failing with its answers' violations. Built from the run's tallies, which never lose a
//! request: not when entries roll off, nor when a test clears the journal.

use crate::journal::Summary;
use crate::junit::{render, Case, Suite};
use crate::validate::Violation;

/// Requests to paths and methods the spec does not have are filed under this name.
const UNROUTED: &str = "-";

/// With several specs, each case is named `SPEC:operationId` (`spec_of`
/// gives the stem of an operation's spec; `None` with one).
pub fn contract_report<'s>(summary: &Summary, spec_of: impl Fn(&str) -> Option<&'s str>) -> String {
    let case_name = |operation: &String| match spec_of(operation) {
        _ if operation == UNROUTED => "(no operation: path or method not in the spec)".to_string(),
        spec => crate::spec::qualified_name(spec, operation),
    };
    // Several specs: each one's cases together.
    let mut tallies: Vec<_> = summary.tallies.iter().collect();
    tallies.sort_by_key(|(operation, _)| (spec_of(operation), *operation));
    let clients = tallies
        .iter()
        .map(|(operation, tally)| {
            case(
                "specmock.clients",
                &case_name(operation),
                tally.calls,
                tally.violating_calls,
                &tally.samples,
                "calls",
            )
        })
        .collect();
    let mut suites = vec![Suite {
        name: "specmock contract".into(),
        cases: clients,
    }];
    // The upstream's answers, judged apart: a suite only when it answered.
    let relayed: Vec<Case> = tallies
        .iter()
        .filter(|(_, tally)| tally.relayed_answers > 0)
        .map(|(operation, tally)| {
            let (calls, violating) = (tally.relayed_answers, tally.provider_violating_answers);
            case(
                "specmock.provider",
                &case_name(operation),
                calls,
                violating,
                &tally.provider_samples,
                "relayed answers",
            )
        })
        .collect();
    if !relayed.is_empty() {
        suites.push(Suite {
            name: "provider".into(),
            cases: relayed,
        });
    }
    render(&suites)
}

/// One operation's case: passed, or failed with the first violations.
fn case(classname: &str, name: &str, calls: u64, violating: u64, samples: &[(u64, Violation)], what: &str) -> Case {
    if violating == 0 {
        return Case {
            output: Some(format!("{calls} {what}, all within the contract")),
            ..Case::passed(classname, name)
        };
    }
    let mut details: Vec<String> = samples
        .iter()
        .map(|(request, violation)| format!("request #{request}: {violation}"))
        .collect();
    let listed = samples.len() as u64;
    if violating > listed {
        details.push(format!("(the first {listed} violations are listed)"));
    }
    Case::failed(
        classname,
        name,
        format!("{violating} of {calls} {what} broke the contract"),
        details.join("\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{EntryKind, Journal, Record};
    use crate::validate::Violation;
    use std::time::Duration;

    fn call(journal: &Journal, operation: Option<&str>, violations: Vec<Violation>) {
        journal.record(Record {
            kind: EntryKind::Request,
            session: "s".into(),
            method: "POST".into(),
            target: "/x".into(),
            operation: operation.map(str::to_string),
            rule: None,
            status: 200,
            refused: false,
            latency: Duration::ZERO,
            violations,
            body: None,
            response: None,
            response_content_type: None,
            origin: None,
            note: None,
        });
    }

    #[test]
    fn one_case_per_operation_failing_with_its_violations() {
        let journal = Journal::new(1);
        call(
            &journal,
            Some("update-user"),
            vec![Violation::new("/body/id", "type", "expected string")],
        );
        call(&journal, Some("update-user"), Vec::new());
        call(&journal, Some("user-snapshot"), Vec::new());
        call(
            &journal,
            None,
            vec![Violation::new("/path", "route", "no path matches")],
        );
        let xml = contract_report(&journal.run_summary(), |_| None);
        assert!(xml.contains("<testsuites tests=\"3\" failures=\"2\">"), "{xml}");
        assert!(xml.contains("message=\"1 of 2 calls broke the contract\""), "{xml}");
        assert!(xml.contains("request #1: /body/id (type): expected string"), "{xml}");
        assert!(
            xml.contains("name=\"(no operation: path or method not in the spec)\""),
            "{xml}"
        );
    }
}
