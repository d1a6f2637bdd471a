//! Scenario files -> checked scenarios. Every problem a file can have is
//! found here, before the server starts: unknown operations, statuses the
//! spec does not declare for the operation, bodies that break the schema,
//! unknown fixtures and examples, states no rule ever enters.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use http::{HeaderName, HeaderValue};
use serde_json::Value;

use super::file::{BodyFile, ResponseFile, RuleFile, ScenarioFile};
use super::{Catalog, Rule, Scenario, Scripted};
use crate::diagnostic::Diagnostic;
use crate::fixtures::{FixtureContent, Fixtures};
use crate::locate::Locations;
use crate::render::{encode, generate, mismatch, preferred_media, Rendered, Responder};
use crate::spec::source::{parse_document, parse_typed};
use crate::spec::{Operation, Spec};

/// One scenario file: its name (`default.yaml`), a label for errors (its
/// path), and its text.
pub struct ScenarioSource {
    pub file_name: String,
    pub label: String,
    pub text: String,
}

/// What a scenario needs from the rest of the mock to be checked.
struct Context<'a> {
    spec: &'a Spec,
    responder: &'a Responder,
    fixtures: &'a Fixtures,
    seed: u64,
}

pub fn load_catalog(
    sources: Vec<ScenarioSource>,
    spec: &Spec,
    responder: &Responder,
    fixtures: &Fixtures,
    seed: u64,
    warnings: &mut Vec<String>,
) -> Result<Catalog, Diagnostic> {
    let context = Context {
        spec,
        responder,
        fixtures,
        seed,
    };
    let mut by_name = BTreeMap::new();
    for source in sources
        .into_iter()
        .filter(|s| s.file_name.ends_with(".yaml") || s.file_name.ends_with(".yml"))
    {
        let scenario = load_one(&source, &context, warnings)?;
        if by_name.contains_key(&scenario.name) {
            return Err(Diagnostic::in_file(
                &source.label,
                format!("a second scenario named `{}`", scenario.name),
            ));
        }
        by_name.insert(scenario.name.clone(), Arc::new(scenario));
    }
    Ok(Catalog { by_name })
}

fn load_one(
    source: &ScenarioSource,
    context: &Context<'_>,
    warnings: &mut Vec<String>,
) -> Result<Scenario, Diagnostic> {
    let file: ScenarioFile = parse_typed(&source.label, &source.text)?;
    let raw = parse_document(&source.label, &source.text)?;
    let stem = source
        .file_name
        .rsplit_once('.')
        .map_or(source.file_name.as_str(), |(stem, _)| stem);
    compile(file, stem, &raw, &source.label, context, warnings)
        .map_err(|diagnostic| Locations::of_yaml(&source.text).locate(diagnostic))
}

fn compile(
    file: ScenarioFile,
    stem: &str,
    raw: &Value,
    label: &str,
    context: &Context<'_>,
    warnings: &mut Vec<String>,
) -> Result<Scenario, Diagnostic> {
    let name = file.name.unwrap_or_else(|| stem.to_string());
    let initial = file.initial.unwrap_or_else(|| "start".to_string());
    let mut rules = Vec::with_capacity(file.rules.len());
    for (index, rule) in file.rules.into_iter().enumerate() {
        rules.push(compile_rule(rule, index, raw, label, context)?);
    }
    warn_about_unreachable_states(&rules, &initial, &name, warnings);
    Ok(Scenario {
        name,
        description: file.description,
        file: label.to_string(),
        initial,
        rules,
    })
}

fn compile_rule(
    rule: RuleFile,
    index: usize,
    raw: &Value,
    label: &str,
    context: &Context<'_>,
) -> Result<Rule, Diagnostic> {
    let at = format!("/rules/{index}");
    let operation = find_operation(context.spec, &rule.when.operation).ok_or_else(|| {
        Diagnostic::at_pointer(
            label,
            format!("{at}/when/operation"),
            unknown_operation(context.spec, &rule.when.operation),
        )
    })?;
    let op = &context.spec.operations[operation];
    let single = raw.pointer(&format!("{at}/respond")).is_some_and(Value::is_object);
    let mut responses = Vec::with_capacity(rule.respond.0.len());
    for (position, response) in rule.respond.0.into_iter().enumerate() {
        let response_at = if single {
            format!("{at}/respond")
        } else {
            format!("{at}/respond/{position}")
        };
        responses.push(compile_response(response, operation, op, &response_at, label, context)?);
    }
    if responses.is_empty() {
        return Err(Diagnostic::at_pointer(
            label,
            format!("{at}/respond"),
            "expected at least one response",
        ));
    }
    let mut headers = Vec::new();
    for (name, value) in rule.when.headers {
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            Diagnostic::at_pointer(
                label,
                format!("{at}/when/headers"),
                format!("`{name}` is not a valid header name"),
            )
        })?;
        headers.push((header, value));
    }
    Ok(Rule {
        label: format!("{label} rules[{index}]"),
        operation,
        states: rule.when.state.map(|s| s.0).unwrap_or_default(),
        body: rule.when.body,
        query: rule.when.query.into_iter().collect(),
        headers,
        path: rule.when.path.into_iter().collect(),
        responses,
        cycle: rule.cycle,
        then_state: rule.then.map(|t| t.state),
    })
}

