//! JSON inputs (specs, their `$ref`'d files, fixtures) within node and
//! string budgets, as YAML ones are: serde_json bounds only nesting. A
//! counting pass that builds nothing refuses an oversized document before
//! any value is made of it, at the line and column where the budget ran out.

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::budget::{NodeBudget, SCALAR_BYTES};

/// Deserializes `text` once it is known to fit `budget`.
pub fn from_str<T: DeserializeOwned>(text: &str, budget: NodeBudget) -> serde_json::Result<T> {
    fits(text, Limits::of(budget))?;
    serde_json::from_str(text)
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    /// Values, and object keys (YAML counts a key as a scalar node).
    nodes: usize,
    /// Bytes of strings, keys included.
    string_bytes: usize,
    input: &'static str,
}

impl Limits {
    fn of(budget: NodeBudget) -> Self {
        Self {
            nodes: budget.nodes(),
            string_bytes: SCALAR_BYTES,
            input: budget.input(),
        }
    }
}

/// `Ok` when `text` is one JSON value within `limits`; else serde_json's
/// error at the position reached (a syntax error, or the budget's).
fn fits(text: &str, limits: Limits) -> serde_json::Result<()> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let mut tally = Tally {
        nodes: 0,
        string_bytes: 0,
        limits,
    };
    Counting(&mut tally).deserialize(&mut deserializer)?;
    deserializer.end()
}

struct Tally {
    nodes: usize,
    string_bytes: usize,
    limits: Limits,
}

impl Tally {
    fn count<E: de::Error>(&mut self, string_bytes: usize) -> Result<(), E> {
        self.nodes += 1;
        self.string_bytes = self.string_bytes.saturating_add(string_bytes);
        let Limits {
            nodes,
            string_bytes,
            input,
        } = self.limits;
        if self.nodes > nodes {
            return Err(E::custom(format!(
                "budget breached: more than {nodes} nodes (values and keys) in {input}"
            )));
        }
        if self.string_bytes > string_bytes {
            return Err(E::custom(format!(
                "budget breached: more than {} MiB of strings in {input}",
                string_bytes >> 20
            )));
        }
        Ok(())
    }
}

/// Visits every value and key, keeping none of them.
struct Counting<'t>(&'t mut Tally);

impl<'de> DeserializeSeed<'de> for Counting<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Counting<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.count(0)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.0.count(0)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.0.count(0)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.0.count(0)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.0.count(0)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        self.0.count(text.len())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let tally = self.0;
        tally.count(0)?;
        while items.next_element_seed(Counting(&mut *tally))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<(), A::Error> {
        let tally = self.0;
        match entries.next_key::<FirstKey>()? {
            None => tally.count(0),
            // serde_json (with `arbitrary_precision`) hands a number over as a
            // map of one private key whose value is the number's text: one node.
            Some(FirstKey::NumberToken) => entries.next_value_seed(Counting(tally)),
            Some(FirstKey::Key(bytes)) => {
                tally.count(0)?;
                tally.count(bytes)?;
                entries.next_value_seed(Counting(&mut *tally))?;
                while entries.next_key_seed(Counting(&mut *tally))?.is_some() {
                    entries.next_value_seed(Counting(&mut *tally))?;
                }
                Ok(())
            }
        }
    }
}

/// serde_json's name for the key under which it hands over a number's text.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// The first key of a map: serde_json's number token, or a key of this many bytes.
enum FirstKey {
    NumberToken,
    Key(usize),
}

impl<'de> de::Deserialize<'de> for FirstKey {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(FirstKeyVisitor)
    }
}

struct FirstKeyVisitor;

impl Visitor<'_> for FirstKeyVisitor {
    type Value = FirstKey;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<FirstKey, E> {
        Ok(match key {
            NUMBER_TOKEN => FirstKey::NumberToken,
            _ => FirstKey::Key(key.len()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(nodes: usize, string_bytes: usize) -> Limits {
        Limits {
            nodes,
            string_bytes,
            input: "a test",
        }
    }

    /// `(line, column, message)` of a refusal.
    fn refusal(text: &str, limits: Limits) -> (usize, usize, String) {
        let error = fits(text, limits).expect_err("refused");
        (error.line(), error.column(), error.to_string())
    }

    #[test]
    fn values_and_keys_are_nodes() {
        // The object, its key, its array and the array's three items.
        let text = r#"{"a": [1, "x", null]}"#;
        assert!(fits(text, limits(6, 1 << 20)).is_ok());
        let (line, column, message) = refusal(text, limits(5, 1 << 20));
        assert!(
            message.starts_with("budget breached: more than 5 nodes (values and keys) in a test"),
            "{message}"
        );
        assert_eq!((line, column), (1, 19));
    }

    #[test]
    fn a_number_of_any_kind_is_one_node() {
        let huge = "316999888889838852905107456";
        for number in ["1.5", "-0.0", "1e400", huge, "7"] {
            let text = format!("[{number}, {number}]");
            assert!(fits(&text, limits(3, 1 << 20)).is_ok(), "{text}");
            let (_, _, message) = refusal(&text, limits(2, 1 << 20));
            assert!(message.starts_with("budget breached: more than 2 nodes"), "{message}");
        }
        // An object whose first key looks like nothing special is still an object.
        assert!(fits(r#"{"$serde": 1.5, "b": [2.5]}"#, limits(6, 1 << 20)).is_ok());
        assert!(fits(r#"{"$serde": 1.5, "b": [2.5]}"#, limits(5, 1 << 20)).is_err());
    }

    #[test]
    fn strings_and_keys_count_against_the_string_budget() {
        let key = "k".repeat(600 * 1024);
        let value = "v".repeat(600 * 1024);
        let text = format!("{{\n\"{key}\":\n\"{value}\"}}");
        assert!(fits(&format!("{{\"{key}\": 1}}"), limits(10, 1 << 20)).is_ok());
        let (line, _, message) = refusal(&text, limits(10, 1 << 20));
        assert!(
            message.starts_with("budget breached: more than 1 MiB of strings in a test"),
            "{message}"
        );
        assert_eq!(line, 3, "at the value that went over");
    }

    #[test]
    fn syntax_errors_and_trailing_text_are_serde_jsons_own() {
        for text in ["[1, 2", "{} x", r#"{"a" 1}"#] {
            let counted = fits(text, limits(100, 1 << 20)).expect_err("invalid");
            let parsed = serde_json::from_str::<serde_json::Value>(text).expect_err("invalid");
            assert_eq!(counted.to_string(), parsed.to_string());
        }
    }

    #[test]
    fn nesting_keeps_serde_jsons_limit() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        let (_, _, message) = refusal(&deep, limits(usize::MAX, usize::MAX));
        assert!(message.starts_with("recursion limit exceeded"), "{message}");
    }
}
