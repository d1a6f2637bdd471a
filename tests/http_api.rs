//! The shipped Pieces OS User API over real HTTP: default responses, every
//! body the mock can send, routing, CORS and lenient mode.

mod common;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use http::Method;
use serde_json::{json, Value};
use specmock::internal::spec::{essence, MediaSpec, Operation, ResponseSpec, StatusKey};
use specmock::internal::Behaviour;

const TOKEN: (&str, &str) = ("authorization", "Bearer test-token");

/// Credentials only where the operation declares a security requirement.
fn auth_for(operation: &Operation) -> Vec<(&'static str, &'static str)> {
    if operation.security.is_empty() {
        Vec::new()
    } else {
        vec![TOKEN]
    }
}

/// The lowest declared 2xx code, computed from the spec without `default_response`.
fn lowest_2xx(operation: &Operation) -> u16 {
    operation
        .responses
        .iter()
        .filter_map(|r| match r.status {
            StatusKey::Code(code) if (200..300).contains(&code) => Some(code),
            _ => None,
        })
        .min()
        .unwrap_or_else(|| panic!("{} declares no 2xx", operation.id))
}

/// The media type the mock answers with: JSON when declared, else the first.
fn sent_media(response: &ResponseSpec) -> Option<&MediaSpec> {
    response
        .content
        .iter()
        .find(|m| m.media_type == "application/json" || m.media_type.ends_with("+json"))
        .or_else(|| response.content.first())
}

/// Parses a body as the media type says: JSON, or text as a JSON string.
fn body_value(media: &MediaSpec, body: &[u8]) -> Value {
    if media.media_type.ends_with("json") {
        serde_json::from_slice(body).expect("a JSON body")
    } else {
        Value::String(String::from_utf8(body.to_vec()).expect("a UTF-8 body"))
    }
}

/// Checks status, Content-Type and schema validity of one answered response.
fn check_answer(operation: &Operation, response: &ResponseSpec, expected_status: u16, reply: &Reply, head: bool) {
    let context = format!("{} {} -> {}", operation.method, operation.path, response.status);
    assert_eq!(
        reply.status,
        expected_status,
        "{context}: {}",
        String::from_utf8_lossy(&reply.body)
    );
    match sent_media(response) {
        None => {
            assert!(
                reply.body.is_empty(),
                "{context}: a response without content has a body"
            );
            assert_eq!(reply.header("content-type"), None, "{context}");
        }
        Some(media) => {
            let content_type = reply
                .header("content-type")
                .unwrap_or_else(|| panic!("{context}: no Content-Type"));
            assert_eq!(essence(content_type), media.media_type, "{context}");
            if media.media_type.starts_with("text/") {
                assert!(content_type.contains("charset=utf-8"), "{context}: {content_type}");
            }
            if head {
                assert!(reply.body.is_empty(), "{context}: HEAD answered with a body");
                return;
            }
            let value = body_value(media, &reply.body);
            let schema = media.schema.as_ref().expect("every shipped response has a schema");
            assert_valid(schema, &value, &context);
        }
    }
}

