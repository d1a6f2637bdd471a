//! Recording and replay on real servers: a session served by one mock is
//! exported (`GET /__mock/sessions/{id}/scenario`) or written by `--record
//! DIR`, then a second mock started with `--scenarios DIR --scenario NAME`
//! answers the same calls with the same statuses and bodies in the same
//! order; a call the recording did not expect is answered from the spec and
//! journaled with where the replay stands; secrets never reach the file.

mod common;

use std::net::SocketAddr;
use std::path::Path;

use common::*;
use http::Method;
use serde_json::{json, Value};
use specmock::internal::sources::Sources;
use specmock::internal::{App, Behaviour};
use specmock::MockServer;

/// One call of the User API flow, as a client makes it.
struct Call {
    method: Method,
    path: &'static str,
    body: Option<Value>,
}

fn call(method: Method, path: &'static str, body: Option<Value>) -> Call {
    Call { method, path, body }
}

/// Update the user, read the snapshot (the updated user), change the
/// vanity name, clear, then the signed-out answers. (The shipped user's
/// fixture holds fake tokens, which a recording redacts: the flow starts by
/// replacing it, so every answer replays byte for byte.)
fn user_flow() -> Vec<Call> {
    let profile = json!({ "id": "u-42", "name": "Zed", "aesthetics": aesthetics() });
    let vanity = json!({ "id": "u-42", "aesthetics": aesthetics(), "vanityname": "zed" });
    vec![
        call(Method::POST, "/user/update", Some(profile)),
        call(Method::GET, "/user", None),
        call(Method::POST, "/user/update/vanity", Some(vanity.clone())),
        call(Method::GET, "/user/providers", None),
        call(Method::POST, "/user/clear", None),
        call(Method::GET, "/user", None),
        call(Method::GET, "/user/providers", None),
        call(Method::POST, "/user/update/vanity", Some(vanity)),
    ]
}

fn aesthetics() -> Value {
    json!({ "theme": { "dark": true }, "font": { "size": 14 } })
}

async fn send_call(addr: SocketAddr, session: &str, call: &Call, extra: &[(&str, &str)]) -> Reply {
    let mut headers = vec![("x-mock-session", session)];
    headers.extend_from_slice(extra);
    let body = call.body.as_ref().map(Value::to_string).unwrap_or_default();
    if call.body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    send(addr, call.method.clone(), call.path, &headers, body.as_bytes()).await
}

async fn run_flow(addr: SocketAddr, session: &str) -> Vec<(u16, Option<String>, String)> {
    let mut answers = Vec::new();
    for call in user_flow() {
        let reply = send_call(addr, session, &call, &[]).await;
        let content_type = reply.header("content-type").map(str::to_string);
        answers.push((reply.status, content_type, reply.text().to_string()));
    }
    answers
}

fn shipped_with(behaviour: Behaviour, scenarios: Option<&Path>, scenario: Option<&str>) -> App {
    let sources = Sources::resolve(None, None, scenarios.map(Path::to_path_buf), &repo_root());
    let (app, _) = App::load(sources, scenario.map(str::to_string), 0, behaviour).expect("the app loads");
    app
}

async fn export(addr: SocketAddr, session: &str) -> Reply {
    get(addr, &format!("/__mock/sessions/{}/scenario", encode(session))).await
}

