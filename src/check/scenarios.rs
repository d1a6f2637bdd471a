//! Scenario files, each on its own: every problem of a broken file, and the
//! catalog of those that load. A file that extends a broken scenario is set
//! aside with a note instead of being reported for an unknown parent.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::diagnostic::Diagnostics;
use crate::fixtures::Fixtures;
use crate::render::Responder;
use crate::scenario::{load_each_file, Catalog, Loaded, ScenarioSource};
use crate::spec::parse::{parse_document, NodeBudget};
use crate::spec::Spec;

pub(super) struct ScenarioCheck {
    /// The scenarios that load.
    pub catalog: Catalog,
    pub problems: Diagnostics,
    /// Files not checked because they extend a broken scenario.
    pub set_aside: Diagnostics,
    /// Recorded answers replayed though they broke the spec.
    pub warnings: Diagnostics,
    /// The fixtures the files name (broken files included).
    pub fixtures: BTreeSet<String>,
}

pub(super) fn check(
    sources: Vec<ScenarioSource>,
    spec: &Spec,
    responder: &Responder,
    fixtures: &Fixtures,
    seed: u64,
) -> ScenarioCheck {
    let named_fixtures = sources
        .iter()
        .filter_map(|source| parse_document(&source.label, &source.text, NodeBudget::Scenario).ok())
        .flat_map(|raw| referenced_fixtures(&raw))
        .collect();
    let Loaded {
        catalog,
        problems,
        set_aside,
        warnings,
    } = load_each_file(sources, spec, responder, fixtures, seed);
    ScenarioCheck {
        catalog,
        problems,
        set_aside,
        warnings,
        fixtures: named_fixtures,
    }
}

/// The `fixture:` of every body a scenario file holds: initial store values,
/// rule store values, responses and stream frames.
fn referenced_fixtures(raw: &Value) -> Vec<String> {
    let mut bodies: Vec<&Value> = store_values(raw).collect();
    for rule in raw.get("rules").and_then(Value::as_array).into_iter().flatten() {
        bodies.extend(store_values(rule));
        match rule.get("respond") {
            Some(Value::Array(responses)) => bodies.extend(responses.iter().filter_map(|r| r.get("body"))),
            Some(response) => bodies.extend(response.get("body")),
            None => {}
        }
        sends(rule.get("stream"), &mut bodies);
    }
    bodies
        .iter()
        .filter_map(|body| body.get("fixture")?.as_str())
        .map(str::to_string)
        .collect()
}

fn store_values(holder: &Value) -> impl Iterator<Item = &Value> {
    holder
        .get("store")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|store| store.values())
}

/// The `send:` bodies of stream steps, `repeat` steps included.
fn sends<'a>(steps: Option<&'a Value>, bodies: &mut Vec<&'a Value>) {
    for step in steps.and_then(Value::as_array).into_iter().flatten() {
        bodies.extend(step.get("send"));
        sends(step.get("steps"), bodies);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_are_found_in_every_kind_of_body() {
        let raw = serde_json::json!({
            "store": {"user": {"fixture": "a.json"}},
            "rules": [
                {"store": {"x": {"fixture": "b.json"}}, "respond": {"status": 200, "body": {"fixture": "c.json"}}},
                {"respond": [{"status": 200}, {"status": 500, "body": {"fixture": "d.json"}}]},
                {"stream": [{"send": {"fixture": "e.json"}}, {"repeat": 2, "steps": [{"send": {"fixture": "f.json"}}]}]},
                {"respond": {"status": 200, "body": {"json": {"fixture": "not-a-reference"}}}}
            ]
        });
        assert_eq!(
            referenced_fixtures(&raw),
            ["a.json", "b.json", "c.json", "d.json", "e.json", "f.json"]
        );
    }
}
