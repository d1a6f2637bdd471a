//! OpenAPI 3.1 read through `openapiv3`, a 3.0 model.
//!
//! 3.1 changed little outside the Schema Object, which became JSON Schema
//! 2020-12 (`type` lists, numeric exclusive bounds, `const`, boolean
//! schemas...) and which `openapiv3` cannot type. Every Schema Object is
//! hidden from it (an empty schema in its place) and read back from the
//! parsed document by its pointer when compiled, so one loader serves both
//! versions. What 3.1 added around the schemas is read from the parsed
//! document too: `webhooks`, `components/pathItems` (reached by `$ref`),
//! `mutualTLS` security schemes, `jsonSchemaDialect`.

use openapiv3::ReferenceOr;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::diagnostic::{escape_pointer_token, Diagnostic};

/// The dialect a 3.1 document's schemas are in unless it says otherwise.
pub const DEFAULT_DIALECT: &str = "https://spec.openapis.org/oas/3.1/dialect/base";
/// `$schema` values a Schema Object may carry: the default dialect and the
/// JSON Schema draft it extends.
const ACCEPTED_SCHEMA_DIALECTS: &[&str] = &[
    DEFAULT_DIALECT,
    "https://json-schema.org/draft/2020-12/schema",
    "https://json-schema.org/draft/2020-12/schema#",
];

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The security scheme type `openapiv3` does not know.
const MUTUAL_TLS: &str = "mutualTLS";

/// The kind of object a value is read as, to find the Schema Objects in it.
#[derive(Debug, Clone, Copy)]
pub enum ObjectKind {
    Document,
    PathItem,
    Operation,
    Parameter,
    Header,
    RequestBody,
    Response,
    Example,
    Link,
    Callback,
    SecurityScheme,
}

/// A copy of `value` (an object of `kind`) that `openapiv3` can type: its
/// Schema Objects empty, and the parts of 3.1 it has no place for left out.
pub fn hidden(value: &Value, kind: ObjectKind) -> Value {
    let mut copy = value.clone();
    hide(&mut copy, kind);
    copy
}

fn hide(value: &mut Value, kind: ObjectKind) {
    let Value::Object(map) = value else { return };
    if map.contains_key("$ref") {
        return;
    }
    match kind {
        ObjectKind::Document => {
            // 3.1 made `paths` optional; `webhooks` are not served.
            map.entry("paths").or_insert_with(|| Value::Object(Map::new()));
            each_value(map.get_mut("paths"), |item| hide(item, ObjectKind::PathItem));
            if let Some(Value::Object(components)) = map.get_mut("components") {
                each_value(components.get_mut("schemas"), |schema| *schema = empty_schema());
                each_value(components.get_mut("parameters"), |p| hide(p, ObjectKind::Parameter));
                each_value(components.get_mut("headers"), |h| hide(h, ObjectKind::Header));
                each_value(components.get_mut("requestBodies"), |b| {
                    hide(b, ObjectKind::RequestBody)
                });
                each_value(components.get_mut("responses"), |r| hide(r, ObjectKind::Response));
                each_value(components.get_mut("callbacks"), |c| hide(c, ObjectKind::Callback));
                if let Some(Value::Object(schemes)) = components.get_mut("securitySchemes") {
                    schemes.retain(|_, scheme| !is_mutual_tls(scheme));
                }
            }
        }
        ObjectKind::PathItem => {
            each_item(map.get_mut("parameters"), |p| hide(p, ObjectKind::Parameter));
            for method in METHODS {
                if let Some(operation) = map.get_mut(method) {
                    hide(operation, ObjectKind::Operation);
                }
            }
        }
        ObjectKind::Operation => {
            each_item(map.get_mut("parameters"), |p| hide(p, ObjectKind::Parameter));
            if let Some(body) = map.get_mut("requestBody") {
                hide(body, ObjectKind::RequestBody);
            }
            // 3.1 made `responses` optional; the loader asks for at least one.
            map.entry("responses").or_insert_with(|| Value::Object(Map::new()));
            each_value(map.get_mut("responses"), |r| hide(r, ObjectKind::Response));
            each_value(map.get_mut("callbacks"), |c| hide(c, ObjectKind::Callback));
        }
        ObjectKind::Parameter | ObjectKind::Header => {
            if map.contains_key("schema") {
                map.insert("schema".into(), empty_schema());
            }
            each_value(map.get_mut("content"), hide_media_type);
        }
        ObjectKind::RequestBody => each_value(map.get_mut("content"), hide_media_type),
        ObjectKind::Response => {
            each_value(map.get_mut("headers"), |h| hide(h, ObjectKind::Header));
            each_value(map.get_mut("content"), hide_media_type);
        }
        ObjectKind::Callback => map.values_mut().for_each(|item| hide(item, ObjectKind::PathItem)),
        ObjectKind::Example | ObjectKind::Link | ObjectKind::SecurityScheme => {}
    }
}

