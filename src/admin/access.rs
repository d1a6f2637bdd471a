//! Who may use the admin API. A browser on the developer's machine is a
//! loopback peer too, so the peer (or the token) is not enough: the request
//! must name the mock by a loopback address, `localhost` or a name the
//! operator allowed (a page reaching the mock through a DNS-rebound name is
//! refused), and a request that changes state must not come from another
//! origin's page.

use std::net::SocketAddr;

use http::header::{AUTHORIZATION, HOST, ORIGIN};
use http::request::Parts;
use http::HeaderMap;

use crate::host::HostName;
use crate::problem::Problem;

/// The peer address, put on each request by the server.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// Admits `parts` to the admin API, or says why not. `token`: the admin
/// token, if one is set; `hosts`: the names the Host may carry besides
/// loopback addresses and `localhost`.
pub fn admit(parts: &Parts, token: Option<&str>, hosts: &[HostName]) -> Result<(), Problem> {
    named_host(parts, hosts)?;
    credentials(parts, token)?;
    if !parts.method.is_safe() {
        same_origin(parts)?;
    }
    Ok(())
}

/// Admits a request for one of the page's own files (`ui::names_asset`). With
/// a token set they are served without it, the Host check still applied: a
/// browser cannot send a bearer header when it opens a page, and the files
/// are the same bytes as in every copy of the binary, holding no data; the
/// page then asks for the token and sends it on each of its data calls.
/// Without a token, the page is the admin API's like any route.
pub fn admit_page(parts: &Parts, token: Option<&str>, hosts: &[HostName]) -> Result<(), Problem> {
    match token {
        Some(_) => named_host(parts, hosts),
        None => admit(parts, token, hosts),
    }
}

/// The Host header and, for an absolute-form target, the target's
/// authority: every name the request gives the mock.
fn names(parts: &Parts) -> impl Iterator<Item = &str> {
    let target = parts.uri.authority().map(|a| a.as_str());
    let hosts = parts
        .headers
        .get_all(HOST)
        .iter()
        .map(|value| value.to_str().unwrap_or("(not ASCII)"));
    target.into_iter().chain(hosts)
}

fn named_host(parts: &Parts, allowed: &[HostName]) -> Result<(), Problem> {
    for name in names(parts) {
        let admitted = HostName::parse(name).is_some_and(|host| host.is_loopback() || allowed.contains(&host));
        if !admitted {
            return Err(Problem::admin_forbidden(&format!(
                "the admin API answers requests that name the mock by a loopback address, `localhost` or a name \
                 given to --host or --admin-host; this one names `{name}` (a web page can reach the mock through \
                 a name that resolves to a loopback address). Start with --admin-host NAME to allow a name"
            )));
        }
    }
    Ok(())
}

fn credentials(parts: &Parts, token: Option<&str>) -> Result<(), Problem> {
    match token {
        Some(token) if bearer(&parts.headers).is_some_and(|p| same_secret(p.as_bytes(), token.as_bytes())) => Ok(()),
        Some(_) => {
            let mut problem = Problem::admin_forbidden("the admin API needs `Authorization: Bearer <admin token>`");
            // The challenge tells the page (and any client) that the token is what is missing.
            problem
                .headers
                .push(("www-authenticate", "Bearer realm=\"specmock admin\"".into()));
            Err(problem)
        }
        // Requests built in-process (no peer recorded) are trusted like loopback.
        None if parts
            .extensions
            .get::<Peer>()
            .is_none_or(|peer| peer.0.ip().to_canonical().is_loopback()) =>
        {
            Ok(())
        }
        None => Err(Problem::admin_forbidden(
            "the admin API answers loopback peers only; start with --admin-token to allow others",
        )),
    }
}

/// The credentials of `Authorization: Bearer TOKEN`, the scheme in any case (RFC 7235 2.1).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim_matches(' '))
}

/// Whether `presented` is `expected`, in a time that depends on the lengths
/// only, never on where the first differing byte is: every presented byte is
/// compared (against the expected bytes, cycled), the differences are OR-ed
/// together with no early exit, and `black_box` hides the running value from
/// the optimiser so it cannot turn the fold back into a comparison that
/// stops at the first difference.
fn same_secret(presented: &[u8], expected: &[u8]) -> bool {
    let lengths_differ = u8::from(presented.len() != expected.len());
    let difference = presented
        .iter()
        .zip(expected.iter().cycle())
        .fold(lengths_differ, |acc, (p, e)| std::hint::black_box(acc | (p ^ e)));
    difference == 0
}

