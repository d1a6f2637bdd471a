//! Request validation on the shipped spec, over real HTTP: each class of
//! failure with its status, problem type, origin, detail and violations.

mod common;

use std::collections::BTreeSet;

use common::*;
use http::Method;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const MIB: usize = 1024 * 1024;
const VALID_PROFILE: &str = r#"{"id":"u-1","aesthetics":{"theme":{"dark":true},"font":{"size":12}}}"#;

fn pairs(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter().map(|(p, r)| (p.to_string(), r.to_string())).collect()
}

fn violation_set(reply: &Reply) -> BTreeSet<(String, String)> {
    reply.violations().into_iter().collect()
}

#[tokio::test]
async fn invalid_body_lists_every_violation() {
    let reply = post_json(
        shared_shipped().addr,
        "/user/update",
        r#"{"id":5,"aesthetics":{"theme":{}}}"#,
    )
    .await;
    let body = reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(
        violation_set(&reply),
        pairs(&[
            ("/body/id", "type"),
            ("/body/aesthetics/font", "required"),
            ("/body/aesthetics/theme/dark", "required"),
        ]),
        "{body:#}"
    );
    assert_eq!(reply.violations().len(), 3, "no duplicates: {body:#}");
    assert_eq!(body["detail"], "3 violations of the spec; see `violations`");
    assert_eq!(body["instance"], "/user/update");
    let id = body["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["pointer"] == "/body/id")
        .unwrap();
    assert_eq!(id["message"], "expected string, found integer");
}

#[tokio::test]
async fn a_single_violation_is_named_in_the_detail() {
    let reply = post_json(
        shared_shipped().addr,
        "/user/update",
        r#"{"id":"u","aesthetics":{"theme":{"dark":"yes"},"font":{"size":12}}}"#,
    )
    .await;
    let body = reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(
        reply.violations(),
        [("/body/aesthetics/theme/dark".into(), "type".into())]
    );
    assert_eq!(
        body["detail"],
        "/body/aesthetics/theme/dark: expected boolean, found string"
    );
}

#[tokio::test]
async fn enum_violation_lists_the_allowed_values() {
    let reply = post_json(
        shared_shipped().addr,
        "/user/update",
        r#"{"id":"u","aesthetics":{"theme":{"dark":true},"font":{"size":12}},"schema":{"migration":0,"semantic":"NOPE"}}"#,
    )
    .await;
    let body = reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/body/schema/semantic".into(), "enum".into())]);
    assert_eq!(
        body["violations"][0]["allowed"],
        json!(["UNKNOWN", "MAJOR_0_MINOR_0_PATCH_1"])
    );
    assert!(body["detail"].as_str().unwrap().contains("NOPE"), "{body:#}");
}

#[tokio::test]
async fn format_violations_are_reported() {
    let addr = shared_shipped().addr;
    let auth = [("authorization", "Bearer t"), ("content-type", "application/json")];
    let reply = send(
        addr,
        Method::POST,
        "/user/select",
        &auth,
        br#"{"email":"not-an-email","created_at":"yesterday"}"#,
    )
    .await;
    let body = reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(
        violation_set(&reply),
        pairs(&[("/body/email", "format"), ("/body/created_at", "format")]),
        "{body:#}"
    );
    let messages: Vec<&str> = body["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["message"].as_str().unwrap())
        .collect();
    assert!(messages.iter().any(|m| m.contains("date-time")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("email")), "{messages:?}");

    // The same fields well-formed pass.
    let ok = send(
        addr,
        Method::POST,
        "/user/select",
        &auth,
        br#"{"email":"a@example.com","created_at":"2024-03-18T09:41:27.512Z"}"#,
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text());

    // A format inside a nested $ref: Auth0UserMetadata.global_id is a uuid.
    let nested = send(
        addr,
        Method::POST,
        "/user/select",
        &auth,
        br#"{"user_metadata":{"global_id":"not-a-uuid"}}"#,
    )
    .await;
    nested.assert_problem(400, "invalid-request", "validator");
    assert_eq!(
        nested.violations(),
        [("/body/user_metadata/global_id".into(), "format".into())]
    );
}

#[tokio::test]
async fn json_syntax_error_is_malformed_body_with_line_and_column() {
    let reply = post_json(shared_shipped().addr, "/user/update", "{\n  \"id\": ,\n}").await;
    let body = reply.assert_problem(400, "malformed-body", "validator");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("line 2, column 9"), "{detail}");
    assert_eq!(reply.violations(), [("/body".into(), "syntax".into())]);
}

#[tokio::test]
async fn json_nested_too_deep_is_malformed_body() {
    let addr = shared_shipped().addr;
    let deep = format!(r#"{{"id":{}{}}}"#, "[".repeat(200), "]".repeat(200));
    let reply = post_json(addr, "/user/update", &deep).await;
    let body = reply.assert_problem(400, "malformed-body", "validator");
    assert!(
        body["detail"].as_str().unwrap().contains("nested deeper than"),
        "{body:#}"
    );
    assert_eq!(reply.violations(), [("/body".into(), "syntax".into())]);

    // Below the limit the nesting is fine as JSON and only breaks the schema.
    let shallow = format!(
        r#"{{"id":{}{},"aesthetics":{{"theme":{{"dark":true}},"font":{{"size":1}}}}}}"#,
        "[".repeat(50),
        "]".repeat(50)
    );
    let reply = post_json(addr, "/user/update", &shallow).await;
    reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/body/id".into(), "type".into())]);
}

#[tokio::test]
async fn null_body_where_an_object_is_expected_is_400() {
    let reply = post_json(shared_shipped().addr, "/user/update", "null").await;
    reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/body".into(), "type".into())]);
}

#[tokio::test]
async fn a_body_on_an_operation_without_request_body_is_400() {
    let addr = shared_shipped().addr;
    let reply = post_json(addr, "/user/clear", "{}").await;
    let body = reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/body".into(), "absent".into())]);
    assert!(body["detail"].as_str().unwrap().contains("2 bytes"), "{body:#}");

    let reply = send(addr, Method::GET, "/user", &[], b"x").await;
    reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/body".into(), "absent".into())]);
}

#[tokio::test]
async fn a_body_without_content_type_is_415() {
    let reply = send(
        shared_shipped().addr,
        Method::POST,
        "/user/update",
        &[],
        VALID_PROFILE.as_bytes(),
    )
    .await;
    let body = reply.assert_problem(415, "unsupported-media-type", "validator");
    assert_eq!(body["supported_media_types"], json!(["application/json"]));
    assert!(body["detail"].as_str().unwrap().contains("no Content-Type"), "{body:#}");
}

#[tokio::test]
async fn a_wrong_content_type_is_415_listing_the_supported_ones() {
    let addr = shared_shipped().addr;
    for content_type in ["text/plain", "application/xml", "application/merge-patch+json"] {
        let reply = send(
            addr,
            Method::POST,
            "/user/update",
            &[("content-type", content_type)],
            VALID_PROFILE.as_bytes(),
        )
        .await;
        let body = reply.assert_problem(415, "unsupported-media-type", "validator");
        assert_eq!(body["supported_media_types"], json!(["application/json"]));
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.contains(content_type) && detail.contains("application/json"),
            "{detail}"
        );
    }
    // Media type parameters and case do not matter.
    let reply = send(
        addr,
        Method::POST,
        "/user/update",
        &[("content-type", "Application/JSON; charset=utf-8")],
        VALID_PROFILE.as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[tokio::test]
async fn an_empty_body_is_fine_where_the_body_is_optional() {
    let addr = shared_shipped().addr;
    let reply = post_json(addr, "/user/update", "").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.json()["id"].is_string());

    let reply = send(addr, Method::POST, "/user/update", &[], b"").await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn select_user_needs_an_authorization_header() {
    let addr = shared_shipped().addr;
    let missing = send(addr, Method::POST, "/user/select", &[], b"").await;
    let body = missing.assert_problem(401, "unauthorized", "validator");
    let challenge = missing.header("www-authenticate").expect("WWW-Authenticate");
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert!(body["detail"].as_str().unwrap().contains("auth0"), "{body:#}");

    // OAuth2: any Authorization header with a token will do, with or without "Bearer".
    for value in ["tok", "Bearer tok"] {
        let reply = send(addr, Method::POST, "/user/select", &[("authorization", value)], b"").await;
        assert_eq!(reply.status, 200, "Authorization: {value}: {}", reply.text());
        assert!(reply.json()["id"].is_string());
    }

    // Missing credentials are reported before the body is even looked at.
    let both = send(
        addr,
        Method::POST,
        "/user/select",
        &[("content-type", "application/json")],
        b"{",
    )
    .await;
    both.assert_problem(401, "unauthorized", "validator");
}

#[tokio::test]
async fn a_body_over_the_limit_with_content_length_is_413() {
    let addr = shared_shipped().addr;
    // The declared length alone is enough: the server refuses without reading.
    let head = format!(
        "POST /user/update HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        MIB + 1
    );
    let reply = raw(addr, head.as_bytes()).await;
    let body = reply.assert_problem(413, "payload-too-large", "validator");
    assert_eq!(body["max_body_bytes"], MIB);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));

    // Exactly at the limit is accepted (whitespace after JSON is still JSON).
    let mut at_limit = VALID_PROFILE.as_bytes().to_vec();
    at_limit.resize(MIB, b' ');
    let reply = send(
        addr,
        Method::POST,
        "/user/update",
        &[("content-type", "application/json")],
        &at_limit,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413() {
    let addr = shared_shipped().addr;
    let exchange = async {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (mut reader, mut writer) = stream.into_split();
        let writing = tokio::spawn(async move {
            let head = "POST /user/update HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
            writer.write_all(head.as_bytes()).await?;
            let chunk = vec![b' '; 64 * 1024];
            // 17 chunks of 64 KiB: one past 1 MiB. The server may stop reading
            // (and close) once it has refused, so write errors are expected.
            for _ in 0..17 {
                writer.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await?;
                writer.write_all(&chunk).await?;
                writer.write_all(b"\r\n").await?;
            }
            writer.write_all(b"0\r\n\r\n").await?;
            std::io::Result::Ok(())
        });
        let reply = read_reply(&mut reader).await;
        let _ = writing.await;
        reply
    };
    let reply = tokio::time::timeout(IO_TIMEOUT, exchange).await.expect("no timeout");
    let body = reply.assert_problem(413, "payload-too-large", "validator");
    assert_eq!(body["max_body_bytes"], MIB);
}

#[tokio::test]
async fn accept_text_html_never_gives_406() {
    let addr = shared_shipped().addr;
    let html = [("accept", "text/html")];
    let reply = send(addr, Method::GET, "/user", &html, b"").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));

    let reply = send(addr, Method::GET, "/.well-known/health", &html, b"").await;
    assert_eq!(reply.status, 200);

    let reply = send(
        addr,
        Method::POST,
        "/user/update",
        &[("accept", "text/html"), ("content-type", "application/json")],
        b"null",
    )
    .await;
    reply.assert_problem(400, "invalid-request", "validator");
}

/// Every request example the spec declares is accepted as it stands.
#[tokio::test]
async fn every_request_example_in_the_spec_is_accepted() {
    let shared = shared_shipped();
    let mut sent = 0;
    for operation in &shared.operations {
        let Some(body) = &operation.request_body else { continue };
        for media in &body.content {
            for (name, example) in &media.examples {
                let reply = send(
                    shared.addr,
                    operation.method.clone(),
                    &operation.path,
                    &[("authorization", "Bearer t"), ("content-type", &media.media_type)],
                    &serde_json::to_vec(example).unwrap(),
                )
                .await;
                assert_eq!(reply.status, 200, "{} example `{name}`: {}", operation.id, reply.text());
                sent += 1;
            }
        }
    }
    assert_eq!(sent, 4);
}

#[tokio::test]
async fn query_and_path_encoding_errors_are_400() {
    let addr = shared_shipped().addr;
    let reply = get(addr, "/user?x=%zz").await;
    reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/query".into(), "encoding".into())]);

    // Undeclared query parameters are not the mock's business.
    assert_eq!(get(addr, "/user?debug=1").await.status, 200);
    // A percent-encoded literal segment still routes.
    assert_eq!(get(addr, "/%75ser").await.status, 200);
}

#[tokio::test]
async fn problem_documents_are_well_formed_json() {
    let reply = post_json(shared_shipped().addr, "/user/update", "[1]").await;
    let body: Value = reply.assert_problem(400, "invalid-request", "validator");
    for key in ["type", "title", "status", "detail", "instance", "violations"] {
        assert!(body.get(key).is_some(), "missing `{key}`: {body:#}");
    }
    for violation in body["violations"].as_array().unwrap() {
        assert!(violation["pointer"].as_str().unwrap().starts_with("/body"));
        assert!(violation["message"].is_string());
    }
}
