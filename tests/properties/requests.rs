//! Requests and WebSocket handshakes of every kind, to the shipped spec
//! (strict and lenient) and to tests/specs/features.yaml: each gets a
//! declared answer or a mock problem, through `dispatch::handle` and
//! `dispatch::upgrade` as the server calls them.

use http::header::{HeaderName, HeaderValue};
use http::request::Parts;
use http::{Method, Request};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::json;
use specmock::internal::App;

use crate::checks::{check_answer, check_upgrade};
use crate::edits::{apply_edits, apply_text_edits, nested, text_edit, value_edit};
use crate::strategies::config::config;
use crate::strategies::header::header_value_bytes;
use crate::strategies::json::json_value;
use crate::world::{profile, scenario_names, world, PROFILE};

const MINIMAL_PROFILE: &str = include_str!("../../fixtures/user-minimal.json");

/// Raw text spliced into a JSON document.
const JSON_SPLICES: &[&str] = &[
    "1e999",
    "-1e999",
    "123456789012345678901234567890",
    "-0",
    "0.000000000000000000000000000001e-400",
    "NaN",
    "Infinity",
    "\"\\ud800\"",
    "\"\\u0000\"",
    "\"\\x\"",
    "null",
    ",",
    ":",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "\\",
    "\u{feff}",
    "//",
    "/*",
    " ",
    "\n",
    "\"dup\": 1, \"dup\": 2,",
];

/// Request bodies: the signed-in profile, edited or broken in every way.
fn body() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        3 => Just(Vec::new()),
        3 => Just(PROFILE.as_bytes().to_vec()),
        1 => Just(MINIMAL_PROFILE.as_bytes().to_vec()),
        1 => Just(br#"{"user_id":"auth0|1","email":"a@b.c","name":"A","username":"a","picture":"https://x/y"}"#.to_vec()),
        6 => prop::collection::vec(value_edit(), 1..4)
            .prop_map(|edits| serde_json::to_vec(&apply_edits(profile().clone(), &edits)).expect("serializes")),
        3 => json_value().prop_map(|v| serde_json::to_vec(&v).expect("serializes")),
        3 => prop::collection::vec(text_edit(JSON_SPLICES), 1..4)
            .prop_map(|edits| apply_text_edits(PROFILE, &edits).into_bytes()),
        2 => (0..=PROFILE.len()).prop_map(|n| PROFILE.as_bytes()[..n].to_vec()),
        2 => (1usize..200, any::<bool>()).prop_map(|(depth, object)| {
            serde_json::to_vec(&nested(depth, object, json!("deep"))).expect("serializes")
        }),
        1 => (100usize..5_000).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()),
        1 => Just(b"{\"name\": \"\xff\xfe\"}".to_vec()),
        2 => prop::collection::vec(any::<u8>(), 0..64),
        1 => "([a-z_%+=&]|%[0-9a-fA-F]{2}|%zz|%ff){0,20}".prop_map(String::into_bytes),
        // For the admin API and the features spec's form and text bodies.
        2 => prop::sample::select(&[
            r#"{"name": "signed-out"}"#,
            r#"{"name": "nope"}"#,
            r#"{"name": 1}"#,
            r#"{"operation": "user-snapshot", "count": 1}"#,
            r#"{"operation": "GET /user", "at_least": 0, "session": "s1"}"#,
            r#"{"operation": "update-user", "at_most": 99999999999999999999, "body": {"id": 1}}"#,
            r#"{"operation": "nope", "count": -1}"#,
            r#"{"operation": "user-snapshot", "count": 1, "at_most": 2}"#,
            r#"{"login": "alice", "password": "12345678"}"#,
            r#"{"login": "alice", "password": "1", "created": "x", "tags": {"a": 1}}"#,
            "count=3&flag=true&name=x",
            "count=11&flag=yes",
            "count=%zz",
            "hello",
            "toolong",
        ][..])
        .prop_map(|b| b.as_bytes().to_vec()),
    ]
    .boxed()
}

