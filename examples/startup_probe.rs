//! Start-up time for `scripts/load.sh`: from spawning specmock to its first
//! successful answer, over several runs, with the embedded spec, fixtures and
//! scenarios. Each run starts `BIN --port 0` in a new, empty directory (no
//! `./openapi.yaml`, so specmock takes the inputs built into it), reads the
//! port from its `listening on` line and sends `GET /.well-known/health` over
//! a raw TCP connection until one answers 200. Polling from this process, not
//! by starting a client per poll, keeps the probe's own cost out of the figure.
//!
//! `cargo run --release --example startup_probe -- --bin target/release/specmock --runs 20`
//!
//! Prints one line per run, then `median MS min MS max MS over N runs`.
use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

type Error = Box<dyn std::error::Error>;

/// How long one run may take before the probe gives up on it.
const RUN_LIMIT: Duration = Duration::from_secs(20);

fn arg(args: &[String], name: &str) -> Option<String> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

/// Kills specmock when a run ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One start: the time from spawning `bin` in `dir` to its first 200.
fn time_one_start(bin: &Path, dir: &Path) -> Result<Duration, Error> {
    let started = Instant::now();
    let mut child = Running(
        Command::new(bin)
            .args(["--port", "0", "--host", "127.0.0.1"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?,
    );
    let stdout = child.0.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .ok_or_else(|| format!("expected `listening on http://HOST:PORT`, got {line:?}"))?
        .trim_end_matches('/')
        .to_string();
    while started.elapsed() < RUN_LIMIT {
        if health_answers(&addr) {
            return Ok(started.elapsed());
        }
        if let Some(status) = child.0.try_wait()? {
            return Err(format!("specmock exited with {status} before answering").into());
        }
        // A short pause, so that a probe spinning on a refused connection
        // does not take the CPU the starting server needs.
        std::thread::sleep(Duration::from_micros(100));
    }
    Err(format!("no 200 from http://{addr}/.well-known/health within {RUN_LIMIT:?}").into())
}

/// Whether a `GET /.well-known/health` on a new connection answers 200.
fn health_answers(addr: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let request = format!("GET /.well-known/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// A new, empty directory under the system's temporary directory.
fn empty_dir(run: usize) -> Result<PathBuf, Error> {
    let dir = std::env::temp_dir().join(format!("specmock-startup-{}-{run}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let bin = arg(&args, "--bin").ok_or("--bin PATH (the specmock binary) is required")?;
    // Absolute: the binary is started from another directory.
    let bin = std::fs::canonicalize(&bin).map_err(|e| format!("{bin}: {e}"))?;
    let runs: usize = arg(&args, "--runs").unwrap_or_else(|| "20".into()).parse()?;
    if runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    let mut times = Vec::with_capacity(runs);
    for run in 1..=runs {
        let dir = empty_dir(run)?;
        let time = time_one_start(&bin, &dir);
        let _ = std::fs::remove_dir(&dir);
        let time = time?;
        println!("run {run}: {:.1} ms", millis(time));
        times.push(time);
    }
    times.sort();
    let median = if runs % 2 == 1 {
        times[runs / 2]
    } else {
        (times[runs / 2 - 1] + times[runs / 2]) / 2
    };
    println!(
        "median {:.1} ms min {:.1} ms max {:.1} ms over {runs} runs",
        millis(median),
        millis(times[0]),
        millis(times[runs - 1])
    );
    Ok(())
}
