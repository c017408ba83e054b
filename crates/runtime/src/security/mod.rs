//! A container's security settings: `--cap-add`, `--cap-drop`,
//! `--privileged`, `--security-opt seccomp=…|no-new-privileges`, as docker
//! reads them; what they make of the spec (spec.rs asks `capabilities`,
//! `seccomp_section`); and the compiled seccomp program a starting
//! container, exec or build step loads (`seccomp_program`).

#[cfg(test)]
pub mod bpf_interp;
pub mod bpf_ranges;
pub mod cache;
pub mod compile;
pub mod default_profile;
pub mod devices;
pub mod profile;
pub mod userns;

use oci_spec::runtime::{LinuxSeccomp, Spec};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

use crate::core::caps::{self, DOCKER_DEFAULT};
use crate::error::{Result, RuntimeError};

/// Which seccomp profile a container runs under.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Seccomp {
    /// hoist's default (default_profile.rs), docker's in effect.
    #[default]
    Default,
    /// No filter (`seccomp=unconfined`).
    Unconfined,
    /// A profile file's text, kept in the record so a restart after the
    /// file changed or went away runs what was created.
    Profile(String),
}

/// The settings, as kept in the container's record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityOptions {
    /// Capability names as `CAP_X`, or `ALL`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    #[serde(default)]
    pub privileged: bool,
    #[serde(default)]
    pub no_new_privileges: bool,
    #[serde(default)]
    pub seccomp: Seccomp,
    /// `--userns=auto`, `--uidmap`/`--gidmap`: the mappings (userns.rs);
    /// None: the host's user namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userns: Option<userns::UserNamespace>,
}

fn invalid(msg: String) -> RuntimeError {
    RuntimeError::Invalid(msg)
}

/// `net_admin`, `NET_ADMIN`, `CAP_NET_ADMIN` → `CAP_NET_ADMIN`; `all` → `ALL`.
pub fn normalize_cap(name: &str) -> Result<String> {
    let upper = name.trim().to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(upper);
    }
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    if caps::number(&full).is_none() {
        return Err(invalid(format!(
            "unknown capability {name:?} (use a name such as NET_ADMIN or CAP_SYS_PTRACE, or ALL)"
        )));
    }
    Ok(full)
}

impl SecurityOptions {
    /// From the command line's flags; a seccomp profile file is read and
    /// checked here, so a bad one is refused before anything is created.
    pub fn from_flags(
        cap_add: &[String],
        cap_drop: &[String],
        privileged: bool,
        security_opt: &[String],
    ) -> Result<SecurityOptions> {
        let mut s = SecurityOptions {
            cap_add: cap_add
                .iter()
                .map(|c| normalize_cap(c))
                .collect::<Result<_>>()?,
            cap_drop: cap_drop
                .iter()
                .map(|c| normalize_cap(c))
                .collect::<Result<_>>()?,
            privileged,
            ..Default::default()
        };
        for opt in security_opt {
            let (key, value) = match opt.split_once(['=', ':']) {
                Some((k, v)) => (k, Some(v)),
                None => (opt.as_str(), None),
            };
            match (key, value) {
                ("no-new-privileges", None | Some("true")) => s.no_new_privileges = true,
                ("no-new-privileges", Some("false")) => s.no_new_privileges = false,
                ("seccomp", Some("unconfined")) => s.seccomp = Seccomp::Unconfined,
                ("seccomp", Some(path)) if !path.is_empty() => {
                    let text = std::fs::read_to_string(path).map_err(|e| {
                        invalid(format!("--security-opt seccomp={path}: reading the profile: {e}"))
                    })?;
                    let p = profile::parse(&text)
                        .map_err(|e| invalid(format!("--security-opt seccomp={path}: {e}")))?;
                    // Resolve and compile now: an error shows at create, not at start.
                    let section = p
                        .resolve_oci(&profile::Target::native(s.capabilities()))
                        .map_err(|e| invalid(format!("--security-opt seccomp={path}: {e}")))?;
                    compile::compile(&serde_json::to_vec(&section).unwrap_or_default())
                        .map_err(|e| invalid(format!("--security-opt seccomp={path}: {e}")))?;
                    s.seccomp = Seccomp::Profile(text);
                }
                // hoist has no LSM confinement to turn off: accepted, as podman does.
                ("apparmor", Some("unconfined")) | ("label", Some("disable")) => {}
                _ => {
                    return Err(invalid(format!(
                        "unsupported --security-opt {opt:?} (use seccomp=unconfined, seccomp=PROFILE.json or no-new-privileges)"
                    )))
                }
            }
        }
        Ok(s)
    }

