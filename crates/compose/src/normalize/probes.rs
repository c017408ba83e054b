//! `healthcheck:` (docker's) and `x-hoist:` (hoist's Kubernetes-style startup, liveness and
//! readiness probes, with Kubernetes' field names and defaults) on a service.

use super::read::{
    boolean, command, duration, int, map, opt_string, string, strings, sub, uint, unknown,
};
use crate::error::{invalid, Result};
use crate::model::{Healthcheck, HoistExtension, Probe, ProbeAction, Warning};
use crate::yaml::{Node, Value};

pub(crate) fn healthcheck(
    n: &Node,
    path: &str,
    warnings: &mut Vec<Warning>,
) -> Result<Healthcheck> {
    let mut h = Healthcheck::default();
    for (k, v) in map(n, path)? {
        let p = sub(path, k);
        match k.as_str() {
            "test" => {
                h.test = match &v.value {
                    Value::Null => None,
                    // A string runs in the shell, as HEALTHCHECK CMD-SHELL.
                    Value::Scalar { text, .. } => Some(vec!["CMD-SHELL".into(), text.clone()]),
                    _ => {
                        let test = strings(v, &p)?;
                        match test.first().map(String::as_str) {
                            Some("NONE" | "CMD" | "CMD-SHELL") => Some(test),
                            _ => {
                                return Err(invalid(
                                    &v.pos,
                                    &p,
                                    "a test list starts with CMD, CMD-SHELL or NONE",
                                ))
                            }
                        }
                    }
                }
            }
            "interval" => h.interval = Some(duration(v, &p)?),
            "timeout" => h.timeout = Some(duration(v, &p)?),
            "start_period" => h.start_period = Some(duration(v, &p)?),
            "start_interval" => h.start_interval = Some(duration(v, &p)?),
            "retries" => h.retries = Some(uint(v, &p)?),
            "disable" => h.disable = boolean(v, &p)?,
            _ => unknown(warnings, k, v, path),
        }
    }
    if h.test
        .as_deref()
        .and_then(|t| t.first())
        .map(String::as_str)
        == Some("NONE")
    {
        h.disable = true;
    }
    Ok(h)
}

pub(crate) fn hoist_extension(
    n: &Node,
    path: &str,
    warnings: &mut Vec<Warning>,
) -> Result<HoistExtension> {
    let mut x = HoistExtension::default();
    for (k, v) in map(n, path)? {
        let p = sub(path, k);
        match k.as_str() {
            "startupProbe" => x.startup_probe = Some(probe(v, &p, true, warnings)?),
            "livenessProbe" => x.liveness_probe = Some(probe(v, &p, true, warnings)?),
            "readinessProbe" => x.readiness_probe = Some(probe(v, &p, false, warnings)?),
            _ => unknown(warnings, k, v, path),
        }
    }
    Ok(x)
}

