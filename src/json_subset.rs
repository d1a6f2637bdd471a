//! Whether one JSON value contains another: what a scenario rule's
//! `when.body`, a stream's `expect: {json}` and a journal verification's
//! `body` mean by "the body contains this".

use serde_json::Value;

/// `expected` is found in `actual`: objects by subset (recursively),
/// arrays item by item, anything else by equality.
pub fn contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(actual), Value::Object(expected)) => expected
            .iter()
            .all(|(key, value)| actual.get(key).is_some_and(|a| contains(a, value))),
        (Value::Array(actual), Value::Array(expected)) => {
            actual.len() == expected.len() && actual.iter().zip(expected).all(|(a, e)| contains(a, e))
        }
        (Value::Number(actual), Value::Number(expected)) => crate::json_number::equal(actual, expected),
        _ => actual == expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subset_containment() {
        assert!(contains(
            &json!({"a": {"b": 1, "c": 2}, "d": 3}),
            &json!({"a": {"b": 1}})
        ));
        assert!(!contains(&json!({"a": {"b": 2}}), &json!({"a": {"b": 1}})));
        assert!(contains(&json!([1, {"x": 1, "y": 2}]), &json!([1, {"x": 1}])));
        assert!(!contains(&json!([1, 2]), &json!([1])));
    }
}
