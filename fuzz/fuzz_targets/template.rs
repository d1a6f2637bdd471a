//! Any text as a `{{...}}` template string and as a `from:` expression, and
//! any JSON document as a templated body, rendered against what a request to
//! the shipped API carries and what its scenarios store.

#![no_main]

use std::cell::Cell;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use specmock::internal::scenario::template::{merge, parse_expr, EventView, RequestTime, Scope, Template};
use specmock::internal::scenario::Store;
use specmock_fuzz::{client_headers, profile, NOW};

/// The store of a signed-in session of the shipped scenarios, and a few more keys.
fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| {
        [
            ("user".to_string(), profile().clone()),
            ("note".to_string(), json!("fuzz")),
            ("list".to_string(), json!([1, "two", { "three": [3] }, null])),
        ]
        .into_iter()
        .collect()
    })
}

/// Renders `template` in a scope like a request's, then merges the result
/// into the stored profile as `store:` rules with `merge:` do.
fn render(template: &Template) -> Option<Value> {
    let headers = client_headers();
    let path = [("id".to_string(), "42".to_string())];
    let query = [
        ("q".to_string(), "1".to_string()),
        ("page".to_string(), "2".to_string()),
    ];
    let request = json!({ "user_id": "auth0|fuzz", "vanityname": "fuzz", "nested": { "a": [1, 2] } });
    let event = EventView {
        request: Some(&request),
        response: Some(profile()),
    };
    let uuid_state = Cell::new(0);
    let now = RequestTime::at(NOW);
    let scope = Scope {
        body: Some(profile()),
        path: &path,
        query: &query,
        headers: &headers,
        store: store(),
        event: Some(&event),
        now: &now,
        uuid_state: &uuid_state,
    };
    let rendered = template.render(&scope)?;
    let mut merged = profile().clone();
    merge(&mut merged, rendered.clone());
    if let Value::Object(overlay) = &rendered {
        assert!(
            overlay.keys().all(|key| merged.get(key).is_some()),
            "a merge lost a key of {rendered}"
        );
    }
    Some(rendered)
}

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else { return };
    let _ = parse_expr(text);
    let value = Value::String(text.to_string());
    match Template::parse(&value) {
        Ok(template) => {
            let rendered = render(&template);
            match &template {
                Template::Literal(literal) => {
                    assert_eq!(literal, &value);
                    assert_eq!(rendered.as_ref(), Some(&value));
                }
                Template::Text(_) => assert!(matches!(rendered, Some(Value::String(_))), "{rendered:?}"),
                _ => {}
            }
        }
        Err(message) => {
            assert!(text.contains("{{"), "`{text}` has no template, yet: {message}");
            assert!(!message.is_empty());
        }
    }
    if let Ok(document) = serde_json::from_str::<Value>(text) {
        if let Ok(template) = Template::parse(&document) {
            render(&template);
        }
    }
});
