//! Spec documents of every kind: each loads, and then renders its default
//! bodies and answers a call of every operation, or is refused with a
//! diagnostic that names the file.

use std::path::{Path, PathBuf};

use http::{Method, Request};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};
use specmock::internal::fixtures::Fixtures;
use specmock::internal::{App, Behaviour};

use crate::checks::{check_answer, check_diagnostic};
use crate::common;
use crate::documents::{emit, or_junk, pick, Style};
use crate::edits::{apply_text_edits, text_edit};
use crate::strategies::config::config;
use crate::strategies::json::json_value;
use crate::strategies::schema::{maybe, object, schema};
use crate::world::FEATURES_SPEC;

const SHIPPED_SPEC: &str = include_str!("../../openapi.yaml");
const PETSTORE_SPEC: &str = include_str!("../specs/petstore.yaml");
const PET_SCHEMAS: &str = include_str!("../specs/pet-schemas.yaml");

/// Text inserted into spec documents.
const SPEC_SPLICES: &[&str] = &[
    "$ref: '#/components/schemas/Problem'",
    "$ref: '#/components/schemas/Nope'",
    "$ref: '#/'",
    "$ref: 'other.yaml#/x'",
    "$ref: 'http://example.com/x'",
    "$ref: '#/components/schemas/Problem/properties/type'",
    "type: ",
    "integer",
    "string",
    "array",
    "object",
    "minimum: ",
    "maximum: ",
    "multipleOf: ",
    "minLength: ",
    "maxLength: ",
    "pattern: ",
    "'(['",
    "'a{99999}'",
    "format: ",
    "enum: []",
    "required: [",
    "items: ",
    "properties: ",
    "additionalProperties: ",
    "allOf: ",
    "oneOf: ",
    "discriminator: ",
    "nullable: true",
    "readOnly: true",
    "writeOnly: true",
    "x-websocket: true",
    "responses: {}",
    "'2XX':",
    "default:",
    "'999':",
    "in: path",
    "in: cookie",
    "style: deepObject",
    "{id}",
    "/{a}/{b}",
    "openapi: 3.1.0",
    "swagger: '2.0'",
    // Not ±1e300: see `bound_keyword`.
    "-1e37",
    "1e37",
    "0",
    "-1",
    "18446744073709551616",
    "&anchor ",
    "*anchor",
    "<<: ",
    "- ",
    ": ",
    "\n    ",
    "\n  ",
    "{",
    "[",
    "'",
    "\"",
    "#",
    "\t",
];

const MEDIA_TYPES: &[&str] = &[
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "*/*",
    "text/*",
    "application/problem+json",
    "application/octet-stream",
    "application/json; charset=utf-8",
    "multipart/form-data",
];

fn content() -> BoxedStrategy<Value> {
    prop::collection::vec(
        (
            prop::sample::select(MEDIA_TYPES),
            maybe(0.9, schema()),
            maybe(0.3, json_value()),
        ),
        0..3,
    )
    .prop_map(|media| {
        Value::Object(
            media
                .into_iter()
                .map(|(media_type, schema, example)| {
                    (
                        media_type.to_string(),
                        object(vec![("schema", schema), ("example", example)]),
                    )
                })
                .collect(),
        )
    })
    .boxed()
}

fn parameter() -> BoxedStrategy<Value> {
    // A location with a style it allows (mostly).
    let location_and_style = prop_oneof![
        3 => (Just("path"), maybe(0.3, pick(&["simple", "label", "matrix"]))),
        4 => (Just("query"), maybe(0.3, pick(&["form", "deepObject", "spaceDelimited", "pipeDelimited"]))),
        2 => (Just("header"), maybe(0.2, pick(&["simple"]))),
        2 => (Just("cookie"), maybe(0.2, pick(&["form"]))),
        1 => (prop::sample::select(&["path", "query", "header", "cookie", "body"][..]), maybe(0.5, pick(&["form", "simple", "label", "matrix", "deepObject"]))),
    ];
    (
        prop::sample::select(&["id", "q", "x-h", "sid", "filter", ""][..]),
        location_and_style,
        maybe(0.5, any::<bool>().prop_map(Value::Bool).boxed()),
        maybe(0.3, any::<bool>().prop_map(Value::Bool).boxed()),
        schema(),
    )
        .prop_map(|(name, (location, style), required, explode, schema)| {
            object(vec![
                ("name", Some(json!(name))),
                ("in", Some(json!(location))),
                ("required", required),
                ("style", style),
                ("explode", explode),
                ("schema", Some(schema)),
            ])
        })
        .boxed()
}

