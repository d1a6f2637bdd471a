//! Hot reload, against the real binary over real HTTP and WebSocket: files
//! edited, broken and fixed while clients keep calling; `POST
//! /__mock/reload` with files, without watching, and with the embedded
//! inputs; what `GET /__mock/status` says of each.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use http::Method;
use serde_json::{json, Value};

/// The bound a change must be served within, from its save.
const APPLIED_WITHIN: Duration = Duration::from_secs(1);

const SPEC: &str = r#"openapi: 3.0.3
info: { title: reload, version: "1" }
paths:
  /version:
    get:
      operationId: getVersion
      responses:
        '200':
          description: the versions of the files that answered
          headers:
            x-spec:
              description: the version of the spec that answered
              required: true
              schema: { type: string, example: s1 }
          content:
            application/json:
              schema:
                type: object
                required: [fixture, scenario]
                properties: { fixture: { type: string }, scenario: { type: string } }
  /notes:
    post:
      operationId: addNote
      requestBody:
        required: true
        content:
          application/json:
            schema: { type: object, required: [text], properties: { text: { type: string } } }
      responses:
        '200':
          description: the note
          content:
            application/json:
              schema: { type: object, properties: { text: { type: string } } }
    get:
      operationId: getNote
      responses:
        '200':
          description: the note, and the scenario version that answered
          content:
            application/json:
              schema:
                type: object
                properties: { text: { type: string }, scenario: { type: string } }
  /feed:
    get:
      operationId: feed
      x-websocket: true
      responses:
        '200':
          description: the note, as frames
          content:
            application/json:
              schema:
                type: object
                properties: { text: { type: string }, scenario: { type: string } }
        '426': { description: a plain GET }
"#;

/// The spec at version `v`: its `GET /version` answers say `v` in a header.
fn spec(v: &str) -> String {
    SPEC.replace("example: s1", &format!("example: {v}"))
}

/// The start scenario at version `v`: every answer says `v` in its body,
/// and the fixture's own version beside it. A note is stored, moving the
/// session to `noted`.
fn default_scenario(v: &str) -> String {
    format!(
        r#"description: version {v}
rules:
  - when: {{ operation: getVersion }}
    respond:
      status: 200
      body: {{ fixture: version.json, merge: {{ scenario: "{v}" }} }}
  - when: {{ operation: addNote }}
    respond: {{ status: 200, body: {{ from: request.body }} }}
    store: {{ note: {{ from: request.body }} }}
    then: {{ state: noted }}
  - when: {{ operation: getNote, state: noted }}
    respond: {{ status: 200, body: {{ from: store.note, merge: {{ scenario: "{v}" }} }} }}
  - when: {{ operation: feed }}
    respond: {{ status: 200, body: {{ from: store.note, merge: {{ scenario: "{v}" }} }} }}
"#
    )
}

const GONE_SCENARIO: &str = "description: removed by a reload\nrules: []\n";

/// A scenario whose rule names an operation the spec does not have.
const BROKEN_SCENARIO: &str =
    "description: broken\nrules:\n  - when: { operation: nope }\n    respond: { status: 200 }\n";

fn fixture(version: &str) -> String {
    json!({ "fixture": version }).to_string()
}

/// A spec, fixtures and scenarios in a directory of their own.
struct Project {
    dir: TempDir,
}

impl Project {
    fn new() -> Self {
        let dir = TempDir::new("reload");
        dir.write("openapi.yaml", SPEC);
        std::fs::create_dir(dir.path().join("fixtures")).expect("fixtures/");
        std::fs::create_dir(dir.path().join("scenarios")).expect("scenarios/");
        let project = Self { dir };
        project.save("fixtures/version.json", &fixture("f1"));
        project.save("scenarios/default.yaml", &default_scenario("s1"));
        project.save("scenarios/gone.yaml", GONE_SCENARIO);
        project
    }

    /// Saves `text` as an editor does: a new file renamed over the old one.
    fn save(&self, name: &str, text: &str) -> Instant {
        let path = self.dir.path().join(name);
        let temporary = path.with_file_name(format!(".{}.tmp", path.file_name().unwrap().to_string_lossy()));
        std::fs::write(&temporary, text).expect("write the new file");
        std::fs::rename(&temporary, &path).expect("rename it over the old one");
        Instant::now()
    }

