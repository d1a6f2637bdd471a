//! What a check found: the inputs it read, problems (the configuration does
//! not work as written) and warnings, each about one subject and located
//! where possible, and the coverage of documented statuses.

use std::fmt;

use crate::diagnostic::{Diagnostic, Position};

/// What a finding is about; each subject is one test case in the JUnit report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// An input file, by its label.
    Input(String),
    /// A documented status of an operation.
    Pair { operation: String, status: u16 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub subject: Subject,
    /// The file the finding sits in, when there is one.
    pub file: Option<String>,
    pub line_column: Option<(u64, u64)>,
    pub message: String,
}

impl Finding {
    pub fn located(subject: Subject, diagnostic: Diagnostic) -> Self {
        let (line_column, message) = match diagnostic.position {
            Position::LineColumn { line, column } => (Some((line, column)), diagnostic.message),
            Position::Pointer(pointer) => (None, format!("{} (at #{pointer})", diagnostic.message)),
            Position::File => (None, diagnostic.message),
        };
        Self {
            subject,
            file: Some(diagnostic.file),
            line_column,
            message,
        }
    }

    /// A finding whose text names what it is about (the engine's warnings).
    pub fn unlocated(subject: Subject, message: String) -> Self {
        Self {
            subject,
            file: None,
            line_column: None,
            message,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line_column) {
            (Some(file), Some((line, column))) => write!(f, "{file}:{line}:{column}: {}", self.message),
            (Some(file), None) => write!(f, "{file}: {}", self.message),
            (None, _) => f.write_str(&self.message),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Spec,
    Fixture,
    Scenario,
}

impl InputKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InputKind::Spec => "spec",
            InputKind::Fixture => "fixture",
            InputKind::Scenario => "scenario",
        }
    }
}

/// An input file that was checked.
#[derive(Debug, Clone)]
pub struct Input {
    pub kind: InputKind,
    pub label: String,
}

/// A documented status of an operation and what reaches it; empty
/// `reached_by`: only `Prefer: code=N` does.
#[derive(Debug, Clone)]
pub struct Pair {
    /// The stem of its spec, when several are served.
    pub spec: Option<String>,
    pub operation: String,
    pub status: u16,
    pub reached_by: Vec<String>,
}

impl Pair {
    pub fn subject(&self) -> Subject {
        Subject::Pair {
            operation: self.operation.clone(),
            status: self.status,
        }
    }
}

/// What `check` found: the inputs it read, the problems (the configuration
/// does not work as written) and warnings, each located where possible, and
/// which scenario rules reach each documented status. `Display` is the
/// report for people (what `specmock check` prints); [`CheckReport::to_json`]
/// and [`CheckReport::to_junit_xml`] the same for tools.
#[derive(Debug)]
pub struct CheckReport {
    pub(crate) inputs: Vec<Input>,
    pub(crate) problems: Vec<Finding>,
    pub(crate) warnings: Vec<Finding>,
    pub(crate) coverage: Vec<Pair>,
    /// The spec's webhooks (`NAME METHOD`): declared, not served.
    pub(crate) webhooks: Vec<String>,
    /// Warnings fail the check too.
    pub(crate) strict: bool,
}

impl CheckReport {
    /// A report with nothing found yet, for `gather` to fill: not public, so
    /// a report a user holds is always the result of a check.
    pub(crate) fn empty() -> Self {
        Self {
            inputs: Vec::new(),
            problems: Vec::new(),
            warnings: Vec::new(),
            coverage: Vec::new(),
            webhooks: Vec::new(),
            strict: false,
        }
    }

    /// Whether the configuration passed: no problem, and under `strict` no
    /// warning either.
    pub fn passed(&self) -> bool {
        self.problems.is_empty() && (!self.strict || self.warnings.is_empty())
    }

    /// The report as a JSON document: findings with their file, line and
    /// column, the coverage, and a summary.
    pub fn to_json(&self) -> serde_json::Value {
        super::output::json(self)
    }

    /// The report as JUnit XML: a test case per input and per documented status.
    pub fn to_junit_xml(&self) -> String {
        crate::junit::render(&[super::junit_report::suite(self)])
    }

    /// The problems and the warnings about `subject`.
    pub(crate) fn about(&self, subject: &Subject) -> (Vec<&Finding>, Vec<&Finding>) {
        (about(&self.problems, subject), about(&self.warnings, subject))
    }

    /// Findings grouped by subject, inputs first, in the order they were
    /// checked (the loader finds problems in its own order).
    pub(crate) fn sort(&mut self) {
        let rank = |finding: &Finding| match &finding.subject {
            Subject::Input(label) => self.inputs.iter().position(|input| input.label == *label),
            Subject::Pair { operation, status } => self
                .coverage
                .iter()
                .position(|pair| pair.operation == *operation && pair.status == *status)
                .map(|index| self.inputs.len() + index),
        };
        self.problems.sort_by_key(rank);
        self.warnings.sort_by_key(rank);
    }

    /// The subject of a finding in `file`: that input, or the spec for a
    /// file reached through one of its `$ref`s.
    pub(crate) fn subject_of(&self, file: &str) -> Subject {
        let input = self
            .inputs
            .iter()
            .find(|input| input.label == file)
            .or_else(|| self.inputs.iter().find(|input| input.kind == InputKind::Spec));
        Subject::Input(input.map_or_else(|| file.to_string(), |input| input.label.clone()))
    }

    pub(crate) fn problem(&mut self, diagnostic: Diagnostic) {
        let subject = self.subject_of(&diagnostic.file);
        self.problems.push(Finding::located(subject, diagnostic));
    }

    pub(crate) fn warning(&mut self, diagnostic: Diagnostic) {
        let subject = self.subject_of(&diagnostic.file);
        self.warnings.push(Finding::located(subject, diagnostic));
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&super::output::text(self))
    }
}

fn about<'a>(findings: &'a [Finding], subject: &Subject) -> Vec<&'a Finding> {
    findings.iter().filter(|finding| finding.subject == *subject).collect()
}