fn operation() -> BoxedStrategy<Value> {
    let responses = prop::collection::vec(
        (
            prop::sample::select(
                &[
                    "200", "201", "204", "2XX", "default", "404", "500", "5XX", "999", "abc", "1XX",
                ][..],
            ),
            maybe(0.8, content()),
            maybe(
                0.2,
                prop::collection::vec(
                    (
                        prop::sample::select(&["X-Rate", "Upgrade", "Content-Type", ""][..]),
                        schema(),
                    ),
                    1..2,
                )
                .prop_map(|h| {
                    Value::Object(
                        h.into_iter()
                            .map(|(n, s)| (n.to_string(), json!({ "required": true, "schema": s })))
                            .collect(),
                    )
                })
                .boxed(),
            ),
        ),
        0..3,
    )
    .prop_map(|responses| {
        Value::Object(
            responses
                .into_iter()
                .map(|(status, content, headers)| {
                    (
                        status.to_string(),
                        object(vec![
                            ("description", Some(json!("d"))),
                            ("content", content),
                            ("headers", headers),
                        ]),
                    )
                })
                .collect(),
        )
    });
    (
        maybe(0.7, pick(&["a", "b", "c", "a", ""])),
        prop::collection::vec(parameter(), 0..3),
        maybe(
            0.4,
            (content(), any::<bool>())
                .prop_map(|(c, r)| json!({ "content": c, "required": r }))
                .boxed(),
        ),
        responses,
        maybe(
            0.2,
            Just(json!([{ "key": [] }, { "basic": [] }, { "nope": [] }])).boxed(),
        ),
        maybe(0.1, or_junk(any::<bool>().prop_map(Value::Bool).boxed())),
    )
        .prop_map(|(id, parameters, body, responses, security, websocket)| {
            object(vec![
                ("operationId", id),
                ("parameters", Some(Value::Array(parameters))),
                ("requestBody", body),
                ("responses", Some(responses)),
                ("security", security),
                ("x-websocket", websocket),
            ])
        })
        .boxed()
}

/// An OpenAPI document built from the format's own keys.
fn spec_document() -> BoxedStrategy<Value> {
    let path_item = prop::collection::vec(
        (
            prop::sample::select(&["get", "post", "put", "delete", "head", "options", "patch", "trace"][..]),
            operation(),
        ),
        1..3,
    )
    .prop_map(|ops| Value::Object(ops.into_iter().map(|(m, o)| (m.to_string(), o)).collect()));
    let paths = prop::collection::vec(
        (
            prop::sample::select(
                &[
                    "/a",
                    "/a/{id}",
                    "/{id}",
                    "/a/{id}.json",
                    "/",
                    "",
                    "a",
                    "/{}",
                    "/{id}/{id}",
                    "/%zz",
                    "/ü",
                    "/a/b",
                ][..],
            ),
            path_item,
        ),
        0..4,
    )
    .prop_map(|paths| Value::Object(paths.into_iter().map(|(p, i)| (p.to_string(), i)).collect()));
    let servers = prop::collection::vec(
        prop::sample::select(
            &[
                "http://localhost:1000",
                "http://h:99999/api",
                "/v2",
                "",
                "http://[::1]:x",
                "//",
                "http://h/a/b/",
                "http://h:0",
            ][..],
        )
        .prop_map(|url| json!({ "url": url })),
        0..3,
    );
    (
        prop_oneof![30 => Just(json!("3.0.3")), 1 => Just(json!("3.1.0")), 1 => Just(json!(3.0)), 1 => Just(json!("3.0."))],
        servers,
        paths,
        prop::collection::vec((prop::sample::select(&["A", "B", "C"][..]), schema()), 0..4),
        prop::bool::weighted(0.9),
    )
        .prop_map(|(version, servers, mut paths, schemas, declare_path_parameters)| {
            // Mostly declare the parameters the path templates use.
            if let (true, Value::Object(paths)) = (declare_path_parameters, &mut paths) {
                for (path, item) in paths.iter_mut() {
                    let names: Vec<&str> =
                        path.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(n, _)| n)).collect();
                    for operation in item.as_object_mut().into_iter().flat_map(|ops| ops.values_mut()) {
                        if let Some(Value::Array(parameters)) = operation.get_mut("parameters") {
                            for name in &names {
                                parameters.push(json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }));
                            }
                        }
                    }
                }
            }
            json!({
                "openapi": version,
                "info": { "title": "fuzz", "version": "1" },
                "servers": servers,
                "paths": paths,
                "components": {
                    "schemas": Value::Object(schemas.into_iter().map(|(name, schema)| (name.to_string(), schema)).collect()),
                    "securitySchemes": {
                        "key": { "type": "apiKey", "in": "header", "name": "X-Key" },
                        "basic": { "type": "http", "scheme": "basic" }
                    }
                }
            })
        })
        .boxed()
}

