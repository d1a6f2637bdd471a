//! Property tests (proptest) for the entry points that take outside input:
//! requests (`App::handle`, `App::upgrade`), scenario files, spec documents
//! and `{{...}}` templates. A panic anywhere is a bug: a malformed request
//! gets a 4xx problem, a malformed file a `Diagnostic`.
//!
//! The case counts are small so that `cargo test` stays fast (a few seconds
//! for the whole file in a debug build); `PROPTEST_CASES=N` raises every
//! property to N cases for a crash hunt, e.g.
//! `PROPTEST_CASES=20000 cargo test --release --test properties`.
//! Failures are not persisted to files: every crash found is kept below as
//! an explicit regression test instead (see "Regressions").
//!
//! The request properties share one app per test binary, so sessions carry
//! state from case to case (as a real client's would); a failure prints the
//! request that met it.

mod common;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use http::header::{HeaderName, HeaderValue};
use http::request::Parts;
use http::{HeaderMap, Method, Request};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Map, Value};
use specmock::internal::app::Upgrade;
use specmock::internal::diagnostic::{Diagnostic, Position};
use specmock::internal::fixtures::Fixtures;
use specmock::internal::render::Responder;
use specmock::internal::scenario::engine::{self, Facts, SessionState};
use specmock::internal::scenario::template::{EventView, RequestTime, Scope, Template};
use specmock::internal::scenario::{
    check_values, load_catalog, Catalog, Frame, ScenarioSource, ScriptedBody, Step, Store,
};
use specmock::internal::spec::{Operation, Spec};
use specmock::internal::validate::Checked;
use specmock::internal::{App, Behaviour};

// ------------------------------------------------------------------ setup

/// The configuration of every property: `default_cases` cases unless
/// `PROPTEST_CASES` says otherwise, no failure files in the source tree, and
/// shrinking bounded so that a failing run still ends quickly.
fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 10_000,
        max_shrink_time: 20_000,
        ..ProptestConfig::default()
    }
}

const SHIPPED_SPEC: &str = include_str!("../openapi.yaml");
const PROFILE: &str = include_str!("../fixtures/user-signed-in.json");
const MINIMAL_PROFILE: &str = include_str!("../fixtures/user-minimal.json");
const FEATURES_SPEC: &str = include_str!("specs/features.yaml");
const PETSTORE_SPEC: &str = include_str!("specs/petstore.yaml");
const PET_SCHEMAS: &str = include_str!("specs/pet-schemas.yaml");

/// The shipped scenario files (`scenarios/*.yaml`), labelled as in the repository.
fn shipped_scenarios() -> &'static [ScenarioSource] {
    static SOURCES: OnceLock<Vec<ScenarioSource>> = OnceLock::new();
    SOURCES.get_or_init(|| common::scenario_sources(&common::repo_root().join("scenarios")))
}

/// Their names (the file names without `.yaml`: none sets `name:`).
fn scenario_names() -> Vec<&'static str> {
    shipped_scenarios()
        .iter()
        .map(|s| s.file_name.trim_end_matches(".yaml"))
        .collect()
}

fn scenario_source(file_name: &str, text: &str) -> ScenarioSource {
    ScenarioSource {
        file_name: file_name.to_string(),
        label: format!("scenarios/{file_name}"),
        text: text.to_string(),
    }
}

/// Everything the properties share, built once per test binary.
struct World {
    /// The shipped spec, fixtures and scenarios, sessions starting in `default`.
    strict: App,
    /// The same with `--lenient`.
    lenient: App,
    /// `tests/specs/features.yaml`: security schemes, parameter styles, form and text bodies.
    features: App,
    /// What scenario files are checked against, with `strict.spec`: the shipped fixtures.
    fixtures: Fixtures,
    responder: Responder,
}

fn world() -> &'static World {
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

fn profile() -> &'static Value {
    static PROFILE_VALUE: OnceLock<Value> = OnceLock::new();
    PROFILE_VALUE.get_or_init(|| serde_json::from_str(PROFILE).expect("the fixture is JSON"))
}

// ------------------------------------------------------------ generators

/// Strings a parser or a matcher may trip on.
const AWKWARD_STRINGS: &[&str] = &[
    "",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\0",
    "%",
    "%zz",
    "%ff",
    "%C3%A9",
    "{{",
    "}}",
    "{{}}",
    "{{now}}",
    "{{uuid}}",
    "{{store.user}}",
    "{{request.body}}",
    "..",
    "/",
    "~",
    "~1",
    "null",
    "true",
    "NaN",
    "-0",
    "1e999",
    "\u{feff}",
    "é",
    "\u{10ffff}",
    "👩‍💻",
    "a\u{0301}",
];

fn awkward_string() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(AWKWARD_STRINGS).prop_map(str::to_string),
        3 => "[a-zA-Z0-9_.-]{0,12}",
        1 => any::<String>(),
    ]
    .boxed()
}

/// Keys that occur in the profiles, the Auth0 user and the beta status, and a few more.
const PROFILE_KEYS: &[&str] = &[
    "id",
    "email",
    "name",
    "username",
    "vanityname",
    "picture",
    "apiKeys",
    "created",
    "updated",
    "value",
    "readable",
    "aesthetics",
    "theme",
    "dark",
    "font",
    "size",
    "allocation",
    "schema",
    "migration",
    "semantic",
    "user",
    "user_id",
    "status",
    "cloud",
    "providers",
    "auth0",
    "beta",
    "vision",
    "",
    "$ref",
    "__proto__",
];

fn json_key() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::sample::select(PROFILE_KEYS).prop_map(str::to_string),
        1 => awkward_string(),
    ]
    .boxed()
}

fn json_number() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!(16)),
        Just(json!(i64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(u64::MAX)),
        Just(json!(1e300)),
        Just(json!(-1e300)),
        Just(json!(5e-324)),
        Just(json!(0.5)),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
    ]
    .boxed()
}

fn json_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        json_number(),
        awkward_string().prop_map(Value::String),
    ]
    .boxed()
}

/// Any JSON value, keys mostly the profiles' own.
fn json_value() -> BoxedStrategy<Value> {
    json_leaf()
        .prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((json_key(), inner), 0..6)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
        .boxed()
}

/// A value nested `depth` levels deep, in arrays or objects.
fn nested(depth: usize, object: bool, leaf: Value) -> Value {
    (0..depth).fold(leaf, |inner, _| match object {
        true => json!({ "user": inner }),
        false => json!([inner]),
    })
}

fn node_count(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(node_count).sum(),
        Value::Object(map) => map.values().map(node_count).sum(),
        _ => 0,
    }
}

/// Replaces the `n`th node (pre-order) of `value` with `new`.
fn replace_nth(value: &mut Value, n: &mut usize, new: &Value) -> bool {
    if *n == 0 {
        *value = new.clone();
        return true;
    }
    *n -= 1;
    match value {
        Value::Array(items) => items.iter_mut().any(|item| replace_nth(item, n, new)),
        Value::Object(map) => map.values_mut().any(|item| replace_nth(item, n, new)),
        _ => false,
    }
}

/// Removes one key (the `n`th object member, pre-order) of `value`.
fn remove_nth_key(value: &mut Value, n: &mut usize) -> bool {
    match value {
        Value::Array(items) => items.iter_mut().any(|item| remove_nth_key(item, n)),
        Value::Object(map) => {
            if *n < map.len() {
                let key = map.keys().nth(*n).cloned().expect("in range");
                map.remove(&key);
                return true;
            }
            *n -= map.len();
            map.values_mut().any(|item| remove_nth_key(item, n))
        }
        _ => false,
    }
}

#[derive(Debug, Clone)]
enum ValueEdit {
    Replace(Index, Value),
    Remove(Index),
    Insert(Index, String, Value),
}

fn value_edit() -> BoxedStrategy<ValueEdit> {
    prop_oneof![
        4 => (any::<Index>(), json_value()).prop_map(|(at, v)| ValueEdit::Replace(at, v)),
        2 => any::<Index>().prop_map(ValueEdit::Remove),
        2 => (any::<Index>(), json_key(), json_value()).prop_map(|(at, k, v)| ValueEdit::Insert(at, k, v)),
    ]
    .boxed()
}

fn apply_edits(mut value: Value, edits: &[ValueEdit]) -> Value {
    for edit in edits {
        match edit {
            ValueEdit::Replace(at, new) => {
                let mut n = at.index(node_count(&value));
                replace_nth(&mut value, &mut n, new);
            }
            ValueEdit::Remove(at) => {
                let mut n = at.index(node_count(&value));
                remove_nth_key(&mut value, &mut n);
            }
            ValueEdit::Insert(at, key, new) => {
                // Into the chosen node when it is an object, else into the root.
                let mut n = at.index(node_count(&value));
                if let Some(map) = nth_object(&mut value, &mut n) {
                    map.insert(key.clone(), new.clone());
                } else if let Value::Object(map) = &mut value {
                    map.insert(key.clone(), new.clone());
                }
            }
        }
    }
    value
}

fn nth_object<'v>(value: &'v mut Value, n: &mut usize) -> Option<&'v mut Map<String, Value>> {
    if *n == 0 {
        return value.as_object_mut();
    }
    *n -= 1;
    match value {
        Value::Array(items) => items.iter_mut().find_map(|item| nth_object(item, n)),
        Value::Object(map) => map.values_mut().find_map(|item| nth_object(item, n)),
        _ => None,
    }
}

/// Raw text spliced into a JSON document.
const JSON_SPLICES: &[&str] = &[
    "1e999",
    "-1e999",
    "123456789012345678901234567890",
    "-0",
    "0.000000000000000000000000000001e-400",
    "NaN",
    "Infinity",
    "\"\\ud800\"",
    "\"\\u0000\"",
    "\"\\x\"",
    "null",
    ",",
    ":",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "\\",
    "\u{feff}",
    "//",
    "/*",
    " ",
    "\n",
    "\"dup\": 1, \"dup\": 2,",
];

#[derive(Debug, Clone)]
enum TextEdit {
    /// Removes up to `len` bytes at a position.
    Delete(Index, usize),
    /// Inserts text at a position.
    Insert(Index, String),
    /// Repeats a whole line.
    DuplicateLine(Index),
    /// Removes a whole line.
    DeleteLine(Index),
    /// Replaces one byte position's character.
    Replace(Index, String),
    /// Cuts the text short.
    Truncate(Index),
}

