//! The shell around the pure recording: a session's entries (from its
//! tape under `--record`, else from the journal) made into YAML, and
//! written to `DIR/SESSION.yaml` under a name no session id can turn into
//! another path.

use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::{json, Value};

use super::{document, yaml, Options, Tape};
use crate::app::App;
use crate::control::SessionKey;
use crate::journal::{Entry, Filter};
use crate::problem::Problem;

/// A recording written (or exported).
#[derive(Debug)]
pub struct Recorded {
    pub session: String,
    pub yaml: String,
    pub steps: usize,
    pub cut: u64,
    pub redacted: Vec<(String, u64)>,
}

/// A recording written to its file.
#[derive(Debug)]
pub struct Written {
    pub file: PathBuf,
    pub recorded: Recorded,
}

impl Written {
    /// What the flush endpoint answers: the file, and what was redacted where (never the values).
    pub fn json(&self) -> Value {
        let redacted: Vec<Value> = self
            .recorded
            .redacted
            .iter()
            .map(|(pointer, count)| json!({ "pointer": pointer, "count": count }))
            .collect();
        json!({
            "session": self.recorded.session,
            "file": self.file.display().to_string(),
            "steps": self.recorded.steps,
            "cut": self.recorded.cut,
            "redacted": redacted,
        })
    }

    /// The line the shutdown summary prints for it.
    pub fn line(&self) -> String {
        let redacted: Vec<String> = self
            .recorded
            .redacted
            .iter()
            .map(|(pointer, count)| format!("{pointer} ({count})"))
            .collect();
        let redacted = match redacted.is_empty() {
            true => "nothing redacted".to_string(),
            false => format!("redacted {}", redacted.join(", ")),
        };
        format!("{}: {} steps, {redacted}", self.file.display(), self.recorded.steps)
    }
}

/// The longest name a session id is given, before its `~N`: with
/// `.yaml`, and its temporary file's additions, within the 255 bytes file
/// systems take.
const LONGEST: usize = 180;

/// A session id as a file name: lower-case letters, digits, `-` and `_` as
/// they are, a `.` unless first, an upper-case letter as `^` and the letter
/// (so no two ids share a name where case does not count), every other byte
/// `%XX` (so `../x` stays in the directory); a name past [`LONGEST`] is cut
/// and ends in `!` and a hash of the whole id. A later recording of the
/// same session (after a reset) is `NAME~2`.
pub fn file_name(session: &str, part: u32) -> String {
    let mut name = String::with_capacity(session.len());
    for (index, byte) in session.bytes().enumerate() {
        match byte {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => name.push(byte as char),
            b'A'..=b'Z' => {
                name.push('^');
                name.push(byte.to_ascii_lowercase() as char);
            }
            b'.' if index > 0 => name.push('.'),
            other => name.push_str(&format!("%{other:02X}")),
        }
    }
    if name.is_empty() {
        name.push('%');
    }
    if name.len() > LONGEST {
        let hash = format!("!{:016x}", fnv1a(session.as_bytes()));
        name.truncate(LONGEST - hash.len());
        name.push_str(&hash);
    }
    if part > 1 {
        name.push_str(&format!("~{part}"));
    }
    name
}

/// FNV-1a: a hash that stays the same from run to run and build to build,
/// so a long id's file keeps its name.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Writes `yaml` as `dir/NAME.yaml` (through a temporary file of its own,
/// so a reader never sees half of it, nor two writers each other's).
pub fn write_file(dir: &Path, name: &str, yaml: &str) -> std::io::Result<PathBuf> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let file = dir.join(format!("{name}.yaml"));
    let write = WRITES.fetch_add(1, Ordering::Relaxed);
    let partial = dir.join(format!(".{name}.{}-{write}.partial", std::process::id()));
    std::fs::write(&partial, yaml)?;
    std::fs::rename(&partial, &file).inspect_err(|_| {
        let _ = std::fs::remove_file(&partial);
    })?;
    Ok(file)
}

/// What a recording calls a session whose id may be a credential (the
/// value of a header or cookie, `--session-key`): `session-` and a keyed
/// hash of the id, the same all run long and not to be turned back.
fn hidden(id: &str) -> String {
    static KEY: OnceLock<RandomState> = OnceLock::new();
    format!("session-{:016x}", KEY.get_or_init(RandomState::new).hash_one(id))
}

/// The entries a recording is built from: a session's tape (under
/// `--record`), or what the journal still holds of the session.
struct Taken<'a> {
    entries: &'a [Arc<Entry>],
    /// Entries past `--record-limit`, not kept.
    cut: u64,
    /// The journal dropped entries before these were taken.
    journal_rolled: bool,
}

impl<'a> Taken<'a> {
    /// A tape holds every entry of its session: the journal's ring
    /// rolling on does not touch it.
    fn tape(tape: &'a Tape) -> Self {
        Self {
            entries: &tape.entries,
            cut: tape.cut,
            journal_rolled: false,
        }
    }
}

/// The session's name in its recording and its file's: its id, unless
/// the id may be a credential.
fn shown(app: &App, id: &str) -> String {
    match app.behaviour().session_key {
        SessionKey::Header(_) | SessionKey::Cookie(_) => hidden(id),
        SessionKey::Explicit | SessionKey::BearerSubject => id.to_string(),
    }
}

