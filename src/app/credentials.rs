//! The credentials a request carries, so that a response body echoing one
//! (a template reading `request.headers.authorization`, say) is journaled,
//! and shown in the page, with `[redacted]` in its place: what a test sends
//! as a secret stays out of what the mock shows.

use bytes::Bytes;
use http::request::Parts;
use http::HeaderName;

use crate::spec::{Credential, ParamIn, Spec};

/// What stands for a credential in a journaled body.
const REDACTED: &[u8] = b"[redacted]";

/// Values shorter than this are not looked for: `1` or `on` would be
/// replaced everywhere, and are no secrets.
const SHORTEST: usize = 4;

/// Where a request carries credentials: `Authorization`,
/// `Proxy-Authorization` and `Cookie`, and the spec's API keys.
#[derive(Debug, Default)]
pub struct CredentialNames {
    headers: Vec<HeaderName>,
    query: Vec<String>,
    cookies: Vec<String>,
}

impl CredentialNames {
    pub fn of(spec: &Spec) -> Self {
        let mut names = Self {
            headers: vec![
                http::header::AUTHORIZATION,
                http::header::PROXY_AUTHORIZATION,
                http::header::COOKIE,
            ],
            ..Self::default()
        };
        let schemes = spec.operations.iter().flat_map(|o| o.security.iter().flatten());
        for scheme in schemes {
            let Credential::ApiKey { name, location } = &scheme.credential else {
                continue;
            };
            match location {
                ParamIn::Header => names.headers.extend(HeaderName::from_bytes(name.as_bytes()).ok()),
                ParamIn::Query => names.query.push(name.clone()),
                ParamIn::Cookie => names.cookies.push(name.clone()),
                ParamIn::Path => {}
            }
        }
        for list in [&mut names.query, &mut names.cookies] {
            list.sort();
            list.dedup();
        }
        // `dedup` drops neighbours only: sorted first, a header two schemes name is kept once.
        names.headers.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        names.headers.dedup();
        names
    }

    /// The query parameters the spec's API keys are sent in.
    pub fn query_names(&self) -> &[String] {
        &self.query
    }

    /// The credentials `parts` carries, as sent and as a JSON string holds
    /// them, longest first (so a token inside a header value goes with it).
    fn carried(&self, parts: &Parts) -> Vec<Vec<u8>> {
        let mut values: Vec<String> = Vec::new();
        for name in &self.headers {
            for value in parts.headers.get_all(name) {
                let Ok(value) = value.to_str() else { continue };
                values.push(value.to_string());
                // `Bearer TOKEN`: the token alone too.
                values.extend(
                    value
                        .split_once(' ')
                        .map(|(_, credentials)| credentials.trim().to_string()),
                );
            }
        }
        if !self.query.is_empty() {
            let query = crate::uri::parse_query(parts.uri.query().unwrap_or("")).unwrap_or_default();
            values.extend(
                query
                    .into_iter()
                    .filter(|(name, _)| self.query.contains(name))
                    .map(|(_, v)| v),
            );
        }
        let cookies = parts.headers.get_all(http::header::COOKIE).iter();
        let pairs = cookies.filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';'));
        for (name, value) in pairs.filter_map(|pair| pair.trim().split_once('=')) {
            if self.cookies.iter().any(|wanted| wanted == name) {
                values.push(value.to_string());
            }
        }
        let mut forms: Vec<Vec<u8>> = Vec::new();
        for value in values.into_iter().filter(|v| v.len() >= SHORTEST) {
            let quoted = serde_json::to_string(&value).expect("a string always serializes");
            let escaped = quoted.as_bytes()[1..quoted.len() - 1].to_vec();
            if escaped != value.as_bytes() {
                forms.push(escaped);
            }
            forms.push(value.into_bytes());
        }
        // Longest first; equal forms side by side, so that `dedup` drops every repeat.
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        forms
    }

    /// `body` with each credential `parts` carried replaced by
    /// `[redacted]`; `body` itself when it holds none.
    pub fn redact(&self, parts: &Parts, body: Bytes) -> Bytes {
        let mut redacted: Option<Vec<u8>> = None;
        for secret in self.carried(parts) {
            let current = redacted.as_deref().unwrap_or(&body);
            if let Some(replaced) = replace_all(current, &secret) {
                redacted = Some(replaced);
            }
        }
        redacted.map_or(body, Bytes::from)
    }
}

/// `text` with every `secret` replaced by [`REDACTED`], or `None` if it holds none.
fn replace_all(text: &[u8], secret: &[u8]) -> Option<Vec<u8>> {
    let find = |from: usize| {
        text.get(from..)?
            .windows(secret.len())
            .position(|window| window == secret)
            .map(|at| from + at)
    };
    let mut at = find(0)?;
    let mut replaced = Vec::with_capacity(text.len());
    let mut copied = 0;
    loop {
        replaced.extend_from_slice(&text[copied..at]);
        replaced.extend_from_slice(REDACTED);
        copied = at + secret.len();
        match find(copied) {
            Some(next) => at = next,
            None => break,
        }
    }
    replaced.extend_from_slice(&text[copied..]);
    Some(replaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "openapi: 3.0.3
info: { title: keys, version: '1' }
paths:
  /a:
    get:
      operationId: a
      security: [{ header-key: [] }, { query-key: [] }, { cookie-key: [] }]
      responses: { '200': { description: ok } }
components:
  securitySchemes:
    header-key: { type: apiKey, in: header, name: X-Api-Key }
    query-key: { type: apiKey, in: query, name: api_key }
    cookie-key: { type: apiKey, in: cookie, name: token }
";

    #[test]
    fn every_credential_a_request_carried_is_redacted_as_sent_and_as_json_holds_it() {
        let spec = crate::spec::load_text("spec.yaml", SPEC, None).expect("the spec loads");
        let names = CredentialNames::of(&spec);
        let parts = http::Request::get("/a?api_key=query%20secret&page=2")
            .header("authorization", "Basic dXNlcjpwYXNz")
            .header("x-api-key", "header-secret")
            .header("cookie", "theme=dark; token=cookie\"secret")
            .body(())
            .expect("a request")
            .into_parts()
            .0;
        let body = br#"{"a":"Basic dXNlcjpwYXNz","b":"dXNlcjpwYXNz","c":"header-secret","d":"query secret","e":"cookie\"secret","f":"dark","g":2}"#;
        let shown = names.redact(&parts, Bytes::from_static(body));
        assert_eq!(
            std::str::from_utf8(&shown).unwrap(),
            r#"{"a":"[redacted]","b":"[redacted]","c":"[redacted]","d":"[redacted]","e":"[redacted]","f":"dark","g":2}"#
        );
        let plain = Bytes::from_static(b"{\"nothing\":\"to hide\"}");
        assert_eq!(
            names.redact(&parts, plain.clone()).as_ptr(),
            plain.as_ptr(),
            "not copied"
        );
    }
}
