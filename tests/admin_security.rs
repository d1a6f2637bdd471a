//! The control API and web pages: a page the developer opens must not read
//! it through a DNS-rebound name (the Host rule), nor change it with a
//! cross-site form (Origin, Sec-Fetch-Site, a JSON Content-Type); the admin
//! token is matched in constant time with any case of `Bearer`. The mock's
//! own API keeps its CORS.

mod common;

use std::net::SocketAddr;

use common::*;
use http::Method;
use specmock::internal::Behaviour;

async fn journal_with_host(addr: SocketAddr, host: &str) -> Reply {
    send(addr, Method::GET, "/__mock/journal", &[("host", host)], b"").await
}

/// `POST /__mock/sessions/{id}/reset` with `headers`.
async fn reset(addr: SocketAddr, id: &str, headers: &[(&str, &str)]) -> Reply {
    send(
        addr,
        Method::POST,
        &format!("/__mock/sessions/{id}/reset"),
        headers,
        b"",
    )
    .await
}

#[tokio::test]
async fn a_dns_rebound_name_cannot_read_the_journal() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    let port = addr.port();
    let secret = r#"{"user_id": "auth0|secret-token"}"#;
    send(
        addr,
        Method::POST,
        "/user/select",
        &in_session("sdk", &[("content-type", "application/json")]),
        secret.as_bytes(),
    )
    .await;

    for host in [
        "attacker.example:1000",
        "attacker.example",
        "localhost.attacker.example",
        "127.0.0.1.nip.io",
    ] {
        let refused = journal_with_host(addr, host).await;
        let problem = refused.assert_problem(403, "admin-forbidden", "admin");
        assert!(
            problem["detail"].as_str().unwrap().contains("--admin-host"),
            "the detail says how to allow a name: {problem:#}"
        );
        assert!(!refused.text().contains("secret-token"), "{host}: {}", refused.text());
    }
    // An absolute-form target names its host too.
    let absolute = raw(
        addr,
        b"GET http://attacker.example/__mock/journal HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n",
    )
    .await;
    absolute.assert_problem(403, "admin-forbidden", "admin");

    for host in [
        format!("localhost:{port}"),
        format!("LocalHost:{port}"),
        "localhost".to_string(),
        format!("127.0.0.1:{port}"),
        format!("127.0.0.2:{port}"),
        format!("[::1]:{port}"),
        format!("app.localhost:{port}"),
    ] {
        let allowed = journal_with_host(addr, &host).await;
        assert_eq!(allowed.status, 200, "{host}: {}", allowed.text());
    }
    server.stop().await;
}

/// `GET /__mock/scenarios` naming `host`, with the token `s3cret`.
async fn scenarios_as(addr: SocketAddr, host: &str) -> Reply {
    let headers = [("host", host), ("authorization", "Bearer s3cret")];
    send(addr, Method::GET, "/__mock/scenarios", &headers, b"").await
}

#[tokio::test]
async fn the_host_rule_holds_with_a_token_and_admin_host_adds_names() {
    let dir = TempDir::new("admin-host");
    let binary = Binary::start(
        &["--port", "0", "--admin-token", "s3cret", "--admin-host", "mock.test"],
        dir.path(),
    );
    let (addr, port) = (binary.addr, binary.addr.port());
    // The token does not make a rebound name safe to answer.
    for host in [format!("attacker.example:{port}"), format!("other.test:{port}")] {
        scenarios_as(addr, &host)
            .await
            .assert_problem(403, "admin-forbidden", "admin");
    }
    for host in [
        format!("mock.test:{port}"),
        "MOCK.TEST".into(),
        format!("localhost:{port}"),
    ] {
        let allowed = scenarios_as(addr, &host).await;
        assert_eq!(allowed.status, 200, "{host}: {}", allowed.text());
    }
    // The mock's own API answers any Host.
    let api = send(addr, Method::GET, "/user", &[("host", "attacker.example")], b"").await;
    assert_eq!(api.status, 200, "{}", api.text());
}

