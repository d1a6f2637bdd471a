//! Recording: a session's traffic as an ordinary scenario file that
//! replays it (`GET /__mock/sessions/{id}/scenario`, `--record DIR`).
//! `document.rs` turns entries into steps, `redact.rs` keeps secrets out,
//! `yaml.rs` writes the text: all pure. `tape.rs` keeps each session's
//! entries for `--record`; `files.rs` writes them to the directory.

mod document;
mod files;
mod redact;
mod tape;
mod yaml;

pub use document::{document, Options};
pub use files::{end, end_idle, export, flush};
pub use tape::{Tape, Tapes, DEFAULT_BYTES, DEFAULT_PER_SESSION};
pub use yaml::write as yaml;

use std::path::PathBuf;

/// How sessions are recorded.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `--record DIR`: where each session's file is written; `None`: only
    /// exported on demand.
    pub dir: Option<PathBuf>,
    /// `--redact POINTER`: JSON pointers into response bodies, redacted besides the credentials.
    pub redact: Vec<String>,
    /// `--record-latency`: each answer's observed latency as its `delay`.
    pub latency: bool,
    /// `--record-limit`: entries kept per session.
    pub per_session: usize,
    /// `--record-bytes`: what all recordings in progress hold together.
    pub bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            dir: None,
            redact: Vec::new(),
            latency: false,
            per_session: DEFAULT_PER_SESSION,
            bytes: DEFAULT_BYTES,
        }
    }
}
