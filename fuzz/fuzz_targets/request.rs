//! Requests against the shipped spec, fixtures and scenarios. The input is
//! what a client writes on the wire: HTTP/1.1 requests, one after another,
//! each body as long as its `Content-Length` (the last one: the rest of the
//! input). Each request goes where the server sends it — a WebSocket
//! handshake to `App::upgrade`, anything else to `App::handle` — and every
//! answer must pass `check_answer`.

#![no_main]

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

use http::request::Parts;
use libfuzzer_sys::fuzz_target;
use specmock::internal::app::Handled;
use specmock::internal::app::handshake;
use specmock::internal::{App, Behaviour};
use specmock_fuzz::{check_answer, check_upgrade, shipped_sources};

/// hyper's own limit: a request with more headers never reaches the app.
const MAX_HEADERS: usize = 100;

fn app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| {
        let inputs = shipped_sources().inputs(None, 0).expect("the shipped files load");
        App::build(inputs, Behaviour::default())
            .expect("the shipped files build")
            .0
    })
}

/// The next request of `input` as hyper would hand it over, and what
/// follows it; `None` where hyper would answer 400 itself or nothing is left.
fn next_request(input: &[u8]) -> Option<(Parts, &[u8], &[u8])> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(head_length) = head.parse(input).ok()? else {
        return None;
    };
    let mut request = http::Request::builder().method(head.method?).uri(head.path?);
    for header in head.headers.iter() {
        request = request.header(header.name, header.value);
    }
    let (parts, ()) = request.body(()).ok()?.into_parts();
    let after = &input[head_length..];
    let length = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<usize>().ok())
        .map_or(after.len(), |length| length.min(after.len()));
    let (body, rest) = after.split_at(length);
    Some((parts, body, rest))
}

/// The journal entry the server writes, so that the admin API's journal,
/// verifications and violations have the input's own calls to work on.
fn record(app: &App, parts: &Parts, handled: &Handled, body: &[u8]) {
    let credentials = &app.configuration().credentials;
    if let Some(record) = handled.record(parts, Duration::ZERO, Some(body.to_vec().into()), credentials) {
        app.journal().record(record);
    }
}

/// The session an admin request names (`/__mock/sessions/{id}/...`), which
/// it may create or move to another scenario.
fn admin_session(parts: &Parts) -> Option<String> {
    let path = parts.uri.path().strip_prefix(specmock::internal::control::PREFIX)?;
    let id = path.strip_prefix("sessions/")?.split('/').next()?;
    specmock::internal::uri::decode_component(id).ok()
}

fuzz_target!(|input: &[u8]| {
    let app = app();
    let mut sessions = BTreeSet::new();
    let mut rest = input;
    while let Some((parts, body, next)) = next_request(rest) {
        let handled = if handshake::is_upgrade_request(&parts.headers) {
            check_upgrade(app, &parts)
        } else {
            let handled = specmock::internal::dispatch::handle(app, &parts, body);
            check_answer(app, &parts, &handled);
            handled
        };
        record(app, &parts, &handled, body);
        sessions.extend(handled.session.into_iter().chain(admin_session(&parts)));
        rest = next;
    }
    // The app is built once, yet each input starts from a fresh mock, so
    // that a crash reproduces from its input alone.
    let configuration = app.configuration();
    for session in &sessions {
        *app.sessions().get(session, || configuration.fresh_session()).lock() = configuration.fresh_session();
    }
    app.journal().clear();
});
