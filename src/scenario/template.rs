//! `{{...}}` templates in scenario bodies, headers and store values. A
//! string that is exactly one template becomes the value itself (an object,
//! a number); inside longer text the value is written as text. A value that
//! is absent (a request without that field) leaves its object key out.
//! Templates read the request, the session's store, the time and fresh
//! UUIDs: never files or the environment.

use std::borrow::Cow;
use std::cell::{Cell, OnceCell};
use std::time::Duration;

use http::HeaderMap;
use serde_json::Value;

use super::Store;
use crate::random::SplitMix64;
use crate::rfc3339;

/// What a template may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    RequestBody(Vec<String>),
    RequestPath(String),
    RequestQuery(String),
    RequestHeader(String),
    Store(String, Vec<String>),
    /// In a stream's `on:` step: the request and the response of the call
    /// the step waited for.
    EventRequest(Vec<String>),
    EventResponse(Vec<String>),
    Now,
    Uuid,
}

/// A value with `{{...}}` expressions in it, parsed once at load and rendered per request.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// No expression anywhere: rendered as written.
    Literal(Value),
    /// A string that is one expression: renders to the value read, keeping its JSON type.
    Expr(Expr),
    /// A string with text around its expressions: renders to a string.
    Text(Vec<Piece>),
    /// An array with an expression in some item.
    Array(Vec<Template>),
    /// An object with an expression in some field, fields in written order.
    Object(Vec<(String, Template)>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    Expr(Expr),
}

/// The values templates are rendered from.
pub struct Scope<'a> {
    /// The request body as parsed (`request.body`), if JSON.
    pub body: Option<&'a Value>,
    /// The decoded path parameters (`request.path.NAME`).
    pub path: &'a [(String, String)],
    /// The decoded query pairs (`request.query.NAME`).
    pub query: &'a [(String, String)],
    /// The request's headers (`request.headers.NAME`).
    pub headers: &'a HeaderMap,
    /// The session's store (`store.KEY`).
    pub store: &'a Store,
    /// The call a stream step waited for, if any.
    pub event: Option<&'a EventView<'a>>,
    /// The request's time (`now`).
    pub now: &'a RequestTime,
    /// Source of `{{uuid}}` values; advanced on each use.
    pub uuid_state: &'a Cell<u64>,
}

/// The time of a request, fixed for the whole request and written out
/// (RFC 3339) only if a template reads it: most answers never do.
#[derive(Debug)]
pub struct RequestTime {
    since_epoch: Duration,
    text: OnceCell<String>,
}

impl RequestTime {
    /// The time `since_epoch` after the Unix epoch, not yet written out.
    pub fn at(since_epoch: Duration) -> Self {
        Self {
            since_epoch,
            text: OnceCell::new(),
        }
    }

    /// The time in RFC 3339, written out the first time it is asked for.
    pub fn text(&self) -> &str {
        self.text.get_or_init(|| rfc3339::format_seconds(self.since_epoch))
    }
}

/// The request and response bodies of a call, as `event.*` reads them.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventView<'a> {
    /// The call's request body (`event.request`), if JSON.
    pub request: Option<&'a Value>,
    /// The call's response body (`event.response`), if JSON.
    pub response: Option<&'a Value>,
}

