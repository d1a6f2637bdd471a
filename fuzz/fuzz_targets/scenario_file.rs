//! Any text as a scenario file, checked against the shipped spec and
//! fixtures (and loaded beside the shipped scenarios it extends): it loads,
//! or a diagnostic says where it is broken. A file that loads has its store
//! values followed (each finding names a scenario or fixture file and a
//! line in it) and is played: every operation called twice with a few
//! bodies, every stream frame rendered.

#![no_main]

use std::cell::Cell;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use specmock::internal::fixtures::Fixtures;
use specmock::internal::render::Responder;
use specmock::internal::scenario::engine::{self, Decision, Facts, Outcome, SessionState};
use specmock::internal::scenario::template::{EventView, RequestTime};
use specmock::internal::scenario::{follow_values, load_catalog, Fault, Frame, Scenario, ScenarioSource, ScriptedBody, STEPS};
use specmock::internal::spec::parse::{parse_document, NodeBudget};
use specmock::internal::spec::Spec;
use specmock::internal::validate::Checked;
use specmock_fuzz::{check_diagnostic, check_diagnostics, client_headers, frames, profile, shipped_sources, NOW};

const LABEL: &str = "fuzz.yaml";

/// What every scenario file is checked against, built once.
struct Shipped {
    spec: Spec,
    fixtures: Fixtures,
    responder: Responder,
    scenarios: Vec<ShippedScenario>,
}

struct ShippedScenario {
    name: String,
    parent: Option<String>,
    source: ScenarioSource,
}

/// A scenario file's `name:` and `extends:`, if it parses.
fn name_and_parent(source: &ScenarioSource) -> (Option<String>, Option<String>) {
    let document = parse_document(&source.label, &source.text, NodeBudget::Scenario).unwrap_or_default();
    let field = |key: &str| document.get(key).and_then(Value::as_str).map(str::to_string);
    (field("name"), field("extends"))
}

fn shipped() -> &'static Shipped {
    static SHIPPED: OnceLock<Shipped> = OnceLock::new();
    SHIPPED.get_or_init(|| {
        let sources = shipped_sources();
        let spec = sources.load_spec().expect("the shipped spec loads");
        let fixtures = sources.load_fixtures().expect("the shipped fixtures load");
        let responder = Responder::build(&spec, &fixtures, 0, &mut Vec::new()).expect("the shipped spec renders");
        let files = sources.load_scenarios().expect("the shipped scenarios read");
        load_catalog(files.clone(), &spec, &responder, &fixtures, 0).expect("the shipped scenarios load");
        let scenarios = files
            .into_iter()
            .map(|source| {
                let (name, parent) = name_and_parent(&source);
                let stem = source.file_name.trim_end_matches(".yaml").to_string();
                ShippedScenario {
                    name: name.unwrap_or(stem),
                    parent,
                    source,
                }
            })
            .collect();
        Shipped {
            spec,
            fixtures,
            responder,
            scenarios,
        }
    })
}

/// Calls every operation in a session of `scenario`, twice (sequences and
/// `times:` move on), with no body, the full profile, and a partial one.
fn play(scenario: &Arc<Scenario>, spec: &Spec) {
    let headers = client_headers();
    let path = [("id".to_string(), "42".to_string())];
    let query = [("q".to_string(), "1".to_string())];
    let partial = json!({ "user_id": "auth0|fuzz", "email": "fuzz@example.com", "vanityname": "fuzz" });
    let bodies = [None, Some(profile().clone()), Some(partial)].map(|body| body.map(Checked::unchecked));
    let now = RequestTime::at(NOW);
    let mut session = SessionState::start(Some(scenario.clone()));
    for round in 0..2u64 {
        for operation in 0..spec.operations.len() {
            for (entropy, body) in (round * 10..).zip(bodies.iter().map(Option::as_ref)) {
                let facts = Facts {
                    operation,
                    body,
                    query: &query,
                    headers: &headers,
                    path: &path,
                    now: &now,
                    entropy,
                };
                let _ = engine::peek(&mut session, &facts);
                match engine::decide(&mut session, &facts) {
                    Some(Decision {
                        rule,
                        outcome: Outcome::Respond(answer),
                        ..
                    }) => {
                        let status = answer.rendered.status;
                        let declared = spec.operations[operation].response_for(status).is_some();
                        assert!(
                            (100..=599).contains(&status)
                                && (declared || answer.fault == Some(Fault::UndeclaredStatus)),
                            "{rule} answered {status}"
                        );
                    }
                    Some(Decision {
                        outcome: Outcome::Stream(script),
                        ..
                    }) => {
                        let event = EventView {
                            request: body.map(|body| body.value.as_ref()),
                            response: Some(profile()),
                        };
                        for frame in frames(&script.steps) {
                            if let Frame::Text(ScriptedBody::Template { body, media }) = frame {
                                let _ = engine::render_frame(
                                    engine::TemplateToRender {
                                        body,
                                        media: media.as_ref(),
                                        status: 200,
                                        label: &script.label,
                                    },
                                    &facts,
                                    &session.store,
                                    Some(&event),
                                    &Cell::new(entropy),
                                );
                            }
                        }
                    }
                    None => {}
                }
            }
        }
    }
}

/// The shipped scenarios `fuzzed` extends, directly or not (their chain
/// ends: they load together). Only those are loaded beside it: compiling
/// every shipped file would make each run twenty times slower.
fn ancestors(shipped: &Shipped, fuzzed: &ScenarioSource) -> Vec<ScenarioSource> {
    let mut chain = Vec::new();
    let mut parent = name_and_parent(fuzzed).1;
    while let Some(scenario) = parent.and_then(|name| shipped.scenarios.iter().find(|s| s.name == name)) {
        chain.push(scenario.source.clone());
        parent = scenario.parent.clone();
    }
    chain
}

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else { return };
    let shipped = shipped();
    let fuzzed = ScenarioSource {
        file_name: LABEL.to_string(),
        label: LABEL.to_string(),
        text: text.to_string(),
    };
    let mut sources = ancestors(shipped, &fuzzed);
    sources.push(fuzzed);
    let files: Vec<(&str, &str)> = sources.iter().map(|s| (s.label.as_str(), s.text.as_str())).collect();
    match load_catalog(sources.clone(), &shipped.spec, &shipped.responder, &shipped.fixtures, 0) {
        Ok(catalog) => {
            let fixture_files = shipped.fixtures.names().filter_map(|name| {
                let fixture = shipped.fixtures.get(name)?;
                Some((fixture.file.as_str(), fixture.text.as_str()))
            });
            let written: Vec<(&str, &str)> = files.iter().copied().chain(fixture_files).collect();
            let followed = follow_values(&catalog, &shipped.spec, &shipped.fixtures, &sources, STEPS);
            for finding in followed.problems.iter().chain(&followed.warnings) {
                check_diagnostic(finding, &written);
            }
            for scenario in catalog.scenarios().filter(|s| s.file == LABEL) {
                play(scenario, &shipped.spec);
            }
        }
        Err(problems) => check_diagnostics(&problems, &files),
    }
});
