//! Scenarios over real HTTP: the shipped scenarios step by step, sequences,
//! cycles, states, matching on body, query, headers and path, the three ways
//! of choosing a scenario, sessions in parallel, `Prefer` overrides, and every
//! static check a scenario file goes through before the server starts.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;
use http::Method;
use serde_json::{json, Value};
use specmock::internal::fixtures::Fixtures;
use specmock::internal::scenario::ScenarioSource;
use specmock::internal::spec::{CompiledSchema, StatusKey};
use specmock::internal::{App, Behaviour, Inputs, Limits};

const VANITY: &str = "/user/update/vanity";
/// A valid `UserProfile` asking for the vanity name `mark`.
const PROFILE: &str = r#"{"id":"u1","aesthetics":{"theme":{"dark":true},"font":{"size":14}},"vanityname":"mark"}"#;
/// A valid `Auth0User` for select-user.
const AUTH0_USER: &str = r#"{"user_id":"github|1234567","email":"sam.okafor@example.org","name":"Sam Okafor"}"#;
const BETA: &str = r#"{"user":"c41e9a7d-2f63-4b8e-a915-6d0b3e72f8c4"}"#;
const AUTH: (&str, &str) = ("authorization", "Bearer test-token");
const TEXT: &str = "text/plain; charset=utf-8";
/// The id of the spec's `SignedInUser` example (what `Prefer` and spec defaults send).
const SPEC_USER_ID: &str = "0b6f3c2e-8d41-4a7e-9c25-3f1e7d9a4b60";
const SHIPPED_SCENARIOS: [&str; 9] = [
    "cloud-errors",
    "default",
    "dns-not-ready",
    "providers-local",
    "signed-out",
    "slow-and-flaky",
    "stream-drops",
    "stream-malformed",
    "vanity-taken",
];
/// The scenarios of `tests/scenario_files/shipped-spec`, by name.
const TEST_SCENARIOS: [&str; 4] = ["body-and-headers", "cycle-five", "cycle-three", "door"];

// ------------------------------------------------------------------ servers

/// The shipped spec and fixtures with the shipped scenarios (so every session
/// starts in `default`) and those in `tests/scenario_files/shipped-spec`.
fn shipped() -> &'static Shared {
    static SERVER: OnceLock<Shared> = OnceLock::new();
    SERVER.get_or_init(|| {
        let mut scenarios = scenario_sources(&repo_root().join("scenarios"));
        scenarios.extend(scenario_sources(&scenario_files_dir().join("shipped-spec")));
        let (app, warnings) = build_shipped_with_scenarios(scenarios, None).unwrap_or_else(|e| panic!("{e}"));
        assert!(warnings.is_empty(), "{warnings:#?}");
        let operations = app.configuration().spec.operations.clone();
        serve_forever(app, operations, Limits::default())
    })
}

/// The shipped spec without scenarios: the spec's own answers.
fn spec_only() -> SocketAddr {
    shared_shipped().addr
}

/// `tests/scenario_files/items`: a small spec with path, query and header
/// parameters, a `4XX` range and a `default` response; its scenarios include
/// one named `default`, which every session starts in.
fn items() -> SocketAddr {
    static SERVER: OnceLock<Shared> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let (app, warnings) = build_items(Vec::new(), None).unwrap_or_else(|e| panic!("{e}"));
            assert!(warnings.is_empty(), "{warnings:#?}");
            let operations = app.configuration().spec.operations.clone();
            serve_forever(app, operations, Limits::default())
        })
        .addr
}

/// The items spec with its scenarios plus `extra`.
fn build_items(
    extra: Vec<ScenarioSource>,
    start: Option<&str>,
) -> Result<(App, Vec<String>), specmock::internal::diagnostic::Diagnostics> {
    let dir = scenario_files_dir().join("items");
    let spec = specmock::internal::spec::load_file(&dir.join("openapi.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let mut scenarios = scenario_sources(&dir.join("scenarios"));
    scenarios.extend(extra);
    let inputs = Inputs {
        spec,
        fixtures: Fixtures::default(),
        scenarios,
        start_scenario: start.map(str::to_string),
        seed: 0,
    };
    App::build(inputs, Behaviour::default())
}

// ------------------------------------------------------------------ helpers

/// Requests in one `X-Mock-Session`.
#[derive(Clone, Copy)]
struct Session {
    addr: SocketAddr,
    id: &'static str,
}

impl Session {
    fn new(addr: SocketAddr, id: &'static str) -> Self {
        Self { addr, id }
    }

    async fn send(&self, method: Method, path: &str, extra: &[(&str, &str)], body: &str) -> Reply {
        let mut headers = vec![("x-mock-session", self.id)];
        if !body.is_empty() {
            headers.push(("content-type", "application/json"));
        }
        headers.extend_from_slice(extra);
        send(self.addr, method, path, &headers, body.as_bytes()).await
    }

    async fn get(&self, path: &str, extra: &[(&str, &str)]) -> Reply {
        self.send(Method::GET, path, extra, "").await
    }

    /// `POST /user/update/vanity` asking for `mark`.
    async fn vanity(&self, extra: &[(&str, &str)]) -> Reply {
        self.send(Method::POST, VANITY, extra, PROFILE).await
    }

    async fn vanity_in(&self, scenario: &str) -> Reply {
        self.vanity(&[("x-mock-scenario", scenario)]).await
    }

    async fn select_user(&self) -> Reply {
        self.send(Method::POST, "/user/select", &[AUTH], AUTH0_USER).await
    }

    /// One valid call of the shipped operation `call`.
    async fn call(&self, call: &Call) -> Reply {
        self.send(call.method.clone(), &call.path, &call.headers, call.body)
            .await
    }
}

/// The spec's own answer (no scenario) to a request.
async fn spec_answer(method: Method, path: &str, extra: &[(&str, &str)], body: &str) -> Reply {
    Session::new(spec_only(), "spec").send(method, path, extra, body).await
}

/// A scripted text answer: status, `text/plain`, body, and no `X-Mock-Origin`.
#[track_caller]
fn assert_text(reply: &Reply, status: u16, text: &str) {
    assert_eq!(reply.status, status, "body: {}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.header("content-type"), Some(TEXT));
    assert_eq!(reply.text(), text);
    assert_eq!(
        reply.header("x-mock-origin"),
        None,
        "a scripted answer is not a mock error"
    );
}

/// A JSON answer the mock did not make up as an error.
#[track_caller]
fn assert_json(reply: &Reply, status: u16) -> Value {
    assert_eq!(reply.status, status, "body: {}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("x-mock-origin"), None);
    reply.json()
}

/// Two answers are the same: status, Content-Type and bytes.
#[track_caller]
fn assert_same(reply: &Reply, expected: &Reply, context: &str) {
    assert_eq!(
        (reply.status, reply.header("content-type"), &reply.body),
        (expected.status, expected.header("content-type"), &expected.body),
        "{context}"
    );
    assert_eq!(reply.header("x-mock-origin"), None, "{context}");
}

/// How many replies had each status.
fn count_statuses(replies: &[Reply]) -> BTreeMap<u16, usize> {
    let mut counts = BTreeMap::new();
    for reply in replies {
        *counts.entry(reply.status).or_default() += 1;
    }
    counts
}

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join("fixtures").join(name)).expect("the fixture exists");
    serde_json::from_str(&text).expect("the fixture is JSON")
}

/// `fixtures/user-signed-in.json`, the user of the `default` scenario, with `vanityname`.
fn signed_in_user(vanityname: &str) -> Value {
    let mut user = fixture("user-signed-in.json");
    user["vanityname"] = json!(vanityname);
    user
}

/// The schema of `operation`'s `status` response.
fn schema_of<'a>(shared: &'a Shared, operation: &str, status: u16) -> &'a CompiledSchema {
    shared
        .operations
        .iter()
        .find(|op| op.id == operation)
        .unwrap_or_else(|| panic!("no operation {operation}"))
        .responses
        .iter()
        .find(|r| r.status == StatusKey::Code(status))
        .and_then(|r| r.content.first())
        .and_then(|m| m.schema.as_ref())
        .expect("a schema")
}