impl Template {
    /// Parses every string in `value`; `Err` names the first bad template.
    pub fn parse(value: &Value) -> Result<Self, String> {
        Ok(match value {
            Value::String(text) => parse_text(text)?,
            Value::Array(items) => {
                let items = items.iter().map(Template::parse).collect::<Result<Vec<_>, _>>()?;
                if items.iter().all(|t| matches!(t, Template::Literal(_))) {
                    Template::Literal(value.clone())
                } else {
                    Template::Array(items)
                }
            }
            Value::Object(map) => {
                let fields = map
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), Template::parse(v)?)))
                    .collect::<Result<Vec<_>, String>>()?;
                if fields.iter().all(|(_, t)| matches!(t, Template::Literal(_))) {
                    Template::Literal(value.clone())
                } else {
                    Template::Object(fields)
                }
            }
            other => Template::Literal(other.clone()),
        })
    }

    /// Whether rendering is independent of the request (a literal).
    pub fn as_literal(&self) -> Option<&Value> {
        match self {
            Template::Literal(value) => Some(value),
            _ => None,
        }
    }

    /// Every expression used, for load-time checks.
    pub fn expressions(&self) -> Vec<&Expr> {
        let mut found = Vec::new();
        self.collect(&mut found);
        found
    }

    /// Whether rendering depends on the session's store alone (not on the
    /// request, the clock or fresh UUIDs).
    pub fn reads_only_store(&self) -> bool {
        self.expressions().iter().all(|e| matches!(e, Expr::Store(..)))
    }

    fn collect<'t>(&'t self, into: &mut Vec<&'t Expr>) {
        match self {
            Template::Literal(_) => {}
            Template::Expr(expr) => into.push(expr),
            Template::Text(pieces) => into.extend(pieces.iter().filter_map(|p| match p {
                Piece::Expr(expr) => Some(expr),
                Piece::Text(_) => None,
            })),
            Template::Array(items) => items.iter().for_each(|t| t.collect(into)),
            Template::Object(fields) => fields.iter().for_each(|(_, t)| t.collect(into)),
        }
    }

    /// `None` when the template is a single expression with no value.
    pub fn render(&self, scope: &Scope<'_>) -> Option<Value> {
        match self {
            Template::Literal(value) => Some(value.clone()),
            Template::Expr(expr) => evaluate(expr, scope),
            Template::Text(pieces) => {
                let mut text = String::new();
                for piece in pieces {
                    match piece {
                        Piece::Text(part) => text.push_str(part),
                        Piece::Expr(expr) => match evaluate(expr, scope) {
                            Some(Value::String(value)) => text.push_str(&value),
                            Some(value) => text.push_str(&value.to_string()),
                            None => {}
                        },
                    }
                }
                Some(Value::String(text))
            }
            Template::Array(items) => Some(Value::Array(items.iter().filter_map(|t| t.render(scope)).collect())),
            Template::Object(fields) => Some(Value::Object(
                fields
                    .iter()
                    .filter_map(|(k, t)| Some((k.clone(), t.render(scope)?)))
                    .collect(),
            )),
        }
    }
}

fn parse_text(text: &str) -> Result<Template, String> {
    if !text.contains("{{") {
        return Ok(Template::Literal(Value::String(text.to_string())));
    }
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_string()));
        }
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| format!("`{text}`: `{{{{` without a closing `}}}}`"))?;
        pieces.push(Piece::Expr(parse_expr(after[..close].trim())?));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    Ok(match pieces.as_slice() {
        [Piece::Expr(expr)] => Template::Expr(expr.clone()),
        _ => Template::Text(pieces),
    })
}

/// `request.body.a.b`, `request.path.id`, `request.query.q`,
/// `request.headers.x-name`, `store.user.id`, `event.request.a`,
/// `event.response.a`, `now`, `uuid`.
pub fn parse_expr(source: &str) -> Result<Expr, String> {
    let parts: Vec<&str> = source.split('.').collect();
    let rest = |from: usize| parts[from..].iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let one = |what: &str| -> Result<String, String> {
        match parts.as_slice() {
            [_, _, name] if !name.is_empty() => Ok(name.to_string()),
            _ => Err(format!("`{{{{{source}}}}}`: expected `request.{what}.NAME`")),
        }
    };
    match parts.as_slice() {
        ["now"] => Ok(Expr::Now),
        ["uuid"] => Ok(Expr::Uuid),
        ["request", "body", ..] => Ok(Expr::RequestBody(rest(2))),
        ["request", "path", ..] => Ok(Expr::RequestPath(one("path")?)),
        ["request", "query", ..] => Ok(Expr::RequestQuery(one("query")?)),
        ["request", "headers", ..] => Ok(Expr::RequestHeader(one("headers")?.to_ascii_lowercase())),
        ["store", key, ..] if !key.is_empty() => Ok(Expr::Store(key.to_string(), rest(2))),
        ["event", "request", ..] => Ok(Expr::EventRequest(rest(2))),
        ["event", "response", ..] => Ok(Expr::EventResponse(rest(2))),
        _ => Err(format!(
            "`{{{{{source}}}}}` reads nothing a template can read: expected request.body[.FIELD...], request.path.NAME, request.query.NAME, request.headers.NAME, store.KEY[.FIELD...], event.request[.FIELD...], event.response[.FIELD...], now or uuid"
        )),
    }
}

fn evaluate(expr: &Expr, scope: &Scope<'_>) -> Option<Value> {
    lookup(expr, scope).map(Cow::into_owned)
}

/// Like `evaluate`, borrowing what the request and the store already hold
/// (a whole stored profile is not copied just to be serialized).
pub fn lookup<'s>(expr: &Expr, scope: &Scope<'s>) -> Option<Cow<'s, Value>> {
    let text = |value: &str| Some(Cow::Owned(Value::String(value.to_string())));
    match expr {
        Expr::RequestBody(path) => descend(scope.body?, path).map(Cow::Borrowed),
        Expr::Store(key, path) => descend(scope.store.value(key)?, path).map(Cow::Borrowed),
        Expr::EventRequest(path) => descend(scope.event?.request?, path).map(Cow::Borrowed),
        Expr::EventResponse(path) => descend(scope.event?.response?, path).map(Cow::Borrowed),
        Expr::RequestPath(name) => text(find(scope.path, name)?),
        Expr::RequestQuery(name) => text(find(scope.query, name)?),
        Expr::RequestHeader(name) => text(scope.headers.get(name.as_str())?.to_str().ok()?),
        Expr::Now => text(scope.now.text()),
        Expr::Uuid => {
            let state = scope.uuid_state.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
            scope.uuid_state.set(state);
            Some(Cow::Owned(Value::String(SplitMix64(state).uuid())))
        }
    }
}