    fn start(&self, flags: &[&str]) -> Binary {
        Binary::start(&[&["--port", "0"], flags].concat(), self.dir.path())
    }
}

/// One answer to `GET /version`, and when it came.
#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    /// The spec's version, from its declared header.
    spec: String,
    scenario: String,
    fixture: String,
}

/// Between a client's requests.
const PAUSE: Duration = Duration::from_millis(3);

/// Clients calling `GET /version` one after another, each on its own connection
/// and session, until stopped.
struct Clients {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Vec<Seen>>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Clients {
    async fn start(addr: SocketAddr, count: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(vec![Vec::new(); count]));
        let tasks = (0..count)
            .map(|client| {
                let (stop, seen) = (stop.clone(), seen.clone());
                tokio::spawn(async move {
                    let mut connection = KeepAlive::open(addr).await;
                    let session = format!("client-{client}");
                    while !stop.load(Ordering::Relaxed) {
                        let reply = connection
                            .send(Method::GET, "/version", &[("x-mock-session", &session)], b"")
                            .await
                            .expect("an answer");
                        assert_eq!(reply.status, 200, "{}", reply.text());
                        let body = reply.json();
                        seen.lock().unwrap()[client].push(Seen {
                            at: Instant::now(),
                            spec: reply.header("x-spec").unwrap_or("-").to_string(),
                            scenario: body["scenario"].as_str().unwrap_or("-").to_string(),
                            fixture: body["fixture"].as_str().unwrap_or("-").to_string(),
                        });
                        // Leaves the reload and the other clients a core.
                        tokio::time::sleep(PAUSE).await;
                    }
                })
            })
            .collect();
        Self { stop, seen, tasks }
    }

    /// When the first answer with `scenario` and `fixture` came after `since`.
    fn first(&self, since: Instant, scenario: &str, fixture: &str) -> Option<Instant> {
        let seen = self.seen.lock().unwrap();
        let answers = seen.iter().flatten().filter(|s| s.at >= since);
        answers
            .filter(|s| s.scenario == scenario && s.fixture == fixture)
            .map(|s| s.at)
            .min()
    }

