//! Verify, the journal and sessions tell the truth: a call the mock refused
//! does not verify a client test (unless asked for), clearing the journal
//! does not clear the run's contract verdict, and a session nobody named is
//! not described as one where the client made no calls.

mod common;

use std::net::SocketAddr;

use common::*;
use http::Method;
use serde_json::json;

async fn post(addr: SocketAddr, session: &str, path: &str, body: &str) -> Reply {
    let headers = in_session(session, &[("content-type", "application/json")]);
    send(addr, Method::POST, path, &headers, body.as_bytes()).await
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
