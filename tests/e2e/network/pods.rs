//! A pod on a network: one address that its members share, reached (and
//! resolved by the pod's name) from other containers on the network.

use super::env::NetEnv;
use hoist_testkit::wait_until;
use std::time::Duration;

#[test]
fn a_pods_members_share_one_address_on_the_pods_network() {
    let Some(env) = NetEnv::new("podnet") else {
        return;
    };
    env.ok(&["network", "create", "app"]);
    env.ok(&["pod", "create", "--name", "pod1", "--network", "app"]);
    env.ok(&[
        "run",
        "-d",
        "--pod",
        "pod1",
        "--name",
        "web",
        "busybox",
        "sh",
        "-c",
        "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www",
    ]);
    env.ok(&[
        "run", "-d", "--pod", "pod1", "--name", "side", "busybox", "sleep", "300",
    ]);
    let addr = |name: &str| env.exec(name, "ip -4 -o addr show eth0").1;
    let web = addr("web");
    assert!(web.contains("inet "), "{web}");
    assert_eq!(web, addr("side"), "members must share the pod's address");
    let (_, hosts) = env.exec("side", "cat /etc/hosts /etc/resolv.conf");
    let ip = web
        .split("inet ")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    assert!(hosts.contains(&format!("{ip}\tpod1")), "{hosts}");
    env.sleeper("client", &["--network", "app"]);
    let (ok, page) = env.exec("client", "wget -q -O - http://pod1:8080/index.html");
    assert!(ok && page.contains("hello"), "{page}");
    // Members answer by their own names too (aliases of the pod's lease).
    let (ok, page) = env.exec("client", "wget -q -O - http://web:8080/index.html");
    assert!(ok && page.contains("hello"), "{page}");
    env.ok(&["rm", "-f", "side"]);
    wait_until(
        "a removed member's name to stop resolving",
        Duration::from_secs(5),
        || !env.exec("client", "nslookup side").0,
    );
    assert!(env.exec("client", "nslookup web").0);
    assert_eq!(env.leases("app").len(), 2);
    env.ok(&["pod", "rm", "-f", "pod1"]);
    assert_eq!(
        env.leases("app").len(),
        1,
        "the pod's address must go with it"
    );
}
