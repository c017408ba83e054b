//! Builds a container's OCI runtime spec from resolved settings (image config
//! merged with flags): docker's defaults for mounts, masked and read-only
//! paths, capabilities, namespaces and the devices cgroup. The spec is written
//! to the container's directory as config.json, so `crun run --bundle` can run
//! the very same bundle (a cross-check in the tests).

use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::PathBuf;

use crate::error::{Result, RuntimeError};
use crate::security::SecurityOptions;

/// docker's network modes. `Bridge`: own namespace attached to networks
/// (the default `bridge` one or user networks, listed in the container's
/// record); `Private`: own namespace, loopback only, published ports proxied
/// (hoist's fast mode, the library's default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    #[default]
    Private,
    None,
    Host,
    Bridge,
    /// Another container's network namespace (`container:NAME`; the
    /// container is named in the record).
    Container,
}

impl std::str::FromStr for NetworkMode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "private" => Ok(NetworkMode::Private),
            "bridge" | "default" => Ok(NetworkMode::Bridge),
            "none" => Ok(NetworkMode::None),
            "host" => Ok(NetworkMode::Host),
            _ => Err(format!(
                "unknown network mode {s:?} (use bridge, private, none, host or a network's name)"
            )),
        }
    }
}

/// A mount added by the user (-v, --tmpfs) or by hoist (/etc/hosts...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserMount {
    Bind {
        source: PathBuf,
        target: String,
        readonly: bool,
    },
    Tmpfs {
        target: String,
        options: Vec<String>,
    },
}

/// Everything the spec needs, already resolved.
#[derive(Debug, Clone, Default)]
pub struct SpecInput {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub hostname: String,
    pub network: NetworkMode,
    /// Rootfs path (relative to the bundle, or absolute).
    pub rootfs: PathBuf,
    pub readonly_rootfs: bool,
    pub mounts: Vec<UserMount>,
    pub memory: Option<i64>,
    pub cpus: Option<f64>,
    pub pids_limit: Option<i64>,
    pub terminal: bool,
    pub cgroups_path: String,
    /// Capabilities, seccomp, no_new_privs, `--privileged`.
    pub security: SecurityOptions,
}

/// docker's masked paths (moby oci/defaults.go).
pub const MASKED_PATHS: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// docker's read-only paths.
pub const READONLY_PATHS: [&str; 6] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
    "/proc/interrupts",
];

const CPU_PERIOD: u64 = 100_000;

/// Builds the spec.
pub fn build_spec(input: &SpecInput) -> Result<Spec> {
    let sec = &input.security;
    let caps = sec.capabilities();
    // A non-root user starts with no effective or permitted capabilities
    // (like docker since 20.10); the bounding set is the same.
    let user_caps: Vec<String> = if input.uid == 0 { caps.clone() } else { vec![] };
    // --privileged: /sys and the cgroup fs writable, nothing masked (docker).
    let ro = |o: &[&str]| -> Vec<String> {
        o.iter()
            .filter(|o| !(sec.privileged && **o == "ro"))
            .map(|o| o.to_string())
            .collect()
    };
    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
        json!({"type": "cgroup"}),
    ];
    if input.network != NetworkMode::Host {
        namespaces.push(json!({"type": "network"}));
    }
    if sec.userns.is_some() {
        namespaces.push(json!({"type": "user"}));
    }
    let mut mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc",
               "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
               "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs",
               "options": ro(&["nosuid", "noexec", "nodev", "ro"])}),
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
               "options": ro(&["ro", "nosuid", "noexec", "nodev"])}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
               "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
               "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
    ];
    for m in &input.mounts {
        mounts.push(match m {
            UserMount::Bind {
                source,
                target,
                readonly,
            } => {
                let mut options = vec!["rbind", "rprivate"];
                if *readonly {
                    options.push("ro");
                }
                json!({"destination": target, "type": "bind", "source": source, "options": options})
            }
            UserMount::Tmpfs { target, options } => {
                let mut o: Vec<String> = vec!["nosuid".into(), "nodev".into()];
                o.extend(options.iter().cloned());
                json!({"destination": target, "type": "tmpfs", "source": "tmpfs", "options": o})
            }
        });
    }
    let mut resources = json!({
        "devices": if sec.privileged { json!([{"allow": true, "access": "rwm"}]) } else { device_rules() },
    });
    if let Some(m) = input.memory {
        resources["memory"] = json!({"limit": m});
    }
    if let Some(cpus) = input.cpus {
        let quota = (cpus * CPU_PERIOD as f64).round() as i64;
        resources["cpu"] = json!({"quota": quota, "period": CPU_PERIOD});
    }
    if let Some(p) = input.pids_limit {
        resources["pids"] = json!({"limit": p});
    }
    let (masked, readonly): (&[&str], &[&str]) = if sec.privileged {
        (&[], &[])
    } else {
        (&MASKED_PATHS, &READONLY_PATHS)
    };
    let mut spec = json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": input.terminal,
            "user": {"uid": input.uid, "gid": input.gid, "additionalGids": input.additional_gids},
            "args": input.args,
            "env": input.env,
            "cwd": input.cwd,
            "capabilities": {
                "bounding": caps,
                "effective": user_caps,
                "permitted": user_caps,
                "inheritable": [],
                "ambient": [],
            },
            "noNewPrivileges": sec.no_new_privileges,
        },
        "root": {"path": input.rootfs, "readonly": input.readonly_rootfs},
        "hostname": input.hostname,
        "mounts": mounts,
        "linux": {
            "resources": resources,
            "cgroupsPath": input.cgroups_path,
            "namespaces": namespaces,
            "maskedPaths": masked,
            "readonlyPaths": readonly,
        },
    });
    if sec.privileged {
        spec["linux"]["devices"] = json!(crate::security::devices::host_devices());
    }
    if let Some(ns) = &sec.userns {
        let maps = |m: &[crate::security::userns::IdMap]| -> Value {
            m.iter()
                .map(|m| json!({"containerID": m.container, "hostID": m.host, "size": m.size}))
                .collect()
        };
        spec["linux"]["uidMappings"] = maps(&ns.uid_map);
        spec["linux"]["gidMappings"] = maps(&ns.gid_map);
    }
    let mut spec = spec_from_json(spec)?;
    // Set in the spec's own type: the ~400 names of the default profile
    // are not built as JSON values and converted again.
    if let Some(seccomp) = sec.seccomp_section(&caps)? {
        if let Some(linux) = spec.linux_mut() {
            linux.set_seccomp(Some(seccomp));
        }
    }
    Ok(spec)
}

