//! `--format` templates and `--filter`s on ps and images, `-q` and `--no-trunc`, and the
//! docker shape of `inspect` (field names and types docker's scripts read).

use crate::container::Fixture;
use serde_json::Value;

#[test]
fn ps_filters_formats_and_quiet() {
    let Some(f) = Fixture::new() else { return };
    f.ok(&[
        "run", "--name", "ok", "--label", "tier=web", "busybox", "true",
    ]);
    let failed = f.out(&[
        "run", "--name", "bad", "--label", "tier=db", "busybox", "sh", "-c", "exit 3",
    ]);
    assert_eq!(failed.status.code(), Some(3));
    f.ok(&[
        "create",
        "--name",
        "fresh",
        "-v",
        "vol1:/data",
        "busybox",
        "true",
    ]);
    let names = |args: &[&str]| -> String {
        let mut a = vec!["ps", "-a", "--format", "{{.Names}}"];
        a.extend(args);
        f.ok(&a).lines().collect::<Vec<_>>().join(",")
    };
    // Newest first, as docker lists them.
    assert_eq!(names(&[]), "fresh,bad,ok");
    assert_eq!(names(&["--filter", "status=created"]), "fresh");
    assert_eq!(names(&["--filter", "exited=3"]), "bad");
    assert_eq!(names(&["--filter", "label=tier"]), "bad,ok");
    assert_eq!(names(&["--filter", "label=tier=web"]), "ok");
    // One key's values are alternatives; different keys must all match.
    assert_eq!(names(&["-f", "name=ok", "-f", "name=fresh"]), "fresh,ok");
    assert_eq!(
        names(&["-f", "status=exited", "-f", "label=tier=db"]),
        "bad"
    );
    assert_eq!(names(&["--filter", "volume=vol1"]), "fresh");
    assert_eq!(names(&["--filter", "ancestor=busybox"]), "fresh,bad,ok");
    assert_eq!(names(&["--filter", "ancestor=nosuch"]), "");
    assert_eq!(
        names(&["--filter", "health=none", "--filter", "name=ok"]),
        "ok"
    );
    assert_eq!(names(&["--filter", "since=ok"]), "fresh,bad");
    assert_eq!(names(&["--filter", "before=bad"]), "ok");
    let image_id = f.ok(&["images", "-q", "--no-trunc"]);
    assert_eq!(
        names(&["--filter", &format!("ancestor={image_id}")]),
        "fresh,bad,ok"
    );
    // Without -a only running containers; a status filter looks at all.
    assert_eq!(f.ok(&["ps", "--format", "{{.Names}}"]), "");
    assert_eq!(f.ok(&["ps", "-n", "1", "--format", "{{.Names}}"]), "fresh");
    assert_eq!(f.ok(&["ps", "-l", "-q"]).len(), 12);
    let full = f.ok(&["ps", "-aq", "--no-trunc", "--filter", "name=fresh"]);
    assert_eq!(full.len(), 64, "{full}");
    assert_eq!(names(&["--filter", &format!("id={}", &full[..6])]), "fresh");
    // Templates: functions, table headers, json.
    let t = f.ok(&[
        "ps",
        "-a",
        "--filter",
        "name=bad",
        "--format",
        "{{upper .Names}}|{{.Labels}}|{{.Command}}|{{.State}}",
    ]);
    assert_eq!(t, "BAD|tier=db|\"sh -c exit 3\"|exited");
    let table = f.ok(&[
        "ps",
        "-a",
        "--filter",
        "name=ok",
        "--format",
        "table {{.ID}}\\t{{.Names}}\\t{{.Status}}",
    ]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("CONTAINER ID   NAMES     STATUS"),
        "{table}"
    );
    assert!(lines[1].contains("   ok        Exited (0)"), "{table}");
    let row: Value =
        serde_json::from_str(&f.ok(&["ps", "-a", "--filter", "name=ok", "--format", "json"]))
            .unwrap();
    for key in [
        "ID",
        "Image",
        "Command",
        "CreatedAt",
        "RunningFor",
        "Ports",
        "State",
        "Status",
        "Names",
        "Labels",
        "Mounts",
        "Networks",
        "LocalVolumes",
        "Size",
    ] {
        assert!(row[key].is_string(), "ps json {key}: {row}");
    }
    assert_eq!(row["Names"], "ok");
    // events: docker's fields for templates, hoist's own still in `json`.
    let events = f.ok(&[
        "events",
        "--filter",
        "container=bad",
        "--format",
        "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}",
    ]);
    assert!(
        events.contains("container start bad") && events.contains("container die bad"),
        "{events}"
    );
    let bad = f.out(&["ps", "--format", "{{nosuch .Names}}"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not defined"));
}

/// `ps` shows settled rows from its per-store cache (src/commands/container/ps_cache.rs):
/// every change to a cached container — its monitor writing the exit, a rename, an rm — and
/// a new container show at the very next `ps`; a broken cache is ignored.
#[test]
fn ps_cache_shows_every_change_at_once() {
    let Some(f) = Fixture::new() else { return };
    let gate = tempfile::tempdir().unwrap();
    let bind = format!("{}:/gate", gate.path().display());
    let create = |name: &str| {
        f.ok(&[
            "create",
            "--network",
            "none",
            "--name",
            name,
            "busybox",
            "true",
        ])
    };
    create("keep");
    create("gone");
    f.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "job",
        "-v",
        &bind,
        "busybox",
        "sh",
        "-c",
        "while [ ! -e /gate/go ]; do sleep 0.05; done; exit 7",
    ]);
    let listing = || {
        let format = "{{.Names}} {{.State}} {{.ExitCode}}";
        let mut rows: Vec<String> = f
            .ok(&["ps", "-a", "--format", format])
            .lines()
            .map(String::from)
            .collect();
        rows.sort();
        rows.join(",")
    };
    let ids = f.ok(&["ps", "-aq", "--no-trunc"]);
    let cache = f.path().join("containers/.ps-cache.json");
    // Rows are cached once their files are 1.5 s old: wait until all three are.
    hoist_testkit::wait_until(
        "ps to cache every row",
        std::time::Duration::from_secs(30),
        || {
            listing();
            let cached = std::fs::read_to_string(&cache).unwrap_or_default();
            ids.lines().all(|id| cached.contains(id))
        },
    );
    assert_eq!(listing(), "gone created 0,job running 0,keep created 0");
    std::fs::write(gate.path().join("go"), "").unwrap();
    assert_eq!(f.ok(&["wait", "job"]), "7");
    assert_eq!(listing(), "gone created 0,job exited 7,keep created 0");
    f.ok(&["rename", "keep", "kept"]);
    assert_eq!(listing(), "gone created 0,job exited 7,kept created 0");
    f.ok(&["rm", "gone"]);
    assert_eq!(listing(), "job exited 7,kept created 0");
    create("new");
    assert_eq!(listing(), "job exited 7,kept created 0,new created 0");
    std::fs::write(&cache, "{broken").unwrap();
    assert_eq!(listing(), "job exited 7,kept created 0,new created 0");
}

