//! Deterministic data from a schema: the same schema and seed give the same
//! bytes, every required property is present, formats are respected, and
//! recursion stops at the first optional reference back into itself.
//!
//! Any schema, however hostile, gets an answer in bounded time and memory: a
//! schema that demands more than the budgets below gets a body that breaks
//! it, which start-up reports, rather than a stack overflow or exhausted memory.

use serde_json::{json, Map, Value};

use crate::random::SplitMix64;
use crate::spec::type_of;

/// Deeper than this, optional properties are left out.
const OPTIONAL_DEPTH: usize = 4;
/// Absolute bound, whatever the schema says (a required self-reference).
const MAX_DEPTH: usize = 24;
/// Longest string and array generated: a schema demanding more gets a body
/// that breaks it (reported at start-up), not an exhausted memory.
const MAX_GENERATED_SIZE: u64 = 1000;
/// References followed inside each other: a cycle that makes no progress
/// (`A: {$ref: A}`, or through `allOf`) would otherwise recurse until the stack overflows.
const MAX_REFERENCE_DEPTH: usize = 64;
/// Values generated for one document: sizes multiply (nested `minItems`, two
/// required self-references per level), so each per-node cap alone is not enough.
const MAX_GENERATED_VALUES: usize = 20_000;

/// A value that satisfies the JSON Schema `document`, made up from `seed` (the same seed gives the
/// same value), within budgets that no schema can exhaust.
pub fn generate(document: &Value, seed: u64) -> Value {
    let mut generator = Generator {
        document,
        rng: SplitMix64(seed),
        stack: Vec::new(),
        values_left: MAX_GENERATED_VALUES,
    };
    generator.value(document, "", 0)
}

struct Generator<'d> {
    document: &'d Value,
    rng: SplitMix64,
    /// `$defs` names being generated, to notice recursion.
    stack: Vec<&'d str>,
    values_left: usize,
}

