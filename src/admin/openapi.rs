//! `GET /__mock/openapi.json`: the admin API described in OpenAPI 3.0.

use bytes::Bytes;
use http::{HeaderValue, Response};

/// The admin API's own document, as served.
pub const ADMIN_OPENAPI: &str = include_str!("../admin_openapi.json");

pub(super) fn document() -> Response<Bytes> {
    let mut response = Response::new(Bytes::from_static(ADMIN_OPENAPI.as_bytes()));
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
