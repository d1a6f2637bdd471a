//! Inputs found by the properties, kept as plain tests.

use http::header::{HeaderName, HeaderValue};
use http::request::Parts;
use http::Request;
use serde_json::json;
use specmock::internal::fixtures::Fixtures;
use specmock::internal::{App, Behaviour};

use crate::checks::{check_answer, check_body_against, header_text};
use crate::common;
use crate::world::world;

fn parts(method: &str, uri: &str, headers: &[(&str, &[u8])]) -> Parts {
    let (mut parts, ()) = Request::builder()
        .method(method)
        .uri(uri)
        .body(())
        .expect("a valid request")
        .into_parts();
    for (name, value) in headers {
        parts.headers.append(
            HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
            HeaderValue::from_bytes(value).expect("a header value"),
        );
    }
    parts
}

#[test]
fn malformed_escapes_in_the_path_and_query_are_problems() {
    let app = &world().strict;
    for uri in [
        "/user/%zz",
        "/user%ff",
        "/user?__session=%zz",
        "/user?a=%",
        "/__mock/sessions/%ff/reset",
    ] {
        let parts = parts("GET", uri, &[]);
        let handled = specmock::internal::dispatch::handle(app, &parts, b"");
        check_answer(app, &parts, &handled).unwrap_or_else(|e| panic!("{uri}: {e}"));
    }
}

/// Found by `any_request_gets_a_declared_answer_or_a_problem` (fixed in
/// e1ca296): `Prefer: dynamic=true` served generated data without
/// checking it against the schema. `GET /nickname` of
/// tests/specs/features.yaml declares `{type: string, pattern:
/// '^[a-z]+$'}`; the strict mock answered 200 `"value-8813"` instead of a
/// 500 `unrenderable-response` problem.
#[test]
fn prefer_dynamic_never_serves_a_body_that_breaks_its_schema() {
    let app = &world().features;
    for (uri, headers) in [
        ("/nickname", &[("prefer", &b"dynamic=true"[..])][..]),
        ("/nickname?__dynamic=true", &[][..]),
    ] {
        let parts = parts("GET", uri, headers);
        let handled = app.handle(&parts, b"");
        let status = handled.response.status().as_u16();
        if handled.response.headers().contains_key("x-mock-origin") {
            assert_eq!(status, 500, "{uri}");
            continue;
        }
        let configuration = app.configuration();
        let operation = configuration.spec.operation("getNickname").expect("getNickname");
        let declared = operation.response_for(status).expect("a declared status");
        let content_type = header_text(handled.response.headers(), "content-type");
        check_body_against(declared, content_type, handled.response.body(), "getNickname", status)
            .unwrap_or_else(|e| panic!("{uri}: {e}"));
    }
}

/// Found by `any_schema_generates_data` and `any_spec_loads_or_is_explained`:
/// an integer schema whose range is wider than an i128 panicked the data
/// generator. The bounds are cast to i128, which saturates (`-1e300`
/// becomes `i128::MIN`), and the span `high - low` overflowed ("attempt
/// to subtract with overflow" in debug builds, a remainder by zero in
/// release ones). `App::new`, which renders every default body at
/// start-up, panicked on the spec below.
#[test]
fn an_integer_range_wider_than_i128_is_generated() {
    for schema in [
        json!({ "type": "integer", "minimum": -1e300, "maximum": 0 }),
        json!({ "type": "integer", "minimum": -1, "maximum": 1e300 }),
    ] {
        let value = specmock::internal::render::generate(&schema, 0);
        assert!(value.is_i64(), "{schema}: {value}");
    }
    let spec = r#"{
        "openapi": "3.0.3",
        "info": { "title": "t", "version": "1" },
        "paths": { "/a": { "get": { "responses": { "200": { "description": "d",
            "content": { "application/json": { "schema": { "type": "integer", "minimum": -1e300, "maximum": 1e300 } } } } } } } }
    }"#;
    let spec = specmock::internal::spec::load_text("wide.json", spec, None).expect("the spec loads");
    let (app, _) = App::new(spec, &Fixtures::default(), 0, Behaviour::default()).expect("the app builds");
    let parts = parts("GET", "/a", &[]);
    let handled = app.handle(&parts, b"");
    check_answer(&app, &parts, &handled).unwrap();
}

