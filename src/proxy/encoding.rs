//! An upstream answer's body as the spec describes it: the client gets the
//! bytes as they came (`Content-Encoding` and all), but they are judged
//! decoded. Pure: headers and bytes in, bytes out.

use std::io::Read;

use bytes::Bytes;
use http::header::{HeaderMap, CONTENT_ENCODING};

/// What can be judged of a body.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// The body as the spec describes it: as sent, or decoded.
    Body(Bytes),
    /// Not judged, and why: an encoding specmock does not decode (`br`,
    /// `zstd`), or more than the limit once decoded.
    Unjudged(String),
    /// The encoding the answer names does not decode: the provider's fault.
    Broken(String),
}

/// `body` undone of each coding `Content-Encoding` lists (the last applied
/// first), at most `limit` bytes once decoded.
pub fn decoded(headers: &HeaderMap, body: &Bytes, limit: usize) -> Decoded {
    let codings: Vec<String> = headers
        .get_all(CONTENT_ENCODING)
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("?").split(','))
        .map(|coding| coding.trim().to_ascii_lowercase())
        .filter(|coding| !coding.is_empty() && coding != "identity")
        .collect();
    let mut decoded = body.clone();
    for coding in codings.iter().rev() {
        let reader: Box<dyn Read + '_> = match coding.as_str() {
            "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(&decoded[..])),
            // RFC 9110 8.4.1.2: zlib's format; some servers send raw deflate.
            "deflate" if is_zlib(&decoded) => Box::new(flate2::read::ZlibDecoder::new(&decoded[..])),
            "deflate" => Box::new(flate2::read::DeflateDecoder::new(&decoded[..])),
            other => {
                return Decoded::Unjudged(format!(
                    "the body is `{other}`-encoded, which specmock does not decode: not judged"
                ))
            }
        };
        let mut out = Vec::new();
        let read = reader.take(limit as u64 + 1).read_to_end(&mut out);
        match read {
            Ok(_) if out.len() > limit => {
                return Decoded::Unjudged(format!(
                    "the body decoded is larger than --max-body ({limit} bytes): not judged"
                ))
            }
            Ok(_) => decoded = Bytes::from(out),
            Err(error) => return Decoded::Broken(format!("not valid {coding} data: {error}")),
        }
    }
    Decoded::Body(decoded)
}

/// A zlib header (RFC 1950): the deflate method, and a check that fits.
fn is_zlib(data: &[u8]) -> bool {
    data.len() >= 2 && data[0] & 0x0f == 8 && u16::from_be_bytes([data[0], data[1]]).is_multiple_of(31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn encoded(coding: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_ENCODING, coding.parse().unwrap());
        headers
    }

    fn gzip(data: &[u8]) -> Bytes {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).unwrap();
        Bytes::from(encoder.finish().unwrap())
    }

    #[test]
    fn gzip_and_deflate_are_undone_in_order_and_bounded() {
        let json = Bytes::from_static(br#"{"id": "u1"}"#);
        assert_eq!(decoded(&HeaderMap::new(), &json, 100), Decoded::Body(json.clone()));
        assert_eq!(
            decoded(&encoded("gzip"), &gzip(&json), 100),
            Decoded::Body(json.clone())
        );
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zlib.write_all(&gzip(&json)).unwrap();
        let twice = Bytes::from(zlib.finish().unwrap());
        assert_eq!(
            decoded(&encoded("gzip, deflate"), &twice, 100),
            Decoded::Body(json.clone())
        );
        assert!(
            matches!(decoded(&encoded("gzip"), &gzip(&json), 5), Decoded::Unjudged(why) if why.contains("--max-body"))
        );
        assert!(matches!(decoded(&encoded("br"), &json, 100), Decoded::Unjudged(why) if why.contains("`br`")));
        assert!(
            matches!(decoded(&encoded("gzip"), &json, 100), Decoded::Broken(why) if why.contains("not valid gzip"))
        );
    }
}
