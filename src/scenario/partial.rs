//! Values with unknown parts: what a scenario body or store value is known
//! to be before any request renders it, and the schema violations it has
//! whatever its unknown parts turn out to be.
//!
//! Static parts (literals, fixtures, examples, the keys of a `json:` object)
//! are known, each with the place in a file it was written. A template that
//! is a whole string (`"{{request.body}}"`) may be any value, or nothing;
//! text with a template inside (`"id-{{uuid}}"`) is some string. A value
//! read from the store is whatever the caller says that key holds, or
//! unknown.
//!
//! A violation is reported only when it holds for every rendering:
//! - the schema that is broken applies to the value unconditionally: the
//!   way to it from the root goes only through `properties`,
//!   `patternProperties`, `additionalProperties`, `items`, `prefixItems`,
//!   `allOf` and `$ref`, through no part that is unknown or may be absent;
//!   under `anyOf`, `oneOf`, `not`, `if`/`then`/`else`, `dependentSchemas`,
//!   `contains`, `unevaluated*` or `propertyNames` only when the value that
//!   keyword looks at is wholly static (an unknown part could decide it);
//! - and the broken keyword is decided by the known parts: any keyword for
//!   a wholly static value; else `type` (an object, an array or a string is
//!   one whatever its unknown parts), `required` when nothing may provide
//!   the property, `additionalProperties` for a property that is always
//!   there.
//!
//! Not caught, by design (an unknown part could make them right): anything
//! at or under an unknown part, a value a whole-string template may leave
//! out, anything once a `merge` whose overlay is unknown may have replaced
//! it, an array holding a template that may render nothing (its positions
//! shift), `enum`, `pattern`, `minItems` and the like on a partly unknown value.

use std::borrow::Cow;
use std::sync::Arc;

use jsonschema::error::ValidationErrorKind;
use serde_json::{Map, Value};

use super::template::{Expr, Template};
use super::BodyTemplate;
use crate::diagnostic::escape_pointer_token;
use crate::spec::CompiledSchema;
use crate::validate::{error_violations, Violation};

/// Where a static part was written: a file and a JSON pointer in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    pub file: Arc<str>,
    pub pointer: String,
    /// The value in the file is this one, so a part of it is at the part's
    /// pointer. Otherwise (an example, a generated body) the whole entry is
    /// the place to point at.
    exact: bool,
}

impl Origin {
    /// A value written as is at `pointer` of `file`.
    pub fn exact(file: &Arc<str>, pointer: impl Into<String>) -> Self {
        Self {
            file: file.clone(),
            pointer: pointer.into(),
            exact: true,
        }
    }

    /// A value made from the entry at `pointer` (an example, a generated body).
    pub fn entry(file: &Arc<str>, pointer: impl Into<String>) -> Self {
        Self {
            exact: false,
            ..Self::exact(file, pointer)
        }
    }

    fn child(&self, token: &str) -> Self {
        match self.exact {
            true => Self {
                pointer: format!("{}/{}", self.pointer, escape_pointer_token(token)),
                ..self.clone()
            },
            false => self.clone(),
        }
    }
}

/// A value as far as it is known before it is rendered.
#[derive(Debug, Clone, PartialEq)]
pub enum Partial {
    /// Shared: a stored value reaches many bodies.
    Known(Arc<Value>, Origin),
    /// An object with some unknown parts; its keys are all listed.
    Object(Vec<(String, Field)>, Origin),
    /// An array with some unknown items (none that may be left out).
    Array(Vec<Partial>, Origin),
    /// Some string.
    Text(Origin),
    /// Any value.
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub value: Partial,
    /// False: a template may leave the key out.
    pub always: bool,
}

/// What templates read, as far as the check knows it.
pub struct Reads<'a> {
    /// The store key being followed and a value it may hold; every other
    /// key is unknown.
    pub store: Option<(&'a str, &'a Partial)>,
    /// Whether some request the rule answers makes this expression render
    /// nothing (an optional body or query parameter the request may lack).
    pub may_lack: &'a dyn Fn(&Expr) -> bool,
}

/// Where the two parts of a body were written.
#[derive(Debug, Clone)]
pub struct BodyOrigins {
    pub base: Origin,
    pub merge: Origin,
}

