//! docker's management groups walk beside the shortcuts: `container create` -> `start` ->
//! `logs` -> `stop` -> `rm`, `image`/`volume`/`system` verbs, `version`/`info`, and usage
//! errors with docker's message and exit code.

use super::stderr;
use crate::container::Fixture;

#[test]
fn container_group_walk_matches_the_shortcuts() {
    let Some(f) = Fixture::new() else { return };
    let id = f.ok(&[
        "container",
        "create",
        "--name",
        "web",
        "busybox",
        "sh",
        "-c",
        "echo hello-group; sleep 300",
    ]);
    assert_eq!(id.len(), 64, "{id}");
    // ls, ps and list are one verb, and so is the shortcut.
    for verb in [
        &["container", "ls", "-a"][..],
        &["container", "ps", "-a"],
        &["container", "list", "-a"],
        &["ps", "-a"],
    ] {
        let mut args = verb.to_vec();
        args.extend(["--format", "{{.Names}} {{.State}}"]);
        assert_eq!(f.ok(&args), "web created", "{verb:?}");
    }
    assert_eq!(f.ok(&["container", "start", "web"]), "web");
    f.wait_for("web running", 20, |v| v["State"]["Running"] == true, "web");
    assert_eq!(
        f.ok(&["container", "inspect", "-f", "{{.State.Status}}", "web"]),
        "running"
    );
    hoist_testkit::wait_until("web's output", std::time::Duration::from_secs(10), || {
        f.ok(&["container", "logs", "web"]).contains("hello-group")
    });
    assert_eq!(f.ok(&["container", "stop", "-t", "1", "web"]), "web");
    assert_eq!(f.ok(&["container", "wait", "web"]), "137");
    assert_eq!(f.ok(&["container", "ls", "-q"]), "", "nothing runs");
    assert_eq!(f.ok(&["container", "ls", "-aq"]), &id[..12]);
    // `container inspect` is about containers only: an image name is not one.
    let out = f.out(&["container", "inspect", "busybox"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("No such container: busybox"),
        "{}",
        stderr(&out)
    );
    // prune removes what does not run, and only that.
    f.ok(&["container", "create", "--name", "idle", "busybox", "true"]);
    let pruned = f.ok(&["container", "prune", "-f"]);
    assert!(
        pruned.starts_with("Deleted Containers:") && pruned.contains(&id),
        "{pruned}"
    );
    assert_eq!(f.ok(&["ps", "-aq"]), "");
}

#[test]
fn image_volume_and_system_groups() {
    let Some(f) = Fixture::new() else { return };
    assert_eq!(
        f.ok(&["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]),
        "busybox:latest"
    );
    f.ok(&["image", "tag", "busybox", "team/box:1"]);
    assert_eq!(
        f.ok(&[
            "image",
            "list",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            "team/box"
        ]),
        "team/box:1"
    );
    assert_eq!(
        f.ok(&[
            "image",
            "inspect",
            "-f",
            "{{.Os}} {{json .RepoTags}}",
            "team/box:1"
        ]),
        r#"linux ["busybox:latest","team/box:1"]"#
    );
    // `image inspect` is about images only.
    f.ok(&["create", "--name", "c1", "busybox", "true"]);
    let out = f.out(&["image", "inspect", "c1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    f.ok(&["image", "rm", "team/box:1"]);
    assert!(!f.ok(&["images"]).contains("team/box"));
    assert!(f.ok(&["image", "history", "-q", "busybox"]).lines().count() >= 1);

    assert_eq!(f.ok(&["volume", "create", "data"]), "data");
    assert_eq!(
        f.ok(&["volume", "ls", "--format", "{{.Name}} {{.Driver}}"]),
        "data local"
    );
    assert_eq!(
        f.ok(&["volume", "ls", "-q", "--filter", "dangling=true"]),
        "data"
    );
    assert_eq!(
        f.ok(&["volume", "inspect", "-f", "{{.Name}}", "data"]),
        "data"
    );
    assert_eq!(f.ok(&["volume", "remove", "data"]), "data");

    // A network record only (nothing is made on the host until a container joins it).
    f.ok(&["network", "create", "--label", "team=a", "cli-n1"]);
    assert_eq!(
        f.ok(&[
            "network",
            "ls",
            "--filter",
            "name=cli-n1",
            "--format",
            "{{.Name}} {{.Driver}} {{index .Labels \"team\"}}"
        ]),
        "cli-n1 bridge a"
    );
    assert_eq!(
        f.ok(&[
            "network",
            "inspect",
            "-f",
            "{{.Name}} {{.Driver}}",
            "cli-n1"
        ]),
        "cli-n1 bridge"
    );
    f.ok(&["network", "rm", "cli-n1"]);

    let df = f.ok(&["system", "df"]);
    let header: Vec<&str> = df.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"],
        "{df}"
    );
    assert_eq!(
        f.ok(&[
            "system",
            "df",
            "--format",
            "{{.Type}}={{.TotalCount}}/{{.Active}}"
        ]),
        "Images=1/1\nContainers=1/0\nLocal Volumes=0/0\nBuild Cache=0/0"
    );
    let counts = "{{.Containers}} {{.ContainersStopped}} {{.Images}}";
    assert_eq!(f.ok(&["info", "--format", counts]), "1 1 1");
    assert_eq!(f.ok(&["system", "info", "--format", counts]), "1 1 1");
    assert_eq!(
        f.ok(&["version", "--format", "{{.Client.Version}}"]),
        env!("CARGO_PKG_VERSION")
    );
    let v: serde_json::Value =
        serde_json::from_str(&f.ok(&["version", "--format", "json"])).unwrap();
    assert_eq!(v["Server"]["Os"], "linux");
}

#[test]
fn usage_errors_look_like_docker() {
    let root = hoist_testkit::TempRoot::new();
    let run = |args: &[&str]| crate::common::hoist_out(root.path(), args);
    for (args, verb) in [
        (&["run", "--bogus", "busybox"][..], "hoist run"),
        (&["container", "ls", "--bogus"], "hoist container ls"),
        (
            &["container", "run", "--bogus=1", "busybox"],
            "hoist container run",
        ),
        (&["image", "ls", "--bogus"], "hoist image ls"),
    ] {
        let out = run(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
        assert!(
            err.starts_with("unknown flag: --bogus\n\nUsage:  "),
            "{args:?}: {err}"
        );
        assert!(err.contains(&format!("Usage:  {verb} ")), "{args:?}: {err}");
        assert!(
            err.ends_with(&format!("Run '{verb} --help' for more information\n")),
            "{err}"
        );
    }
    // A template that does not parse is refused before anything happens.
    let out = run(&["ps", "--format", "{{.Names"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("template parsing error"),
        "{}",
        stderr(&out)
    );
    let out = run(&["ps", "--filter", "colour=red"]);
    assert!(
        stderr(&out).contains("invalid filter 'colour'"),
        "{}",
        stderr(&out)
    );
    // Completion scripts come from the same definitions.
    for shell in ["bash", "zsh", "fish"] {
        let script = String::from_utf8(run(&["completion", shell]).stdout).unwrap();
        // fish names long flags `-l format`, bash and zsh `--format`.
        assert!(
            script.contains("container") && script.contains("format") && script.contains("prune"),
            "{shell}"
        );
    }
    let man = root.join("man");
    let out = run(&["__man", man.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    for page in [
        "hoist.1",
        "hoist-run.1",
        "hoist-container-ls.1",
        "hoist-image-pull.1",
    ] {
        let text = std::fs::read_to_string(man.join(page)).unwrap_or_default();
        assert!(text.contains(".TH"), "{page} missing or not a man page");
    }
}
