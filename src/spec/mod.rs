//! Loading an OpenAPI 3.0 or 3.1 document: structure through `openapiv3`
//! (3.1's schemas hidden from it, see `oas31`), schemas converted to JSON
//! Schema and compiled once, routes built. Everything here runs at start-up;
//! nothing on the request path touches the document again.

mod budget;
pub(crate) mod compile;
pub mod dialect;
pub(crate) mod json_budget;
pub mod model;
pub mod oas31;
pub mod parse;
mod reference;
pub mod router;
mod several;
pub mod source;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use http::Method;
use openapiv3::{OpenAPI, ReferenceOr};
use serde::de::DeserializeOwned;
use serde::Deserialize as _;
use serde_json::Value;

use crate::diagnostic::{escape_pointer_token, Diagnostic, Position};
use dialect::{Dialect, Direction, SchemaSet};
pub use model::*;
use parse::{parse_document, parse_typed, NodeBudget};
pub use reference::{find_operation, grouped, qualified_name};
use router::Router;
pub use several::combine;
use source::{unresolved, Documents, RefTarget};

/// The vendor extension that marks a GET operation as a WebSocket.
pub const WEBSOCKET_EXTENSION: &str = "x-websocket";

/// A loaded, compiled spec.
pub struct Spec {
    /// The label of the first spec's file, for diagnostics.
    pub file: String,
    /// The files its `$ref`s reached, by the paths they were read from.
    pub referenced: Vec<String>,
    /// The first spec's `info.title`.
    pub title: String,
    /// Every operation of every spec served; rules and routes refer to them by index.
    pub operations: Vec<Operation>,
    /// Method and path to an index into `operations`.
    pub router: Router,
    /// The explicit port of the first server URL, if any.
    pub default_port: Option<u16>,
    /// 3.1 webhooks, as `NAME METHOD`: declared, not served.
    pub webhooks: Vec<String>,
    /// What the document declares that a mock cannot honour, located.
    pub warnings: Vec<Diagnostic>,
    /// The specs served, in the order named (one, unless `--spec` was
    /// given again); `file`, `title` and `default_port` are the first's.
    pub documents: Vec<Document>,
}

/// One of the specs served together.
#[derive(Debug, Clone)]
pub struct Document {
    /// The file's name without its extension: how scenario rules
    /// (`STEM:operationId`) and reports name the spec.
    pub stem: String,
    pub file: String,
    /// Its `info.title`.
    pub title: String,
    /// Taken from its server URLs: its operations are routed under these.
    pub base_paths: Vec<String>,
}

impl Spec {
    /// The operation with this id (operationId, or `METHOD /path`).
    pub fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|op| op.id == id)
    }

    /// Every spec file and every file their `$ref`s reached.
    pub fn files(&self) -> impl Iterator<Item = &String> {
        self.documents
            .iter()
            .map(|document| &document.file)
            .chain(&self.referenced)
    }

    /// The stem of the spec `operation` is written in, when several are
    /// served (lists of operations are grouped by it); `None` with one.
    pub fn group_of(&self, operation: &Operation) -> Option<&str> {
        (self.documents.len() > 1).then(|| self.document_of(operation).stem.as_str())
    }

    /// The spec `operation` is written in.
    pub fn document_of(&self, operation: &Operation) -> &Document {
        &self.documents[operation.origin.document]
    }
}

/// Loads the spec at `path`; relative `$ref`s resolve against its directory.
pub fn load_file(path: &Path) -> Result<Spec, Diagnostic> {
    let label = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| Diagnostic::in_file(&label, format!("cannot read the spec: {e}")))?;
    let base_dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    load_text(&label, &text, Some(base_dir))
}

/// Loads a spec from text. Without `base_dir` (an embedded spec) only
/// references inside the document itself resolve.
pub fn load_text(label: &str, text: &str, base_dir: Option<PathBuf>) -> Result<Spec, Diagnostic> {
    // Problems found after parsing carry a JSON pointer; the source text
    // turns it into a line and column (only on this error path).
    // A parser's error has its position already, and indexing a document
    // refused for its size would cost what the refusal saved.
    let locate = |diagnostic: Diagnostic| match diagnostic.file == label
        && matches!(diagnostic.position, Position::Pointer(_))
    {
        true => crate::locate::Locations::of_yaml(text).locate(diagnostic),
        false => diagnostic,
    };
    let mut spec = load_parsed(label, text, base_dir).map_err(locate)?;
    spec.warnings = std::mem::take(&mut spec.warnings).into_iter().map(locate).collect();
    Ok(spec)
}