/// What `template` may render to: one value per way it can go (a `merge`
/// whose overlay may render nothing leaves the source alone). Empty when it
/// renders nothing whatever the request.
pub fn body(template: &BodyTemplate, origins: &BodyOrigins, reads: &Reads<'_>) -> Vec<Partial> {
    let Some((base, _)) = eval(&template.base, &origins.base, reads) else {
        return Vec::new();
    };
    let Some(overlay) = &template.merge else {
        return vec![base];
    };
    match eval(overlay, &origins.merge, reads) {
        None => vec![base],
        Some((value, always)) => {
            let lacking = !always && matches!(overlay, Template::Expr(expr) if (reads.may_lack)(expr));
            let merged = merge(base.clone(), value);
            match lacking {
                true => vec![merged, base],
                false => vec![merged],
            }
        }
    }
}

/// A template's value and whether it is always there; `None`: never there.
fn eval(template: &Template, origin: &Origin, reads: &Reads<'_>) -> Option<(Partial, bool)> {
    match template {
        Template::Literal(value) => Some((Partial::Known(Arc::new(value.clone()), origin.clone()), true)),
        Template::Text(_) => Some((Partial::Text(origin.clone()), true)),
        Template::Expr(expr) => expression(expr, origin, reads),
        Template::Array(items) => {
            let mut known = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                match eval(item, &origin.child(&index.to_string()), reads) {
                    Some((value, true)) => known.push(value),
                    // An item that may be dropped shifts the others.
                    Some((_, false)) => return Some((Partial::Unknown, true)),
                    None => {}
                }
            }
            Some((Partial::Array(known, origin.clone()), true))
        }
        Template::Object(fields) => {
            let fields = fields
                .iter()
                .filter_map(|(key, value)| {
                    let (value, always) = eval(value, &origin.child(key), reads)?;
                    Some((key.clone(), Field { value, always }))
                })
                .collect();
            Some((Partial::Object(fields, origin.clone()), true))
        }
    }
}

fn expression(expr: &Expr, origin: &Origin, reads: &Reads<'_>) -> Option<(Partial, bool)> {
    match expr {
        Expr::Now | Expr::Uuid | Expr::RequestPath(_) => Some((Partial::Text(origin.clone()), true)),
        Expr::RequestQuery(_) | Expr::RequestHeader(_) => Some((Partial::Text(origin.clone()), false)),
        Expr::Store(key, path) => match reads.store {
            Some((followed, value)) if followed == key => value.descend(path),
            _ => Some((Partial::Unknown, false)),
        },
        Expr::RequestBody(_) | Expr::EventRequest(_) | Expr::EventResponse(_) => Some((Partial::Unknown, false)),
    }
}

/// Deep merge as `template::merge` does it: objects key by key, anything
/// else replaced by the overlay.
pub fn merge(base: Partial, overlay: Partial) -> Partial {
    match (base.into_fields(), overlay.into_fields()) {
        (Ok((mut fields, origin)), Ok((overlay, _))) => {
            for (key, field) in overlay {
                match fields.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, existing)) if field.always => {
                        existing.value = merge(std::mem::replace(&mut existing.value, Partial::Unknown), field.value)
                    }
                    // Either the old value or the merged one.
                    Some((_, existing)) => existing.value = Partial::Unknown,
                    None => fields.push((key, field)),
                }
            }
            Partial::Object(fields, origin)
        }
        (_, Err(Partial::Unknown)) | (Err(Partial::Unknown), Ok(_)) => Partial::Unknown,
        (_, Err(overlay)) => overlay,
        (Err(_), Ok((fields, origin))) => Partial::Object(fields, origin),
    }
}

impl Partial {
    /// An object's fields (a static object's included), or the value itself.
    fn into_fields(self) -> Result<(Vec<(String, Field)>, Origin), Partial> {
        match self {
            Partial::Object(fields, origin) => Ok((fields, origin)),
            Partial::Known(value, origin) if value.is_object() => {
                let Value::Object(map) = Arc::unwrap_or_clone(value) else {
                    return Err(Partial::Unknown);
                };
                let fields = map
                    .into_iter()
                    .map(|(key, value)| {
                        let value = Partial::Known(Arc::new(value), origin.child(&key));
                        (key, Field { value, always: true })
                    })
                    .collect();
                Ok((fields, origin))
            }
            other => Err(other),
        }
    }

