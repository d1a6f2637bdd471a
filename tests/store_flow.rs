//! Values followed through the session store, and templated bodies checked
//! with their templated parts unknown, by the real binary: a fixture that
//! reaches a response only through the store, or a templated body no request
//! can make valid, is a problem at its own line for `specmock check` (exit 1)
//! and stops `specmock` from starting (exit 2). The inputs live in
//! `tests/check_files/store-flow/`: the shipped fixtures with one broken, and
//! small scenario files for the shipped spec.

mod common;

use common::*;
use http::Method;

const FILES: &str = "tests/check_files/store-flow";

/// The shipped spec with `fixtures` and `scenarios` (paths from the repository root).
fn inputs<'a>(fixtures: &'a str, scenarios: &'a str) -> Vec<&'a str> {
    vec![
        "--spec",
        "openapi.yaml",
        "--fixtures",
        fixtures,
        "--scenarios",
        scenarios,
    ]
}

/// `specmock check` on `inputs`, from the repository root: (exit code, stdout).
fn check(inputs: &[&str]) -> (Option<i32>, String) {
    let (code, stdout, _) = run_to_exit(&[&["check"], inputs].concat(), &repo_root());
    (code, stdout)
}

fn assert_has(haystack: &str, needles: &[&str]) {
    for needle in needles {
        assert!(haystack.contains(needle), "missing {needle:?} in:\n{haystack}");
    }
}

/// `specmock check` on `inputs` lists each of `problems` (exit 1), and
/// `specmock` refuses to start (exit 2) with one whose line holds all of
/// `first`. Returns what `check` printed.
fn assert_found_and_refused(inputs: &[&str], problems: &[String], first: &[&str]) -> String {
    let (code, listed) = check(inputs);
    assert_eq!(code, Some(1), "{listed}");
    for problem in problems {
        assert_has(&listed, &[&format!("error: {problem}")]);
    }
    let (code, stdout, stderr) = run_to_exit(&[&["--port", "0"], inputs].concat(), &repo_root());
    assert_eq!(code, Some(2), "exit code; stderr:\n{stderr}");
    assert!(!stdout.contains("listening on"), "{stdout}");
    let line = stderr.lines().next().unwrap_or_default();
    assert_has(line, first);
    listed
}

#[test]
fn a_stored_fixture_that_breaks_the_responses_reading_it_is_a_problem_at_the_fixture() {
    let fixtures = format!("{FILES}/signed-in-broken");
    let at = "tests/check_files/store-flow/signed-in-broken/user-signed-in.json:24:17:";
    let stdout = assert_found_and_refused(
        &inputs(&fixtures, "scenarios"),
        &[
            format!("{at} scenarios/default.yaml rules[5] -> user-snapshot 200: /user/aesthetics expected object, found string (at #/aesthetics)"),
            format!("{at} scenarios/default.yaml rules[7] -> refresh-user 200: /aesthetics expected object, found string"),
            // After a vanity change the stored user still carries the broken value.
            format!("{at} scenarios/default.yaml rules[4] -> user-update-vanity 200: /aesthetics expected object, found string"),
            format!("{at} scenarios/slow-and-flaky.yaml rules[0] -> user-snapshot 200: /user/aesthetics expected object, found string"),
        ],
        &[at, "/aesthetics expected object, found string"],
    );
    // select-user stores the other fixture: its answer is not faulted.
    assert!(!stdout.contains("select-user 200"), "{stdout}");
}

#[test]
fn a_fixture_stored_under_a_merge_that_leaves_it_broken_is_a_problem_at_the_fixture() {
    let fixtures = format!("{FILES}/minimal-broken");
    let at = "tests/check_files/store-flow/minimal-broken/user-minimal.json:3:17:";
    let stdout = assert_found_and_refused(
        &inputs(&fixtures, "scenarios"),
        &[
            format!("{at} scenarios/default.yaml rules[1] -> select-user 200: /aesthetics expected object, found string (at #/aesthetics)"),
            // Signed in by select-user, the snapshot shows it.
            format!("{at} scenarios/default.yaml rules[5] -> user-snapshot 200: /user/aesthetics expected object, found string"),
        ],
        &[at, "/aesthetics expected object, found string"],
    );
    assert!(!stdout.contains("user-signed-in.json"), "{stdout}");
}

