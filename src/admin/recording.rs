//! `GET /__mock/sessions/{id}/scenario`: a session as a scenario file.

use bytes::Bytes;
use http::{HeaderValue, Response};

/// YAML, as `specmock --scenarios DIR` reads it.
pub(super) fn yaml_response(yaml: String) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(yaml));
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/yaml"));
    response
}