fn find<'p>(pairs: &'p [(String, String)], name: &str) -> Option<&'p str> {
    pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

fn descend<'v>(value: &'v Value, path: &[String]) -> Option<&'v Value> {
    let mut current = value;
    for segment in path {
        current = match current {
            Value::Object(map) => map.get(segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Deep merge: objects key by key, anything else replaced.
pub fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope<'a>(
        body: Option<&'a Value>,
        store: &'a Store,
        headers: &'a HeaderMap,
        uuid: &'a Cell<u64>,
        now: &'a RequestTime,
    ) -> Scope<'a> {
        Scope {
            body,
            path: &[],
            query: &[],
            headers,
            store,
            event: None,
            now,
            uuid_state: uuid,
        }
    }

    #[test]
    fn a_whole_string_template_keeps_the_value_type() {
        let body = json!({"user": {"id": "u1", "size": 14}});
        let store = Store::default();
        let now = RequestTime::at(std::time::Duration::from_secs(1_767_323_045));
        let headers = HeaderMap::new();
        let uuid = Cell::new(0);
        let template =
            Template::parse(&json!({"who": "{{request.body.user}}", "text": "id={{request.body.user.id}}!"})).unwrap();
        let rendered = template
            .render(&scope(Some(&body), &store, &headers, &uuid, &now))
            .unwrap();
        assert_eq!(rendered, json!({"who": {"id": "u1", "size": 14}, "text": "id=u1!"}));
    }

    #[test]
    fn absent_values_leave_their_key_out() {
        let store = Store::default();
        let now = RequestTime::at(std::time::Duration::from_secs(1_767_323_045));
        let headers = HeaderMap::new();
        let uuid = Cell::new(0);
        let template = Template::parse(&json!({"id": "{{request.body.user_id}}", "fixed": 1})).unwrap();
        assert_eq!(
            template.render(&scope(None, &store, &headers, &uuid, &now)).unwrap(),
            json!({"fixed": 1})
        );
    }

    #[test]
    fn uuids_differ_and_now_is_the_request_time() {
        let store = Store::default();
        let now = RequestTime::at(std::time::Duration::from_secs(1_767_323_045));
        let headers = HeaderMap::new();
        let uuid = Cell::new(7);
        let template = Template::parse(&json!(["{{uuid}}", "{{uuid}}", "{{now}}"])).unwrap();
        let rendered = template.render(&scope(None, &store, &headers, &uuid, &now)).unwrap();
        assert_ne!(rendered[0], rendered[1]);
        assert_eq!(rendered[2], json!("2026-01-02T03:04:05Z"));
    }

    #[test]
    fn unknown_expressions_are_refused() {
        assert!(Template::parse(&json!("{{env.HOME}}"))
            .unwrap_err()
            .contains("reads nothing a template can read"));
        assert!(Template::parse(&json!("{{request.body"))
            .unwrap_err()
            .contains("without a closing"));
    }

    #[test]
    fn deep_merge_overlays_objects() {
        let mut base = json!({"a": {"b": 1, "c": 2}, "d": [1]});
        merge(&mut base, json!({"a": {"b": 9}, "d": [2, 3]}));
        assert_eq!(base, json!({"a": {"b": 9, "c": 2}, "d": [2, 3]}));
    }
}

#[cfg(test)]
mod properties {
    // From tests/properties/strategies/ (its mod.rs says what each file holds): the
    // generators the properties through the whole server use, included here because
    // unit tests cannot use an integration test's modules.
    mod config {
        include!("../../tests/properties/strategies/config.rs");
    }
    mod header {
        include!("../../tests/properties/strategies/header.rs");
    }
    mod json {
        include!("../../tests/properties/strategies/json.rs");
    }

    use std::cell::Cell;

    use http::header::{HeaderName, HeaderValue};
    use http::HeaderMap;
    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;
    use serde_json::{json, Map, Value};

    use self::config::config;
    use self::header::header_value_bytes;
    use self::json::{awkward_string, json_key, json_leaf, json_value};
    use super::{EventView, RequestTime, Scope, Store, Template};

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
    }
}
