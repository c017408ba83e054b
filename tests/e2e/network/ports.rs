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
