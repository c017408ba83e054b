//! `run`/`create` flags that only amend the container's OCI spec, which
//! the fork-safe core already carries out: `--ulimit` (process.rlimits,
//! set by the child before execve), `--group-add` (process.user's
//! additionalGids), `--shm-size` (the /dev/shm tmpfs's size) and `--device`
//! (linux.devices, made as nodes in the container's /dev, plus an allow rule
//! after the devices cgroup's deny-all), and `--memory-swap`,
//! `--memory-reservation`, `--cpu-shares` (linux.resources, written by
//! cgroup/ at each start), `--cpuset-cpus`/`--cpuset-mems` (a cpuset
//! cgroup, cgroup/cpuset.rs), `--sysctl` (linux.sysctl, core/sysctl.rs),
//! `--oom-score-adj` (process.oomScoreAdj), and `--init` (an annotation: the core keeps
//! PID 1 as an init, core/init.rs). Kept in the record so every spec
//! made from it (create, the rebuild after a reboot) has them.

use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::error::{Result, RuntimeError};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecExtras {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ulimits: Vec<Ulimit>,
    /// `--group-add` as GIDs, resolved at create (`resolve_groups`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_add: Vec<u32>,
    /// `--group-add` as given (names or numbers), for inspect's GroupAdd.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_add_given: Vec<String>,
    /// Bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<Device>,
    /// `--memory-swap` (memory + swap, -1 unlimited), bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_swap: Option<i64>,
    /// `--memory-reservation`, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i64>,
    /// `--cpu-shares`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<u64>,
    /// `--init`: PID 1 is hoist's own init (core/init.rs), asked for with
    /// a spec annotation the core reads.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub init: bool,
    /// `--cpuset-cpus`, `--cpuset-mems` (kernel lists such as "0-1"):
    /// linux.resources.cpu.cpus/mems, a cpuset cgroup the container joins
    /// (cgroup/cpuset.rs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpuset_cpus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpuset_mems: Option<String>,
    /// `--oom-score-adj` (-1000..=1000): process.oomScoreAdj, written by
    /// the core before the process starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i32>,
    /// `--stop-timeout`: seconds `stop`/`restart` wait before SIGKILL when
    /// not given `-t` (docker's default 10). Not a spec amendment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<u64>,
    /// `--sysctl KEY=VALUE`: kernel parameters of the container's own
    /// namespaces (linux.sysctl, written by core/sysctl.rs).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
}

/// docker's `--ulimit NAME=SOFT[:HARD]` (`nofile=1024:2048`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// `--device HOST[:CONTAINER][:PERMS]`, resolved at create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub host: String,
    pub path: String,
    /// "c" or "b".
    pub kind: String,
    pub major: i64,
    pub minor: i64,
    pub mode: u32,
    /// Any of r, w, m.
    pub access: String,
}