fn load_parsed(label: &str, text: &str, base_dir: Option<PathBuf>) -> Result<Spec, Diagnostic> {
    compile::prepare_in_background();
    let raw = parse_document(label, text, NodeBudget::Spec)?;
    let dialect = check_version(label, &raw)?;
    let document = match dialect {
        Dialect::Oas30 => typed_30(label, text, &raw)?,
        Dialect::JsonSchema => {
            oas31::check_dialect(label, &raw)?;
            OpenAPI::deserialize(&oas31::hidden(&raw, oas31::ObjectKind::Document))
                .map_err(|error| oas31::typing_error(label, &raw, error))?
        }
    };
    let webhooks = match dialect {
        Dialect::Oas30 => Vec::new(),
        Dialect::JsonSchema => oas31::webhooks(&raw),
    };
    let mut loader = Loader {
        docs: Documents::new(label, base_dir, raw),
        request: SchemaSet::new(Direction::Request).in_dialect(dialect),
        response: SchemaSet::new(Direction::Response).in_dialect(dialect),
        compiled: HashMap::new(),
        document: &document,
        dialect,
        warnings: Vec::new(),
    };
    let operations = loader.operations()?;
    // A schema read in both directions warns in each: said once.
    for warning in [loader.request.take_warnings(), loader.response.take_warnings()].concat() {
        if !loader.warnings.contains(&warning) {
            loader.warnings.push(warning);
        }
    }
    let served = Document {
        stem: stem_of(label),
        file: label.to_string(),
        title: document.info.title.clone(),
        base_paths: document.servers.iter().map(|s| server_base_path(&s.url)).collect(),
    };
    let documents = vec![served];
    Ok(Spec {
        file: label.to_string(),
        referenced: loader.docs.referenced(),
        title: document.info.title.clone(),
        router: route(&documents, &operations),
        operations,
        default_port: document.servers.first().and_then(|s| server_port(&s.url)),
        webhooks,
        warnings: loader.warnings,
        documents,
    })
}

/// Each operation routed under the base paths of the spec it is written in.
fn route(documents: &[Document], operations: &[Operation]) -> Router {
    let mut router = Router::default();
    for (at, document) in documents.iter().enumerate() {
        router.mount(document.base_paths.clone());
        for (index, operation) in operations.iter().enumerate() {
            if operation.origin.document == at {
                router.add(&operation.path, operation.method.clone(), index);
            }
        }
    }
    router
}

/// `specs/pieces-connect.yaml` -> `pieces-connect`.
fn stem_of(label: &str) -> String {
    let stem = Path::new(label).file_stem().unwrap_or_default();
    stem.to_string_lossy().into_owned()
}

/// A 3.0 document typed from the parsed value (fast); only when that fails
/// is the text parsed again, for the line and column of the problem.
fn typed_30(label: &str, text: &str, raw: &Value) -> Result<OpenAPI, Diagnostic> {
    OpenAPI::deserialize(raw).map_err(|error| match parse_typed::<OpenAPI>(label, text, NodeBudget::Spec) {
        Err(located) => located,
        Ok(_) => Diagnostic::in_file(label, format!("not a valid OpenAPI 3.0 document: {error}")),
    })
}

/// The version says how the schemas are written.
fn check_version(label: &str, raw: &Value) -> Result<Dialect, Diagnostic> {
    match raw.get("openapi").and_then(Value::as_str) {
        Some(version) if version.starts_with("3.0.") => Ok(Dialect::Oas30),
        Some(version) if version.starts_with("3.1.") => Ok(Dialect::JsonSchema),
        Some(version) => Err(Diagnostic::at_pointer(
            label,
            "/openapi",
            format!("expected an OpenAPI 3.0.x or 3.1.x document, found version `{version}`"),
        )),
        None if raw.get("swagger").is_some() => Err(Diagnostic::at_pointer(
            label,
            "/swagger",
            "Swagger 2.0 is not supported: expected an OpenAPI 3.0.x or 3.1.x document; convert it first \
             (`npx swagger2openapi swagger.yaml -o openapi.yaml`, or editor.swagger.io: Edit > Convert to OpenAPI 3)",
        )),
        None => Err(Diagnostic::at_pointer(
            label,
            "/openapi",
            "expected the field `openapi: 3.0.x` or `openapi: 3.1.x` at the top of the document",
        )),
    }
}

/// A path item as its operations see it: its template, the parameters its
/// operations share, and where it is written.
#[derive(Clone, Copy)]
struct PathItemAt<'a> {
    path: &'a str,
    parameters: &'a [ReferenceOr<openapiv3::Parameter>],
    file: &'a Arc<str>,
    pointer: &'a str,
}