fn encode(session: &str) -> String {
    session
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

async fn journal_of(addr: SocketAddr, session: &str) -> Vec<Value> {
    let page = get(addr, &format!("/__mock/journal?session={session}")).await.json();
    let mut entries = page["entries"].as_array().expect("entries").clone();
    entries.reverse();
    entries
}

/// `specmock check` on a directory of scenarios, from the repository root (the shipped spec).
fn check(dir: &Path) -> (Option<i32>, String) {
    let (code, stdout, stderr) = run_to_exit(&["check", "--scenarios", dir.to_str().expect("UTF-8")], &repo_root());
    (code, format!("{stdout}{stderr}"))
}

async fn replay_server(dir: &Path, name: &str) -> MockServer {
    start(shipped_with(Behaviour::default(), Some(dir), Some(name))).await
}

#[tokio::test]
async fn an_exported_session_replays_the_same_answers_in_the_same_order_on_a_second_server() {
    let recorder = start(shipped_with(Behaviour::default(), None, None)).await;
    let recorded = run_flow(recorder.address(), "qa-1").await;
    assert_eq!(
        recorded.iter().map(|(status, ..)| *status).collect::<Vec<_>>(),
        [200, 200, 200, 200, 204, 200, 200, 511],
        "the shipped flow: signed in, then signed out"
    );

    let exported = export(recorder.address(), "qa-1").await;
    assert_eq!(exported.status, 200);
    assert_eq!(exported.header("content-type"), Some("application/yaml"));
    let dir = TempDir::new("record-export");
    dir.write("qa-1.yaml", exported.text());
    assert!(exported.text().contains("# Step 3 of 8, "), "{}", exported.text());
    assert!(exported.text().contains(": GET /user\n"), "each step names its request");

    let (code, report) = check(dir.path());
    assert_eq!(code, Some(0), "{report}");

    // No flag but --scenarios and --scenario.
    let replay = replay_server(dir.path(), "qa-1").await;
    let replayed = run_flow(replay.address(), "again").await;
    assert_eq!(replayed.len(), recorded.len());
    for (index, (got, want)) in replayed.iter().zip(&recorded).enumerate() {
        assert_eq!(got, want, "call {} answered differently", index + 1);
    }
    let journal = journal_of(replay.address(), "again").await;
    assert!(
        journal.iter().all(|e| e.get("note").is_none()),
        "every call was expected: {journal:?}"
    );
    let described = get(replay.address(), "/__mock/sessions/again").await.json();
    assert_eq!(described["replay"], json!({ "step": 9, "of": 8, "expects": null }));
}

#[tokio::test]
async fn a_call_the_replay_does_not_expect_is_answered_from_the_spec_with_where_the_replay_stands() {
    let recorder = start(shipped_with(Behaviour::default(), None, None)).await;
    run_flow(recorder.address(), "qa-2").await;
    let dir = TempDir::new("record-unexpected");
    dir.write("qa-2.yaml", export(recorder.address(), "qa-2").await.text());
    let replay = replay_server(dir.path(), "qa-2").await;
    let flow = user_flow();
    let session = "off-script";

    // Step 1 expects update-user; clear-user comes instead.
    let clear = send_call(replay.address(), session, &call(Method::POST, "/user/clear", None), &[]).await;
    assert_eq!(clear.status, 204, "the spec's answer");
    let described = get(replay.address(), &format!("/__mock/sessions/{session}"))
        .await
        .json();
    assert_eq!(
        described["replay"],
        json!({ "step": 1, "of": 8, "expects": "update-user" })
    );
    // The replay goes on from where it stood.
    for call in &flow {
        send_call(replay.address(), session, call, &[]).await;
    }
    // One call more than was recorded.
    let extra = send_call(replay.address(), session, &flow[1], &[]).await;
    assert_eq!(extra.status, 200);

    let journal = journal_of(replay.address(), session).await;
    let notes: Vec<Option<&str>> = journal.iter().map(|e| e["note"].as_str()).collect();
    assert_eq!(notes.len(), 10);
    assert_eq!(notes[0], Some("replay at step 1 of 8 expects update-user"));
    assert!(notes[1..9].iter().all(Option::is_none), "{notes:?}");
    assert_eq!(notes[9], Some("replay finished: all 8 steps answered"));
    assert_eq!(journal[0]["rule"], Value::Null, "answered from the spec");
}

/// A scenario for the features spec that echoes the API key it was sent.
const ECHO_KEY: &str = "rules:
  - when: { operation: optionalAuth }
    respond:
      status: 200
      body: { json: { ok: true, key: \"{{request.headers.x-api-key}}\", password: hunter2, email: a@b.c } }
";

#[tokio::test]
async fn credentials_secret_properties_and_redact_pointers_never_reach_the_file() {
    // The shipped spec: Authorization echoed by update-user, `password` in a body, --redact.
    let behaviour = Behaviour {
        record: specmock::internal::record::Settings {
            redact: vec!["/name".to_string()],
            ..Default::default()
        },
        ..Behaviour::default()
    };
    let recorder = start(shipped_with(behaviour, None, None)).await;
    let profile = json!({ "id": "Bearer-tok-123456", "aesthetics": aesthetics(), "name": "Visible Name", "password": "hunter2", "nested": [{ "refresh_token": "rt-999999" }] });
    let update = call(Method::POST, "/user/update", Some(profile));
    let reply = send_call(
        recorder.address(),
        "secrets",
        &update,
        &[("authorization", "Bearer tok-123456")],
    )
    .await;
    assert_eq!(reply.status, 200);
    assert!(
        reply.text().contains("hunter2"),
        "the client itself gets its answer as sent"
    );
    let file = export(recorder.address(), "secrets").await;
    let text = file.text();
    for secret in ["tok-123456", "hunter2", "Visible Name", "rt-999999"] {
        assert!(!text.contains(secret), "{secret} reached the file:\n{text}");
    }
    assert!(
        text.contains("# Redacted (replaced by \"[redacted]\"): /body/name (1), /body/nested/0/refresh_token (1), /body/password (1)."),
        "{text}"
    );

    // The features spec: an API key in a header (echoed) and in the query.
    let dir = TempDir::new("record-keys");
    dir.write("echo.yaml", ECHO_KEY);
    let spec = specs_dir().join("features.yaml");
    let sources = Sources::resolve(Some(spec), None, Some(dir.path().to_path_buf()), &repo_root());
    let (app, _) = App::load(sources, Some("echo".into()), 0, Behaviour::default()).expect("loads");
    let server = start(app).await;
    let headers = [("x-mock-session", "keys"), ("x-api-key", "header-key-777")];
    let echoed = send(server.address(), Method::GET, "/optional-auth", &headers, b"").await;
    assert!(echoed.text().contains("header-key-777"));
    let query = send(
        server.address(),
        Method::GET,
        "/key-in-query?api_key=query-key-888",
        &headers[..1],
        b"",
    )
    .await;
    assert_eq!(query.status, 204);
    let text = export(server.address(), "keys").await.text().to_string();
    for secret in ["header-key-777", "query-key-888", "hunter2"] {
        assert!(!text.contains(secret), "{secret} reached the file:\n{text}");
    }
    assert!(text.contains("GET /key-in-query?api_key=[redacted]"), "{text}");
    assert!(text.contains("/query/api_key (1)"), "{text}");
}

#[tokio::test]
async fn a_violating_answer_is_replayed_verbatim_and_check_warns_about_it() {
    let lenient = Behaviour {
        lenient: true,
        ..Behaviour::default()
    };
    let recorder = start(shipped_with(lenient, None, None)).await;
    // `font.size` is an integer: the request breaks the spec, and its echo the response schema.
    let broken = call(
        Method::POST,
        "/user/update",
        Some(json!({ "id": "u-1", "aesthetics": { "font": { "size": "huge" } } })),
    );
    let recorded = send_call(recorder.address(), "broken", &broken, &[]).await;
    assert_eq!(recorded.status, 200);
    assert!(recorded.header("x-mock-violations").is_some());
    let text = export(recorder.address(), "broken").await.text().to_string();
    assert!(text.contains("# This call broke the spec"), "{text}");
    assert!(text.contains("      violations:\n        - \"/body/"), "{text}");
    assert!(text.contains("/body/aesthetics/font/size"), "{text}");
    let dir = TempDir::new("record-broken");
    dir.write("broken.yaml", &text);
    let (code, report) = check(dir.path());
    assert_eq!(code, Some(0), "a warning, not an error: {report}");
    assert!(
        report.contains("replays a recorded answer that broke the spec: ")
            && report.contains("/body/aesthetics/font/size"),
        "{report}"
    );
    assert!(report.contains("broken.yaml:"), "located: {report}");

    // Replayed strictly, the request is refused again; leniently, the same answer comes.
    let replay = start(shipped_with(
        Behaviour {
            lenient: true,
            ..Behaviour::default()
        },
        Some(dir.path()),
        Some("broken"),
    ))
    .await;
    let replayed = send_call(replay.address(), "again", &broken, &[]).await;
    assert_eq!(
        (replayed.status, replayed.body.clone()),
        (recorded.status, recorded.body.clone())
    );
}

fn yaml_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read the directory")
        .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn record_writes_each_session_on_flush_on_reset_and_at_shutdown() {
    let dir = TempDir::new("record-dir");
    let dir_arg = dir.path().to_str().expect("UTF-8").to_string();
    let mut binary = Binary::start(
        &["--port", "0", "--no-watch", "--record", &dir_arg, "--record-latency"],
        &repo_root(),
    );
    let addr = binary.addr;
    let flow = user_flow();
    for call in &flow[..3] {
        send_call(addr, "flushed", call, &[]).await;
    }
    let flushed = send(addr, Method::POST, "/__mock/sessions/flushed/record", &[], b"").await;
    assert_eq!(flushed.status, 200, "{}", flushed.text());
    let answer = flushed.json();
    assert_eq!(answer["steps"], 3);
    assert_eq!(
        answer["file"],
        json!(dir.path().join("flushed.yaml").display().to_string())
    );
    assert_eq!(yaml_files(dir.path()), ["flushed.yaml"]);
    let first = std::fs::read_to_string(dir.path().join("flushed.yaml")).expect("written");
    assert!(first.contains("      delay: "), "--record-latency: {first}");

    // A reset ends the session: its file is written, and the next calls start another recording.
    send_call(addr, "reset-me", &flow[0], &[]).await;
    let reset = send(addr, Method::POST, "/__mock/sessions/reset-me/reset", &[], b"").await;
    assert_eq!(reset.status, 200);
    assert_eq!(yaml_files(dir.path()), ["flushed.yaml", "reset-me.yaml"]);
    send_call(addr, "reset-me", &flow[1], &[]).await;

    // An id that would leave the directory stays in it.
    send_call(addr, "../escape", &flow[0], &[]).await;
    let escaped = send(addr, Method::POST, "/__mock/sessions/..%2Fescape/record", &[], b"").await;
    assert_eq!(escaped.status, 200, "{}", escaped.text());
    assert_eq!(
        escaped.json()["file"],
        json!(dir.path().join("%2E.%2Fescape.yaml").display().to_string())
    );
    assert!(!dir.path().parent().expect("a parent").join("escape.yaml").exists());

    let unknown = send(addr, Method::POST, "/__mock/sessions/nobody/record", &[], b"").await;
    assert_eq!(unknown.status, 404);

    for call in &flow[3..] {
        send_call(addr, "flushed", call, &[]).await;
    }
    binary.terminate();
    assert_eq!(binary.wait_exit(), Some(0));
    assert_eq!(
        yaml_files(dir.path()),
        ["%2E.%2Fescape.yaml", "flushed.yaml", "reset-me.yaml", "reset-me~2.yaml"]
    );
    let whole = std::fs::read_to_string(dir.path().join("flushed.yaml")).expect("written");
    assert!(
        whole.contains("# Step 8 of 8, "),
        "the whole session at shutdown: {whole}"
    );
    let stderr = binary.stderr();
    let summary: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("specmock: recorded "))
        .collect();
    assert!(
        summary
            .iter()
            .any(|l| l.ends_with("flushed.yaml: 8 steps, nothing redacted")),
        "the summary lists each file: {summary:?}"
    );

    let (code, report) = check(dir.path());
    assert_eq!(code, Some(0), "{report}");
}

#[tokio::test]
async fn exporting_an_unknown_session_is_a_404_problem_and_flushing_without_record_a_409() {
    let server = start(shipped_with(Behaviour::default(), None, None)).await;
    let unknown = export(server.address(), "nobody").await;
    unknown.assert_problem(404, "unknown-session", "admin");
    send_call(server.address(), "known", &user_flow()[0], &[]).await;
    let flush = send(
        server.address(),
        Method::POST,
        "/__mock/sessions/known/record",
        &[],
        b"",
    )
    .await;
    flush.assert_problem(409, "not-recording", "admin");
}

#[tokio::test]
async fn a_recorded_stream_replays_the_frames_it_sent_at_about_their_pace() {
    let dir = TempDir::new("record-stream");
    let recording = Behaviour {
        record: specmock::internal::record::Settings {
            dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        },
        ..Behaviour::default()
    };
    let recorder = start(shipped_with(recording, None, None)).await;
    let session = [("x-mock-session", "streamed")];
    let flow = user_flow();
    // The shipped user holds fake tokens a recording redacts: replaced first.
    send_call(recorder.address(), "streamed", &flow[0], &[]).await;
    let mut ws = ws_open(recorder.address(), "/user/stream", &session).await;
    let mut sent = Vec::new();
    // The user now, then again after each call that changes it.
    for call in [None, Some(&flow[2]), Some(&flow[4])] {
        if let Some(call) = call {
            send_call(recorder.address(), "streamed", call, &[]).await;
        }
        let frame = ws_next(&mut ws, IO_TIMEOUT)
            .await
            .expect("a frame in time")
            .expect("a frame");
        sent.push(frame.into_text().expect("text").to_string());
    }
    assert_eq!(sent[2], "signed-out");
    drop(ws);

    let flushed = send(
        recorder.address(),
        Method::POST,
        "/__mock/sessions/streamed/record",
        &[],
        b"",
    )
    .await;
    assert_eq!(flushed.status, 200, "{}", flushed.text());
    let text = std::fs::read_to_string(dir.path().join("streamed.yaml")).expect("written");
    assert!(text.contains("    stream:\n      - wait: "), "{text}");
    assert!(text.contains("      - send: { text: \"signed-out\" }"), "{text}");
    let (code, report) = check(dir.path());
    assert_eq!(code, Some(0), "{report}");

    // The replay: the handshake, then the same frames; the calls in between answer as recorded.
    let replay = replay_server(dir.path(), "streamed").await;
    send_call(replay.address(), "streamed", &flow[0], &[]).await;
    let mut ws = ws_open(replay.address(), "/user/stream", &session).await;
    let mut replayed = Vec::new();
    for _ in 0..3 {
        let frame = ws_next(&mut ws, IO_TIMEOUT)
            .await
            .expect("a frame in time")
            .expect("a frame");
        replayed.push(frame.into_text().expect("text").to_string());
    }
    assert_eq!(replayed, sent);
}

/// The README's example recording, under "## Recording and replay".
fn readme_recording() -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("read README.md");
    let section = &readme[readme.find("\n## Recording and replay\n").expect("the section")..];
    let start = section.find("```yaml\n").expect("a YAML block") + "```yaml\n".len();
    section[start..start + section[start..].find("\n```").expect("a closed block") + 1].to_string()
}

#[tokio::test]
async fn the_readme_recording_loads_and_replays_the_calls_it_names() {
    let dir = TempDir::new("record-readme");
    dir.write("qa-1.yaml", &readme_recording());
    let (code, report) = check(dir.path());
    assert_eq!(code, Some(0), "{report}");
    let replay = replay_server(dir.path(), "qa-1").await;
    let profile = json!({ "id": "u-42", "name": "Zed", "password": "hunter2", "aesthetics": aesthetics() });
    let calls = [
        call(Method::POST, "/user/update", Some(profile)),
        call(Method::GET, "/user", None),
        call(Method::POST, "/user/clear", None),
        call(Method::GET, "/user", None),
        call(
            Method::POST,
            "/user/update/vanity",
            Some(json!({ "id": "u-42", "aesthetics": aesthetics() })),
        ),
    ];
    let mut statuses = Vec::new();
    for call in &calls {
        statuses.push(send_call(replay.address(), "readme", call, &[]).await.status);
    }
    assert_eq!(statuses, [200, 200, 204, 200, 511]);
}

#[test]
fn record_needs_an_existing_directory_and_redact_a_json_pointer() {
    let (code, _, stderr) = run_to_exit(&["--port", "0", "--record", "no/such/dir"], &repo_root());
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("error: --record no/such/dir: not a directory"),
        "{stderr}"
    );
    let (code, _, stderr) = run_to_exit(&["--port", "0", "--redact", "user.email"], &repo_root());
    assert_eq!(code, Some(2));
    assert!(stderr.contains("`user.email` is no JSON pointer"), "{stderr}");
}

