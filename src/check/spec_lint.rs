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
pub(super) fn lint(spec: &mut Spec, positions: &mut SpecPositions) -> Lint {
    let mut lint = Lint::default();
    // (operation, response, media type, example) of each broken response example.
    let mut broken = Vec::new();
    for (o, operation) in spec.operations.iter().enumerate() {
        let subject = &Subject::Input(spec.document_of(operation).file.clone());
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
            let describe = |name: &str| format!("request body {} of `{}`", example_name(name), operation.id);
            let found = broken_examples(positions, subject, holder.as_ref(), &body.content, describe);
            lint.problems.extend(found.into_iter().map(|example| example.finding));
        }
        for (r, response) in operation.responses.iter().enumerate() {
            let holder = positions.response(operation, response.status);
            let describe = |name: &str| format!("{} of `{}` {}", example_name(name), operation.id, response.status);
            for example in broken_examples(positions, subject, holder.as_ref(), &response.content, describe) {
                lint.problems.push(example.finding);
                broken.push((o, r, example.media, example.name));
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

/// An example that breaks its schema: where it is, and the problem found.
struct BrokenExample {
    /// Index of its media type in the content it belongs to.
    media: usize,
    name: String,
    finding: Finding,
}

/// The examples in `content` (a request body's or a response's) that break
/// their schema; `describe` names an example for the message.
fn broken_examples(
    positions: &mut SpecPositions,
    subject: &Subject,
    holder: Option<&RefTarget>,
    content: &[MediaSpec],
    describe: impl Fn(&str) -> String,
) -> Vec<BrokenExample> {
    let mut broken = Vec::new();
    for (index, media) in content.iter().enumerate() {
        for (name, value) in &media.examples {
            let Some(problem) = mismatch(media, value) else {
                continue;
            };
            let target = holder.and_then(|holder| positions.example(holder, &media.media_type, name));
            let message = format!(
                "{} ({}) does not match its schema: {problem}",
                describe(name),
                media.media_type
            );
            broken.push(BrokenExample {
                media: index,
                name: name.clone(),
                finding: positions.finding(subject.clone(), target, message),
            });
        }
    }
    broken
}

/// The model names a media type's single `example` "example".
fn example_name(name: &str) -> String {
    match name {
        "example" => "`example`".to_string(),
        name => format!("example `{name}`"),
    }
}