#[tokio::test]
async fn every_shipped_operation_answers_its_default_response() {
    let shared = shared_shipped();
    let mut seen = BTreeSet::new();
    for operation in &shared.operations {
        assert!(!operation.path.contains('{'), "the shipped spec has no templated paths");
        let default = operation.default_response().expect("a default response");
        assert_eq!(
            default.status,
            StatusKey::Code(lowest_2xx(operation)),
            "{}",
            operation.id
        );
        let reply = send(
            shared.addr,
            operation.method.clone(),
            &operation.path,
            &auth_for(operation),
            b"",
        )
        .await;
        if operation.websocket {
            // Its 200 describes the stream's messages (tests/streams.rs); plain HTTP gets 426.
            reply.assert_problem(426, "upgrade-required", "router");
            seen.insert(operation.id.as_str());
            continue;
        }
        check_answer(
            operation,
            default,
            lowest_2xx(operation),
            &reply,
            operation.method == Method::HEAD,
        );
        assert_eq!(
            reply.header("x-mock-origin"),
            None,
            "{}: a spec response is not a mock error",
            operation.id
        );
        seen.insert(operation.id.as_str());
    }
    let expected: BTreeSet<&str> = [
        "health",
        "health-head",
        "user-snapshot",
        "clear-user",
        "refresh-user",
        "select-user",
        "stream-user",
        "update-user",
        "user-beta-status",
        "user-providers",
        "user-update-vanity",
    ]
    .into_iter()
    .collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn shipped_default_bodies_carry_the_expected_facts() {
    let addr = shared_shipped().addr;

    let user = get(addr, "/user").await;
    assert_eq!(user.status, 200);
    let snapshot = user.json();
    let id = snapshot["user"]["id"].as_str().expect("GET /user has user.id");
    assert_eq!(
        id, "0b6f3c2e-8d41-4a7e-9c25-3f1e7d9a4b60",
        "the first example (signed-in) is served"
    );
    assert_eq!(snapshot["user"]["aesthetics"]["theme"]["dark"], true);

    let refreshed = get(addr, "/user/refresh").await.json();
    assert_eq!(refreshed["id"], id, "refresh answers the same signed-in user");
    assert_eq!(refreshed["email"], "jordan.rivera@example.com");

    let cleared = send(addr, Method::POST, "/user/clear", &[], b"").await;
    assert_eq!(cleared.status, 204);
    assert!(cleared.body.is_empty());
    assert_eq!(cleared.header("content-type"), None);

    let health = get(addr, "/.well-known/health").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.text(), "ok");
    assert_eq!(health.header("content-type"), Some("text/plain; charset=utf-8"));

    let probe = send(addr, Method::HEAD, "/.well-known/health", &[], b"").await;
    assert_eq!(probe.status, 200);
    assert!(probe.body.is_empty());

    // The lowest 2xx wins even where Pieces OS itself would answer 501.
    let providers = get(addr, "/user/providers").await;
    assert_eq!(providers.status, 200);
    assert_eq!(providers.json()["user"]["id"], id);

    let beta = send(addr, Method::POST, "/user/beta/status", &[], b"").await;
    assert_eq!(beta.status, 200);
    assert_eq!(beta.json()["auth0"]["vision"]["continuous"], true);
}

/// Builds a copy of the shipped spec in which each operation keeps only its
/// `rank`-th declared response (operations with fewer are dropped), so that
/// response becomes the one served by default. Request bodies are dropped:
/// they play no part in rendering and only slow compilation down.
fn spec_with_only_response(document: &Value, operations: &[Operation], rank: usize) -> Option<Value> {
    let mut derived = document.clone();
    let mut paths = serde_json::Map::new();
    for operation in operations.iter().filter(|op| op.responses.len() > rank) {
        let status = operation.responses[rank].status.to_string();
        let method = operation.method.as_str().to_ascii_lowercase();
        let mut raw = document["paths"][&operation.path][&method].clone();
        let response = raw["responses"][&status].clone();
        assert!(!response.is_null(), "{} has response {status}", operation.id);
        raw["responses"] = json!({ status: response });
        raw.as_object_mut().expect("an operation object").remove("requestBody");
        paths
            .entry(operation.path.clone())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("a path item")
            .insert(method, raw);
    }
    if paths.is_empty() {
        return None;
    }
    derived["paths"] = Value::Object(paths);
    Some(derived)
}

