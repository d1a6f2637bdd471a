//! What the properties share, built once per test binary: the shipped
//! files, and the apps requests are sent to. The request properties share
//! one app each, so sessions carry state from case to case (as a real
//! client's would).

use std::sync::OnceLock;

use serde_json::Value;
use specmock::internal::fixtures::Fixtures;
use specmock::internal::render::Responder;
use specmock::internal::scenario::ScenarioSource;
use specmock::internal::{App, Behaviour};

use crate::common;

pub const PROFILE: &str = include_str!("../../fixtures/user-signed-in.json");
pub const FEATURES_SPEC: &str = include_str!("../specs/features.yaml");

/// The shipped scenario files (`scenarios/*.yaml`), labelled as in the repository.
pub fn shipped_scenarios() -> &'static [ScenarioSource] {
    static SOURCES: OnceLock<Vec<ScenarioSource>> = OnceLock::new();
    SOURCES.get_or_init(|| common::scenario_sources(&common::repo_root().join("scenarios")))
}

/// Their names (the file names without `.yaml`: none sets `name:`).
pub fn scenario_names() -> Vec<&'static str> {
    shipped_scenarios()
        .iter()
        .map(|s| s.file_name.trim_end_matches(".yaml"))
        .collect()
}

pub fn scenario_source(file_name: &str, text: &str) -> ScenarioSource {
    ScenarioSource {
        file_name: file_name.to_string(),
        label: format!("scenarios/{file_name}"),
        text: text.to_string(),
    }
}

/// Everything the properties share, built once per test binary.
pub struct World {
    /// The shipped spec, fixtures and scenarios, sessions starting in `default`.
    pub strict: App,
    /// The same with `--lenient`.
    pub lenient: App,
    /// `tests/specs/features.yaml`: security schemes, parameter styles, form and text bodies.
    pub features: App,
    /// What scenario files are checked against, with `strict.spec`: the shipped fixtures.
    pub fixtures: Fixtures,
    pub responder: Responder,
}

pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let shipped = |lenient: bool| {
            let sources = common::shipped_sources();
            let inputs = specmock::internal::Inputs {
                spec: sources.load_spec().expect("the shipped spec loads"),
                fixtures: sources.load_fixtures().expect("the shipped fixtures load"),
                scenarios: shipped_scenarios().to_vec(),
                start_scenario: None,
                seed: 0,
            };
            let behaviour = Behaviour {
                lenient,
                ..Behaviour::default()
            };
            App::build(inputs, behaviour).expect("the shipped files build").0
        };
        let features = specmock::internal::spec::load_text("tests/specs/features.yaml", FEATURES_SPEC, None)
            .expect("features.yaml loads");
        let (features, _) =
            App::new(features, &Fixtures::default(), 0, Behaviour::default()).expect("features.yaml renders");
        let strict = shipped(false);
        let fixtures = common::shipped_sources()
            .load_fixtures()
            .expect("the shipped fixtures load");
        let responder = Responder::build(&strict.configuration().spec, &fixtures, 0, &mut Vec::new())
            .expect("the shipped spec renders");
        World {
            strict,
            lenient: shipped(true),
            features,
            fixtures,
            responder,
        }
    })
}

pub fn profile() -> &'static Value {
    static PROFILE_VALUE: OnceLock<Value> = OnceLock::new();
    PROFILE_VALUE.get_or_init(|| serde_json::from_str(PROFILE).expect("the fixture is JSON"))
}
