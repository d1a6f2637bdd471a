//! Request validation: the pure check of one request against one operation.
//! Plain data in (parts of the request), a verdict out; no I/O.

mod checked;
mod params;
mod security;
mod violation;

use http::HeaderMap;
use serde_json::{Map, Value};

pub use checked::Checked;
pub use params::{coerce, ParamSources};
pub use violation::{error_violations, schema_violations, Side, Violation};

use crate::spec::{essence, MediaSpec, Operation, Scalar};

/// JSON nested deeper than this is refused: serde_json's own recursion limit
/// refuses the 128th level, which also keeps a hostile body from exhausting the stack.
pub const MAX_JSON_DEPTH: usize = 127;

/// Why a request was refused, most fundamental first.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejection {
    /// 401: credentials the operation's security requires are absent.
    Unauthorized { challenge: String, detail: String },
    /// 415: the body's media type is not one the operation accepts.
    UnsupportedMediaType { detail: String, supported: Vec<String> },
    /// 400: the body is not well-formed (JSON syntax, nesting, encoding).
    MalformedBody { detail: String, violations: Vec<Violation> },
    /// 400: parameters or body break the schema.
    Invalid {
        violations: Vec<Violation>,
        /// The parsed body, which `--lenient` still matches and templates on.
        body: Option<Checked>,
    },
}

impl Rejection {
    /// The well-formed body of a request that broke the schema, if any.
    pub fn into_body(self) -> Option<Checked> {
        match self {
            Rejection::Invalid { body, .. } => body,
            _ => None,
        }
    }

    pub fn violations(&self) -> Vec<Violation> {
        match self {
            Rejection::Unauthorized { detail, .. } => {
                vec![Violation::new("/header/authorization", "security", detail.clone())]
            }
            Rejection::UnsupportedMediaType { detail, .. } => {
                vec![Violation::new("/header/content-type", "media-type", detail.clone())]
            }
            Rejection::MalformedBody { violations, .. } | Rejection::Invalid { violations, .. } => violations.clone(),
        }
    }
}

/// The parts of a request validation looks at.
pub struct RequestView<'a> {
    /// Where the parameters are read from: the path as routed, the query pairs, the headers.
    pub params: ParamSources<'a>,
    /// The request's headers, for security and the body's media type.
    pub headers: &'a HeaderMap,
    /// The request body as received.
    pub body: &'a [u8],
}

/// What validation learned about an accepted request.
#[derive(Debug, Default)]
pub struct Accepted {
    /// The parsed body, when it is JSON (or a form) and present.
    pub body: Option<Checked>,
}

/// The verdict on one request for `operation`: its credentials, parameters and body checked in that
/// order, the parsed body kept when it is accepted.
pub fn request(operation: &Operation, request: &RequestView<'_>) -> Result<Accepted, Rejection> {
    if let Err((challenge, detail)) = security::check(&operation.security, request.headers, request.params.query) {
        return Err(Rejection::Unauthorized { challenge, detail });
    }
    let mut violations = params::check_parameters(&operation.parameters, &request.params);
    let body = check_body(operation, request, &mut violations)?;
    if violations.is_empty() {
        Ok(Accepted { body })
    } else {
        Err(Rejection::Invalid { violations, body })
    }
}

/// The one media type the body is sent as. Two different Content-Types
/// leave the body's reading to chance (the first one used to win), so they
/// are refused like a missing one.
fn sent_content_type(headers: &http::HeaderMap) -> Result<String, String> {
    let mut sent = headers.get_all(http::header::CONTENT_TYPE).iter();
    let Some(first) = sent.next() else {
        return Err("the body has no Content-Type".into());
    };
    let Ok(first) = first.to_str() else {
        return Err("the Content-Type is not visible ASCII text".into());
    };
    let content_type = essence(first);
    match sent.find(|other| other.to_str().map(essence).ok().as_ref() != Some(&content_type)) {
        Some(other) => Err(format!(
            "Content-Type is sent twice with different values (`{first}`, `{}`)",
            String::from_utf8_lossy(other.as_bytes())
        )),
        None => Ok(content_type),
    }
}

fn check_body(
    operation: &Operation,
    request: &RequestView<'_>,
    violations: &mut Vec<Violation>,
) -> Result<Option<Checked>, Rejection> {
    let Some(declared) = &operation.request_body else {
        if !request.body.is_empty() {
            violations.push(Violation::new(
                "/body",
                "absent",
                format!(
                    "{} {} takes no request body, but {} bytes were sent",
                    operation.method,
                    operation.path,
                    request.body.len()
                ),
            ));
        }
        return Ok(None);
    };
    // An optional body may be empty whatever the Content-Type says: SDKs send
    // `Content-Type: application/json` with no body when the body is omitted.
    if request.body.is_empty() {
        if declared.required {
            violations.push(Violation::new("/body", "required", "a request body is required"));
        }
        return Ok(None);
    }
    let supported: Vec<String> = declared.content.iter().map(|m| m.media_type.clone()).collect();
    let content_type = match sent_content_type(request.headers) {
        Ok(content_type) => content_type,
        Err(problem) => {
            return Err(Rejection::UnsupportedMediaType {
                detail: format!("{problem}; expected one of: {}", supported.join(", ")),
                supported,
            })
        }
    };
    let Some(media) = find_media(&declared.content, &content_type) else {
        return Err(Rejection::UnsupportedMediaType {
            detail: format!(
                "Content-Type `{content_type}` is not accepted; expected one of: {}",
                supported.join(", ")
            ),
            supported,
        });
    };
    let instance = match decode(&content_type, request.body) {
        Decoded::Value(value) => value,
        Decoded::Opaque => return Ok(None),
        Decoded::Malformed(detail) => {
            let mut all = std::mem::take(violations);
            all.push(Violation::new("/body", "syntax", detail.clone()));
            return Err(Rejection::MalformedBody {
                detail,
                violations: all,
            });
        }
    };
    let instance = match (instance, &media.schema) {
        (Value::Object(form), Some(schema)) if is_form(&content_type) => coerce_form(form, &schema.document),
        (instance, _) => instance,
    };
    let Some(schema) = &media.schema else {
        return Ok(Some(Checked::unchecked(instance)));
    };
    let found = schema_violations(schema, &instance, "/body");
    if found.is_empty() {
        return Ok(Some(Checked::passed(instance, schema)));
    }
    violations.extend(found);
    Ok(Some(Checked::unchecked(instance)))
}

