//! seccomp profiles in the JSON format docker and podman read
//! (`--security-opt seccomp=PROFILE.json`), and their resolution into the OCI
//! spec's `linux.seccomp` for one container: the architecture picked from
//! `archMap`, rules kept or dropped by their `includes`/`excludes` (arches,
//! capabilities, minimum kernel) exactly as docker decides, `name`/`names`
//! merged. What is resolved is what gets compiled (compile.rs) and cached.

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompArgBuilder, LinuxSeccompOperator, LinuxSyscall};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A docker/podman seccomp profile. Unknown keys (`comment`, podman's
/// `defaultErrno` names) are ignored; lists may be `null`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub default_action: String,
    #[serde(default)]
    pub default_errno_ret: Option<u32>,
    #[serde(default)]
    pub architectures: Option<Vec<String>>,
    #[serde(default)]
    pub arch_map: Option<Vec<ArchMap>>,
    #[serde(default)]
    pub syscalls: Option<Vec<Rule>>,
    #[serde(default)]
    pub flags: Option<Vec<String>>,
    #[serde(default)]
    pub listener_path: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ArchMap {
    pub architecture: String,
    #[serde(default, rename = "subArchitectures")]
    pub sub_architectures: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub names: Option<Vec<String>>,
    pub action: String,
    #[serde(default)]
    pub errno_ret: Option<u32>,
    #[serde(default)]
    pub args: Option<Vec<Arg>>,
    #[serde(default)]
    pub includes: Option<Filter>,
    #[serde(default)]
    pub excludes: Option<Filter>,
}

/// When a rule applies: docker's `includes` (all must hold) and `excludes`
/// (any one drops the rule).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    #[serde(default)]
    pub arches: Option<Vec<String>>,
    #[serde(default)]
    pub caps: Option<Vec<String>>,
    #[serde(default)]
    pub min_kernel: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Arg {
    pub index: u32,
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: String,
}

/// What a profile is resolved against.
#[derive(Debug, Clone)]
pub struct Target {
    /// Go's name of the machine (`amd64`, `arm64`...), as profiles say it.
    pub go_arch: &'static str,
    /// libseccomp's name (`SCMP_ARCH_X86_64`).
    pub scmp_arch: &'static str,
    /// The container's bounding capabilities (`CAP_SYS_ADMIN`...).
    pub caps: Vec<String>,
    /// The running kernel (major, minor).
    pub kernel: (u32, u32),
}

impl Target {
    /// This machine and kernel, with `caps`.
    pub fn native(caps: Vec<String>) -> Target {
        let (go_arch, scmp_arch) = native_arch();
        Target {
            go_arch,
            scmp_arch,
            caps,
            kernel: running_kernel(),
        }
    }
}

fn native_arch() -> (&'static str, &'static str) {
    match std::env::consts::ARCH {
        "x86_64" => ("amd64", "SCMP_ARCH_X86_64"),
        "aarch64" => ("arm64", "SCMP_ARCH_AARCH64"),
        "x86" => ("386", "SCMP_ARCH_X86"),
        "arm" => ("arm", "SCMP_ARCH_ARM"),
        "riscv64" => ("riscv64", "SCMP_ARCH_RISCV64"),
        "s390x" => ("s390x", "SCMP_ARCH_S390X"),
        "powerpc64" => ("ppc64le", "SCMP_ARCH_PPC64LE"),
        _ => ("", "SCMP_ARCH_NATIVE"),
    }
}

fn running_kernel() -> (u32, u32) {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    parse_kernel(&release).unwrap_or((0, 0))
}

/// "6.1.0-18-amd64" → (6, 1).
fn parse_kernel(s: &str) -> Option<(u32, u32)> {
    let mut it = s.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// Parses a profile file's text; the error names what is wrong.
pub fn parse(text: &str) -> Result<Profile, String> {
    let p: Profile =
        serde_json::from_str(text).map_err(|e| format!("not a seccomp profile: {e}"))?;
    if p.default_action.is_empty() {
        return Err("not a seccomp profile: it has no \"defaultAction\"".into());
    }
    Ok(p)
}

impl Profile {
    /// The OCI `linux.seccomp` value for a container on `target`, as JSON.
    pub fn resolve(&self, target: &Target) -> Result<Value, String> {
        let s = self.resolve_oci(target)?;
        serde_json::to_value(&s).map_err(|e| format!("seccomp profile: {e}"))
    }

    /// The OCI `linux.seccomp` section for a container on `target`, built
    /// directly as the spec's type (no JSON in between: `create` of every
    /// container with the default profile pays this).
    pub fn resolve_oci(&self, target: &Target) -> Result<LinuxSeccomp, String> {
        if self.listener_path.as_deref().is_some_and(|p| !p.is_empty()) {
            return Err(
                "seccomp profiles with a \"listenerPath\" (user notification) are not supported"
                    .into(),
            );
        }
        let arches: Vec<&String> = match (&self.architectures, &self.arch_map) {
            (Some(a), Some(m)) if !a.is_empty() && !m.is_empty() => {
                return Err(
                    "the seccomp profile has both \"architectures\" and \"archMap\": use one"
                        .into(),
                )
            }
            (_, Some(m)) if !m.is_empty() => m
                .iter()
                .filter(|a| a.architecture == target.scmp_arch)
                .flat_map(|a| {
                    std::iter::once(&a.architecture).chain(a.sub_architectures.iter().flatten())
                })
                .collect(),
            (Some(a), _) => a.iter().collect(),
            _ => Vec::new(),
        };
        let mut syscalls = Vec::new();
        for (i, rule) in self.syscalls.iter().flatten().enumerate() {
            let names = match (&rule.name, &rule.names) {
                (Some(n), Some(ns)) if !n.is_empty() && !ns.is_empty() => {
                    return Err(format!(
                        "seccomp rule {i} has both \"name\" and \"names\": use one"
                    ))
                }
                (Some(n), _) if !n.is_empty() => vec![n.clone()],
                (_, Some(ns)) => ns.clone(),
                _ => Vec::new(),
            };
            if names.is_empty() || !applies(rule, target)? {
                continue;
            }
            let mut s = LinuxSyscall::default();
            s.set_names(names);
            s.set_action(named("action", &rule.action)?);
            s.set_errno_ret(rule.errno_ret);
            if let Some(args) = rule.args.as_ref().filter(|a| !a.is_empty()) {
                let args = args
                    .iter()
                    .map(|a| {
                        LinuxSeccompArgBuilder::default()
                            .index(a.index as usize)
                            .value(a.value)
                            .value_two(a.value_two)
                            .op(named::<LinuxSeccompOperator>("comparison", &a.op)?)
                            .build()
                            .map_err(|e| format!("seccomp rule {i}: {e}"))
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                s.set_args(Some(args));
            }
            syscalls.push(s);
        }
        let mut out = LinuxSeccomp::default();
        out.set_default_action(named("action", &self.default_action)?);
        out.set_default_errno_ret(self.default_errno_ret);
        out.set_architectures(Some(
            arches
                .into_iter()
                .map(|a| named("architecture", a))
                .collect::<Result<_, _>>()?,
        ));
        out.set_syscalls(Some(syscalls));
        if let Some(f) = self.flags.as_ref().filter(|f| !f.is_empty()) {
            out.set_flags(Some(
                f.iter()
                    .map(|f| named("flag", f))
                    .collect::<Result<_, _>>()?,
            ));
        }
        Ok(out)
    }
}

/// One of the spec's seccomp names (`SCMP_ACT_ALLOW`, `SCMP_ARCH_X86`,
/// `SCMP_CMP_EQ`...), read as the spec's JSON reads it.
fn named<T: serde::de::DeserializeOwned>(what: &str, name: &str) -> Result<T, String> {
    use serde::de::IntoDeserializer;
    let de: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
        name.into_deserializer();
    T::deserialize(de).map_err(|_| format!("unknown seccomp {what} {name:?}"))
}

/// docker's rule: every `includes` condition holds and no `excludes` one.
fn applies(rule: &Rule, t: &Target) -> Result<bool, String> {
    let has_cap = |c: &String| t.caps.iter().any(|have| have == c);
    if let Some(inc) = &rule.includes {
        if let Some(a) = inc.arches.as_ref().filter(|a| !a.is_empty()) {
            if !a.iter().any(|x| x == t.go_arch) {
                return Ok(false);
            }
        }
        if !inc.caps.iter().flatten().all(has_cap) {
            return Ok(false);
        }
        if let Some(k) = inc.min_kernel.as_deref().filter(|k| !k.is_empty()) {
            if t.kernel < min_kernel(k)? {
                return Ok(false);
            }
        }
    }
    if let Some(exc) = &rule.excludes {
        if exc.arches.iter().flatten().any(|x| x == t.go_arch) {
            return Ok(false);
        }
        if exc.caps.iter().flatten().any(has_cap) {
            return Ok(false);
        }
        if let Some(k) = exc.min_kernel.as_deref().filter(|k| !k.is_empty()) {
            if t.kernel >= min_kernel(k)? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

fn min_kernel(k: &str) -> Result<(u32, u32), String> {
    parse_kernel(k)
        .ok_or_else(|| format!("seccomp profile: minKernel {k:?} is not a version like \"4.8\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target(caps: &[&str]) -> Target {
        Target {
            go_arch: "amd64",
            scmp_arch: "SCMP_ARCH_X86_64",
            caps: caps.iter().map(|c| c.to_string()).collect(),
            kernel: (5, 10),
        }
    }

    const PROFILE: &str = r#"{
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
        "archMap": [
            {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
            {"architecture": "SCMP_ARCH_RISCV64", "subArchitectures": null}
        ],
        "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
            {"name": "mount", "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}],
             "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390x"]}},
            {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}},
            {"names": ["set_tls"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
            {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "6.0"}},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "comment": "glibc falls back"}
        ]
    }"#;

    fn names(v: &Value) -> Vec<String> {
        v["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| {
                s["names"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n.as_str().unwrap().to_string())
            })
            .collect()
    }

    #[test]
    fn rules_are_kept_by_arch_caps_and_kernel_as_docker_does() {
        let p = parse(PROFILE).unwrap();
        let v = p.resolve(&target(&["CAP_CHOWN"])).unwrap();
        assert_eq!(
            v["architectures"],
            json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        );
        assert_eq!(
            names(&v),
            ["read", "write", "clone", "arch_prctl", "clone3"]
        );
        assert_eq!(v["defaultErrnoRet"], 1);
        let clone3 = v["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["names"][0] == "clone3")
            .unwrap();
        assert_eq!(clone3["errnoRet"], 38);
        let admin = p.resolve(&target(&["CAP_SYS_ADMIN"])).unwrap();
        assert_eq!(
            names(&admin),
            ["read", "write", "mount", "arch_prctl", "clone3"]
        );
        let mut new_kernel = target(&[]);
        new_kernel.kernel = (6, 1);
        assert!(names(&p.resolve(&new_kernel).unwrap()).contains(&"ptrace".to_string()));
    }

    #[test]
    fn bad_profiles_are_refused_with_the_reason() {
        assert!(parse("{").unwrap_err().contains("not a seccomp profile"));
        assert!(parse(r#"{"syscalls": []}"#).is_err());
        let both = parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ERRNO"}]}"#,
        )
        .unwrap();
        assert!(both.resolve(&target(&[])).unwrap_err().contains("both"));
        assert_eq!(parse_kernel("6.18.44-fc-v1300"), Some((6, 18)));
    }
}
