//! Numbers and key order come back exactly as the client wrote them: an
//! integer of any size, `1.50` as `1.50`, an object's keys in the order they
//! were sent, and "the first example" as the first one the spec declares.

mod common;

use common::*;
use futures_util::StreamExt;
use http::Method;
use serde_json::Value;
use specmock::internal::Behaviour;

/// A valid OpenAPI `integer` (no bounds in the schema) far beyond 64 bits.
const HUGE: &str = "316999888889838852905107456";

/// The shipped full profile with `HUGE` as its `schema.migration`, and its
/// top-level keys in reverse order (so no sorted map can reproduce them).
fn reordered_profile_with_huge_migration() -> (String, Vec<String>) {
    let text = std::fs::read_to_string(repo_root().join("fixtures/user-signed-in.json")).expect("the profile");
    let profile: Value = serde_json::from_str(&text).expect("JSON");
    let Value::Object(fields) = profile else {
        panic!("an object")
    };
    let keys: Vec<String> = fields.keys().rev().cloned().collect();
    let mut body = String::from("{");
    for (index, key) in keys.iter().enumerate() {
        if index > 0 {
            body.push(',');
        }
        let value = if key == "schema" {
            format!(r#"{{"migration": {HUGE}, "semantic": "MAJOR_0_MINOR_0_PATCH_1"}}"#)
        } else {
            fields[key].to_string()
        };
        body.push_str(&format!("{}:{value}", Value::String(key.clone())));
    }
    body.push('}');
    (body, keys)
}

/// The positions of `keys` (as `"key":`) in `text`, after `from`, in the order found.
fn in_written_order(text: &str, from: usize, keys: &[String]) -> bool {
    let mut at = from;
    for key in keys {
        match text[at..].find(&format!("\"{key}\":")) {
            Some(found) => at += found + 1,
            None => return false,
        }
    }
    true
}

#[tokio::test]
async fn a_stored_integer_beyond_64_bits_comes_back_digit_for_digit_in_the_order_sent() {
    let scenarios = scenario_sources(&repo_root().join("scenarios"));
    let (app, _) = build_shipped_with_scenarios(scenarios, Some("default")).unwrap_or_else(|e| panic!("{e}"));
    let server = start(app).await;
    let addr = server.address();
    let session = [("x-mock-session", "huge")];
    let (body, keys) = reordered_profile_with_huge_migration();
    let mut headers = session.to_vec();
    headers.push(("content-type", "application/json"));
    let update = send(addr, Method::POST, "/user/update", &headers, body.as_bytes()).await;
    assert_eq!(update.status, 200, "{}", update.text());

    let mut replies = vec![("/user/update", None, update)];
    for (path, user_at) in [
        ("/user", Some("\"user\":")),
        ("/user/refresh", None),
        ("/user/providers", Some("\"user\":")),
    ] {
        replies.push((path, user_at, send(addr, Method::GET, path, &session, b"").await));
    }
    for (path, user_at, reply) in &replies {
        let text = reply.text();
        assert_eq!(reply.status, 200, "{path}: {text}");
        assert!(
            text.contains(&format!("\"migration\":{HUGE}")),
            "{path} lost digits: {text:.300}"
        );
        assert!(!text.contains("e+26"), "{path}: {text:.300}");
        let from = user_at.map_or(0, |marker| text.find(marker).expect("the user") + marker.len());
        assert!(
            in_written_order(text, from, &keys),
            "{path} reordered the keys: {text:.400}"
        );
    }

    let mut ws = ws_open(addr, "/user/stream?__session=huge", &[]).await;
    let frame = match ws.next().await {
        Some(Ok(message)) => message.into_text().expect("a text frame").to_string(),
        other => panic!("no first frame: {other:?}"),
    };
    assert!(
        frame.contains(&format!("\"migration\":{HUGE}")),
        "the stream lost digits: {frame:.300}"
    );
    assert!(
        in_written_order(&frame, 0, &keys),
        "the stream reordered the keys: {frame:.400}"
    );

    let journal = get(addr, "/__mock/journal?session=huge&operation=update-user").await;
    assert!(
        journal.text().contains(HUGE),
        "the journal lost digits: {:.300}",
        journal.text()
    );
}

#[tokio::test]
async fn a_decimal_keeps_its_trailing_zero_in_the_journal_and_a_scenario_echo() {
    let dir = TempDir::new("numbers");
    let spec = std::fs::read_to_string(specs_dir().join("petstore.yaml")).expect("petstore");
    dir.write("openapi.yaml", &spec);
    dir.write(
        "pet-schemas.yaml",
        &std::fs::read_to_string(specs_dir().join("pet-schemas.yaml")).unwrap(),
    );
    let scenarios = dir.path().join("scenarios");
    std::fs::create_dir_all(&scenarios).unwrap();
    std::fs::write(
        scenarios.join("echo.yaml"),
        "rules:\n  - when: { operation: createPet, body: { weight: 1.5 } }\n    respond: { status: 201, body: { from: request.body, merge: { id: \"{{uuid}}\" } } }\n",
    )
    .unwrap();
    let spec_path = dir.path().join("openapi.yaml");
    let binary = Binary::start(
        &[
            "--port",
            "0",
            "--spec",
            spec_path.to_str().unwrap(),
            "--scenarios",
            scenarios.to_str().unwrap(),
            "--scenario",
            "echo",
        ],
        dir.path(),
    );
    let body = br#"{"name": "Rex", "weight": 1.50, "petType": "dog"}"#;
    let reply = send(
        binary.addr,
        Method::POST,
        "/v1/pets",
        &[("content-type", "application/json")],
        body,
    )
    .await;
    assert_eq!(
        reply.status,
        201,
        "the rule (weight 1.5) matches 1.50: {}",
        reply.text()
    );
    assert!(reply.text().contains("\"weight\":1.50"), "{}", reply.text());
    assert!(
        reply.text().find("\"name\"") < reply.text().find("\"weight\""),
        "{}",
        reply.text()
    );
    let journal = get(binary.addr, "/__mock/journal?operation=createPet").await;
    assert!(journal.text().contains("\"weight\":1.50"), "{}", journal.text());
}

#[tokio::test]
async fn the_first_example_is_the_first_one_the_spec_declares() {
    let dir = TempDir::new("examples-order");
    let spec = dir.write(
        "openapi.yaml",
        r#"openapi: 3.0.3
info: { title: Examples, version: "1" }
paths:
  /greeting:
    get:
      operationId: greeting
      responses:
        "200":
          description: a greeting
          content:
            application/json:
              schema:
                type: object
                properties: { zulu: { type: string }, alpha: { type: string } }
              examples:
                zeta: { value: { zulu: first-declared, alpha: z } }
                alpha: { value: { zulu: second-declared, alpha: a } }
"#,
    );
    let (app, warnings) = app_from_file(&spec, None, 0, Behaviour::default());
    assert!(warnings.is_empty(), "{warnings:?}");
    let server = start(app).await;
    let reply = get(server.address(), "/greeting").await;
    assert_eq!(reply.text(), r#"{"zulu":"first-declared","alpha":"z"}"#);
}
