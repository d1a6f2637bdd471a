//! The mock's own request controls, read off a request and stripped before
//! validation: which session, which scenario, and Prism-compatible `Prefer`
//! overrides. Browsers and WebSocket clients cannot always set headers, so
//! each header has a query-parameter twin. And the mock's own paths, under
//! [`PREFIX`]: the admin API's, never the spec's.

use http::HeaderMap;

pub const SESSION_HEADER: &str = "x-mock-session";
pub const SCENARIO_HEADER: &str = "x-mock-scenario";
pub const DEFAULT_SESSION: &str = "default";

/// Where the admin API lives: every path under it is the mock's own, never routed to the spec.
pub const PREFIX: &str = "/__mock/";

/// The query parameters that are controls, never part of the API.
const TWINS: [&str; 5] = ["__session", "__scenario", "__code", "__example", "__dynamic"];

/// Whether a request header is one of the mock's controls (`X-Mock-*`):
/// said to the mock, never passed on to an upstream.
pub fn is_control_header(name: &http::HeaderName) -> bool {
    name.as_str().starts_with("x-mock-")
}

/// Whether a `Prefer` preference is one of the mock's (`code`, `example`,
/// `dynamic`); the API's own (`return`, `respond-async` ...) pass on.
pub fn is_control_preference(name: &str) -> bool {
    ["code", "example", "dynamic"]
        .iter()
        .any(|control| name.eq_ignore_ascii_case(control))
}

/// Whether a query parameter (its name as sent) is a control twin.
pub fn is_control_parameter(name: &str) -> bool {
    let decoded = crate::uri::decode_component(name).unwrap_or_else(|_| name.to_string());
    TWINS.contains(&decoded.as_str())
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prefer {
    /// `Prefer: code=409`: answer with this declared status.
    pub code: Option<String>,
    /// `Prefer: example=NAME`: answer with this named example.
    pub example: Option<String>,
    /// `Prefer: dynamic=true`: answer with freshly generated data.
    pub dynamic: bool,
}

impl Prefer {
    pub fn is_set(&self) -> bool {
        self.code.is_some() || self.example.is_some() || self.dynamic
    }
}

/// Where a request's session comes from when it names none explicitly
/// (`X-Mock-Session` / `__session` always win): lets an unmodified client be
/// isolated by something it already sends.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SessionKey {
    /// Everything without an explicit session shares `default`.
    #[default]
    Explicit,
    /// The value of this request header.
    Header(String),
    /// The value of this cookie.
    Cookie(String),
    /// The `sub` claim of a JWT bearer token (not verified: a mock only
    /// needs to tell clients apart).
    BearerSubject,
}

impl std::str::FromStr for SessionKey {
    type Err = String;

    /// `header:NAME`, `cookie:NAME` or `bearer-sub`.
    fn from_str(text: &str) -> Result<Self, String> {
        match text.split_once(':') {
            Some(("header", name)) if !name.is_empty() => Ok(SessionKey::Header(name.to_ascii_lowercase())),
            Some(("cookie", name)) if !name.is_empty() => Ok(SessionKey::Cookie(name.to_string())),
            None if text == "bearer-sub" => Ok(SessionKey::BearerSubject),
            _ => Err(format!(
                "`{text}`: expected `header:NAME`, `cookie:NAME` or `bearer-sub`"
            )),
        }
    }
}

impl SessionKey {
    fn read(&self, headers: &HeaderMap) -> Option<String> {
        let text = |name: &str| {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(str::trim)
                .collect::<Vec<_>>()
        };
        match self {
            SessionKey::Explicit => None,
            SessionKey::Header(name) => text(name).first().map(|v| v.to_string()),
            SessionKey::Cookie(name) => text("cookie")
                .iter()
                .flat_map(|v| v.split(';'))
                .filter_map(|pair| pair.trim().split_once('='))
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.to_string()),
            SessionKey::BearerSubject => {
                let token = text("authorization")
                    .first()?
                    .strip_prefix("Bearer ")?
                    .trim()
                    .to_string();
                let payload = base64url_decode(token.split('.').nth(1)?)?;
                let claims: serde_json::Value = serde_json::from_slice(&payload).ok()?;
                claims.get("sub")?.as_str().map(str::to_string)
            }
        }
        .filter(|value| !value.is_empty())
    }
}

/// Base64url without padding, as JWT segments are encoded.
fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let mut bits: u32 = 0;
    let mut count = 0;
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for byte in text.trim_end_matches('=').bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    Some(out)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controls {
    pub session: String,
    pub scenario: Option<String>,
    pub prefer: Prefer,
}

