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
        self.text.get_or_init(|| rfc3339(self.since_epoch))
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

/// The current UTC time as RFC 3339 (`2026-11-28T19:40:00Z`).
pub fn rfc3339(since_epoch: std::time::Duration) -> String {
    let seconds = since_epoch.as_secs();
    let (days, time) = ((seconds / 86_400) as i64, seconds % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        time / 3600,
        time / 60 % 60,
        time % 60
    )
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

    #[test]
    fn rfc3339_formats_civil_dates() {
        assert_eq!(rfc3339(std::time::Duration::from_secs(0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(std::time::Duration::from_secs(1_709_210_096)),
            "2024-02-29T12:34:56Z"
        );
    }
}
