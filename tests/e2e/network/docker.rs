//! Beside a real dockerd: the test starts dockerd (its own data root, exec
//! root and socket; `hoist_testkit::Dockerd`) in the namespace hoist's
//! networks live in. docker sets the iptables FORWARD policy to DROP there and
//! adds its chains; hoist's containers must still reach each other, resolve
//! names and go out through NAT, a docker container must still go out too, and
//! removing hoist's networks must take hoist's rules and leave docker's
//! exactly as they were. Both orders: dockerd first, and hoist's networks
//! first (dockerd then finds forwarding on and leaves the policy alone). The
//! namespace's resolv.conf names the test's outside namespace, so neither
//! daemon asks the host's resolvers anything.

use super::env::{clients, ip4, outside_listener, NetEnv};
use hoist_testkit::{wait_until, ChildGuard, Dockerd, Netns, TempRoot};
use std::process::Output;
use std::time::Duration;

const IMAGE: &str = "hoist-e2e/busybox";

/// A test's namespace with an "outside" namespace behind a veth (a listener
/// on port 8080 that logs its clients). Fields drop in order: dockerd stops
/// before hoist's containers go and before the namespaces do.
struct World {
    dockerd: Option<Dockerd>,
    env: NetEnv,
    _listener: ChildGuard,
    _outside: Netns,
    tmp: TempRoot,
    far: String,
    hoist_side: String,
}

/// None (the test skips) without root, nft, busybox or dockerd.
fn world(tag: &str) -> Option<World> {
    if !hoist_testkit::have_program("dockerd") || !hoist_testkit::have_program("docker") {
        hoist_testkit::skip_or_fail(tag, "dockerd is missing (apt-get install docker.io)");
        return None;
    }
    let env = NetEnv::new(tag)?;
    let outside = Netns::new(&format!("{tag}-out"));
    let hoist_side = ip4(10, 251, 3, 1);
    let far = ip4(10, 251, 3, 2);
    env.ns.link_to(
        &outside,
        "up0",
        &format!("{hoist_side}/24"),
        &format!("{far}/24"),
    );
    // Before anything runs in the namespace: every command made by
    // `env.ns.command` (hoist, dockerd) then sees this as /etc/resolv.conf.
    std::fs::write(
        env.ns.etc_dir().join("resolv.conf"),
        format!("nameserver {far}\n"),
    )
    .unwrap();
    // Forwarding off, as a machine boots (a new namespace inherits the
    // host's setting): dockerd, finding it off, turns it on and sets the
    // FORWARD policy to DROP; hoist turns it on for its first bridge.
    let (ok, out) = env.ns.sh("echo 0 > /proc/sys/net/ipv4/ip_forward");
    assert!(ok, "turning forwarding off in the test namespace: {out}");
    let tmp = TempRoot::new();
    let listener = outside_listener(&outside, 8080, &tmp.join("clients"));
    Some(World {
        dockerd: None,
        env,
        _listener: listener,
        _outside: outside,
        tmp,
        far,
        hoist_side,
    })
}

impl World {
    fn start_dockerd(&mut self) {
        self.dockerd = Some(Dockerd::start(&self.env.ns));
    }

    fn docker(&self, args: &[&str]) -> Output {
        let d = self.dockerd.as_ref().expect("dockerd started");
        d.docker().args(args).output().expect("run docker")
    }

    fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.dockerd.as_ref().unwrap().log()
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `docker import`s a rootfs holding only a static busybox (hoist's test
    /// image is built from the same binary) and starts `dk` on docker's bridge.
    fn start_docker_container(&self) {
        let rootfs = self.tmp.join("rootfs");
        std::fs::create_dir_all(rootfs.join("bin")).unwrap();
        std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).expect("copy /bin/busybox");
        let tar = self.tmp.join("rootfs.tar");
        crate::common::tar_dir(&rootfs, &tar);
        self.docker_ok(&["import", &tar.to_string_lossy(), IMAGE]);
        self.docker_ok(&[
            "run",
            "-d",
            "--name",
            "dk",
            IMAGE,
            "/bin/busybox",
            "sleep",
            "300",
        ]);
    }