/// The shipped spec's operations and the admin API, as `(method, path)`.
const SHIPPED_ROUTES: &[(&str, &str)] = &[
    ("GET", "/.well-known/health"),
    ("HEAD", "/.well-known/health"),
    ("GET", "/user"),
    ("HEAD", "/user"),
    ("POST", "/user/clear"),
    ("GET", "/user/refresh"),
    ("POST", "/user/select"),
    ("GET", "/user/stream"),
    ("POST", "/user/update"),
    ("POST", "/user/update"),
    ("POST", "/user/beta/status"),
    ("GET", "/user/providers"),
    ("POST", "/user/update/vanity"),
    ("OPTIONS", "/user"),
    ("GET", "/__mock/journal"),
    ("DELETE", "/__mock/journal"),
    ("POST", "/__mock/verify"),
    ("GET", "/__mock/violations"),
    ("GET", "/__mock/status"),
    ("GET", "/__mock/scenarios"),
    ("GET", "/__mock/openapi.json"),
    ("GET", "/__mock/sessions/s1"),
    ("PUT", "/__mock/sessions/s1/scenario"),
    ("POST", "/__mock/sessions/s1/reset"),
    ("POST", "/__mock/reload"),
];

/// `tests/specs/features.yaml`'s operations.
const FEATURE_ROUTES: &[(&str, &str)] = &[
    ("GET", "/optional-auth"),
    ("GET", "/key-in-query"),
    ("GET", "/key-in-cookie"),
    ("GET", "/basic-and-key"),
    ("GET", "/basic-or-bearer"),
    ("GET", "/items/1"),
    ("GET", "/items/abc"),
    ("GET", "/search"),
    ("POST", "/form"),
    ("PUT", "/text"),
    ("GET", "/nickname"),
    ("POST", "/account"),
];

const SHIPPED_PATHS: &[&str] = &[
    "/.well-known/health",
    "/user",
    "/user/clear",
    "/user/refresh",
    "/user/select",
    "/user/stream",
    "/user/update",
    "/user/beta/status",
    "/user/providers",
    "/user/update/vanity",
];

const ADMIN_PATHS: &[&str] = &[
    "/__mock/journal",
    "/__mock/journal/events",
    "/__mock/sessions",
    "/__mock/ui",
    "/__mock/ui/app.js",
    "/__mock/ui/..%2Fmod.rs",
    "/__mock/verify",
    "/__mock/violations",
    "/__mock/status",
    "/__mock/scenarios",
    "/__mock/openapi.json",
    "/__mock/sessions/s1",
    "/__mock/sessions/s1/scenario",
    "/__mock/sessions/s1/reset",
    "/__mock/reload",
    "/__mock/sessions/%zz/reset",
    "/__mock/sessions/%ff",
    "/__mock/",
    "/__mock/sessions//scenario",
];

const FEATURE_PATHS: &[&str] = &[
    "/optional-auth",
    "/key-in-query",
    "/key-in-cookie",
    "/basic-and-key",
    "/basic-or-bearer",
    "/items/1",
    "/items/0",
    "/items/abc",
    "/items/%zz",
    "/items/%ff",
    "/items/-9223372036854775809",
    "/search",
    "/form",
    "/text",
    "/nickname",
    "/account",
];

fn segment() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[a-zA-Z0-9._~-]{0,10}",
        1 => prop::sample::select(&["%zz", "%", "%f", "%ff", "%C3%A9", "%c3", "%2F", "%2f", "%00", "..", ".", "user", "{itemId}", "__mock", "%7B%7D"][..])
            .prop_map(str::to_string),
        1 => "(%[0-9A-Fa-f]{2}){1,3}",
        1 => "[!$&'()*+,;=:@a-z%]{1,6}",
    ]
    .boxed()
}

/// Paths near the known ones of all the apps (a path of one app is an
/// unknown path of the others).
fn path() -> BoxedStrategy<String> {
    let known = prop_oneof![
        6 => prop::sample::select(SHIPPED_PATHS),
        2 => prop::sample::select(ADMIN_PATHS),
        2 => prop::sample::select(FEATURE_PATHS),
    ];
    prop_oneof![
        6 => known.clone().prop_map(str::to_string),
        2 => (known.clone(), prop::collection::vec(segment(), 1..3))
            .prop_map(|(path, extra)| format!("{path}/{}", extra.join("/"))),
        2 => (known, any::<Index>(), segment()).prop_map(|(path, at, with)| {
            let mut segments: Vec<&str> = path.split('/').collect();
            let index = at.index(segments.len());
            segments[index] = &with;
            segments.join("/")
        }),
        2 => prop::collection::vec(segment(), 0..5).prop_map(|s| format!("/{}", s.join("/"))),
        1 => prop::sample::select(&["*", "//", "/user//", "/user/", "http://localhost/user", "/%2e%2e/user", "/USER"][..])
            .prop_map(str::to_string),
    ]
    .boxed()
}

