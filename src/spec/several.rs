//! Several specs served as one: their operations side by side, each routed
//! under its own spec's base paths. A request must find one operation and a
//! scenario rule must name one, so two specs may not claim the same path and
//! method, nor the same operationId.

use std::collections::HashMap;

use http::Method;

use super::{route, Operation, Origin, Spec};
use crate::diagnostic::{Diagnostic, Position};
use crate::locate::Locations;

/// The specs, loaded each on its own, as the one `Spec` the engine serves;
/// one spec is returned as it is.
pub fn combine(specs: Vec<Spec>) -> Result<Spec, Diagnostic> {
    let mut specs = specs.into_iter();
    let Some(mut combined) = specs.next() else {
        return Err(Diagnostic::in_file("--spec", "expected at least one spec"));
    };
    for spec in specs {
        let offset = combined.documents.len();
        if let Some(twin) = combined.documents.iter().find(|d| d.stem == spec.documents[0].stem) {
            return Err(Diagnostic::in_file(
                &spec.file,
                format!(
                    "this spec and {} share the name `{}` that scenario rules call them by (`{}:operationId`): rename one file",
                    twin.file, twin.stem, twin.stem
                ),
            ));
        }
        combined.documents.extend(spec.documents);
        combined
            .operations
            .extend(spec.operations.into_iter().map(|mut operation| {
                operation.origin.document += offset;
                operation
            }));
        for file in spec.referenced {
            if !combined.referenced.contains(&file) {
                combined.referenced.push(file);
            }
        }
        combined.webhooks.extend(spec.webhooks);
        combined.warnings.extend(spec.warnings);
    }
    check_claims(&combined)?;
    combined.router = route(&combined.documents, &combined.operations);
    Ok(combined)
}

/// No two specs claim one operationId, or one path and method under their
/// base paths.
fn check_claims(spec: &Spec) -> Result<(), Diagnostic> {
    let mut ids: HashMap<&str, &Operation> = HashMap::new();
    let mut routes: HashMap<(&Method, String), &Operation> = HashMap::new();
    for operation in &spec.operations {
        if let Some(first) = ids.insert(&operation.id, operation) {
            return Err(claimed_twice(
                first,
                operation,
                "/operationId",
                format!("operationId `{}` is declared by two specs", operation.id),
            ));
        }
        for base in claimed_bases(&spec.document_of(operation).base_paths) {
            let sent = (&operation.method, shape(&format!("{base}{}", operation.path)));
            match routes.get(&sent) {
                Some(first) if first.origin.document != operation.origin.document => {
                    return Err(claimed_twice(
                        first,
                        operation,
                        "",
                        format!(
                            "`{} {}` is declared by two specs (a request must find one operation)",
                            operation.method, sent.1
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    routes.insert(sent, operation);
                }
            }
        }
    }
    Ok(())
}

/// Where a spec's paths are claimed: under each of its base paths, or at
/// the root when it has none. (Its paths answer without the base path too,
/// as with one spec; where only that way two specs' paths meet, the first
/// spec named answers.)
fn claimed_bases(base_paths: &[String]) -> Vec<&str> {
    let bases: Vec<&str> = base_paths
        .iter()
        .map(String::as_str)
        .filter(|b| !b.is_empty())
        .collect();
    match bases.is_empty() {
        true => vec![""],
        false => bases,
    }
}

/// A path template with its parameters' names dropped: `/a/{id}` and
/// `/a/{name}` take the same requests.
fn shape(template: &str) -> String {
    let mut shaped = String::with_capacity(template.len());
    let mut in_parameter = false;
    for c in template.trim_end_matches('/').chars() {
        match c {
            '{' => in_parameter = true,
            '}' => {
                in_parameter = false;
                shaped.push_str("{}");
            }
            _ if !in_parameter => shaped.push(c),
            _ => {}
        }
    }
    shaped
}

/// A diagnostic at the second claim (the operation's `member`, or the
/// operation) that names where the first is.
fn claimed_twice(first: &Operation, second: &Operation, member: &str, message: String) -> Diagnostic {
    let first = where_of(&located(&first.origin, member, String::new()));
    located(&second.origin, member, format!("{message}; also declared at {first}"))
}

/// The operation (or its `member`), at its line and column when its file reads.
fn located(origin: &Origin, member: &str, message: String) -> Diagnostic {
    let pointer = format!("{}{member}", origin.pointer);
    let diagnostic = Diagnostic::at_pointer(origin.file.as_ref(), pointer, message);
    match std::fs::read_to_string(origin.file.as_ref()) {
        Ok(text) => Locations::of_yaml(&text).locate(diagnostic),
        Err(_) => diagnostic,
    }
}

/// `file:line:column` (or `file#pointer`), without the message.
fn where_of(diagnostic: &Diagnostic) -> String {
    match &diagnostic.position {
        Position::LineColumn { line, column } => format!("{}:{line}:{column}", diagnostic.file),
        Position::Pointer(pointer) => format!("{}#{pointer}", diagnostic.file),
        Position::File => diagnostic.file.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_names_do_not_tell_templates_apart() {
        assert_eq!(shape("/a/{id}/b"), shape("/a/{name}/b"));
        assert_eq!(shape("/a/{id}.json"), "/a/{}.json");
        assert_ne!(shape("/a/{id}"), shape("/a/b"));
    }
}
