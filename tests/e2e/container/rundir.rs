//! The run directory (issue 15, start path): a container's transient files
//! live on a tmpfs under `/run/hoist/<per-root dir>` (`/dev/shm/hoist/…` where
//! /run is on disk), its record (hoist.json, log, upper dir, last state) in
//! the store; `--rm` containers live only in
//! the run directory. A reboot (the run directory emptied) loses nothing
//! that must persist.

use super::{assert_nothing_left, Fixture};
use hoist_testkit::wait_until;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn on_tmpfs(path: &Path) -> bool {
    nix::sys::statfs::statfs(path)
        .unwrap_or_else(|e| panic!("statfs {}: {e}", path.display()))
        .filesystem_type()
        == nix::sys::statfs::TMPFS_MAGIC
}

fn path_of(v: &Value, key: &str) -> PathBuf {
    PathBuf::from(
        v[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} in inspect")),
    )
}

/// The container's run dir (where its spec is).
fn run_dir(v: &Value) -> PathBuf {
    path_of(v, "OCIConfigPath").parent().unwrap().to_path_buf()
}

/// The run dir of the store root the container belongs to:
/// `<run dir of the root>/containers/<id>`.
fn root_run_dir(v: &Value) -> PathBuf {
    run_dir(v).parent().unwrap().parent().unwrap().to_path_buf()
}

/// Container IDs with a directory in `dir`.
fn ids_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.len() == 64)
                .collect()
        })
        .unwrap_or_default()
}

fn monitor_pid(v: &Value) -> i32 {
    let state: Value =
        serde_json::from_slice(&std::fs::read(run_dir(v).join("state.json")).unwrap()).unwrap();
    state["monitor_pid"].as_i64().unwrap() as i32
}

#[test]
fn transient_files_of_a_running_container_are_on_a_tmpfs() {
    let Some(f) = Fixture::new() else { return };
    let id = f.ok(&["run", "-d", "--name", "keep", "busybox", "sleep", "60"]);
    let v = f.inspect("keep");
    let run = run_dir(&v);
    assert!(
        !run.starts_with(f.path()),
        "run dir {} in the store",
        run.display()
    );
    assert!(run.ends_with(&id));
    for key in [
        "OCIConfigPath",
        "HostsPath",
        "HostnamePath",
        "ResolvConfPath",
    ] {
        let p = path_of(&v, key);
        assert!(p.exists(), "{key} {}", p.display());
        assert!(on_tmpfs(&p), "{key} {} is not on a tmpfs", p.display());
        assert_eq!(p.parent().unwrap(), run, "{key}");
    }
    for name in ["state.json", "monitor.sock", "rootfs"] {
        assert!(
            run.join(name).exists(),
            "{name} missing in {}",
            run.display()
        );
    }
    // The record stays in the store, on its filesystem.
    let record = path_of(&v, "StaticDir");
    assert_eq!(record, f.path().join("containers").join(&id));
    assert!(!on_tmpfs(&record), "the record dir is on a tmpfs");
    assert!(record.join("hoist.json").exists());
    assert_eq!(path_of(&v, "LogPath").parent().unwrap(), record);
    let upper = PathBuf::from(v["GraphDriver"]["Data"]["UpperDir"].as_str().unwrap());
    assert_eq!(upper, record.join("upper"));
    for transient in ["config.json", "hosts", "monitor.sock"] {
        assert!(!record.join(transient).exists(), "{transient} in the store");
    }
    f.ok(&["rm", "-f", "keep"]);
    assert!(!run.exists() && !record.exists());
    assert!(
        !root_run_dir(&v).exists(),
        "the root's run dir stays after its last container"
    );
    assert_nothing_left(&id);
}