/// A valid request for one operation of the shipped spec.
struct Call {
    id: String,
    method: Method,
    path: String,
    headers: Vec<(&'static str, &'static str)>,
    body: &'static str,
}

/// Every HTTP operation of the shipped spec, in spec order, as a valid
/// request (the stream is a WebSocket: tests/streams.rs).
fn shipped_calls() -> Vec<Call> {
    shipped()
        .operations
        .iter()
        .filter(|op| !op.websocket)
        .map(|op| {
            let body = match op.id.as_str() {
                "select-user" => AUTH0_USER,
                "update-user" | "user-update-vanity" => PROFILE,
                "user-beta-status" => BETA,
                _ => "",
            };
            Call {
                id: op.id.clone(),
                method: op.method.clone(),
                path: op.path.clone(),
                headers: if op.security.is_empty() { Vec::new() } else { vec![AUTH] },
                body,
            }
        })
        .collect()
}

/// Runs every shipped operation twice in `session` (which runs `scenario`)
/// and in `twin` (which runs `default`): the operations in `scripted` answer
/// 500/501 with their text in `session` (and are not sent to `twin`, whose
/// store must not move ahead); every other answer is byte for byte `twin`'s.
async fn assert_like_default_except(session: Session, twin: Session, scenario: &str, scripted: &[(&str, u16, &str)]) {
    let choose = session
        .get("/.well-known/health", &[("x-mock-scenario", scenario)])
        .await;
    assert_same(&choose, &twin.get("/.well-known/health", &[]).await, "health");
    for round in 0..2 {
        for call in shipped_calls() {
            let reply = session.call(&call).await;
            match scripted.iter().find(|(id, ..)| *id == call.id) {
                Some((_, status, text)) => assert_text(&reply, *status, text),
                None => assert_same(
                    &reply,
                    &twin.call(&call).await,
                    &format!("{} (round {round}) behaves like `default`", call.id),
                ),
            }
        }
    }
}

// ------------------------------------------------------- shipped scenarios

