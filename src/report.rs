//! The report `serve --report FILE` writes at shutdown: one JUnit test case
//! per operation the clients called, failing with the contract violations
//! among those calls. Built from the run's tallies, which never lose a
//! request: not when entries roll off, nor when a test clears the journal.

use crate::journal::Summary;
use crate::junit::{render, Case, Suite};

/// Requests to paths and methods the spec does not have are filed under this name.
const UNROUTED: &str = "-";

pub fn contract_report(summary: &Summary) -> String {
    let cases = summary
        .tallies
        .iter()
        .map(|(operation, tally)| {
            let name = if operation == UNROUTED {
                "(no operation: path or method not in the spec)"
            } else {
                operation.as_str()
            };
            if tally.violating_calls == 0 {
                return Case {
                    output: Some(format!("{} calls, all within the contract", tally.calls)),
                    ..Case::passed("specmock.clients", name)
                };
            }
            let mut details: Vec<String> = tally
                .samples
                .iter()
                .map(|(request, violation)| format!("request #{request}: {violation}"))
                .collect();
            let listed = tally.samples.len() as u64;
            if tally.violating_calls > listed {
                details.push(format!("(the first {listed} violations are listed)"));
            }
            Case::failed(
                "specmock.clients",
                name,
                format!("{} of {} calls broke the contract", tally.violating_calls, tally.calls),
                details.join("\n"),
            )
        })
        .collect();
    render(&[Suite {
        name: "specmock contract".into(),
        cases,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{Journal, Kind, Record};
    use crate::validate::Violation;
    use std::time::Duration;

    fn call(journal: &Journal, operation: Option<&str>, violations: Vec<Violation>) {
        journal.record(Record {
            kind: Kind::Request,
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
        let xml = contract_report(&journal.run_summary());
        assert!(xml.contains("<testsuites tests=\"3\" failures=\"2\">"), "{xml}");
        assert!(xml.contains("message=\"1 of 2 calls broke the contract\""), "{xml}");
        assert!(xml.contains("request #1: /body/id (type): expected string"), "{xml}");
        assert!(
            xml.contains("name=\"(no operation: path or method not in the spec)\""),
            "{xml}"
        );
    }
}
