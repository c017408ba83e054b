//! hoist's default seccomp profile, the same in effect as docker's default
//! (and stricter than podman's, which leaves `unshare`, `mount` and `setns`
//! to the capability checks): an allow list, everything else EPERM. Calls
//! that need a capability the container lacks are refused by the filter
//! before the kernel's permission check is ever reached, so a kernel bug
//! behind them cannot be reached either; `--cap-add` opens them again.
//! Built as a `Profile`, so it is resolved against the container's
//! capabilities by the same code as a user's profile file.

use super::profile::{Arg, Filter, Profile, Rule};

/// Allowed for every container, grouped by what they are for. Names unknown
/// to this machine's libseccomp or architecture are skipped at compile time.
const FILES: &[&str] = &[
    "access",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "close",
    "close_range",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futimesat",
    "getcwd",
    "getdents",
    "getdents64",
    "getxattr",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listxattr",
    "llistxattr",
    "_llseek",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "name_to_handle_at",
    "newfstatat",
    "open",
    "openat",
    "openat2",
    "pread64",
    "preadv",
    "preadv2",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "rmdir",
    "sendfile",
    "sendfile64",
    "setxattr",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "tee",
    "truncate",
    "truncate64",
    "umask",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vmsplice",
    "write",
    "writev",
];

/// Waiting and event notification, asynchronous I/O.
const EVENTS: &[&str] = &[
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "fanotify_mark",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "io_setup",
    "io_submit",
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "ioctl",
    "_newselect",
    "pause",
    "poll",
    "ppoll",
    "ppoll_time64",
    "pselect6",
    "pselect6_time64",
    "select",
    "signalfd",
    "signalfd4",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
];

const MEMORY: &[&str] = &[
    "brk",
    "madvise",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mremap",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "remap_file_pages",
];

/// Processes, threads, scheduling, limits, identity.
const PROCESSES: &[&str] = &[
    "capget",
    "capset",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "fork",
    "futex",
    "futex_time64",
    "futex_waitv",
    "get_robust_list",
    "get_thread_area",
    "getcpu",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "getrusage",
    "getsid",
    "gettid",
    "getuid",
    "getuid32",
    "ioprio_get",
    "ioprio_set",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "pidfd_open",
    "pidfd_send_signal",
    "prctl",
    "prlimit64",
    "process_mrelease",
    "restart_syscall",
    "rseq",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "set_robust_list",
    "set_thread_area",
    "set_tid_address",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "setsid",
    "setuid",
    "setuid32",
    "sysinfo",
    "ugetrlimit",
    "uname",
    "vfork",
    "wait4",
    "waitid",
    "waitpid",
];

const SIGNALS: &[&str] = &[
    "alarm",
    "getitimer",
    "kill",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "setitimer",
    "sigaltstack",
    "sigprocmask",
    "sigreturn",
    "tgkill",
    "tkill",
];

/// Reading clocks and timers (setting the clock needs CAP_SYS_TIME, below).
const TIME: &[&str] = &[
    "adjtimex",
    "clock_adjtime",
    "clock_adjtime64",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "gettimeofday",
    "nanosleep",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "times",
];

/// Sockets (`socket` itself has its own rule) and System V / POSIX IPC.
const NET_IPC: &[&str] = &[
    "accept",
    "accept4",
    "bind",
    "connect",
    "getpeername",
    "getsockname",
    "getsockopt",
    "listen",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "send",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setsockopt",
    "shutdown",
    "socketcall",
    "socketpair",
    "ipc",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "pipe",
    "pipe2",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
];

/// Calls allowed only with a capability: the namespace, mount, module, BPF,
/// tracing... calls that the container escapes go through.
const BY_CAPABILITY: &[(&str, &[&str])] = &[
    (
        "CAP_SYS_ADMIN",
        &[
            "bpf",
            "clone",
            "clone3",
            "fanotify_init",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "lookup_dcookie",
            "mount",
            "mount_setattr",
            "move_mount",
            "open_tree",
            "perf_event_open",
            "quotactl",
            "quotactl_fd",
            "setdomainname",
            "sethostname",
            "setns",
            "syslog",
            "umount",
            "umount2",
            "unshare",
        ],
    ),
    ("CAP_DAC_READ_SEARCH", &["open_by_handle_at"]),
    ("CAP_SYS_BOOT", &["reboot"]),
    ("CAP_SYS_CHROOT", &["chroot"]),
    (
        "CAP_SYS_MODULE",
        &["delete_module", "init_module", "finit_module"],
    ),
    ("CAP_SYS_PACCT", &["acct"]),
    (
        "CAP_SYS_PTRACE",
        &[
            "kcmp",
            "pidfd_getfd",
            "process_madvise",
            "process_vm_readv",
            "process_vm_writev",
            "ptrace",
        ],
    ),
    ("CAP_SYS_RAWIO", &["iopl", "ioperm"]),
    (
        "CAP_SYS_TIME",
        &["settimeofday", "stime", "clock_settime", "clock_settime64"],
    ),
    ("CAP_SYS_TTY_CONFIG", &["vhangup"]),
    (
        "CAP_SYS_NICE",
        &[
            "get_mempolicy",
            "mbind",
            "set_mempolicy",
            "set_mempolicy_home_node",
        ],
    ),
    ("CAP_SYSLOG", &["syslog"]),
    ("CAP_BPF", &["bpf"]),
    ("CAP_PERFMON", &["perf_event_open"]),
];

/// The clone flags that make namespaces (CLONE_NEWNS, NEWCGROUP, NEWUTS,
/// NEWIPC, NEWUSER, NEWPID, NEWNET): a plain clone (threads, fork) must have
/// none of them without CAP_SYS_ADMIN.
const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;

