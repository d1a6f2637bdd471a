//! Scenario features over real HTTP: the shipped `default` scenario, templates,
//! `extends`, sequences, delays, wire faults, the admin API, session keys and
//! the checks a scenario file gets before the server starts.
//!
//! Small scenarios over a small spec live in `tests/scenario_features/`.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use http::Method;
use serde_json::{json, Value};
use specmock::internal::control::SessionKey;
use specmock::internal::fixtures::Fixtures;
use specmock::internal::scenario::ScenarioSource;
use specmock::internal::spec::CompiledSchema;
use specmock::internal::{App, Behaviour, Inputs};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// ---------------------------------------------------------------------------
// Building apps
// ---------------------------------------------------------------------------

fn features_dir() -> PathBuf {
    repo_root().join("tests").join("scenario_features")
}

/// The `*.yaml` files of `dir`, labelled by their path relative to the repository.
fn scenario_sources_in(dir: &Path) -> Vec<ScenarioSource> {
    let mut sources: Vec<ScenarioSource> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .map(|path| {
            let file_name = path.file_name().expect("a file name").to_string_lossy().into_owned();
            let label = path
                .strip_prefix(repo_root())
                .expect("under the repository")
                .display()
                .to_string();
            let text = std::fs::read_to_string(&path).expect("read a scenario");
            ScenarioSource { file_name, label, text }
        })
        .collect();
    sources.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    sources
}

fn feature_inputs(scenarios: Vec<ScenarioSource>) -> Inputs {
    let spec = specmock::internal::spec::load_file(&features_dir().join("spec.yaml")).expect("the feature spec loads");
    let fixtures = Fixtures::load_dir(&features_dir().join("fixtures")).expect("the feature fixtures load");
    Inputs {
        spec,
        fixtures,
        scenarios,
        start_scenario: None,
        seed: 0,
    }
}

/// The feature spec with every scenario of `tests/scenario_features/scenarios/`.
fn feature_app(behaviour: Behaviour) -> App {
    let inputs = feature_inputs(scenario_sources_in(&features_dir().join("scenarios")));
    let (app, warnings) = App::build(inputs, behaviour).unwrap_or_else(|e| panic!("the feature scenarios load: {e}"));
    assert!(warnings.is_empty(), "{warnings:#?}");
    app
}

/// The compiled schema of `operation`'s `status` response (its first media type).
fn response_schema(app: &App, operation: &str, status: u16) -> CompiledSchema {
    app.configuration()
        .spec
        .operation(operation)
        .and_then(|op| op.response_for(status))
        .and_then(|r| r.content.first())
        .and_then(|m| m.schema.clone())
        .unwrap_or_else(|| panic!("{operation} {status} has a schema"))
}

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join("fixtures").join(name)).expect("read a shipped fixture");
    serde_json::from_str(&text).expect("a JSON fixture")
}

// ---------------------------------------------------------------------------
// Talking to the server
// ---------------------------------------------------------------------------

/// A client pinned to one session (and, optionally, one scenario).
struct Client {
    addr: SocketAddr,
    headers: Vec<(String, String)>,
}

impl Client {
    fn session(addr: SocketAddr, session: &str) -> Self {
        Self {
            addr,
            headers: vec![("x-mock-session".into(), session.into())],
        }
    }

    /// A session in `scenario` (named on every request: the same name keeps the session's state).
    fn in_scenario(addr: SocketAddr, session: &str, scenario: &str) -> Self {
        let mut client = Self::session(addr, session);
        client.headers.push(("x-mock-scenario".into(), scenario.into()));
        client
    }

