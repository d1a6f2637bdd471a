//! Is one answer what the spec declares? Pure: the operation, the probe and
//! what came back in, problems out. Headers and bodies are judged by the
//! request validator itself (see [`as_request`]), so a response is read and
//! checked exactly as specmock reads and checks requests.

use http::header::CONTENT_TYPE;
use http::{HeaderMap, Method};
use serde_json::{Map, Value};

use super::client::{Answer, FirstFrame, Received};
use super::plan::Probe;
use crate::render::{media_for, BodyForm};
use crate::spec::{essence, MediaSpec, Operation, Parameter, RequestBody, ResponseSpec};
use crate::validate::{self, is_json, schema_violations, ParamSources, Rejection, RequestView, Violation};

/// The verdict on one request.
#[derive(Debug)]
pub struct Judgement {
    /// What came back: `200`, `101`, `no answer`.
    pub status: String,
    pub problems: Vec<String>,
}

/// What came back for one request, judged against `operation`.
pub fn judge(operation: &Operation, probe: &Probe, received: &Received) -> Judgement {
    match received {
        Received::Failed(reason) => Judgement {
            status: "no answer".into(),
            problems: vec![reason.clone()],
        },
        Received::Response(answer) => Judgement {
            status: answer.status.to_string(),
            problems: answer_problems(operation, probe, answer),
        },
        Received::Stream(frame) => Judgement {
            status: "101".into(),
            problems: operation
                .default_response()
                .map(|declared| frame_problems(declared, frame))
                .unwrap_or_default(),
        },
    }
}

fn answer_problems(operation: &Operation, probe: &Probe, answer: &Answer) -> Vec<String> {
    answer_violations(operation, &probe.method, probe.websocket, answer)
        .iter()
        .map(|violation| match violation.rule.as_str() {
            // Said whole: a pointer would add nothing to them.
            "status" | "content-type" => violation.message.clone(),
            _ => describe(violation),
        })
        .collect()
}

/// Everything about `answer` that breaks what `operation` declares, each
/// located by a pointer (`/status`, `/header/NAME`, `/body/...`): the one
/// judgement of a real server's answer, for `verify` and the proxy alike.
pub fn answer_violations(operation: &Operation, method: &Method, websocket: bool, answer: &Answer) -> Vec<Violation> {
    let Some(declared) = operation.response_for(answer.status) else {
        let statuses: Vec<String> = operation.responses.iter().map(|r| r.status.to_string()).collect();
        let mut problem = format!(
            "status {} is not declared for `{}` (declared: {})",
            answer.status,
            operation.id,
            statuses.join(", ")
        );
        // What the server said may tell why.
        if !answer.body.is_empty() {
            problem.push_str(&format!("; body: {}", short(&String::from_utf8_lossy(&answer.body))));
        }
        return vec![Violation::new("/status", "status", problem)];
    };
    let mut problems = Vec::new();
    if websocket && (200..300).contains(&answer.status) {
        problems.push(Violation::new(
            "/status",
            "status",
            format!(
                "the WebSocket handshake was answered {} instead of 101 Switching Protocols",
                answer.status
            ),
        ));
    }
    problems.extend(header_problems(&declared.headers, &answer.headers));
    // A HEAD answer has no body; its Content-Length is the GET's.
    let head = *method == Method::HEAD;
    match (declared.content.is_empty(), answer.body.is_empty()) {
        (true, false) if !head => problems.push(Violation::new(
            "/body",
            "content",
            format!(
                "{} bytes, but {} declares no content",
                answer.body.len(),
                declared.status
            ),
        )),
        (false, true) if !head => problems.push(Violation::new(
            "/body",
            "content",
            format!(
                "empty, but {} declares {}",
                declared.status,
                media_types(&declared.content)
            ),
        )),
        (false, false) if !head => problems.extend(body_problems(declared, &answer.headers, &answer.body)),
        _ => {}
    }
    problems
}

/// Required headers present, and each declared one valid against its schema.
fn header_problems(declared: &[Parameter], headers: &HeaderMap) -> Vec<Violation> {
    if declared.is_empty() {
        return Vec::new();
    }
    let violations = match validate::request(&as_request(declared.to_vec(), None), &view(headers, &[])) {
        Ok(_) => return Vec::new(),
        Err(rejection) => rejection.violations(),
    };
    violations
        .into_iter()
        .map(|violation| match violation.rule.as_str() {
            // The validator's words are for requests ("required header parameter").
            "required" => Violation {
                message: "required header is missing".into(),
                ..violation
            },
            _ => violation,
        })
        .collect()
}

