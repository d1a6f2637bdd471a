//! The server under test: where `--against` points, checked before anything
//! is sent, so that a typo or a stopped server is a usage error (exit 2), not
//! a list of failed operations.

use std::net::SocketAddr;
use std::time::Duration;

use http::Uri;
use tokio::net::TcpStream;

/// A parsed `--against` (or `--upstream`) URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// As given, for the report.
    pub url: String,
    /// `host:port`, for the `Host` header and `ws://` URLs.
    pub authority: String,
    /// Prepended to every path of the spec; empty or `/base` without a trailing slash.
    pub base: String,
    /// Whether the server speaks TLS (`https://`).
    pub https: bool,
    port: u16,
    host: String,
}

impl Target {
    /// `http[s]://HOST[:PORT][/base]` given as `--against`; anything else is refused with the reason.
    pub fn parse(url: &str) -> Result<Self, String> {
        Self::parse_flag(url, "--against")
    }

    /// The URL of the flag `flag`, as [`Target::parse`] reads it.
    pub fn parse_flag(url: &str, flag: &str) -> Result<Self, String> {
        const EXPECTED: &str = "expected http://HOST:PORT[/base] or https://...";
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("{flag} `{url}` is not a URL ({e}); {EXPECTED}"))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            Some(other) => {
                return Err(format!(
                    "{flag} `{url}`: the scheme `{other}` is not supported; {EXPECTED} \
                     (WebSocket operations are reached through the same URL)"
                ))
            }
            None => return Err(format!("{flag} `{url}` has no scheme; {EXPECTED}")),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| format!("{flag} `{url}` has no host; {EXPECTED}"))?;
        if uri.query().is_some() {
            return Err(format!("{flag} `{url}` has a query; {EXPECTED}"));
        }
        if authority.as_str().contains('@') {
            return Err(format!(
                "{flag} `{url}` carries credentials; pass them as a header instead (--header 'Authorization: ...')"
            ));
        }
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        Ok(Self {
            url: url.to_string(),
            authority: authority.as_str().to_string(),
            base: uri.path().trim_end_matches('/').to_string(),
            https,
            port,
            host: authority.host().to_string(),
        })
    }

    /// How to reach the server: TLS for https (trusting `ca` besides the system's roots).
    pub fn connector(&self, ca: Option<&std::path::Path>) -> Result<crate::proxy::Connector, String> {
        match self.https {
            true => crate::proxy::Connector::tls(&self.host, ca),
            false => Ok(crate::proxy::Connector::plain()),
        }
    }

    /// Every address the host resolves to, in the resolver's order, looked up now.
    pub async fn lookup(&self) -> Result<Vec<SocketAddr>, String> {
        let found: Vec<SocketAddr> =
            tokio::net::lookup_host((self.host.trim_start_matches('[').trim_end_matches(']'), self.port))
                .await
                .map(Iterator::collect)
                .unwrap_or_default();
        match found.is_empty() {
            true => Err(format!("cannot resolve the host `{}` of {}", self.host, self.url)),
            false => Ok(found),
        }
    }

    /// The address to connect to: the first the host resolves to that takes
    /// a TCP connection, so that an unreachable server is reported once,
    /// before any operation.
    pub async fn resolve(&self, timeout: Duration) -> Result<SocketAddr, String> {
        let mut failures = Vec::new();
        for address in self.lookup().await? {
            match tokio::time::timeout(timeout, TcpStream::connect(address)).await {
                Ok(Ok(_)) => return Ok(address),
                Ok(Err(error)) => failures.push(format!("({address}): {error}")),
                Err(_) => failures.push(format!("({address}): no answer within {} s", timeout.as_secs())),
            }
        }
        Err(format!(
            "cannot connect to {} {}; is the server running?",
            self.url,
            failures.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls_give_authority_and_base() {
        let target = Target::parse("http://127.0.0.1:8000/v1/").unwrap();
        assert_eq!(target.authority, "127.0.0.1:8000");
        assert_eq!(target.base, "/v1");
        let bare = Target::parse("http://localhost").unwrap();
        assert_eq!(
            (bare.authority.as_str(), bare.base.as_str(), bare.port),
            ("localhost", "", 80)
        );
        let ipv6 = Target::parse("http://[::1]:9000").unwrap();
        assert_eq!((ipv6.host.as_str(), ipv6.port), ("[::1]", 9000));
    }

    #[test]
    fn other_urls_are_refused_with_the_reason() {
        assert!(Target::parse("https://example.com").unwrap().https);
        assert_eq!(Target::parse("https://example.com").unwrap().port, 443);
        assert!(Target::parse("ws://example.com")
            .unwrap_err()
            .contains("`ws` is not supported"));
        assert!(Target::parse("localhost:8000")
            .unwrap_err()
            .contains("expected http://"));
        assert!(Target::parse("not a url").unwrap_err().contains("is not a URL"));
        assert!(Target::parse("http://h/?a=1").unwrap_err().contains("has a query"));
        assert!(Target::parse("http://u:p@h").unwrap_err().contains("--header"));
    }
}