/// Reads the controls and returns the query without its control twins.
/// Headers win over their query twins.
pub fn extract(
    headers: &HeaderMap,
    query: Vec<(String, String)>,
    session_key: &SessionKey,
) -> (Controls, Vec<(String, String)>) {
    let (twins, query): (Vec<_>, Vec<_>) = query.into_iter().partition(|(name, _)| TWINS.contains(&name.as_str()));
    let twin = |name: &str| twins.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string())
    };

    // RFC 7240: a preference given twice counts the first time; the header
    // wins over its query twin.
    let (mut code, mut example, mut dynamic) = (None, None, None);
    for value in headers
        .get_all(http::header::HeaderName::from_static("prefer"))
        .iter()
        .filter_map(|v| v.to_str().ok())
    {
        for preference in value.split([',', ';']) {
            let Some((key, value)) = preference.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"').to_string();
            match key.trim().to_ascii_lowercase().as_str() {
                "code" => code = code.or(Some(value)),
                "example" => example = example.or(Some(value)),
                "dynamic" => dynamic = dynamic.or(Some(value == "true")),
                _ => {}
            }
        }
    }
    let prefer = Prefer {
        code: code.or_else(|| twin("__code")),
        example: example.or_else(|| twin("__example")),
        dynamic: dynamic.unwrap_or_else(|| twin("__dynamic").as_deref() == Some("true")),
    };
    let controls = Controls {
        session: header(SESSION_HEADER)
            .or_else(|| twin("__session"))
            .or_else(|| session_key.read(headers))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_SESSION.to_string()),
        scenario: header(SCENARIO_HEADER)
            .or_else(|| twin("__scenario"))
            .filter(|s| !s.is_empty()),
        prefer,
    };
    (controls, query)
}

/// The session a request names, for one refused before its controls are
/// read (a wrong path, say): the journal still files it under its session.
pub fn session_of(headers: &HeaderMap, raw_query: &str, session_key: &SessionKey) -> String {
    let query = crate::uri::parse_query(raw_query).unwrap_or_default();
    extract(headers, query, session_key).0.session
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn twins_are_read_and_removed() {
        let (controls, rest) = extract(
            &HeaderMap::new(),
            query(&[("__session", "t1"), ("limit", "5"), ("__code", "409")]),
            &SessionKey::Explicit,
        );
        assert_eq!(controls.session, "t1");
        assert_eq!(controls.prefer.code.as_deref(), Some("409"));
        assert_eq!(rest, query(&[("limit", "5")]));
    }

    #[test]
    fn headers_win_and_prefer_is_parsed() {
        let mut headers = HeaderMap::new();
        headers.insert(SESSION_HEADER, "from-header".parse().unwrap());
        headers.insert(
            "prefer",
            "code=511, example=\"signed-out\"; dynamic=true".parse().unwrap(),
        );
        let (controls, _) = extract(&headers, query(&[("__session", "from-query")]), &SessionKey::Explicit);
        assert_eq!(controls.session, "from-header");
        assert_eq!(
            controls.prefer,
            Prefer {
                code: Some("511".into()),
                example: Some("signed-out".into()),
                dynamic: true
            }
        );
    }

    #[test]
    fn session_keys_read_headers_cookies_and_bearer_subjects() {
        let mut headers = HeaderMap::new();
        headers.insert("x-test-name", "suite-a".parse().unwrap());
        headers.insert("cookie", "theme=dark; sid=abc123".parse().unwrap());
        // {"sub":"user-42"} as a JWT payload (signature irrelevant).
        headers.insert(
            "authorization",
            "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyLTQyIn0.x".parse().unwrap(),
        );
        let session = |headers: &HeaderMap, key: &str| extract(headers, Vec::new(), &key.parse().unwrap()).0.session;
        assert_eq!(session(&headers, "header:X-Test-Name"), "suite-a");
        assert_eq!(session(&headers, "cookie:sid"), "abc123");
        assert_eq!(session(&headers, "bearer-sub"), "user-42");
        assert_eq!(session(&headers, "cookie:missing"), DEFAULT_SESSION);
        assert!("nonsense".parse::<SessionKey>().is_err());
        headers.insert(SESSION_HEADER, "explicit".parse().unwrap());
        assert_eq!(
            session(&headers, "cookie:sid"),
            "explicit",
            "an explicit session always wins"
        );
    }

    #[test]
    fn no_controls_means_the_default_session() {
        let (controls, _) = extract(&HeaderMap::new(), Vec::new(), &SessionKey::Explicit);
        assert_eq!(
            controls,
            Controls {
                session: DEFAULT_SESSION.into(),
                scenario: None,
                prefer: Prefer::default()
            }
        );
    }
}
