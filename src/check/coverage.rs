//! Which documented statuses a client can get without `Prefer: code=N`: for
//! every operation and concrete status, the scenario rules that answer it,
//! the spec's default answer, and the mock's own 426 for a WebSocket.

use std::collections::{BTreeMap, BTreeSet};

use super::report::Pair;
use crate::scenario::{Catalog, Fault, Reaction, Rule, Scenario};
use crate::spec::{Operation, Spec, StatusKey};

/// No rule matching: the operation's default response.
const NO_RULE: &str = "spec default (no rule)";
/// A plain request to an `x-websocket` operation: the mock answers 426 itself.
const PLAIN_HTTP: &str = "plain HTTP request (the mock answers 426)";

pub(super) fn coverage(spec: &Spec, catalog: &Catalog) -> Vec<Pair> {
    let rules = own_rules(catalog);
    let mut pairs = Vec::new();
    for (index, operation) in spec.operations.iter().enumerate() {
        for status in documented_statuses(operation) {
            let mut reached_by: Vec<String> = rules
                .iter()
                .filter(|(_, rule)| rule.operation == index && reaches(rule, operation, status))
                .map(|(name, _)| name.clone())
                .collect();
            if success(operation) == Some(status) {
                reached_by.push(NO_RULE.to_string());
            }
            if operation.websocket && status == 426 {
                reached_by.push(PLAIN_HTTP.to_string());
            }
            pairs.push(Pair {
                spec: spec.group_of(operation).map(str::to_string),
                operation: operation.id.clone(),
                status,
                reached_by,
            });
        }
    }
    pairs
}

/// The documented statuses each operation answers through `scenario`'s
/// rules (those it inherits too): what a session in it can be answered
/// besides the spec's defaults. Keyed by operationId; an operation whose
/// rules reach no documented status (they only reset the connection, say)
/// is not listed.
pub(crate) fn reached_by(spec: &Spec, scenario: &Scenario) -> BTreeMap<String, BTreeSet<u16>> {
    let mut reached: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    for rule in &scenario.rules {
        let operation = &spec.operations[rule.operation];
        let statuses: BTreeSet<u16> = documented_statuses(operation)
            .filter(|status| reaches(rule, operation, *status))
            .collect();
        if !statuses.is_empty() {
            reached.entry(operation.id.clone()).or_default().extend(statuses);
        }
    }
    reached
}

/// `reached_by` grouped by the stem of each operation's spec, when several
/// are served (`None` with one).
pub(crate) fn reached_by_spec(
    spec: &Spec,
    scenario: &Scenario,
) -> Option<BTreeMap<String, BTreeMap<String, BTreeSet<u16>>>> {
    let mut grouped: BTreeMap<String, BTreeMap<String, BTreeSet<u16>>> = BTreeMap::new();
    for (id, statuses) in reached_by(spec, scenario) {
        let stem = spec.operation(&id).and_then(|operation| spec.group_of(operation))?;
        grouped.entry(stem.to_string()).or_default().insert(id, statuses);
    }
    (spec.documents.len() > 1).then_some(grouped)
}

/// The concrete statuses an operation documents (not `default` nor `4XX`).
fn documented_statuses(operation: &Operation) -> impl Iterator<Item = u16> + '_ {
    operation.responses.iter().filter_map(|response| match response.status {
        StatusKey::Code(status) => Some(status),
        _ => None,
    })
}

/// Every rule that can answer, once, named after the scenario whose file
/// defines it (`vanity-taken rules[0]`), with its states: a scenario that
/// `extends` another holds the parent's rules too.
fn own_rules(catalog: &Catalog) -> Vec<(String, &Rule)> {
    let mut rules = Vec::new();
    for scenario in catalog.scenarios() {
        for rule in &scenario.rules {
            let own = rule
                .label
                .strip_prefix(scenario.file.as_str())
                .and_then(|rest| rest.strip_prefix(' '));
            let Some(index) = own else { continue };
            let mut name = format!("{} {index}", scenario.name);
            if !rule.states.is_empty() {
                name.push_str(&format!(" (state: {})", rule.states.join(" or ")));
            }
            rules.push((name, rule.as_ref()));
        }
    }
    rules
}

fn reaches(rule: &Rule, operation: &Operation, status: u16) -> bool {
    match &rule.reaction {
        // A reset connection never shows the client its status.
        Reaction::Respond { responses, .. } => responses
            .iter()
            .any(|response| response.status == status && response.fault != Some(Fault::Reset)),
        // A scripted stream's frames are the success response's messages.
        Reaction::Stream(_) => success(operation) == Some(status),
    }
}

/// The status of the operation's default response, when it is a concrete one.
fn success(operation: &Operation) -> Option<u16> {
    match operation.default_response()?.status {
        StatusKey::Code(status) => Some(status),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::Fixtures;
    use crate::render::Responder;
    use crate::scenario::{load_catalog, ScenarioSource};

    const SPEC: &str = "openapi: 3.0.3
info: { title: coverage, version: '1' }
paths:
  /a:
    get:
      operationId: a
      responses:
        '200': { description: ok }
        '500': { description: down }
        '503': { description: busy }
        default: { description: anything else }
";

    fn scenario(file_name: &str, text: &str) -> ScenarioSource {
        ScenarioSource {
            file_name: file_name.to_string(),
            label: format!("scenarios/{file_name}"),
            text: text.to_string(),
        }
    }

    #[test]
    fn resets_reach_nothing_and_inherited_rules_count_once() {
        let spec = crate::spec::load_text("spec.yaml", SPEC, None).expect("the spec loads");
        let fixtures = Fixtures::default();
        let responder = Responder::build(&spec, &fixtures, 0, &mut Vec::new()).expect("bodies render");
        let sources = vec![
            scenario(
                "base.yaml",
                "rules:\n  - when: { operation: a }\n    respond: [{ status: 500, fault: reset }, { status: 503 }]\n",
            ),
            scenario(
                "child.yaml",
                "extends: base\ninitial: x\nrules:\n  - when: { operation: a, state: [x, y] }\n    respond: { status: 500 }\n    then: { state: y }\n",
            ),
        ];
        let catalog = load_catalog(sources, &spec, &responder, &fixtures, 0).expect("scenarios load");
        let pairs: Vec<(u16, Vec<String>)> = coverage(&spec, &catalog)
            .into_iter()
            .map(|pair| (pair.status, pair.reached_by))
            .collect();
        assert_eq!(
            pairs,
            [
                (200, vec![NO_RULE.to_string()]),
                (500, vec!["child rules[0] (state: x or y)".to_string()]),
                (503, vec!["base rules[0]".to_string()]),
            ]
        );
        let child = catalog.get("child").expect("the child scenario");
        let reached: Vec<(String, Vec<u16>)> = reached_by(&spec, child)
            .into_iter()
            .map(|(operation, statuses)| (operation, statuses.into_iter().collect()))
            .collect();
        assert_eq!(
            reached,
            [("a".to_string(), vec![500, 503])],
            "its own rule and the inherited one"
        );
        let base = catalog.get("base").expect("the base scenario");
        let only_resets = vec![scenario(
            "resets.yaml",
            "rules:\n  - when: { operation: a }\n    respond: { status: 500, fault: reset }\n",
        )];
        let catalog = load_catalog(only_resets, &spec, &responder, &fixtures, 0).expect("scenarios load");
        let resets = catalog.get("resets").expect("the resets scenario");
        assert!(
            reached_by(&spec, resets).is_empty(),
            "an operation no rule reaches a documented status of is not listed"
        );
        assert_eq!(reached_by(&spec, base).len(), 1);
    }
}
