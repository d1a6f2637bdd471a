//! Any text as an OpenAPI document: it loads, or a diagnostic says where it
//! is broken. A document that loads is served as `specmock --spec` would
//! serve it (every default body rendered at start-up), and each of its
//! operations is called once, over HTTP and as a WebSocket handshake.

#![no_main]

use http::request::Parts;
use http::Method;
use libfuzzer_sys::fuzz_target;
use specmock::internal::fixtures::Fixtures;
use specmock::internal::spec::Operation;
use specmock::internal::{App, Behaviour};
use specmock_fuzz::{check_answer, check_diagnostic, check_diagnostics, check_upgrade, HANDSHAKE};

/// The operation's path with each `{parameter}` filled in.
fn concrete_path(template: &str) -> String {
    let mut path = String::with_capacity(template.len());
    let mut in_parameter = false;
    for c in template.chars() {
        match (c, in_parameter) {
            ('{', _) => in_parameter = true,
            ('}', true) => {
                in_parameter = false;
                path.push('1');
            }
            (_, true) => {}
            (c, false) => path.push(c),
        }
    }
    path
}

/// A JSON request body generated from the operation's own schema.
fn request_body(operation: &Operation) -> Vec<u8> {
    let schema = operation
        .request_body
        .iter()
        .flat_map(|body| &body.content)
        .find_map(|media| media.schema.as_ref());
    schema.map_or_else(Vec::new, |schema| {
        serde_json::to_vec(&specmock::internal::render::generate(&schema.document, 1)).expect("JSON values serialize")
    })
}

fn request_head(method: &Method, path: &str, headers: &[(&str, &str)]) -> Option<Parts> {
    let mut request = http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Some(request.body(()).ok()?.into_parts().0)
}

fn call_every_operation(app: &App) {
    let json = [("content-type", "application/json")];
    for operation in &app.configuration().spec.operations {
        let path = concrete_path(&operation.path);
        // A path the spec declares may not be a valid request target (`/a b`).
        let Some(parts) = request_head(&operation.method, &path, &json) else {
            continue;
        };
        let handled = specmock::internal::dispatch::handle(app, &parts, &request_body(operation));
        check_answer(app, &parts, &handled);
        if let (&Method::GET, Some(handshake)) = (&operation.method, request_head(&Method::GET, &path, &HANDSHAKE)) {
            check_upgrade(app, &handshake);
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else { return };
    // The label picks the parser, as the file name does for `--spec`.
    let label = match text.trim_start().starts_with('{') {
        true => "fuzz.json",
        false => "fuzz.yaml",
    };
    // No base directory: a `$ref` to another file is refused, never read.
    match specmock::internal::spec::load_text(label, text, None) {
        Ok(spec) => match App::new(spec, &Fixtures::default(), 0, Behaviour::default()) {
            Ok((app, _warnings)) => call_every_operation(&app),
            Err(problems) => check_diagnostics(&problems, &[(label, text)]),
        },
        Err(diagnostic) => check_diagnostic(&diagnostic, &[(label, text)]),
    }
});