#[tokio::test]
async fn an_answer_that_reads_like_a_template_replays_byte_for_byte() {
    let recorder = start(shipped_with(Behaviour::default(), None, None)).await;
    let profile = json!({ "id": "u-1", "name": "{{request.body.id}} and {{uuid}}", "aesthetics": aesthetics() });
    let update = call(Method::POST, "/user/update", Some(profile));
    let recorded = send_call(recorder.address(), "braces", &update, &[]).await;
    assert!(recorded.text().contains("{{uuid}}"));
    let text = export(recorder.address(), "braces").await.text().to_string();
    assert!(
        text.contains("      headers: { content-type: \"application/json\" }\n      body: { binary: \""),
        "{text}"
    );
    let dir = TempDir::new("record-braces");
    dir.write("braces.yaml", &text);
    let replay = replay_server(dir.path(), "braces").await;
    let replayed = send_call(replay.address(), "again", &update, &[]).await;
    assert_eq!(replayed.status, 200);
    assert_eq!(replayed.header("content-type"), Some("application/json"));
    assert_eq!(replayed.body, recorded.body, "never rendered as a template");
}

/// A small API whose answers a scenario scripts byte for byte, so a test
/// records exactly the bodies it names.
const SCRIPTED_SPEC: &str = include_str!("record_files/scripted.yaml");

