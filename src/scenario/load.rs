//! Scenario files -> checked scenarios. Every problem a file can have is
//! found here, before the server starts: unknown operations, statuses the
//! spec does not declare for the operation, static bodies that break the
//! schema, unknown fixtures and examples, templates that read nothing a
//! request can have, store keys nothing writes, `extends` cycles, states no
//! rule ever enters (a warning).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use serde_json::Value;

use super::file::{BodyFile, FaultFile, ResponseFile, RuleFile, ScenarioFile};
use super::stream::{compile_script, StepContext};
use super::template::{parse_expr, Expr, Template};
use super::{BodyTemplate, Catalog, Delay, Fault, Reaction, Rule, Scenario, Scripted, ScriptedBody};
use crate::diagnostic::Diagnostic;
use crate::fixtures::Fixtures;
use crate::locate::Locations;
use crate::render::{encode_for, generate, media_for, mismatch, Rendered, Responder};
use crate::spec::source::{parse_document, parse_typed, NodeBudget};
use crate::spec::{follow_local, MediaSpec, Operation, ParamIn, Spec};

/// One scenario file: its name (`default.yaml`), a label for errors (its
/// path), and its text.
#[derive(Debug, Clone)]
pub struct ScenarioSource {
    pub file_name: String,
    pub label: String,
    pub text: String,
}

/// What a scenario needs from the rest of the mock to be checked.
pub(super) struct Context<'a> {
    pub spec: &'a Spec,
    responder: &'a Responder,
    fixtures: &'a Fixtures,
    seed: u64,
}

/// A parsed file waiting to be compiled.
struct Parsed {
    file: ScenarioFile,
    raw: Value,
    source: ScenarioSource,
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
    let mut parsed: BTreeMap<String, Parsed> = BTreeMap::new();
    for source in sources
        .into_iter()
        .filter(|s| s.file_name.ends_with(".yaml") || s.file_name.ends_with(".yml"))
    {
        let file: ScenarioFile = parse_typed(&source.label, &source.text, NodeBudget::Scenario)?;
        let raw = parse_document(&source.label, &source.text, NodeBudget::Scenario)?;
        let stem = source
            .file_name
            .rsplit_once('.')
            .map_or(source.file_name.as_str(), |(stem, _)| stem);
        let name = file.name.clone().unwrap_or_else(|| stem.to_string());
        if let Some(first) = parsed.get(&name) {
            return Err(Diagnostic::in_file(
                &source.label,
                format!("a second scenario named `{name}` (the first is {})", first.source.label),
            ));
        }
        parsed.insert(name, Parsed { file, raw, source });
    }
    let names: Vec<String> = parsed.keys().cloned().collect();
    let mut compiled: BTreeMap<String, Arc<Scenario>> = BTreeMap::new();
    for name in names {
        compile_with_parents(&name, &mut parsed, &mut compiled, &mut Vec::new(), &context, warnings)?;
    }
    Ok(Catalog { by_name: compiled })
}

