//! Are the credentials an operation requires present? The mock cannot
//! verify a token, only that the client sent one where the spec says.

use http::HeaderMap;

use crate::spec::{Credential, ParamIn, SecurityScheme};

/// `Ok` when one alternative is fully satisfied; otherwise the
/// `WWW-Authenticate` challenge and a sentence saying what was expected.
pub fn check(
    alternatives: &[Vec<SecurityScheme>],
    headers: &HeaderMap,
    query: &[(String, String)],
) -> Result<(), (String, String)> {
    if alternatives.is_empty()
        || alternatives
            .iter()
            .any(|all| all.iter().all(|scheme| present(&scheme.credential, headers, query)))
    {
        return Ok(());
    }
    let mut challenges: Vec<String> = alternatives
        .iter()
        .flatten()
        .map(|s| challenge_of(&s.credential))
        .collect();
    challenges.dedup();
    let challenge = challenges.join(", ");
    let expected = alternatives
        .iter()
        .map(|all| {
            all.iter()
                .map(|s| format!("{} ({})", s.name, describe(&s.credential)))
                .collect::<Vec<_>>()
                .join(" and ")
        })
        .collect::<Vec<_>>()
        .join(", or ");
    Err((challenge, format!("missing credentials: expected {expected}")))
}

/// A credential of only whitespace is no credential, wherever it is sent.
fn present(credential: &Credential, headers: &HeaderMap, query: &[(String, String)]) -> bool {
    match credential {
        Credential::AuthorizationHeader => match authorization(headers) {
            // Some SDKs send the bare token, which reads here as a scheme
            // with nothing after it: only `Bearer` alone is no token.
            (first, "") => !first.is_empty() && !first.eq_ignore_ascii_case("bearer"),
            _ => true,
        },
        Credential::HttpScheme(scheme) => {
            let (given, credentials) = authorization(headers);
            given.eq_ignore_ascii_case(scheme) && !credentials.is_empty()
        }
        Credential::ApiKey { name, location } => match location {
            ParamIn::Header => headers
                .get(name.as_str())
                .is_some_and(|v| !v.as_bytes().trim_ascii().is_empty()),
            ParamIn::Query => query.iter().any(|(key, value)| key == name && !value.trim().is_empty()),
            ParamIn::Cookie => headers
                .get_all(http::header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .any(|pair| {
                    pair.trim()
                        .split_once('=')
                        .is_some_and(|(key, value)| key == name && !value.trim().is_empty())
                }),
            ParamIn::Path => false,
        },
    }
}

/// `Authorization: <scheme> <credentials>` (RFC 7235) as `(scheme,
/// credentials)`, both trimmed; `("", "")` when the header is absent, not
/// text, or only whitespace.
fn authorization(headers: &HeaderMap) -> (&str, &str) {
    let value = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    match value.split_once(' ') {
        Some((scheme, credentials)) => (scheme, credentials.trim()),
        None => (value, ""),
    }
}

fn challenge_of(credential: &Credential) -> String {
    match credential {
        Credential::AuthorizationHeader => "Bearer realm=\"specmock\"".to_string(),
        Credential::HttpScheme(scheme) => {
            // A header value cannot hold control characters: without them
            // the challenge still names the scheme.
            let mut name: String = scheme.chars().filter(|c| !c.is_ascii_control()).collect();
            if let Some(first) = name.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            format!("{name} realm=\"specmock\"")
        }
        Credential::ApiKey { name, location } => {
            format!("ApiKey realm=\"specmock\", {}={}", location.as_str(), quoted(name))
        }
    }
}

/// An RFC 9110 quoted-string. A spec may name its API key anything; control
/// characters cannot be in a header value at all, so they are %-escaped
/// rather than losing the whole challenge.
fn quoted(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            c if c.is_ascii_control() && c != '\t' => quoted.push_str(&format!("%{:02X}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

fn describe(credential: &Credential) -> String {
    match credential {
        Credential::AuthorizationHeader => "an Authorization header with a token".to_string(),
        Credential::HttpScheme(scheme) => format!("an `Authorization: {scheme} ...` header"),
        Credential::ApiKey { name, location } => format!("API key `{name}` in the {}", location.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_valid_header_values_whatever_the_spec_names() {
        for credential in [
            Credential::ApiKey {
                name: "X-\"Key\"\r\nSet-Cookie: a=b\\".into(),
                location: ParamIn::Header,
            },
            Credential::HttpScheme("bea\nrer".into()),
        ] {
            let challenge = challenge_of(&credential);
            assert!(http::HeaderValue::from_str(&challenge).is_ok(), "{challenge}");
            assert!(!challenge.contains('\n'), "{challenge}");
        }
        let api_key = Credential::ApiKey {
            name: "a\"b\n".into(),
            location: ParamIn::Query,
        };
        assert_eq!(challenge_of(&api_key), r#"ApiKey realm="specmock", query="a\"b%0A""#);
    }
}