    /// Whether nothing in it is unknown or may be absent.
    pub fn is_static(&self) -> bool {
        match self {
            Partial::Known(..) => true,
            Partial::Object(fields, _) => fields.iter().all(|(_, f)| f.always && f.value.is_static()),
            Partial::Array(items, _) => items.iter().all(Partial::is_static),
            Partial::Text(_) | Partial::Unknown => false,
        }
    }

    /// `store.KEY.a.b` when the key holds this: the value at the path and
    /// whether it is always there; `None`: never there.
    fn descend(&self, path: &[String]) -> Option<(Partial, bool)> {
        let Some((first, rest)) = path.split_first() else {
            return Some((self.clone(), true));
        };
        match self {
            Partial::Known(value, origin) => {
                let child = match value.as_ref() {
                    Value::Object(map) => map.get(first)?,
                    Value::Array(items) => items.get(first.parse::<usize>().ok()?)?,
                    _ => return None,
                };
                Partial::Known(Arc::new(child.clone()), origin.child(first)).descend(rest)
            }
            Partial::Object(fields, _) => {
                let field = &fields.iter().find(|(k, _)| k == first)?.1;
                let (value, always) = field.value.descend(rest)?;
                Some((value, always && field.always))
            }
            Partial::Array(items, _) => items.get(first.parse::<usize>().ok()?)?.descend(rest),
            Partial::Text(_) => None,
            Partial::Unknown => Some((Partial::Unknown, false)),
        }
    }

    /// The value with a stand-in for each unknown part, for the validator.
    fn stand_in(&self) -> Value {
        match self {
            Partial::Known(value, _) => value.as_ref().clone(),
            Partial::Object(fields, _) => Value::Object(
                fields
                    .iter()
                    .map(|(key, field)| (key.clone(), field.value.stand_in()))
                    .collect::<Map<_, _>>(),
            ),
            Partial::Array(items, _) => Value::Array(items.iter().map(Partial::stand_in).collect()),
            Partial::Text(_) => Value::String(String::new()),
            Partial::Unknown => Value::Null,
        }
    }

    /// The part at `path`, if the way to it is known and always there.
    fn at(&self, path: &[String]) -> Option<Node<'_>> {
        let mut node = Node::Partial(self);
        for token in path {
            node = match node {
                Node::Value(Value::Object(map), origin) => Node::Value(map.get(token)?, origin.child(token)),
                Node::Value(Value::Array(items), origin) => {
                    Node::Value(items.get(token.parse::<usize>().ok()?)?, origin.child(token))
                }
                Node::Partial(Partial::Known(value, origin)) => Node::Value(value, origin.clone()).step(token)?,
                Node::Partial(Partial::Object(fields, _)) => match fields.iter().find(|(k, _)| k == token) {
                    Some((_, field)) if field.always => Node::Partial(&field.value),
                    _ => return None,
                },
                Node::Partial(Partial::Array(items, _)) => Node::Partial(items.get(token.parse::<usize>().ok()?)?),
                _ => return None,
            };
        }
        Some(node)
    }
}

/// A part of a partial value: inside a static value, or a partial one.
enum Node<'a> {
    Value(&'a Value, Origin),
    Partial(&'a Partial),
}

impl<'a> Node<'a> {
    fn step(self, token: &str) -> Option<Node<'a>> {
        match self {
            Node::Value(Value::Object(map), origin) => Some(Node::Value(map.get(token)?, origin.child(token))),
            Node::Value(Value::Array(items), origin) => Some(Node::Value(
                items.get(token.parse::<usize>().ok()?)?,
                origin.child(token),
            )),
            _ => None,
        }
    }

    fn is_static(&self) -> bool {
        match self {
            Node::Value(..) => true,
            Node::Partial(partial) => partial.is_static(),
        }
    }

    fn origin(&self) -> Option<Origin> {
        match self {
            Node::Value(_, origin) => Some(origin.clone()),
            Node::Partial(Partial::Known(_, origin) | Partial::Object(_, origin))
            | Node::Partial(Partial::Array(_, origin) | Partial::Text(origin)) => Some(origin.clone()),
            Node::Partial(Partial::Unknown) => None,
        }
    }

    /// The origin of the property `name` of this object, if it is always there.
    fn property(&self, name: &str) -> Option<Origin> {
        match self {
            Node::Value(Value::Object(map), origin) if map.contains_key(name) => Some(origin.child(name)),
            Node::Partial(Partial::Known(value, origin)) if value.get(name).is_some() && value.is_object() => {
                Some(origin.child(name))
            }
            Node::Partial(Partial::Object(fields, origin)) => fields
                .iter()
                .find(|(k, field)| k == name && field.always)
                .map(|(_, field)| Node::Partial(&field.value).origin().unwrap_or_else(|| origin.clone())),
            _ => None,
        }
    }
}

