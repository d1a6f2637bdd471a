//! With `--record DIR`: each session's entries, kept apart from the
//! journal's ring (which rolls over) until the session's file is written.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::journal::{Entry, EntryKind};
use crate::poison_tolerant::lock;

/// Entries kept per session by default (`--record-limit`): past them the
/// session's later calls are counted, not kept, and its file says so.
pub const DEFAULT_PER_SESSION: usize = 10_000;

/// Bytes all tapes hold together by default (`--record-bytes`): past them
/// an entry is counted as cut, not kept, until a recording ends.
pub const DEFAULT_BYTES: usize = 256 << 20;

/// One session's entries since its recording started.
#[derive(Debug, Clone)]
pub struct Tape {
    /// Oldest first: the first `limit` of the session (a replay needs the
    /// session from its start, so it is the end that is cut).
    pub entries: Vec<Arc<Entry>>,
    /// Entries past the limit, not kept.
    pub cut: u64,
    /// 1 for the session's first recording, then one more per recording
    /// ended (a reset starts the next).
    pub part: u32,
    last: Instant,
}

/// Every recorded session's tape.
pub struct Tapes {
    per_session: usize,
    bytes: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    by_session: HashMap<String, Tape>,
    /// Recordings ended per session: the next one is numbered after them.
    ended: HashMap<String, u32>,
    /// What the tapes' entries hold, by [`size`].
    bytes: usize,
}

/// What an entry holds that a tape accounts for: its target and bodies.
fn size(entry: &Entry) -> usize {
    let record = &entry.record;
    let bodies = [&record.body, &record.response].map(|body| body.as_ref().map_or(0, |b| b.len()));
    record.target.len() + bodies.iter().sum::<usize>()
}

/// What a tape keeps of an entry: a recording writes the frames servers
/// sent, never what a client sent, so a request's or a client frame's body is let go.
fn without_request_body(entry: &Arc<Entry>) -> Arc<Entry> {
    match (entry.record.kind, &entry.record.body) {
        (EntryKind::Request | EntryKind::Frame, Some(_)) => {
            let mut entry = Entry::clone(entry);
            entry.record.body = None;
            Arc::new(entry)
        }
        _ => entry.clone(),
    }
}

impl Tape {
    fn bytes(&self) -> usize {
        self.entries.iter().map(|entry| size(entry)).sum()
    }
}

impl Tape {
    /// Recording number `part` of a session, before its first call.
    fn starting(part: u32) -> Self {
        Self {
            entries: Vec::new(),
            cut: 0,
            part,
            last: Instant::now(),
        }
    }
}

impl Inner {
    /// The number of the session's next recording.
    fn next_part(&self, session: &str) -> u32 {
        self.ended.get(session).copied().unwrap_or(0) + 1
    }
}