    /// A client that sends these headers and no explicit session.
    fn with_headers(addr: SocketAddr, headers: &[(&str, &str)]) -> Self {
        Self {
            addr,
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    async fn send(&self, method: Method, path: &str, extra: &[(&str, &str)], body: &[u8]) -> Reply {
        let mut headers: Vec<(&str, &str)> = self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        headers.extend_from_slice(extra);
        send(self.addr, method, path, &headers, body).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, &[], b"").await
    }

    async fn post(&self, path: &str, body: &Value) -> Reply {
        let body = serde_json::to_vec(body).expect("JSON");
        self.send(Method::POST, path, &[("content-type", "application/json")], &body)
            .await
    }

    async fn post_empty(&self, path: &str) -> Reply {
        self.send(Method::POST, path, &[], b"").await
    }

    /// The body of a 200 answer, as JSON.
    async fn get_ok(&self, path: &str) -> Value {
        let reply = self.get(path).await;
        assert_eq!(
            reply.status,
            200,
            "GET {path}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        reply.json()
    }
}

async fn admin(addr: SocketAddr, method: Method, path: &str, body: &str) -> Reply {
    let headers: &[(&str, &str)] = if body.is_empty() {
        &[]
    } else {
        &[("content-type", "application/json")]
    };
    send(addr, method, path, headers, body.as_bytes()).await
}

/// A described session with each counter reduced to its calls, in rule order.
fn with_calls(mut session: Value) -> Value {
    let counters = session["counters"].as_array().expect("counters");
    let calls: Vec<Value> = counters.iter().map(|counter| counter["calls"].clone()).collect();
    session["counters"] = Value::Array(calls);
    session
}

/// Asserts a scripted (not mock-made) answer: status, body text, no `X-Mock-Origin`.
fn assert_scripted_text(reply: &Reply, status: u16, text: &str) {
    assert_eq!(reply.status, status, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.text(), text);
    assert_eq!(reply.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(
        reply.header("x-mock-origin"),
        None,
        "scripted answers look like the real API's"
    );
}

// ---------------------------------------------------------------------------
// 1. The shipped `default` scenario
// ---------------------------------------------------------------------------

#[tokio::test]
async fn default_scenario_remembers_the_user_per_session() {
    let app = shipped_scenario_app(Behaviour::default());
    let profile_schema = response_schema(&app, "select-user", 200);
    let snapshot_schema = response_schema(&app, "user-snapshot", 200);
    let server = start(app).await;
    let addr = server.address();
    let a = Client::session(addr, "default-a");
    let b = Client::session(addr, "default-b");
    let signed_in = fixture("user-signed-in.json");
    let minimal = fixture("user-minimal.json");

    assert_eq!(a.get_ok("/user").await, json!({ "user": signed_in }));

    // update-user stores the profile; every reader answers with it.
    let profile = json!({
        "id": "0b8f6a52-7d1c-4e0a-9f3b-2c4d5e6f7a81",
        "email": "ada@example.org",
        "name": "Ada Lovelace",
        "username": "ada",
        "vanityname": "ada",
        "aesthetics": { "theme": { "dark": true }, "font": { "size": 18 } }
    });
    let updated = a.post("/user/update", &profile).await;
    assert_eq!(updated.status, 200, "{}", updated.text());
    assert_eq!(updated.json(), profile);
    assert_eq!(a.get_ok("/user").await, json!({ "user": profile }));
    assert_eq!(a.get_ok("/user/refresh").await, profile);
    assert_eq!(a.get_ok("/user/providers").await, json!({ "user": profile }));
    assert_eq!(
        b.get_ok("/user").await,
        json!({ "user": signed_in }),
        "session B does not see A's store"
    );

    // An empty body (Content-Type still JSON) stores nothing: the user stays.
    let empty = a
        .send(
            Method::POST,
            "/user/update",
            &[("content-type", "application/json")],
            b"",
        )
        .await;
    assert_eq!(empty.status, 200, "{}", empty.text());
    assert_eq!(empty.json(), profile);
    assert_eq!(a.get_ok("/user").await, json!({ "user": profile }));

    // The vanity update changes the vanity name and nothing else.
    let vanity_request = json!({
        "id": "someone-else",
        "name": "Not Ada",
        "vanityname": "countess",
        "aesthetics": { "theme": { "dark": false }, "font": { "size": 9 } }
    });
    let mut expected = profile.clone();
    expected["vanityname"] = json!("countess");
    let vanity = a.post("/user/update/vanity", &vanity_request).await;
    assert_eq!(vanity.status, 200, "{}", vanity.text());
    assert_eq!(vanity.json(), expected);
    assert_eq!(a.get_ok("/user").await, json!({ "user": expected }));
    assert_eq!(b.get_ok("/user/refresh").await, signed_in);

    // Signing out.
    let cleared = a.post_empty("/user/clear").await;
    assert_eq!(cleared.status, 204);
    assert!(cleared.body.is_empty());
    assert_eq!(a.get_ok("/user").await, json!({}));
    assert_eq!(a.get_ok("/user/providers").await, json!({}));
    assert_scripted_text(
        &a.post("/user/update/vanity", &vanity_request).await,
        511,
        "network authentication required: sign in to Pieces first",
    );
    assert_scripted_text(
        &a.post_empty("/user/beta/status").await,
        511,
        "network authentication required: sign in to Pieces first",
    );
    assert_scripted_text(
        &a.get("/user/refresh").await,
        500,
        "internal server error: no user is signed in",
    );
    assert_eq!(
        b.get_ok("/user").await,
        json!({ "user": signed_in }),
        "B is still signed in"
    );

    // update-user signs a user back in: the minimal profile under what it sent.
    let back = json!({
        "id": "back-again",
        "name": "Back Again",
        "aesthetics": { "theme": { "dark": true }, "font": { "size": 12 } }
    });
    let signed_back = a.post("/user/update", &back).await;
    assert_eq!(signed_back.status, 200, "{}", signed_back.text());
    let mut expected_back = minimal.clone();
    for (key, value) in back.as_object().unwrap() {
        expected_back[key] = value.clone();
    }
    assert_eq!(signed_back.json(), expected_back);
    assert_eq!(a.get_ok("/user").await, json!({ "user": expected_back }));
    assert_eq!(a.get_ok("/user/refresh").await, expected_back);

    // select-user signs in the Auth0 user it receives.
    let auth0 = json!({ "user_id": "auth0|pat-77", "email": "pat@example.org", "name": "Pat Doe" });
    let selected = b
        .send(
            Method::POST,
            "/user/select",
            &[("content-type", "application/json"), ("authorization", "Bearer t")],
            auth0.to_string().as_bytes(),
        )
        .await;
    assert_eq!(selected.status, 200, "{}", selected.text());
    let selected = selected.json();
    assert_eq!(selected["id"], "auth0|pat-77");
    assert_eq!(selected["email"], "pat@example.org");
    assert_eq!(selected["name"], "Pat Doe");
    let mut expected_selected = minimal.clone();
    expected_selected["id"] = json!("auth0|pat-77");
    expected_selected["email"] = json!("pat@example.org");
    expected_selected["name"] = json!("Pat Doe");
    assert_eq!(
        selected, expected_selected,
        "fields the Auth0 user lacks stay out; the rest is the minimal profile"
    );
    assert_valid(&profile_schema, &selected, "select-user 200");
    let snapshot = b.get_ok("/user").await;
    assert_valid(&snapshot_schema, &snapshot, "user-snapshot 200");
    assert_eq!(snapshot, json!({ "user": expected_selected }));
    assert_eq!(
        a.get_ok("/user").await,
        json!({ "user": expected_back }),
        "A keeps its own user"
    );
    server.stop().await;
}

#[tokio::test]
async fn select_user_signs_in_a_signed_out_session() {
    let app = shipped_scenario_app(Behaviour::default());
    let profile_schema = response_schema(&app, "select-user", 200);
    let server = start(app).await;
    let client = Client::in_scenario(server.address(), "select-from-signed-out", "signed-out");
    assert_eq!(client.get_ok("/user").await, json!({}));
    let auth0 = json!({ "user_id": "github|1", "email": "jo@example.org", "name": "Jo", "email_verified": true });
    let selected = client
        .send(
            Method::POST,
            "/user/select",
            &[("content-type", "application/json"), ("authorization", "Bearer t")],
            auth0.to_string().as_bytes(),
        )
        .await;
    assert_eq!(selected.status, 200, "{}", selected.text());
    let user = selected.json();
    assert_valid(&profile_schema, &user, "select-user 200");
    assert_eq!(
        (&user["id"], &user["email"], &user["name"]),
        (&json!("github|1"), &json!("jo@example.org"), &json!("Jo"))
    );
    assert_eq!(client.get_ok("/user").await, json!({ "user": user }));
    assert_eq!(client.get_ok("/user/refresh").await, user);
    server.stop().await;
}

// ---------------------------------------------------------------------------
// 2. Templates
// ---------------------------------------------------------------------------

/// Seconds since the epoch of an RFC 3339 UTC time `YYYY-MM-DDTHH:MM:SS[.frac]Z`.
fn parse_rfc3339(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' || bytes[10] != b'T' || !text.ends_with('Z') {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    // Days from civil (H. Hinnant).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

fn is_uuid_v4(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    lengths == [8, 4, 4, 4, 12]
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        && groups[2].starts_with('4')
        && groups[3].starts_with(['8', '9', 'a', 'b'])
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

#[tokio::test]
async fn templates_read_the_request_the_clock_and_fresh_uuids() {
    let server = start(feature_app(Behaviour::default())).await;
    let client = Client::in_scenario(server.address(), "templates-1", "templates");

    let before = unix_now();
    let reply = client
        .send(Method::GET, "/things/t-42?q=hello%20world", &[("x-name", "Ada")], b"")
        .await;
    let after = unix_now();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-mock-origin"), None);
    let body = reply.json();
    assert_eq!(body["id"], "t-42");
    assert_eq!(body["q"], "hello world", "query values are decoded");
    assert_eq!(body["name"], "Ada");
    assert_eq!(body["label"], "thing t-42 asked by Ada", "templates inside longer text");
    let when = body["when"].as_str().expect("`now` is a string");
    let seconds = parse_rfc3339(when).unwrap_or_else(|| panic!("`{when}` is RFC 3339"));
    assert!(
        (before - 1..=after + 1).contains(&seconds),
        "`now` ({when}) is the request time ({before}..={after})"
    );
    let token = body["token"].as_str().expect("`uuid` is a string").to_string();
    let other = body["other"].as_str().expect("`uuid` is a string").to_string();
    assert!(is_uuid_v4(&token), "{token}");
    assert!(is_uuid_v4(&other), "{other}");
    assert_ne!(token, other, "each `{{{{uuid}}}}` is fresh, even within one body");

    // Path parameters are decoded; absent values leave their keys out.
    let second = client.get_ok("/things/a%20b").await;
    assert_eq!(second["id"], "a b");
    assert!(second.get("q").is_none(), "no query parameter, no key: {second}");
    assert!(second.get("name").is_none(), "no header, no key: {second}");
    let next_token = second["token"].as_str().expect("a uuid");
    assert!(is_uuid_v4(next_token), "{next_token}");
    assert_ne!(next_token, token, "uuids differ per request");
    assert_ne!(next_token, other);

    // A whole-string template keeps the JSON type of what it reads.
    let typed = client
        .post(
            "/things/x",
            &json!({ "x": "typed", "num": 5, "nested": { "a": 2, "b": "z" }, "tags": ["p", "q"] }),
        )
        .await;
    assert_eq!(typed.status, 200, "{}", typed.text());
    assert_eq!(
        typed.json(),
        json!({ "id": "typed", "count": 5, "nested": { "a": 2, "b": "z" }, "tags": ["p", "q"], "label": "n=5" })
    );

    // An absent body field leaves its key out.
    let absent = client.post("/things/x", &json!({ "x": "absent" })).await;
    assert_eq!(absent.status, 200, "{}", absent.text());
    assert_eq!(absent.json(), json!({ "id": "absent", "count": 1 }));

    // `merge` over a fixture: objects key by key, arrays replaced.
    let merged = client
        .post(
            "/things/x",
            &json!({ "x": "merged", "num": 3, "nested": { "a": 9 }, "id": "m-1" }),
        )
        .await;
    assert_eq!(merged.status, 200, "{}", merged.text());
    assert_eq!(
        merged.json(),
        json!({ "id": "base", "count": 3, "nested": { "a": 9, "b": "kept" }, "tags": ["merged"], "label": "m-1" })
    );
    // ... and a merge key whose value is absent changes nothing.
    let merged = client.post("/things/x", &json!({ "x": "merged", "num": 4 })).await;
    assert_eq!(
        merged.json(),
        json!({ "id": "base", "count": 4, "nested": { "a": 1, "b": "kept" }, "tags": ["merged"], "label": "from the fixture" })
    );

    // `from:` an expression, with a merge.
    let from = client
        .post("/things/x", &json!({ "x": "from", "id": "f-1", "num": 2 }))
        .await;
    assert_eq!(from.status, 200, "{}", from.text());
    assert_eq!(from.json(), json!({ "x": "from", "id": "f-1", "num": 2, "count": 7 }));
    server.stop().await;
}

#[tokio::test]
async fn a_templated_body_that_breaks_the_schema_is_a_problem_unless_lenient() {
    let server = start(feature_app(Behaviour::default())).await;
    let client = Client::in_scenario(server.address(), "broken-1", "templates");
    let reply = client.post("/things/x", &json!({ "x": "broken" })).await;
    let problem = reply.assert_problem(500, "invalid-scripted-response", "scenario");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("tests/scenario_features/scenarios/templates.yaml rules[5]"),
        "names the rule: {detail}"
    );
    assert!(detail.contains("breaks the response schema"), "{detail}");

    // A body that renders to nothing is a problem too, never an empty 200.
    let reply = client.post("/things/x", &json!({ "x": "nothing" })).await;
    let problem = reply.assert_problem(500, "invalid-scripted-response", "scenario");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("templates.yaml rules[6]") && detail.contains("rendered no body"),
        "{detail}"
    );
    server.stop().await;

    let lenient = Behaviour {
        lenient: true,
        ..Behaviour::default()
    };
    let server = start(feature_app(lenient)).await;
    let client = Client::in_scenario(server.address(), "broken-2", "templates");
    let reply = client.post("/things/x", &json!({ "x": "broken" })).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-mock-origin"), None);
    assert_eq!(reply.json(), json!({ "id": "broken", "count": "broken" }));
    server.stop().await;
}

#[tokio::test]
async fn response_header_templates_are_rendered() {
    let server = start(feature_app(Behaviour::default())).await;
    let client = Client::in_scenario(server.address(), "header-template", "templates");
    let first = client.get("/counter").await;
    let second = client.get("/counter").await;
    assert_eq!(first.status, 200, "{}", first.text());
    let (first, second) = (
        first.header("x-request-id").expect("the scripted header").to_string(),
        second.header("x-request-id").expect("the scripted header").to_string(),
    );
    assert!(is_uuid_v4(&first), "x-request-id is `{first}`");
    assert_ne!(first, second);
    server.stop().await;
}

// ---------------------------------------------------------------------------
// 3. extends, times, cycle, forget
// ---------------------------------------------------------------------------

#[tokio::test]
async fn extends_puts_own_rules_first_and_inherits_initial_and_store() {
    let server = start(feature_app(Behaviour::default())).await;
    let addr = server.address();

    let child = Client::in_scenario(addr, "extends-child", "child");
    let counts: Vec<Value> = [
        child.get_ok("/counter").await,
        child.get_ok("/counter").await,
        child.get_ok("/counter").await,
        child.get_ok("/counter").await,
    ]
    .into();
    assert_eq!(
        counts,
        vec![
            json!({ "total": 1, "label": "child" }),
            json!({ "total": 2, "label": "child" }),
            json!({ "total": 100, "label": "parent" }),
            json!({ "total": 100, "label": "parent" }),
        ],
        "the child's rule answers twice (`times: 2`), then steps aside for the parent's"
    );
    assert_eq!(
        child.get_ok("/things/z").await,
        json!({ "id": "z", "label": "hello from the parent" }),
        "the parent's rules and store apply"
    );
    let session = admin(addr, Method::GET, "/__mock/sessions/extends-child", "").await;
    assert_eq!(session.status, 200);
    assert_eq!(
        with_calls(session.json()),
        json!({
            "session": "extends-child",
            "scenario": "child",
            "state": "parent-start",
            "counters": [2, 2, 1],
            "store": { "greeting": "hello from the parent" }
        })
    );

    let own = Client::in_scenario(addr, "extends-own", "child-own");
    assert_eq!(
        own.get_ok("/things/y").await,
        json!({ "id": "y", "label": "hello from the child" })
    );
    assert_eq!(own.get_ok("/counter").await, json!({ "total": 100, "label": "parent" }));
    let session = admin(addr, Method::GET, "/__mock/sessions/extends-own", "")
        .await
        .json();
    assert_eq!(session["state"], "child-start");
    assert_eq!(session["store"], json!({ "greeting": "hello from the child" }));

    let listing = admin(addr, Method::GET, "/__mock/scenarios", "").await.json();
    let find = |name: &str| {
        listing["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} is listed"))
    };
    assert_eq!(
        (find("child")["rules"].clone(), find("child")["initial"].clone()),
        (json!(3), json!("parent-start"))
    );
    assert_eq!(
        (find("child-own")["rules"].clone(), find("child-own")["initial"].clone()),
        (json!(2), json!("child-start"))
    );
    server.stop().await;
}

#[tokio::test]
async fn sequences_repeat_or_cycle_times_steps_aside_and_forget_removes_store_keys() {
    let server = start(feature_app(Behaviour::default())).await;
    let addr = server.address();
    let client = Client::in_scenario(addr, "sequences-1", "sequences");

    let mut cycle = Vec::new();
    for _ in 0..5 {
        let reply = client.get("/things/cycle").await;
        cycle.push((reply.status, String::from_utf8_lossy(&reply.body).into_owned()));
    }
    let first = (200, r#"{"id":"first"}"#.to_string());
    let second = (404, "second".to_string());
    let third = (200, r#"{"id":"third"}"#.to_string());
    assert_eq!(
        cycle,
        vec![first.clone(), second.clone(), third, first.clone(), second.clone()]
    );
    // Counters are per session: another session starts the cycle over.
    let other = Client::in_scenario(addr, "sequences-2", "sequences");
    let reply = other.get("/things/cycle").await;
    assert_eq!((reply.status, reply.text().to_string()), first);

    // Without `cycle`, the last response repeats.
    assert_scripted_text(&client.get("/things/repeat").await, 404, "first");
    assert_eq!(client.get_ok("/things/repeat").await, json!({ "id": "last" }));
    assert_eq!(client.get_ok("/things/repeat").await, json!({ "id": "last" }));

    // `times: 1`: then no rule matches and the spec's default answer (200) comes.
    assert_scripted_text(&client.get("/things/once").await, 404, "only once");
    let after = client.get("/things/once").await;
    assert_eq!(after.status, 200, "{}", after.text());
    assert!(after.json().is_object());

    // `forget` removes a store key; templates reading it then leave their key out.
    assert_eq!(
        client.get_ok("/things/note").await,
        json!({ "id": "note", "label": "remembered" })
    );
    let forgot = client.post("/things/x", &json!({ "x": "forget" })).await;
    assert_eq!(forgot.status, 200, "{}", forgot.text());
    assert_eq!(client.get_ok("/things/note").await, json!({ "id": "note" }));
    let session = admin(addr, Method::GET, "/__mock/sessions/sequences-1", "")
        .await
        .json();
    assert_eq!(session["store"], json!({}));
    // A rule's `store:` writes it again.
    let remembered = client.post("/things/x", &json!({ "x": "remember", "id": "n-2" })).await;
    assert_eq!(remembered.json(), json!({ "id": "n-2", "count": 1 }));
    assert_eq!(
        client.get_ok("/things/note").await,
        json!({ "id": "note", "label": "n-2" })
    );
    assert_eq!(
        other.get_ok("/things/note").await,
        json!({ "id": "note", "label": "remembered" }),
        "stores are per session"
    );
    server.stop().await;
}

// ---------------------------------------------------------------------------
// 4. Delays
// ---------------------------------------------------------------------------

#[tokio::test]
async fn delays_hold_the_answer_back() {
    let server = start(feature_app(Behaviour::default())).await;
    let client = Client::in_scenario(server.address(), "delays", "wire");

    let started = Instant::now();
    let reply = client.get("/things/slow").await;
    let elapsed = started.elapsed();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({ "id": "slow" }));
    assert!(
        elapsed >= Duration::from_millis(200) && elapsed < Duration::from_secs(1),
        "`delay: 200ms` took {elapsed:?}"
    );

    // A range: every answer waits within it (plus a margin for the exchange itself).
    let mut waits = Vec::new();
    for _ in 0..4 {
        let started = Instant::now();
        let reply = client.get("/things/ranged").await;
        waits.push(started.elapsed());
        assert_eq!(reply.status, 200);
    }
    assert!(
        waits
            .iter()
            .all(|w| *w >= Duration::from_millis(100) && *w < Duration::from_millis(300 + 150)),
        "`delay: 100ms..300ms` took {waits:?}"
    );
    server.stop().await;
}

// ---------------------------------------------------------------------------
// 5. Wire faults, seen by a raw TCP client
// ---------------------------------------------------------------------------

/// What came back over one connection: every byte until EOF (or a read error).
async fn exchange_raw(addr: SocketAddr, path: &str) -> Vec<u8> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nX-Mock-Session: faults\r\nX-Mock-Scenario: wire\r\nConnection: close\r\n\r\n"
    );
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(request.as_bytes()).await.expect("write the request");
        let mut received = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&chunk[..n]),
            }
        }
        received
    };
    tokio::time::timeout(IO_TIMEOUT, exchange)
        .await
        .expect("the server ends the exchange")
}