fn apply_text_edits(text: &str, edits: &[TextEdit]) -> String {
    let mut text = text.to_string();
    let boundary = |text: &str, at: &Index| {
        let mut position = at.index(text.len() + 1);
        while !text.is_char_boundary(position) {
            position -= 1;
        }
        position
    };
    for edit in edits {
        match edit {
            TextEdit::Delete(at, len) => {
                let start = boundary(&text, at);
                let mut end = (start + len).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                text.replace_range(start..end, "");
            }
            TextEdit::Insert(at, insert) => {
                let at = boundary(&text, at);
                text.insert_str(at, insert);
            }
            TextEdit::Replace(at, with) => {
                let start = boundary(&text, at);
                let end = text[start..].chars().next().map_or(start, |c| start + c.len_utf8());
                text.replace_range(start..end, with);
            }
            TextEdit::DuplicateLine(at) | TextEdit::DeleteLine(at) => {
                let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
                if lines.is_empty() {
                    continue;
                }
                let index = at.index(lines.len());
                let line = lines[index];
                match edit {
                    TextEdit::DuplicateLine(_) => lines.insert(index, line),
                    _ => {
                        lines.remove(index);
                    }
                }
                text = lines.concat();
            }
            TextEdit::Truncate(at) => {
                let at = boundary(&text, at);
                text.truncate(at);
            }
        }
    }
    text
}

fn text_edit(tokens: &'static [&'static str]) -> BoxedStrategy<TextEdit> {
    let token = prop_oneof![
        4 => prop::sample::select(tokens).prop_map(str::to_string),
        1 => awkward_string(),
        1 => "[ -~\n]{1,6}",
    ];
    prop_oneof![
        3 => (any::<Index>(), 1usize..12).prop_map(|(at, n)| TextEdit::Delete(at, n)),
        4 => (any::<Index>(), token.clone()).prop_map(|(at, t)| TextEdit::Insert(at, t)),
        3 => (any::<Index>(), token).prop_map(|(at, t)| TextEdit::Replace(at, t)),
        2 => any::<Index>().prop_map(TextEdit::DuplicateLine),
        2 => any::<Index>().prop_map(TextEdit::DeleteLine),
        1 => any::<Index>().prop_map(TextEdit::Truncate),
    ]
    .boxed()
}

/// Request bodies: the signed-in profile, edited or broken in every way.
fn body() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        3 => Just(Vec::new()),
        3 => Just(PROFILE.as_bytes().to_vec()),
        1 => Just(MINIMAL_PROFILE.as_bytes().to_vec()),
        1 => Just(br#"{"user_id":"auth0|1","email":"a@b.c","name":"A","username":"a","picture":"https://x/y"}"#.to_vec()),
        6 => prop::collection::vec(value_edit(), 1..4)
            .prop_map(|edits| serde_json::to_vec(&apply_edits(profile().clone(), &edits)).expect("serializes")),
        3 => json_value().prop_map(|v| serde_json::to_vec(&v).expect("serializes")),
        3 => prop::collection::vec(text_edit(JSON_SPLICES), 1..4)
            .prop_map(|edits| apply_text_edits(PROFILE, &edits).into_bytes()),
        2 => (0..=PROFILE.len()).prop_map(|n| PROFILE.as_bytes()[..n].to_vec()),
        2 => (1usize..200, any::<bool>()).prop_map(|(depth, object)| {
            serde_json::to_vec(&nested(depth, object, json!("deep"))).expect("serializes")
        }),
        1 => (100usize..5_000).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()),
        1 => Just(b"{\"name\": \"\xff\xfe\"}".to_vec()),
        2 => prop::collection::vec(any::<u8>(), 0..64),
        1 => "([a-z_%+=&]|%[0-9a-fA-F]{2}|%zz|%ff){0,20}".prop_map(String::into_bytes),
        // For the admin API and the features spec's form and text bodies.
        2 => prop::sample::select(&[
            r#"{"name": "signed-out"}"#,
            r#"{"name": "nope"}"#,
            r#"{"name": 1}"#,
            r#"{"operation": "user-snapshot", "count": 1}"#,
            r#"{"operation": "GET /user", "at_least": 0, "session": "s1"}"#,
            r#"{"operation": "update-user", "at_most": 99999999999999999999, "body": {"id": 1}}"#,
            r#"{"operation": "nope", "count": -1}"#,
            r#"{"operation": "user-snapshot", "count": 1, "at_most": 2}"#,
            r#"{"login": "alice", "password": "12345678"}"#,
            r#"{"login": "alice", "password": "1", "created": "x", "tags": {"a": 1}}"#,
            "count=3&flag=true&name=x",
            "count=11&flag=yes",
            "count=%zz",
            "hello",
            "toolong",
        ][..])
        .prop_map(|b| b.as_bytes().to_vec()),
    ]
    .boxed()
}

/// The shipped spec's operations and the admin API, as `(method, path)`.
const SHIPPED_ROUTES: &[(&str, &str)] = &[
    ("GET", "/.well-known/health"),
    ("HEAD", "/.well-known/health"),
    ("GET", "/user"),
    ("HEAD", "/user"),
    ("POST", "/user/clear"),
    ("GET", "/user/refresh"),
    ("POST", "/user/select"),
    ("GET", "/user/stream"),
    ("POST", "/user/update"),
    ("POST", "/user/update"),
    ("POST", "/user/beta/status"),
    ("GET", "/user/providers"),
    ("POST", "/user/update/vanity"),
    ("OPTIONS", "/user"),
    ("GET", "/__mock/journal"),
    ("DELETE", "/__mock/journal"),
    ("POST", "/__mock/verify"),
    ("GET", "/__mock/violations"),
    ("GET", "/__mock/status"),
    ("GET", "/__mock/scenarios"),
    ("GET", "/__mock/openapi.json"),
    ("GET", "/__mock/sessions/s1"),
    ("PUT", "/__mock/sessions/s1/scenario"),
    ("POST", "/__mock/sessions/s1/reset"),
    ("POST", "/__mock/reload"),
];

/// `tests/specs/features.yaml`'s operations.
const FEATURE_ROUTES: &[(&str, &str)] = &[
    ("GET", "/optional-auth"),
    ("GET", "/key-in-query"),
    ("GET", "/key-in-cookie"),
    ("GET", "/basic-and-key"),
    ("GET", "/basic-or-bearer"),
    ("GET", "/items/1"),
    ("GET", "/items/abc"),
    ("GET", "/search"),
    ("POST", "/form"),
    ("PUT", "/text"),
    ("GET", "/nickname"),
    ("POST", "/account"),
];

const SHIPPED_PATHS: &[&str] = &[
    "/.well-known/health",
    "/user",
    "/user/clear",
    "/user/refresh",
    "/user/select",
    "/user/stream",
    "/user/update",
    "/user/beta/status",
    "/user/providers",
    "/user/update/vanity",
];

const ADMIN_PATHS: &[&str] = &[
    "/__mock/journal",
    "/__mock/journal/events",
    "/__mock/sessions",
    "/__mock/ui",
    "/__mock/ui/app.js",
    "/__mock/ui/..%2Fmod.rs",
    "/__mock/verify",
    "/__mock/violations",
    "/__mock/status",
    "/__mock/scenarios",
    "/__mock/openapi.json",
    "/__mock/sessions/s1",
    "/__mock/sessions/s1/scenario",
    "/__mock/sessions/s1/reset",
    "/__mock/reload",
    "/__mock/sessions/%zz/reset",
    "/__mock/sessions/%ff",
    "/__mock/",
    "/__mock/sessions//scenario",
];

const FEATURE_PATHS: &[&str] = &[
    "/optional-auth",
    "/key-in-query",
    "/key-in-cookie",
    "/basic-and-key",
    "/basic-or-bearer",
    "/items/1",
    "/items/0",
    "/items/abc",
    "/items/%zz",
    "/items/%ff",
    "/items/-9223372036854775809",
    "/search",
    "/form",
    "/text",
    "/nickname",
    "/account",
];

fn segment() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[a-zA-Z0-9._~-]{0,10}",
        1 => prop::sample::select(&["%zz", "%", "%f", "%ff", "%C3%A9", "%c3", "%2F", "%2f", "%00", "..", ".", "user", "{itemId}", "__mock", "%7B%7D"][..])
            .prop_map(str::to_string),
        1 => "(%[0-9A-Fa-f]{2}){1,3}",
        1 => "[!$&'()*+,;=:@a-z%]{1,6}",
    ]
    .boxed()
}

/// Paths near the known ones of all the apps (a path of one app is an
/// unknown path of the others).
fn path() -> BoxedStrategy<String> {
    let known = prop_oneof![
        6 => prop::sample::select(SHIPPED_PATHS),
        2 => prop::sample::select(ADMIN_PATHS),
        2 => prop::sample::select(FEATURE_PATHS),
    ];
    prop_oneof![
        6 => known.clone().prop_map(str::to_string),
        2 => (known.clone(), prop::collection::vec(segment(), 1..3))
            .prop_map(|(path, extra)| format!("{path}/{}", extra.join("/"))),
        2 => (known, any::<Index>(), segment()).prop_map(|(path, at, with)| {
            let mut segments: Vec<&str> = path.split('/').collect();
            let index = at.index(segments.len());
            segments[index] = &with;
            segments.join("/")
        }),
        2 => prop::collection::vec(segment(), 0..5).prop_map(|s| format!("/{}", s.join("/"))),
        1 => prop::sample::select(&["*", "//", "/user//", "/user/", "http://localhost/user", "/%2e%2e/user", "/USER"][..])
            .prop_map(str::to_string),
    ]
    .boxed()
}

const QUERY_NAMES: &[&str] = &[
    "__session",
    "__scenario",
    "__code",
    "__example",
    "__dynamic",
    "api_key",
    "verbose",
    "filter[a]",
    "filter[b]",
    "ids",
    "tags",
    "limit",
    "offset",
    "status",
    "since",
    "violating",
    "operation",
    "session",
    "q",
    "filter[min]",
    "filter[color]",
    "pipes",
    "ratio",
];