fn compile_response(
    response: ResponseFile,
    operation: usize,
    op: &Operation,
    at: &str,
    label: &str,
    context: &Context<'_>,
) -> Result<Scripted, Diagnostic> {
    let status = response.status;
    let Some(declared) = op.response_for(status) else {
        let listed: Vec<String> = op.responses.iter().map(|r| r.status.to_string()).collect();
        return Err(Diagnostic::at_pointer(
            label,
            format!("{at}/status"),
            format!(
                "status {status} is not declared for `{}` (declared: {})",
                op.id,
                listed.join(", ")
            ),
        ));
    };
    let rendered = match response.body {
        None => context
            .responder
            .for_status(context.spec, operation, status)
            .ok_or_else(|| {
                Diagnostic::at_pointer(
                    label,
                    format!("{at}/status"),
                    format!("no body for status {status} of `{}`", op.id),
                )
            })?,
        Some(body) => {
            let body_at = format!("{at}/body");
            let media = preferred_media(&declared.content).ok_or_else(|| {
                Diagnostic::at_pointer(
                    label,
                    &body_at,
                    format!("status {status} of `{}` declares no content: remove `body`", op.id),
                )
            })?;
            let (value, source) = body_value(body, media, &body_at, label, context, &op.id)?;
            if let Some(problem) = mismatch(media, &value) {
                return Err(Diagnostic::at_pointer(
                    label,
                    body_at,
                    format!(
                        "the body does not match the schema of `{}` status {status}: {problem}",
                        op.id
                    ),
                ));
            }
            encode(status, media, &value, source)
        }
    };
    let mut headers = Vec::new();
    for (name, value) in response.headers {
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            Diagnostic::at_pointer(
                label,
                format!("{at}/headers"),
                format!("`{name}` is not a valid header name"),
            )
        })?;
        let value = HeaderValue::from_str(&value)
            .map_err(|_| Diagnostic::at_pointer(label, format!("{at}/headers/{name}"), "not a valid header value"))?;
        headers.push((header, value));
    }
    Ok(Scripted {
        rendered: Rendered { status, ..rendered },
        headers,
    })
}

fn body_value(
    body: BodyFile,
    media: &crate::spec::MediaSpec,
    at: &str,
    label: &str,
    context: &Context<'_>,
    operation: &str,
) -> Result<(Value, String), Diagnostic> {
    let given = [
        body.fixture.is_some(),
        body.json.is_some(),
        body.text.is_some(),
        body.example.is_some(),
        body.generate,
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(Diagnostic::at_pointer(
            label,
            at,
            "a body needs exactly one of `fixture`, `json`, `text`, `example`, `generate: true`",
        ));
    }
    if let Some(name) = body.fixture {
        let fixture = context.fixtures.get(&name).ok_or_else(|| {
            let known: Vec<&str> = context.fixtures.names().collect();
            Diagnostic::at_pointer(
                label,
                format!("{at}/fixture"),
                format!("unknown fixture `{name}` (known: {})", known.join(", ")),
            )
        })?;
        let value = match &fixture.content {
            FixtureContent::Json(value) => value.clone(),
            FixtureContent::Text(text) => Value::String(text.clone()),
        };
        return Ok((value, format!("fixture:{name}")));
    }
    if let Some(value) = body.json {
        return Ok((value, "scenario:json".into()));
    }
    if let Some(text) = body.text {
        return Ok((Value::String(text), "scenario:text".into()));
    }
    if let Some(name) = body.example {
        let example = media.examples.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            let known: Vec<&str> = media.examples.iter().map(|(n, _)| n.as_str()).collect();
            Diagnostic::at_pointer(
                label,
                format!("{at}/example"),
                format!(
                    "`{operation}` has no example `{name}` for this status (known: {})",
                    known.join(", ")
                ),
            )
        })?;
        return Ok((example.1.clone(), format!("example:{name}")));
    }
    let schema = media
        .schema
        .as_ref()
        .ok_or_else(|| Diagnostic::at_pointer(label, at, "`generate` needs a schema"))?;
    Ok((generate(&schema.document, context.seed), "generated".into()))
}

fn find_operation(spec: &Spec, reference: &str) -> Option<usize> {
    spec.operations.iter().position(|op| op.id == reference).or_else(|| {
        let (method, path) = reference.split_once(' ')?;
        spec.operations
            .iter()
            .position(|op| op.method.as_str().eq_ignore_ascii_case(method) && op.path == path.trim())
    })
}

fn unknown_operation(spec: &Spec, reference: &str) -> String {
    let known: Vec<&str> = spec.operations.iter().map(|op| op.id.as_str()).collect();
    format!(
        "unknown operation `{reference}`: expected an operationId or `METHOD /path` (known: {})",
        known.join(", ")
    )
}

/// A `when.state` no rule ever moves to (and not the initial one) can never match.
fn warn_about_unreachable_states(rules: &[Rule], initial: &str, scenario: &str, warnings: &mut Vec<String>) {
    let entered: BTreeSet<&str> = rules
        .iter()
        .filter_map(|r| r.then_state.as_deref())
        .chain(std::iter::once(initial))
        .collect();
    for rule in rules {
        for state in &rule.states {
            if !entered.contains(state.as_str()) {
                warnings.push(format!(
                    "scenario `{scenario}`: {} waits for state `{state}`, which no rule enters and is not the initial state",
                    rule.label
                ));
            }
        }
    }
}