/// Status, headers (lower-case names) and the body bytes after the head.
fn split_response(bytes: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("a complete head: {:?}", String::from_utf8_lossy(bytes)));
    let head = std::str::from_utf8(&bytes[..end]).expect("an ASCII head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    (status, headers, bytes[end + 4..].to_vec())
}

fn content_length(headers: &[(String, String)]) -> usize {
    headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .map(|(_, value)| value.parse().expect("a number"))
        .unwrap_or_else(|| panic!("a Content-Length header: {headers:?}"))
}

#[tokio::test]
async fn faults_misbehave_on_the_wire() {
    let server = start(feature_app(Behaviour::default())).await;
    let addr = server.address();

    let reset = exchange_raw(addr, "/things/reset").await;
    assert!(
        reset.is_empty(),
        "`reset`: no response bytes at all, got {:?}",
        String::from_utf8_lossy(&reset)
    );

    let closed = exchange_raw(addr, "/things/close").await;
    let (status, headers, body) = split_response(&closed);
    assert_eq!(status, 200);
    let announced = content_length(&headers);
    assert!(announced > 0);
    assert!(
        body.len() < announced,
        "`close`: fewer body bytes ({}) than announced ({announced})",
        body.len()
    );

    let truncated = exchange_raw(addr, "/things/truncate").await;
    let (status, headers, body) = split_response(&truncated);
    assert_eq!(status, 200);
    let announced = content_length(&headers);
    assert_eq!(body.len(), announced / 2, "`truncate`: half of {announced} bytes");
    let whole =
        serde_json::to_vec(&json!({ "id": "cut in half", "label": "0123456789abcdef0123456789abcdef" })).unwrap();
    assert_eq!(announced, whole.len());
    assert_eq!(body, whole[..announced / 2], "the first half of the real body");

    let malformed = exchange_raw(addr, "/things/malformed").await;
    let (status, headers, body) = split_response(&malformed);
    assert_eq!(status, 200);
    assert_eq!(body.len(), content_length(&headers), "`malformed`: a complete response");
    assert!(
        serde_json::from_slice::<Value>(&body).is_err(),
        "`malformed`: the body is not JSON: {:?}",
        String::from_utf8_lossy(&body)
    );

    // After those, the server still answers: `undeclared-status` sends a status the spec lacks.
    let teapot = exchange_raw(addr, "/things/teapot").await;
    let (status, headers, body) = split_response(&teapot);
    assert_eq!(status, 418);
    assert_eq!(body.len(), content_length(&headers));
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({ "id": "a teapot" })
    );
    server.stop().await;
}

