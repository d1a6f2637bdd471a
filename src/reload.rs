//! Reloading: the inputs read again from where start-up read them, built
//! with every start-up check, and swapped in whole. A broken change keeps
//! the last good configuration and is remembered for `GET /__mock/status`.
//! Reading files, this runs off the request path: on the watcher's thread
//! (`watch.rs`), or on a blocking thread for `POST /__mock/reload`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Instant, SystemTime};

use serde_json::{json, Value};

use crate::app::{App, Behaviour, Configuration};
use crate::diagnostic::{Diagnostics, Position, PRINTED_PROBLEMS};
use crate::poison_tolerant::lock;
use crate::rfc3339;
use crate::session::Event;
use crate::sources::{Source, Sources};

/// What an app needs to reload, and what it knows of its last reload.
#[derive(Default)]
pub struct Reloading {
    /// Set when the app was loaded from sources (not handed its inputs).
    loader: OnceLock<Loader>,
    /// One reload at a time: each builds on the generation before it.
    one_at_a_time: Mutex<()>,
    /// The problems of the last reload, until one succeeds.
    failure: Mutex<Option<Diagnostics>>,
    watching: AtomicBool,
    /// When the inputs in force began to be read: a file saved since may
    /// not be in them.
    read_at: Mutex<Option<SystemTime>>,
}

struct Loader {
    sources: Sources,
    start_scenario: Option<String>,
    seed: u64,
}

/// What a reload did.
pub enum Reloaded {
    /// In force now; what an operator should see of it.
    Swapped { warnings: Vec<String> },
    /// The last good configuration stays in force.
    Failed(Diagnostics),
    /// Nothing to read again; why.
    Nothing(&'static str),
}

const EMBEDDED: &str = "the inputs are embedded in the binary; nothing to reload";
const IN_PROCESS: &str = "the inputs were handed to App::build by the program that runs the mock; nothing to reload";

impl App {
    /// Loads the inputs `sources` name and builds the app from them, as
    /// start-up does; the app can then reload them.
    pub fn load(
        sources: Sources,
        start_scenario: Option<String>,
        seed: u64,
        behaviour: Behaviour,
    ) -> Result<(Self, Vec<String>), Diagnostics> {
        let read_at = SystemTime::now();
        let inputs = sources.inputs(start_scenario.clone(), seed)?;
        let (app, warnings) = Self::build(inputs, behaviour)?;
        *lock(&app.reloading.read_at) = Some(read_at);
        let loader = Loader {
            sources,
            start_scenario,
            seed,
        };
        let _ = app.reloading.loader.set(loader);
        Ok((app, warnings))
    }

    /// The files the configuration comes from, if any: what to watch.
    pub fn sources(&self) -> Option<&Sources> {
        let loader = self.reloading.loader.get()?;
        has_files(&loader.sources).then_some(&loader.sources)
    }

    /// When the inputs in force began to be read (the Unix epoch if they
    /// were not read from sources).
    pub fn inputs_read_at(&self) -> SystemTime {
        lock(&self.reloading.read_at).unwrap_or(SystemTime::UNIX_EPOCH)
    }

    /// Says that a watcher reloads the app when its files change.
    pub fn watching_started(&self) {
        self.reloading.watching.store(true, Ordering::Relaxed);
    }

    /// Says that nothing reloads the app when its files change.
    pub fn watching_stopped(&self) {
        self.reloading.watching.store(false, Ordering::Relaxed);
    }

    /// Reads the inputs again, runs every start-up check on them and, if
    /// they pass, puts them in force; logs the outcome. Blocks while it
    /// reads and builds (never on a request's thread); requests go on with
    /// the configuration in force until the swap, which is one store.
    pub fn reload(&self) -> Reloaded {
        let Some(loader) = self.reloading.loader.get() else {
            return Reloaded::Nothing(IN_PROCESS);
        };
        if !has_files(&loader.sources) {
            return Reloaded::Nothing(EMBEDDED);
        }
        let _one_at_a_time = lock(&self.reloading.one_at_a_time);
        let started = Instant::now();
        let read_at = SystemTime::now();
        let current = self.configuration().generation;
        let generation = current + 1;
        let built = loader
            .sources
            .inputs(loader.start_scenario.clone(), loader.seed)
            .map_err(Diagnostics::from)
            .and_then(|inputs| Configuration::build(inputs, generation));
        match built {
            Ok((mut configuration, warnings)) => {
                self.behaviour()
                    .settle_start(&mut configuration, loader.start_scenario.is_some());
                let files = configuration.files.len();
                self.swap(configuration);
                *lock(&self.reloading.read_at) = Some(read_at);
                *lock(&self.reloading.failure) = None;
                // Their live frames may read what changed: each stream builds
                // its frame again from the new configuration.
                for session in self.sessions().followed() {
                    session.publish(Event::restarted());
                }
                let took = started.elapsed();
                tracing::info!(
                    "reloaded: {files} files, generation {generation}, in {} ms",
                    took.as_millis()
                );
                for warning in &warnings {
                    tracing::warn!("{warning}");
                }
                Reloaded::Swapped { warnings }
            }
            Err(problems) => {
                tracing::error!("reload failed: generation {current} stays in force");
                for line in problems.error_lines(PRINTED_PROBLEMS).lines() {
                    tracing::error!("{}", line.strip_prefix("error: ").unwrap_or(line));
                }
                *lock(&self.reloading.failure) = Some(problems.clone());
                Reloaded::Failed(problems)
            }
        }
    }