/// Only default responses are reachable over HTTP (`Responder` keeps the
/// others private), so every other declared response is made the default of a
/// derived spec and fetched from a real server; the body is checked against
/// the ORIGINAL spec's compiled schema and, where the spec gives an example,
/// against that example.
#[tokio::test]
async fn every_declared_response_body_validates_over_http() {
    let shared = shared_shipped();
    let text = std::fs::read_to_string(repo_root().join("openapi.yaml")).expect("read openapi.yaml");
    let document: Value = serde_saphyr::from_str(&text).expect("openapi.yaml is YAML");
    let dir = TempDir::new("derived");
    let mut checked = 0;
    for rank in 1.. {
        let Some(derived) = spec_with_only_response(&document, &shared.operations, rank) else {
            break;
        };
        let path = dir.write(
            &format!("derived-{rank}.json"),
            &serde_json::to_string(&derived).expect("serialize"),
        );
        let (app, warnings) = app_from_file(&path, None, 0, Behaviour::default());
        assert!(warnings.is_empty(), "rank {rank}: {warnings:#?}");
        let server = start(app).await;
        for operation in shared.operations.iter().filter(|op| op.responses.len() > rank) {
            let response = &operation.responses[rank];
            let reply = send(
                server.address(),
                operation.method.clone(),
                &operation.path,
                &auth_for(operation),
                b"",
            )
            .await;
            check_answer(operation, response, response.status.representative(), &reply, false);
            if let Some((_, Value::String(example))) = sent_media(response).and_then(|m| m.examples.first()) {
                assert_eq!(reply.text(), example, "{} {}", operation.id, response.status);
            }
            checked += 1;
        }
        server.stop().await;
    }
    // 500 of refresh; 500 + 511 of beta; 500 + 501 of providers; 404, 409, 500, 511 of vanity;
    // 426 of the stream.
    assert_eq!(checked, 10);
}

/// Through the public API: every example the spec declares for a response
/// validates (the responder sends the first valid one), and the generator
/// produces valid data for every response schema whatever the seed.
#[test]
fn every_declared_example_and_generated_body_validates() {
    let spec = shipped_spec();
    let mut schemas = 0;
    for operation in &spec.operations {
        for response in &operation.responses {
            for media in &response.content {
                let context = format!("{} {} {}", operation.id, response.status, media.media_type);
                let schema = media.schema.as_ref().expect("every shipped response has a schema");
                schemas += 1;
                for (name, example) in &media.examples {
                    assert_valid(schema, example, &format!("{context} example `{name}`"));
                }
                for seed in [0, 1, 2, 42, u64::MAX] {
                    let generated = specmock::internal::render::generate(&schema.document, seed);
                    assert_valid(schema, &generated, &format!("{context} generated with seed {seed}"));
                }
            }
        }
    }
    // 19, plus the stream's text message and its 426 problem.
    assert_eq!(schemas, 21);
}

#[tokio::test]
async fn unknown_path_is_404_with_the_closest_paths() {
    let reply = get(shared_shipped().addr, "/usr").await;
    let body = reply.assert_problem(404, "route-not-found", "router");
    let closest: Vec<&str> = body["closest_paths"]
        .as_array()
        .expect("closest_paths")
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(closest.first(), Some(&"/user"), "{body:#}");
    assert!(closest.len() <= 3);
    assert_eq!(body["instance"], "/usr");
    assert!(body["detail"].as_str().unwrap().contains("/usr"));

    let deeper = get(shared_shipped().addr, "/user/refresh/now?x=1").await;
    let body = deeper.assert_problem(404, "route-not-found", "router");
    assert_eq!(body["instance"], "/user/refresh/now?x=1");
    assert_eq!(body["closest_paths"][0], "/user/refresh");
}

#[tokio::test]
async fn wrong_method_is_405_with_an_allow_header() {
    let addr = shared_shipped().addr;
    let reply = send(addr, Method::DELETE, "/user", &[], b"").await;
    let body = reply.assert_problem(405, "method-not-allowed", "router");
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));
    assert_eq!(body["allowed_methods"], json!(["GET", "HEAD"]));

    let reply = get(addr, "/user/clear").await;
    reply.assert_problem(405, "method-not-allowed", "router");
    assert_eq!(reply.header("allow"), Some("POST"));

    // An explicit HEAD operation is listed once, beside its GET.
    let reply = send(addr, Method::PUT, "/.well-known/health", &[], b"").await;
    reply.assert_problem(405, "method-not-allowed", "router");
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));
}