struct Loader<'d> {
    docs: Documents,
    request: SchemaSet,
    response: SchemaSet,
    /// The same schema used in many places (a shared component as several
    /// responses) is compiled once.
    compiled: HashMap<String, CompiledSchema>,
    document: &'d OpenAPI,
    dialect: Dialect,
    warnings: Vec<Diagnostic>,
}

impl Loader<'_> {
    fn operations(&mut self) -> Result<Vec<Operation>, Diagnostic> {
        let root = self.docs.root_file().clone();
        let mut operations = Vec::new();
        let mut seen_ids = HashSet::new();
        for (path, item) in self.document.paths.iter() {
            let item_pointer = format!("/paths/{}", escape_pointer_token(path));
            let (item, item_file, item_pointer) = self.resolve(&root, &item_pointer, item)?;
            for (method, operation) in item.iter() {
                let pointer = format!("{item_pointer}/{method}");
                let within = PathItemAt {
                    path,
                    parameters: &item.parameters,
                    file: &item_file,
                    pointer: &item_pointer,
                };
                let built = self.operation(&within, method, operation, &pointer)?;
                if !seen_ids.insert(built.id.clone()) {
                    return Err(Diagnostic::at_pointer(
                        item_file.as_ref(),
                        format!("{pointer}/operationId"),
                        format!("duplicate operationId `{}`", built.id),
                    ));
                }
                operations.push(built);
            }
        }
        Ok(operations)
    }

    /// The operation at `pointer`, declared under the path item `within`.
    fn operation(
        &mut self,
        within: &PathItemAt<'_>,
        method: &str,
        operation: &openapiv3::Operation,
        pointer: &str,
    ) -> Result<Operation, Diagnostic> {
        let PathItemAt {
            path,
            parameters: shared_parameters,
            file,
            pointer: item_pointer,
        } = *within;
        let http_method =
            Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("openapiv3 yields standard method names");
        let id = operation
            .operation_id
            .clone()
            .unwrap_or_else(|| Operation::unnamed_id(&http_method, path));

        let mut parameters: Vec<Parameter> = Vec::new();
        let own = operation
            .parameters
            .iter()
            .enumerate()
            .map(|(i, p)| (p, format!("{pointer}/parameters/{i}")));
        let shared = shared_parameters
            .iter()
            .enumerate()
            .map(|(i, p)| (p, format!("{item_pointer}/parameters/{i}")));
        // Operation-level parameters override path-level ones with the same name and location.
        for (parameter, at) in own.chain(shared) {
            let built = self.parameter(file, &at, parameter)?;
            if !parameters
                .iter()
                .any(|p| p.name == built.name && p.location == built.location)
            {
                parameters.push(built);
            }
        }
        for name in template_names(path) {
            if !parameters.iter().any(|p| p.location == ParamIn::Path && p.name == name) {
                return Err(Diagnostic::at_pointer(
                    file.as_ref(),
                    pointer,
                    format!("path template `{path}` uses `{{{name}}}` but the operation declares no path parameter `{name}`"),
                ));
            }
        }

        let request_body = match &operation.request_body {
            Some(body) => Some(self.request_body(file, &format!("{pointer}/requestBody"), body)?),
            None => None,
        };

        let mut responses = Vec::new();
        for (status, response) in &operation.responses.responses {
            let key = match status {
                openapiv3::StatusCode::Code(code) => StatusKey::Code(*code),
                openapiv3::StatusCode::Range(hundreds) => StatusKey::Range(*hundreds),
            };
            let at = format!("{pointer}/responses/{status}");
            responses.push(self.response(file, &at, key, response)?);
        }
        if let Some(default) = &operation.responses.default {
            responses.push(self.response(
                file,
                &format!("{pointer}/responses/default"),
                StatusKey::Default,
                default,
            )?);
        }
        responses.sort_by_key(|r| r.status);
        if responses.is_empty() {
            return Err(Diagnostic::at_pointer(
                file.as_ref(),
                format!("{pointer}/responses"),
                "expected at least one response",
            ));
        }

        let requirements = operation.security.as_ref().or(self.document.security.as_ref());
        let security = self.security(file, pointer, requirements)?;

        let websocket = match operation.extensions.get(WEBSOCKET_EXTENSION) {
            None | Some(Value::Bool(false)) => false,
            Some(Value::Bool(true)) if http_method == Method::GET => true,
            Some(Value::Bool(true)) => {
                return Err(Diagnostic::at_pointer(
                    file.as_ref(),
                    format!("{pointer}/{WEBSOCKET_EXTENSION}"),
                    format!("`{WEBSOCKET_EXTENSION}` marks a GET operation; this one is {http_method}"),
                ))
            }
            Some(other) => {
                return Err(Diagnostic::at_pointer(
                    file.as_ref(),
                    format!("{pointer}/{WEBSOCKET_EXTENSION}"),
                    format!("expected `{WEBSOCKET_EXTENSION}: true` or `false`, found {other}"),
                ))
            }
        };

        Ok(Operation {
            id,
            method: http_method,
            websocket,
            path: path.to_string(),
            parameters,
            request_body,
            responses,
            security,
            extensions: operation
                .extensions
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            origin: Origin {
                document: 0,
                file: file.clone(),
                pointer: pointer.to_string(),
            },
        })
    }

    fn parameter(
        &mut self,
        file: &Arc<str>,
        pointer: &str,
        parameter: &ReferenceOr<openapiv3::Parameter>,
    ) -> Result<Parameter, Diagnostic> {
        use openapiv3::Parameter as P;
        let (parameter, file, pointer) = self.resolve(file, pointer, parameter)?;
        let (data, location, style) = match &parameter {
            P::Query {
                parameter_data, style, ..
            } => (parameter_data, ParamIn::Query, query_style(style)),
            P::Header { parameter_data, .. } => (parameter_data, ParamIn::Header, ParamStyle::Simple),
            P::Path { parameter_data, style } => (parameter_data, ParamIn::Path, path_style(style)),
            P::Cookie { parameter_data, .. } => (parameter_data, ParamIn::Cookie, ParamStyle::Form),
        };
        let (schema, shape) = self.schema_or_content(Direction::Request, &file, &pointer, &data.format)?;
        Ok(Parameter {
            name: data.name.clone(),
            location,
            required: data.required || location == ParamIn::Path,
            style,
            explode: data.explode.unwrap_or(style == ParamStyle::Form),
            shape,
            schema,
            examples: self.examples(&file, &pointer, &data.example, &data.examples)?,
        })
    }

    /// A response header, read like a header parameter.
    fn header(
        &mut self,
        file: &Arc<str>,
        pointer: &str,
        name: &str,
        header: &ReferenceOr<openapiv3::Header>,
    ) -> Result<Parameter, Diagnostic> {
        let (header, file, pointer) = self.resolve(file, pointer, header)?;
        let (schema, shape) = self.schema_or_content(Direction::Response, &file, &pointer, &header.format)?;
        Ok(Parameter {
            name: name.to_string(),
            location: ParamIn::Header,
            required: header.required,
            style: ParamStyle::Simple,
            explode: false,
            shape,
            schema,
            examples: self.examples(&file, &pointer, &header.example, &header.examples)?,
        })
    }

    /// The compiled schema of a parameter or header, and how its text is read.
    fn schema_or_content(
        &mut self,
        direction: Direction,
        file: &Arc<str>,
        pointer: &str,
        format: &openapiv3::ParameterSchemaOrContent,
    ) -> Result<(Option<CompiledSchema>, Shape), Diagnostic> {
        let (schema, json_content) = match format {
            openapiv3::ParameterSchemaOrContent::Schema(schema) => (
                Some(self.compile(direction, file, &format!("{pointer}/schema"), schema)?),
                false,
            ),
            openapiv3::ParameterSchemaOrContent::Content(content) => match content.iter().next() {
                Some((media_type, media)) => {
                    let at = format!("{pointer}/content/{}/schema", escape_pointer_token(media_type));
                    let schema = match &media.schema {
                        Some(schema) => Some(self.compile(direction, file, &at, schema)?),
                        None => None,
                    };
                    (schema, true)
                }
                None => (None, false),
            },
        };
        let shape = if json_content {
            Shape::Json
        } else {
            schema
                .as_ref()
                .map_or(Shape::Scalar(Scalar::Any), |s| shape_of(&s.document))
        };
        Ok((schema, shape))
    }

    fn request_body(
        &mut self,
        file: &Arc<str>,
        pointer: &str,
        body: &ReferenceOr<openapiv3::RequestBody>,
    ) -> Result<RequestBody, Diagnostic> {
        let (body, file, pointer) = self.resolve(file, pointer, body)?;
        let content = self.content(Direction::Request, &file, &format!("{pointer}/content"), &body.content)?;
        Ok(RequestBody {
            required: body.required,
            content,
        })
    }

    fn response(
        &mut self,
        file: &Arc<str>,
        pointer: &str,
        status: StatusKey,
        response: &ReferenceOr<openapiv3::Response>,
    ) -> Result<ResponseSpec, Diagnostic> {
        let (response, file, pointer) = self.resolve(file, pointer, response)?;
        let mut headers = Vec::new();
        for (name, header) in &response.headers {
            if !name.eq_ignore_ascii_case("content-type") {
                let at = format!("{pointer}/headers/{}", escape_pointer_token(name));
                headers.push(self.header(&file, &at, name, header)?);
            }
        }
        let content = self.content(
            Direction::Response,
            &file,
            &format!("{pointer}/content"),
            &response.content,
        )?;
        Ok(ResponseSpec {
            status,
            description: response.description.clone(),
            headers,
            content,
        })
    }

    fn content(
        &mut self,
        direction: Direction,
        file: &Arc<str>,
        pointer: &str,
        content: &openapiv3::Content,
    ) -> Result<Vec<MediaSpec>, Diagnostic> {
        let mut specs = Vec::new();
        for (media_type, media) in content {
            let at = format!("{pointer}/{}", escape_pointer_token(media_type));
            let schema = match &media.schema {
                Some(schema) => Some(self.compile(direction, file, &format!("{at}/schema"), schema)?),
                None => None,
            };
            let examples = self.examples(file, &at, &media.example, &media.examples)?;
            specs.push(MediaSpec {
                media_type: essence(media_type),
                schema,
                examples,
            });
        }
        Ok(specs)
    }

    /// `example` (named "example") then `examples` in declaration order,
    /// `$ref` and local `externalValue` followed.
    fn examples<'e>(
        &mut self,
        file: &Arc<str>,
        pointer: &str,
        example: &Option<Value>,
        examples: impl IntoIterator<Item = (&'e String, &'e ReferenceOr<openapiv3::Example>)>,
    ) -> Result<Vec<(String, Value)>, Diagnostic> {
        let mut found = Vec::new();
        if let Some(example) = example {
            found.push(("example".to_string(), example.clone()));
        }
        for (name, example) in examples {
            let example_at = format!("{pointer}/examples/{}", escape_pointer_token(name));
            let (example, example_file, example_at) = self.resolve(file, &example_at, example)?;
            if let Some(value) = example.value {
                found.push((name.clone(), value));
            } else if let Some(external) = example.external_value {
                let target = self.docs.target(&example_file, &example_at, &external)?;
                let value = self
                    .docs
                    .value(&target)
                    .cloned()
                    .ok_or_else(|| unresolved(&target, &external))?;
                found.push((name.clone(), value));
            }
        }
        Ok(found)
    }

    fn security(
        &mut self,
        file: &Arc<str>,
        pointer: &str,
        requirements: Option<&Vec<openapiv3::SecurityRequirement>>,
    ) -> Result<Vec<Vec<SecurityScheme>>, Diagnostic> {
        let Some(requirements) = requirements else {
            return Ok(Vec::new());
        };
        // `- {}` among the alternatives makes credentials optional.
        if requirements.iter().any(|r| r.is_empty()) {
            return Ok(Vec::new());
        }
        let schemes = self.document.components.as_ref().map(|c| &c.security_schemes);
        let mut alternatives = Vec::new();
        for requirement in requirements {
            let mut all = Vec::new();
            for name in requirement.keys() {
                let scheme_pointer = format!("/components/securitySchemes/{}", escape_pointer_token(name));
                if self.is_mutual_tls(&scheme_pointer)? {
                    continue;
                }
                let scheme = schemes.and_then(|s| s.get(name)).ok_or_else(|| {
                    Diagnostic::at_pointer(
                        file.as_ref(),
                        format!("{pointer}/security"),
                        format!("security scheme `{name}` is not declared under components.securitySchemes"),
                    )
                })?;
                let root = self.docs.root_file().clone();
                let (scheme, _, _) = self.resolve(&root, &scheme_pointer, scheme)?;
                all.push(SecurityScheme {
                    name: name.clone(),
                    credential: credential_of(&scheme),
                });
            }
            // Only unverifiable schemes: as good as `- {}`.
            if all.is_empty() {
                return Ok(Vec::new());
            }
            alternatives.push(all);
        }
        Ok(alternatives)
    }

    /// Whether the scheme at `pointer` is 3.1's `mutualTLS`, which a mock
    /// cannot check (a client certificate, over plain HTTP): said once, as a
    /// warning, and left out of the requirement.
    fn is_mutual_tls(&mut self, pointer: &str) -> Result<bool, Diagnostic> {
        let root = self.docs.root_file().clone();
        let Some(scheme) = self.docs.root().pointer(pointer).cloned() else {
            return Ok(false);
        };
        let (_, scheme) = self.docs.follow(&root, pointer, &scheme)?;
        if !oas31::is_mutual_tls(&scheme) {
            return Ok(false);
        }
        if !self
            .warnings
            .iter()
            .any(|w| w.position == Position::Pointer(pointer.to_string()))
        {
            self.warnings.push(Diagnostic::at_pointer(
                root.as_ref(),
                pointer,
                "a `mutualTLS` security scheme cannot be checked by a mock (it serves plain HTTP): \
                 requests are accepted without a client certificate",
            ));
        }
        Ok(true)
    }

    fn compile(
        &mut self,
        direction: Direction,
        file: &Arc<str>,
        pointer: &str,
        schema: &ReferenceOr<openapiv3::Schema>,
    ) -> Result<CompiledSchema, Diagnostic> {
        let raw = match self.dialect {
            Dialect::Oas30 => serde_json::to_value(schema)
                .map_err(|e| Diagnostic::at_pointer(file.as_ref(), pointer, e.to_string()))?,
            // The schema as written: `openapiv3` only saw an empty one.
            Dialect::JsonSchema => {
                let at = RefTarget {
                    file: file.clone(),
                    pointer: pointer.to_string(),
                };
                self.docs.value(&at).cloned().ok_or_else(|| unresolved(&at, pointer))?
            }
        };
        let set = match direction {
            Direction::Request => &mut self.request,
            Direction::Response => &mut self.response,
        };
        let converted = set.convert(&mut self.docs, file, pointer, &raw)?;
        let key = set.identity(&converted);
        if let Some(compiled) = self.compiled.get(&key) {
            return Ok(compiled.clone());
        }
        let compiled = compile::compile(set.standalone(&converted))
            .map_err(|e| Diagnostic::at_pointer(file.as_ref(), pointer, format!("schema does not compile: {e}")))?;
        self.compiled.insert(key, compiled.clone());
        Ok(compiled)
    }

    /// Resolves a possibly-referenced component, returning it with the file
    /// and pointer it actually lives at (for nested relative references).
    fn resolve<T: Component>(
        &mut self,
        file: &Arc<str>,
        pointer: &str,
        item: &ReferenceOr<T>,
    ) -> Result<(T, Arc<str>, String), Diagnostic> {
        match item {
            ReferenceOr::Item(item) => Ok((item.clone(), file.clone(), pointer.to_string())),
            ReferenceOr::Reference { reference } => {
                let (RefTarget { file, pointer }, value) =
                    self.docs
                        .follow(file, pointer, &serde_json::json!({ "$ref": reference }))?;
                let value = match self.dialect {
                    Dialect::Oas30 => value,
                    Dialect::JsonSchema => oas31::hidden(&value, T::KIND),
                };
                let item = serde_json::from_value(value)
                    .map_err(|e| Diagnostic::at_pointer(file.as_ref(), &pointer, format!("invalid component: {e}")))?;
                Ok((item, file, pointer))
            }
        }
    }
}

