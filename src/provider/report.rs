//! The verdict per operation: text for people (stdout), JUnit for CI.

use super::conformance::Judgement;
use crate::junit::{Case, Suite};
use crate::spec::qualified_name;

/// What happened to one operation.
#[derive(Debug)]
pub struct OperationResult {
    /// The stem of its spec, when several are served.
    pub spec: Option<String>,
    pub id: String,
    /// `POST /user/update`, as the spec names it.
    pub route: String,
    pub requests: Vec<RequestResult>,
    /// Candidates that were not sent, and why.
    pub notes: Vec<String>,
    pub seconds: f64,
}

#[derive(Debug)]
pub struct RequestResult {
    /// `POST /user/update`, with what the request was built from when the operation got several.
    pub request: String,
    pub judgement: Judgement,
}

impl OperationResult {
    pub fn passed(&self) -> bool {
        !self.requests.is_empty() && self.requests.iter().all(|r| r.judgement.problems.is_empty())
    }

    /// One line each: `POST /user/update -> 200: /body/id: expected string, found integer`.
    pub fn problems(&self) -> Vec<String> {
        if self.requests.is_empty() {
            return vec![format!("{}: no request could be built (see the notes)", self.route)];
        }
        self.requests
            .iter()
            .flat_map(|r| {
                r.judgement
                    .problems
                    .iter()
                    .map(move |problem| format!("{} -> {}: {problem}", r.request, r.judgement.status))
            })
            .collect()
    }

    /// `POST /user/update -> 200, 409`.
    fn answers(&self) -> String {
        let statuses: Vec<&str> = self.requests.iter().map(|r| r.judgement.status.as_str()).collect();
        format!("{} -> {}", self.route, statuses.join(", "))
    }

    /// `PASS id (route -> statuses)`, then the problems and notes, indented.
    pub fn text(&self) -> String {
        let verdict = if self.passed() { "PASS" } else { "FAIL" };
        let mut text = format!("{verdict} {} ({})\n", self.id, self.answers());
        for problem in self.problems() {
            text.push_str(&format!("  {problem}\n"));
        }
        for note in &self.notes {
            text.push_str(&format!("  note: {note}\n"));
        }
        text
    }
}

/// The last line: counts and where.
pub fn summary(results: &[OperationResult], against: &str) -> String {
    let failed = results.iter().filter(|r| !r.passed()).count();
    let requests: usize = results.iter().map(|r| r.requests.len()).sum();
    format!(
        "{} operations, {requests} requests to {against}: {} passed, {failed} failed\n",
        results.len(),
        results.len() - failed
    )
}

/// One suite, one case per operation, classed by the title of its spec
/// (`title_of` its stem); a failure lists its problems.
pub fn junit<'t>(results: &[OperationResult], against: &str, title_of: impl Fn(Option<&str>) -> &'t str) -> Suite {
    let cases = results
        .iter()
        .map(|result| {
            let problems = result.problems();
            let name = qualified_name(result.spec.as_deref(), &result.id);
            let spec_title = title_of(result.spec.as_deref());
            let mut case = match result.passed() {
                true => Case::passed(spec_title, &name),
                false => Case::failed(
                    spec_title,
                    &name,
                    format!(
                        "{} contract problem{}",
                        problems.len(),
                        if problems.len() == 1 { "" } else { "s" }
                    ),
                    problems.join("\n"),
                ),
            };
            case.seconds = result.seconds;
            case.output = Some(
                std::iter::once(result.answers())
                    .chain(result.notes.iter().map(|n| format!("note: {n}")))
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
            case
        })
        .collect();
    Suite {
        name: format!("specmock verify {against}"),
        cases,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(problems: &[&str]) -> OperationResult {
        OperationResult {
            spec: None,
            id: "update-user".into(),
            route: "POST /user/update".into(),
            requests: vec![
                RequestResult {
                    request: "POST /user/update [example `a`]".into(),
                    judgement: Judgement {
                        status: "200".into(),
                        problems: problems.iter().map(|p| p.to_string()).collect(),
                    },
                },
                RequestResult {
                    request: "POST /user/update [example `b`]".into(),
                    judgement: Judgement {
                        status: "409".into(),
                        problems: Vec::new(),
                    },
                },
            ],
            notes: vec!["example `c` is not sent".into()],
            seconds: 0.5,
        }
    }

    #[test]
    fn text_lists_problems_under_the_operation() {
        assert_eq!(
            result(&["/body/id: expected string, found integer"]).text(),
            "FAIL update-user (POST /user/update -> 200, 409)\n  \
             POST /user/update [example `a`] -> 200: /body/id: expected string, found integer\n  \
             note: example `c` is not sent\n"
        );
        assert!(result(&[])
            .text()
            .starts_with("PASS update-user (POST /user/update -> 200, 409)\n"));
        assert_eq!(
            summary(&[result(&["x"]), result(&[])], "http://h:1"),
            "2 operations, 4 requests to http://h:1: 1 passed, 1 failed\n"
        );
    }

    #[test]
    fn junit_has_a_case_per_operation() {
        let xml = crate::junit::render(&[junit(&[result(&["x"]), result(&[])], "http://h:1", |_| "API")]);
        assert!(xml.contains("<testsuite name=\"specmock verify http://h:1\" tests=\"2\" failures=\"1\""));
        assert!(xml.contains("<failure message=\"1 contract problem\" type=\"contract\">POST /user/update [example `a`] -&gt; 200: x</failure>"));
    }
}