/// Compiles `name` after the scenario it extends (depth first, cycles refused).
fn compile_with_parents(
    name: &str,
    parsed: &mut BTreeMap<String, Parsed>,
    compiled: &mut BTreeMap<String, Arc<Scenario>>,
    visiting: &mut Vec<String>,
    context: &Context<'_>,
    warnings: &mut Vec<String>,
) -> Result<(), Diagnostic> {
    if compiled.contains_key(name) {
        return Ok(());
    }
    let Some(entry) = parsed.get(name) else { return Ok(()) };
    let label = entry.source.label.clone();
    let parent_name = entry.file.extends.clone();
    visiting.push(name.to_string());
    let parent = match parent_name {
        Some(parent) if visiting.contains(&parent) => {
            let diagnostic = Diagnostic::at_pointer(
                &label,
                "/extends",
                format!("`extends` makes a cycle: {} -> {parent}", visiting.join(" -> ")),
            );
            return Err(Locations::of_yaml(&entry.source.text).locate(diagnostic));
        }
        Some(parent) => {
            if !parsed.contains_key(&parent) && !compiled.contains_key(&parent) {
                let known: BTreeSet<&str> = parsed.keys().chain(compiled.keys()).map(String::as_str).collect();
                let known: Vec<&str> = known.into_iter().collect();
                let diagnostic = Diagnostic::at_pointer(
                    &label,
                    "/extends",
                    format!("unknown scenario `{parent}` (known: {})", known.join(", ")),
                );
                return Err(Locations::of_yaml(&entry.source.text).locate(diagnostic));
            }
            compile_with_parents(&parent, parsed, compiled, visiting, context, warnings)?;
            compiled.get(&parent).cloned()
        }
        None => None,
    };
    visiting.pop();
    let entry = parsed.remove(name).expect("checked above");
    let scenario = compile(
        entry.file,
        name,
        &entry.raw,
        &label,
        parent.as_deref(),
        context,
        warnings,
    )
    .map_err(|diagnostic| Locations::of_yaml(&entry.source.text).locate(diagnostic))?;
    compiled.insert(name.to_string(), Arc::new(scenario));
    Ok(())
}

fn compile(
    file: ScenarioFile,
    name: &str,
    raw: &Value,
    label: &str,
    parent: Option<&Scenario>,
    context: &Context<'_>,
    warnings: &mut Vec<String>,
) -> Result<Scenario, Diagnostic> {
    let mut reads = StoreReads::default();
    let mut store = parent.map(|p| (*p.store).clone()).unwrap_or_default();
    for (key, body) in file.store.unwrap_or_default() {
        let at = format!("/store/{key}");
        let template = body_template(body, None, None, &at, label, context, &mut reads, None)?;
        let value = template.as_static().ok_or_else(|| {
            Diagnostic::at_pointer(
                label,
                &at,
                "an initial store value must be fixed: it cannot read the request, the store, `now` or `uuid`",
            )
        })?;
        store.insert(key, value);
    }
    let mut rules = Vec::with_capacity(file.rules.len());
    for (index, rule) in file.rules.into_iter().enumerate() {
        rules.push(Arc::new(compile_rule(rule, index, raw, label, context, &mut reads)?));
    }
    if let Some(parent) = parent {
        rules.extend(parent.rules.iter().cloned());
    }
    let written: BTreeSet<&str> = store
        .keys()
        .map(String::as_str)
        .chain(rules.iter().flat_map(|r| r.store.iter().map(|(k, _)| k.as_str())))
        .collect();
    if let Some((pointer, key)) = reads.0.iter().find(|(_, key)| !written.contains(key.as_str())) {
        return Err(Diagnostic::at_pointer(
            label,
            pointer,
            format!("`store.{key}` is read, but no `store:` writes `{key}`"),
        ));
    }
    let initial = file
        .initial
        .or_else(|| parent.map(|p| p.initial.clone()))
        .unwrap_or_else(|| "start".to_string());
    warn_about_unreachable_states(&rules, &initial, name, warnings);
    Ok(Scenario {
        name: name.to_string(),
        description: file.description,
        file: label.to_string(),
        initial,
        store: Arc::new(store),
        rules,
    })
}

/// Where templates read store keys, checked once every writer is known.
#[derive(Default)]
pub(super) struct StoreReads(Vec<(String, String)>);