/// What `resolve` can follow a `$ref` to: its kind says where a 3.1
/// document hides its schemas.
trait Component: DeserializeOwned + Clone {
    const KIND: oas31::ObjectKind;
}

macro_rules! component {
    ($($type:ty => $kind:ident),* $(,)?) => {
        $(impl Component for $type {
            const KIND: oas31::ObjectKind = oas31::ObjectKind::$kind;
        })*
    };
}

component!(
    openapiv3::PathItem => PathItem,
    openapiv3::Parameter => Parameter,
    openapiv3::Header => Header,
    openapiv3::RequestBody => RequestBody,
    openapiv3::Response => Response,
    openapiv3::Example => Example,
    openapiv3::SecurityScheme => SecurityScheme,
);

fn query_style(style: &openapiv3::QueryStyle) -> ParamStyle {
    match style {
        openapiv3::QueryStyle::Form => ParamStyle::Form,
        openapiv3::QueryStyle::SpaceDelimited => ParamStyle::SpaceDelimited,
        openapiv3::QueryStyle::PipeDelimited => ParamStyle::PipeDelimited,
        openapiv3::QueryStyle::DeepObject => ParamStyle::DeepObject,
    }
}

fn path_style(style: &openapiv3::PathStyle) -> ParamStyle {
    match style {
        openapiv3::PathStyle::Simple => ParamStyle::Simple,
        openapiv3::PathStyle::Label => ParamStyle::Label,
        openapiv3::PathStyle::Matrix => ParamStyle::Matrix,
    }
}

