//! What crosses the proxy and what stays: hop-by-hop headers (RFC 9110
//! 7.6.1) in either direction, and the mock's own controls on the way up.
//! Pure: header maps and query strings in, filtered ones out.

use http::header::{self, HeaderMap, HeaderName};

/// Headers that describe one connection, not the message (RFC 9110 7.6.1,
/// with `Keep-Alive`, `Proxy-Connection` and `Transfer-Encoding`, which
/// RFC 9112 frames per hop).
const HOP_BY_HOP: [HeaderName; 7] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    HeaderName::from_static("proxy-connection"),
];

/// `headers` without the hop-by-hop ones: those above, every `Proxy-*`,
/// and each name the `Connection` header lists.
pub fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let listed: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    let mut kept = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let hop = HOP_BY_HOP.contains(name)
            || name.as_str().starts_with("proxy-")
            || listed.iter().any(|listed| listed == name.as_str());
        if !hop {
            kept.append(name.clone(), value.clone());
        }
    }
    kept
}

/// The headers a request goes upstream with: end to end, without the
/// mock's controls (`X-Mock-*`, its own `Prefer` preferences), and with
/// `Host` naming the upstream. The length is hyper's to set from the body
/// sent.
pub fn upstream_request(headers: &HeaderMap, authority: &str) -> HeaderMap {
    let mut kept = end_to_end(headers);
    kept.remove(header::HOST);
    kept.remove(header::CONTENT_LENGTH);
    let controls: Vec<HeaderName> = kept
        .keys()
        .filter(|name| crate::control::is_control_header(name))
        .cloned()
        .collect();
    for name in controls {
        kept.remove(name);
    }
    let preferences: Vec<String> = kept
        .get_all(PREFER)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(api_preference)
        .collect();
    kept.remove(PREFER);
    if let Ok(prefer) = preferences.join(", ").parse() {
        if !preferences.is_empty() {
            kept.insert(PREFER, prefer);
        }
    }
    if let Ok(host) = authority.parse() {
        kept.insert(header::HOST, host);
    }
    kept
}

const PREFER: HeaderName = HeaderName::from_static("prefer");

/// One preference of a `Prefer` header (RFC 7240: `token[=value]`, then
/// `; parameters`) without the parts that are the mock's controls (`code`,
/// `example`, `dynamic`, which the mock reads wherever they stand); `None`
/// when nothing of the API's is left.
fn api_preference(preference: &str) -> Option<String> {
    let kept: Vec<&str> = preference
        .split(';')
        .map(str::trim)
        .filter(|part| {
            let name = part.split_once('=').map_or(*part, |(name, _)| name);
            !part.is_empty() && !crate::control::is_control_preference(name.trim())
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

/// The query a request goes upstream with: as sent, less the control
/// twins (`__session` ...).
pub fn upstream_query(query: &str) -> String {
    query
        .split('&')
        .filter(|pair| {
            let name = pair.split_once('=').map_or(*pair, |(name, _)| name);
            !pair.is_empty() && !crate::control::is_control_parameter(name)
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (HeaderName::from_static(name), value.parse().unwrap()))
            .collect()
    }

    fn names(headers: &HeaderMap) -> Vec<&str> {
        headers.keys().map(HeaderName::as_str).collect()
    }

    #[test]
    fn hop_by_hop_headers_and_the_ones_connection_names_stay_behind() {
        let headers = map(&[
            ("connection", "keep-alive, X-Trace"),
            ("keep-alive", "timeout=5"),
            ("x-trace", "1"),
            ("proxy-authorization", "Basic x"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "h2c"),
            ("trailer", "x-sum"),
            ("accept", "application/json"),
        ]);
        assert_eq!(names(&end_to_end(&headers)), ["accept"]);
    }

    #[test]
    fn controls_stay_behind_and_host_names_the_upstream() {
        let headers = map(&[
            ("host", "127.0.0.1:4010"),
            ("x-mock-session", "t1"),
            ("x-mock-scenario", "s"),
            ("prefer", "code=409"),
            (
                "prefer",
                "return=minimal; code=201, respond-async, example=a; dynamic=true",
            ),
            ("content-length", "2"),
            ("authorization", "Bearer a"),
        ]);
        let sent = upstream_request(&headers, "api.test:8443");
        let mut sent_names = names(&sent);
        sent_names.sort_unstable();
        assert_eq!(sent_names, ["authorization", "host", "prefer"]);
        assert_eq!(sent["prefer"], "return=minimal, respond-async");
        assert_eq!(sent[header::HOST], "api.test:8443");
        assert_eq!(upstream_query("__session=t1&limit=5&%5F%5Fcode=409&q"), "limit=5&q");
        assert_eq!(upstream_query(""), "");
    }
}