    /// `GET /__mock/status`'s `config`: the configuration in force, where
    /// it came from, and the problems of the last reload if it failed.
    pub fn configuration_status(&self) -> Value {
        let configuration = self.configuration();
        let source = match self.reloading.loader.get() {
            Some(loader) if has_files(&loader.sources) => "files",
            Some(_) => "embedded",
            None => "in-process",
        };
        let error = lock(&self.reloading.failure).as_ref().map(described);
        json!({
            "loaded_at": rfc3339::format_millis(configuration.loaded_at),
            "generation": configuration.generation,
            "source": source,
            "files": configuration.files,
            "watching": self.reloading.watching.load(Ordering::Relaxed),
            "error": error,
        })
    }
}

/// The first problem with its place, the whole message as logged, and how
/// many problems there are.
fn described(problems: &Diagnostics) -> Value {
    let first = problems.iter().next();
    let (line, column) = match first.map(|d| &d.position) {
        Some(Position::LineColumn { line, column }) => (Some(*line), Some(*column)),
        _ => (None, None),
    };
    let pointer = match first.map(|d| &d.position) {
        Some(Position::Pointer(pointer)) => Some(pointer.as_str()),
        _ => None,
    };
    json!({
        "file": first.map(|d| d.file.as_str()),
        "line": line,
        "column": column,
        "pointer": pointer,
        "message": first.map(|d| d.message.as_str()),
        "text": problems.error_lines(PRINTED_PROBLEMS),
        "problems": problems.len(),
    })
}

/// Whether any input is a file (the rest may be embedded copies).
fn has_files(sources: &Sources) -> bool {
    let file = |source: Option<&Source>| matches!(source, Some(Source::File(_)));
    file(Some(&sources.spec)) || file(sources.fixtures.as_ref()) || file(sources.scenarios.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embedded() -> Sources {
        Sources {
            spec: Source::Embedded,
            more_specs: Vec::new(),
            fixtures: Some(Source::Embedded),
            scenarios: Some(Source::Embedded),
        }
    }

    /// The app at generation 1, and a session that generation 2 (not yet in
    /// force) has mapped: what a request meets when a reload swaps the
    /// configuration between its read of it and its turn at the session.
    fn behind() -> (App, crate::session::SharedSession, Configuration) {
        let (app, _) = App::build(embedded().inputs(None, 0).unwrap(), Behaviour::default()).unwrap();
        let (newer, _) = Configuration::build(embedded().inputs(None, 0).unwrap(), 2).unwrap();
        let session = app.sessions().get("s", || newer.fresh_session());
        (app, session, newer)
    }

    fn get_user(app: &App) -> http::Response<bytes::Bytes> {
        let request = http::Request::get("/user").header("host", "localhost");
        let parts = request.header("x-mock-session", "s").body(()).unwrap().into_parts().0;
        app.handle(&parts, b"").response
    }

    #[test]
    fn a_request_that_read_an_older_configuration_than_its_session_tries_again_with_the_newer() {
        let (app, session, newer) = behind();
        let mut swap = Some(newer);
        let mut tried = Vec::new();
        let answered = app.in_current(|configuration| {
            tried.push(configuration.generation);
            let mapped = configuration.adopt(&mut session.lock());
            // The reload's swap lands meanwhile.
            if let Some(newer) = swap.take() {
                app.swap(newer);
            }
            mapped
        });
        assert!(answered.is_ok());
        assert_eq!(tried, [1, 2]);
    }

    #[test]
    fn a_configuration_that_keeps_changing_under_a_request_is_a_503_to_retry() {
        let (app, _session, newer) = behind();
        let answer = get_user(&app);
        assert_eq!(answer.status(), 503);
        assert_eq!(answer.headers()["retry-after"], "1");
        let problem: Value = serde_json::from_slice(answer.body()).unwrap();
        assert!(
            problem["type"].as_str().unwrap().ends_with("configuration-changing"),
            "{problem:#}"
        );
        app.swap(newer);
        assert_eq!(get_user(&app).status(), 200);
    }
}
