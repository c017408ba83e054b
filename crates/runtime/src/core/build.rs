//! Turns an OCI runtime spec into a ContainerPlan (all allocation happens here,
//! in the parent). Only the features hoist's own specs use are accepted; the
//! rest is refused with a clear message instead of being silently ignored.

use oci_spec::runtime::{LinuxNamespaceType, Mount, PosixRlimitType, Process, Spec};
use std::ffi::CString;
use std::os::unix::io::RawFd;
use std::path::{Path, PathBuf};

use super::caps::{last_cap, CapMasks};
use super::plan::{
    cstring, exec_candidates, parse_mount_options, CStrArray, ContainerPlan, InRootPath, MountStep,
    ProcessPlan, RootStep, TargetKind, UsernsPlan,
};
use crate::cgroup::{hierarchy, Hierarchy};
use crate::error::{Result, RuntimeError};

fn invalid(msg: impl Into<String>) -> RuntimeError {
    RuntimeError::Invalid(msg.into())
}

fn c(s: &str) -> Result<CString> {
    cstring(s).map_err(invalid)
}

fn in_root(p: &str) -> Result<InRootPath> {
    InRootPath::new(p).map_err(invalid)
}

/// Options for building a plan beyond what the spec says.
pub struct PlanOptions {
    /// The rootfs is an overlay with these mount options, mounted by the child.
    pub overlay: Option<String>,
    pub stdio: [RawFd; 3],
}

/// Builds the plan for `spec` whose bundle directory is `bundle`.
pub fn container_plan(spec: &Spec, bundle: &Path, opts: PlanOptions) -> Result<ContainerPlan> {
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| invalid("the spec has no root"))?;
    let rootfs = if root.path().is_absolute() {
        root.path().clone()
    } else {
        bundle.join(root.path())
    };
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| invalid("the spec has no linux section"))?;
    let mut clone_flags = 0;
    let mut cgroup_ns = false;
    let mut loopback_up = false;
    let mut join_namespaces = Vec::new();
    for ns in linux.namespaces().iter().flatten() {
        if let Some(path) = ns.path() {
            // Joining is for a pod's shared namespaces only.
            let flag = match ns.typ() {
                LinuxNamespaceType::Network => libc::CLONE_NEWNET,
                LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
                LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
                other => {
                    return Err(invalid(format!(
                        "joining an existing {other:?} namespace is not supported"
                    )))
                }
            };
            let f = std::fs::File::open(path)
                .map_err(|e| invalid(format!("opening the namespace {}: {e}", path.display())))?;
            join_namespaces.push((std::os::fd::OwnedFd::from(f), flag));
            continue;
        }
        match ns.typ() {
            LinuxNamespaceType::Pid => clone_flags |= libc::CLONE_NEWPID,
            LinuxNamespaceType::Network => {
                clone_flags |= libc::CLONE_NEWNET;
                loopback_up = true;
            }
            LinuxNamespaceType::Mount => clone_flags |= libc::CLONE_NEWNS,
            LinuxNamespaceType::Ipc => clone_flags |= libc::CLONE_NEWIPC,
            LinuxNamespaceType::Uts => clone_flags |= libc::CLONE_NEWUTS,
            LinuxNamespaceType::Cgroup => cgroup_ns = true,
            LinuxNamespaceType::User => clone_flags |= libc::CLONE_NEWUSER,
            other => return Err(invalid(format!("the {other:?} namespace is not supported"))),
        }
    }
    if clone_flags & libc::CLONE_NEWNS == 0 {
        return Err(invalid("a container needs its own mount namespace"));
    }
    let joined = |flag| join_namespaces.iter().any(|(_, f)| *f == flag);
    let own = super::sysctl::OwnNamespaces {
        net: clone_flags & libc::CLONE_NEWNET != 0 || joined(libc::CLONE_NEWNET),
        ipc: clone_flags & libc::CLONE_NEWIPC != 0 || joined(libc::CLONE_NEWIPC),
        uts: clone_flags & libc::CLONE_NEWUTS != 0 || joined(libc::CLONE_NEWUTS),
    };
    let sysctls = super::sysctl::plan(linux.sysctl().as_ref(), own).map_err(invalid)?;
    let userns = userns_plan(linux, clone_flags)?;
    if userns.is_some() && !join_namespaces.is_empty() {
        return Err(invalid(
            "a container in its own user namespace cannot join namespaces of the host's",
        ));
    }
    // Rootless, every container is in a user namespace (hoist's own):
    // the same limits on mknod and cgroup mounts as with --userns.
    let in_userns = userns.is_some() || crate::rootless::active();
    let mut steps = Vec::new();
    for m in spec.mounts().iter().flatten() {
        mount_steps(m, in_userns, &mut steps)?;
        if m.destination() == Path::new("/dev") {
            dev_steps(spec, in_userns, &mut steps)?;
        }
    }
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| invalid("the spec has no process"))?;
    steps.push(RootStep::Mkdir(in_root(&process.cwd().to_string_lossy())?));
    let paths = |v: &Option<Vec<String>>| -> Result<Vec<CString>> {
        v.iter().flatten().map(|p| c(p)).collect()
    };
    Ok(ContainerPlan {
        clone_flags,
        cgroup_ns,
        cgroup_join: Vec::new(),
        console_socket: None,
        console_size: None,
        join_namespaces,
        loopback_up,
        rootfs: c(&rootfs.to_string_lossy())?,
        overlay: opts.overlay.as_deref().map(c).transpose()?,
        steps,
        hostname: spec.hostname().as_deref().map(c).transpose()?,
        sysctls,
        oom_score_adj: process
            .oom_score_adj()
            .map(|n| c(&n.to_string()))
            .transpose()?,
        masked: paths(linux.masked_paths())?,
        readonly: paths(linux.readonly_paths())?,
        readonly_root: root.readonly().unwrap_or(false),
        userns,
        emulator: None,
        init: wants_init(spec)
            .then(|| super::init::InitPlan::new(process.args().as_deref().unwrap_or_default())),
        process: process_plan(process, opts.stdio)?,
    })
}