/// Session `id`'s recording, named `name`: from its tape under
/// `--record`, else from the journal's entries.
fn recording(app: &App, id: &str, name: &str, taken: Taken<'_>) -> Recorded {
    let Taken {
        entries,
        cut,
        journal_rolled,
    } = taken;
    let configuration = app.configuration();
    let settings = &app.behaviour().record;
    let options = Options {
        spec: &configuration.spec,
        credential_query: configuration.credentials.query_names(),
        redact: &settings.redact,
        latency: settings.latency,
        frames: app.journal().tapes().is_some(),
        journal_rolled,
    };
    let document = document(&shown(app, id), entries, cut, &options);
    Recorded {
        session: id.to_string(),
        yaml: yaml(&document, name),
        steps: document.steps().count(),
        cut,
        redacted: document.redacted,
    }
}

/// `GET /__mock/sessions/{id}/scenario`: the session as a scenario.
pub fn export(app: &App, id: &str) -> Result<Recorded, Problem> {
    let name = file_name(&shown(app, id), 1);
    if let Some(tape) = app.journal().tapes().and_then(|tapes| tapes.copy(id)) {
        let name = file_name(&shown(app, id), tape.part);
        return Ok(recording(app, id, &name, Taken::tape(&tape)));
    }
    let filter = Filter {
        session: Some(id.to_string()),
        ..Filter::default()
    };
    let entries = app.journal().entries(&filter);
    if entries.is_empty() && app.sessions().find(id).is_none() {
        return Err(Problem::unknown_session(id));
    }
    let status = app.journal().status();
    let rolled = status.entries_total > status.retained as u64;
    let taken = Taken {
        entries: &entries,
        cut: 0,
        journal_rolled: rolled,
    };
    Ok(recording(app, id, &name, taken))
}

/// `POST /__mock/sessions/{id}/record`: the session's file, written now
/// (the recording goes on; the file is written again when it ends).
pub fn flush(app: &App, id: &str) -> Result<Written, Problem> {
    let tapes = app.journal().tapes().ok_or_else(Problem::not_recording)?;
    let tape = tapes.copy_or_next(id);
    if tape.entries.is_empty() && app.sessions().find(id).is_none() {
        return Err(Problem::unknown_session(id));
    }
    write_tape(app, id, &tape).map_err(|e| Problem::recording_not_written(format!("session `{id}`: {e}")))
}

/// Session `id` ended (reset, or moved to another scenario): its
/// recording, if any, is written and the next call starts another.
pub fn end(app: &App, id: &str) {
    let Some(tape) = app.journal().tapes().and_then(|tapes| tapes.end(id)) else {
        return;
    };
    log_written(id, write_tape(app, id, &tape));
}

/// Writes the recordings of sessions idle for `expiry` (`None`: every
/// one, at shutdown); what was written, one line each.
pub fn end_idle(app: &App, expiry: Option<Duration>) -> Vec<String> {
    let Some(tapes) = app.journal().tapes() else {
        return Vec::new();
    };
    let ended = tapes.end_idle(expiry);
    let written = ended.iter().map(|(id, tape)| match write_tape(app, id, tape) {
        Ok(written) => written.line(),
        Err(error) => format!("session `{id}`: not written: {error}"),
    });
    written.collect()
}

fn write_tape(app: &App, id: &str, tape: &Tape) -> std::io::Result<Written> {
    let dir = app.behaviour().record.dir.as_deref().unwrap_or(Path::new("."));
    let name = file_name(&shown(app, id), tape.part);
    let recorded = recording(app, id, &name, Taken::tape(tape));
    let file = write_file(dir, &name, &recorded.yaml)?;
    Ok(Written { file, recorded })
}

fn log_written(id: &str, written: std::io::Result<Written>) {
    match written {
        Ok(written) => tracing::info!("recorded: {}", written.line()),
        Err(error) => tracing::error!(session = %id, "the recording could not be written: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_become_file_names_that_stay_in_the_directory_and_never_collide() {
        assert_eq!(file_name("qa-1_b.c", 1), "qa-1_b.c");
        assert_eq!(file_name("../etc/passwd", 1), "%2E.%2Fetc%2Fpasswd");
        assert_eq!(file_name(".hidden", 1), "%2Ehidden");
        assert_eq!(file_name("a%2F", 1), "a%252^f");
        assert_eq!(file_name("é", 1), "%C3%A9");
        assert_eq!(file_name("", 1), "%");
        assert_eq!(file_name("qa", 3), "qa~3");
        assert_ne!(file_name("a~2", 1), file_name("a", 2));
    }

    #[test]
    fn long_ids_are_cut_to_a_name_every_file_system_takes_and_case_never_collides() {
        let (long, longer) = ("a".repeat(245), format!("{}b", "a".repeat(245)));
        let name = file_name(&long, 2);
        assert!(name.len() <= LONGEST + "~2".len(), "{name}");
        assert_ne!(file_name(&long, 1), file_name(&longer, 1));
        assert_ne!(file_name("QA", 1).to_lowercase(), file_name("qa", 1).to_lowercase());
        assert_eq!(file_name("Qa-1", 1), "^qa-1");

        let dir = std::env::temp_dir().join(format!("specmock-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory");
        let written = write_file(&dir, &file_name(&"%".repeat(245), 4_000_000_000), "rules: []\n");
        std::fs::remove_dir_all(&dir).expect("removed");
        written.expect("a name the file system takes");
    }
}
