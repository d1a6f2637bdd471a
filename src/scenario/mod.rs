//! Scenarios: scripted, stateful answers per session. A scenario is a list
//! of rules; the first rule whose `when` matches a request decides the
//! response (a sequence advances per session), may write the session's
//! store, and may move the session to another state. No rule matching: the
//! spec's default answer.

mod carry;
pub mod engine;
mod file;
mod findings;
mod flow;
mod load;
mod partial;
mod placed;
mod store;
pub mod stream;
pub mod template;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;
use serde_json::Value;

pub use flow::{check_values, follow_values, STEPS};
pub use load::{load_catalog, load_each_file, Loaded, ScenarioSource};
pub use store::Store;
pub use stream::{Frame, Received, Script, Step, StreamFault};

use crate::render::Rendered;
use crate::spec::MediaSpec;
use crate::validate::Checked;
use template::{merge, Expr, Scope, Template};

/// A loaded, checked scenario.
#[derive(Debug)]
pub struct Scenario {
    /// The name sessions select it by (`X-Mock-Scenario`, `--scenario`, the admin API).
    pub name: String,
    /// What the scenario is for, as `GET /__mock/scenarios` lists it.
    pub description: String,
    /// The label of the file it was loaded from, for errors and rule labels.
    pub file: String,
    /// The state a session starts in.
    pub initial: String,
    /// The store a session starts with, shared by every session until it
    /// writes its own (a stored profile is not copied per session).
    pub store: Arc<Store>,
    /// Own rules first, then those of the scenario it extends.
    pub rules: Vec<Arc<Rule>>,
    /// A recorded session: its rules are its steps, in order.
    pub replay: bool,
}

#[derive(Debug)]
pub struct Rule {
    /// `file rules[N]`, for logs and errors.
    pub label: String,
    pub operation: usize,
    /// The operationId at `operation`: what still names it after a reload,
    /// when indices may point elsewhere.
    pub operation_id: String,
    /// Empty: any state.
    pub states: Vec<String>,
    pub body: Option<Value>,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(HeaderName, String)>,
    pub path: Vec<(String, String)>,
    pub reaction: Reaction,
    /// `None`: unlimited.
    pub times: Option<u64>,
    pub store: Vec<(String, BodyTemplate)>,
    pub forget: Vec<String>,
    pub then_state: Option<String>,
}

/// What a matching rule does.
#[derive(Debug)]
pub enum Reaction {
    /// Answer with the next response of the sequence; after the last, start
    /// again (`cycle`) or repeat the last.
    Respond { responses: Vec<Scripted>, cycle: bool },
    /// Run a WebSocket frame script (the request is a WebSocket handshake).
    Stream(Arc<Script>),
}

/// One scripted response.
#[derive(Debug, Clone)]
pub struct Scripted {
    /// `proxy: true`: the call goes to `--upstream` (status 0, no body):
    /// answered as if no rule had matched, the rule counted all the same.
    pub forward: bool,
    pub status: u16,
    /// Values may be templates (`x-request-id: "{{uuid}}"`).
    pub headers: Vec<(HeaderName, Template)>,
    pub body: ScriptedBody,
    pub delay: Option<Delay>,
    pub fault: Option<Fault>,
}

/// A scripted response's body: ready at load time, or rendered per request.
#[derive(Debug, Clone)]
pub enum ScriptedBody {
    /// Rendered and checked against the schema at load time.
    Ready(Rendered),
    /// Rendered per request (it reads the request or the store) and checked
    /// then. `media` is `None` for an undeclared status (nothing to check).
    Template {
        /// The template, with fields merged over its base.
        body: BodyTemplate,
        /// The media type the rendered body is checked against.
        media: Option<MediaSpec>,
    },
}

/// A body source (already a template) plus fields merged over it.
#[derive(Debug, Clone)]
pub struct BodyTemplate {
    pub base: Template,
    pub merge: Option<Template>,
}

impl BodyTemplate {
    /// The rendered value. A whole stored value or the whole request body
    /// (`from: store.KEY`, `from: request.body`) is shared, with what its
    /// schema check proved; any other is a new value no schema has checked.
    pub fn render_shared(&self, scope: &Scope<'_>, request: Option<&Checked>) -> Option<Checked> {
        match (&self.base, &self.merge) {
            (Template::Expr(Expr::RequestBody(path)), None) if path.is_empty() => request.cloned(),
            (Template::Expr(Expr::Store(key, path)), None) if path.is_empty() => scope.store.get(key).cloned(),
            _ => self.render(scope).map(Checked::unchecked),
        }
    }

    pub fn render(&self, scope: &Scope<'_>) -> Option<Value> {
        let mut value = self.base.render(scope)?;
        if let Some(overlay) = self.merge.as_ref().and_then(|m| m.render(scope)) {
            merge(&mut value, overlay);
        }
        Some(value)
    }

    /// Whether the body depends on the session's store alone (not on the
    /// request, the clock or fresh UUIDs).
    pub fn reads_only_store(&self) -> bool {
        self.base.reads_only_store() && self.merge.as_ref().is_none_or(Template::reads_only_store)
    }

    /// The value, when nothing in it depends on the request or the store.
    pub fn as_static(&self) -> Option<Value> {
        let mut value = self.base.as_literal()?.clone();
        if let Some(overlay) = &self.merge {
            merge(&mut value, overlay.as_literal()?.clone());
        }
        Some(value)
    }
}

/// A delay before answering, fixed (`min == max`) or drawn from a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delay {
    pub min: Duration,
    pub max: Duration,
}

/// How a response misbehaves on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Close the connection without answering.
    Reset,
    /// Send the status line and headers, then close.
    Close,
    /// Send half the body, then close.
    Truncate,
    /// Send a body that is not valid JSON.
    Malformed,
    /// A status the spec does not declare (allowed in a scenario only with this label).
    UndeclaredStatus,
}

impl Fault {
    /// The fault's name as scenario files write it, and as the log line and the journal report it.
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Reset => "reset",
            Fault::Close => "close",
            Fault::Truncate => "truncate",
            Fault::Malformed => "malformed",
            Fault::UndeclaredStatus => "undeclared-status",
        }
    }
}

/// Every scenario, by name.
#[derive(Debug, Default)]
pub struct Catalog {
    by_name: BTreeMap<String, Arc<Scenario>>,
}

impl Catalog {
    /// The labels of the rules with a `proxy: true` response, each once
    /// (a rule an `extends` shares is listed once).
    pub fn proxied_rules(&self) -> std::collections::BTreeSet<&str> {
        self.scenarios()
            .flat_map(|scenario| &scenario.rules)
            .filter(|rule| match &rule.reaction {
                Reaction::Respond { responses, .. } => responses.iter().any(|response| response.forward),
                Reaction::Stream(_) => false,
            })
            .map(|rule| rule.label.as_str())
            .collect()
    }

    /// The scenario named `name`, if loaded.
    pub fn get(&self, name: &str) -> Option<&Arc<Scenario>> {
        self.by_name.get(name)
    }

    /// Every scenario's name, sorted, for listings and suggestions.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// Every scenario, in name order.
    pub fn scenarios(&self) -> impl Iterator<Item = &Arc<Scenario>> {
        self.by_name.values()
    }
}
