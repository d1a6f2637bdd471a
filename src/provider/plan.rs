//! What to send to each operation, decided from plain data before anything
//! is sent: the spec's examples (or data generated from the schema), the
//! chosen scenario's request matches, and credentials of the right shape.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::Value;

use super::wire::{encode, header_text, path_segment, query_pairs, query_string, text};
use crate::render::{generate, mismatch, preferred_media};
use crate::scenario::template::merge;
use crate::scenario::{Rule, Scenario};
use crate::spec::{Credential, MediaSpec, Operation, ParamIn, Parameter, SecurityScheme, Spec};

/// Requests sent to one operation at most: enough to try each example and
/// scenario match, few enough to keep a run short against a real server
/// (`verify --help` names the number).
const MAX_REQUESTS: usize = 5;
/// Generated values are the same on every run.
const SEED: u64 = 0;
/// The placeholder credential (and value of last resort).
const PLACEHOLDER: &str = "specmock-verify";
const FORM: &str = "application/x-www-form-urlencoded";

/// One request to send.
#[derive(Debug, Clone)]
pub struct Probe {
    /// What it is built from: `example `NAME``, `a generated body`, `scenario rule FILE rules[N]`.
    pub source: String,
    pub method: Method,
    /// Path and query, after the base URL's path.
    pub target: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// A WebSocket handshake, whose first frame is the answer to check.
    pub websocket: bool,
}

impl Probe {
    fn same_request(&self, other: &Probe) -> bool {
        (&self.method, &self.target, &self.headers, &self.body)
            == (&other.method, &other.target, &other.headers, &other.body)
    }
}

/// The requests of one operation, and why some candidates were not sent.
#[derive(Debug)]
pub struct Planned {
    /// Index into `spec.operations`.
    pub operation: usize,
    pub probes: Vec<Probe>,
    pub notes: Vec<String>,
}

/// Every operation, those that only read first (so they see the server as
/// it started), then the others in the spec's order.
pub fn plan(spec: &Spec, scenario: Option<&Scenario>, user_headers: &[(HeaderName, HeaderValue)]) -> Vec<Planned> {
    let (reads, writes): (Vec<usize>, Vec<usize>) =
        (0..spec.operations.len()).partition(|&i| spec.operations[i].method.is_safe());
    reads
        .into_iter()
        .chain(writes)
        .map(|index| {
            let rules: Vec<&Rule> = scenario
                .into_iter()
                .flat_map(|s| s.rules.iter())
                .filter(|r| r.operation == index && matches_request(r))
                .map(|r| r.as_ref())
                .collect();
            plan_operation(index, &spec.operations[index], &rules, user_headers)
        })
        .collect()
}

/// Whether a rule matches on something a request carries (not only the operation and state).
fn matches_request(rule: &Rule) -> bool {
    rule.body.is_some() || !rule.query.is_empty() || !rule.headers.is_empty() || !rule.path.is_empty()
}

/// A candidate request before it is built.
struct Variant<'r> {
    source: String,
    body: Option<Value>,
    rule: Option<&'r Rule>,
}

fn plan_operation(
    index: usize,
    operation: &Operation,
    rules: &[&Rule],
    user_headers: &[(HeaderName, HeaderValue)],
) -> Planned {
    let media = operation
        .request_body
        .as_ref()
        .and_then(|body| preferred_media(&body.content));
    let bodies = media.map(bodies_of).unwrap_or_default();
    let first = bodies.first().map(|(_, body)| body);
    // The first body, then each scenario match (its body merged over the
    // first, so it stays valid), then the other examples.
    let mut variants = vec![Variant {
        source: bodies
            .first()
            .map_or_else(|| "the spec".to_string(), |(source, _)| source.clone()),
        body: first.cloned(),
        rule: None,
    }];
    for rule in rules {
        let body = match (&rule.body, first) {
            (Some(overlay), Some(base)) => {
                let mut body = base.clone();
                merge(&mut body, overlay.clone());
                Some(body)
            }
            (overlay, base) => overlay.as_ref().or(base).cloned(),
        };
        variants.push(Variant {
            source: format!("scenario rule {}", rule.label),
            body,
            rule: Some(rule),
        });
    }
    variants.extend(bodies.iter().skip(1).map(|(source, body)| Variant {
        source: source.clone(),
        body: Some(body.clone()),
        rule: None,
    }));

    let mut planned = Planned {
        operation: index,
        probes: Vec::new(),
        notes: Vec::new(),
    };
    let mut left_out = 0;
    for variant in variants {
        let body = media.zip(variant.body.as_ref());
        if let Some(problem) = body.and_then(|(media, value)| mismatch(media, value)) {
            planned.notes.push(format!(
                "{} is not sent: it breaks the request schema: {problem}",
                variant.source
            ));
            continue;
        }
        let probe = build(operation, variant.source, body, variant.rule, user_headers);
        if planned.probes.iter().any(|p| p.same_request(&probe)) {
            continue;
        }
        if planned.probes.len() == MAX_REQUESTS {
            left_out += 1;
        } else {
            planned.probes.push(probe);
        }
    }
    if left_out > 0 {
        planned.notes.push(format!(
            "{left_out} more request(s) not sent: at most {MAX_REQUESTS} per operation"
        ));
    }
    planned
}