#[tokio::test]
async fn the_journal_shows_the_body_a_fault_sent() {
    let server = start(feature_app(Behaviour::default())).await;
    let addr = server.address();
    let mut sent = Vec::new();
    for fault in ["reset", "close", "truncate", "malformed"] {
        let (_, _, body) = match exchange_raw(addr, &format!("/things/{fault}")).await {
            bytes if bytes.is_empty() => (0, Vec::new(), Vec::new()),
            bytes => split_response(&bytes),
        };
        sent.push(body);
    }
    let journal = admin(addr, Method::GET, "/__mock/journal?session=faults", "")
        .await
        .json();
    let shown: Vec<Value> = journal["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .rev()
        .map(|entry| entry["response_body"].clone())
        .collect();
    let as_sent: Vec<Value> = sent
        .iter()
        .map(|body| match body.is_empty() {
            true => Value::Null,
            false => json!(String::from_utf8_lossy(body)),
        })
        .collect();
    assert_eq!(
        shown, as_sent,
        "nothing for reset and close, the half, the broken bytes"
    );
}

#[tokio::test]
async fn credentials_a_template_echoes_are_redacted_in_the_journal() {
    let echo = ScenarioSource {
        file_name: "echo.yaml".into(),
        label: "echo.yaml".into(),
        text: "rules:\n  - when: { operation: get-thing }\n    respond: { status: 200, body: { json: { id: \"{{request.headers.authorization}}\", q: \"cookie {{request.headers.cookie}}\", name: \"{{request.headers.x-name}}\" } } }\n".into(),
    };
    let (app, _) = App::build(feature_inputs(vec![echo]), Behaviour::default()).expect("the scenario loads");
    let server = start(app).await;
    let client = Client::in_scenario(server.address(), "echoed", "echo");
    let secrets = [
        ("authorization", "Bearer s3cret-t0ken"),
        ("cookie", "sid=abc123"),
        ("x-name", "Ada"),
    ];
    let reply = client.send(Method::GET, "/things/1", &secrets, b"").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.json()["id"],
        "Bearer s3cret-t0ken",
        "the client gets what the scenario says"
    );
    let journal = admin(server.address(), Method::GET, "/__mock/journal?session=echoed", "").await;
    let shown = &journal.json()["entries"][0]["response_body"];
    assert_eq!(
        shown,
        &json!({ "id": "[redacted]", "q": "cookie [redacted]", "name": "Ada" }),
        "{}",
        journal.text()
    );
    assert!(!journal.text().contains("s3cret") && !journal.text().contains("abc123"));
}

