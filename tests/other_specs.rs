//! A second spec (tests/specs/petstore.yaml, with its models in
//! pet-schemas.yaml behind relative file `$ref`s) for the OpenAPI 3.0
//! features the shipped spec does not use, plus fixtures and seeds.

mod common;

use std::path::PathBuf;

use common::*;
use http::Method;
use serde_json::{json, Value};
use specmock::internal::{App, Behaviour};
use specmock::MockServer;

const REQUEST_ID: (&str, &str) = ("x-request-id", "3fa85f64-5717-4562-b3fc-2c963f66afa6");

fn petstore() -> PathBuf {
    specs_dir().join("petstore.yaml")
}

fn petstore_app(seed: u64, fixtures: Option<&std::path::Path>) -> App {
    let (app, warnings) = app_from_file(&petstore(), fixtures, seed, Behaviour::default());
    assert!(warnings.is_empty(), "{warnings:#?}");
    app
}

async fn petstore_server() -> MockServer {
    start(petstore_app(0, None)).await
}

async fn list(addr: std::net::SocketAddr, query: &str) -> Reply {
    send(addr, Method::GET, &format!("/v1/pets{query}"), &[REQUEST_ID], b"").await
}

#[tokio::test]
async fn typed_path_parameter() {
    let server = petstore_server().await;
    let addr = server.address();

    let reply = get(addr, "/v1/pets/abc").await;
    let body = reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/path/petId".into(), "type".into())]);
    assert_eq!(body["detail"], "/path/petId: expected integer, found string");

    let reply = get(addr, "/v1/pets/5").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["name"], "Rex", "the declared example is served");

    // format: int32 bounds the integer.
    let reply = get(addr, "/v1/pets/2147483648").await;
    reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/path/petId".into(), "maximum".into())]);
    assert_eq!(get(addr, "/v1/pets/2147483647").await.status, 200);
    assert_eq!(get(addr, "/v1/pets/-5").await.status, 200);
}

#[tokio::test]
async fn query_parameters_are_typed_and_checked() {
    let server = petstore_server().await;
    let addr = server.address();

    let reply = list(addr, "?limit=10&status=sold&tags=a&tags=b").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.json().is_array());

    let reply = list(addr, "").await;
    let body = reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/query/limit".into(), "required".into())]);
    assert!(body["detail"].as_str().unwrap().contains("limit"));

    let reply = list(addr, "?limit=0").await;
    reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/query/limit".into(), "minimum".into())]);

    let reply = list(addr, "?limit=ten").await;
    reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/query/limit".into(), "type".into())]);

    let reply = list(addr, "?limit=1&status=lost").await;
    let body = reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/query/status".into(), "enum".into())]);
    assert_eq!(
        body["violations"][0]["allowed"],
        json!(["available", "pending", "sold"])
    );

    // form + explode: each `tags=` is one item.
    let reply = list(addr, "?limit=1&tags=a&tags=b&tags=c&tags=d").await;
    reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/query/tags".into(), "maxItems".into())]);
    assert_eq!(
        list(addr, "?limit=1&tags=a,b,c,d").await.status,
        200,
        "one item with commas"
    );

    // Several problems at once are all listed.
    let reply = list(addr, "?limit=0&status=lost").await;
    assert_eq!(reply.violations().len(), 2, "{}", reply.text());
}

#[tokio::test]
async fn required_header_parameter() {
    let server = petstore_server().await;
    let addr = server.address();

    let reply = get(addr, "/v1/pets?limit=1").await;
    reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/header/X-Request-Id".into(), "required".into())]);

    // Header names are case-insensitive; the value is a uuid.
    let reply = send(addr, Method::GET, "/v1/pets?limit=1", &[("X-REQUEST-ID", "nope")], b"").await;
    reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/header/X-Request-Id".into(), "format".into())]);

    assert_eq!(list(addr, "?limit=1").await.status, 200);
}