#[test]
fn a_templated_body_that_lacks_a_required_property_whatever_it_renders_is_a_problem() {
    let scenarios = format!("{FILES}/templated-body");
    let file = "tests/check_files/store-flow/templated-body/refresh.yaml";
    let problem = format!(
        "{file}:4:43: {file} rules[0] -> refresh-user 200: /aesthetics required property `aesthetics` is missing (at #/rules/0/respond/body/json)"
    );
    let stdout = assert_found_and_refused(
        &inputs("fixtures", &scenarios),
        std::slice::from_ref(&problem),
        &[&problem],
    );
    assert_has(&stdout, &["\n1 problem, "]);
}

#[test]
fn the_shipped_files_have_no_problem_even_under_strict() {
    let (code, stdout) = check(&["--strict"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert_has(&stdout, &["\n0 problems, 0 warnings"]);
}

#[tokio::test]
async fn bodies_and_stored_values_that_a_request_could_make_valid_are_accepted() {
    let scenarios = format!("{FILES}/accepted");
    let inputs = inputs("fixtures", &scenarios);
    let (code, stdout) = check(&inputs);
    assert_eq!(code, Some(0), "{stdout}");
    assert_has(&stdout, &["\n0 problems, "]);

    let binary = Binary::start(&[&["--port", "0"], &inputs[..]].concat(), &repo_root());
    let session = in_session("accepted", &[("content-type", "application/json")]);
    let profile = r#"{"id": "u1", "aesthetics": {"theme": {"dark": true}, "font": {"size": 12}}}"#;
    let stored = send(binary.addr, Method::POST, "/user/update", &session, profile.as_bytes()).await;
    assert_eq!(stored.status, 200, "{}", stored.text());
    let refreshed = send(binary.addr, Method::GET, "/user/refresh", &session, b"").await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    assert_eq!(refreshed.json()["aesthetics"]["font"]["size"], 12);
    let snapshot = send(binary.addr, Method::GET, "/user", &session, b"").await;
    assert_eq!(snapshot.status, 200, "{}", snapshot.text());
    assert_eq!(snapshot.json()["user"]["aesthetics"]["theme"]["dark"], true);
}

/// A scenario of `rules` rules in `states` states, every one a sequence
/// answered from `store.user` that writes the user and moves on; the last
/// writes one that breaks the profile schema.
fn generated_scenario(rules: usize, states: usize) -> String {
    let operations = ["refresh-user", "update-user", "user-update-vanity", "select-user"];
    let mut text = String::from("name: big\ninitial: s0\nstore:\n  user: { fixture: user-signed-in.json }\nrules:\n");
    for index in 0..rules {
        let broken = match index + 1 == rules {
            true => ", aesthetics: dark",
            false => "",
        };
        text.push_str(&format!(
            concat!(
                "  - when: {{ operation: {operation}, state: s{state} }}\n",
                "    store:\n",
                "      user: {{ fixture: user-minimal.json, merge: {{ vanityname: \"v-{index}\", name: \"{{{{store.user.name}}}}\"{broken} }} }}\n",
                "    respond:\n",
                "      - {{ status: 200, body: {{ from: store.user }} }}\n",
                "      - {{ status: 200, body: {{ from: store.user, merge: {{ username: \"u-{index}\" }} }} }}\n",
                "    then: {{ state: s{next} }}\n",
            ),
            operation = operations[index % operations.len()],
            state = (index / 2) % states,
            index = index,
            broken = broken,
            next = (index * 7 + 1) % states,
        ));
    }
    text
}

#[test]
fn a_large_scenario_file_is_followed_to_the_end_in_bounded_time() {
    let dir = TempDir::new("store-flow-large");
    let text = generated_scenario(800, 400);
    assert!(text.len() > 250_000, "{}", text.len());
    dir.write("big.yaml", &text);
    let scenarios = dir.path().to_string_lossy().into_owned();
    let started = std::time::Instant::now();
    let (code, stdout) = check(&inputs("fixtures", &scenarios));
    let took = started.elapsed();
    // About 2 s in a debug build on 2 busy cores; the quadratic check took minutes.
    assert!(took < std::time::Duration::from_secs(30), "took {took:?}");
    assert_eq!(code, Some(1), "{stdout}");
    // The value written last is followed to the rules of the state it moves to.
    assert_has(
        &stdout,
        &["rules[799] -> select-user 200: /aesthetics expected object, found string"],
    );
    assert!(!stdout.contains("followed only part of the way"), "{stdout}");
}