/// The request bodies the spec offers: its examples, else one generated from the schema.
fn bodies_of(media: &MediaSpec) -> Vec<(String, Value)> {
    if !media.examples.is_empty() {
        return media
            .examples
            .iter()
            .map(|(name, value)| (format!("example `{name}`"), value.clone()))
            .collect();
    }
    media
        .schema
        .iter()
        .map(|schema| ("a generated body".to_string(), generate(&schema.document, SEED)))
        .collect()
}

fn build(
    operation: &Operation,
    source: String,
    body: Option<(&MediaSpec, &Value)>,
    rule: Option<&Rule>,
    user_headers: &[(HeaderName, HeaderValue)],
) -> Probe {
    let mut path = operation.path.clone();
    let mut query: Vec<(String, String)> = Vec::new();
    let mut headers = HeaderMap::new();
    let mut cookies: Vec<String> = Vec::new();
    for parameter in &operation.parameters {
        let Some(value) = value_of(parameter) else { continue };
        match parameter.location {
            ParamIn::Path => {
                let segment = rule
                    .and_then(|r| r.path.iter().find(|(name, _)| *name == parameter.name))
                    .map_or_else(|| path_segment(parameter, &value), |(_, text)| encode(text));
                path = path.replace(&format!("{{{}}}", parameter.name), &segment);
            }
            ParamIn::Query => query.extend(query_pairs(parameter, &value)),
            ParamIn::Header => insert(&mut headers, &parameter.name, &header_text(parameter, &value)),
            ParamIn::Cookie => cookies.push(format!("{}={}", parameter.name, header_text(parameter, &value))),
        }
    }
    for (location, name, value) in credentials(&operation.security, user_headers) {
        match location {
            ParamIn::Query => query.push((name, value)),
            ParamIn::Cookie => cookies.push(format!("{name}={value}")),
            ParamIn::Header | ParamIn::Path => insert(&mut headers, &name, &value),
        }
    }
    if let Some(rule) = rule {
        query.retain(|(name, _)| !rule.query.iter().any(|(n, _)| n == name));
        query.extend(rule.query.iter().cloned());
        for (name, value) in &rule.headers {
            insert(&mut headers, name.as_str(), value);
        }
    }
    if !cookies.is_empty() {
        insert(&mut headers, "cookie", &cookies.join("; "));
    }
    let body = body.map(|(media, value)| encode_body(media, value));
    if let Some((content_type, _)) = &body {
        insert(&mut headers, "content-type", content_type);
    }
    for (name, _) in user_headers {
        headers.remove(name);
    }
    for (name, value) in user_headers {
        headers.append(name.clone(), value.clone());
    }
    let target = match query.is_empty() {
        true => path,
        false => format!("{path}?{}", query_string(&query)),
    };
    Probe {
        source,
        method: operation.method.clone(),
        target,
        headers,
        body: body.map(|(_, bytes)| bytes).unwrap_or_default(),
        websocket: operation.websocket,
    }
}

/// A parameter's first example; a required one without examples gets a value generated from its schema.
fn value_of(parameter: &Parameter) -> Option<Value> {
    if let Some((_, example)) = parameter.examples.first() {
        return Some(example.clone());
    }
    parameter.required.then(|| {
        parameter
            .schema
            .as_ref()
            .map_or_else(|| Value::from(PLACEHOLDER), |schema| generate(&schema.document, SEED))
    })
}