fn compile_rule(
    rule: RuleFile,
    index: usize,
    raw: &Value,
    label: &str,
    context: &Context<'_>,
    reads: &mut StoreReads,
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
    let rule_label = format!("{label} rules[{index}]");
    let reaction = match (rule.respond, rule.stream) {
        (Some(respond), None) => {
            let single = raw.pointer(&format!("{at}/respond")).is_some_and(Value::is_object);
            let mut responses = Vec::with_capacity(respond.0.len());
            for (position, response) in respond.0.into_iter().enumerate() {
                let response_at = if single {
                    format!("{at}/respond")
                } else {
                    format!("{at}/respond/{position}")
                };
                responses.push(compile_response(
                    response,
                    operation,
                    op,
                    &response_at,
                    label,
                    context,
                    reads,
                )?);
            }
            if responses.is_empty() {
                return Err(Diagnostic::at_pointer(
                    label,
                    format!("{at}/respond"),
                    "expected at least one response",
                ));
            }
            Reaction::Respond {
                responses,
                cycle: rule.cycle,
            }
        }
        (None, Some(steps)) => {
            let scope = StepContext { context, op, label };
            let script = compile_script(steps, &format!("{at}/stream"), rule_label.clone(), &scope, reads)?;
            Reaction::Stream(Arc::new(script))
        }
        _ => {
            return Err(Diagnostic::at_pointer(
                label,
                &at,
                "a rule needs exactly one of `respond` (HTTP responses) and `stream` (WebSocket frames)",
            ))
        }
    };
    let mut store = Vec::new();
    for (key, body) in rule.store.unwrap_or_default() {
        store.push((
            key.clone(),
            body_template(
                body,
                Some(op),
                None,
                &format!("{at}/store/{key}"),
                label,
                context,
                reads,
                None,
            )?,
        ));
    }
    let mut headers = Vec::new();
    for (name, value) in rule.when.headers {
        headers.push((header_name(&name, &format!("{at}/when/headers"), label)?, value));
    }
    Ok(Rule {
        label: rule_label,
        operation,
        states: rule.when.state.map(|s| s.0).unwrap_or_default(),
        body: rule.when.body,
        query: rule.when.query.into_iter().collect(),
        headers,
        path: rule.when.path.into_iter().collect(),
        reaction,
        times: rule.times,
        store,
        forget: rule.forget,
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
    reads: &mut StoreReads,
) -> Result<Scripted, Diagnostic> {
    let status = response.status;
    let fault = response.fault.map(|fault| match fault {
        FaultFile::Reset => Fault::Reset,
        FaultFile::Close => Fault::Close,
        FaultFile::Truncate => Fault::Truncate,
        FaultFile::Malformed => Fault::Malformed,
        FaultFile::UndeclaredStatus => Fault::UndeclaredStatus,
    });
    if !(100..=599).contains(&status) {
        return Err(Diagnostic::at_pointer(
            label,
            format!("{at}/status"),
            format!("{status} is not an HTTP status"),
        ));
    }
    let declared = op.response_for(status);
    if declared.is_none() && fault != Some(Fault::UndeclaredStatus) {
        let listed: Vec<String> = op.responses.iter().map(|r| r.status.to_string()).collect();
        return Err(Diagnostic::at_pointer(
            label,
            format!("{at}/status"),
            format!(
                "status {status} is not declared for `{}` (declared: {}); to send it anyway, label it `fault: undeclared-status`",
                op.id,
                listed.join(", ")
            ),
        ));
    }
    let wants_text = response.body.as_ref().is_some_and(|b| b.text.is_some());
    let media = declared.and_then(|d| media_for(&d.content, wants_text));
    let body = match response.body {
        None => match context.responder.for_status(context.spec, operation, status) {
            Some(rendered) => ScriptedBody::Ready(rendered),
            None => ScriptedBody::Ready(Rendered {
                status,
                content_type: None,
                body: Default::default(),
                source: "empty".into(),
                schema_mismatch: None,
            }),
        },
        Some(body) => {
            let body_at = format!("{at}/body");
            if declared.is_some() && media.is_none() {
                return Err(Diagnostic::at_pointer(
                    label,
                    &body_at,
                    format!("status {status} of `{}` declares no content: remove `body`", op.id),
                ));
            }
            let template = body_template(body, Some(op), media, &body_at, label, context, reads, None)?;
            match template.as_static() {
                Some(value) => {
                    if let Some(problem) = media.and_then(|m| mismatch(m, &value)) {
                        return Err(Diagnostic::at_pointer(
                            label,
                            body_at,
                            format!(
                                "the body does not match the schema of `{}` status {status}: {problem}",
                                op.id
                            ),
                        ));
                    }
                    ScriptedBody::Ready(encode_for(status, media, &value, "scenario".into()))
                }
                None => ScriptedBody::Template {
                    body: template,
                    media: media.cloned(),
                },
            }
        }
    };
    let mut headers = Vec::new();
    for (name, value) in response.headers {
        let value_at = format!("{at}/headers/{name}");
        let header = header_name(&name, &format!("{at}/headers"), label)?;
        if RESERVED_HEADERS.contains(&header.as_str()) {
            return Err(Diagnostic::at_pointer(
                label,
                &value_at,
                format!("`{header}` cannot be scripted: {}", reserved_why(&header)),
            ));
        }
        let template =
            Template::parse(&Value::String(value)).map_err(|e| Diagnostic::at_pointer(label, &value_at, e))?;
        for expr in template.expressions() {
            check_expression(expr, Some(op), &value_at, label, reads, None)?;
        }
        if let Some(Value::String(literal)) = template.as_literal() {
            HeaderValue::from_str(literal)
                .map_err(|_| Diagnostic::at_pointer(label, &value_at, "not a valid header value"))?;
        }
        headers.push((header, template));
    }
    let delay = match response.delay {
        Some(text) => Some(parse_delay(&text).map_err(|e| Diagnostic::at_pointer(label, format!("{at}/delay"), e))?),
        None => None,
    };
    Ok(Scripted {
        status,
        headers,
        body,
        delay,
        fault,
    })
}

/// A body or store value: its source as a template, checked. `event` is the
/// operation a stream's `on:` step waits for (what `event.*` may read).
#[allow(clippy::too_many_arguments)]
pub(super) fn body_template(
    body: BodyFile,
    op: Option<&Operation>,
    media: Option<&MediaSpec>,
    at: &str,
    label: &str,
    context: &Context<'_>,
    reads: &mut StoreReads,
    event: Option<&Operation>,
) -> Result<BodyTemplate, Diagnostic> {
    if body.binary.is_some() {
        return Err(Diagnostic::at_pointer(
            label,
            format!("{at}/binary"),
            "`binary` is for stream frames (`send:`); an HTTP body or a store value is one of the other sources",
        ));
    }
    if body.sources() != 1 {
        return Err(Diagnostic::at_pointer(
            label,
            at,
            "a body needs exactly one of `fixture`, `json`, `text`, `example`, `generate: true`, `from` (plus an optional `merge`)",
        ));
    }
    let parse = |value: &Value, field: &str| {
        Template::parse(value).map_err(|e| Diagnostic::at_pointer(label, format!("{at}/{field}"), e))
    };
    let base = if let Some(name) = body.fixture {
        let fixture = context.fixtures.get(&name).ok_or_else(|| {
            let known: Vec<&str> = context.fixtures.names().collect();
            Diagnostic::at_pointer(
                label,
                format!("{at}/fixture"),
                format!("unknown fixture `{name}` (known: {})", known.join(", ")),
            )
        })?;
        Template::Literal(fixture.content.to_value())
    } else if let Some(value) = &body.json {
        parse(value, "json")?
    } else if let Some(text) = &body.text {
        parse(&Value::String(text.clone()), "text")?
    } else if let Some(source) = &body.from {
        Template::Expr(parse_expr(source.trim()).map_err(|e| Diagnostic::at_pointer(label, format!("{at}/from"), e))?)
    } else if let Some(name) = body.example {
        let media = media.ok_or_else(|| {
            Diagnostic::at_pointer(label, format!("{at}/example"), "`example` needs a declared response")
        })?;
        let (_, value) = media.examples.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            let known: Vec<&str> = media.examples.iter().map(|(n, _)| n.as_str()).collect();
            Diagnostic::at_pointer(
                label,
                format!("{at}/example"),
                format!("no example `{name}` for this status (known: {})", known.join(", ")),
            )
        })?;
        Template::Literal(value.clone())
    } else {
        let schema = media
            .and_then(|m| m.schema.as_ref())
            .ok_or_else(|| Diagnostic::at_pointer(label, at, "`generate` needs a schema"))?;
        Template::Literal(generate(&schema.document, context.seed))
    };
    let merge = match &body.merge {
        Some(value) => Some(parse(value, "merge")?),
        None => None,
    };
    let template = BodyTemplate { base, merge };
    for expr in template
        .base
        .expressions()
        .into_iter()
        .chain(template.merge.iter().flat_map(Template::expressions))
    {
        check_expression(expr, op, at, label, reads, event)?;
    }
    Ok(template)
}

