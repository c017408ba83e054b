//! Bad input: clear errors, nothing half-made.

use super::env::{ip4, NetEnv};

#[test]
fn bad_network_input_is_refused_and_leaves_nothing() {
    let Some(env) = NetEnv::new("badnet") else {
        return;
    };
    let subnet = format!("{}/24", ip4(10, 123, 4, 0));
    env.ok(&["network", "create", "--subnet", &subnet, "one"]);
    let err = env.fails(&["network", "create", "--subnet", &subnet, "two"]);
    assert!(err.contains("overlaps") && err.contains("one"), "{err}");
    let wide = format!("{}/16", ip4(10, 123, 0, 0));
    let err = env.fails(&["network", "create", "--subnet", &wide, "two"]);
    assert!(err.contains("overlaps"), "{err}");
    let err = env.fails(&[
        "network",
        "create",
        "--subnet",
        &format!("{}/24", ip4(10, 124, 0, 1)),
        "two",
    ]);
    assert!(err.contains("host bits"), "{err}");
    let err = env.fails(&[
        "network",
        "create",
        "--subnet",
        &format!("{}/24", ip4(10, 125, 0, 0)),
        "--gateway",
        &ip4(10, 126, 0, 1),
        "two",
    ]);
    assert!(err.contains("gateway"), "{err}");
    assert!(!env.ok(&["network", "ls"]).contains("two"));
    // Containers: unknown network, address outside, network address.
    for (flags, expect) in [
        (vec!["--network", "nowhere"], "not found"),
        (
            vec!["--network", "one", "--ip", &ip4(10, 99, 0, 5)],
            "not usable",
        ),
        (
            vec!["--network", "one", "--ip", &ip4(10, 123, 4, 0)],
            "not usable",
        ),
        (vec!["--network", "one", "--ip", "bogus"], "invalid --ip"),
        (
            vec!["--network", "none", "--ip", &ip4(10, 123, 4, 9)],
            "need a network",
        ),
        (vec!["--add-host", "nocolon"], "--add-host"),
        (vec!["--add-host", "two words:127.0.0.9"], "--add-host"),
        (
            vec!["--network", "one", "--network-alias", "a\nb"],
            "--network-alias",
        ),
        (vec!["--dns-search", "bad domain"], "--dns-search"),
    ] {
        let mut args = vec!["run", "-d", "--name", "x"];
        args.extend(flags.iter().copied());
        args.extend(["busybox", "true"]);
        let err = env.fails(&args);
        assert!(err.contains(expect), "{flags:?}: {err}");
        assert!(
            env.ok(&["ps", "-aq"]).is_empty(),
            "{flags:?} left a container"
        );
    }
    assert!(env.leases("one").is_empty());
    // A network in use is not removed; once unused it goes with its bridge.
    env.sleeper("user", &["--network", "one"]);
    let err = env.fails(&["network", "rm", "one"]);
    assert!(err.contains("in use") && err.contains("user"), "{err}");
    assert!(env.ok(&["network", "ls"]).contains("one"));
    let err = env.fails(&["network", "rm", "bridge"]);
    assert!(err.contains("predefined"), "{err}");
    env.ok(&["rm", "-f", "user"]);
    env.ok(&["network", "rm", "one"]);
    assert!(!env.ok(&["network", "ls"]).contains("one"));
    assert!(
        !env.ip(&["-o", "link"]).contains("hoist-"),
        "{}",
        env.ip(&["-o", "link"])
    );
    let err = env.fails(&["network", "rm", "one"]);
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn network_ls_filters_like_docker() {
    let Some(env) = NetEnv::new("lsfilter") else {
        return;
    };
    env.ok(&["network", "create", "--label", "team=a", "alpha"]);
    env.ok(&["network", "create", "--label", "team=b", "beta"]);
    let names = |args: &[&str]| {
        let mut a = vec!["network", "ls", "--format", "json"];
        a.extend_from_slice(args);
        env.ok(&a)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["Name"].to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&["-f", "label=team=a"]), ["\"alpha\""]);
    assert_eq!(names(&["-f", "label=team"]).len(), 2);
    assert_eq!(names(&["-f", "name=bet"]), ["\"beta\""]);
    assert_eq!(names(&[]).len(), 3, "alpha, beta and the default bridge");
    let err = env.fails(&["network", "ls", "-f", "color=red"]);
    assert!(err.contains("unknown --filter"), "{err}");
}
