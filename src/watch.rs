//! Watching the input files: the spec and the files its `$ref`s reach,
//! the fixtures directory and the scenarios directory. Editors save by
//! writing a new file and renaming it over the old one, so the directories
//! are watched, not the files, and each directory's parent too: a directory
//! replaced whole (`rm -rf` then a copy) is watched again once it is back.
//! A burst of events is taken as one change once it has been quiet for a
//! moment, and a change that arrives during a reload brings one more reload
//! after it. The spec's files are watched anew after each reload: its
//! `$ref`s may reach other files then.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime};

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use crate::app::{App, Configuration};
use crate::poison_tolerant::lock;
use crate::sources::{is_editor_temporary, Source, Sources};

/// A burst of events is over once none has come for this long.
const QUIET: Duration = Duration::from_millis(100);

/// A file written again and again reloads at least this often.
const AT_MOST_WAITING: Duration = Duration::from_millis(500);

/// How often the watched files are checked against the configuration in
/// force when no event comes (a `POST /__mock/reload` may have changed it).
const IDLE: Duration = Duration::from_secs(1);

/// Watching in progress; dropping it stops the watching.
pub struct Watch {
    watcher: Arc<Mutex<Option<Directories>>>,
    app: Weak<App>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        // The watcher's end of the channel goes with it: the thread ends.
        lock(&self.watcher).take();
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

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// The spec, or a file its `$ref`s reach: these names.
    Spec(BTreeSet<String>),
    /// Every file is a fixture.
    Fixtures,
    /// `*.yaml` and `*.yml`, as the scenarios are read.
    Scenarios,
}

/// The directories the system watches for us.
struct Directories {
    watcher: RecommendedWatcher,
    watched: BTreeSet<PathBuf>,
}

impl Directories {
    /// Watches the directories of `inputs` and their parents, and no
    /// others; those in `replaced` afresh. Whether every directory of
    /// `inputs` is watched (one may be gone for now).
    fn follow(&mut self, inputs: &[Watched], replaced: &BTreeSet<PathBuf>) -> bool {
        let directories: BTreeSet<&Path> = inputs.iter().map(|each| each.directory.as_path()).collect();
        let parents = directories.iter().filter_map(|directory| directory.parent());
        let wanted: BTreeSet<PathBuf> = directories
            .iter()
            .copied()
            .chain(parents)
            .map(Path::to_path_buf)
            .collect();
        for gone in self.watched.difference(&wanted).cloned().collect::<Vec<_>>() {
            let _ = self.watcher.unwatch(&gone);
            self.watched.remove(&gone);
        }
        let mut every_input = true;
        for directory in &wanted {
            if replaced.contains(directory) || !self.watched.contains(directory) {
                // The old watch follows the old directory, if it is anywhere.
                let _ = self.watcher.unwatch(directory);
                self.watched.remove(directory);
                match self.watcher.watch(directory, RecursiveMode::NonRecursive) {
                    Ok(()) => {
                        self.watched.insert(directory.clone());
                    }
                    Err(error) if directories.contains(directory.as_path()) => {
                        tracing::warn!(
                            "cannot watch {}: {error}; watched again if it is created anew, and POST /__mock/reload still reloads",
                            directory.display()
                        );
                    }
                    Err(_) => {}
                }
            }
            every_input &= !directories.contains(directory.as_path()) || self.watched.contains(directory);
        }
        every_input
    }
}

/// Starts reloading `app` when its input files change. `None` when its
/// inputs are not files, or the system refuses to watch them (said in a
/// warning: `POST /__mock/reload` still reloads). A save that start-up's
/// read missed (made while the mock started) is reloaded at once.
pub fn start(app: &Arc<App>) -> Option<Watch> {
    let sources = app.sources()?.clone();
    let (events, received) = std::sync::mpsc::channel();
    let refused = |error: &dyn std::fmt::Display| {
        tracing::warn!("cannot watch the input files ({error}); POST /__mock/reload still reloads them");
    };
    let watcher = match notify::recommended_watcher(events) {
        Ok(watcher) => watcher,
        Err(error) => {
            refused(&error);
            return None;
        }
    };
    let mut directories = Directories {
        watcher,
        watched: BTreeSet::new(),
    };
    let configuration = app.configuration();
    let inputs = watched(&sources, &configuration);
    if directories.follow(&inputs, &BTreeSet::new()) {
        app.watching_started();
    }
    let missed = changed_since(&inputs, app.inputs_read_at());
    let directories = Arc::new(Mutex::new(Some(directories)));
    let weak = Arc::downgrade(app);
    let reloader = Reloader {
        app: weak.clone(),
        sources,
        directories: directories.clone(),
        inputs,
        generation: configuration.generation,
    };
    let thread = std::thread::Builder::new()
        .name("specmock-watch".into())
        .spawn(move || reloader.run(&received, missed));
    if let Err(error) = thread {
        refused(&error);
        app.watching_stopped();
        return None;
    }
    Some(Watch {
        watcher: directories,
        app: weak,
    })
}

/// What the watching thread keeps.
struct Reloader {
    app: Weak<App>,
    sources: Sources,
    directories: Arc<Mutex<Option<Directories>>>,
    inputs: Vec<Watched>,
    /// The generation of the configuration `inputs` were taken from.
    generation: u64,
}

