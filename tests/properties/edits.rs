//! Documents edited: a JSON value changed node by node, a text cut,
//! spliced and its lines repeated or dropped.

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Map, Value};

use crate::strategies::json::{awkward_string, json_key, json_value};

/// A value nested `depth` levels deep, in arrays or objects.
pub fn nested(depth: usize, object: bool, leaf: Value) -> Value {
    (0..depth).fold(leaf, |inner, _| match object {
        true => json!({ "user": inner }),
        false => json!([inner]),
    })
}

fn node_count(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(node_count).sum(),
        Value::Object(map) => map.values().map(node_count).sum(),
        _ => 0,
    }
}

/// Replaces the `n`th node (pre-order) of `value` with `new`.
fn replace_nth(value: &mut Value, n: &mut usize, new: &Value) -> bool {
    if *n == 0 {
        *value = new.clone();
        return true;
    }
    *n -= 1;
    match value {
        Value::Array(items) => items.iter_mut().any(|item| replace_nth(item, n, new)),
        Value::Object(map) => map.values_mut().any(|item| replace_nth(item, n, new)),
        _ => false,
    }
}

/// Removes one key (the `n`th object member, pre-order) of `value`.
fn remove_nth_key(value: &mut Value, n: &mut usize) -> bool {
    match value {
        Value::Array(items) => items.iter_mut().any(|item| remove_nth_key(item, n)),
        Value::Object(map) => {
            if *n < map.len() {
                let key = map.keys().nth(*n).cloned().expect("in range");
                map.remove(&key);
                return true;
            }
            *n -= map.len();
            map.values_mut().any(|item| remove_nth_key(item, n))
        }
        _ => false,
    }
}

#[derive(Debug, Clone)]
pub enum ValueEdit {
    Replace(Index, Value),
    Remove(Index),
    Insert(Index, String, Value),
}

pub fn value_edit() -> BoxedStrategy<ValueEdit> {
    prop_oneof![
        4 => (any::<Index>(), json_value()).prop_map(|(at, v)| ValueEdit::Replace(at, v)),
        2 => any::<Index>().prop_map(ValueEdit::Remove),
        2 => (any::<Index>(), json_key(), json_value()).prop_map(|(at, k, v)| ValueEdit::Insert(at, k, v)),
    ]
    .boxed()
}

pub fn apply_edits(mut value: Value, edits: &[ValueEdit]) -> Value {
    for edit in edits {
        match edit {
            ValueEdit::Replace(at, new) => {
                let mut n = at.index(node_count(&value));
                replace_nth(&mut value, &mut n, new);
            }
            ValueEdit::Remove(at) => {
                let mut n = at.index(node_count(&value));
                remove_nth_key(&mut value, &mut n);
            }
            ValueEdit::Insert(at, key, new) => {
                // Into the chosen node when it is an object, else into the root.
                let mut n = at.index(node_count(&value));
                if let Some(map) = nth_object(&mut value, &mut n) {
                    map.insert(key.clone(), new.clone());
                } else if let Value::Object(map) = &mut value {
                    map.insert(key.clone(), new.clone());
                }
            }
        }
    }
    value
}

fn nth_object<'v>(value: &'v mut Value, n: &mut usize) -> Option<&'v mut Map<String, Value>> {
    if *n == 0 {
        return value.as_object_mut();
    }
    *n -= 1;
    match value {
        Value::Array(items) => items.iter_mut().find_map(|item| nth_object(item, n)),
        Value::Object(map) => map.values_mut().find_map(|item| nth_object(item, n)),
        _ => None,
    }
}

#[derive(Debug, Clone)]
pub enum TextEdit {
    /// Removes up to `len` bytes at a position.
    Delete(Index, usize),
    /// Inserts text at a position.
    Insert(Index, String),
    /// Repeats a whole line.
    DuplicateLine(Index),
    /// Removes a whole line.
    DeleteLine(Index),
    /// Replaces one byte position's character.
    Replace(Index, String),
    /// Cuts the text short.
    Truncate(Index),
}

pub fn apply_text_edits(text: &str, edits: &[TextEdit]) -> String {
    let mut text = text.to_string();
    let boundary = |text: &str, at: &Index| {
        let mut position = at.index(text.len() + 1);
        while !text.is_char_boundary(position) {
            position -= 1;
        }
        position
    };
    for edit in edits {
        match edit {
            TextEdit::Delete(at, len) => {
                let start = boundary(&text, at);
                let mut end = (start + len).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                text.replace_range(start..end, "");
            }
            TextEdit::Insert(at, insert) => {
                let at = boundary(&text, at);
                text.insert_str(at, insert);
            }
            TextEdit::Replace(at, with) => {
                let start = boundary(&text, at);
                let end = text[start..].chars().next().map_or(start, |c| start + c.len_utf8());
                text.replace_range(start..end, with);
            }
            TextEdit::DuplicateLine(at) | TextEdit::DeleteLine(at) => {
                let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
                if lines.is_empty() {
                    continue;
                }
                let index = at.index(lines.len());
                let line = lines[index];
                match edit {
                    TextEdit::DuplicateLine(_) => lines.insert(index, line),
                    _ => {
                        lines.remove(index);
                    }
                }
                text = lines.concat();
            }
            TextEdit::Truncate(at) => {
                let at = boundary(&text, at);
                text.truncate(at);
            }
        }
    }
    text
}

pub fn text_edit(tokens: &'static [&'static str]) -> BoxedStrategy<TextEdit> {
    let token = prop_oneof![
        4 => prop::sample::select(tokens).prop_map(str::to_string),
        1 => awkward_string(),
        1 => "[ -~\n]{1,6}",
    ];
    prop_oneof![
        3 => (any::<Index>(), 1usize..12).prop_map(|(at, n)| TextEdit::Delete(at, n)),
        4 => (any::<Index>(), token.clone()).prop_map(|(at, t)| TextEdit::Insert(at, t)),
        3 => (any::<Index>(), token).prop_map(|(at, t)| TextEdit::Replace(at, t)),
        2 => any::<Index>().prop_map(TextEdit::DuplicateLine),
        2 => any::<Index>().prop_map(TextEdit::DeleteLine),
        1 => any::<Index>().prop_map(TextEdit::Truncate),
    ]
    .boxed()
}
