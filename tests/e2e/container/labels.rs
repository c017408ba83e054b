//! Labels: `-l/--label` and `--label-file` on run/create, merged over the
//! image's LABELs, shown in inspect's Config.Labels and selectable with
//! `ps --filter label=`; bad labels refused before anything is created.
//! Also `--stop-signal`, the other create setting compose passes through.

use super::{stderr, Fixture};
use serde_json::json;

#[test]
fn labels_merge_over_the_image_and_are_listed() {
    let Some(f) = Fixture::new() else { return };
    f.image(
        "labelled",
        &["LABEL maintainer=img version=1", "CMD [\"sleep\", \"60\"]"],
        &[],
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("labels");
    std::fs::write(
        &file,
        "# project labels\n\n  version=from-file\ntier=backend\n",
    )
    .unwrap();
    let file = file.display().to_string();

    // Flags win over the file, which wins over the image.
    f.ok(&[
        "create",
        "--name",
        "c",
        "--label-file",
        &file,
        "-l",
        "version=2",
        "--label",
        "empty",
        "labelled",
    ]);
    assert_eq!(
        f.inspect("c")["Config"]["Labels"],
        json!({"maintainer": "img", "version": "2", "tier": "backend", "empty": ""})
    );

    // An image label stays unless overridden; run -d keeps them too.
    f.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-l",
        "com.docker.compose.project=shop",
        "-l",
        "com.docker.compose.service=web",
        "labelled",
    ]);
    assert_eq!(
        f.inspect("web")["Config"]["Labels"],
        json!({
            "maintainer": "img",
            "version": "1",
            "com.docker.compose.project": "shop",
            "com.docker.compose.service": "web",
        })
    );
    let names = |filter: &str| {
        let mut v: Vec<String> = f
            .ok(&["ps", "-a", "--filter", filter, "--format", "{{.Names}}"])
            .lines()
            .map(String::from)
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("label=com.docker.compose.project=shop"), ["web"]);
    assert_eq!(names("label=maintainer"), ["c", "web"]);
    assert_eq!(names("label=tier=frontend"), Vec::<String>::new());
}

#[test]
fn bad_labels_are_refused_and_nothing_is_created() {
    let Some(f) = Fixture::new() else { return };
    let missing = tempfile::tempdir().unwrap().path().join("no-such-file");
    let missing = missing.display().to_string();
    for (args, says) in [
        (vec!["-l", "=nokey"], "key is empty"),
        (vec!["--label", "a b=c"], "whitespace"),
        (vec!["--label-file", missing.as_str()], "no-such-file"),
    ] {
        let mut cmd = vec!["run", "--name", "bad"];
        cmd.extend(&args);
        cmd.extend(["busybox", "true"]);
        let out = f.out(&cmd);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(f.ok(&["ps", "-aq"]), "", "a refused run left a container");
}

#[test]
fn volumes_keep_their_labels() {
    let Some(f) = Fixture::new() else { return };
    f.ok(&[
        "volume",
        "create",
        "--label",
        "com.docker.compose.project=shop",
        "--label",
        "empty",
        "data",
    ]);
    f.ok(&["volume", "create", "plain"]);
    let v: serde_json::Value =
        serde_json::from_str(&f.ok(&["volume", "inspect", "data", "plain"])).unwrap();
    assert_eq!(
        v[0]["Labels"],
        json!({"com.docker.compose.project": "shop", "empty": ""})
    );
    assert_eq!(v[1]["Labels"], json!({}));
    let out = f.out(&["volume", "create", "--label", "=x", "bad"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("key is empty"), "{}", stderr(&out));
    assert!(f.out(&["volume", "inspect", "bad"]).status.code() != Some(0));
}

#[test]
fn stop_signal_flag_is_recorded_and_used_by_stop() {
    let Some(f) = Fixture::new() else { return };
    // The shell ignores TERM as PID 1; it exits 7 on USR1 at once.
    f.ok(&[
        "run",
        "-d",
        "--name",
        "trap",
        "--stop-signal",
        "SIGUSR1",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 7' USR1; while true; do sleep 0.1; done",
    ]);
    assert_eq!(f.inspect("trap")["Config"]["StopSignal"], "SIGUSR1");
    // A 30 s timeout: only the stop signal ends it with 7 (SIGKILL gives 137).
    f.ok(&["stop", "-t", "30", "trap"]);
    assert_eq!(f.inspect("trap")["State"]["ExitCode"], 7);
    let out = f.out(&["create", "--stop-signal", "SIGNOPE", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(stderr(&out).contains("SIGNOPE"), "{}", stderr(&out));
}