impl<'d> Generator<'d> {
    fn value(&mut self, schema: &'d Value, name: &str, depth: usize) -> Value {
        if depth > MAX_DEPTH || self.values_left == 0 {
            return Value::Null;
        }
        // Before a `$ref`: in 2020-12 its siblings apply too.
        if let Some(given) = given(schema) {
            self.values_left -= 1;
            return given.clone();
        }
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let target = reference.strip_prefix('#').and_then(|p| self.document.pointer(p));
            let Some(target) = target.filter(|_| self.stack.len() < MAX_REFERENCE_DEPTH) else {
                return Value::Null;
            };
            self.stack.push(reference);
            let value = self.value(target, name, depth);
            self.stack.pop();
            // 2020-12: the siblings apply too, as `allOf: [target, siblings]`.
            if !has_siblings(schema) {
                return value;
            }
            let own = self.unreferenced(schema, name, depth);
            return merged(value, own);
        }
        self.unreferenced(schema, name, depth)
    }

    /// A schema's value, its `$ref` (if any) left aside.
    fn unreferenced(&mut self, schema: &'d Value, name: &str, depth: usize) -> Value {
        // The target of a `$ref` may have used up the budget.
        if self.values_left == 0 {
            return Value::Null;
        }
        self.values_left -= 1;
        if let Some(Value::Array(options)) = schema.get("enum") {
            if let Some(first) = options.iter().find(|o| !o.is_null()) {
                return first.clone();
            }
        }
        if let Some(Value::Array(parts)) = schema.get("allOf") {
            return self.all_of(schema, parts, name, depth);
        }
        for combinator in ["oneOf", "anyOf"] {
            if let Some(first) = schema
                .get(combinator)
                .and_then(|list| list.as_array()?.iter().find(|s| s.get("type") != Some(&json!("null"))))
            {
                return self.value(first, name, depth);
            }
        }
        let value = match type_of(schema).or_else(|| implied_type(schema)) {
            Some("object") => self.object(schema, depth),
            Some("array") => self.array(schema, name, depth),
            Some("string") => self.string(schema, name, depth),
            Some("integer") => Value::from(self.integer(schema)),
            Some("number") => self.number(schema),
            Some("boolean") => Value::Bool(self.rng.next_u64().is_multiple_of(2)),
            _ => Value::Null,
        };
        match schema.get("if") {
            Some(condition) => {
                let branch = if holds(condition, &value) { "then" } else { "else" };
                match schema.get(branch) {
                    Some(branch) => self.with_branch(schema, value, branch, name, depth),
                    None => value,
                }
            }
            None => value,
        }
    }

    /// `value` made to satisfy the `then` or `else` its `if` chose: the
    /// branch's value merged in, the properties it requires present, those
    /// it forbids (`not: {required: [...]}`) left out.
    fn with_branch(&mut self, schema: &'d Value, value: Value, branch: &'d Value, name: &str, depth: usize) -> Value {
        let mut object = match merged(value, self.value(branch, name, depth)) {
            Value::Object(object) => object,
            other => return other,
        };
        for required in names(branch.get("required")) {
            if !object.contains_key(required) {
                let value = match schema.get("properties").and_then(|p| p.get(required)) {
                    Some(property) => self.value(property, required, depth + 1),
                    None => Value::String(required.to_string()),
                };
                object.insert(required.to_string(), value);
            }
        }
        for forbidden in names(branch.get("not").and_then(|not| not.get("required"))) {
            object.remove(forbidden);
        }
        Value::Object(object)
    }

    fn all_of(&mut self, schema: &'d Value, parts: &'d [Value], name: &str, depth: usize) -> Value {
        let mut merged = Map::new();
        let mut scalar = None;
        for part in parts.iter().filter(|p| p.get("if").is_none()) {
            match self.value(part, name, depth) {
                Value::Object(object) => merged.extend(object),
                other => scalar = Some(other),
            }
        }
        // A discriminator (see spec::dialect) became if/then pairs: generate
        // the first variant, tagged with its discriminator value.
        if let Some(variant) = parts.iter().find(|p| p.get("if").is_some()) {
            if let Some(Value::Object(object)) = variant.get("then").map(|then| self.value(then, name, depth)) {
                merged.extend(object);
            }
            if let Some((property, tag)) = variant["if"]
                .get("properties")
                .and_then(Value::as_object)
                .and_then(|p| p.iter().next())
            {
                if let Some(value) = tag.get("const") {
                    merged.insert(property.clone(), value.clone());
                }
            }
        }
        if schema.get("properties").is_some() || schema.get("required").is_some() {
            if let Value::Object(own) = self.object(schema, depth) {
                for (key, value) in own {
                    merged.entry(key).or_insert(value);
                }
            }
        }
        match scalar {
            Some(value) if merged.is_empty() => value,
            _ => Value::Object(merged),
        }
    }

    fn object(&mut self, schema: &'d Value, depth: usize) -> Value {
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut object = Map::new();
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                if self.is_write_only(property) {
                    continue;
                }
                let is_required = required.contains(&name.as_str());
                if !is_required && (depth >= OPTIONAL_DEPTH || self.recurses(property)) {
                    continue;
                }
                object.insert(name.clone(), self.value(property, name, depth + 1));
            }
        }
        for name in required {
            object
                .entry(name.to_string())
                .or_insert_with(|| Value::String(name.to_string()));
        }
        let min_properties = schema.get("minProperties").and_then(Value::as_u64).unwrap_or(0) as usize;
        if let Some(extra) = schema.get("additionalProperties").filter(|a| a.is_object()) {
            let mut index = 0;
            while object.len() < min_properties.max(1) && index < 16 {
                index += 1;
                let value = self.value(extra, "item", depth + 1);
                object.entry(format!("key{index}")).or_insert(value);
            }
        }
        Value::Object(object)
    }

    /// Generated bodies are responses, where write-only properties must not appear.
    fn is_write_only(&self, property: &Value) -> bool {
        let resolved = crate::spec::follow_local(self.document, property);
        [property, resolved]
            .iter()
            .any(|schema| schema.get("writeOnly") == Some(&Value::Bool(true)))
    }

    /// Whether following this optional property would re-enter a schema
    /// already being generated (or nest an array of such).
    fn recurses(&self, property: &Value) -> bool {
        let reference = property
            .get("$ref")
            .or_else(|| property.get("items").and_then(|items| items.get("$ref")))
            .and_then(Value::as_str);
        reference.is_some_and(|r| self.stack.contains(&r) || self.stack.len() > MAX_DEPTH / 2)
    }

    fn array(&mut self, schema: &'d Value, name: &str, depth: usize) -> Value {
        let min = schema
            .get("minItems")
            .and_then(Value::as_u64)
            .unwrap_or(0)
            .min(MAX_GENERATED_SIZE) as usize;
        let max = schema
            .get("maxItems")
            .and_then(Value::as_u64)
            .map_or(usize::MAX, |m| m as usize);
        // A tuple's positions first (2020-12), then `items` for the rest.
        let prefix = schema.get("prefixItems").and_then(Value::as_array);
        let mut values: Vec<Value> = Vec::new();
        for position in prefix.into_iter().flatten().take(max) {
            values.push(self.value(position, name, depth + 1));
        }
        let Some(items) = schema.get("items").filter(|items| items.is_object()) else {
            return Value::Array(values);
        };
        let wanted = if self.recurses(schema) || depth >= OPTIONAL_DEPTH {
            min
        } else {
            min.max(1)
        }
        .min(max);
        let unique = schema.get("uniqueItems") == Some(&Value::Bool(true));
        let mut attempts = 0;
        while values.len() < wanted && self.values_left > 0 && attempts < wanted * 4 + 4 {
            attempts += 1;
            let value = self.value(items, name, depth + 1);
            if !unique || !values.contains(&value) {
                values.push(value);
            }
        }
        Value::Array(values)
    }

    fn string(&mut self, schema: &'d Value, name: &str, depth: usize) -> Value {
        if let Some(encoded) = schema
            .get("contentEncoding")
            .and_then(Value::as_str)
            .and_then(crate::spec::dialect::content_encoding)
            .map(|encoding| encoding.sample)
        {
            return Value::String(encoded.to_string());
        }
        let media_type = schema.get("contentMediaType").and_then(Value::as_str);
        if media_type.is_some_and(crate::validate::is_json) {
            let inner = schema
                .get("contentSchema")
                .map_or(Value::Null, |inner| self.value(inner, name, depth + 1));
            return Value::String(inner.to_string());
        }
        let n = self.rng.next_u64();
        let text = match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => format_timestamp(n, true),
            Some("date") => format_timestamp(n, false),
            Some("email") => format!("user{}@example.com", n % 10_000),
            Some("uri") | Some("url") | Some("uri-reference") => {
                format!("https://example.com/{}/{}", slug(name), n % 10_000)
            }
            Some("hostname") => format!("host{}.example.com", n % 10_000),
            Some("ipv4") => format!("192.0.2.{}", n % 255),
            Some("ipv6") => format!("2001:db8::{:x}", n % 0xffff),
            Some("uuid") => self.rng.uuid(),
            Some("byte") => "c3BlY21vY2s=".to_string(),
            _ => format!("{}-{}", slug(name), n % 10_000),
        };
        let min = schema
            .get("minLength")
            .and_then(Value::as_u64)
            .unwrap_or(0)
            .min(MAX_GENERATED_SIZE) as usize;
        let max = schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .map_or(usize::MAX, |m| m as usize);
        let mut text: String = text.chars().take(max).collect();
        while text.chars().count() < min {
            text.push('x');
        }
        Value::String(text)
    }

    fn integer(&mut self, schema: &Value) -> i64 {
        let low = bound(schema, "minimum", "exclusiveMinimum", 1.0).unwrap_or(0.0);
        let high = bound(schema, "maximum", "exclusiveMaximum", -1.0).unwrap_or(low + 100.0);
        // i128: an int64 range spans more than an i64 can hold.
        // Saturating: bounds such as -1e300 are valid JSON Schema but beyond even an i128.
        let low = low.ceil() as i128;
        let high = (high.floor() as i128).max(low);
        let span = high.saturating_sub(low).min(100) as u64 + 1;
        let mut value = low.saturating_add(i128::from(self.rng.next_u64() % span));
        if let Some(step) = schema.get("multipleOf").and_then(Value::as_i64).filter(|s| *s > 0) {
            let step = i128::from(step);
            value = (value / step) * step;
            if value < low {
                value = value.saturating_add(step);
            }
        }
        value.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }

    fn number(&mut self, schema: &Value) -> Value {
        let low = bound(schema, "minimum", "exclusiveMinimum", 0.5).unwrap_or(0.0);
        let high = bound(schema, "maximum", "exclusiveMaximum", -0.5)
            .unwrap_or(low + 100.0)
            .max(low);
        let fraction = (self.rng.next_u64() % 1000) as f64 / 1000.0;
        let value = ((low + (high - low) * fraction) * 100.0).round() / 100.0;
        json!(value.clamp(low, high))
    }
}

