//! The per-request log line says what it said before (text and JSON), and
//! none is lost: every request has its line when SIGTERM comes.

mod common;

use common::*;
use serde_json::Value;

/// `2026-12-06T05:10:33.966799Z  INFO specmock::request: ` and the rest.
fn text_fields(line: &str) -> &str {
    let (time, rest) = line
        .split_once("Z  INFO specmock::request: ")
        .unwrap_or_else(|| panic!("{line}"));
    assert!(
        specmock::internal::rfc3339::parse(&format!("{time}Z")).is_some(),
        "{line}"
    );
    rest
}

/// Drops the `latency_us` value, which differs every run.
fn without_latency(fields: &str) -> String {
    let (head, latency) = fields.rsplit_once(" latency_us=").unwrap_or_else(|| panic!("{fields}"));
    assert!(latency.parse::<u64>().is_ok(), "{fields}");
    format!("{head} latency_us=N")
}

#[tokio::test]
async fn every_request_has_its_line_when_sigterm_comes() {
    const REQUESTS: usize = 300;
    let mut binary = Binary::start(&["--port", "0"], &repo_root());
    for _ in 0..REQUESTS / 3 {
        assert_eq!(get(binary.addr, "/user").await.status, 200);
        assert_eq!(get(binary.addr, "/nope?x=1").await.status, 404);
        let refused = post_json(binary.addr, "/user/update", "{}").await;
        assert_eq!(refused.status, 400);
    }
    binary.terminate();
    assert_eq!(binary.wait_exit(), Some(0));
    let stderr = binary.stderr_once("broke the contract");
    let lines: Vec<String> = stderr
        .lines()
        .filter(|line| line.contains(" specmock::request: "))
        .map(|line| without_latency(text_fields(line)))
        .collect();
    assert_eq!(lines.len(), REQUESTS, "{stderr}");
    let expected = [
        r#"method=GET path=/user operation="user-snapshot" status=200 rule="scenarios/default.yaml rules[5]" fault="-" violations=0 latency_us=N"#,
        r#"method=GET path=/nope operation="-" status=404 rule="-" fault="-" violations=1 latency_us=N"#,
        r#"method=POST path=/user/update operation="update-user" status=400 rule="-" fault="-" violations=2 latency_us=N"#,
    ];
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line, expected[i % 3], "line {i}");
    }
    let last = stderr.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        format!("specmock: {REQUESTS} requests, {} broke the contract", REQUESTS / 3 * 2)
    );
}

#[tokio::test]
async fn json_lines_carry_the_same_fields() {
    let mut binary = Binary::start(&["--port", "0", "--log-format", "json"], &repo_root());
    assert_eq!(get(binary.addr, "/user").await.status, 200);
    binary.terminate();
    assert_eq!(binary.wait_exit(), Some(0));
    let stderr = binary.stderr_once("broke the contract");
    let line = stderr
        .lines()
        .find(|line| line.contains("specmock::request"))
        .unwrap_or_else(|| panic!("{stderr}"));
    let mut logged: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let time = logged["timestamp"].as_str().expect("a timestamp").to_string();
    assert!(specmock::internal::rfc3339::parse(&time).is_some(), "{line}");
    assert!(logged["latency_us"].is_u64(), "{line}");
    logged["timestamp"] = "T".into();
    logged["latency_us"] = 0.into();
    let keys: Vec<&str> = logged
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "timestamp",
            "level",
            "method",
            "path",
            "operation",
            "status",
            "rule",
            "fault",
            "violations",
            "latency_us",
            "target"
        ]
    );
    assert_eq!(
        logged,
        serde_json::json!({
            "timestamp": "T", "level": "INFO", "method": "GET", "path": "/user", "operation": "user-snapshot",
            "status": 200, "rule": "scenarios/default.yaml rules[5]", "fault": "-", "violations": 0,
            "latency_us": 0, "target": "specmock::request"
        })
    );
}
