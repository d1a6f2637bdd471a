//! The log lines `serve` writes to stderr: one per request, text or JSON,
//! filtered by `SPECMOCK_LOG`.
//!
//! tracing-subscriber formats each line into a buffer of the thread that
//! logs it (reused, so nothing is allocated; the text format's fields
//! written by a visitor of its own); [`Writer`] appends the line to
//! a shared buffer, and one thread writes that buffer out in batches: when
//! it has gathered a few milliseconds' worth or [`FLUSH_AT`] bytes. So a
//! serving thread neither waits for the output nor wakes a thread per
//! line. Nothing is dropped: past [`CAPACITY`] bytes not yet written, a
//! thread that logs waits for room. Dropping the [`Flusher`] writes what is
//! left; lines logged after that are written at once.

use std::fmt;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::Dispatch;
use tracing_subscriber::field::{RecordFields, VisitOutput};
use tracing_subscriber::fmt::format::{DefaultVisitor, Writer as LineBuffer};
use tracing_subscriber::fmt::{FormatFields, MakeWriter};
use tracing_subscriber::EnvFilter;

use crate::poison_tolerant::lock;

/// How long the writing thread lets lines gather once one has come.
pub const GATHER: Duration = Duration::from_millis(5);
/// Bytes after which a batch is written without waiting out [`GATHER`].
pub const FLUSH_AT: usize = 64 * 1024;
/// Bytes not yet written past which a thread that logs waits.
pub const CAPACITY: usize = 1024 * 1024;

/// How a line is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One human-readable line per event, as on a terminal.
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

/// What one request's log line says (target `specmock::request`).
pub struct RequestLine<'a> {
    /// The request's method, as received.
    pub method: &'a http::Method,
    /// The request's path, without its query (which may carry an API key).
    pub path: &'a str,
    /// The operationId, or `-`.
    pub operation: &'a str,
    /// The status answered.
    pub status: u16,
    /// The scenario rule that answered, or `-`.
    pub rule: &'a str,
    /// The wire fault sent, or `-`.
    pub fault: &'a str,
    /// How many contract violations the request carried.
    pub violations: usize,
    /// Microseconds from the request's arrival to its journal entry, as the server measured it.
    pub latency_us: u64,
}

impl RequestLine<'_> {
    /// Writes the line under target `specmock::request`, the one `--log-format` and `RUST_LOG`
    /// select.
    pub fn log(&self) {
        tracing::info!(
            target: "specmock::request",
            method = %self.method,
            path = %self.path,
            operation = self.operation,
            status = self.status,
            rule = self.rule,
            fault = self.fault,
            violations = self.violations,
            latency_us = self.latency_us,
        );
    }
}

/// The subscriber `serve` logs through.
pub fn dispatch(format: Format, filter: EnvFilter, colour: bool, writer: Writer) -> Dispatch {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(colour);
    match format {
        Format::Text => builder.fmt_fields(TextFields).finish().into(),
        Format::Json => builder.json().flatten_event(true).finish().into(),
    }
}

/// The text format's fields exactly as tracing-subscriber's own visitor
/// writes them without colours (`name=value`, a string quoted as `{:?}`
/// quotes it), but each number, and each string that needs no escaping,
/// written straight into the line: its visitor's per-field formatting
/// machinery took more than half of a request line's cost. The message,
/// coloured lines and errors are its visitor's to write.
struct TextFields;

