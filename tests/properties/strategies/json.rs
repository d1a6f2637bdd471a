// Included by src/ too (see mod.rs), so no inner doc comment here.

use proptest::prelude::*;
use serde_json::{json, Value};

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

pub fn awkward_string() -> BoxedStrategy<String> {
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

pub fn json_key() -> BoxedStrategy<String> {
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

pub fn json_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        json_number(),
        awkward_string().prop_map(Value::String),
    ]
    .boxed()
}

/// Any JSON value, keys mostly the profiles' own.
pub fn json_value() -> BoxedStrategy<Value> {
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