/// `single_success`: startup and liveness probes, whose successThreshold must be 1
/// (Kubernetes refuses others).
fn probe(n: &Node, path: &str, single_success: bool, warnings: &mut Vec<Warning>) -> Result<Probe> {
    let mut action = None;
    let mut probe = Probe {
        action: ProbeAction::Exec {
            command: Vec::new(),
        },
        initial_delay_seconds: 0,
        period_seconds: 10,
        timeout_seconds: 1,
        success_threshold: 1,
        failure_threshold: 3,
    };
    let mut set_action = |a: ProbeAction, v: &Node, p: &str| {
        if action.is_some() {
            return Err(invalid(
                &v.pos,
                p,
                "a probe has exactly one of exec, httpGet and tcpSocket",
            ));
        }
        action = Some(a);
        Ok(())
    };
    for (k, v) in map(n, path)? {
        let p = sub(path, k);
        let seconds = |v: &Node| -> Result<u32> {
            let s = uint(v, &p)?;
            u32::try_from(s).map_err(|_| invalid(&v.pos, &p, "too large"))
        };
        match k.as_str() {
            "exec" => {
                let mut cmd = None;
                for (ek, ev) in map(v, &p)? {
                    match ek.as_str() {
                        "command" => cmd = command(ev, &sub(&p, ek))?,
                        _ => unknown(warnings, ek, ev, &p),
                    }
                }
                let command = cmd
                    .filter(|c| !c.is_empty())
                    .ok_or_else(|| invalid(&v.pos, &p, "exec needs a `command`"))?;
                set_action(ProbeAction::Exec { command }, v, &p)?;
            }
            "httpGet" => {
                let (mut path_, mut port, mut host, mut scheme, mut headers) =
                    ("/".to_string(), None, None, "HTTP".to_string(), Vec::new());
                for (hk, hv) in map(v, &p)? {
                    let hp = sub(&p, hk);
                    match hk.as_str() {
                        "path" => path_ = string(hv, &hp)?,
                        "port" => port = Some(probe_port(hv, &hp)?),
                        "host" => host = local_host(hv, &hp)?,
                        "scheme" => {
                            scheme = string(hv, &hp)?.to_ascii_uppercase();
                            if scheme != "HTTP" {
                                return Err(invalid(
                                    &hv.pos,
                                    &hp,
                                    "hoist's probes speak HTTP only",
                                ));
                            }
                        }
                        "httpHeaders" => {
                            headers = http_headers(hv, &hp)?;
                            if !headers.is_empty() {
                                return Err(invalid(
                                    &hv.pos,
                                    &hp,
                                    "hoist's probes send no extra headers; remove httpHeaders",
                                ));
                            }
                        }
                        _ => unknown(warnings, hk, hv, &p),
                    }
                }
                let port = port.ok_or_else(|| invalid(&v.pos, &p, "httpGet needs a `port`"))?;
                set_action(
                    ProbeAction::HttpGet {
                        path: path_,
                        port,
                        host,
                        scheme,
                        headers,
                    },
                    v,
                    &p,
                )?;
            }
            "tcpSocket" => {
                let (mut port, mut host) = (None, None);
                for (tk, tv) in map(v, &p)? {
                    let tp = sub(&p, tk);
                    match tk.as_str() {
                        "port" => port = Some(probe_port(tv, &tp)?),
                        "host" => host = local_host(tv, &tp)?,
                        _ => unknown(warnings, tk, tv, &p),
                    }
                }
                let port = port.ok_or_else(|| invalid(&v.pos, &p, "tcpSocket needs a `port`"))?;
                set_action(ProbeAction::TcpSocket { port, host }, v, &p)?;
            }
            "initialDelaySeconds" => probe.initial_delay_seconds = seconds(v)?,
            "periodSeconds" => probe.period_seconds = seconds(v)?.max(1),
            "timeoutSeconds" => probe.timeout_seconds = seconds(v)?.max(1),
            "successThreshold" => {
                probe.success_threshold = seconds(v)?.max(1);
                if single_success && probe.success_threshold != 1 {
                    return Err(invalid(
                        &v.pos,
                        &p,
                        "must be 1 for startup and liveness probes (as in Kubernetes)",
                    ));
                }
            }
            "failureThreshold" => probe.failure_threshold = seconds(v)?.max(1),
            _ => unknown(warnings, k, v, path),
        }
    }
    probe.action = action.ok_or_else(|| {
        invalid(
            &n.pos,
            path,
            "a probe needs one of exec, httpGet or tcpSocket",
        )
    })?;
    Ok(probe)
}

/// A probe's `host`: hoist probes 127.0.0.1 inside the container's network namespace (what
/// Kubernetes' default, the pod's IP, reaches too), so only a local name is accepted.
fn local_host(n: &Node, path: &str) -> Result<Option<String>> {
    let host = opt_string(n, path)?;
    match host.as_deref() {
        None | Some("" | "localhost" | "127.0.0.1" | "::1") => Ok(host),
        Some(other) => Err(invalid(
            &n.pos,
            path,
            format!(
                "hoist probes check 127.0.0.1 inside the container, not {other:?}; remove host"
            ),
        )),
    }
}

fn probe_port(n: &Node, path: &str) -> Result<u16> {
    let p = int(n, path).map_err(|_| {
        invalid(
            &n.pos,
            path,
            "a probe port is a number (compose has no named container ports)",
        )
    })?;
    u16::try_from(p)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| invalid(&n.pos, path, format!("invalid port {p}: ports are 1-65535")))
}

fn http_headers(n: &Node, path: &str) -> Result<Vec<(String, String)>> {
    let Value::Seq(items) = &n.value else {
        return Err(invalid(
            &n.pos,
            path,
            "httpHeaders is a list of {name, value}",
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let p = format!("{path}[{i}]");
            let get = |k: &str| {
                item.get(k)
                    .ok_or_else(|| invalid(&item.pos, &p, format!("a header needs `{k}`")))
                    .and_then(|v| string(v, &sub(&p, k)))
            };
            Ok((get("name")?, get("value")?))
        })
        .collect()
}
