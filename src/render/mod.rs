//! Response bodies: from a fixture, the spec's examples, or generated from
//! the schema. Every body is checked against the schema it is sent under
//! before the server starts, so the mock never contradicts its own spec.

mod generate;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use serde_json::Value;

pub use generate::generate;

use crate::diagnostic::Diagnostic;
use crate::fixtures::Fixtures;
use crate::spec::{MediaSpec, Operation, ResponseSpec, Spec, StatusKey};
use crate::validate::{is_json, schema_violations};

/// A response ready to send.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub status: u16,
    /// Ready to send: a cached answer is not parsed into a header again each time.
    pub content_type: Option<HeaderValue>,
    pub body: Bytes,
    /// Set when the body breaks its schema (a generated body the generator
    /// could not make valid, e.g. a `pattern`): what is wrong with it.
    pub schema_mismatch: Option<String>,
}

/// The pre-rendered default body of every declared response.
impl Rendered {
    /// The body as a value: parsed JSON, text as a string, nothing for none.
    pub fn value(&self) -> Option<Value> {
        if self.body.is_empty() {
            return None;
        }
        // As text, not `to_str`: a media type the spec declares may be non-ASCII UTF-8.
        let json = self
            .content_type
            .as_ref()
            .and_then(|c| std::str::from_utf8(c.as_bytes()).ok())
            .is_some_and(is_json);
        match json {
            true => serde_json::from_slice(&self.body).ok(),
            false => std::str::from_utf8(&self.body)
                .ok()
                .map(|text| Value::String(text.into())),
        }
    }
}

/// Every response of the spec rendered once at load: each operation's default answer and each
/// declared status, with its required headers, so a request only looks them up.
pub struct Responder {
    /// Indexed like `spec.operations`, then like `operation.responses`.
    rendered: Vec<Vec<Rendered>>,
    /// The required headers each response declares, with a value from their
    /// example or schema, indexed the same way.
    headers: Vec<Vec<Vec<(HeaderName, HeaderValue)>>>,
}

impl Responder {
    /// Renders everything once. Fixtures that break their schema are errors;
    /// examples and generated bodies that do are skipped with a warning.
    pub fn build(spec: &Spec, fixtures: &Fixtures, seed: u64, warnings: &mut Vec<String>) -> Result<Self, Diagnostic> {
        let mut rendered = Vec::with_capacity(spec.operations.len());
        let mut headers = Vec::with_capacity(spec.operations.len());
        for operation in &spec.operations {
            let default_status = operation.default_response().map(|r| r.status);
            let mut per_response = Vec::with_capacity(operation.responses.len());
            for response in &operation.responses {
                let is_default = Some(response.status) == default_status;
                per_response.push(render_response(
                    operation, response, is_default, fixtures, seed, warnings,
                )?);
            }
            rendered.push(per_response);
            headers.push(
                operation
                    .responses
                    .iter()
                    .map(|response| required_headers(operation, response, seed, warnings))
                    .collect(),
            );
        }
        Ok(Self { rendered, headers })
    }

    /// The required headers the response for `status` declares, ready to send.
    pub fn headers_for(&self, spec: &Spec, operation: usize, status: u16) -> &[(HeaderName, HeaderValue)] {
        let op = &spec.operations[operation];
        op.response_for(status)
            .and_then(|response| op.responses.iter().position(|r| r.status == response.status))
            .and_then(|index| self.headers.get(operation)?.get(index))
            .map_or(&[], Vec::as_slice)
    }

    /// The operation's default response (lowest 2xx).
    pub fn default_for(&self, spec: &Spec, operation: usize) -> Option<&Rendered> {
        let op = &spec.operations[operation];
        let response = op.default_response()?;
        let index = op.responses.iter().position(|r| r.status == response.status)?;
        self.rendered.get(operation)?.get(index)
    }

    /// The spec's body for `status` (a declared code, or one a range or
    /// `default` covers), sent with that exact status.
    pub fn for_status(&self, spec: &Spec, operation: usize, status: u16) -> Option<Rendered> {
        let op = &spec.operations[operation];
        let response = op.response_for(status)?;
        let index = op.responses.iter().position(|r| r.status == response.status)?;
        let mut rendered = self.rendered.get(operation)?.get(index)?.clone();
        rendered.status = status;
        Some(rendered)
    }
}

