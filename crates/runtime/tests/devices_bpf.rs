//! The cgroup v2 device program in the kernel (root only). This machine binds
//! every controller to cgroup v1, but a cgroup2 hierarchy can still be mounted
//! and device programs need no controller: the test mounts one on a temp dir,
//! creates a container cgroup in it through the v2 code hoist runs, with the
//! device rules of hoist's own spec, and forks a child that joins it and tries
//! devices.

use hoist_runtime::cgroup::{devices_bpf, v2, Limits};
use hoist_runtime::spec::{build_spec, SpecInput};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// A cgroup2 mount on a temp dir; on drop removes the cgroups made in it
/// (children first) and unmounts, also when an assertion failed.
struct Cgroup2Mount {
    dir: tempfile::TempDir,
    cgroups: Vec<PathBuf>,
}

impl Cgroup2Mount {
    fn new() -> Cgroup2Mount {
        let dir = tempfile::tempdir().unwrap();
        nix::mount::mount(
            Some("none"),
            dir.path(),
            Some("cgroup2"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        )
        .expect("mounting cgroup2");
        Cgroup2Mount {
            dir,
            cgroups: Vec::new(),
        }
    }
}

impl Drop for Cgroup2Mount {
    fn drop(&mut self) {
        for cgroup in self.cgroups.iter().rev() {
            // A reaped child can linger in the cgroup for a moment.
            for _ in 0..200 {
                match std::fs::remove_dir(cgroup) {
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                        std::thread::sleep(std::time::Duration::from_millis(5))
                    }
                    _ => break,
                }
            }
        }
        let _ = nix::mount::umount2(self.dir.path(), nix::mount::MntFlags::MNT_DETACH);
    }
}

fn cstr(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

fn mknod(path: &Path, kind: libc::mode_t, major: u32, minor: u32) -> i32 {
    // SAFETY: a NUL-terminated path.
    let r = unsafe {
        libc::mknod(
            cstr(path).as_ptr(),
            kind | 0o600,
            libc::makedev(major, minor),
        )
    };
    if r == 0 {
        0
    } else {
        std::io::Error::last_os_error().raw_os_error().unwrap()
    }
}

/// Opens `path` read-only and closes it: 0 or the errno.
fn open_errno(path: &CString, flags: i32) -> i32 {
    // SAFETY: a NUL-terminated path; the fd is closed at once.
    let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return std::io::Error::last_os_error().raw_os_error().unwrap();
    }
    // SAFETY: fd was opened just above.
    unsafe { libc::close(fd) };
    0
}

const STEPS: [&str; 7] = [
    "join the cgroup",
    "open /dev/null rw",
    "open c 7:0",
    "open b 8:0",
    "mknod c 1:3",
    "mknod c 7:0",
    "mknod b 8:0",
];

/// Forks a child that joins the cgroup through `procs` and tries each step;
/// returns each step's errno (0 = it worked).
fn try_devices_in(procs: &Path, nodes: &Path) -> [i32; 7] {
    let procs = cstr(procs);
    let dev_null = CString::new("/dev/null").unwrap();
    let (vcs, sda) = (cstr(&nodes.join("vcs")), cstr(&nodes.join("sda")));
    let made = [
        (cstr(&nodes.join("child-null")), libc::S_IFCHR, 1, 3),
        (cstr(&nodes.join("child-vcs")), libc::S_IFCHR, 7, 0),
        (cstr(&nodes.join("child-sda")), libc::S_IFBLK, 8, 0),
    ];
    let mut pipe = [0; 2];
    // SAFETY: pipe2 fills the two-int array.
    assert_eq!(
        unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) },
        0
    );
    // SAFETY: the child only makes raw syscalls on data prepared above, then
    // _exits (the parent's other threads are not needed).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let errno = || std::io::Error::last_os_error().raw_os_error().unwrap_or(-1);
        let mut out = [-1i32; 7];
        // SAFETY (the block): raw syscalls on prepared NUL-terminated paths.
        unsafe {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            // "0" moves the writing process itself.
            out[0] = if fd >= 0 && libc::write(fd, b"0".as_ptr().cast(), 1) == 1 {
                0
            } else {
                errno()
            };
            if out[0] == 0 {
                out[1] = open_errno(&dev_null, libc::O_RDWR);
                out[2] = open_errno(&vcs, libc::O_RDONLY);
                out[3] = open_errno(&sda, libc::O_RDONLY);
                for (i, (path, kind, major, minor)) in made.iter().enumerate() {
                    let dev = libc::makedev(*major, *minor);
                    out[4 + i] = if libc::mknod(path.as_ptr(), kind | 0o600, dev) == 0 {
                        0
                    } else {
                        errno()
                    };
                }
            }
            libc::write(pipe[1], out.as_ptr().cast(), std::mem::size_of_val(&out));
            libc::_exit(0);
        }
    }
    // SAFETY: our write end; the child holds its own copy.
    unsafe { libc::close(pipe[1]) };
    let mut out = [0i32; 7];
    // SAFETY: reads at most the array's size into it, then closes our end.
    let n = unsafe {
        let n = libc::read(
            pipe[0],
            out.as_mut_ptr().cast(),
            std::mem::size_of_val(&out),
        );
        libc::close(pipe[0]);
        n
    };
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(
        n as usize,
        std::mem::size_of_val(&out),
        "the child reported"
    );
    out
}

