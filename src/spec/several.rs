//! Several specs served as one: their operations side by side, each routed
//! under its own spec's base paths. A request must find one operation and a
//! scenario rule must name one, so two specs may not claim the same path and
//! method, nor the same operationId.

use std::collections::HashMap;

use http::Method;

use super::router::Template;
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
    if specs.len() == 0 {
        return Ok(combined);
    }
    for spec in specs {
        let offset = combined.documents.len();
        if let Some(twin) = combined.documents.iter().find(|d| same_file(&d.file, &spec.file)) {
            return Err(Diagnostic::in_file(
                &spec.file,
                format!("this spec is given twice (also as {}): give it once", twin.file),
            ));
        }
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
    name_apart(&mut combined);
    combined.router = route(&combined.documents, &combined.operations);
    Ok(combined)
}

/// Whether two spec labels name one file (`a.yaml`, `./a.yaml`).
fn same_file(a: &str, b: &str) -> bool {
    a == b || std::fs::canonicalize(a).is_ok_and(|a| std::fs::canonicalize(b).is_ok_and(|b| a == b))
}

/// No two specs declare one operationId, or claim one path and method
/// under their base paths.
fn check_claims(spec: &Spec) -> Result<(), Diagnostic> {
    let mut ids: HashMap<&str, &Operation> = HashMap::new();
    let mut routes: Vec<(&Method, String, &Operation, Template)> = Vec::new();
    for operation in &spec.operations {
        let declared = operation.declares_id().then(|| ids.insert(&operation.id, operation));
        if let Some(first) = declared.flatten() {
            return Err(claimed_twice(
                first,
                operation,
                "/operationId",
                format!("operationId `{}` is declared by two specs", operation.id),
            ));
        }
        for base in claimed_bases(&spec.document_of(operation).base_paths) {
            let sent = format!("{base}{}", operation.path);
            let template = Template::of(&sent);
            let mut earlier = routes.iter().filter(|(method, _, first, _)| {
                **method == operation.method && first.origin.document != operation.origin.document
            });
            if let Some((_, first_sent, first, _)) = earlier.find(|(_, _, _, other)| template.ties_with(other)) {
                let (method, shaped) = (&operation.method, shape(&sent));
                let message = match shape(first_sent) == shaped {
                    true => format!("`{method} {shaped}` is declared by two specs (a request must find one operation)"),
                    false => format!(
                        "`{method} {shaped}` and `{method} {}` of another spec take the same requests (a request must find one operation)",
                        shape(first_sent)
                    ),
                };
                return Err(claimed_twice(first, operation, "", message));
            }
            routes.push((&operation.method, sent, operation, template));
        }
    }
    Ok(())
}

/// Operations without an operationId are named `METHOD /path`; where
/// operations of several specs would share that name, each is named by the
/// path it is served at, its spec's first base path included
/// (`GET /billing/health`), which no two specs claim.
fn name_apart(spec: &mut Spec) {
    let mut unnamed: HashMap<String, usize> = HashMap::new();
    for operation in spec.operations.iter().filter(|op| !op.declares_id()) {
        *unnamed.entry(operation.id.clone()).or_default() += 1;
    }
    for operation in &mut spec.operations {
        if !operation.declares_id() && unnamed[&operation.id] > 1 {
            let document = &spec.documents[operation.origin.document];
            let base = claimed_bases(&document.base_paths)[0];
            operation.id = Operation::unnamed_id(&operation.method, &format!("{base}{}", operation.path));
        }
    }
}

/// Where a spec's paths are claimed: under each of its base paths (the
/// root for a server without a path), or at the root when it has none. (Its
/// paths answer without the base path too, as with one spec; where only
/// that way two specs' paths meet, the router ranks them.)
fn claimed_bases(base_paths: &[String]) -> Vec<&str> {
    match base_paths.is_empty() {
        true => vec![""],
        false => base_paths.iter().map(String::as_str).collect(),
    }
}

/// A path template with its parameters' names dropped, as a claim is named:
/// `/a/{id}` and `/a/{name}` take the same requests.
fn shape(template: &str) -> String {
    let mut shaped = String::with_capacity(template.len());
    let mut in_parameter = false;
    for c in template.chars() {
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
pub(super) mod tests {
    use super::*;

    #[test]
    fn parameter_names_do_not_tell_templates_apart() {
        assert_eq!(shape("/a/{id}/b"), shape("/a/{name}/b"));
        assert_eq!(shape("/a/{id}.json"), "/a/{}.json");
        assert_ne!(shape("/a/{id}"), shape("/a/b"));
    }

    /// A spec of `GET path` (named `id`, else not named), under `base`.
    pub(in crate::spec) fn one_get(label: &str, base: &str, path: &str, id: Option<&str>) -> Spec {
        let servers = format!("servers: [{{url: 'http://localhost:4000{base}'}}]\n");
        let parameter = path.split_once('{').and_then(|(_, rest)| rest.split_once('}'));
        let parameters = parameter.map_or(String::new(), |(name, _)| {
            format!("\n      parameters: [{{name: {name}, in: path, required: true, schema: {{type: string}}}}]")
        });
        let id = id.map_or(String::new(), |id| format!("\n      operationId: '{id}'"));
        let text = format!(
            "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\n{servers}paths:\n  {path}:\n    get:{id}{parameters}\n      responses:\n        '200': {{description: ok}}\n"
        );
        crate::spec::load_text(label, &text, None).expect("the spec loads")
    }

    #[test]
    fn operations_without_an_operation_id_do_not_collide_and_are_named_apart() {
        let combined = combine(vec![
            one_get("a.yaml", "/billing", "/health", None),
            one_get("b.yaml", "/catalog", "/health", None),
        ]);
        let combined = combined.unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<&str> = combined.operations.iter().map(|op| op.id.as_str()).collect();
        assert_eq!(ids, ["GET /billing/health", "GET /catalog/health"]);
        let alone = combine(vec![one_get("a.yaml", "/billing", "/health", None)]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(alone.operations[0].id, "GET /health");
    }

    #[test]
    fn a_claim_is_two_templates_that_take_one_request_at_the_same_rank() {
        // The router tells `/items/` from `/items`.
        let apart = combine(vec![
            one_get("a.yaml", "", "/items", Some("a")),
            one_get("b.yaml", "", "/items/", Some("b")),
        ]);
        assert!(apart.is_ok(), "{:?}", apart.err().map(|e| e.to_string()));
        // `/a/5.json` is taken by both, each with one literal segment.
        let met = combine(vec![
            one_get("a.yaml", "", "/a/{id}.json", Some("a")),
            one_get("b.yaml", "", "/a/{x}", Some("b")),
        ]);
        let message = met.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("`GET /a/{}` and `GET /a/{}.json` of another spec take the same requests"),
            "{message}"
        );
        // A concrete path outranks a template: the router tells them apart.
        assert!(combine(vec![
            one_get("a.yaml", "", "/a/{id}", Some("a")),
            one_get("b.yaml", "", "/a/me", Some("b"))
        ])
        .is_ok());
    }
}
