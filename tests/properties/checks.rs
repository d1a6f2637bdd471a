//! What every answer and every diagnostic must be, whatever the input.

use http::header::HeaderValue;
use http::request::Parts;
use http::{HeaderMap, Method};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};
use specmock::internal::app::Upgrade;
use specmock::internal::diagnostic::{Diagnostic, Position};
use specmock::internal::scenario::{Frame, Step};
use specmock::internal::spec::Operation;
use specmock::internal::App;

use crate::common;

/// The origins `X-Mock-Origin` may name.
const ORIGINS: [&str; 6] = ["router", "validator", "renderer", "scenario", "admin", "server"];

pub fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).map(|v| v.to_str().unwrap_or("(not text)"))
}

/// What every answer to a request must be: a mock problem (problem+json,
/// `X-Mock-Origin`, 4xx/5xx), an admin answer, a CORS preflight, or a
/// status the routed operation declares, with a body its schema accepts
/// (unless lenient).
pub fn check_answer(app: &App, parts: &Parts, handled: &specmock::internal::app::Handled) -> Result<(), TestCaseError> {
    let response = &handled.response;
    let status = response.status().as_u16();
    let headers = response.headers();
    let body = response.body();
    // A spec may declare any three-digit status (`999`, `1XX`) and the mock
    // then answers it; anything else is within 200..=599.
    prop_assert!((100..1000).contains(&status), "status {}", status);
    let admin = parts.uri.path().starts_with("/__mock/");
    if let Some(origin) = header_text(headers, "x-mock-origin") {
        prop_assert!(ORIGINS.contains(&origin), "X-Mock-Origin {:?}", origin);
        prop_assert!((400..600).contains(&status), "a mock problem with status {}", status);
        prop_assert_eq!(header_text(headers, "content-type"), Some("application/problem+json"));
        let problem: Value = serde_json::from_slice(body)
            .map_err(|e| TestCaseError::fail(format!("problem body is not JSON ({e}): {body:?}")))?;
        prop_assert_eq!(&problem["status"], &json!(status), "{}", problem);
        prop_assert!(
            problem["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:specmock:problem:")),
            "{}",
            problem
        );
        prop_assert!(
            problem["title"].is_string() && problem["detail"].is_string(),
            "{}",
            problem
        );
        if status == 405 {
            prop_assert!(headers.contains_key("allow"), "405 without Allow");
        }
        // (A scheme name that cannot be written in a header, such as one with
        // a line break, leaves the challenge out.)
        let writable = |text: &str| HeaderValue::from_str(text).is_ok();
        let configuration = app.configuration();
        let challenge_writable = handled
            .operation
            .as_ref()
            .and_then(|id| configuration.spec.operation(id))
            .is_none_or(|op| {
                op.security.iter().flatten().all(|scheme| match &scheme.credential {
                    specmock::internal::spec::Credential::HttpScheme(name) => writable(name),
                    specmock::internal::spec::Credential::ApiKey { name, .. } => writable(name),
                    specmock::internal::spec::Credential::AuthorizationHeader => true,
                })
            });
        if status == 401 && !admin && challenge_writable {
            prop_assert!(headers.contains_key("www-authenticate"), "401 without WWW-Authenticate");
        }
        return Ok(());
    }
    if admin {
        prop_assert_eq!(status, 200, "an admin answer that is not a problem");
        prop_assert!(handled.session.is_none(), "admin requests belong to no session");
        // The page and its assets, and a session's recording (YAML), are the
        // admin API's only answers that are not JSON.
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        if content_type.starts_with("application/json") {
            let parsed = serde_json::from_slice::<Value>(body);
            prop_assert!(
                parsed.is_ok(),
                "admin body is not JSON: {:?}",
                String::from_utf8_lossy(body)
            );
        } else if content_type == "application/yaml" {
            prop_assert!(
                parts.method == Method::GET && parts.uri.path().ends_with("/scenario"),
                "YAML from {} {}",
                parts.method,
                parts.uri.path()
            );
        } else {
            prop_assert!(
                parts.uri.path().starts_with("/__mock/ui"),
                "an admin answer of {:?} outside the page",
                content_type
            );
        }
        return Ok(());
    }
    prop_assert!(
        (200..600).contains(&status) || handled.operation.is_some(),
        "status {}",
        status
    );
    let Some(id) = &handled.operation else {
        // Only a CORS preflight is answered without an operation or a problem.
        prop_assert_eq!(&parts.method, &Method::OPTIONS, "unattributed answer {}", status);
        prop_assert_eq!(status, 204);
        return Ok(());
    };
    prop_assert!(handled.session.is_some(), "an API request without a session");
    let configuration = app.configuration();
    let operation = configuration
        .spec
        .operation(id)
        .ok_or_else(|| TestCaseError::fail(format!("unknown operation {id}")))?;
    let declared = operation.response_for(status);
    let undeclared_fault = handled.fault == Some(specmock::internal::scenario::Fault::UndeclaredStatus);
    prop_assert!(
        declared.is_some() || undeclared_fault || (status == 204 && !has_content(operation)),
        "{} answered {}, which it does not declare",
        id,
        status
    );
    if parts.method == Method::HEAD {
        prop_assert!(body.is_empty(), "a HEAD answer with a body");
    }
    let lenient = app.behaviour().lenient;
    prop_assert!(
        lenient || !headers.contains_key("x-mock-violations"),
        "X-Mock-Violations without --lenient"
    );
    // A strict mock never contradicts its own spec.
    if let (false, Some(declared), false) = (lenient, declared, body.is_empty()) {
        // (A spec may declare a media type that is not ASCII; it is sent as is.)
        let content_type = headers
            .get("content-type")
            .map(|v| String::from_utf8_lossy(v.as_bytes()));
        check_body_against(declared, content_type.as_deref(), body, id, status)?;
    }
    Ok(())
}

