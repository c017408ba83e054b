//! Linux capabilities: names to numbers, docker's default set, and turning the
//! OCI spec's five named sets into bit masks the child can apply with capset.

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};

/// Capability names in kernel number order (CAP_CHOWN = 0 ...).
const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Docker's default capability set (moby `oci/caps/defaults.go`).
pub const DOCKER_DEFAULT: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// The kernel number of a capability name like "CAP_CHOWN".
pub fn number(name: &str) -> Option<u32> {
    NAMES.iter().position(|n| *n == name).map(|i| i as u32)
}

fn cap_name(cap: &Capability) -> String {
    serde_json::to_value(cap)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Every capability this kernel knows (numbers 0..=`last`), by name.
pub fn all_names(last: u32) -> Vec<String> {
    NAMES
        .iter()
        .take(last as usize + 1)
        .map(|n| n.to_string())
        .collect()
}

/// Bit mask of a named set; unknown names are ignored (newer than this table).
pub fn mask(set: &Option<Capabilities>) -> u64 {
    set.iter()
        .flatten()
        .filter_map(|c| number(&cap_name(c)))
        .fold(0u64, |m, n| m | (1u64 << n))
}

/// Parses docker's default names into oci-spec capabilities.
pub fn docker_default() -> Capabilities {
    DOCKER_DEFAULT
        .iter()
        .filter_map(|n| serde_json::from_value(serde_json::Value::String(n.to_string())).ok())
        .collect()
}

/// The five sets as masks, in the order the child applies them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapMasks {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

impl CapMasks {
    pub fn from_spec(caps: Option<&LinuxCapabilities>) -> CapMasks {
        match caps {
            None => CapMasks::default(),
            Some(c) => CapMasks {
                bounding: mask(c.bounding()),
                effective: mask(c.effective()),
                permitted: mask(c.permitted()),
                inheritable: mask(c.inheritable()),
                ambient: mask(c.ambient()),
            },
        }
    }
}

/// The highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap).
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_set_maps_to_known_numbers() {
        let caps = docker_default();
        assert_eq!(caps.len(), DOCKER_DEFAULT.len());
        let m = mask(&Some(caps));
        assert_eq!(m.count_ones(), 14);
        assert!(
            m & (1 << 21) == 0,
            "CAP_SYS_ADMIN must not be in docker's set"
        );
        assert!(m & (1 << 5) != 0, "CAP_KILL is");
    }
}
