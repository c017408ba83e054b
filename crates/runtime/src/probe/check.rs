//! Running one probe check. http and tcp connect to 127.0.0.1 from the
//! calling thread, which must already be in the container's network
//! namespace (`ports::enter_netns`); exec goes through the runtime's exec
//! path (the health check runner) with the probe's timeout.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use super::parse::{Check, Probe};
use crate::container::ContainerRecord;
use crate::health::Healthcheck;

/// Ok, or why the check failed.
pub fn run(root: &Path, rec: &ContainerRecord, p: &Probe) -> Result<(), String> {
    match &p.check {
        Check::Tcp { port } => connect(*port, p.timeout).map(drop),
        Check::Http { port, path } => http_get(*port, path, p.timeout),
        Check::Exec { argv } => exec(root, rec, argv, p.timeout),
    }
}

fn connect(port: u16, timeout: Duration) -> Result<TcpStream, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connecting to :{port}: {e}"))
}

fn http_get(port: u16, path: &str, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut s = connect(port, timeout)?;
    let left = || {
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    };
    let _ = s.set_write_timeout(Some(left()));
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: hoist-probe\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes())
        .map_err(|e| format!("sending GET {path}: {e}"))?;
    // Only the status line matters: read until the first line ends.
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.contains(&b'\n') && head.len() < 4096 {
        let _ = s.set_read_timeout(Some(left()));
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e)
                if Instant::now() >= deadline
                    || matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
            {
                return Err(format!("GET {path}: no answer within {timeout:?}"))
            }
            Err(e) => return Err(format!("GET {path}: {e}")),
        }
    }
    let line = String::from_utf8_lossy(&head);
    let line = line.lines().next().unwrap_or_default();
    let code: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("GET {path}: not an HTTP answer: {line:?}"))?;
    if (200..400).contains(&code) {
        Ok(())
    } else {
        Err(format!("GET {path}: HTTP {code}"))
    }
}

fn exec(
    root: &Path,
    rec: &ContainerRecord,
    argv: &[String],
    timeout: Duration,
) -> Result<(), String> {
    let mut test = vec!["CMD".to_string()];
    test.extend(argv.iter().cloned());
    let h = Healthcheck {
        test,
        timeout: timeout.as_nanos() as u64,
        ..Default::default()
    };
    let r = crate::monitor::run_check(root, rec, &h);
    if r.exit_code == 0 {
        Ok(())
    } else {
        Err(format!(
            "{} exited {}: {}",
            argv.join(" "),
            r.exit_code,
            r.output.trim()
        ))
    }
}