    /// Waits until every client has had an answer with `scenario` and
    /// `fixture`; returns how long after `saved` the first one came.
    async fn until_served(&self, saved: Instant, scenario: &str, fixture: &str) -> Duration {
        let deadline = saved + Duration::from_secs(5);
        loop {
            let everyone = {
                let seen = self.seen.lock().unwrap();
                seen.iter().all(|client| {
                    client
                        .last()
                        .is_some_and(|s| s.scenario == scenario && s.fixture == fixture)
                })
            };
            if everyone {
                let first = self.first(saved, scenario, fixture).expect("an answer after the save");
                return first - saved;
            }
            assert!(
                Instant::now() < deadline,
                "no answer from scenario {scenario} and fixture {fixture} within 5 s of the save"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The answers since `since`, across clients.
    fn since(&self, since: Instant) -> Vec<Seen> {
        let seen = self.seen.lock().unwrap();
        seen.iter().flatten().filter(|s| s.at >= since).cloned().collect()
    }

    /// Stops the clients; returns each one's answers in order.
    async fn stop(self) -> Vec<Vec<Seen>> {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.expect("a client ran to its end");
        }
        let seen = self.seen.lock().unwrap();
        seen.clone()
    }
}

/// `reply` is what the admin document declares for `operation`.
fn assert_documented(operation: &str, reply: &Reply) {
    let document =
        specmock::internal::spec::load_text("admin_openapi.json", specmock::internal::admin::ADMIN_OPENAPI, None)
            .expect("the admin document loads");
    let operation = document.operation(operation).expect("a documented operation");
    assert_eq!(response_problems(operation, reply), Vec::<String>::new());
}

async fn status(addr: SocketAddr) -> Value {
    let reply = get(addr, "/__mock/status").await;
    assert_eq!(reply.status, 200);
    reply.json()
}

/// Polls `GET /__mock/status` until its `config` satisfies `wanted`.
async fn config_once(addr: SocketAddr, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let config = status(addr).await["config"].clone();
        if wanted(&config) {
            return config;
        }
        assert!(Instant::now() < deadline, "status never showed it: {config:#}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What start-up prints for the project's files as they are now.
fn start_up_error(project: &Project) -> String {
    let (code, _, stderr) = run_to_exit(&["--port", "0"], project.dir.path());
    assert_eq!(code, Some(2), "{stderr}");
    stderr
}

/// The next frame of a live stream, as JSON.
async fn next_frame(ws: &mut Ws) -> Value {
    match ws_next(ws, Duration::from_secs(3)).await {
        Some(Ok(WsMessage::Text(text))) => serde_json::from_str(&text).expect("a JSON frame"),
        other => panic!("expected a frame, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn edits_apply_within_a_second_breaks_keep_the_last_good_and_sessions_and_streams_survive() {
    let project = Project::new();
    let binary = project.start(&[]);
    let addr = binary.addr;
    let config = status(addr).await["config"].clone();
    assert_eq!(
        (config["generation"].clone(), config["watching"].clone()),
        (json!(1), json!(true))
    );
    assert_eq!(
        (config["source"].clone(), config["error"].clone()),
        (json!("files"), Value::Null)
    );
    let files = config["files"].as_array().expect("files").clone();
    for name in ["fixtures/version.json", "scenarios/default.yaml", "scenarios/gone.yaml"] {
        assert!(files.contains(&json!(name)), "{name} in {files:?}");
    }

    // A session with a state and a store, followed by a live stream; another in a scenario about to go.
    let keeper = in_session("keeper", &[("content-type", "application/json")]);
    let stored = send(addr, Method::POST, "/notes", &keeper, br#"{"text":"kept"}"#).await;
    assert_eq!(stored.status, 200, "{}", stored.text());
    let mut stream = ws_open(addr, "/feed?__session=keeper", &[]).await;
    assert_eq!(next_frame(&mut stream).await, json!({"text": "kept", "scenario": "s1"}));
    let moved = send(
        addr,
        Method::GET,
        "/version",
        &in_session("mover", &[("x-mock-scenario", "gone")]),
        b"",
    )
    .await;
    assert_eq!(moved.status, 200);

    let clients = Clients::start(addr, 4).await;
    clients.until_served(Instant::now(), "s1", "f1").await;

    // An edit of the scenario, and the removal of another.
    std::fs::remove_file(project.dir.path().join("scenarios/gone.yaml")).expect("remove gone.yaml");
    let saved = project.save("scenarios/default.yaml", &default_scenario("s2"));
    let took = clients.until_served(saved, "s2", "f1").await;
    assert!(took < APPLIED_WITHIN, "the edit was served {took:?} after the save");
    assert_eq!(
        next_frame(&mut stream).await,
        json!({"text": "kept", "scenario": "s2"}),
        "the open stream sends the new frame"
    );
    let note = send(addr, Method::GET, "/notes", &in_session("keeper", &[]), b"").await;
    assert_eq!(
        note.json(),
        json!({"text": "kept", "scenario": "s2"}),
        "state and store survive"
    );
    let mover = get(addr, "/__mock/sessions/mover").await;
    assert_documented("get-session", &mover);
    let mover = mover.json();
    assert_eq!(mover["scenario"], "default", "{mover:#}");
    let notice = mover["notice"]
        .as_str()
        .unwrap_or_else(|| panic!("a notice: {mover:#}"));
    assert!(
        notice.starts_with("scenario `gone` was removed by the reload at "),
        "{notice}"
    );
    assert!(notice.ends_with("; moved to `default`"), "{notice}");
    assert!(get(addr, "/__mock/sessions/keeper")
        .await
        .json()
        .get("notice")
        .is_none());

    // A broken scenario keeps the last good configuration, and says where, as start-up does.
    let broken_at = project.save("scenarios/default.yaml", BROKEN_SCENARIO);
    let config = config_once(addr, |config| !config["error"].is_null()).await;
    let printed = start_up_error(&project);
    let error = &config["error"];
    let place = format!(
        "{}:{}:{}: {}",
        error["file"].as_str().unwrap(),
        error["line"],
        error["column"],
        error["message"].as_str().unwrap()
    );
    assert!(place.starts_with("scenarios/default.yaml:3:"), "{place}");
    assert!(
        printed.contains(&format!("error: {place}")),
        "start-up printed:\n{printed}\nstatus: {place}"
    );
    let text = error["text"].as_str().expect("the whole message");
    assert!(
        printed.ends_with(text),
        "the whole message, as printed:\n{printed}\nstatus:\n{text}"
    );
    assert_eq!(config["generation"], 2, "still the last good one");
    assert!(binary.stderr_once(&place).contains(&place), "logged on stderr");
    // The fixture changes too, but the scenario still breaks the whole.
    project.save("fixtures/version.json", &fixture("f2"));
    tokio::time::sleep(Duration::from_millis(700)).await;
    let during = clients.since(broken_at);
    assert!(!during.is_empty());
    assert!(
        during.iter().all(|s| s.scenario == "s2" && s.fixture == "f1"),
        "{during:?}"
    );

    // Fixing it applies both.
    let fixed = project.save("scenarios/default.yaml", &default_scenario("s3"));
    let took = clients.until_served(fixed, "s3", "f2").await;
    assert!(took < APPLIED_WITHIN, "the fix was served {took:?} after the save");
    let config = config_once(addr, |config| config["error"].is_null()).await;
    assert!(config["generation"].as_u64().unwrap() >= 3, "{config:#}");

    // A broken fixture: its own place; fixing it applies.
    project.save("fixtures/version.json", "{\"fixture\": \"f3\",\n  oops}");
    let config = config_once(addr, |config| !config["error"].is_null()).await;
    assert_eq!(config["error"]["file"], "fixtures/version.json", "{config:#}");
    assert_eq!(
        (config["error"]["line"].clone(), config["error"]["column"].clone()),
        (json!(2), json!(3))
    );
    let fixed = project.save("fixtures/version.json", &fixture("f4"));
    let took = clients.until_served(fixed, "s3", "f4").await;
    assert!(
        took < APPLIED_WITHIN,
        "the fixed fixture was served {took:?} after the save"
    );
    assert_eq!(next_frame(&mut stream).await, json!({"text": "kept", "scenario": "s3"}));

    // No answer went back to an older configuration.
    let order = |s: &Seen| (s.scenario.clone(), s.fixture.clone());
    for answers in clients.stop().await {
        assert!(answers.len() > 10, "{} answers", answers.len());
        for (before, after) in answers.iter().zip(answers.iter().skip(1)) {
            assert!(order(before) <= order(after), "{before:?} then {after:?}");
        }
    }
}

#[tokio::test]
async fn without_watching_a_change_waits_for_post_reload() {
    let project = Project::new();
    let binary = project.start(&["--no-watch"]);
    let addr = binary.addr;
    assert_eq!(status(addr).await["config"]["watching"], false);
    let version = || async { get(addr, "/version").await.json()["scenario"].clone() };
    project.save("scenarios/default.yaml", &default_scenario("s2"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(version().await, "s1", "nothing watches the files");

    // A state change from another origin's page is refused, as every admin one is.
    let cross = [("origin", "http://evil.example")];
    let refused = send(addr, Method::POST, "/__mock/reload", &cross, b"").await;
    refused.assert_problem(403, "admin-forbidden", "admin");
    assert_eq!(version().await, "s1");

    let reloaded = send(addr, Method::POST, "/__mock/reload", &[], b"").await;
    assert_eq!(reloaded.status, 200, "{}", reloaded.text());
    assert_documented("reload", &reloaded);
    let answer = reloaded.json();
    assert_eq!(answer["reloaded"], true, "{answer:#}");
    assert_eq!(answer["config"]["generation"], 2, "{answer:#}");
    assert_eq!(version().await, "s2");

    project.save("scenarios/default.yaml", BROKEN_SCENARIO);
    let failed = send(addr, Method::POST, "/__mock/reload", &[], b"").await;
    let problem = failed.assert_problem(422, "reload-failed", "admin");
    assert_documented("reload", &failed);
    assert_documented("get-status", &get(addr, "/__mock/status").await);
    assert_eq!(problem["reloaded"], false);
    assert_eq!(
        problem["config"]["error"]["file"], "scenarios/default.yaml",
        "{problem:#}"
    );
    assert_eq!(problem["config"]["error"]["line"], 3, "{problem:#}");
    assert_eq!(problem["config"]["generation"], 2);
    assert_eq!(version().await, "s2", "the last good configuration stays");
    assert!(binary
        .stderr_once("scenarios/default.yaml:3:")
        .contains("scenarios/default.yaml:3:"));
}

#[tokio::test]
async fn with_the_embedded_inputs_a_reload_says_there_is_nothing_to_reload() {
    let empty = TempDir::new("reload-embedded");
    let binary = Binary::start(&["--port", "0"], empty.path());
    let config = status(binary.addr).await["config"].clone();
    assert_eq!(config["source"], "embedded", "{config:#}");
    assert_eq!(config["watching"], false, "{config:#}");
    let reloaded = send(binary.addr, Method::POST, "/__mock/reload", &[], b"").await;
    assert_eq!(reloaded.status, 200, "{}", reloaded.text());
    assert_documented("reload", &reloaded);
    let answer = reloaded.json();
    assert_eq!(answer["reloaded"], false);
    assert_eq!(
        answer["reason"],
        "the inputs are embedded in the binary; nothing to reload"
    );
    assert_eq!(answer["config"]["generation"], 1);
}

#[tokio::test]
async fn a_live_stream_whose_operation_a_reload_removed_closes_saying_so() {
    let project = Project::new();
    let binary = project.start(&["--no-watch"]);
    let note = in_session("reader", &[("content-type", "application/json")]);
    send(binary.addr, Method::POST, "/notes", &note, br#"{"text":"kept"}"#).await;
    let mut stream = ws_open(binary.addr, "/feed?__session=reader", &[]).await;
    assert_eq!(next_frame(&mut stream).await["scenario"], "s1");

    let without_feed = SPEC.split("  /feed:").next().expect("the paths before /feed");
    project.save("openapi.yaml", without_feed);
    let scenario = default_scenario("s2");
    let without_feed_rule = scenario.split("  - when: { operation: feed }").next().unwrap();
    project.save("scenarios/default.yaml", without_feed_rule);
    let reloaded = send(binary.addr, Method::POST, "/__mock/reload", &[], b"").await;
    assert_eq!(reloaded.status, 200, "{}", reloaded.text());
    match ws_next(&mut stream, Duration::from_secs(3)).await {
        Some(Ok(WsMessage::Close(Some(close)))) => {
            assert_eq!(u16::from(close.code), 1011);
            assert_eq!(close.reason.as_str(), "operation `feed` was removed by a reload");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn an_editors_swap_file_beside_the_fixtures_is_no_fixture() {
    let project = Project::new();
    // Vim's swap file of an open fixture: binary, and not UTF-8.
    let swap = project.dir.path().join("fixtures/.version.json.swp");
    std::fs::write(&swap, b"b0VIM 9.1\0\xff\xfe\x80").expect("the swap file");
    let binary = project.start(&["--no-watch"]);
    project.save("fixtures/version.json", &fixture("f2"));
    let reloaded = send(binary.addr, Method::POST, "/__mock/reload", &[], b"").await;
    assert_eq!(reloaded.status, 200, "{}", reloaded.text());
    let config = reloaded.json()["config"].clone();
    assert!(!config["files"].to_string().contains(".swp"), "{config:#}");
    assert_eq!(get(binary.addr, "/version").await.json()["fixture"], "f2");
}

#[tokio::test]
async fn status_and_reload_errors_never_show_where_the_files_sit() {
    let project = Project::new();
    let binary = project.start(&["--no-watch"]);
    let addr = binary.addr;
    let absolute = [
        project.dir.path().to_path_buf(),
        project.dir.path().canonicalize().expect("the project's directory"),
    ];
    let hides = |text: &str| {
        for dir in &absolute {
            assert!(!text.contains(&*dir.to_string_lossy()), "{dir:?} shown in {text}");
        }
    };
    let config = status(addr).await["config"].clone();
    assert!(
        config["files"].as_array().unwrap().contains(&json!("openapi.yaml")),
        "{config:#}"
    );
    hides(&config.to_string());

    // A `$ref` to a file that is not there, then to one outside through a symlink.
    let missing = SPEC.replace(
        "schema: { type: object, properties: { text: { type: string } } }",
        "schema: { $ref: 'schemas/missing.yaml' }",
    );
    project.save("openapi.yaml", &missing);
    let failed = send(addr, Method::POST, "/__mock/reload", &[], b"").await;
    failed.assert_problem(422, "reload-failed", "admin");
    assert!(failed.text().contains("schemas/missing.yaml"), "{}", failed.text());
    hides(failed.text());
    hides(&status(addr).await.to_string());
    // Then to one outside the spec's directory, through a symlink.
    let elsewhere = TempDir::new("reload-elsewhere");
    let outside = elsewhere.write("outside.yaml", "type: object\n");
    std::fs::create_dir(project.dir.path().join("schemas")).expect("schemas/");
    std::os::unix::fs::symlink(&outside, project.dir.path().join("schemas/missing.yaml")).expect("a symlink");
    let failed = send(addr, Method::POST, "/__mock/reload", &[], b"").await;
    failed.assert_problem(422, "reload-failed", "admin");
    assert!(failed.text().contains("outside"), "{}", failed.text());
    hides(failed.text());
    for dir in [elsewhere.path().to_path_buf(), outside.canonicalize().unwrap()] {
        assert!(
            !failed.text().contains(&*dir.to_string_lossy()),
            "{dir:?} in {}",
            failed.text()
        );
    }
}

/// Polls `check` until it holds, for at most 5 s.
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, check: impl Fn() -> F) -> Duration {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < Duration::from_secs(5), "{what}: not within 5 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

#[tokio::test]
async fn an_edit_of_a_file_the_spec_refs_in_a_subdirectory_is_applied_and_other_files_are_not_watched() {
    let project = Project::new();
    std::fs::create_dir(project.dir.path().join("schemas")).expect("schemas/");
    project.save(
        "schemas/note.yaml",
        "type: object\nrequired: [text]\nproperties: { text: { type: string } }\n",
    );
    let note = "schema: { type: object, required: [text], properties: { text: { type: string } } }";
    assert!(SPEC.contains(note));
    project.save(
        "openapi.yaml",
        &SPEC.replace(note, "schema: { $ref: 'schemas/note.yaml' }"),
    );
    let binary = project.start(&[]);
    let addr = binary.addr;
    let config = status(addr).await["config"].clone();
    assert!(
        config["files"]
            .as_array()
            .unwrap()
            .contains(&json!("schemas/note.yaml")),
        "{config:#}"
    );

    // A document beside the spec that it does not read changes nothing.
    project.save("unrelated.yaml", "not: read\n");
    project.save("unrelated.json", "{}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(status(addr).await["config"]["generation"], 1, "{}", binary.stderr());

    let json = [("content-type", "application/json")];
    let post = || async {
        send(addr, Method::POST, "/notes", &json, br#"{"text":"t"}"#)
            .await
            .status
    };
    assert_eq!(post().await, 200);
    project.save(
        "schemas/note.yaml",
        "type: object\nrequired: [text, title]\nproperties: { text: { type: string }, title: { type: string } }\n",
    );
    let took = eventually("the schema's edit refuses a note without a title", || async {
        post().await == 400
    })
    .await;
    assert!(took < APPLIED_WITHIN + Duration::from_millis(200), "{took:?}");

    // An edit of the spec itself.
    project.save(
        "openapi.yaml",
        &spec("s2").replace(note, "schema: { $ref: 'schemas/note.yaml' }"),
    );
    let spec_version = || async { get(addr, "/version").await.header("x-spec").map(str::to_string) };
    eventually("the spec's edit", || async {
        spec_version().await.as_deref() == Some("s2")
    })
    .await;
}

#[tokio::test]
async fn a_scenarios_directory_replaced_whole_is_watched_again() {
    let project = Project::new();
    let binary = project.start(&[]);
    let addr = binary.addr;
    let version = || async { get(addr, "/version").await.json()["scenario"].clone() };
    assert_eq!(version().await, "s1");

    // `rm -rf scenarios && cp -r elsewhere/scenarios .`
    let scenarios = project.dir.path().join("scenarios");
    std::fs::remove_dir_all(&scenarios).expect("remove scenarios/");
    // Watching stops as the directory goes; the reload that finds it missing
    // comes a debounce later.
    config_once(addr, |config| config["watching"] == false && !config["error"].is_null()).await;
    std::fs::create_dir(&scenarios).expect("scenarios/ again");
    std::fs::write(scenarios.join("default.yaml"), default_scenario("s2")).expect("a scenario");
    eventually("the new directory's scenario", || async { version().await == "s2" }).await;
    let config = config_once(addr, |config| config["watching"] == true).await;
    assert!(config["error"].is_null(), "{config:#}");

    // The new directory is watched: an edit in it is applied.
    project.save("scenarios/default.yaml", &default_scenario("s3"));
    eventually("an edit in the new directory", || async { version().await == "s3" }).await;
}

#[tokio::test]
async fn a_save_that_start_up_read_missed_is_reloaded_at_once() {
    let project = Project::new();
    // What a save during start-up leaves: a file modified after the inputs were read.
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    let file = std::fs::File::options()
        .write(true)
        .open(project.dir.path().join("scenarios/default.yaml"))
        .expect("the scenario");
    file.set_modified(later).expect("set the modification time");
    let binary = project.start(&[]);
    let config = config_once(binary.addr, |config| config["generation"] == 2).await;
    assert!(config["error"].is_null(), "{config:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_answer_mixes_the_spec_of_one_configuration_with_the_scenario_of_another() {
    let project = Project::new();
    let binary = project.start(&["--no-watch"]);
    let clients = Clients::start(binary.addr, 4).await;
    for v in 2..=120 {
        let v = format!("s{v}");
        project.save("openapi.yaml", &spec(&v));
        project.save("scenarios/default.yaml", &default_scenario(&v));
        let reloaded = send(binary.addr, Method::POST, "/__mock/reload", &[], b"").await;
        assert_eq!(reloaded.status, 200, "{}", reloaded.text());
    }
    let answers: Vec<Seen> = clients.stop().await.into_iter().flatten().collect();
    let versions: std::collections::BTreeSet<&str> = answers.iter().map(|s| s.scenario.as_str()).collect();
    assert!(versions.len() > 5, "answers from few configurations: {versions:?}");
    for answer in &answers {
        assert_eq!(
            answer.spec, answer.scenario,
            "the spec and the scenario of one configuration: {answer:?}"
        );
    }
}

#[tokio::test]
async fn removing_the_scenario_named_by_dash_dash_scenario_is_a_broken_change() {
    let project = Project::new();
    let binary = project.start(&["--no-watch", "--scenario", "gone"]);
    std::fs::remove_file(project.dir.path().join("scenarios/gone.yaml")).expect("remove gone.yaml");
    let failed = send(binary.addr, Method::POST, "/__mock/reload", &[], b"").await;
    let problem = failed.assert_problem(422, "reload-failed", "admin");
    let error = &problem["config"]["error"];
    assert_eq!(error["file"], "--scenario", "{problem:#}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("unknown scenario `gone`"),
        "{problem:#}"
    );
    assert_eq!(problem["config"]["generation"], 1);
}

/// A scenario whose stream script sends `v` twice, a moment apart.
fn scripted(v: &str) -> String {
    format!(
        "description: script {v}\nrules:\n  - when: {{ operation: feed }}\n    stream:\n      - send: {{ json: {{ text: \"{v}-a\" }} }}\n      - wait: 600ms\n      - send: {{ json: {{ text: \"{v}-b\" }} }}\n"
    )
}

#[tokio::test]
async fn a_script_in_progress_runs_to_its_end_as_it_was_loaded() {
    let project = Project::new();
    project.save("scenarios/scripted.yaml", &scripted("s1"));
    let binary = project.start(&["--no-watch"]);
    let switch = [("x-mock-scenario", "scripted")];
    let text = |message: Option<Result<WsMessage, WsError>>| match message {
        Some(Ok(WsMessage::Text(text))) => serde_json::from_str::<Value>(&text).expect("JSON")["text"]
            .as_str()
            .unwrap_or("-")
            .to_string(),
        other => panic!("expected a text frame, got {other:?}"),
    };
    let mut stream = ws_open(binary.addr, "/feed?__session=scripted", &switch).await;
    assert_eq!(text(ws_next(&mut stream, Duration::from_secs(3)).await), "s1-a");
    project.save("scenarios/scripted.yaml", &scripted("s2"));
    let reloaded = send(binary.addr, Method::POST, "/__mock/reload", &[], b"").await;
    assert_eq!(reloaded.status, 200, "{}", reloaded.text());
    assert_eq!(
        text(ws_next(&mut stream, Duration::from_secs(3)).await),
        "s1-b",
        "as loaded"
    );
    let mut again = ws_open(binary.addr, "/feed?__session=scripted", &[]).await;
    assert_eq!(
        text(ws_next(&mut again, Duration::from_secs(3)).await),
        "s2-a",
        "a new stream runs the new script"
    );
}
