//! The page at `/__mock/ui`: a few files built into the binary, served with
//! headers that keep it from running anything but its own script or being
//! framed by another page.

use bytes::Bytes;
use http::{HeaderValue, Response};

/// The page and its assets, by the path segments after `ui`.
const ASSETS: &[(&[&str], &str, &str)] = &[
    (&[], "text/html; charset=utf-8", include_str!("ui/index.html")),
    (&[""], "text/html; charset=utf-8", include_str!("ui/index.html")),
    (&["app.js"], "text/javascript; charset=utf-8", include_str!("ui/app.js")),
    (&["style.css"], "text/css; charset=utf-8", include_str!("ui/style.css")),
];

/// Scripts and styles from the mock only (none inline), requests to the
/// mock only, no framing, no plugins, forms posted nowhere else.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Whether `path` (after `/__mock/`, as sent) names one of the page's
/// files. Their names need no percent-decoding: the path names them as sent or not.
pub fn names_asset(path: &str) -> bool {
    let mut segments = path.split('/');
    segments.next() == Some("ui") && {
        let rest: Vec<&str> = segments.collect();
        ASSETS.iter().any(|(at, _, _)| *at == rest.as_slice())
    }
}

/// The asset at `path` (the segments after `/__mock/ui`), if there is one.
pub fn asset(path: &[&str]) -> Option<Response<Bytes>> {
    let (_, content_type, text) = ASSETS.iter().find(|(at, _, _)| *at == path)?;
    let mut response = Response::new(Bytes::from_static(text.as_bytes()));
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(http::header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(http::header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    Some(response)
}
