//! The normalized [`Project`] as a tree in `docker compose config`'s shape: `name`,
//! `services`, `networks`, `volumes` at the top; a service's keys sorted; every short syntax
//! in its long form; defaults that compose prints are printed. Written as YAML by
//! [`crate::yaml::emit`] or as JSON by [`to_json`]. Values are already interpolated, so a
//! literal `$` is written `$$`, as compose writes it: the output is itself a compose file that
//! reads back to the same project.

use crate::model::*;
use crate::units::format_duration;
use crate::yaml::{Node, Pos, Value};
use std::collections::BTreeMap;

fn pos() -> Pos {
    Pos::new("<rendered>", 0)
}

fn s(text: impl Into<String>) -> Node {
    Node::str(text.into().replace('$', "$$"), pos())
}

fn plain(text: impl ToString) -> Node {
    Node::new(
        Value::Scalar {
            text: text.to_string(),
            plain: true,
        },
        pos(),
    )
}

fn null() -> Node {
    Node::new(Value::Null, pos())
}

fn list(items: &[String]) -> Node {
    Node::new(
        Value::Seq(items.iter().map(|i| s(i.clone())).collect()),
        pos(),
    )
}

fn map(entries: Vec<(&str, Node)>) -> Node {
    Node::map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        pos(),
    )
}

fn sorted(mut entries: Vec<(&str, Node)>) -> Node {
    entries.sort_by(|a, b| a.0.cmp(b.0));
    map(entries)
}

fn strings_map(m: &BTreeMap<String, String>) -> Node {
    Node::map(
        m.iter().map(|(k, v)| (k.clone(), s(v.clone()))).collect(),
        pos(),
    )
}

fn opt_strings_map(m: &BTreeMap<String, Option<String>>) -> Node {
    Node::map(
        m.iter()
            .map(|(k, v)| (k.clone(), v.clone().map(s).unwrap_or_else(null)))
            .collect(),
        pos(),
    )
}

pub fn project(p: &Project) -> Node {
    let mut top = vec![("name", s(p.name.clone()))];
    let services = p
        .services
        .iter()
        .map(|(n, svc)| (n.clone(), service(svc)))
        .collect();
    top.push(("services", Node::map(services, pos())));
    if !p.networks.is_empty() {
        let nets = p
            .networks
            .iter()
            .map(|(n, net)| (n.clone(), network(net)))
            .collect();
        top.push(("networks", Node::map(nets, pos())));
    }
    if !p.volumes.is_empty() {
        let vols = p
            .volumes
            .iter()
            .map(|(n, v)| (n.clone(), volume(v)))
            .collect();
        top.push(("volumes", Node::map(vols, pos())));
    }
    map(top)
}

/// Just the service names, one a line (`config --services`).
pub fn service_names(p: &Project) -> String {
    p.services.keys().map(|k| format!("{k}\n")).collect()
}

