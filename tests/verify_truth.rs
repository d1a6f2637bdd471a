//! Verify, the journal and sessions tell the truth: a call the mock refused
//! does not verify a client test (unless asked for), clearing the journal
//! does not clear the run's contract verdict, and a session nobody named is
//! not described as one where the client made no calls.

mod common;

use std::net::SocketAddr;

use common::*;
use http::Method;
use serde_json::{json, Value};
use specmock::internal::Behaviour;

const VANITY: &str = "/user/update/vanity";

async fn post(addr: SocketAddr, session: &str, path: &str, body: &str) -> Reply {
    let headers = in_session(session, &[("content-type", "application/json")]);
    send(addr, Method::POST, path, &headers, body.as_bytes()).await
}

/// A valid vanity update in `session`, moved to the `vanity-taken` scenario:
/// the first such call in a session answers 409, the next 200.
async fn vanity_taken(addr: SocketAddr, session: &str) -> Reply {
    let headers = in_session(
        session,
        &[
            ("content-type", "application/json"),
            ("x-mock-scenario", "vanity-taken"),
        ],
    );
    let body = vanity_body("qa-walker");
    send(addr, Method::POST, VANITY, &headers, body.as_bytes()).await
}

async fn verify(addr: SocketAddr, check: Value) -> Reply {
    let headers = [("content-type", "application/json")];
    send(
        addr,
        Method::POST,
        "/__mock/verify",
        &headers,
        check.to_string().as_bytes(),
    )
    .await
}

/// The pointers of each listed refused call's violations.
fn refused_pointers(verdict: &Value) -> Vec<Vec<String>> {
    verdict["refused_entries"]
        .as_array()
        .unwrap_or_else(|| panic!("refused calls are listed: {verdict:#}"))
        .iter()
        .map(|entry| {
            let mut pointers: Vec<String> = entry["violations"]
                .as_array()
                .expect("violations")
                .iter()
                .map(|v| v["pointer"].as_str().expect("a pointer").to_string())
                .collect();
            pointers.sort();
            pointers
        })
        .collect()
}

