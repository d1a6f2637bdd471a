//! The strategies these properties share with those beside single modules
//! in src/ (`#[cfg(test)] mod properties`, which `include!` the files they
//! use: each file there is used whole, and documented here).

/// The configuration every property runs under.
pub mod config;
/// Header values as bytes, not all of them text.
pub mod header;
/// JSON values, keys mostly the profiles' own, and the awkward strings a
/// parser or a matcher may trip on.
pub mod json;
/// OpenAPI 3.0 schemas (some of them not quite), and the optional fields
/// every generated document is made of.
pub mod schema;
