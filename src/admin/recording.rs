//! `GET /__mock/sessions/{id}/scenario`: a session as a scenario file;
//! `POST /__mock/sessions/{id}/record`: its recording written now.

use bytes::Bytes;
use http::{HeaderValue, Response};
use serde_json::Value;

use crate::app::App;
use crate::problem::Problem;

/// YAML, as `specmock --scenarios DIR` reads it.
pub(super) fn export(app: &App, id: &str) -> Result<Response<Bytes>, Problem> {
    let recorded = crate::record::export(app, id)?;
    let mut response = Response::new(Bytes::from(recorded.yaml));
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/yaml"));
    Ok(response)
}

/// The file written, and what it holds.
pub(super) fn flush(app: &App, id: &str) -> Result<Value, Problem> {
    crate::record::flush(app, id).map(|written| written.json())
}