/// Whether a `$ref` has siblings that say something about the value.
fn has_siblings(schema: &Value) -> bool {
    const ANNOTATIONS: &[&str] = &[
        "$ref",
        "$comment",
        "title",
        "description",
        "deprecated",
        "readOnly",
        "writeOnly",
    ];
    schema
        .as_object()
        .is_some_and(|map| map.keys().any(|key| !ANNOTATIONS.contains(&key.as_str())))
}

/// Two values of one instance (`allOf`): objects merged, the second's
/// properties winning; otherwise the second, unless it is null.
fn merged(first: Value, second: Value) -> Value {
    match (first, second) {
        (Value::Object(mut first), Value::Object(second)) => {
            first.extend(second);
            Value::Object(first)
        }
        (first, Value::Null) => first,
        (_, second) => second,
    }
}

fn names(list: Option<&Value>) -> impl Iterator<Item = &str> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// Whether a generated value meets an `if`, by the keywords a condition
/// usually tests (`const`, `enum`, `type`, `required`, `properties`); any
/// other keyword is taken to hold.
fn holds(condition: &Value, value: &Value) -> bool {
    let Some(keywords) = condition.as_object() else {
        return condition.as_bool().unwrap_or(true);
    };
    let object = value.as_object();
    keywords.get("const").is_none_or(|constant| constant == value)
        && keywords
            .get("enum")
            .and_then(Value::as_array)
            .is_none_or(|options| options.contains(value))
        && type_of(condition)
            .is_none_or(|kind| crate::spec::json_type(value) == Some(kind) || (kind == "number" && value.is_number()))
        && names(keywords.get("required")).all(|name| object.is_some_and(|o| o.contains_key(name)))
        && keywords
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .all(|(name, property)| {
                object
                    .and_then(|o| o.get(name))
                    .is_none_or(|value| holds(property, value))
            })
}

