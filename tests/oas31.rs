//! An OpenAPI 3.1 spec (tests/specs/oas31.yaml) served by the real server:
//! JSON Schema 2020-12 keywords checked on requests and respected by
//! generated answers, the document-level changes of 3.1, `check` and
//! `verify` on it, and broken 3.1 documents refused at their line and column.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;

use common::*;
use http::Method;
use serde_json::{json, Value};
use specmock::internal::spec::{load_file, load_text, Spec};
use specmock::internal::Behaviour;
use specmock::MockServer;

const KEY: (&str, &str) = ("x-api-key", "k");
const JSON: (&str, &str) = ("content-type", "application/json");

fn oas31() -> PathBuf {
    specs_dir().join("oas31.yaml")
}

fn spec() -> Spec {
    load_file(&oas31()).expect("the 3.1 spec loads")
}

async fn server() -> MockServer {
    let (app, warnings) = app_from_file(&oas31(), None, 0, Behaviour::default());
    assert_eq!(warnings.len(), 1, "only the mutualTLS warning: {warnings:#?}");
    start(app).await
}

async fn post(addr: SocketAddr, path: &str, body: Value) -> Reply {
    send(addr, Method::POST, path, &[KEY, JSON], body.to_string().as_bytes()).await
}

/// The rules a refused request broke, by pointer.
fn broken(reply: &Reply) -> Vec<(String, String)> {
    reply.assert_problem(400, "invalid-request", "validator");
    reply.violations()
}

#[test]
fn the_document_level_changes_of_3_1_are_read() {
    let spec = spec();
    let mut ids: Vec<&str> = spec.operations.iter().map(|op| op.id.as_str()).collect();
    ids.sort();
    // `/pets` is a `$ref` to components/pathItems; `paths` keep their routes.
    assert_eq!(
        ids,
        ["addPet", "getPet", "listPets", "placeOrder", "uploadPhoto", "watchPet"]
    );
    assert_eq!(spec.webhooks, ["petAdopted POST"]);
    let warnings: Vec<String> = spec.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].starts_with(&format!(
            "{}:101:17: a `mutualTLS` security scheme cannot be checked",
            oas31().display()
        )),
        "{warnings:?}"
    );
    // A 3.1 document needs no `paths`.
    let bare = "openapi: 3.1.1\ninfo: {title: t, version: '1'}\nwebhooks: {}\n";
    assert!(load_text("bare.yaml", bare, None).unwrap().operations.is_empty());
}

