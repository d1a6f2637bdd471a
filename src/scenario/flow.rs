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
//! that misses some, never invents one):
//! - the states a session can be in, and what each store key may hold in
//!   each, are found from the initial state by rules that can fire there:
//!   the state matches, and no earlier rule answers every request this one
//!   would (one with `times` only if firing it changes nothing); rules with
//!   `times` are left out of the paths, so every counter on them is zero;
//! - a write whose template reads other store keys is followed with one of
//!   them known at a time, the others unknown; a write that may render
//!   nothing (an optional request body) leaves the key's old values too;
//! - a response of a sequence is checked with a followed value when every
//!   position can be reached with that value (the rule keeps the state and
//!   does not write the key), else only the first, on paths without the
//!   rule;
//! - a rule's `when` is taken as something a request can meet.
//!
//! Not followed: stream scripts' frames (the store changes while a stream
//! runs), values read from the request (unknown: a lenient mock passes any
//! body), response headers (no schema is checked there).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use super::engine::contains;
use super::partial::{body, violations, BodyOrigins, Found, Origin, Partial, Reads};
use super::template::{Expr, Template};
use super::{BodyTemplate, Catalog, Reaction, Rule, Scenario, ScenarioSource, ScriptedBody};
use crate::diagnostic::{escape_pointer_token, Diagnostic};
use crate::fixtures::Fixtures;
use crate::locate::Locations;
use crate::spec::source::{parse_document, NodeBudget};
use crate::spec::{MediaSpec, Operation, ParamIn, Spec};

/// Values kept per store key and state; more are not followed (fewer
/// reports, never a wrong one).
const VALUES_PER_KEY: usize = 16;
/// Passes over the rules before the states' stores are taken as settled.
const PASSES: usize = 64;

/// Every static value that breaks the schema of a response it reaches,
/// located where it was written.
pub fn check_values(
    catalog: &Catalog,
    spec: &Spec,
    fixtures: &Fixtures,
    sources: &[ScenarioSource],
) -> Vec<Diagnostic> {
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
    for scenario in catalog.scenarios() {
        if let Some(rules) = placed_rules(scenario, catalog, &files, spec, fixtures) {
            let initial = initial_store(scenario, catalog, &files, fixtures);
            Paths::new(&rules, scenario.initial.clone(), initial).check(&mut found);
        }
    }
    found.located(sources, fixtures)
}

/// A scenario file as written.
struct File {
    label: Arc<str>,
    raw: Value,
}

/// A rule with what the check needs to know about it.
struct Placed<'a> {
    rule: &'a Rule,
    /// Written in the scenario's own file (not inherited).
    own: bool,
    op: &'a Operation,
    /// Where each store write's parts were written, in the order of `rule.store`.
    writes: Vec<BodyOrigins>,
    /// Where each response body's parts were written, by position.
    bodies: Vec<BodyOrigins>,
}

