//! The report as one JUnit suite: a test case per checked input and per
//! coverage pair. A case fails with its problems, and with its warnings
//! under `--strict` (so an unreached status fails only then).

use super::report::{CheckReport, Finding, Subject};
use crate::junit::{Case, Suite};
use crate::spec::qualified_name;

pub const SUITE: &str = "specmock check";

pub(super) fn suite(report: &CheckReport) -> Suite {
    let inputs = report.inputs.iter().map(|input| {
        let subject = Subject::Input(input.label.clone());
        case(report, &subject, input.kind.as_str(), &input.label, None)
    });
    let pairs = report.coverage.iter().map(|pair| {
        let name = format!(
            "{} {}",
            qualified_name(pair.spec.as_deref(), &pair.operation),
            pair.status
        );
        let reached = (!pair.reached_by.is_empty()).then(|| format!("reached by: {}", pair.reached_by.join(", ")));
        case(report, &pair.subject(), "coverage", &name, reached)
    });
    Suite {
        name: SUITE.to_string(),
        cases: inputs.chain(pairs).collect(),
    }
}

fn case(report: &CheckReport, subject: &Subject, classname: &str, name: &str, note: Option<String>) -> Case {
    let strict = report.strict;
    let (problems, warnings) = report.about(subject);
    let failing: Vec<&Finding> = match strict {
        true => problems.iter().chain(&warnings).copied().collect(),
        false => problems,
    };
    let mut case = match failing.as_slice() {
        [] => Case::passed(classname, name),
        [first, rest @ ..] => {
            let more = match rest.len() {
                0 => String::new(),
                n => format!(" (and {n} more)"),
            };
            let message = format!("{}{more}", first.message);
            Case::failed(classname, name, message, lines(failing.iter().copied()))
        }
    };
    // What does not fail the case is still shown beside it.
    let shown: Vec<String> = note
        .into_iter()
        .chain((!strict && !warnings.is_empty()).then(|| lines(warnings.iter().copied())))
        .collect();
    if !shown.is_empty() {
        case.output = Some(shown.join("\n"));
    }
    case
}

fn lines<'a>(findings: impl Iterator<Item = &'a Finding>) -> String {
    findings.map(ToString::to_string).collect::<Vec<_>>().join("\n")
}