#[tokio::test]
async fn type_lists_const_prefix_items_and_conditionals_are_checked_on_requests() {
    let server = server().await;
    let addr = server.address();
    let cat = json!({"name": "Tom", "kind": "cat", "position": [1.5, 2], "tag": null});
    let reply = post(addr, "/v1/pets", cat.clone()).await;
    assert_eq!(
        reply.status,
        201,
        "read-only `id` is not required in a request: {}",
        reply.text()
    );

    let with = |patch: Value| {
        let mut pet = cat.clone();
        pet.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
        pet
    };
    let cases = [
        (with(json!({"tag": 5})), "/body/tag", "type"),
        (with(json!({"species": "felis"})), "/body/species", "const"),
        (with(json!({"position": ["a", 2]})), "/body/position/0", "type"),
        (with(json!({"position": [1, 2, 3]})), "/body/position/2", "falseSchema"),
        (with(json!({"colour": "grey"})), "/body", "unevaluatedProperties"),
        (with(json!({"kind": "dog"})), "/body/bark", "required"),
        (with(json!({"bark": true})), "/body", "not"),
        (with(json!({"status": "lost"})), "/body/status", "enum"),
        // `$ref` with a sibling keyword: both apply.
        (with(json!({"owner": {}})), "/body/owner", "minProperties"),
        (
            with(json!({"owner": {"email": "a@example.com"}})),
            "/body/owner/name",
            "required",
        ),
        (with(json!({"owner": {"phone": "1"}})), "/body/owner/name", "required"),
    ];
    for (pet, pointer, rule) in cases {
        let reply = post(addr, "/v1/pets", pet.clone()).await;
        assert_eq!(broken(&reply), [(pointer.to_string(), rule.to_string())], "{pet}");
    }
    let dog =
        with(json!({"kind": "dog", "bark": true, "owner": {"name": "A", "email": "a@example.com", "phone": "1"}}));
    assert_eq!(post(addr, "/v1/pets", dog).await.status, 201);

    // Numeric exclusive bounds, and a `type` list on a parameter.
    for (path, status) in [
        ("/v1/pets/0", 400),
        ("/v1/pets/1000", 400),
        ("/v1/pets/999", 200),
        ("/v1/pets/1?fields=name", 200),
    ] {
        let reply = send(addr, Method::GET, path, &[KEY], b"").await;
        assert_eq!(reply.status, status, "{path}: {}", reply.text());
    }

    // prefixItems with items, unevaluatedItems, unevaluatedProperties.
    let cases = [
        (json!({"items": [0]}), "/body/items/0", "minimum"),
        (json!({"items": [1, "x"]}), "/body/items/1", "type"),
        (json!({"items": [1], "gift": true}), "/body", "unevaluatedProperties"),
        (json!({"items": [1], "card": "not base64!"}), "/body/card", "pattern"),
    ];
    for (order, pointer, rule) in cases {
        let reply = post(addr, "/v1/orders", order.clone()).await;
        assert_eq!(broken(&reply), [(pointer.to_string(), rule.to_string())], "{order}");
    }
    let order = json!({"items": [1, 2], "card": "c3BlY21vY2s=", "note": null});
    assert_eq!(post(addr, "/v1/orders", order).await.status, 201);
}

#[tokio::test]
async fn a_string_encoded_body_is_checked_and_mutual_tls_asks_for_no_credential() {
    let server = server().await;
    let addr = server.address();
    let text = ("content-type", "text/plain");
    let reply = send(addr, Method::POST, "/v1/photos", &[text], b"iVBORw0KGgo=").await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let reply = send(addr, Method::POST, "/v1/photos", &[text], b"not base64").await;
    assert_eq!(broken(&reply), [("/body".to_string(), "pattern".to_string())]);
    // The API key is still asked for where it is required.
    let reply = send(addr, Method::GET, "/v1/pets", &[], b"").await;
    assert_eq!(reply.status, 401);
}

#[tokio::test]
async fn generated_answers_conform_and_use_const_examples_and_tuples() {
    let spec = spec();
    let server = server().await;
    let addr = server.address();
    let requests = [
        ("listPets", Method::GET, "/v1/pets", json!(null)),
        ("getPet", Method::GET, "/v1/pets/7", json!(null)),
        (
            "addPet",
            Method::POST,
            "/v1/pets",
            json!({"name": "T", "kind": "cat", "position": [0, 0]}),
        ),
        ("placeOrder", Method::POST, "/v1/orders", json!({"items": [1]})),
    ];
    for (id, method, path, body) in requests {
        let body = if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        let reply = send(addr, method, path, &[KEY, JSON], &body).await;
        let problems = response_problems(spec.operation(id).unwrap(), &reply);
        assert!(problems.is_empty(), "{problems:#?}\n{}", reply.text());
    }
    let pet = send(addr, Method::GET, "/v1/pets/7", &[KEY], b"").await.json();
    assert_eq!(pet["name"], "Rex", "the first of `examples`");
    assert_eq!(pet["species"], "canis", "`const`");
    assert!(pet["tag"].is_string(), "`type: [string, 'null']` gives a string");
    assert_eq!(
        pet["position"].as_array().map(Vec::len),
        Some(2),
        "the tuple's two positions"
    );
    assert!(pet.get("bark").is_some(), "the `then` of the dog");
    let order = post(addr, "/v1/orders", json!({"items": [1]})).await.json();
    assert_eq!(order["note"], "leave at the door");
    assert_eq!(order["card"], "c3BlY21vY2s=");
    let photo = send(
        addr,
        Method::POST,
        "/v1/photos",
        &[("content-type", "text/plain")],
        b"AAAA",
    )
    .await;
    assert!(response_problems(spec.operation("uploadPhoto").unwrap(), &photo).is_empty());
    assert_eq!(
        photo.json()["meta"],
        r#"{"size":0}"#,
        "JSON text of the `contentSchema`"
    );
}

