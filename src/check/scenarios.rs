//! Scenario files, each on its own. The loader stops at the first problem,
//! so the catalog is loaded again without each file found broken, until it
//! loads. A file that extends a broken scenario is set aside with a note
//! instead of being reported for an unknown parent.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::fixtures::Fixtures;
use crate::locate::Locations;
use crate::render::Responder;
use crate::scenario::{load_catalog, Catalog, ScenarioSource};
use crate::spec::source::{parse_document, NodeBudget};
use crate::spec::Spec;

pub(super) struct ScenarioCheck {
    /// The scenarios that load.
    pub catalog: Catalog,
    pub problems: Vec<Diagnostic>,
    /// Files not checked because they extend a broken scenario.
    pub set_aside: Vec<Diagnostic>,
    /// The loader's warnings, as text that names the rule.
    pub warnings: Vec<String>,
    /// The fixtures the files name (broken files included).
    pub fixtures: BTreeSet<String>,
}

/// What the loader's retries need to know of a file before compiling it.
struct File {
    source: ScenarioSource,
    /// As the loader names it: `name:`, else the file name without extension.
    name: String,
    extends: Option<String>,
}

impl File {
    fn new(source: ScenarioSource, raw: Option<&Value>) -> Self {
        let field = |key: &str| {
            raw.and_then(|raw| raw.get(key))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let stem = source
            .file_name
            .rsplit_once('.')
            .map_or(source.file_name.as_str(), |(stem, _)| stem);
        Self {
            name: field("name").unwrap_or_else(|| stem.to_string()),
            extends: field("extends"),
            source,
        }
    }
}

pub(super) fn check(
    sources: Vec<ScenarioSource>,
    spec: &Spec,
    responder: &Responder,
    fixtures: &Fixtures,
    seed: u64,
) -> ScenarioCheck {
    let mut named_fixtures = BTreeSet::new();
    let mut remaining = Vec::new();
    for source in sources {
        let raw = parse_document(&source.label, &source.text, NodeBudget::Scenario).ok();
        if let Some(raw) = &raw {
            named_fixtures.extend(referenced_fixtures(raw));
        }
        remaining.push(File::new(source, raw.as_ref()));
    }
    let mut broken: Vec<String> = Vec::new();
    let mut problems = Vec::new();
    let mut set_aside = Vec::new();
    loop {
        while let Some(index) = remaining.iter().position(|file| {
            file.extends
                .as_ref()
                .is_some_and(|parent| broken.contains(parent) && !remaining.iter().any(|other| other.name == *parent))
        }) {
            let file = remaining.remove(index);
            let message = format!(
                "not checked: it extends `{}`, which has problems",
                file.extends.as_deref().unwrap_or_default()
            );
            let diagnostic = Diagnostic::at_pointer(&file.source.label, "/extends", message);
            set_aside.push(Locations::of_yaml(&file.source.text).locate(diagnostic));
            broken.push(file.name);
        }
        let mut warnings = Vec::new();
        let sources = remaining.iter().map(|file| file.source.clone()).collect();
        match load_catalog(sources, spec, responder, fixtures, seed, &mut warnings) {
            Ok(catalog) => {
                return ScenarioCheck {
                    catalog,
                    problems,
                    set_aside,
                    warnings,
                    fixtures: named_fixtures,
                }
            }
            Err(diagnostic) => {
                let index = remaining.iter().position(|file| file.source.label == diagnostic.file);
                problems.push(diagnostic);
                match index {
                    Some(index) => broken.push(remaining.remove(index).name),
                    // Not one file's problem: there is nothing to leave out and retry.
                    None => {
                        return ScenarioCheck {
                            catalog: Catalog::default(),
                            problems,
                            set_aside,
                            warnings: Vec::new(),
                            fixtures: named_fixtures,
                        }
                    }
                }
            }
        }
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