/// The text of the error `files` (name, YAML) make when loaded over the feature spec.
fn load_error(files: &[(&str, &str)]) -> String {
    let sources = files
        .iter()
        .map(|(name, text)| ScenarioSource {
            file_name: name.to_string(),
            label: format!("bad/{name}"),
            text: text.to_string(),
        })
        .collect();
    match App::build(feature_inputs(sources), Behaviour::default()) {
        Ok(_) => panic!("{files:?} should not load"),
        Err(diagnostic) => diagnostic.to_string(),
    }
}

#[test]
fn an_undeclared_status_needs_the_fault_label() {
    let text = "\
rules:
  - when: { operation: get-thing }
    respond: { status: 418, body: { json: { id: teapot } } }
";
    assert_eq!(
        load_error(&[("teapot.yaml", text)]),
        "bad/teapot.yaml:3:24: status 418 is not declared for `get-thing` (declared: 200, 404); \
         to send it anyway, label it `fault: undeclared-status` (at #/rules/0/respond/status)"
    );
}

// ---------------------------------------------------------------------------
// 6. Admin API
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_admin_api_carries_no_cors_headers_and_decodes_session_ids() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    // A web page must not be able to read sessions through the browser.
    let origin = [("origin", "https://page.example")];
    let listing = send(addr, Method::GET, "/__mock/scenarios", &origin, b"").await;
    assert_eq!(listing.status, 200);
    assert_eq!(listing.header("access-control-allow-origin"), None);
    let api = send(addr, Method::GET, "/user", &origin, b"").await;
    assert_eq!(api.header("access-control-allow-origin"), Some("https://page.example"));

    // `X-Mock-Session: a b/c` is addressed as a%20b%2Fc in admin paths.
    let put = send(
        addr,
        Method::PUT,
        "/__mock/sessions/a%20b%2Fc/scenario",
        &[("content-type", "application/json")],
        br#"{"name":"vanity-taken"}"#,
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(put.json()["session"], "a b/c");
    let vanity = send(
        addr,
        Method::POST,
        "/user/update/vanity",
        &[("x-mock-session", "a b/c")],
        b"",
    )
    .await;
    assert_eq!(vanity.status, 409);
}

