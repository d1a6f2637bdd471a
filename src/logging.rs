//! The log lines `serve` writes to stderr: one per request, text or JSON,
//! filtered by `SPECMOCK_LOG`.
//!
//! tracing-subscriber formats each line into a buffer of the thread that
//! logs it (reused, so nothing is allocated); [`Writer`] appends the line to
//! a shared buffer, and one thread writes that buffer out in batches: when
//! it has gathered a few milliseconds' worth or [`FLUSH_AT`] bytes. So a
//! serving thread neither waits for the output nor wakes a thread per
//! line. Nothing is dropped: past [`CAPACITY`] bytes not yet written, a
//! thread that logs waits for room. Dropping the [`Flusher`] writes what is
//! left; lines logged after that are written at once.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::Dispatch;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::session::lock;

/// How long the writing thread lets lines gather once one has come.
pub const GATHER: Duration = Duration::from_millis(5);
/// Bytes after which a batch is written without waiting out [`GATHER`].
pub const FLUSH_AT: usize = 64 * 1024;
/// Bytes not yet written past which a thread that logs waits.
pub const CAPACITY: usize = 1024 * 1024;

/// How a line is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// The subscriber `serve` logs through.
pub fn dispatch(format: Format, filter: EnvFilter, colour: bool, writer: Writer) -> Dispatch {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(colour);
    match format {
        Format::Text => builder.finish().into(),
        Format::Json => builder.json().flatten_event(true).finish().into(),
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
        if state.stopped {
            drop(state);
            let _ = lock(&self.out).write_all(line);
            return;
        }
        while !state.pending.is_empty() && state.pending.len() + line.len() > CAPACITY {
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
        self.notify_progress(&state);
    }

    fn notify_progress(&self, state: &State) {
        if state.waiting > 0 {
            self.progress.notify_all();
        }
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