#[tokio::test]
async fn nullable_readonly_and_exclusive_minimum_in_request_bodies() {
    let server = petstore_server().await;
    let addr = server.address();

    // `id` is required but readOnly: not needed in a request.
    let reply = post_json(addr, "/v1/pets", r#"{"name":"Tom","petType":"Cat"}"#).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    // ... and present in the response, as a uuid.
    let id = reply.json()["id"].as_str().expect("the response has `id`").to_string();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(id.matches('-').count(), 4, "{id}");

    // nullable: true accepts null; a plain string property does not.
    let reply = post_json(addr, "/v1/pets", r#"{"name":"Tom","petType":"Cat","tag":null}"#).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let reply = post_json(addr, "/v1/pets", r#"{"name":null,"petType":"Cat"}"#).await;
    reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/body/name".into(), "type".into())]);

    // OAS 3.0 boolean exclusiveMinimum: weight must be > 0.
    let reply = post_json(addr, "/v1/pets", r#"{"name":"Tom","petType":"Cat","weight":0}"#).await;
    reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/body/weight".into(), "exclusiveMinimum".into())]);
    let reply = post_json(addr, "/v1/pets", r#"{"name":"Tom","petType":"Cat","weight":0.01}"#).await;
    assert_eq!(reply.status, 201, "{}", reply.text());

    // int32 overflow in a body.
    let reply = post_json(addr, "/v1/pets", r#"{"name":"Tom","petType":"Cat","age":2147483648}"#).await;
    reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/body/age".into(), "maximum".into())]);

    // The request body is required here.
    let reply = post_json(addr, "/v1/pets", "").await;
    reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/body".into(), "required".into())]);
}

#[tokio::test]
async fn one_of_with_a_discriminator_gives_precise_violations() {
    let server = petstore_server().await;
    let addr = server.address();

    let reply = post_json(addr, "/v1/animals", r#"{"petType":"Bird","wings":2}"#).await;
    let body = reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(
        reply.violations(),
        [("/body/petType".into(), "enum".into())],
        "{body:#}"
    );
    assert_eq!(body["violations"][0]["allowed"], json!(["Cat", "Dog"]));

    let reply = post_json(addr, "/v1/animals", r#"{"petType":"Cat"}"#).await;
    reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/body/meows".into(), "required".into())]);

    let reply = post_json(
        addr,
        "/v1/animals",
        r#"{"petType":"Dog","barks":true,"owner":"nobody"}"#,
    )
    .await;
    reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/body/owner".into(), "format".into())]);

    let reply = post_json(addr, "/v1/animals", r#"{"meows":true}"#).await;
    reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/body/petType".into(), "required".into())]);

    for good in [
        r#"{"petType":"Cat","meows":true}"#,
        r#"{"petType":"Dog","barks":false}"#,
    ] {
        let reply = post_json(addr, "/v1/animals", good).await;
        assert_eq!(reply.status, 200, "{good}: {}", reply.text());
    }
}

#[tokio::test]
async fn servers_base_path_prefixes_the_routes() {
    let server = petstore_server().await;
    let addr = server.address();
    assert_eq!(get(addr, "/v1/pets/5").await.status, 200);
    // The bare path still works (clients configured without the base path).
    assert_eq!(get(addr, "/pets/5").await.status, 200);
    let reply = get(addr, "/v2/pets/5").await;
    reply.assert_problem(404, "route-not-found", "router");
    let reply = get(addr, "/v1pets/5").await;
    reply.assert_problem(404, "route-not-found", "router");
}

#[tokio::test]
async fn generated_bodies_validate_against_their_schemas() {
    let app = petstore_app(0, None);
    let operations = app.configuration().spec.operations.clone();
    let server = start(app).await;
    let addr = server.address();
    let schema_of = |id: &str| {
        let operation = operations.iter().find(|op| op.id == id).expect("operation");
        operation.default_response().unwrap().content[0]
            .schema
            .clone()
            .expect("a schema")
    };

    let created = post_json(addr, "/v1/pets", r#"{"name":"Tom","petType":"Cat"}"#).await;
    assert_eq!(created.status, 201);
    assert_valid(&schema_of("createPet"), &created.json(), "createPet 201");

    let listed = list(addr, "?limit=1").await;
    assert_eq!(listed.status, 200);
    let page = listed.json();
    assert!(
        !page.as_array().unwrap().is_empty(),
        "a generated array has an item: {page}"
    );
    assert_valid(&schema_of("listPets"), &page, "listPets 200");

    let animal = post_json(addr, "/v1/animals", r#"{"petType":"Cat","meows":true}"#).await;
    assert_eq!(animal.status, 200);
    let value = animal.json();
    assert_valid(&schema_of("createAnimal"), &value, "createAnimal 200");
    assert!(value["petType"] == "Cat" || value["petType"] == "Dog", "{value}");

    // Non-default responses without examples generate valid data too.
    for operation in &operations {
        for response in &operation.responses {
            for media in &response.content {
                let schema = media.schema.as_ref().unwrap();
                for seed in [0, 1, 99] {
                    let value = specmock::internal::render::generate(&schema.document, seed);
                    assert_valid(schema, &value, &format!("{} {}", operation.id, response.status));
                }
            }
        }
    }
}

async fn generated_page(seed: u64) -> bytes::Bytes {
    let server = start(petstore_app(seed, None)).await;
    let reply = list(server.address(), "?limit=1").await;
    assert_eq!(reply.status, 200);
    server.stop().await;
    reply.body
}

#[tokio::test]
async fn the_same_seed_gives_the_same_bytes() {
    let first = generated_page(7).await;
    let again = generated_page(7).await;
    let other = generated_page(8).await;
    assert_eq!(first, again, "same seed, same bytes");
    assert_ne!(first, other, "another seed, other data");
}

#[tokio::test]
async fn a_fixture_file_overrides_the_default_body() {
    let dir = TempDir::new("fixtures");
    let fixture = json!({"id": "9b2e6a4c-1d3f-4e5a-8b7c-0d1e2f3a4b5c", "name": "Fixture Fido", "petType": "Dog"});
    dir.write("getPet.json", &fixture.to_string());
    dir.write(
        "createPet.201.json",
        r#"{"id":"1b2e6a4c-1d3f-4e5a-8b7c-0d1e2f3a4b5c","name":"Made","petType":"Cat"}"#,
    );
    dir.write("notes.txt", "not a fixture of any operation");
    let server = start(petstore_app(0, Some(dir.path()))).await;
    let addr = server.address();

    let reply = get(addr, "/v1/pets/5").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), fixture);

    let reply = post_json(addr, "/v1/pets", r#"{"name":"x","petType":"Cat"}"#).await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.json()["name"], "Made");
}

#[test]
fn a_status_specific_fixture_wins_over_the_plain_one() {
    let dir = TempDir::new("fixtures-precedence");
    dir.write(
        "getPet.json",
        r#"{"id":"9b2e6a4c-1d3f-4e5a-8b7c-0d1e2f3a4b5c","name":"Plain","petType":"Dog"}"#,
    );
    dir.write(
        "getPet.200.json",
        r#"{"id":"9b2e6a4c-1d3f-4e5a-8b7c-0d1e2f3a4b5c","name":"Specific","petType":"Dog"}"#,
    );
    let app = petstore_app(0, Some(dir.path()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = start(app).await;
        let reply = get(server.address(), "/v1/pets/1").await;
        assert_eq!(reply.json()["name"], "Specific");
        server.stop().await;
    });
}

fn app_error(fixtures: &TempDir) -> specmock::internal::diagnostic::Diagnostic {
    let spec = specmock::internal::spec::load_file(&petstore()).expect("spec loads");
    let fixtures = specmock::internal::fixtures::Fixtures::load_dir(fixtures.path()).expect("fixtures load");
    match App::new(spec, &fixtures, 0, Behaviour::default()) {
        Ok(_) => panic!("a fixture breaking its schema must stop start-up"),
        Err(problems) => {
            let problems: Vec<_> = problems.into_iter().collect();
            assert_eq!(problems.len(), 1, "{problems:#?}");
            problems.into_iter().next().expect("one problem")
        }
    }
}

#[test]
fn a_fixture_breaking_its_schema_is_a_startup_error_naming_the_file() {
    let dir = TempDir::new("bad-fixture");
    let file = dir.write("getPet.json", r#"{"name": 5}"#);
    let error = app_error(&dir);
    assert_eq!(error.file, file.display().to_string());
    let text = error.to_string();
    assert!(text.starts_with(&file.display().to_string()), "{text}");
    assert!(text.contains("getPet 200"), "{text}");
    assert!(text.contains("/name"), "{text}");
    assert!(text.contains("id"), "the missing required id is named: {text}");

    // A fixture for a non-default status is checked just the same.
    let dir = TempDir::new("bad-fixture-404");
    let file = dir.write("getPet.404.json", r#"{"code": "x"}"#);
    let error = app_error(&dir);
    assert_eq!(error.file, file.display().to_string());
    assert!(error.to_string().contains("getPet 404"), "{error}");
}

#[test]
fn a_fixture_that_is_not_json_is_a_startup_error_with_its_position() {
    let dir = TempDir::new("unparsable-fixture");
    let file = dir.write("getPet.json", "{\n  \"name\": \n");
    let error = specmock::internal::fixtures::Fixtures::load_dir(dir.path()).expect_err("broken JSON is refused");
    assert_eq!(error.file, file.display().to_string());
    assert!(
        error.to_string().starts_with(&format!("{}:3:", file.display())),
        "{error}"
    );
}

#[test]
fn the_relative_ref_file_is_resolved_next_to_the_spec() {
    let spec = specmock::internal::spec::load_file(&petstore()).expect("loads");
    let pet = spec.operation("getPet").unwrap().default_response().unwrap().content[0]
        .schema
        .clone()
        .unwrap();
    // The converted document holds the Pet model from pet-schemas.yaml.
    let document: &Value = &pet.document;
    let text = document.to_string();
    assert!(text.contains("\"petType\""), "{text}");
    assert!(pet
        .validator
        .is_valid(&json!({"id": "9b2e6a4c-1d3f-4e5a-8b7c-0d1e2f3a4b5c", "name": "n", "petType": "Dog"})));
    assert!(
        !pet.validator.is_valid(&json!({"name": "n", "petType": "Dog"})),
        "id is required in responses"
    );
}

// ---- tests/specs/features.yaml: smaller features, one path each ----

async fn features_server() -> MockServer {
    let (app, _warnings) = app_from_file(&specs_dir().join("features.yaml"), None, 0, Behaviour::default());
    start(app).await
}

#[tokio::test]
async fn security_schemes_and_alternatives() {
    let server = features_server().await;
    let addr = server.address();
    let status = |path: &'static str, headers: Vec<(&'static str, &'static str)>| async move {
        send(addr, Method::GET, path, &headers, b"").await
    };

    // `- {}` among the top-level alternatives makes credentials optional.
    assert_eq!(status("/optional-auth", vec![]).await.status, 200);

    let reply = status("/key-in-query", vec![]).await;
    reply.assert_problem(401, "unauthorized", "validator");
    assert!(reply.header("www-authenticate").unwrap().contains("api_key"));
    assert_eq!(status("/key-in-query?api_key=k", vec![]).await.status, 204);
    assert_eq!(
        status("/key-in-query?api_key=", vec![]).await.status,
        401,
        "an empty key is no key"
    );

    assert_eq!(
        status("/key-in-cookie", vec![("cookie", "a=1; sid=x")]).await.status,
        204
    );
    assert_eq!(status("/key-in-cookie", vec![("cookie", "a=1")]).await.status, 401);

    // Both schemes of one requirement are needed.
    let reply = status("/basic-and-key", vec![("authorization", "Basic dTpw")]).await;
    let body = reply.assert_problem(401, "unauthorized", "validator");
    assert!(body["detail"].as_str().unwrap().contains("X-Api-Key"), "{body:#}");
    let both = vec![("authorization", "Basic dTpw"), ("x-api-key", "k")];
    assert_eq!(status("/basic-and-key", both).await.status, 204);

    // Either alternative will do; HTTP scheme names are case-insensitive.
    assert_eq!(
        status("/basic-or-bearer", vec![("authorization", "bearer t")])
            .await
            .status,
        204
    );
    assert_eq!(
        status("/basic-or-bearer", vec![("authorization", "Basic dTpw")])
            .await
            .status,
        204
    );
    let reply = status("/basic-or-bearer", vec![("authorization", "Digest x")]).await;
    reply.assert_problem(401, "unauthorized", "validator");
    assert_eq!(
        status("/basic-or-bearer", vec![("authorization", "Bearer ")])
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn operation_parameters_override_path_level_ones() {
    let server = features_server().await;
    let addr = server.address();
    let reply = get(addr, "/items/0?verbose=maybe").await;
    reply.assert_problem(400, "invalid-request", "validator");
    let found: std::collections::BTreeSet<_> = reply.violations().into_iter().collect();
    let expected: std::collections::BTreeSet<_> = [
        ("/path/itemId".to_string(), "minimum".to_string()),
        ("/query/verbose".to_string(), "type".to_string()),
    ]
    .into_iter()
    .collect();
    assert_eq!(found, expected);
    assert_eq!(get(addr, "/items/3?verbose=true").await.status, 200);
    assert_eq!(
        get(addr, "/items/%33").await.status,
        200,
        "percent-encoded path parameter"
    );
}

#[tokio::test]
async fn parameter_styles_deep_object_delimited_and_cookie() {
    let server = features_server().await;
    let addr = server.address();
    let reply = send(
        addr,
        Method::GET,
        "/search?filter[min]=x&filter[color]=green&ids=1,2,x&pipes=1|y&ratio=abc",
        &[("cookie", "session=ab")],
        b"",
    )
    .await;
    reply.assert_problem(400, "invalid-request", "validator");
    let found: std::collections::BTreeSet<_> = reply.violations().into_iter().collect();
    let expected: std::collections::BTreeSet<(String, String)> = [
        ("/query/filter/min", "type"),
        ("/query/filter/color", "enum"),
        ("/query/ids/2", "type"),
        ("/query/pipes/1", "type"),
        ("/query/ratio", "type"),
        ("/cookie/session", "minLength"),
    ]
    .into_iter()
    .map(|(p, r)| (p.to_string(), r.to_string()))
    .collect();
    assert_eq!(found, expected);

    let reply = send(
        addr,
        Method::GET,
        "/search?filter[min]=3&filter[color]=red&ids=1,2&pipes=1|2&ratio=-2.5",
        &[("cookie", "session=abc")],
        b"",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    let reply = get(addr, "/search").await;
    assert_eq!(reply.violations(), [("/cookie/session".into(), "required".into())]);
}

#[tokio::test]
async fn number_parameters_accept_exponent_notation() {
    let server = features_server().await;
    let reply = send(
        server.address(),
        Method::GET,
        "/search?ratio=1e-05",
        &[("cookie", "session=abc")],
        b"",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[tokio::test]
async fn form_and_text_request_bodies() {
    let server = features_server().await;
    let addr = server.address();
    let form = [("content-type", "application/x-www-form-urlencoded")];

    let reply = send(addr, Method::POST, "/form", &form, b"count=11&flag=yes&name=a+b").await;
    reply.assert_problem(400, "invalid-request", "validator");
    let found: std::collections::BTreeSet<_> = reply.violations().into_iter().collect();
    assert_eq!(
        found,
        [
            ("/body/count".to_string(), "maximum".to_string()),
            ("/body/flag".to_string(), "type".to_string())
        ]
        .into_iter()
        .collect()
    );
    let reply = send(addr, Method::POST, "/form", &form, b"count=1&flag=true").await;
    assert_eq!(
        reply.status,
        200,
        "a `default` response is served as 200: {}",
        reply.text()
    );
    assert_eq!(reply.header("content-type"), Some("text/plain; charset=utf-8"));
    assert!(reply.text().len() >= 4, "minLength honoured: {:?}", reply.text());

    let text = [("content-type", "text/plain; charset=utf-8")];
    let reply = send(addr, Method::PUT, "/text", &text, b"toolong").await;
    reply.assert_problem(400, "invalid-request", "validator");
    assert_eq!(reply.violations(), [("/body".into(), "maxLength".into())]);
    let reply = send(addr, Method::PUT, "/text", &text, b"hi").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "hello");
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8"),
        "a text/* response"
    );
}

#[tokio::test]
async fn a_2xx_range_response_is_served_as_200() {
    let server = features_server().await;
    let reply = send(
        server.address(),
        Method::GET,
        "/search",
        &[("cookie", "session=abc")],
        b"",
    )
    .await;
    assert_eq!(reply.status, 200);
    let items = reply.json();
    let items = items.as_array().expect("an array");
    assert_eq!(items.len(), 2, "minItems/maxItems honoured");
    assert_ne!(items[0], items[1], "uniqueItems honoured");
}

#[tokio::test]
async fn additional_properties_and_patterns_in_bodies() {
    let server = features_server().await;
    let addr = server.address();
    let reply = post_json(
        addr,
        "/account",
        r#"{"login":"A1","password":"1","extra":1,"tags":{"a":1}}"#,
    )
    .await;
    reply.assert_problem(400, "invalid-request", "validator");
    let found: std::collections::BTreeSet<_> = reply.violations().into_iter().collect();
    let expected: std::collections::BTreeSet<(String, String)> = [
        ("/body/login", "pattern"),
        ("/body/password", "minLength"),
        ("/body/extra", "additionalProperties"),
        ("/body/tags/a", "type"),
    ]
    .into_iter()
    .map(|(p, r)| (p.to_string(), r.to_string()))
    .collect();
    assert_eq!(found, expected);
    // Pointers escape `/` and `~` in property names (RFC 6901).
    let reply = post_json(
        addr,
        "/account",
        r#"{"login":"ab","password":"12345678","x/y~z":1,"tags":{"a/b~c":1}}"#,
    )
    .await;
    let found: std::collections::BTreeSet<_> = reply.violations().into_iter().collect();
    assert_eq!(
        found,
        [
            ("/body/x~1y~0z".to_string(), "additionalProperties".to_string()),
            ("/body/tags/a~1b~0c".to_string(), "type".to_string())
        ]
        .into_iter()
        .collect()
    );
    // readOnly `created` is required only in responses.
    let reply = post_json(addr, "/account", r#"{"login":"ab","password":"12345678"}"#).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
}

#[test]
fn a_generated_body_that_breaks_its_schema_is_reported_at_startup() {
    let (_app, warnings) = app_from_file(&specs_dir().join("features.yaml"), None, 0, Behaviour::default());
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].starts_with("getNickname 200"), "{}", warnings[0]);
    assert!(warnings[0].contains("^[a-z]+$"), "{}", warnings[0]);
}

#[tokio::test]
async fn a_body_the_mock_cannot_make_valid_is_a_500_problem_unless_lenient() {
    let server = features_server().await;
    let reply = send(server.address(), Method::GET, "/nickname", &[], b"").await;
    let body = reply.assert_problem(500, "unrenderable-response", "renderer");
    assert!(body["detail"].as_str().unwrap().contains("getNickname 200"), "{body}");

    let (app, _) = app_from_file(
        &specs_dir().join("features.yaml"),
        None,
        0,
        Behaviour {
            lenient: true,
            ..Behaviour::default()
        },
    );
    let lenient = start(app).await;
    let reply = send(lenient.address(), Method::GET, "/nickname", &[], b"").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[tokio::test]
async fn write_only_properties_are_not_sent_in_responses() {
    let server = features_server().await;
    let reply = post_json(server.address(), "/account", r#"{"login":"ab","password":"12345678"}"#).await;
    assert_eq!(reply.status, 201);
    let body = reply.json();
    assert!(
        body.get("password").is_none(),
        "writeOnly property in a response: {body}"
    );
    assert!(body.get("created").is_some(), "readOnly property missing: {body}");
}

#[test]
fn spec_errors_are_located() {
    let duplicate = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      operationId: same\n      responses: {'204': {description: x}}\n  /b:\n    get:\n      operationId: same\n      responses: {'204': {description: x}}\n";
    let error = specmock::internal::spec::load_text("dup.yaml", duplicate, None)
        .err()
        .expect("refused");
    assert_eq!(
        error.to_string(),
        "dup.yaml:10:20: duplicate operationId `same` (at #/paths/~1b/get/operationId)"
    );

    let template = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a/{id}:\n    get:\n      responses: {'204': {description: x}}\n";
    let error = specmock::internal::spec::load_text("tpl.yaml", template, None)
        .err()
        .expect("refused");
    let text = error.to_string();
    assert!(text.starts_with("tpl.yaml:6:7:"), "{text}");
    assert!(text.ends_with("(at #/paths/~1a~1{id}/get)"), "{text}");
    assert!(text.contains("`{id}`"), "{text}");

    let remote = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: x\n          content:\n            application/json:\n              schema: {$ref: 'https://example.com/s.yaml#/S'}\n";
    let error = specmock::internal::spec::load_text("remote.yaml", remote, None)
        .err()
        .expect("refused");
    assert!(error.to_string().contains("remote $ref"), "{error}");

    let no_responses = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses: {}\n";
    let error = specmock::internal::spec::load_text("empty.yaml", no_responses, None)
        .err()
        .expect("refused");
    assert_eq!(
        error.to_string(),
        "empty.yaml:6:18: expected at least one response (at #/paths/~1a/get/responses)"
    );
}

/// Found by the property tests: `Prefer: dynamic=true` used to serve the
/// generated body unchecked.
#[tokio::test]
async fn fresh_data_asked_for_with_prefer_is_checked_like_any_body() {
    let server = features_server().await;
    for (path, headers) in [
        ("/nickname", &[("prefer", "dynamic=true")][..]),
        ("/nickname?__dynamic=true", &[][..]),
    ] {
        let reply = send(server.address(), Method::GET, path, headers, b"").await;
        reply.assert_problem(500, "unrenderable-response", "renderer");
    }
}