impl Placed<'_> {
    /// Whether a request this rule answers may lack what `expr` reads: an
    /// optional body or query parameter the rule does not match on. Headers
    /// are taken as present (`Host`, credentials, `Content-Type` of a body
    /// cannot be left out).
    fn may_lack(&self, expr: &Expr) -> bool {
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

    /// Whether `earlier` answers, in `state`, every request this rule would
    /// (while it has matches left).
    fn covered_by(&self, earlier: &Placed<'_>, state: &str) -> bool {
        let (rule, other) = (self.rule, earlier.rule);
        let subset = |theirs: &[(String, String)], ours: &[(String, String)]| theirs.iter().all(|p| ours.contains(p));
        other.operation == rule.operation
            && waits_for(other, state)
            && subset(&other.query, &rule.query)
            && subset(&other.path, &rule.path)
            && other.headers.iter().all(|h| rule.headers.contains(h))
            && other
                .body
                .as_ref()
                .is_none_or(|theirs| rule.body.as_ref().is_some_and(|ours| contains(ours, theirs)))
    }

    /// Whether firing the rule in `state` leaves the state and the store as they were.
    fn inert(&self, state: &str) -> bool {
        self.rule.then_state.as_ref().is_none_or(|next| next == state)
            && self.rule.store.is_empty()
            && self.rule.forget.is_empty()
    }

    /// The rule's responses with a templated body and a schema to check it against.
    fn templated(&self) -> impl Iterator<Item = (usize, &BodyTemplate, &MediaSpec, u16)> {
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
    fn render(
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

fn waits_for(rule: &Rule, state: &str) -> bool {
    rule.states.is_empty() || rule.states.iter().any(|s| s == state)
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

/// What each store key may hold (values with nothing known are left out),
/// shared between states: most keys pass from one state to the next as they are.
type Store = BTreeMap<String, Vec<Arc<Partial>>>;

/// Adds to `held` those of `values` it lacks; whether any was new.
fn add<'v>(held: &mut Vec<Arc<Partial>>, values: impl IntoIterator<Item = &'v Arc<Partial>>) -> bool {
    let mut added = false;
    for value in values {
        let known = held.iter().any(|h| Arc::ptr_eq(h, value) || h == value);
        if !known && held.len() < VALUES_PER_KEY {
            held.push(value.clone());
            added = true;
        }
    }
    added
}

/// The keys a rule writes or forgets, with what each may hold after it fired.
type Writes = Vec<(String, Vec<Arc<Partial>>)>;

/// One scenario's rules, followed from its initial state.
struct Paths<'r, 'a> {
    rules: &'r [Placed<'a>],
    initial: String,
    store: Store,
}

impl<'r, 'a> Paths<'r, 'a> {
    fn new(rules: &'r [Placed<'a>], initial: String, store: Store) -> Self {
        Self { rules, initial, store }
    }

    /// Whether rule `index` answers some request in `state` (on paths that
    /// never fired a rule with `times`). An earlier rule that answers all
    /// its requests there hides it for good, or, with `times`, until it has
    /// fired that often: only then if that changed nothing.
    fn fires(&self, index: usize, state: &str) -> bool {
        let rule = &self.rules[index];
        rule.rule.times != Some(0)
            && waits_for(rule.rule, state)
            && self.rules[..index]
                .iter()
                .all(|earlier| !rule.covered_by(earlier, state) || earlier.rule.times.is_some() && earlier.inert(state))
    }

    /// What firing rule `index` on `store` does to the keys it writes
    /// (in order: a write reads those before it) and forgets.
    fn writes(&self, index: usize, store: &Store) -> Writes {
        let placed = &self.rules[index];
        let mut writes: Writes = Vec::new();
        for ((key, template), origins) in placed.rule.store.iter().zip(&placed.writes) {
            let held = |key: &str| -> Vec<Arc<Partial>> {
                match writes.iter().rev().find(|(k, _)| k == key) {
                    Some((_, values)) => values.clone(),
                    None => store.get(key).cloned().unwrap_or_default(),
                }
            };
            let mut values = placed.render(template, origins, None);
            for read in store_keys(template) {
                for value in held(read) {
                    values.extend(placed.render(template, origins, Some((read, &value))));
                }
            }
            let mut after = Vec::new();
            let fresh: Vec<Arc<Partial>> = values
                .into_iter()
                .filter(|v| *v != Partial::Unknown)
                .map(Arc::new)
                .collect();
            add(&mut after, &fresh);
            // A write that renders nothing leaves the key as it was.
            if matches!(&template.base, Template::Expr(expr) if placed.may_lack(expr)) {
                add(&mut after, &held(key));
            }
            writes.push((key.clone(), after));
        }
        for key in &placed.rule.forget {
            writes.push((key.clone(), Vec::new()));
        }
        writes
    }

    /// What each state's store may hold, on paths that do not use rule `without`.
    fn states(&self, without: Option<usize>) -> BTreeMap<String, Store> {
        let mut states = BTreeMap::from([(self.initial.clone(), self.store.clone())]);
        for _ in 0..PASSES {
            let mut reached: Vec<(String, Store)> = Vec::new();
            for (state, store) in &states {
                for index in 0..self.rules.len() {
                    if Some(index) == without || self.rules[index].rule.times.is_some() || !self.fires(index, state) {
                        continue;
                    }
                    let mut after = store.clone();
                    after.extend(self.writes(index, store));
                    let next = self.rules[index]
                        .rule
                        .then_state
                        .clone()
                        .unwrap_or_else(|| state.clone());
                    reached.push((next, after));
                }
            }
            let mut changed = false;
            for (state, store) in reached {
                let target = states.entry(state).or_insert_with(|| {
                    changed = true;
                    Store::new()
                });
                for (key, values) in &store {
                    changed |= add(target.entry(key.clone()).or_default(), values);
                }
            }
            if !changed {
                break;
            }
        }
        states
    }

    /// Every templated response, checked with the store unknown, then with
    /// each value a key it reads may hold where it can be sent.
    fn check(&self, found: &mut Findings) {
        let states = self.states(None);
        for (index, placed) in self.rules.iter().enumerate() {
            let sequence = match &placed.rule.reaction {
                Reaction::Respond { responses, .. } => responses.len(),
                Reaction::Stream(_) => 0,
            };
            let mut without_rule = None;
            for (position, template, media, status) in placed.templated() {
                let origins = &placed.bodies[position];
                let context = Context { placed, media, status };
                // With the store unknown, a body is the same in every scenario: checked in its own.
                if placed.own {
                    for value in placed.render(template, origins, None) {
                        found.add(&context, &value);
                    }
                }
                for key in store_keys(template) {
                    // The values the key may hold when the response is rendered.
                    let mut held = Vec::new();
                    let mut follow = |store: &Store| {
                        let writes = self.writes(index, store);
                        let after = match writes.iter().rev().find(|(k, _)| k == key) {
                            Some((_, values)) => values,
                            None => store.get(key).map_or(&[][..], Vec::as_slice),
                        };
                        add(&mut held, after);
                    };
                    // Firing again and again in a state reaches every position
                    // of a sequence, with the key as it was.
                    let repeatable = |state: &str| {
                        placed.rule.then_state.as_ref().is_none_or(|next| next == state)
                            && placed.rule.store.iter().all(|(k, _)| k != key)
                            && !placed.rule.forget.iter().any(|k| k == key)
                            && placed.rule.times.is_none_or(|times| (position as u64) < times)
                    };
                    for (state, store) in &states {
                        if self.fires(index, state) && (sequence == 1 || repeatable(state)) {
                            follow(store);
                        }
                    }
                    // The first response of a sequence, on paths that never used the rule.
                    if sequence > 1 && position == 0 {
                        let paths = without_rule.get_or_insert_with(|| self.states(Some(index)));
                        for (state, store) in paths.iter() {
                            if self.fires(index, state) {
                                follow(store);
                            }
                        }
                    }
                    for value in &held {
                        for rendered in placed.render(template, origins, Some((key, value))) {
                            found.add(&context, &rendered);
                        }
                    }
                }
            }
        }
    }
}

/// The response a value is checked against.
struct Context<'p, 'a> {
    placed: &'p Placed<'a>,
    media: &'p MediaSpec,
    status: u16,
}

/// What was found, each once, in the order found.
#[derive(Default)]
struct Findings {
    /// The values each response (rule, status, media type) was checked with:
    /// a scenario that extends another follows its values to the same
    /// responses again.
    checked: HashMap<(String, u16, String), Vec<Partial>>,
    seen: HashSet<(Origin, String)>,
    found: Vec<(Origin, String)>,
}

impl Findings {
    fn add(&mut self, context: &Context<'_, '_>, value: &Partial) {
        let Some(schema) = &context.media.schema else { return };
        let response = (
            context.placed.rule.label.clone(),
            context.status,
            context.media.media_type.clone(),
        );
        let checked = self.checked.entry(response).or_default();
        if checked.contains(value) {
            return;
        }
        checked.push(value.clone());
        for Found { violation, origin } in violations(schema, value) {
            let pointer = if violation.pointer.is_empty() {
                "/"
            } else {
                &violation.pointer
            };
            let message = format!(
                "{} -> {} {}: {pointer} {}",
                context.placed.rule.label, context.placed.op.id, context.status, violation.message
            );
            if self.seen.insert((origin.clone(), message.clone())) {
                self.found.push((origin, message));
            }
        }
    }

    /// Each finding at the line and column of its origin.
    fn located(self, sources: &[ScenarioSource], fixtures: &Fixtures) -> Vec<Diagnostic> {
        let texts: HashMap<&str, &str> = sources
            .iter()
            .map(|s| (s.label.as_str(), s.text.as_str()))
            .chain(fixtures.names().filter_map(|name| {
                let fixture = fixtures.get(name)?;
                Some((fixture.file.as_str(), fixture.text.as_str()))
            }))
            .collect();
        let mut locations: HashMap<Arc<str>, Locations> = HashMap::new();
        self.found
            .into_iter()
            .map(|(origin, message)| {
                let diagnostic = Diagnostic::at_pointer(origin.file.as_ref(), &origin.pointer, message);
                match texts.get(origin.file.as_ref()) {
                    Some(text) => locations
                        .entry(origin.file.clone())
                        .or_insert_with(|| Locations::of_yaml(text))
                        .locate(diagnostic),
                    None => diagnostic,
                }
            })
            .collect()
    }
}

/// The scenario's rules with the file and position each was written at:
/// its own first, then those of the scenario it extends. `None` if the
/// files do not account for them all.
fn placed_rules<'a>(
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
                writes,
                bodies,
            }
        })
        .collect();
    Some(placed)
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
fn initial_store(scenario: &Scenario, catalog: &Catalog, files: &HashMap<&str, File>, fixtures: &Fixtures) -> Store {
    let chain = chain(scenario, catalog, files);
    let mut store = Store::new();
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
                Partial::Known(base, origins.base),
                Partial::Known(merge.clone(), origins.merge),
            ),
            (Some(base), None) => Partial::Known(base, origins.base),
            _ => Partial::Known(value.clone(), Origin::entry(&file.label, at)),
        };
        store.insert(key.clone(), vec![Arc::new(partial)]);
    }
    store
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Responder;
    use crate::scenario::load_catalog;

    const PROFILE: &str =
        "{\n  \"id\": \"u1\",\n  \"aesthetics\": {\"theme\": {\"dark\": true}, \"font\": {\"size\": 12}}\n}\n";
    const BROKEN: &str = "{\n  \"id\": \"u1\",\n  \"aesthetics\": \"dark\"\n}\n";

    /// `check_values` on the shipped spec, the fixtures `good.json` and
    /// `bad.json`, and one scenario file.
    fn findings(scenario: &str) -> Vec<String> {
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