#[test]
fn images_filters_formats_and_inspect_shape() {
    let Some(f) = Fixture::new() else { return };
    f.image("labelled:1", &["LABEL team=infra"], &[]);
    f.ok(&["tag", "busybox", "127.0.0.1:5000/team/box:2"]);
    let refs = |args: &[&str]| -> String {
        let mut a = vec!["images", "--format", "{{.Repository}}:{{.Tag}}"];
        a.extend(args);
        let mut v: Vec<String> = f.ok(&a).lines().map(String::from).collect();
        v.sort();
        v.join(",")
    };
    assert_eq!(
        refs(&[]),
        "127.0.0.1:5000/team/box:2,busybox:latest,labelled:1"
    );
    assert_eq!(refs(&["--filter", "reference=busy*"]), "busybox:latest");
    assert_eq!(
        refs(&["--filter", "reference=*/team/*"]),
        "127.0.0.1:5000/team/box:2"
    );
    assert_eq!(refs(&["--filter", "label=team=infra"]), "labelled:1");
    assert_eq!(refs(&["--filter", "dangling=true"]), "");
    assert_eq!(refs(&["--filter", "since=busybox"]), "labelled:1");
    assert_eq!(
        refs(&["--filter", "before=labelled:1"]),
        "127.0.0.1:5000/team/box:2,busybox:latest"
    );
    let ids = f.ok(&["images", "-q"]);
    assert!(ids.lines().all(|l| l.len() == 12), "{ids}");
    let full = f.ok(&["images", "-q", "--no-trunc", "busybox"]);
    assert!(full.starts_with("sha256:") && full.len() == 71, "{full}");
    let table = f.ok(&[
        "images",
        "--format",
        "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}",
        "busybox",
    ]);
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap()
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(header, ["REPOSITORY", "TAG", "IMAGE ID"], "{table}");

    // inspect: docker's names and types, so scripts read it unchanged.
    f.ok(&[
        "create", "--name", "shape", "--label", "a=1", "-p", "8080:80", "busybox", "sleep", "1",
    ]);
    let c = f.inspect("shape");
    let types = [
        ("/Id", "string"),
        ("/Created", "string"),
        ("/Name", "string"),
        ("/Image", "string"),
        ("/State/Status", "string"),
        ("/State/Running", "bool"),
        ("/State/Paused", "bool"),
        ("/State/Restarting", "bool"),
        ("/State/OOMKilled", "bool"),
        ("/State/Dead", "bool"),
        ("/State/Pid", "number"),
        ("/State/ExitCode", "number"),
        ("/State/Error", "string"),
        ("/State/StartedAt", "string"),
        ("/State/FinishedAt", "string"),
        ("/Config/Labels", "object"),
        ("/Config/Env", "array"),
        ("/Config/Cmd", "array"),
        ("/HostConfig/PortBindings", "object"),
        ("/HostConfig/RestartPolicy/Name", "string"),
        ("/Mounts", "array"),
        ("/NetworkSettings/Ports", "object"),
    ];
    for (path, want) in types {
        assert_eq!(kind(c.pointer(path)), want, "container {path}: {c:#}");
    }
    assert_eq!(c["Name"], "/shape");
    assert_eq!(c["Config"]["Labels"]["a"], "1");
    assert_eq!(
        c["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"],
        "8080"
    );
    assert_eq!(
        c["Image"].as_str().unwrap(),
        full,
        "a container's Image is its image's ID"
    );
    let i: Value = serde_json::from_str(&f.ok(&["image", "inspect", "busybox"])).unwrap();
    let i = &i[0];
    for (path, want) in [
        ("/Id", "string"),
        ("/RepoTags", "array"),
        ("/RepoDigests", "array"),
        ("/Config", "object"),
        ("/RootFS/Type", "string"),
        ("/RootFS/Layers", "array"),
        ("/Architecture", "string"),
        ("/Os", "string"),
        ("/Size", "number"),
        ("/Created", "string"),
    ] {
        assert_eq!(kind(i.pointer(path)), want, "image {path}: {i:#}");
    }
    assert_eq!(
        f.ok(&["inspect", "--format", "{{json .Config.Labels}} {{.HostConfig.RestartPolicy.Name}} {{range $p, $b := .HostConfig.PortBindings}}{{$p}}{{end}}", "shape"]),
        r#"{"a":"1"} no 80/tcp"#
    );
}

fn kind(v: Option<&Value>) -> &'static str {
    match v {
        None => "missing",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "bool",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    }
}
