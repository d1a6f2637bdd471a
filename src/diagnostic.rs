//! Errors for the operator: a broken spec, fixture or scenario names the file,
//! where in it (line and column, or a JSON pointer) and what was expected.

use std::fmt;

/// Where in a file a problem sits.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Position {
    /// 1-based line and column.
    LineColumn {
        /// The line, counting from 1.
        line: u64,
        /// The column, counting from 1.
        column: u64,
    },
    /// A JSON pointer into the document, for problems found after parsing.
    Pointer(String),
    /// The file as a whole (unreadable, missing).
    File,
}

/// One problem in one input file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diagnostic {
    /// The file's label as the operator named it (a path relative to the spec, or an embedded
    /// file's name).
    pub file: String,
    /// Where in the file, as precisely as it is known.
    pub position: Position,
    /// What was found and what was expected instead.
    pub message: String,
}

impl Diagnostic {
    /// A problem found in the parsed document, located by JSON pointer until the text is at hand to
    /// turn it into a line.
    pub(crate) fn at_pointer(file: impl Into<String>, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            position: Position::Pointer(pointer.into()),
            message: message.into(),
        }
    }

    /// A problem found while parsing, where the parser stopped (1-based).
    pub(crate) fn at_line(file: impl Into<String>, line: u64, column: u64, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            position: Position::LineColumn { line, column },
            message: message.into(),
        }
    }

    /// Where serde_json met `error`. Its columns count from 1, except that an
    /// error on a line break itself (a raw line break inside a string) is at
    /// column 0 of the next line: that is column 1, where an editor can go.
    pub(crate) fn at_json_error(
        file: impl Into<String>,
        error: &serde_json::Error,
        message: impl Into<String>,
    ) -> Self {
        Self::at_line(file, error.line() as u64, json_column(error), message)
    }

    /// A problem with the file as a whole: it is missing, unreadable or of the wrong kind.
    pub(crate) fn in_file(file: impl Into<String>, message: impl Into<String>) -> Self {
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

/// Problems printed before "and N more": enough to fix several in one go,
/// few enough to read (`specmock check` lists every one).
pub const PRINTED_PROBLEMS: usize = 50;

/// Every problem found in the inputs, in the order found: one mistake does
/// not hide the next. As an error it is never empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// Adds a problem after those already found.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// The value of `result`, or `None` with its problems kept.
    pub fn take<T>(&mut self, result: Result<T, impl Into<Diagnostics>>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(problems) => {
                self.0.extend(problems.into().0);
                None
            }
        }
    }

    /// `value` when nothing was found, else every problem.
    pub fn or<T>(self, value: T) -> Result<T, Diagnostics> {
        match self.is_empty() {
            true => Ok(value),
            false => Err(self),
        }
    }

    /// Whether nothing was found: the inputs can be used.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many problems were found, for "and N more" once the first are printed.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The problems in the order they were found.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// Each problem changed by `f` (a pointer turned into a line, say).
    pub fn map(self, f: impl FnMut(Diagnostic) -> Diagnostic) -> Self {
        Self(self.0.into_iter().map(f).collect())
    }

    /// In the order they sit in their files (those without a line last),
    /// for people reading them top to bottom.
    pub fn sort_by_position(&mut self) {
        self.0.sort_by(|a, b| {
            let key = |d: &Diagnostic| match d.position {
                Position::LineColumn { line, column } => (false, line, column),
                _ => (true, 0, 0),
            };
            a.file.cmp(&b.file).then(key(a).cmp(&key(b)))
        });
    }

    /// The first `cap` problems as `error: ` lines, then a line saying how
    /// many more there are: what start-up prints.
    pub fn error_lines(&self, cap: usize) -> String {
        let mut lines: String = self.0.iter().take(cap).map(|d| format!("error: {d}\n")).collect();
        if let Some(more) = self.len().checked_sub(cap).filter(|more| *more > 0) {
            let problems = if more == 1 { "problem" } else { "problems" };
            lines.push_str(&format!(
                "error: and {more} more {problems} (`specmock check` lists them all)\n"
            ));
        }
        lines
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Self {
        Self(vec![diagnostic])
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<I: IntoIterator<Item = Diagnostic>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// One problem a line.
impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

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
    use super::{without_position, Diagnostic, Diagnostics};

    fn problems(count: u64) -> Diagnostics {
        (1..=count)
            .map(|line| Diagnostic::at_line("a.yaml", line, 1, "broken"))
            .collect()
    }

    #[test]
    fn error_lines_stop_at_the_cap_and_count_the_rest() {
        assert_eq!(
            problems(2).error_lines(2),
            "error: a.yaml:1:1: broken\nerror: a.yaml:2:1: broken\n"
        );
        assert_eq!(
            problems(4).error_lines(2),
            "error: a.yaml:1:1: broken\nerror: a.yaml:2:1: broken\n\
             error: and 2 more problems (`specmock check` lists them all)\n"
        );
        assert!(problems(3)
            .error_lines(2)
            .ends_with("error: and 1 more problem (`specmock check` lists them all)\n"));
    }

    #[test]
    fn problems_sort_by_line_then_column_with_unlocated_ones_last() {
        let mut found: Diagnostics = [
            Diagnostic::in_file("a.yaml", "whole file"),
            Diagnostic::at_line("a.yaml", 9, 2, "late"),
            Diagnostic::at_line("a.yaml", 3, 7, "right"),
            Diagnostic::at_line("a.yaml", 3, 1, "left"),
        ]
        .into_iter()
        .collect();
        found.sort_by_position();
        let messages: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages, ["left", "right", "late", "whole file"]);
    }

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