#[tokio::test]
async fn admin_lists_the_shipped_scenarios_with_their_descriptions() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let reply = admin(server.address(), Method::GET, "/__mock/scenarios", "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let listing = reply.json();
    assert_eq!(listing["sessions_start_in"], "default");
    let listed = listing["scenarios"].as_array().expect("a list");

    let mut shipped: Vec<(String, Value)> = std::fs::read_dir(repo_root().join("scenarios"))
        .expect("the scenarios directory")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).expect("read a scenario");
            let yaml: Value = serde_saphyr::from_str(&text).expect("a YAML scenario");
            (name, yaml)
        })
        .collect();
    shipped.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(shipped.len(), 9, "the README's table lists nine");
    let names: Vec<&str> = listed.iter().map(|s| s["name"].as_str().unwrap()).collect();
    let expected: Vec<&str> = shipped.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, expected);
    let own_rules = |yaml: &Value| yaml["rules"].as_array().map_or(0, Vec::len);
    let default_rules = own_rules(&shipped.iter().find(|(n, _)| n == "default").unwrap().1);
    for (name, yaml) in &shipped {
        let entry = listed.iter().find(|s| s["name"] == name.as_str()).unwrap();
        let description = yaml["description"]
            .as_str()
            .expect("every shipped scenario is described");
        assert!(!description.is_empty());
        assert_eq!(entry["description"], description, "{name}");
        assert!(
            entry["file"].as_str().unwrap().ends_with(&format!("{name}.yaml")),
            "{entry}"
        );
        let inherited = if yaml.get("extends").is_some() {
            default_rules
        } else {
            0
        };
        assert_eq!(entry["rules"], own_rules(yaml) + inherited, "{name}");
        let initial = if name == "signed-out" {
            "signed-out"
        } else {
            "signed-in"
        };
        assert_eq!(entry["initial"], initial, "{name}");
    }
    server.stop().await;
}

#[tokio::test]
async fn admin_puts_resets_and_describes_sessions() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    let signed_in = fixture("user-signed-in.json");
    let client = Client::session(addr, "admin-1");
    let vanity = json!({ "id": "x", "vanityname": "taken", "aesthetics": { "theme": { "dark": true }, "font": { "size": 10 } } });

    let put = admin(
        addr,
        Method::PUT,
        "/__mock/sessions/admin-1/scenario",
        r#"{"name":"vanity-taken"}"#,
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text());
    let fresh = json!({
        "session": "admin-1",
        "scenario": "vanity-taken",
        "state": "signed-in",
        "counters": vec![0; 17],
        "store": { "user": signed_in }
    });
    assert_eq!(with_calls(put.json()), fresh);

    assert_scripted_text(
        &client.post("/user/update/vanity", &vanity).await,
        409,
        "conflict: the vanity name is already taken",
    );
    let retried = client.post("/user/update/vanity", &vanity).await;
    assert_eq!(retried.status, 200, "{}", retried.text());
    assert_eq!(retried.json()["vanityname"], "taken");
    assert_eq!(client.post_empty("/user/clear").await.status, 204);

    let described = admin(addr, Method::GET, "/__mock/sessions/admin-1", "").await;
    assert_eq!(described.status, 200);
    let mut counters = vec![0; 17];
    counters[0] = 1; // vanity-taken's own rule (times: 1)
    counters[1] = 1; // default's clear-user
    counters[5] = 1; // default's signed-in vanity update
    assert_eq!(
        with_calls(described.json()),
        json!({ "session": "admin-1", "scenario": "vanity-taken", "state": "signed-out", "counters": counters, "store": {} })
    );

    let reset = admin(addr, Method::POST, "/__mock/sessions/admin-1/reset", "").await;
    assert_eq!(reset.status, 200, "{}", reset.text());
    assert_eq!(
        with_calls(reset.json()),
        fresh,
        "state, counters and store back to the start"
    );
    assert_eq!(client.get_ok("/user").await, json!({ "user": signed_in }));
    assert_eq!(
        client.post("/user/update/vanity", &vanity).await.status,
        409,
        "the sequence starts over"
    );

    // A session that was never used is not described as one with no calls.
    let unused = admin(addr, Method::GET, "/__mock/sessions/never-used", "").await;
    unused.assert_problem(404, "unknown-session", "admin");

    // Errors are problems; an unknown scenario creates no session.
    for session in ["admin-1", "never-put"] {
        let unknown = admin(
            addr,
            Method::PUT,
            &format!("/__mock/sessions/{session}/scenario"),
            r#"{"name":"no-such-scenario"}"#,
        )
        .await;
        let problem = unknown.assert_problem(400, "unknown-scenario", "scenario");
        assert!(problem["known_scenarios"]
            .as_array()
            .unwrap()
            .contains(&json!("vanity-taken")));
    }
    let unused = admin(addr, Method::GET, "/__mock/sessions/never-put", "").await;
    unused.assert_problem(404, "unknown-session", "admin");
    for bad in ["not json", r#"{"scenario":"default"}"#, r#"{"name":7}"#, ""] {
        let json = [("content-type", "application/json")];
        let reply = send(
            addr,
            Method::PUT,
            "/__mock/sessions/admin-1/scenario",
            &json,
            bad.as_bytes(),
        )
        .await;
        reply.assert_problem(400, "admin-bad-request", "admin");
    }
    for (method, path) in [
        (Method::GET, "/__mock/nothing-here"),
        (Method::DELETE, "/__mock/sessions/admin-1"),
        (Method::DELETE, "/__mock/sessions/admin-1/scenario"),
    ] {
        let reply = admin(addr, method, path, "").await;
        reply.assert_problem(404, "admin-route-not-found", "admin");
    }
    // The failed PUTs changed nothing.
    let described = admin(addr, Method::GET, "/__mock/sessions/admin-1", "").await.json();
    assert_eq!(described["scenario"], "vanity-taken");
    server.stop().await;
}

