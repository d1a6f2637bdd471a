//! Scenario files -> checked scenarios. Every problem a file can have is
//! found here, before the server starts: unknown operations, statuses the
//! spec does not declare for the operation, static bodies that break the
//! schema, unknown fixtures and examples, templates that read nothing a
//! request can have, store keys nothing writes, `extends` cycles, states no
//! rule ever enters. Each rule, response and stream step is checked on its
//! own, so a file's problems are all reported at once; only a file that
//! does not parse (YAML syntax, an unknown field, a wrong type) stops at its
//! first problem, since nothing after it can be read.

mod script;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use data_encoding::BASE64;
use http::{HeaderName, HeaderValue};
use serde_json::Value;

use super::file::{BodyFile, FaultFile, ResponseFile, RuleFile, ScenarioFile};
use super::template::{parse_expr, Expr, Template};
use super::{BodyTemplate, Catalog, Delay, Fault, Reaction, Rule, Scenario, Scripted, ScriptedBody};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::fixtures::Fixtures;
use crate::locate::Locations;
use crate::render::{encode_for, generate, media_for, mismatch, BodyForm, Rendered, Responder};
use crate::spec::parse::{parse_document, parse_typed, NodeBudget};
use crate::spec::{find_operation, follow_local, MediaSpec, Operation, ParamIn, Spec};
use script::ScriptCompiler;

/// One scenario file: its name (`default.yaml`), a label for errors (its
/// path), and its text.
#[derive(Debug, Clone)]
pub struct ScenarioSource {
    /// The file's name, `default.yaml`: the scenario is named by its stem.
    pub file_name: String,
    /// How errors name the file (its path relative to the repository or spec).
    pub label: String,
    /// The file's YAML text, kept to locate problems by line and column.
    pub text: String,
}

/// What a scenario needs from the rest of the mock to be checked.
struct Context<'a> {
    spec: &'a Spec,
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

/// Every file loaded on its own: the scenarios that compiled, every problem
/// of those that did not, and a note for each file left unchecked because it
/// extends one of those.
#[derive(Debug, Default)]
pub struct Loaded {
    pub catalog: Catalog,
    pub problems: Diagnostics,
    pub set_aside: Diagnostics,
    /// What loads but deserves a look: recorded answers replayed though they broke the spec.
    pub warnings: Diagnostics,
}

/// The catalog, or every problem of every file (what stops start-up).
pub fn load_catalog(
    sources: Vec<ScenarioSource>,
    spec: &Spec,
    responder: &Responder,
    fixtures: &Fixtures,
    seed: u64,
) -> Result<Catalog, Diagnostics> {
    let loaded = load_each_file(sources, spec, responder, fixtures, seed);
    loaded.problems.or(loaded.catalog)
}

/// Every file, each on its own: one with problems is left out of the
/// catalog and the others are still compiled (what `specmock check` reports).
pub fn load_each_file(
    sources: Vec<ScenarioSource>,
    spec: &Spec,
    responder: &Responder,
    fixtures: &Fixtures,
    seed: u64,
) -> Loaded {
    let mut loader = Loader {
        context: Context {
            spec,
            responder,
            fixtures,
            seed,
        },
        parsed: BTreeMap::new(),
        known: BTreeSet::new(),
        broken: BTreeSet::new(),
        loaded: Loaded::default(),
    };
    for source in sources
        .into_iter()
        .filter(|s| s.file_name.ends_with(".yaml") || s.file_name.ends_with(".yml"))
    {
        loader.parse(source);
    }
    let names: Vec<String> = loader.parsed.keys().cloned().collect();
    for name in names {
        loader.compile_with_parents(&name, &mut Vec::new());
    }
    loader.loaded
}

struct Loader<'a> {
    context: Context<'a>,
    /// Parsed files not compiled yet, by scenario name.
    parsed: BTreeMap<String, Parsed>,
    /// The name of every file that parsed.
    known: BTreeSet<String>,
    /// Scenarios with problems, or set aside: what extends them is not checked.
    broken: BTreeSet<String>,
    loaded: Loaded,
}

/// Why a file was not compiled.
enum NotCompiled {
    Problems(Diagnostics),
    /// It extends a scenario that was not compiled.
    SetAside(Diagnostic),
}

