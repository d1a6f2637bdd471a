//! Parameter values as they go on the wire, following the parameter's
//! `style` and `explode`: the inverse of what `validate::params` reads.

use serde_json::Value;

use crate::spec::{ParamStyle, Parameter, Shape};

/// A value split the way every style splits it.
enum Parts {
    One(String),
    List(Vec<String>),
    /// An object's properties, in order.
    Pairs(Vec<(String, String)>),
}

fn parts(parameter: &Parameter, value: &Value) -> Parts {
    if parameter.shape == Shape::Json {
        return Parts::One(value.to_string());
    }
    match value {
        Value::Array(items) => Parts::List(items.iter().map(text).collect()),
        Value::Object(map) => Parts::Pairs(map.iter().map(|(k, v)| (k.clone(), text(v))).collect()),
        other => Parts::One(text(other)),
    }
}

/// A scalar's text: strings without quotes, anything else as JSON.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// How an object's pairs are written.
#[derive(Clone, Copy)]
enum PairsAs {
    /// `k=v,k2=v2` (`explode: true`).
    Assignments,
    /// `k,v,k2,v2`.
    List,
}

impl PairsAs {
    fn exploded(explode: bool) -> Self {
        match explode {
            true => PairsAs::Assignments,
            false => PairsAs::List,
        }
    }
}

/// `a,b`; an object's pairs as `pairs_as` says; each atom escaped.
fn joined(parts: &Parts, pairs_as: PairsAs, separator: &str, escape: fn(&str) -> String) -> String {
    match parts {
        Parts::One(text) => escape(text),
        Parts::List(items) => items.iter().map(|i| escape(i)).collect::<Vec<_>>().join(separator),
        Parts::Pairs(pairs) if matches!(pairs_as, PairsAs::Assignments) => pairs
            .iter()
            .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
            .collect::<Vec<_>>()
            .join(separator),
        Parts::Pairs(pairs) => pairs
            .iter()
            .flat_map(|(k, v)| [escape(k), escape(v)])
            .collect::<Vec<_>>()
            .join(separator),
    }
}

/// What replaces `{name}` in the path template (`simple`, `label`, `matrix`), percent-encoded.
pub fn path_segment(parameter: &Parameter, value: &Value) -> String {
    let parts = parts(parameter, value);
    let explode = parameter.explode;
    let name = encode(&parameter.name);
    match (parameter.style, &parts) {
        (ParamStyle::Label, _) => format!(
            ".{}",
            joined(
                &parts,
                PairsAs::exploded(explode),
                if explode { "." } else { "," },
                encode
            )
        ),
        (ParamStyle::Matrix, Parts::List(items)) if explode => {
            items.iter().map(|i| format!(";{name}={}", encode(i))).collect()
        }
        (ParamStyle::Matrix, Parts::Pairs(_)) if explode => {
            format!(";{}", joined(&parts, PairsAs::Assignments, ";", encode))
        }
        (ParamStyle::Matrix, _) => format!(";{name}={}", joined(&parts, PairsAs::List, ",", encode)),
        _ => joined(&parts, PairsAs::exploded(explode), ",", encode),
    }
}

/// The query pairs of a parameter (not yet encoded: see [`query_string`]).
pub fn query_pairs(parameter: &Parameter, value: &Value) -> Vec<(String, String)> {
    let name = &parameter.name;
    match (parts(parameter, value), parameter.style) {
        (Parts::One(text), _) => vec![(name.clone(), text)],
        (Parts::List(items), ParamStyle::Form) if parameter.explode => {
            items.into_iter().map(|i| (name.clone(), i)).collect()
        }
        (Parts::List(items), style) => {
            let separator = match style {
                ParamStyle::SpaceDelimited => " ",
                ParamStyle::PipeDelimited => "|",
                _ => ",",
            };
            vec![(name.clone(), items.join(separator))]
        }
        (Parts::Pairs(pairs), ParamStyle::DeepObject) => {
            pairs.into_iter().map(|(k, v)| (format!("{name}[{k}]"), v)).collect()
        }
        (Parts::Pairs(pairs), _) if parameter.explode => pairs,
        (parts, _) => vec![(name.clone(), joined(&parts, PairsAs::List, ",", str::to_string))],
    }
}