    /// Whether the docker container reaches the outside listener.
    fn docker_goes_out(&self) -> bool {
        let fetch = format!("/bin/busybox nc -w 3 {} 8080 </dev/null", self.far);
        let out = self.docker(&["exec", "dk", "/bin/busybox", "sh", "-c", &fetch]);
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("hi")
    }

    /// Whether hoist's container `name` reaches the outside listener.
    fn hoist_goes_out(&self, name: &str) -> bool {
        let (ok, out) = self
            .env
            .exec(name, &format!("nc -w 3 {} 8080 </dev/null", self.far));
        ok && out.contains("hi")
    }

    /// iptables' filter and nat tables, as `iptables -S` prints them.
    fn iptables(&self) -> String {
        let mut text = String::new();
        for table in ["filter", "nat"] {
            let out = self
                .env
                .ns
                .command("iptables")
                .args(["-w", "-t", table, "-S"])
                .output()
                .expect("run iptables");
            assert!(out.status.success(), "iptables -t {table} -S");
            text += &String::from_utf8_lossy(&out.stdout);
        }
        text
    }

    fn bridge_of(&self, network: &str) -> String {
        let v: serde_json::Value =
            serde_json::from_str(&self.env.ok(&["network", "inspect", network])).unwrap();
        v[0]["Hoist"]["Bridge"].as_str().unwrap().to_string()
    }

    /// Every hoist container goes, then every hoist network's bridge and rules.
    fn remove_all_of_hoist(&self) {
        let ids = self.env.ok(&["ps", "-aq"]);
        let mut args = vec!["rm", "-f"];
        args.extend(ids.split_whitespace());
        self.env.ok(&args);
        self.env.ok(&["network", "rm", "app"]);
        self.env.ok(&["network", "prune", "-f"]);
    }

    /// Nothing of hoist's is left in either firewall.
    fn assert_no_hoist_rules(&self) {
        let rules = self.iptables();
        assert!(
            !rules.contains("hoist"),
            "hoist's iptables rules stayed: {rules}"
        );
        let nft = self.env.nft_ruleset();
        assert!(
            !nft.contains("table ip hoist_"),
            "hoist's tables stayed: {nft}"
        );
    }

    fn forward_policy(&self) -> String {
        self.iptables()
            .lines()
            .find(|l| l.starts_with("-P FORWARD"))
            .unwrap_or_default()
            .to_string()
    }
}

/// What must work is retried for a while (a loaded machine may miss one
/// three-second try).
fn eventually(what: &str, cond: impl FnMut() -> bool) {
    wait_until(what, Duration::from_secs(20), cond);
}

impl Drop for World {
    fn drop(&mut self) {
        // A container dockerd has to stop at its own shutdown costs its stop
        // timeout (10 s for a sleep that ignores SIGTERM).
        if self.dockerd.is_some() {
            let _ = self.docker(&["rm", "-f", "dk"]);
        }
    }
}