#[test]
fn record_state_and_log_survive_a_lost_run_dir() {
    let Some(f) = Fixture::new() else { return };
    // One container that had exited (its exit code must persist), one that
    // was running when the "machine went down" (its monitor and container
    // killed, as a power cut would).
    let done = f.out(&["run", "--name", "done", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(done.status.code(), Some(3));
    let id = f.ok(&[
        "run",
        "-d",
        "--name",
        "keep",
        "busybox",
        "sh",
        "-c",
        "echo before; sleep 60",
    ]);
    wait_until("the first log line", Duration::from_secs(10), || {
        f.ok(&["logs", "keep"]).contains("before")
    });
    let v = f.inspect("keep");
    let root_run = root_run_dir(&v);
    // SAFETY: SIGKILL to the monitor this test started (by PID).
    unsafe { libc::kill(monitor_pid(&v), libc::SIGKILL) };
    wait_until(
        "the container to end with its monitor",
        Duration::from_secs(10),
        || f.inspect("keep")["State"]["Status"] == "exited",
    );
    // The reboot: the run dir (a tmpfs) comes back empty.
    std::fs::remove_dir_all(&root_run).unwrap();

    let ps = f.ok(&["ps", "-a"]);
    assert!(ps.contains("keep") && ps.contains("done"), "{ps}");
    let keep = f.inspect("keep");
    assert_eq!(keep["State"]["Status"], "exited", "{keep}");
    assert_eq!(keep["State"]["Running"], false);
    let error = keep["State"]["Error"].as_str().unwrap();
    assert!(error.contains("machine restarted"), "{error}");
    let done = f.inspect("done");
    assert_eq!(done["State"]["Status"], "exited");
    assert_eq!(done["State"]["ExitCode"], 3, "the exit code was lost");
    assert!(f.ok(&["logs", "keep"]).contains("before"));

    // start makes the run dir again: spec, /etc files, state.
    f.ok(&["start", "keep"]);
    wait_until("the second run's log line", Duration::from_secs(10), || {
        f.ok(&["logs", "keep"]).matches("before").count() == 2
    });
    let again = f.inspect("keep");
    assert_eq!(again["State"]["Status"], "running");
    assert!(on_tmpfs(&path_of(&again, "HostsPath")));
    assert_eq!(again["Config"]["Hostname"], keep["Config"]["Hostname"]);
    f.ok(&["stop", "-t", "1", "keep"]);
    f.ok(&["rm", "keep", "done"]);
    assert!(!f.path().join("containers").join(&id).exists());
    assert!(!root_run.exists());
    assert_nothing_left(&id);
}

#[test]
fn run_rm_leaves_nothing_in_either_place() {
    let Some(f) = Fixture::new() else { return };
    let id = f.ok(&[
        "run", "--rm", "-d", "--name", "gone", "busybox", "sleep", "60",
    ]);
    let v = f.inspect("gone");
    // Everything of a --rm container is in its run dir, its upper dir too:
    // nothing of it is on the store's filesystem.
    let run = run_dir(&v);
    assert_eq!(path_of(&v, "StaticDir"), run);
    assert!(on_tmpfs(&path_of(&v, "LogPath")));
    let upper = PathBuf::from(v["GraphDriver"]["Data"]["UpperDir"].as_str().unwrap());
    assert!(upper.starts_with(&run) && on_tmpfs(&upper));
    assert!(ids_in(&f.path().join("containers")).is_empty());
    assert_eq!(f.ok(&["ps", "-q"]), id[..12]);
    // Its name (kept in the run dir) is taken for containers of either kind.
    assert_eq!(f.inspect("gone")["Id"], id.as_str());
    for args in [
        &["create", "--name", "gone", "busybox", "true"][..],
        &["create", "--rm", "--name", "gone", "busybox", "true"][..],
    ] {
        let out = f.out(args);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert!(
            super::stderr(&out).contains("gone"),
            "{}",
            super::stderr(&out)
        );
    }
    let out = f.out(&["run", "--rm", "--name", "gone-too", "busybox", "true"]);
    assert!(out.status.success());
    f.ok(&["stop", "-t", "1", "gone"]);
    wait_until("the --rm container to go", Duration::from_secs(10), || {
        f.ok(&["ps", "-aq"]).is_empty()
    });
    assert!(!root_run_dir(&v).exists(), "{}", root_run_dir(&v).display());

    assert_eq!(
        f.ok(&["run", "--rm", "--network", "none", "busybox", "echo", "hi"]),
        "hi"
    );
    assert!(!root_run_dir(&v).exists());
    assert!(ids_in(&f.path().join("containers")).is_empty());
    assert!(f.ok(&["ps", "-aq"]).is_empty());
    // A --rm run that cannot start leaves nothing either.
    let bad = f.out(&[
        "run",
        "--rm",
        "--name",
        "bad",
        "busybox",
        "/no/such/command",
    ]);
    assert_eq!(bad.status.code(), Some(127), "{}", super::stderr(&bad));
    assert!(!root_run_dir(&v).exists());
    assert!(f.ok(&["ps", "-aq"]).is_empty());
    assert_nothing_left(&id);
}

#[test]
fn two_store_roots_do_not_see_each_others_containers() {
    let Some(a) = Fixture::new() else { return };
    let Some(b) = Fixture::new() else { return };
    let in_a = a.ok(&["run", "-d", "--name", "same", "busybox", "sleep", "60"]);
    // A kept container's name is taken for a --rm one too.
    let out = a.out(&["run", "--rm", "--name", "same", "busybox", "true"]);
    assert_ne!(out.status.code(), Some(0));
    let in_b = b.ok(&["run", "-d", "--name", "same", "busybox", "sleep", "60"]);
    let rm_in_b = b.ok(&["run", "--rm", "-d", "busybox", "sleep", "60"]);
    assert_eq!(a.ok(&["ps", "-aq"]), in_a[..12]);
    let b_ids = b.ok(&["ps", "-aq"]);
    assert!(
        b_ids.contains(&in_b[..12])
            && b_ids.contains(&rm_in_b[..12])
            && !b_ids.contains(&in_a[..12]),
        "{b_ids}"
    );
    let (va, vb) = (a.inspect("same"), b.inspect("same"));
    assert_ne!(root_run_dir(&va), root_run_dir(&vb));
    assert_eq!(
        ids_in(&root_run_dir(&va).join("containers")),
        vec![in_a.clone()]
    );
    a.ok(&["rm", "-f", "same"]);
    assert_eq!(b.inspect("same")["State"]["Status"], "running");
    assert!(!root_run_dir(&va).exists());
    assert!(root_run_dir(&vb).exists());
    b.ok(&["rm", "-f", "same", &rm_in_b]);
    assert!(!root_run_dir(&vb).exists());
    for id in [&in_a, &in_b, &rm_in_b] {
        assert_nothing_left(id);
    }
}