#[tokio::test]
async fn an_admin_token_gates_the_admin_api() {
    let behaviour = Behaviour {
        control_token: Some("s3cret".into()),
        ..Behaviour::default()
    };
    let server = start(shipped_scenario_app(behaviour)).await;
    let addr = server.address();
    let without = send(addr, Method::GET, "/__mock/scenarios", &[], b"").await;
    without.assert_problem(403, "admin-forbidden", "admin");
    let wrong = send(
        addr,
        Method::GET,
        "/__mock/scenarios",
        &[("authorization", "Bearer nope")],
        b"",
    )
    .await;
    wrong.assert_problem(403, "admin-forbidden", "admin");
    let put = send(
        addr,
        Method::PUT,
        "/__mock/sessions/gated/scenario",
        &[("content-type", "application/json")],
        br#"{"name":"signed-out"}"#,
    )
    .await;
    put.assert_problem(403, "admin-forbidden", "admin");
    let gated = Client::session(addr, "gated");
    assert!(
        gated.get_ok("/user").await.get("user").is_some(),
        "the refused PUT did not sign the session out"
    );

    let with = send(
        addr,
        Method::GET,
        "/__mock/scenarios",
        &[("authorization", "Bearer s3cret")],
        b"",
    )
    .await;
    assert_eq!(with.status, 200, "{}", with.text());
    assert!(with.json()["scenarios"].is_array());
    // The API itself is not gated.
    assert_eq!(gated.get("/user").await.status, 200);
    server.stop().await;
}

// ---------------------------------------------------------------------------
// 7. Session keys
// ---------------------------------------------------------------------------

