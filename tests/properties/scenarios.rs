//! Scenario files of every kind, loaded beside the shipped ones: each loads
//! and then plays without a panic, or is refused with a diagnostic that
//! names the file and the place.

use std::cell::Cell;

use http::HeaderMap;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};
use specmock::internal::scenario::engine::{self, Facts, SessionState};
use specmock::internal::scenario::template::{EventView, RequestTime};
use specmock::internal::scenario::{check_values, load_catalog, Catalog, Frame, ScenarioSource, ScriptedBody};
use specmock::internal::spec::Spec;
use specmock::internal::validate::Checked;

use crate::checks::{check_diagnostic, frames};
use crate::documents::{emit, or_junk, pick, Style};
use crate::edits::{apply_text_edits, nested, text_edit};
use crate::strategies::config::config;
use crate::strategies::json::{awkward_string, json_key, json_leaf, json_value};
use crate::strategies::schema::{maybe, object};
use crate::world::{profile, scenario_source, shipped_scenarios, world};

/// Text inserted into scenario files.
const YAML_SPLICES: &[&str] = &[
    "when:",
    "respond:",
    "stream:",
    "status: ",
    "body:",
    "send:",
    "wait: ",
    "repeat: ",
    "close:",
    "fault: ",
    "times: ",
    "store:",
    "forget: ",
    "then:",
    "extends: ",
    "initial: ",
    "operation: ",
    "- ",
    ": ",
    "\n  ",
    "\n- ",
    "{",
    "}",
    "[",
    "]",
    "\"",
    "'",
    "&a ",
    "*a",
    "<<: *a",
    "!!binary ",
    "!!str ",
    "? ",
    "|",
    ">",
    "#",
    "~",
    "null",
    "0",
    "65535",
    "99999999999999999999",
    "-1",
    "1e999",
    ".inf",
    "forever",
    "{{",
    "}}",
    "{{store.user}}",
    "{{request.body.x}}",
    "{{event.response}}",
    "\t",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
];

const OPERATION_REFS: &[&str] = &[
    "clear-user",
    "select-user",
    "update-user",
    "user-snapshot",
    "user-providers",
    "refresh-user",
    "stream-user",
    "user-beta-status",
    "user-update-vanity",
    "health",
    "health-head",
    "GET /user",
    "POST /user/update",
    "get /user/stream",
    "PUT /user",
    "nope",
    "",
];

const TEMPLATES: &[&str] = &[
    "{{request.body}}",
    "{{request.body.user_id}}",
    "{{request.body.email}}",
    "{{request.body.a.b.c}}",
    "{{request.body.apiKeys.0}}",
    "{{store.user}}",
    "{{store.user.id}}",
    "{{store.nope}}",
    "{{now}}",
    "{{uuid}}",
    "{{ now }}",
    "{{event.request}}",
    "{{event.response.id}}",
    "{{request.query.q}}",
    "{{request.path.id}}",
    "{{request.headers.x-a}}",
    "{{",
    "}}",
    "{{}}",
    "{{store.}}",
    "x{{now}}y{{uuid}}",
    "plain",
];

fn template_string() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => prop::sample::select(TEMPLATES).prop_map(|t| Value::String(t.to_string())),
        1 => awkward_string().prop_map(Value::String),
    ]
    .boxed()
}

/// JSON for `json:`/`merge:`: values with templates inside.
fn templated_json() -> BoxedStrategy<Value> {
    prop_oneof![
        2 => template_string(),
        1 => json_leaf(),
    ]
    .prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec((json_key(), inner), 0..4).prop_map(|p| Value::Object(p.into_iter().collect())),
        ]
    })
    .boxed()
}

