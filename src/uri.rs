//! Percent-decoding and query-string splitting, strict about malformed input:
//! a bad escape is reported, never silently passed through.

/// Decodes `%XX` escapes. `None` when an escape is truncated or not hex.
pub fn percent_decode(input: &str) -> Option<Vec<u8>> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let high = hex_value(*bytes.get(index + 1)?)?;
            let low = hex_value(*bytes.get(index + 2)?)?;
            out.push(high << 4 | low);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    Some(out)
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Why a path or query component could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    BadEscape(String),
    NotUtf8(String),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::BadEscape(raw) => write!(
                f,
                "`{raw}` has a malformed percent-escape (expected %XX with two hex digits)"
            ),
            DecodeError::NotUtf8(raw) => write!(f, "`{raw}` is not valid UTF-8 once percent-decoded"),
        }
    }
}

/// Percent-decodes into a UTF-8 string.
pub fn decode_component(raw: &str) -> Result<String, DecodeError> {
    let bytes = percent_decode(raw).ok_or_else(|| DecodeError::BadEscape(raw.to_string()))?;
    String::from_utf8(bytes).map_err(|_| DecodeError::NotUtf8(raw.to_string()))
}

/// Splits a query string into decoded `(name, value)` pairs, in order;
/// `+` means a space, as browsers and HTML forms encode it.
pub fn parse_query(query: &str) -> Result<Vec<(String, String)>, DecodeError> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((
                decode_component(&name.replace('+', " "))?,
                decode_component(&value.replace('+', " "))?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_plus() {
        assert_eq!(
            parse_query("a=1+2&b=%C3%A9&c").unwrap(),
            vec![
                ("a".into(), "1 2".into()),
                ("b".into(), "é".into()),
                ("c".into(), "".into())
            ]
        );
    }

    #[test]
    fn rejects_bad_escapes_and_invalid_utf8() {
        assert_eq!(decode_component("%zz"), Err(DecodeError::BadEscape("%zz".into())));
        assert_eq!(decode_component("%4"), Err(DecodeError::BadEscape("%4".into())));
        assert_eq!(decode_component("%ff"), Err(DecodeError::NotUtf8("%ff".into())));
    }
}
