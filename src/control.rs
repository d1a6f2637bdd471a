//! The mock's own request controls, read off a request and stripped before
//! validation: which session, which scenario, and Prism-compatible `Prefer`
//! overrides. Browsers and WebSocket clients cannot always set headers, so
//! each header has a query-parameter twin.

use http::HeaderMap;

pub const SESSION_HEADER: &str = "x-mock-session";
pub const SCENARIO_HEADER: &str = "x-mock-scenario";
pub const DEFAULT_SESSION: &str = "default";

/// The query parameters that are controls, never part of the API.
const TWINS: [&str; 5] = ["__session", "__scenario", "__code", "__example", "__dynamic"];

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controls {
    pub session: String,
    pub scenario: Option<String>,
    pub prefer: Prefer,
}

/// Reads the controls and returns the query without its control twins.
/// Headers win over their query twins.
pub fn extract(headers: &HeaderMap, query: Vec<(String, String)>) -> (Controls, Vec<(String, String)>) {
    let (twins, query): (Vec<_>, Vec<_>) = query.into_iter().partition(|(name, _)| TWINS.contains(&name.as_str()));
    let twin = |name: &str| twins.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string())
    };

    let mut prefer = Prefer {
        code: twin("__code"),
        example: twin("__example"),
        dynamic: twin("__dynamic").as_deref() == Some("true"),
    };
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
                "code" => prefer.code = Some(value),
                "example" => prefer.example = Some(value),
                "dynamic" => prefer.dynamic = value == "true",
                _ => {}
            }
        }
    }
    let controls = Controls {
        session: header(SESSION_HEADER)
            .or_else(|| twin("__session"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_SESSION.to_string()),
        scenario: header(SCENARIO_HEADER)
            .or_else(|| twin("__scenario"))
            .filter(|s| !s.is_empty()),
        prefer,
    };
    (controls, query)
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
        let (controls, _) = extract(&headers, query(&[("__session", "from-query")]));
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
    fn no_controls_means_the_default_session() {
        let (controls, _) = extract(&HeaderMap::new(), Vec::new());
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