/// Spec text: a shipped or test spec edited, or a generated document, with
/// its label (which says how it is parsed) and the directory `$ref`s resolve in.
fn spec_text() -> BoxedStrategy<(String, String, Option<PathBuf>)> {
    let specs_dir = Some(common::specs_dir());
    let small = prop::sample::select(
        &[
            ("features.yaml", FEATURES_SPEC),
            ("petstore.yaml", PETSTORE_SPEC),
            ("pet-schemas.yaml", PET_SCHEMAS),
        ][..],
    );
    let dir = specs_dir.clone();
    // Labelled by their path, as `spec::load_file` does: relative `$ref`s
    // resolve beside it (petstore.yaml reaches pet-schemas.yaml).
    let labelled = move |name: &str| common::specs_dir().join(name).display().to_string();
    prop_oneof![
        1 => prop::collection::vec(text_edit(SPEC_SPLICES), 1..4)
            .prop_map(|edits| ("openapi.yaml".to_string(), apply_text_edits(SHIPPED_SPEC, &edits), None)),
        3 => (small, prop::collection::vec(text_edit(SPEC_SPLICES), 1..5))
            .prop_map(move |((name, text), edits)| (labelled(name), apply_text_edits(text, &edits), dir.clone())),
        4 => (spec_document(), prop_oneof![Just(Style::Json), Just(Style::Block)]).prop_map(|(doc, style)| {
            let label = match style {
                Style::Json => "fuzz.json",
                Style::Block => "fuzz.yaml",
            };
            (label.to_string(), emit(&doc, style), None)
        }),
        1 => (spec_document(), prop::collection::vec(text_edit(SPEC_SPLICES), 1..3))
            .prop_map(|(doc, edits)| ("fuzz.yaml".to_string(), apply_text_edits(&emit(&doc, Style::Block), &edits), None)),
        1 => any::<String>().prop_map(move |text| ("fuzz.yaml".to_string(), text, specs_dir.clone())),
    ]
    .boxed()
}

/// A request to each operation of a freshly loaded spec, with its path
/// template filled and a body from its own schema.
fn call_every_operation(app: &App) -> Result<(), TestCaseError> {
    for operation in &app.configuration().spec.operations {
        let path = fill_template(&operation.path);
        let Ok(request) = Request::builder()
            .method(operation.method.clone())
            .uri(path)
            .header("content-type", "application/json")
            .body(())
        else {
            continue;
        };
        let (parts, ()) = request.into_parts();
        let body = operation
            .request_body
            .as_ref()
            .and_then(|b| b.content.iter().find_map(|m| m.schema.as_ref()))
            .map(|schema| {
                serde_json::to_vec(&specmock::internal::render::generate(&schema.document, 1)).expect("serializes")
            })
            .unwrap_or_default();
        let handled = specmock::internal::dispatch::handle(app, &parts, &body);
        check_answer(app, &parts, &handled)?;
        if operation.method == Method::GET {
            let _ = specmock::internal::dispatch::upgrade(app, &parts);
        }
    }
    Ok(())
}

fn fill_template(template: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in template.chars() {
        match (c, inside) {
            ('{', _) => inside = true,
            ('}', true) => {
                inside = false;
                out.push('1');
            }
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    out
}

fn load_spec(label: &str, text: &str, base_dir: Option<PathBuf>) -> Result<(), TestCaseError> {
    match specmock::internal::spec::load_text(label, text, base_dir.clone()) {
        Ok(spec) => {
            // Rendering every default body and answering a call of each operation.
            if let Ok((app, _)) = App::new(spec, &Fixtures::default(), 3, Behaviour::default()) {
                call_every_operation(&app)?;
            }
            Ok(())
        }
        Err(diagnostic) => {
            // A diagnostic names this file, or a file a `$ref` reached.
            let file = Path::new(&diagnostic.file);
            let referenced = base_dir
                .as_deref()
                .is_some_and(|dir| file.starts_with(dir) && file.is_file());
            let mut files = vec![(label, text)];
            let other_text = std::fs::read_to_string(file).unwrap_or_default();
            if referenced {
                files.push((diagnostic.file.as_str(), other_text.as_str()));
            }
            check_diagnostic(&diagnostic, &files)
        }
    }
}

proptest! {
    #![proptest_config(config(48))]

    /// Any spec text: it loads (and then renders and answers) or it is
    /// refused with a diagnostic that names the file.
    #[test]
    fn any_spec_loads_or_is_explained((label, text, base_dir) in spec_text()) {
        load_spec(&label, &text, base_dir)?;
    }
}
