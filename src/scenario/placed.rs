//! A scenario's rules and initial store mapped back to the files they were
//! written in (its own, then those of the scenarios it extends), with what
//! the store check needs to know of each rule: where its writes and bodies
//! were written, which requests it answers, whether one can reach it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use super::partial::{body, violations, BodyOrigins, Field, Origin, Partial, Reads};
use super::template::Expr;
use super::{BodyTemplate, Catalog, Reaction, Rule, Scenario, ScriptedBody};
use crate::diagnostic::escape_pointer_token;
use crate::fixtures::Fixtures;
use crate::json_subset::contains;
use crate::spec::{MediaSpec, Operation, ParamIn, Spec};

/// A scenario file as written.
pub(super) struct File {
    pub label: Arc<str>,
    pub raw: Value,
}

/// A rule with what the check needs to know about it.
pub(super) struct Placed<'a> {
    pub rule: &'a Rule,
    /// Written in the scenario's own file (not inherited).
    pub own: bool,
    pub op: &'a Operation,
    /// Where each store write's parts were written, in the order of `rule.store`.
    pub writes: Vec<BodyOrigins>,
    /// Where each response body's parts were written, by position.
    pub bodies: Vec<BodyOrigins>,
    /// False: its `when.body` breaks the request schema, so without
    /// `--lenient` no request reaches it.
    pub matchable: bool,
}

impl Placed<'_> {
    /// Whether a request this rule answers may lack what `expr` reads: an
    /// optional body or query parameter the rule does not match on. Headers
    /// are taken as present (`Host`, credentials, `Content-Type` of a body
    /// cannot be left out).
    pub(super) fn may_lack(&self, expr: &Expr) -> bool {
        match expr {
            Expr::RequestBody(_) => {
                self.rule.body.is_none() && self.op.request_body.as_ref().is_some_and(|body| !body.required)
            }
            Expr::RequestQuery(name) => {
                let required = self
                    .op
                    .parameters
                    .iter()
                    .any(|p| p.location == ParamIn::Query && p.required && p.name == *name);
                !required && !self.rule.query.iter().any(|(n, _)| n == name)
            }
            _ => false,
        }
    }

    /// Whether `earlier` answers every request this rule would, in a state
    /// both wait for (while it has matches left).
    pub(super) fn covered_by(&self, earlier: &Placed<'_>) -> bool {
        let (rule, other) = (self.rule, earlier.rule);
        let subset = |theirs: &[(String, String)], ours: &[(String, String)]| theirs.iter().all(|p| ours.contains(p));
        other.operation == rule.operation
            && subset(&other.query, &rule.query)
            && subset(&other.path, &rule.path)
            && other.headers.iter().all(|h| rule.headers.contains(h))
            && other
                .body
                .as_ref()
                .is_none_or(|theirs| rule.body.as_ref().is_some_and(|ours| contains(ours, theirs)))
    }

    /// Whether firing the rule in `state` leaves the state and the store as they were.
    pub(super) fn inert(&self, state: &str) -> bool {
        self.rule.then_state.as_ref().is_none_or(|next| next == state)
            && self.rule.store.is_empty()
            && self.rule.forget.is_empty()
    }

    /// The rule's responses with a templated body and a schema to check it against.
    pub(super) fn templated(&self) -> impl Iterator<Item = (usize, &BodyTemplate, &MediaSpec, u16)> {
        let responses = match &self.rule.reaction {
            Reaction::Respond { responses, .. } => responses.as_slice(),
            Reaction::Stream(_) => &[],
        };
        responses
            .iter()
            .enumerate()
            .filter_map(|(position, response)| match &response.body {
                ScriptedBody::Template {
                    body,
                    media: Some(media),
                } if media.schema.is_some() => Some((position, body, media, response.status)),
                _ => None,
            })
    }

    /// What rendering `template` (at `origins`) may give, `followed` the
    /// one store key known.
    pub(super) fn render(
        &self,
        template: &BodyTemplate,
        origins: &BodyOrigins,
        followed: Option<(&str, &Partial)>,
    ) -> Vec<Partial> {
        let reads = Reads {
            store: followed,
            may_lack: &|expr| self.may_lack(expr),
        };
        body(template, origins, &reads)
    }
}

pub(super) fn waits_for(rule: &Rule, state: &str) -> bool {
    rule.states.is_empty() || rule.states.iter().any(|s| s == state)
}

/// The scenario's rules with the file and position each was written at:
/// its own first, then those of the scenario it extends. `None` if the
/// files do not account for them all.
pub(super) fn placed_rules<'a>(
    scenario: &'a Scenario,
    catalog: &'a Catalog,
    files: &HashMap<&str, File>,
    spec: &'a Spec,
    fixtures: &Fixtures,
) -> Option<Vec<Placed<'a>>> {
    let chain = chain(scenario, catalog, files);
    let own = *chain.first()?;
    let written: Vec<(&File, usize)> = chain
        .into_iter()
        .flat_map(|file| {
            let count = file.raw.get("rules").and_then(Value::as_array).map_or(0, Vec::len);
            (0..count).map(move |index| (file, index))
        })
        .collect();
    if written.len() != scenario.rules.len() {
        return None;
    }
    let placed = scenario
        .rules
        .iter()
        .zip(written)
        .map(|(rule, (file, index))| {
            let at = format!("/rules/{index}");
            let writes = rule
                .store
                .iter()
                .map(|(key, _)| origins(file, &format!("{at}/store/{}", escape_pointer_token(key)), fixtures))
                .collect();
            let single = file.raw.pointer(&format!("{at}/respond")).is_some_and(Value::is_object);
            let responses = match &rule.reaction {
                Reaction::Respond { responses, .. } => responses.len(),
                Reaction::Stream(_) => 0,
            };
            let bodies = (0..responses)
                .map(|position| {
                    let response = match single {
                        true => format!("{at}/respond"),
                        false => format!("{at}/respond/{position}"),
                    };
                    origins(file, &format!("{response}/body"), fixtures)
                })
                .collect();
            Placed {
                rule,
                own: Arc::ptr_eq(&file.label, &own.label),
                op: &spec.operations[rule.operation],
                matchable: rule
                    .body
                    .as_ref()
                    .is_none_or(|body| matchable(body, &spec.operations[rule.operation])),
                writes,
                bodies,
            }
        })
        .collect();
    Some(placed)
}