/// A violation that holds whatever the unknown parts are, and where the
/// static part that breaks the schema was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub violation: Violation,
    pub origin: Origin,
}

/// Every violation of `schema` that `value` has whatever its unknown parts are.
pub fn violations(schema: &CompiledSchema, value: &Partial) -> Vec<Found> {
    let instance = match value {
        Partial::Known(value, _) => Cow::Borrowed(value.as_ref()),
        partial => Cow::Owned(partial.stand_in()),
    };
    if schema.validator.is_valid(&instance) {
        return Vec::new();
    }
    let mut found = Vec::new();
    for error in schema.validator.iter_errors(&instance) {
        let path = tokens(error.instance_path().as_str());
        let Some(conditional) = applied_at(error.evaluation_path().as_str(), path.len()) else {
            continue;
        };
        if let Some(depth) = conditional {
            if !value.at(&path[..depth]).is_some_and(|node| node.is_static()) {
                continue;
            }
        }
        let Some(node) = value.at(&path) else { continue };
        for violation in error_violations(&error, "") {
            let origin = match (node.is_static(), error.kind()) {
                (_, ValidationErrorKind::AdditionalProperties { .. }) => {
                    let name = tokens(&violation.pointer).pop().unwrap_or_default();
                    node.property(&name)
                }
                (true, _) => node.origin(),
                // The stand-in has every key a template may give: one it
                // lacks, no rendering has.
                (false, ValidationErrorKind::Type { .. } | ValidationErrorKind::Required { .. }) => node.origin(),
                _ => None,
            };
            if let Some(origin) = origin {
                found.push(Found { violation, origin });
            }
        }
    }
    found
}

/// How deep in the instance a failing keyword applies, read from its
/// evaluation path (`/$ref/properties/user/$ref/type`): `None` when the path
/// is not understood or does not lead to the error's instance (`depth`
/// tokens deep); else the depth of the shallowest conditional keyword on
/// the way, if there is one.
fn applied_at(evaluation_path: &str, depth: usize) -> Option<Option<usize>> {
    let segments = tokens(evaluation_path);
    let (_keyword, applicators) = segments.split_last()?;
    let mut at = 0;
    let mut conditional: Option<usize> = None;
    let mut segments = applicators.iter();
    while let Some(keyword) = segments.next() {
        match keyword.as_str() {
            "$ref" | "$dynamicRef" => {}
            "allOf" => {
                segments.next()?;
            }
            "properties" | "patternProperties" | "prefixItems" => {
                segments.next()?;
                at += 1;
            }
            "items" | "additionalProperties" => at += 1,
            "anyOf" | "oneOf" | "dependentSchemas" => {
                segments.next()?;
                conditional = Some(conditional.unwrap_or(at));
            }
            "not" | "if" | "then" | "else" => conditional = Some(conditional.unwrap_or(at)),
            "contains" | "unevaluatedProperties" | "unevaluatedItems" | "propertyNames" => {
                conditional = Some(conditional.unwrap_or(at));
                at += 1;
            }
            _ => return None,
        }
    }
    (at == depth).then_some(conditional)
}