/// Starts a mock of [`SCRIPTED_SPEC`] whose scenario `serve` answers each
/// operation with these bytes (operation, content type, body), in `dir`.
async fn scripted(dir: &TempDir, answers: &[(&str, &str, &[u8])]) -> MockServer {
    scripted_with(dir, answers, Behaviour::default()).await
}

async fn scripted_with(dir: &TempDir, answers: &[(&str, &str, &[u8])], behaviour: Behaviour) -> MockServer {
    let mut scenario = String::from("rules:\n");
    for (operation, content_type, body) in answers {
        let base64 = data_encoding::BASE64.encode(body);
        scenario.push_str(&format!(
            "  - when: {{ operation: {operation} }}\n    respond:\n      status: 200\n      headers: {{ content-type: \"{content_type}\" }}\n      body: {{ binary: \"{base64}\" }}\n"
        ));
    }
    start(scripted_app(dir, &scenario, behaviour)).await
}

/// A mock of [`SCRIPTED_SPEC`] in `dir`, serving this scenario.
fn scripted_app(dir: &TempDir, scenario: &str, behaviour: Behaviour) -> App {
    let spec = dir.write("spec.yaml", SCRIPTED_SPEC);
    std::fs::create_dir_all(dir.path().join("serve")).expect("a directory");
    std::fs::write(dir.path().join("serve/serve.yaml"), scenario).expect("written");
    let sources = Sources::resolve([spec], None, Some(dir.path().join("serve")), &repo_root());
    let (app, _) = App::load(sources, Some("serve".into()), 0, behaviour).expect("the app loads");
    app
}