const QUERY_VALUES: &[&str] = &[
    "",
    "true",
    "false",
    "1",
    "-1",
    "0",
    "99999999999999999999",
    "abc",
    "%zz",
    "%ff",
    "%",
    "+",
    "a+b",
    "a,b",
    "a|b",
    "200",
    "204",
    "409",
    "511",
    "999",
    "default",
    "signed-out",
    "stream-drops",
    "signed-in",
    "vision-opt-in",
    "2026-11-28T19:40:00Z",
    "user-snapshot",
    "GET%20%2Fuser",
    "red",
    "1,2",
    "1|2",
    "0.5",
    "1e999",
];

fn query() -> BoxedStrategy<Option<String>> {
    let name = prop_oneof![
        4 => prop::sample::select(QUERY_NAMES).prop_map(str::to_string),
        1 => "[a-z_%]{1,6}",
    ];
    let value = prop_oneof![
        8 => prop::sample::select(QUERY_VALUES).prop_map(str::to_string),
        2 => "([a-zA-Z0-9+._,|-]|%[2-7][0-9a-fA-F]|%C3%A9){0,8}",
        1 => "([a-zA-Z0-9%+._,|-]|%[0-9a-fA-F]{2}){0,8}",
    ];
    let control = (
        prop::sample::select(&["__session", "__scenario", "__code", "__example", "__dynamic"][..]),
        prop_oneof![
            prop::sample::select(scenario_names()),
            prop::sample::select(QUERY_VALUES),
        ],
    )
        .prop_map(|(n, v)| format!("{n}={v}"));
    prop_oneof![
        8 => Just(None),
        3 => prop::collection::vec(control, 1..3).prop_map(|pairs| Some(pairs.join("&"))),
        3 => prop::collection::vec((name, value, any::<bool>()), 1..5).prop_map(|pairs| {
            let pairs: Vec<String> = pairs
                .into_iter()
                .map(|(n, v, bare)| if bare && v.is_empty() { n } else { format!("{n}={v}") })
                .collect();
            Some(pairs.join("&"))
        }),
        1 => "[a-zA-Z0-9%&=+;,/?:@._~!$'()*-]{0,20}".prop_map(Some),
    ]
    .boxed()
}

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/problem+json",
    "application/vnd.x+json",
    "text/plain",
    "text/plain; charset=latin1",
    "text/html",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "",
    ";",
    "application/json;;",
    "text/*",
    "*/*",
    "json",
    "application/",
];

const PREFER_VALUES: &[&str] = &[
    "code=200",
    "code=204",
    "code=409",
    "code=500",
    "code=511",
    "code=426",
    "code=abc",
    "code=99999",
    "code=",
    "example=signed-in",
    "example=signed-out",
    "example=vision-opt-in",
    "example=nope",
    "example=",
    "dynamic=true",
    "dynamic=false",
    "code=200, example=signed-in",
    "code=200, dynamic=true",
    "code=500, dynamic=true",
    "code=200; example=signed-in",
    "respond-async",
    "code=200,code=500",
];

const AUTHORIZATION_VALUES: &[&str] = &[
    "Bearer x",
    "Bearer ",
    "Bearer",
    "bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.",
    "Basic dXNlcjpwYXNz",
    "Basic",
    "",
    " ",
    "Digest x",
];

const SESSION_NAMES: &[&str] = &["s1", "s2", "default", "", " ", "%zz", "a/b", "é"];

fn header_value_bytes() -> BoxedStrategy<Vec<u8>> {
    prop::collection::vec(
        prop_oneof![8 => 0x20u8..0x7f, 1 => 0x80u8..=0xff, 1 => Just(b'\t')],
        0..24,
    )
    .boxed()
}

fn header() -> BoxedStrategy<(String, Vec<u8>)> {
    let fixed = |name: &'static str, values: &'static [&'static str]| {
        prop_oneof![
            5 => prop::sample::select(values).prop_map(|v| v.as_bytes().to_vec()),
            1 => header_value_bytes(),
        ]
        .prop_map(move |value| (name.to_string(), value))
    };
    prop_oneof![
        4 => fixed("content-type", CONTENT_TYPES),
        3 => fixed("x-mock-session", SESSION_NAMES),
        2 => prop::sample::select(scenario_names()).prop_map(|v| ("x-mock-scenario".to_string(), v.as_bytes().to_vec())),
        1 => fixed("x-mock-scenario", &["nope", "", "DEFAULT"]),
        3 => fixed("prefer", PREFER_VALUES),
        2 => fixed("authorization", AUTHORIZATION_VALUES),
        1 => fixed("cookie", &["sid=1", "sid=", "sid", "a=b; sid=2", ";;", "=", "session=abcd", "session=ab; sid=1"]),
        1 => fixed("x-api-key", &["k", ""]),
        1 => fixed("origin", &["http://localhost:3000", "null", ""]),
        1 => fixed("access-control-request-method", &["GET", "POST", "FOO", ""]),
        1 => fixed("access-control-request-headers", &["x-mock-session", "content-type, prefer", ""]),
        1 => fixed("upgrade", &["websocket", "h2c"]),
        1 => fixed("connection", &["upgrade", "keep-alive, Upgrade", "close"]),
        1 => fixed("sec-websocket-key", &["dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=", "not base64!", ""]),
        1 => fixed("sec-websocket-version", &["13", "8", ""]),
        1 => fixed("accept", &["application/json", "text/plain", "*/*", ""]),
        2 => ("[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}", header_value_bytes()),
    ]
    .boxed()
}

const METHODS: &[&str] = &[
    "GET", "GET", "GET", "POST", "POST", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
];

fn method() -> BoxedStrategy<String> {
    prop_oneof![
        6 => prop::sample::select(METHODS).prop_map(str::to_string),
        1 => "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,10}",
    ]
    .boxed()
}

/// Which app a request goes to.
#[derive(Debug, Clone, Copy)]
enum Target {
    Strict,
    Lenient,
    Features,
}

/// One generated request.
#[derive(Clone)]
struct Req {
    target: Target,
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

/// Bytes as text, non-ASCII escaped, so a failing request can be copied into a test.
fn shown(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

impl std::fmt::Debug for Req {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {}", shown(value)))
            .collect();
        f.debug_struct("Req")
            .field("target", &self.target)
            .field("method", &self.method)
            .field("uri", &self.uri())
            .field("headers", &headers)
            .field("body", &shown(&self.body))
            .finish()
    }
}

impl Req {
    fn uri(&self) -> String {
        match &self.query {
            Some(query) => format!("{}?{query}", self.path),
            None => self.path.clone(),
        }
    }

    /// The request head as hyper would hand it over; `None` when hyper
    /// would not (an invalid method token, URI or header).
    fn parts(&self) -> Option<Parts> {
        let method = Method::from_bytes(self.method.as_bytes()).ok()?;
        let request = Request::builder().method(method).uri(self.uri()).body(()).ok()?;
        let (mut parts, ()) = request.into_parts();
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
            let value = HeaderValue::from_bytes(value).ok()?;
            parts.headers.append(name, value);
        }
        Some(parts)
    }

    fn app(&self) -> &'static App {
        let world = world();
        match self.target {
            Target::Strict => &world.strict,
            Target::Lenient => &world.lenient,
            Target::Features => &world.features,
        }
    }
}

/// A method and a path: mostly a route the target app has, else anything near one.
fn route(target: Target) -> BoxedStrategy<(String, String)> {
    let routes = match target {
        Target::Strict | Target::Lenient => SHIPPED_ROUTES,
        Target::Features => FEATURE_ROUTES,
    };
    prop_oneof![
        6 => prop::sample::select(routes).prop_map(|(m, p)| (m.to_string(), p.to_string())),
        1 => (prop::sample::select(routes), method()).prop_map(|((_, p), m)| (m, p.to_string())),
        1 => (prop::sample::select(routes), path()).prop_map(|((m, _), p)| (m.to_string(), p)),
        1 => (method(), path()),
    ]
    .boxed()
}

fn request() -> BoxedStrategy<Req> {
    let target = prop_oneof![6 => Just(Target::Strict), 2 => Just(Target::Lenient), 2 => Just(Target::Features)];
    let content_type = prop_oneof![
        6 => Just(Some("application/json")),
        1 => prop::sample::select(CONTENT_TYPES).prop_map(Some),
        2 => Just(None),
    ];
    (
        target
            .prop_flat_map(|t| (Just(t), route(t)))
            .prop_flat_map(|(t, (method, path))| {
                // Requests without a body mostly come without one.
                let body = match method.as_str() {
                    "GET" | "HEAD" | "DELETE" | "OPTIONS" => prop_oneof![8 => Just(Vec::new()), 1 => body()].boxed(),
                    _ => body(),
                };
                (Just(t), Just(method), Just(path), body)
            }),
        query(),
        content_type,
        prop::collection::vec(header(), 0..5),
    )
        .prop_map(|((target, method, path, body), query, content_type, extra)| {
            let mut headers: Vec<(String, Vec<u8>)> = content_type
                .map(|c| ("content-type".to_string(), c.as_bytes().to_vec()))
                .into_iter()
                .collect();
            headers.extend(extra);
            Req {
                target,
                method,
                path,
                query,
                headers,
                body,
            }
        })
        .boxed()
}

