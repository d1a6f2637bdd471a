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

    /// Where serde_json met `error`. Its columns count from 1, except that an
    /// error on a line break itself (a raw line break inside a string) is at
    /// column 0 of the next line: that is column 1, where an editor can go.
    pub fn at_json_error(file: impl Into<String>, error: &serde_json::Error, message: impl Into<String>) -> Self {
        Self::at_line(file, error.line() as u64, json_column(error), message)
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

/// serde_json's column of an error, counted from 1 even for an error on a line break.
pub fn json_column(error: &serde_json::Error) -> u64 {
    error.column().max(1) as u64
}

/// A parser message without its trailing " at line L, column C" (or, for
/// an error met through a YAML alias, " (used at line L, column C)"): the
/// position is reported on its own. Only a real position at the very end is
/// cut, so "(defined at line L, column C)" in the middle stays.
pub fn without_position(message: &str) -> &str {
    for (opening, closing) in [(" (used at line ", ")"), (" at line ", "")] {
        let Some(index) = message.rfind(opening) else { continue };
        let tail = &message[index + opening.len()..];
        if tail.strip_suffix(closing).is_some_and(is_line_and_column) {
            return &message[..index];
        }
    }
    message
}

/// `L, column C` or `L column C`, as serde-saphyr and serde_json write them.
fn is_line_and_column(text: &str) -> bool {
    let Some((line, column)) = text.split_once(" column ") else {
        return false;
    };
    let line = line.strip_suffix(',').unwrap_or(line);
    [line, column]
        .iter()
        .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::without_position;

    #[test]
    fn a_json_error_on_a_line_break_is_at_column_1() {
        // Found by fuzzing the spec loader (fuzz/regressions/spec/).
        let error = serde_json::from_str::<serde_json::Value>("{\"title\": \"t\n\"}").unwrap_err();
        assert_eq!((error.line(), error.column()), (2, 0));
        assert_eq!(super::json_column(&error), 1);
    }

    #[test]
    fn only_a_trailing_position_is_cut() {
        for (message, kept) in [
            ("expected value at line 1 column 5", "expected value"),
            ("invalid type at line 3, column 7", "invalid type"),
            (
                "invalid u16 (defined at line 1, column 20) (used at line 4, column 24)",
                "invalid u16 (defined at line 1, column 20)",
            ),
            (
                "a message about what happens at line ends",
                "a message about what happens at line ends",
            ),
        ] {
            assert_eq!(without_position(message), kept);
        }
    }
}
