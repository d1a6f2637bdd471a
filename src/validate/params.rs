//! Reading parameters out of the request's text into typed JSON, following
//! the OpenAPI serialization styles, so the compiled schema can judge them.
//! Text that does not parse as the declared type is kept as a string: the
//! schema then reports "expected integer, found string" at its pointer.

use http::HeaderMap;
use serde_json::{Map, Value};

use super::violation::{schema_violations, Violation};
use crate::spec::{ParamIn, ParamStyle, Parameter, Scalar, Shape};
use crate::uri::decode_component;

/// The raw parameter sources of one request.
pub struct ParamSources<'a> {
    /// Path parameters as matched by the router, still percent-encoded.
    pub path: &'a [(String, String)],
    /// Decoded query pairs, in order.
    pub query: &'a [(String, String)],
    /// The request's headers, for header and cookie parameters.
    pub headers: &'a HeaderMap,
}

pub fn check_parameters(parameters: &[Parameter], sources: &ParamSources<'_>) -> Vec<Violation> {
    let mut violations = Vec::new();
    for parameter in parameters {
        let pointer = format!(
            "/{}/{}",
            parameter.location.as_str(),
            crate::diagnostic::escape_pointer_token(&parameter.name)
        );
        let value = match read(parameter, sources) {
            Ok(Some(value)) => value,
            Ok(None) => {
                if parameter.required {
                    violations.push(Violation::new(
                        pointer,
                        "required",
                        format!(
                            "required {} parameter `{}` is missing",
                            parameter.location.as_str(),
                            parameter.name
                        ),
                    ));
                }
                continue;
            }
            Err(message) => {
                violations.push(Violation::new(pointer, "encoding", message));
                continue;
            }
        };
        if let Some(schema) = &parameter.schema {
            violations.extend(schema_violations(schema, &value, &pointer));
        }
    }
    violations
}

fn read(parameter: &Parameter, sources: &ParamSources<'_>) -> Result<Option<Value>, String> {
    match parameter.location {
        ParamIn::Path => {
            let Some((_, raw)) = sources.path.iter().find(|(name, _)| *name == parameter.name) else {
                return Ok(None);
            };
            let text = decode_component(raw).map_err(|e| e.to_string())?;
            let text = match parameter.style {
                ParamStyle::Label => text.strip_prefix('.').unwrap_or(&text).to_string(),
                ParamStyle::Matrix => text
                    .strip_prefix(&format!(";{}=", parameter.name))
                    .unwrap_or(&text)
                    .to_string(),
                _ => text,
            };
            Ok(Some(from_delimited(parameter, &text, ',')))
        }
        ParamIn::Query => Ok(read_query(parameter, sources.query)),
        ParamIn::Header => {
            let values: Vec<&str> = sources
                .headers
                .get_all(parameter.name.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            if values.is_empty() {
                return Ok(None);
            }
            Ok(Some(from_delimited(parameter, &values.join(","), ',')))
        }
        ParamIn::Cookie => {
            let cookie = sources
                .headers
                .get_all(http::header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .filter_map(|pair| pair.trim().split_once('='))
                .find(|(name, _)| *name == parameter.name)
                .map(|(_, value)| value.to_string());
            Ok(cookie.map(|text| from_delimited(parameter, &text, ',')))
        }
    }
}

fn read_query(parameter: &Parameter, query: &[(String, String)]) -> Option<Value> {
    let name = parameter.name.as_str();
    if let (Shape::Object(properties), true) = (
        &parameter.shape,
        parameter.style == ParamStyle::DeepObject || parameter.explode,
    ) {
        // deepObject: `name[key]=v`; exploded form objects: each property is its own pair.
        let mut object = Map::new();
        for (key, value) in query {
            let property = if parameter.style == ParamStyle::DeepObject {
                key.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix('['))
                    .and_then(|rest| rest.strip_suffix(']'))
            } else {
                properties.iter().any(|(p, _)| p == key).then_some(key.as_str())
            };
            if let Some(property) = property {
                let scalar = properties
                    .iter()
                    .find(|(p, _)| p == property)
                    .map_or(Scalar::Any, |(_, s)| *s);
                object.insert(property.to_string(), coerce(value, scalar));
            }
        }
        return (!object.is_empty()).then_some(Value::Object(object));
    }
    let values: Vec<&str> = query
        .iter()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .collect();
    if values.is_empty() {
        return None;
    }
    if let Shape::Array(item) = parameter.shape {
        if parameter.explode && parameter.style == ParamStyle::Form {
            return Some(Value::Array(values.iter().map(|v| coerce(v, item)).collect()));
        }
    }
    let delimiter = match parameter.style {
        ParamStyle::SpaceDelimited => ' ',
        ParamStyle::PipeDelimited => '|',
        _ => ',',
    };
    // A scalar sent twice is reported by its first value; the schema judges that one.
    Some(from_delimited(parameter, values[0], delimiter))
}

fn from_delimited(parameter: &Parameter, text: &str, delimiter: char) -> Value {
    match &parameter.shape {
        Shape::Scalar(scalar) => coerce(text, *scalar),
        Shape::Array(item) => Value::Array(if text.is_empty() {
            Vec::new()
        } else {
            text.split(delimiter).map(|v| coerce(v, *item)).collect()
        }),
        Shape::Object(properties) => {
            let mut object = Map::new();
            if parameter.explode {
                for pair in text.split(delimiter) {
                    if let Some((key, value)) = pair.split_once('=') {
                        object.insert(key.to_string(), coerce(value, scalar_for(properties, key)));
                    }
                }
            } else {
                let parts: Vec<&str> = text.split(delimiter).collect();
                for pair in parts.chunks(2) {
                    if let [key, value] = pair {
                        object.insert(key.to_string(), coerce(value, scalar_for(properties, key)));
                    }
                }
            }
            Value::Object(object)
        }
        Shape::Json => serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string())),
    }
}