/// A WebSocket handshake: a GET with the upgrade headers, mostly to the stream.
fn handshake() -> BoxedStrategy<Req> {
    let key = prop_oneof![
        6 => Just(Some(b"dGhlIHNhbXBsZSBub25jZQ==".to_vec())),
        2 => prop::collection::vec(any::<u8>(), 0..24).prop_map(|nonce| Some(data_encoding::BASE64.encode(&nonce).into_bytes())),
        1 => prop::sample::select(&["", " dGhlIHNhbXBsZSBub25jZQ== ", "dGhlIHNhbXBsZSBub25jZQ", "====", "not base64!"][..])
            .prop_map(|k| Some(k.as_bytes().to_vec())),
        1 => header_value_bytes().prop_map(Some),
        1 => Just(None),
    ];
    let version = prop_oneof![
        10 => Just(Some(b"13".to_vec())),
        1 => prop::sample::select(&["8", "", "13, 8", " 13", "130"][..]).prop_map(|v| Some(v.as_bytes().to_vec())),
        1 => header_value_bytes().prop_map(Some),
        1 => Just(None),
    ];
    let target = prop_oneof![4 => Just(Target::Strict), 1 => Just(Target::Lenient), 1 => Just(Target::Features)];
    let target_and_path = target.prop_flat_map(|target| {
        let gets = |routes: &'static [(&'static str, &'static str)]| {
            let paths: Vec<&'static str> = routes.iter().filter(|(m, _)| *m == "GET").map(|(_, p)| *p).collect();
            prop::sample::select(paths).prop_map(str::to_string)
        };
        let path = match target {
            Target::Features => prop_oneof![6 => gets(FEATURE_ROUTES), 1 => path()].boxed(),
            _ => prop_oneof![6 => Just("/user/stream".to_string()), 3 => gets(SHIPPED_ROUTES), 1 => path()].boxed(),
        };
        (Just(target), path)
    });
    (
        target_and_path,
        prop_oneof![8 => Just("GET".to_string()), 1 => method()],
        query(),
        key,
        version,
        prop::collection::vec(header(), 0..4),
    )
        .prop_map(|((target, path), method, query, key, version, extra)| {
            let mut headers = vec![
                ("upgrade".to_string(), b"websocket".to_vec()),
                ("connection".to_string(), b"Upgrade".to_vec()),
            ];
            headers.extend(key.map(|k| ("sec-websocket-key".to_string(), k)));
            headers.extend(version.map(|v| ("sec-websocket-version".to_string(), v)));
            headers.extend(extra);
            Req {
                target,
                method,
                path,
                query,
                headers,
                body: Vec::new(),
            }
        })
        .boxed()
}

// ---------------------------------------------------------------- checks

/// The origins `X-Mock-Origin` may name.
const ORIGINS: [&str; 6] = ["router", "validator", "renderer", "scenario", "admin", "server"];

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).map(|v| v.to_str().unwrap_or("(not text)"))
}

/// What every answer to a request must be: a mock problem (problem+json,
/// `X-Mock-Origin`, 4xx/5xx), an admin answer, a CORS preflight, or a
/// status the routed operation declares, with a body its schema accepts
/// (unless lenient).
fn check_answer(app: &App, parts: &Parts, handled: &specmock::internal::app::Handled) -> Result<(), TestCaseError> {
    let response = &handled.response;
    let status = response.status().as_u16();
    let headers = response.headers();
    let body = response.body();
    // A spec may declare any three-digit status (`999`, `1XX`) and the mock
    // then answers it; anything else is within 200..=599.
    prop_assert!((100..1000).contains(&status), "status {}", status);
    let admin = parts.uri.path().starts_with("/__mock/");
    if let Some(origin) = header_text(headers, "x-mock-origin") {
        prop_assert!(ORIGINS.contains(&origin), "X-Mock-Origin {:?}", origin);
        prop_assert!((400..600).contains(&status), "a mock problem with status {}", status);
        prop_assert_eq!(header_text(headers, "content-type"), Some("application/problem+json"));
        let problem: Value = serde_json::from_slice(body)
            .map_err(|e| TestCaseError::fail(format!("problem body is not JSON ({e}): {body:?}")))?;
        prop_assert_eq!(&problem["status"], &json!(status), "{}", problem);
        prop_assert!(
            problem["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:specmock:problem:")),
            "{}",
            problem
        );
        prop_assert!(
            problem["title"].is_string() && problem["detail"].is_string(),
            "{}",
            problem
        );
        if status == 405 {
            prop_assert!(headers.contains_key("allow"), "405 without Allow");
        }
        // (A scheme name that cannot be written in a header, such as one with
        // a line break, leaves the challenge out.)
        let writable = |text: &str| HeaderValue::from_str(text).is_ok();
        let configuration = app.configuration();
        let challenge_writable = handled
            .operation
            .as_ref()
            .and_then(|id| configuration.spec.operation(id))
            .is_none_or(|op| {
                op.security.iter().flatten().all(|scheme| match &scheme.credential {
                    specmock::internal::spec::Credential::HttpScheme(name) => writable(name),
                    specmock::internal::spec::Credential::ApiKey { name, .. } => writable(name),
                    specmock::internal::spec::Credential::AuthorizationHeader => true,
                })
            });
        if status == 401 && !admin && challenge_writable {
            prop_assert!(headers.contains_key("www-authenticate"), "401 without WWW-Authenticate");
        }
        return Ok(());
    }
    if admin {
        prop_assert_eq!(status, 200, "an admin answer that is not a problem");
        prop_assert!(handled.session.is_none(), "admin requests belong to no session");
        // The page and its assets, and a session's recording (YAML), are the
        // admin API's only answers that are not JSON.
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        if content_type.starts_with("application/json") {
            let parsed = serde_json::from_slice::<Value>(body);
            prop_assert!(
                parsed.is_ok(),
                "admin body is not JSON: {:?}",
                String::from_utf8_lossy(body)
            );
        } else if content_type == "application/yaml" {
            prop_assert!(
                parts.method == Method::GET && parts.uri.path().ends_with("/scenario"),
                "YAML from {} {}",
                parts.method,
                parts.uri.path()
            );
        } else {
            prop_assert!(
                parts.uri.path().starts_with("/__mock/ui"),
                "an admin answer of {:?} outside the page",
                content_type
            );
        }
        return Ok(());
    }
    prop_assert!(
        (200..600).contains(&status) || handled.operation.is_some(),
        "status {}",
        status
    );
    let Some(id) = &handled.operation else {
        // Only a CORS preflight is answered without an operation or a problem.
        prop_assert_eq!(&parts.method, &Method::OPTIONS, "unattributed answer {}", status);
        prop_assert_eq!(status, 204);
        return Ok(());
    };
    prop_assert!(handled.session.is_some(), "an API request without a session");
    let configuration = app.configuration();
    let operation = configuration
        .spec
        .operation(id)
        .ok_or_else(|| TestCaseError::fail(format!("unknown operation {id}")))?;
    let declared = operation.response_for(status);
    let undeclared_fault = handled.fault == Some(specmock::internal::scenario::Fault::UndeclaredStatus);
    prop_assert!(
        declared.is_some() || undeclared_fault || (status == 204 && !has_content(operation)),
        "{} answered {}, which it does not declare",
        id,
        status
    );
    if parts.method == Method::HEAD {
        prop_assert!(body.is_empty(), "a HEAD answer with a body");
    }
    let lenient = app.behaviour().lenient;
    prop_assert!(
        lenient || !headers.contains_key("x-mock-violations"),
        "X-Mock-Violations without --lenient"
    );
    // A strict mock never contradicts its own spec.
    if let (false, Some(declared), false) = (lenient, declared, body.is_empty()) {
        // (A spec may declare a media type that is not ASCII; it is sent as is.)
        let content_type = headers
            .get("content-type")
            .map(|v| String::from_utf8_lossy(v.as_bytes()));
        check_body_against(declared, content_type.as_deref(), body, id, status)?;
    }
    Ok(())
}

fn has_content(operation: &Operation) -> bool {
    operation.responses.iter().any(|r| !r.content.is_empty())
}

fn check_body_against(
    declared: &specmock::internal::spec::ResponseSpec,
    content_type: Option<&str>,
    body: &[u8],
    id: &str,
    status: u16,
) -> Result<(), TestCaseError> {
    let Some(content_type) = content_type else {
        return Ok(());
    };
    let essence = specmock::internal::spec::essence(content_type);
    // The media types the body may have been made for: the one it is sent
    // as, or a wildcard one (`text/*`, `*/*`) that is sent as a concrete type
    // (`render::encode` sends a non-string value for `text/*` as JSON).
    let candidates: Vec<&specmock::internal::spec::MediaSpec> = declared
        .content
        .iter()
        .filter(|m| m.media_type == essence || m.media_type.contains('*'))
        .collect();
    prop_assert!(
        !candidates.is_empty(),
        "{} {}: content type {:?} is not declared",
        id,
        status,
        content_type
    );
    // The value the body holds: JSON for a JSON type; for a text type the
    // string itself, or a value the mock wrote as JSON (as `render::encode` does).
    let mut values = Vec::new();
    if specmock::internal::validate::is_json(&essence) {
        let value = serde_json::from_slice::<Value>(body).map_err(|e| {
            TestCaseError::fail(format!(
                "{id} {status}: the {essence} body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(body)
            ))
        })?;
        values.push(value);
    } else if essence.starts_with("text/") {
        values.push(Value::String(String::from_utf8_lossy(body).into_owned()));
        values.extend(serde_json::from_slice::<Value>(body).ok().filter(|v| !v.is_string()));
    } else {
        return Ok(());
    }
    let schemas: Vec<&specmock::internal::spec::CompiledSchema> =
        candidates.iter().filter_map(|m| m.schema.as_ref()).collect();
    if schemas.len() < candidates.len() {
        // A candidate without a schema accepts anything.
        return Ok(());
    }
    let valid = schemas.iter().any(|schema| {
        values
            .iter()
            .any(|value| common::schema_errors(schema, value).is_empty())
    });
    prop_assert!(
        valid,
        "{} {}: the body breaks its schema: {:?}\n{}",
        id,
        status,
        common::schema_errors(schemas[0], &values[0]),
        String::from_utf8_lossy(body)
    );
    Ok(())
}

fn check_upgrade(app: &App, parts: &Parts) -> Result<(), TestCaseError> {
    match app.upgrade(parts) {
        Upgrade::Refused(handled) => {
            prop_assert!(
                handled.response.status().as_u16() != 101,
                "a refusal that switches protocols"
            );
            check_answer(app, parts, &handled)
        }
        Upgrade::Accepted(accepted) => {
            prop_assert_eq!(&parts.method, &Method::GET);
            prop_assert_eq!(accepted.handled.response.status().as_u16(), 101);
            let version = header_text(&parts.headers, "sec-websocket-version");
            prop_assert_eq!(version, Some("13"));
            let key = header_text(&parts.headers, "sec-websocket-key").unwrap_or("").trim();
            let nonce = data_encoding::BASE64.decode(key.as_bytes());
            prop_assert!(nonce.is_ok_and(|n| n.len() == 16), "accepted key {:?}", key);
            let expected = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
            prop_assert_eq!(
                header_text(accepted.handled.response.headers(), "sec-websocket-accept"),
                Some(expected.as_str())
            );
            // The first frames, as the connection would send them.
            let _ = app.live_frame(&accepted.plan);
            if let specmock::internal::app::StreamMode::Script(script) = &accepted.plan.mode {
                for frame in frames(&script.steps) {
                    let _ = app.script_frame(&accepted.plan, frame, None);
                }
            }
            Ok(())
        }
    }
}