/// Runs `specmock check --spec FILE` on `spec` in a child process (a
/// stack overflow aborts the process; a runaway one is killed), with
/// 2 GB of address space and 10 seconds. `Err` says how it ended badly.
fn check_in_a_child(file_name: &str, spec: &str) -> Result<(), String> {
    let dir = common::TempDir::new("properties");
    let path = dir.write(file_name, spec);
    let stderr = std::fs::File::create(dir.path().join("stderr")).expect("a file for stderr");
    let mut child = std::process::Command::new("sh")
        .args(["-c", "ulimit -v 2000000; exec \"$0\" check --spec \"$1\""])
        .arg(env!("CARGO_BIN_EXE_specmock"))
        .arg(&path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("spawn specmock");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err("`specmock check` was still running after 10 s".into());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let stderr = std::fs::read_to_string(dir.path().join("stderr")).unwrap_or_default();
    match status.code() {
        Some(_) => Ok(()),
        None => Err(format!(
            "`specmock check` was killed by a signal ({status}); stderr:\n{stderr}"
        )),
    }
}

/// A spec whose response schema is `{$ref: A}`, with `components.schemas` as given.
fn spec_with_components(schemas: &str) -> String {
    format!(
        "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: d\n          content:\n            application/json:\n              schema: {{$ref: '#/components/schemas/A'}}\ncomponents:\n  schemas:\n{schemas}"
    )
}

/// Found by `any_schema_generates_data`, then through the spec: a cycle
/// of references with no object or array in between loads, and rendering
/// its default body recursed in `Generator::value` until the stack
/// overflowed, aborting `specmock` and `specmock check` at start-up.
#[test]
fn a_reference_cycle_does_not_overflow_the_stack() {
    for schemas in [
        "    A: {$ref: '#/components/schemas/A'}\n",
        "    A: {$ref: '#/components/schemas/B'}\n    B: {$ref: '#/components/schemas/A'}\n",
        "    A: {allOf: [{$ref: '#/components/schemas/A'}]}\n",
        "    A: {oneOf: [{$ref: '#/components/schemas/A'}]}\n",
    ] {
        let spec = spec_with_components(schemas);
        specmock::internal::spec::load_text("cycle.yaml", &spec, None).expect("the spec loads");
        check_in_a_child("cycle.yaml", &spec).unwrap_or_else(|e| panic!("{schemas}: {e}"));
    }
}

/// Found while bounding the generator: a required property that refers
/// back to its own schema was generated again and again down to the
/// depth limit (24), so two such properties made 2^24 objects:
/// `specmock check` on this 20-line spec ran for over 2 minutes and
/// reached 15 GB of memory.
#[test]
fn required_recursive_properties_stay_within_budget() {
    let spec = spec_with_components(
        "    A:\n      type: object\n      required: [x, y]\n      properties:\n        x: {$ref: '#/components/schemas/A'}\n        y: {$ref: '#/components/schemas/A'}\n",
    );
    check_in_a_child("branching.yaml", &spec).unwrap();
}

/// Found while bounding the generator: each generated array is capped at
/// 1000 items, but nested arrays multiply: three levels of `minItems:
/// 1000` are 10^9 values, and `specmock check` allocated until memory ran
/// out (SIGABRT under a 4 GB limit after 37 s).
#[test]
fn nested_arrays_with_large_min_items_stay_within_budget() {
    let spec = spec_with_components(
        "    A:\n      type: array\n      minItems: 1000\n      items:\n        type: array\n        minItems: 1000\n        items:\n          type: array\n          minItems: 1000\n          items: {type: integer}\n",
    );
    check_in_a_child("nested.yaml", &spec).unwrap();
}

#[test]
fn bodies_nested_past_the_limit_are_problems() {
    let app = &world().strict;
    let parts = parts("POST", "/user/update", &[("content-type", b"application/json")]);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let handled = app.handle(&parts, deep.as_bytes());
    assert_eq!(handled.response.status(), 400);
    check_answer(app, &parts, &handled).unwrap();
}
