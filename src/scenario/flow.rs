//! Values followed to the responses that send them, before the server
//! starts. A value written to the store (a scenario's `store:`, a rule's
//! `store:`) reaches every response that reads its key (`from: store.KEY`,
//! `{{store.KEY}}`, under `merge` too) in a state where that response can be
//! sent after the write; a templated body is checked with its templated
//! parts unknown (`partial.rs`), like a static body, wherever it is. A
//! static part that breaks the response's schema is reported where it was
//! written: the fixture, the store entry or the body, naming the response.
//!
//! Only values that can really get there are reported (an approximation
//! that misses some, never invents one, for a mock without `--lenient`):
//! - the states a session can be in, and what each store key may hold in
//!   each, are found from the initial state by rules that can fire there:
//!   the state matches, and no earlier rule answers every request this one
//!   would (one with `times` only if firing it changes nothing); rules with
//!   `times` are left out of the paths, so every counter on them is zero;
//! - a rule whose `when.body` has a static part the request schema refuses
//!   fires nowhere (it still hides the rules after it); any other `when`
//!   (query, headers, path parameters) is taken as something a request can
//!   meet, so a rule asking for a query value its parameter's schema
//!   refuses is followed as if a request could reach it;
//! - a write whose template reads other store keys is followed with one of
//!   them known at a time, the others unknown; a write that may render
//!   nothing (an optional request body) leaves the key's old values too;
//! - a response of a sequence is checked with a followed value when every
//!   position can be reached with that value (the rule keeps the state and
//!   does not write the key), else only the first, on paths without the
//!   rule;
//! - the whole check takes at most `STEPS` steps (a rule compared with an
//!   earlier one or tried in a state, a value rendered, a rule on the way
//!   to a value looked at): past them, values
//!   are followed no further, with a warning naming the scenario's file.
//!
//! Not followed: stream scripts' frames (the store changes while a stream
//! runs), values read from the request (unknown: a lenient mock passes any
//! body), response headers (no schema is checked there).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use super::findings::{Context, Findings};
use super::partial::Partial;
use super::placed::{initial_store, placed_rules, waits_for, File, Placed};
use super::template::{Expr, Template};
use super::{BodyTemplate, Catalog, Reaction, ScenarioSource};
use crate::diagnostic::Diagnostic;
use crate::fixtures::Fixtures;
use crate::spec::parse::{parse_document, NodeBudget};
use crate::spec::Spec;

/// Values kept per store key and state; more are not followed (fewer
/// reports, never a wrong one).
const VALUES_PER_KEY: usize = 16;
/// Steps the check takes in all, whatever the files (about half a second
/// in a release build): the shipped ones need about 900, a generated file
/// of 800 rules in 400 states about 200,000.
pub const STEPS: usize = 500_000;