fn credential_of(scheme: &openapiv3::SecurityScheme) -> Credential {
    match scheme {
        openapiv3::SecurityScheme::APIKey { location, name, .. } => Credential::ApiKey {
            name: name.clone(),
            location: match location {
                openapiv3::APIKeyLocation::Query => ParamIn::Query,
                openapiv3::APIKeyLocation::Header => ParamIn::Header,
                openapiv3::APIKeyLocation::Cookie => ParamIn::Cookie,
            },
        },
        openapiv3::SecurityScheme::HTTP { scheme, .. } => Credential::HttpScheme(scheme.to_ascii_lowercase()),
        openapiv3::SecurityScheme::OAuth2 { .. } | openapiv3::SecurityScheme::OpenIDConnect { .. } => {
            Credential::AuthorizationHeader
        }
    }
}

/// How a parameter's text must be read, from its (converted) schema.
fn shape_of(document: &Value) -> Shape {
    let root = typed_branch(document, document);
    match type_of(root) {
        Some("array") => Shape::Array(
            root.get("items")
                .map_or(Scalar::Any, |items| scalar_of(typed_branch(document, items))),
        ),
        Some("object") => {
            let properties = root.get("properties").and_then(Value::as_object);
            Shape::Object(
                properties
                    .into_iter()
                    .flatten()
                    .map(|(name, schema)| (name.clone(), scalar_of(typed_branch(document, schema))))
                    .collect(),
            )
        }
        _ => Shape::Scalar(scalar_of(root)),
    }
}

