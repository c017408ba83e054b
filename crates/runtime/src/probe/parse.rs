//! The compact probe syntax: `KIND TARGET [key=value]...`, e.g.
//! `http :8080/healthz period=5s timeout=2s failure=3`, `tcp :6379`,
//! `exec cat /tmp/ready`. Keys (Kubernetes' fields and defaults):
//! initialDelay=0s period=10s timeout=1s success=1 failure=3.

use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::error::{Result, RuntimeError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Check {
    /// Run a command in the container; exit 0 passes.
    Exec { argv: Vec<String> },
    /// GET `path` on 127.0.0.1:`port` in the container; 200-399 passes.
    Http { port: u16, path: String },
    /// Connect to 127.0.0.1:`port` in the container.
    Tcp { port: u16 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    pub check: Check,
    pub initial_delay: Duration,
    pub period: Duration,
    pub timeout: Duration,
    pub success: u32,
    pub failure: u32,
}

impl Probe {
    /// Parses `spec` for the probe flag `flag` (named in errors).
    pub fn parse(flag: &str, spec: &str) -> Result<Probe> {
        let bad = |why: String| {
            RuntimeError::Invalid(format!(
                "{flag} {spec:?}: {why} (e.g. 'http :8080/healthz period=5s', 'tcp :6379', 'exec cat /tmp/ready')"
            ))
        };
        let words: Vec<&str> = spec.split_whitespace().collect();
        let Some((&kind, rest)) = words.split_first() else {
            return Err(bad("empty probe".into()));
        };
        // Options are the trailing key=value words with a known key.
        let opt_start = rest
            .iter()
            .rposition(|w| !is_option(w))
            .map_or(0, |i| i + 1);
        let (target, opts) = rest.split_at(opt_start);
        let check = match kind {
            "exec" => {
                if target.is_empty() {
                    return Err(bad("exec needs a command".into()));
                }
                Check::Exec {
                    argv: target.iter().map(|s| s.to_string()).collect(),
                }
            }
            "http" | "tcp" => {
                let [t] = target else {
                    return Err(bad(format!(
                        "{kind} takes one target :PORT{}",
                        if kind == "http" { "[/PATH]" } else { "" }
                    )));
                };
                let t = t
                    .strip_prefix(':')
                    .ok_or_else(|| bad(format!("{t:?} should start with ':' (e.g. :8080)")))?;
                let (port, path) = match t.find('/') {
                    Some(i) if kind == "http" => (&t[..i], &t[i..]),
                    Some(_) => return Err(bad("tcp takes no path".into())),
                    None => (t, "/"),
                };
                let port: u16 = port
                    .parse()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| bad(format!("{port:?} is not a port number")))?;
                if kind == "http" {
                    Check::Http {
                        port,
                        path: path.to_string(),
                    }
                } else {
                    Check::Tcp { port }
                }
            }
            other => {
                return Err(bad(format!(
                    "unknown probe kind {other:?}: use http, tcp or exec"
                )))
            }
        };
        let mut p = Probe {
            check,
            initial_delay: Duration::ZERO,
            period: Duration::from_secs(10),
            timeout: Duration::from_secs(1),
            success: 1,
            failure: 3,
        };
        for o in opts {
            let (k, v) = o.split_once('=').unwrap_or((o, ""));
            let dur = || {
                crate::time::parse_duration(v)
                    .filter(|d| !d.is_zero() || k == "initialDelay")
                    .ok_or_else(|| bad(format!("{k}={v:?} is not a duration (e.g. 200ms, 5s)")))
            };
            let count = || {
                v.parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| bad(format!("{k}={v:?} is not a positive count")))
            };
            match k {
                "initialDelay" => p.initial_delay = dur()?,
                "period" => p.period = dur()?,
                "timeout" => p.timeout = dur()?,
                "success" => p.success = count()?,
                "failure" => p.failure = count()?,
                _ => unreachable!("is_option accepted {k}"),
            }
        }
        Ok(p)
    }

    /// The container port an http/tcp probe checks.
    pub fn port(&self) -> Option<u16> {
        match self.check {
            Check::Http { port, .. } | Check::Tcp { port } => Some(port),
            Check::Exec { .. } => None,
        }
    }
}

fn is_option(w: &str) -> bool {
    w.split_once('=').is_some_and(|(k, _)| {
        ["initialDelay", "period", "timeout", "success", "failure"].contains(&k)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_defaults() {
        let p = Probe::parse(
            "--liveness-probe",
            "http :8080/healthz period=5s timeout=2s failure=4",
        )
        .unwrap();
        assert_eq!(
            p.check,
            Check::Http {
                port: 8080,
                path: "/healthz".into()
            }
        );
        assert_eq!(p.period, Duration::from_secs(5));
        assert_eq!(p.timeout, Duration::from_secs(2));
        assert_eq!((p.success, p.failure), (1, 4));
        let t = Probe::parse("x", "tcp :6379").unwrap();
        assert_eq!(t.check, Check::Tcp { port: 6379 });
        assert_eq!(t.period, Duration::from_secs(10));
        assert_eq!(t.timeout, Duration::from_secs(1));
        assert_eq!(t.initial_delay, Duration::ZERO);
        let e = Probe::parse("x", "exec cat /tmp/ready period=200ms success=2").unwrap();
        assert_eq!(
            e.check,
            Check::Exec {
                argv: vec!["cat".into(), "/tmp/ready".into()]
            }
        );
        assert_eq!(e.period, Duration::from_millis(200));
        assert_eq!(e.success, 2);
        let h = Probe::parse("x", "http :80").unwrap();
        assert_eq!(
            h.check,
            Check::Http {
                port: 80,
                path: "/".into()
            }
        );
    }

    #[test]
    fn malformed_specs_are_refused_clearly() {
        for (spec, want) in [
            ("", "empty"),
            ("ftp :21", "unknown probe kind"),
            ("http 8080", "should start with ':'"),
            ("tcp :0", "not a port"),
            ("tcp :99999", "not a port"),
            ("tcp :80/x", "no path"),
            ("exec", "needs a command"),
            ("http :80 period=soon", "not a duration"),
            ("tcp :80 failure=0", "positive count"),
            ("tcp :80 :81", "one target"),
        ] {
            let e = Probe::parse("--readiness-probe", spec)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(want) && e.contains("--readiness-probe"),
                "{spec}: {e}"
            );
        }
    }
}