impl Loader<'_> {
    fn parse(&mut self, source: ScenarioSource) {
        let stem = source
            .file_name
            .rsplit_once('.')
            .map_or(source.file_name.as_str(), |(stem, _)| stem)
            .to_string();
        let file = match parse_typed::<ScenarioFile>(&source.label, &source.text, NodeBudget::Scenario) {
            Ok(file) => file,
            Err(diagnostic) => {
                // What extends it is set aside rather than reported for an unknown parent.
                let raw = parse_document(&source.label, &source.text, NodeBudget::Scenario).ok();
                let name = raw
                    .as_ref()
                    .and_then(|raw| raw.get("name")?.as_str().map(str::to_string));
                self.broken.insert(name.unwrap_or(stem));
                self.loaded.problems.push(diagnostic);
                return;
            }
        };
        let Some(raw) = self
            .loaded
            .problems
            .take(parse_document(&source.label, &source.text, NodeBudget::Scenario))
        else {
            return;
        };
        let name = file.name.clone().unwrap_or(stem);
        if let Some(first) = self.parsed.get(&name) {
            self.loaded.problems.push(Diagnostic::in_file(
                &source.label,
                format!("a second scenario named `{name}` (the first is {})", first.source.label),
            ));
            return;
        }
        self.known.insert(name.clone());
        self.parsed.insert(name, Parsed { file, raw, source });
    }

    /// Compiles `name` after the scenario it extends (depth first, cycles
    /// refused); `None` when it has problems or is set aside.
    fn compile_with_parents(&mut self, name: &str, visiting: &mut Vec<String>) -> Option<Arc<Scenario>> {
        if let Some(scenario) = self.loaded.catalog.by_name.get(name) {
            return Some(scenario.clone());
        }
        let Parsed { file, raw, source } = self.parsed.remove(name)?;
        visiting.push(name.to_string());
        let parent = self.parent(file.extends.as_deref(), &source.label, visiting);
        visiting.pop();
        let compiled = parent.and_then(|parent| {
            compile(file, name, &raw, &source.label, parent.as_deref(), &self.context).map_err(NotCompiled::Problems)
        });
        let locations = || Locations::of_yaml(&source.text);
        match compiled {
            Ok(scenario) => {
                let locations = locations();
                let replayed = replayed_violations(&raw, &source.label).map(|warning| locations.locate(warning));
                self.loaded.warnings.extend(replayed);
                let scenario = Arc::new(scenario);
                self.loaded.catalog.by_name.insert(name.to_string(), scenario.clone());
                return Some(scenario);
            }
            Err(NotCompiled::Problems(problems)) => {
                let locations = locations();
                let mut located = problems.map(|diagnostic| locations.locate(diagnostic));
                located.sort_by_position();
                self.loaded.problems.extend(located);
            }
            Err(NotCompiled::SetAside(note)) => self.loaded.set_aside.push(locations().locate(note)),
        }
        self.broken.insert(name.to_string());
        None
    }

    /// The compiled scenario `extends` names, if any.
    fn parent(
        &mut self,
        extends: Option<&str>,
        label: &str,
        visiting: &mut Vec<String>,
    ) -> Result<Option<Arc<Scenario>>, NotCompiled> {
        let Some(parent) = extends else { return Ok(None) };
        let problem = |message: String| {
            let diagnostic = Diagnostic::at_pointer(label, "/extends", message);
            NotCompiled::Problems(diagnostic.into())
        };
        if visiting.iter().any(|name| name == parent) {
            return Err(problem(format!(
                "`extends` makes a cycle: {} -> {parent}",
                visiting.join(" -> ")
            )));
        }
        if !self.known.contains(parent) && !self.broken.contains(parent) {
            let known: Vec<&str> = self.known.iter().map(String::as_str).collect();
            return Err(problem(format!(
                "unknown scenario `{parent}` (known: {})",
                known.join(", ")
            )));
        }
        match self.compile_with_parents(parent, visiting) {
            Some(scenario) => Ok(Some(scenario)),
            None => Err(NotCompiled::SetAside(Diagnostic::at_pointer(
                label,
                "/extends",
                format!("not checked: it extends `{parent}`, which has problems"),
            ))),
        }
    }
}

