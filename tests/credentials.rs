//! Credentials the spec requires: a scheme name with nothing after it, or a
//! value of only whitespace, is no credential (401 with its challenge).

mod common;

use common::*;
use http::Method;

/// A 401 from the validator that still challenges the client.
fn assert_unauthorized(reply: &Reply, sent: &str) {
    assert_eq!(reply.status, 401, "{sent:?}: {}", reply.text());
    assert!(reply.header("www-authenticate").is_some(), "{sent:?}: no challenge");
    reply.assert_problem(401, "unauthorized", "validator");
}

#[tokio::test]
async fn an_oauth2_authorization_of_only_the_scheme_or_whitespace_is_401() {
    let addr = shared_shipped().addr;
    for value in ["Bearer", "bearer", "BEARER   ", "Bearer \t ", "   "] {
        let reply = send(addr, Method::POST, "/user/select", &[("authorization", value)], b"").await;
        assert_unauthorized(&reply, value);
    }
    // Any token still passes, with or without the scheme.
    for value in ["tok", "Bearer tok", "bearer   tok"] {
        let reply = send(addr, Method::POST, "/user/select", &[("authorization", value)], b"").await;
        assert_eq!(reply.status, 200, "{value:?}: {}", reply.text());
    }
}

#[tokio::test]
async fn http_schemes_and_api_keys_need_more_than_the_scheme_or_whitespace() {
    let (app, _warnings) = app_from_file(
        &specs_dir().join("features.yaml"),
        None,
        0,
        specmock::internal::Behaviour::default(),
    );
    let server = start(app).await;
    let addr = server.address();
    for value in ["Bearer", "basic", "Basic    ", "bearer \t", " "] {
        let reply = send(addr, Method::GET, "/basic-or-bearer", &[("authorization", value)], b"").await;
        assert_unauthorized(&reply, value);
    }
    for value in ["Bearer t", "basic   dTpw"] {
        let reply = send(addr, Method::GET, "/basic-or-bearer", &[("authorization", value)], b"").await;
        assert_eq!(reply.status, 204, "{value:?}: {}", reply.text());
    }
    for query in ["api_key=%20", "api_key=%09%20"] {
        let reply = get(addr, &format!("/key-in-query?{query}")).await;
        assert_unauthorized(&reply, query);
    }
    server.stop().await;
}
