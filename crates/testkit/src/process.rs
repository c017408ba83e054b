//! Child processes owned by a test: killed (by PID, never by name) and reaped
//! when the guard drops, so a failing test leaves nothing running.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills and reaps its child on drop.
pub struct ChildGuard {
    pub child: Child,
}

impl ChildGuard {
    pub fn spawn(cmd: &mut Command) -> std::io::Result<Self> {
        Ok(ChildGuard {
            child: cmd.spawn()?,
        })
    }
    pub fn id(&self) -> u32 {
        self.child.id()
    }
    /// Sends a signal to the child (by PID).
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill on a PID we own.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }
    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
    /// Whether the child has exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A peer server process (docker-registry, moto, our registry) on a loopback port.
pub struct Peer {
    pub guard: ChildGuard,
    pub port: u16,
}

impl Peer {
    /// Starts `cmd` with stdout/stderr to `log` and waits until `port` accepts TCP.
    pub fn start(cmd: &mut Command, port: u16, log: &std::path::Path) -> Self {
        let out = std::fs::File::create(log).expect("create peer log");
        let err = out.try_clone().unwrap();
        cmd.stdout(Stdio::from(out)).stderr(Stdio::from(err));
        let mut guard = ChildGuard::spawn(cmd).expect("start peer");
        crate::wait_until(
            &format!("peer on 127.0.0.1:{port}"),
            Duration::from_secs(30),
            || {
                assert!(
                    !guard.exited(),
                    "peer exited early; log:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            },
        );
        Peer { guard, port }
    }
}