/// Exact match first, then `type/*`, then `*/*`.
fn find_media<'m>(content: &'m [MediaSpec], content_type: &str) -> Option<&'m MediaSpec> {
    let major = content_type.split('/').next().unwrap_or("");
    content
        .iter()
        .find(|m| m.media_type == content_type)
        .or_else(|| content.iter().find(|m| m.media_type.strip_suffix("/*") == Some(major)))
        .or_else(|| content.iter().find(|m| m.media_type == "*/*"))
}

enum Decoded {
    Value(Value),
    /// A media type the mock does not look inside (binary, multipart).
    Opaque,
    Malformed(String),
}

/// Whether a media type (lower case, without parameters) carries JSON: `application/json` or a
/// `+json` suffix.
pub fn is_json(media_type: &str) -> bool {
    media_type == "application/json" || media_type.ends_with("+json")
}

fn is_form(media_type: &str) -> bool {
    media_type == "application/x-www-form-urlencoded"
}

fn decode(content_type: &str, body: &[u8]) -> Decoded {
    if is_json(content_type) {
        return match serde_json::from_slice::<Value>(body) {
            Ok(value) => Decoded::Value(value),
            Err(e) if e.to_string().starts_with("recursion limit exceeded") => Decoded::Malformed(format!(
                "JSON nested deeper than {MAX_JSON_DEPTH} levels (at line {}, column {})",
                e.line(),
                crate::diagnostic::json_column(&e)
            )),
            Err(e) => Decoded::Malformed(format!(
                "invalid JSON at line {}, column {}: {}",
                e.line(),
                crate::diagnostic::json_column(&e),
                crate::diagnostic::without_position(&e.to_string())
            )),
        };
    }
    if content_type.starts_with("text/") || is_form(content_type) {
        let Ok(text) = std::str::from_utf8(body) else {
            return Decoded::Malformed("the body is not valid UTF-8".to_string());
        };
        if is_form(content_type) {
            return match crate::uri::parse_query(text) {
                Ok(pairs) => Decoded::Value(Value::Object(
                    pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect(),
                )),
                Err(e) => Decoded::Malformed(format!("invalid form encoding: {e}")),
            };
        }
        return Decoded::Value(Value::String(text.to_string()));
    }
    Decoded::Opaque
}

/// Form fields arrive as text; read them as the types the schema declares.
fn coerce_form(form: Map<String, Value>, document: &Value) -> Value {
    let root = crate::spec::follow_local(document, document);
    let properties = root.get("properties");
    Value::Object(
        form.into_iter()
            .map(|(key, value)| {
                let scalar = properties
                    .and_then(|p| p.get(&key))
                    .map(
                        |schema| match crate::spec::type_of(crate::spec::follow_local(document, schema)) {
                            Some("integer") => Scalar::Integer,
                            Some("number") => Scalar::Number,
                            Some("boolean") => Scalar::Boolean,
                            _ => Scalar::String,
                        },
                    )
                    .unwrap_or(Scalar::String);
                let coerced = match &value {
                    Value::String(text) => coerce(text, scalar),
                    other => other.clone(),
                };
                (key, coerced)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /things:
    post:
      operationId: save
      requestBody:
        content:
          application/json:
            schema: { $ref: '#/components/schemas/Thing' }
      responses:
        '200':
          description: the thing
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Thing' }
components:
  schemas:
    Thing: { type: object, required: [id], properties: { id: { type: string } } }
"#;

    #[test]
    fn only_a_body_its_schema_accepted_carries_the_proof() {
        let spec = crate::spec::load_text("t.yaml", SPEC, None).unwrap();
        let operation = &spec.operations[0];
        let response = operation.responses[0].content[0].schema.as_ref().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(http::header::CONTENT_TYPE, "application/json".parse().unwrap());
        let send = |body: &'static str| {
            let view = RequestView {
                params: ParamSources {
                    path: &[],
                    query: &[],
                    headers: &headers,
                },
                headers: &headers,
                body: body.as_bytes(),
            };
            request(operation, &view)
        };
        let accepted = send(r#"{"id":"a"}"#).unwrap().body.unwrap();
        assert!(
            accepted.is_known_to_satisfy(response),
            "the request and response share one compiled schema"
        );
        let refused = send(r#"{"id":1}"#).unwrap_err().into_body().unwrap();
        assert!(
            !refused.is_known_to_satisfy(response),
            "a body that broke its schema proves nothing"
        );
        let reloaded = crate::spec::load_text("t.yaml", SPEC, None).unwrap();
        let elsewhere = reloaded.operations[0].responses[0].content[0].schema.as_ref().unwrap();
        assert!(
            !accepted.is_known_to_satisfy(elsewhere),
            "a proof holds for the compiled schema it was made with"
        );
    }
}