fn body_problems(declared: &ResponseSpec, headers: &HeaderMap, body: &[u8]) -> Vec<Violation> {
    let content_only = as_request(
        Vec::new(),
        Some(RequestBody {
            required: true,
            content: declared.content.clone(),
        }),
    );
    match validate::request(&content_only, &view(headers, body)) {
        Ok(_) => Vec::new(),
        Err(Rejection::UnsupportedMediaType { .. }) => {
            let found = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(essence);
            let message = match found {
                Some(found) => format!(
                    "Content-Type `{found}` is not declared for {} (declared: {})",
                    declared.status,
                    media_types(&declared.content)
                ),
                None => format!(
                    "no Content-Type, but {} declares {}",
                    declared.status,
                    media_types(&declared.content)
                ),
            };
            vec![Violation::new("/header/content-type", "content-type", message)]
        }
        Err(rejection) => rejection.violations(),
    }
}

/// A response seen as the request of an operation that declares the
/// response's headers as header parameters and its content as the body, so
/// the request validator reads and judges it: the same header reading per
/// style, media type matching, decoding and schema checks, no second copy.
fn as_request(headers: Vec<Parameter>, content: Option<RequestBody>) -> Operation {
    Operation {
        id: String::new(),
        method: Method::GET,
        path: String::new(),
        parameters: headers,
        request_body: content,
        responses: Vec::new(),
        security: Vec::new(),
        websocket: false,
        extensions: Map::new(),
        origin: Default::default(),
    }
}

fn view<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> RequestView<'a> {
    RequestView {
        params: ParamSources {
            path: &[],
            query: &[],
            headers,
        },
        headers,
        body,
    }
}

/// The first frame of a stream, against the operation's success response.
fn frame_problems(declared: &ResponseSpec, frame: &FirstFrame) -> Vec<String> {
    let data = match frame {
        FirstFrame::Text(text) => DataFrame::Text(text),
        FirstFrame::Binary(bytes) => DataFrame::Binary(bytes.len()),
        FirstFrame::Closed(how) => return vec![format!("the stream ended before its first frame: {how}")],
        FirstFrame::Silent(after) => return vec![format!("no frame within {} s of the 101", after.as_secs())],
    };
    data_frame_violations(declared, data).iter().map(describe).collect()
}

/// A data frame a server sent: its text, or the length of its bytes.
#[derive(Debug, Clone, Copy)]
pub enum DataFrame<'a> {
    Text(&'a str),
    Binary(usize),
}

/// A server's data frame against the stream's success response (its
/// message schema): a JSON frame against its JSON media type, other text
/// against its text one (a WebSocket may send `signed-out` beside JSON
/// profiles); pointers under `/frame`.
pub fn data_frame_violations(declared: &ResponseSpec, frame: DataFrame<'_>) -> Vec<Violation> {
    match frame {
        DataFrame::Text(text) => {
            let parsed = serde_json::from_str::<Value>(text);
            let form = match parsed {
                Ok(_) => BodyForm::Json,
                Err(_) => BodyForm::Text,
            };
            let Some(media) = media_for(&declared.content, form) else {
                return Vec::new();
            };
            let value = match (is_json(&media.media_type), parsed) {
                (true, Ok(value)) => value,
                (true, Err(error)) => {
                    return vec![Violation::new(
                        "/frame",
                        "media-type",
                        format!(
                            "not JSON ({error}) and {} declares no text media type: {}",
                            declared.status,
                            short(text)
                        ),
                    )]
                }
                (false, _) => Value::String(text.to_string()),
            };
            media
                .schema
                .iter()
                .flat_map(|schema| schema_violations(schema, &value, "/frame"))
                .collect()
        }
        // What a body that is not JSON is sent as: a JSON or text type is no binary frame's.
        DataFrame::Binary(length) => match media_for(&declared.content, BodyForm::Text) {
            Some(media) if is_json(&media.media_type) || media.media_type.starts_with("text/") => vec![Violation::new(
                "/frame",
                "media-type",
                format!(
                    "a binary frame of {length} bytes, but {} declares {}",
                    declared.status,
                    media_types(&declared.content)
                ),
            )],
            _ => Vec::new(),
        },
    }
}

/// `/body/id: expected string, found integer`, with the allowed values of an enum.
fn describe(violation: &Violation) -> String {
    let pointer = if violation.pointer.is_empty() {
        "/"
    } else {
        &violation.pointer
    };
    match &violation.allowed {
        Some(allowed) => format!("{pointer}: {} (allowed: {allowed})", violation.message),
        None => format!("{pointer}: {}", violation.message),
    }
}