impl<'writer> FormatFields<'writer> for TextFields {
    fn format_fields<R: RecordFields>(&self, writer: LineBuffer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = TextVisitor {
            writer,
            is_empty: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct TextVisitor<'a> {
    writer: LineBuffer<'a>,
    /// No field written yet: the next one needs no space before it.
    is_empty: bool,
    result: fmt::Result,
}

impl TextVisitor<'_> {
    /// Writes ` name=` and the value, if the field is one written here.
    fn plain(&mut self, field: &Field, value: impl FnOnce(&mut LineBuffer<'_>) -> fmt::Result) -> bool {
        let name = field.name();
        if self.writer.has_ansi_escapes() || name == "message" || name.starts_with("r#") || name.starts_with("log.") {
            return false;
        }
        if self.result.is_ok() {
            let space = if self.is_empty { "" } else { " " };
            self.is_empty = false;
            self.result = (|| {
                self.writer.write_str(space)?;
                self.writer.write_str(name)?;
                self.writer.write_char('=')?;
                value(&mut self.writer)
            })();
        }
        true
    }

    fn integer(&mut self, field: &Field, negative: bool, magnitude: u64) -> bool {
        self.plain(field, |w| {
            let mut digits = [0u8; 20];
            let mut start = digits.len();
            let mut rest = magnitude;
            loop {
                start -= 1;
                digits[start] = b'0' + (rest % 10) as u8;
                rest /= 10;
                if rest == 0 {
                    break;
                }
            }
            if negative {
                w.write_char('-')?;
            }
            // Only ASCII digits were written.
            w.write_str(std::str::from_utf8(&digits[start..]).unwrap_or_default())
        })
    }

    /// Lets tracing-subscriber's visitor write the field.
    fn default(&mut self, field: &Field, record: impl FnOnce(&mut DefaultVisitor<'_>)) {
        if self.result.is_err() {
            return;
        }
        let mut visitor = DefaultVisitor::new(self.writer.by_ref(), self.is_empty);
        record(&mut visitor);
        self.result = visitor.finish();
        // It writes nothing for a `log.` field (metadata of a `log` record).
        self.is_empty &= field.name().starts_with("log.");
    }
}

impl Visit for TextVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let unescaped = value
            .bytes()
            .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\');
        let quoted = |w: &mut LineBuffer<'_>| {
            w.write_char('"')?;
            w.write_str(value)?;
            w.write_char('"')
        };
        if !(unescaped && self.plain(field, quoted)) {
            self.default(field, |visitor| visitor.record_str(field, value));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if !self.integer(field, false, value) {
            self.default(field, |visitor| visitor.record_u64(field, value));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if !self.integer(field, value < 0, value.unsigned_abs()) {
            self.default(field, |visitor| visitor.record_i64(field, value));
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if !self.plain(field, |w| w.write_str(if value { "true" } else { "false" })) {
            self.default(field, |visitor| visitor.record_bool(field, value));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.default(field, |visitor| visitor.record_error(field, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !self.plain(field, |w| write!(w, "{value:?}")) {
            self.default(field, |visitor| visitor.record_debug(field, value));
        }
    }
}

/// The writer lines go through to `out`, and the guard that writes what is
/// left when dropped.
pub fn writer<W: Write + Send + 'static>(out: W) -> (Writer, Flusher) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            pending: Vec::with_capacity(CAPACITY),
            ..State::default()
        }),
        lines: Condvar::new(),
        progress: Condvar::new(),
        out: Mutex::new(Box::new(out)),
    });
    let thread = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("specmock-log".into())
            .spawn(move || shared.write_batches())
    };
    // Without the thread (the system refused one), lines are written at once.
    let thread = match thread {
        Ok(thread) => Some(thread),
        Err(_) => {
            lock(&shared.state).stopped = true;
            None
        }
    };
    let flusher = Flusher {
        shared: shared.clone(),
        thread,
    };
    (Writer { shared }, flusher)
}

/// Hands lines to the writing thread (see the module's documentation).
pub struct Writer {
    shared: Arc<Shared>,
}

impl<'a> MakeWriter<'a> for Writer {
    type Writer = &'a Writer;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

impl Write for &Writer {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        self.shared.append(line);
        Ok(line.len())
    }

    /// Returns once everything written so far is out.
    fn flush(&mut self) -> std::io::Result<()> {
        self.shared.wait_written();
        Ok(())
    }
}

