//! The server under test: where `--against` points, checked before anything
//! is sent, so that a typo or a stopped server is a usage error (exit 2), not
//! a list of failed operations.

use std::net::SocketAddr;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Uri};
use tokio::net::TcpStream;

/// A parsed `--against` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// As given, for the report.
    pub url: String,
    /// `host:port`, for the `Host` header and `ws://` URLs.
    pub authority: String,
    /// Prepended to every path of the spec; empty or `/base` without a trailing slash.
    pub base: String,
    port: u16,
    host: String,
}

impl Target {
    /// `http://HOST[:PORT][/base]`; anything else is refused with the reason.
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("--against `{url}` is not a URL ({e}); expected http://HOST:PORT[/base]"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(format!(
                    "--against `{url}`: https is not supported, `specmock verify` has no TLS; \
                     verify a plain-HTTP instance of the server (http://...)"
                ))
            }
            Some(other) => {
                return Err(format!(
                    "--against `{url}`: the scheme `{other}` is not supported; expected http://HOST:PORT[/base] \
                     (WebSocket operations are reached through the same http:// URL)"
                ))
            }
            None => {
                return Err(format!(
                    "--against `{url}` has no scheme; expected http://HOST:PORT[/base]"
                ))
            }
        }
        let authority = uri
            .authority()
            .ok_or_else(|| format!("--against `{url}` has no host; expected http://HOST:PORT[/base]"))?;
        if uri.query().is_some() {
            return Err(format!(
                "--against `{url}` has a query; expected http://HOST:PORT[/base]"
            ));
        }
        if authority.as_str().contains('@') {
            return Err(format!(
                "--against `{url}` carries credentials; pass them as a header instead (--header 'Authorization: ...')"
            ));
        }
        let port = authority.port_u16().unwrap_or(80);
        Ok(Self {
            url: url.to_string(),
            authority: authority.as_str().to_string(),
            base: uri.path().trim_end_matches('/').to_string(),
            port,
            host: authority.host().to_string(),
        })
    }

    /// The address to connect to; one TCP connection is tried, so that an
    /// unreachable server is reported once, before any operation.
    pub async fn resolve(&self, timeout: Duration) -> Result<SocketAddr, String> {
        let address = tokio::net::lookup_host((self.host.trim_start_matches('[').trim_end_matches(']'), self.port))
            .await
            .ok()
            .and_then(|mut found| found.next())
            .ok_or_else(|| format!("cannot resolve the host `{}` of --against {}", self.host, self.url))?;
        match tokio::time::timeout(timeout, TcpStream::connect(address)).await {
            Ok(Ok(_)) => Ok(address),
            Ok(Err(error)) => Err(format!(
                "cannot connect to {} ({address}): {error}; is the server running?",
                self.url
            )),
            Err(_) => Err(format!(
                "cannot connect to {} ({address}): no answer within {} s",
                self.url,
                timeout.as_secs()
            )),
        }
    }
}

/// A `--header 'Name: value'` flag.
pub fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}`: expected 'Name: value'"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("`{}` is not a header name", name.trim()))?;
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| format!("the value of `{name}` is not a valid header value"))?;
    Ok((name, value))
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
        assert!(Target::parse("https://example.com").unwrap_err().contains("no TLS"));
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

    #[test]
    fn headers_are_name_colon_value() {
        let (name, value) = parse_header("Authorization:  Bearer abc ").unwrap();
        assert_eq!(
            (name.as_str(), value.to_str().unwrap()),
            ("authorization", "Bearer abc")
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: x").is_err());
    }
}