fn media_types(content: &[MediaSpec]) -> String {
    content
        .iter()
        .map(|m| m.media_type.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Text quoted in a problem, cut short when long.
fn short(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((end, _)) => format!("`{}...`", &text[..end]),
        None => format!("`{text}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::time::Duration;

    const SPEC: &str = "openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /u:
    get:
      operationId: user
      responses:
        '200':
          description: ok
          headers:
            X-Request-Id: {required: true, schema: {type: string, format: uuid}}
            X-Count: {schema: {type: integer}}
            Content-Type: {required: true, schema: {type: string}}
          content:
            application/json:
              schema: {type: object, required: [id], properties: {id: {type: string}}}
            text/plain:
              schema: {type: string, enum: [signed-out]}
        '204': {description: none}
        5XX: {description: error}
";

    fn operation() -> Operation {
        crate::spec::load_text("t.yaml", SPEC, None)
            .expect("the test spec loads")
            .operations
            .remove(0)
    }

    fn probe(method: Method, websocket: bool) -> Probe {
        Probe {
            source: "the spec".into(),
            method,
            target: "/u".into(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            websocket,
        }
    }

    fn answer(status: u16, headers: &[(&'static str, &'static str)], body: &str) -> Received {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        Received::Response(Answer {
            status,
            headers: map,
            body: Bytes::from(body.to_string()),
        })
    }

    const ID: (&str, &str) = ("x-request-id", "0b6f3c2e-8d41-4a7e-9c25-3f1e7d9a4b60");
    const JSON: (&str, &str) = ("content-type", "application/json; charset=utf-8");

    fn problems(probe: &Probe, received: Received) -> Vec<String> {
        judge(&operation(), probe, &received).problems
    }

    #[test]
    fn a_conforming_answer_has_no_problems() {
        let get = probe(Method::GET, false);
        assert!(problems(&get, answer(200, &[ID, JSON], r#"{"id": "a"}"#)).is_empty());
        assert!(
            problems(&get, answer(503, &[], "")).is_empty(),
            "5XX declares no content"
        );
        assert!(problems(&get, answer(204, &[], "")).is_empty());
        assert!(problems(&probe(Method::HEAD, false), answer(200, &[ID, JSON], "")).is_empty());
    }

    #[test]
    fn statuses_media_types_headers_and_bodies_are_judged() {
        let get = probe(Method::GET, false);
        assert_eq!(
            problems(&get, answer(418, &[], "I'm a teapot")),
            vec!["status 418 is not declared for `user` (declared: 200, 204, 5XX); body: `I'm a teapot`"]
        );
        assert_eq!(
            problems(&get, answer(200, &[ID, ("content-type", "text/html")], "<p>")),
            vec!["Content-Type `text/html` is not declared for 200 (declared: application/json, text/plain)"]
        );
        assert_eq!(
            problems(&get, answer(200, &[ID], "{}")),
            vec!["no Content-Type, but 200 declares application/json, text/plain"]
        );
        assert_eq!(
            problems(&get, answer(200, &[JSON, ("x-count", "many")], r#"{"id": 5}"#)),
            vec![
                "/header/X-Request-Id: required header is missing",
                "/header/X-Count: expected integer, found string",
                "/body/id: expected string, found integer",
            ]
        );
        assert_eq!(
            problems(&get, answer(200, &[ID, JSON], "{\"id\": ")),
            vec!["/body: invalid JSON at line 1, column 7: EOF while parsing a value"]
        );
        assert_eq!(
            problems(&get, answer(200, &[ID, JSON], "")),
            vec!["/body: empty, but 200 declares application/json, text/plain"]
        );
        assert_eq!(
            problems(&get, answer(204, &[], "x")),
            vec!["/body: 1 bytes, but 204 declares no content"]
        );
    }

    #[test]
    fn first_frames_are_judged_by_their_kind() {
        let ws = probe(Method::GET, true);
        let frame = |frame| problems(&ws, Received::Stream(frame));
        assert!(frame(FirstFrame::Text(r#"{"id": "a"}"#.into())).is_empty());
        assert!(frame(FirstFrame::Text("signed-out".into())).is_empty());
        assert_eq!(
            frame(FirstFrame::Text(r#"{"id": 7}"#.into())),
            vec!["/frame/id: expected string, found integer"]
        );
        assert_eq!(
            frame(FirstFrame::Text("nobody".into())),
            vec![r#"/frame: "nobody" is not one of the allowed values (allowed: ["signed-out"])"#]
        );
        assert_eq!(
            frame(FirstFrame::Binary(Bytes::from_static(b"\x00"))),
            vec!["/frame: a binary frame of 1 bytes, but 200 declares application/json, text/plain"]
        );
        assert_eq!(
            frame(FirstFrame::Silent(Duration::from_secs(3))),
            vec!["no frame within 3 s of the 101"]
        );
        assert_eq!(
            problems(&ws, answer(200, &[ID, JSON], r#"{"id": "a"}"#)),
            vec!["the WebSocket handshake was answered 200 instead of 101 Switching Protocols"]
        );
    }
}