/// Every frame a script may send, nested steps included.
fn frames(steps: &[Step]) -> Vec<&Frame> {
    let mut found = Vec::new();
    for step in steps {
        match step {
            Step::Send(frame) => found.push(frame),
            Step::On { send: Some(frame), .. } | Step::Expect { send: Some(frame), .. } => found.push(frame),
            Step::Repeat { steps, .. } => found.extend(frames(steps)),
            _ => {}
        }
    }
    found
}

// ------------------------------------------------------ request properties

proptest! {
    #![proptest_config(config(256))]

    /// Any request: no panic, and the answer is a declared one or a mock problem.
    #[test]
    fn any_request_gets_a_declared_answer_or_a_problem(req in request()) {
        let Some(parts) = req.parts() else { return Ok(()) };
        let app = req.app();
        let handled = app.handle(&parts, &req.body);
        check_answer(app, &parts, &handled)?;
    }

    /// Any WebSocket handshake: no panic; accepted only when RFC 6455's checks pass.
    #[test]
    fn any_handshake_is_accepted_or_refused_cleanly(req in handshake()) {
        let Some(parts) = req.parts() else { return Ok(()) };
        check_upgrade(req.app(), &parts)?;
    }
}

// ---------------------------------------------- scenario file properties

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

/// Mostly `typed`, sometimes any value (a type the file format does not expect).
fn or_junk(typed: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop_oneof![40 => typed, 1 => json_value()].boxed()
}

fn pick(values: &'static [&'static str]) -> BoxedStrategy<Value> {
    or_junk(
        prop::sample::select(values)
            .prop_map(|v| Value::String(v.to_string()))
            .boxed(),
    )
}

/// A map of the present fields (`None`: left out).
fn object(fields: Vec<(&str, Option<Value>)>) -> Value {
    Value::Object(
        fields
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_string(), v?)))
            .collect(),
    )
}

fn maybe(weight: f64, strategy: BoxedStrategy<Value>) -> BoxedStrategy<Option<Value>> {
    prop::option::weighted(weight, strategy).boxed()
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

/// How a generated document is written out.
#[derive(Debug, Clone, Copy)]
enum Style {
    Json,
    Block,
}

fn yaml_scalar(value: &Value) -> String {
    let special = |text: &str| {
        text.parse::<f64>().is_ok()
            || ["null", "true", "false", "~", "yes", "no", "on", "off", "y", "n"]
                .contains(&text.to_ascii_lowercase().as_str())
    };
    match value {
        Value::String(text)
            if !text.is_empty()
                && !special(text)
                && text.chars().all(|c| c.is_ascii_alphanumeric() || "_-./ ".contains(c))
                && !text.starts_with([' ', '-', '.'])
                && !text.ends_with(' ') =>
        {
            text.clone()
        }
        // JSON text is YAML (a double-quoted scalar, a flow collection).
        other => other.to_string(),
    }
}

fn emit_block(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, item) in map {
                out.push_str(&format!("{pad}{}:", yaml_scalar(&Value::String(key.clone()))));
                emit_child(item, indent, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                out.push_str(&format!("{pad}-"));
                emit_child(item, indent, out);
            }
        }
        other => out.push_str(&format!("{pad}{}\n", yaml_scalar(other))),
    }
}

fn emit_child(value: &Value, indent: usize, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            emit_block(value, indent + 2, out);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            emit_block(value, indent + 2, out);
        }
        other => out.push_str(&format!(" {}\n", yaml_scalar(other))),
    }
}

fn emit(value: &Value, style: Style) -> String {
    match style {
        Style::Json => serde_json::to_string_pretty(value).expect("serializes"),
        Style::Block => {
            let mut out = String::new();
            emit_block(value, 0, &mut out);
            out
        }
    }
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

/// A diagnostic names one of the files given, and where in it when it can.
fn check_diagnostic(diagnostic: &Diagnostic, files: &[(&str, &str)]) -> Result<(), TestCaseError> {
    let shown = diagnostic.to_string();
    let Some((_, text)) = files.iter().find(|(label, _)| *label == diagnostic.file) else {
        return Err(TestCaseError::fail(format!(
            "the diagnostic names an unknown file: {shown}"
        )));
    };
    prop_assert!(shown.starts_with(&diagnostic.file), "{}", shown);
    prop_assert!(!diagnostic.message.trim().is_empty(), "an empty message: {}", shown);
    if let Position::LineColumn { line, column } = diagnostic.position {
        prop_assert!(
            shown.starts_with(&format!("{}:{line}:{column}: ", diagnostic.file)),
            "{}",
            shown
        );
        let lines = text.lines().count() as u64;
        prop_assert!(line >= 1 && line <= lines + 1, "line {} of {}: {}", line, lines, shown);
        prop_assert!(column >= 1, "column {}: {}", column, shown);
    }
    Ok(())
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
                                        body,
                                        media.as_ref(),
                                        200,
                                        &script.label,
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

// ---------------------------------------------------- spec file properties

/// Text inserted into spec documents.
const SPEC_SPLICES: &[&str] = &[
    "$ref: '#/components/schemas/Problem'",
    "$ref: '#/components/schemas/Nope'",
    "$ref: '#/'",
    "$ref: 'other.yaml#/x'",
    "$ref: 'http://example.com/x'",
    "$ref: '#/components/schemas/Problem/properties/type'",
    "type: ",
    "integer",
    "string",
    "array",
    "object",
    "minimum: ",
    "maximum: ",
    "multipleOf: ",
    "minLength: ",
    "maxLength: ",
    "pattern: ",
    "'(['",
    "'a{99999}'",
    "format: ",
    "enum: []",
    "required: [",
    "items: ",
    "properties: ",
    "additionalProperties: ",
    "allOf: ",
    "oneOf: ",
    "discriminator: ",
    "nullable: true",
    "readOnly: true",
    "writeOnly: true",
    "x-websocket: true",
    "responses: {}",
    "'2XX':",
    "default:",
    "'999':",
    "in: path",
    "in: cookie",
    "style: deepObject",
    "{id}",
    "/{a}/{b}",
    "openapi: 3.1.0",
    "swagger: '2.0'",
    // Not ±1e300: see `bound_keyword`.
    "-1e37",
    "1e37",
    "0",
    "-1",
    "18446744073709551616",
    "&anchor ",
    "*anchor",
    "<<: ",
    "- ",
    ": ",
    "\n    ",
    "\n  ",
    "{",
    "[",
    "'",
    "\"",
    "#",
    "\t",
];

fn number_keyword() -> BoxedStrategy<Value> {
    prop::sample::select(vec![
        json!(0),
        json!(1),
        json!(-1),
        json!(3),
        json!(0.5),
        json!(1e-300),
        json!(1e300),
        json!(-1e300),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(9007199254740993u64),
    ])
    .boxed()
}

/// A count (`minLength`, `maxItems` ...): mostly a valid one.
fn count_keyword() -> BoxedStrategy<Value> {
    prop_oneof![
        8 => prop::sample::select(&[0u64, 1, 2, 3, 16, 1_000_000, u64::MAX][..]).prop_map(Value::from),
        1 => number_keyword(),
    ]
    .boxed()
}

const PATTERNS: &[&str] = &[
    "^[a-z]+$",
    "(",
    "a{99999}",
    "(?=a)",
    "\\p{Greek}",
    "[",
    "(a*)*b",
    "\\",
    "^$",
    ".*",
];
const FORMATS: &[&str] = &[
    "date-time",
    "date",
    "email",
    "uri",
    "uuid",
    "ipv4",
    "ipv6",
    "hostname",
    "byte",
    "int64",
    "int32",
    "float",
    "binary",
    "regex",
    "nope",
];

/// An OpenAPI 3.0 schema (some of it not quite).
fn schema() -> BoxedStrategy<Value> {
    let reference = prop_oneof![8 => prop::sample::select(&["A", "B", "C"][..]), 1 => Just("Missing")]
        .prop_map(|name| json!({ "$ref": format!("#/components/schemas/{name}") }));
    // Numbers get their bounds more often than other keywords.
    let numeric = (
        prop::sample::select(&["integer", "number"][..]),
        maybe(0.6, number_keyword()),
        maybe(0.6, number_keyword()),
        maybe(0.3, number_keyword()),
        maybe(0.2, any::<bool>().prop_map(Value::Bool).boxed()),
        maybe(0.2, any::<bool>().prop_map(Value::Bool).boxed()),
    )
        .prop_map(
            |(kind, minimum, maximum, multiple_of, exclusive_minimum, exclusive_maximum)| {
                object(vec![
                    ("type", Some(json!(kind))),
                    ("minimum", minimum),
                    ("maximum", maximum),
                    ("multipleOf", multiple_of),
                    ("exclusiveMinimum", exclusive_minimum),
                    ("exclusiveMaximum", exclusive_maximum),
                ])
            },
        );
    let leaf = (
        prop_oneof![
            20 => prop::sample::select(&["string", "integer", "number", "boolean", "object", "array"][..]),
            1 => prop::sample::select(&["null", "file"][..]),
        ],
        prop::collection::vec(
            prop_oneof![
                number_keyword().prop_map(|v| ("minimum", v)),
                number_keyword().prop_map(|v| ("maximum", v)),
                number_keyword().prop_map(|v| ("multipleOf", v)),
                count_keyword().prop_map(|v| ("minLength", v)),
                count_keyword().prop_map(|v| ("maxLength", v)),
                count_keyword().prop_map(|v| ("minItems", v)),
                count_keyword().prop_map(|v| ("maxItems", v)),
                count_keyword().prop_map(|v| ("minProperties", v)),
                any::<bool>().prop_map(|v| ("exclusiveMinimum", Value::Bool(v))),
                any::<bool>().prop_map(|v| ("exclusiveMaximum", Value::Bool(v))),
                any::<bool>().prop_map(|v| ("nullable", Value::Bool(v))),
                any::<bool>().prop_map(|v| ("readOnly", Value::Bool(v))),
                any::<bool>().prop_map(|v| ("writeOnly", Value::Bool(v))),
                any::<bool>().prop_map(|v| ("uniqueItems", Value::Bool(v))),
                prop::sample::select(PATTERNS).prop_map(|p| ("pattern", json!(p))),
                prop::sample::select(FORMATS).prop_map(|f| ("format", json!(f))),
                prop::collection::vec(json_leaf(), 1..3).prop_map(|e| ("enum", Value::Array(e))),
                json_value().prop_map(|v| ("example", v)),
                json_value().prop_map(|v| ("default", v)),
                prop::collection::vec(json_key(), 0..3).prop_map(|r| ("required", json!(r))),
            ],
            0..4,
        ),
    )
        .prop_map(|(kind, keywords)| {
            let mut schema = Map::new();
            schema.insert("type".into(), json!(kind));
            for (key, value) in keywords {
                schema.insert(key.into(), value);
            }
            Value::Object(schema)
        });
    prop_oneof![2 => reference, 5 => leaf, 2 => numeric]
        .prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec((json_key(), inner.clone()), 0..4)
                    .prop_map(|p| json!({ "type": "object", "properties": Value::Object(p.into_iter().collect()) })),
                inner.clone().prop_map(|items| json!({ "type": "array", "items": items })),
                inner.clone().prop_map(|extra| json!({ "type": "object", "additionalProperties": extra })),
                prop::collection::vec(inner.clone(), 0..3).prop_map(|all| json!({ "allOf": all })),
                prop::collection::vec(inner.clone(), 0..3).prop_map(|one| json!({ "oneOf": one })),
                prop::collection::vec(inner.clone(), 0..3).prop_map(|any| json!({ "anyOf": any })),
                inner.clone().prop_map(|not| json!({ "not": not })),
                prop::collection::vec(inner, 1..3).prop_map(|one| json!({
                    "oneOf": one,
                    "discriminator": { "propertyName": "kind", "mapping": { "a": "#/components/schemas/A", "b": "#/components/schemas/Nope" } }
                })),
            ]
        })
        .boxed()
}