    /// The bounding set, as docker computes it: `--privileged` is every
    /// capability; `--cap-add ALL` every one but the dropped; `--cap-drop
    /// ALL` only the added; otherwise the default set less the dropped plus
    /// the added.
    pub fn capabilities(&self) -> Vec<String> {
        // "Every capability" is every one this process can hand on (its own
        // bounding set; root here may lack some, e.g. CAP_SYS_RESOURCE in
        // a sandbox), as podman does: capset would refuse the rest.
        let all = || {
            let own = own_bounding_set();
            caps::all_names(caps::last_cap())
                .into_iter()
                .filter(|c| caps::number(c).is_some_and(|n| own & (1u64 << n) != 0))
                .collect::<Vec<_>>()
        };
        if self.privileged {
            return all();
        }
        let has = |list: &[String], c: &str| list.iter().any(|x| x == c);
        let mut out: Vec<String> = if has(&self.cap_add, "ALL") {
            all()
                .into_iter()
                .filter(|c| !has(&self.cap_drop, c))
                .collect()
        } else if has(&self.cap_drop, "ALL") {
            self.cap_add.clone()
        } else {
            let mut v: Vec<String> = DOCKER_DEFAULT
                .iter()
                .map(|c| c.to_string())
                .filter(|c| !has(&self.cap_drop, c))
                .collect();
            v.extend(self.cap_add.iter().cloned());
            v
        };
        out.retain(|c| c != "ALL");
        let mut seen = std::collections::HashSet::new();
        out.retain(|c| seen.insert(c.clone()));
        out
    }

    /// The OCI `linux.seccomp` section for a container with bounding set
    /// `caps`, or None (unconfined; `--privileged` without a profile file).
    pub fn seccomp_section(&self, caps: &[String]) -> Result<Option<LinuxSeccomp>> {
        let p = match &self.seccomp {
            Seccomp::Unconfined => return Ok(None),
            Seccomp::Default if self.privileged => return Ok(None),
            Seccomp::Default => default_profile::profile(),
            Seccomp::Profile(text) => profile::parse(text).map_err(invalid)?,
        };
        p.resolve_oci(&profile::Target::native(caps.to_vec()))
            .map(Some)
            .map_err(|e| invalid(format!("seccomp profile: {e}")))
    }
}

/// This process's bounding set (all bits when it cannot be read).
pub(crate) fn own_bounding_set() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapBnd:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(u64::MAX)
}

/// The compiled filter for `spec`'s `linux.seccomp` (None without one),
/// from the cache under `store` (see cache.rs). The cache key is hashed from
/// the section's fields as loaded; JSON is printed only to compile (a miss).
pub fn seccomp_program(spec: &Spec, store: Option<&Path>) -> Result<Option<Arc<cache::Program>>> {
    let Some(section) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else {
        return Ok(None);
    };
    let key = cache::Key::of(|h| hash_section(h, section));
    let json =
        || serde_json::to_vec(section).map_err(|e| format!("serializing the seccomp section: {e}"));
    cache::program(&key, json, store)
        .map(Some)
        .map_err(|e| invalid(format!("seccomp: {e}")))
}

