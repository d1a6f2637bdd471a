//! One session's journal entries as a scenario: each call an answer
//! becomes one step, in a state of its own, so the replay answers the calls
//! in the order they came, whatever operations came between. Pure: plain
//! entries in, a plain document out (`yaml.rs` writes it).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use data_encoding::BASE64;
use serde_json::Value;

use super::redact::Redactor;
use crate::journal::{Entry, EntryKind, Name, Record};
use crate::render::{content_type_for, media_for, preferred_media, BodyForm};
use crate::spec::{essence, Operation, Spec};
use crate::validate::{is_json, schema_violations, Side, Violation};

/// What a recording is made from, besides its entries.
pub struct Options<'a> {
    /// The spec the session was served under (what its answers are checked against on replay).
    pub spec: &'a Spec,
    /// The query parameters the spec's API keys are sent in.
    pub credential_query: &'a [String],
    /// `--redact`: more JSON pointers into response bodies.
    pub redact: &'a [String],
    /// `--record-latency`: each answer's observed latency as its `delay`.
    pub latency: bool,
    /// The frames servers sent on streams are among the entries (`--record`).
    pub frames: bool,
    /// The entries are the journal's, which no longer holds its oldest.
    pub journal_rolled: bool,
}

/// A session as a scenario.
#[derive(Debug)]
pub struct Document {
    pub session: String,
    pub items: Vec<Item>,
    /// The entries it was made from (calls, and frames servers sent).
    pub kept: usize,
    /// Entries past the recording's limits, not recorded.
    pub cut: u64,
    /// Its entries are the journal's, which no longer holds its oldest.
    pub journal_rolled: bool,
    /// Where values were redacted (`/query/NAME`, `/body/POINTER`), and how many.
    pub redacted: Vec<(String, u64)>,
}

impl Document {
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.items.iter().filter_map(|item| match item {
            Item::Step(step) => Some(step),
            Item::Skipped { .. } => None,
        })
    }
}

#[derive(Debug)]
pub enum Item {
    Step(Step),
    /// A call the replay does not script, and why (written as a comment).
    Skipped {
        at: SystemTime,
        request: String,
        why: String,
    },
}

/// One recorded call and its answer.
#[derive(Debug)]
pub struct Step {
    pub at: SystemTime,
    /// `METHOD target`, credentials redacted.
    pub request: String,
    pub operation: String,
    pub status: u16,
    /// A `Content-Type` to send that the spec's own would not give.
    pub content_type: Option<String>,
    pub body: Body,
    pub delay: Option<Duration>,
    /// How the answer (or its request) broke the spec.
    pub violations: Vec<String>,
    /// The status is not declared, yet nothing was journaled against it
    /// (a scenario's `fault: undeclared-status`).
    pub undeclared: bool,
    /// The journal let its body go (`--journal-bytes`): the replay answers the spec's.
    pub dropped: bool,
    /// A stream's handshake: the frames the server sent on it, each with
    /// the time since the one before (the first, since the handshake).
    pub stream: Option<Vec<(Duration, Body)>>,
}

#[derive(Debug, PartialEq)]
pub enum Body {
    /// Nothing sent, and nothing declared for the status.
    None,
    Json(Value),
    Text(String),
    /// Base64: bytes sent as they are.
    Binary(String),
}

/// Turns one session's entries (oldest first) into a document.
pub fn document(session: &str, entries: &[Arc<Entry>], cut: u64, options: &Options<'_>) -> Document {
    let mut redactor = Redactor::new(options.credential_query, options.redact);
    let mut items = Vec::new();
    // The latest handshake of each stream (operation and target), by item, and when its last frame came.
    let mut streams: Vec<(&str, &str, usize, SystemTime)> = Vec::new();
    for entry in entries {
        let record = &entry.record;
        let key = (record.operation.as_deref().unwrap_or(""), &*record.target);
        if record.kind == EntryKind::ServerFrame {
            let stream = streams.iter_mut().rev().find(|(op, target, ..)| (*op, *target) == key);
            if let Some((_, _, index, last)) = stream {
                if let Item::Step(Step {
                    stream: Some(frames), ..
                }) = &mut items[*index]
                {
                    let gap = entry.at.duration_since(*last).unwrap_or_default();
                    frames.push((gap, frame(record.body.as_deref().unwrap_or_default(), &mut redactor)));
                    *last = entry.at;
                }
            }
            continue;
        }
        let item = item(entry, options, &mut redactor);
        if let Item::Step(Step { stream: Some(_), .. }) = &item {
            streams.push((key.0, key.1, items.len(), entry.at));
        }
        items.push(item);
    }
    Document {
        session: session.to_string(),
        items,
        kept: entries.len(),
        cut,
        journal_rolled: options.journal_rolled,
        redacted: redactor.counts.into_iter().collect(),
    }
}

