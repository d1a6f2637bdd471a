//! What the fuzz targets share: the shipped inputs, the invariants every
//! answer and every diagnostic keeps, and the realistic values templates and
//! scenario rules are driven with. A broken invariant panics, which libFuzzer
//! reports as a crash like any panic inside specmock.

use std::sync::OnceLock;

use http::header::{HeaderName, HeaderValue};
use http::request::Parts;
use http::{HeaderMap, Method};
use serde_json::{json, Value};
use specmock::internal::app::{Handled, StreamMode, Upgrade};
use specmock::internal::diagnostic::{Diagnostic, Diagnostics, Position};
use specmock::internal::scenario::{Fault, Frame, Step};
use specmock::internal::sources::{Source, Sources};
use specmock::internal::spec::{MediaSpec, ResponseSpec};
use specmock::internal::App;

/// The spec, fixtures and scenarios built into specmock: the shipped files,
/// whatever the directory the fuzzer runs in.
pub fn shipped_sources() -> Sources {
    Sources {
        spec: Source::Embedded,
        more_specs: Vec::new(),
        fixtures: Some(Source::Embedded),
        scenarios: Some(Source::Embedded),
    }
}

/// The fully populated user profile the shipped scenarios store and send.
pub fn profile() -> &'static Value {
    static PROFILE: OnceLock<Value> = OnceLock::new();
    PROFILE.get_or_init(|| {
        let fixtures = shipped_sources().load_fixtures().expect("the shipped fixtures load");
        fixtures
            .get("user-signed-in.json")
            .expect("the shipped fixtures hold user-signed-in.json")
            .content
            .to_value()
    })
}

/// Headers a client of the shipped API sends.
pub fn client_headers() -> HeaderMap {
    [
        ("content-type", "application/json"),
        ("authorization", "Bearer fuzz"),
        ("x-mock-session", "fuzz"),
        ("x-name", "fuzz"),
    ]
    .into_iter()
    .map(|(name, value)| (HeaderName::from_static(name), HeaderValue::from_static(value)))
    .collect()
}

/// What a WebSocket client sends to open a stream (RFC 6455's sample key).
pub const HANDSHAKE: [(&str, &str); 4] = [
    ("upgrade", "websocket"),
    ("connection", "Upgrade"),
    ("sec-websocket-version", "13"),
    ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
];

/// The fixed request time templates read as `{{now}}`.
/// (2026-11-28T19:40:00Z, since the Unix epoch.)
pub const NOW: std::time::Duration = std::time::Duration::from_secs(1_795_894_800);

/// The 5xx problems `dispatch::handle` and `dispatch::upgrade` may make (README,
/// "Mock-made errors"); the 503s of the connection and stream limits come
/// from the server, never from the pure request path.
const PROBLEMS_ALLOWED_5XX: [&str; 2] = [
    "urn:specmock:problem:unrenderable-response",
    "urn:specmock:problem:invalid-scripted-response",
];

/// Every answer is a mock problem (problem+json, 4xx or a documented 5xx),
/// an admin answer, a CORS preflight, or a status the routed operation
/// declares with a body its schema accepts: the mock never contradicts its
/// own spec (`--lenient` is not fuzzed).
pub fn check_answer(app: &App, parts: &Parts, handled: &Handled) {
    let response = &handled.response;
    let status = response.status().as_u16();
    let headers = response.headers();
    let body = response.body();
    if headers.contains_key(specmock::internal::problem::ORIGIN_HEADER) {
        check_problem(status, headers, body);
        return;
    }
    if parts.uri.path().starts_with(specmock::internal::control::PREFIX) {
        assert_eq!(status, 200, "an admin answer that is not a problem");
        // The page and its assets, and a session's recording (YAML), are the
        // admin API's only answers that are not JSON.
        let media = headers
            .get(http::header::CONTENT_TYPE)
            .map(|media| media.as_bytes())
            .unwrap_or_default();
        if media.starts_with(b"application/json") {
            assert!(
                serde_json::from_slice::<Value>(body).is_ok(),
                "an admin answer that is not JSON"
            );
        } else if media == b"application/yaml" {
            assert!(
                parts.method == http::Method::GET && parts.uri.path().ends_with("/scenario"),
                "YAML from an admin route that is not a session's recording"
            );
        } else {
            assert!(
                parts.uri.path().starts_with("/__mock/ui"),
                "an admin answer of another type outside the page"
            );
        }
        return;
    }
    let Some(id) = &handled.operation else {
        assert_eq!(parts.method, Method::OPTIONS, "an answer from no operation: {status}");
        assert_eq!(status, 204, "a CORS preflight answered {status}");
        return;
    };
    let configuration = app.configuration();
    let operation = configuration
        .spec
        .operation(id)
        .expect("the answer names an operation of the spec");
    let declared = operation.response_for(status);
    let has_content = operation.responses.iter().any(|r| !r.content.is_empty());
    assert!(
        declared.is_some() || handled.fault == Some(Fault::UndeclaredStatus) || (status == 204 && !has_content),
        "{id} answered {status}, which it does not declare"
    );
    if parts.method == Method::HEAD {
        assert!(body.is_empty(), "a HEAD answer with a body");
    }
    if let (Some(declared), false) = (declared, body.is_empty()) {
        check_body(declared, headers.get(http::header::CONTENT_TYPE), body, id, status);
    }
}

