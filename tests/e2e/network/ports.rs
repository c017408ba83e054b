//! Published ports of a container on a bridge network: the monitor's proxy
//! reaches it, and readiness still gates new connections.

use super::env::NetEnv;
use hoist_testkit::wait_until;
use std::time::Duration;

const WEB: &str = "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www";

#[test]
fn published_port_reaches_a_bridge_container_and_readiness_gates_it() {
    let Some(env) = NetEnv::new("ports") else {
        return;
    };
    env.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        "127.0.0.1:18080:8080",
        "--readiness-probe",
        "exec cat /tmp/ready period=200ms failure=1",
        "busybox",
        "sh",
        "-c",
        WEB,
    ]);
    assert!(!env.ip_of("web", "bridge").is_empty());
    let get = || {
        let out = env
            .ns
            .command("curl")
            .args(["-s", "-m", "2", "http://127.0.0.1:18080/index.html"])
            .output()
            .expect("run curl");
        String::from_utf8_lossy(&out.stdout).contains("hello")
    };
    // Not ready: the proxy closes new connections.
    assert!(!get(), "served before ready");
    env.ok(&["exec", "web", "touch", "/tmp/ready"]);
    wait_until("ready and served", Duration::from_secs(20), get);
    env.ok(&["exec", "web", "rm", "/tmp/ready"]);
    wait_until("not served once not ready", Duration::from_secs(20), || {
        !get()
    });
}

#[test]
fn a_restarted_container_with_ports_leaves_no_old_veth_behind() {
    let Some(env) = NetEnv::new("restart") else {
        return;
    };
    let id = env.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--restart",
        "always",
        "-p",
        "127.0.0.1:18081:8080",
        "busybox",
        "sh",
        "-c",
        WEB,
    ]);
    let get = || {
        let out = env
            .ns
            .command("curl")
            .args(["-s", "-m", "2", "http://127.0.0.1:18081/index.html"])
            .output()
            .expect("run curl");
        String::from_utf8_lossy(&out.stdout).contains("hello")
    };
    wait_until("served", Duration::from_secs(20), get);
    // The proxy's connector thread is now inside the container's namespace.
    let state = |key: &str| {
        let path = env.root.join("containers").join(&id).join("state.json");
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap_or_default()).unwrap_or_default();
        v[key].as_i64().unwrap_or(0)
    };
    let pid = state("pid") as i32;
    // SAFETY: the container's PID 1, read from its state; a crash to restart from.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    wait_until("restarted", Duration::from_secs(20), || {
        let p = state("pid");
        p > 0 && p != pid as i64
    });
    // Before any new connection: only the new run's veth, one lease.
    let links = env.ip(&["-o", "link"]);
    assert_eq!(links.matches("veth").count(), 1, "{links}");
    assert_eq!(env.leases("bridge").len(), 1);
    wait_until("served again", Duration::from_secs(20), get);
}
