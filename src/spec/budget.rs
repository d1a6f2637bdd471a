//! The budgets a document is parsed within, and the YAML options that hold
//! them. build.rs includes this file too: it parses the embedded YAML files
//! with these very options, so their values built into the binary are the
//! ones a parse at start-up would give.

/// How many nodes a document may have: values, and the keys of mappings.
/// serde-saphyr's default (250,000) suits scenario files and fixtures but
/// refuses large real specs (a 10 MB public REST API is around a million
/// nodes); for YAML, aliases, anchors and depth keep their defaults either
/// way, and they are what stop a YAML bomb.
#[derive(Debug, Clone, Copy)]
pub enum NodeBudget {
    /// An OpenAPI document: large real specs need about a million nodes.
    Spec,
    /// A scenario file.
    Scenario,
    /// A fixture file.
    Fixture,
}

impl NodeBudget {
    /// The most nodes a document of this kind may have.
    pub fn nodes(self) -> usize {
        match self {
            NodeBudget::Spec => 2_000_000,
            NodeBudget::Scenario | NodeBudget::Fixture => 250_000,
        }
    }

    /// What a breach names.
    pub fn input(self) -> &'static str {
        match self {
            NodeBudget::Spec => "one spec file",
            NodeBudget::Scenario => "one scenario file",
            NodeBudget::Fixture => "one fixture",
        }
    }
}

/// Bytes of scalars (YAML) or strings (JSON) in one document: serde-saphyr's
/// default, for both.
pub const SCALAR_BYTES: usize = 64 * 1024 * 1024;

/// YAML 1.2 booleans only: in YAML 1.1 `n`, `y`, `no`, `on` are booleans,
/// which silently breaks a property or parameter named `n` or `on`.
pub fn yaml_options(nodes: NodeBudget) -> serde_saphyr::Options {
    let max_nodes = nodes.nodes();
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    options.strict_booleans = true;
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = max_nodes;
    budget.max_total_scalar_bytes = SCALAR_BYTES;
    budget.max_events = budget.max_events.max(4 * max_nodes);
    options.budget = Some(budget);
    options
}
