//! The name a request calls the mock by (its Host, or an absolute target's
//! authority), as the admin API's access rules compare it with the names the
//! operator allowed (`--host`, `--admin-host`): a setting of the app, read by
//! the admin API, so it lives below both.

use std::net::IpAddr;

/// Reads an `--admin-host` (or `--host`) value: a host name or IP address,
/// with or without a port.
pub fn parse(text: &str) -> Result<HostName, String> {
    HostName::parse(text).ok_or_else(|| format!("`{text}` is not a host name or an IP address"))
}

/// The host a request names: a loopback address, a name, or another address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostName {
    /// An IP address, with or without a port or brackets (`[::1]:8080`, `127.0.0.1`).
    Ip(IpAddr),
    /// Lower case, without a trailing dot.
    Name(String),
}

impl HostName {
    /// A Host header value or URI authority (`[::1]:8080`, `Mock.Test.`),
    /// or a bare IPv6 address as `--host` takes it.
    pub fn parse(text: &str) -> Option<Self> {
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Some(HostName::Ip(ip));
        }
        let host = without_port(text)?;
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Some(HostName::Ip(ip));
        }
        let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        valid.then_some(HostName::Name(name))
    }

    /// Loopback addresses, `localhost`, and the names under it (RFC 6761
    /// 6.3: browsers resolve them to loopback themselves, never through DNS,
    /// so a page cannot be served from one by a rebinding attacker).
    pub fn is_loopback(&self) -> bool {
        match self {
            HostName::Ip(ip) => ip.to_canonical().is_loopback(),
            HostName::Name(name) => name == "localhost" || name.ends_with(".localhost"),
        }
    }
}

/// `host:port` -> `host`; `[v6]:port` -> `v6`; `None` when malformed.
fn without_port(authority: &str) -> Option<&str> {
    let is_port = |port: &str| port.bytes().all(|b| b.is_ascii_digit());
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(is_port);
        return port_ok.then_some(host);
    }
    match authority.split_once(':') {
        Some((host, port)) => is_port(port).then_some(host),
        None => Some(authority),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_parsed_as_browsers_send_them() {
        let ip = |text: &str| HostName::Ip(text.parse().unwrap());
        let name = |text: &str| HostName::Name(text.into());
        assert_eq!(HostName::parse("[::1]:8080"), Some(ip("::1")));
        assert_eq!(HostName::parse("::1"), Some(ip("::1")));
        assert_eq!(HostName::parse("127.0.0.9:1"), Some(ip("127.0.0.9")));
        assert_eq!(HostName::parse("Mock.Test.:80"), Some(name("mock.test")));
        for malformed in [
            "",
            "a b",
            "user@localhost",
            "localhost:x",
            "[::1",
            "[::1]x",
            "127.0.0.1:80:80",
        ] {
            assert_eq!(HostName::parse(malformed), None, "{malformed:?}");
        }
        assert!(HostName::parse("api.localhost").unwrap().is_loopback());
        assert!(HostName::parse("[::ffff:127.0.0.1]").unwrap().is_loopback());
        assert!(!HostName::parse("localhost.example").unwrap().is_loopback());
        assert!(!HostName::parse("127.1").unwrap().is_loopback());
    }
}
