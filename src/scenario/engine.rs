//! The pure decision: given a session's state and the facts of a request,
//! which scripted response (if any) answers it, and what the session
//! becomes. No I/O, no clock, no locks: the caller holds the session.

use std::sync::Arc;

use http::HeaderMap;
use serde_json::Value;

use super::{Rule, Scenario, Scripted};

/// What one session remembers between requests.
#[derive(Debug, Clone)]
pub struct SessionState {
    pub scenario: Option<Arc<Scenario>>,
    pub state: String,
    /// Matches so far, per rule of the scenario (drives sequences).
    pub counters: Vec<u64>,
}

impl SessionState {
    /// A session at the start of `scenario` (or with none: spec defaults).
    pub fn start(scenario: Option<Arc<Scenario>>) -> Self {
        let (state, rules) = match &scenario {
            Some(scenario) => (scenario.initial.clone(), scenario.rules.len()),
            None => (String::new(), 0),
        };
        Self {
            scenario,
            state,
            counters: vec![0; rules],
        }
    }

    pub fn scenario_name(&self) -> Option<&str> {
        self.scenario.as_deref().map(|s| s.name.as_str())
    }
}

/// The parts of a request rules can match on (all decoded).
pub struct Facts<'a> {
    pub operation: usize,
    pub body: Option<&'a Value>,
    pub query: &'a [(String, String)],
    pub headers: &'a HeaderMap,
    pub path: &'a [(String, String)],
}

/// The outcome of a match.
#[derive(Debug, Clone)]
pub struct Decision {
    pub rule: String,
    pub response: Scripted,
}

/// Finds the first matching rule, takes the next response of its sequence
/// and applies its state change.
pub fn decide(session: &mut SessionState, facts: &Facts<'_>) -> Option<Decision> {
    let scenario = session.scenario.clone()?;
    let (index, rule) = scenario
        .rules
        .iter()
        .enumerate()
        .find(|(_, rule)| matches(rule, &session.state, facts))?;
    let count = session.counters[index];
    session.counters[index] = count + 1;
    let last = rule.responses.len() as u64 - 1;
    let position = if rule.cycle {
        count % (last + 1)
    } else {
        count.min(last)
    };
    if let Some(state) = &rule.then_state {
        session.state = state.clone();
    }
    Some(Decision {
        rule: rule.label.clone(),
        response: rule.responses[position as usize].clone(),
    })
}

fn matches(rule: &Rule, state: &str, facts: &Facts<'_>) -> bool {
    rule.operation == facts.operation
        && (rule.states.is_empty() || rule.states.iter().any(|s| s == state))
        && rule
            .body
            .as_ref()
            .is_none_or(|expected| facts.body.is_some_and(|actual| contains(actual, expected)))
        && rule
            .query
            .iter()
            .all(|(name, value)| facts.query.iter().any(|(n, v)| n == name && v == value))
        && rule
            .path
            .iter()
            .all(|(name, value)| facts.path.iter().any(|(n, v)| n == name && v == value))
        && rule.headers.iter().all(|(name, value)| {
            facts
                .headers
                .get_all(name)
                .iter()
                .any(|v| v.to_str().is_ok_and(|v| v == value))
        })
}

/// `expected` is found in `actual`: objects by subset (recursively),
/// arrays item by item, anything else by equality.
pub fn contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(actual), Value::Object(expected)) => expected
            .iter()
            .all(|(key, value)| actual.get(key).is_some_and(|a| contains(a, value))),
        (Value::Array(actual), Value::Array(expected)) => {
            actual.len() == expected.len() && actual.iter().zip(expected).all(|(a, e)| contains(a, e))
        }
        _ => actual == expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Rendered;
    use serde_json::json;

    fn scripted(status: u16) -> Scripted {
        Scripted {
            rendered: Rendered {
                status,
                content_type: None,
                body: Default::default(),
                source: "test".into(),
                schema_mismatch: None,
            },
            headers: Vec::new(),
        }
    }

    fn rule(operation: usize, statuses: &[u16], cycle: bool) -> Rule {
        Rule {
            label: "test".into(),
            operation,
            states: Vec::new(),
            body: None,
            query: Vec::new(),
            headers: Vec::new(),
            path: Vec::new(),
            responses: statuses.iter().map(|s| scripted(*s)).collect(),
            cycle,
            then_state: None,
        }
    }

    fn scenario(rules: Vec<Rule>) -> Arc<Scenario> {
        Arc::new(Scenario {
            name: "t".into(),
            description: String::new(),
            file: "t.yaml".into(),
            initial: "start".into(),
            rules,
        })
    }

    fn facts<'a>(operation: usize, body: Option<&'a Value>, headers: &'a HeaderMap) -> Facts<'a> {
        Facts {
            operation,
            body,
            query: &[],
            headers,
            path: &[],
        }
    }

    fn statuses(session: &mut SessionState, operation: usize, n: usize) -> Vec<Option<u16>> {
        let headers = HeaderMap::new();
        (0..n)
            .map(|_| decide(session, &facts(operation, None, &headers)).map(|d| d.response.rendered.status))
            .collect()
    }

    #[test]
    fn a_sequence_repeats_its_last_response() {
        let mut session = SessionState::start(Some(scenario(vec![rule(0, &[404, 404, 200], false)])));
        assert_eq!(
            statuses(&mut session, 0, 5),
            vec![Some(404), Some(404), Some(200), Some(200), Some(200)]
        );
    }

    #[test]
    fn a_cycling_sequence_starts_over() {
        let mut session = SessionState::start(Some(scenario(vec![rule(0, &[500, 200], true)])));
        assert_eq!(
            statuses(&mut session, 0, 4),
            vec![Some(500), Some(200), Some(500), Some(200)]
        );
    }

    #[test]
    fn states_gate_rules_and_then_moves_the_session() {
        let mut signed_out = rule(0, &[511], false);
        signed_out.states = vec!["out".into()];
        let mut sign_in = rule(1, &[200], false);
        sign_in.then_state = Some("in".into());
        let mut session = SessionState::start(Some(scenario(vec![signed_out, sign_in])));
        session.state = "out".into();
        assert_eq!(statuses(&mut session, 0, 1), vec![Some(511)]);
        assert_eq!(statuses(&mut session, 1, 1), vec![Some(200)]);
        assert_eq!(session.state, "in");
        assert_eq!(
            statuses(&mut session, 0, 1),
            vec![None],
            "no rule matches in state `in`: spec default"
        );
    }

    #[test]
    fn body_matches_by_subset() {
        let mut taken = rule(0, &[409], false);
        taken.body = Some(json!({"vanityname": "mark"}));
        let mut session = SessionState::start(Some(scenario(vec![taken])));
        let headers = HeaderMap::new();
        let other = json!({"vanityname": "ada", "id": "1"});
        let mark = json!({"vanityname": "mark", "id": "1"});
        assert!(decide(&mut session, &facts(0, Some(&other), &headers)).is_none());
        assert!(decide(&mut session, &facts(0, Some(&mark), &headers)).is_some());
        assert!(decide(&mut session, &facts(0, None, &headers)).is_none());
    }

    #[test]
    fn subset_containment() {
        assert!(contains(
            &json!({"a": {"b": 1, "c": 2}, "d": 3}),
            &json!({"a": {"b": 1}})
        ));
        assert!(!contains(&json!({"a": {"b": 2}}), &json!({"a": {"b": 1}})));
        assert!(contains(&json!([1, {"x": 1, "y": 2}]), &json!([1, {"x": 1}])));
        assert!(!contains(&json!([1, 2]), &json!([1])));
    }
}