/// The spec annotation that asks for an init at PID 1 (`--init`; the
/// OCI spec has no field for it, docker passes its own binary instead).
pub const INIT_ANNOTATION: &str = "io.hoist.init";

fn wants_init(spec: &Spec) -> bool {
    spec.annotations()
        .as_ref()
        .and_then(|a| a.get(INIT_ANNOTATION))
        .is_some_and(|v| v == "true")
}

/// The user namespace's maps, when the spec asks for one.
fn userns_plan(
    linux: &oci_spec::runtime::Linux,
    clone_flags: libc::c_int,
) -> Result<Option<UsernsPlan>> {
    if clone_flags & libc::CLONE_NEWUSER == 0 {
        return Ok(None);
    }
    let lines = |maps: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| -> (String, Option<u32>) {
        let maps = maps.as_deref().unwrap_or_default();
        let text = maps
            .iter()
            .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
            .collect();
        let root = maps
            .iter()
            .find(|m| m.container_id() == 0 && m.size() > 0)
            .map(|m| m.host_id());
        (text, root)
    };
    let (uid_map, root_uid) = lines(linux.uid_mappings());
    let (gid_map, root_gid) = lines(linux.gid_mappings());
    match (root_uid, root_gid) {
        (Some(root_uid), Some(root_gid)) => Ok(Some(UsernsPlan {
            uid_map,
            gid_map,
            root_uid,
            root_gid,
        })),
        _ => Err(invalid(
            "a user namespace needs uid and gid mappings that map container id 0",
        )),
    }
}

