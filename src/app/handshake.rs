//! RFC 6455's opening handshake, as pure checks on the request head and the
//! 101 answer (the `Sec-WebSocket-Accept` key computed from the client's).
//! Routing, parameters and security are checked like any request; the shell
//! asks [`is_upgrade_request`] before it hands a request to the core.

use bytes::Bytes;
use data_encoding::BASE64;
use http::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// Whether the request asks to become a WebSocket (`Upgrade: websocket` and
/// `Connection: upgrade`, as tokens among others).
pub fn is_upgrade_request(headers: &HeaderMap) -> bool {
    has_token(headers, &UPGRADE, "websocket") && has_token(headers, &CONNECTION, "upgrade")
}

fn has_token(headers: &HeaderMap, name: &http::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

/// The `Sec-WebSocket-Accept` value for a valid handshake, or what is wrong with it.
pub fn accept_key(headers: &HeaderMap) -> Result<String, String> {
    // RFC 6455 11.3.1, 11.3.5: each at most once, or which key is answered is a guess.
    for name in [SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION] {
        if headers.get_all(&name).iter().count() > 1 {
            return Err(format!("{name} is sent more than once; RFC 6455 allows one"));
        }
    }
    let version = headers
        .get(SEC_WEBSOCKET_VERSION)
        .map(|v| v.to_str().unwrap_or("(not text)"));
    match version {
        Some("13") => {}
        Some(other) => return Err(format!("Sec-WebSocket-Version is `{other}`; this server speaks 13")),
        None => return Err("Sec-WebSocket-Version is missing; this server speaks 13".into()),
    }
    let key = headers
        .get(SEC_WEBSOCKET_KEY)
        .ok_or("Sec-WebSocket-Key is missing")?
        .to_str()
        .map_err(|_| "Sec-WebSocket-Key is not text")?
        .trim();
    match BASE64.decode(key.as_bytes()) {
        Ok(nonce) if nonce.len() == 16 => Ok(derive_accept_key(key.as_bytes())),
        Ok(nonce) => Err(format!(
            "Sec-WebSocket-Key `{key}` decodes to {} bytes; RFC 6455 asks for a 16-byte nonce in base64",
            nonce.len()
        )),
        Err(_) => Err(format!("Sec-WebSocket-Key `{key}` is not base64")),
    }
}

pub fn switching_protocols(accept_key: &str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    if let Ok(value) = HeaderValue::from_str(accept_key) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (http::HeaderName::from_static(name), HeaderValue::from_static(value)))
            .collect()
    }

    #[test]
    fn upgrade_is_recognised_among_other_tokens() {
        assert!(is_upgrade_request(&headers(&[
            ("upgrade", "WebSocket"),
            ("connection", "keep-alive, Upgrade")
        ])));
        assert!(!is_upgrade_request(&headers(&[("upgrade", "websocket")])));
        assert!(!is_upgrade_request(&headers(&[
            ("upgrade", "h2c"),
            ("connection", "upgrade")
        ])));
    }

    #[test]
    fn the_rfc_example_key_is_accepted() {
        let valid = headers(&[
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]);
        assert_eq!(accept_key(&valid).unwrap(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn bad_versions_and_keys_are_explained() {
        let old = headers(&[
            ("sec-websocket-version", "8"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]);
        assert!(accept_key(&old).unwrap_err().contains("speaks 13"));
        let short = headers(&[("sec-websocket-version", "13"), ("sec-websocket-key", "c2hvcnQ=")]);
        assert!(accept_key(&short).unwrap_err().contains("decodes to 5 bytes"));
        let garbage = headers(&[("sec-websocket-version", "13"), ("sec-websocket-key", "not base64!")]);
        assert!(accept_key(&garbage).unwrap_err().contains("not base64"));
        let missing = headers(&[("sec-websocket-version", "13")]);
        assert!(accept_key(&missing).unwrap_err().contains("missing"));
    }
}
