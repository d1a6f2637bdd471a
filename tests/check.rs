//! `specmock check`, the real binary: the shipped files pass with a coverage
//! table; broken fixtures, scenarios, stream frames and examples are each a
//! problem at their exact position (exit 1), every one of a file; unreadable
//! inputs exit 2; the JSON and JUnit reports; `--strict`. Start-up prints
//! the same scenario problems (the first 50) and exits 2.

mod common;

use std::path::PathBuf;

use common::*;
use serde_json::Value;

const FILES: &str = "tests/check_files";

/// `specmock check ARGS` from the repository root: (exit code, stdout, stderr).
fn check(args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    run_to_exit(&all, &repo_root())
}

/// The small spec of `tests/check_files` with fixtures and the scenarios in `scenarios`.
fn small(scenarios: &str) -> Vec<String> {
    vec![
        "--spec".into(),
        format!("{FILES}/openapi.yaml"),
        "--fixtures".into(),
        format!("{FILES}/fixtures"),
        "--scenarios".into(),
        format!("{FILES}/{scenarios}"),
    ]
}

fn check_with(args: &[String], extra: &[&str]) -> (Option<i32>, String, String) {
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.extend_from_slice(extra);
    check(&all)
}

/// Runs of spaces collapsed, so table rows compare without their alignment.
fn squeezed(text: &str) -> String {
    text.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_has(haystack: &str, needles: &[&str]) {
    for needle in needles {
        assert!(haystack.contains(needle), "missing {needle:?} in:\n{haystack}");
    }
}

#[test]
fn the_shipped_files_are_consistent_and_every_status_is_reached() {
    let (code, stdout, stderr) = check(&[]);
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let table = squeezed(&stdout);
    assert_has(
        &table,
        &[
            "OPERATION STATUS REACHED BY",
            "user-update-vanity 409 vanity-taken rules[0] (state: signed-in)",
            "user-update-vanity 404 dns-not-ready rules[0] (state: signed-in)",
            "user-providers 501 providers-local rules[0]",
            "stream-user 426 plain HTTP request (the mock answers 426)",
            "clear-user 204 default rules[0], spec default (no rule)",
            "\n0 problems, 0 warnings",
        ],
    );
    // Rules `signed-out` inherits from `default` are listed once, under `default`.
    assert!(!table.contains("signed-out rules["), "{table}");
    assert!(!table.contains("UNREACHED"), "{table}");
}

#[test]
fn an_unscripted_status_is_a_warning_that_fails_only_under_strict() {
    let args = small("scenarios");
    let (code, stdout, _) = check_with(&args, &[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert_has(
        &squeezed(&stdout),
        &[
            "warning: tests/check_files/openapi.yaml:41:11: `create-item` 409: no scenario rule answers it and it is not the default answer; only `Prefer: code=409` reaches it",
            "create-item 201 items rules[1], spec default (no rule)",
            "create-item 409 UNREACHED: only `Prefer: code=409`",
            "get-item 404 items rules[0]",
            // A stream rule reaches the WebSocket's success status.
            "item-stream 200 items rules[2], spec default (no rule)",
            "\n0 problems, 1 warning",
        ],
    );
    let (strict, stdout, _) = check_with(&args, &["--strict"]);
    assert_eq!(strict, Some(1), "{stdout}");
}

#[test]
fn a_fixture_that_breaks_its_response_schema_is_a_problem_at_the_value() {
    let fixtures = format!("{FILES}/bad-fixtures");
    let (code, stdout, _) = check(&["--spec", &format!("{FILES}/openapi.yaml"), "--fixtures", &fixtures]);
    assert_eq!(code, Some(1), "{stdout}");
    assert_has(
        &stdout,
        &[
            "error: tests/check_files/bad-fixtures/get-item.json:2:9: does not match the response schema of `get-item` 200: /id expected string, found integer",
            "\n1 problem, ",
        ],
    );
}

#[test]
fn each_broken_scenario_file_is_its_own_problem() {
    let (code, stdout, _) = check_with(&small("bad-scenarios"), &[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert_has(
        &squeezed(&stdout),
        &[
            "error: tests/check_files/bad-scenarios/undeclared.yaml:4:24: status 418 is not declared for `get-item` (declared: 200, 404)",
            "error: tests/check_files/bad-scenarios/frame.yaml:5:15: the frame does not match the schema of `item-stream` status 200: /name required property `name` is missing; /id expected string, found integer",
            // Extending a broken scenario is said once, not reported as an unknown parent.
            "warning: tests/check_files/bad-scenarios/child.yaml:2:10: not checked: it extends `undeclared`, which has problems",
            // Fixtures no scenario names any more.
            "warning: tests/check_files/fixtures/anvil.json: unused: no scenario names `anvil.json`",
            // The file that loads is still checked and counted.
            "get-item 404 fine rules[0]",
            "\n2 problems, ",
        ],
    );
    assert!(!stdout.contains("unknown scenario"), "{stdout}");
}

#[test]
fn examples_that_break_their_schema_are_problems_at_their_lines() {
    let (code, stdout, _) = check(&["--spec", &format!("{FILES}/bad-example.yaml")]);
    assert_eq!(code, Some(1), "{stdout}");
    assert_has(
        &stdout,
        &[
            "error: tests/check_files/bad-example.yaml:18:26: example `bad` of `get-item` 200 (application/json) does not match its schema: /id expected string, found integer",
            // Through a `$ref` to components: where the example really is.
            "error: tests/check_files/bad-example.yaml:33:14: example `shared` of `get-item` 200 (application/json) does not match its schema: /id required property `id` is missing (at #/components/examples/NoId/value)",
            "error: tests/check_files/bad-example.yaml:27:22: request body `example` of `create-item` (application/json) does not match its schema: /name required property `name` is missing",
            "\n3 problems, 0 warnings",
        ],
    );
    // The mock's own warning about skipping them would only repeat the problems.
    assert!(!stdout.contains("skipped"), "{stdout}");
}

#[test]
fn a_missing_operation_id_is_a_warning_at_the_operation() {
    let (code, stdout, _) = check(&["--spec", &format!("{FILES}/no-operation-id.yaml")]);
    assert_eq!(code, Some(0), "{stdout}");
    assert_has(
        &squeezed(&stdout),
        &[
            "warning: tests/check_files/no-operation-id.yaml:6:7: no operationId: the mock calls this operation `GET /ping`",
            "GET /ping 204 spec default (no rule)",
        ],
    );
}

#[test]
fn a_spec_that_does_not_load_stops_the_check() {
    let (code, stdout, _) = check(&[
        "--spec",
        &format!("{FILES}/unresolved.yaml"),
        "--fixtures",
        &format!("{FILES}/fixtures"),
    ]);
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(
        stdout,
        "error: tests/check_files/unresolved.yaml:12:23: $ref `#/components/schemas/Nope` does not resolve to anything (at #/paths/~1items/get/responses/200/content/application~1json/schema)\n\n1 problem, 0 warnings\n"
    );
}

#[test]
fn inputs_that_cannot_be_read_are_usage_errors() {
    let spec = format!("{FILES}/openapi.yaml");
    for (args, needle) in [
        (
            vec!["--spec", "tests/check_files/nope.yaml"],
            "tests/check_files/nope.yaml: cannot read the spec",
        ),
        (
            vec!["--spec", &spec, "--fixtures", "tests/check_files/nope"],
            "tests/check_files/nope: cannot read the fixtures directory",
        ),
        (
            vec!["--spec", &spec, "--scenarios", "tests/check_files/nope"],
            "tests/check_files/nope: cannot read the scenarios directory",
        ),
    ] {
        let (code, stdout, stderr) = check(&args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert!(stderr.starts_with("error: ") && stderr.contains(needle), "{stderr}");
    }
}

#[test]
fn the_json_report_has_problems_warnings_coverage_and_a_summary() {
    let (code, stdout, _) = check_with(&small("bad-scenarios"), &["--format", "json"]);
    assert_eq!(code, Some(1));
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let problems = report["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 2, "{report:#}");
    assert_eq!(problems[0]["file"], "tests/check_files/bad-scenarios/frame.yaml");
    assert_eq!(
        (problems[0]["line"].as_u64(), problems[0]["column"].as_u64()),
        (Some(5), Some(15))
    );
    assert_eq!(problems[1]["file"], "tests/check_files/bad-scenarios/undeclared.yaml");
    assert_eq!(
        (problems[1]["line"].as_u64(), problems[1]["column"].as_u64()),
        (Some(4), Some(24))
    );
    assert!(problems[1]["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("status 418")));
    let warnings = report["warnings"].as_array().expect("warnings");
    let unused = warnings
        .iter()
        .find(|w| w["file"] == "tests/check_files/fixtures/anvil.json")
        .expect("the unused fixture");
    // A finding with no position has null line and column.
    assert!(unused["line"].is_null() && unused["column"].is_null(), "{unused}");
    let coverage = report["coverage"].as_array().expect("coverage");
    assert_eq!(coverage.len(), 6);
    assert!(coverage
        .contains(&serde_json::json!({"operation": "get-item", "status": 404, "reached_by": ["fine rules[0]"]})));
    assert!(coverage.contains(&serde_json::json!({"operation": "create-item", "status": 409, "reached_by": []})));
    let summary = &report["summary"];
    assert_eq!(summary["problems"], 2);
    assert_eq!(summary["warnings"], warnings.len());
    assert_eq!(summary["unreached"], 1);
    assert_eq!(summary["passed"], false);
}

/// A test case of a JUnit report: classname, name, whether it failed.
#[derive(Debug, PartialEq)]
struct TestCase {
    classname: String,
    name: String,
    failed: bool,
}

/// The suite's `tests` and `failures` attributes and its test cases, read
/// with string search (the writer puts one element per line).
fn read_junit(xml: &str) -> (usize, usize, Vec<TestCase>) {
    let suite = xml
        .lines()
        .find(|line| line.trim_start().starts_with("<testsuite "))
        .expect("a testsuite element");
    assert_eq!(attribute(suite, "name").as_deref(), Some("specmock check"));
    let count = |name: &str| -> usize {
        attribute(suite, name)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("testsuite {name}"))
    };
    let cases = xml
        .split("<testcase ")
        .skip(1)
        .map(|element| {
            // The attributes, each after a space as `attribute` expects.
            let head = format!(" {}", &element[..element.find('>').expect("a closed start tag")]);
            let body = match head.ends_with('/') {
                true => "",
                false => &element[..element.find("</testcase>").expect("a closed testcase")],
            };
            TestCase {
                classname: attribute(&head, "classname").expect("classname"),
                name: attribute(&head, "name").expect("name"),
                failed: body.contains("<failure "),
            }
        })
        .collect();
    (count("tests"), count("failures"), cases)
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let value = &tag[start..start + tag[start..].find('"')?];
    Some(
        value
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

fn failing(cases: &[TestCase]) -> Vec<&str> {
    cases.iter().filter(|c| c.failed).map(|c| c.name.as_str()).collect()
}

#[test]
fn the_junit_report_has_a_case_per_input_and_per_pair() {
    let dir = TempDir::new("check-junit");
    let junit = dir.path().join("check.xml");
    let junit_arg = junit.display().to_string();
    let (code, stdout, _) = check_with(&small("bad-scenarios"), &["--junit", &junit_arg]);
    assert_eq!(code, Some(1), "{stdout}");
    let (tests, failures, cases) = read_junit(&std::fs::read_to_string(&junit).expect("the report is written"));
    // The spec, 2 fixtures, 4 scenario files, 6 (operation, status) pairs.
    assert_eq!((tests, failures, cases.len()), (13, 2, 13), "{cases:#?}");
    let count = |classname: &str| cases.iter().filter(|c| c.classname == classname).count();
    assert_eq!(
        [count("spec"), count("fixture"), count("scenario"), count("coverage")],
        [1, 2, 4, 6]
    );
    assert_eq!(
        failing(&cases),
        [
            "tests/check_files/bad-scenarios/frame.yaml",
            "tests/check_files/bad-scenarios/undeclared.yaml"
        ]
    );
    assert!(cases.contains(&TestCase {
        classname: "coverage".into(),
        name: "create-item 409".into(),
        failed: false,
    }));

    // Under --strict the unreached pair fails too (and so does every other warning's subject).
    let (code, _, _) = check_with(&small("bad-scenarios"), &["--junit", &junit_arg, "--strict"]);
    assert_eq!(code, Some(1));
    let (_, _, cases) = read_junit(&std::fs::read_to_string(&junit).expect("the report is written"));
    assert!(failing(&cases).contains(&"create-item 409"), "{cases:#?}");
}

#[test]
fn strict_junit_fails_exactly_the_unreached_pair_of_a_clean_config() {
    let dir = TempDir::new("check-junit-strict");
    let junit = dir.path().join("check.xml");
    let (code, _, _) = check_with(
        &small("scenarios"),
        &["--junit", &junit.display().to_string(), "--strict"],
    );
    assert_eq!(code, Some(1));
    let (tests, failures, cases) = read_junit(&std::fs::read_to_string(&junit).expect("the report is written"));
    assert_eq!((tests, failures), (10, 1), "{cases:#?}");
    assert_eq!(failing(&cases), ["create-item 409"]);
}

#[test]
fn a_junit_file_that_cannot_be_written_is_an_io_error() {
    let dir = TempDir::new("check-junit-unwritable");
    let junit: PathBuf = dir.path().join("no-such-dir").join("check.xml");
    let (code, _, stderr) = check(&["--junit", &junit.display().to_string()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("error: cannot write the JUnit report to"), "{stderr}");
}

// ------------------------------------------- every problem, where it is

/// `specmock --port 0 ARGS` from the repository root, run to its exit (a start-up failure).
fn serve_to_exit(args: &[String]) -> (Option<i32>, String, String) {
    let mut all = vec!["--port", "0"];
    all.extend(args.iter().map(String::as_str));
    run_to_exit(&all, &repo_root())
}

const THREE_MISTAKES: [&str; 3] = [
    "tests/check_files/three-mistakes/items.yaml:3:24: unknown operation `get-itme`",
    "tests/check_files/three-mistakes/items.yaml:9:17: status 418 is not declared for `get-item` (declared: 200, 404)",
    "tests/check_files/three-mistakes/items.yaml:13:15: `soon`: expected a duration",
];

#[test]
fn three_mistakes_in_a_scenario_file_are_three_problems_each_at_its_position() {
    let args = small("three-mistakes");
    let (code, stdout, _) = check_with(&args, &[]);
    assert_eq!(code, Some(1), "{stdout}");
    let errors: Vec<String> = THREE_MISTAKES.iter().map(|at| format!("error: {at}")).collect();
    assert_has(&stdout, &errors.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(stdout.contains("\n3 problems, "), "{stdout}");

    let (code, stdout, _) = check_with(&args, &["--format", "json"]);
    assert_eq!(code, Some(1), "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let found: Vec<(String, u64, u64)> = report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|problem| {
            (
                problem["file"].as_str().expect("a file").to_string(),
                problem["line"].as_u64().expect("a line"),
                problem["column"].as_u64().expect("a column"),
            )
        })
        .collect();
    let file = "tests/check_files/three-mistakes/items.yaml".to_string();
    assert_eq!(found, [(file.clone(), 3, 24), (file.clone(), 9, 17), (file, 13, 15)]);

    let dir = TempDir::new("three-mistakes-junit");
    let junit = dir.path().join("check.xml").display().to_string();
    let (code, _, _) = check_with(&args, &["--junit", &junit]);
    assert_eq!(code, Some(1));
    let xml = std::fs::read_to_string(&junit).expect("the report is written");
    assert!(xml.contains("(and 2 more)"), "{xml}");
    for at in THREE_MISTAKES {
        assert!(xml.contains(at), "{at} not in {xml}");
    }
}

#[test]
fn start_up_prints_the_problems_of_every_broken_scenario_file() {
    let (code, stdout, stderr) = serve_to_exit(&small("broken-files"));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!stdout.contains("listening on"), "{stdout}");
    assert_has(
        &stderr,
        &[
            "error: tests/check_files/broken-files/create.yaml:6:15: the body does not match the schema of `create-item` status 201: /id expected string, found integer",
            "error: tests/check_files/broken-files/create.yaml:8:26: unknown fixture `nope.json` (known: anvil.json, get-item.json)",
            "error: tests/check_files/broken-files/stream.yaml:5:7: `create-item` is POST /items: only GET operations take a WebSocket handshake",
        ],
    );
    assert_eq!(
        stderr.lines().filter(|line| line.starts_with("error: ")).count(),
        3,
        "{stderr}"
    );
}

#[test]
fn start_up_prints_at_most_fifty_problems_and_how_many_more_there_are() {
    let dir = TempDir::new("many-problems");
    let rules: String = (0..60)
        .map(|n| format!("  - when: {{ operation: nope-{n} }}\n    respond: {{ status: 200 }}\n"))
        .collect();
    dir.write("many.yaml", &format!("rules:\n{rules}"));
    let spec = format!("{FILES}/openapi.yaml");
    let scenarios = dir.path().display().to_string();
    let (code, _, stderr) = serve_to_exit(&["--spec".into(), spec, "--scenarios".into(), scenarios]);
    assert_eq!(code, Some(2), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|line| line.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 51, "{stderr}");
    // A directory outside the spec's is named from its parent, never by absolute path.
    let label = dir
        .path()
        .file_name()
        .expect("a temp dir name")
        .to_string_lossy()
        .into_owned();
    let first = format!("error: {label}/many.yaml:2:24: unknown operation `nope-0`");
    let fiftieth = format!("error: {label}/many.yaml:100:24: unknown operation `nope-49`");
    assert!(errors[0].starts_with(&first), "{stderr}");
    assert!(errors[49].starts_with(&fiftieth), "{stderr}");
    assert_eq!(
        errors[50],
        "error: and 10 more problems (`specmock check` lists them all)"
    );
}

const UNKNOWN_STATE: &str = "tests/check_files/unknown-state/items.yaml:7:41: no rule enters state `singed-in` and it is not the initial state, so the rule never matches (states: signed-in, signed-out); did you mean `signed-in`?";

#[test]
fn a_state_nothing_enters_is_an_error_at_the_rule_naming_the_closest_state() {
    let args = small("unknown-state");
    let (code, stdout, _) = check_with(&args, &[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert_has(&stdout, &[&format!("error: {UNKNOWN_STATE}")]);

    let (code, stdout, _) = check_with(&args, &["--format", "json"]);
    assert_eq!(code, Some(1), "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let problems = report["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 1, "{report:#}");
    assert_eq!(problems[0]["file"], "tests/check_files/unknown-state/items.yaml");
    assert_eq!(
        (problems[0]["line"].as_u64(), problems[0]["column"].as_u64()),
        (Some(7), Some(41))
    );
    let message = problems[0]["message"].as_str().expect("a message");
    assert!(message.contains("did you mean `signed-in`?"), "{message}");
    assert!(report["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .all(|warning| !warning["message"].as_str().unwrap_or_default().contains("singed-in")));

    let (code, stdout, stderr) = serve_to_exit(&args);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!stdout.contains("listening on"), "{stdout}");
    assert_has(&stderr, &[&format!("error: {UNKNOWN_STATE}")]);
}
