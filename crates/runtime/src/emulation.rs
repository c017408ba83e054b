//! Programs of a foreign platform (an arm64 image on an amd64 host) run under
//! qemu-user through binfmt_misc — but never the host's binfmt_misc, which
//! is one global kernel table. Since Linux 6.7 each user namespace may mount
//! a binfmt_misc instance of its own, which applies to the processes of that
//! namespace and its descendants only. So such a container enters a user
//! namespace of its own as its last step (core/child.rs: every mount is made
//! as host root first), the parent writes an identity map (file ownership
//! stays what it is for root), the child mounts binfmt_misc on its
//! /proc/sys/fs/binfmt_misc and registers the interpreter with flag F: the
//! kernel opens it at registration, through a descriptor the parent opened on
//! the host, so the container's rootfs needs no copy of it. The instance
//! goes with the container's mount namespace.
//!
//! Interpreters are qemu-user's static builds (Debian's qemu-user-static),
//! looked for in `$HOIST_QEMU_DIR`, then /usr/bin and /usr/libexec/qemu-binfmt.
//! Each is checked (an ELF executable for this machine, statically linked:
//! it runs inside the container's rootfs, which has no host libraries)
//! before anything runs.

use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use hoist_store::{host_platform, Platform};

use crate::core::plan::EmulatorPlan;
use crate::error::{Result, RuntimeError};

/// One platform qemu-user emulates: its OCI architecture, qemu's name for
/// it, and the ELF header pattern binfmt_misc recognises its programs by
/// (qemu's own qemu-binfmt-conf.sh values, as Debian ships them).
struct Target {
    oci_arch: &'static str,
    qemu: &'static str,
    magic: &'static str,
    mask: &'static str,
}

const ELF_MASK: &str =
    r"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff";
const X86_MASK: &str =
    r"\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff";

const TARGETS: &[Target] = &[
    Target {
        oci_arch: "arm64",
        qemu: "aarch64",
        magic: r"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00",
        mask: ELF_MASK,
    },
    Target {
        oci_arch: "arm",
        qemu: "arm",
        magic: r"\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00",
        mask: ELF_MASK,
    },
    Target {
        oci_arch: "amd64",
        qemu: "x86_64",
        magic: r"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00",
        mask: X86_MASK,
    },
    Target {
        oci_arch: "386",
        qemu: "i386",
        magic: r"\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x00",
        mask: X86_MASK,
    },
    Target {
        oci_arch: "riscv64",
        qemu: "riscv64",
        magic: r"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xf3\x00",
        mask: ELF_MASK,
    },
    Target {
        oci_arch: "ppc64le",
        qemu: "ppc64le",
        magic: r"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x15\x00",
        mask: r"\xff\xff\xff\xff\xff\xff\xff\xfc\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\x00",
    },
    Target {
        oci_arch: "s390x",
        qemu: "s390x",
        magic: r"\x7f\x45\x4c\x46\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x16",
        mask: r"\xff\xff\xff\xff\xff\xff\xff\xfc\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff",
    },
];

/// A checked qemu-user interpreter for one foreign platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emulator {
    pub platform: Platform,
    /// qemu's name for the architecture (`aarch64`).
    pub qemu_arch: String,
    pub interpreter: PathBuf,
    magic: String,
    mask: String,
}

fn unsupported(message: String) -> RuntimeError {
    RuntimeError::Invalid(message)
}

/// Whether this machine runs `platform`'s programs itself.
pub fn is_native(platform: &Platform) -> bool {
    let host = host_platform();
    platform.os == host.os
        && (platform.architecture == host.architecture
            || (host.architecture == "amd64" && platform.architecture == "386"))
}