fn compile(
    file: ScenarioFile,
    name: &str,
    raw: &Value,
    label: &str,
    parent: Option<&Scenario>,
    context: &Context<'_>,
) -> Result<Scenario, Diagnostics> {
    let mut problems = Diagnostics::default();
    let mut compiler = FileCompiler {
        context,
        label,
        reads: StoreReads::default(),
    };
    let written = written_keys(&file, parent);
    let initial = file
        .initial
        .or_else(|| parent.map(|p| p.initial.clone()))
        .unwrap_or_else(|| "start".to_string());
    problems.extend(unentered_states(&file.rules, raw, &initial, parent, label));
    let mut store = parent.map(|p| (*p.store).clone()).unwrap_or_default();
    for (key, body) in file.store.unwrap_or_default() {
        let at = format!("/store/{key}");
        if let Some(value) = problems.take(compiler.initial_value(body, &at)) {
            store.insert(&key, crate::validate::Checked::unchecked(value));
        }
    }
    let mut rules = Vec::with_capacity(file.rules.len());
    for (index, rule) in file.rules.into_iter().enumerate() {
        rules.extend(problems.take(compiler.compile_rule(rule, index, raw)).map(Arc::new));
    }
    if let Some(parent) = parent {
        rules.extend(parent.rules.iter().cloned());
    }
    for (pointer, key) in compiler.reads.0.iter().filter(|(_, key)| !written.contains(key)) {
        problems.push(Diagnostic::at_pointer(
            label,
            pointer,
            format!("`store.{key}` is read, but no `store:` writes `{key}`"),
        ));
    }
    problems.or(Scenario {
        name: name.to_string(),
        description: file.description,
        file: label.to_string(),
        initial,
        store: Arc::new(store),
        rules,
        replay: file.replay,
    })
}

/// A warning for each response labelled `violations:`: a recorded answer
/// that broke the spec, replayed as it was.
fn replayed_violations<'a>(raw: &'a Value, label: &'a str) -> impl Iterator<Item = Diagnostic> + 'a {
    let rules = raw.get("rules").and_then(Value::as_array).into_iter().flatten();
    rules.enumerate().flat_map(move |(index, rule)| {
        let responses: Vec<(String, &Value)> = match rule.get("respond") {
            Some(Value::Array(responses)) => responses
                .iter()
                .enumerate()
                .map(|(position, response)| (format!("/rules/{index}/respond/{position}"), response))
                .collect(),
            Some(response) => vec![(format!("/rules/{index}/respond"), response)],
            None => Vec::new(),
        };
        responses.into_iter().filter_map(move |(at, response)| {
            let listed: Vec<&str> = response
                .get("violations")?
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .collect();
            (!listed.is_empty()).then(|| {
                Diagnostic::at_pointer(
                    label,
                    format!("{at}/violations"),
                    format!("replays a recorded answer that broke the spec: {}", listed.join("; ")),
                )
            })
        })
    })
}

/// Every key a `store:` writes: this file's, compiled or not (a read of a
/// key whose writer has a problem of its own is not a second problem), and
/// the extended scenario's.
fn written_keys(file: &ScenarioFile, parent: Option<&Scenario>) -> BTreeSet<String> {
    let own = file
        .store
        .iter()
        .chain(file.rules.iter().filter_map(|rule| rule.store.as_ref()))
        .flat_map(BTreeMap::keys)
        .map(String::as_str);
    let inherited = parent.into_iter().flat_map(|parent| {
        let rules = parent
            .rules
            .iter()
            .flat_map(|rule| rule.store.iter().map(|(key, _)| key.as_str()));
        parent.store.keys().chain(rules)
    });
    own.chain(inherited).map(str::to_string).collect()
}

/// Where templates read store keys, checked once every writer is known.
#[derive(Default)]
struct StoreReads(Vec<(String, String)>);

/// One scenario file being compiled: what it is checked against, its label
/// for errors, and the store keys its templates read.
struct FileCompiler<'a> {
    context: &'a Context<'a>,
    label: &'a str,
    reads: StoreReads,
}

/// What a template may read.
#[derive(Clone, Copy)]
struct Readable<'a> {
    /// The request, made to this operation; `None`: there is none (an
    /// initial store value).
    request: Option<&'a Operation>,
    /// The call a stream's `on:` step waited for (`event.*`).
    event: Option<&'a Operation>,
}