const ULIMITS: [&str; 16] = [
    "as",
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

fn invalid(msg: String) -> RuntimeError {
    RuntimeError::Invalid(msg)
}

impl SpecExtras {
    pub fn is_empty(&self) -> bool {
        self == &SpecExtras::default()
    }

    /// `--ulimit` values (-1 or "unlimited" for no limit).
    pub fn parse_ulimit(spec: &str) -> Result<Ulimit> {
        let bad = || {
            invalid(format!(
                "invalid --ulimit {spec:?}: use NAME=SOFT[:HARD] with NAME one of {}",
                ULIMITS.join(", ")
            ))
        };
        let (name, values) = spec.split_once('=').ok_or_else(bad)?;
        if !ULIMITS.contains(&name) {
            return Err(bad());
        }
        let num = |v: &str| match v {
            "unlimited" | "-1" => Ok(-1),
            v => v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(bad),
        };
        let (soft, hard) = match values.split_once(':') {
            Some((s, h)) => (num(s)?, num(h)?),
            None => (num(values)?, num(values)?),
        };
        if hard != -1 && (soft == -1 || soft > hard) {
            return Err(invalid(format!(
                "invalid --ulimit {spec:?}: the soft limit must not exceed the hard one"
            )));
        }
        Ok(Ulimit {
            name: name.into(),
            soft,
            hard,
        })
    }

    /// `--cpuset-cpus` (`mems` false) or `--cpuset-mems`, checked against
    /// the machine's CPUs and memory nodes as docker does.
    pub fn parse_cpuset(value: &str, mems: bool) -> Result<String> {
        let (cpus, nodes) = crate::cgroup::cpuset::available();
        crate::cgroup::cpuset::check(value, mems, if mems { &nodes } else { &cpus })?;
        Ok(value.trim().to_string())
    }

    /// `--oom-score-adj`, in the kernel's range (docker's message).
    pub fn check_oom_score_adj(adj: i32) -> Result<i32> {
        if !(-1000..=1000).contains(&adj) {
            return Err(invalid(format!(
                "Invalid value {adj}, range for oom score adj is [-1000, 1000]"
            )));
        }
        Ok(adj)
    }

    /// docker's `--sysctl KEY=VALUE` check: only the parameters a
    /// container's own IPC or network namespace has (`net.*` is checked
    /// against the network mode by `check_sysctl_network`).
    pub fn parse_sysctl(spec: &str) -> Result<(String, String)> {
        let refuse = || {
            invalid(format!(
                "invalid argument {spec:?} for \"--sysctl\" flag: sysctl '{spec}' is not whitelisted \
                 (only the namespaced {}, fs.mqueue.* and net.* can be set)",
                crate::core::sysctl::IPC_KERNEL.join(", ")
            ))
        };
        let (key, value) = spec.split_once('=').ok_or_else(refuse)?;
        if !(crate::core::sysctl::IPC_KERNEL.contains(&key)
            || key.starts_with("fs.mqueue.")
            || key.starts_with("net."))
        {
            return Err(refuse());
        }
        crate::core::sysctl::key_path(key).map_err(invalid)?;
        Ok((key.to_string(), value.to_string()))
    }

    /// `net.*` parameters need a network namespace of the container's own:
    /// refused with the host's network, as docker does.
    pub fn check_sysctl_network(&self, host_network: bool) -> Result<()> {
        match self.sysctls.keys().find(|k| k.starts_with("net.")) {
            Some(k) if host_network => Err(invalid(format!(
                "sysctl '{k}' not allowed in host network namespace"
            ))),
            _ => Ok(()),
        }
    }

    /// `--group-add NAME|GID`, as given (names are resolved at create,
    /// `resolve_groups`).
    pub fn parse_group(spec: &str) -> Result<String> {
        if spec.is_empty() || spec.contains([':', '\n', '\0']) {
            return Err(invalid(format!(
                "--group-add {spec:?}: give a group name or a numeric GID"
            )));
        }
        Ok(spec.to_string())
    }

    /// These extras with `--group-add`'s names resolved to GIDs in the
    /// container's /etc/group (`read` reads a file of its rootfs, as for
    /// `--user`); an unknown name is docker's "Unable to find group".
    pub fn resolve_groups(&self, read: impl Fn(&str) -> Option<String>) -> Result<SpecExtras> {
        let mut out = self.clone();
        if self.group_add_given.is_empty() {
            return Ok(out);
        }
        let mut gids = Vec::new();
        for g in &self.group_add_given {
            let gid = crate::user::resolve_group(g, &read)?;
            if !gids.contains(&gid) {
                gids.push(gid);
            }
        }
        out.group_add = gids;
        Ok(out)
    }

    /// `--device HOST[:CONTAINER][:PERMS]`: the host node's type and numbers.
    pub fn parse_device(spec: &str) -> Result<Device> {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let parts: Vec<&str> = spec.split(':').collect();
        let is_perms = |p: &str| !p.is_empty() && p.chars().all(|c| "rwm".contains(c));
        let (host, path, access) = match parts.as_slice() {
            [h] => (*h, *h, "rwm"),
            [h, p] if is_perms(p) => (*h, *h, *p),
            [h, c] => (*h, *c, "rwm"),
            [h, c, p] if is_perms(p) => (*h, *c, *p),
            _ => {
                return Err(invalid(format!(
                    "invalid --device {spec:?}: use HOST[:CONTAINER][:PERMS] (PERMS of r, w, m)"
                )))
            }
        };
        if !host.starts_with('/') || !path.starts_with('/') {
            return Err(invalid(format!(
                "invalid --device {spec:?}: device paths must be absolute"
            )));
        }
        let meta = std::fs::metadata(host).map_err(|e| invalid(format!("--device {host}: {e}")))?;
        let kind = if meta.file_type().is_char_device() {
            "c"
        } else if meta.file_type().is_block_device() {
            "b"
        } else {
            return Err(invalid(format!(
                "--device {host}: not a device node (directories of devices are not taken)"
            )));
        };
        let rdev = meta.rdev();
        Ok(Device {
            host: host.into(),
            path: path.into(),
            kind: kind.into(),
            major: libc::major(rdev) as i64,
            minor: libc::minor(rdev) as i64,
            mode: meta.mode() & 0o7777,
            access: access.into(),
        })
    }

    /// The spec with these amendments.
    pub fn apply(&self, spec: Spec) -> Result<Spec> {
        if self.is_empty() {
            return Ok(spec);
        }
        let mut v = serde_json::to_value(&spec).expect("a spec serializes");
        for u in &self.ulimits {
            let typ = format!("RLIMIT_{}", u.name.to_ascii_uppercase());
            let limit = |n: i64| if n < 0 { u64::MAX } else { n as u64 };
            let rl = &mut v["process"]["rlimits"];
            if !rl.is_array() {
                *rl = json!([]);
            }
            let list = rl.as_array_mut().expect("an array");
            list.retain(|r| r["type"] != typ.as_str());
            list.push(json!({"type": typ, "soft": limit(u.soft), "hard": limit(u.hard)}));
        }
        if !self.group_add.is_empty() {
            let gids = &mut v["process"]["user"]["additionalGids"];
            let mut all: Vec<u32> = serde_json::from_value(gids.clone()).unwrap_or_default();
            all.extend(
                self.group_add
                    .iter()
                    .filter(|g| !all.contains(g))
                    .collect::<Vec<_>>(),
            );
            *gids = json!(all);
        }
        if let Some(size) = self.shm_size {
            for m in v["mounts"].as_array_mut().into_iter().flatten() {
                if m["destination"] == "/dev/shm" {
                    if let Some(opts) = m["options"].as_array_mut() {
                        opts.retain(|o| !o.as_str().is_some_and(|o| o.starts_with("size=")));
                        opts.push(json!(format!("size={size}")));
                    }
                }
            }
        }
        for d in &self.devices {
            let list = &mut v["linux"]["devices"];
            if !list.is_array() {
                *list = json!([]);
            }
            list.as_array_mut().expect("an array").push(json!({
                "path": d.path, "type": d.kind, "major": d.major, "minor": d.minor,
                "fileMode": d.mode, "uid": 0, "gid": 0,
            }));
            let rules = &mut v["linux"]["resources"]["devices"];
            if !rules.is_array() {
                *rules = json!([]);
            }
            rules.as_array_mut().expect("an array").push(json!({
                "allow": true, "type": d.kind, "major": d.major, "minor": d.minor,
                "access": d.access,
            }));
        }
        let res = &mut v["linux"]["resources"];
        if let Some(s) = self.memory_swap {
            res["memory"]["swap"] = json!(s);
        }
        if let Some(r) = self.memory_reservation {
            res["memory"]["reservation"] = json!(r);
        }
        if let Some(s) = self.cpu_shares {
            res["cpu"]["shares"] = json!(s);
        }
        if let Some(c) = &self.cpuset_cpus {
            res["cpu"]["cpus"] = json!(c);
        }
        if let Some(m) = &self.cpuset_mems {
            res["cpu"]["mems"] = json!(m);
        }
        if !self.sysctls.is_empty() {
            let map = &mut v["linux"]["sysctl"];
            if !map.is_object() {
                *map = json!({});
            }
            for (k, val) in &self.sysctls {
                map[k.as_str()] = json!(val);
            }
        }
        if let Some(adj) = self.oom_score_adj {
            v["process"]["oomScoreAdj"] = json!(adj);
        }
        if self.init {
            v["annotations"][crate::core::build::INIT_ANNOTATION] = json!("true");
        }
        serde_json::from_value::<Spec>(v)
            .map_err(|e| invalid(format!("amending the container's spec: {e}")))
    }

    /// docker's inspect fields: `HostConfig.Ulimits`, `GroupAdd`, `ShmSize`,
    /// `Devices`.
    pub fn inspect(&self) -> Value {
        let mut v = json!({
            "Ulimits": self.ulimits.iter().map(|u| json!({"Name": u.name, "Soft": u.soft, "Hard": u.hard})).collect::<Vec<_>>(),
            "GroupAdd": if !self.group_add_given.is_empty() {
                Some(self.group_add_given.clone())
            } else {
                (!self.group_add.is_empty()).then(|| self.group_add.iter().map(|g| g.to_string()).collect::<Vec<_>>())
            },
            "ShmSize": self.shm_size.unwrap_or(64 << 20),
            "MemorySwap": self.memory_swap.unwrap_or(0),
            "MemoryReservation": self.memory_reservation.unwrap_or(0),
            "CpuShares": self.cpu_shares.unwrap_or(0),
            "CpusetCpus": self.cpuset_cpus.clone().unwrap_or_default(),
            "CpusetMems": self.cpuset_mems.clone().unwrap_or_default(),
            "OomScoreAdj": self.oom_score_adj.unwrap_or(0),
            "Init": self.init.then_some(true),
            "Devices": self.devices.iter().map(|d| json!({"PathOnHost": d.host, "PathInContainer": d.path, "CgroupPermissions": d.access})).collect::<Vec<_>>(),
        });
        // docker leaves Sysctls out when there are none (omitempty).
        if !self.sysctls.is_empty() {
            v["Sysctls"] = json!(self.sysctls);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulimits_as_docker_writes_them() {
        let u = SpecExtras::parse_ulimit("nofile=1024:2048").unwrap();
        assert_eq!((u.soft, u.hard), (1024, 2048));
        let u = SpecExtras::parse_ulimit("core=-1").unwrap();
        assert_eq!((u.soft, u.hard), (-1, -1));
        assert!(SpecExtras::parse_ulimit("nofile=2048:1024").is_err());
        assert!(SpecExtras::parse_ulimit("files=1").is_err());
        assert!(SpecExtras::parse_ulimit("nofile").is_err());
    }

    #[test]
    fn init_is_an_annotation_the_core_reads_and_inspect_shows() {
        let on = SpecExtras {
            init: true,
            ..Default::default()
        };
        let spec = on.apply(Spec::default()).unwrap();
        let notes = spec.annotations().clone().unwrap_or_default();
        assert_eq!(
            notes
                .get(crate::core::build::INIT_ANNOTATION)
                .map(String::as_str),
            Some("true")
        );
        assert_eq!(on.inspect()["Init"], true);
        assert!(SpecExtras::default().inspect()["Init"].is_null());
    }

    #[test]
    fn sysctls_as_docker_takes_them() {
        let (k, v) = SpecExtras::parse_sysctl("kernel.shmmax=1073741824").unwrap();
        assert_eq!((k.as_str(), v.as_str()), ("kernel.shmmax", "1073741824"));
        assert!(SpecExtras::parse_sysctl("net.ipv4.ip_forward=1").is_ok());
        assert!(SpecExtras::parse_sysctl("fs.mqueue.msg_max=20").is_ok());
        let e = SpecExtras::parse_sysctl("kernel.panic=1").unwrap_err();
        assert!(e.to_string().contains("not whitelisted"), "{e}");
        assert!(SpecExtras::parse_sysctl("vm.swappiness=1").is_err());
        assert!(SpecExtras::parse_sysctl("net.ipv4").is_err());
        assert!(SpecExtras::parse_sysctl("net.ipv4/../x=1").is_err());
        assert!(SpecExtras::parse_sysctl("net..x=1").is_err());
        let x = SpecExtras {
            sysctls: BTreeMap::from([("net.ipv4.ip_forward".into(), "1".into())]),
            ..Default::default()
        };
        assert!(x.check_sysctl_network(false).is_ok());
        let e = x.check_sysctl_network(true).unwrap_err().to_string();
        assert!(e.contains("not allowed in host network namespace"), "{e}");
        let spec = x.apply(Spec::default()).unwrap();
        let linux = spec.linux().as_ref().unwrap();
        assert_eq!(linux.sysctl().as_ref().unwrap()["net.ipv4.ip_forward"], "1");
        assert_eq!(x.inspect()["Sysctls"]["net.ipv4.ip_forward"], "1");
        assert!(SpecExtras::default().inspect().get("Sysctls").is_none());
    }

    #[test]
    fn group_names_resolve_in_the_containers_group_file() {
        let x = SpecExtras {
            group_add_given: vec!["staff".into(), "1234".into(), "50".into()],
            ..Default::default()
        };
        let read = |p: &str| (p == "/etc/group").then(|| "staff:x:50:user\n".to_string());
        let r = x.resolve_groups(read).unwrap();
        assert_eq!(r.group_add, [50, 1234]);
        assert_eq!(r.inspect()["GroupAdd"], json!(["staff", "1234", "50"]));
        let e = SpecExtras {
            group_add_given: vec!["nosuch".into()],
            ..Default::default()
        }
        .resolve_groups(read)
        .unwrap_err();
        assert!(e.to_string().contains("Unable to find group nosuch"), "{e}");
        assert!(SpecExtras::parse_group("").is_err());
    }

    #[test]
    fn devices_name_a_host_node() {
        let d = SpecExtras::parse_device("/dev/null:/dev/mynull:rw").unwrap();
        assert_eq!((d.kind.as_str(), d.major, d.minor), ("c", 1, 3));
        assert_eq!((d.path.as_str(), d.access.as_str()), ("/dev/mynull", "rw"));
        assert_eq!(
            SpecExtras::parse_device("/dev/zero:r").unwrap().path,
            "/dev/zero"
        );
        assert!(SpecExtras::parse_device("/tmp").is_err());
        assert!(SpecExtras::parse_device("dev/null").is_err());
    }
}