fn implied_type(schema: &Value) -> Option<&'static str> {
    if schema.get("properties").is_some() || schema.get("additionalProperties").is_some() {
        Some("object")
    } else if schema.get("items").is_some() || schema.get("prefixItems").is_some() {
        Some("array")
    } else {
        None
    }
}

/// A value the schema gives: `const`, the first of `examples` (2020-12),
/// `example` (OAS 3.0), `default`.
fn given(schema: &Value) -> Option<&Value> {
    schema
        .get("const")
        .or_else(|| schema.get("examples")?.as_array()?.first())
        .or_else(|| schema.get("example"))
        .or_else(|| schema.get("default"))
}

/// The inclusive bound to generate within; an exclusive one nudged inwards.
fn bound(schema: &Value, inclusive: &str, exclusive: &str, nudge: f64) -> Option<f64> {
    schema
        .get(inclusive)
        .and_then(Value::as_f64)
        .or_else(|| schema.get(exclusive).and_then(Value::as_f64).map(|limit| limit + nudge))
}

fn slug(name: &str) -> String {
    let slug: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    if slug.is_empty() {
        "value".to_string()
    } else {
        slug
    }
}

/// A timestamp in 2024, as RFC 3339 (or a bare date).
fn format_timestamp(n: u64, with_time: bool) -> String {
    let day_of_year = n % 365;
    let (month, day) = month_day(day_of_year);
    if !with_time {
        return format!("2024-{month:02}-{day:02}");
    }
    let seconds = (n / 365) % 86_400;
    format!(
        "2024-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

fn month_day(day_of_year: u64) -> (u64, u64) {
    const DAYS: [u64; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut remaining = day_of_year;
    for (index, days) in DAYS.iter().enumerate() {
        if remaining < *days {
            return (index as u64 + 1, remaining + 1);
        }
        remaining -= days;
    }
    (12, 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_schema_2020_values_are_respected() {
        let schema = json!({"type": "object", "required": ["a", "b", "c", "d", "e"], "properties": {
            "a": {"type": ["string", "null"]},
            "b": {"const": 3, "type": "integer"},
            "c": {"type": "string", "examples": ["first", "second"]},
            "d": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string", "const": "x"}], "items": false},
            "e": {"$ref": "#/$defs/E", "examples": ["given"]}},
            "$defs": {"E": {"type": "string"}}});
        let value = generate(&schema, 7);
        assert!(value["a"].is_string(), "{value}");
        assert_eq!(value["b"], 3);
        assert_eq!(value["c"], "first");
        assert!(
            value["d"][0].is_i64() && value["d"][1] == "x" && value["d"].as_array().unwrap().len() == 2,
            "{value}"
        );
        assert_eq!(value["e"], "given");
    }

    #[test]
    fn full_int64_ranges_and_huge_sizes_are_generated_safely() {
        let int64 = json!({"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX});
        assert!(generate(&int64, 7).is_i64());
        let long = generate(&json!({"type": "string", "minLength": 1_000_000_000_000u64}), 7);
        assert_eq!(long.as_str().unwrap().len(), MAX_GENERATED_SIZE as usize);
        let many = generate(
            &json!({"type": "array", "items": {"type": "integer"}, "minItems": u64::MAX}),
            7,
        );
        assert_eq!(many.as_array().unwrap().len(), MAX_GENERATED_SIZE as usize);
    }

    fn count_values(value: &Value) -> usize {
        1 + match value {
            Value::Array(items) => items.iter().map(count_values).sum(),
            Value::Object(fields) => fields.values().map(count_values).sum(),
            _ => 0,
        }
    }

    #[test]
    fn hostile_schemas_stay_within_the_budgets() {
        let cycle = json!({"$ref": "#/$defs/A", "$defs": {"A": {"allOf": [{"$ref": "#/$defs/A"}]}}});
        assert_eq!(generate(&cycle, 7), Value::Null);
        let branching = json!({"$ref": "#/$defs/A", "$defs": {"A": {
            "type": "object", "required": ["x", "y"],
            "properties": {"x": {"$ref": "#/$defs/A"}, "y": {"$ref": "#/$defs/A"}}}}});
        let nested = json!({"type": "array", "minItems": 1000, "items": {"type": "array", "minItems": 1000,
            "items": {"type": "array", "minItems": 1000, "items": {"type": "integer"}}}});
        for schema in [branching, nested] {
            // Each generated object may still name its required properties, as nulls.
            assert!(
                count_values(&generate(&schema, 7)) <= 3 * MAX_GENERATED_VALUES,
                "{schema}"
            );
        }
        for (minimum, maximum) in [(-1e300, 0.0), (-1.0, 1e300), (1e300, 1e301)] {
            let wide = json!({"type": "integer", "minimum": minimum, "maximum": maximum, "multipleOf": 7});
            assert!(generate(&wide, 7).is_i64());
        }
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
    mod json {
        include!("../../tests/properties/strategies/json.rs");
    }
    mod schema {
        include!("../../tests/properties/strategies/schema.rs");
    }

    use proptest::prelude::*;
    use serde_json::{json, Map, Value};

    use self::config::config;
    use self::schema::schema;
    use super::generate;

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

        /// Data from any schema: `generate` never panics (nor recurses
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
            let first = generate(&document, seed);
            prop_assert_eq!(&first, &generate(&document, seed));
        }
    }
}