/// A template must read something the request (or the store) can have.
fn check_expression(
    expr: &Expr,
    op: Option<&Operation>,
    at: &str,
    label: &str,
    reads: &mut StoreReads,
    event: Option<&Operation>,
) -> Result<(), Diagnostic> {
    let fail = |message: String| Err(Diagnostic::at_pointer(label, at, message));
    let needs_request = |what: &str| format!("`{what}` reads the request, but initial store values have none");
    match expr {
        Expr::EventRequest(path) => match event {
            Some(event) => check_expression(&Expr::RequestBody(path.clone()), Some(event), at, label, reads, None),
            None => fail(NOT_IN_AN_EVENT.to_string()),
        },
        Expr::EventResponse(_) if event.is_some() => Ok(()),
        Expr::EventResponse(_) => fail(NOT_IN_AN_EVENT.to_string()),
        Expr::Store(key, _) => {
            reads.0.push((at.to_string(), key.clone()));
            Ok(())
        }
        Expr::Now | Expr::Uuid => Ok(()),
        Expr::RequestHeader(_) if op.is_some() => Ok(()),
        Expr::RequestPath(name) | Expr::RequestQuery(name) => {
            let Some(op) = op else { return fail(needs_request(name)) };
            let location = if matches!(expr, Expr::RequestPath(_)) {
                ParamIn::Path
            } else {
                ParamIn::Query
            };
            if op.parameters.iter().any(|p| p.location == location && &p.name == name) {
                return Ok(());
            }
            fail(format!("`{}` has no {} parameter `{name}`", op.id, location.as_str()))
        }
        Expr::RequestBody(path) => {
            let Some(op) = op else {
                return fail(needs_request("request.body"));
            };
            let Some(body) = &op.request_body else {
                return fail(format!(
                    "`{}` takes no request body, so `request.body` is always absent",
                    op.id
                ));
            };
            let Some(first) = path.first() else { return Ok(()) };
            // A property the schema does not declare is refused (a typo, most
            // likely) unless the schema explicitly admits any other property.
            let properties = body
                .content
                .iter()
                .filter_map(|m| m.schema.as_ref())
                .find_map(|schema| {
                    let root = follow_local(&schema.document, &schema.document);
                    let open = matches!(
                        root.get("additionalProperties"),
                        Some(Value::Object(_)) | Some(Value::Bool(true))
                    );
                    root.get("properties")
                        .and_then(Value::as_object)
                        .map(|p| (p.clone(), open))
                });
            match properties {
                Some((properties, false)) if !properties.contains_key(first) => {
                    let known: Vec<&str> = properties.keys().map(String::as_str).collect();
                    fail(format!(
                        "request bodies of `{}` have no property `{first}` (properties: {})",
                        op.id,
                        known.join(", ")
                    ))
                }
                _ => Ok(()),
            }
        }
        Expr::RequestHeader(name) => fail(needs_request(name)),
    }
}

