//! `x-hoist` probes as the runtime's probes, the same ones `hoist run --startup-probe/
//! --liveness-probe/--readiness-probe` gives a container: startup and liveness kill a
//! container that fails them (its restart policy decides the rest), readiness opens and
//! closes the container's published ports (and, for a service without a health check, is
//! what `depends_on: condition: service_healthy` and `up --wait` wait for). The normalizer
//! has checked the definitions already (one action, ports 1-65535, Kubernetes' rules, with
//! file, line and key path); this only changes units.

use crate::model::{HoistExtension, Probe, ProbeAction, Service};
use hoist_runtime::probe::{Check, Probe as RuntimeProbe, Probes};
use std::time::Duration;

/// The service's probes for `Lifecycle::create` (none without `x-hoist`).
pub fn probes(svc: &Service) -> Probes {
    let Some(x) = &svc.hoist else {
        return Probes::default();
    };
    let HoistExtension {
        startup_probe,
        liveness_probe,
        readiness_probe,
    } = x;
    Probes {
        startup: startup_probe.as_ref().map(probe),
        liveness: liveness_probe.as_ref().map(probe),
        readiness: readiness_probe.as_ref().map(probe),
    }
}

fn probe(p: &Probe) -> RuntimeProbe {
    let check = match &p.action {
        ProbeAction::Exec { command } => Check::Exec {
            argv: command.clone(),
        },
        // host is local (the normalizer refuses others): the runtime probes 127.0.0.1 in the
        // container's network namespace, which is what Kubernetes' default (the pod's IP)
        // reaches too.
        ProbeAction::HttpGet { path, port, .. } => Check::Http {
            port: *port,
            path: path.clone(),
        },
        ProbeAction::TcpSocket { port, .. } => Check::Tcp { port: *port },
    };
    let secs = |s: u32| Duration::from_secs(u64::from(s));
    RuntimeProbe {
        check,
        initial_delay: secs(p.initial_delay_seconds),
        period: secs(p.period_seconds),
        timeout: secs(p.timeout_seconds),
        success: p.success_threshold,
        failure: p.failure_threshold,
    }
}