impl<'a> Readable<'a> {
    const NO_REQUEST: Self = Self {
        request: None,
        event: None,
    };

    fn request_of(operation: &'a Operation) -> Self {
        Self {
            request: Some(operation),
            event: None,
        }
    }
}

impl FileCompiler<'_> {
    /// An initial store value: fixed, since a session starts with no request.
    fn initial_value(&mut self, body: BodyFile, at: &str) -> Result<Value, Diagnostic> {
        let template = self.body_template(body, None, Readable::NO_REQUEST, at)?;
        template.as_static().ok_or_else(|| {
            Diagnostic::at_pointer(
                self.label,
                at,
                "an initial store value must be fixed: it cannot read the request, the store, `now` or `uuid`",
            )
        })
    }

    /// A rule: its operation first (everything else is checked against it),
    /// then each response or stream step, store value and header on its own.
    fn compile_rule(&mut self, rule: RuleFile, index: usize, raw: &Value) -> Result<Rule, Diagnostics> {
        let (context, label) = (self.context, self.label);
        let at = format!("/rules/{index}");
        let operation = find_operation(context.spec, &rule.when.operation)
            .map_err(|message| Diagnostic::at_pointer(label, format!("{at}/when/operation"), message))?;
        let op = &context.spec.operations[operation];
        let rule_label = format!("{label} rules[{index}]");
        let mut problems = Diagnostics::default();
        let reaction = match (rule.respond, rule.stream) {
            (Some(respond), None) => {
                let single = raw.pointer(&format!("{at}/respond")).is_some_and(Value::is_object);
                if respond.0.is_empty() {
                    problems.push(Diagnostic::at_pointer(
                        label,
                        format!("{at}/respond"),
                        "expected at least one response",
                    ));
                }
                let mut responses = Vec::with_capacity(respond.0.len());
                for (position, response) in respond.0.into_iter().enumerate() {
                    let response_at = if single {
                        format!("{at}/respond")
                    } else {
                        format!("{at}/respond/{position}")
                    };
                    let compiled = self.compile_response(response, operation, &response_at);
                    responses.extend(problems.take(compiled));
                }
                Some(Reaction::Respond {
                    responses,
                    cycle: rule.cycle,
                })
            }
            (None, Some(steps)) => {
                let script =
                    ScriptCompiler { file: self, op }.compile(steps, &format!("{at}/stream"), rule_label.clone());
                problems.take(script).map(|script| Reaction::Stream(Arc::new(script)))
            }
            _ => {
                problems.push(Diagnostic::at_pointer(
                    label,
                    &at,
                    "a rule needs exactly one of `respond` (HTTP responses) and `stream` (WebSocket frames)",
                ));
                None
            }
        };
        let mut store = Vec::new();
        for (key, body) in rule.store.unwrap_or_default() {
            let at = format!("{at}/store/{key}");
            let template = self.body_template(body, None, Readable::request_of(op), &at);
            store.extend(problems.take(template).map(|template| (key, template)));
        }
        let mut headers = Vec::new();
        for (name, value) in rule.when.headers {
            let header = header_name(&name, &format!("{at}/when/headers"), label);
            headers.extend(problems.take(header).map(|header| (header, value)));
        }
        let Some(reaction) = reaction.filter(|_| problems.is_empty()) else {
            return Err(problems);
        };
        Ok(Rule {
            label: rule_label,
            operation,
            operation_id: op.id.clone(),
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

    /// A response: its status and body, each header and its delay, on their own.
    fn compile_response(
        &mut self,
        response: ResponseFile,
        operation: usize,
        at: &str,
    ) -> Result<Scripted, Diagnostics> {
        let label = self.label;
        let op = &self.context.spec.operations[operation];
        if response.proxy {
            return forward_response(op, &response, at, label);
        }
        let ResponseFile {
            status,
            proxy: _,
            headers,
            body,
            delay,
            fault,
            violations,
        } = response;
        let Some(status) = status else {
            return Err(Diagnostic::at_pointer(
                label,
                at,
                "a response needs `status` (or `proxy: true`, to send the call to --upstream)",
            )
            .into());
        };
        let fault = fault.map(|fault| match fault {
            FaultFile::Reset => Fault::Reset,
            FaultFile::Close => Fault::Close,
            FaultFile::Truncate => Fault::Truncate,
            FaultFile::Malformed => Fault::Malformed,
            FaultFile::UndeclaredStatus => Fault::UndeclaredStatus,
        });
        let mut problems = Diagnostics::default();
        let place = ResponsePlace {
            at,
            operation,
            recorded_broken: !violations.is_empty(),
        };
        let body = problems.take(self.scripted_body(body, status, fault, place));
        let mut scripted_headers = Vec::new();
        for (name, value) in headers {
            scripted_headers.extend(problems.take(self.scripted_header(&name, value, op, at)));
        }
        let delay = delay.and_then(|text| {
            problems.take(parse_delay(&text).map_err(|e| Diagnostic::at_pointer(label, format!("{at}/delay"), e)))
        });
        let Some(body) = body.filter(|_| problems.is_empty()) else {
            return Err(problems);
        };
        Ok(Scripted {
            forward: false,
            status,
            headers: scripted_headers,
            body,
            delay,
            fault,
        })
    }

    /// A response's body, checked against what the spec declares for its status.
    fn scripted_body(
        &mut self,
        body: Option<BodyFile>,
        status: u16,
        fault: Option<Fault>,
        place: ResponsePlace<'_>,
    ) -> Result<ScriptedBody, Diagnostic> {
        let (context, label) = (self.context, self.label);
        let ResponsePlace {
            at,
            operation,
            recorded_broken,
        } = place;
        let op = &context.spec.operations[operation];
        if !(100..=599).contains(&status) {
            return Err(Diagnostic::at_pointer(
                label,
                format!("{at}/status"),
                format!("{status} is not an HTTP status"),
            ));
        }
        let declared = op.response_for(status);
        if declared.is_none() && fault != Some(Fault::UndeclaredStatus) && !recorded_broken {
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
        let form = body.as_ref().map_or(BodyForm::Json, BodyFile::form);
        let media = declared.and_then(|d| media_for(&d.content, form));
        let Some(body) = body else {
            return Ok(ScriptedBody::Ready(
                context
                    .responder
                    .for_status(context.spec, operation, status)
                    .unwrap_or_else(|| Rendered {
                        status,
                        content_type: None,
                        body: Default::default(),
                        schema_mismatch: None,
                    }),
            ));
        };
        let body_at = format!("{at}/body");
        if let Some(base64) = &body.binary {
            let bytes = binary_bytes(base64, &body, &body_at, label)?;
            return Ok(ScriptedBody::Ready(Rendered {
                status,
                content_type: Some(HeaderValue::from_static("application/octet-stream")),
                body: bytes,
                schema_mismatch: None,
            }));
        }
        if declared.is_some() && media.is_none() && !recorded_broken {
            return Err(Diagnostic::at_pointer(
                label,
                &body_at,
                format!("status {status} of `{}` declares no content: remove `body`", op.id),
            ));
        }
        let template = self.body_template(body, media, Readable::request_of(op), &body_at)?;
        let Some(value) = template.as_static() else {
            return Ok(ScriptedBody::Template {
                body: template,
                media: media.cloned(),
            });
        };
        if let Some(problem) = media.filter(|_| !recorded_broken).and_then(|m| mismatch(m, &value)) {
            return Err(Diagnostic::at_pointer(
                label,
                body_at,
                format!(
                    "the body does not match the schema of `{}` status {status}: {problem}",
                    op.id
                ),
            ));
        }
        Ok(ScriptedBody::Ready(encode_for(status, media, &value)))
    }

    /// A response header: a valid name the server does not set itself, and a
    /// value (a template) that reads what the request can have.
    fn scripted_header(
        &mut self,
        name: &str,
        value: String,
        op: &Operation,
        at: &str,
    ) -> Result<(HeaderName, Template), Diagnostic> {
        let label = self.label;
        let value_at = format!("{at}/headers/{name}");
        let header = header_name(name, &format!("{at}/headers"), label)?;
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
            self.check_expression(expr, Readable::request_of(op), &value_at)?;
        }
        if let Some(Value::String(literal)) = template.as_literal() {
            HeaderValue::from_str(literal)
                .map_err(|_| Diagnostic::at_pointer(label, &value_at, "not a valid header value"))?;
        }
        Ok((header, template))
    }

    /// A body or store value: its source as a template, checked. `media` is
    /// what the spec declares for it (`example` and `generate` read it).
    fn body_template(
        &mut self,
        body: BodyFile,
        media: Option<&MediaSpec>,
        readable: Readable<'_>,
        at: &str,
    ) -> Result<BodyTemplate, Diagnostic> {
        let (context, label) = (self.context, self.label);
        if body.binary.is_some() {
            return Err(Diagnostic::at_pointer(
                label,
                format!("{at}/binary"),
                "`binary` is for stream frames (`send:`) and response bodies; a store value is one of the other sources",
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
            Template::Expr(
                parse_expr(source.trim()).map_err(|e| Diagnostic::at_pointer(label, format!("{at}/from"), e))?,
            )
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
            self.check_expression(expr, readable, at)?;
        }
        Ok(template)
    }

    /// A template must read something the request (or the store) can have.
    fn check_expression(&mut self, expr: &Expr, readable: Readable<'_>, at: &str) -> Result<(), Diagnostic> {
        let label = self.label;
        let Readable { request: op, event } = readable;
        let fail = |message: String| Err(Diagnostic::at_pointer(label, at, message));
        let needs_request = |what: &str| format!("`{what}` reads the request, but initial store values have none");
        match expr {
            Expr::EventRequest(path) => match event {
                Some(event) => self.check_expression(&Expr::RequestBody(path.clone()), Readable::request_of(event), at),
                None => fail(NOT_IN_AN_EVENT.to_string()),
            },
            Expr::EventResponse(_) if event.is_some() => Ok(()),
            Expr::EventResponse(_) => fail(NOT_IN_AN_EVENT.to_string()),
            Expr::Store(key, _) => {
                self.reads.0.push((at.to_string(), key.clone()));
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
}

/// `proxy: true`: a call for `--upstream`, which answers it all; nothing
/// else may be scripted beside it, and a WebSocket is never proxied.
fn forward_response(op: &Operation, response: &ResponseFile, at: &str, label: &str) -> Result<Scripted, Diagnostics> {
    let ResponseFile {
        status,
        headers,
        body,
        delay,
        fault,
        ..
    } = response;
    let scripted = status.is_some() || !headers.is_empty() || body.is_some() || delay.is_some() || fault.is_some();
    let refused = if op.websocket {
        format!("`{}` is a WebSocket: its handshake is not proxied", op.id)
    } else if scripted {
        "`proxy: true` sends the call to --upstream, which answers it: remove `status`, `headers`, `body`, `delay` and `fault`".to_string()
    } else {
        return Ok(Scripted {
            forward: true,
            status: 0,
            headers: Vec::new(),
            body: ScriptedBody::Ready(crate::render::Rendered {
                status: 0,
                content_type: None,
                body: bytes::Bytes::new(),
                schema_mismatch: None,
            }),
            delay: None,
            fault: None,
        });
    };
    Err(Diagnostic::at_pointer(label, format!("{at}/proxy"), refused).into())
}

/// Where a response is written: its pointer in the file, and the
/// operation it answers.
#[derive(Clone, Copy)]
struct ResponsePlace<'a> {
    at: &'a str,
    operation: usize,
    /// A recorded answer that broke the spec (`violations:`): replayed as
    /// it was, whatever the spec declares.
    recorded_broken: bool,
}

/// A `binary:` body's bytes: base64, and no other source beside it.
fn binary_bytes(base64: &str, rest: &BodyFile, at: &str, label: &str) -> Result<Bytes, Diagnostic> {
    if rest.merge.is_some() || rest.sources() > 0 {
        return Err(Diagnostic::at_pointer(
            label,
            at,
            "a `binary` body takes no other body source and no `merge`",
        ));
    }
    let bytes = BASE64
        .decode(base64.trim().as_bytes())
        .map_err(|e| Diagnostic::at_pointer(label, format!("{at}/binary"), format!("not valid base64: {e}")))?;
    Ok(Bytes::from(bytes))
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
fn parse_delay(text: &str) -> Result<Delay, String> {
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

/// A `when.state` that is not the initial state and that no rule enters
/// (this file's or the extended scenario's) can never match: a typo, most
/// likely. Each is reported at the rule's state.
fn unentered_states(
    rules: &[RuleFile],
    raw: &Value,
    initial: &str,
    parent: Option<&Scenario>,
    label: &str,
) -> Vec<Diagnostic> {
    let entered: BTreeSet<&str> = rules
        .iter()
        .filter_map(|rule| rule.then.as_ref().map(|then| then.state.as_str()))
        .chain(
            parent
                .iter()
                .flat_map(|p| p.rules.iter().filter_map(|r| r.then_state.as_deref())),
        )
        .chain([initial])
        .collect();
    let mut guesses = Guesses::new(&entered);
    let mut problems = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        let at = format!("/rules/{index}/when/state");
        let listed = raw.pointer(&at).is_some_and(Value::is_array);
        for (position, state) in rule.when.state.iter().flat_map(|states| &states.0).enumerate() {
            if entered.contains(state.as_str()) {
                continue;
            }
            let pointer = if listed { format!("{at}/{position}") } else { at.clone() };
            problems.push(Diagnostic::at_pointer(
                label,
                pointer,
                never_entered(state, &entered, &mut guesses),
            ));
        }
    }
    problems
}

/// How many states a message lists (a file can name thousands).
const LISTED_STATES: usize = 20;

fn never_entered(state: &str, entered: &BTreeSet<&str>, guesses: &mut Guesses<'_>) -> String {
    let listed: Vec<&str> = entered.iter().take(LISTED_STATES).copied().collect();
    let more = match entered.len() - listed.len() {
        0 => String::new(),
        more => format!(" and {more} more"),
    };
    let mut message = format!(
        "no rule enters state `{state}` and it is not the initial state, so the rule never matches (states: {}{more})",
        listed.join(", ")
    );
    if let Some(guess) = guesses.closest(state) {
        message.push_str(&format!("; did you mean `{guess}`?"));
    }
    message
}

/// The state a typo most likely meant. A distance costs the product of both
/// names' lengths, so names are compared by their first characters only and
/// a file gets a bounded number of comparisons in all: a hand-written file
/// needs a few dozen, and no file can make loading slow.
struct Guesses<'a> {
    /// Each state, its first characters and how many they are.
    states: Vec<(&'a str, String, usize)>,
    comparisons_left: usize,
}

const COMPARED_CHARS: usize = 64;
const COMPARISONS: usize = 10_000;

impl<'a> Guesses<'a> {
    fn new(states: &BTreeSet<&'a str>) -> Self {
        Self {
            states: states
                .iter()
                .map(|state| {
                    let (start, chars) = start_of(state);
                    (*state, start, chars)
                })
                .collect(),
            comparisons_left: COMPARISONS,
        }
    }

    /// The nearest state, if at most a third of the typo's characters
    /// differ (a swap of two neighbours counts once).
    fn closest(&mut self, typo: &str) -> Option<&'a str> {
        self.comparisons_left = self.comparisons_left.checked_sub(self.states.len())?;
        let (typo, chars) = start_of(typo);
        let allowed = (chars / 3).max(1);
        self.states
            .iter()
            .filter(|(_, _, length)| length.abs_diff(chars) <= allowed)
            .map(|(state, start, _)| (strsim::osa_distance(&typo, start), *state))
            .filter(|(distance, _)| *distance <= allowed)
            .min()
            .map(|(_, state)| state)
    }
}

fn start_of(name: &str) -> (String, usize) {
    let start: String = name.chars().take(COMPARED_CHARS).collect();
    let chars = start.chars().count();
    (start, chars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_close_state_is_guessed_and_a_far_one_is_not() {
        let states = BTreeSet::from(["signed-in", "signed-out", "start"]);
        let mut guesses = Guesses::new(&states);
        assert_eq!(guesses.closest("singed-in"), Some("signed-in"));
        assert_eq!(guesses.closest("signed-ot"), Some("signed-out"));
        assert_eq!(guesses.closest("pending"), None);
    }

    #[test]
    fn guesses_stop_when_their_comparisons_run_out() {
        let states = BTreeSet::from(["signed-in", "signed-out"]);
        let mut guesses = Guesses::new(&states);
        for _ in 0..COMPARISONS / states.len() {
            assert_eq!(guesses.closest("singed-in"), Some("signed-in"));
        }
        assert_eq!(guesses.closest("singed-in"), None);
    }

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
