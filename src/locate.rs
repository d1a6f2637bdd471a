//! JSON pointer -> line and column in a YAML (or JSON) text, so problems
//! found after parsing (an unresolved `$ref`, an unknown operation in a
//! scenario) are still reported where they sit in the file.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser};

use crate::diagnostic::{escape_pointer_token, Diagnostic, Position};

#[derive(Debug, Default)]
pub struct Locations {
    by_pointer: HashMap<String, (u64, u64)>,
}

enum Frame {
    Mapping { pointer: String, key: Option<String> },
    Sequence { pointer: String, index: usize },
}

impl Locations {
    /// Indexes every node of the first document. Text that does not parse
    /// yields what was indexed before the error (the parser reports that).
    pub fn of_yaml(text: &str) -> Self {
        let mut by_pointer = HashMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        for result in Parser::new_from_str(text) {
            let Ok((event, span)) = result else { break };
            let at = (span.start.line() as u64, span.start.col() as u64 + 1);
            match event {
                Event::Scalar(value, ..) => {
                    if let Some(Frame::Mapping { key: key @ None, .. }) = stack.last_mut() {
                        *key = Some(value.into_owned());
                        continue;
                    }
                    if let Some(pointer) = child_pointer(&mut stack) {
                        by_pointer.insert(pointer, at);
                    }
                }
                Event::Alias(_) => {
                    if let Some(pointer) = child_pointer(&mut stack) {
                        by_pointer.insert(pointer, at);
                    }
                }
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    let pointer = child_pointer(&mut stack).unwrap_or_default();
                    by_pointer.insert(pointer.clone(), at);
                    stack.push(match event {
                        Event::MappingStart(..) => Frame::Mapping { pointer, key: None },
                        _ => Frame::Sequence { pointer, index: 0 },
                    });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                }
                Event::DocumentEnd => break,
                _ => {}
            }
        }
        Self { by_pointer }
    }

    /// The position of `pointer`, or of its nearest ancestor that has one.
    pub fn find(&self, pointer: &str) -> Option<(u64, u64)> {
        let mut current = pointer;
        loop {
            if let Some(found) = self.by_pointer.get(current) {
                return Some(*found);
            }
            current = &current[..current.rfind('/')?];
        }
    }

    /// Turns a pointer position into a line and column where one is known.
    pub fn locate(&self, mut diagnostic: Diagnostic) -> Diagnostic {
        if let Position::Pointer(pointer) = &diagnostic.position {
            if let Some((line, column)) = self.find(pointer) {
                let pointer = pointer.clone();
                diagnostic.position = Position::LineColumn { line, column };
                diagnostic.message = format!("{} (at #{pointer})", diagnostic.message);
            }
        }
        diagnostic
    }
}

/// The pointer of the next child of the innermost collection, advancing it.
fn child_pointer(stack: &mut [Frame]) -> Option<String> {
    match stack.last_mut()? {
        Frame::Mapping { pointer, key } => {
            let key = key.take()?;
            Some(format!("{pointer}/{}", escape_pointer_token(&key)))
        }
        Frame::Sequence { pointer, index } => {
            let child = format!("{pointer}/{index}");
            *index += 1;
            Some(child)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_keys_and_list_items() {
        let text = "a:\n  b: 1\n  list:\n    - x\n    - {k: v}\n'c/d': [1, 2]\n";
        let locations = Locations::of_yaml(text);
        assert_eq!(locations.find("/a/b"), Some((2, 6)));
        assert_eq!(locations.find("/a/list/1/k"), Some((5, 11)));
        assert_eq!(locations.find("/c~1d/1"), Some((6, 12)));
        assert_eq!(locations.find("/a/missing/deeper"), Some((2, 3)));
    }

    #[test]
    fn a_mapping_key_is_not_mistaken_for_a_value() {
        let locations = Locations::of_yaml("outer:\n  inner:\n    leaf: true\n");
        assert_eq!(locations.find("/outer/inner/leaf"), Some((3, 11)));
    }
}