#[tokio::test]
async fn the_address_given_to_host_is_an_admin_name() {
    let Some(ip) = non_loopback_address() else {
        // the_wildcard_given_to_host_is_an_admin_name proves the --host path anywhere.
        eprintln!("this machine has no address beyond loopback: --host cannot name one here");
        return;
    };
    let dir = TempDir::new("admin-host-flag");
    let ip = ip.to_string();
    let binary = Binary::start(&["--host", &ip, "--port", "0", "--admin-token", "s3cret"], dir.path());
    let (addr, port) = (binary.addr, binary.addr.port());
    let allowed = scenarios_as(addr, &format!("{ip}:{port}")).await;
    assert_eq!(allowed.status, 200, "{}", allowed.text());
    scenarios_as(addr, &format!("attacker.example:{port}"))
        .await
        .assert_problem(403, "admin-forbidden", "admin");
}

/// `--host` reaches the admitted names whatever this machine's interfaces:
/// `0.0.0.0` is no loopback address, and a client on loopback may name the
/// mock by it.
#[tokio::test]
async fn the_wildcard_given_to_host_is_an_admin_name() {
    let dir = TempDir::new("admin-host-wildcard");
    let binary = Binary::start(&["--host", "0.0.0.0", "--port", "0"], dir.path());
    let port = binary.addr.port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let allowed = journal_with_host(addr, &format!("0.0.0.0:{port}")).await;
    assert_eq!(allowed.status, 200, "{}", allowed.text());
    journal_with_host(addr, &format!("10.0.0.5:{port}"))
        .await
        .assert_problem(403, "admin-forbidden", "admin");
}

#[tokio::test]
async fn an_https_origin_is_not_the_mocks_own() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    let host = format!("localhost:{}", addr.port());
    for scheme in ["https", "HTTPS", "ws"] {
        let origin = format!("{scheme}://{host}");
        reset(addr, "s", &[("host", &host), ("origin", &origin)])
            .await
            .assert_problem(403, "admin-forbidden", "admin");
    }
    let own = reset(addr, "s", &[("host", &host), ("origin", &format!("http://{host}"))]).await;
    assert_eq!(own.status, 200, "{}", own.text());
    server.stop().await;
}

#[tokio::test]
async fn a_cross_site_page_cannot_change_state_and_the_api_keeps_its_cors() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    let own_origin = format!("http://{addr}");
    let vanity_taken = [("content-type", "application/json")];
    let put = send(
        addr,
        Method::PUT,
        "/__mock/sessions/victim/scenario",
        &vanity_taken,
        br#"{"name":"vanity-taken"}"#,
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text());

    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "http://attacker.example")],
        vec![("origin", "null")],
        vec![("origin", "http://localhost:1")],
        // A browser that says same-origin yet names another origin is not believed.
        vec![("sec-fetch-site", "same-origin"), ("origin", "http://attacker.example")],
    ] {
        reset(addr, "victim", &headers)
            .await
            .assert_problem(403, "admin-forbidden", "admin");
        reset(addr, "never-named", &headers)
            .await
            .assert_problem(403, "admin-forbidden", "admin");
    }
    let cleared = send(
        addr,
        Method::DELETE,
        "/__mock/journal",
        &[("origin", "http://attacker.example")],
        b"",
    )
    .await;
    cleared.assert_problem(403, "admin-forbidden", "admin");
    let verify = send(
        addr,
        Method::POST,
        "/__mock/verify",
        &[("content-type", "application/json"), ("sec-fetch-site", "cross-site")],
        br#"{"operation": "user-snapshot", "count": 0}"#,
    )
    .await;
    verify.assert_problem(403, "admin-forbidden", "admin");

    // Nothing refused changed anything: the session is still in its scenario,
    // and the refused reset of an unnamed session did not create it.
    let victim = get(addr, "/__mock/sessions/victim").await;
    assert_eq!(victim.json()["scenario"], "vanity-taken", "{}", victim.text());
    get(addr, "/__mock/sessions/never-named")
        .await
        .assert_problem(404, "unknown-session", "admin");

    // Reading stays allowed: without CORS headers a page cannot see the answer.
    let read = send(
        addr,
        Method::GET,
        "/__mock/journal",
        &[("sec-fetch-site", "cross-site")],
        b"",
    )
    .await;
    assert_eq!(read.status, 200, "{}", read.text());
    assert_eq!(read.header("access-control-allow-origin"), None);

    for headers in [
        vec![("origin", own_origin.as_str())],
        vec![("sec-fetch-site", "same-origin"), ("origin", own_origin.as_str())],
        vec![("sec-fetch-site", "none")],
        vec![],
    ] {
        let allowed = reset(addr, "victim", &headers).await;
        assert_eq!(allowed.status, 200, "{headers:?}: {}", allowed.text());
    }

    // The mock's own API: CORS as before, for any origin.
    let preflight = send(
        addr,
        Method::OPTIONS,
        "/user/update/vanity",
        &[
            ("origin", "http://attacker.example"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type"),
        ],
        b"",
    )
    .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("http://attacker.example")
    );
    let api = send(
        addr,
        Method::POST,
        "/user/update/vanity",
        &in_session(
            "page",
            &[
                ("origin", "http://attacker.example"),
                ("sec-fetch-site", "cross-site"),
                ("content-type", "application/json"),
            ],
        ),
        vanity_body("from-a-page").as_bytes(),
    )
    .await;
    assert_eq!(api.status, 200, "{}", api.text());
    assert_eq!(
        api.header("access-control-allow-origin"),
        Some("http://attacker.example")
    );
    assert_eq!(api.header("access-control-allow-credentials"), Some("true"));
    server.stop().await;
}