#[test]
fn the_shipped_scenarios_load_without_warnings_and_describe_themselves() {
    let (app, warnings) = build_shipped_with_scenarios(scenario_sources(&repo_root().join("scenarios")), None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(warnings.is_empty(), "{warnings:#?}");
    let configuration = app.configuration();
    let names: Vec<&str> = configuration.scenarios.names().collect();
    assert_eq!(names, SHIPPED_SCENARIOS);
    for scenario in configuration.scenarios.scenarios() {
        assert!(
            !scenario.description.trim().is_empty(),
            "{} has no description",
            scenario.name
        );
        assert!(!scenario.rules.is_empty(), "{} has no rules", scenario.name);
    }
}

#[tokio::test]
async fn default_is_where_every_session_starts_including_the_unnamed_one() {
    let addr = shipped().addr;
    let expected = json!({ "user": fixture("user-signed-in.json") });
    let fresh = Session::new(addr, "default-fresh").get("/user", &[]).await;
    assert_eq!(assert_json(&fresh, 200), expected);
    let unnamed = get(addr, "/user").await;
    assert_eq!(
        assert_json(&unnamed, 200),
        expected,
        "no X-Mock-Session: the session `default`"
    );
}

#[tokio::test]
async fn vanity_taken_answers_409_then_stores_the_retry() {
    let addr = shipped().addr;
    let session = Session::new(addr, "vanity-taken-flow");
    assert_text(
        &session.vanity_in("vanity-taken").await,
        409,
        "conflict: the vanity name is already taken",
    );
    assert_eq!(assert_json(&session.vanity(&[]).await, 200), signed_in_user("mark"));
    let snapshot = assert_json(&session.get("/user", &[]).await, 200);
    assert_eq!(snapshot["user"]["vanityname"], "mark", "the retry was stored");
    assert_eq!(assert_json(&session.vanity(&[]).await, 200), signed_in_user("mark"));
}

#[tokio::test]
async fn dns_not_ready_answers_404_404_200_200() {
    let session = Session::new(shipped().addr, "dns-not-ready-flow");
    let text = "original DNS record not found: wait until cloud connectivity is up";
    assert_text(&session.vanity_in("dns-not-ready").await, 404, text);
    assert_text(&session.vanity(&[]).await, 404, text);
    assert_eq!(assert_json(&session.vanity(&[]).await, 200), signed_in_user("mark"));
    assert_eq!(assert_json(&session.vanity(&[]).await, 200), signed_in_user("mark"));
}

#[tokio::test]
async fn cloud_errors_answers_500_where_documented_and_like_default_elsewhere() {
    let addr = shipped().addr;
    let cloud = "internal server error: the cloud did not answer";
    assert_like_default_except(
        Session::new(addr, "cloud-errors-flow"),
        Session::new(addr, "cloud-errors-twin"),
        "cloud-errors",
        &[
            ("refresh-user", 500, cloud),
            ("user-beta-status", 500, cloud),
            ("user-providers", 500, cloud),
            (
                "user-update-vanity",
                500,
                "internal server error: could not create the vanity name",
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn providers_local_answers_501_for_providers_only() {
    let addr = shipped().addr;
    assert_like_default_except(
        Session::new(addr, "providers-local-flow"),
        Session::new(addr, "providers-local-twin"),
        "providers-local",
        &[(
            "user-providers",
            501,
            "not implemented: providers are listed by the Pieces cloud, not locally",
        )],
    )
    .await;
}

#[tokio::test]
async fn signed_out_until_select_user_signs_a_user_in() {
    let addr = shipped().addr;
    let session = Session::new(addr, "signed-out-flow");
    let auth_text = "network authentication required: sign in to Pieces first";

    let snapshot = session.get("/user", &[("x-mock-scenario", "signed-out")]).await;
    assert_eq!(assert_json(&snapshot, 200), json!({}));
    assert_eq!(assert_json(&session.get("/user/providers", &[]).await, 200), json!({}));
    assert_text(&session.vanity(&[]).await, 511, auth_text);
    let beta = session.send(Method::POST, "/user/beta/status", &[], BETA).await;
    assert_text(&beta, 511, auth_text);
    assert_text(
        &session.get("/user/refresh", &[]).await,
        500,
        "internal server error: no user is signed in",
    );

    // Without credentials select-user is refused by the contract and signs nobody in.
    let refused = session.send(Method::POST, "/user/select", &[], AUTH0_USER).await;
    refused.assert_problem(401, "unauthorized", "validator");
    assert_eq!(assert_json(&session.get("/user", &[]).await, 200), json!({}));

    // The Auth0 user's fields over the minimal fixture; absent ones are left out.
    let mut user = fixture("user-minimal.json");
    user["id"] = json!("github|1234567");
    user["email"] = json!("sam.okafor@example.org");
    user["name"] = json!("Sam Okafor");
    assert_eq!(assert_json(&session.select_user().await, 200), user);
    assert_eq!(
        assert_json(&session.get("/user", &[]).await, 200),
        json!({ "user": user })
    );
    user["vanityname"] = json!("mark");
    assert_eq!(assert_json(&session.vanity(&[]).await, 200), user);
    assert_eq!(assert_json(&session.get("/user/refresh", &[]).await, 200), user);
}

#[tokio::test]
async fn signed_out_update_user_signs_in_too() {
    let session = Session::new(shipped().addr, "signed-out-update-user");
    assert_eq!(
        assert_json(&session.get("/user", &[("x-mock-scenario", "signed-out")]).await, 200),
        json!({})
    );
    let updated = assert_json(&session.send(Method::POST, "/user/update", &[], PROFILE).await, 200);
    assert_eq!(updated["id"], "u1");
    assert_eq!(assert_json(&session.get("/user", &[]).await, 200)["user"], updated);
}

// ------------------------------------------- sequences, cycles, states, matching

#[tokio::test]
async fn a_cycling_sequence_starts_over() {
    let session = Session::new(shipped().addr, "cycle-three-sequential");
    let mut statuses = vec![session.vanity_in("cycle-three").await.status];
    for _ in 0..7 {
        statuses.push(session.vanity(&[]).await.status);
    }
    assert_eq!(statuses, [404, 404, 200, 404, 404, 200, 404, 404]);
}

#[tokio::test]
async fn a_scenario_without_extends_leaves_the_rest_to_the_spec() {
    let session = Session::new(shipped().addr, "cycle-three-rest");
    assert_eq!(session.vanity_in("cycle-three").await.status, 404);
    assert_same(
        &session.get("/user", &[]).await,
        &spec_answer(Method::GET, "/user", &[], "").await,
        "not `default`'s stored user: the spec's example",
    );
}

#[tokio::test]
async fn states_gate_rules_and_then_moves_the_session() {
    let session = Session::new(shipped().addr, "door-states");
    let spec_snapshot = spec_answer(Method::GET, "/user", &[], "").await;
    let spec_refresh = spec_answer(Method::GET, "/user/refresh", &[], "").await;
    let minimal = fixture("user-minimal.json");

    // `locked` (the `initial` state).
    let snapshot = session.get("/user", &[("x-mock-scenario", "door")]).await;
    assert_eq!(assert_json(&snapshot, 200), json!({}), "example `signed-out`");
    assert_text(&session.get("/user/refresh", &[]).await, 500, "locked");
    assert_eq!(assert_json(&session.select_user().await, 200), minimal, "the fixture");

    // `open`: no rule for the snapshot or refresh, so the spec answers.
    assert_same(&session.get("/user", &[]).await, &spec_snapshot, "open snapshot");
    assert_same(&session.get("/user/refresh", &[]).await, &spec_refresh, "open refresh");
    let cleared = session.send(Method::POST, "/user/clear", &[], "").await;
    assert_eq!((cleared.status, cleared.body.len()), (204, 0));

    // `locked` again; the select rule's one-item sequence repeats.
    assert_eq!(assert_json(&session.get("/user", &[]).await, 200), json!({}));
    assert_eq!(assert_json(&session.select_user().await, 200), minimal);

    // From any state beta-status answers 511 (the spec's text) and jams the door.
    let beta = session.send(Method::POST, "/user/beta/status", &[], BETA).await;
    assert_text(
        &beta,
        511,
        "Network Authentication Required - sign in to Pieces OS to change the beta status.",
    );
    // `jammed` is one of the refresh rule's states; select only matches in `locked`.
    assert_text(&session.get("/user/refresh", &[]).await, 500, "locked");
    assert_same(&session.get("/user", &[]).await, &spec_snapshot, "jammed snapshot");
    assert_eq!(assert_json(&session.select_user().await, 200)["id"], SPEC_USER_ID);
}

#[tokio::test]
async fn rules_match_body_subsets_and_headers_first_match_wins() {
    let session = Session::new(shipped().addr, "body-and-headers");
    let spec = spec_answer(Method::POST, VANITY, &[], PROFILE).await;
    let choose = [("x-mock-scenario", "body-and-headers")];
    let taken = r#"{"id":"u1","aesthetics":{"theme":{"dark":true},"font":{"size":14}},"vanityname":"taken"}"#;
    let light = r#"{"id":"u1","aesthetics":{"theme":{"dark":false},"font":{"size":14}},"vanityname":"sam"}"#;
    let both = r#"{"id":"u1","aesthetics":{"theme":{"dark":false},"font":{"size":14}},"vanityname":"taken"}"#;

    let reply = session.send(Method::POST, VANITY, &choose, taken).await;
    assert_text(&reply, 409, "the vanity name `taken` is already taken");
    assert_eq!(reply.header("retry-after"), Some("30"), "scripted headers are sent");
    assert_eq!(reply.header("x-scenario-note"), Some("name taken"));
    // A nested subset, with the rule written as `post /path` in lower case.
    assert_text(
        &session.send(Method::POST, VANITY, &[], light).await,
        500,
        "light themes break the cloud",
    );
    // Both bodies match: the first rule wins, and rule 3 (also `taken`) never answers.
    assert_eq!(session.send(Method::POST, VANITY, &[], both).await.status, 409);
    // Neither: the spec's answer, also with no body at all.
    assert_same(&session.vanity(&[]).await, &spec, "no body rule matches");
    assert_same(
        &session.send(Method::POST, VANITY, &[], "").await,
        &spec_answer(Method::POST, VANITY, &[], "").await,
        "no body",
    );

    // Header values match exactly; header names in any case.
    let legacy = session.vanity(&[("x-client", "Legacy-App")]).await;
    assert_text(
        &legacy,
        511,
        "Network Authentication Required - sign in and connect to the cloud first.",
    );
    assert_same(
        &session.vanity(&[("X-CLIENT", "legacy-app")]).await,
        &spec,
        "other value",
    );

    // Arrays match item by item, with the same length.
    let two = r#"{"id":"u1","aesthetics":{"theme":{"dark":true},"font":{"size":14}},"apiKeys":["k1","k2"]}"#;
    let three = r#"{"id":"u1","aesthetics":{"theme":{"dark":true},"font":{"size":14}},"apiKeys":["k1","k2","k3"]}"#;
    assert_eq!(
        assert_json(&session.send(Method::POST, "/user/update", &[], two).await, 200),
        fixture("user-signed-in.json")
    );
    assert_same(
        &session.send(Method::POST, "/user/update", &[], three).await,
        &spec_answer(Method::POST, "/user/update", &[], three).await,
        "three keys",
    );
}

#[tokio::test]
async fn the_scenario_name_comes_from_the_name_field_not_the_file() {
    let session = Session::new(shipped().addr, "renamed-scenario");
    let reply = session.vanity_in("matching").await;
    let body = reply.assert_problem(400, "unknown-scenario", "scenario");
    assert!(
        body["known_scenarios"]
            .as_array()
            .unwrap()
            .contains(&json!("body-and-headers")),
        "{body:#}"
    );
}

#[tokio::test]
async fn an_invalid_request_is_refused_before_the_scenario_and_does_not_advance_it() {
    let session = Session::new(shipped().addr, "invalid-does-not-advance");
    let invalid = session
        .send(
            Method::POST,
            VANITY,
            &[("x-mock-scenario", "vanity-taken")],
            r#"{"id":5,"aesthetics":{"theme":{"dark":true},"font":{"size":14}}}"#,
        )
        .await;
    invalid.assert_problem(400, "invalid-request", "validator");
    // A refused request changes nothing in its session, not even the scenario choice.
    assert_eq!(session.vanity(&[]).await.status, 200, "still in `default`");
    let scenario = [("x-mock-scenario", "vanity-taken")];
    assert_eq!(
        session.vanity(&scenario).await.status,
        409,
        "the first response of a fresh vanity-taken"
    );
    assert_eq!(session.vanity(&scenario).await.status, 200);
}

#[tokio::test]
async fn query_path_and_header_matching_on_the_items_spec() {
    let session = Session::new(items(), "items-matching");
    let red = json!([{"id": "r1", "name": "red one"}]);
    // Every session starts in the scenario named `default`.
    assert_eq!(assert_json(&session.get("/items?colour=red", &[]).await, 200), red);
    assert_eq!(
        assert_json(&session.get("/items?limit=2&colour=red", &[]).await, 200),
        json!([{"id": "r1", "name": "red one"}, {"id": "r2", "name": "red two"}]),
        "all of a rule's query pairs, in any order"
    );
    assert_eq!(
        assert_json(&session.get("/items?colour=red&limit=3", &[]).await, 200),
        red,
        "a query with more pairs still matches the less specific rule"
    );
    let dark = json!([{"id": "d1", "name": "dark red one"}]);
    assert_eq!(
        assert_json(&session.get("/items?colour=dark%20red", &[]).await, 200),
        dark
    );
    assert_eq!(
        assert_json(&session.get("/items?colour=dark+red", &[]).await, 200),
        dark
    );
    assert_eq!(
        assert_json(&session.get("/items?colour=blue", &[]).await, 200),
        json!([])
    );
    assert_eq!(assert_json(&session.get("/items", &[]).await, 200), json!([]));

    let suspended = session.get("/items", &[("X-Tenant", "acme")]).await;
    assert_eq!(
        assert_json(&suspended, 403),
        json!({"code": 403, "message": "tenant acme is suspended"}),
        "403 is covered by the declared 4XX range"
    );
    assert_eq!(suspended.header("x-reason"), Some("tenant suspended"));
    assert_eq!(suspended.header("retry-after"), Some("120"));
    assert_eq!(session.get("/items", &[("x-tenant", "ACME")]).await.status, 200);

    assert_eq!(
        assert_json(&session.get("/items/a%20b", &[]).await, 200),
        json!({"id": "a b", "name": "spaced"}),
        "path parameters match decoded"
    );
    assert_eq!(
        assert_json(&session.get("/items/other", &[]).await, 200),
        json!({"id": "1", "name": "one"})
    );
    let gone = session.get("/items/gone", &[]).await;
    assert_eq!(
        (gone.status, gone.body.len(), gone.header("content-type")),
        (410, 0, None)
    );
}

#[tokio::test]
async fn statuses_covered_by_default_and_ranges_take_the_specs_body() {
    let session = Session::new(items(), "items-default-response");
    let unexpected = json!({"code": 500, "message": "unexpected"});
    assert_eq!(assert_json(&session.get("/items/flaky", &[]).await, 503), unexpected);
    assert_eq!(assert_json(&session.get("/items/flaky", &[]).await, 418), unexpected);
    assert_eq!(
        assert_json(&session.get("/items/flaky", &[]).await, 200),
        json!({"id": "1", "name": "one"})
    );
    assert_eq!(session.get("/items/flaky", &[]).await.status, 200);
}

#[tokio::test]
async fn control_query_parameters_are_removed_before_validation() {
    let addr = items();
    // The spec declares `__code` with `enum: [never]`: left in, 404 would break it.
    let session = Session::new(addr, "items-control-twins");
    let reply = session.get("/items?__code=404", &[]).await;
    assert_eq!(assert_json(&reply, 404), json!({"code": 404, "message": "no items"}));
    let ranged = session.get("/items?__code=418&colour=red", &[]).await;
    assert_eq!(
        assert_json(&ranged, 418),
        json!({"code": 400, "message": "client error"}),
        "Prefer wins over the matching rule"
    );
    // `__session` and `__scenario` are controls too: this lands in a session of its own.
    let twin = get(addr, "/items?__session=items-twin&__scenario=empty-shelves").await;
    assert_eq!(twin.status, 404);
    assert_eq!(
        session.get("/items", &[]).await.status,
        200,
        "the other session is untouched"
    );
}

// -------------------------------------------------- choosing a scenario

#[tokio::test]
async fn the_scenario_query_twin_chooses_and_sticks_to_the_session() {
    let addr = shipped().addr;
    let json_body = [("content-type", "application/json")];
    let first = send(
        addr,
        Method::POST,
        &format!("{VANITY}?__session=query-twin&__scenario=vanity-taken"),
        &json_body,
        PROFILE.as_bytes(),
    )
    .await;
    assert_text(&first, 409, "conflict: the vanity name is already taken");
    let second = send(
        addr,
        Method::POST,
        &format!("{VANITY}?__session=query-twin"),
        &json_body,
        PROFILE.as_bytes(),
    )
    .await;
    assert_eq!(second.status, 200, "sticks to the session");
    let by_header = Session::new(addr, "query-twin").get("/user", &[]).await;
    assert_eq!(
        assert_json(&by_header, 200)["user"]["vanityname"],
        "mark",
        "the same session by header"
    );
}

#[tokio::test]
async fn headers_win_over_their_query_twins() {
    let addr = shipped().addr;
    let session = Session::new(addr, "header-beats-twin");
    let reply = session
        .send(
            Method::POST,
            &format!("{VANITY}?__scenario=dns-not-ready&__session=twin-loses"),
            &[("x-mock-scenario", "vanity-taken")],
            PROFILE,
        )
        .await;
    assert_eq!(reply.status, 409, "vanity-taken, in the header's session");
    assert_eq!(session.vanity(&[]).await.status, 200);
    let twin_session = Session::new(addr, "twin-loses").vanity(&[]).await;
    assert_eq!(twin_session.status, 200, "the twin's session stayed in `default`");
}

#[tokio::test]
async fn the_same_name_keeps_state_a_different_name_restarts() {
    let session = Session::new(shipped().addr, "keep-or-restart");
    assert_eq!(session.vanity_in("vanity-taken").await.status, 409);
    assert_eq!(session.vanity_in("vanity-taken").await.status, 200, "same name: kept");
    assert_eq!(session.vanity_in("dns-not-ready").await.status, 404, "different: fresh");
    assert_eq!(session.vanity_in("dns-not-ready").await.status, 404);
    assert_eq!(session.vanity_in("vanity-taken").await.status, 409, "back again: fresh");
    assert_eq!(session.vanity(&[]).await.status, 200);
}

#[tokio::test]
async fn a_new_scenario_starts_with_a_fresh_store() {
    let session = Session::new(shipped().addr, "fresh-store");
    let cleared = session.send(Method::POST, "/user/clear", &[], "").await;
    assert_eq!(cleared.status, 204);
    assert_eq!(
        assert_json(&session.get("/user", &[]).await, 200),
        json!({}),
        "`default` signed out"
    );
    assert_eq!(
        assert_json(&session.get("/user", &[("x-mock-scenario", "default")]).await, 200),
        json!({}),
        "naming the running scenario keeps its state and store"
    );
    let snapshot = session.get("/user", &[("x-mock-scenario", "vanity-taken")]).await;
    assert_eq!(
        assert_json(&snapshot, 200),
        json!({ "user": fixture("user-signed-in.json") }),
        "another scenario starts afresh, store included"
    );
}

#[tokio::test]
async fn an_unknown_scenario_is_a_400_and_leaves_the_session_alone() {
    let addr = shipped().addr;
    let session = Session::new(addr, "unknown-scenario");
    assert_eq!(session.vanity_in("vanity-taken").await.status, 409);
    let reply = session.vanity_in("vanity-takne").await;
    let body = reply.assert_problem(400, "unknown-scenario", "scenario");
    let mut known: Vec<&str> = SHIPPED_SCENARIOS.iter().chain(&TEST_SCENARIOS).copied().collect();
    known.sort();
    assert_eq!(body["known_scenarios"], json!(known));
    assert!(body["detail"].as_str().unwrap().contains("`vanity-takne`"), "{body:#}");
    let twin = get(addr, "/user?__session=unknown-scenario&__scenario=nope").await;
    twin.assert_problem(400, "unknown-scenario", "scenario");
    assert_eq!(session.vanity(&[]).await.status, 200, "still vanity-taken, second step");
}

// -------------------------------------------------- Prefer overrides

#[tokio::test]
async fn prefer_code_overrides_one_request_without_advancing_the_sequence() {
    let session = Session::new(shipped().addr, "prefer-code");
    let forced = session
        .vanity(&[("x-mock-scenario", "vanity-taken"), ("prefer", "code=500")])
        .await;
    assert_text(
        &forced,
        500,
        "Internal Server Error - unable to create the vanity name.",
    );
    let twin = session
        .send(Method::POST, &format!("{VANITY}?__code=511"), &[], PROFILE)
        .await;
    assert_text(
        &twin,
        511,
        "Network Authentication Required - sign in and connect to the cloud first.",
    );
    let ok = session.vanity(&[("prefer", "code=200")]).await;
    assert_eq!(
        assert_json(&ok, 200)["id"],
        SPEC_USER_ID,
        "the spec's body, not the store"
    );
    // Unrelated preferences do not bypass the scenario.
    let unrelated = session.vanity(&[("prefer", "return=minimal, wait=5")]).await;
    assert_text(&unrelated, 409, "conflict: the vanity name is already taken");
    assert_eq!(assert_json(&session.vanity(&[]).await, 200), signed_in_user("mark"));
}

#[tokio::test]
async fn prefer_example_picks_a_named_example_without_touching_the_state() {
    let session = Session::new(shipped().addr, "prefer-example");
    let signed_in = session
        .get(
            "/user",
            &[("x-mock-scenario", "signed-out"), ("prefer", "example=signed-in")],
        )
        .await;
    assert_eq!(assert_json(&signed_in, 200)["user"]["id"], SPEC_USER_ID);
    assert_eq!(
        assert_json(&session.get("/user", &[]).await, 200),
        json!({}),
        "still signed out"
    );
    let other = Session::new(shipped().addr, "prefer-example-twin");
    let twin = other.get("/user?__example=signed-out", &[]).await;
    assert_eq!(assert_json(&twin, 200), json!({}));
    let quoted = other.get("/user", &[("prefer", "example=\"signed-out\"")]).await;
    assert_eq!(assert_json(&quoted, 200), json!({}));
    assert_eq!(
        assert_json(&other.get("/user", &[]).await, 200)["user"],
        fixture("user-signed-in.json"),
        "`default` still signed in"
    );
}

#[tokio::test]
async fn prefer_dynamic_generates_valid_fresh_data() {
    let shared = shipped();
    let session = Session::new(shared.addr, "prefer-dynamic");
    let schema = schema_of(shared, "update-user", 200);
    let first = session
        .send(
            Method::POST,
            "/user/update",
            &[("x-mock-scenario", "signed-out"), ("prefer", "dynamic=true")],
            "",
        )
        .await;
    let second = session.send(Method::POST, "/user/update?__dynamic=true", &[], "").await;
    let bodies = [assert_json(&first, 200), assert_json(&second, 200)];
    for body in &bodies {
        assert_valid(schema, body, "dynamic update-user");
    }
    assert_ne!(bodies[0], bodies[1], "each dynamic answer is generated afresh");
    let spec = spec_answer(Method::POST, "/user/update", &[], "").await;
    assert_ne!(bodies[0], spec.json(), "not the spec's example");
    // Neither request was answered by the scenario's update-user rule, which signs in.
    assert_eq!(
        assert_json(&session.get("/user", &[]).await, 200),
        json!({}),
        "still signed out"
    );
}

#[tokio::test]
async fn prefer_mistakes_are_problems_from_the_scenario_stage() {
    let session = Session::new(shipped().addr, "prefer-mistakes");
    let undeclared = session
        .vanity(&[("x-mock-scenario", "vanity-taken"), ("prefer", "code=418")])
        .await;
    let body = undeclared.assert_problem(400, "undeclared-status", "scenario");
    assert_eq!(body["declared_statuses"], json!(["200", "404", "409", "500", "511"]));
    let garbage = session
        .send(Method::POST, &format!("{VANITY}?__code=abc"), &[], PROFILE)
        .await;
    garbage.assert_problem(400, "undeclared-status", "scenario");
    let example = session.get("/user", &[("prefer", "example=nope")]).await;
    let body = example.assert_problem(400, "unknown-example", "scenario");
    assert_eq!(body["known_examples"], json!(["signed-in", "signed-out"]));
    let no_content = session
        .send(Method::POST, "/user/clear", &[("prefer", "example=x")], "")
        .await;
    no_content.assert_problem(400, "no-content", "scenario");
    assert_eq!(
        session.vanity(&[]).await.status,
        409,
        "no mistake advanced the sequence"
    );
}

#[tokio::test]
async fn scripted_answers_have_no_origin_header_mock_errors_do() {
    let session = Session::new(shipped().addr, "origin-header");
    let scripted = session.vanity_in("cloud-errors").await;
    assert_eq!(scripted.status, 500);
    assert_eq!(scripted.header("x-mock-origin"), None);
    assert_eq!(scripted.header("content-type"), Some(TEXT));
    let from_default = session.get("/user", &[]).await;
    assert_eq!((from_default.status, from_default.header("x-mock-origin")), (200, None));
    let errors = [
        (session.get("/nope", &[]).await, "router"),
        (session.send(Method::POST, VANITY, &[], "{").await, "validator"),
        (session.vanity(&[("prefer", "code=201")]).await, "scenario"),
        (session.vanity_in("nope").await, "scenario"),
    ];
    for (reply, origin) in errors {
        assert_eq!(reply.header("x-mock-origin"), Some(origin), "{}", reply.text());
        assert_eq!(reply.header("content-type"), Some("application/problem+json"));
    }
}

#[tokio::test]
async fn a_templated_body_that_breaks_the_schema_is_the_mocks_500() {
    let session = Session::new(items(), "items-echo");
    let echoed = session.get("/items/echo", &[("x-name", "Echo")]).await;
    assert_eq!(assert_json(&echoed, 200), json!({"id": "echo", "name": "Echo"}));
    // Without the header `name` is left out, and `Item` requires it.
    let broken = session.get("/items/echo", &[]).await;
    let body = broken.assert_problem(500, "invalid-scripted-response", "scenario");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("tests/scenario_files/items/scenarios/default.yaml rules[7]"),
        "names the rule: {detail}"
    );
}

/// What came back on one connection: how long it took, the status and
/// Content-Length of the head (if a head came), and the body bytes received.
struct Wire {
    took: Duration,
    status: Option<u16>,
    announced: Option<usize>,
    body: Vec<u8>,
}

/// `GET path` in `session`, naming `scenario`, on a connection of its own.
async fn over_the_wire(addr: SocketAddr, path: &str, session: &str, scenario: &str) -> Wire {
    let request = format!(
        "GET {path} HTTP/1.1\r\nhost: x\r\nx-mock-session: {session}\r\nx-mock-scenario: {scenario}\r\nconnection: close\r\n\r\n"
    );
    let started = Instant::now();
    let bytes = raw_bytes(addr, request.as_bytes()).await;
    let took = started.elapsed();
    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        assert!(
            bytes.is_empty(),
            "a partial head: {:?}",
            String::from_utf8_lossy(&bytes)
        );
        return Wire {
            took,
            status: None,
            announced: None,
            body: Vec::new(),
        };
    };
    let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
    let announced = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok());
    Wire {
        took,
        status,
        announced,
        body: bytes[end + 4..].to_vec(),
    }
}

impl Wire {
    /// A complete response: the announced length arrived.
    #[track_caller]
    fn complete(&self, status: u16) -> &[u8] {
        assert_eq!(self.status, Some(status), "{:?}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.announced, Some(self.body.len()), "the whole body arrived");
        &self.body
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_flaky_cycles_through_delays_and_wire_faults() {
    let addr = shipped().addr;
    let (session, scenario) = ("slow-and-flaky-flow", "slow-and-flaky");
    let user = fixture("user-signed-in.json");
    let snapshot = json!({ "user": user });
    // The two cycles run side by side in one session: only their rules' counters move.
    let snapshots = async {
        let mut seen = Vec::new();
        for _ in 0..6 {
            seen.push(over_the_wire(addr, "/user", session, scenario).await);
        }
        seen
    };
    let refreshes = async {
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(over_the_wire(addr, "/user/refresh", session, scenario).await);
        }
        seen
    };
    let (snapshots, refreshes) = tokio::join!(snapshots, refreshes);

    let parse = |body: &[u8]| serde_json::from_slice::<Value>(body).expect("a JSON body");
    assert!(
        snapshots[0].took >= Duration::from_millis(300),
        "{:?}",
        snapshots[0].took
    );
    assert_eq!(parse(snapshots[0].complete(200)), snapshot);
    assert_eq!(snapshots[1].status, None, "reset: no answer at all");
    assert!(
        snapshots[2].took >= Duration::from_millis(100),
        "{:?}",
        snapshots[2].took
    );
    assert_eq!(parse(snapshots[2].complete(200)), snapshot);
    let truncated = &snapshots[3];
    let full = serde_json::to_vec(&snapshot).unwrap().len();
    assert_eq!(
        (truncated.status, truncated.announced, truncated.body.len()),
        (Some(200), Some(full), full / 2),
        "truncate: the full length announced, half of it sent"
    );
    let malformed = snapshots[4].complete(200);
    assert!(
        serde_json::from_slice::<Value>(malformed).is_err(),
        "malformed: not JSON"
    );
    assert!(snapshots[5].took >= Duration::from_millis(300), "the cycle starts over");
    assert_eq!(parse(snapshots[5].complete(200)), snapshot);

    assert!(refreshes[0].took >= Duration::from_secs(1), "{:?}", refreshes[0].took);
    assert_eq!(parse(refreshes[0].complete(200)), user);
    assert_eq!(
        refreshes[1].complete(500),
        b"internal server error: the cloud timed out"
    );
    let closed = &refreshes[2];
    assert_eq!(
        (closed.status, closed.announced, closed.body.len()),
        (Some(200), Some(serde_json::to_vec(&user).unwrap().len()), 0),
        "close: the head, then nothing"
    );
}

// -------------------------------------------------- sessions in parallel

/// Sends `n` vanity updates at once in `session`, each naming `scenario`.
async fn burst(addr: SocketAddr, session: &'static str, scenario: &'static str, n: usize) -> Vec<Reply> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        tasks.spawn(async move { Session::new(addr, session).vanity_in(scenario).await });
    }
    let mut replies = Vec::with_capacity(n);
    while let Some(reply) = tasks.join_next().await {
        replies.push(reply.expect("the request task completes"));
    }
    replies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_sessions_in_parallel_keep_exact_counts_and_never_cross() {
    let addr = shipped().addr;
    let (a, b) = tokio::join!(
        burst(addr, "parallel-a", "cycle-three", 50),
        burst(addr, "parallel-b", "cycle-five", 50)
    );
    // 50 requests through [404, 404, 200] cycling: 17 + 17 + 16.
    assert_eq!(count_statuses(&a), BTreeMap::from([(200, 16), (404, 34)]));
    // 50 through [409, 500, 511, 200, 200]: 10 each, 200 twice over.
    assert_eq!(
        count_statuses(&b),
        BTreeMap::from([(200, 20), (409, 10), (500, 10), (511, 10)])
    );
    for reply in a.iter().chain(&b) {
        assert_eq!(reply.header("x-mock-origin"), None);
    }
    // The 51st request of each continues its own cycle.
    assert_eq!(Session::new(addr, "parallel-a").vanity(&[]).await.status, 200);
    assert_eq!(Session::new(addr, "parallel-b").vanity(&[]).await.status, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shipped_sequences_under_concurrency_answer_each_step_once() {
    let addr = shipped().addr;
    let (dns, taken) = tokio::join!(
        burst(addr, "parallel-dns", "dns-not-ready", 50),
        burst(addr, "parallel-taken", "vanity-taken", 50)
    );
    assert_eq!(count_statuses(&dns), BTreeMap::from([(200, 48), (404, 2)]));
    assert_eq!(count_statuses(&taken), BTreeMap::from([(200, 49), (409, 1)]));
}

// -------------------------------------------------- the binary

#[tokio::test]
async fn the_scenario_flag_starts_every_session_in_that_scenario() {
    let dir = TempDir::new("scenario-flag");
    let mut binary = Binary::start(&["--port", "0", "--scenario", "dns-not-ready"], dir.path());
    let addr = binary.addr;
    let json_body = [("content-type", "application/json")];
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            send(addr, Method::POST, VANITY, &json_body, PROFILE.as_bytes())
                .await
                .status,
        );
    }
    assert_eq!(statuses, [404, 404, 200, 200], "the unnamed session");
    let other = Session::new(addr, "flag-other");
    assert_eq!(other.vanity(&[]).await.status, 404, "a new session starts there too");
    assert_eq!(
        other.vanity_in("dns-not-ready").await.status,
        404,
        "naming the start scenario keeps the state"
    );
    assert_eq!(other.vanity(&[]).await.status, 200);
    let switched = Session::new(addr, "flag-switched");
    assert_eq!(switched.vanity_in("vanity-taken").await.status, 409);
    binary.terminate();
    assert_eq!(binary.wait_exit(), Some(0), "{}", binary.stderr());
}

#[test]
fn an_unknown_scenario_flag_exits_2_listing_the_known_ones() {
    let dir = TempDir::new("scenario-flag-unknown");
    let (code, stdout, stderr) = run_to_exit(&["--port", "0", "--scenario", "dns-not-redy"], dir.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!stdout.contains("listening on"), "{stdout}");
    let expected = format!(
        "error: --scenario: unknown scenario `dns-not-redy` (known: {})",
        SHIPPED_SCENARIOS.join(", ")
    );
    assert!(stderr.contains(&expected), "expected {expected:?} in:\n{stderr}");
}

#[test]
fn a_broken_scenario_file_exits_2_with_file_line_and_column() {
    let dir = TempDir::new("broken-scenario");
    std::fs::create_dir(dir.path().join("scenarios")).unwrap();
    let text = std::fs::read_to_string(scenario_files_dir().join("bad/unknown-operation.yaml")).unwrap();
    dir.write("scenarios/typo.yaml", &text);
    let spec = repo_root().join("openapi.yaml").display().to_string();
    let scenarios = dir.path().join("scenarios").display().to_string();
    let (code, stdout, stderr) = run_to_exit(&["--port", "0", "--spec", &spec, "--scenarios", &scenarios], dir.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!stdout.contains("listening on"), "{stdout}");
    // Named from the scenarios directory's parent, not by absolute path.
    let expected = "error: scenarios/typo.yaml:6:18: unknown operation `user-update-vanty`";
    assert!(stderr.contains(expected), "expected {expected:?} in:\n{stderr}");
}

// -------------------------------------------------- static checks

fn bad(name: &str) -> ScenarioSource {
    scenario_source(&scenario_files_dir().join("bad").join(name))
}

/// Builds the shipped spec with `sources` and returns the error, displayed.
fn load_error(sources: Vec<ScenarioSource>) -> String {
    match build_shipped_with_scenarios(sources, None) {
        Ok((_, warnings)) => panic!("expected a load error; warnings: {warnings:#?}"),
        Err(diagnostic) => diagnostic.to_string(),
    }
}

/// `file:line:column: message (at #pointer)` for a file in `tests/scenario_files/bad`.
fn located(file: &str, line: u32, column: u32, message: &str, pointer: &str) -> String {
    format!("tests/scenario_files/bad/{file}:{line}:{column}: {message} (at #{pointer})")
}

const KNOWN_OPERATIONS: &str = "health, health-head, user-snapshot, clear-user, refresh-user, select-user, stream-user, update-user, user-beta-status, user-providers, user-update-vanity";
const ONE_SOURCE: &str =
    "a body needs exactly one of `fixture`, `json`, `text`, `example`, `generate: true`, `from` (plus an optional `merge`)";

#[test]
fn unknown_operation() {
    let message = |reference: &str| {
        format!(
            "unknown operation `{reference}`: expected an operationId or `METHOD /path` (known: {KNOWN_OPERATIONS})"
        )
    };
    assert_eq!(
        load_error(vec![bad("unknown-operation.yaml")]),
        located(
            "unknown-operation.yaml",
            6,
            18,
            &message("user-update-vanty"),
            "/rules/1/when/operation"
        )
    );
    assert_eq!(
        load_error(vec![bad("unknown-method-path.yaml")]),
        located(
            "unknown-method-path.yaml",
            2,
            24,
            &message("DELETE /user"),
            "/rules/0/when/operation"
        )
    );
}

#[test]
fn status_not_declared_for_the_operation() {
    let hint = "to send it anyway, label it `fault: undeclared-status`";
    assert_eq!(
        load_error(vec![bad("undeclared-status.yaml")]),
        located(
            "undeclared-status.yaml",
            6,
            17,
            &format!("status 418 is not declared for `user-update-vanity` (declared: 200, 404, 409, 500, 511); {hint}"),
            "/rules/0/respond/1/status"
        )
    );
    assert_eq!(
        load_error(vec![bad("undeclared-status-single.yaml")]),
        located(
            "undeclared-status-single.yaml",
            3,
            24,
            &format!("status 200 is not declared for `clear-user` (declared: 204); {hint}"),
            "/rules/0/respond/status"
        )
    );
    assert_eq!(
        load_error(vec![bad("not-an-http-status.yaml")]),
        located(
            "not-an-http-status.yaml",
            3,
            24,
            "999 is not an HTTP status",
            "/rules/0/respond/status"
        )
    );
    assert_eq!(
        load_error(vec![bad("undeclared-status-fault.yaml")]),
        located(
            "undeclared-status-fault.yaml",
            4,
            72,
            "`example` needs a declared response",
            "/rules/0/respond/body/example"
        )
    );
}

#[test]
fn body_breaking_the_response_schema() {
    assert_eq!(
        load_error(vec![bad("body-breaks-schema.yaml")]),
        located(
            "body-breaks-schema.yaml",
            6,
            9,
            "the body does not match the schema of `user-update-vanity` status 200: /id expected string, found integer",
            "/rules/0/respond/body"
        )
    );
    assert_eq!(
        load_error(vec![bad("text-for-json.yaml")]),
        located(
            "text-for-json.yaml",
            3,
            35,
            "the body does not match the schema of `user-snapshot` status 200: / expected object, found string",
            "/rules/0/respond/body"
        )
    );
    assert_eq!(
        load_error(vec![bad("merge-breaks-schema.yaml")]),
        located(
            "merge-breaks-schema.yaml",
            3,
            35,
            "the body does not match the schema of `refresh-user` status 200: /aesthetics/font/size expected integer, found string",
            "/rules/0/respond/body"
        )
    );
}

#[test]
fn unknown_fixture() {
    assert_eq!(
        load_error(vec![bad("unknown-fixture.yaml")]),
        located(
            "unknown-fixture.yaml",
            3,
            46,
            "unknown fixture `user-missing.json` (known: user-minimal.json, user-signed-in.json)",
            "/rules/0/respond/body/fixture"
        )
    );
}

#[test]
fn unknown_example() {
    assert_eq!(
        load_error(vec![bad("unknown-example.yaml")]),
        located(
            "unknown-example.yaml",
            3,
            94,
            "no example `sined-out` for this status (known: signed-in, signed-out)",
            "/rules/0/respond/1/body/example"
        )
    );
}

#[test]
fn body_on_a_status_without_content() {
    assert_eq!(
        load_error(vec![bad("body-on-no-content.yaml")]),
        located(
            "body-on-no-content.yaml",
            5,
            13,
            "status 204 of `clear-user` declares no content: remove `body`",
            "/rules/0/respond/body"
        )
    );
}

#[test]
fn not_exactly_one_body_source() {
    assert_eq!(
        load_error(vec![bad("two-body-sources.yaml")]),
        located("two-body-sources.yaml", 5, 13, ONE_SOURCE, "/rules/0/respond/body")
    );
    assert_eq!(
        load_error(vec![bad("no-body-source.yaml")]),
        located("no-body-source.yaml", 5, 13, ONE_SOURCE, "/rules/0/respond/body")
    );
}

#[test]
fn unknown_yaml_fields_and_values() {
    assert_eq!(
        load_error(vec![bad("unknown-field.yaml")]),
        "tests/scenario_files/bad/unknown-field.yaml:6:7: unknown field `delay_ms`, expected one of status, headers, body, delay, fault, proxy, violations"
    );
    assert_eq!(
        load_error(vec![bad("unknown-top-field.yaml")]),
        "tests/scenario_files/bad/unknown-top-field.yaml:2:1: unknown field `rule`, expected one of name, description, initial, extends, store, rules, replay"
    );
    assert_eq!(
        load_error(vec![bad("unknown-fault.yaml")]),
        "tests/scenario_files/bad/unknown-fault.yaml:3:36: unknown variant `explode`, expected one of reset, close, truncate, malformed, undeclared-status"
    );
}

#[test]
fn an_empty_response_list() {
    assert_eq!(
        load_error(vec![bad("empty-respond.yaml")]),
        located(
            "empty-respond.yaml",
            3,
            14,
            "expected at least one response",
            "/rules/0/respond"
        )
    );
}

#[test]
fn an_invalid_response_header_name() {
    assert_eq!(
        load_error(vec![bad("bad-header-name.yaml")]),
        located(
            "bad-header-name.yaml",
            3,
            38,
            "`Retry After` is not a valid header name",
            "/rules/0/respond/headers"
        )
    );
}

#[test]
fn an_inverted_delay_range() {
    assert_eq!(
        load_error(vec![bad("bad-delay.yaml")]),
        located(
            "bad-delay.yaml",
            5,
            31,
            "`2s..1s`: the range's minimum is above its maximum",
            "/rules/0/respond/1/delay"
        )
    );
}

#[test]
fn templates_must_read_something_the_request_can_have() {
    assert_eq!(
        load_error(vec![bad("template-undeclared-query.yaml")]),
        located(
            "template-undeclared-query.yaml",
            3,
            35,
            "`user-snapshot` has no query parameter `page`",
            "/rules/0/respond/body"
        )
    );
    assert_eq!(
        load_error(vec![bad("template-no-request-body.yaml")]),
        located(
            "template-no-request-body.yaml",
            3,
            35,
            "`refresh-user` takes no request body, so `request.body` is always absent",
            "/rules/0/respond/body"
        )
    );
    assert_eq!(
        load_error(vec![bad("template-unknown-body-property.yaml")]),
        located(
            "template-unknown-body-property.yaml",
            6,
            9,
            "request bodies of `update-user` have no property `vanity` (properties: aesthetics, allocation, apiKeys, auth0, created, descope, email, entities, id, name, picture, providers, schema, subscriptions, updated, username, vanityname)",
            "/rules/0/respond/body"
        )
    );
}

#[test]
fn store_reads_and_initial_values() {
    assert_eq!(
        load_error(vec![bad("store-never-written.yaml")]),
        located(
            "store-never-written.yaml",
            5,
            35,
            "`store.profile` is read, but no `store:` writes `profile`",
            "/rules/0/respond/body"
        )
    );
    assert_eq!(
        load_error(vec![bad("initial-store-reads-request.yaml")]),
        located(
            "initial-store-reads-request.yaml",
            2,
            9,
            "`request.body` reads the request, but initial store values have none",
            "/store/user"
        )
    );
    assert_eq!(
        load_error(vec![bad("initial-store-reads-clock.yaml")]),
        located(
            "initial-store-reads-clock.yaml",
            2,
            10,
            "an initial store value must be fixed: it cannot read the request, the store, `now` or `uuid`",
            "/store/since"
        )
    );
}

#[test]
fn extends_names_a_known_scenario_without_cycles() {
    assert_eq!(
        load_error(vec![bad("extends-unknown.yaml")]),
        located(
            "extends-unknown.yaml",
            2,
            10,
            "unknown scenario `defualt` (known: extends-unknown)",
            "/extends"
        )
    );
    assert_eq!(
        load_error(vec![bad("extends-cycle-a.yaml"), bad("extends-cycle-b.yaml")]),
        located(
            "extends-cycle-b.yaml",
            2,
            10,
            "`extends` makes a cycle: extends-cycle-a -> extends-cycle-b -> extends-cycle-a",
            "/extends"
        )
    );
}

#[test]
fn two_scenarios_with_one_name() {
    let mut sources = scenario_sources(&repo_root().join("scenarios"));
    sources.push(bad("duplicate-name.yaml"));
    assert_eq!(
        load_error(sources),
        "tests/scenario_files/bad/duplicate-name.yaml: a second scenario named `vanity-taken` (the first is scenarios/vanity-taken.yaml)"
    );
}

#[test]
fn an_unknown_start_scenario() {
    let sources = scenario_sources(&repo_root().join("scenarios"));
    match build_shipped_with_scenarios(sources, Some("nope")) {
        Ok(_) => panic!("expected an error"),
        Err(e) => assert_eq!(
            e.to_string(),
            format!(
                "--scenario: unknown scenario `nope` (known: {})",
                SHIPPED_SCENARIOS.join(", ")
            )
        ),
    }
}

#[test]
fn every_bad_file_is_tested() {
    let tested = include_str!("scenarios.rs");
    for entry in std::fs::read_dir(scenario_files_dir().join("bad")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            tested.contains(&format!("bad(\"{name}\")")),
            "{name} is not loaded by any test"
        );
    }
}

#[test]
fn a_state_no_rule_enters_is_an_error_at_each_rule_waiting_for_it() {
    let never = "no rule enters state `pending` and it is not the initial state, so the rule never matches (states: signed-in, signed-out)";
    assert_eq!(
        load_error(vec![bad("unreachable-state.yaml")]),
        [
            located("unreachable-state.yaml", 7, 58, never, "/rules/1/when/state/1"),
            located("unreachable-state.yaml", 9, 45, never, "/rules/2/when/state"),
        ]
        .join("\n")
    );
}

#[test]
fn the_test_scenarios_load_cleanly() {
    let mut sources = scenario_sources(&repo_root().join("scenarios"));
    sources.extend(scenario_sources(&scenario_files_dir().join("shipped-spec")));
    let (app, warnings) = build_shipped_with_scenarios(sources, None).unwrap_or_else(|e| panic!("{e}"));
    assert!(warnings.is_empty(), "{warnings:#?}");
    for name in TEST_SCENARIOS {
        assert!(app.configuration().scenarios.get(name).is_some(), "{name}");
    }
    let (app, warnings) = build_items(Vec::new(), None).unwrap_or_else(|e| panic!("{e}"));
    assert!(warnings.is_empty(), "{warnings:#?}");
    let configuration = app.configuration();
    let names: Vec<&str> = configuration.scenarios.names().collect();
    assert_eq!(names, ["default", "empty-shelves"]);
}

// -------------------------------------------------- regressions of bugs found by these tests

#[tokio::test]
async fn a_scripted_content_length_cannot_break_the_framing() {
    let source = scenario_source(&scenario_files_dir().join("bug/content-length.yaml"));
    let app = match build_shipped_with_scenarios(vec![source], Some("content-length")) {
        // Refusing the file is a fix too, if the error is located.
        Err(diagnostic) => {
            let message = diagnostic.to_string();
            assert!(
                message.starts_with("tests/scenario_files/bug/content-length.yaml:4:"),
                "{message}"
            );
            return;
        }
        Ok((app, _)) => app,
    };
    let server = start(app).await;
    let reply = raw(
        server.address(),
        b"POST /user/update/vanity HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
    )
    .await;
    assert_eq!(reply.status, 409);
    assert_eq!(reply.text(), "the vanity name is already taken");
    assert_eq!(reply.header("content-length"), Some("32"));
}

#[tokio::test]
async fn a_json_null_body_can_be_scripted() {
    let source = scenario_source(&scenario_files_dir().join("bug/json-null.yaml"));
    let (app, _) = build_items(vec![source], Some("json-null")).unwrap_or_else(|e| panic!("{e}"));
    let server = start(app).await;
    let reply = get(server.address(), "/items/1/note").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), Value::Null);
}

#[tokio::test]
async fn lenient_mode_still_matches_body_rules() {
    let sources = shipped_sources();
    let inputs = Inputs {
        spec: sources.load_spec().expect("the shipped spec loads"),
        fixtures: sources.load_fixtures().expect("the shipped fixtures load"),
        scenarios: scenario_sources(&scenario_files_dir().join("shipped-spec")),
        start_scenario: Some("body-and-headers".into()),
        seed: 0,
    };
    let behaviour = Behaviour {
        lenient: true,
        ..Behaviour::default()
    };
    let (app, _) = App::build(inputs, behaviour).unwrap_or_else(|e| panic!("{e}"));
    let server = start(app).await;
    // `id` and `aesthetics` are required: one violation each, served anyway.
    let reply = post_json(server.address(), VANITY, r#"{"vanityname":"taken"}"#).await;
    assert_eq!(reply.header("x-mock-violations"), Some("2"));
    assert_text(&reply, 409, "the vanity name `taken` is already taken");
}
