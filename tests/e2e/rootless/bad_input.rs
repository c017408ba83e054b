//! Rootless bad input: a user without subordinate ranges (a warning, a
//! single-id map, containers still run), a machine without newuidmap
//! (a clear error naming the package; no holder, no pid file, no process),
//! and a kernel without overlayfs in user namespaces (simulated: the
//! reason, nothing made).

use super::stderr;
use super::user::{Ranges, User};

#[test]
fn without_subordinate_ranges_one_id_is_mapped_with_a_warning() {
    let Some(user) = User::new(Ranges::None) else {
        return;
    };
    let out = user.out(&["info", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("no subordinate ids") && err.contains("/etc/subuid"),
        "{err}"
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let map = info["Rootless"]["UIDMap"].as_array().unwrap().clone();
    assert_eq!(map.len(), 1, "{map:?}");
    assert_eq!(map[0]["HostID"], user.uid);
    assert_eq!(map[0]["Size"], 1);
    // The holder is made once: no second warning.
    assert!(!stderr(&user.out(&["images"])).contains("no subordinate ids"));

    user.import_busybox();
    assert_eq!(
        user.ok(&[
            "run",
            "--network",
            "none",
            "--rm",
            "busybox",
            "echo",
            "one-id"
        ]),
        "one-id\n"
    );
    // A process of another id cannot exist in a one-id namespace: refused.
    let out = user.out(&[
        "run",
        "--network",
        "none",
        "--rm",
        "-u",
        "1000",
        "busybox",
        "true",
    ]);
    assert!(!out.status.success());
    user.finish();
}

#[test]
fn without_newuidmap_the_error_names_the_package_and_nothing_is_made() {
    let Some(user) = User::new(Ranges::Given) else {
        return;
    };
    let hoist = crate::common::hoist_bin();
    for env in [
        "HOIST_NEWUIDMAP=/nonexistent/newuidmap".to_string(),
        "PATH=/nonexistent".to_string(),
    ] {
        let out = user
            .command_env(std::slice::from_ref(&env), &hoist)
            .arg("images")
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{env}: {err}");
        assert!(
            err.contains("newuidmap") && err.contains("uidmap"),
            "{env}: {err}"
        );
        assert_eq!(user.holder_pid(), None, "{env}: a holder was recorded");
        assert_eq!(user.processes(), Vec::<i32>::new(), "{env}: processes left");
    }
    user.finish();
}

#[test]
fn without_overlay_in_user_namespaces_the_error_names_the_kernel_feature() {
    let Some(user) = User::new(Ranges::Given) else {
        return;
    };
    let out = user
        .command_env(
            &["HOIST_TEST_NO_USERNS_OVERLAY=1".into()],
            crate::common::hoist_bin(),
        )
        .args(["run", "--rm", "--network", "none", "busybox", "true"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(
        err.contains("overlayfs") && err.contains("user namespace") && err.contains("5.11"),
        "{err}"
    );
    assert_eq!(user.ok(&["ps", "-aq"]), "");
    assert!(
        !user.store().join("snapshots").exists() || {
            std::fs::read_dir(user.store().join("snapshots"))
                .unwrap()
                .next()
                .is_none()
        }
    );
    user.finish();
}