/// Whether some body the operation accepts contains `expected` (what a
/// rule's `when.body` asks for): no schema of the body refuses every value
/// that has `expected`'s parts, whatever else it holds.
fn matchable(expected: &Value, op: &Operation) -> bool {
    let Some(request) = &op.request_body else { return true };
    let value = open(expected);
    request.content.iter().any(|media| {
        media.schema.as_ref().is_none_or(|schema| {
            // Another key may supply a missing property; nothing else that is found can be put right.
            violations(schema, &value)
                .iter()
                .all(|found| found.violation.rule == "required")
        })
    })
}

/// A value that has `expected`'s parts: objects may hold more keys (an
/// unknown one that may be absent stands for them), arrays and scalars are as they are.
fn open(expected: &Value) -> Partial {
    let origin = Origin::exact(&Arc::from(""), "");
    match expected {
        Value::Object(map) => {
            let mut fields: Vec<(String, Field)> = map
                .iter()
                .map(|(key, value)| {
                    (
                        key.clone(),
                        Field {
                            value: open(value),
                            always: true,
                        },
                    )
                })
                .collect();
            fields.push((
                String::new(),
                Field {
                    value: Partial::Unknown,
                    always: false,
                },
            ));
            Partial::Object(fields, origin)
        }
        Value::Array(items) => Partial::Array(items.iter().map(open).collect(), origin),
        scalar => Partial::Known(Arc::new(scalar.clone()), origin),
    }
}

/// The scenario's file, then those of the scenarios it extends.
fn chain<'f>(scenario: &Scenario, catalog: &Catalog, files: &'f HashMap<&str, File>) -> Vec<&'f File> {
    let mut chain = Vec::new();
    let mut label = Some(scenario.file.clone());
    while let Some(file) = label.and_then(|l| files.get(l.as_str())) {
        if chain.iter().any(|seen: &&File| Arc::ptr_eq(&seen.label, &file.label)) {
            break;
        }
        chain.push(file);
        label = file
            .raw
            .get("extends")
            .and_then(Value::as_str)
            .and_then(|parent| catalog.get(parent))
            .map(|parent| parent.file.clone());
    }
    chain
}

/// Where the parts of the body (or store value) at `at` were written.
fn origins(file: &File, at: &str, fixtures: &Fixtures) -> BodyOrigins {
    let body = file.raw.pointer(at);
    let field = |name: &str| body.and_then(|b| b.get(name));
    let base = if let Some(fixture) = field("fixture").and_then(Value::as_str).and_then(|n| fixtures.get(n)) {
        Origin::exact(&Arc::from(fixture.file.as_str()), "")
    } else if let Some(source) = ["json", "text", "from"].into_iter().find(|s| field(s).is_some()) {
        Origin::exact(&file.label, format!("{at}/{source}"))
    } else if let Some(source) = ["example", "generate"].into_iter().find(|s| field(s).is_some()) {
        Origin::entry(&file.label, format!("{at}/{source}"))
    } else {
        Origin::entry(&file.label, at)
    };
    BodyOrigins {
        base,
        merge: Origin::exact(&file.label, format!("{at}/merge")),
    }
}

/// The scenario's initial store, each value with where its parts were
/// written (the file of the scenario that sets the key).
pub(super) fn initial_store(
    scenario: &Scenario,
    catalog: &Catalog,
    files: &HashMap<&str, File>,
    fixtures: &Fixtures,
) -> BTreeMap<String, Partial> {
    let chain = chain(scenario, catalog, files);
    let mut store = BTreeMap::new();
    for (key, value) in scenario.store.iter() {
        let at = format!("/store/{}", escape_pointer_token(key));
        let Some(file) = chain.iter().find(|file| file.raw.pointer(&at).is_some()) else {
            continue;
        };
        let origins = origins(file, &at, fixtures);
        let written = file.raw.pointer(&at);
        let merge = written.and_then(|w| w.get("merge"));
        // The source apart from its `merge`, so that each part keeps its own place.
        let base = written
            .and_then(|w| {
                let name = w.get("fixture")?.as_str()?;
                Some(fixtures.get(name)?.content.to_value())
            })
            .or_else(|| written.and_then(|w| w.get("json").or_else(|| w.get("text"))).cloned());
        let partial = match (base, merge) {
            (Some(base), Some(merge)) => super::partial::merge(
                Partial::Known(Arc::new(base), origins.base),
                Partial::Known(Arc::new(merge.clone()), origins.merge),
            ),
            (Some(base), None) => Partial::Known(Arc::new(base), origins.base),
            _ => Partial::Known(Arc::new(value.clone()), Origin::entry(&file.label, at)),
        };
        store.insert(key.to_string(), partial);
    }
    store
}