fn item(entry: &Entry, options: &Options<'_>, redactor: &mut Redactor<'_>) -> Item {
    let record = &entry.record;
    let request = format!("{} {}", record.method, redactor.target(&record.target));
    let skipped = |why: &str| Item::Skipped {
        at: entry.at,
        request: request.clone(),
        why: why.to_string(),
    };
    let operation = record.operation.as_deref().and_then(|id| options.spec.operation(id));
    let operation = match (record.kind, operation) {
        (EntryKind::Frame, _) => return skipped("a frame the client sent"),
        (_, None) => return skipped("no operation of the spec: a replay refuses it again"),
        _ if record.refused => return skipped("refused by the mock: a replay refuses it again"),
        _ if record.status == 101 && !options.frames => {
            return skipped(
                "a stream: its frames are recorded under --record only; the replay answers it from the spec",
            )
        }
        (_, Some(operation)) => operation,
    };
    if record.status == 101 {
        return Item::Step(Step {
            at: entry.at,
            request,
            operation: operation.id.clone(),
            status: record.status,
            content_type: None,
            body: Body::None,
            delay: None,
            violations: Vec::new(),
            undeclared: false,
            dropped: false,
            stream: Some(Vec::new()),
        });
    }
    // A body the journal let go is the spec's for the status: the step keeps the replay's place.
    let (body, content_type) = match entry.response_dropped {
        true => (Body::None, None),
        false => body(
            record.response.as_deref(),
            record.response_content_type.as_deref(),
            record.status,
            operation,
            redactor,
        ),
    };
    let declared = operation.response_for(record.status).is_some();
    let violations = answer_violations(record, operation, &body);
    Item::Step(Step {
        at: entry.at,
        request,
        operation: operation.id.clone(),
        status: record.status,
        content_type,
        body,
        delay: options.latency.then_some(record.latency),
        undeclared: !declared && violations.is_empty(),
        violations,
        dropped: entry.response_dropped,
        stream: None,
    })
}

/// How the answer as written breaks the spec: what an upstream's broke
/// (journaled), and where a JSON body is not what the status declares (an
/// answer echoing a request that broke the spec, a redacted value). A
/// request's own violations are its, not the answer's.
fn answer_violations(record: &Record<Name>, operation: &Operation, body: &Body) -> Vec<String> {
    let provider = record.violations.iter().filter(|v| v.side == Side::Provider).cloned();
    let content = operation.response_for(record.status).map(|r| r.content.as_slice());
    let schema = content.and_then(preferred_media).and_then(|m| m.schema.as_ref());
    let written = match (body, schema) {
        (Body::Json(value), Some(schema)) => schema_violations(schema, value, "/body"),
        _ => Vec::new(),
    };
    let listed = |v: Violation| format!("{} {}", if v.pointer.is_empty() { "/" } else { &v.pointer }, v.message);
    provider.chain(written).map(listed).collect()
}