fn scalar_for(properties: &[(String, Scalar)], key: &str) -> Scalar {
    properties
        .iter()
        .find(|(p, _)| p == key)
        .map_or(Scalar::Any, |(_, s)| *s)
}

/// Text -> the declared JSON type, or the text itself when it does not parse.
/// A number written as JSON writes numbers keeps its text (`1.50`, an integer
/// of any size), as it would in a JSON body.
pub fn coerce(text: &str, scalar: Scalar) -> Value {
    let parsed = match scalar {
        Scalar::Integer => json_number(text)
            .filter(crate::json_number::is_integer_text)
            .map(Value::Number)
            .or_else(|| text.parse::<i64>().map(Value::from).ok()),
        // Rust also parses "inf" and "NaN"; JSON has no such numbers.
        Scalar::Number => json_number(text).map(Value::Number).or_else(|| {
            text.parse::<f64>().ok().filter(|f| f.is_finite()).and_then(|f| {
                text.parse::<i64>()
                    .map(Value::from)
                    .ok()
                    .or_else(|| serde_json::Number::from_f64(f).map(Value::Number))
            })
        }),
        Scalar::Boolean => match text {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        Scalar::String | Scalar::Any => None,
    };
    parsed.unwrap_or_else(|| Value::String(text.to_string()))
}

/// `text` when it is exactly a JSON number (serde_json alone would also skip
/// surrounding whitespace).
fn json_number(text: &str) -> Option<serde_json::Number> {
    let bare = text.trim() == text && !text.is_empty();
    bare.then(|| serde_json::from_str(text).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coercion_keeps_unparseable_text() {
        assert_eq!(coerce("42", Scalar::Integer), Value::from(42));
        assert_eq!(coerce("4.5", Scalar::Integer), Value::from("4.5"));
        assert_eq!(coerce("4.5", Scalar::Number), Value::from(4.5));
        assert_eq!(coerce("inf", Scalar::Number), Value::from("inf"));
        assert_eq!(coerce("NaN", Scalar::Number), Value::from("NaN"));
        assert_eq!(coerce("1e-05", Scalar::Number).to_string(), "1e-05");
        assert_eq!(coerce("1.50", Scalar::Number).to_string(), "1.50");
        assert_eq!(coerce("+1.5", Scalar::Number), Value::from(1.5));
        let huge = "316999888889838852905107456";
        assert_eq!(coerce(huge, Scalar::Integer).to_string(), huge);
        assert_eq!(coerce("1e2", Scalar::Integer), Value::from("1e2"));
        assert_eq!(coerce(" 5", Scalar::Integer), Value::from(" 5"));
        assert_eq!(coerce("true", Scalar::Boolean), Value::Bool(true));
        assert_eq!(coerce("yes", Scalar::Boolean), Value::from("yes"));
    }
}