/// A request that changes state must come from the mock's own origin, or
/// from no page at all (curl, an SDK, a test): a page elsewhere could
/// otherwise send a form or a `fetch` without a CORS preflight.
pub(super) fn same_origin(parts: &Parts) -> Result<(), Problem> {
    if let Some(site) = parts.headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("(not ASCII)");
        // `same-site` too: a site ignores ports, so every other server on localhost is the same site.
        if !site.eq_ignore_ascii_case("same-origin") && !site.eq_ignore_ascii_case("none") {
            return Err(Problem::admin_forbidden(&format!(
                "the admin API does not change state for a web page of another origin (Sec-Fetch-Site: {site})"
            )));
        }
    }
    if let Some(origin) = parts.headers.get(ORIGIN) {
        let origin = origin.to_str().unwrap_or("(not ASCII)");
        let own = match parts.uri.authority() {
            Some(target) => Some(target.as_str()),
            None => parts.headers.get(HOST).and_then(|host| host.to_str().ok()),
        };
        if !own.is_some_and(|own| same_authority(origin, own)) {
            return Err(Problem::admin_forbidden(&format!(
                "the admin API does not change state for a web page of another origin (Origin: {origin})"
            )));
        }
    }
    Ok(())
}

/// Whether `origin` (`http://host[:port]`) is the origin of the server
/// named `own` (`host[:port]`). The mock serves plain HTTP only, so an
/// `https://` page on the same host is another origin.
fn same_authority(origin: &str, own: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("http") {
        return false;
    }
    let plain = |authority: &str| authority.strip_suffix(":80").unwrap_or(authority).to_ascii_lowercase();
    plain(authority) == plain(own)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: &str, headers: &[(&str, &str)]) -> Parts {
        let mut request = http::Request::builder().method(method).uri("/__mock/journal");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).expect("a request").into_parts().0
    }

    #[test]
    fn secrets_match_whole_and_only_whole() {
        assert!(same_secret(b"s3cret", b"s3cret"));
        assert!(same_secret(b"", b""));
        for presented in [&b"s3creT"[..], b"t3cret", b"s3cre", b"s3crets", b"", b"s3crets3cret"] {
            assert!(!same_secret(presented, b"s3cret"), "{presented:?}");
        }
        assert!(!same_secret(b"x", b""));
    }

    #[test]
    fn origins_compare_with_default_ports() {
        assert!(same_authority("http://localhost:1000", "LOCALHOST:1000"));
        assert!(same_authority("http://mock.test", "mock.test:80"));
        assert!(same_authority("HTTP://mock.test", "mock.test"));
        assert!(!same_authority("https://mock.test:443", "mock.test"));
        assert!(!same_authority("https://mock.test", "mock.test"));
        assert!(!same_authority("https://localhost:1000", "localhost:1000"));
        assert!(!same_authority("http://localhost:1001", "localhost:1000"));
        assert!(!same_authority("null", "localhost:1000"));
        assert!(!same_authority("file://", "localhost"));
    }

    #[test]
    fn in_process_requests_without_a_host_are_admitted() {
        assert!(admit(&parts("POST", &[]), None, &[]).is_ok());
        assert!(admit(&parts("GET", &[("host", "evil.example")]), None, &[]).is_err());
        let allowed = [crate::host::parse("EVIL.example.").unwrap()];
        assert!(admit(&parts("GET", &[("host", "evil.example")]), None, &allowed).is_ok());
        let cross = parts("POST", &[("host", "localhost"), ("origin", "http://evil.example")]);
        assert!(admit(&cross, None, &[]).is_err());
        let read = parts("GET", &[("host", "localhost"), ("origin", "http://evil.example")]);
        assert!(admit(&read, None, &[]).is_ok(), "reads are not state changes");
    }

    #[test]
    fn an_admin_host_address_is_admitted_with_any_port() {
        let named = parts("GET", &[("host", "10.0.0.5:1")]);
        let admin_host = [crate::host::parse("10.0.0.5").unwrap()];
        assert!(admit(&named, None, &admin_host).is_ok());
        assert!(admit(&named, None, &[]).is_err(), "not loopback, not allowed");
        let other = [crate::host::parse("10.0.0.6:1").unwrap()];
        assert!(admit(&named, None, &other).is_err());
    }
}