/// Writes what is left when dropped, then ends the writing thread.
pub struct Flusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Flusher {
    fn drop(&mut self) {
        lock(&self.shared.state).stopping = true;
        self.shared.lines.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Shared {
    state: Mutex<State>,
    /// The writing thread waits here for lines.
    lines: Condvar,
    /// Threads that log wait here for room, or for their lines to be out.
    progress: Condvar,
    out: Mutex<Box<dyn Write + Send>>,
}

#[derive(Default)]
struct State {
    /// Lines not yet taken by the writing thread.
    pending: Vec<u8>,
    /// Bytes ever appended, and ever written out (or failed to be).
    appended: u64,
    written: u64,
    /// The writing thread waits for a first line: the next one wakes it.
    idle: bool,
    /// Threads waiting on `progress`.
    waiting: usize,
    /// The guard was dropped: write what is left, then end.
    stopping: bool,
    /// The writing thread has ended: lines are written at once.
    stopped: bool,
}

impl Shared {
    fn append(&self, line: &[u8]) {
        let mut state = lock(&self.state);
        loop {
            // Checked after every wait too: the writing thread may have
            // ended meanwhile, and a line left in `pending` then is lost.
            if state.stopped {
                drop(state);
                let _ = lock(&self.out).write_all(line);
                return;
            }
            if state.pending.is_empty() || state.pending.len() + line.len() <= CAPACITY {
                break;
            }
            state = self.wait_for_progress(state);
        }
        let before = state.pending.len();
        state.pending.extend_from_slice(line);
        state.appended += line.len() as u64;
        let wake = state.idle || (before < FLUSH_AT && state.pending.len() >= FLUSH_AT);
        state.idle = false;
        drop(state);
        if wake {
            self.lines.notify_one();
        }
    }

    fn wait_written(&self) {
        let mut state = lock(&self.state);
        let appended = state.appended;
        while state.written < appended && !state.stopped {
            state = self.wait_for_progress(state);
        }
    }

    /// Asks the writing thread to write now, and waits until it has taken
    /// or written a batch.
    fn wait_for_progress<'a>(&self, mut state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        state.waiting += 1;
        self.lines.notify_one();
        let mut state = self.progress.wait(state).unwrap_or_else(|e| e.into_inner());
        state.waiting -= 1;
        state
    }

    /// The writing thread: waits for a line, lets others gather, writes them
    /// in one go; until the guard is dropped and nothing is left.
    fn write_batches(&self) {
        // However this thread ends (a panic included), threads that log are
        // let go and write their lines themselves from then on.
        let _stopped = StopWhenDone(self);
        // Both buffers are sized once: only a line larger than CAPACITY grows one.
        let mut batch = Vec::with_capacity(CAPACITY);
        let mut state = lock(&self.state);
        loop {
            while state.pending.is_empty() && !state.stopping {
                state.idle = true;
                state = self.lines.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            state.idle = false;
            if state.pending.is_empty() {
                // Under the same lock that found nothing left: a line
                // appended after this is written by its own thread. Those
                // waiting are let go by `StopWhenDone`.
                state.stopped = true;
                break;
            }
            let until = Instant::now() + GATHER;
            while state.pending.len() < FLUSH_AT && state.waiting == 0 && !state.stopping {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                state = self
                    .lines
                    .wait_timeout(state, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            std::mem::swap(&mut state.pending, &mut batch);
            let taken = state.appended;
            self.notify_progress(&state);
            drop(state);
            let _ = lock(&self.out).write_all(&batch);
            batch.clear();
            state = lock(&self.state);
            state.written = taken;
            self.notify_progress(&state);
        }
    }

    fn notify_progress(&self, state: &State) {
        if state.waiting > 0 {
            self.progress.notify_all();
        }
    }
}

/// Marks the writing thread ended when it ends.
struct StopWhenDone<'a>(&'a Shared);

impl Drop for StopWhenDone<'_> {
    fn drop(&mut self) {
        lock(&self.0.state).stopped = true;
        self.0.progress.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output that takes each write only when the test lets it.
    #[derive(Clone)]
    struct Gated {
        open: Arc<(Mutex<bool>, Condvar)>,
        bytes: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Gated {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let (open, opened) = &*self.open;
            let mut open = lock(open);
            while !*open {
                open = opened.wait(open).unwrap();
            }
            lock(&self.bytes).extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What a `MakeWriter` closure gives: lines into a shared buffer.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        /// Each line without its timestamp (up to the first `Z`).
        fn lines(&self) -> Vec<String> {
            let text = String::from_utf8(lock(&self.0).clone()).unwrap();
            text.lines()
                .map(|line| line.split_once('Z').unwrap().1.to_string())
                .collect()
        }
    }

    /// Every kind of field the text format writes, plainly and otherwise.
    fn events() {
        RequestLine {
            method: &http::Method::POST,
            path: "/user/update",
            operation: "update-user",
            status: 400,
            rule: "-",
            fault: "truncate",
            violations: 2,
            latency_us: 12_345,
        }
        .log();
        tracing::warn!("a message with \"quotes\" and \x1b[31mescapes\x1b[0m: {}", 5);
        tracing::warn!(
            low = i64::MIN,
            high = u64::MAX,
            zero = 0i64,
            ratio = 1.5f64,
            ok = true,
            big = u128::MAX,
            text = "tab\there",
            quote = "say \"hi\"",
            back = "a\\b",
            unicode = "é ✓",
            control = "\x1b[1m",
            empty = "",
            r#type = "raw",
            list = ?vec![1, 2],
            shown = %"x \"y\"",
            "the message {}", "last"
        );
        let error = std::io::Error::other("boom");
        tracing::error!(error = &error as &dyn std::error::Error, "failed");
        tracing::info!(message = "a message field", after = 1);
        tracing::debug!(count = 3, "numbers first");
        tracing::trace!(only = "fields");
    }

    #[test]
    fn text_fields_are_written_as_tracing_subscriber_writes_them() {
        for colour in [false, true] {
            let reference = Buffer::default();
            let made = reference.clone();
            let plain: Dispatch = tracing_subscriber::fmt()
                .with_env_filter(EnvFilter::new("trace"))
                .with_writer(move || made.clone())
                .with_ansi(colour)
                .finish()
                .into();
            tracing::dispatcher::with_default(&plain, events);
            let ours = Buffer::default();
            let (writer, flusher) = writer(ours.clone());
            tracing::dispatcher::with_default(&dispatch(Format::Text, EnvFilter::new("trace"), colour, writer), events);
            drop(flusher);
            assert_eq!(ours.lines(), reference.lines(), "colour: {colour}");
            assert_eq!(ours.lines().len(), 7);
        }
    }

    #[test]
    fn a_full_buffer_holds_the_thread_that_logs_until_there_is_room() {
        let gated = Gated {
            open: Arc::new((Mutex::new(false), Condvar::new())),
            bytes: Arc::default(),
        };
        let (writer, flusher) = writer(gated.clone());
        let line = vec![b'x'; 1023];
        let lines = 3 * CAPACITY / 1024;
        let logged = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for _ in 0..lines {
                    (&writer).write_all(&line).unwrap();
                    (&writer).write_all(b"\n").unwrap();
                    logged.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            });
            // The output takes nothing: one batch is held by the writing
            // thread, one buffer fills, and the logging thread waits.
            std::thread::sleep(Duration::from_millis(300));
            let held = logged.load(std::sync::atomic::Ordering::SeqCst);
            assert!(held < lines, "{held} of {lines} lines logged past a stuck output");
            assert!(held * 1024 <= 2 * CAPACITY + FLUSH_AT, "{held} lines held");
            let (open, opened) = &*gated.open;
            *lock(open) = true;
            opened.notify_all();
        });
        (&writer).flush().unwrap();
        assert_eq!(lock(&gated.bytes).len(), lines * 1024, "flushed: every line is out");
        drop(flusher);
        (&writer).write_all(b"after\n").unwrap();
        assert!(
            lock(&gated.bytes).ends_with(b"x\nafter\n"),
            "a line after the guard is written at once"
        );
    }
}
