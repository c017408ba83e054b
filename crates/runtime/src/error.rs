//! The runtime's one error type: each variant says what failed and, where it
//! helps, what the user can do.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    /// The container could not be started; `exit_code` follows docker
    /// (127 command not found, 126 cannot execute, 125 anything else).
    #[error("{message}")]
    Start { message: String, exit_code: i32 },
    #[error("invalid container configuration: {0}")]
    Invalid(String),
    #[error("cgroup {path}: {message}")]
    Cgroup { path: String, message: String },
    #[error("no such container: {0} (see `hoist ps -a`)")]
    NoSuchContainer(String),
    #[error("the container name {0:?} is already in use (remove it with `hoist rm {0}` or choose another --name)")]
    NameInUse(String),
    #[error("container {0} is running (stop it first, or use -f)")]
    Running(String),
    #[error("container {0} is not running")]
    NotRunning(String),
    #[error("container {0} is already paused (resume it with `hoist unpause {0}`)")]
    AlreadyPaused(String),
    #[error("container {0} is not paused")]
    NotPaused(String),
    #[error("no such volume: {0}")]
    NoSuchVolume(String),
    #[error("volume {0} is in use by a container")]
    VolumeInUse(String),
    #[error("image {name}: {message}")]
    Image { name: String, message: String },
    #[error("no such pod: {0} (create it with `hoist pod create --name {0}`; see `hoist pod ps`)")]
    NoSuchPod(String),
    #[error("the pod name {0:?} is already in use (remove it with `hoist pod rm {0}` or choose another --name)")]
    PodNameInUse(String),
    #[error("pod {0} is running (stop it with `hoist pod stop {0}` first, or use -f)")]
    PodRunning(String),
    #[error("pod {0} is not running (start it with `hoist pod start {0}`)")]
    PodNotRunning(String),
    #[error("the container's monitor did not answer: {0}")]
    Monitor(String),
    /// `start` of a container whose monitor died while its processes run.
    #[error("cannot start container {0}: its monitor ended unexpectedly while processes of it still run; stop them with `hoist stop {0}` (or `hoist rm -f {0}`) first")]
    Unsupervised(String),
    #[error("stopping {name}: {message}")]
    Stop { name: String, message: String },
    #[error("killing {name}: {message}")]
    Kill { name: String, message: String },
    #[error("unknown signal {0:?} (use a name such as TERM or SIGKILL, or a number)")]
    UnknownSignal(String),
    #[error("pod {pod} has running container {container}: stop it with `hoist pod stop {pod}` first, or use -f")]
    PodHasRunning { pod: String, container: String },
    /// `wait_healthy` of a container that has no health check (nor readiness probe).
    #[error("container {0} has no health check (nor readiness probe) to wait for")]
    NoHealthcheck(String),
    #[error("container {0} is unhealthy")]
    Unhealthy(String),
    /// The container ended while something waited for it to become healthy.
    #[error("container {name} exited (code {exit_code}) before it became healthy")]
    ExitedEarly { name: String, exit_code: i32 },
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        what: String,
        after: std::time::Duration,
    },
    #[error("the store at {path}: {message}")]
    Store { path: String, message: String },
    #[error(transparent)]
    Network(#[from] hoist_network::NetworkError),
}

impl RuntimeError {
    pub fn io(what: impl Into<String>, source: io::Error) -> RuntimeError {
        RuntimeError::Io {
            what: what.into(),
            source,
        }
    }
    /// The exit code `run` should end with for this error (docker: 125 unless
    /// the command itself could not be found or executed). Errors about a
    /// container's or pod's state, which `run` never meets, exit 1 as docker's
    /// `start`/`stop`/`kill`/`pod rm` do.
    pub fn exit_code(&self) -> i32 {
        match self {
            RuntimeError::Start { exit_code, .. } => *exit_code,
            RuntimeError::Unsupervised(_)
            | RuntimeError::Stop { .. }
            | RuntimeError::Kill { .. }
            | RuntimeError::PodHasRunning { .. }
            | RuntimeError::AlreadyPaused(_)
            | RuntimeError::NotPaused(_) => 1,
            _ => 125,
        }
    }
}

/// Adds "what was being done" to io errors.
pub trait IoContext<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, RuntimeError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, RuntimeError> {
        self.map_err(|e| RuntimeError::io(what(), e))
    }
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;