/// Base64url without padding, as JWT segments are written.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// An unsigned JWT with the given subject.
fn jwt(subject: &str) -> String {
    let header = base64url(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = base64url(json!({ "sub": subject, "name": "A Tester" }).to_string().as_bytes());
    format!("Bearer {header}.{payload}.")
}

/// Signs `first` out; `second` stays signed in; an explicit `X-Mock-Session`
/// next to `first`'s key goes to that session, not `first`'s.
async fn assert_isolated(addr: SocketAddr, first: &[(&str, &str)], second: &[(&str, &str)], first_id: &str) {
    let one = Client::with_headers(addr, first);
    let two = Client::with_headers(addr, second);
    assert!(one.get_ok("/user").await.get("user").is_some());
    assert_eq!(one.post_empty("/user/clear").await.status, 204);
    assert_eq!(one.get_ok("/user").await, json!({}), "{first:?} signed out");
    assert!(
        two.get_ok("/user").await.get("user").is_some(),
        "{second:?} does not share {first:?}'s session"
    );
    let nobody = Client::with_headers(addr, &[]);
    assert!(
        nobody.get_ok("/user").await.get("user").is_some(),
        "requests without the key share `default`"
    );
    let described = admin(addr, Method::GET, &format!("/__mock/sessions/{first_id}"), "")
        .await
        .json();
    assert_eq!(
        described["state"], "signed-out",
        "the session is named by the key's value"
    );

    let mut explicit = first.to_vec();
    explicit.push(("x-mock-session", "explicit-wins"));
    let explicit = Client::with_headers(addr, &explicit);
    assert!(
        explicit.get_ok("/user").await.get("user").is_some(),
        "an explicit X-Mock-Session wins over the key"
    );
    assert_eq!(explicit.post_empty("/user/clear").await.status, 204);
    let described = admin(addr, Method::GET, "/__mock/sessions/explicit-wins", "")
        .await
        .json();
    assert_eq!(described["state"], "signed-out");
    assert!(two.get_ok("/user").await.get("user").is_some());
}

#[tokio::test]
async fn a_header_session_key_isolates_clients_that_name_no_session() {
    let behaviour = Behaviour {
        session_key: "header:x-test-id".parse().unwrap(),
        ..Behaviour::default()
    };
    let server = start(shipped_scenario_app(behaviour)).await;
    assert_isolated(
        server.address(),
        &[("x-test-id", "suite-a")],
        &[("x-test-id", "suite-b")],
        "suite-a",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_cookie_session_key_isolates_clients_that_name_no_session() {
    let behaviour = Behaviour {
        session_key: "cookie:sid".parse().unwrap(),
        ..Behaviour::default()
    };
    let server = start(shipped_scenario_app(behaviour)).await;
    assert_isolated(
        server.address(),
        &[("cookie", "theme=dark; sid=cookie-one")],
        &[("cookie", "sid=cookie-two; theme=dark")],
        "cookie-one",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_bearer_sub_session_key_isolates_clients_that_name_no_session() {
    let behaviour = Behaviour {
        session_key: "bearer-sub".parse().unwrap(),
        ..Behaviour::default()
    };
    assert_eq!(behaviour.session_key, SessionKey::BearerSubject);
    let server = start(shipped_scenario_app(behaviour)).await;
    let (alice, bob) = (jwt("alice|1"), jwt("bob|2"));
    assert_isolated(
        server.address(),
        &[("authorization", &alice)],
        &[("authorization", &bob)],
        "alice|1",
    )
    .await;
    server.stop().await;
}

#[test]
fn the_session_key_flag_reaches_the_binary() {
    let server = Binary::start(&["--port", "0", "--session-key", "header:x-test-id"], &repo_root());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let one = Client::with_headers(server.addr, &[("x-test-id", "cli-one")]);
        let two = Client::with_headers(server.addr, &[("x-test-id", "cli-two")]);
        assert_eq!(one.post_empty("/user/clear").await.status, 204);
        assert_eq!(one.get_ok("/user").await, json!({}));
        assert!(two.get_ok("/user").await.get("user").is_some());
    });
}

// ---------------------------------------------------------------------------
// 8. Checks before the server starts
// ---------------------------------------------------------------------------

#[test]
fn templates_must_read_something_the_request_can_have() {
    let path = "\
rules:
  - when: { operation: get-thing }
    respond: { status: 200, body: { json: { id: \"{{request.path.nope}}\" } } }
";
    assert_eq!(
        load_error(&[("path.yaml", path)]),
        "bad/path.yaml:3:35: `get-thing` has no path parameter `nope` (at #/rules/0/respond/body)"
    );

    let query = "\
description: a query parameter the operation lacks
rules:
  - when: { operation: get-thing }
    respond:
      status: 200
      body:
        json: { q: \"{{request.query.search}}\" }
";
    assert_eq!(
        load_error(&[("query.yaml", query)]),
        "bad/query.yaml:7:9: `get-thing` has no query parameter `search` (at #/rules/0/respond/body)"
    );

    let property = "\
rules:
  - when: { operation: save-thing }
    respond: { status: 200, body: { json: { id: x, count: \"{{request.body.colour}}\" } } }
";
    assert_eq!(
        load_error(&[("property.yaml", property)]),
        "bad/property.yaml:3:35: request bodies of `save-thing` have no property `colour` \
         (properties: x, id, num, nested, tags) (at #/rules/0/respond/body)"
    );

    let no_body = "\
rules:
  - when: { operation: get-thing }
    respond: { status: 200, body: { from: request.body } }
";
    assert_eq!(
        load_error(&[("no-body.yaml", no_body)]),
        "bad/no-body.yaml:3:35: `get-thing` takes no request body, so `request.body` is always absent (at #/rules/0/respond/body)"
    );

    let env = "\
rules:
  - when: { operation: get-thing }
    respond: { status: 200, body: { json: { id: \"{{env.HOME}}\" } } }
";
    assert_eq!(
        load_error(&[("env.yaml", env)]),
        "bad/env.yaml:3:43: `{{env.HOME}}` reads nothing a template can read: expected request.body[.FIELD...], \
         request.path.NAME, request.query.NAME, request.headers.NAME, store.KEY[.FIELD...], event.request[.FIELD...], event.response[.FIELD...], now or uuid (at #/rules/0/respond/body/json)"
    );

    let store = "\
rules:
  - when: { operation: get-thing }
    respond: { status: 200, body: { json: { id: \"{{store.ghost.id}}\" } } }
";
    assert_eq!(
        load_error(&[("store.yaml", store)]),
        "bad/store.yaml:3:35: `store.ghost` is read, but no `store:` writes `ghost` (at #/rules/0/respond/body)"
    );
}

#[test]
fn a_body_property_is_refused_when_additional_properties_are_forbidden() {
    let spec = "\
openapi: 3.0.3
info: { title: strict, version: '1' }
paths:
  /strict:
    post:
      operationId: strict
      requestBody:
        content:
          application/json:
            schema: { type: object, additionalProperties: false, properties: { a: { type: string } } }
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: { type: object }
";
    let scenario = "\
rules:
  - when: { operation: strict }
    respond: { status: 200, body: { json: { b: \"{{request.body.b}}\" } } }
";
    let inputs = Inputs {
        spec: specmock::internal::spec::load_text("strict.yaml", spec, None).expect("the spec loads"),
        fixtures: Fixtures::default(),
        scenarios: vec![ScenarioSource {
            file_name: "strict.yaml".into(),
            label: "bad/strict.yaml".into(),
            text: scenario.into(),
        }],
        start_scenario: None,
        seed: 0,
    };
    match App::build(inputs, Behaviour::default()) {
        Ok(_) => panic!("a template reading `request.body.b` of a body that cannot have `b` loaded"),
        Err(diagnostic) => assert_eq!(
            diagnostic.to_string(),
            "bad/strict.yaml:3:35: request bodies of `strict` have no property `b` (properties: a) (at #/rules/0/respond/body)"
        ),
    }
}

#[test]
fn extends_cycles_and_unknown_parents_are_refused() {
    let a = "extends: b\n";
    let b = "description: the other half\nextends: a\n";
    assert_eq!(
        load_error(&[("a.yaml", a), ("b.yaml", b)]),
        "bad/b.yaml:2:10: `extends` makes a cycle: a -> b -> a (at #/extends)"
    );
    let own = "extends: own\n";
    assert_eq!(
        load_error(&[("own.yaml", own)]),
        "bad/own.yaml:1:10: `extends` makes a cycle: own -> own (at #/extends)"
    );
    let orphan = "description: an orphan\nextends: nobody\n";
    assert_eq!(
        load_error(&[("orphan.yaml", orphan), ("other.yaml", "rules: []\n")]),
        "bad/orphan.yaml:2:10: unknown scenario `nobody` (known: orphan, other) (at #/extends)"
    );
}

#[test]
fn bad_delays_are_refused() {
    let cases = [
        (
            "soon",
            "`soon`: expected a duration such as `300ms`, `2s` or `100ms..500ms`",
        ),
        ("fastms", "`fastms`: `fastms` is not a number of ms or s"),
        ("2s..1s", "`2s..1s`: the range's minimum is above its maximum"),
        ("601s", "`601s`: delays range from 0 to 600s"),
    ];
    for (delay, message) in cases {
        let text =
            format!("rules:\n  - when: {{ operation: counter }}\n    respond: {{ status: 200, delay: \"{delay}\" }}\n");
        assert_eq!(
            load_error(&[("delay.yaml", &text)]),
            format!("bad/delay.yaml:3:36: {message} (at #/rules/0/respond/delay)"),
            "delay {delay:?}"
        );
    }
}

#[test]
fn the_binary_refuses_a_bad_scenario_with_exit_code_2() {
    let dir = TempDir::new("bad-scenario");
    let scenario = dir.write(
        "broken.yaml",
        "rules:\n  - when: { operation: get-thing }\n    respond: { status: 200, body: { json: { id: \"{{request.query.nope}}\" } } }\n",
    );
    let spec = features_dir().join("spec.yaml");
    let (code, stdout, stderr) = run_to_exit(
        &[
            "--spec",
            spec.to_str().unwrap(),
            "--scenarios",
            dir.path().to_str().unwrap(),
            "--port",
            "0",
        ],
        &repo_root(),
    );
    assert_eq!(code, Some(2), "stdout: {stdout}\nstderr: {stderr}");
    // Outside the spec's directory: named from the scenarios directory's parent.
    let named = scenario.strip_prefix(dir.path().parent().unwrap()).unwrap();
    assert!(
        stderr.contains(&format!(
            "error: {}:3:35: `get-thing` has no query parameter `nope`",
            named.display()
        )),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "{stdout}");
}