fn hide_media_type(media: &mut Value) {
    let Value::Object(map) = media else { return };
    if map.contains_key("schema") {
        map.insert("schema".into(), empty_schema());
    }
    each_value(map.get_mut("encoding"), |encoding| {
        if let Value::Object(encoding) = encoding {
            each_value(encoding.get_mut("headers"), |h| hide(h, ObjectKind::Header));
        }
    });
}

fn empty_schema() -> Value {
    Value::Object(Map::new())
}

fn each_value(map: Option<&mut Value>, mut apply: impl FnMut(&mut Value)) {
    if let Some(Value::Object(map)) = map {
        map.values_mut().for_each(&mut apply);
    }
}

fn each_item(list: Option<&mut Value>, apply: impl FnMut(&mut Value)) {
    if let Some(Value::Array(items)) = list {
        items.iter_mut().for_each(apply);
    }
}

pub fn is_mutual_tls(scheme: &Value) -> bool {
    scheme.get("type").and_then(Value::as_str) == Some(MUTUAL_TLS)
}

/// `openapiv3` refused the (hidden) document: the problem at the innermost
/// object that it refuses, found by typing the parts one by one (only on
/// this error path), so that it gets a line and column.
pub fn typing_error(label: &str, document: &Value, error: serde_json::Error) -> Diagnostic {
    let (pointer, message) = refused_part(document).unwrap_or_else(|| (String::new(), error.to_string()));
    Diagnostic::at_pointer(label, pointer, format!("not a valid OpenAPI 3.1 document: {message}"))
}

/// Why a part is refused, if it is.
type Refusal = fn(&Value) -> Option<String>;
/// Why a part of a kind is refused, if it is.
type KindRefusal = fn(&Value, ObjectKind) -> Option<String>;

