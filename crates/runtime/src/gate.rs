//! What the port proxy needs to know about the container behind it, shared
//! across restarts: the current PID 1 (whose network namespace backend
//! connections are opened in; 0 while the container is not running) and
//! whether it is ready (readiness probe). While the gate is closed the proxy
//! closes each new connection as soon as it is accepted and drops the
//! datagrams of UDP clients without a session; connections already spliced
//! and open UDP sessions keep flowing.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

#[derive(Debug)]
pub struct Gate {
    pid: AtomicI32,
    ready: AtomicBool,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            pid: AtomicI32::new(0),
            ready: AtomicBool::new(true),
        }
    }
}

impl Gate {
    pub fn set_pid(&self, pid: i32) {
        self.pid.store(pid, Ordering::SeqCst);
    }
    pub fn pid(&self) -> i32 {
        self.pid.load(Ordering::SeqCst)
    }
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }
    /// Whether new connections (UDP: new sessions) are let through.
    pub fn open(&self) -> bool {
        self.pid() > 0 && self.ready.load(Ordering::SeqCst)
    }
}
