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

fn present(credential: &Credential, headers: &HeaderMap, query: &[(String, String)]) -> bool {
    let authorization = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    match credential {
        Credential::AuthorizationHeader => !authorization.is_empty(),
        Credential::HttpScheme(scheme) => authorization
            .split_once(' ')
            .is_some_and(|(given, rest)| given.eq_ignore_ascii_case(scheme) && !rest.trim().is_empty()),
        Credential::ApiKey { name, location } => match location {
            ParamIn::Header => headers.get(name.as_str()).is_some_and(|v| !v.is_empty()),
            ParamIn::Query => query.iter().any(|(key, value)| key == name && !value.is_empty()),
            ParamIn::Cookie => headers
                .get_all(http::header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .any(|pair| {
                    pair.trim()
                        .split_once('=')
                        .is_some_and(|(key, value)| key == name && !value.is_empty())
                }),
            ParamIn::Path => false,
        },
    }
}

fn challenge_of(credential: &Credential) -> String {
    match credential {
        Credential::AuthorizationHeader => "Bearer realm=\"specmock\"".to_string(),
        Credential::HttpScheme(scheme) => {
            let mut name = scheme.clone();
            if let Some(first) = name.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            format!("{name} realm=\"specmock\"")
        }
        Credential::ApiKey { name, location } => format!("ApiKey realm=\"specmock\", {}=\"{name}\"", location.as_str()),
    }
}

fn describe(credential: &Credential) -> String {
    match credential {
        Credential::AuthorizationHeader => "a non-empty Authorization header".to_string(),
        Credential::HttpScheme(scheme) => format!("an `Authorization: {scheme} ...` header"),
        Credential::ApiKey { name, location } => format!("API key `{name}` in the {}", location.as_str()),
    }
}