fn refused_part(document: &Value) -> Option<(String, String)> {
    let top: [(&str, Refusal); 5] = [
        ("info", refused::<openapiv3::Info>),
        ("servers", refused::<Vec<openapiv3::Server>>),
        ("security", refused::<Vec<openapiv3::SecurityRequirement>>),
        ("tags", refused::<Vec<openapiv3::Tag>>),
        ("externalDocs", refused::<openapiv3::ExternalDocumentation>),
    ];
    for (field, check) in top {
        if let Some(message) = document.get(field).and_then(check) {
            return Some((format!("/{field}"), message));
        }
    }
    for (path, item) in entries(document.get("paths")) {
        let at = format!("/paths/{}", escape_pointer_token(path));
        if let Some(message) = refused_as::<ReferenceOr<openapiv3::PathItem>>(item, ObjectKind::PathItem) {
            return Some(refused_path_item_part(&at, item).unwrap_or((at, message)));
        }
    }
    let sections: [(&str, ObjectKind, KindRefusal); 8] = [
        (
            "parameters",
            ObjectKind::Parameter,
            refused_as::<ReferenceOr<openapiv3::Parameter>>,
        ),
        (
            "headers",
            ObjectKind::Header,
            refused_as::<ReferenceOr<openapiv3::Header>>,
        ),
        (
            "requestBodies",
            ObjectKind::RequestBody,
            refused_as::<ReferenceOr<openapiv3::RequestBody>>,
        ),
        (
            "responses",
            ObjectKind::Response,
            refused_as::<ReferenceOr<openapiv3::Response>>,
        ),
        (
            "examples",
            ObjectKind::Example,
            refused_as::<ReferenceOr<openapiv3::Example>>,
        ),
        ("links", ObjectKind::Link, refused_as::<ReferenceOr<openapiv3::Link>>),
        (
            "callbacks",
            ObjectKind::Callback,
            refused_as::<ReferenceOr<openapiv3::Callback>>,
        ),
        (
            "securitySchemes",
            ObjectKind::SecurityScheme,
            refused_as::<ReferenceOr<openapiv3::SecurityScheme>>,
        ),
    ];
    let components = document.get("components");
    for (section, kind, check) in sections {
        for (name, value) in entries(components.and_then(|c| c.get(section))) {
            if kind_is_skipped(kind, value) {
                continue;
            }
            if let Some(message) = check(value, kind) {
                let at = format!("/components/{section}/{}", escape_pointer_token(name));
                return Some((at, message));
            }
        }
    }
    None
}

/// The part of a refused path item that it owes it to: one of its own
/// parameters or servers, or an operation (or the part of it).
fn refused_path_item_part(item_at: &str, item: &Value) -> Option<(String, String)> {
    if let Some(refusal) = refused_parameter(item_at, item) {
        return Some(refusal);
    }
    let servers = item.get("servers").and_then(Value::as_array).into_iter().flatten();
    for (index, server) in servers.enumerate() {
        if let Some(message) = refused::<openapiv3::Server>(server) {
            return Some((format!("{item_at}/servers/{index}"), message));
        }
    }
    refused_operation(item_at, item)
}

/// The operation, or the part of it, that a refused path item owes it to.
fn refused_operation(item_at: &str, item: &Value) -> Option<(String, String)> {
    for (method, operation) in entries(Some(item)).filter(|(key, _)| METHODS.contains(&key.as_str())) {
        let at = format!("{item_at}/{method}");
        let Some(refusal) = refused_as::<openapiv3::Operation>(operation, ObjectKind::Operation) else {
            continue;
        };
        if let Some(refusal) = refused_parameter(&at, operation) {
            return Some(refusal);
        }
        if let Some(body) = operation.get("requestBody") {
            if let Some(message) = refused_as::<ReferenceOr<openapiv3::RequestBody>>(body, ObjectKind::RequestBody) {
                return Some((format!("{at}/requestBody"), message));
            }
        }
        for (status, response) in entries(operation.get("responses")) {
            if let Some(message) = refused_as::<ReferenceOr<openapiv3::Response>>(response, ObjectKind::Response) {
                return Some((format!("{at}/responses/{}", escape_pointer_token(status)), message));
            }
        }
        return Some((at, refusal));
    }
    None
}

/// The first of the `parameters` of a path item or an operation that is refused.
fn refused_parameter(at: &str, holder: &Value) -> Option<(String, String)> {
    let parameters = holder.get("parameters").and_then(Value::as_array).into_iter().flatten();
    parameters.enumerate().find_map(|(index, parameter)| {
        let message = refused_as::<ReferenceOr<openapiv3::Parameter>>(parameter, ObjectKind::Parameter)?;
        Some((format!("{at}/parameters/{index}"), message))
    })
}

fn kind_is_skipped(kind: ObjectKind, value: &Value) -> bool {
    matches!(kind, ObjectKind::SecurityScheme) && is_mutual_tls(value)
}

