//! The README's scenario example is a real scenario: `specmock check` loads
//! it beside the shipped ones with no problem, and the request its rule
//! waits for is one the shipped spec accepts, answered by that rule.

mod common;

use common::*;
use http::Method;
use serde_json::Value;
use specmock::internal::spec::parse::{parse_document, NodeBudget};

/// The first YAML block under "### File format": (its file name, from the
/// comment on its first line, and its text).
fn file_format_example() -> (String, String) {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("read README.md");
    let section = &readme[readme.find("\n### File format\n").expect("a File format section")..];
    let start = section.find("```yaml\n").expect("a YAML block") + "```yaml\n".len();
    let text = &section[start..start + section[start..].find("\n```").expect("a closed block") + 1];
    let first = text.lines().next().unwrap_or_default();
    let path = first
        .strip_prefix("# ")
        .expect("the block starts with `# scenarios/NAME.yaml`");
    let name = path.rsplit('/').next().expect("a file name");
    (name.to_string(), text.to_string())
}

/// The shipped scenarios with the README's example in place of the file of its name.
fn scenarios_with_the_example(dir: &TempDir) -> Value {
    let (name, text) = file_format_example();
    for entry in std::fs::read_dir(repo_root().join("scenarios")).expect("read scenarios/") {
        let path = entry.expect("an entry").path();
        let file = path.file_name().expect("a file name").to_string_lossy().into_owned();
        if file != name {
            dir.write(&file, &std::fs::read_to_string(&path).expect("read a shipped scenario"));
        }
    }
    dir.write(&name, &text);
    parse_document(&name, &text, NodeBudget::Scenario).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn the_readme_scenario_example_loads_and_answers_a_request_the_spec_accepts() {
    let dir = TempDir::new("readme-example");
    let example = scenarios_with_the_example(&dir);
    let scenarios = dir.path().display().to_string();
    let inputs = [
        "--spec",
        "openapi.yaml",
        "--fixtures",
        "fixtures",
        "--scenarios",
        &scenarios,
    ];
    let (code, stdout, stderr) = run_to_exit(&[&["check"], &inputs[..]].concat(), &repo_root());
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("\n0 problems, "), "{stdout}");

    let scenario = example["name"].as_str().expect("the example names its scenario");
    let rule = &example["rules"][0];
    let operation = rule["when"]["operation"].as_str().expect("an operation");
    assert_eq!(operation, "user-update-vanity", "the request below is that operation's");
    let body = serde_json::to_vec(&rule["when"]["body"]).expect("a JSON body");
    let mut headers = in_session(
        "readme",
        &[("x-mock-scenario", scenario), ("content-type", "application/json")],
    );
    for (name, value) in rule["when"]["headers"].as_object().into_iter().flatten() {
        headers.push((name.as_str(), value.as_str().expect("a header value")));
    }
    let binary = Binary::start(&[&["--port", "0"], &inputs[..]].concat(), &repo_root());
    // The rule answers each of its responses in turn: the request passed validation and matched.
    for (index, response) in rule["respond"]
        .as_array()
        .expect("a list of responses")
        .iter()
        .enumerate()
    {
        let reply = send(binary.addr, Method::POST, "/user/update/vanity", &headers, &body).await;
        assert_eq!(
            Some(u64::from(reply.status)),
            response["status"].as_u64(),
            "response {index}: {}",
            reply.text()
        );
    }
}

#[test]
fn the_readme_endpoint_table_names_every_operation_by_method_and_path() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("read README.md");
    let table = &readme[readme.find("\n| endpoint | operationId |").expect("the endpoint table") + 1..];
    let listed: Vec<(String, String)> = table
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|row| {
            let cells: Vec<&str> = row.split('|').map(|cell| cell.trim().trim_matches('`')).collect();
            (cells[1].to_string(), cells[2].to_string())
        })
        .collect();
    let shipped: Vec<(String, String)> = shipped_spec()
        .operations
        .iter()
        .map(|op| (format!("{} {}", op.method, op.path), op.id.clone()))
        .collect();
    let sorted = |mut rows: Vec<(String, String)>| {
        rows.sort();
        rows
    };
    assert_eq!(sorted(listed), sorted(shipped));
}
