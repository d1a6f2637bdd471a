//! Every (operation, documented status) of the shipped spec can be produced
//! through a shipped scenario, and is, over real HTTP: the test finds for
//! each pair a scenario and a short sequence of calls that yields it. For a
//! WebSocket operation (`x-websocket: true`) the success status describes
//! the stream's messages: it is reached by a handshake that is switched (101)
//! and delivers a first data frame valid for that status; its other statuses
//! (426 for a plain GET) are reached by plain requests.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use http::Method;
use serde_json::Value;
use specmock::internal::spec::{Operation, StatusKey};
use specmock::internal::{App, Behaviour};

/// One request a test can send for an operation: method, path, headers, body.
struct Call {
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn call_for(operation: &Operation) -> Call {
    let path = operation
        .path
        .split('/')
        .map(|segment| if segment.starts_with('{') { "1" } else { segment })
        .collect::<Vec<_>>()
        .join("/");
    let mut headers = Vec::new();
    if !operation.security.is_empty() {
        headers.push(("authorization".to_string(), "Bearer coverage".to_string()));
    }
    // The spec's own request example, so the call is valid and realistic.
    let example = operation
        .request_body
        .as_ref()
        .and_then(|body| body.content.iter().find(|m| m.media_type == "application/json"))
        .and_then(|media| media.examples.first().map(|(_, value)| value.clone()));
    let body = match example {
        Some(value) => {
            headers.push(("content-type".to_string(), "application/json".to_string()));
            serde_json::to_vec(&value).expect("JSON")
        }
        None => Vec::new(),
    };
    Call {
        method: operation.method.clone(),
        path,
        headers,
        body,
    }
}

async fn status_of(addr: SocketAddr, call: &Call, session: &str, scenario: &str) -> u16 {
    let mut headers: Vec<(&str, &str)> = call.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    headers.push(("x-mock-session", session));
    headers.push(("x-mock-scenario", scenario));
    send(addr, call.method.clone(), &call.path, &headers, &call.body)
        .await
        .status
}

/// Whether one attempt at `operation` yields `status`.
async fn reaches(addr: SocketAddr, operation: &Operation, session: &str, scenario: &str, status: u16) -> bool {
    let call = call_for(operation);
    if operation.websocket && (200..300).contains(&status) {
        stream_delivers(addr, operation, &call, session, scenario, status).await
    } else {
        status_of(addr, &call, session, scenario).await == status
    }
}

/// A WebSocket handshake for `call` is switched (101) and its first data
/// frame is a message of `status`: valid for one of its media types (JSON
/// against a JSON schema, text as a string against the others).
async fn stream_delivers(
    addr: SocketAddr,
    operation: &Operation,
    call: &Call,
    session: &str,
    scenario: &str,
    status: u16,
) -> bool {
    let mut headers: Vec<(&str, &str)> = call.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    headers.push(("x-mock-session", session));
    headers.push(("x-mock-scenario", scenario));
    let Ok((mut ws, response)) = ws_connect(addr, &call.path, &headers).await else {
        return false;
    };
    assert_eq!(response.status(), 101, "{} accepted a handshake", operation.id);
    let text = match ws_next(&mut ws, Duration::from_secs(2)).await {
        Some(Ok(WsMessage::Text(text))) => text.as_str().to_string(),
        Some(Ok(WsMessage::Binary(bytes))) => String::from_utf8_lossy(&bytes).into_owned(),
        _ => return false,
    };
    let _ = ws.close(None).await;
    let Some(response) = operation.response_for(status) else {
        return false;
    };
    let json = serde_json::from_str::<Value>(&text).ok();
    response.content.iter().any(|media| {
        let Some(schema) = &media.schema else {
            return false;
        };
        let message = match (media.media_type.contains("json"), &json) {
            (true, Some(value)) => value.clone(),
            (true, None) => return false,
            (false, _) => Value::String(text.clone()),
        };
        schema_errors(schema, &message).is_empty()
    })
}

#[tokio::test]
async fn every_documented_status_is_reachable_through_a_shipped_scenario() {
    let sources = shipped_sources();
    let inputs = sources.inputs(None, 0).expect("the shipped files load");
    let (app, warnings) = App::build(inputs, Behaviour::default()).expect("the shipped scenarios load");
    assert!(warnings.is_empty(), "{warnings:#?}");
    let scenarios: Vec<String> = app.configuration().scenarios.names().map(str::to_string).collect();
    // Calls that move a session between states are the steps of a search.
    let operations = app.configuration().spec.operations.clone();
    let state_changers: Vec<usize> = app
        .configuration()
        .scenarios
        .scenarios()
        .flat_map(|s| s.rules.iter().filter(|r| r.then_state.is_some()).map(|r| r.operation))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let server = start(app).await;
    let addr = server.address();

    let mut table: BTreeMap<(String, u16), Option<String>> = BTreeMap::new();
    let mut session = 0;
    for operation in &operations {
        for response in &operation.responses {
            let StatusKey::Code(status) = response.status else {
                continue;
            };
            let mut reached = None;
            'search: for scenario in &scenarios {
                // No set-up, or one state-changing call first; then the
                // operation itself up to four times (sequences advance).
                let setups = std::iter::once(None).chain(state_changers.iter().map(Some));
                for setup in setups {
                    session += 1;
                    let id = format!("coverage-{session}");
                    if let Some(&step) = setup {
                        status_of(addr, &call_for(&operations[step]), &id, scenario).await;
                    }
                    for attempt in 1..=4 {
                        if reaches(addr, operation, &id, scenario, status).await {
                            let how = setup.map_or(String::new(), |&s| format!("after {}, ", operations[s].id));
                            reached = Some(format!("{scenario}: {how}call {attempt}"));
                            break 'search;
                        }
                    }
                }
            }
            table.insert((operation.id.clone(), status), reached);
        }
    }
    let unreachable: Vec<_> = table
        .iter()
        .filter(|(_, how)| how.is_none())
        .map(|(pair, _)| pair.clone())
        .collect();
    let report: Vec<String> = table
        .iter()
        .map(|((op, status), how)| format!("{op} {status}: {}", how.as_deref().unwrap_or("UNREACHABLE")))
        .collect();
    assert!(
        unreachable.is_empty(),
        "unreachable (operation, status) pairs: {unreachable:?}\n{}",
        report.join("\n")
    );
    // The walk covered the whole shipped spec, not a subset.
    let documented: usize = operations
        .iter()
        .map(|op| {
            op.responses
                .iter()
                .filter(|r| matches!(r.status, StatusKey::Code(_)))
                .count()
        })
        .sum();
    assert_eq!(table.len(), documented);
    assert!(documented >= 20, "{documented}");
    server.stop().await;
}