/// A value for each required header: its first example, else one generated
/// from its schema, written in the `simple` style headers use.
fn required_headers(
    operation: &Operation,
    response: &ResponseSpec,
    seed: u64,
    warnings: &mut Vec<String>,
) -> Vec<(HeaderName, HeaderValue)> {
    let mut sent = Vec::new();
    for header in response.headers.iter().filter(|h| h.required) {
        let value = match (header.examples.first(), &header.schema) {
            (Some((_, example)), _) => example.clone(),
            (None, Some(schema)) => generate(&schema.document, seed),
            (None, None) => Value::String(String::new()),
        };
        let text = simple_style(&value);
        match (
            HeaderName::from_bytes(header.name.as_bytes()),
            HeaderValue::from_str(&text),
        ) {
            (Ok(name), Ok(value)) => sent.push((name, value)),
            _ => warnings.push(format!(
                "{} {}: the required header `{}` cannot be sent as `{text}`",
                operation.id, response.status, header.name
            )),
        }
    }
    sent
}

/// RFC 6570 `simple` expansion, as OpenAPI writes header values.
fn simple_style(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(simple_style).collect::<Vec<_>>().join(","),
        Value::Object(fields) => fields
            .iter()
            .flat_map(|(key, value)| [key.clone(), simple_style(value)])
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

fn render_response(
    operation: &Operation,
    response: &ResponseSpec,
    is_default: bool,
    fixtures: &Fixtures,
    seed: u64,
    warnings: &mut Vec<String>,
) -> Result<Rendered, Diagnostic> {
    let status = sent_status(response.status, is_default);
    let Some(media) = preferred_media(&response.content) else {
        return Ok(Rendered {
            status,
            content_type: None,
            body: Bytes::new(),
            schema_mismatch: None,
        });
    };
    let context = format!("{} {}", operation.id, response.status);
    for name in fixture_names(operation, response, is_default) {
        let Some(fixture) = fixtures.get(&name) else { continue };
        let value = fixture.content.to_value();
        if let Some(problem) = mismatch(media, &value) {
            return Err(Diagnostic::in_file(
                &fixture.file,
                format!("does not match the response schema of {context}: {problem}"),
            ));
        }
        return Ok(encode(status, media, &value));
    }
    for (name, value) in &media.examples {
        match mismatch(media, value) {
            None => return Ok(encode(status, media, value)),
            Some(problem) => warnings.push(format!(
                "{context}: example `{name}` is skipped, it does not match its schema: {problem}"
            )),
        }
    }
    let value = match &media.schema {
        Some(schema) => generate(&schema.document, seed ^ stable_hash(&context)),
        None if is_json(&media.media_type) => Value::Object(Default::default()),
        None => Value::String(String::new()),
    };
    let mut rendered = encode(status, media, &value);
    if let Some(problem) = mismatch(media, &value) {
        warnings.push(format!(
            "{context}: cannot generate a body that matches its schema ({problem}); requests get a 500 until an example or a fixture is added"
        ));
        rendered.schema_mismatch = Some(format!(
            "the generated body for {context} does not match its schema: {problem}"
        ));
    }
    Ok(rendered)
}

/// The status a response's default body is sent with (`default` as the
/// operation's default response is a success).
fn sent_status(key: StatusKey, is_default: bool) -> u16 {
    match key {
        StatusKey::Default if is_default => 200,
        key => key.representative(),
    }
}

/// The fixtures that may hold a response's default body, most specific
/// first: `OPERATION_ID.STATUS.json`, then `OPERATION_ID.json` for the
/// operation's default response.
pub(crate) fn fixture_names(operation: &Operation, response: &ResponseSpec, is_default: bool) -> Vec<String> {
    let status = sent_status(response.status, is_default);
    let mut names = vec![format!("{}.{status}.json", operation.id)];
    if is_default {
        names.push(format!("{}.json", operation.id));
    }
    names
}

/// JSON first: it is what clients of an API mock almost always parse.
pub(crate) fn preferred_media(content: &[MediaSpec]) -> Option<&MediaSpec> {
    content
        .iter()
        .find(|m| is_json(&m.media_type))
        .or_else(|| content.first())
}

/// The media type a body is sent as: a text one for a body written as text
/// when the response declares one (a WebSocket operation may declare JSON
/// and text messages side by side), else the preferred one.
pub(crate) fn media_for(content: &[MediaSpec], form: BodyForm) -> Option<&MediaSpec> {
    let textual = || content.iter().find(|m| !is_json(&m.media_type));
    let text = match form {
        BodyForm::Text => textual(),
        BodyForm::Json => None,
    };
    text.or_else(|| preferred_media(content))
}

pub(crate) fn mismatch(media: &MediaSpec, value: &Value) -> Option<String> {
    let schema = media.schema.as_ref()?;
    let violations = schema_violations(schema, value, "");
    (!violations.is_empty()).then(|| {
        let mut listed = violations
            .iter()
            .take(MISMATCHES_LISTED)
            .map(|v| format!("{} {}", if v.pointer.is_empty() { "/" } else { &v.pointer }, v.message))
            .collect::<Vec<_>>()
            .join("; ");
        if violations.len() > MISMATCHES_LISTED {
            listed.push_str(&format!("; and {} more", violations.len() - MISMATCHES_LISTED));
        }
        listed
    })
}

/// A warning or a 500 names the first few violations: a body generated for a
/// deeply recursive schema can break it in thousands of places, all alike.
const MISMATCHES_LISTED: usize = 5;

/// Like [`encode`], for a body with no declared media type (a scripted
/// undeclared status): text stays text, anything else is JSON.
pub fn encode_for(status: u16, media: Option<&MediaSpec>, value: &Value) -> Rendered {
    match media {
        Some(media) => encode(status, media, value),
        None => {
            let media_type = if value.is_string() {
                "text/plain"
            } else {
                "application/json"
            };
            let media = MediaSpec {
                media_type: media_type.into(),
                schema: None,
                examples: Vec::new(),
            };
            encode(status, &media, value)
        }
    }
}

/// `value` as a JSON body, in a buffer of its exact size: the journal,
/// which may hold the body, counts its length.
pub fn json_body(value: &Value) -> Bytes {
    let text = serde_json::to_vec(value).expect("a JSON value always serializes");
    Bytes::from(text.into_boxed_slice())
}

pub fn encode(status: u16, media: &MediaSpec, value: &Value) -> Rendered {
    let media_type = media.media_type.as_str();
    let (content_type, body) = match value {
        Value::String(text) if !is_json(media_type) => (
            content_type_for(media_type, BodyForm::Text),
            Bytes::from(text.clone().into_bytes()),
        ),
        value => (content_type_for(media_type, BodyForm::Json), json_body(value)),
    };
    Rendered {
        status,
        // A media type the spec declares that is no header value goes unsent.
        content_type: HeaderValue::from_str(&content_type).ok(),
        body,
        schema_mismatch: None,
    }
}

/// How a body is written on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyForm {
    /// A JSON value, in its JSON spelling.
    Json,
    /// A string, as its text.
    Text,
}

