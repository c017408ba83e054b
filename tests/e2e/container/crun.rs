//! Cross-check: the OCI bundle hoist writes runs under crun as well.

use super::Fixture;
use std::process::Command;

#[test]
fn written_bundle_runs_under_crun() {
    let Some(f) = Fixture::new() else { return };
    hoist_testkit::require_program!("crun");
    // crun refuses hybrid cgroups while the unified tree has controllers
    // (testdata/install-peers.sh mounts hugetlb as v1 to fix that).
    let unified =
        std::fs::read_to_string("/sys/fs/cgroup/unified/cgroup.controllers").unwrap_or_default();
    if !unified.trim().is_empty() {
        hoist_testkit::skip_or_fail(
            "crun",
            "crun cannot run here (hybrid cgroups; run testdata/install-peers.sh)",
        );
        return;
    }
    let script = "echo crun-ok; hostname; grep CapEff /proc/self/status";
    let id = f.ok(&[
        "create",
        "--hostname",
        "xcheck",
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    let v = f.inspect(&id);
    let data = &v["GraphDriver"]["Data"];
    let rootfs = data["MergedDir"].as_str().unwrap();
    let opts = format!(
        "lowerdir={},upperdir={},workdir={}",
        data["LowerDir"].as_str().unwrap(),
        data["UpperDir"].as_str().unwrap(),
        data["WorkDir"].as_str().unwrap()
    );
    let mounted = Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o", &opts, rootfs])
        .status()
        .unwrap();
    assert!(mounted.success());
    // The bundle: the container's run dir, where its spec is.
    let spec = f.inspect(&id)["OCIConfigPath"]
        .as_str()
        .unwrap()
        .to_string();
    let bundle = std::path::Path::new(&spec).parent().unwrap();
    let out = Command::new("crun")
        .args(["run", "--bundle"])
        .arg(bundle)
        .arg(format!("xcheck-{}", &id[..12]))
        .output()
        .unwrap();
    let _ = Command::new("umount").arg(rootfs).status();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "crun: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Same output as hoist's own run of the same container.
    let ours = f.ok(&["start", "-a", &id]);
    assert_eq!(text.trim_end(), ours, "crun and hoist disagree");
    assert!(ours.starts_with("crun-ok\nxcheck\nCapEff:"), "{ours}");
}
