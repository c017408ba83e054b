//! The monitor's unix socket (`containers/<id>/monitor.sock`): one JSON
//! request line, one JSON reply line. The socket is bound and reached through
//! `/proc/self/fd/<dirfd>/monitor.sock`, so long store roots never exceed the
//! 108-byte limit of socket paths.

use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::Shared;
use crate::error::{Result, RuntimeError};

pub const SOCKET: &str = "monitor.sock";

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Request {
    /// Stop signal, then SIGKILL after `timeout` seconds; reply at exit.
    Stop {
        timeout: u64,
        signal: Option<i32>,
    },
    Kill {
        signal: i32,
    },
    /// Reply when the container has exited.
    Wait,
    /// Drop the monitor's writer of a `-i` container's stdin, so that the
    /// container reads EOF once the attached CLI's writer closes.
    #[serde(rename = "close-stdin")]
    CloseStdin,
}

#[derive(Debug, Serialize, Deserialize, Default)]
pub struct Reply {
    pub ok: bool,
    pub exit_code: Option<i32>,
    pub error: Option<String>,
}

fn open_dir(dir: &Path) -> std::io::Result<OwnedFd> {
    Ok(OwnedFd::from(std::fs::File::open(dir)?))
}

fn short_path(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}/{SOCKET}", fd.as_raw_fd())
}

/// Binds the socket in `dir` (replacing a stale one).
pub fn bind(dir: &Path) -> Result<UnixListener> {
    let _ = std::fs::remove_file(dir.join(SOCKET));
    let fd =
        open_dir(dir).map_err(|e| RuntimeError::io(format!("opening {}", dir.display()), e))?;
    UnixListener::bind(short_path(&fd))
        .map_err(|e| RuntimeError::io(format!("binding {}", dir.join(SOCKET).display()), e))
}

/// Sends `req` to the monitor of the container in `dir`; waits up to `timeout`.
pub fn call(dir: &Path, req: &Request, timeout: Option<Duration>) -> Result<Reply> {
    let err = |e: std::io::Error| RuntimeError::Monitor(e.to_string());
    let fd = open_dir(dir).map_err(err)?;
    let mut s = UnixStream::connect(short_path(&fd)).map_err(err)?;
    s.set_read_timeout(timeout).map_err(err)?;
    let mut line = serde_json::to_vec(req).unwrap_or_default();
    line.push(b'\n');
    s.write_all(&line).map_err(err)?;
    let mut reply = String::new();
    BufReader::new(s).read_line(&mut reply).map_err(err)?;
    serde_json::from_str(&reply)
        .map_err(|e| RuntimeError::Monitor(format!("bad reply {reply:?}: {e}")))
}

/// Serves requests until the process ends (one thread per connection).
pub fn serve(listener: UnixListener, shared: Arc<Shared>) {
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let shared = shared.clone();
        std::thread::spawn(move || handle(conn, &shared));
    }
}

fn handle(conn: UnixStream, shared: &Shared) {
    let mut line = String::new();
    let Ok(clone) = conn.try_clone() else { return };
    if BufReader::new(clone).read_line(&mut line).is_err() {
        return;
    }
    shared.busy(1);
    let reply = match serde_json::from_str::<Request>(&line) {
        Err(e) => Reply {
            error: Some(format!("bad request: {e}")),
            ..Default::default()
        },
        Ok(Request::Kill { signal }) => match shared.signal(signal) {
            Ok(()) => Reply {
                ok: true,
                ..Default::default()
            },
            Err(e) => Reply {
                error: Some(e),
                ..Default::default()
            },
        },
        Ok(Request::Stop { timeout, signal }) => {
            let code = shared.stop(Duration::from_secs(timeout), signal);
            Reply {
                ok: true,
                exit_code: Some(code),
                error: None,
            }
        }
        Ok(Request::CloseStdin) => {
            shared.close_stdin();
            Reply {
                ok: true,
                ..Default::default()
            }
        }
        Ok(Request::Wait) => Reply {
            ok: true,
            exit_code: Some(shared.wait_exit(None).unwrap_or(-1)),
            error: None,
        },
    };
    let mut out = serde_json::to_vec(&reply).unwrap_or_default();
    out.push(b'\n');
    let mut conn = conn;
    let _ = conn.write_all(&out);
    shared.busy(-1);
}