/// What following values found: problems, and a warning for each file
/// whose values were followed only part of the way.
pub struct Followed {
    pub problems: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

/// Every static value that breaks the schema of a response it reaches,
/// located where it was written (a file whose values were followed only
/// part of the way is logged as a warning).
pub fn check_values(
    catalog: &Catalog,
    spec: &Spec,
    fixtures: &Fixtures,
    sources: &[ScenarioSource],
) -> Vec<Diagnostic> {
    let followed = follow_values(catalog, spec, fixtures, sources, STEPS);
    for warning in &followed.warnings {
        tracing::warn!("{warning}");
    }
    followed.problems
}

/// `check_values` within `steps`, the warnings returned.
pub fn follow_values(
    catalog: &Catalog,
    spec: &Spec,
    fixtures: &Fixtures,
    sources: &[ScenarioSource],
    steps: usize,
) -> Followed {
    let files: HashMap<&str, File> = sources
        .iter()
        .filter_map(|source| {
            let raw = parse_document(&source.label, &source.text, NodeBudget::Scenario).ok()?;
            let file = File {
                label: Arc::from(source.label.as_str()),
                raw,
            };
            Some((source.label.as_str(), file))
        })
        .collect();
    let mut found = Findings::default();
    let mut budget = Budget {
        left: steps,
        spent: false,
    };
    let mut warnings: Vec<Diagnostic> = Vec::new();
    for scenario in catalog.scenarios() {
        if let Some(rules) = placed_rules(scenario, catalog, &files, spec, fixtures) {
            let initial = initial_store(scenario, catalog, &files, fixtures);
            Paths::new(&rules, &scenario.initial, initial, &mut budget).check(&mut found, &mut budget);
            if budget.spent && !warnings.iter().any(|w| w.file == scenario.file) {
                let message = format!(
                    "store values of scenario `{}` followed only part of the way: the check's {steps} steps are spent, so some responses were not checked with the values they may send",
                    scenario.name
                );
                warnings.push(Diagnostic::in_file(scenario.file.clone(), message));
            }
        }
    }
    Followed {
        problems: found.located(sources, fixtures),
        warnings,
    }
}

/// What is left of the steps the check may take.
struct Budget {
    left: usize,
    /// A step was refused: something was not followed.
    spent: bool,
}

impl Budget {
    /// Takes `steps`; false (and nothing taken) when fewer are left.
    fn spend(&mut self, steps: usize) -> bool {
        match self.left.checked_sub(steps) {
            Some(left) if !self.spent => self.left = left,
            _ => self.spent = true,
        }
        !self.spent
    }
}

/// The store keys a template reads.
fn store_keys(template: &BodyTemplate) -> Vec<&str> {
    let mut keys: Vec<&str> = template
        .base
        .expressions()
        .into_iter()
        .chain(template.merge.iter().flat_map(Template::expressions))
        .filter_map(|expr| match expr {
            Expr::Store(key, _) => Some(key.as_str()),
            _ => None,
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The rules a session fired to get somewhere, the last first.
#[derive(Clone, Default)]
struct Trail(Option<Arc<Step>>);

struct Step {
    rule: usize,
    before: Trail,
}

impl Trail {
    fn then(&self, rule: usize) -> Trail {
        Trail(Some(Arc::new(Step {
            rule,
            before: self.clone(),
        })))
    }

    /// Whether it fires `rule`; `None` when `budget` (a step a rule looked
    /// at) is spent before that is known.
    fn uses(&self, rule: usize, budget: &mut Budget) -> Option<bool> {
        let mut at = &self.0;
        while let Some(step) = at {
            budget.spend(1).then_some(())?;
            if step.rule == rule {
                return Some(true);
            }
            at = &step.before.0;
        }
        Some(false)
    }
}

/// A value a store key may hold, and one way a session gets it there.
#[derive(Clone)]
struct Held {
    value: Arc<Partial>,
    trail: Trail,
}

/// What each store key may hold (values with nothing known are left out).
type Store = BTreeMap<String, Vec<Held>>;

/// Adds to `held` those of `values` it lacks, each reached by firing `via`
/// after its own trail (if given); whether any was new.
fn add(held: &mut Vec<Held>, values: &[Held], via: Option<usize>) -> bool {
    let mut added = false;
    for candidate in values {
        let value = &candidate.value;
        let known = held.iter().any(|h| Arc::ptr_eq(&h.value, value) || h.value == *value);
        if !known && held.len() < VALUES_PER_KEY {
            let trail = via.map_or_else(|| candidate.trail.clone(), |rule| candidate.trail.then(rule));
            held.push(Held {
                value: value.clone(),
                trail,
            });
            added = true;
        }
    }
    added
}

/// The keys a rule writes or forgets, with what each may hold after it
/// fired; a key listed twice holds what the last entry says.
type Writes = Vec<(String, Vec<Held>)>;

/// A state a session can be in: one way to get there, and what its store may hold.
#[derive(Clone)]
struct Reached {
    trail: Trail,
    store: Store,
}

/// One scenario's rules, followed from its initial state (state 0).
struct Paths<'r, 'a> {
    rules: &'r [Placed<'a>],
    store: Store,
    states: usize,
    /// Per rule, the state it moves to (`None`: it stays).
    next: Vec<Option<usize>>,
    /// Per rule, the states where it answers some request (on paths that
    /// never fired a rule with `times`).
    fires_in: Vec<Vec<usize>>,
    /// Per state, the rules without `times` that answer some request there.
    paths_from: Vec<Vec<usize>>,
}

impl<'r, 'a> Paths<'r, 'a> {
    /// The rules' states numbered and where each rule fires, found once.
    /// With `budget` spent before that is known, no rule is followed.
    fn new(rules: &'r [Placed<'a>], initial: &'r str, store: BTreeMap<String, Partial>, budget: &mut Budget) -> Self {
        let mut numbers: HashMap<&str, usize> = HashMap::from([(initial, 0)]);
        let mut names = vec![initial];
        let named = rules
            .iter()
            .flat_map(|p| p.rule.states.iter().chain(&p.rule.then_state));
        for name in named {
            numbers.entry(name.as_str()).or_insert_with(|| {
                names.push(name.as_str());
                names.len() - 1
            });
        }
        let next = rules
            .iter()
            .map(|p| p.rule.then_state.as_ref().map(|name| numbers[name.as_str()]))
            .collect();
        let store = store
            .into_iter()
            .map(|(key, value)| {
                let held = Held {
                    value: Arc::new(value),
                    trail: Trail::default(),
                };
                (key, vec![held])
            })
            .collect();
        let mut paths = Self {
            rules,
            store,
            states: names.len(),
            next,
            fires_in: vec![Vec::new(); rules.len()],
            paths_from: vec![Vec::new(); names.len()],
        };
        if paths.find_firing(&names, &numbers, budget).is_none() {
            paths.fires_in.iter_mut().for_each(Vec::clear);
            paths.paths_from.iter_mut().for_each(Vec::clear);
        }
        paths
    }

    /// Where each rule answers some request: in a state it waits for where
    /// no earlier rule answers all its requests for good (one with `times`
    /// does until it has fired that often: only then if that changed nothing).
    fn find_firing(&mut self, names: &[&str], numbers: &HashMap<&str, usize>, budget: &mut Budget) -> Option<()> {
        let rules = self.rules;
        // Earlier rules that answer every request a rule would, in a state both wait for.
        let mut by_operation: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut covering: Vec<Vec<usize>> = Vec::with_capacity(rules.len());
        for (index, placed) in rules.iter().enumerate() {
            let earlier = by_operation.entry(placed.rule.operation).or_default();
            budget.spend(earlier.len()).then_some(())?;
            covering.push(
                earlier
                    .iter()
                    .copied()
                    .filter(|&e| placed.covered_by(&rules[e]))
                    .collect(),
            );
            earlier.push(index);
        }
        for (index, placed) in rules.iter().enumerate() {
            if placed.rule.times == Some(0) || !placed.matchable {
                continue;
            }
            let waits: Vec<usize> = match placed.rule.states.is_empty() {
                true => (0..names.len()).collect(),
                false => placed.rule.states.iter().map(|name| numbers[name.as_str()]).collect(),
            };
            for state in waits {
                budget.spend(1 + covering[index].len()).then_some(())?;
                let name = names[state];
                let hidden = covering[index].iter().any(|&e| {
                    let earlier = &rules[e];
                    waits_for(earlier.rule, name) && !(earlier.rule.times.is_some() && earlier.inert(name))
                });
                if !hidden && !self.fires_in[index].contains(&state) {
                    self.fires_in[index].push(state);
                    if placed.rule.times.is_none() {
                        self.paths_from[state].push(index);
                    }
                }
            }
        }
        Some(())
    }

    /// What firing rule `index` in `state` does to the keys it writes
    /// (in order: a write reads those before it) and forgets; `None` when
    /// `budget` is spent before it is known.
    fn writes(&self, index: usize, state: &Reached, budget: &mut Budget) -> Option<Writes> {
        let placed = &self.rules[index];
        let mut writes: Writes = Vec::new();
        for ((key, template), origins) in placed.rule.store.iter().zip(&placed.writes) {
            let held = |writes: &Writes, key: &str| -> Vec<Held> {
                match writes.iter().rev().find(|(k, _)| k == key) {
                    Some((_, values)) => values.clone(),
                    None => {
                        let before = state.store.get(key).map_or(&[][..], Vec::as_slice);
                        let mut after = Vec::new();
                        add(&mut after, before, Some(index));
                        after
                    }
                }
            };
            budget.spend(1).then_some(())?;
            let fired = state.trail.then(index);
            let mut values: Vec<(Partial, Trail)> = placed
                .render(template, origins, None)
                .into_iter()
                .map(|value| (value, fired.clone()))
                .collect();
            for read in store_keys(template) {
                for held in held(&writes, read) {
                    budget.spend(1).then_some(())?;
                    let rendered = placed.render(template, origins, Some((read, &held.value)));
                    values.extend(rendered.into_iter().map(|value| (value, held.trail.clone())));
                }
            }
            let fresh: Vec<Held> = values
                .into_iter()
                .filter(|(value, _)| *value != Partial::Unknown)
                .map(|(value, trail)| Held {
                    value: Arc::new(value),
                    trail,
                })
                .collect();
            let mut after = Vec::new();
            add(&mut after, &fresh, None);
            // A write that renders nothing leaves the key as it was.
            if matches!(&template.base, Template::Expr(expr) if placed.may_lack(expr)) {
                add(&mut after, &held(&writes, key), None);
            }
            writes.push((key.clone(), after));
        }
        for key in &placed.rule.forget {
            writes.push((key.clone(), Vec::new()));
        }
        Some(writes)
    }

    /// The states a session can reach and what each one's store may hold:
    /// each state's rules fired again whenever its store gained a value.
    /// With `budget` spent, fewer (all of them reachable).
    fn states(&self, budget: &mut Budget) -> Vec<Option<Reached>> {
        let mut reached: Vec<Option<Reached>> = vec![None; self.states];
        reached[0] = Some(Reached {
            trail: Trail::default(),
            store: self.store.clone(),
        });
        let mut queued = vec![false; self.states];
        queued[0] = true;
        let mut queue = VecDeque::from([0]);
        while let Some(state) = queue.pop_front() {
            queued[state] = false;
            let Some(from) = reached[state].clone() else { continue };
            for &index in &self.paths_from[state] {
                let Some(writes) = self.writes(index, &from, budget) else {
                    return reached;
                };
                let next = self.next[index].unwrap_or(state);
                if join(&mut reached[next], &from, index, writes) && !queued[next] {
                    queued[next] = true;
                    queue.push_back(next);
                }
            }
        }
        reached
    }

    /// Every templated response, checked with the store unknown, then with
    /// each value a key it reads may hold where it can be sent.
    fn check(&self, found: &mut Findings, budget: &mut Budget) {
        let states = self.states(budget);
        for (index, placed) in self.rules.iter().enumerate() {
            let sequence = match &placed.rule.reaction {
                Reaction::Respond { responses, .. } => responses.len(),
                Reaction::Stream(_) => 0,
            };
            // States reached where the rule fires.
            let fires: Vec<(usize, &Reached)> = self.fires_in[index]
                .iter()
                .filter_map(|&state| Some((state, states[state].as_ref()?)))
                .collect();
            for (position, template, media, status) in placed.templated() {
                let origins = &placed.bodies[position];
                let context = Context { placed, media, status };
                // With the store unknown, a body is the same in every scenario: checked in its own.
                if placed.own {
                    for value in placed.render(template, origins, None) {
                        found.add(&context, value);
                    }
                }
                for key in store_keys(template) {
                    // The values the key may hold when the response is rendered.
                    let mut held = Vec::new();
                    // Firing again and again in a state reaches every position
                    // of a sequence, with the key as it was.
                    let repeatable = |state: usize| {
                        self.next[index].is_none_or(|next| next == state)
                            && placed.rule.store.iter().all(|(k, _)| k != key)
                            && !placed.rule.forget.iter().any(|k| k == key)
                            && placed.rule.times.is_none_or(|times| (position as u64) < times)
                    };
                    for (state, reached) in &fires {
                        if sequence == 1 || repeatable(*state) {
                            self.follow(index, key, reached, &mut held, budget);
                        } else if position == 0 {
                            // The first response of a sequence, on a way there that never used the rule.
                            if let Some(before) = without(reached, index, budget) {
                                self.follow(index, key, &before, &mut held, budget);
                            }
                        }
                    }
                    for value in &held {
                        if !budget.spend(1) {
                            break;
                        }
                        for rendered in placed.render(template, origins, Some((key, &value.value))) {
                            found.add(&context, rendered);
                        }
                    }
                }
            }
        }
    }

    /// Adds to `held` what `key` may hold once rule `index` fired in `state`.
    fn follow(&self, index: usize, key: &str, state: &Reached, held: &mut Vec<Held>, budget: &mut Budget) {
        let Some(writes) = self.writes(index, state, budget) else {
            return;
        };
        let after = match writes.iter().rev().find(|(k, _)| k == key) {
            Some((_, values)) => values,
            None => state.store.get(key).map_or(&[][..], Vec::as_slice),
        };
        add(held, after, None);
    }
}

/// `state` as far as it is known to be reached without firing `rule`: the
/// values whose way there does not use it; `None` if the way to the state
/// does, or `budget` is spent before that is known.
fn without(state: &Reached, rule: usize, budget: &mut Budget) -> Option<Reached> {
    if state.trail.uses(rule, budget)? {
        return None;
    }
    let mut store = Store::new();
    for (key, values) in &state.store {
        let mut kept = Vec::new();
        for held in values {
            if !held.trail.uses(rule, budget)? {
                kept.push(held.clone());
            }
        }
        store.insert(key.clone(), kept);
    }
    Some(Reached {
        trail: state.trail.clone(),
        store,
    })
}

/// Adds to `target` what a state's store holds after rule `index` fired
/// `from` another with `writes`; whether it gained anything.
fn join(target: &mut Option<Reached>, from: &Reached, index: usize, writes: Writes) -> bool {
    let unwritten = |key: &String| !writes.iter().any(|(k, _)| k == key);
    let Some(target) = target else {
        let mut store = Store::new();
        for (key, values) in from.store.iter().filter(|(key, _)| unwritten(key)) {
            add(store.entry(key.clone()).or_default(), values, Some(index));
        }
        store.extend(writes);
        *target = Some(Reached {
            trail: from.trail.then(index),
            store,
        });
        return true;
    };
    let mut changed = false;
    for (key, values) in from.store.iter().filter(|(key, _)| unwritten(key)) {
        changed |= add(target.store.entry(key.clone()).or_default(), values, Some(index));
    }
    for (position, (key, values)) in writes.iter().enumerate() {
        let last = !writes[position + 1..].iter().any(|(k, _)| k == key);
        if last {
            changed |= add(target.store.entry(key.clone()).or_default(), values, None);
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Responder;
    use crate::scenario::load_catalog;

    const PROFILE: &str =
        "{\n  \"id\": \"u1\",\n  \"aesthetics\": {\"theme\": {\"dark\": true}, \"font\": {\"size\": 12}}\n}\n";
    const BROKEN: &str = "{\n  \"id\": \"u1\",\n  \"aesthetics\": \"dark\"\n}\n";

    /// The shipped spec, the fixtures `good.json` and `bad.json`, and one
    /// scenario file `s.yaml`, loaded.
    fn loaded(scenario: &str) -> (Catalog, Spec, Fixtures, Vec<ScenarioSource>) {
        let spec = crate::spec::load_text("openapi.yaml", include_str!("../../openapi.yaml"), None).unwrap();
        let fixtures = Fixtures::from_files(vec![
            ("good.json".into(), "fixtures/good.json".into(), PROFILE.into()),
            ("bad.json".into(), "fixtures/bad.json".into(), BROKEN.into()),
        ])
        .unwrap();
        let responder = Responder::build(&spec, &fixtures, 0, &mut Vec::new()).unwrap();
        let sources = vec![ScenarioSource {
            file_name: "s.yaml".into(),
            label: "s.yaml".into(),
            text: scenario.into(),
        }];
        let catalog = load_catalog(sources.clone(), &spec, &responder, &fixtures, 0).unwrap();
        (catalog, spec, fixtures, sources)
    }

    /// `check_values` on what `loaded` loads.
    fn findings(scenario: &str) -> Vec<String> {
        let (catalog, spec, fixtures, sources) = loaded(scenario);
        check_values(&catalog, &spec, &fixtures, &sources)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn an_initial_value_is_reported_at_its_fixture_for_each_response_it_reaches() {
        let found = findings(
            "store: { user: { fixture: bad.json } }\nrules:\n  - when: { operation: refresh-user }\n    respond: { status: 200, body: { from: store.user } }\n",
        );
        assert_eq!(
            found,
            ["fixtures/bad.json:3:17: s.yaml rules[0] -> refresh-user 200: /aesthetics expected object, found string (at #/aesthetics)"]
        );
    }

    #[test]
    fn a_merge_over_a_stored_value_is_reported_where_each_part_was_written() {
        let found = findings(concat!(
            "rules:\n",
            "  - when: { operation: select-user }\n",
            "    store: { user: { fixture: good.json, merge: { id: 7, name: \"{{request.body.name}}\" } } }\n",
            "    respond: { status: 200, body: { from: store.user } }\n",
            "  - when: { operation: refresh-user }\n",
            "    respond: { status: 200, body: { from: store.user } }\n",
        ));
        assert_eq!(
            found,
            [
                "s.yaml:3:55: s.yaml rules[0] -> select-user 200: /id expected string, found integer (at #/rules/0/store/user/merge/id)",
                "s.yaml:3:55: s.yaml rules[1] -> refresh-user 200: /id expected string, found integer (at #/rules/0/store/user/merge/id)"
            ]
        );
    }

    #[test]
    fn values_are_followed_only_into_states_a_session_can_reach_after_the_write() {
        let reader = "    respond: { status: 200, body: { from: store.user } }\n";
        // The reader waits for a state entered only from a state no session reaches.
        let found = findings(&format!(
            concat!(
                "initial: in\n",
                "store: {{ user: {{ fixture: bad.json }} }}\n",
                "rules:\n",
                "  - when: {{ operation: clear-user, state: later }}\n",
                "    respond: {{ status: 204 }}\n",
                "    then: {{ state: limbo }}\n",
                "  - when: {{ operation: clear-user, state: limbo }}\n",
                "    respond: {{ status: 204 }}\n",
                "    then: {{ state: later }}\n",
                "  - when: {{ operation: refresh-user, state: later }}\n{reader}",
            ),
            reader = reader
        ));
        assert!(found.is_empty(), "{found:?}");
        // The bad value is written only on the way out of the reader's state.
        let found = findings(&format!(
            concat!(
                "initial: in\n",
                "rules:\n",
                "  - when: {{ operation: clear-user, state: in }}\n",
                "    store: {{ user: {{ fixture: bad.json }} }}\n",
                "    respond: {{ status: 204 }}\n",
                "    then: {{ state: out }}\n",
                "  - when: {{ operation: refresh-user, state: in }}\n{reader}",
            ),
            reader = reader
        ));
        assert!(found.is_empty(), "{found:?}");
        // A forgotten key holds nothing.
        let found = findings(&format!(
            concat!(
                "store: {{ user: {{ fixture: bad.json }} }}\n",
                "initial: in\n",
                "rules:\n",
                "  - when: {{ operation: clear-user }}\n",
                "    forget: [user]\n",
                "    respond: {{ status: 204 }}\n",
                "    then: {{ state: out }}\n",
                "  - when: {{ operation: refresh-user, state: out }}\n{reader}",
            ),
            reader = reader
        ));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_rule_that_an_earlier_one_always_answers_for_is_not_followed() {
        let found = findings(concat!(
            "store: { user: { fixture: bad.json } }\n",
            "rules:\n",
            "  - when: { operation: refresh-user }\n",
            "    respond: { status: 500, body: { text: down } }\n",
            "  - when: { operation: refresh-user, query: { a: b } }\n",
            "    respond: { status: 200, body: { from: store.user } }\n",
        ));
        assert!(found.is_empty(), "{found:?}");
        // One with `times` steps aside, but only after it has moved the session on.
        let reader = "  - when: { operation: refresh-user, state: start }\n    respond: { status: 200, body: { from: store.user } }\n";
        let earlier = |then: &str| {
            format!(
                "store: {{ user: {{ fixture: bad.json }} }}\nrules:\n  - when: {{ operation: refresh-user }}\n    times: 1\n    respond: {{ status: 500, body: {{ text: down }} }}\n{then}{reader}"
            )
        };
        assert!(findings(&earlier("    then: { state: elsewhere }\n")).is_empty());
        assert_eq!(findings(&earlier("")).len(), 1);
    }

    #[test]
    fn a_write_from_the_request_is_unknown_but_may_leave_the_old_value() {
        let body = "    respond: { status: 200, body: { from: store.user } }\n";
        // update-user's body is optional: without one, nothing is written.
        let found = findings(&format!(
            "store: {{ user: {{ fixture: bad.json }} }}\nrules:\n  - when: {{ operation: update-user }}\n    store: {{ user: {{ from: request.body }} }}\n{body}"
        ));
        assert_eq!(found.len(), 1, "{found:?}");
        // With a body to match, the request has one: the old value is gone.
        let found = findings(&format!(
            "store: {{ user: {{ fixture: bad.json }} }}\nrules:\n  - when: {{ operation: update-user, body: {{ id: x }} }}\n    store: {{ user: {{ from: request.body }} }}\n{body}"
        ));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_rule_whose_when_body_the_request_schema_refuses_is_not_followed() {
        let file = |id: &str| {
            format!(
                concat!(
                    "rules:\n",
                    "  - when: {{ operation: update-user, body: {{ id: {id}, extra: {{ any: 1 }} }} }}\n",
                    "    store: {{ user: {{ fixture: bad.json }} }}\n",
                    "    respond: {{ status: 200, body: {{ fixture: good.json }} }}\n",
                    "  - when: {{ operation: refresh-user }}\n",
                    "    respond: {{ status: 200, body: {{ from: store.user }} }}\n",
                ),
                id = id
            )
        };
        // `id` is a string in every profile update-user accepts: no request reaches the writer.
        let found = findings(&file("7"));
        assert!(found.is_empty(), "{found:?}");
        // A body that leaves out required properties can still be met: a request adds them.
        assert_eq!(findings(&file("\"u7\"")).len(), 1);
    }

    #[test]
    fn past_its_steps_the_check_stops_with_a_warning_naming_the_file() {
        let (catalog, spec, fixtures, sources) = loaded(concat!(
            "store: { user: { fixture: bad.json } }\n",
            "rules:\n",
            "  - when: { operation: refresh-user }\n",
            "    respond: { status: 200, body: { from: store.user } }\n",
        ));
        let followed = follow_values(&catalog, &spec, &fixtures, &sources, STEPS);
        assert_eq!((followed.problems.len(), followed.warnings.len()), (1, 0));
        let followed = follow_values(&catalog, &spec, &fixtures, &sources, 1);
        assert!(followed.problems.is_empty());
        let [warning] = followed.warnings.try_into().unwrap();
        assert!(
            warning
                .to_string()
                .starts_with("s.yaml: store values of scenario `s` followed only part of the way"),
            "{warning}"
        );
    }

    #[test]
    fn later_positions_of_a_sequence_that_moves_on_are_not_followed() {
        let found = findings(concat!(
            "store: { user: { fixture: bad.json } }\n",
            "initial: a\n",
            "rules:\n",
            "  - when: { operation: clear-user, state: b }\n",
            "    store: { user: { fixture: good.json } }\n",
            "    respond: { status: 204 }\n",
            "    then: { state: a }\n",
            "  - when: { operation: refresh-user, state: a }\n",
            "    respond: [{ status: 500, body: { text: x } }, { status: 200, body: { from: store.user } }]\n",
            "    then: { state: b }\n",
        ));
        // The second answer comes after a trip through `b`, which stores the good profile.
        assert!(found.is_empty(), "{found:?}");
    }
}