const NOT_IN_AN_EVENT: &str =
    "`event.*` reads the call a stream's `on:` step waited for: use it in the `send` of an `on:` step";

/// Headers the server sets itself: framing ones (a wrong length would break
/// the connection; faults exist to do that on purpose) and the mock's own
/// marker (a scripted answer must not pass for a mock error).
const RESERVED_HEADERS: [&str; 4] = ["content-length", "transfer-encoding", "connection", "x-mock-origin"];

fn reserved_why(header: &HeaderName) -> &'static str {
    if header.as_str() == "x-mock-origin" {
        "it marks errors the mock makes itself"
    } else {
        "the server frames the response itself (use `fault:` to break the framing on purpose)"
    }
}

fn header_name(name: &str, at: &str, label: &str) -> Result<HeaderName, Diagnostic> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| Diagnostic::at_pointer(label, at, format!("`{name}` is not a valid header name")))
}

/// `300ms`, `2s`, `1.5s`, or `MIN..MAX`.
pub(super) fn parse_delay(text: &str) -> Result<Delay, String> {
    let one = |part: &str| -> Result<Duration, String> {
        let part = part.trim();
        let (number, scale) = if let Some(ms) = part.strip_suffix("ms") {
            (ms, 1.0)
        } else if let Some(s) = part.strip_suffix('s') {
            (s, 1000.0)
        } else {
            return Err(format!(
                "`{text}`: expected a duration such as `300ms`, `2s` or `100ms..500ms`"
            ));
        };
        let value: f64 = number
            .trim()
            .parse()
            .map_err(|_| format!("`{text}`: `{part}` is not a number of ms or s"))?;
        if !(0.0..=600_000.0).contains(&(value * scale)) {
            return Err(format!("`{text}`: delays range from 0 to 600s"));
        }
        Ok(Duration::from_millis((value * scale).round() as u64))
    };
    let delay = match text.split_once("..") {
        Some((min, max)) => Delay {
            min: one(min)?,
            max: one(max)?,
        },
        None => {
            let fixed = one(text)?;
            Delay { min: fixed, max: fixed }
        }
    };
    if delay.min > delay.max {
        return Err(format!("`{text}`: the range's minimum is above its maximum"));
    }
    Ok(delay)
}

