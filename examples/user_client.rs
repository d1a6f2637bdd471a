//! A small client of the Pieces User API, as an application would write
//! it, and its tests against the mock embedded in `cargo test`: renaming
//! succeeds, a taken name (409) and a signed-out user (511) are told apart.
//!
//! `cargo run --example user_client -- http://127.0.0.1:1000 mark` renames
//! the signed-in user of a running specmock (or Pieces OS) and prints the result.

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Why the vanity name did not change.
#[derive(Debug, PartialEq)]
enum RenameError {
    /// Someone else has it.
    Taken,
    /// Nobody is signed in to Pieces.
    SignedOut,
    /// The personal cloud is still connecting: retry later.
    CloudNotReady,
    /// Any other answer.
    Unexpected(u16, String),
}

struct UserClient {
    base_url: String,
    /// Sent with every request (a tracing or test header).
    headers: Vec<(String, String)>,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl UserClient {
    fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            headers: Vec::new(),
            http: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The signed-in user's profile, or `None` when nobody is signed in.
    async fn current_user(&self) -> Result<Option<Value>, Error> {
        let (status, body) = self.call(Method::GET, "/user", None).await?;
        if status != StatusCode::OK {
            return Err(format!("GET /user answered {status}").into());
        }
        let snapshot: Value = serde_json::from_slice(&body)?;
        Ok(snapshot.get("user").cloned())
    }

    /// Gives `profile` the vanity name `name`; the updated profile.
    async fn rename(&self, profile: &Value, name: &str) -> Result<Value, RenameError> {
        let mut renamed = profile.clone();
        renamed["vanityname"] = Value::from(name);
        let answer = self.call(Method::POST, "/user/update/vanity", Some(&renamed)).await;
        let (status, body) = answer.map_err(|e| RenameError::Unexpected(0, e.to_string()))?;
        let text = || String::from_utf8_lossy(&body).into_owned();
        match status.as_u16() {
            200 => serde_json::from_slice(&body).map_err(|_| RenameError::Unexpected(200, text())),
            404 => Err(RenameError::CloudNotReady),
            409 => Err(RenameError::Taken),
            511 => Err(RenameError::SignedOut),
            other => Err(RenameError::Unexpected(other, text())),
        }
    }

    async fn call(&self, method: Method, path: &str, json: Option<&Value>) -> Result<(StatusCode, Bytes), Error> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base_url));
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let body = match json {
            Some(json) => {
                request = request.header("content-type", "application/json");
                Bytes::from(serde_json::to_vec(json)?)
            }
            None => Bytes::new(),
        };
        let response = self.http.request(request.body(Full::new(body))?).await?;
        let status = response.status();
        Ok((status, response.into_body().collect().await?.to_bytes()))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let (Some(base_url), Some(name)) = (args.next(), args.next()) else {
        return Err("usage: user_client BASE_URL VANITY_NAME".into());
    };
    let client = UserClient::new(&base_url).with_header("user-agent", "user_client example");
    let Some(profile) = client.current_user().await? else {
        return Err("nobody is signed in".into());
    };
    match client.rename(&profile, &name).await {
        Ok(renamed) => println!("renamed: {}", renamed["vanityname"]),
        Err(error) => println!("not renamed: {error:?}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use specmock::{Expectation, MockServer, MockSession};

    /// A client of `mock` whose requests are in `session`.
    fn client_in(mock: &MockServer, session: &MockSession) -> UserClient {
        let (name, value) = session.header();
        UserClient::new(&mock.url()).with_header(name, value)
    }

    #[tokio::test]
    async fn the_signed_in_user_is_renamed() {
        let mock = MockServer::builder().start().await.expect("the embedded API starts");
        let session = mock.session("rename");
        let client = client_in(&mock, &session);
        let profile = client.current_user().await.expect("answered").expect("signed in");
        let renamed = client.rename(&profile, "mark").await.expect("renamed");
        assert_eq!(renamed["vanityname"], "mark");
        assert_eq!(
            session.store().expect("the session's store")["user"]["vanityname"],
            "mark"
        );
        session
            .verify(Expectation::operation("user-update-vanity").times(1))
            .expect("one rename");
        assert!(mock.violations().is_empty(), "{}", mock.violations());
    }

    #[tokio::test]
    async fn a_taken_name_is_told_apart_and_a_retry_succeeds() {
        let mock = MockServer::builder()
            .scenario("vanity-taken")
            .start()
            .await
            .expect("starts");
        let session = mock.session("taken");
        let client = client_in(&mock, &session);
        let profile = client.current_user().await.expect("answered").expect("signed in");
        assert_eq!(client.rename(&profile, "mark").await, Err(RenameError::Taken));
        assert_eq!(
            client.rename(&profile, "mark").await.expect("the retry")["vanityname"],
            "mark"
        );
        session
            .verify(Expectation::operation("user-update-vanity").with_status(409).times(1))
            .expect("one refusal");
        assert!(mock.violations().is_empty(), "{}", mock.violations());
    }

    #[tokio::test]
    async fn a_signed_out_user_is_told_to_sign_in() {
        let mock = MockServer::builder().start().await.expect("starts");
        let session = mock.session("signed-out");
        let client = client_in(&mock, &session);
        let profile = client.current_user().await.expect("answered").expect("signed in");
        session.set_scenario("signed-out").expect("a shipped scenario");
        assert_eq!(client.current_user().await.expect("answered"), None);
        assert_eq!(client.rename(&profile, "mark").await, Err(RenameError::SignedOut));
        session
            .verify(Expectation::operation("user-update-vanity").with_status(511).times(1))
            .expect("one 511");
        assert!(mock.violations().is_empty(), "{}", mock.violations());
    }

    #[test]
    fn a_cloud_still_connecting_is_told_apart_in_a_test_without_a_runtime() {
        let mock = MockServer::builder()
            .scenario("dns-not-ready")
            .start_blocking()
            .expect("starts");
        let session = mock.session("dns");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let client = client_in(&mock, &session);
        let profile = runtime
            .block_on(client.current_user())
            .expect("answered")
            .expect("signed in");
        for _ in 0..2 {
            assert_eq!(
                runtime.block_on(client.rename(&profile, "mark")),
                Err(RenameError::CloudNotReady)
            );
        }
        assert!(
            runtime.block_on(client.rename(&profile, "mark")).is_ok(),
            "the third try"
        );
        session
            .verify(Expectation::operation("user-update-vanity").times(3))
            .expect("three tries");
    }
}
