// Included by src/ too (see mod.rs), so no inner doc comment here.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::json::{json_key, json_leaf, json_value};

/// A map of the present fields (`None`: left out).
pub fn object(fields: Vec<(&str, Option<Value>)>) -> Value {
    Value::Object(
        fields
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_string(), v?)))
            .collect(),
    )
}

pub fn maybe(weight: f64, strategy: BoxedStrategy<Value>) -> BoxedStrategy<Option<Value>> {
    prop::option::weighted(weight, strategy).boxed()
}

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
pub fn schema() -> BoxedStrategy<Value> {
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