/// personality(2) values programs legitimately set: PER_LINUX, PER_LINUX32,
/// UNAME26, PER_LINUX32|UNAME26, and the query 0xffffffff.
const PERSONALITIES: [u64; 5] = [0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

/// AF_VSOCK: sockets to the hypervisor stay closed.
const AF_VSOCK: u64 = 40;

const ERRNO_EPERM: u32 = 1;
const ERRNO_ENOSYS: u32 = 38;

fn allow(names: &[&str]) -> Rule {
    Rule {
        names: Some(names.iter().map(|n| n.to_string()).collect()),
        action: "SCMP_ACT_ALLOW".into(),
        ..Default::default()
    }
}

fn when(mut rule: Rule, includes: Filter, excludes: Filter) -> Rule {
    rule.includes = Some(includes);
    rule.excludes = Some(excludes);
    rule
}

fn arches(a: &[&str]) -> Filter {
    Filter {
        arches: Some(a.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    }
}

fn caps(c: &[&str]) -> Filter {
    Filter {
        caps: Some(c.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    }
}

fn arg(index: u32, op: &str, value: u64) -> Arg {
    Arg {
        index,
        value,
        value_two: 0,
        op: op.into(),
    }
}

/// The profile every container, exec and build step gets unless told otherwise.
pub fn profile() -> Profile {
    let mut rules = Vec::new();
    let base: Vec<&str> = [FILES, EVENTS, MEMORY, PROCESSES, SIGNALS, TIME, NET_IPC].concat();
    rules.push(allow(&base));
    // Older kernels let ptrace cross the seccomp filter; from 4.8 on it
    // cannot, so it is as safe as any other call.
    rules.push(when(
        allow(&["ptrace", "process_vm_readv", "process_vm_writev"]),
        Filter {
            min_kernel: Some("4.8".into()),
            ..Default::default()
        },
        Filter::default(),
    ));
    let mut socket = allow(&["socket"]);
    socket.args = Some(vec![arg(0, "SCMP_CMP_NE", AF_VSOCK)]);
    rules.push(socket);
    for p in PERSONALITIES {
        let mut r = allow(&["personality"]);
        r.args = Some(vec![arg(0, "SCMP_CMP_EQ", p)]);
        rules.push(r);
    }
    rules.push(when(
        allow(&["arch_prctl"]),
        arches(&["amd64", "x32"]),
        Filter::default(),
    ));
    rules.push(when(
        allow(&["modify_ldt"]),
        arches(&["amd64", "x32", "x86"]),
        Filter::default(),
    ));
    rules.push(when(
        allow(&[
            "arm_fadvise64_64",
            "arm_sync_file_range",
            "sync_file_range2",
            "breakpoint",
            "cacheflush",
            "set_tls",
        ]),
        arches(&["arm", "arm64"]),
        Filter::default(),
    ));
    rules.push(when(
        allow(&["riscv_flush_icache"]),
        arches(&["riscv64"]),
        Filter::default(),
    ));
    rules.push(when(
        allow(&[
            "s390_pci_mmio_read",
            "s390_pci_mmio_write",
            "s390_runtime_instr",
        ]),
        arches(&["s390", "s390x"]),
        Filter::default(),
    ));
    for (cap, names) in BY_CAPABILITY {
        rules.push(when(allow(names), caps(&[cap]), Filter::default()));
    }
    // Threads and fork, but no new namespaces, without CAP_SYS_ADMIN (s390
    // passes the flags second).
    let mut clone = allow(&["clone"]);
    clone.args = Some(vec![arg(0, "SCMP_CMP_MASKED_EQ", CLONE_NAMESPACE_FLAGS)]);
    rules.push(when(
        clone,
        Filter::default(),
        Filter {
            caps: Some(vec!["CAP_SYS_ADMIN".into()]),
            arches: Some(vec!["s390".into(), "s390x".into()]),
            ..Default::default()
        },
    ));
    let mut clone_s390 = allow(&["clone"]);
    clone_s390.args = Some(vec![arg(1, "SCMP_CMP_MASKED_EQ", CLONE_NAMESPACE_FLAGS)]);
    rules.push(when(
        clone_s390,
        arches(&["s390", "s390x"]),
        caps(&["CAP_SYS_ADMIN"]),
    ));
    // clone3 passes its flags in memory the filter cannot read: ENOSYS makes
    // glibc fall back to clone, whose flags it can.
    rules.push(when(
        Rule {
            names: Some(vec!["clone3".into()]),
            action: "SCMP_ACT_ERRNO".into(),
            errno_ret: Some(ERRNO_ENOSYS),
            ..Default::default()
        },
        Filter::default(),
        caps(&["CAP_SYS_ADMIN"]),
    ));
    let arch_map = |arch: &str, subs: &[&str]| super::profile::ArchMap {
        architecture: arch.into(),
        sub_architectures: Some(subs.iter().map(|s| s.to_string()).collect()),
    };
    Profile {
        default_action: "SCMP_ACT_ERRNO".into(),
        default_errno_ret: Some(ERRNO_EPERM),
        arch_map: Some(vec![
            arch_map("SCMP_ARCH_X86_64", &["SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
            arch_map("SCMP_ARCH_AARCH64", &["SCMP_ARCH_ARM"]),
            arch_map("SCMP_ARCH_S390X", &["SCMP_ARCH_S390"]),
            arch_map("SCMP_ARCH_RISCV64", &[]),
            arch_map("SCMP_ARCH_PPC64LE", &[]),
        ]),
        syscalls: Some(rules),
        ..Default::default()
    }
}
