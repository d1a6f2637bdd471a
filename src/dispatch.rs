//! Every request's way in: one under the admin API's prefix goes to the
//! admin API, every other one to the app. The one place that knows both, so
//! the app knows nothing of the admin API, which reads the app.

use http::request::Parts;

use crate::app::{App, Handled, Upgrade};
use crate::control::PREFIX;

/// Answers one request read whole, wholly in memory: what the server runs
/// for each (and the tests and fuzz targets, for the same answers).
pub fn handle(app: &App, parts: &Parts, body: &[u8]) -> Handled {
    if !is_admin(parts) {
        return app.handle(parts, body);
    }
    // No CORS on the admin API: a web page the developer happens to open
    // must not read or reset sessions through the browser. No session
    // either: the test's own requests are not journaled.
    Handled::unattributed(crate::admin::handle(app, parts, body))
}

/// Admits a WebSocket handshake; one to the admin API gets the admin API's
/// HTTP answer instead.
pub fn upgrade(app: &App, parts: &Parts) -> Upgrade {
    match is_admin(parts) {
        true => Upgrade::Refused(Box::new(handle(app, parts, &[]))),
        false => app.upgrade(parts),
    }
}

fn is_admin(parts: &Parts) -> bool {
    parts.uri.path().starts_with(PREFIX)
}