/// The unescaped tokens of a JSON pointer.
fn tokens(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(document: Value) -> CompiledSchema {
        crate::spec::compile::compile(document).expect("a valid schema")
    }

    fn file() -> Arc<str> {
        Arc::from("s.yaml")
    }

    fn never(_: &Expr) -> bool {
        false
    }

    /// What the body at `/body` renders to, the store unknown.
    fn rendered(json: Value, merge: Option<Value>, may_lack: &dyn Fn(&Expr) -> bool) -> Vec<Partial> {
        let template = BodyTemplate {
            base: Template::parse(&json).unwrap(),
            merge: merge.map(|m| Template::parse(&m).unwrap()),
        };
        let origins = BodyOrigins {
            base: Origin::exact(&file(), "/body/json"),
            merge: Origin::exact(&file(), "/body/merge"),
        };
        body(&template, &origins, &Reads { store: None, may_lack })
    }

    /// The one value `json` (merged with `merge`) renders to.
    fn one(json: Value, merge: Option<Value>) -> Partial {
        let [value] = rendered(json, merge, &never).try_into().expect("one way to render");
        value
    }

    fn messages(schema: &CompiledSchema, value: &Partial) -> Vec<String> {
        violations(schema, value)
            .into_iter()
            .map(|f| format!("{} {} @{}", f.violation.pointer, f.violation.message, f.origin.pointer))
            .collect()
    }

    fn profile() -> CompiledSchema {
        schema(json!({
            "type": "object",
            "required": ["id", "aesthetics"],
            "properties": {
                "id": {"type": "string"},
                "size": {"type": "integer"},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 1},
                "aesthetics": {"type": "object", "required": ["dark"], "properties": {"dark": {"type": "boolean"}}}
            },
            "additionalProperties": false
        }))
    }

    #[test]
    fn a_required_property_no_template_can_give_is_missing() {
        let value = one(json!({"id": "{{uuid}}"}), None);
        assert_eq!(
            messages(&profile(), &value),
            ["/aesthetics required property `aesthetics` is missing @/body/json"]
        );
    }

    #[test]
    fn unknown_parts_that_could_make_it_valid_are_accepted() {
        for json in [
            json!({"id": "{{uuid}}", "aesthetics": "{{request.body.aesthetics}}"}),
            json!("{{request.body}}"),
            json!({"id": "{{request.body.id}}", "aesthetics": {"dark": "{{request.body.dark}}"}}),
        ] {
            for value in rendered(json.clone(), None, &never) {
                assert_eq!(messages(&profile(), &value), Vec::<String>::new(), "{json}");
            }
        }
    }

    #[test]
    fn static_parts_of_the_wrong_type_are_found_beside_unknown_ones() {
        let value = one(
            json!({"id": "{{uuid}}", "size": "{{uuid}} px", "aesthetics": {"dark": 1, "x": "{{now}}"}, "tags": [1, "{{uuid}}"]}),
            None,
        );
        let mut found = messages(&profile(), &value);
        found.sort();
        assert_eq!(
            found,
            [
                "/aesthetics/dark expected boolean, found integer @/body/json/aesthetics/dark",
                "/size expected integer, found string @/body/json/size",
                "/tags/0 expected string, found integer @/body/json/tags/0",
            ]
        );
    }

    #[test]
    fn a_key_a_template_may_leave_out_is_neither_missing_nor_unexpected() {
        let value = one(
            json!({"id": "x", "aesthetics": {"dark": true}, "extra": "{{request.query.q}}"}),
            None,
        );
        assert!(messages(&profile(), &value).is_empty());
        let value = one(
            json!({"id": "x", "aesthetics": {"dark": true}, "extra": "{{uuid}}"}),
            None,
        );
        assert_eq!(
            messages(&profile(), &value),
            ["/extra property `extra` is not allowed here @/body/json/extra"]
        );
    }

    #[test]
    fn merge_keeps_the_source_where_the_overlay_does_not_reach() {
        let value = one(
            json!({"id": "x", "aesthetics": "dark"}),
            Some(json!({"id": "{{request.body.id}}"})),
        );
        assert_eq!(
            messages(&profile(), &value),
            ["/aesthetics expected object, found string @/body/json/aesthetics"]
        );
        // An overlay that may be anything may replace everything.
        let values = rendered(json!({"aesthetics": "dark"}), Some(json!("{{request.body}}")), &never);
        assert_eq!(values, [Partial::Unknown]);
        // Unless the request may lack it: then the source is sent as it is.
        let values = rendered(json!({"aesthetics": "dark"}), Some(json!("{{request.body}}")), &|_| {
            true
        });
        assert_eq!(values.len(), 2);
        assert_eq!(
            messages(&profile(), &values[1]).len(),
            2,
            "id missing, aesthetics a string"
        );
    }

    #[test]
    fn conditional_keywords_count_only_on_static_values() {
        let nullable = schema(json!({
            "type": "object",
            "properties": {"a": {"anyOf": [{"type": "object", "properties": {"n": {"type": "integer"}}}, {"type": "null"}]}}
        }));
        let value = one(json!({"a": {"n": "x", "m": "{{uuid}}"}}), None);
        assert!(
            messages(&nullable, &value).is_empty(),
            "the unknown `m` could decide anyOf"
        );
        let value = one(json!({"a": {"n": "x"}, "b": "{{uuid}}"}), None);
        assert_eq!(messages(&nullable, &value).len(), 1, "`a` is static: anyOf is decided");
        let then = schema(json!({
            "type": "object",
            "if": {"properties": {"kind": {"const": "a"}}},
            "then": {"required": ["x"]}
        }));
        let value = one(json!({"kind": "{{request.body.kind}}"}), None);
        assert!(messages(&then, &value).is_empty());
    }

    #[test]
    fn a_followed_store_value_is_read_with_its_own_origins() {
        let stored = Partial::Known(
            Arc::new(json!({"id": 1, "aesthetics": {"dark": true}})),
            Origin::exact(&file(), ""),
        );
        let template = BodyTemplate {
            base: Template::parse(&json!({"user": "{{store.user}}", "id": "{{store.user.id}}"})).unwrap(),
            merge: None,
        };
        let origins = BodyOrigins {
            base: Origin::exact(&file(), "/json"),
            merge: Origin::exact(&file(), "/merge"),
        };
        let reads = Reads {
            store: Some(("user", &stored)),
            may_lack: &never,
        };
        let [value] = body(&template, &origins, &reads).try_into().unwrap();
        let wrapper = schema(
            json!({"properties": {"user": {"properties": {"id": {"type": "string"}}}, "id": {"type": "string"}}}),
        );
        let mut found = messages(&wrapper, &value);
        found.sort();
        assert_eq!(
            found,
            [
                "/id expected string, found integer @/id",
                "/user/id expected string, found integer @/id"
            ]
        );
    }

    #[test]
    fn evaluation_paths_are_read_as_the_validator_writes_them() {
        assert_eq!(
            applied_at("/$ref/properties/user/$ref/properties/a/$ref/type", 2),
            Some(None)
        );
        assert_eq!(applied_at("/properties/b/then/properties/k/type", 2), Some(Some(1)));
        assert_eq!(applied_at("/properties/c/items/type", 2), Some(None));
        assert_eq!(
            applied_at("/properties/c/items/type", 1),
            None,
            "not where the error is"
        );
        assert_eq!(applied_at("/properties/a/$unknown/type", 1), None);
    }

    mod soundness {
        //! Whatever a request and the store hold, a rendered body has every
        //! violation reported for the value it was rendered from.

        use std::cell::Cell;

        use http::HeaderMap;
        use proptest::prelude::*;

        use super::*;
        use crate::scenario::template::{lookup, RequestTime, Scope};
        use crate::scenario::Store;
        use crate::validate::schema_violations;

        const TEMPLATES: &[&str] = &[
            "{{request.body}}",
            "{{request.body.id}}",
            "{{request.body.aesthetics}}",
            "{{request.body.user}}",
            "{{store.user}}",
            "{{store.user.id}}",
            "{{store.user.aesthetics}}",
            "{{store.user.aesthetics.font}}",
            "{{now}}",
            "{{uuid}}",
            "{{request.query.q}}",
            "{{request.headers.x-a}}",
            "{{request.path.id}}",
            "x{{uuid}}",
        ];
        const KEYS: &[&str] = &[
            "id",
            "aesthetics",
            "theme",
            "dark",
            "font",
            "size",
            "user",
            "email",
            "extra",
            "kind",
        ];

        fn leaf() -> BoxedStrategy<Value> {
            prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                (-3i64..20).prop_map(Value::from),
                prop::sample::select(&["", "a", "a@b.c", "2024-01-01T00:00:00Z", "a", "b"][..]).prop_map(Value::from),
            ]
            .boxed()
        }

        /// JSON made of `leaf`s (and templates, when `templated`).
        fn tree(templated: bool) -> BoxedStrategy<Value> {
            let leaves = match templated {
                true => prop_oneof![2 => prop::sample::select(TEMPLATES).prop_map(Value::from), 1 => leaf()].boxed(),
                false => leaf(),
            };
            leaves
                .prop_recursive(4, 24, 4, |inner| {
                    prop_oneof![
                        prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                        prop::collection::vec((prop::sample::select(KEYS), inner), 0..5)
                            .prop_map(|p| Value::Object(p.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
                    ]
                })
                .boxed()
        }

        /// Response schemas of the shipped spec, and one with the keywords it lacks.
        fn schemas() -> &'static [CompiledSchema] {
            static SCHEMAS: std::sync::OnceLock<Vec<CompiledSchema>> = std::sync::OnceLock::new();
            SCHEMAS.get_or_init(|| {
                let spec = crate::spec::load_text("openapi.yaml", include_str!("../../openapi.yaml"), None).unwrap();
                let mut schemas: Vec<CompiledSchema> = ["refresh-user", "user-snapshot", "user-beta-status"]
                    .iter()
                    .filter_map(|id| spec.operation(id)?.responses[0].content[0].schema.clone())
                    .collect();
                schemas.push(schema(json!({
                "type": "object",
                "required": ["id", "kind"],
                "properties": {
                    "id": {"type": "string", "minLength": 1},
                    "kind": {"enum": ["a", "b"]},
                    "size": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}]},
                    "user": {"type": "object", "additionalProperties": false, "properties": {"id": {"type": "string"}}},
                    "font": {"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "integer"}},
                    "email": {"type": "string"}
                },
                "allOf": [
                    {"if": {"properties": {"kind": {"const": "a"}}}, "then": {"required": ["size"]}},
                    {
                        "if": {"required": ["kind"], "properties": {"kind": {"type": "null"}}},
                        "then": {"properties": {"id": {"type": "integer"}}}
                    }
                ],
                "dependentSchemas": {"email": {"properties": {"size": {"type": "string"}}}},
                "additionalProperties": false
            })));
                schemas
            })
        }

        fn keyed(violations: Vec<Violation>) -> Vec<String> {
            violations
                .into_iter()
                .map(|v| format!("{} {}", v.pointer, v.message))
                .collect()
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

            #[test]
            fn reported_violations_hold_for_every_rendering(
                base in tree(true),
                overlay in prop::option::of(tree(true)),
                request in prop::option::of(tree(false)),
                stored in prop::option::of(tree(false)),
                query in any::<bool>(),
                header in any::<bool>(),
            ) {
                let template = BodyTemplate {
                    base: Template::parse(&base).unwrap(),
                    merge: overlay.as_ref().map(|m| Template::parse(m).unwrap()),
                };
                let mut headers = HeaderMap::new();
                if header {
                    headers.insert("x-a", "h".parse().unwrap());
                }
                let store: Store = stored.iter().map(|v| ("user".to_string(), v.clone())).collect();
                let query = if query { vec![("q".to_string(), "1".to_string())] } else { Vec::new() };
                let path = [("id".to_string(), "p".to_string())];
                let uuid = Cell::new(1);
                let scope = Scope {
                    body: request.as_ref(),
                    path: &path,
                    query: &query,
                    headers: &headers,
                    store: &store,
                    event: None,
                    now: &RequestTime::at(std::time::Duration::from_secs(1_767_225_600)),
                    uuid_state: &uuid,
                };
                let Some(concrete) = template.render(&scope) else { return Ok(()) };
                let followed = stored.map(|v| Partial::Known(Arc::new(v), Origin::exact(&file(), "")));
                let may_lack = |expr: &Expr| lookup(expr, &scope).is_none();
                let reads = Reads { store: followed.as_ref().map(|v| ("user", v)), may_lack: &may_lack };
                let origins = BodyOrigins {
                    base: Origin::exact(&file(), "/json"),
                    merge: Origin::exact(&file(), "/merge"),
                };
                let alternatives = body(&template, &origins, &reads);
                for schema in schemas() {
                    let actual = keyed(schema_violations(schema, &concrete, ""));
                    let reported: Vec<Vec<String>> = alternatives
                        .iter()
                        .map(|a| keyed(violations(schema, a).into_iter().map(|f| f.violation).collect()))
                        .collect();
                    prop_assert!(
                        reported.iter().any(|r| r.iter().all(|v| actual.contains(v))),
                        "rendered {concrete}\nactual {actual:?}\nreported {reported:?}"
                    );
                }
            }
        }
    }
}