const QUERY_NAMES: &[&str] = &[
    "__session",
    "__scenario",
    "__code",
    "__example",
    "__dynamic",
    "api_key",
    "verbose",
    "filter[a]",
    "filter[b]",
    "ids",
    "tags",
    "limit",
    "offset",
    "status",
    "since",
    "violating",
    "operation",
    "session",
    "q",
    "filter[min]",
    "filter[color]",
    "pipes",
    "ratio",
];

const QUERY_VALUES: &[&str] = &[
    "",
    "true",
    "false",
    "1",
    "-1",
    "0",
    "99999999999999999999",
    "abc",
    "%zz",
    "%ff",
    "%",
    "+",
    "a+b",
    "a,b",
    "a|b",
    "200",
    "204",
    "409",
    "511",
    "999",
    "default",
    "signed-out",
    "stream-drops",
    "signed-in",
    "vision-opt-in",
    "2026-11-28T19:40:00Z",
    "user-snapshot",
    "GET%20%2Fuser",
    "red",
    "1,2",
    "1|2",
    "0.5",
    "1e999",
];

fn query() -> BoxedStrategy<Option<String>> {
    let name = prop_oneof![
        4 => prop::sample::select(QUERY_NAMES).prop_map(str::to_string),
        1 => "[a-z_%]{1,6}",
    ];
    let value = prop_oneof![
        8 => prop::sample::select(QUERY_VALUES).prop_map(str::to_string),
        2 => "([a-zA-Z0-9+._,|-]|%[2-7][0-9a-fA-F]|%C3%A9){0,8}",
        1 => "([a-zA-Z0-9%+._,|-]|%[0-9a-fA-F]{2}){0,8}",
    ];
    let control = (
        prop::sample::select(&["__session", "__scenario", "__code", "__example", "__dynamic"][..]),
        prop_oneof![
            prop::sample::select(scenario_names()),
            prop::sample::select(QUERY_VALUES),
        ],
    )
        .prop_map(|(n, v)| format!("{n}={v}"));
    prop_oneof![
        8 => Just(None),
        3 => prop::collection::vec(control, 1..3).prop_map(|pairs| Some(pairs.join("&"))),
        3 => prop::collection::vec((name, value, any::<bool>()), 1..5).prop_map(|pairs| {
            let pairs: Vec<String> = pairs
                .into_iter()
                .map(|(n, v, bare)| if bare && v.is_empty() { n } else { format!("{n}={v}") })
                .collect();
            Some(pairs.join("&"))
        }),
        1 => "[a-zA-Z0-9%&=+;,/?:@._~!$'()*-]{0,20}".prop_map(Some),
    ]
    .boxed()
}

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/problem+json",
    "application/vnd.x+json",
    "text/plain",
    "text/plain; charset=latin1",
    "text/html",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "",
    ";",
    "application/json;;",
    "text/*",
    "*/*",
    "json",
    "application/",
];

const PREFER_VALUES: &[&str] = &[
    "code=200",
    "code=204",
    "code=409",
    "code=500",
    "code=511",
    "code=426",
    "code=abc",
    "code=99999",
    "code=",
    "example=signed-in",
    "example=signed-out",
    "example=vision-opt-in",
    "example=nope",
    "example=",
    "dynamic=true",
    "dynamic=false",
    "code=200, example=signed-in",
    "code=200, dynamic=true",
    "code=500, dynamic=true",
    "code=200; example=signed-in",
    "respond-async",
    "code=200,code=500",
];

const AUTHORIZATION_VALUES: &[&str] = &[
    "Bearer x",
    "Bearer ",
    "Bearer",
    "bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.",
    "Basic dXNlcjpwYXNz",
    "Basic",
    "",
    " ",
    "Digest x",
];

const SESSION_NAMES: &[&str] = &["s1", "s2", "default", "", " ", "%zz", "a/b", "é"];