/// Feeds every field of `s` that the compiled program depends on to `h`,
/// each ended so that no two sections feed the same bytes.
fn hash_section(h: &mut cache::Hasher, s: &LinuxSeccomp) {
    use sha2::Digest;
    use std::fmt::Write;
    let mut put = |text: &str| {
        h.update(text.as_bytes());
        h.update([0]);
    };
    let mut buf = String::new();
    let mut debug = |v: &dyn std::fmt::Debug, put: &mut dyn FnMut(&str)| {
        buf.clear();
        let _ = write!(buf, "{v:?}");
        put(&buf);
    };
    debug(&s.default_action(), &mut put);
    debug(&s.default_errno_ret(), &mut put);
    debug(s.architectures(), &mut put);
    debug(s.flags(), &mut put);
    debug(s.listener_path(), &mut put);
    debug(s.listener_metadata(), &mut put);
    for sc in s.syscalls().iter().flatten() {
        put("syscall");
        for n in sc.names() {
            put(n);
        }
        debug(&sc.action(), &mut put);
        debug(&sc.errno_ret(), &mut put);
        debug(sc.args(), &mut put);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(add: &[&str], drop: &[&str], sec: &[&str]) -> Result<SecurityOptions> {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        SecurityOptions::from_flags(&v(add), &v(drop), false, &v(sec))
    }

    #[test]
    fn capabilities_follow_dockers_rules() {
        let d = opts(&[], &[], &[]).unwrap().capabilities();
        assert_eq!(d.len(), 14);
        let s = opts(&["sys_admin"], &["NET_RAW", "cap_chown"], &[])
            .unwrap()
            .capabilities();
        assert!(s.contains(&"CAP_SYS_ADMIN".into()));
        assert!(!s.contains(&"CAP_NET_RAW".into()) && !s.contains(&"CAP_CHOWN".into()));
        assert_eq!(
            opts(&["KILL"], &["ALL"], &[]).unwrap().capabilities(),
            ["CAP_KILL"]
        );
        let all = opts(&["ALL"], &["SYS_ADMIN"], &[]).unwrap().capabilities();
        assert!(all.len() > 30 && !all.contains(&"CAP_SYS_ADMIN".into()));
        let e = opts(&["NET_FOO"], &[], &[]).unwrap_err().to_string();
        assert!(e.contains("NET_FOO"), "{e}");
    }

    #[test]
    fn security_opts_parse_and_bad_ones_are_named() {
        let o = opts(&[], &[], &["no-new-privileges", "seccomp=unconfined"]).unwrap();
        assert!(o.no_new_privileges);
        assert_eq!(o.seccomp, Seccomp::Unconfined);
        assert!(
            opts(&[], &[], &["no-new-privileges:true"])
                .unwrap()
                .no_new_privileges
        );
        let e = opts(&[], &[], &["seccomp=/nonexistent/p.json"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/p.json"), "{e}");
        let e = opts(&[], &[], &["selinux=x"]).unwrap_err().to_string();
        assert!(e.contains("selinux=x"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("p.json");
        std::fs::write(&bad, r#"{"defaultAction": "SCMP_ACT_BOGUS"}"#).unwrap();
        let e = opts(&[], &[], &[&format!("seccomp={}", bad.display())])
            .unwrap_err()
            .to_string();
        assert!(e.contains("SCMP_ACT_BOGUS"), "{e}");
    }

    #[test]
    fn the_default_profile_resolves_by_capability_and_compiles() {
        let d = SecurityOptions::default();
        let section = d.seccomp_section(&d.capabilities()).unwrap().unwrap();
        let section = serde_json::to_value(&section).unwrap();
        let names: Vec<&str> = section["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| {
                s["names"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n.as_str().unwrap())
            })
            .collect();
        for refused in [
            "mount",
            "unshare",
            "setns",
            "bpf",
            "keyctl",
            "kexec_load",
            "init_module",
        ] {
            assert!(!names.contains(&refused), "{refused} is allowed by default");
        }
        assert!(names.contains(&"read") && names.contains(&"clone"));
        let admin = opts(&["SYS_ADMIN"], &[], &[]).unwrap();
        let s = admin
            .seccomp_section(&admin.capabilities())
            .unwrap()
            .unwrap();
        assert!(serde_json::to_string(&s).unwrap().contains("\"mount\""));
        let bpf = compile::compile(&serde_json::to_vec(&section).unwrap()).unwrap();
        assert!(bpf.len() > 8 * 50);
        // The key the monitor computes from config.json is the one of the
        // section as built: printing and reading it back changes nothing.
        let built = d.seccomp_section(&d.capabilities()).unwrap().unwrap();
        let read: LinuxSeccomp =
            serde_json::from_slice(&serde_json::to_vec_pretty(&built).unwrap()).unwrap();
        let key = |s: &LinuxSeccomp| cache::Key::of(|h| hash_section(h, s)).hex();
        assert_eq!(key(&built), key(&read));
        let admin_section = admin
            .seccomp_section(&admin.capabilities())
            .unwrap()
            .unwrap();
        assert_ne!(key(&built), key(&admin_section));
        let mut errno = built.clone();
        errno.set_default_errno_ret(Some(38));
        assert_ne!(key(&built), key(&errno));
        let privileged = SecurityOptions {
            privileged: true,
            ..Default::default()
        };
        assert!(privileged
            .seccomp_section(&privileged.capabilities())
            .unwrap()
            .is_none());
    }
}
