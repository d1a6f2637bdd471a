//! Sessions: each test (or client) gets its own scenario, state and
//! sequence counters, keyed by `X-Mock-Session` (or `__session`). Each
//! session has its own lock, so parallel tests never wait on each other and
//! counters stay exact under concurrent requests to one session. Each also
//! announces the calls made in it, so its WebSocket streams can follow, and
//! keeps the frame its live streams show, built once per change for all.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::broadcast;

use crate::app::LiveFrame;
use crate::poison_tolerant::lock;
use crate::render::Rendered;
use crate::scenario::engine::SessionState;

/// A session unused this long is forgotten (and starts afresh if it returns),
/// unless a stream still follows it.
pub const DEFAULT_IDLE_EXPIRY: Duration = Duration::from_secs(60 * 60);

/// Sessions held at once; a new one past it replaces the least recently
/// used session no stream follows (a client minting a session per request
/// cannot exhaust memory).
pub const MAX_SESSIONS: usize = 100_000;

/// How often at most the registry looks for idle sessions.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Calls a stream may fall behind by before it misses some. A live stream
/// that falls behind only re-reads the session; a script's `on:` may miss
/// the calls that rolled off.
const EVENT_BACKLOG: usize = 64;

pub type SharedSession = Arc<Session>;

pub struct Session {
    state: Mutex<SessionState>,
    events: broadcast::Sender<Arc<Event>>,
    /// Bumped by each call announced to the streams (one that changes
    /// nothing still moves a sequence on, which decides the frame too) and
    /// by each stream that subscribes (a change made while no stream
    /// followed was not announced, and a handshake counts its call): a
    /// live frame built at a version shows every announced call before it.
    version: AtomicU64,
    /// The frame each live operation shows, shared by its streams.
    shown: Mutex<Vec<Shown>>,
    live_frames_built: AtomicU64,
}

/// The live frame of one operation as of a version of its session.
struct Shown {
    /// The configuration `operation` indexes into.
    generation: u64,
    operation: usize,
    version: u64,
    /// `None`: the frame differs per stream; each builds its own.
    frame: Option<LiveFrame>,
}

/// Whom a live frame built from the session's state is for.
pub enum FrameFor {
    /// Every stream of the operation sees the same frame.
    EveryStream,
    /// The frame reads what differs per stream: its handshake (query,
    /// headers, path), the clock or a fresh UUID.
    ThisStream,
}

/// A call made in a session (or a reset of it), as its streams see it.
#[derive(Debug)]
pub struct Event {
    /// The operationId (an index would mean another operation after a
    /// reload); `None`: the session was reset, moved to another scenario,
    /// or its configuration reloaded.
    pub operation: Option<String>,
    pub request: Option<Arc<Value>>,
    /// As sent; parsed only when a script reads `event.response`.
    pub response: Option<Rendered>,
    /// Whether the call changed the session's store or state.
    pub changed: bool,
}

impl Event {
    /// The session was reset, moved to another scenario, or its
    /// configuration reloaded: what a live stream shows may have changed.
    pub fn restarted() -> Self {
        Self {
            operation: None,
            request: None,
            response: None,
            changed: true,
        }
    }
}

impl Session {
    fn new(state: SessionState) -> Self {
        Self {
            state: Mutex::new(state),
            events: broadcast::channel(EVENT_BACKLOG).0,
            version: AtomicU64::new(0),
            shown: Mutex::new(Vec::new()),
            live_frames_built: AtomicU64::new(0),
        }
    }

    /// The session's state, held exclusively.
    pub fn lock(&self) -> MutexGuard<'_, SessionState> {
        lock(&self.state)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.version.fetch_add(1, Ordering::AcqRel);
        self.events.subscribe()
    }

    /// Whether a stream follows this session (worth building events for).
    pub fn is_followed(&self) -> bool {
        self.streams() > 0
    }

    /// How many streams follow this session.
    pub fn streams(&self) -> usize {
        self.events.receiver_count()
    }

    pub fn publish(&self, event: Event) {
        // Before the event: a stream that receives it finds the frame it shared stale.
        self.version.fetch_add(1, Ordering::AcqRel);
        // No receiver is not an error: streams come and go.
        let _ = self.events.send(Arc::new(event));
    }

    /// What a live stream of `operation` (in configuration `generation`)
    /// shows as of the latest change: the frame another stream built
    /// already, or the one `build` makes from the session's state (under the
    /// lock that keeps it to one build per change). A frame `build` says
    /// differs per stream is built again by each stream. `None`: `build`
    /// found the session mapped to a newer configuration.
    pub fn live_frame(
        &self,
        generation: u64,
        operation: usize,
        build: impl Fn(&mut SessionState) -> Option<(LiveFrame, FrameFor)>,
    ) -> Option<LiveFrame> {
        let mut shown = lock(&self.shown);
        // Read before the state is: what is built next shows at least this version.
        let version = self.version.load(Ordering::Acquire);
        let slot = shown
            .iter()
            .position(|s| s.operation == operation && s.generation == generation);
        if let Some(current) = slot.map(|i| &shown[i]).filter(|s| s.version >= version) {
            match &current.frame {
                Some(frame) => return Some(frame.clone()),
                None => {
                    drop(shown);
                    return self.build_live(build).map(|(frame, _)| frame);
                }
            }
        }
        let (frame, made_for) = self.build_live(build)?;
        let current = Shown {
            generation,
            operation,
            version,
            frame: matches!(made_for, FrameFor::EveryStream).then(|| frame.clone()),
        };
        // Frames of an older configuration are never asked for again.
        shown.retain(|s| s.generation >= generation);
        match shown
            .iter()
            .position(|s| s.operation == operation && s.generation == generation)
        {
            Some(index) => shown[index] = current,
            None => shown.push(current),
        }
        Some(frame)
    }

    fn build_live(
        &self,
        build: impl Fn(&mut SessionState) -> Option<(LiveFrame, FrameFor)>,
    ) -> Option<(LiveFrame, FrameFor)> {
        self.live_frames_built.fetch_add(1, Ordering::Relaxed);
        build(&mut self.lock())
    }

    /// How many live frames were built from this session's state (streams
    /// that share a frame count it once).
    pub fn live_frames_built(&self) -> u64 {
        self.live_frames_built.load(Ordering::Relaxed)
    }
}

