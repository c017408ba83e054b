//! Rootless user networks (issue 19): the user's networks live in the
//! rootless network namespace its holder keeps (podman's "rootless
//! netns"), where root's bridge code runs unchanged; one slirp4netns
//! attached to it is the way out of every network. Everything stays in
//! namespaces the test made: the user's (user.rs) stands in for the host,
//! joined to an "outside" one with a web server and dnsmasq (net.rs).
//! Checked, as the user: with a 0600 tun node (no way out) two containers
//! on a user network, one fetches from the other by name (the network's
//! DNS responder), `info` saying user networks have no way out; with a
//! 0666 node, from the outside by name (the responder forwarding, NAT
//! through the shared helper, started then); the server's `-p` answers on the user
//! namespace's loopback; `network connect`/`disconnect` of the running
//! server; `network rm`; a pod on the default network goes
//! out; `compose up -d` of two services, one fetching from the other by
//! name, then `compose down` leaves no container and no network; no link
//! was made in the user's namespace, and the shared helper ends with the
//! holder.

use std::process::Output;
use std::time::Duration;

use super::net::{bind_tun, helpers, Outside};
use super::user::{Ranges, User};
use hoist_testkit::{free_port, wait_until};

const COMPOSE: &str = r#"
name: rlnet
services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "mkdir /www && echo served-by-web > /www/index.html && exec httpd -f -p 80 -h /www"]
    stop_grace_period: 1s
  client:
    image: busybox:latest
    command: ["sh", "-c", "until wget -qO- http://web/; do sleep 0.2; done; exec sleep 300"]
    stop_grace_period: 1s
    depends_on: [web]
"#;

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The links of the user's ("host") namespace, by name.
fn links(user: &User) -> Vec<String> {
    let (_, out) = user.netns.sh("ip -o link show");
    out.lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .collect()
}

