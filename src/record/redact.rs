//! Secrets kept out of a recording: the values of the query parameters
//! the spec's API keys name, the body properties named like credentials
//! (any depth), and the body pointers `--redact` adds. Each is replaced by
//! [`MARKER`] and counted by where it was, never by its value. (Request
//! headers are not recorded at all, and a credential a request carried is
//! already `[redacted]` wherever its answer echoed it: the journal's doing.)

use std::collections::BTreeMap;

use serde_json::Value;

/// What stands for a secret in a recording.
pub const MARKER: &str = "[redacted]";

/// Body properties whose names end like these (letters compared without
/// case, `_` and `-`) hold secrets: `access_token`, `clientSecret`, `X-Api-Key`.
const SECRET_NAMES: [&str; 6] = ["accesstoken", "idtoken", "refreshtoken", "password", "secret", "apikey"];

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
                match self.query.contains(&decoded) {
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

    /// Replaces the secrets `body` holds.
    pub fn body(&mut self, body: &mut Value) {
        self.walk(body, &mut String::new());
        for pointer in self.pointers {
            if let Some(value) = body.pointer_mut(pointer).filter(|v| v.as_str() != Some(MARKER)) {
                *value = Value::String(MARKER.to_string());
                *self.counts.entry(format!("/body{pointer}")).or_default() += 1;
            }
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
                        *field = Value::String(MARKER.to_string());
                        *self.counts.entry(format!("/body{at}")).or_default() += 1;
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

fn names_a_secret(name: &str) -> bool {
    let letters: String = name
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_NAMES.iter().any(|secret| letters.ends_with(secret))
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
}