pub(super) fn find_operation(spec: &Spec, reference: &str) -> Option<usize> {
    spec.operations.iter().position(|op| op.id == reference).or_else(|| {
        let (method, path) = reference.split_once(' ')?;
        spec.operations
            .iter()
            .position(|op| op.method.as_str().eq_ignore_ascii_case(method) && op.path == path.trim())
    })
}

pub(super) fn unknown_operation(spec: &Spec, reference: &str) -> String {
    let known: Vec<&str> = spec.operations.iter().map(|op| op.id.as_str()).collect();
    format!(
        "unknown operation `{reference}`: expected an operationId or `METHOD /path` (known: {})",
        known.join(", ")
    )
}

/// A `when.state` no rule ever moves to (and not the initial one) can never match.
fn warn_about_unreachable_states(rules: &[Arc<Rule>], initial: &str, scenario: &str, warnings: &mut Vec<String>) {
    let entered: BTreeSet<&str> = rules
        .iter()
        .filter_map(|r| r.then_state.as_deref())
        .chain(std::iter::once(initial))
        .collect();
    let mut reported = HashMap::new();
    for rule in rules {
        for state in &rule.states {
            if !entered.contains(state.as_str()) && reported.insert(state.clone(), ()).is_none() {
                warnings.push(format!(
                    "scenario `{scenario}`: {} waits for state `{state}`, which no rule enters and is not the initial state",
                    rule.label
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_parse_fixed_and_ranges() {
        assert_eq!(
            parse_delay("300ms").unwrap(),
            Delay {
                min: Duration::from_millis(300),
                max: Duration::from_millis(300)
            }
        );
        assert_eq!(parse_delay("1.5s").unwrap().min, Duration::from_millis(1500));
        assert_eq!(
            parse_delay("100ms..2s").unwrap(),
            Delay {
                min: Duration::from_millis(100),
                max: Duration::from_secs(2)
            }
        );
        assert!(parse_delay("5 minutes").is_err());
        assert!(parse_delay("2s..1s").is_err());
    }
}