const MEDIA_TYPES: &[&str] = &[
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "*/*",
    "text/*",
    "application/problem+json",
    "application/octet-stream",
    "application/json; charset=utf-8",
    "multipart/form-data",
];

fn content() -> BoxedStrategy<Value> {
    prop::collection::vec(
        (
            prop::sample::select(MEDIA_TYPES),
            maybe(0.9, schema()),
            maybe(0.3, json_value()),
        ),
        0..3,
    )
    .prop_map(|media| {
        Value::Object(
            media
                .into_iter()
                .map(|(media_type, schema, example)| {
                    (
                        media_type.to_string(),
                        object(vec![("schema", schema), ("example", example)]),
                    )
                })
                .collect(),
        )
    })
    .boxed()
}

fn parameter() -> BoxedStrategy<Value> {
    // A location with a style it allows (mostly).
    let location_and_style = prop_oneof![
        3 => (Just("path"), maybe(0.3, pick(&["simple", "label", "matrix"]))),
        4 => (Just("query"), maybe(0.3, pick(&["form", "deepObject", "spaceDelimited", "pipeDelimited"]))),
        2 => (Just("header"), maybe(0.2, pick(&["simple"]))),
        2 => (Just("cookie"), maybe(0.2, pick(&["form"]))),
        1 => (prop::sample::select(&["path", "query", "header", "cookie", "body"][..]), maybe(0.5, pick(&["form", "simple", "label", "matrix", "deepObject"]))),
    ];
    (
        prop::sample::select(&["id", "q", "x-h", "sid", "filter", ""][..]),
        location_and_style,
        maybe(0.5, any::<bool>().prop_map(Value::Bool).boxed()),
        maybe(0.3, any::<bool>().prop_map(Value::Bool).boxed()),
        schema(),
    )
        .prop_map(|(name, (location, style), required, explode, schema)| {
            object(vec![
                ("name", Some(json!(name))),
                ("in", Some(json!(location))),
                ("required", required),
                ("style", style),
                ("explode", explode),
                ("schema", Some(schema)),
            ])
        })
        .boxed()
}

fn operation() -> BoxedStrategy<Value> {
    let responses = prop::collection::vec(
        (
            prop::sample::select(
                &[
                    "200", "201", "204", "2XX", "default", "404", "500", "5XX", "999", "abc", "1XX",
                ][..],
            ),
            maybe(0.8, content()),
            maybe(
                0.2,
                prop::collection::vec(
                    (
                        prop::sample::select(&["X-Rate", "Upgrade", "Content-Type", ""][..]),
                        schema(),
                    ),
                    1..2,
                )
                .prop_map(|h| {
                    Value::Object(
                        h.into_iter()
                            .map(|(n, s)| (n.to_string(), json!({ "required": true, "schema": s })))
                            .collect(),
                    )
                })
                .boxed(),
            ),
        ),
        0..3,
    )
    .prop_map(|responses| {
        Value::Object(
            responses
                .into_iter()
                .map(|(status, content, headers)| {
                    (
                        status.to_string(),
                        object(vec![
                            ("description", Some(json!("d"))),
                            ("content", content),
                            ("headers", headers),
                        ]),
                    )
                })
                .collect(),
        )
    });
    (
        maybe(0.7, pick(&["a", "b", "c", "a", ""])),
        prop::collection::vec(parameter(), 0..3),
        maybe(
            0.4,
            (content(), any::<bool>())
                .prop_map(|(c, r)| json!({ "content": c, "required": r }))
                .boxed(),
        ),
        responses,
        maybe(
            0.2,
            Just(json!([{ "key": [] }, { "basic": [] }, { "nope": [] }])).boxed(),
        ),
        maybe(0.1, or_junk(any::<bool>().prop_map(Value::Bool).boxed())),
    )
        .prop_map(|(id, parameters, body, responses, security, websocket)| {
            object(vec![
                ("operationId", id),
                ("parameters", Some(Value::Array(parameters))),
                ("requestBody", body),
                ("responses", Some(responses)),
                ("security", security),
                ("x-websocket", websocket),
            ])
        })
        .boxed()
}

/// An OpenAPI document built from the format's own keys.
fn spec_document() -> BoxedStrategy<Value> {
    let path_item = prop::collection::vec(
        (
            prop::sample::select(&["get", "post", "put", "delete", "head", "options", "patch", "trace"][..]),
            operation(),
        ),
        1..3,
    )
    .prop_map(|ops| Value::Object(ops.into_iter().map(|(m, o)| (m.to_string(), o)).collect()));
    let paths = prop::collection::vec(
        (
            prop::sample::select(
                &[
                    "/a",
                    "/a/{id}",
                    "/{id}",
                    "/a/{id}.json",
                    "/",
                    "",
                    "a",
                    "/{}",
                    "/{id}/{id}",
                    "/%zz",
                    "/ü",
                    "/a/b",
                ][..],
            ),
            path_item,
        ),
        0..4,
    )
    .prop_map(|paths| Value::Object(paths.into_iter().map(|(p, i)| (p.to_string(), i)).collect()));
    let servers = prop::collection::vec(
        prop::sample::select(
            &[
                "http://localhost:1000",
                "http://h:99999/api",
                "/v2",
                "",
                "http://[::1]:x",
                "//",
                "http://h/a/b/",
                "http://h:0",
            ][..],
        )
        .prop_map(|url| json!({ "url": url })),
        0..3,
    );
    (
        prop_oneof![30 => Just(json!("3.0.3")), 1 => Just(json!("3.1.0")), 1 => Just(json!(3.0)), 1 => Just(json!("3.0."))],
        servers,
        paths,
        prop::collection::vec((prop::sample::select(&["A", "B", "C"][..]), schema()), 0..4),
        prop::bool::weighted(0.9),
    )
        .prop_map(|(version, servers, mut paths, schemas, declare_path_parameters)| {
            // Mostly declare the parameters the path templates use.
            if let (true, Value::Object(paths)) = (declare_path_parameters, &mut paths) {
                for (path, item) in paths.iter_mut() {
                    let names: Vec<&str> =
                        path.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(n, _)| n)).collect();
                    for operation in item.as_object_mut().into_iter().flat_map(|ops| ops.values_mut()) {
                        if let Some(Value::Array(parameters)) = operation.get_mut("parameters") {
                            for name in &names {
                                parameters.push(json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }));
                            }
                        }
                    }
                }
            }
            json!({
                "openapi": version,
                "info": { "title": "fuzz", "version": "1" },
                "servers": servers,
                "paths": paths,
                "components": {
                    "schemas": Value::Object(schemas.into_iter().map(|(name, schema)| (name.to_string(), schema)).collect()),
                    "securitySchemes": {
                        "key": { "type": "apiKey", "in": "header", "name": "X-Key" },
                        "basic": { "type": "http", "scheme": "basic" }
                    }
                }
            })
        })
        .boxed()
}

