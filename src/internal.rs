//! The crate's own modules as the binary, the integration tests, the benches
//! and the fuzz targets reach them: each submodule mirrors a module of the
//! crate and re-exports only the items that code uses. Not a stable API: it
//! changes whenever those users do; embed the server with
//! [`MockServer`](crate::MockServer) instead.

use std::sync::Arc;

pub use crate::app::{App, Behaviour, Inputs};
pub use crate::server::Limits;
pub use crate::websocket::StreamLimits;

/// Serves an app built by hand, with limits of its own, on an
/// already-bound listener on the current runtime: the binary's `serve`,
/// and tests that need a behaviour the builder does not offer.
pub fn serve(listener: tokio::net::TcpListener, app: App, limits: Limits) -> std::io::Result<crate::MockServer> {
    crate::MockServer::serve(listener, app, limits)
}

/// The app a [`MockServer`](crate::MockServer) serves: its journal,
/// sessions and configuration, for the binary and tests that look inside.
pub trait ServedApp {
    /// The app being served.
    fn app(&self) -> &Arc<App>;
}

impl ServedApp for crate::MockServer {
    fn app(&self) -> &Arc<App> {
        crate::MockServer::app(self)
    }
}

/// The admin API's OpenAPI document, and the pieces of a request to it that
/// the binary and tests build by hand.
pub mod admin {
    pub use crate::admin::{journal_feed, Feed, FeedEvents, Peer, ADMIN_OPENAPI};
}

/// What the synchronous request path answers.
pub mod app {
    pub use crate::app::{Handled, StreamMode, Upgrade};

    /// Recognising an upgrade request.
    pub mod handshake {
        pub use crate::app::handshake::is_upgrade_request;
    }
}

/// The mock's own request controls, and where its own paths live.
pub mod control {
    pub use crate::control::{SessionKey, PREFIX};
}

/// Every request's way in: the admin API's or the app's.
pub mod dispatch {
    pub use crate::dispatch::{handle, upgrade};
}

/// Operator-facing errors with file, line and column.
pub mod diagnostic {
    pub use crate::diagnostic::{Diagnostic, Diagnostics, Position, PRINTED_PROBLEMS};
}

/// The names the admin API answers to besides loopback, as `--host` and `--admin-host` give them.
pub mod host {
    pub use crate::host::{parse, HostName};
}

/// Response bodies kept as files.
pub mod fixtures {
    pub use crate::fixtures::Fixtures;
}

/// The journal's defaults, filters, summary and time stamps.
pub mod journal {
    pub use crate::journal::{Filter, Summary, DEFAULT_BODY_BUDGET, DEFAULT_CAPACITY, FEED_BACKLOG, FEED_BODY_BYTES};
}

/// The buffered log writer and the request log line.
pub mod logging {
    pub use crate::logging::{dispatch, writer, Flusher, Format, RequestLine};
}

/// The mock's own problem+json answers.
pub mod problem {
    pub use crate::problem::{CONTENT_TYPE, ORIGIN_HEADER};
}

/// `specmock verify`: a real server tested against the spec.
pub mod provider {
    pub use crate::provider::{verify, VerifyOptions};
}

/// The upstream of `--upstream`.
pub mod proxy {
    pub use crate::proxy::Upstream;
}

/// The seeded generator behind generated data.
pub mod random {
    pub use crate::random::SplitMix64;
}

/// `--record` settings and defaults, and the recordings still open written at the end.
pub mod record {
    pub use crate::record::{end_idle, Settings, DEFAULT_BYTES, DEFAULT_PER_SESSION};
}

/// Response bodies: the rendered answers and schema-driven data.
pub mod render {
    pub use crate::render::{generate, Responder};
}

/// The `--report` JUnit document.
pub mod report {
    pub use crate::report::contract_report;
}

/// Scenario files, their compiled model, and the pure decision.
pub mod scenario {
    pub use crate::scenario::{
        check_values, follow_values, load_catalog, Catalog, Fault, Frame, Scenario, ScenarioSource, ScriptedBody, Step,
        Store, STEPS,
    };

    /// The pure decision on one request.
    pub mod engine {
        pub use crate::scenario::engine::{
            decide, peek, render_frame, Decision, Facts, Outcome, SessionState, TemplateToRender,
        };
    }

    /// `{{...}}` templates and deep merge.
    pub mod template {
        pub use crate::scenario::template::{merge, parse_expr, EventView, RequestTime, Scope, Template};
    }
}

/// The session registry's defaults.
pub mod session {
    pub use crate::session::DEFAULT_IDLE_EXPIRY;
}

/// Stopping on SIGINT or SIGTERM.
pub mod shutdown {
    pub use crate::shutdown::StopSignals;
}

/// Which spec, fixtures and scenarios to load.
pub mod sources {
    pub use crate::sources::{Source, Sources};
}

/// The loaded OpenAPI document and its operation model.
pub mod spec {
    pub use crate::spec::{
        essence, load_file, load_text, CompiledSchema, Credential, MediaSpec, Operation, ParamIn, ResponseSpec, Spec,
        StatusKey,
    };

    /// Method and path to operation.
    pub mod router {
        pub use crate::spec::router::RouteMatch;
    }

    /// Document parsing within node budgets.
    pub mod parse {
        pub use crate::spec::parse::{parse_document, NodeBudget};
    }
}

/// Strict percent-decoding and query splitting.
pub mod uri {
    pub use crate::uri::{decode_component, parse_query};
}

/// The verdict on one request.
pub mod validate {
    pub use crate::validate::{is_json, request, Checked, ParamSources, RequestView};
}

/// Reloading when the input files change.
pub mod watch {
    pub use crate::watch::start;
}

/// Whether a JSON value holds another: what rules and verifications match with.
pub mod json_subset {
    pub use crate::json_subset::contains;
}

/// RFC 3339 time read back, as the journal filters it.
pub mod rfc3339 {
    pub use crate::rfc3339::parse;
}