/// A recording of a [`SCRIPTED_SPEC`] session, written to `dir/replay` and replayed there.
async fn replay_scripted(dir: &TempDir, session: &str, text: &str) -> MockServer {
    let replay = dir.path().join("replay");
    std::fs::create_dir_all(&replay).expect("a directory");
    std::fs::write(replay.join(format!("{session}.yaml")), text).expect("written");
    let sources = Sources::resolve([dir.path().join("spec.yaml")], None, Some(replay), &repo_root());
    let (app, _) = App::load(sources, Some(session.into()), 0, Behaviour::default()).expect("the recording loads");
    start(app).await
}

async fn get_in(addr: SocketAddr, session: &str, path: &str) -> Reply {
    send(addr, Method::GET, path, &[("x-mock-session", session)], b"").await
}

/// Every `binary:` body of a recording, decoded.
fn binaries(text: &str) -> Vec<String> {
    text.split("binary: \"")
        .skip(1)
        .map(|rest| {
            let base64 = rest.split('"').next().unwrap_or_default();
            let bytes = data_encoding::BASE64.decode(base64.as_bytes()).expect("base64");
            String::from_utf8_lossy(&bytes).into_owned()
        })
        .collect()
}

#[tokio::test]
async fn secrets_in_an_answer_that_reads_like_a_template_never_reach_the_file() {
    let dir = TempDir::new("record-template-secrets");
    let body = br#"{"access_token":"tok-SECRET-123","password":"hunter2","apiKeys":["pk_test_FAKE_9"],"note":"hello {{name}}"}"#;
    let server = scripted(&dir, &[("thing", "application/json", body)]).await;
    let recorded = get_in(server.address(), "t", "/thing").await;
    assert_eq!(recorded.body.as_ref(), body.as_slice());
    let text = export(server.address(), "t").await.text().to_string();
    for secret in ["tok-SECRET-123", "hunter2", "pk_test_FAKE_9"] {
        assert!(!text.contains(secret), "{text}");
        assert!(
            binaries(&text).iter().all(|b| !b.contains(secret)),
            "{:?}",
            binaries(&text)
        );
    }
    let replay = replay_scripted(&dir, "t", &text).await;
    let replayed = get_in(replay.address(), "t", "/thing").await;
    assert_eq!(
        replayed.json(),
        json!({ "access_token": "[redacted]", "password": "[redacted]", "apiKeys": ["[redacted]"], "note": "hello {{name}}" })
    );
}