/// Spec text: a shipped or test spec edited, or a generated document, with
/// its label (which says how it is parsed) and the directory `$ref`s resolve in.
fn spec_text() -> BoxedStrategy<(String, String, Option<PathBuf>)> {
    let specs_dir = Some(common::specs_dir());
    let small = prop::sample::select(
        &[
            ("features.yaml", FEATURES_SPEC),
            ("petstore.yaml", PETSTORE_SPEC),
            ("pet-schemas.yaml", PET_SCHEMAS),
        ][..],
    );
    let dir = specs_dir.clone();
    // Labelled by their path, as `spec::load_file` does: relative `$ref`s
    // resolve beside it (petstore.yaml reaches pet-schemas.yaml).
    let labelled = move |name: &str| common::specs_dir().join(name).display().to_string();
    prop_oneof![
        1 => prop::collection::vec(text_edit(SPEC_SPLICES), 1..4)
            .prop_map(|edits| ("openapi.yaml".to_string(), apply_text_edits(SHIPPED_SPEC, &edits), None)),
        3 => (small, prop::collection::vec(text_edit(SPEC_SPLICES), 1..5))
            .prop_map(move |((name, text), edits)| (labelled(name), apply_text_edits(text, &edits), dir.clone())),
        4 => (spec_document(), prop_oneof![Just(Style::Json), Just(Style::Block)]).prop_map(|(doc, style)| {
            let label = match style {
                Style::Json => "fuzz.json",
                Style::Block => "fuzz.yaml",
            };
            (label.to_string(), emit(&doc, style), None)
        }),
        1 => (spec_document(), prop::collection::vec(text_edit(SPEC_SPLICES), 1..3))
            .prop_map(|(doc, edits)| ("fuzz.yaml".to_string(), apply_text_edits(&emit(&doc, Style::Block), &edits), None)),
        1 => any::<String>().prop_map(move |text| ("fuzz.yaml".to_string(), text, specs_dir.clone())),
    ]
    .boxed()
}

/// A request to each operation of a freshly loaded spec, with its path
/// template filled and a body from its own schema.
fn call_every_operation(app: &App) -> Result<(), TestCaseError> {
    for operation in &app.configuration().spec.operations {
        let path = fill_template(&operation.path);
        let Ok(request) = Request::builder()
            .method(operation.method.clone())
            .uri(path)
            .header("content-type", "application/json")
            .body(())
        else {
            continue;
        };
        let (parts, ()) = request.into_parts();
        let body = operation
            .request_body
            .as_ref()
            .and_then(|b| b.content.iter().find_map(|m| m.schema.as_ref()))
            .map(|schema| {
                serde_json::to_vec(&specmock::internal::render::generate(&schema.document, 1)).expect("serializes")
            })
            .unwrap_or_default();
        let handled = app.handle(&parts, &body);
        check_answer(app, &parts, &handled)?;
        if operation.method == Method::GET {
            let _ = app.upgrade(&parts);
        }
    }
    Ok(())
}

fn fill_template(template: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in template.chars() {
        match (c, inside) {
            ('{', _) => inside = true,
            ('}', true) => {
                inside = false;
                out.push('1');
            }
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    out
}

fn load_spec(label: &str, text: &str, base_dir: Option<PathBuf>) -> Result<(), TestCaseError> {
    match specmock::internal::spec::load_text(label, text, base_dir.clone()) {
        Ok(spec) => {
            // Rendering every default body and answering a call of each operation.
            if let Ok((app, _)) = App::new(spec, &Fixtures::default(), 3, Behaviour::default()) {
                call_every_operation(&app)?;
            }
            Ok(())
        }
        Err(diagnostic) => {
            // A diagnostic names this file, or a file a `$ref` reached.
            let file = Path::new(&diagnostic.file);
            let referenced = base_dir
                .as_deref()
                .is_some_and(|dir| file.starts_with(dir) && file.is_file());
            let mut files = vec![(label, text)];
            let other_text = std::fs::read_to_string(file).unwrap_or_default();
            if referenced {
                files.push((diagnostic.file.as_str(), other_text.as_str()));
            }
            check_diagnostic(&diagnostic, &files)
        }
    }
}

/// Points `#/components/schemas/X` references at `#/$defs/X`, as a
/// standalone schema document has them.
fn to_defs(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get_mut("$ref") {
                *reference = reference.replace("#/components/schemas/", "#/$defs/");
            }
            map.values_mut().for_each(to_defs);
        }
        Value::Array(items) => items.iter_mut().for_each(to_defs),
        _ => {}
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// Data from any schema: `render::generate` never panics (nor recurses
    /// forever) and gives the same value for the same seed.
    #[test]
    fn any_schema_generates_data(root in schema(), defs in prop::collection::vec((prop::sample::select(&["A", "B", "C"][..]), schema()), 0..4), seed in any::<u64>()) {
        let mut document = root;
        if !document.is_object() {
            document = json!({ "allOf": [document] });
        }
        let defs: Map<String, Value> = defs
            .into_iter()
            .map(|(name, schema)| (name.to_string(), schema))
            .collect();
        document["$defs"] = Value::Object(defs);
        to_defs(&mut document);
        let first = specmock::internal::render::generate(&document, seed);
        prop_assert_eq!(&first, &specmock::internal::render::generate(&document, seed));
    }
}

proptest! {
    #![proptest_config(config(48))]

    /// Any spec text: it loads (and then renders and answers) or it is
    /// refused with a diagnostic that names the file.
    #[test]
    fn any_spec_loads_or_is_explained((label, text, base_dir) in spec_text()) {
        load_spec(&label, &text, base_dir)?;
    }
}

// ------------------------------------------------------ template properties

const EXPRESSIONS: &[&str] = &[
    "request.body",
    "request.body.a",
    "request.body.a.b",
    "request.body.0",
    "request.body..",
    "request.path.id",
    "request.path",
    "request.path.",
    "request.query.q",
    "request.query.a.b",
    "request.headers.x-a",
    "request.headers.X-A",
    "store.x",
    "store.x.y.0",
    "store.",
    "store",
    "event.request",
    "event.request.a",
    "event.response",
    "event.response.a.b",
    "now",
    "uuid",
    " now ",
    "",
    "garbage",
    "request",
    "{{",
    "}}",
    ".",
];

fn template_text() -> BoxedStrategy<String> {
    let piece = prop_oneof![
        3 => prop::sample::select(EXPRESSIONS).prop_map(|e| format!("{{{{{e}}}}}")),
        2 => awkward_string(),
        1 => prop::sample::select(&["{{", "}}", "{", "}", "{{{", "}}}"][..]).prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 0..5)
        .prop_map(|pieces| pieces.concat())
        .boxed()
}

fn template_value() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => template_text().prop_map(Value::String),
        1 => json_leaf(),
    ]
    .prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((json_key(), inner), 0..4).prop_map(|p| Value::Object(p.into_iter().collect())),
        ]
    })
    .boxed()
}

/// What a template reads.
#[derive(Debug, Clone)]
struct ScopeInputs {
    body: Option<Value>,
    store: Map<String, Value>,
    path: Vec<(String, String)>,
    query: Vec<(String, String)>,
    headers: Vec<(String, Vec<u8>)>,
    event_request: Option<Value>,
    event_response: Option<Value>,
    uuid: u64,
}

fn scope_inputs() -> BoxedStrategy<ScopeInputs> {
    let pairs = prop::collection::vec(
        (
            prop::sample::select(&["id", "q", "a", ""][..]).prop_map(str::to_string),
            awkward_string(),
        ),
        0..3,
    );
    (
        prop::option::of(json_value()),
        prop::collection::vec(
            (
                prop::sample::select(&["x", "user", ""][..]).prop_map(str::to_string),
                json_value(),
            ),
            0..3,
        ),
        pairs.clone(),
        pairs,
        prop::collection::vec(
            (
                prop::sample::select(&["x-a", "content-type"][..]).prop_map(str::to_string),
                header_value_bytes(),
            ),
            0..3,
        ),
        prop::option::of(json_value()),
        prop::option::of(json_value()),
        any::<u64>(),
    )
        .prop_map(
            |(body, store, path, query, headers, event_request, event_response, uuid)| ScopeInputs {
                body,
                store: store.into_iter().collect(),
                path,
                query,
                headers,
                event_request,
                event_response,
                uuid,
            },
        )
        .boxed()
}

fn render_in(template: &Template, inputs: &ScopeInputs) -> Option<Value> {
    let mut headers = HeaderMap::new();
    for (name, value) in &inputs.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(value)) {
            headers.append(name, value);
        }
    }
    let event = EventView {
        request: inputs.event_request.as_ref(),
        response: inputs.event_response.as_ref(),
    };
    let uuid_state = Cell::new(inputs.uuid);
    let store: Store = inputs.store.clone().into_iter().collect();
    let now = RequestTime::at(std::time::Duration::from_secs(1_795_894_800));
    let scope = Scope {
        body: inputs.body.as_ref(),
        path: &inputs.path,
        query: &inputs.query,
        headers: &headers,
        store: &store,
        event: Some(&event),
        now: &now,
        uuid_state: &uuid_state,
    };
    template.render(&scope)
}