impl Reloader {
    /// Until the watcher is dropped (or the app): waits for a change to an
    /// input (`reload`: one is known already), then for the burst to end,
    /// then reloads; then watches the files of the configuration in force.
    fn run(mut self, events: &Receiver<notify::Result<Event>>, mut reload: bool) {
        loop {
            let mut replaced = BTreeSet::new();
            if !reload {
                match events.recv_timeout(IDLE) {
                    Ok(event) => reload = self.note(&event, &mut replaced),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
            if reload {
                let first = Instant::now();
                while first.elapsed() < AT_MOST_WAITING {
                    match events.recv_timeout(QUIET) {
                        Ok(event) => {
                            self.note(&event, &mut replaced);
                        }
                        Err(RecvTimeoutError::Timeout) => break,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            }
            let Some(app) = self.app.upgrade() else { return };
            if std::mem::take(&mut reload) {
                // A directory that is back is watched before its files are read.
                self.follow(&app, &replaced);
                app.reload();
            }
            let configuration = app.configuration();
            if configuration.generation != self.generation {
                self.generation = configuration.generation;
                self.inputs = watched(&self.sources, &configuration);
                self.follow(&app, &BTreeSet::new());
            }
        }
    }

    /// Whether `event` calls for a reload; notes a watched directory it
    /// created, removed or renamed in `replaced`.
    fn note(&self, event: &notify::Result<Event>, replaced: &mut BTreeSet<PathBuf>) -> bool {
        // An error from the watcher may hide a change: read everything again.
        let Ok(event) = event else { return true };
        let moved = matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Remove(_) | EventKind::Modify(notify::event::ModifyKind::Name(_))
        );
        let directories = event
            .paths
            .iter()
            .filter(|path| moved && self.inputs.iter().any(|each| each.directory == **path));
        let before = replaced.len();
        replaced.extend(directories.cloned());
        replaced.len() > before || is_input_change(event, &self.inputs)
    }

    /// Watches the directories of the inputs (`replaced` afresh), and says
    /// whether all of them are watched.
    fn follow(&self, app: &App, replaced: &BTreeSet<PathBuf>) {
        let mut directories = lock(&self.directories);
        // Gone: the watching was stopped.
        let Some(directories) = directories.as_mut() else {
            return;
        };
        if directories.follow(&self.inputs, replaced) {
            app.watching_started();
        } else {
            app.watching_stopped();
        }
    }
}

/// The directories to watch: each input read from a file, once.
fn watched(sources: &Sources, configuration: &Configuration) -> Vec<Watched> {
    let mut watched: Vec<Watched> = Vec::new();
    if let Source::File(_) = &sources.spec {
        let spec = &configuration.spec;
        for file in spec.files() {
            let path = Path::new(file);
            let Some(name) = path.file_name().map(|name| name.to_string_lossy().into_owned()) else {
                continue;
            };
            let directory = canonical(path.parent().unwrap_or(Path::new("")));
            let same = watched.iter_mut().find(|each| each.directory == directory);
            match same.map(|each| &mut each.kind) {
                Some(Kind::Spec(names)) => {
                    names.insert(name);
                }
                _ => watched.push(Watched {
                    directory,
                    kind: Kind::Spec(BTreeSet::from([name])),
                }),
            }
        }
    }
    let mut add = |directory: &Path, kind| {
        let each = Watched {
            directory: canonical(directory),
            kind,
        };
        if !watched.contains(&each) {
            watched.push(each);
        }
    };
    if let Some(Source::File(directory)) = &sources.fixtures {
        add(directory, Kind::Fixtures);
    }
    if let Some(Source::File(directory)) = &sources.scenarios {
        add(directory, Kind::Scenarios);
    }
    watched
}

/// `directory` with symlinks resolved, as events name it (empty: the
/// working directory).
fn canonical(directory: &Path) -> PathBuf {
    let directory = Some(directory)
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::canonicalize(directory).unwrap_or_else(|_| directory.to_path_buf())
}

/// Whether a file named `name` in a directory of `kind` is read as an input.
fn is_input(kind: &Kind, name: &str) -> bool {
    let extension = |wanted: &[&str]| {
        Path::new(name)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| wanted.contains(&e))
    };
    !is_editor_temporary(name)
        && match kind {
            Kind::Spec(names) => names.contains(name),
            Kind::Fixtures => true,
            Kind::Scenarios => extension(&["yaml", "yml"]),
        }
}

/// Whether an input, or a directory of them, was modified after `read_at`:
/// a save the read may have missed. (File times come from a coarser clock,
/// a tick behind at most: a save in the tick after the read may pass for
/// one before it; a reload for every save in the tick before would make
/// one at nearly every start.)
fn changed_since(inputs: &[Watched], read_at: SystemTime) -> bool {
    let after = |path: &Path| {
        std::fs::metadata(path)
            .and_then(|metadata| metadata.modified())
            .is_ok_and(|modified| modified > read_at)
    };
    inputs.iter().any(|each| {
        let entries = std::fs::read_dir(&each.directory).into_iter().flatten().flatten();
        let mut files = entries
            .filter(|entry| is_input(&each.kind, &entry.file_name().to_string_lossy()))
            .map(|entry| entry.path());
        // A file removed shows in its directory's time only.
        let directory = !matches!(each.kind, Kind::Spec(_)) && after(&each.directory);
        directory || files.any(|file| after(&file))
    })
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
        watched
            .iter()
            .filter(|each| each.directory == directory)
            .any(|each| is_input(&each.kind, name))
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
                kind: Kind::Spec(BTreeSet::from(["openapi.yaml".into(), "schemas.json".into()])),
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
        assert!(!changes("/api/README.md"), "not a document the spec reads");
        assert!(!changes("/api/other.yaml"), "not a document the spec reads");
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
            kind: Kind::Fixtures,
        }];
        assert!(is_input_change(&overflow, &watched));
    }
}
