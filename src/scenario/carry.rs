//! A session carried into a reloaded configuration. Its scenario, counters
//! and render caches point into the configuration it was last mapped to, by
//! index; in the new one the same scenario is found by name, each counter by
//! its rule's label and operationId, and the rest starts afresh.

use std::sync::Arc;

use super::engine::SessionState;
use super::{Catalog, Scenario};

impl Scenario {
    /// Whether a session of this scenario can be in `state`: the initial
    /// one, or one its rules match on or move to.
    pub fn has_state(&self, state: &str) -> bool {
        self.initial == state
            || self
                .rules
                .iter()
                .any(|rule| rule.states.iter().any(|s| s == state) || rule.then_state.as_deref() == Some(state))
    }
}

impl SessionState {
    /// Maps the session to the configuration `generation`, whose scenarios
    /// are `catalog` and whose sessions start in `start`. Its scenario, by
    /// name: the state if the scenario still has it (else the initial one),
    /// the store, and the counters of rules whose label and operation are
    /// unchanged (the others from zero). A scenario the reload removed: the
    /// session starts `start` afresh, with a notice saying so. No scenario
    /// (none was there to start in): `start`, as a new session would.
    pub fn carry_into(&mut self, catalog: &Catalog, start: Option<&Arc<Scenario>>, generation: u64, reloaded_at: &str) {
        let old = self.scenario.clone();
        match (old.as_ref().and_then(|old| catalog.get(&old.name)), old) {
            (Some(new), Some(old)) => {
                self.counters = new
                    .rules
                    .iter()
                    .map(|rule| {
                        let same = |(o, _): &(&Arc<super::Rule>, _)| {
                            o.label == rule.label && o.operation_id == rule.operation_id
                        };
                        let before = old.rules.iter().zip(&self.counters).find(same);
                        before.map_or(0, |(_, calls)| *calls)
                    })
                    .collect();
                if !new.has_state(&self.state) {
                    self.state = new.initial.clone();
                }
                self.scenario = Some(new.clone());
                // Keyed by rule index, which may now be another rule.
                self.renders.clear();
                self.changes += 1;
            }
            (None, Some(removed)) => {
                let moved_to = start.map_or("no scenario (the spec's own answers)".to_string(), |s| {
                    format!("`{}`", s.name)
                });
                self.restart(start.cloned());
                self.notice = Some(format!(
                    "scenario `{}` was removed by the reload at {reloaded_at}; moved to {moved_to}",
                    removed.name
                ));
            }
            (_, None) => self.restart(start.cloned()),
        }
        self.generation = generation;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Reaction, Rule};
    use super::*;

    fn rule(label: &str, operation_id: &str, states: &[&str], then: Option<&str>) -> Arc<Rule> {
        Arc::new(Rule {
            label: label.into(),
            operation: 0,
            operation_id: operation_id.into(),
            states: states.iter().map(|s| s.to_string()).collect(),
            body: None,
            query: Vec::new(),
            headers: Vec::new(),
            path: Vec::new(),
            reaction: Reaction::Respond {
                responses: Vec::new(),
                cycle: false,
            },
            times: None,
            store: Vec::new(),
            forget: Vec::new(),
            then_state: then.map(str::to_string),
        })
    }

    fn scenario(name: &str, rules: Vec<Arc<Rule>>) -> Arc<Scenario> {
        Arc::new(Scenario {
            name: name.into(),
            description: String::new(),
            file: format!("{name}.yaml"),
            initial: "start".into(),
            store: Arc::default(),
            rules,
            replay: false,
        })
    }

    fn catalog(scenarios: &[&Arc<Scenario>]) -> Catalog {
        Catalog {
            by_name: scenarios.iter().map(|s| (s.name.clone(), Arc::clone(s))).collect(),
        }
    }

    const AT: &str = "2026-12-06T08:00:00Z";

    #[test]
    fn counters_follow_their_rule_by_label_and_operation() {
        let before = scenario(
            "flow",
            vec![
                rule("flow.yaml rules[0]", "a", &[], None),
                rule("flow.yaml rules[1]", "b", &[], None),
                rule("flow.yaml rules[2]", "c", &[], None),
            ],
        );
        let mut session = SessionState::start(Some(before));
        session.counters = vec![3, 5, 7];
        let after = scenario(
            "flow",
            vec![
                // rules[1] kept its label and operation, now first of a longer list.
                rule("flow.yaml rules[1]", "b", &[], None),
                // rules[0] now answers another operation: counted afresh.
                rule("flow.yaml rules[0]", "z", &[], None),
                rule("flow.yaml rules[2]", "c", &[], None),
                rule("flow.yaml rules[3]", "d", &[], None),
            ],
        );
        session.carry_into(&catalog(&[&after]), None, 2, AT);
        assert_eq!(session.counters, vec![5, 0, 7, 0]);
        assert!(Arc::ptr_eq(session.scenario.as_ref().unwrap(), &after));
        assert_eq!(session.generation, 2);
        assert_eq!(session.notice, None);
    }

    #[test]
    fn the_state_is_kept_while_the_scenario_has_it_and_the_store_always() {
        let with_paid = |name| scenario(name, vec![rule("r0", "a", &["cart"], Some("paid"))]);
        let mut session = SessionState::start(Some(with_paid("shop")));
        session.state = "paid".into();
        let store = Arc::new(super::super::Store::default());
        session.store = store.clone();
        let still = with_paid("shop");
        session.carry_into(&catalog(&[&still]), None, 2, AT);
        assert_eq!(session.state, "paid", "a state a rule moves to");
        assert!(Arc::ptr_eq(&session.store, &store), "the store is the session's own");

        let without = scenario("shop", vec![rule("r0", "a", &["cart"], None)]);
        session.carry_into(&catalog(&[&without]), None, 3, AT);
        assert_eq!(
            session.state, "start",
            "no rule knows `paid` any more: the initial state"
        );
        assert!(Arc::ptr_eq(&session.store, &store));
        assert!(without.has_state("cart"), "a state a rule matches on");
    }

    #[test]
    fn a_removed_scenario_moves_the_session_to_the_start_one_with_a_notice() {
        let gone = scenario("gone", vec![rule("r0", "a", &[], Some("later"))]);
        let default = scenario("default", vec![rule("d0", "a", &[], None)]);
        let mut session = SessionState::start(Some(gone));
        session.state = "later".into();
        session.counters = vec![4];
        session.carry_into(&catalog(&[&default]), Some(&default), 5, AT);
        assert_eq!(session.scenario_name(), Some("default"));
        assert_eq!(
            (session.state.as_str(), session.counters.as_slice()),
            ("start", &[0][..])
        );
        assert_eq!(
            session.notice.as_deref(),
            Some("scenario `gone` was removed by the reload at 2026-12-06T08:00:00Z; moved to `default`")
        );
        assert_eq!(session.generation, 5);
        // Moving it on purpose reads the notice.
        session.restart(Some(default));
        assert_eq!((session.notice.as_deref(), session.generation), (None, 5));
    }

    #[test]
    fn a_session_in_no_scenario_starts_the_new_start_scenario() {
        let default = scenario("default", Vec::new());
        let mut session = SessionState::start(None);
        session.carry_into(&catalog(&[&default]), Some(&default), 2, AT);
        assert_eq!(session.scenario_name(), Some("default"));
        assert_eq!(session.notice, None);
    }
}
