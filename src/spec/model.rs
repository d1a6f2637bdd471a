//! The loaded form of an operation: everything the request path needs,
//! resolved and compiled once at start-up.

use std::sync::Arc;

use http::Method;
use serde_json::{Map, Value};

/// A schema converted to JSON Schema and compiled.
#[derive(Clone)]
pub struct CompiledSchema {
    /// The standalone JSON Schema document (with the `$defs` it reaches).
    pub document: Arc<Value>,
    /// The compiled validator of `document`, shared by every request checked against it.
    pub validator: Arc<jsonschema::Validator>,
}

impl std::fmt::Debug for CompiledSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledSchema")
            .field("document", &self.document)
            .finish()
    }
}

/// Where a parameter (or an API key) is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamIn {
    /// A segment of the path (`{name}` in its template).
    Path,
    /// The query string.
    Query,
    /// A header.
    Header,
    /// A cookie of the `Cookie` header.
    Cookie,
}

impl ParamIn {
    /// The name OpenAPI gives it (`in: query`), as problems and reports write it.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamIn::Path => "path",
            ParamIn::Query => "query",
            ParamIn::Header => "header",
            ParamIn::Cookie => "cookie",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamStyle {
    Simple,
    Form,
    Label,
    Matrix,
    SpaceDelimited,
    PipeDelimited,
    DeepObject,
}

/// The JSON type a parameter's text has to be read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    String,
    Integer,
    Number,
    Boolean,
    /// No type declared: keep the text.
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    Scalar(Scalar),
    Array(Scalar),
    Object(Vec<(String, Scalar)>),
    /// `content: application/json`: the text is a JSON document.
    Json,
}

#[derive(Debug, Clone)]
pub struct Parameter {
    pub name: String,
    pub location: ParamIn,
    pub required: bool,
    pub style: ParamStyle,
    pub explode: bool,
    pub shape: Shape,
    pub schema: Option<CompiledSchema>,
    /// Named examples, ordered as [`MediaSpec::examples`] (`example` is named "example").
    pub examples: Vec<(String, Value)>,
}

/// One media type of a request body or response.
#[derive(Debug, Clone)]
pub struct MediaSpec {
    /// Lower-case, without parameters: `application/json`, `text/*`.
    pub media_type: String,
    /// The body's schema (`None`: any body of this media type is accepted).
    pub schema: Option<CompiledSchema>,
    /// Named examples in declaration order (`example` is named "example").
    pub examples: Vec<(String, Value)>,
}

#[derive(Debug, Clone)]
pub struct RequestBody {
    pub required: bool,
    pub content: Vec<MediaSpec>,
}

/// A key of an operation's `responses`: which statuses a Response Object covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StatusKey {
    /// One status, `404`.
    Code(u16),
    /// `2XX`: the hundreds digit.
    Range(u16),
    /// `default`: any status no other key covers.
    Default,
}

impl StatusKey {
    /// A concrete status to send for this key.
    pub fn representative(self) -> u16 {
        match self {
            StatusKey::Code(code) => code,
            StatusKey::Range(hundreds) => hundreds * 100,
            StatusKey::Default => 500,
        }
    }

    /// Whether a response of `status` is described under this key.
    pub fn covers(self, status: u16) -> bool {
        match self {
            StatusKey::Code(code) => code == status,
            StatusKey::Range(hundreds) => status / 100 == hundreds,
            StatusKey::Default => true,
        }
    }
}

impl std::fmt::Display for StatusKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusKey::Code(code) => write!(f, "{code}"),
            StatusKey::Range(hundreds) => write!(f, "{hundreds}XX"),
            StatusKey::Default => f.write_str("default"),
        }
    }
}

/// One Response Object of an operation.
#[derive(Debug, Clone)]
pub struct ResponseSpec {
    /// Which statuses it describes.
    pub status: StatusKey,
    /// Its `description`, shown in reports and the admin API.
    pub description: String,
    /// The declared headers, as header parameters: a Header Object is a
    /// Parameter Object with `in: header` implied. A `Content-Type` header is
    /// left out, as OpenAPI says it is ignored.
    pub headers: Vec<Parameter>,
    /// Its media types, in declaration order; empty: no body.
    pub content: Vec<MediaSpec>,
}

/// What a security scheme needs to see on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// An API key in a header, query parameter or cookie.
    ApiKey {
        /// The key's parameter name.
        name: String,
        /// Where the key is sent.
        location: ParamIn,
    },
    /// `Authorization: <scheme> ...` (basic, bearer, digest ...).
    HttpScheme(String),
    /// OAuth2 and OpenID Connect: an `Authorization` header with a token. The
    /// mock cannot verify tokens, and some SDKs omit the `Bearer ` prefix.
    AuthorizationHeader,
}

#[derive(Debug, Clone)]
pub struct SecurityScheme {
    pub name: String,
    pub credential: Credential,
}

/// One operation of the spec: what a request to it must send and what it may be answered.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The operationId, or `METHOD /path` when the spec gives none.
    pub id: String,
    /// Its HTTP method.
    pub method: Method,
    /// Its path template as written, `/users/{id}`.
    pub path: String,
    /// Its parameters and the path item's (its own win on the same name and location).
    pub parameters: Vec<Parameter>,
    /// Its request body, if it declares one.
    pub request_body: Option<RequestBody>,
    /// Sorted: codes ascending, then ranges, then `default`.
    pub responses: Vec<ResponseSpec>,
    /// Alternatives (any one suffices), each a set of schemes (all needed).
    /// Empty: no credentials needed.
    pub security: Vec<Vec<SecurityScheme>>,
    /// Marked `x-websocket: true`: a WebSocket only (a plain GET gets 426).
    /// Any GET operation accepts an upgrade; this one requires it.
    pub websocket: bool,
    /// Its `x-` extensions, as written.
    pub extensions: Map<String, Value>,
    /// Where it is written.
    pub origin: Origin,
}

/// Where an operation is written: which of the served specs (an index into
/// `Spec::documents`), and the file and JSON pointer of its object (a path
/// item may sit in a file its spec `$ref`s).
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub document: usize,
    pub file: Arc<str>,
    pub pointer: String,
}

impl Operation {
    /// The id of an operation its spec gives no operationId.
    pub fn unnamed_id(method: &Method, path: &str) -> String {
        format!("{method} {path}")
    }

    /// Whether its spec declares its operationId (else it is named by its
    /// method and path).
    pub fn declares_id(&self) -> bool {
        self.id != Self::unnamed_id(&self.method, &self.path)
    }

    /// The response a request gets by default: the lowest 2xx, else the
    /// lowest declared code, else `default`.
    pub fn default_response(&self) -> Option<&ResponseSpec> {
        self.responses
            .iter()
            .find(|r| matches!(r.status, StatusKey::Code(200..=299)))
            .or_else(|| self.responses.iter().find(|r| r.status == StatusKey::Range(2)))
            .or_else(|| self.responses.first())
    }

    /// The Response Object that describes `status`: its own code, else its range, else `default`.
    pub fn response_for(&self, status: u16) -> Option<&ResponseSpec> {
        self.responses
            .iter()
            .find(|r| r.status == StatusKey::Code(status))
            .or_else(|| {
                self.responses
                    .iter()
                    .find(|r| matches!(r.status, StatusKey::Range(_)) && r.status.covers(status))
            })
            .or_else(|| self.responses.iter().find(|r| r.status == StatusKey::Default))
    }
}
