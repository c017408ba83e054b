//! Bad input refused clearly, with nothing half-started: a file that is not YAML, an unknown
//! service in depends_on, a cycle, `${X:?...}` unset — refused before anything is made; a
//! host port already in use — the error names the port and the containers started before
//! it, which stay listed (labelled) until `down` removes them.

use super::env::ComposeEnv;
use hoist_testkit::{wait_until, ChildGuard};
use std::time::Duration;

#[test]
fn refused_before_anything_is_made() {
    let Some(env) = ComposeEnv::new("cmp-bad") else {
        return;
    };
    let cases = [
        ("services: [unclosed", "compose.yaml:2:1: not valid YAML"),
        (
            "services:\n  a:\n    image: busybox:latest\n    depends_on: [ghost]\n",
            "ghost",
        ),
        (
            "services:\n  a: {image: busybox:latest, depends_on: [b]}\n  b: {image: busybox:latest, depends_on: [a]}\n",
            "a -> b -> a",
        ),
        (
            "services:\n  a:\n    image: ${MISSING_IMAGE:?set MISSING_IMAGE to the image to run}\n",
            "set MISSING_IMAGE to the image to run",
        ),
    ];
    for (file, wanted) in cases {
        env.write("compose.yaml", file);
        let err = env.fails(&["compose", "up", "-d"]);
        assert!(err.contains(wanted), "{file:?}: {wanted:?} not in {err}");
        assert!(env.all_containers().is_empty(), "{file:?} left containers");
        assert!(env.network_names().iter().all(|n| !n.ends_with("_default")));
    }
}

#[test]
fn a_port_in_use_is_named_and_what_started_is_reported() {
    let Some(env) = ComposeEnv::new("cmp-port") else {
        return;
    };
    // Held inside the test's namespace, where hoist binds its published ports.
    let port = hoist_testkit::free_port();
    let ready = env.path("holder.ready");
    let script = format!(
        "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',{port}))\ns.listen()\nopen({:?},'w').write('ok')\ntime.sleep(120)",
        ready.display().to_string()
    );
    let holder =
        ChildGuard::spawn(env.net.ns.command("python3").args(["-c", &script])).expect("python3");
    wait_until("the port holder", Duration::from_secs(10), || {
        ready.exists()
    });
    env.write(
        "compose.yaml",
        &format!(
            "name: port\nservices:\n  first:\n    image: busybox:latest\n    command: [sleep, '300']\n    stop_grace_period: 1s\n  second:\n    image: busybox:latest\n    command: [sleep, '300']\n    ports: ['127.0.0.1:{port}:80']\n    depends_on: [first]\n"
        ),
    );
    let err = env.fails(&["compose", "up", "-d"]);
    assert!(err.contains(&port.to_string()), "{err}");
    assert!(
        err.contains("port-first-1"),
        "what was started is named: {err}"
    );
    let states = env.states(&[]);
    assert_eq!(states["port-first-1"].1, "running", "{states:?}");
    env.ok(&["compose", "down"]);
    assert!(env.states(&[]).is_empty());
    drop(holder);
}