fn header() -> BoxedStrategy<(String, Vec<u8>)> {
    let fixed = |name: &'static str, values: &'static [&'static str]| {
        prop_oneof![
            5 => prop::sample::select(values).prop_map(|v| v.as_bytes().to_vec()),
            1 => header_value_bytes(),
        ]
        .prop_map(move |value| (name.to_string(), value))
    };
    prop_oneof![
        4 => fixed("content-type", CONTENT_TYPES),
        3 => fixed("x-mock-session", SESSION_NAMES),
        2 => prop::sample::select(scenario_names()).prop_map(|v| ("x-mock-scenario".to_string(), v.as_bytes().to_vec())),
        1 => fixed("x-mock-scenario", &["nope", "", "DEFAULT"]),
        3 => fixed("prefer", PREFER_VALUES),
        2 => fixed("authorization", AUTHORIZATION_VALUES),
        1 => fixed("cookie", &["sid=1", "sid=", "sid", "a=b; sid=2", ";;", "=", "session=abcd", "session=ab; sid=1"]),
        1 => fixed("x-api-key", &["k", ""]),
        1 => fixed("origin", &["http://localhost:3000", "null", ""]),
        1 => fixed("access-control-request-method", &["GET", "POST", "FOO", ""]),
        1 => fixed("access-control-request-headers", &["x-mock-session", "content-type, prefer", ""]),
        1 => fixed("upgrade", &["websocket", "h2c"]),
        1 => fixed("connection", &["upgrade", "keep-alive, Upgrade", "close"]),
        1 => fixed("sec-websocket-key", &["dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=", "not base64!", ""]),
        1 => fixed("sec-websocket-version", &["13", "8", ""]),
        1 => fixed("accept", &["application/json", "text/plain", "*/*", ""]),
        2 => ("[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}", header_value_bytes()),
    ]
    .boxed()
}

const METHODS: &[&str] = &[
    "GET", "GET", "GET", "POST", "POST", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
];

fn method() -> BoxedStrategy<String> {
    prop_oneof![
        6 => prop::sample::select(METHODS).prop_map(str::to_string),
        1 => "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,10}",
    ]
    .boxed()
}

/// Which app a request goes to.
#[derive(Debug, Clone, Copy)]
enum Target {
    Strict,
    Lenient,
    Features,
}

/// One generated request.
#[derive(Clone)]
struct Req {
    target: Target,
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

/// Bytes as text, non-ASCII escaped, so a failing request can be copied into a test.
fn shown(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

impl std::fmt::Debug for Req {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {}", shown(value)))
            .collect();
        f.debug_struct("Req")
            .field("target", &self.target)
            .field("method", &self.method)
            .field("uri", &self.uri())
            .field("headers", &headers)
            .field("body", &shown(&self.body))
            .finish()
    }
}

impl Req {
    fn uri(&self) -> String {
        match &self.query {
            Some(query) => format!("{}?{query}", self.path),
            None => self.path.clone(),
        }
    }

    /// The request head as hyper would hand it over; `None` when hyper
    /// would not (an invalid method token, URI or header).
    fn parts(&self) -> Option<Parts> {
        let method = Method::from_bytes(self.method.as_bytes()).ok()?;
        let request = Request::builder().method(method).uri(self.uri()).body(()).ok()?;
        let (mut parts, ()) = request.into_parts();
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
            let value = HeaderValue::from_bytes(value).ok()?;
            parts.headers.append(name, value);
        }
        Some(parts)
    }

    fn app(&self) -> &'static App {
        let world = world();
        match self.target {
            Target::Strict => &world.strict,
            Target::Lenient => &world.lenient,
            Target::Features => &world.features,
        }
    }
}

/// A method and a path: mostly a route the target app has, else anything near one.
fn route(target: Target) -> BoxedStrategy<(String, String)> {
    let routes = match target {
        Target::Strict | Target::Lenient => SHIPPED_ROUTES,
        Target::Features => FEATURE_ROUTES,
    };
    prop_oneof![
        6 => prop::sample::select(routes).prop_map(|(m, p)| (m.to_string(), p.to_string())),
        1 => (prop::sample::select(routes), method()).prop_map(|((_, p), m)| (m, p.to_string())),
        1 => (prop::sample::select(routes), path()).prop_map(|((m, _), p)| (m.to_string(), p)),
        1 => (method(), path()),
    ]
    .boxed()
}

