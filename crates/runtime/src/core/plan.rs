//! Everything the container child needs, prepared in the parent: every path,
//! CString, argv/envp array and bit mask. The child (child.rs) only reads these
//! and makes raw system calls, so it never allocates between clone and execve.

use libc::{c_char, c_int, c_ulong};
use std::ffi::CString;
use std::os::unix::io::RawFd;

use super::caps::CapMasks;

/// A path inside the container's rootfs, as the prefixes to open one after the
/// other ("a", "a/b", "a/b/c") and each component's own name ("a", "b", "c"),
/// so the child can create missing directories without following symlinks out.
#[derive(Debug, Clone)]
pub struct InRootPath {
    pub display: String,
    pub prefixes: Vec<CString>,
    pub names: Vec<CString>,
}

impl InRootPath {
    /// Splits an absolute container path; `..` and `.` components are dropped
    /// after normalizing (the kernel resolves the rest inside the root).
    pub fn new(path: &str) -> Result<InRootPath, String> {
        let mut names: Vec<String> = Vec::new();
        for part in path.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    names.pop();
                }
                p => names.push(p.to_string()),
            }
        }
        let mut prefixes = Vec::new();
        let mut acc = String::new();
        for n in &names {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(n);
            prefixes.push(cstring(&acc)?);
        }
        Ok(InRootPath {
            display: format!("/{}", names.join("/")),
            names: names.iter().map(|n| cstring(n)).collect::<Result<_, _>>()?,
            prefixes,
        })
    }
    pub fn is_root(&self) -> bool {
        self.names.is_empty()
    }
}

/// What must exist at a mount target before mounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Dir,
    File,
}

/// One mount(2) onto a target resolved inside the rootfs, optionally followed
/// by a remount (bind mounts only take `ro`, `nosuid`... on a remount).
#[derive(Debug, Clone)]
pub struct MountStep {
    pub target: InRootPath,
    pub kind: TargetKind,
    pub source: Option<CString>,
    pub fstype: Option<CString>,
    pub flags: c_ulong,
    pub data: Option<CString>,
    pub remount_flags: Option<c_ulong>,
}

/// A step done before pivot_root, relative to the rootfs.
#[derive(Debug, Clone)]
pub enum RootStep {
    Mount(MountStep),
    /// mkdir -p (the working directory, mount points of nothing).
    Mkdir(InRootPath),
    /// A device node: `mode` has the type (S_IFCHR, S_IFBLK) and permissions.
    Device {
        path: InRootPath,
        mode: u32,
        dev: libc::dev_t,
    },
    Symlink {
        target: CString,
        link: InRootPath,
    },
    /// Remount an existing mount read-only (e.g. the /sys/fs/cgroup tmpfs).
    RemountReadonly {
        path: InRootPath,
        flags: c_ulong,
    },
}

impl RootStep {
    pub fn describe(&self) -> String {
        match self {
            RootStep::Mount(m) => format!("mounting {}", m.target.display),
            RootStep::Mkdir(p) => format!("creating directory {}", p.display),
            RootStep::Device { path, .. } => format!("creating device {}", path.display),
            RootStep::Symlink { link, .. } => format!("creating symlink {}", link.display),
            RootStep::RemountReadonly { path, .. } => {
                format!("remounting {} read-only", path.display)
            }
        }
    }
}

/// A NULL-terminated array of pointers into owned CStrings.
#[derive(Debug)]
pub struct CStrArray {
    strings: Vec<CString>,
    ptrs: Vec<*const c_char>,
}

// SAFETY: the pointers point into `strings`, owned by the same value and never mutated.
unsafe impl Send for CStrArray {}
unsafe impl Sync for CStrArray {}

impl CStrArray {
    pub fn new(items: &[String]) -> Result<CStrArray, String> {
        let strings: Vec<CString> = items.iter().map(|s| cstring(s)).collect::<Result<_, _>>()?;
        let mut ptrs: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        Ok(CStrArray { strings, ptrs })
    }
    pub fn as_ptr(&self) -> *const *const c_char {
        self.ptrs.as_ptr()
    }
    pub fn first(&self) -> Option<&CString> {
        self.strings.first()
    }
}