/// The emulator `platform` needs: None when the host runs it natively; an
/// error naming what to install when no usable interpreter is found.
pub fn emulator_for(platform: &Platform) -> Result<Option<Emulator>> {
    if platform.os != "linux" {
        return Err(unsupported(format!(
            "platform {platform}: hoist runs linux images only"
        )));
    }
    if is_native(platform) {
        return Ok(None);
    }
    let target = TARGETS
        .iter()
        .find(|t| t.oci_arch == platform.architecture)
        .ok_or_else(|| {
            let known: Vec<&str> = TARGETS.iter().map(|t| t.oci_arch).collect();
            unsupported(format!(
                "platform {platform} is not supported: hoist emulates linux/{} (and runs {} natively)",
                known.join(", linux/"),
                host_platform()
            ))
        })?;
    let candidates = interpreter_candidates(target.qemu);
    let found = candidates.iter().find(|p| p.exists()).ok_or_else(|| {
        unsupported(format!(
            "platform {platform} needs qemu-user's qemu-{q}-static, found in none of {}: \
             install Debian's qemu-user-static without its recommends (they would register \
             handlers on the host: `apt-get download qemu-user-static && dpkg-deb -x` is \
             enough) and point HOIST_QEMU_DIR at the directory holding qemu-{q}-static",
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            q = target.qemu
        ))
    })?;
    check_interpreter(found).map_err(|why| {
        unsupported(format!(
            "platform {platform}: {} cannot be the interpreter: {why}",
            found.display()
        ))
    })?;
    Ok(Some(Emulator {
        platform: platform.clone(),
        qemu_arch: target.qemu.to_string(),
        interpreter: found.clone(),
        magic: target.magic.to_string(),
        mask: target.mask.to_string(),
    }))
}

fn interpreter_candidates(qemu: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("HOIST_QEMU_DIR").filter(|d| !d.is_empty()) {
        dirs.push(dir.into());
    }
    dirs.push("/usr/bin".into());
    let mut out: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| {
            [
                d.join(format!("qemu-{qemu}-static")),
                d.join(format!("qemu-{qemu}")),
            ]
        })
        .collect();
    out.push(format!("/usr/libexec/qemu-binfmt/{qemu}-binfmt-P").into());
    out
}

/// The ELF machine number of this host.
fn host_machine() -> u16 {
    match std::env::consts::ARCH {
        "x86_64" => 62,
        "aarch64" => 183,
        "x86" => 3,
        "arm" => 40,
        "riscv64" => 243,
        "powerpc64" => 21,
        "s390x" => 22,
        _ => 0,
    }
}