fn entries(map: Option<&Value>) -> impl Iterator<Item = (&String, &Value)> {
    map.and_then(Value::as_object).into_iter().flatten()
}

fn refused<T: DeserializeOwned>(value: &Value) -> Option<String> {
    serde_json::from_value::<T>(value.clone()).err().map(|e| e.to_string())
}

fn refused_as<T: DeserializeOwned>(value: &Value, kind: ObjectKind) -> Option<String> {
    refused::<T>(&hidden(value, kind))
}

/// `jsonSchemaDialect`, if given, must be the default one or the JSON Schema
/// draft it extends: the schemas are validated as 2020-12 with OpenAPI's vocabulary.
pub fn check_dialect(label: &str, document: &Value) -> Result<(), Diagnostic> {
    match document.get("jsonSchemaDialect") {
        None => Ok(()),
        Some(dialect) if accepts_schema_dialect(dialect) => Ok(()),
        Some(other) => Err(Diagnostic::at_pointer(
            label,
            "/jsonSchemaDialect",
            format!(
                "unsupported `jsonSchemaDialect` {other}: expected `{DEFAULT_DIALECT}` (the default), \
                 JSON Schema 2020-12 or none"
            ),
        )),
    }
}

/// A Schema Object's own `$schema`, if it has one, must name 2020-12 or the
/// default dialect.
pub fn accepts_schema_dialect(dialect: &Value) -> bool {
    dialect.as_str().is_some_and(|d| ACCEPTED_SCHEMA_DIALECTS.contains(&d))
}

/// The webhooks a document declares, as `NAME METHOD` (listed, not served).
pub fn webhooks(document: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for (name, item) in document
        .get("webhooks")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let methods: Vec<String> = item
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(key, _)| METHODS.contains(&key.as_str()))
            .map(|(key, _)| key.to_ascii_uppercase())
            .collect();
        match methods.is_empty() {
            true => found.push(name.clone()),
            false => found.extend(methods.into_iter().map(|m| format!("{name} {m}"))),
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schemas_are_hidden_everywhere_openapiv3_would_type_them() {
        let document = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "components": {
                "schemas": {"N": {"type": ["string", "null"]}},
                "securitySchemes": {"tls": {"type": "mutualTLS"}, "key": {"type": "apiKey", "in": "header", "name": "K"}}
            },
            "webhooks": {"ping": {"post": {"responses": {"200": {"description": "ok"}}}}}
        });
        let hidden = hidden(&document, ObjectKind::Document);
        assert_eq!(hidden["paths"], json!({}));
        assert_eq!(hidden["components"]["schemas"]["N"], json!({}));
        assert!(hidden["components"]["securitySchemes"].get("tls").is_none());
        let typed: openapiv3::OpenAPI = serde_json::from_value(hidden).expect("openapiv3 reads it");
        assert!(typed.paths.paths.is_empty());
        assert_eq!(webhooks(&document), ["ping POST"]);
    }

    #[test]
    fn a_parameter_schema_that_openapiv3_refuses_is_hidden() {
        let parameter =
            json!({"name": "n", "in": "query", "schema": {"type": ["integer", "null"], "exclusiveMinimum": 0}});
        assert!(serde_json::from_value::<openapiv3::Parameter>(parameter.clone()).is_err());
        let hidden = hidden(&parameter, ObjectKind::Parameter);
        assert!(serde_json::from_value::<openapiv3::Parameter>(hidden).is_ok());
    }

    #[test]
    fn only_the_default_dialect_is_accepted() {
        assert!(check_dialect("s.yaml", &json!({"jsonSchemaDialect": DEFAULT_DIALECT})).is_ok());
        let error = check_dialect("s.yaml", &json!({"jsonSchemaDialect": "https://example.com/d"})).unwrap_err();
        assert!(error.to_string().contains("unsupported `jsonSchemaDialect`"), "{error}");
    }
}
