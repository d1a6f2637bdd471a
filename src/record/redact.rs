//! Secrets kept out of a recording: the values of the query parameters
//! the spec's API keys name, the body properties named like credentials
//! (any depth), and the body pointers `--redact` adds. Each is replaced by
//! [`MARKER`] and counted by where it was, never by its value. (Request
//! headers are not recorded at all, and a credential a request carried is
//! already `[redacted]` wherever its answer echoed it: the journal's doing.)

use std::collections::BTreeMap;
use std::ops::BitOr;

use serde_json::Value;

/// What stands for a secret in a recording.
pub const MARKER: &str = "[redacted]";

/// Names holding secrets contain one of these once lower-cased with `_`,
/// `-` and `.` dropped: `access_token`, `apiKeys`, `clientSecretValue`,
/// `X-Api-Key`, `privateKey`. Only strings are replaced (a `hasPassword`
/// flag or a `tokens` count is no secret, and stays valid for its schema).
const SECRET_WORDS: [&str; 9] = [
    "token",
    "secret",
    "password",
    "passwd",
    "passphrase",
    "apikey",
    "privatekey",
    "credential",
    "authorization",
];

/// Redacts one recording's values, and counts what it redacted where.
pub struct Redactor<'a> {
    /// The query parameters the spec's API keys are sent in.
    query: &'a [String],
    /// `--redact`: JSON pointers into response bodies.
    pointers: &'a [String],
    /// `/query/NAME` or `/body/POINTER`, and how many values were redacted there.
    pub counts: BTreeMap<String, u64>,
}

impl<'a> Redactor<'a> {
    pub fn new(query: &'a [String], pointers: &'a [String]) -> Self {
        Self {
            query,
            pointers,
            counts: BTreeMap::new(),
        }
    }

    /// `target` (path and query) with the values of credential parameters replaced.
    pub fn target(&mut self, target: &str) -> String {
        let Some((path, query)) = target.split_once('?') else {
            return target.to_string();
        };
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| {
                let name = pair.split_once('=').map_or(pair, |(name, _)| name);
                let decoded = crate::uri::decode_component(name).unwrap_or_else(|_| name.to_string());
                match self.query.contains(&decoded) || names_a_secret(&decoded) {
                    true => {
                        *self.counts.entry(format!("/query/{decoded}")).or_default() += 1;
                        format!("{name}={MARKER}")
                    }
                    false => pair.to_string(),
                }
            })
            .collect();
        format!("{path}?{}", pairs.join("&"))
    }

    /// Replaces the secrets `body` holds; whether it held any.
    pub fn body(&mut self, body: &mut Value) -> bool {
        let before: u64 = self.counts.values().sum();
        self.walk(body, &mut String::new());
        for pointer in self.pointers {
            if let Some(value) = body.pointer_mut(pointer) {
                self.replace_strings(value, pointer);
            }
        }
        self.counts.values().sum::<u64>() != before
    }

    /// Replaces every string in `value` (itself, or any depth under it),
    /// counted once at `at` when there was one.
    fn replace_strings(&mut self, value: &mut Value, at: &str) {
        if replace_strings(value) {
            *self.counts.entry(format!("/body{at}")).or_default() += 1;
        }
    }

    fn walk(&mut self, value: &mut Value, at: &mut String) {
        let length = at.len();
        match value {
            Value::Object(fields) => {
                for (name, field) in fields.iter_mut() {
                    at.push('/');
                    at.push_str(&name.replace('~', "~0").replace('/', "~1"));
                    if names_a_secret(name) {
                        self.replace_strings(field, at);
                    } else {
                        self.walk(field, at);
                    }
                    at.truncate(length);
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter_mut().enumerate() {
                    at.push_str(&format!("/{index}"));
                    self.walk(item, at);
                    at.truncate(length);
                }
            }
            _ => {}
        }
    }
}

/// Replaces the strings in `value` not yet replaced; whether there was one.
fn replace_strings(value: &mut Value) -> bool {
    match value {
        Value::String(text) if text != MARKER => {
            *text = MARKER.to_string();
            true
        }
        Value::Array(items) => items.iter_mut().map(replace_strings).fold(false, BitOr::bitor),
        Value::Object(fields) => fields.values_mut().map(replace_strings).fold(false, BitOr::bitor),
        _ => false,
    }
}

/// Whether a body property or query parameter of this name holds a secret.
fn names_a_secret(name: &str) -> bool {
    let letters: String = name
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_WORDS.iter().any(|secret| letters.contains(secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_replaced_at_any_depth_and_counted_by_where_they_were() {
        let (query, pointers) = (vec!["api_key".to_string()], vec!["/user/email".to_string()]);
        let mut redactor = Redactor::new(&query, &pointers);
        let mut body = json!({
            "user": { "email": "a@b.c", "name": "Ann", "clientSecret": "s3" },
            "sessions": [{ "access_token": "t1", "refresh-token": "t2" }, { "id_token": "t3" }],
            "Password": "hunter2",
            "tokens": 2
        });
        redactor.body(&mut body);
        assert_eq!(
            body,
            json!({
                "user": { "email": MARKER, "name": "Ann", "clientSecret": MARKER },
                "sessions": [{ "access_token": MARKER, "refresh-token": MARKER }, { "id_token": MARKER }],
                "Password": MARKER,
                "tokens": 2
            })
        );
        assert_eq!(
            redactor.target("/user?page=2&api_key=k%20ey&api_key=again"),
            "/user?page=2&api_key=[redacted]&api_key=[redacted]"
        );
        assert_eq!(redactor.target("/user"), "/user");
        let counts: Vec<(&str, u64)> = redactor.counts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(
            counts,
            [
                ("/body/Password", 1),
                ("/body/sessions/0/access_token", 1),
                ("/body/sessions/0/refresh-token", 1),
                ("/body/sessions/1/id_token", 1),
                ("/body/user/clientSecret", 1),
                ("/body/user/email", 1),
                ("/query/api_key", 2),
            ]
        );
    }

    #[test]
    fn plurals_and_longer_names_are_secrets_and_only_their_strings_are_replaced() {
        let mut redactor = Redactor::new(&[], &[]);
        let mut body = json!({
            "apiKeys": ["pk_test_FAKE_1", "pk_test_FAKE_2"],
            "secrets": { "a": "s1", "n": 3 },
            "tokens": 2,
            "clientSecretValue": "s2",
            "privateKey": "-----BEGIN",
            "hasPassword": true,
            "name": "Ann"
        });
        assert!(redactor.body(&mut body));
        assert_eq!(
            body,
            json!({
                "apiKeys": [MARKER, MARKER],
                "secrets": { "a": MARKER, "n": 3 },
                "tokens": 2,
                "clientSecretValue": MARKER,
                "privateKey": MARKER,
                "hasPassword": true,
                "name": "Ann"
            })
        );
        assert!(!redactor.body(&mut json!({ "name": "Ann", "hasPassword": false })));
        assert_eq!(
            redactor.target("/thing?access_token=T1&page=2&Password=P1"),
            "/thing?access_token=[redacted]&page=2&Password=[redacted]"
        );
    }
}