#[test]
fn rootless_user_networks_pods_and_compose_reach_each_other_and_out() {
    for p in ["slirp4netns", "dnsmasq", "dig", "curl", "python3"] {
        if !hoist_testkit::have_program(p) {
            hoist_testkit::skip_or_fail("rootless::netns", &format!("`{p}` is not installed"));
            return;
        }
    }
    let Some(user) = User::new(Ranges::Given) else {
        return;
    };
    let outside = Outside::start(&user);
    user.import_busybox();
    // This machine's own tun mode first: no way out, but user networks
    // still connect containers, and `info` says so.
    bind_tun(&user, 0o600);
    let before = links(&user);
    let info = user.ok(&["info", "--format", "json"]);
    assert!(info.contains("user networks connect containers"), "{info}");

    user.ok(&["network", "create", "appnet"]);
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    user.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "appnet",
        "-p",
        &publish,
        "busybox",
        "sh",
        "-c",
        "mkdir /www && echo hello-by-name > /www/index.html && exec httpd -f -p 80 -h /www",
    ]);
    // By name, through the network's DNS responder in the rootless netns.
    let mut last = String::new();
    wait_until("web answers by name", Duration::from_secs(20), || {
        let o = user.out(&[
            "run",
            "--rm",
            "--network",
            "appnet",
            "busybox",
            "wget",
            "-qO-",
            "http://web/",
        ]);
        last = text(&o);
        o.status.success() && last == "hello-by-name\n"
    });
    assert!(helpers(&user).is_empty(), "no helper without a usable tun");
    // With Debian's mode the first container that needs it starts the
    // shared helper.
    bind_tun(&user, 0o666);
    // Out, by name: the responder forwards to the user's resolver, and the
    // bridge's NAT goes out through the shared helper.
    let url = format!("http://outside.test:{}/marker.txt", outside.port);
    let got = user.ok(&[
        "run",
        "--rm",
        "--network",
        "appnet",
        "busybox",
        "wget",
        "-qO-",
        &url,
    ]);
    assert_eq!(got, "from-outside\n");
    assert_eq!(
        helpers(&user).len(),
        1,
        "one shared helper for user networks"
    );
    // A resolver on the user's loopback (systemd-resolved's kind): the
    // responder asks it through the shared helper's forwarder.
    let mut dnsmasq = user.netns.command("dnsmasq");
    dnsmasq.args([
        "--keep-in-foreground",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        "--listen-address=127.0.0.1",
        "--address=/loopback.test/192.0.2.2",
        "--pid-file=",
        "--user=root",
    ]);
    let _local_dns = hoist_testkit::ChildGuard::spawn(&mut dnsmasq).unwrap();
    wait_until("the loopback resolver", Duration::from_secs(20), || {
        user.netns
            .sh("dig +short +time=1 @127.0.0.1 loopback.test")
            .1
            .contains("192.0.2.2")
    });
    let resolv = user.netns.etc_dir().join("resolv.conf");
    std::fs::write(&resolv, "nameserver 127.0.0.1\n").unwrap();
    let url2 = format!("http://loopback.test:{}/marker.txt", outside.port);
    let got = user.ok(&[
        "run",
        "--rm",
        "--network",
        "appnet",
        "busybox",
        "wget",
        "-qO-",
        &url2,
    ]);
    assert_eq!(got, "from-outside\n");
    std::fs::write(&resolv, "nameserver 192.0.2.2\n").unwrap();
    // -p of a container on a user network: the proxy binds in the user's
    // namespace and connects from inside the container's.
    let get = format!("curl -sf --max-time 2 http://127.0.0.1:{port}/");
    wait_until(
        "the published port answers",
        Duration::from_secs(20),
        || user.netns.sh(&get).1.contains("hello-by-name"),
    );
    // connect / disconnect of the running container (veths made and
    // deleted in the rootless netns).
    user.ok(&["network", "create", "other"]);
    user.ok(&["network", "connect", "other", "web"]);
    let eth1 = user.ok(&["exec", "web", "ip", "-o", "-4", "addr", "show", "eth1"]);
    assert!(eth1.contains("inet 10.89."), "{eth1}");
    user.ok(&["network", "disconnect", "other", "web"]);
    let out = user.out(&["exec", "web", "ip", "link", "show", "eth1"]);
    assert!(!out.status.success(), "eth1 still there: {}", text(&out));
    user.ok(&["network", "rm", "other"]);
    let out = user.out(&["network", "rm", "appnet"]);
    assert!(!out.status.success(), "network rm while web runs");
    user.ok(&["rm", "-f", "web"]);
    user.ok(&["network", "rm", "appnet"]);
    assert!(!user.ok(&["network", "ls"]).contains("appnet"));

    // A pod on the default network (a bridge in the rootless netns) goes out.
    user.ok(&["pod", "create", "--name", "pod1"]);
    let got = user.ok(&[
        "run", "--rm", "--pod", "pod1", "busybox", "wget", "-qO-", &url,
    ]);
    assert_eq!(got, "from-outside\n");
    user.ok(&["pod", "rm", "-f", "pod1"]);

    // compose: the project's network, service names resolving.
    let proj = user.dir().join("proj");
    std::fs::create_dir(&proj).unwrap();
    std::fs::write(proj.join("compose.yaml"), COMPOSE).unwrap();
    let compose = |args: &[&str]| {
        let out = user
            .hoist(&[&["compose"], args].concat())
            .current_dir(&proj)
            .output()
            .unwrap();
        assert!(out.status.success(), "compose {args:?}: {}", text(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    compose(&["up", "-d"]);
    wait_until(
        "client fetched from web by name",
        Duration::from_secs(20),
        || compose(&["logs", "client"]).contains("served-by-web"),
    );
    compose(&["down", "-t", "1"]);
    assert_eq!(user.ok(&["ps", "-aq"]), "");
    let nets = user.ok(&["network", "ls"]);
    assert!(!nets.contains("rlnet"), "{nets}");

    // Nothing was made in the user's ("host") namespace: bridges and veths
    // are the rootless netns'.
    assert_eq!(links(&user), before);
    // The shared helper ends with the holder (its exit descriptor is the
    // holder's lifeline pipe).
    let shared = helpers(&user);
    assert_eq!(shared.len(), 1, "{shared:?}");
    let holder = user.holder_pid().unwrap();
    // SAFETY: the holder of the user this test made, by PID.
    assert_eq!(unsafe { libc::kill(holder, libc::SIGKILL) }, 0);
    wait_until(
        "the shared helper ends with the holder",
        Duration::from_secs(10),
        || helpers(&user).is_empty(),
    );
    user.finish();
}