fn body_file() -> BoxedStrategy<Value> {
    let fields = (
        maybe(
            0.3,
            pick(&["user-signed-in.json", "user-minimal.json", "nope.json", ""]),
        ),
        maybe(0.3, templated_json()),
        maybe(0.15, template_string()),
        maybe(
            0.15,
            pick(&["signed-in", "signed-out", "vision-opt-in", "nope", "example"]),
        ),
        maybe(0.1, or_junk(any::<bool>().prop_map(Value::Bool).boxed())),
        maybe(
            0.2,
            pick(&[
                "store.user",
                "request.body",
                "request.body.email",
                "store.nope",
                "event.request",
                "now",
                "uuid",
                "store.",
            ]),
        ),
        maybe(0.2, templated_json()),
        maybe(0.05, pick(&["aGVsbG8=", "!!!", ""])),
    );
    // Mostly exactly one source (what a valid body has), sometimes any mix.
    let one_source = (
        prop_oneof![
            3 => pick(&["user-signed-in.json", "user-minimal.json", "nope.json", ""]).prop_map(|v| ("fixture", v)),
            3 => templated_json().prop_map(|v| ("json", v)),
            2 => template_string().prop_map(|v| ("text", v)),
            1 => pick(&["signed-in", "signed-out", "vision-opt-in", "nope", "example"]).prop_map(|v| ("example", v)),
            1 => Just(("generate", Value::Bool(true))),
            3 => pick(&["store.user", "request.body", "request.body.email", "store.nope", "event.request", "now", "uuid", "store."]).prop_map(|v| ("from", v)),
            1 => pick(&["aGVsbG8=", "!!!", ""]).prop_map(|v| ("binary", v)),
        ],
        maybe(0.3, templated_json()),
    )
        .prop_map(|((source, value), merge)| object(vec![(source, Some(value)), ("merge", merge)]));
    let mix = fields.prop_map(|(fixture, json, text, example, generate, from, merge, binary)| {
        object(vec![
            ("fixture", fixture),
            ("json", json),
            ("text", text),
            ("example", example),
            ("generate", generate),
            ("from", from),
            ("merge", merge),
            ("binary", binary),
        ])
    });
    or_junk(prop_oneof![6 => one_source, 1 => mix].boxed())
}

fn status() -> BoxedStrategy<Value> {
    let common = prop::sample::select(&[200i64, 200, 200, 204, 404, 409, 426, 500, 501, 511][..]);
    let odd = prop::sample::select(&[0i64, 99, 100, 101, 599, 600, 65535, -1, 70000][..]);
    or_junk(prop_oneof![6 => common, 1 => odd].prop_map(Value::from).boxed())
}

fn delay() -> BoxedStrategy<Value> {
    pick(&[
        "300ms",
        "2s",
        "1.5s",
        "100ms..500ms",
        "500ms..100ms",
        "0ms",
        "600s",
        "601s",
        "-1ms",
        "nanms",
        "infs",
        "1e3ms",
        "..",
        "ms",
        "s",
        "10",
        "100ms..",
        "..2s",
        "1ms..2ms..3ms",
        "1e-320s",
        "0.0000001ms",
    ])
}

fn header_map() -> BoxedStrategy<Value> {
    let name = prop_oneof![
        4 => prop::sample::select(&["x-a", "X-Request-Id", "content-type", "content-length", "x-mock-origin", "connection", "bad name", "", "é"][..])
            .prop_map(str::to_string),
        1 => awkward_string(),
    ];
    prop::collection::vec((name, template_string()), 0..3)
        .prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
        .boxed()
}

fn response_file() -> BoxedStrategy<Value> {
    (
        maybe(0.95, status()),
        maybe(0.2, header_map()),
        maybe(0.5, body_file()),
        maybe(0.15, delay()),
        maybe(
            0.15,
            pick(&[
                "reset",
                "close",
                "truncate",
                "malformed",
                "undeclared-status",
                "drop",
                "nope",
            ]),
        ),
    )
        .prop_map(|(status, headers, body, delay, fault)| {
            object(vec![
                ("status", status),
                ("headers", headers),
                ("body", body),
                ("delay", delay),
                ("fault", fault),
            ])
        })
        .boxed()
}

fn steps() -> BoxedStrategy<Value> {
    let step = prop_oneof![
        4 => body_file().prop_map(|b| json!({ "send": b })),
        2 => delay().prop_map(|d| json!({ "wait": d })),
        1 => (pick(OPERATION_REFS), maybe(0.6, body_file())).prop_map(|(on, send)| object(vec![("on", Some(on)), ("send", send)])),
        1 => (
            or_junk(prop_oneof![templated_json().prop_map(|j| json!({ "json": j })), awkward_string().prop_map(|t| json!({ "text": t }))].boxed()),
            maybe(0.5, body_file()),
        )
            .prop_map(|(expect, send)| object(vec![("expect", Some(expect)), ("send", send)])),
        1 => (or_junk(prop::sample::select(&[1000i64, 1008, 1011, 4000, 0, 999, 5000, 65535][..]).prop_map(Value::from).boxed()), awkward_string())
            .prop_map(|(code, reason)| json!({ "close": { "code": code, "reason": reason } })),
        1 => pick(&["drop", "malformed", "oversize", "reset"]).prop_map(|f| json!({ "fault": f })),
    ];
    let step = step.prop_recursive(2, 12, 4, |inner| {
        (
            or_junk(
                prop_oneof![
                    Just(json!(3)),
                    Just(json!(0)),
                    Just(json!("forever")),
                    Just(json!(-1)),
                    Just(json!(u64::MAX))
                ]
                .boxed(),
            ),
            prop::collection::vec(inner, 0..3),
        )
            .prop_map(|(repeat, steps)| json!({ "repeat": repeat, "steps": steps }))
    });
    prop::collection::vec(step, 1..4).prop_map(Value::Array).boxed()
}

