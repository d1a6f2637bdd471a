//! The spec's consistency beyond what loading it refuses: operations without
//! an operationId (a warning: the mock names them `METHOD /path`) and
//! examples that do not match their schema (the mock skips those with a
//! warning; here each is a problem at its position).

use super::positions::SpecPositions;
use super::report::{Finding, Subject};
use crate::render::mismatch;
use crate::spec::source::RefTarget;
use crate::spec::{MediaSpec, Spec};

#[derive(Debug, Default)]
pub(super) struct Lint {
    pub problems: Vec<Finding>,
    pub warnings: Vec<Finding>,
}

/// Lints `spec`, and removes the response examples found broken: the
/// responder would skip each with a warning that repeats the problem.
pub(super) fn lint(spec: &mut Spec, positions: &mut SpecPositions, subject: &Subject) -> Lint {
    let mut lint = Lint::default();
    // (operation, response, media type, example) of each broken response example.
    let mut broken = Vec::new();
    for (o, operation) in spec.operations.iter().enumerate() {
        if operation.id == format!("{} {}", operation.method, operation.path) {
            let target = positions.operation(operation);
            let message = format!(
                "no operationId: the mock calls this operation `{}`, and scenarios must name it so",
                operation.id
            );
            lint.warnings.push(positions.finding(subject.clone(), target, message));
        }
        if let Some(body) = &operation.request_body {
            let holder = positions.request_body(operation);
            for media in &body.content {
                for (name, problem) in broken_examples(media) {
                    let what = format!("request body {} of `{}`", example_name(name), operation.id);
                    lint.problems.push(example_problem(
                        positions,
                        subject,
                        holder.as_ref(),
                        media,
                        name,
                        &what,
                        &problem,
                    ));
                }
            }
        }
        for (r, response) in operation.responses.iter().enumerate() {
            let holder = positions.response(operation, response.status);
            for (m, media) in response.content.iter().enumerate() {
                for (name, problem) in broken_examples(media) {
                    let what = format!("{} of `{}` {}", example_name(name), operation.id, response.status);
                    lint.problems.push(example_problem(
                        positions,
                        subject,
                        holder.as_ref(),
                        media,
                        name,
                        &what,
                        &problem,
                    ));
                    broken.push((o, r, m, name.to_string()));
                }
            }
        }
    }
    for (o, r, m, name) in broken {
        if let Some(media) = spec
            .operations
            .get_mut(o)
            .and_then(|operation| operation.responses.get_mut(r))
            .and_then(|response| response.content.get_mut(m))
        {
            media.examples.retain(|(example, _)| *example != name);
        }
    }
    lint
}

/// The examples of `media` that break its schema, with what is wrong.
fn broken_examples(media: &MediaSpec) -> Vec<(&str, String)> {
    media
        .examples
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), mismatch(media, value)?)))
        .collect()
}

/// The model names a media type's single `example` "example".
fn example_name(name: &str) -> String {
    match name {
        "example" => "`example`".to_string(),
        name => format!("example `{name}`"),
    }
}

fn example_problem(
    positions: &mut SpecPositions,
    subject: &Subject,
    holder: Option<&RefTarget>,
    media: &MediaSpec,
    name: &str,
    what: &str,
    problem: &str,
) -> Finding {
    let target = holder.and_then(|holder| positions.example(holder, &media.media_type, name));
    let message = format!("{what} ({}) does not match its schema: {problem}", media.media_type);
    positions.finding(subject.clone(), target, message)
}