/// One service in `config`'s shape (also what its config hash is computed over).
pub fn service(svc: &Service) -> Node {
    let mut e: Vec<(&str, Node)> = Vec::new();
    let opt = |e: &mut Vec<(&'static str, Node)>, k: &'static str, v: &Option<String>| {
        if let Some(v) = v {
            e.push((k, s(v.clone())));
        }
    };
    opt(&mut e, "image", &svc.image);
    opt(&mut e, "container_name", &svc.container_name);
    opt(&mut e, "restart", &svc.restart);
    opt(&mut e, "user", &svc.user);
    opt(&mut e, "working_dir", &svc.working_dir);
    opt(&mut e, "hostname", &svc.hostname);
    opt(&mut e, "stop_signal", &svc.stop_signal);
    opt(&mut e, "network_mode", &svc.network_mode);
    opt(&mut e, "platform", &svc.platform);
    opt(&mut e, "pull_policy", &svc.pull_policy);
    if let Some(b) = &svc.build {
        e.push(("build", build(b)));
    }
    if let Some(c) = &svc.command {
        e.push(("command", list(c)));
    }
    if let Some(c) = &svc.entrypoint {
        e.push(("entrypoint", list(c)));
    }
    if !svc.environment.is_empty() {
        e.push(("environment", opt_strings_map(&svc.environment)));
    }
    // env_file contents are already in `environment`, which is what compose prints.
    if !svc.ports.is_empty() {
        e.push((
            "ports",
            Node::new(Value::Seq(svc.ports.iter().map(port).collect()), pos()),
        ));
    }
    for (k, v) in [
        ("expose", &svc.expose),
        ("tmpfs", &svc.tmpfs),
        ("cap_add", &svc.cap_add),
        ("cap_drop", &svc.cap_drop),
        ("security_opt", &svc.security_opt),
        ("extra_hosts", &svc.extra_hosts),
        ("dns", &svc.dns),
        ("profiles", &svc.profiles),
    ] {
        if !v.is_empty() {
            e.push((k, list(v)));
        }
    }
    if !svc.volumes.is_empty() {
        e.push((
            "volumes",
            Node::new(Value::Seq(svc.volumes.iter().map(mount).collect()), pos()),
        ));
    }
    if !svc.networks.is_empty() {
        let nets = svc
            .networks
            .iter()
            .map(|(n, sn)| (n.clone(), service_network(sn)))
            .collect();
        e.push(("networks", Node::map(nets, pos())));
    }
    if !svc.depends_on.is_empty() {
        let deps = svc
            .depends_on
            .iter()
            .map(|(n, d)| {
                let v = map(vec![
                    ("condition", s(d.condition.as_str())),
                    ("required", plain(d.required)),
                    ("restart", plain(d.restart)),
                ]);
                (n.clone(), v)
            })
            .collect();
        e.push(("depends_on", Node::map(deps, pos())));
    }
    if let Some(h) = &svc.healthcheck {
        e.push(("healthcheck", healthcheck(h)));
    }
    if !svc.labels.is_empty() {
        e.push(("labels", strings_map(&svc.labels)));
    }
    if let Some(d) = svc.stop_grace_period {
        e.push(("stop_grace_period", s(format_duration(d))));
    }
    for (k, v) in [
        ("read_only", svc.read_only),
        ("privileged", svc.privileged),
        ("tty", svc.tty),
        ("stdin_open", svc.stdin_open),
    ] {
        if v {
            e.push((k, plain(true)));
        }
    }
    if let Some(i) = svc.init {
        e.push(("init", plain(i)));
    }
    if let Some(m) = svc.mem_limit {
        e.push(("mem_limit", plain(m)));
    }
    if let Some(c) = svc.cpus {
        e.push(("cpus", plain(c)));
    }
    if let Some(p) = svc.pids_limit {
        e.push(("pids_limit", plain(p)));
    }
    if let Some(m) = svc.shm_size {
        e.push(("shm_size", plain(m)));
    }
    if !svc.ulimits.is_empty() {
        let limits = svc
            .ulimits
            .iter()
            // As compose-go writes them: one number when both limits are the same.
            .map(|(name, l)| {
                let limit = if l.soft == l.hard {
                    plain(l.soft)
                } else {
                    map(vec![("soft", plain(l.soft)), ("hard", plain(l.hard))])
                };
                (name.clone(), limit)
            })
            .collect();
        e.push(("ulimits", Node::map(limits, pos())));
    }
    if !svc.sysctls.is_empty() {
        e.push(("sysctls", strings_map(&svc.sysctls)));
    }
    if let Some(o) = svc.oom_score_adj {
        e.push(("oom_score_adj", plain(o)));
    }
    if !svc.group_add.is_empty() {
        e.push(("group_add", list(&svc.group_add)));
    }
    if let Some(c) = &svc.cpuset {
        e.push(("cpuset", s(c.clone())));
    }
    if let Some(d) = &svc.deploy {
        e.push(("deploy", deploy(d)));
    }
    if let Some(x) = &svc.hoist {
        e.push(("x-hoist", hoist(x)));
    }
    sorted(e)
}

fn build(b: &Build) -> Node {
    let mut e = vec![("context", s(b.context.clone()))];
    if let Some(d) = &b.dockerfile {
        e.push(("dockerfile", s(d.clone())));
    }
    if !b.args.is_empty() {
        e.push(("args", opt_strings_map(&b.args)));
    }
    if let Some(t) = &b.target {
        e.push(("target", s(t.clone())));
    }
    if !b.labels.is_empty() {
        e.push(("labels", strings_map(&b.labels)));
    }
    if !b.cache_from.is_empty() {
        e.push(("cache_from", list(&b.cache_from)));
    }
    if let Some(n) = &b.network {
        e.push(("network", s(n.clone())));
    }
    map(e)
}

fn port(p: &Port) -> Node {
    let mut e = vec![("mode", s(p.mode.clone())), ("target", plain(p.target))];
    if let Some(pb) = &p.published {
        e.push(("published", s(pb.clone())));
    }
    if let Some(ip) = &p.host_ip {
        e.push(("host_ip", s(ip.clone())));
    }
    e.push(("protocol", s(p.protocol.clone())));
    if let Some(n) = &p.name {
        e.push(("name", s(n.clone())));
    }
    map(e)
}

fn mount(m: &Mount) -> Node {
    let mut e = vec![("type", s(m.kind.as_str()))];
    if let Some(src) = &m.source {
        e.push(("source", s(src.clone())));
    }
    e.push(("target", s(m.target.clone())));
    if m.read_only {
        e.push(("read_only", plain(true)));
    }
    if let Some(b) = &m.bind {
        let mut be = vec![("create_host_path", plain(b.create_host_path))];
        if let Some(p) = &b.propagation {
            be.push(("propagation", s(p.clone())));
        }
        if let Some(z) = &b.selinux {
            be.push(("selinux", s(z.clone())));
        }
        e.push(("bind", map(be)));
    }
    if let Some(v) = &m.volume {
        let mut ve = vec![("nocopy", plain(v.nocopy))];
        if let Some(sp) = &v.subpath {
            ve.push(("subpath", s(sp.clone())));
        }
        e.push(("volume", map(ve)));
    }
    if let Some(t) = &m.tmpfs {
        let mut te = Vec::new();
        if let Some(size) = t.size {
            te.push(("size", plain(size)));
        }
        if let Some(mode) = t.mode {
            te.push(("mode", plain(format!("{mode:o}"))));
        }
        e.push(("tmpfs", map(te)));
    }
    map(e)
}

fn service_network(sn: &ServiceNetwork) -> Node {
    if *sn == ServiceNetwork::default() {
        return null();
    }
    let mut e = Vec::new();
    if !sn.aliases.is_empty() {
        e.push(("aliases", list(&sn.aliases)));
    }
    if let Some(a) = &sn.ipv4_address {
        e.push(("ipv4_address", s(a.clone())));
    }
    if let Some(a) = &sn.ipv6_address {
        e.push(("ipv6_address", s(a.clone())));
    }
    if let Some(p) = sn.priority {
        e.push(("priority", plain(p)));
    }
    map(e)
}

fn healthcheck(h: &Healthcheck) -> Node {
    let mut e = Vec::new();
    if let Some(t) = &h.test {
        e.push(("test", list(t)));
    }
    for (k, d) in [
        ("interval", h.interval),
        ("timeout", h.timeout),
        ("start_period", h.start_period),
        ("start_interval", h.start_interval),
    ] {
        if let Some(d) = d {
            e.push((k, s(format_duration(d))));
        }
    }
    if let Some(r) = h.retries {
        e.push(("retries", plain(r)));
    }
    if h.disable {
        e.push(("disable", plain(true)));
    }
    map(e)
}

fn resources(r: &Resources) -> Node {
    let mut e = Vec::new();
    if let Some(c) = r.cpus {
        e.push(("cpus", plain(c)));
    }
    if let Some(m) = r.memory {
        e.push(("memory", plain(m)));
    }
    if let Some(p) = r.pids {
        e.push(("pids", plain(p)));
    }
    map(e)
}

fn deploy(d: &Deploy) -> Node {
    let mut e = Vec::new();
    if let Some(m) = &d.mode {
        e.push(("mode", s(m.clone())));
    }
    if let Some(r) = d.replicas {
        e.push(("replicas", plain(r)));
    }
    if !d.labels.is_empty() {
        e.push(("labels", strings_map(&d.labels)));
    }
    let mut res = Vec::new();
    if let Some(l) = &d.limits {
        res.push(("limits", resources(l)));
    }
    if let Some(r) = &d.reservations {
        res.push(("reservations", resources(r)));
    }
    if !res.is_empty() {
        e.push(("resources", map(res)));
    }
    map(e)
}

fn hoist(x: &HoistExtension) -> Node {
    let mut e = Vec::new();
    for (k, p) in [
        ("startupProbe", &x.startup_probe),
        ("livenessProbe", &x.liveness_probe),
        ("readinessProbe", &x.readiness_probe),
    ] {
        if let Some(p) = p {
            e.push((k, probe(p)));
        }
    }
    map(e)
}

fn probe(p: &Probe) -> Node {
    let mut e = vec![match &p.action {
        ProbeAction::Exec { command } => ("exec", map(vec![("command", list(command))])),
        ProbeAction::HttpGet {
            path,
            port,
            host,
            scheme,
            headers,
        } => {
            let mut h = vec![
                ("path", s(path.clone())),
                ("port", plain(port)),
                ("scheme", s(scheme.clone())),
            ];
            if let Some(host) = host {
                h.push(("host", s(host.clone())));
            }
            if !headers.is_empty() {
                let hs = headers
                    .iter()
                    .map(|(n, v)| map(vec![("name", s(n.clone())), ("value", s(v.clone()))]))
                    .collect();
                h.push(("httpHeaders", Node::new(Value::Seq(hs), pos())));
            }
            ("httpGet", map(h))
        }
        ProbeAction::TcpSocket { port, host } => {
            let mut t = vec![("port", plain(port))];
            if let Some(host) = host {
                t.push(("host", s(host.clone())));
            }
            ("tcpSocket", map(t))
        }
    }];
    e.push(("initialDelaySeconds", plain(p.initial_delay_seconds)));
    e.push(("periodSeconds", plain(p.period_seconds)));
    e.push(("timeoutSeconds", plain(p.timeout_seconds)));
    e.push(("successThreshold", plain(p.success_threshold)));
    e.push(("failureThreshold", plain(p.failure_threshold)));
    map(e)
}

fn network(n: &Network) -> Node {
    let mut e = vec![("name", s(n.name.clone()))];
    if let Some(d) = &n.driver {
        e.push(("driver", s(d.clone())));
    }
    if !n.driver_opts.is_empty() {
        e.push(("driver_opts", strings_map(&n.driver_opts)));
    }
    for (k, v) in [
        ("external", n.external),
        ("internal", n.internal),
        ("enable_ipv6", n.enable_ipv6),
        ("attachable", n.attachable),
    ] {
        if v {
            e.push((k, plain(true)));
        }
    }
    if !n.labels.is_empty() {
        e.push(("labels", strings_map(&n.labels)));
    }
    if let Some(ipam) = &n.ipam {
        let mut ie = Vec::new();
        if let Some(d) = &ipam.driver {
            ie.push(("driver", s(d.clone())));
        }
        if !ipam.config.is_empty() {
            let pools = ipam
                .config
                .iter()
                .map(|p| {
                    let mut pe = Vec::new();
                    for (k, v) in [
                        ("subnet", &p.subnet),
                        ("gateway", &p.gateway),
                        ("ip_range", &p.ip_range),
                    ] {
                        if let Some(v) = v {
                            pe.push((k, s(v.clone())));
                        }
                    }
                    map(pe)
                })
                .collect();
            ie.push(("config", Node::new(Value::Seq(pools), pos())));
        }
        e.push(("ipam", map(ie)));
    }
    map(e)
}

fn volume(v: &Volume) -> Node {
    let mut e = vec![("name", s(v.name.clone()))];
    if let Some(d) = &v.driver {
        e.push(("driver", s(d.clone())));
    }
    if !v.driver_opts.is_empty() {
        e.push(("driver_opts", strings_map(&v.driver_opts)));
    }
    if v.external {
        e.push(("external", plain(true)));
    }
    if !v.labels.is_empty() {
        e.push(("labels", strings_map(&v.labels)));
    }
    map(e)
}

/// A rendered tree as JSON (`config --format json`): plain scalars that are numbers or
/// booleans stay numbers and booleans, everything else is a string.
pub fn to_json(n: &Node) -> String {
    let mut out = String::new();
    json(n, &mut out);
    out
}

fn json(n: &Node, out: &mut String) {
    match &n.value {
        Value::Null => out.push_str("null"),
        Value::Scalar { text, plain: true }
            if text == "true" || text == "false" || text.parse::<f64>().is_ok() =>
        {
            out.push_str(text)
        }
        Value::Scalar { text, .. } => json_string(text, out),
        Value::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json(item, out);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(k, out);
                out.push(':');
                json(v, out);
            }
            out.push('}');
        }
    }
}

fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}