/// Sets a header; a name or value that cannot be a header is left out (the
/// server then reports the parameter missing, which the report shows).
fn insert(headers: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
        headers.insert(name, value);
    }
}

/// The body's Content-Type and bytes, encoded as the mock encodes bodies of that media type.
fn encode_body(media: &MediaSpec, value: &Value) -> (String, Bytes) {
    if media.media_type == FORM {
        let pairs: Vec<(String, String)> = match value {
            Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
            _ => Vec::new(),
        };
        return (FORM.to_string(), Bytes::from(query_string(&pairs)));
    }
    let encoded = crate::render::encode(0, media, value);
    let content_type = encoded
        .content_type
        .as_ref()
        .and_then(|c| std::str::from_utf8(c.as_bytes()).ok());
    (content_type.unwrap_or_default().to_string(), encoded.body)
}

/// Placeholder credentials of the right shape, as `(where, name, value)`,
/// for the first security alternative whose headers the user passed
/// (`--header`), else the first; the user's own headers replace them.
fn credentials(
    security: &[Vec<SecurityScheme>],
    user_headers: &[(HeaderName, HeaderValue)],
) -> Vec<(ParamIn, String, String)> {
    let passed = |scheme: &SecurityScheme| {
        let header = match &scheme.credential {
            Credential::ApiKey {
                name,
                location: ParamIn::Header,
            } => name.as_str(),
            Credential::ApiKey { .. } => return false,
            Credential::HttpScheme(_) | Credential::AuthorizationHeader => "authorization",
        };
        user_headers
            .iter()
            .any(|(name, _)| name.as_str().eq_ignore_ascii_case(header))
    };
    let Some(chosen) = security
        .iter()
        .find(|alternative| alternative.iter().all(passed))
        .or_else(|| security.first())
    else {
        return Vec::new();
    };
    chosen
        .iter()
        .map(|scheme| match &scheme.credential {
            Credential::ApiKey { name, location } => (*location, name.clone(), PLACEHOLDER.to_string()),
            Credential::HttpScheme(kind) if kind == "basic" => (
                ParamIn::Header,
                "authorization".into(),
                format!("Basic {}", data_encoding::BASE64.encode(b"specmock:verify")),
            ),
            Credential::HttpScheme(kind) => {
                let mut chars = kind.chars();
                let scheme: String = chars
                    .next()
                    .into_iter()
                    .flat_map(char::to_uppercase)
                    .chain(chars)
                    .collect();
                (
                    ParamIn::Header,
                    "authorization".into(),
                    format!("{scheme} {PLACEHOLDER}"),
                )
            }
            Credential::AuthorizationHeader => {
                (ParamIn::Header, "authorization".into(), format!("Bearer {PLACEHOLDER}"))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(text: &str) -> Spec {
        crate::spec::load_text("t.yaml", text, None).expect("the test spec loads")
    }

    const HEAD: &str = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n";

    #[test]
    fn reads_go_first_and_bodies_come_from_examples() {
        let spec = spec(&format!(
            "{HEAD}paths:
  /a:
    post:
      operationId: write
      requestBody:
        content:
          application/json:
            schema: {{type: object, required: [n], properties: {{n: {{type: integer}}}}}}
            examples:
              one: {{value: {{n: 1}}}}
              two: {{value: {{n: 2}}}}
              bad: {{value: {{n: x}}}}
      responses: {{'200': {{description: ok}}}}
    get:
      operationId: read
      responses: {{'200': {{description: ok}}}}
"
        ));
        let planned = plan(&spec, None, &[]);
        assert_eq!(spec.operations[planned[0].operation].id, "read");
        let write = &planned[1];
        let bodies: Vec<&[u8]> = write.probes.iter().map(|p| p.body.as_ref()).collect();
        assert_eq!(bodies, vec![&br#"{"n":1}"#[..], br#"{"n":2}"#]);
        assert_eq!(write.probes[0].headers["content-type"], "application/json");
        assert_eq!(write.probes[0].source, "example `one`");
        assert!(
            write.notes[0].starts_with("example `bad` is not sent: it breaks the request schema: /n"),
            "{:?}",
            write.notes
        );
    }

    #[test]
    fn parameters_and_credentials_are_placed() {
        let spec = spec(&format!(
            "{HEAD}paths:
  /items/{{id}}:
    get:
      operationId: item
      security: [{{key: []}}, {{token: []}}]
      parameters:
        - {{name: id, in: path, required: true, schema: {{type: integer}}, example: 42}}
        - {{name: tags, in: query, required: true, schema: {{type: array, items: {{type: string}}}}, example: [a, b c]}}
        - {{name: optional, in: query, schema: {{type: string}}}}
        - {{name: X-Trace, in: header, required: true, schema: {{type: string, enum: [t1]}}}}
      responses: {{'200': {{description: ok}}}}
components:
  securitySchemes:
    key: {{type: apiKey, in: query, name: api_key}}
    token: {{type: http, scheme: bearer}}
"
        ));
        let probe = &plan(&spec, None, &[])[0].probes[0];
        assert_eq!(probe.target, "/items/42?tags=a&tags=b%20c&api_key=specmock-verify");
        assert_eq!(probe.headers["x-trace"], "t1");
        assert!(probe.headers.get("authorization").is_none());
        // A user's Authorization header picks the alternative it satisfies.
        let user = [(
            HeaderName::from_static("authorization"),
            HeaderValue::from_static("Bearer real"),
        )];
        let probe = &plan(&spec, None, &user)[0].probes[0];
        assert_eq!(probe.target, "/items/42?tags=a&tags=b%20c");
        assert_eq!(probe.headers["authorization"], "Bearer real");
    }

    #[test]
    fn placeholder_credentials_have_the_scheme_shape() {
        let scheme = |credential| SecurityScheme {
            name: "s".into(),
            credential,
        };
        let security = vec![vec![
            scheme(Credential::HttpScheme("basic".into())),
            scheme(Credential::ApiKey {
                name: "X-Key".into(),
                location: ParamIn::Header,
            }),
        ]];
        let found = credentials(&security, &[]);
        assert_eq!(found[0].2, "Basic c3BlY21vY2s6dmVyaWZ5");
        assert_eq!((found[1].1.as_str(), found[1].2.as_str()), ("X-Key", PLACEHOLDER));
        let oauth = vec![vec![scheme(Credential::AuthorizationHeader)]];
        assert_eq!(credentials(&oauth, &[])[0].2, "Bearer specmock-verify");
    }

    #[test]
    fn scenario_matches_are_merged_over_the_first_example() {
        let spec = spec(&format!(
            "{HEAD}paths:
  /v:
    post:
      operationId: vanity
      parameters: [{{name: dry, in: query, schema: {{type: boolean}}}}]
      requestBody:
        content:
          application/json:
            schema: {{type: object, required: [id], properties: {{id: {{type: string}}, name: {{type: string}}}}}}
            example: {{id: u1, name: jordan}}
      responses: {{'200': {{description: ok}}}}
"
        ));
        let rule = |label: &str, body: Option<Value>, query: Vec<(String, String)>| {
            std::sync::Arc::new(Rule {
                label: label.into(),
                operation: 0,
                operation_id: "vanity".into(),
                states: Vec::new(),
                body,
                query,
                headers: vec![(HeaderName::from_static("x-mode"), "strict".into())],
                path: Vec::new(),
                reaction: crate::scenario::Reaction::Respond {
                    responses: Vec::new(),
                    cycle: false,
                },
                times: None,
                store: Vec::new(),
                forget: Vec::new(),
                then_state: None,
            })
        };
        let scenario = Scenario {
            name: "s".into(),
            description: String::new(),
            file: "s.yaml".into(),
            initial: "start".into(),
            store: Default::default(),
            rules: vec![
                rule("s.yaml rules[0]", Some(json!({"name": "taken"})), Vec::new()),
                rule("s.yaml rules[1]", None, vec![("dry".into(), "true".into())]),
            ],
            replay: false,
        };
        let probes = &plan(&spec, Some(&scenario), &[])[0].probes;
        assert_eq!(probes.len(), 3);
        assert_eq!(probes[1].source, "scenario rule s.yaml rules[0]");
        assert_eq!(probes[1].body.as_ref(), br#"{"id":"u1","name":"taken"}"#);
        assert_eq!(probes[1].headers["x-mode"], "strict");
        assert_eq!(probes[2].target, "/v?dry=true");
        assert_eq!(probes[2].body.as_ref(), br#"{"id":"u1","name":"jordan"}"#);
    }
}
