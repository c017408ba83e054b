//! hoist's probes (startup, liveness, readiness: Kubernetes' semantics already) and docker's
//! HEALTHCHECK as Kubernetes probes, every timing field written out.

use hoist_runtime::health::Healthcheck;
use hoist_runtime::probe::{Check, Probe as HoistProbe};
use k8s_openapi::api::core::v1::{ExecAction, HTTPGetAction, Probe, TCPSocketAction};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::time::Duration;

use super::Warnings;

/// Whole seconds, rounded up (Kubernetes counts probe timings in seconds; hoist allows
/// milliseconds), at least `min`. Warns when the value changes.
fn seconds(d: Duration, min: i32, what: &str, warn: &mut Warnings) -> i32 {
    let whole = i32::try_from(d.as_millis().div_ceil(1000)).unwrap_or(i32::MAX);
    let s = whole.max(min);
    if Duration::from_secs(s as u64) != d {
        warn.push(format!(
            "{what}: {d:?} written as {s}s (Kubernetes counts whole seconds, at least {min})"
        ));
    }
    s
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Which of the three a probe is: liveness and startup probes must have a success
/// threshold of 1 in Kubernetes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Startup,
    Liveness,
    Readiness,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Startup => "startupProbe",
            Role::Liveness => "livenessProbe",
            Role::Readiness => "readinessProbe",
        }
    }
}

/// A hoist probe of `container` as a Kubernetes probe.
pub fn from_hoist(p: &HoistProbe, role: Role, container: &str, warn: &mut Warnings) -> Probe {
    let what = format!("container {container}: {}", role.name());
    let mut probe = Probe {
        initial_delay_seconds: Some(seconds(p.initial_delay, 0, &what, warn)),
        period_seconds: Some(seconds(p.period, 1, &what, warn)),
        timeout_seconds: Some(seconds(p.timeout, 1, &what, warn)),
        success_threshold: Some(count(p.success)),
        failure_threshold: Some(count(p.failure)),
        ..Default::default()
    };
    if role != Role::Readiness && p.success != 1 {
        warn.push(format!(
            "{what}: success={} written as successThreshold 1 (Kubernetes requires 1 for liveness and startup probes)",
            p.success
        ));
        probe.success_threshold = Some(1);
    }
    match &p.check {
        Check::Exec { argv } => {
            probe.exec = Some(ExecAction {
                command: Some(argv.clone()),
            })
        }
        Check::Http { port, path } => {
            probe.http_get = Some(HTTPGetAction {
                path: Some(path.clone()),
                port: IntOrString::Int(i32::from(*port)),
                scheme: Some("HTTP".into()),
                ..Default::default()
            })
        }
        Check::Tcp { port } => {
            probe.tcp_socket = Some(TCPSocketAction {
                port: IntOrString::Int(i32::from(*port)),
                ..Default::default()
            })
        }
    }
    probe
}

/// docker's HEALTHCHECK as a liveness probe, as podman does: the check runs as an exec
/// probe at the same interval, its timeout and retries carried over and its start period
/// as the initial delay. None for `NONE` or an empty test.
pub fn from_healthcheck(h: &Healthcheck, container: &str, warn: &mut Warnings) -> Option<Probe> {
    let command = h.command()?;
    let what = format!("container {container}: HEALTHCHECK as livenessProbe");
    if h.start_interval != 0 {
        warn.push(format!(
            "{what}: start interval {:?} has no Kubernetes field; left out",
            h.start_interval()
        ));
    }
    Some(Probe {
        exec: Some(ExecAction {
            command: Some(command),
        }),
        initial_delay_seconds: Some(seconds(h.start_period(), 0, &what, warn)),
        period_seconds: Some(seconds(h.interval(), 1, &what, warn)),
        timeout_seconds: Some(seconds(h.timeout(), 1, &what, warn)),
        success_threshold: Some(1),
        failure_threshold: Some(count(h.retries())),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_timing_field_is_written() {
        let mut w = Warnings::default();
        let p = HoistProbe::parse(
            "x",
            "http :8080/healthz initialDelay=2s period=5s timeout=3s success=2 failure=4",
        )
        .unwrap();
        let k = from_hoist(&p, Role::Readiness, "web", &mut w);
        assert_eq!(k.initial_delay_seconds, Some(2));
        assert_eq!(k.period_seconds, Some(5));
        assert_eq!(k.timeout_seconds, Some(3));
        assert_eq!(k.success_threshold, Some(2));
        assert_eq!(k.failure_threshold, Some(4));
        let http = k.http_get.unwrap();
        assert_eq!(http.port, IntOrString::Int(8080));
        assert_eq!(http.path.as_deref(), Some("/healthz"));
        assert!(w.0.is_empty(), "{:?}", w.0);
    }

    #[test]
    fn sub_second_timings_round_up_with_a_warning() {
        let mut w = Warnings::default();
        let p = HoistProbe::parse("x", "exec cat /tmp/ready period=200ms success=3").unwrap();
        let k = from_hoist(&p, Role::Liveness, "web", &mut w);
        assert_eq!(k.period_seconds, Some(1));
        assert_eq!(k.success_threshold, Some(1));
        assert_eq!(
            k.exec.unwrap().command.unwrap(),
            vec!["cat".to_string(), "/tmp/ready".to_string()]
        );
        assert_eq!(w.0.len(), 2, "{:?}", w.0);
        assert!(w.0[0].contains("200ms"));
        assert!(w.0[1].contains("successThreshold 1"));
    }

    #[test]
    fn healthcheck_becomes_an_exec_liveness_probe() {
        let mut w = Warnings::default();
        let h = Healthcheck {
            test: vec!["CMD-SHELL".into(), "wget -q -O- localhost".into()],
            interval: 5_000_000_000,
            timeout: 2_000_000_000,
            start_period: 10_000_000_000,
            start_interval: 0,
            retries: 5,
        };
        let k = from_healthcheck(&h, "web", &mut w).unwrap();
        assert_eq!(
            k.exec.unwrap().command.unwrap(),
            ["/bin/sh", "-c", "wget -q -O- localhost"]
        );
        assert_eq!(
            (
                k.initial_delay_seconds,
                k.period_seconds,
                k.timeout_seconds,
                k.failure_threshold
            ),
            (Some(10), Some(5), Some(2), Some(5))
        );
        let none = Healthcheck {
            test: vec!["NONE".into()],
            ..Default::default()
        };
        assert!(from_healthcheck(&none, "web", &mut w).is_none());
    }
}
