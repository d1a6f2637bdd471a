//! The per-request log line: what it says (text and JSON, unchanged), that
//! none is lost (every request has its line at SIGTERM), and what it costs
//! the thread that serves the request: no allocation, and the lines reach
//! the output in batches rather than one write each.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::Value;
use specmock::logging::{self, Format};
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

/// One line as `server.rs` writes it for a request.
fn request_line(latency_us: u64) {
    tracing::info!(
        target: "specmock::request",
        method = %http::Method::GET,
        path = "/user",
        operation = "user-snapshot",
        status = 200u16,
        rule = "scenarios/default.yaml rules[5]",
        fault = "-",
        violations = 0usize,
        latency_us,
    );
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

/// `2026-12-06T05:10:33.966799Z  INFO specmock::request: ` and the rest.
fn text_fields(line: &str) -> &str {
    let (time, rest) = line.split_once("Z  INFO specmock::request: ").unwrap_or_else(|| panic!("{line}"));
    assert!(specmock::journal::parse_rfc3339(&format!("{time}Z")).is_some(), "{line}");
    rest
}

/// Drops the `latency_us` value, which differs every run.
fn without_latency(fields: &str) -> String {
    let (head, latency) = fields.rsplit_once(" latency_us=").unwrap_or_else(|| panic!("{fields}"));
    assert!(latency.parse::<u64>().is_ok(), "{fields}");
    format!("{head} latency_us=N")
}

#[tokio::test]
async fn every_request_has_its_line_when_sigterm_comes() {
    const REQUESTS: usize = 300;
    let mut binary = Binary::start(&["--port", "0"], &repo_root());
    for _ in 0..REQUESTS / 3 {
        assert_eq!(get(binary.addr, "/user").await.status, 200);
        assert_eq!(get(binary.addr, "/nope?x=1").await.status, 404);
        let refused = post_json(binary.addr, "/user/update", "{}").await;
        assert_eq!(refused.status, 400);
    }
    binary.terminate();
    assert_eq!(binary.wait_exit(), Some(0));
    let stderr = binary.stderr_once("broke the contract");
    let lines: Vec<String> = stderr
        .lines()
        .filter(|line| line.contains(" specmock::request: "))
        .map(|line| without_latency(text_fields(line)))
        .collect();
    assert_eq!(lines.len(), REQUESTS, "{stderr}");
    let expected = [
        r#"method=GET path=/user operation="user-snapshot" status=200 rule="scenarios/default.yaml rules[5]" fault="-" violations=0 latency_us=N"#,
        r#"method=GET path=/nope operation="-" status=404 rule="-" fault="-" violations=1 latency_us=N"#,
        r#"method=POST path=/user/update operation="update-user" status=400 rule="-" fault="-" violations=2 latency_us=N"#,
    ];
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line, expected[i % 3], "line {i}");
    }
    let last = stderr.lines().last().unwrap_or_default();
    assert_eq!(last, format!("specmock: {REQUESTS} requests, {} broke the contract", REQUESTS / 3 * 2));
}

#[tokio::test]
async fn json_lines_carry_the_same_fields() {
    let mut binary = Binary::start(&["--port", "0", "--log-format", "json"], &repo_root());
    assert_eq!(get(binary.addr, "/user").await.status, 200);
    binary.terminate();
    assert_eq!(binary.wait_exit(), Some(0));
    let stderr = binary.stderr_once("broke the contract");
    let line = stderr
        .lines()
        .find(|line| line.contains("specmock::request"))
        .unwrap_or_else(|| panic!("{stderr}"));
    let mut logged: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let time = logged["timestamp"].as_str().expect("a timestamp").to_string();
    assert!(specmock::journal::parse_rfc3339(&time).is_some(), "{line}");
    assert!(logged["latency_us"].is_u64(), "{line}");
    logged["timestamp"] = "T".into();
    logged["latency_us"] = 0.into();
    let keys: Vec<&str> = logged.as_object().expect("an object").keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["timestamp", "level", "method", "path", "operation", "status", "rule", "fault", "violations", "latency_us", "target"]
    );
    assert_eq!(
        logged,
        serde_json::json!({
            "timestamp": "T", "level": "INFO", "method": "GET", "path": "/user", "operation": "user-snapshot",
            "status": 200, "rule": "scenarios/default.yaml rules[5]", "fault": "-", "violations": 0,
            "latency_us": 0, "target": "specmock::request"
        })
    );
}