fn rule_file() -> BoxedStrategy<Value> {
    let when = (
        pick(OPERATION_REFS),
        maybe(
            0.3,
            or_junk(
                prop_oneof![
                    pick(&["signed-in", "signed-out", "start"]),
                    Just(json!(["signed-in", "x"]))
                ]
                .boxed(),
            ),
        ),
        maybe(0.15, templated_json()),
        maybe(0.1, Just(json!({ "q": "1" })).boxed()),
        maybe(0.1, header_map()),
        maybe(0.05, Just(json!({ "id": "1" })).boxed()),
    )
        .prop_map(|(operation, state, body, query, headers, path)| {
            object(vec![
                ("operation", Some(operation)),
                ("state", state),
                ("body", body),
                ("query", query),
                ("headers", headers),
                ("path", path),
            ])
        });
    let respond = prop_oneof![
        3 => response_file(),
        1 => prop::collection::vec(response_file(), 0..3).prop_map(Value::Array),
    ];
    (
        or_junk(when.boxed()),
        // Exactly one of `respond` and `stream`, mostly.
        prop_oneof![
            6 => respond.prop_map(|r| (Some(r), None)),
            2 => steps().prop_map(|s| (None, Some(s))),
            1 => (maybe(0.5, response_file()), maybe(0.5, steps())),
        ],
        maybe(0.1, or_junk(any::<bool>().prop_map(Value::Bool).boxed())),
        maybe(
            0.1,
            or_junk(
                prop::sample::select(&[0i64, 1, 2, -1][..])
                    .prop_map(Value::from)
                    .boxed(),
            ),
        ),
        maybe(
            0.2,
            prop::collection::vec((prop::sample::select(&["user", "other", ""][..]), body_file()), 0..2)
                .prop_map(|p| Value::Object(p.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
                .boxed(),
        ),
        maybe(0.1, Just(json!(["user"])).boxed()),
        maybe(
            0.2,
            pick(&["signed-in", "signed-out", "elsewhere"])
                .prop_map(|s| json!({ "state": s }))
                .boxed(),
        ),
    )
        .prop_map(|(when, (respond, stream), cycle, times, store, forget, then)| {
            object(vec![
                ("when", Some(when)),
                ("respond", respond),
                ("stream", stream),
                ("cycle", cycle),
                ("times", times),
                ("store", store),
                ("forget", forget),
                ("then", then),
            ])
        })
        .boxed()
}

/// A scenario file built from the format's own keys (mostly well-typed).
fn scenario_document() -> BoxedStrategy<Value> {
    (
        maybe(0.3, pick(&["fuzz", "default", "signed-out", "", "a/b"])),
        maybe(0.2, awkward_string().prop_map(Value::String).boxed()),
        maybe(0.3, pick(&["signed-in", "signed-out", "start", ""])),
        maybe(0.3, pick(&["default", "signed-out", "fuzz", "nope"])),
        maybe(
            0.3,
            prop::collection::vec((prop::sample::select(&["user", "other", "x y"][..]), body_file()), 0..2)
                .prop_map(|p| Value::Object(p.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
                .boxed(),
        ),
        prop::collection::vec(rule_file(), 0..4),
        maybe(0.05, json_value()),
    )
        .prop_map(|(name, description, initial, extends, store, rules, junk)| {
            object(vec![
                ("name", name),
                ("description", description),
                ("initial", initial),
                ("extends", extends),
                ("store", store),
                ("rules", Some(Value::Array(rules))),
                ("unknown", junk),
            ])
        })
        .boxed()
}

/// Scenario file text: a shipped file edited, or a generated document.
fn scenario_text() -> BoxedStrategy<(String, String)> {
    let shipped = prop::sample::select(shipped_scenarios());
    prop_oneof![
        3 => (shipped, prop::collection::vec(text_edit(YAML_SPLICES), 1..5))
            .prop_map(|(source, edits)| (source.file_name, apply_text_edits(&source.text, &edits))),
        3 => (scenario_document(), prop_oneof![Just(Style::Json), Just(Style::Block)])
            .prop_map(|(doc, style)| ("fuzz.yaml".to_string(), emit(&doc, style))),
        1 => (scenario_document(), prop::collection::vec(text_edit(YAML_SPLICES), 1..3))
            .prop_map(|(doc, edits)| ("fuzz.yaml".to_string(), apply_text_edits(&emit(&doc, Style::Block), &edits))),
        1 => any::<String>().prop_map(|text| ("fuzz.yaml".to_string(), text)),
    ]
    .boxed()
}

/// Loads `(file name, text)` in place of the shipped file of that name (or
/// beside them), and checks the outcome.
fn load_scenarios(file_name: &str, text: &str) -> Result<Option<Catalog>, TestCaseError> {
    let world = world();
    let mut sources: Vec<ScenarioSource> = shipped_scenarios()
        .iter()
        .filter(|s| s.file_name != file_name)
        .cloned()
        .collect();
    sources.push(scenario_source(file_name, text));
    let labels: Vec<(String, String)> = sources.iter().map(|s| (s.label.clone(), s.text.clone())).collect();
    let labels: Vec<(&str, &str)> = labels.iter().map(|(l, t)| (l.as_str(), t.as_str())).collect();
    match load_catalog(
        sources.clone(),
        &world.strict.configuration().spec,
        &world.responder,
        &world.fixtures,
        0,
    ) {
        Ok(catalog) => {
            // Values followed through the store are found in a scenario file or a fixture.
            let fixtures = world.fixtures.names().filter_map(|name| world.fixtures.get(name));
            let files: Vec<(&str, &str)> = labels
                .iter()
                .copied()
                .chain(fixtures.map(|f| (f.file.as_str(), f.text.as_str())))
                .collect();
            for diagnostic in check_values(&catalog, &world.strict.configuration().spec, &world.fixtures, &sources) {
                check_diagnostic(&diagnostic, &files)?;
            }
            Ok(Some(catalog))
        }
        Err(problems) => {
            for diagnostic in problems.iter() {
                check_diagnostic(diagnostic, &labels)?;
            }
            Ok(None)
        }
    }
}

/// Request bodies a loaded scenario is driven with.
fn sample_bodies() -> Vec<Option<Checked>> {
    [
        None,
        Some(profile().clone()),
        Some(json!({})),
        Some(json!({"user_id": "auth0|1", "email": "a@b.c", "vanityname": "x"})),
        Some(json!([1, {"a": null}])),
        Some(nested(120, true, json!(1))),
    ]
    .into_iter()
    .map(|body| body.map(Checked::unchecked))
    .collect()
}

/// Runs every scenario of a loaded catalog: each operation called in turn,
/// a few times, and every stream frame rendered. Nothing may panic, and a
/// decided status is an HTTP status.
fn exercise(catalog: &Catalog, spec: &Spec) -> Result<(), TestCaseError> {
    let headers = HeaderMap::new();
    let bodies = sample_bodies();
    let now = RequestTime::at(std::time::Duration::from_secs(1_795_894_800));
    for scenario in catalog.scenarios() {
        let mut session = SessionState::start(Some(scenario.clone()));
        for round in 0..2u64 {
            for operation in 0..spec.operations.len() {
                for (b, body) in bodies.iter().enumerate() {
                    let facts = Facts {
                        operation,
                        body: body.as_ref(),
                        query: &[],
                        headers: &headers,
                        path: &[],
                        now: &now,
                        entropy: round * 31 + b as u64,
                    };
                    let _ = engine::peek(&mut session, &facts);
                    let Some(decision) = engine::decide(&mut session, &facts) else {
                        continue;
                    };
                    match decision.outcome {
                        engine::Outcome::Respond(answer) => {
                            let status = answer.rendered.status;
                            prop_assert!((100..=599).contains(&status), "{}: status {}", decision.rule, status);
                        }
                        engine::Outcome::Stream(script) => {
                            for frame in frames(&script.steps) {
                                if let Frame::Text(ScriptedBody::Template { body, media }) = frame {
                                    let event = EventView {
                                        request: body_ref(&bodies, b),
                                        response: Some(profile()),
                                    };
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
                                        &Cell::new(7),
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn body_ref(bodies: &[Option<Checked>], index: usize) -> Option<&Value> {
    bodies
        .get(index)
        .and_then(Option::as_ref)
        .map(|body| body.value.as_ref())
}

proptest! {
    #![proptest_config(config(64))]

    /// Any scenario file: it loads (and then runs without a panic) or it is
    /// refused with a diagnostic that names the file and the place.
    #[test]
    fn any_scenario_file_loads_or_is_explained((file_name, text) in scenario_text()) {
        if let Some(catalog) = load_scenarios(&file_name, &text)? {
            exercise(&catalog, &world().strict.configuration().spec)?;
        }
    }
}