#[test]
fn check_lists_the_webhooks_and_warns_of_mutual_tls() {
    let spec = oas31().display().to_string();
    let (code, stdout, stderr) = run_to_exit(&["check", "--spec", &spec], &repo_root());
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("webhooks (declared, not served): petAdopted POST"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("warning: {spec}:101:17: a `mutualTLS` security scheme")),
        "{stdout}"
    );
    assert!(stdout.contains("0 problems, 1 warning"), "{stdout}");
}

#[test]
fn verify_finds_the_mock_of_a_3_1_spec_conforming() {
    let spec = oas31().display().to_string();
    let mock = Binary::start(&["--spec", &spec, "--port", "0"], &repo_root());
    let url = format!("http://{}/v1", mock.addr);
    let (code, stdout, stderr) = run_to_exit(
        &["verify", "--spec", &spec, "--against", &url, "--header", "X-Api-Key: k"],
        &repo_root(),
    );
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for id in ["addPet", "getPet", "listPets", "placeOrder", "uploadPhoto", "watchPet"] {
        assert!(stdout.contains(&format!("PASS {id} (")), "{id}:\n{stdout}");
    }
}

/// A scenario over the 3.1 spec: a pet stored from a request (checked
/// against the request schema, answered under the response schema), read
/// back, and pushed to the pet's stream.
const SCENARIO: &str = r#"
name: default
store:
  pet: { json: { id: 1, name: Rex, kind: cat, position: [0, 0] } }
rules:
  - when: { operation: addPet }
    store:
      pet: { from: request.body, merge: { id: 2 } }
    respond: { status: 201, body: { from: store.pet } }
  - when: { operation: getPet }
    respond: { status: 200, body: { from: store.pet } }
  - when: { operation: watchPet }
    respond: { status: 200, body: { from: store.pet } }
"#;