fn mount_steps(m: &Mount, userns: bool, steps: &mut Vec<RootStep>) -> Result<()> {
    let dest = m.destination().to_string_lossy().into_owned();
    let typ = m.typ().clone().unwrap_or_default();
    let options = m.options().clone().unwrap_or_default();
    let (flags, data) = parse_mount_options(&options);
    if typ == "cgroup" || typ == "cgroup2" {
        return cgroup_steps(&dest, flags & libc::MS_RDONLY != 0, userns, steps);
    }
    let target = in_root(&dest)?;
    if target.is_root() {
        return Err(invalid("a mount onto / is not allowed"));
    }
    if flags & libc::MS_BIND != 0 || typ == "bind" {
        let source = m
            .source()
            .as_ref()
            .ok_or_else(|| invalid(format!("bind mount {dest} has no source")))?;
        let source: PathBuf = std::fs::canonicalize(source)
            .map_err(|e| invalid(format!("bind mount source {}: {e}", source.display())))?;
        let kind = if source.is_dir() {
            TargetKind::Dir
        } else {
            TargetKind::File
        };
        let extra = flags & (libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC);
        steps.push(RootStep::Mount(MountStep {
            target,
            kind,
            source: Some(c(&source.to_string_lossy())?),
            fstype: None,
            flags: libc::MS_BIND | (flags & libc::MS_REC),
            data: None,
            remount_flags: (extra != 0).then_some(libc::MS_REMOUNT | libc::MS_BIND | extra),
        }));
        return Ok(());
    }
    let source = m
        .source()
        .as_ref()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| typ.clone());
    let data = crate::rootless::mount_data(&typ, &data);
    steps.push(RootStep::Mount(MountStep {
        target,
        kind: TargetKind::Dir,
        source: Some(c(&source)?),
        fstype: Some(c(&typ)?),
        flags,
        data: (!data.is_empty()).then(|| c(&data)).transpose()?,
        remount_flags: None,
    }));
    Ok(())
}

/// The cgroup filesystem, read-only unless `--privileged`: on v1 a tmpfs
/// holding one mount per hierarchy (each showing only the container's own
/// cgroup, thanks to the cgroup namespace), on v2 the unified tree.
///
/// In a user namespace of its own, v1 hierarchies cannot be mounted (cgroup
/// v1 is not mountable there), so /sys/fs/cgroup is an empty read-only
/// tmpfs; v2's tree is (with the cgroup namespace).
fn cgroup_steps(dest: &str, readonly: bool, userns: bool, steps: &mut Vec<RootStep>) -> Result<()> {
    let rdonly = if readonly { libc::MS_RDONLY } else { 0 };
    let ro = rdonly | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    match hierarchy() {
        Hierarchy::V1(_) if userns => steps.push(RootStep::Mount(MountStep {
            target: in_root(dest)?,
            kind: TargetKind::Dir,
            source: Some(c("tmpfs")?),
            fstype: Some(c("tmpfs")?),
            flags: ro | libc::MS_RDONLY,
            data: Some(c("mode=755")?),
            remount_flags: None,
        })),
        Hierarchy::V2(_) => steps.push(RootStep::Mount(MountStep {
            target: in_root(dest)?,
            kind: TargetKind::Dir,
            source: Some(c("cgroup2")?),
            fstype: Some(c("cgroup2")?),
            flags: ro,
            data: None,
            remount_flags: None,
        })),
        Hierarchy::V1(hs) => {
            steps.push(RootStep::Mount(MountStep {
                target: in_root(dest)?,
                kind: TargetKind::Dir,
                source: Some(c("tmpfs")?),
                fstype: Some(c("tmpfs")?),
                flags: libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                data: Some(c("mode=755")?),
                remount_flags: None,
            }));
            for h in hs.iter().filter(|h| !h.controllers.is_empty()) {
                let name = h
                    .mountpoint
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy();
                steps.push(RootStep::Mount(MountStep {
                    target: in_root(&format!("{dest}/{name}"))?,
                    kind: TargetKind::Dir,
                    source: Some(c("cgroup")?),
                    fstype: Some(c("cgroup")?),
                    flags: ro,
                    data: Some(c(&h.options)?),
                    remount_flags: None,
                }));
            }
            if readonly {
                steps.push(RootStep::RemountReadonly {
                    path: in_root(dest)?,
                    flags: libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                });
            }
        }
    }
    Ok(())
}

