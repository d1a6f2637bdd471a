//! `{{...}}` templates parsed and rendered over any values, deep merge and
//! matching, and RFC 3339 time.

use std::cell::Cell;

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Map, Value};
use specmock::scenario::engine;
use specmock::scenario::template::{EventView, RequestTime, Scope, Template};
use specmock::scenario::Store;

use crate::strategies::config::config;
use crate::strategies::header::header_value_bytes;
use crate::strategies::json::{awkward_string, json_key, json_leaf, json_value};

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
        specmock::scenario::template::merge(&mut merged, overlay.clone());
        if !overlay.is_object() || !base.is_object() {
            prop_assert_eq!(&merged, &overlay);
        } else {
            prop_assert!(engine::contains(&merged, &strip_objects(&overlay)));
        }
    }

    /// Dates: any instant since the epoch is written in RFC 3339 without a panic.
    #[test]
    fn any_instant_is_written_in_rfc3339(seconds in any::<u64>()) {
        let text = specmock::scenario::template::rfc3339(std::time::Duration::from_secs(seconds));
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