#[test]
fn hoist_networks_work_beside_a_running_dockerd() {
    let Some(mut w) = world("dockerd") else {
        return;
    };
    w.start_dockerd();
    assert_eq!(w.forward_policy(), "-P FORWARD DROP", "what dockerd does");
    w.start_docker_container();
    eventually("docker's container goes out", || w.docker_goes_out());
    let docker_rules = w.iptables();
    let env = &w.env;
    env.ok(&["network", "create", "app"]);
    env.sleeper("d1", &[]);
    env.sleeper("d2", &[]);
    env.sleeper("a1", &["--network", "app"]);
    env.sleeper("a2", &["--network", "app"]);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "app",
        "-p",
        "127.0.0.1:18080:8080",
        "busybox",
        "sh",
        "-c",
        "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www",
    ]);
    // Within each network, by address on the default one, by name on app.
    let d1 = env.ip_of("d1", "bridge");
    eventually("d2 reaches d1 by address", || {
        env.exec("d2", &format!("ping -c1 -W2 {d1}")).0
    });
    let a2 = env.ip_of("a2", "app");
    eventually("a1 resolves and reaches a2", || {
        let (ok, out) = env.exec("a1", "nslookup a2 && ping -c1 -W2 a2");
        ok && out.contains(&a2)
    });
    // Out through NAT from both networks: the outside sees the namespace's address.
    eventually("d1 goes out", || w.hoist_goes_out("d1"));
    eventually("a1 goes out", || w.hoist_goes_out("a1"));
    let seen = clients(&w.tmp.join("clients"));
    assert!(
        seen.len() >= 3 && seen.iter().all(|c| *c == w.hoist_side),
        "clients: {seen:?}"
    );
    // A published port on a user network.
    let get = || {
        let out = env
            .ns
            .command("curl")
            .args(["-s", "-m", "2", "http://127.0.0.1:18080/index.html"])
            .output()
            .expect("run curl");
        String::from_utf8_lossy(&out.stdout).contains("hello")
    };
    eventually("the published port", get);
    // docker is not broken by hoist's rules.
    eventually("docker's container still goes out", || w.docker_goes_out());
    let app_bridge = w.bridge_of("app");
    let with_hoist = w.iptables();
    for bridge in ["hoist0", app_bridge.as_str()] {
        assert!(
            with_hoist.contains(&format!("hoist:{bridge}")),
            "no accept rule for {bridge}: {with_hoist}"
        );
    }
    // `rm -f` and `network rm`/`prune` take hoist's rules and leave docker's as they were.
    w.remove_all_of_hoist();
    w.assert_no_hoist_rules();
    assert_eq!(w.iptables(), docker_rules, "docker's rules changed");
    eventually("docker's container goes out after", || w.docker_goes_out());
}

#[test]
fn hoist_networks_made_before_dockerd_starts_keep_working() {
    let Some(mut w) = world("dockerd-late") else {
        return;
    };
    let env = &w.env;
    env.ok(&["network", "create", "app"]);
    env.sleeper("d1", &[]);
    env.sleeper("a1", &["--network", "app"]);
    eventually("a1 goes out before dockerd", || w.hoist_goes_out("a1"));
    // Forwarding reset (a `sysctl --system`, say) before dockerd starts: it
    // finds forwarding off, turns it on and sets the policy to DROP while
    // hoist's bridges and containers exist. (Finding it on, it leaves the
    // policy alone, and nothing is at stake.)
    let (ok, out) = w.env.ns.sh("echo 0 > /proc/sys/net/ipv4/ip_forward");
    assert!(ok, "{out}");
    w.start_dockerd();
    assert_eq!(w.forward_policy(), "-P FORWARD DROP", "what dockerd does");
    // Running containers keep their way out: no new attach re-adds rules.
    for name in ["d1", "a1"] {
        eventually(&format!("{name} goes out after dockerd started"), || {
            w.hoist_goes_out(name)
        });
    }
    w.start_docker_container();
    let env = &w.env;
    env.sleeper("a2", &["--network", "app"]);
    eventually("a2 reaches a1 by name", || {
        env.exec("a2", "nslookup a1 && ping -c1 -W2 a1").0
    });
    eventually("a1 reaches a2 by name", || {
        env.exec("a1", "ping -c1 -W2 a2").0
    });
    eventually("a2 goes out", || w.hoist_goes_out("a2"));
    eventually("docker's container goes out", || w.docker_goes_out());
    let before_removal = w.iptables();
    assert!(before_removal.contains("DOCKER-USER"), "{before_removal}");
    w.remove_all_of_hoist();
    w.assert_no_hoist_rules();
    let docker_rules: Vec<&str> = before_removal
        .lines()
        .filter(|l| !l.contains("hoist"))
        .collect();
    assert_eq!(
        w.iptables().lines().collect::<Vec<_>>(),
        docker_rules,
        "docker's rules changed"
    );
    eventually("docker's container still goes out", || w.docker_goes_out());
}
