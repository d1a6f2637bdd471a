//! Sessions: each test (or client) gets its own scenario, state and
//! sequence counters, keyed by `X-Mock-Session` (or `__session`). Each
//! session has its own lock, so parallel tests never wait on each other and
//! counters stay exact under concurrent requests to one session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::scenario::engine::SessionState;
use crate::scenario::Scenario;

/// A session unused this long is forgotten (and starts afresh if it returns).
pub const DEFAULT_IDLE_EXPIRY: Duration = Duration::from_secs(60 * 60);

/// How often at most the registry looks for idle sessions.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

pub type SharedSession = Arc<Mutex<SessionState>>;

pub struct Sessions {
    start_with: Option<Arc<Scenario>>,
    idle_expiry: Duration,
    registry: Mutex<Registry>,
}

struct Registry {
    by_id: HashMap<String, (SharedSession, Instant)>,
    last_sweep: Instant,
}

impl Sessions {
    /// Sessions start in `start_with` (the `--scenario`, or `default`).
    pub fn new(start_with: Option<Arc<Scenario>>, idle_expiry: Duration) -> Self {
        Self {
            start_with,
            idle_expiry,
            registry: Mutex::new(Registry {
                by_id: HashMap::new(),
                last_sweep: Instant::now(),
            }),
        }
    }

    /// The scenario new sessions start in.
    pub fn start_scenario(&self) -> Option<&str> {
        self.start_with.as_deref().map(|s| s.name.as_str())
    }

    pub fn start_with(&self) -> Option<Arc<Scenario>> {
        self.start_with.clone()
    }

    /// The session named `id`, if it exists (without creating it).
    pub fn find(&self, id: &str) -> Option<SharedSession> {
        lock(&self.registry).by_id.get(id).map(|(session, _)| session.clone())
    }

    /// The session named `id`, created at the start scenario if new.
    pub fn get(&self, id: &str) -> SharedSession {
        let now = Instant::now();
        let mut registry = lock(&self.registry);
        if now.duration_since(registry.last_sweep) >= SWEEP_INTERVAL {
            let expiry = self.idle_expiry;
            registry.by_id.retain(|_, (_, seen)| now.duration_since(*seen) < expiry);
            registry.last_sweep = now;
        }
        let start_with = &self.start_with;
        let entry = registry
            .by_id
            .entry(id.to_string())
            .or_insert_with(|| (Arc::new(Mutex::new(SessionState::start(start_with.clone()))), now));
        entry.1 = now;
        entry.0.clone()
    }
}

/// A panic while a session was held must not wedge that session forever:
/// its state is plain data, still usable.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