/// The body as the scenario writes it, and the `Content-Type` to send
/// when the one the spec gives would differ from the one recorded.
fn body(
    bytes: Option<&[u8]>,
    content_type: Option<&str>,
    status: u16,
    operation: &Operation,
    redactor: &mut Redactor<'_>,
) -> (Body, Option<String>) {
    let bytes = bytes.unwrap_or_default();
    let content = operation
        .response_for(status)
        .map(|r| r.content.as_slice())
        .unwrap_or_default();
    let media = content_type.map(essence);
    // What the loader's encoding sends for this status, as `render::encode_for` picks it.
    let media_as = |form: BodyForm| media_for(content, form);
    let sent = |form: BodyForm| {
        let declared = media_as(form).map(|m| m.media_type.as_str());
        let fallback = match form {
            BodyForm::Text => "text/plain",
            BodyForm::Json => "application/json",
        };
        content_type_for(declared.unwrap_or(fallback), form)
    };
    let recorded = |given: String| content_type.filter(|recorded| *recorded != given).map(str::to_string);
    if bytes.is_empty() {
        // Omitted, a body is the spec's for the status: an empty answer says so.
        return match content.is_empty() {
            true => (Body::None, None),
            false => (Body::Binary(String::new()), content_type.map(str::to_string)),
        };
    }
    let text = std::str::from_utf8(bytes).ok();
    if let (Some(true), Some(text)) = (media.as_deref().map(is_json), text) {
        if let Ok(value) = serde_json::from_str::<Value>(text) {
            return match json(value, bytes, redactor) {
                Body::Json(value) => (Body::Json(value), recorded(sent(BodyForm::Json))),
                bytes => (bytes, Some(content_type.unwrap_or("application/json").to_string())),
            };
        }
    }
    // Text that reads like a template is sent as bytes, never rendered.
    let text = text.filter(|text| !text.contains("{{"));
    // Written as text, a body is sent as the spec's textual media type: only for a
    // type that is text itself (a form or a JSON string would be checked as one).
    let as_text = match media_as(BodyForm::Text) {
        Some(media) => is_text(&media.media_type),
        None => content.is_empty(),
    };
    if let (Some(text), true, false) = (text, as_text, media.as_deref().is_some_and(is_json)) {
        return (Body::Text(text.to_string()), recorded(sent(BodyForm::Text)));
    }
    (
        Body::Binary(BASE64.encode(bytes)),
        Some(content_type.unwrap_or("application/octet-stream").to_string()),
    )
}

/// A media type whose bodies are plain text (`text/*`).
fn is_text(media_type: &str) -> bool {
    essence(media_type).starts_with("text/")
}

/// A JSON body (or frame), secrets redacted: as JSON when the loader reads
/// it back as the same value, else as bytes (the ones sent, or the
/// redacted value's), so no template is rendered and no number rounded.
fn json(mut value: Value, sent: &[u8], redactor: &mut Redactor<'_>) -> Body {
    let redacted = redactor.body(&mut value);
    if replays_as_itself(&value) {
        return Body::Json(value);
    }
    match redacted {
        true => Body::Binary(BASE64.encode(&serde_json::to_vec(&value).expect("a JSON value always serializes"))),
        false => Body::Binary(BASE64.encode(sent)),
    }
}

/// Whether a scenario file's `json:` gives `value` back: no string reads like
/// a template, and each number is one YAML reads exactly (an integer within
/// 64 bits, or a float its nearest double writes back as).
fn replays_as_itself(value: &Value) -> bool {
    match value {
        Value::String(text) => !text.contains("{{"),
        Value::Number(number) if crate::json_number::is_integer_text(number) => {
            let text = number.as_str();
            text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok()
        }
        Value::Number(number) => number
            .as_str()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .is_some_and(|double| crate::json_number::equal(&double, number)),
        Value::Array(items) => items.iter().all(replays_as_itself),
        Value::Object(fields) => fields
            .iter()
            .all(|(name, field)| !name.contains("{{") && replays_as_itself(field)),
        _ => true,
    }
}

/// A frame a stream sent: JSON, text, or (not UTF-8, or reading like a template) bytes.
fn frame(bytes: &[u8], redactor: &mut Redactor<'_>) -> Body {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Body::Binary(BASE64.encode(bytes));
    };
    match serde_json::from_str::<Value>(text) {
        Ok(value) if value.is_object() || value.is_array() => json(value, bytes, redactor),
        _ if text.contains("{{") => Body::Binary(BASE64.encode(bytes)),
        _ => Body::Text(text.to_string()),
    }
}