#[tokio::test]
async fn admin_bodies_must_say_they_are_json() {
    let server = start(shipped_scenario_app(Behaviour::default())).await;
    let addr = server.address();
    let scenario = br#"{"name":"vanity-taken"}"#;
    let verification = br#"{"operation": "user-snapshot", "count": 0}"#;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
    ] {
        let headers: Vec<(&str, &str)> = content_type.map(|t| ("content-type", t)).into_iter().collect();
        let put = send(addr, Method::PUT, "/__mock/sessions/form/scenario", &headers, scenario).await;
        let problem = put.assert_problem(415, "admin-unsupported-media-type", "admin");
        assert!(
            problem["detail"].as_str().unwrap().contains("application/json"),
            "{problem:#}"
        );
        send(addr, Method::POST, "/__mock/verify", &headers, verification)
            .await
            .assert_problem(415, "admin-unsupported-media-type", "admin");
    }
    get(addr, "/__mock/sessions/form")
        .await
        .assert_problem(404, "unknown-session", "admin");
    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
    ] {
        let headers = [("content-type", content_type)];
        let put = send(addr, Method::PUT, "/__mock/sessions/form/scenario", &headers, scenario).await;
        assert_eq!(put.status, 200, "{content_type}: {}", put.text());
        let verified = send(addr, Method::POST, "/__mock/verify", &headers, verification).await;
        assert_eq!(verified.status, 200, "{content_type}: {}", verified.text());
    }
    server.stop().await;
}

#[tokio::test]
async fn the_admin_token_takes_bearer_in_any_case_and_nothing_else() {
    let behaviour = Behaviour {
        control_token: Some("s3cret".into()),
        ..Behaviour::default()
    };
    let server = start(shipped_scenario_app(behaviour)).await;
    let addr = server.address();
    for presented in [
        "Bearer s3cret",
        "bearer s3cret",
        "BEARER s3cret",
        "bEaReR s3cret",
        "Bearer  s3cret",
    ] {
        let reply = send(
            addr,
            Method::GET,
            "/__mock/scenarios",
            &[("authorization", presented)],
            b"",
        )
        .await;
        assert_eq!(reply.status, 200, "{presented:?}: {}", reply.text());
    }
    for presented in [
        "Bearer s3creT",
        "Bearer t3cret",
        "Bearer s3cre",
        "Bearer s3crets",
        "Bearer ",
        "Bearer",
        "Basic s3cret",
        "Bearers3cret",
        "s3cret",
    ] {
        send(
            addr,
            Method::GET,
            "/__mock/scenarios",
            &[("authorization", presented)],
            b"",
        )
        .await
        .assert_problem(403, "admin-forbidden", "admin");
    }
    server.stop().await;
}
