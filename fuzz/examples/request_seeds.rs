//! Writes the seed corpus of the `request` target into the directory given:
//! HTTP/1.1 requests built from the shipped spec's (and the admin API's)
//! operations — their examples, else data generated from their schemas, with
//! the credentials they need and the WebSocket handshake where one is
//! required — each alone, with every `Prefer` override the operation
//! allows, and one tour of every operation per shipped scenario.

use std::path::Path;

use serde_json::Value;
use specmock::internal::spec::{Credential, Operation, ParamIn, StatusKey};
use specmock::internal::{App, Behaviour};
use specmock_fuzz::{shipped_sources, HANDSHAKE};

const ADMIN_SPEC: &str = include_str!("../../src/admin_openapi.json");

#[derive(Clone)]
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The request as a client writes it. The target reads a body without
    /// `Content-Length` to the end of the input, so a lone request leaves
    /// it out: a mutation that grows the body keeps all of it.
    fn wire(&self, content_length: bool) -> Vec<u8> {
        let mut wire = format!("{} {} HTTP/1.1\r\n", self.method, self.target);
        for (name, value) in &self.headers {
            wire.push_str(&format!("{name}: {value}\r\n"));
        }
        if content_length {
            wire.push_str(&format!("content-length: {}\r\n", self.body.len()));
        }
        wire.push_str("\r\n");
        let mut wire = wire.into_bytes();
        wire.extend_from_slice(&self.body);
        wire
    }
}

/// A value as parameter text.
fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(byte).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The operation called with its examples (one request each), or with data
/// generated from its schemas.
fn requests(operation: &Operation) -> Vec<(String, Request)> {
    let mut path = operation.path.clone();
    let mut query = Vec::new();
    let mut headers = Vec::new();
    let mut cookies = Vec::new();
    for parameter in &operation.parameters {
        let value = match (parameter.examples.first(), &parameter.schema) {
            (Some((_, example)), _) => text(example),
            (None, Some(schema)) => text(&specmock::internal::render::generate(&schema.document, 0)),
            (None, None) => "fuzz".to_string(),
        };
        match parameter.location {
            ParamIn::Path => path = path.replace(&format!("{{{}}}", parameter.name), &percent_encode(&value)),
            ParamIn::Query => query.push(format!("{}={}", parameter.name, percent_encode(&value))),
            ParamIn::Header => headers.push((parameter.name.clone(), value)),
            ParamIn::Cookie => cookies.push(format!("{}={value}", parameter.name)),
        }
    }
    for scheme in operation.security.first().into_iter().flatten() {
        match &scheme.credential {
            Credential::AuthorizationHeader => headers.push(("authorization".into(), "Bearer fuzz".into())),
            Credential::HttpScheme(name) => headers.push(("authorization".into(), format!("{name} fuzz"))),
            Credential::ApiKey { name, location } => match location {
                ParamIn::Query => query.push(format!("{name}=fuzz")),
                ParamIn::Cookie => cookies.push(format!("{name}=fuzz")),
                ParamIn::Header | ParamIn::Path => headers.push((name.clone(), "fuzz".into())),
            },
        }
    }
    if !cookies.is_empty() {
        headers.push(("cookie".into(), cookies.join("; ")));
    }
    if operation.websocket {
        headers.extend(HANDSHAKE.map(|(name, value)| (name.to_string(), value.to_string())));
    }
    let target = match query.is_empty() {
        true => path,
        false => format!("{path}?{}", query.join("&")),
    };
    let request = Request {
        method: operation.method.to_string(),
        target,
        headers,
        body: Vec::new(),
    };
    let Some(body) = &operation.request_body else {
        return vec![("plain".into(), request)];
    };
    let mut requests = Vec::new();
    for media in &body.content {
        let generated = media
            .schema
            .as_ref()
            .map(|schema| ("generated".to_string(), specmock::internal::render::generate(&schema.document, 0)));
        let bodies = match media.examples.is_empty() {
            true => generated.into_iter().collect(),
            false => media.examples.clone(),
        };
        for (name, value) in bodies {
            let body = match (&value, specmock::internal::validate::is_json(&media.media_type)) {
                (Value::String(text), false) => text.clone().into_bytes(),
                _ => serde_json::to_vec(&value).expect("JSON values serialize"),
            };
            let request = Request {
                body,
                ..request.clone().with_header("content-type", &media.media_type)
            };
            requests.push((name, request));
        }
    }
    requests
}

/// The same call with each `Prefer` override the operation can honour.
fn preferred(operation: &Operation, request: &Request) -> Vec<(String, Request)> {
    let codes = operation.responses.iter().filter_map(|response| match response.status {
        StatusKey::Code(code) => Some(format!("code={code}")),
        _ => None,
    });
    let examples = operation
        .responses
        .iter()
        .flat_map(|response| &response.content)
        .flat_map(|media| &media.examples)
        .map(|(name, _)| format!("example={name}"));
    codes
        .chain(examples)
        .chain(["dynamic=true".to_string()])
        .map(|prefer| (prefer.clone(), request.clone().with_header("prefer", &prefer)))
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    let file = dir.join(format!("{}.http", name.replace(['/', ' '], "_")));
    std::fs::write(&file, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", file.display()));
}

fn main() {
    let dir = std::env::args_os().nth(1).expect("usage: request_seeds DIRECTORY");
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir).expect("the corpus directory can be created");
    let inputs = shipped_sources().inputs(None, 0).expect("the shipped files load");
    let (app, _warnings) = App::build(inputs, Behaviour::default()).expect("the shipped files build");
    let configuration = app.configuration();
    let mut tour = Vec::new();
    for operation in &configuration.spec.operations {
        for (name, request) in requests(operation) {
            write(dir, &format!("{}.{name}", operation.id), &request.wire(false));
            for (prefer, preferred) in preferred(operation, &request) {
                write(
                    dir,
                    &format!("{}.{name}.{prefer}", operation.id),
                    &preferred.wire(false),
                );
            }
            tour.push(request);
        }
    }
    let admin = specmock::internal::spec::load_text("admin_openapi.json", ADMIN_SPEC, None).expect("the admin spec loads");
    for operation in &admin.operations {
        for (name, request) in requests(operation) {
            write(dir, &format!("{}.{name}", operation.id), &request.wire(false));
        }
    }
    for scenario in configuration.scenarios.names() {
        let requests = tour.iter().map(|request| {
            let request = request.clone().with_header("x-mock-scenario", scenario);
            request.with_header("x-mock-session", "tour").wire(true)
        });
        write(dir, &format!("tour.{scenario}"), &requests.collect::<Vec<_>>().concat());
    }
}