/// The process to execute (shared by container creation and exec).
#[derive(Debug)]
pub struct ProcessPlan {
    pub argv: CStrArray,
    pub envp: CStrArray,
    /// Absolute paths to try with execve in order (argv[0] searched in PATH).
    pub exec_candidates: Vec<CString>,
    pub cwd: CString,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<libc::gid_t>,
    pub caps: CapMasks,
    pub last_cap: u32,
    pub no_new_privs: bool,
    /// The compiled seccomp filter to load (security/cache.rs); None:
    /// unconfined. Loaded just before the credentials change without
    /// no_new_privs (the kernel then wants CAP_SYS_ADMIN, which root still
    /// has there), right after setting it with.
    pub seccomp: Option<std::sync::Arc<crate::security::cache::Program>>,
    pub rlimits: Vec<(c_int, libc::rlimit)>,
    /// Descriptors that become 0, 1 and 2.
    pub stdio: [RawFd; 3],
    /// Make stdin the controlling terminal (a pty slave) in a new session.
    pub tty: bool,
    /// The signal the process gets when the thread that started it ends
    /// (PR_SET_PDEATHSIG; 0: none). A container's monitor sets SIGKILL so
    /// a killed monitor takes its container with it instead of leaving it
    /// running unlogged and unsupervised.
    pub parent_death_signal: c_int,
}

/// A container in a user namespace of its own (idmap.rs): the maps the
/// parent writes between clone and the child's first mount.
#[derive(Debug, Clone)]
pub struct UsernsPlan {
    /// The text of /proc/PID/uid_map and gid_map ("0 100000 65536\n").
    pub uid_map: String,
    pub gid_map: String,
    /// The host ids container root maps to (the upper directory's owner).
    pub root_uid: u32,
    pub root_gid: u32,
}

/// A container whose programs are a foreign platform's (emulation.rs): as
/// its last step the child enters a user namespace of its own, the parent
/// writes these maps, and the child registers the interpreter with a
/// binfmt_misc instance of that namespace.
#[derive(Debug)]
pub struct EmulatorPlan {
    /// qemu-user, opened by the parent; the registration names it as
    /// /proc/self/fd/N.
    pub interpreter: std::os::fd::OwnedFd,
    /// The line written to binfmt_misc's `register`, in one write.
    pub register: CString,
    pub uid_map: String,
    pub gid_map: String,
}

/// A container's whole setup.
#[derive(Debug)]
pub struct ContainerPlan {
    /// CLONE_NEW* flags for clone (the cgroup namespace is unshared later,
    /// once the child has moved itself into its cgroup).
    pub clone_flags: c_int,
    pub cgroup_ns: bool,
    /// The container's cgroup files the child writes "0" to first thing,
    /// opened in the parent (Cgroup::open_join_files). Empty: stay put.
    pub cgroup_join: Vec<std::fs::File>,
    /// With a terminal (-t): the child's end of the socket it sends its pty
    /// master on (console.rs); the parent drops its copy after clone.
    pub console_socket: Option<std::os::fd::OwnedFd>,
    /// The size the child gives that pty (the attached terminal's).
    pub console_size: Option<libc::winsize>,
    /// Existing namespaces to enter first (a pod's net, ipc and uts),
    /// opened in the parent; the child setns()es into each.
    pub join_namespaces: Vec<(std::os::fd::OwnedFd, c_int)>,
    pub loopback_up: bool,
    /// Host path of the directory that becomes `/`.
    pub rootfs: CString,
    /// overlay mount options, when the rootfs is an overlay to mount first.
    pub overlay: Option<CString>,
    pub steps: Vec<RootStep>,
    pub hostname: Option<CString>,
    /// Kernel parameters of its own namespaces (`--sysctl`), written after
    /// the pivot, before the masks and read-only paths (sysctl.rs).
    pub sysctls: Vec<super::sysctl::SysctlWrite>,
    /// `--oom-score-adj` (process.oomScoreAdj) as the text written to
    /// /proc/self/oom_score_adj, inherited by the process.
    pub oom_score_adj: Option<CString>,
    pub masked: Vec<CString>,
    pub readonly: Vec<CString>,
    pub readonly_root: bool,
    /// Its own user namespace (clone adds CLONE_NEWUSER); None: the host's.
    pub userns: Option<UsernsPlan>,
    /// Runs a foreign platform's programs under qemu-user; None: native.
    pub emulator: Option<EmulatorPlan>,
    /// `--init`: PID 1 stays an init and the process runs as its child
    /// (init.rs); None: the process is PID 1.
    pub init: Option<super::init::InitPlan>,
    pub process: ProcessPlan,
}