#[tokio::test]
async fn a_call_the_mock_refused_does_not_verify() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    let refused = post(addr, "v1", VANITY, r#"{"vanityname":"qa-walker"}"#).await;
    refused.assert_problem(400, "invalid-request", "validator");

    let check =
        json!({"operation": "user-update-vanity", "session": "v1", "body": {"vanityname": "qa-walker"}, "count": 1});
    let reply = verify(addr, check).await;
    let problem = reply.assert_problem(417, "verification-failed", "admin");
    assert_eq!((&problem["verified"], &problem["matched"]), (&json!(false), &json!(0)));
    assert_eq!(problem["refused"], 1, "{problem:#}");
    assert_eq!(refused_pointers(&problem), vec![vec!["/body/aesthetics", "/body/id"]]);
    let detail = problem["detail"].as_str().expect("a detail");
    assert!(
        detail.starts_with("expected exactly 1 call of `user-update-vanity`"),
        "{detail}"
    );
    assert!(detail.contains("; 0 matched; refused: 1 ("), "{detail}");
    assert!(
        detail.contains("/body/aesthetics") && detail.contains("/body/id"),
        "each refused call with its violations: {detail}"
    );
    // The refused call is the closest, and says why it does not count.
    let closest = &problem["closest"][0];
    assert_eq!(closest["entry"]["status"], 400, "{problem:#}");
    let differences = closest["differences"].as_array().expect("differences");
    assert_eq!(differences.len(), 1, "{closest:#}");
    assert!(
        differences[0].as_str().unwrap().starts_with("refused: answered 400"),
        "{closest:#}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_verification_that_holds_lists_the_refused_calls_beside_it() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    assert_eq!(post(addr, "v2", VANITY, &vanity_body("qa-walker")).await.status, 200);
    assert_eq!(
        post(addr, "v2", VANITY, r#"{"vanityname":"qa-walker"}"#).await.status,
        400
    );

    let check =
        json!({"operation": "user-update-vanity", "session": "v2", "body": {"vanityname": "qa-walker"}, "count": 1});
    let reply = verify(addr, check).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let verdict = reply.json();
    assert_eq!(
        (&verdict["matched"], &verdict["refused"]),
        (&json!(1), &json!(1)),
        "{verdict:#}"
    );
    assert_eq!(verdict["entries"][0]["status"], 200);
    assert_eq!(refused_pointers(&verdict), vec![vec!["/body/aesthetics", "/body/id"]]);

    // Nothing refused: the answer says so, with an empty list.
    let snapshot = verify(addr, json!({"operation": "user-snapshot", "count": 0})).await;
    assert_eq!(snapshot.status, 200, "{}", snapshot.text());
    assert_eq!(
        (&snapshot.json()["refused"], &snapshot.json()["refused_entries"]),
        (&json!(0), &json!([]))
    );
    server.stop().await;
}

#[tokio::test]
async fn refused_true_counts_the_refused_calls_instead() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    assert_eq!(
        post(addr, "v3", VANITY, r#"{"vanityname":"qa-walker"}"#).await.status,
        400
    );
    assert_eq!(post(addr, "v3", VANITY, &vanity_body("qa-walker")).await.status, 200);

    let check = json!({"operation": "user-update-vanity", "session": "v3", "refused": true, "count": 1});
    let reply = verify(addr, check).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let verdict = reply.json();
    assert_eq!(verdict["matched"], 1, "{verdict:#}");
    assert_eq!(verdict["entries"][0]["status"], 400);
    assert!(
        verdict["expected"]
            .as_str()
            .unwrap()
            .ends_with("that broke the contract"),
        "{verdict:#}"
    );

    let none = json!({"operation": "user-snapshot", "refused": true, "at_least": 1});
    let problem = verify(addr, none)
        .await
        .assert_problem(417, "verification-failed", "admin");
    assert_eq!(problem["matched"], 0);
    // Explicitly false is the default.
    let abiding = json!({"operation": "user-update-vanity", "session": "v3", "refused": false, "count": 1});
    assert_eq!(verify(addr, abiding).await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn status_narrows_a_verification_to_the_answer_given() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    let first = vanity_taken(addr, "taken").await;
    assert_eq!(first.status, 409, "{}", first.text());
    let retry = vanity_taken(addr, "taken").await;
    assert_eq!(retry.status, 200, "{}", retry.text());

    for (status, count) in [(409, 1), (200, 1), (500, 0)] {
        let check = json!({"operation": "user-update-vanity", "session": "taken", "status": status, "count": count});
        let reply = verify(addr, check).await;
        assert_eq!(reply.status, 200, "status {status}: {}", reply.text());
        assert!(
            reply.json()["expected"]
                .as_str()
                .unwrap()
                .ends_with(&format!("answered {status}")),
            "{}",
            reply.text()
        );
    }
    let wrong = json!({"operation": "user-update-vanity", "session": "taken", "status": 201});
    let problem = verify(addr, wrong)
        .await
        .assert_problem(417, "verification-failed", "admin");
    assert!(
        problem["closest"][0]["differences"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d.as_str().unwrap().starts_with("status: expected 201, received ")),
        "{problem:#}"
    );
    let malformed = verify(addr, json!({"operation": "user-snapshot", "status": "ok"})).await;
    malformed.assert_problem(400, "admin-bad-request", "admin");
    server.stop().await;
}

#[tokio::test]
async fn under_lenient_a_call_that_broke_the_contract_does_not_verify_either() {
    let behaviour = Behaviour {
        lenient: true,
        ..Behaviour::default()
    };
    let server = start(shipped_scenario_app(behaviour)).await;
    let addr = server.address();
    let served = post(addr, "lenient", VANITY, r#"{"vanityname":"qa-walker"}"#).await;
    assert_eq!(served.status, 200, "{}", served.text());
    assert_eq!(served.header("x-mock-violations"), Some("2"));
    let abiding = json!({"operation": "user-update-vanity", "session": "lenient", "count": 0});
    let reply = verify(addr, abiding).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["refused"], 1);
    let broke = json!({"operation": "user-update-vanity", "session": "lenient", "refused": true, "count": 1});
    assert_eq!(verify(addr, broke).await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn clearing_the_journal_keeps_the_runs_contract_verdict() {
    let dir = TempDir::new("clear-keeps-verdict");
    let report = dir.path().join("out.xml");
    let report_arg = report.display().to_string();
    let mut binary = Binary::start(
        &["--port", "0", "--fail-on-violation", "--report", &report_arg],
        dir.path(),
    );
    let addr = binary.addr;
    let invalid = post(addr, "ci", "/user/update", r#"{"id": 5}"#).await;
    invalid.assert_problem(400, "invalid-request", "validator");
    let cleared = send(addr, Method::DELETE, "/__mock/journal", &[], b"").await;
    assert_eq!((cleared.status, cleared.json()), (200, json!({"cleared": 1})));
    // What a test reads is cleared ...
    let page = get(addr, "/__mock/journal").await.json();
    assert_eq!((&page["total"], &page["entries"]), (&json!(0), &json!([])));
    assert_eq!(get(addr, "/__mock/violations").await.json()["violating_requests"], 0);

    // ... the verdict of the run is not.
    binary.terminate();
    assert_eq!(binary.wait_exit(), Some(1), "stderr:\n{}", binary.stderr());
    let stderr = binary.stderr_once("update-user: 1 of 1 calls");
    assert!(
        stderr.contains("specmock: 1 requests, 1 broke the contract"),
        "{stderr}"
    );
    assert!(stderr.contains("update-user: 1 of 1 calls"), "{stderr}");
    let xml = std::fs::read_to_string(&report).expect("the report is written");
    assert!(xml.contains("<testsuites tests=\"1\" failures=\"1\">"), "{xml}");
    assert!(xml.contains("message=\"1 of 1 calls broke the contract\""), "{xml}");
}

#[tokio::test]
async fn a_session_nobody_named_is_unknown() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    let unknown = get(addr, "/__mock/sessions/never-used").await;
    let problem = unknown.assert_problem(404, "unknown-session", "admin");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("`never-used`") && detail.contains("expire"), "{detail}");
    assert_eq!(problem["session"], "never-used", "{problem:#}");

    let put = send(
        addr,
        Method::PUT,
        "/__mock/sessions/made-by-put/scenario",
        &[("content-type", "application/json")],
        br#"{"name":"vanity-taken"}"#,
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text());
    let reset = send(addr, Method::POST, "/__mock/sessions/made-by-reset/reset", &[], b"").await;
    assert_eq!(reset.status, 200, "{}", reset.text());
    assert_eq!(
        send(addr, Method::GET, "/user", &in_session("made-by-call", &[]), b"")
            .await
            .status,
        200
    );
    // A call the mock refused still named its session.
    assert_eq!(post(addr, "made-by-refusal", VANITY, "{}").await.status, 400);
    for session in ["made-by-put", "made-by-reset", "made-by-call", "made-by-refusal"] {
        let described = get(addr, &format!("/__mock/sessions/{session}")).await;
        assert_eq!(described.status, 200, "{session}: {}", described.text());
        assert_eq!(described.json()["session"], session);
    }
    // Looking did not create it.
    get(addr, "/__mock/sessions/never-used")
        .await
        .assert_problem(404, "unknown-session", "admin");
    server.stop().await;
}

#[tokio::test]
async fn counters_name_their_rule() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    let taken = vanity_taken(addr, "labelled").await;
    assert_eq!(taken.status, 409, "{}", taken.text());
    let entry = get(addr, "/__mock/journal?session=labelled").await.json()["entries"][0].clone();
    let rule = entry["rule"].as_str().expect("a rule answered").to_string();

    let described = get(addr, "/__mock/sessions/labelled").await.json();
    let counters = described["counters"].as_array().expect("counters");
    let scenarios = get(addr, "/__mock/scenarios").await.json();
    let rules = scenarios["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "vanity-taken")
        .expect("vanity-taken is listed")["rules"]
        .clone();
    assert_eq!(json!(counters.len()), rules, "one counter per rule");
    assert_eq!(
        counters[0],
        json!({"rule": rule, "operation": "user-update-vanity", "calls": 1}),
        "{described:#}"
    );
    assert!(rule.ends_with("vanity-taken.yaml rules[0]"), "{rule}");
    let called: Vec<&Value> = counters.iter().filter(|c| c["calls"] != 0).collect();
    assert_eq!(called.len(), 1, "{described:#}");
    let mut labels: Vec<&str> = counters.iter().map(|c| c["rule"].as_str().expect("a label")).collect();
    labels.sort();
    labels.dedup();
    assert_eq!(labels.len(), counters.len(), "each rule is named apart: {described:#}");
    server.stop().await;
}

/// The journal entry of the session's only request.
async fn only_entry(addr: SocketAddr, session: &str) -> Value {
    let page = get(addr, &format!("/__mock/journal?session={session}")).await.json();
    assert_eq!(page["matched"], 1, "{page:#}");
    page["entries"][0].clone()
}

/// Expecting the session's one call of `operation`, which was refused, is a
/// 417 that matches nothing and counts the refusal; returns the problem.
async fn refused_call_does_not_verify(addr: SocketAddr, operation: &str, session: &str) -> Value {
    let check = json!({"operation": operation, "session": session, "count": 1});
    let problem = verify(addr, check)
        .await
        .assert_problem(417, "verification-failed", "admin");
    assert_eq!(
        (&problem["matched"], &problem["refused"]),
        (&json!(0), &json!(1)),
        "{problem:#}"
    );
    problem
}

#[tokio::test]
async fn a_plain_get_on_a_websocket_operation_is_refused_and_does_not_verify() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    let plain = send(addr, Method::GET, "/user/stream", &in_session("w1", &[]), b"").await;
    plain.assert_problem(426, "upgrade-required", "router");
    let entry = only_entry(addr, "w1").await;
    assert_eq!(
        (&entry["refused"], &entry["status"]),
        (&json!(true), &json!(426)),
        "{entry:#}"
    );

    let problem = refused_call_does_not_verify(addr, "stream-user", "w1").await;
    let detail = problem["detail"].as_str().expect("a detail");
    assert!(detail.contains("refused: 1 (request #"), "{detail}");
    let counted = json!({"operation": "stream-user", "session": "w1", "refused": true, "count": 1});
    assert_eq!(verify(addr, counted).await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn a_call_naming_an_unknown_scenario_is_refused_and_does_not_verify() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    let headers = in_session("w2", &[("x-mock-scenario", "no-such-scenario")]);
    let refused = send(addr, Method::GET, "/user", &headers, b"").await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    let entry = only_entry(addr, "w2").await;
    assert_eq!(
        (&entry["refused"], &entry["violations"]),
        (&json!(true), &json!([])),
        "{entry:#}"
    );

    let problem = refused_call_does_not_verify(addr, "user-snapshot", "w2").await;
    let differences = problem["closest"][0]["differences"].as_array().expect("differences");
    assert!(
        differences[0].as_str().unwrap().starts_with("refused: answered 400"),
        "{problem:#}"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_answered_call_is_not_refused() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    assert_eq!(
        send(addr, Method::GET, "/user", &in_session("w3", &[]), b"")
            .await
            .status,
        200
    );
    assert_eq!(only_entry(addr, "w3").await["refused"], json!(false));
    server.stop().await;
}

#[tokio::test]
async fn journal_ids_keep_counting_after_a_clear() {
    let dir = TempDir::new("ids-after-clear");
    let report = dir.path().join("out.xml");
    let report_arg = report.display().to_string();
    let mut binary = Binary::start(&["--port", "0", "--report", &report_arg], dir.path());
    let addr = binary.addr;
    post(addr, "ids", "/user/update", r#"{"id": 5}"#)
        .await
        .assert_problem(400, "invalid-request", "validator");
    let before = only_entry(addr, "ids").await["id"].clone();
    let cleared = send(addr, Method::DELETE, "/__mock/journal", &[], b"").await;
    assert_eq!(cleared.status, 200, "{}", cleared.text());
    post(addr, "ids", "/user/update", r#"{"id": 6}"#)
        .await
        .assert_problem(400, "invalid-request", "validator");
    let after = only_entry(addr, "ids").await["id"].clone();
    assert_eq!((&before, &after), (&json!(1), &json!(2)));

    binary.terminate();
    binary.wait_exit();
    let xml = std::fs::read_to_string(&report).expect("the report is written");
    assert!(
        xml.contains("request #1: ") && xml.contains("request #2: "),
        "each request under its own id: {xml}"
    );
}
