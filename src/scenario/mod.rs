//! Scenarios: scripted, stateful answers per session. A scenario is a list
//! of rules; the first rule whose `when` matches a request decides the
//! response (a sequence advances per session), and may move the session to
//! another state. No rule matching: the spec's default answer.

pub mod engine;
mod file;
mod load;

use std::collections::BTreeMap;
use std::sync::Arc;

use http::{HeaderName, HeaderValue};
use serde_json::Value;

pub use load::{load_catalog, ScenarioSource};

use crate::render::Rendered;

/// A loaded, checked scenario.
#[derive(Debug)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub file: String,
    pub initial: String,
    pub rules: Vec<Rule>,
}

#[derive(Debug)]
pub struct Rule {
    /// `file rules[N]`, for logs and errors.
    pub label: String,
    pub operation: usize,
    /// Empty: any state.
    pub states: Vec<String>,
    pub body: Option<Value>,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(HeaderName, String)>,
    pub path: Vec<(String, String)>,
    pub responses: Vec<Scripted>,
    pub cycle: bool,
    pub then_state: Option<String>,
}

/// One scripted response, rendered and checked at load time.
#[derive(Debug, Clone)]
pub struct Scripted {
    pub rendered: Rendered,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// Every scenario, by name.
#[derive(Debug, Default)]
pub struct Catalog {
    by_name: BTreeMap<String, Arc<Scenario>>,
}

impl Catalog {
    pub fn get(&self, name: &str) -> Option<&Arc<Scenario>> {
        self.by_name.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    pub fn scenarios(&self) -> impl Iterator<Item = &Arc<Scenario>> {
        self.by_name.values()
    }
}
