//! Carrying a plan out. Everything that touches containers goes through a [`Driver`], which the
//! front-end implements over the runtime's lifecycle API; this module only sequences the
//! calls (dependency order, waits for conditions) and records what it did as [`Event`]s,
//! passed to a callback as they happen (the CLI prints them) and returned. When a step fails,
//! the [`Failure`] carries the events so far: what was created and started before the error
//! is reported, and it is labelled, so `down` finds it.

mod down;
mod parallel;
mod up;
mod wait;

pub use down::{apply_down, apply_stop};
pub use parallel::MAX_PARALLEL;
pub use up::{apply_start, apply_up};
pub use wait::{wait_for, wait_ready, Health, LiveState};

use crate::model::{NetworkSpec, ServiceSpec, VolumeSpec};
use std::fmt;

/// The operations apply needs; `S` is the front-end's container specification. Apply calls
/// them from several threads at once (independent services are started concurrently), so
/// they take `&self` and the driver is `Sync`: each call must be safe next to the others, as
/// two `hoist` processes working on one store are.
pub trait Driver<S>: Sync {
    type Error: std::error::Error + Send + Sync + 'static;
    fn create_network(&self, net: &NetworkSpec) -> Result<(), Self::Error>;
    fn remove_network(&self, name: &str) -> Result<(), Self::Error>;
    fn create_volume(&self, vol: &VolumeSpec) -> Result<(), Self::Error>;
    fn remove_volume(&self, name: &str) -> Result<(), Self::Error>;
    /// Creates (does not start) replica `number` of `svc` as `name`; returns its ID.
    fn create(&self, svc: &ServiceSpec<S>, number: u32, name: &str) -> Result<String, Self::Error>;
    fn start(&self, id: &str) -> Result<(), Self::Error>;
    /// Stops a container if it runs (signal, `timeout` seconds, SIGKILL).
    fn stop(&self, id: &str, timeout: u64) -> Result<(), Self::Error>;
    /// Removes a stopped container and its anonymous volumes.
    fn remove(&self, id: &str) -> Result<(), Self::Error>;
    fn state(&self, id: &str) -> Result<LiveState, Self::Error>;
    /// The pause between two looks at a container while waiting for a condition.
    fn pause(&self) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    NetworkCreated,
    NetworkRemoved,
    VolumeCreated,
    VolumeRemoved,
    Created,
    /// The old container was removed and a new one created in its place.
    Recreated,
    Started,
    /// Left running, up to date.
    Running,
    Restarted,
    Stopped,
    Removed,
    /// A dependency's condition is met (healthy, completed).
    Healthy,
    Exited,
}

impl EventKind {
    /// docker compose's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::NetworkCreated | EventKind::VolumeCreated | EventKind::Created => "Created",
            EventKind::NetworkRemoved | EventKind::VolumeRemoved | EventKind::Removed => "Removed",
            EventKind::Recreated => "Recreated",
            EventKind::Started => "Started",
            EventKind::Running => "Running",
            EventKind::Restarted => "Restarted",
            EventKind::Stopped => "Stopped",
            EventKind::Healthy => "Healthy",
            EventKind::Exited => "Exited",
        }
    }

    /// What the name is: "Network", "Volume" or "Container".
    pub fn object(self) -> &'static str {
        match self {
            EventKind::NetworkCreated | EventKind::NetworkRemoved => "Network",
            EventKind::VolumeCreated | EventKind::VolumeRemoved => "Volume",
            _ => "Container",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// The container's, network's or volume's name.
    pub name: String,
    /// The container's ID, when there is one.
    pub id: Option<String>,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}  {}",
            self.kind.object(),
            self.name,
            self.kind.as_str()
        )
    }
}

/// Why applying stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError<E: std::error::Error + 'static> {
    /// A driver call failed; `what` says which (`creating container p-web-1`).
    #[error("{what}: {source}")]
    Driver {
        what: String,
        #[source]
        source: E,
    },
    /// A dependency's condition can no longer be met.
    #[error("{0}")]
    Dependency(String),
}

/// A failed apply: the error, and every event before it.
#[derive(Debug)]
pub struct Failure<E: std::error::Error + 'static> {
    pub error: ApplyError<E>,
    pub done: Vec<Event>,
}

impl<E: std::error::Error + 'static> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)
    }
}

impl<E: std::error::Error + 'static> std::error::Error for Failure<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// Events so far, each also passed to the caller's callback as it happens.
pub(crate) struct Log<'a> {
    pub events: Vec<Event>,
    pub notify: &'a mut dyn FnMut(&Event),
}

impl Log<'_> {
    pub fn push(&mut self, kind: EventKind, name: &str, id: Option<&str>) {
        let e = Event {
            kind,
            name: name.to_string(),
            id: id.map(String::from),
        };
        (self.notify)(&e);
        self.events.push(e);
    }

    /// An event a worker thread reported (see `parallel`).
    pub fn push_event(&mut self, e: Event) {
        (self.notify)(&e);
        self.events.push(e);
    }

    pub fn fail<E: std::error::Error>(self, error: ApplyError<E>) -> Failure<E> {
        Failure {
            error,
            done: self.events,
        }
    }
}

/// Wraps a driver error with what was being done.
pub(crate) fn step<T, E: std::error::Error>(
    r: Result<T, E>,
    what: impl FnOnce() -> String,
) -> Result<T, ApplyError<E>> {
    r.map_err(|source| ApplyError::Driver {
        what: what(),
        source,
    })
}