#[tokio::test]
async fn numbers_replay_as_the_same_json_value_whatever_their_size() {
    let dir = TempDir::new("record-numbers");
    let exact = br#"{"wide":123456789012345678901234567890,"past":18446744073709551616,"fine":0.1000000000000000055511151231257827,"small":1.5,"n":-3}"#;
    let huge = br#"{"huge":1e+400}"#;
    let server = scripted(
        &dir,
        &[("thing", "application/json", exact), ("flag", "application/json", huge)],
    )
    .await;
    get_in(server.address(), "n", "/thing").await;
    get_in(server.address(), "n", "/flag").await;
    let text = export(server.address(), "n").await.text().to_string();
    let replay = replay_scripted(&dir, "n", &text).await;
    let thing = get_in(replay.address(), "n", "/thing").await;
    assert_eq!(thing.body.as_ref(), exact.as_slice(), "{text}");
    let flag = get_in(replay.address(), "n", "/flag").await;
    assert_eq!(flag.body.as_ref(), huge.as_slice(), "{text}");
}

#[tokio::test]
async fn a_recording_of_valid_answers_passes_check_whatever_was_redacted_or_its_media_type() {
    let dir = TempDir::new("record-valid");
    let server = scripted(
        &dir,
        &[
            ("flag", "application/json", br#"{"hasPassword":true}"#),
            ("form", "application/x-www-form-urlencoded", b"{}"),
        ],
    )
    .await;
    assert_eq!(get_in(server.address(), "v", "/flag").await.status, 200);
    assert_eq!(get_in(server.address(), "v", "/form").await.status, 200);
    let text = export(server.address(), "v").await.text().to_string();
    let replay = dir.path().join("replay");
    std::fs::create_dir_all(&replay).expect("a directory");
    std::fs::write(replay.join("v.yaml"), &text).expect("written");
    let spec = dir.path().join("spec.yaml");
    let (code, stdout, stderr) = run_to_exit(
        &[
            "check",
            "--spec",
            spec.to_str().expect("UTF-8"),
            "--scenarios",
            replay.to_str().expect("UTF-8"),
        ],
        &repo_root(),
    );
    assert_eq!(code, Some(0), "{text}\n{stdout}{stderr}");
}

#[tokio::test]
async fn query_parameters_named_like_secrets_are_redacted_in_the_step_comment() {
    let dir = TempDir::new("record-query");
    let server = scripted(&dir, &[("thing", "application/json", b"{}")]).await;
    let target = "/thing?api_key=SECRET1&access_token=SECRET2&page=2";
    assert_eq!(get_in(server.address(), "q", target).await.status, 200);
    let text = export(server.address(), "q").await.text().to_string();
    assert!(!text.contains("SECRET"), "{text}");
    assert!(
        text.contains("GET /thing?api_key=[redacted]&access_token=[redacted]&page=2\n"),
        "{text}"
    );
}

/// A mock of the shipped spec recording into `dir`.
async fn recording_into(dir: &TempDir, behaviour: Behaviour) -> MockServer {
    let mut behaviour = behaviour;
    behaviour.record.dir = Some(dir.path().to_path_buf());
    start(shipped_with(behaviour, None, None)).await
}

#[tokio::test]
async fn a_session_id_read_from_a_header_or_cookie_never_reaches_the_file_or_its_name() {
    let dir = TempDir::new("record-session-key");
    let behaviour = Behaviour {
        session_key: "header:X-Api-Key".parse().expect("a session key"),
        ..Behaviour::default()
    };
    let server = recording_into(&dir, behaviour).await;
    let secret = "KEY-SECRET-77";
    let snapshot = send(server.address(), Method::GET, "/user", &[("x-api-key", secret)], b"").await;
    assert_eq!(snapshot.status, 200);
    let exported = export(server.address(), secret).await.text().to_string();
    let flushed = send(
        server.address(),
        Method::POST,
        &format!("/__mock/sessions/{secret}/record"),
        &[],
        b"",
    )
    .await;
    assert_eq!(flushed.status, 200, "{}", flushed.text());
    let files = yaml_files(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(!files[0].contains(secret), "{files:?}");
    let written = std::fs::read_to_string(dir.path().join(&files[0])).expect("written");
    assert!(written.contains("--scenario session-"), "{written}");
    for text in [&exported, &written] {
        assert!(!text.contains(secret), "{text}");
    }
}

#[tokio::test]
async fn a_flush_right_after_a_reset_leaves_the_recording_the_reset_wrote() {
    let dir = TempDir::new("record-reset-flush");
    let server = recording_into(&dir, Behaviour::default()).await;
    send_call(server.address(), "s8", &user_flow()[4], &[]).await;
    let reset = send(server.address(), Method::POST, "/__mock/sessions/s8/reset", &[], b"").await;
    assert_eq!(reset.status, 200);
    let written = std::fs::read_to_string(dir.path().join("s8.yaml")).expect("written at the reset");
    assert!(written.contains("1 steps"), "{written}");
    let flushed = send(server.address(), Method::POST, "/__mock/sessions/s8/record", &[], b"").await;
    assert_eq!(flushed.status, 200, "{}", flushed.text());
    let kept = std::fs::read_to_string(dir.path().join("s8.yaml")).expect("kept");
    assert!(kept == written, "{kept}");
    assert_eq!(flushed.json()["steps"], 0, "the next recording, empty so far");
}

#[tokio::test]
async fn characters_yaml_does_not_allow_raw_are_escaped_and_no_key_breaks_a_comment_line() {
    let dir = TempDir::new("record-escapes");
    let body =
        "{\"note\":\"del \u{7f} c1 \u{85}\u{90} non \u{fffe} bom \u{feff} ls \u{2028}\",\"token\\nrules: []\":\"s\"}";
    let server = scripted(&dir, &[("thing", "application/json", body.as_bytes())]).await;
    assert_eq!(get_in(server.address(), "e", "/thing").await.status, 200);
    let text = export(server.address(), "e").await.text().to_string();
    assert!(!text.contains("\nrules: []"), "{text}");
    let replay = replay_scripted(&dir, "e", &text).await;
    let replayed = get_in(replay.address(), "e", "/thing").await;
    assert_eq!(
        replayed.json(),
        json!({ "note": "del \u{7f} c1 \u{85}\u{90} non \u{fffe} bom \u{feff} ls \u{2028}", "token\nrules: []": "[redacted]" })
    );
}

#[tokio::test]
async fn a_call_answered_by_prefer_moves_the_replay_on_like_any_recorded_call() {
    let dir = TempDir::new("record-prefer");
    let flag = br#"{"hasPassword":false}"#;
    let server = scripted(&dir, &[("flag", "application/json", flag)]).await;
    let prefer = [("x-mock-session", "p"), ("prefer", "code=200")];
    let preferred = send(server.address(), Method::GET, "/thing", &prefer, b"").await;
    assert_eq!(preferred.status, 200);
    assert_eq!(
        get_in(server.address(), "p", "/flag").await.body.as_ref(),
        flag.as_slice()
    );
    let text = export(server.address(), "p").await.text().to_string();
    let replay = replay_scripted(&dir, "p", &text).await;
    let again = send(replay.address(), Method::GET, "/thing", &prefer, b"").await;
    assert_eq!((again.status, &again.body), (200, &preferred.body));
    let replayed = get_in(replay.address(), "p", "/flag").await;
    assert_eq!(replayed.body.as_ref(), flag.as_slice(), "{text}");
    let state = get(replay.address(), "/__mock/sessions/p").await.json();
    assert_eq!(state["replay"]["step"], 3, "{state}");
}

#[tokio::test]
async fn a_request_that_broke_the_spec_leaves_its_valid_answer_unmarked_and_checked() {
    let dir = TempDir::new("record-lenient");
    let lenient = Behaviour {
        lenient: true,
        ..Behaviour::default()
    };
    let flag = br#"{"hasPassword":false}"#;
    let server = scripted_with(&dir, &[("flag", "application/json", flag)], lenient).await;
    let answered = get_in(server.address(), "l", "/flag?q=abc").await;
    assert_eq!(answered.status, 200);
    assert!(
        answered.header("x-mock-violations").is_some(),
        "the request broke the spec"
    );
    let text = export(server.address(), "l").await.text().to_string();
    assert!(
        !text.contains("broke the spec") && !text.contains("violations:"),
        "{text}"
    );
}

#[tokio::test]
async fn an_answer_whose_body_the_journal_let_go_keeps_its_step_so_the_replay_keeps_its_place() {
    let dir = TempDir::new("record-dropped");
    let (first, second) = (
        format!("{{\"n\":\"{}\"}}", "1".repeat(60)),
        format!("{{\"n\":\"{}\"}}", "2".repeat(60)),
    );
    let scenario = format!(
        "initial: first\nrules:\n  - when: {{ operation: thing, state: first }}\n    respond: {{ status: 200, body: {{ json: {first} }} }}\n    then: {{ state: second }}\n  - when: {{ operation: thing, state: second }}\n    respond: {{ status: 200, body: {{ json: {second} }} }}\n"
    );
    let app = scripted_app(&dir, &scenario, Behaviour::default());
    app.journal().set_body_budget(100);
    let server = start(app).await;
    assert_eq!(get_in(server.address(), "d", "/thing").await.text(), first);
    assert_eq!(get_in(server.address(), "d", "/thing").await.text(), second);
    let text = export(server.address(), "d").await.text().to_string();
    assert!(!text.contains(&first), "the journal let it go: {text}");
    let replay = replay_scripted(&dir, "d", &text).await;
    let again = get_in(replay.address(), "d", "/thing").await;
    assert_eq!(again.status, 200);
    assert_ne!(again.text(), second, "{text}");
    assert_eq!(get_in(replay.address(), "d", "/thing").await.text(), second, "{text}");
}

#[tokio::test]
async fn a_session_whose_calls_were_all_refused_keeps_them_as_comments() {
    let dir = TempDir::new("record-refused");
    let server = scripted(&dir, &[("thing", "application/json", b"{}")]).await;
    assert_eq!(get_in(server.address(), "r", "/nowhere").await.status, 404);
    let text = export(server.address(), "r").await.text().to_string();
    assert!(text.contains("rules: []\n"), "{text}");
    assert!(
        text.contains(": GET /nowhere: not replayed, no operation of the spec"),
        "{text}"
    );
    replay_scripted(&dir, "r", &text).await;
}

#[tokio::test]
async fn an_export_of_a_session_the_journal_partly_let_go_says_so() {
    let dir = TempDir::new("record-rolled");
    let small = Behaviour {
        journal_size: 2,
        ..Behaviour::default()
    };
    let server = scripted_with(&dir, &[("thing", "application/json", b"{}")], small).await;
    let whole = export(server.address(), "j").await;
    assert_eq!(whole.status, 404, "no call yet");
    get_in(server.address(), "j", "/thing").await;
    let text = export(server.address(), "j").await.text().to_string();
    assert!(!text.contains("may be missing"), "{text}");
    for _ in 0..2 {
        get_in(server.address(), "j", "/thing").await;
    }
    let text = export(server.address(), "j").await.text().to_string();
    assert!(text.contains("2 steps"), "{text}");
    assert!(
        text.contains("# The journal no longer holds its oldest entries (--journal-size, or a clear): this session's first calls may be missing; --record keeps a session whole.\n"),
        "{text}"
    );
}