/// A path through `value` to one of its nodes, as template segments, when
/// every key on the way can be written in a template.
fn path_to(value: &Value, mut pick: usize) -> Option<(Vec<String>, &Value)> {
    let mut current = value;
    let mut path = Vec::new();
    loop {
        let children: Vec<(String, &Value)> = match current {
            Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
            Value::Array(items) => items.iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
            _ => Vec::new(),
        };
        if children.is_empty() || pick.is_multiple_of(3) {
            return Some((path, current));
        }
        let (key, child) = children[pick % children.len()].clone();
        if key.is_empty() || key.contains(['.', '{', '}']) || key.trim() != key {
            return None;
        }
        path.push(key);
        current = child;
        pick /= 3;
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Any template over any values: parsing and rendering never panic; a
    /// string without `{{` is itself; text renders to text.
    #[test]
    fn any_template_parses_and_renders(value in template_value(), inputs in scope_inputs()) {
        match Template::parse(&value) {
            Ok(template) => {
                let rendered = render_in(&template, &inputs);
                if let Some(literal) = template.as_literal() {
                    prop_assert_eq!(literal, &value);
                    prop_assert_eq!(rendered.as_ref(), Some(&value));
                }
                if matches!(template, Template::Text(_)) {
                    prop_assert!(matches!(rendered, Some(Value::String(_))), "{:?}", rendered);
                }
                let _ = template.expressions();
            }
            Err(message) => prop_assert!(!message.is_empty()),
        }
        if let Value::String(text) = &value {
            if !text.contains("{{") {
                let parsed = Template::parse(&value);
                prop_assert_eq!(parsed.as_ref().ok().and_then(Template::as_literal), Some(&value));
            }
        }
    }

    /// `{{request.body.PATH}}` and `{{store.KEY.PATH}}` read exactly that value.
    #[test]
    fn a_template_reads_the_value_at_its_path(body in json_value(), pick in any::<usize>(), inputs in scope_inputs()) {
        let Some((path, expected)) = path_to(&body, pick) else { return Ok(()) };
        let expected = expected.clone();
        let mut inputs = inputs;
        inputs.body = Some(body.clone());
        inputs.store.insert("k".into(), body);
        for source in ["request.body", "store.k"] {
            let expression = std::iter::once(source.to_string()).chain(path.iter().cloned()).collect::<Vec<_>>().join(".");
            let template = Template::parse(&json!(format!("{{{{{expression}}}}}")))
                .map_err(|e| TestCaseError::fail(format!("`{expression}` does not parse: {e}")))?;
            prop_assert_eq!(render_in(&template, &inputs), Some(expected.clone()), "{}", expression);
        }
    }

    /// Merging and matching: `contains` is reflexive, a merge keeps the overlay's leaves.
    #[test]
    fn merge_and_contains_behave(base in json_value(), overlay in json_value()) {
        prop_assert!(engine::contains(&base, &base));
        let mut merged = base.clone();
        specmock::internal::scenario::template::merge(&mut merged, overlay.clone());
        if !overlay.is_object() || !base.is_object() {
            prop_assert_eq!(&merged, &overlay);
        } else {
            prop_assert!(engine::contains(&merged, &strip_objects(&overlay)));
        }
    }

    /// Dates: any instant since the epoch is written in RFC 3339 without a panic.
    #[test]
    fn any_instant_is_written_in_rfc3339(seconds in any::<u64>()) {
        let text = specmock::internal::scenario::template::rfc3339(std::time::Duration::from_secs(seconds));
        if seconds < 253_402_300_800 {
            // Years 1970..=9999: the fixed-width form.
            prop_assert_eq!(text.len(), 20, "{}", text);
            prop_assert!(text.ends_with('Z') && text.as_bytes()[10] == b'T', "{}", text);
        }
    }
}

/// The parts of `overlay` a merge is sure to keep: leaves replace, objects
/// merge key by key (a leaf under an object key also replaces).
fn strip_objects(overlay: &Value) -> Value {
    match overlay {
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), strip_objects(v))).collect()),
        other => other.clone(),
    }
}

// ------------------------------------------------------------ regressions

/// Inputs found by the properties above, kept as plain tests.
mod regressions {
    use super::*;

    fn parts(method: &str, uri: &str, headers: &[(&str, &[u8])]) -> Parts {
        let (mut parts, ()) = Request::builder()
            .method(method)
            .uri(uri)
            .body(())
            .expect("a valid request")
            .into_parts();
        for (name, value) in headers {
            parts.headers.append(
                HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
                HeaderValue::from_bytes(value).expect("a header value"),
            );
        }
        parts
    }

    #[test]
    fn malformed_escapes_in_the_path_and_query_are_problems() {
        let app = &world().strict;
        for uri in [
            "/user/%zz",
            "/user%ff",
            "/user?__session=%zz",
            "/user?a=%",
            "/__mock/sessions/%ff/reset",
        ] {
            let parts = parts("GET", uri, &[]);
            let handled = app.handle(&parts, b"");
            check_answer(app, &parts, &handled).unwrap_or_else(|e| panic!("{uri}: {e}"));
        }
    }

    /// Found by `any_request_gets_a_declared_answer_or_a_problem` (fixed in
    /// e1ca296): `Prefer: dynamic=true` served generated data without
    /// checking it against the schema. `GET /nickname` of
    /// tests/specs/features.yaml declares `{type: string, pattern:
    /// '^[a-z]+$'}`; the strict mock answered 200 `"value-8813"` instead of a
    /// 500 `unrenderable-response` problem.
    #[test]
    fn prefer_dynamic_never_serves_a_body_that_breaks_its_schema() {
        let app = &world().features;
        for (uri, headers) in [
            ("/nickname", &[("prefer", &b"dynamic=true"[..])][..]),
            ("/nickname?__dynamic=true", &[][..]),
        ] {
            let parts = parts("GET", uri, headers);
            let handled = app.handle(&parts, b"");
            let status = handled.response.status().as_u16();
            if handled.response.headers().contains_key("x-mock-origin") {
                assert_eq!(status, 500, "{uri}");
                continue;
            }
            let configuration = app.configuration();
            let operation = configuration.spec.operation("getNickname").expect("getNickname");
            let declared = operation.response_for(status).expect("a declared status");
            let content_type = header_text(handled.response.headers(), "content-type");
            check_body_against(declared, content_type, handled.response.body(), "getNickname", status)
                .unwrap_or_else(|e| panic!("{uri}: {e}"));
        }
    }

    /// Found by `any_schema_generates_data` and `any_spec_loads_or_is_explained`:
    /// an integer schema whose range is wider than an i128 panicked the data
    /// generator. The bounds are cast to i128, which saturates (`-1e300`
    /// becomes `i128::MIN`), and the span `high - low` overflowed ("attempt
    /// to subtract with overflow" in debug builds, a remainder by zero in
    /// release ones). `App::new`, which renders every default body at
    /// start-up, panicked on the spec below.
    #[test]
    fn an_integer_range_wider_than_i128_is_generated() {
        for schema in [
            json!({ "type": "integer", "minimum": -1e300, "maximum": 0 }),
            json!({ "type": "integer", "minimum": -1, "maximum": 1e300 }),
        ] {
            let value = specmock::internal::render::generate(&schema, 0);
            assert!(value.is_i64(), "{schema}: {value}");
        }
        let spec = r#"{
            "openapi": "3.0.3",
            "info": { "title": "t", "version": "1" },
            "paths": { "/a": { "get": { "responses": { "200": { "description": "d",
                "content": { "application/json": { "schema": { "type": "integer", "minimum": -1e300, "maximum": 1e300 } } } } } } } }
        }"#;
        let spec = specmock::internal::spec::load_text("wide.json", spec, None).expect("the spec loads");
        let (app, _) = App::new(spec, &Fixtures::default(), 0, Behaviour::default()).expect("the app builds");
        let parts = parts("GET", "/a", &[]);
        let handled = app.handle(&parts, b"");
        check_answer(&app, &parts, &handled).unwrap();
    }

    /// Runs `specmock check --spec FILE` on `spec` in a child process (a
    /// stack overflow aborts the process; a runaway one is killed), with
    /// 2 GB of address space and 10 seconds. `Err` says how it ended badly.
    fn check_in_a_child(file_name: &str, spec: &str) -> Result<(), String> {
        let dir = common::TempDir::new("properties");
        let path = dir.write(file_name, spec);
        let stderr = std::fs::File::create(dir.path().join("stderr")).expect("a file for stderr");
        let mut child = std::process::Command::new("sh")
            .args(["-c", "ulimit -v 2000000; exec \"$0\" check --spec \"$1\""])
            .arg(env!("CARGO_BIN_EXE_specmock"))
            .arg(&path)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn specmock");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let status = loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err("`specmock check` was still running after 10 s".into());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let stderr = std::fs::read_to_string(dir.path().join("stderr")).unwrap_or_default();
        match status.code() {
            Some(_) => Ok(()),
            None => Err(format!(
                "`specmock check` was killed by a signal ({status}); stderr:\n{stderr}"
            )),
        }
    }

    /// A spec whose response schema is `{$ref: A}`, with `components.schemas` as given.
    fn spec_with_components(schemas: &str) -> String {
        format!(
            "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: d\n          content:\n            application/json:\n              schema: {{$ref: '#/components/schemas/A'}}\ncomponents:\n  schemas:\n{schemas}"
        )
    }

    /// Found by `any_schema_generates_data`, then through the spec: a cycle
    /// of references with no object or array in between loads, and rendering
    /// its default body recursed in `Generator::value` until the stack
    /// overflowed, aborting `specmock` and `specmock check` at start-up.
    #[test]
    fn a_reference_cycle_does_not_overflow_the_stack() {
        for schemas in [
            "    A: {$ref: '#/components/schemas/A'}\n",
            "    A: {$ref: '#/components/schemas/B'}\n    B: {$ref: '#/components/schemas/A'}\n",
            "    A: {allOf: [{$ref: '#/components/schemas/A'}]}\n",
            "    A: {oneOf: [{$ref: '#/components/schemas/A'}]}\n",
        ] {
            let spec = spec_with_components(schemas);
            specmock::internal::spec::load_text("cycle.yaml", &spec, None).expect("the spec loads");
            check_in_a_child("cycle.yaml", &spec).unwrap_or_else(|e| panic!("{schemas}: {e}"));
        }
    }

    /// Found while bounding the generator: a required property that refers
    /// back to its own schema was generated again and again down to the
    /// depth limit (24), so two such properties made 2^24 objects:
    /// `specmock check` on this 20-line spec ran for over 2 minutes and
    /// reached 15 GB of memory.
    #[test]
    fn required_recursive_properties_stay_within_budget() {
        let spec = spec_with_components(
            "    A:\n      type: object\n      required: [x, y]\n      properties:\n        x: {$ref: '#/components/schemas/A'}\n        y: {$ref: '#/components/schemas/A'}\n",
        );
        check_in_a_child("branching.yaml", &spec).unwrap();
    }

    /// Found while bounding the generator: each generated array is capped at
    /// 1000 items, but nested arrays multiply: three levels of `minItems:
    /// 1000` are 10^9 values, and `specmock check` allocated until memory ran
    /// out (SIGABRT under a 4 GB limit after 37 s).
    #[test]
    fn nested_arrays_with_large_min_items_stay_within_budget() {
        let spec = spec_with_components(
            "    A:\n      type: array\n      minItems: 1000\n      items:\n        type: array\n        minItems: 1000\n        items:\n          type: array\n          minItems: 1000\n          items: {type: integer}\n",
        );
        check_in_a_child("nested.yaml", &spec).unwrap();
    }

    #[test]
    fn bodies_nested_past_the_limit_are_problems() {
        let app = &world().strict;
        let parts = parts("POST", "/user/update", &[("content-type", b"application/json")]);
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let handled = app.handle(&parts, deep.as_bytes());
        assert_eq!(handled.response.status(), 400);
        check_answer(app, &parts, &handled).unwrap();
    }
}
