//! Rootless cgroups (issue 19): a cgroup v2 directory delegated to the
//! user, as systemd delegates user@UID.service. Root makes one for the test
//! under the machine's v2 hierarchy (pure /sys/fs/cgroup, or a hybrid
//! machine's /sys/fs/cgroup/unified) and chowns it and its cgroup.procs,
//! cgroup.subtree_control and cgroup.threads to the user; every command of
//! the user's starts in it. Checked: `info` names it; the holder sits in its
//! `hoist/runtime` leaf and no hoist process stays in the directory itself;
//! a container's processes, and exec's, are in `hoist/<id>` under it;
//! `pause` freezes them (a counter stops) and `unpause` resumes them,
//! `top`/`stats` see them; a limit whose controller is not delegated is refused at create
//! and at update, naming the controller; after rm the container's cgroup
//! is gone. At the end root moves any process left out and removes the
//! directories bottom-up.
//!
//! On a machine whose controllers are all bound to cgroup v1 (this one)
//! the delegated directory has none, so limits cannot be applied here:
//! the refusal is what is checked.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::user::{Ranges, User};
use hoist_testkit::wait_until;

/// A cgroup v2 directory delegated to a user, removed on drop.
struct Delegated {
    /// The v2 hierarchy's mount point.
    mount: PathBuf,
    dir: PathBuf,
}

impl Delegated {
    fn new(user: &User) -> Option<Delegated> {
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let Some((mount, _)) = hoist_runtime::cgroup::delegated::v2_mount(&info) else {
            hoist_testkit::skip_or_fail("rootless", "no cgroup v2 hierarchy is mounted");
            return None;
        };
        let dir = mount.join(format!("hoist-test-{}", user.name));
        std::fs::create_dir(&dir).unwrap();
        let cg = Delegated { mount, dir };
        for f in [
            "",
            "cgroup.procs",
            "cgroup.subtree_control",
            "cgroup.threads",
        ] {
            std::os::unix::fs::chown(cg.dir.join(f), Some(user.uid), Some(user.gid)).unwrap();
        }
        Some(cg)
    }

    /// The cgroup path (as /proc/PID/cgroup shows it) of `dir`.
    fn path_of(&self, dir: &Path) -> String {
        format!("/{}", dir.strip_prefix(&self.mount).unwrap().display())
    }
}

fn procs(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

impl Drop for Delegated {
    fn drop(&mut self) {
        // Deepest first; a process still inside goes to the root first.
        let mut dirs = vec![self.dir.clone()];
        let mut i = 0;
        while i < dirs.len() {
            for e in std::fs::read_dir(&dirs[i]).into_iter().flatten().flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    dirs.push(e.path());
                }
            }
            i += 1;
        }
        for d in dirs.iter().rev() {
            for pid in procs(d) {
                let _ = std::fs::write(self.mount.join("cgroup.procs"), pid);
            }
            if let Err(e) = std::fs::remove_dir(d) {
                eprintln!("removing {}: {e}", d.display());
            }
        }
    }
}

/// The v2 line of /proc/PID/cgroup.
fn cgroup_of(pid: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    hoist_runtime::cgroup::delegated::v2_path(&text)
        .unwrap_or_default()
        .to_string()
}

/// The counter the container writes, read through its root.
fn counter(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/root/count"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_delegated_cgroup_v2_holds_containers_and_pauses_them() {
    let Some(mut user) = User::new(Ranges::Given) else {
        return;
    };
    let Some(cg) = Delegated::new(&user) else {
        return;
    };
    user.in_cgroup(&cg.dir);
    user.import_busybox();

    let info: serde_json::Value =
        serde_json::from_str(&user.ok(&["info", "--format", "json"])).unwrap();
    let mode = info["Rootless"]["Cgroups"].as_str().unwrap().to_string();
    assert!(
        mode.starts_with(&format!(
            "v2 delegated: {} (controllers: ",
            cg.dir.display()
        )),
        "{mode}"
    );
    let holder = user
        .holder_pid()
        .expect("the first command made the holder");
    let leaf = cg.dir.join("hoist/runtime");
    assert_eq!(cgroup_of(&holder.to_string()), cg.path_of(&leaf));
    assert_eq!(
        procs(&cg.dir),
        Vec::<String>::new(),
        "hoist left processes in the directory"
    );

    let id = user
        .ok(&[
            "run",
            "-d",
            "--name",
            "counting",
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            "i=0; while :; do i=$((i+1)); echo $i > /count; sleep 0.02; done",
        ])
        .trim()
        .to_string();
    let pid = user
        .ok(&["inspect", "--format", "{{.State.Pid}}", "counting"])
        .trim()
        .to_string();
    let own = cg.dir.join("hoist").join(&id);
    assert_eq!(cgroup_of(&pid), cg.path_of(&own), "the container's cgroup");
    wait_until("the counter runs", Duration::from_secs(10), || {
        counter(&pid) > 2
    });
    // exec's process joins the container's cgroup (it moves from hoist's
    // leaf: allowed, as D/hoist, their common ancestor, is the user's); in
    // the container's cgroup namespace that is its root (elsewhere it
    // would read /../runtime).
    let seen = user.ok(&["exec", "counting", "cat", "/proc/self/cgroup"]);
    assert!(seen.lines().any(|l| l == "0::/"), "{seen}");
    assert!(
        user.ok(&["top", "counting"]).contains("while"),
        "top lists sh"
    );
    let stats = user.ok(&["stats", "--no-stream", "counting"]);
    assert!(stats.contains("counting"), "{stats}");

    // pause: cgroup.freeze needs no controller.
    user.ok(&["pause", "counting"]);
    let events = || std::fs::read_to_string(own.join("cgroup.events")).unwrap_or_default();
    assert!(events().lines().any(|l| l == "frozen 1"), "{}", events());
    let frozen_at = counter(&pid);
    // An observation window: a running counter moves every ~20 ms.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(counter(&pid), frozen_at, "the counter ran while paused");
    assert!(user.ok(&["ps"]).contains("Paused"));
    user.ok(&["unpause", "counting"]);
    wait_until("the counter runs again", Duration::from_secs(10), || {
        counter(&pid) > frozen_at + 2
    });

    // A limit whose controller is not delegated: refused, naming it.
    let delegated = std::fs::read_to_string(cg.dir.join("cgroup.controllers")).unwrap();
    if !delegated.split_whitespace().any(|c| c == "memory") {
        let out = user.out(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--memory",
            "10m",
            "busybox",
            "true",
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{err}");
        assert!(
            err.contains("--memory needs the memory controller, which is not delegated"),
            "{err}"
        );
        let out = user.out(&["update", "--memory", "20m", "counting"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "update --memory succeeded");
        assert!(err.contains("memory controller"), "{err}");
    }
    assert_eq!(user.ok(&["ps", "-aq"]).lines().count(), 1);

    user.ok(&["rm", "-f", "counting"]);
    wait_until(
        "the container's cgroup is removed",
        Duration::from_secs(10),
        || !own.exists(),
    );
    user.finish();
    drop(cg);
}