#[tokio::test]
async fn head_on_a_get_path_answers_200_without_a_body() {
    let addr = shared_shipped().addr;
    let head = send(addr, Method::HEAD, "/user", &[], b"").await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-type"), Some("application/json"));

    // Seen on the wire, not through hyper's client (which never reads a HEAD body):
    // the head announces the GET's length, and nothing follows it.
    let get = send(addr, Method::GET, "/user/refresh", &[], b"").await;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"HEAD /user/refresh HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut wire = Vec::new();
    stream.read_to_end(&mut wire).await.unwrap();
    let wire = String::from_utf8(wire).unwrap();
    assert!(wire.starts_with("HTTP/1.1 200 OK\r\n"), "{wire}");
    assert!(wire.ends_with("\r\n\r\n"), "a HEAD response has no body: {wire:?}");
    assert!(
        wire.contains(&format!("content-length: {}\r\n", get.body.len())),
        "{wire}"
    );
}

#[tokio::test]
async fn cors_preflight_is_answered_with_allowed_methods_and_headers() {
    let addr = shared_shipped().addr;
    let reply = send(
        addr,
        Method::OPTIONS,
        "/user/update",
        &[
            ("origin", "http://app.example"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type, x-trace"),
        ],
        b"",
    )
    .await;
    assert_eq!(reply.status, 204);
    assert!(reply.body.is_empty());
    assert_eq!(reply.header("access-control-allow-methods"), Some("POST, OPTIONS"));
    assert_eq!(
        reply.header("access-control-allow-headers"),
        Some("content-type, x-trace")
    );
    assert_eq!(reply.header("access-control-allow-origin"), Some("http://app.example"));
    assert_eq!(reply.header("access-control-allow-credentials"), Some("true"));
    assert!(reply.header("access-control-max-age").is_some());

    let reply = send(
        addr,
        Method::OPTIONS,
        "/user",
        &[
            ("origin", "http://app.example"),
            ("access-control-request-method", "GET"),
        ],
        b"",
    )
    .await;
    assert_eq!(reply.status, 204);
    assert_eq!(reply.header("access-control-allow-methods"), Some("GET, HEAD, OPTIONS"));
    assert_eq!(reply.header("access-control-allow-headers"), Some("*"));

    // A preflight for a path the spec does not have is not invented.
    let reply = send(
        addr,
        Method::OPTIONS,
        "/nope",
        &[
            ("origin", "http://app.example"),
            ("access-control-request-method", "GET"),
        ],
        b"",
    )
    .await;
    reply.assert_problem(404, "route-not-found", "router");
}

#[tokio::test]
async fn cors_headers_ride_on_normal_and_error_responses() {
    let addr = shared_shipped().addr;
    let plain = get(addr, "/user").await;
    assert_eq!(plain.header("access-control-allow-origin"), Some("*"));
    let exposed = plain.header("access-control-expose-headers").expect("expose headers");
    assert!(exposed.contains("x-mock-origin") && exposed.contains("x-mock-violations"));

    let with_origin = send(addr, Method::GET, "/user", &[("origin", "http://app.example")], b"").await;
    assert_eq!(with_origin.status, 200);
    assert_eq!(
        with_origin.header("access-control-allow-origin"),
        Some("http://app.example")
    );
    assert_eq!(with_origin.header("vary"), Some("Origin"));

    let error = send(addr, Method::GET, "/usr", &[("origin", "http://app.example")], b"").await;
    assert_eq!(error.status, 404);
    assert_eq!(error.header("access-control-allow-origin"), Some("http://app.example"));
}

#[tokio::test]
async fn cors_can_be_turned_off() {
    let server = start(shipped_app(Behaviour {
        cors: false,
        ..Behaviour::default()
    }))
    .await;
    let addr = server.address();
    let plain = send(addr, Method::GET, "/user", &[("origin", "http://app.example")], b"").await;
    assert_eq!(plain.status, 200);
    let cors_headers: Vec<&str> = plain
        .headers
        .keys()
        .map(|k| k.as_str())
        .filter(|k| k.starts_with("access-control-"))
        .collect();
    assert!(cors_headers.is_empty(), "{cors_headers:?}");

    // No preflight answer: OPTIONS is just a method the path does not have.
    let preflight = send(
        addr,
        Method::OPTIONS,
        "/user",
        &[
            ("origin", "http://app.example"),
            ("access-control-request-method", "GET"),
        ],
        b"",
    )
    .await;
    preflight.assert_problem(405, "method-not-allowed", "router");
    assert!(preflight.header("access-control-allow-origin").is_none());
    assert!(preflight.header("access-control-allow-methods").is_none());
    server.stop().await;
}

#[tokio::test]
async fn lenient_mode_serves_the_normal_response_and_counts_violations() {
    let server = start(shipped_app(Behaviour {
        lenient: true,
        ..Behaviour::default()
    }))
    .await;
    let addr = server.address();
    let normal = get(addr, "/user/refresh").await.body;

    let invalid = post_json(addr, "/user/update", r#"{"id":5,"aesthetics":{"theme":{}}}"#).await;
    assert_eq!(invalid.status, 200);
    assert_eq!(invalid.header("x-mock-violations"), Some("3"));
    assert_eq!(invalid.body, normal, "the normal default body");

    let one = post_json(
        addr,
        "/user/update",
        r#"{"id":"u","aesthetics":{"theme":{"dark":1},"font":{"size":2}}}"#,
    )
    .await;
    assert_eq!(one.status, 200);
    assert_eq!(one.header("x-mock-violations"), Some("1"));

    let valid = post_json(
        addr,
        "/user/update",
        r#"{"id":"u","aesthetics":{"theme":{"dark":true},"font":{"size":2}}}"#,
    )
    .await;
    assert_eq!(valid.status, 200);
    assert_eq!(valid.header("x-mock-violations"), None);

    let malformed = post_json(addr, "/user/update", "{").await;
    assert_eq!(malformed.status, 200);
    assert_eq!(malformed.header("x-mock-violations"), Some("1"));

    let unauthenticated = send(addr, Method::POST, "/user/select", &[], b"").await;
    assert_eq!(unauthenticated.status, 200);
    assert_eq!(unauthenticated.header("x-mock-violations"), Some("1"));

    let cleared = post_json(addr, "/user/clear", "{}").await;
    assert_eq!(cleared.status, 204);
    assert_eq!(cleared.header("x-mock-violations"), Some("1"));

    // Routing is not a contract violation lenient mode can paper over.
    get(addr, "/usr").await.assert_problem(404, "route-not-found", "router");
    server.stop().await;
}

/// The ids and statuses the walk above relies on, so that a spec edit shows up here first.
#[test]
fn shipped_spec_shape_is_as_the_tests_assume() {
    let spec = shipped_spec();
    let statuses: BTreeMap<&str, Vec<String>> = spec
        .operations
        .iter()
        .map(|op| {
            (
                op.id.as_str(),
                op.responses.iter().map(|r| r.status.to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(statuses["user-update-vanity"], ["200", "404", "409", "500", "511"]);
    assert_eq!(statuses["clear-user"], ["204"]);
    let secured: Vec<&str> = spec
        .operations
        .iter()
        .filter(|op| !op.security.is_empty())
        .map(|op| op.id.as_str())
        .collect();
    assert_eq!(secured, ["select-user"]);
}