/// An ELF executable for this machine with no program interpreter (static).
fn check_interpreter(path: &Path) -> std::result::Result<(), String> {
    let mut f = std::fs::File::open(path).map_err(|e| format!("cannot open it: {e}"))?;
    let mut head = Vec::new();
    f.by_ref()
        .take(1 << 16)
        .read_to_end(&mut head)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if head.len() < 64 || &head[..4] != b"\x7fELF" {
        return Err("it is not an ELF executable".into());
    }
    if head[4] != 2 || head[5] != 1 {
        return Err("it is not a 64-bit little-endian ELF file".into());
    }
    let u16_at = |o: usize| u16::from_le_bytes([head[o], head[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes(head[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(head[o..o + 8].try_into().unwrap());
    let machine = u16_at(18);
    if machine != host_machine() {
        return Err(format!(
            "it is built for ELF machine {machine}, not this host's ({})",
            std::env::consts::ARCH
        ));
    }
    let (phoff, phentsize, phnum) = (u64_at(32) as usize, u16_at(54) as usize, u16_at(56));
    for i in 0..phnum as usize {
        let o = phoff + i * phentsize;
        if o + 4 > head.len() {
            return Err("its program headers are cut short".into());
        }
        // PT_INTERP: a dynamic executable, which the container's rootfs
        // could not give its libraries to.
        if u32_at(o) == 3 {
            return Err(
                "it is dynamically linked; use the static build (qemu-*-static from qemu-user-static)"
                    .into(),
            );
        }
    }
    Ok(())
}

impl Emulator {
    /// What a container's child needs: the interpreter opened here (on the
    /// host, before its rootfs hides the path), the registration line
    /// naming it through that descriptor, and the identity maps over the
    /// ids the container has (all of them, or those of its own namespace).
    pub fn plan(&self, container_ids: Option<(&str, &str)>) -> Result<EmulatorPlan> {
        let file = std::fs::File::open(&self.interpreter)
            .map_err(|e| RuntimeError::io(format!("opening {}", self.interpreter.display()), e))?;
        let interpreter = OwnedFd::from(file);
        // The child keeps this descriptor's number (clone copies the table);
        // flag F opens it at registration, after which the descriptor goes.
        let register = format!(
            ":hoist-qemu-{}:M::{}:{}:/proc/self/fd/{}:POCF",
            self.qemu_arch,
            self.magic,
            self.mask,
            interpreter.as_raw_fd()
        );
        let identity = |map: &str| -> String {
            map.lines()
                .filter_map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    (f.len() == 3).then(|| format!("{} {} {}\n", f[0], f[0], f[2]))
                })
                .collect()
        };
        let (uid_map, gid_map) = match container_ids {
            Some((u, g)) => (identity(u), identity(g)),
            None => ("0 0 4294967295\n".into(), "0 0 4294967295\n".into()),
        };
        Ok(EmulatorPlan {
            interpreter,
            register: CString::new(register).expect("no NUL in a registration line"),
            uid_map,
            gid_map,
        })
    }
}

/// The platform an image config names (`os`/`architecture`/`variant`);
/// None when it names none.
pub fn config_platform(config: &serde_json::Value) -> Option<Platform> {
    let field = |k: &str| {
        config
            .get(k)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
    };
    Some(Platform {
        os: field("os").unwrap_or("linux").to_string(),
        architecture: field("architecture")?.to_string(),
        variant: field("variant").map(str::to_string),
    })
}

/// What container `rec` needs to start when its image is a foreign
/// platform's (read from the image's config, so records stay as they are).
pub fn for_container(
    root: &Path,
    rec: &crate::container::ContainerRecord,
) -> Result<Option<EmulatorPlan>> {
    let store = hoist_store::Store::open(root)
        .map_err(|e| RuntimeError::Invalid(format!("opening the store: {e}")))?;
    let image_err = |e: hoist_store::StoreError| RuntimeError::Image {
        name: rec.image.clone(),
        message: e.to_string(),
    };
    let named = store.resolve(&rec.image_digest).map_err(image_err)?;
    let image = store.load_image(&named.descriptor).map_err(image_err)?;
    let Some(platform) = config_platform(&image.config_json) else {
        return Ok(None);
    };
    let Some(emulator) = emulator_for(&platform)? else {
        return Ok(None);
    };
    let maps = rec.security.userns.as_ref().map(|ns| {
        (
            crate::security::userns::UserNamespace::map_text(&ns.uid_map),
            crate::security::userns::UserNamespace::map_text(&ns.gid_map),
        )
    });
    emulator
        .plan(maps.as_ref().map(|(u, g)| (u.as_str(), g.as_str())))
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        s.parse().unwrap()
    }

    #[test]
    fn host_platform_is_native() {
        assert!(emulator_for(&host_platform()).unwrap().is_none());
    }

    #[test]
    fn unknown_platforms_are_refused_by_name() {
        let e = emulator_for(&p("linux/vax")).unwrap_err().to_string();
        assert!(e.contains("linux/vax is not supported"), "{e}");
        let e = emulator_for(&p("windows/amd64")).unwrap_err().to_string();
        assert!(e.contains("linux images only"), "{e}");
    }

    #[test]
    fn a_dynamic_or_foreign_interpreter_is_refused() {
        // /bin/sh is dynamically linked on every test machine.
        let e = check_interpreter(Path::new("/bin/sh")).unwrap_err();
        assert!(e.contains("dynamically linked"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("qemu-x");
        std::fs::write(&bad, b"#!/bin/sh\n").unwrap();
        assert!(check_interpreter(&bad).unwrap_err().contains("not an ELF"));
    }

    #[test]
    fn identity_maps_follow_the_container_ranges() {
        let em = Emulator {
            platform: p("linux/arm64"),
            qemu_arch: "aarch64".into(),
            interpreter: "/bin/sh".into(),
            magic: "M".into(),
            mask: "K".into(),
        };
        let plan = em.plan(None).unwrap();
        assert_eq!(plan.uid_map, "0 0 4294967295\n");
        let reg = plan.register.to_str().unwrap();
        assert!(reg.starts_with(":hoist-qemu-aarch64:M::M:K:/proc/self/fd/"));
        assert!(reg.ends_with(":POCF"));
        let plan = em
            .plan(Some(("0 100000 65536\n", "0 200000 10\n10 300000 5\n")))
            .unwrap();
        assert_eq!(plan.uid_map, "0 0 65536\n");
        assert_eq!(plan.gid_map, "0 0 10\n10 10 5\n");
    }
}