#[tokio::test]
async fn scenarios_and_streams_work_over_a_3_1_spec() {
    let dir = TempDir::new("oas31-scenario");
    let path = dir.write("default.yaml", SCENARIO);
    let inputs = specmock::internal::Inputs {
        spec: spec(),
        fixtures: specmock::internal::fixtures::Fixtures::default(),
        scenarios: vec![scenario_source(&path)],
        start_scenario: None,
        seed: 0,
    };
    let (app, _) = specmock::internal::App::build(inputs, Behaviour::default()).unwrap_or_else(|e| panic!("{e}"));
    let server = start(app).await;
    let addr = server.address();
    let session = ("x-mock-session", "s1");

    let mut ws = ws_open(addr, "/v1/pets/1/events?__session=s1", &[KEY]).await;
    let first = ws_next(&mut ws, std::time::Duration::from_secs(3)).await;
    assert!(
        matches!(&first, Some(Ok(WsMessage::Text(text))) if text.contains("\"Rex\"")),
        "{first:?}"
    );

    let dog = json!({"name": "Fido", "kind": "dog", "bark": true, "position": [1, 2]});
    let reply = send(
        addr,
        Method::POST,
        "/v1/pets",
        &[KEY, JSON, session],
        dog.to_string().as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(reply.json()["id"], 2);
    let reply = send(addr, Method::GET, "/v1/pets/2", &[KEY, session], b"").await;
    assert_eq!(reply.json()["name"], "Fido");
    let pushed = ws_next(&mut ws, std::time::Duration::from_secs(3)).await;
    assert!(
        matches!(&pushed, Some(Ok(WsMessage::Text(text))) if text.contains("\"Fido\"")),
        "{pushed:?}"
    );

    // The request is checked before any rule: a dog without `bark` is refused.
    let reply = send(
        addr,
        Method::POST,
        "/v1/pets",
        &[KEY, JSON, session],
        br#"{"name":"F","kind":"dog","position":[1,2]}"#,
    )
    .await;
    assert_eq!(broken(&reply), [("/body/bark".to_string(), "required".to_string())]);
}

/// A 3.1 document with `edit` applied to a small valid one.
fn broken_31(edit: (&str, &str)) -> String {
    let text = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      parameters:\n        - {name: q, in: query, schema: {type: [integer, 'null']}}\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {type: object, properties: {n: {type: integer}}}\n";
    assert!(text.contains(edit.0), "{}", edit.0);
    let broken = text.replacen(edit.0, edit.1, 1);
    load_text("s.yaml", &broken, None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_else(|| panic!("{broken}"))
}

#[test]
fn broken_3_1_documents_are_refused_at_their_line_and_column() {
    let cases = [
        (
            (
                "paths:",
                "jsonSchemaDialect: https://json-schema.org/draft/2019-09/schema\npaths:",
            ),
            "s.yaml:3:20: unsupported `jsonSchemaDialect` \"https://json-schema.org/draft/2019-09/schema\"",
        ),
        (
            ("in: query", "in: nowhere"),
            "s.yaml:7:11: not a valid OpenAPI 3.1 document",
        ),
        (
            ("{type: integer}}", "{type: 5}}"),
            "s.yaml:13:23: schema does not compile",
        ),
        (
            ("{type: integer}}", "{$ref: '#/components/schemas/N'}}"),
            "s.yaml:13:54: $ref `#/components/schemas/N` does not resolve to anything",
        ),
        (
            (
                "{type: object, properties: {n: {type: integer}}}",
                "{type: object, required: [n], properties: {n: {$ref: '#/components/schemas/N'}}}",
            ),
            "s.yaml:13:69: $ref `#/components/schemas/N` does not resolve to anything",
        ),
        (
            (
                "{type: integer}}",
                "{$schema: 'http://json-schema.org/draft-07/schema#'}}",
            ),
            "s.yaml:13:64: unsupported `$schema` \"http://json-schema.org/draft-07/schema#\"",
        ),
        (
            ("{type: integer}}", "{$id: n}}"),
            "s.yaml:13:60: `$id` is not supported",
        ),
        (
            ("paths:", "externalDocs: {url: 5}\npaths:"),
            "s.yaml:3:15: not a valid OpenAPI 3.1 document: invalid type: number",
        ),
        (
            (
                "{type: integer}}}\n",
                "{dependencies: {a: {$ref: '#/components/schemas/N'}}}}}\ncomponents: {schemas: {N: {}}}\n",
            ),
            "s.yaml:13:69: `dependencies` is from an older JSON Schema draft: use dependentRequired/dependentSchemas (JSON Schema 2020-12)",
        ),
        (
            ("paths:", "components: {links: {l: 5}}\npaths:"),
            "s.yaml:3:25: not a valid OpenAPI 3.1 document",
        ),
        (
            ("paths:", "components: {callbacks: {c: 5}}\npaths:"),
            "s.yaml:3:29: not a valid OpenAPI 3.1 document",
        ),
        (
            ("  /a:\n", "  /a:\n    parameters: [{name: p, in: nowhere}]\n"),
            "s.yaml:5:18: not a valid OpenAPI 3.1 document",
        ),
        (
            ("  /a:\n", "  /a:\n    servers: [{url: 5}]\n"),
            "s.yaml:5:15: not a valid OpenAPI 3.1 document",
        ),
        (
            ("openapi: 3.1.0", "openapi: 3.2.0"),
            "expected an OpenAPI 3.0.x or 3.1.x document, found version `3.2.0`",
        ),
    ];
    for (edit, expected) in cases {
        let error = broken_31(edit);
        assert!(error.contains(expected), "{edit:?}:\n{error}\nexpected: {expected}");
    }
}

#[test]
fn swagger_2_is_refused_with_how_to_convert_it() {
    let error = load_text(
        "s.yaml",
        "swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths: {}\n",
        None,
    )
    .err()
    .expect("refused")
    .to_string();
    assert!(
        error.starts_with("s.yaml:1:10: Swagger 2.0 is not supported"),
        "{error}"
    );
    assert!(error.contains("swagger2openapi"), "{error}");
}

#[test]
fn a_3_0_document_with_a_stray_webhooks_key_lists_no_webhooks() {
    let text = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n\
                webhooks:\n  ping: {post: {responses: {'200': {description: ok}}}}\n\
                paths:\n  /a:\n    get:\n      responses:\n        '200': {description: ok}\n";
    assert!(load_text("w30.yaml", text, None).unwrap().webhooks.is_empty());
    let dir = TempDir::new("stray-key");
    let spec = dir.write("w30.yaml", text).display().to_string();
    let (code, stdout, stderr) = run_to_exit(&["check", "--spec", &spec], &repo_root());
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(!stdout.contains("webhooks ("), "{stdout}");
    let (code, stdout, stderr) = run_to_exit(&["check", "--spec", &spec, "--format", "json"], &repo_root());
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert!(report.get("webhooks").is_none(), "{stdout}");
    let spec = oas31().display().to_string();
    let (_, stdout, _) = run_to_exit(&["check", "--spec", &spec, "--format", "json"], &repo_root());
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["webhooks"], json!(["petAdopted POST"]));
}

/// What Pydantic writes for `page: int | None = None`, `ids: list[int] | None`
/// and `x_limit: int | None = Header(None)`: no `type`, one non-null branch.
const OPTIONAL_NUMBERS: &str = "openapi: 3.1.0
info: {title: t, version: '1'}
paths:
  /items:
    get:
      operationId: listItems
      parameters:
        - {name: page, in: query, schema: {anyOf: [{type: integer, minimum: 1}, {type: 'null'}], default: null}}
        - {name: ids, in: query, schema: {anyOf: [{type: array, items: {type: integer}}, {type: 'null'}]}}
        - {name: x-limit, in: header, schema: {oneOf: [{$ref: '#/components/schemas/Limit'}, {type: 'null'}]}}
        - {name: mode, in: query, schema: {const: 3}}
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: object}}}}
components:
  schemas:
    Limit: {type: integer, maximum: 100}