impl Tapes {
    pub fn new(per_session: usize, bytes: usize) -> Self {
        Self {
            per_session,
            bytes,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn keep(&self, entry: &Arc<Entry>) {
        let mut inner = lock(&self.inner);
        let (session, held) = (&*entry.record.session, inner.bytes);
        let tape = match inner.by_session.get_mut(session) {
            Some(tape) => tape,
            None => {
                let part = inner.next_part(session);
                inner
                    .by_session
                    .entry(session.to_string())
                    .or_insert(Tape::starting(part))
            }
        };
        tape.last = Instant::now();
        let entry = without_request_body(entry);
        let size = size(&entry);
        let kept = tape.entries.len() < self.per_session && held + size <= self.bytes;
        match kept {
            true => tape.entries.push(entry),
            false => tape.cut += 1,
        }
        if kept {
            inner.bytes += size;
        }
    }

    /// A copy of the session's tape so far (a flush: the recording goes on).
    pub fn copy(&self, session: &str) -> Option<Tape> {
        lock(&self.inner).by_session.get(session).cloned()
    }

    /// The session's tape so far, or the next one's (empty) when it made no
    /// call since its last recording ended, so a flush never writes over it.
    pub fn copy_or_next(&self, session: &str) -> Tape {
        let inner = lock(&self.inner);
        match inner.by_session.get(session) {
            Some(tape) => tape.clone(),
            None => Tape::starting(inner.next_part(session)),
        }
    }

    /// Ends the session's recording: its tape, taken (the next call starts another).
    pub fn end(&self, session: &str) -> Option<Tape> {
        let mut inner = lock(&self.inner);
        let tape = inner.by_session.remove(session)?;
        inner.ended.insert(session.to_string(), tape.part);
        inner.bytes -= tape.bytes();
        Some(tape)
    }

    /// Ends the recordings of sessions idle for `expiry` (`None`: every one, at shutdown).
    pub fn end_idle(&self, expiry: Option<Duration>) -> Vec<(String, Tape)> {
        let now = Instant::now();
        let mut inner = lock(&self.inner);
        let idle: Vec<String> = inner
            .by_session
            .iter()
            .filter(|(_, tape)| expiry.is_none_or(|expiry| now.duration_since(tape.last) >= expiry))
            .map(|(session, _)| session.clone())
            .collect();
        let mut ended = Vec::with_capacity(idle.len());
        for session in idle {
            if let Some(tape) = inner.by_session.remove(&session) {
                inner.ended.insert(session.clone(), tape.part);
                inner.bytes -= tape.bytes();
                ended.push((session, tape));
            }
        }
        ended.sort_by(|a, b| a.0.cmp(&b.0));
        ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{Cut, Record};

    fn entry(id: u64, session: &str) -> Arc<Entry> {
        Arc::new(Entry {
            id,
            at: std::time::SystemTime::UNIX_EPOCH,
            record: Record {
                kind: EntryKind::Request,
                session: session.into(),
                method: "GET".into(),
                target: "/".into(),
                operation: None,
                rule: None,
                status: 200,
                refused: false,
                latency: Duration::ZERO,
                violations: Vec::new(),
                body: None,
                response: None,
                response_content_type: None,
                origin: None,
                note: None,
            },
            response_dropped: false,
            cut: Cut::default(),
        })
    }

    #[test]
    fn a_tape_keeps_the_start_of_its_session_and_counts_the_rest_and_a_reset_numbers_the_next() {
        let tapes = Tapes::new(2, usize::MAX);
        for id in 1..=5 {
            tapes.keep(&entry(id, "a"));
        }
        tapes.keep(&entry(6, "b"));
        let a = tapes.copy("a").expect("recorded");
        let ids: Vec<u64> = a.entries.iter().map(|e| e.id).collect();
        assert_eq!((ids, a.cut, a.part), (vec![1, 2], 3, 1));
        assert_eq!(
            tapes.copy("a").map(|t| t.entries.len()),
            Some(2),
            "a copy leaves the tape"
        );
        assert_eq!(tapes.end("a").map(|t| t.part), Some(1));
        assert!(tapes.copy("a").is_none());
        tapes.keep(&entry(7, "a"));
        assert_eq!(
            tapes.copy("a").map(|t| t.part),
            Some(2),
            "the next recording of the session"
        );
        assert!(tapes.end_idle(Some(Duration::from_secs(3600))).is_empty(), "none idle");
        let ended: Vec<String> = tapes.end_idle(None).into_iter().map(|(id, _)| id).collect();
        assert_eq!(ended, ["a", "b"]);
    }

    #[test]
    fn tapes_hold_at_most_their_bytes_together_until_a_recording_ends() {
        let answered = |id, session| {
            let mut entry = Arc::unwrap_or_clone(entry(id, session));
            entry.record.response = Some(bytes::Bytes::from_static(&[b'x'; 29]));
            Arc::new(entry)
        };
        let tapes = Tapes::new(10, 60);
        for (id, session) in [(1, "a"), (2, "b"), (3, "a")] {
            let mut entry = Arc::unwrap_or_clone(answered(id, session));
            entry.record.body = Some(bytes::Bytes::from_static(b"a request body, never written"));
            tapes.keep(&Arc::new(entry));
        }
        let bodies = tapes.copy("a").map(|tape| tape.entries[0].record.body.clone());
        assert_eq!(bodies, Some(None), "let go");
        let cut = |session| tapes.copy(session).map(|tape| (tape.entries.len(), tape.cut));
        assert_eq!(
            (cut("a"), cut("b")),
            (Some((1, 1)), Some((1, 0))),
            "30 bytes each, 60 in all"
        );
        assert!(tapes.end("b").is_some());
        tapes.keep(&answered(4, "a"));
        assert_eq!(cut("a"), Some((2, 1)), "what an ended recording held is free again");
    }
}