fn has_content(operation: &Operation) -> bool {
    operation.responses.iter().any(|r| !r.content.is_empty())
}

pub fn check_body_against(
    declared: &specmock::internal::spec::ResponseSpec,
    content_type: Option<&str>,
    body: &[u8],
    id: &str,
    status: u16,
) -> Result<(), TestCaseError> {
    let Some(content_type) = content_type else {
        return Ok(());
    };
    let essence = specmock::internal::spec::essence(content_type);
    // The media types the body may have been made for: the one it is sent
    // as, or a wildcard one (`text/*`, `*/*`) that is sent as a concrete type
    // (`render::encode` sends a non-string value for `text/*` as JSON).
    let candidates: Vec<&specmock::internal::spec::MediaSpec> = declared
        .content
        .iter()
        .filter(|m| m.media_type == essence || m.media_type.contains('*'))
        .collect();
    prop_assert!(
        !candidates.is_empty(),
        "{} {}: content type {:?} is not declared",
        id,
        status,
        content_type
    );
    // The value the body holds: JSON for a JSON type; for a text type the
    // string itself, or a value the mock wrote as JSON (as `render::encode` does).
    let mut values = Vec::new();
    if specmock::internal::validate::is_json(&essence) {
        let value = serde_json::from_slice::<Value>(body).map_err(|e| {
            TestCaseError::fail(format!(
                "{id} {status}: the {essence} body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(body)
            ))
        })?;
        values.push(value);
    } else if essence.starts_with("text/") {
        values.push(Value::String(String::from_utf8_lossy(body).into_owned()));
        values.extend(serde_json::from_slice::<Value>(body).ok().filter(|v| !v.is_string()));
    } else {
        return Ok(());
    }
    let schemas: Vec<&specmock::internal::spec::CompiledSchema> =
        candidates.iter().filter_map(|m| m.schema.as_ref()).collect();
    if schemas.len() < candidates.len() {
        // A candidate without a schema accepts anything.
        return Ok(());
    }
    let valid = schemas.iter().any(|schema| {
        values
            .iter()
            .any(|value| common::schema_errors(schema, value).is_empty())
    });
    prop_assert!(
        valid,
        "{} {}: the body breaks its schema: {:?}\n{}",
        id,
        status,
        common::schema_errors(schemas[0], &values[0]),
        String::from_utf8_lossy(body)
    );
    Ok(())
}

pub fn check_upgrade(app: &App, parts: &Parts) -> Result<(), TestCaseError> {
    match specmock::internal::dispatch::upgrade(app, parts) {
        Upgrade::Refused(handled) => {
            prop_assert!(
                handled.response.status().as_u16() != 101,
                "a refusal that switches protocols"
            );
            check_answer(app, parts, &handled)
        }
        Upgrade::Accepted(accepted) => {
            prop_assert_eq!(&parts.method, &Method::GET);
            prop_assert_eq!(accepted.handled.response.status().as_u16(), 101);
            let version = header_text(&parts.headers, "sec-websocket-version");
            prop_assert_eq!(version, Some("13"));
            let key = header_text(&parts.headers, "sec-websocket-key").unwrap_or("").trim();
            let nonce = data_encoding::BASE64.decode(key.as_bytes());
            prop_assert!(nonce.is_ok_and(|n| n.len() == 16), "accepted key {:?}", key);
            let expected = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
            prop_assert_eq!(
                header_text(accepted.handled.response.headers(), "sec-websocket-accept"),
                Some(expected.as_str())
            );
            // The first frames, as the connection would send them.
            let _ = app.live_frame(&accepted.plan);
            if let specmock::internal::app::StreamMode::Script(script) = &accepted.plan.mode {
                for frame in frames(&script.steps) {
                    let _ = app.script_frame(&accepted.plan, frame, None);
                }
            }
            Ok(())
        }
    }
}

/// Every frame a script may send, nested steps included.
pub fn frames(steps: &[Step]) -> Vec<&Frame> {
    let mut found = Vec::new();
    for step in steps {
        match step {
            Step::Send(frame) => found.push(frame),
            Step::On { send: Some(frame), .. } | Step::Expect { send: Some(frame), .. } => found.push(frame),
            Step::Repeat { steps, .. } => found.extend(frames(steps)),
            _ => {}
        }
    }
    found
}

/// A diagnostic names one of the files given, and where in it when it can.
pub fn check_diagnostic(diagnostic: &Diagnostic, files: &[(&str, &str)]) -> Result<(), TestCaseError> {
    let shown = diagnostic.to_string();
    let Some((_, text)) = files.iter().find(|(label, _)| *label == diagnostic.file) else {
        return Err(TestCaseError::fail(format!(
            "the diagnostic names an unknown file: {shown}"
        )));
    };
    prop_assert!(shown.starts_with(&diagnostic.file), "{}", shown);
    prop_assert!(!diagnostic.message.trim().is_empty(), "an empty message: {}", shown);
    if let Position::LineColumn { line, column } = diagnostic.position {
        prop_assert!(
            shown.starts_with(&format!("{}:{line}:{column}: ", diagnostic.file)),
            "{}",
            shown
        );
        let lines = text.lines().count() as u64;
        prop_assert!(line >= 1 && line <= lines + 1, "line {} of {}: {}", line, lines, shown);
        prop_assert!(column >= 1, "column {}: {}", column, shown);
    }
    Ok(())
}