";

#[tokio::test]
async fn optional_numbers_written_as_any_of_with_null_are_read_as_numbers() {
    let dir = TempDir::new("optional-numbers");
    let file = dir.write("optint.yaml", OPTIONAL_NUMBERS);
    let (app, warnings) = app_from_file(&file, None, 0, Behaviour::default());
    assert!(warnings.is_empty(), "{warnings:?}");
    let server = start(app).await;
    let addr = server.address();
    for accepted in ["/items?page=5", "/items?ids=1&ids=2", "/items?mode=3", "/items"] {
        let reply = get(addr, accepted).await;
        assert_eq!(reply.status, 200, "{accepted}: {}", reply.text());
    }
    let limited = send(addr, Method::GET, "/items", &[("x-limit", "50")], b"").await;
    assert_eq!(limited.status, 200, "{}", limited.text());
    for refused in ["/items?page=0", "/items?page=x", "/items?ids=1&ids=y", "/items?mode=4"] {
        assert_eq!(get(addr, refused).await.status, 400, "{refused}");
    }
    let over = send(addr, Method::GET, "/items", &[("x-limit", "500")], b"").await;
    assert_eq!(over.status, 400, "{}", over.text());
    // The null branch cannot be what was meant: the other one says what is wrong.
    assert_eq!(
        broken(&get(addr, "/items?ids=1&ids=y").await),
        [("/query/ids/1".to_string(), "type".to_string())]
    );
    assert_eq!(broken(&over), [("/header/x-limit".to_string(), "maximum".to_string())]);
}