/// The minimal /dev every container gets, plus the spec's extra devices.
/// In a user namespace of its own mknod is refused: each node is then a
/// bind mount of the host's (as runc does).
fn dev_steps(spec: &Spec, userns: bool, steps: &mut Vec<RootStep>) -> Result<()> {
    let device = |path: &str, mode: u32, dev: libc::dev_t| -> Result<RootStep> {
        if !userns {
            return Ok(RootStep::Device {
                path: in_root(path)?,
                mode,
                dev,
            });
        }
        Ok(RootStep::Mount(MountStep {
            target: in_root(path)?,
            kind: TargetKind::File,
            source: Some(c(path)?),
            fstype: None,
            flags: libc::MS_BIND,
            data: None,
            remount_flags: None,
        }))
    };
    let mk = |major: u32, minor: u32| libc::makedev(major, minor);
    let mut devices = vec![
        ("/dev/null", mk(1, 3)),
        ("/dev/zero", mk(1, 5)),
        ("/dev/full", mk(1, 7)),
        ("/dev/random", mk(1, 8)),
        ("/dev/urandom", mk(1, 9)),
        ("/dev/tty", mk(5, 0)),
    ];
    // The spec's devices (a privileged container's are the host's): the
    // node type and permission bits go to mknod as given.
    let extra: Vec<(String, u32, libc::dev_t)> = spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().clone())
        .unwrap_or_default()
        .iter()
        .filter_map(|d| {
            let kind = match d.typ().as_str() {
                "c" | "u" => libc::S_IFCHR,
                "b" => libc::S_IFBLK,
                _ => return None,
            };
            Some((
                d.path().to_string_lossy().into_owned(),
                kind | d.file_mode().unwrap_or(0o666) & 0o7777,
                mk(d.major() as u32, d.minor() as u32),
            ))
        })
        .collect();
    for (path, dev) in devices.drain(..) {
        steps.push(device(path, libc::S_IFCHR | 0o666, dev)?);
    }
    for (path, mode, dev) in extra {
        steps.push(device(&path, mode, dev)?);
    }
    for (link, target) in [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
        ("/dev/ptmx", "pts/ptmx"),
        ("/dev/core", "/proc/kcore"),
    ] {
        steps.push(RootStep::Symlink {
            target: c(target)?,
            link: in_root(link)?,
        });
    }
    Ok(())
}

fn rlimit_resource(t: PosixRlimitType) -> Option<libc::c_int> {
    let name = serde_json::to_value(t).ok()?.as_str()?.to_string();
    Some(match name.as_str() {
        "RLIMIT_CPU" => libc::RLIMIT_CPU,
        "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
        "RLIMIT_DATA" => libc::RLIMIT_DATA,
        "RLIMIT_STACK" => libc::RLIMIT_STACK,
        "RLIMIT_CORE" => libc::RLIMIT_CORE,
        "RLIMIT_RSS" => libc::RLIMIT_RSS,
        "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
        "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
        "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK,
        "RLIMIT_AS" => libc::RLIMIT_AS,
        "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS,
        "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING,
        "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => libc::RLIMIT_NICE,
        "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME,
        _ => return None,
    } as libc::c_int)
}

/// The process half of a plan (also used by exec).
pub fn process_plan(p: &Process, stdio: [RawFd; 3]) -> Result<ProcessPlan> {
    let args = p.args().clone().unwrap_or_default();
    let argv0 = args.first().ok_or_else(|| {
        invalid("no command: the image has no ENTRYPOINT or CMD and none was given")
    })?;
    let env = p.env().clone().unwrap_or_default();
    let mut rlimits = Vec::new();
    for r in p.rlimits().iter().flatten() {
        let res = rlimit_resource(r.typ())
            .ok_or_else(|| invalid(format!("unknown rlimit {:?}", r.typ())))?;
        rlimits.push((
            res,
            libc::rlimit {
                rlim_cur: r.soft(),
                rlim_max: r.hard(),
            },
        ));
    }
    let user = p.user();
    Ok(ProcessPlan {
        exec_candidates: exec_candidates(argv0, &env).map_err(invalid)?,
        argv: CStrArray::new(&args).map_err(invalid)?,
        envp: CStrArray::new(&env).map_err(invalid)?,
        cwd: c(&p.cwd().to_string_lossy())?,
        uid: user.uid(),
        gid: user.gid(),
        groups: crate::rootless::groups_to_set(
            user.gid(),
            user.additional_gids().clone().unwrap_or_default(),
        )?,
        caps: CapMasks::from_spec(p.capabilities().as_ref()),
        last_cap: last_cap(),
        no_new_privs: p.no_new_privileges().unwrap_or(false),
        seccomp: None,
        rlimits,
        stdio,
        tty: p.terminal().unwrap_or(false),
        parent_death_signal: 0,
    })
}
