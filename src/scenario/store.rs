//! What a session remembers under `store:` keys. Each value is shared, not
//! copied: a request body stored whole is the request's own value, and an
//! answer that reads it back borrows it. A store holds a handful of keys, so
//! they are kept in order of first write in a plain list.

use serde::ser::SerializeMap;
use serde_json::Value;

use crate::validate::Checked;

/// A session's `store:` values by key, in order of first write; each value shared, not copied.
#[derive(Debug, Clone, Default)]
pub struct Store {
    entries: Vec<(String, Checked)>,
}

impl Store {
    /// The value under `key` with the schema it is known to pass, if any.
    pub fn get(&self, key: &str) -> Option<&Checked> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value under `key`, if any.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.get(key).map(|checked| checked.value.as_ref())
    }

    /// Whether a rule wrote `key` (or the scenario's initial store has it).
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Writes `key` (keeping its place if it was there); returns the value
    /// it replaces, for the caller to free when it no longer holds a lock.
    pub fn insert(&mut self, key: &str, value: Checked) -> Option<Checked> {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some((_, held)) => Some(std::mem::replace(held, value)),
            None => {
                self.entries.push((key.to_string(), value));
                None
            }
        }
    }

    /// Forgets `key`; returns the value it held.
    pub fn remove(&mut self, key: &str) -> Option<Checked> {
        let index = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(index).1)
    }

    /// Every key and value, in order of first write, as the admin API shows them.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.value.as_ref()))
    }

    /// Every key, in order of first write.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }
}

impl FromIterator<(String, Value)> for Store {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(values: I) -> Self {
        let mut store = Store::default();
        for (key, value) in values {
            store.insert(&key, Checked::unchecked(value));
        }
        store
    }
}

/// As a JSON object (the admin API's view of a session).
impl serde::Serialize for Store {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (key, value) in self.iter() {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_rewritten_key_keeps_its_place_and_hands_back_the_old_value() {
        let mut store: Store = [("a".to_string(), json!(1)), ("b".to_string(), json!(2))]
            .into_iter()
            .collect();
        let old = store.insert("a", Checked::unchecked(json!(3)));
        assert_eq!(old.map(|c| c.value.as_ref().clone()), Some(json!(1)));
        assert_eq!(serde_json::to_string(&store).unwrap(), r#"{"a":3,"b":2}"#);
        assert_eq!(store.remove("a").map(|c| c.value.as_ref().clone()), Some(json!(3)));
        assert!(!store.contains_key("a"));
        assert_eq!(store.keys().collect::<Vec<_>>(), ["b"]);
    }
}
