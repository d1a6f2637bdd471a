//! Generated documents (scenario files, specs): fields mostly of the type the
//! format expects, written out as JSON or as block YAML.

use proptest::prelude::*;
use serde_json::Value;

use crate::strategies::json::json_value;

/// Mostly `typed`, sometimes any value (a type the file format does not expect).
pub fn or_junk(typed: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop_oneof![40 => typed, 1 => json_value()].boxed()
}

pub fn pick(values: &'static [&'static str]) -> BoxedStrategy<Value> {
    or_junk(
        prop::sample::select(values)
            .prop_map(|v| Value::String(v.to_string()))
            .boxed(),
    )
}

/// How a generated document is written out.
#[derive(Debug, Clone, Copy)]
pub enum Style {
    Json,
    Block,
}

fn yaml_scalar(value: &Value) -> String {
    let special = |text: &str| {
        text.parse::<f64>().is_ok()
            || ["null", "true", "false", "~", "yes", "no", "on", "off", "y", "n"]
                .contains(&text.to_ascii_lowercase().as_str())
    };
    match value {
        Value::String(text)
            if !text.is_empty()
                && !special(text)
                && text.chars().all(|c| c.is_ascii_alphanumeric() || "_-./ ".contains(c))
                && !text.starts_with([' ', '-', '.'])
                && !text.ends_with(' ') =>
        {
            text.clone()
        }
        // JSON text is YAML (a double-quoted scalar, a flow collection).
        other => other.to_string(),
    }
}

fn emit_block(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, item) in map {
                out.push_str(&format!("{pad}{}:", yaml_scalar(&Value::String(key.clone()))));
                emit_child(item, indent, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                out.push_str(&format!("{pad}-"));
                emit_child(item, indent, out);
            }
        }
        other => out.push_str(&format!("{pad}{}\n", yaml_scalar(other))),
    }
}

fn emit_child(value: &Value, indent: usize, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            emit_block(value, indent + 2, out);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            emit_block(value, indent + 2, out);
        }
        other => out.push_str(&format!(" {}\n", yaml_scalar(other))),
    }
}

pub fn emit(value: &Value, style: Style) -> String {
    match style {
        Style::Json => serde_json::to_string_pretty(value).expect("serializes"),
        Style::Block => {
            let mut out = String::new();
            emit_block(value, 0, &mut out);
            out
        }
    }
}