pub fn cstring(s: &str) -> Result<CString, String> {
    CString::new(s).map_err(|_| format!("{s:?} contains a NUL byte"))
}

/// Where argv[0] may be: itself when it has a '/', else each PATH entry.
pub fn exec_candidates(argv0: &str, env: &[String]) -> Result<Vec<CString>, String> {
    if argv0.contains('/') {
        return Ok(vec![cstring(argv0)?]);
    }
    let path = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| cstring(&format!("{}/{argv0}", d.trim_end_matches('/'))))
        .collect()
}

/// Mount option words to flags; the rest is filesystem data.
/// Returns (flags, data, clear_flags_for_remount).
pub fn parse_mount_options(options: &[String]) -> (c_ulong, String) {
    let mut flags: c_ulong = 0;
    let mut data = Vec::new();
    for o in options {
        let f = match o.as_str() {
            "ro" => libc::MS_RDONLY,
            "rw" => 0,
            "nosuid" => libc::MS_NOSUID,
            "nodev" => libc::MS_NODEV,
            "noexec" => libc::MS_NOEXEC,
            "sync" => libc::MS_SYNCHRONOUS,
            "dirsync" => libc::MS_DIRSYNC,
            "remount" => libc::MS_REMOUNT,
            "mand" => libc::MS_MANDLOCK,
            "noatime" => libc::MS_NOATIME,
            "nodiratime" => libc::MS_NODIRATIME,
            "relatime" => libc::MS_RELATIME,
            "strictatime" => libc::MS_STRICTATIME,
            "bind" => libc::MS_BIND,
            "rbind" => libc::MS_BIND | libc::MS_REC,
            "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" => 0,
            "suid" | "dev" | "exec" | "async" | "atime" | "diratime" => 0,
            _ => {
                data.push(o.clone());
                0
            }
        };
        flags |= f;
    }
    (flags, data.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_root_path_normalizes_dots() {
        let p = InRootPath::new("/a/./b/../../../c//d").unwrap();
        assert_eq!(p.display, "/c/d");
        assert_eq!(p.prefixes[1].to_str().unwrap(), "c/d");
        assert!(InRootPath::new("/").unwrap().is_root());
    }

    #[test]
    fn candidates_follow_path() {
        let env = vec!["PATH=/x:/y/".to_string()];
        let c = exec_candidates("sh", &env).unwrap();
        assert_eq!(c[0].to_str().unwrap(), "/x/sh");
        assert_eq!(c[1].to_str().unwrap(), "/y/sh");
        assert_eq!(exec_candidates("./a", &env).unwrap().len(), 1);
    }

    #[test]
    fn options_split_into_flags_and_data() {
        let opts: Vec<String> = ["nosuid", "ro", "mode=755", "size=65536k"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (flags, data) = parse_mount_options(&opts);
        assert_eq!(flags, libc::MS_NOSUID | libc::MS_RDONLY);
        assert_eq!(data, "mode=755,size=65536k");
    }
}
