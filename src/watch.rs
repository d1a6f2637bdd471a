//! Watching the input files: the spec's directory (its `$ref`s reach files
//! beside it), the fixtures directory and the scenarios directory. Editors
//! save by writing a new file and renaming it over the old one, so the
//! directories are watched, not the files; a burst of events is taken as
//! one change once it has been quiet for a moment, and a change that
//! arrives during a reload brings one more reload after it.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use crate::app::App;
use crate::sources::{is_editor_temporary, Source, Sources};

/// A burst of events is over once none has come for this long.
const QUIET: Duration = Duration::from_millis(100);

/// A file written again and again reloads at least this often.
const AT_MOST_WAITING: Duration = Duration::from_millis(500);

/// Watching in progress; dropping it stops the watching.
pub struct Watch {
    _watcher: RecommendedWatcher,
    app: Weak<App>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(app) = self.app.upgrade() {
            app.watching_stopped();
        }
    }
}

/// A watched directory, and which of its files are inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Watched {
    directory: PathBuf,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The spec and the YAML or JSON files it may `$ref`.
    Spec,
    /// Every file is a fixture.
    Fixtures,
    /// `*.yaml` and `*.yml`, as the scenarios are read.
    Scenarios,
}

/// Starts reloading `app` when its input files change. `None` when its
/// inputs are not files, or the system refuses to watch them (said in a
/// warning: `POST /__mock/reload` still reloads).
pub fn start(app: &Arc<App>) -> Option<Watch> {
    let watched = watched(app.sources()?);
    let (events, received) = std::sync::mpsc::channel();
    let refused = |error: &dyn std::fmt::Display| {
        tracing::warn!("cannot watch the input files ({error}); POST /__mock/reload still reloads them");
    };
    let mut watcher = match notify::recommended_watcher(events) {
        Ok(watcher) => watcher,
        Err(error) => {
            refused(&error);
            return None;
        }
    };
    for each in &watched {
        if let Err(error) = watcher.watch(&each.directory, RecursiveMode::NonRecursive) {
            refused(&format!("{}: {error}", each.directory.display()));
            return None;
        }
    }
    let weak = Arc::downgrade(app);
    let reloader = weak.clone();
    let thread = std::thread::Builder::new()
        .name("specmock-watch".into())
        .spawn(move || reload_on_change(&reloader, &received, &watched));
    if let Err(error) = thread {
        refused(&error);
        return None;
    }
    app.watching_started();
    Some(Watch {
        _watcher: watcher,
        app: weak,
    })
}

/// The directories to watch: each input read from a file, once.
fn watched(sources: &Sources) -> Vec<Watched> {
    let mut watched = Vec::new();
    let mut add = |directory: &Path, kind| {
        let directory = std::fs::canonicalize(directory).unwrap_or_else(|_| directory.to_path_buf());
        let each = Watched { directory, kind };
        if !watched.contains(&each) {
            watched.push(each);
        }
    };
    if let Source::File(spec) = &sources.spec {
        let directory = spec.parent().filter(|dir| !dir.as_os_str().is_empty());
        add(directory.unwrap_or(Path::new(".")), Kind::Spec);
    }
    if let Some(Source::File(directory)) = &sources.fixtures {
        add(directory, Kind::Fixtures);
    }
    if let Some(Source::File(directory)) = &sources.scenarios {
        add(directory, Kind::Scenarios);
    }
    watched
}

/// Until the watcher is dropped (or the app): waits for a change to an
/// input, then for the burst to end, then reloads.
fn reload_on_change(app: &Weak<App>, events: &Receiver<notify::Result<Event>>, watched: &[Watched]) {
    let changes_input = |event: &notify::Result<Event>| match event {
        Ok(event) => is_input_change(event, watched),
        // An error from the watcher may hide a change: read everything again.
        Err(_) => true,
    };
    while let Ok(event) = events.recv() {
        if !changes_input(&event) {
            continue;
        }
        let first = Instant::now();
        while first.elapsed() < AT_MOST_WAITING {
            match events.recv_timeout(QUIET) {
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        let Some(app) = app.upgrade() else { return };
        app.reload();
    }
}

/// Whether `event` created, changed, renamed or removed an input file (not
/// a read, nor an editor's temporary file), or says that events were lost
/// (an overflowing queue: notify sends a rescan with no paths).
fn is_input_change(event: &Event, watched: &[Watched]) -> bool {
    if event.need_rescan() {
        return true;
    }
    if matches!(event.kind, EventKind::Access(_)) {
        return false;
    }
    event.paths.iter().any(|path| {
        let (Some(directory), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
            return false;
        };
        let extension = |wanted: &[&str]| {
            Path::new(name)
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| wanted.contains(&e))
        };
        !is_editor_temporary(name)
            && watched
                .iter()
                .filter(|each| each.directory == directory)
                .any(|each| match each.kind {
                    Kind::Spec => extension(&["yaml", "yml", "json"]),
                    Kind::Fixtures => true,
                    Kind::Scenarios => extension(&["yaml", "yml"]),
                })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind, path: &str) -> Event {
        Event::new(kind).add_path(PathBuf::from(path))
    }

    #[test]
    fn only_input_files_count() {
        let watched = [
            Watched {
                directory: "/api".into(),
                kind: Kind::Spec,
            },
            Watched {
                directory: "/api/fixtures".into(),
                kind: Kind::Fixtures,
            },
            Watched {
                directory: "/api/scenarios".into(),
                kind: Kind::Scenarios,
            },
        ];
        let modify = EventKind::Modify(notify::event::ModifyKind::Any);
        let changes = |path| is_input_change(&event(modify, path), &watched);
        assert!(changes("/api/openapi.yaml"));
        assert!(changes("/api/schemas.json"));
        assert!(!changes("/api/README.md"), "not a document the spec can $ref");
        assert!(changes("/api/fixtures/user.txt"), "any fixture");
        assert!(changes("/api/scenarios/flow.yml"));
        assert!(!changes("/api/scenarios/notes.txt"), "not read as a scenario");
        assert!(!changes("/api/scenarios/.flow.yaml.swp"));
        assert!(!changes("/api/scenarios/flow.yaml~"));
        assert!(!changes("/api/fixtures/4913"), "vim's probe");
        assert!(!changes("/elsewhere/openapi.yaml"));
        let read = EventKind::Access(notify::event::AccessKind::Any);
        assert!(!is_input_change(&event(read, "/api/openapi.yaml"), &watched));
        let removed = EventKind::Remove(notify::event::RemoveKind::File);
        assert!(is_input_change(&event(removed, "/api/scenarios/flow.yaml"), &watched));
    }

    #[test]
    fn an_overflowing_queue_counts_as_a_change() {
        // How notify reports an inotify queue overflow: no paths at all.
        let overflow = Event::new(EventKind::Other).set_flag(notify::event::Flag::Rescan);
        let watched = [Watched {
            directory: "/api".into(),
            kind: Kind::Spec,
        }];
        assert!(is_input_change(&overflow, &watched));
    }
}