fn spec_from_json(v: Value) -> Result<Spec> {
    serde_json::from_value(v).map_err(|e| RuntimeError::Invalid(format!("building the spec: {e}")))
}

/// docker's device cgroup: deny all, then mknod of character devices and the
/// standard nodes. Unlike docker, `b *:* m` is left out: nothing in a
/// container needs to create block device nodes.
fn device_rules() -> Value {
    let rule = |typ: &str, major: Option<i64>, minor: Option<i64>, access: &str| json!({"allow": true, "type": typ, "major": major, "minor": minor, "access": access});
    json!([
        {"allow": false, "access": "rwm"},
        rule("c", None, None, "m"),
        rule("c", Some(1), Some(3), "rwm"),
        rule("c", Some(1), Some(5), "rwm"),
        rule("c", Some(1), Some(7), "rwm"),
        rule("c", Some(1), Some(8), "rwm"),
        rule("c", Some(1), Some(9), "rwm"),
        rule("c", Some(5), Some(0), "rwm"),
        rule("c", Some(5), Some(1), "rwm"),
        rule("c", Some(5), Some(2), "rwm"),
        rule("c", Some(136), None, "rwm"),
        rule("c", Some(10), Some(200), "rwm"),
    ])
}

/// Writes `spec` as `<dir>/config.json`, atomically.
pub fn write_spec(spec: &Spec, dir: &std::path::Path) -> Result<()> {
    let data = serde_json::to_vec_pretty(spec)
        .map_err(|e| RuntimeError::Invalid(format!("serializing the spec: {e}")))?;
    crate::fsutil::write_atomic(&dir.join("config.json"), &data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::Limits;

    fn input() -> SpecInput {
        SpecInput {
            args: vec!["sh".into()],
            env: vec!["PATH=/bin".into()],
            cwd: "/".into(),
            hostname: "abc".into(),
            rootfs: "rootfs".into(),
            memory: Some(64 << 20),
            cpus: Some(0.5),
            pids_limit: Some(20),
            cgroups_path: "/hoist/abc".into(),
            ..Default::default()
        }
    }

    #[test]
    fn limits_and_devices_round_trip_through_the_spec() {
        let spec = build_spec(&input()).unwrap();
        let l = Limits::from_spec(spec.linux().as_ref().unwrap().resources().as_ref());
        assert_eq!(l.memory, Some(64 << 20));
        assert_eq!(l.cpu_quota, Some(50_000));
        assert_eq!(l.pids, Some(20));
        assert!(l.device_deny_all);
        assert!(l.device_allow.contains(&"c 1:3 rwm".to_string()));
        assert!(l.device_allow.contains(&"c *:* m".to_string()));
        assert!(!l.device_allow.iter().any(|r| r.starts_with('b')));
    }

    #[test]
    fn the_default_seccomp_profile_is_in_the_written_spec() {
        let spec = build_spec(&input()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        write_spec(&spec, dir.path()).unwrap();
        let read = Spec::load(dir.path().join("config.json")).unwrap();
        let seccomp = read.linux().as_ref().unwrap().seccomp().clone().unwrap();
        let names: usize = seccomp
            .syscalls()
            .iter()
            .flatten()
            .map(|s| s.names().len())
            .sum();
        assert!(names > 300, "{names} names");
        assert_eq!(
            &seccomp,
            spec.linux().as_ref().unwrap().seccomp().as_ref().unwrap()
        );
        let mut i = input();
        i.security.seccomp = crate::security::Seccomp::Unconfined;
        assert!(build_spec(&i)
            .unwrap()
            .linux()
            .as_ref()
            .unwrap()
            .seccomp()
            .is_none());
    }

    #[test]
    fn host_network_has_no_net_namespace_and_non_root_no_caps() {
        let mut i = input();
        i.network = NetworkMode::Host;
        i.uid = 1000;
        let spec = build_spec(&i).unwrap();
        let ns = spec.linux().as_ref().unwrap().namespaces().clone().unwrap();
        assert_eq!(ns.len(), 5);
        let caps = spec
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .clone()
            .unwrap();
        assert!(caps.effective().as_ref().unwrap().is_empty());
        assert_eq!(caps.bounding().as_ref().unwrap().len(), 14);
    }
}