/// The schema that gives `schema` its type: itself, or, when it declares none,
/// its one non-null `anyOf`/`oneOf` branch (Pydantic writes `int | None` as
/// `anyOf: [{type: integer}, {type: 'null'}]`), followed through local refs.
fn typed_branch<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    let mut schema = follow_local(document, schema);
    for _ in 0..32 {
        if type_of(schema).is_some() {
            return schema;
        }
        let branches = ["anyOf", "oneOf"]
            .iter()
            .find_map(|keyword| schema.get(*keyword).and_then(Value::as_array));
        let mut non_null = branches
            .into_iter()
            .flatten()
            .map(|branch| follow_local(document, branch))
            .filter(|branch| !is_null_only(branch));
        match (non_null.next(), non_null.next()) {
            (Some(branch), None) => schema = branch,
            _ => return schema,
        }
    }
    schema
}

fn is_null_only(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null") || schema.get("const").is_some_and(Value::is_null)
}

fn scalar_of(schema: &Value) -> Scalar {
    match type_of(schema) {
        Some("integer") => Scalar::Integer,
        Some("number") => Scalar::Number,
        Some("boolean") => Scalar::Boolean,
        Some("string") => Scalar::String,
        _ => Scalar::Any,
    }
}

/// The first non-null type of a schema (`["string", "null"]` -> `string`), or
/// the type of its `const` or of its `enum`'s first non-null value.
pub(crate) fn type_of(schema: &Value) -> Option<&str> {
    match schema.get("type") {
        Some(Value::String(kind)) => Some(kind),
        Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).find(|k| *k != "null"),
        Some(_) => None,
        None => schema
            .get("const")
            .into_iter()
            .chain(schema.get("enum").and_then(Value::as_array).into_iter().flatten())
            .find_map(json_type),
    }
}

