//! Fixtures, each on its own: it must parse, and one named after a response
//! (`OPERATION_ID.json`, `OPERATION_ID.STATUS.json`) must match that
//! response's schema — the mock refuses to start otherwise.

use std::collections::HashMap;

use crate::diagnostic::Diagnostic;
use crate::fixtures::Fixtures;
use crate::locate::Locations;
use crate::render::{fixture_names, mismatch, preferred_media};
use crate::spec::{Operation, ResponseSpec, Spec};
use crate::validate::schema_violations;

pub(super) struct FixtureCheck {
    /// Every fixture that parses: what scenarios may name.
    pub parsed: Fixtures,
    /// Those that also match the response they are named after: what the
    /// mock sends by default.
    pub served: Fixtures,
    /// `(name, label)` of the parsed fixtures named after no response:
    /// unused unless a scenario names them.
    pub unnamed: Vec<(String, String)>,
    pub problems: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

/// Checks `(name, label, text)` files against `spec`.
pub(super) fn check(files: Vec<(String, String, String)>, spec: &Spec) -> FixtureCheck {
    let responses = named_responses(spec);
    let (mut parsed, mut served, mut unnamed) = (Vec::new(), Vec::new(), Vec::new());
    let (mut problems, mut warnings) = (Vec::new(), Vec::new());
    for file in files {
        let (name, label, text) = &file;
        let single = match Fixtures::from_files(vec![file.clone()]) {
            Ok(single) => single,
            Err(diagnostic) => {
                problems.push(diagnostic);
                continue;
            }
        };
        let mut sent = true;
        match (single.get(name), responses.get(name.as_str())) {
            (Some(fixture), Some((operation, response))) => match preferred_media(&response.content) {
                None => warnings.push(Diagnostic::in_file(
                    label,
                    format!(
                        "`{}` {} declares no content, so this fixture is never sent",
                        operation.id, response.status
                    ),
                )),
                Some(media) => {
                    let value = fixture.content.to_value();
                    if let Some(problem) = mismatch(media, &value) {
                        // Located at the first violation; `mismatch` lists them all.
                        let pointer = media
                            .schema
                            .as_ref()
                            .and_then(|schema| schema_violations(schema, &value, "").into_iter().next())
                            .map(|violation| violation.pointer)
                            .unwrap_or_default();
                        let message = format!(
                            "does not match the response schema of `{}` {}: {problem}",
                            operation.id, response.status
                        );
                        problems.push(Locations::of_yaml(text).locate(Diagnostic::at_pointer(label, pointer, message)));
                        sent = false;
                    }
                }
            },
            _ => unnamed.push((name.clone(), label.clone())),
        }
        if sent {
            served.push(file.clone());
        }
        parsed.push(file);
    }
    FixtureCheck {
        // Each file parsed on its own above, so together they do too.
        parsed: Fixtures::from_files(parsed).unwrap_or_default(),
        served: Fixtures::from_files(served).unwrap_or_default(),
        unnamed,
        problems,
        warnings,
    }
}

/// Fixture name -> the response a fixture of that name is the body of.
fn named_responses(spec: &Spec) -> HashMap<String, (&Operation, &ResponseSpec)> {
    let mut named = HashMap::new();
    for operation in &spec.operations {
        let default = operation.default_response().map(|response| response.status);
        for response in &operation.responses {
            for name in fixture_names(operation, response, default == Some(response.status)) {
                named.insert(name, (operation, response));
            }
        }
    }
    named
}