/// The sessions `GET /__mock/sessions` lists.
pub struct Recent {
    /// Live sessions, listed or not.
    pub total: usize,
    pub sessions: Vec<Listed>,
}

/// A live session, named, with when a request last named it.
pub struct Listed {
    pub id: String,
    pub session: SharedSession,
    pub last_used: Instant,
}

pub struct Sessions {
    idle_expiry: Duration,
    capacity: usize,
    registry: Mutex<Registry>,
}

struct Registry {
    by_id: HashMap<String, (SharedSession, Instant)>,
    last_sweep: Instant,
}

impl Sessions {
    /// At most `capacity` are held.
    pub fn new(idle_expiry: Duration, capacity: usize) -> Self {
        Self {
            idle_expiry,
            capacity: capacity.max(1),
            registry: Mutex::new(Registry {
                by_id: HashMap::new(),
                last_sweep: Instant::now(),
            }),
        }
    }

    /// The `limit` most recently used live sessions, most recent first
    /// (then by id), and how many are live: held, and not idle past the
    /// expiry (those go at the next sweep) unless a stream follows them.
    /// Only those listed are copied, whatever the registry holds.
    pub fn recent(&self, limit: usize) -> Recent {
        let now = Instant::now();
        let registry = lock(&self.registry);
        let live = |(_, (session, seen)): &(&String, &(SharedSession, Instant))| {
            now.duration_since(*seen) < self.idle_expiry || session.is_followed()
        };
        let mut held: Vec<(&String, &(SharedSession, Instant))> = registry.by_id.iter().filter(live).collect();
        let total = held.len();
        type Held<'a> = (&'a String, &'a (SharedSession, Instant));
        let most_recent_first =
            |(a, (_, a_seen)): &Held, (b, (_, b_seen)): &Held| b_seen.cmp(a_seen).then_with(|| a.cmp(b));
        if held.len() > limit && limit > 0 {
            held.select_nth_unstable_by(limit - 1, most_recent_first);
        }
        held.truncate(limit);
        held.sort_unstable_by(most_recent_first);
        let sessions = held
            .into_iter()
            .map(|(id, (session, seen))| Listed {
                id: id.clone(),
                session: session.clone(),
                last_used: *seen,
            })
            .collect();
        Recent { total, sessions }
    }

    /// The session named `id`, if it exists (without creating it).
    pub fn find(&self, id: &str) -> Option<SharedSession> {
        lock(&self.registry).by_id.get(id).map(|(session, _)| session.clone())
    }

    /// The session named `id`, created as `fresh` makes it if new.
    pub fn get(&self, id: &str, fresh: impl FnOnce() -> SessionState) -> SharedSession {
        let now = Instant::now();
        let mut registry = lock(&self.registry);
        if now.duration_since(registry.last_sweep) >= SWEEP_INTERVAL {
            let expiry = self.idle_expiry;
            registry
                .by_id
                .retain(|_, (session, seen)| now.duration_since(*seen) < expiry || session.is_followed());
            registry.last_sweep = now;
        }
        if registry.by_id.len() >= self.capacity && !registry.by_id.contains_key(id) {
            let least_recent = registry
                .by_id
                .iter()
                .filter(|(_, (session, _))| !session.is_followed())
                .min_by_key(|(_, (_, seen))| *seen)
                .map(|(id, _)| id.clone());
            if let Some(evicted) = least_recent {
                registry.by_id.remove(&evicted);
                tracing::warn!(session = %evicted, capacity = self.capacity, "session forgotten early: too many sessions");
            }
        }
        // Looked up before inserting: a known session (nearly every call)
        // needs no copy of its name.
        if let Some((session, seen)) = registry.by_id.get_mut(id) {
            *seen = now;
            return session.clone();
        }
        let session = Arc::new(Session::new(fresh()));
        registry.by_id.insert(id.to_string(), (session.clone(), now));
        session
    }