/// The JSON Schema type of a value (`None` for null).
pub(crate) fn json_type(value: &Value) -> Option<&'static str> {
    match value {
        Value::Null => None,
        Value::Bool(_) => Some("boolean"),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some("integer"),
        Value::Number(_) => Some("number"),
        Value::String(_) => Some("string"),
        Value::Array(_) => Some("array"),
        Value::Object(_) => Some("object"),
    }
}

/// Follows `#/$defs/...` references within a standalone document.
pub(crate) fn follow_local<'a>(document: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(pointer) => match document.pointer(pointer) {
                Some(target) => schema = target,
                None => return schema,
            },
            None => return schema,
        }
    }
    schema
}

fn template_names(path: &str) -> impl Iterator<Item = &str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

/// `application/json; charset=utf-8` -> `application/json`.
pub fn essence(media_type: &str) -> String {
    media_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// `http://localhost:1000/api` -> `/api`; `/v2` -> `/v2`.
fn server_base_path(url: &str) -> String {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = if url.contains("://") {
        without_scheme.find('/').map_or("", |i| &without_scheme[i..])
    } else {
        without_scheme
    };
    path.trim_end_matches('/').to_string()
}

fn server_port(url: &str) -> Option<u16> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split('/').next()?;
    authority.rsplit_once(':')?.1.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_give_base_paths_and_ports() {
        assert_eq!(server_base_path("http://localhost:1000"), "");
        assert_eq!(server_base_path("https://api.example.com/v1/"), "/v1");
        assert_eq!(server_base_path("/v2"), "/v2");
        assert_eq!(server_port("http://localhost:1000"), Some(1000));
        assert_eq!(server_port("https://api.example.com/v1"), None);
    }

    const SHARED: &str = r#"
openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /pets:
    get:
      operationId: listPets
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Pet'}}}}
    post:
      operationId: addPet
      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/Pet'}}}}
      responses:
        '201': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Pet'}}}}
  /items:
    post:
      operationId: addItem
      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/Item'}}}}
      responses:
        '201': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Item'}}}}
  /orders:
    post:
      operationId: addOrder
      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/Order'}}}}
      responses:
        '201': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Order'}}}}
components:
  schemas:
    Pet: {type: object, required: [name], properties: {name: {type: string}, tag: {$ref: '#/components/schemas/Tag'}}}
    Tag: {type: string, maxLength: 3}
    Item: {type: object, required: [id, label], properties: {id: {type: string, readOnly: true}, label: {type: string}}}
    Order: {type: object, required: [item], properties: {item: {$ref: '#/components/schemas/Item'}}}
"#;

    fn body_schema(spec: &Spec, id: &str, status: Option<u16>) -> CompiledSchema {
        let operation = spec.operation(id).expect("the operation is declared");
        let content = match status {
            Some(status) => &operation.response_for(status).expect("the status is declared").content,
            None => &operation.request_body.as_ref().expect("a request body").content,
        };
        content[0].schema.clone().expect("a schema")
    }

    #[test]
    fn identical_schemas_share_one_validator_that_reports_the_pointer_in_each_body() {
        let spec = load_text("t.yaml", SHARED, None).expect("the spec loads");
        let listed = body_schema(&spec, "listPets", Some(200));
        let added = body_schema(&spec, "addPet", Some(201));
        let sent = body_schema(&spec, "addPet", None);
        assert!(Arc::ptr_eq(&listed.validator, &added.validator));
        // A request and a response schema that say the same thing share too.
        assert!(Arc::ptr_eq(&listed.validator, &sent.validator));
        let pet = serde_json::json!({"name": "Rex", "tag": "four"});
        for schema in [&listed, &sent] {
            let violations = crate::validate::schema_violations(schema, &pet, "");
            let pointers: Vec<&str> = violations.iter().map(|v| v.pointer.as_str()).collect();
            assert_eq!(pointers, ["/tag"]);
        }
    }

    #[test]
    fn schemas_that_differ_by_direction_keep_their_own_validators() {
        let spec = load_text("t.yaml", SHARED, None).expect("the spec loads");
        let sent = body_schema(&spec, "addItem", None);
        let answered = body_schema(&spec, "addItem", Some(201));
        assert!(!Arc::ptr_eq(&sent.validator, &answered.validator));
        // `id` is read-only: required in the answer, not in the request.
        let item = serde_json::json!({"label": "x"});
        assert!(sent.validator.is_valid(&item));
        assert!(!answered.validator.is_valid(&item));
        // The same where the difference is in a schema referenced further down.
        let sent = body_schema(&spec, "addOrder", None);
        let answered = body_schema(&spec, "addOrder", Some(201));
        assert!(!Arc::ptr_eq(&sent.validator, &answered.validator));
        let order = serde_json::json!({"item": item});
        assert!(sent.validator.is_valid(&order));
        assert!(!answered.validator.is_valid(&order));
    }

    #[test]
    fn the_document_read_from_the_parsed_value_is_the_one_read_from_a_copy_of_it() {
        for (label, text) in [("openapi.yaml", crate::embedded::SPEC), ("t.yaml", SHARED)] {
            let raw = parse_document(label, text, NodeBudget::Spec).expect("the spec parses");
            let borrowed = OpenAPI::deserialize(&raw).expect("an OpenAPI document");
            let owned: OpenAPI = serde_json::from_value(raw.clone()).expect("an OpenAPI document");
            assert!(borrowed == owned, "{label}");
        }
    }

    #[test]
    fn template_names_are_found() {
        assert_eq!(template_names("/a/{x}/b/{y}.json").collect::<Vec<_>>(), vec!["x", "y"]);
    }
}