fn request() -> BoxedStrategy<Req> {
    let target = prop_oneof![6 => Just(Target::Strict), 2 => Just(Target::Lenient), 2 => Just(Target::Features)];
    let content_type = prop_oneof![
        6 => Just(Some("application/json")),
        1 => prop::sample::select(CONTENT_TYPES).prop_map(Some),
        2 => Just(None),
    ];
    (
        target
            .prop_flat_map(|t| (Just(t), route(t)))
            .prop_flat_map(|(t, (method, path))| {
                // Requests without a body mostly come without one.
                let body = match method.as_str() {
                    "GET" | "HEAD" | "DELETE" | "OPTIONS" => prop_oneof![8 => Just(Vec::new()), 1 => body()].boxed(),
                    _ => body(),
                };
                (Just(t), Just(method), Just(path), body)
            }),
        query(),
        content_type,
        prop::collection::vec(header(), 0..5),
    )
        .prop_map(|((target, method, path, body), query, content_type, extra)| {
            let mut headers: Vec<(String, Vec<u8>)> = content_type
                .map(|c| ("content-type".to_string(), c.as_bytes().to_vec()))
                .into_iter()
                .collect();
            headers.extend(extra);
            Req {
                target,
                method,
                path,
                query,
                headers,
                body,
            }
        })
        .boxed()
}

/// A WebSocket handshake: a GET with the upgrade headers, mostly to the stream.
fn handshake() -> BoxedStrategy<Req> {
    let key = prop_oneof![
        6 => Just(Some(b"dGhlIHNhbXBsZSBub25jZQ==".to_vec())),
        2 => prop::collection::vec(any::<u8>(), 0..24).prop_map(|nonce| Some(data_encoding::BASE64.encode(&nonce).into_bytes())),
        1 => prop::sample::select(&["", " dGhlIHNhbXBsZSBub25jZQ== ", "dGhlIHNhbXBsZSBub25jZQ", "====", "not base64!"][..])
            .prop_map(|k| Some(k.as_bytes().to_vec())),
        1 => header_value_bytes().prop_map(Some),
        1 => Just(None),
    ];
    let version = prop_oneof![
        10 => Just(Some(b"13".to_vec())),
        1 => prop::sample::select(&["8", "", "13, 8", " 13", "130"][..]).prop_map(|v| Some(v.as_bytes().to_vec())),
        1 => header_value_bytes().prop_map(Some),
        1 => Just(None),
    ];
    let target = prop_oneof![4 => Just(Target::Strict), 1 => Just(Target::Lenient), 1 => Just(Target::Features)];
    let target_and_path = target.prop_flat_map(|target| {
        let gets = |routes: &'static [(&'static str, &'static str)]| {
            let paths: Vec<&'static str> = routes.iter().filter(|(m, _)| *m == "GET").map(|(_, p)| *p).collect();
            prop::sample::select(paths).prop_map(str::to_string)
        };
        let path = match target {
            Target::Features => prop_oneof![6 => gets(FEATURE_ROUTES), 1 => path()].boxed(),
            _ => prop_oneof![6 => Just("/user/stream".to_string()), 3 => gets(SHIPPED_ROUTES), 1 => path()].boxed(),
        };
        (Just(target), path)
    });
    (
        target_and_path,
        prop_oneof![8 => Just("GET".to_string()), 1 => method()],
        query(),
        key,
        version,
        prop::collection::vec(header(), 0..4),
    )
        .prop_map(|((target, path), method, query, key, version, extra)| {
            let mut headers = vec![
                ("upgrade".to_string(), b"websocket".to_vec()),
                ("connection".to_string(), b"Upgrade".to_vec()),
            ];
            headers.extend(key.map(|k| ("sec-websocket-key".to_string(), k)));
            headers.extend(version.map(|v| ("sec-websocket-version".to_string(), v)));
            headers.extend(extra);
            Req {
                target,
                method,
                path,
                query,
                headers,
                body: Vec::new(),
            }
        })
        .boxed()
}

proptest! {
    #![proptest_config(config(256))]

    /// Any request: no panic, and the answer is a declared one or a mock problem.
    #[test]
    fn any_request_gets_a_declared_answer_or_a_problem(req in request()) {
        let Some(parts) = req.parts() else { return Ok(()) };
        let app = req.app();
        let handled = specmock::internal::dispatch::handle(app, &parts, &req.body);
        check_answer(app, &parts, &handled)?;
    }

    /// Any WebSocket handshake: no panic; accepted only when RFC 6455's checks pass.
    #[test]
    fn any_handshake_is_accepted_or_refused_cleanly(req in handshake()) {
        let Some(parts) = req.parts() else { return Ok(()) };
        check_upgrade(req.app(), &parts)?;
    }
}
