//! What a request costs the thread that serves it beyond its answer: its
//! log line allocates nothing and reaches the output in a batch with
//! others, not in a write of its own; its journal entry allocates once.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use specmock::internal::logging::{self, Format};
use specmock::internal::Behaviour;
use tracing_subscriber::EnvFilter;

/// Counts the allocations each thread makes.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// An output that keeps what it is given and counts the writes.
#[derive(Clone, Default)]
struct Captured {
    bytes: Arc<Mutex<Vec<u8>>>,
    writes: Arc<AtomicUsize>,
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.bytes.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.bytes.lock().unwrap().clone())
            .expect("log lines are UTF-8")
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// The line `server.rs` writes for a `GET /user`.
fn request_line(latency_us: u64) {
    logging::RequestLine {
        method: &http::Method::GET,
        path: "/user",
        operation: "user-snapshot",
        status: 200,
        rule: "scenarios/default.yaml rules[5]",
        fault: "-",
        violations: 0,
        latency_us,
    }
    .log();
}

#[test]
fn a_logged_line_allocates_nothing_on_the_thread_that_logs_it() {
    let out = Captured::default();
    let (writer, flusher) = logging::writer(out.clone());
    let dispatch = logging::dispatch(Format::Text, EnvFilter::new("info"), false, writer);
    let during = tracing::dispatcher::with_default(&dispatch, || {
        // The first lines size the buffers that later lines reuse.
        for latency in 0..200 {
            request_line(latency);
        }
        let before = allocations();
        for latency in 0..1000 {
            request_line(latency);
        }
        allocations() - before
    });
    drop(flusher);
    assert_eq!(during, 0, "allocations for 1000 lines");
    assert_eq!(out.lines().len(), 1200);
}

#[test]
fn lines_reach_the_output_in_batches_and_none_is_lost() {
    const THREADS: usize = 4;
    const LINES: usize = 5000;
    let out = Captured::default();
    let (writer, flusher) = logging::writer(out.clone());
    let dispatch = logging::dispatch(Format::Text, EnvFilter::new("info"), false, writer);
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                tracing::dispatcher::with_default(&dispatch, || {
                    for latency in 0..LINES as u64 {
                        request_line(latency);
                    }
                })
            });
        }
    });
    drop(flusher);
    let lines = out.lines();
    assert_eq!(lines.len(), THREADS * LINES, "every line written, once");
    for thread_lines in [0, LINES as u64 - 1] {
        let ending = format!(" latency_us={thread_lines}");
        assert_eq!(lines.iter().filter(|l| l.ends_with(&ending)).count(), THREADS);
    }
    let writes = out.writes.load(Ordering::Relaxed);
    assert!(
        writes * 50 <= THREADS * LINES,
        "{writes} writes for {} lines",
        THREADS * LINES
    );
}

#[test]
fn a_journal_entry_allocates_once() {
    const ENTRIES: u64 = 1000;
    let app = common::shipped_scenario_app(Behaviour {
        journal_size: 100,
        ..Behaviour::default()
    });
    let request = |method: http::Method, path: &str| {
        let request = http::Request::builder().method(method).uri(path);
        let request = request
            .header("host", "localhost")
            .header("content-type", "application/json");
        request.body(()).expect("a request").into_parts().0
    };
    let (get, post) = (
        request(http::Method::GET, "/user"),
        request(http::Method::POST, "/user/update"),
    );
    let profile: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/user-signed-in.json")).expect("the fixture is JSON");
    let profile = Bytes::from(profile.to_string());
    let (got, posted) = (app.handle(&get, b""), app.handle(&post, &profile));
    assert_eq!(
        (got.response.status().as_u16(), posted.response.status().as_u16()),
        (200, 200)
    );
    let latency = std::time::Duration::from_micros(100);
    let credentials = &app.configuration().credentials;
    let record = |entries: u64| {
        for _ in 0..entries / 2 {
            app.journal()
                .record(got.record(&get, latency, None, credentials).expect("journaled"));
            let body = Some(profile.clone());
            app.journal()
                .record(posted.record(&post, latency, body, credentials).expect("journaled"));
        }
    };
    // Past the journal's size, as on a busy server: each entry rolls one off.
    record(200);
    let before = allocations();
    record(ENTRIES);
    let during = allocations() - before;
    assert!(during <= ENTRIES, "{during} allocations for {ENTRIES} entries");
    assert_eq!(app.journal().page(&Default::default(), 0, 0).total, 200 + ENTRIES);
}