    /// The sessions a stream follows now.
    pub fn followed(&self) -> Vec<SharedSession> {
        let registry = lock(&self.registry);
        let sessions = registry.by_id.values().map(|(session, _)| session);
        sessions.filter(|session| session.is_followed()).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_frame_is_built_once_per_change_unless_it_reads_the_handshake() {
        let session = Session::new(SessionState::start(None));
        let _stream = session.subscribe();
        let built = || session.live_frames_built();
        // Each build makes a frame of its own, to tell which one a stream got.
        let for_every_stream = |_: &mut SessionState| Some((LiveFrame::Nothing, FrameFor::EveryStream));
        let first = session.live_frame(1, 0, |_| Some((closing(built()), FrameFor::EveryStream)));
        assert_eq!(session.live_frame(1, 0, for_every_stream), first, "shared");
        assert_eq!(built(), 1);

        session.publish(Event::restarted());
        assert_eq!(
            session.live_frame(1, 0, for_every_stream),
            Some(LiveFrame::Nothing),
            "a change"
        );
        session.live_frame(1, 0, for_every_stream);
        assert_eq!(built(), 2);

        // A call that changed neither store nor state may still have moved a
        // sequence on, which decides what the operation answers.
        session.publish(Event {
            changed: false,
            ..Event::restarted()
        });
        let after_call = session.live_frame(1, 0, |_| Some((closing(built()), FrameFor::EveryStream)));
        assert_eq!(after_call, Some(closing(3)), "built again after a call");
        assert_eq!(session.live_frame(1, 0, for_every_stream), after_call, "and shared");
        assert_eq!(built(), 3);

        // A handshake may count a call without announcing a change.
        let _another = session.subscribe();
        session.live_frame(1, 0, for_every_stream);
        assert_eq!(built(), 4);
        session.live_frame(1, 1, for_every_stream);
        assert_eq!(built(), 5, "another operation has a frame of its own");

        let for_this_stream = |_: &mut SessionState| Some((LiveFrame::Nothing, FrameFor::ThisStream));
        session.publish(Event::restarted());
        session.live_frame(1, 0, for_this_stream);
        session.live_frame(1, 0, for_this_stream);
        assert_eq!(built(), 7, "a frame that reads the handshake is built per stream");

        // After a reload, index 0 may be another operation: never another configuration's frame.
        session.publish(Event::restarted());
        session.live_frame(1, 0, for_every_stream);
        session.live_frame(1, 0, for_every_stream);
        assert_eq!(built(), 8);
        session.live_frame(2, 0, for_every_stream);
        assert_eq!(built(), 9, "operation 0 of generation 2 is another frame");
        assert_eq!(
            session.live_frame(2, 0, |_| None),
            Some(LiveFrame::Nothing),
            "and shared"
        );
        assert_eq!(
            session.live_frame(1, 0, |_| None),
            None,
            "the older configuration's frames are gone"
        );
        session.publish(Event::restarted());
        assert_eq!(
            session.live_frame(2, 0, |_| None),
            None,
            "a session mapped to a newer configuration"
        );
    }

    fn closing(code: u64) -> LiveFrame {
        LiveFrame::Close {
            code: 4000 + code as u16,
            reason: String::new(),
        }
    }

    #[test]
    fn the_most_recent_live_sessions_are_listed_and_the_idle_ones_left_out() {
        let sessions = Sessions::new(Duration::from_millis(100), 100);
        let fresh = || SessionState::start(None);
        let followed = sessions.get("followed", fresh);
        let _stream = followed.subscribe();
        sessions.get("idle", fresh);
        std::thread::sleep(Duration::from_millis(150));
        for id in ["b", "a", "c"] {
            sessions.get(id, fresh);
            std::thread::sleep(Duration::from_millis(2));
        }
        let listed = |limit| {
            let recent = sessions.recent(limit);
            let ids: Vec<String> = recent.sessions.into_iter().map(|listed| listed.id).collect();
            (recent.total, ids)
        };
        assert_eq!(listed(2), (4, vec!["c".to_string(), "a".to_string()]));
        assert_eq!(
            listed(10).1,
            ["c", "a", "b", "followed"],
            "idle past the expiry: not listed"
        );
        assert_eq!(listed(0), (4, Vec::new()));
    }

    #[test]
    fn past_capacity_the_least_recently_used_session_is_forgotten() {
        let fresh = || SessionState::start(None);
        let sessions = Sessions::new(DEFAULT_IDLE_EXPIRY, 2);
        let first = sessions.get("a", fresh);
        sessions.get("b", fresh);
        sessions.get("a", fresh);
        let _followed = first.subscribe();
        sessions.get("c", fresh);
        assert!(sessions.find("a").is_some(), "followed and recently used");
        assert!(sessions.find("b").is_none(), "the least recently used goes");
        assert!(sessions.find("c").is_some());
        // A followed session is never the one forgotten, even when it is the oldest.
        sessions.get("d", fresh);
        assert!(sessions.find("a").is_some());
        assert!(sessions.find("c").is_none());
    }
}