#[tokio::test]
async fn a_required_beside_a_ref_keeps_the_read_only_of_the_target_out_of_requests() {
    let dir = TempDir::new("required-beside-ref");
    let file = dir.write(
        "rorefsib.yaml",
        "openapi: 3.1.0
info: {title: t, version: '1'}
paths:
  /pets:
    post:
      operationId: addPet
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Pet', required: [id, name]}
      responses:
        '201': {description: ok}
components:
  schemas:
    Pet:
      allOf:
        - $ref: '#/components/schemas/Base'
        - {properties: {secret: {type: string, writeOnly: true}}}
    Base:
      type: object
      properties:
        id: {type: integer, readOnly: true}
        name: {type: string}
",
    );
    let (app, _) = app_from_file(&file, None, 0, Behaviour::default());
    let server = start(app).await;
    let addr = server.address();
    let reply = send(addr, Method::POST, "/pets", &[JSON], br#"{"name": "Rex"}"#).await;
    assert_eq!(reply.status, 201, "read-only `id` is not required: {}", reply.text());
    let reply = send(addr, Method::POST, "/pets", &[JSON], br#"{"id": 1}"#).await;
    assert_eq!(broken(&reply), [("/body/name".to_string(), "required".to_string())]);
}

#[test]
fn a_3_0_nullable_in_a_3_1_schema_is_a_warning_at_its_line() {
    let text = "openapi: 3.1.0
info: {title: t, version: '1'}
paths:
  /a:
    post:
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/N'}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/N'}
components:
  schemas:
    N:
      type: object
      properties:
        x: {type: integer, nullable: true}
";
    let spec = load_text("n.yaml", text, None).unwrap();
    let warnings: Vec<String> = spec.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings.len(),
        1,
        "once, though the schema is read in both directions: {warnings:?}"
    );
    assert!(
        warnings[0].starts_with("n.yaml:21:38: `nullable` is OpenAPI 3.0's"),
        "{warnings:?}"
    );
    let bare = "openapi: 3.1.0\njsonSchemaDialect: https://json-schema.org/draft/2020-12/schema\n\
                info: {title: t, version: '1'}\n";
    assert!(
        load_text("d.yaml", bare, None).is_ok(),
        "the 2020-12 dialect may be named"
    );
}

/// The 3.1 spec with `edit` applied, served; the pet `GET /v1/pets/7` answers.
async fn generated_pet(edit: (&str, &str)) -> Value {
    let text = std::fs::read_to_string(oas31()).unwrap();
    assert!(text.contains(edit.0), "{}", edit.0);
    let dir = TempDir::new("generated-pet");
    let file = dir.write("oas31.yaml", &text.replacen(edit.0, edit.1, 1));
    let (app, _) = app_from_file(&file, None, 0, Behaviour::default());
    let server = start(app).await;
    let reply = send(server.address(), Method::GET, "/v1/pets/7", &[KEY], b"").await;
    let spec = load_file(&file).unwrap();
    let problems = response_problems(spec.operation("getPet").unwrap(), &reply);
    assert!(problems.is_empty(), "{edit:?}: {problems:#?}\n{}", reply.text());
    reply.json()
}

#[tokio::test]
async fn generated_answers_follow_the_branch_of_if_then_else_and_the_siblings_of_a_ref() {
    let dog = generated_pet(("enum: [dog, cat]", "enum: [dog, cat]")).await;
    assert_eq!((&dog["kind"], dog["bark"].is_boolean()), (&json!("dog"), true), "{dog}");
    let cat = generated_pet(("enum: [dog, cat]", "enum: [cat, dog]")).await;
    assert_eq!(cat["kind"], "cat", "{cat}");
    assert!(cat.get("bark").is_none(), "the `else` of the cat: {cat}");
    let max = generated_pet((
        "schema: {$ref: '#/components/schemas/Pet'}\n  /pets/{petId}/events",
        "schema: {$ref: '#/components/schemas/Pet', properties: {name: {const: Max}}}\n  /pets/{petId}/events",
    ))
    .await;
    assert_eq!(max["name"], "Max", "the sibling of the `$ref` applies too: {max}");
}