/// A concrete Content-Type for a declared (possibly wildcard) media type,
/// always one the declared range covers: a JSON value under `text/*` is
/// still sent as text, its JSON spelling.
pub(crate) fn content_type_for(media_type: &str, form: BodyForm) -> String {
    let json = form == BodyForm::Json;
    match media_type.split_once('/') {
        Some(("*", _)) if json => return "application/json".into(),
        Some(("*", _)) | Some(("text", "*")) => return "text/plain; charset=utf-8".into(),
        Some(("application", "*")) if json => return "application/json".into(),
        Some((kind, "*")) => return format!("{kind}/octet-stream"),
        _ => {}
    }
    if media_type.starts_with("text/") {
        return format!("{media_type}; charset=utf-8");
    }
    media_type.to_string()
}

/// FNV-1a: stable across runs and platforms, unlike the std hasher.
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ byte as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::{content_type_for, BodyForm};

    #[test]
    fn a_wildcard_media_type_is_answered_with_a_type_it_covers() {
        for (declared, form, sent) in [
            ("*/*", BodyForm::Json, "application/json"),
            ("*/*", BodyForm::Text, "text/plain; charset=utf-8"),
            ("text/*", BodyForm::Json, "text/plain; charset=utf-8"),
            ("text/*", BodyForm::Text, "text/plain; charset=utf-8"),
            ("application/*", BodyForm::Json, "application/json"),
            ("application/*", BodyForm::Text, "application/octet-stream"),
            ("text/csv", BodyForm::Json, "text/csv; charset=utf-8"),
            ("application/problem+json", BodyForm::Json, "application/problem+json"),
        ] {
            assert_eq!(content_type_for(declared, form), sent, "{declared} {form:?}");
        }
    }
}