/// A header's value, or a cookie's (`simple` and `form` join alike).
pub fn header_text(parameter: &Parameter, value: &Value) -> String {
    joined(
        &parts(parameter, value),
        PairsAs::exploded(parameter.explode),
        ",",
        str::to_string,
    )
}

/// `a=1&b=x%20y`.
pub fn query_string(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes all but RFC 3986's unreserved characters.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{ParamIn, Scalar};
    use serde_json::json;

    fn parameter(location: ParamIn, style: ParamStyle, explode: bool, shape: Shape) -> Parameter {
        Parameter {
            name: "p".into(),
            location,
            required: true,
            style,
            explode,
            shape,
            schema: None,
            examples: Vec::new(),
        }
    }

    #[test]
    fn path_styles() {
        let list = json!(["a b", 2]);
        let object = json!({"x": 1, "y": "z"});
        let array = Shape::Array(Scalar::Any);
        let any = Shape::Object(Vec::new());
        let simple = parameter(ParamIn::Path, ParamStyle::Simple, false, array.clone());
        assert_eq!(path_segment(&simple, &list), "a%20b,2");
        assert_eq!(path_segment(&simple, &json!("a/b")), "a%2Fb");
        let label = parameter(ParamIn::Path, ParamStyle::Label, true, array.clone());
        assert_eq!(path_segment(&label, &list), ".a%20b.2");
        let matrix = parameter(ParamIn::Path, ParamStyle::Matrix, true, array.clone());
        assert_eq!(path_segment(&matrix, &list), ";p=a%20b;p=2");
        let matrix = parameter(ParamIn::Path, ParamStyle::Matrix, false, any.clone());
        assert_eq!(path_segment(&matrix, &object), ";p=x,1,y,z");
        let matrix = parameter(ParamIn::Path, ParamStyle::Matrix, true, any.clone());
        assert_eq!(path_segment(&matrix, &object), ";x=1;y=z");
        let exploded = parameter(ParamIn::Path, ParamStyle::Simple, true, any);
        assert_eq!(path_segment(&exploded, &object), "x=1,y=z");
    }

    #[test]
    fn query_styles() {
        let list = json!([1, 2]);
        let array = Shape::Array(Scalar::Integer);
        let form = parameter(ParamIn::Query, ParamStyle::Form, true, array.clone());
        assert_eq!(
            query_pairs(&form, &list),
            vec![("p".into(), "1".into()), ("p".into(), "2".into())]
        );
        let pipes = parameter(ParamIn::Query, ParamStyle::PipeDelimited, false, array);
        assert_eq!(query_pairs(&pipes, &list), vec![("p".into(), "1|2".into())]);
        let deep = parameter(ParamIn::Query, ParamStyle::DeepObject, true, Shape::Object(Vec::new()));
        assert_eq!(query_pairs(&deep, &json!({"a": 1})), vec![("p[a]".into(), "1".into())]);
        let json = parameter(ParamIn::Query, ParamStyle::Form, true, Shape::Json);
        assert_eq!(
            query_pairs(&json, &json!({"a": [1]})),
            vec![("p".into(), r#"{"a":[1]}"#.into())]
        );
        assert_eq!(
            query_string(&query_pairs(&deep, &json!({"a": "x y"}))),
            "p%5Ba%5D=x%20y"
        );
    }

    #[test]
    fn headers_join_with_commas() {
        let header = parameter(ParamIn::Header, ParamStyle::Simple, false, Shape::Array(Scalar::String));
        assert_eq!(header_text(&header, &json!(["a", "b"])), "a,b");
        assert_eq!(header_text(&header, &json!(true)), "true");
    }
}
