//! JSON numbers as the text a client wrote. serde_json is built with
//! `arbitrary_precision`, so a `Number` keeps that text (`1.50` stays `1.50`,
//! a 27-digit integer stays exact); comparing two numbers therefore has to
//! compare the values the texts denote, not the texts.

use serde_json::Number;

/// Do `a` and `b` denote the same value? `1.5 == 1.50 == 15e-1`, `0 == -0.0`,
/// and integers of any size compare exactly.
pub fn equal(a: &Number, b: &Number) -> bool {
    let (a, b) = (a.as_str(), b.as_str());
    a == b
        || match (Decimal::parse(a), Decimal::parse(b)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
}

/// Is this number written as an integer (no fraction, no exponent)?
pub fn is_integer_text(number: &Number) -> bool {
    !number.as_str().contains(['.', 'e', 'E'])
}

/// A JSON number text, normalised so that equal values are equal structs:
/// the value is `-1^negative * 0.digits * 10^exponent`, with `digits` free of
/// leading and trailing zeros (and empty for zero, which has no sign).
#[derive(Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    digits: Vec<u8>,
    exponent: i128,
}

impl Decimal {
    fn parse(text: &str) -> Option<Self> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(at) => (&rest[..at], rest[at + 1..].parse::<i64>().ok()?),
            None => (rest, 0),
        };
        let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if integer.is_empty() || !integer.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let all: Vec<u8> = integer.bytes().chain(fraction.bytes()).collect();
        let Some(first) = all.iter().position(|&b| b != b'0') else {
            return Some(Self {
                negative: false,
                digits: Vec::new(),
                exponent: 0,
            });
        };
        let last = all.iter().rposition(|&b| b != b'0').unwrap_or(first);
        let point = integer.len() as i128 - first as i128;
        Some(Self {
            negative,
            digits: all[first..=last].to_vec(),
            exponent: point + i128::from(exponent),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> Number {
        serde_json::from_str(text).expect("a JSON number")
    }

    #[test]
    fn the_same_value_written_differently_is_equal() {
        for (a, b) in [
            ("1.5", "1.50"),
            ("1.5", "15e-1"),
            ("150", "1.5E2"),
            ("0", "-0.0"),
            ("0.001", "1e-3"),
            ("316999888889838852905107456", "3.16999888889838852905107456e26"),
        ] {
            assert!(equal(&number(a), &number(b)), "{a} == {b}");
        }
    }

    #[test]
    fn different_values_are_not_equal_even_beyond_f64() {
        for (a, b) in [
            ("1.5", "1.05"),
            ("-1", "1"),
            ("10", "1"),
            ("316999888889838852905107456", "316999888889838852905107457"),
            ("1e400", "1e401"),
        ] {
            assert!(!equal(&number(a), &number(b)), "{a} != {b}");
        }
    }

    #[test]
    fn integer_text_is_told_apart() {
        assert!(is_integer_text(&number("316999888889838852905107456")));
        assert!(is_integer_text(&number("-3")));
        assert!(!is_integer_text(&number("1.0")));
        assert!(!is_integer_text(&number("1e2")));
    }
}
