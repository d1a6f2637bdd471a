//! Errors for the operator: a broken spec, fixture or scenario names the file,
//! where in it (line and column, or a JSON pointer) and what was expected.

use std::fmt;

/// Where in a file a problem sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// 1-based line and column.
    LineColumn { line: u64, column: u64 },
    /// A JSON pointer into the document, for problems found after parsing.
    Pointer(String),
    /// The file as a whole (unreadable, missing).
    File,
}

/// One problem in one input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub position: Position,
    pub message: String,
}

impl Diagnostic {
    pub fn at_pointer(file: impl Into<String>, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            position: Position::Pointer(pointer.into()),
            message: message.into(),
        }
    }

    pub fn at_line(file: impl Into<String>, line: u64, column: u64, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            position: Position::LineColumn { line, column },
            message: message.into(),
        }
    }

    pub fn in_file(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            position: Position::File,
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.position {
            Position::LineColumn { line, column } => write!(f, "{}:{line}:{column}: {}", self.file, self.message),
            Position::Pointer(pointer) => write!(f, "{}#{pointer}: {}", self.file, self.message),
            Position::File => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for Diagnostic {}

/// Escapes one reference token of a JSON pointer (RFC 6901).
pub fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// A parser message without its trailing " at line L, column C": the
/// position is reported on its own.
pub fn without_position(message: &str) -> &str {
    message.rfind(" at line ").map_or(message, |index| &message[..index])
}