fn check_problem(status: u16, headers: &HeaderMap, body: &[u8]) {
    assert!((400..600).contains(&status), "a mock problem with status {status}");
    assert_eq!(
        headers.get(http::header::CONTENT_TYPE).map(HeaderValue::as_bytes),
        Some(specmock::internal::problem::CONTENT_TYPE.as_bytes())
    );
    let problem: Value = serde_json::from_slice(body).expect("a mock problem is JSON");
    assert_eq!(problem["status"], json!(status), "{problem}");
    let kind = problem["type"].as_str().unwrap_or_default();
    assert!(kind.starts_with("urn:specmock:problem:"), "{problem}");
    assert!(
        status < 500 || PROBLEMS_ALLOWED_5XX.contains(&kind),
        "an undocumented mock-made {status}: {problem}"
    );
}

/// The body is valid against the schema of a media type the status declares:
/// the one it is sent as, or a wildcard one (`text/*`) a concrete type stands for.
fn check_body(declared: &ResponseSpec, content_type: Option<&HeaderValue>, body: &[u8], id: &str, status: u16) {
    let Some(content_type) = content_type else { return };
    // A spec may declare a media type that is not ASCII; it is sent as is.
    let essence = specmock::internal::spec::essence(&String::from_utf8_lossy(content_type.as_bytes()));
    let candidates: Vec<&MediaSpec> = declared
        .content
        .iter()
        .filter(|m| m.media_type == essence || m.media_type.contains('*'))
        .collect();
    assert!(!candidates.is_empty(), "{id} {status}: `{essence}` is not declared");
    // The value the body holds: JSON for a JSON type; for a text type the
    // text, or a value written as JSON (as `render::encode` writes one).
    let mut values = Vec::new();
    if specmock::internal::validate::is_json(&essence) {
        let value = serde_json::from_slice(body).unwrap_or_else(|e| panic!("{id} {status}: not JSON ({e})"));
        values.push(value);
    } else if essence.starts_with("text/") {
        values.push(Value::String(String::from_utf8_lossy(body).into_owned()));
        values.extend(serde_json::from_slice::<Value>(body).ok().filter(|v| !v.is_string()));
    } else {
        return;
    }
    // A candidate without a schema accepts anything.
    let valid = candidates.iter().any(|media| {
        media
            .schema
            .as_ref()
            .is_none_or(|schema| values.iter().any(|value| schema.validator.is_valid(value)))
    });
    assert!(
        valid,
        "{id} {status}: the body breaks its schema: {}",
        String::from_utf8_lossy(body)
    );
}

/// A handshake is refused with an answer `check_answer` accepts, or switches
/// protocols; the first frames of an accepted stream are rendered as the
/// connection would render them. Returns the answer, as the server logs it.
pub fn check_upgrade(app: &App, parts: &Parts) -> Handled {
    match specmock::internal::dispatch::upgrade(app, parts) {
        Upgrade::Refused(handled) => {
            assert_ne!(handled.response.status(), 101, "a refusal that switches protocols");
            check_answer(app, parts, &handled);
            *handled
        }
        Upgrade::Accepted(accepted) => {
            assert_eq!(parts.method, Method::GET, "a {} handshake accepted", parts.method);
            assert_eq!(accepted.handled.response.status(), 101);
            let _ = app.live_frame(&accepted.plan);
            if let StreamMode::Script(script) = &accepted.plan.mode {
                for frame in frames(&script.steps) {
                    let _ = app.script_frame(&accepted.plan, frame, None);
                }
            }
            accepted.handled
        }
    }
}

/// Every frame a script may send, nested steps included.
pub fn frames(steps: &[Step]) -> Vec<&Frame> {
    steps
        .iter()
        .flat_map(|step| match step {
            Step::Send(frame) => vec![frame],
            Step::On { send: Some(frame), .. } | Step::Expect { send: Some(frame), .. } => vec![frame],
            Step::Repeat { steps, .. } => frames(steps),
            _ => Vec::new(),
        })
        .collect()
}

/// Problems there are, each as [`check_diagnostic`] wants it.
pub fn check_diagnostics(problems: &Diagnostics, files: &[(&str, &str)]) {
    assert!(!problems.is_empty(), "an error with no problem in it");
    for diagnostic in problems.iter() {
        check_diagnostic(diagnostic, files);
    }
}

/// A diagnostic names one of `files` (label, text), says something, and
/// points inside the file when it has a line and column.
pub fn check_diagnostic(diagnostic: &Diagnostic, files: &[(&str, &str)]) {
    let shown = diagnostic.to_string();
    let (_, text) = files
        .iter()
        .find(|(label, _)| *label == diagnostic.file)
        .unwrap_or_else(|| panic!("the diagnostic names an unknown file: {shown}"));
    assert!(!diagnostic.message.trim().is_empty(), "an empty message: {shown}");
    if let Position::LineColumn { line, column } = diagnostic.position {
        // YAML ends a line at CR, LF or CR LF (`str::lines` knows only the last two).
        let lines = text.replace("\r\n", "\n").matches(['\r', '\n']).count() as u64 + 1;
        assert!((1..=lines).contains(&line), "line {line} of {lines}: {shown}");
        assert!(column >= 1, "column {column}: {shown}");
    }
}