#[test]
fn docker_device_rules_are_enforced_on_cgroup_v2() {
    hoist_testkit::require_root!();
    let mount = &mut Cgroup2Mount::new();
    let spec = build_spec(&SpecInput {
        args: vec!["sh".into()],
        cwd: "/".into(),
        rootfs: "rootfs".into(),
        ..Default::default()
    })
    .unwrap();
    let limits = Limits::from_spec(spec.linux().as_ref().unwrap().resources().as_ref());
    // The cgroup2 tree is the machine's one: hoist's directories go under a
    // parent of this test's own.
    let root = mount
        .dir
        .path()
        .join(format!("devtest-{}", std::process::id()));
    std::fs::create_dir(&root).unwrap();
    mount.cgroups.push(root.clone());
    mount.cgroups.push(root.join("hoist"));
    mount.cgroups.push(root.join("hoist/ctr"));
    let cgroup = v2::create(&root, "ctr", &limits).expect("creating the cgroup");
    assert_eq!(devices_bpf::attached(&cgroup).unwrap().len(), 1);

    let nodes = tempfile::tempdir().unwrap();
    assert_eq!(mknod(&nodes.path().join("vcs"), libc::S_IFCHR, 7, 0), 0);
    assert_eq!(mknod(&nodes.path().join("sda"), libc::S_IFBLK, 8, 0), 0);
    // Outside the cgroup nothing refuses these (the EPERMs below are the
    // program's doing).
    assert_ne!(
        open_errno(&cstr(&nodes.path().join("sda")), libc::O_RDONLY),
        libc::EPERM
    );

    let got = try_devices_in(&cgroup.join("cgroup.procs"), nodes.path());
    let want = [0, 0, libc::EPERM, libc::EPERM, 0, 0, libc::EPERM];
    for ((step, got), want) in STEPS.iter().zip(got).zip(want) {
        assert_eq!(got, want, "{step}: got errno {got}, expected {want}");
    }
}

#[test]
fn attaching_again_replaces_the_program() {
    hoist_testkit::require_root!();
    let mount = &mut Cgroup2Mount::new();
    let cgroup = mount
        .dir
        .path()
        .join(format!("devtest-again-{}", std::process::id()));
    std::fs::create_dir(&cgroup).unwrap();
    mount.cgroups.push(cgroup.clone());
    let deny_all: oci_spec::runtime::LinuxDeviceCgroup =
        serde_json::from_str(r#"{"allow": false, "access": "rwm"}"#).unwrap();
    let allow_null: oci_spec::runtime::LinuxDeviceCgroup =
        serde_json::from_str(r#"{"allow": true, "type": "c", "major": 1, "minor": 3}"#).unwrap();
    devices_bpf::attach(&cgroup, std::slice::from_ref(&deny_all)).unwrap();
    let first = devices_bpf::attached(&cgroup).unwrap();
    devices_bpf::attach(&cgroup, &[deny_all, allow_null]).unwrap();
    let second = devices_bpf::attached(&cgroup).unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(second.len(), 1);
    assert_ne!(first, second, "the new program replaced the old one");
    // Only the second program's rules apply: /dev/null opens.
    let nodes = tempfile::tempdir().unwrap();
    let got = try_devices_in(&cgroup.join("cgroup.procs"), nodes.path());
    assert_eq!(got[0], 0, "joining the cgroup");
    assert_eq!(got[1], 0, "opening /dev/null under the replacing program");
}
