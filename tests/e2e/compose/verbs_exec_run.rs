//! `compose exec` and `compose run`, against docker compose's behaviour:
//! - exec runs in the service's running container (`--index` picks the replica), with
//!   `-e`/`-w`/`-u`, `-d` in the background, and the command's exit code as its own;
//! - run starts the service's dependencies (waiting for `service_healthy`) but not the
//!   service, makes a one-off `<project>-<service>-run-<12 hex>` labelled oneoff=True on the
//!   project's network (it reaches the dependency by name), publishes only `-p` ports, takes
//!   `-e`, `--entrypoint`, `--name`, `--no-deps`, `--rm`, `-d`, and passes the exit code
//!   through; `down` removes one-off containers too.

use super::env::ComposeEnv;
use hoist_testkit::wait_until;
use std::time::Duration;

const FILE: &str = r#"
name: xr
services:
  db:
    image: busybox:latest
    command: ["sh", "-c", "mkdir -p /w && echo db-says-hi > /w/x && exec httpd -f -p 80 -h /w"]
    deploy: {replicas: 2}
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/x"]
      interval: 200ms
      retries: 50
  app:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
    environment: {GREETING: hello}
    working_dir: /srv
    ports: ["127.0.0.1:18080:80"]
    depends_on:
      db: {condition: service_healthy}
"#;

/// Security fields (docker compose applies them all; so does hoist, init included).
const SECURITY: &str = r#"
name: sec
services:
  capped:
    image: busybox:latest
    cap_add: [SYS_ADMIN]
    cap_drop: [CHOWN]
    security_opt: ["no-new-privileges:true"]
    read_only: true
    user: "1000:1000"
    working_dir: /scratch
    tmpfs: [/scratch]
    init: true
    command:
      - sh
      - -c
      - >-
        grep -E 'CapBnd|NoNewPrivs' /proc/self/status; id; pwd;
        touch /scratch/f && echo tmpfs-writable;
        touch /f 2>/dev/null || echo rootfs-read-only
  full:
    image: busybox:latest
    privileged: true
    command: ["grep", "CapBnd", "/proc/self/status"]
"#;

/// The CapBnd mask in /proc/self/status output.
fn cap_bounding(status: &str) -> u64 {
    let line = status
        .lines()
        .find(|l| l.starts_with("CapBnd:"))
        .expect("CapBnd");
    u64::from_str_radix(line["CapBnd:".len()..].trim(), 16).unwrap()
}

fn code(env: &ComposeEnv, args: &[&str]) -> (i32, String, String) {
    let out = env.out(args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn exec_in_service_containers() {
    let Some(env) = ComposeEnv::new("cmp-exec") else {
        return;
    };
    env.write("compose.yaml", FILE);
    env.ok(&["compose", "up", "-d"]);

    let out = env.ok(&[
        "compose",
        "exec",
        "-T",
        "app",
        "sh",
        "-c",
        "echo $GREETING; pwd; id -u",
    ]);
    assert_eq!(out, "hello\n/srv\n0\n");
    let out = env.ok(&[
        "compose",
        "exec",
        "-T",
        "-e",
        "GREETING=bye",
        "-w",
        "/tmp",
        "-u",
        "1000",
        "app",
        "sh",
        "-c",
        "echo $GREETING; pwd; id -u",
    ]);
    assert_eq!(out, "bye\n/tmp\n1000\n");

    // docker compose's hidden -i and -t are taken (a pty needs a terminal on stdout).
    assert_eq!(
        env.ok(&["compose", "exec", "-it", "app", "echo", "ok"]),
        "ok\n"
    );
    let (status, _, _) = code(
        &env,
        &["compose", "exec", "-T", "app", "sh", "-c", "exit 7"],
    );
    assert_eq!(status, 7, "the command's exit code");

    // --index picks the replica: each has its own hostname.
    let host = |n: &str| env.ok(&["compose", "exec", "-T", "--index", n, "db", "hostname"]);
    let (one, two) = (host("1"), host("2"));
    assert_ne!(one, two);
    assert_eq!(two.trim(), env.exec("xr-db-2", "hostname").1.trim());
    let err = env.fails(&["compose", "exec", "-T", "--index", "3", "db", "true"]);
    assert!(err.contains("is not running container #3"), "{err}");

    env.ok(&[
        "compose",
        "exec",
        "-d",
        "app",
        "sh",
        "-c",
        "sleep 0.2; echo later > /tmp/d",
    ]);
    wait_until("the detached exec's file", Duration::from_secs(10), || {
        env.exec("xr-app-1", "cat /tmp/d").1.contains("later")
    });

    let err = env.fails(&["compose", "exec", "-T", "nope", "true"]);
    assert!(err.contains("no such service: nope"), "{err}");
    env.ok(&["compose", "stop", "app"]);
    let err = env.fails(&["compose", "exec", "-T", "app", "true"]);
    assert!(err.contains("service \"app\" is not running"), "{err}");
    env.ok(&["compose", "down"]);
}

#[test]
fn run_one_off_containers() {
    let Some(env) = ComposeEnv::new("cmp-run") else {
        return;
    };
    env.write("compose.yaml", FILE);

    // --no-deps: nothing but the project's network and the one-off (removed by --rm).
    let (status, out, err) = code(
        &env,
        &[
            "compose",
            "run",
            "--rm",
            "-T",
            "--no-deps",
            "app",
            "sh",
            "-c",
            "echo $GREETING; exit 3",
        ],
    );
    assert_eq!((status, out.as_str()), (3, "hello\n"), "{err}");
    assert!(
        env.all_containers().is_empty(),
        "--rm and --no-deps leave nothing"
    );
    assert!(env.network_names().contains(&"xr_default".to_string()));

    // Dependencies first (healthy), the service itself not; the one-off reaches db by name.
    let (status, out, err) = code(
        &env,
        &[
            "compose",
            "run",
            "--rm",
            "-T",
            "-e",
            "GREETING=bye",
            "app",
            "sh",
            "-c",
            "echo $GREETING; wget -q -O - http://db/x",
        ],
    );
    assert_eq!(status, 0, "{out}{err}");
    assert_eq!(out, "bye\ndb-says-hi\n");
    assert!(
        err.contains("xr-db-2  Healthy") || err.contains("xr-db-1  Healthy"),
        "{err}"
    );
    let states = env.states(&[]);
    assert_eq!(
        states.keys().collect::<Vec<_>>(),
        ["xr-db-1", "xr-db-2"],
        "{states:?}"
    );

    // -v with a path relative to the project directory.
    std::fs::create_dir(env.path("shared")).unwrap();
    env.write("shared/f", "from-the-host\n");
    let out = env.ok(&[
        "compose",
        "run",
        "--rm",
        "-T",
        "--no-deps",
        "-v",
        "./shared:/shared:ro",
        "app",
        "cat",
        "/shared/f",
    ]);
    assert_eq!(out, "from-the-host\n");

    // --entrypoint and a command; --name.
    let out = env.ok(&[
        "compose",
        "run",
        "--rm",
        "-T",
        "--name",
        "xr-custom",
        "--entrypoint",
        "echo",
        "app",
        "hi",
        "there",
    ]);
    assert_eq!(out, "hi there\n");

    // -d: a one-off named as compose names it, labelled, with only the -p port published.
    let name = env
        .ok(&[
            "compose",
            "run",
            "-d",
            "-l",
            "team=blue",
            "-p",
            "127.0.0.1:19090:80",
            "app",
        ])
        .trim()
        .to_string();
    let slug = name
        .strip_prefix("xr-app-run-")
        .unwrap_or_else(|| panic!("{name}"));
    assert!(
        slug.len() == 12 && slug.bytes().all(|b| b.is_ascii_hexdigit()),
        "{name}"
    );
    let labels = env.inspect(&name)["Config"]["Labels"].clone();
    assert_eq!(labels["com.docker.compose.oneoff"], "True");
    assert_eq!(labels["com.docker.compose.service"], "app");
    assert_eq!(labels["com.docker.compose.project"], "xr");
    assert_eq!(labels["com.docker.compose.container-number"], "-1");
    assert_eq!(labels["team"], "blue");
    // ps lists one-offs only with -a (docker compose v2).
    assert!(!env.ok(&["compose", "ps"]).contains(&name));
    assert!(env.ok(&["compose", "ps", "-a"]).contains(&name));
    assert_eq!(env.ok(&["port", &name, "80"]).trim(), "127.0.0.1:19090");
    assert!(
        env.ok(&["port", &name]).lines().count() == 1,
        "not the service's 18080"
    );
    // The service's security and process fields reach the container (a one-off runs with
    // the service's options); init too, so nothing is warned about.
    env.write("sec.yaml", SECURITY);
    let (status, out, err) = code(
        &env,
        &["compose", "-f", "sec.yaml", "run", "--rm", "-T", "capped"],
    );
    assert_eq!(status, 0, "{out}{err}");
    assert!(!err.contains("not applied"), "{err}");
    let bnd = cap_bounding(&out);
    assert!(
        bnd & (1 << 21) != 0 && bnd & 1 == 0,
        "SYS_ADMIN added, CHOWN dropped: {out}"
    );
    for want in [
        "NoNewPrivs:\t1",
        "uid=1000",
        "/scratch",
        "tmpfs-writable",
        "rootfs-read-only",
    ] {
        assert!(out.contains(want), "{want} in {out}");
    }
    // --cap-add/--cap-drop over the service's: an added one is no longer dropped (v2's rule).
    let out = env.ok(&[
        "compose",
        "-f",
        "sec.yaml",
        "run",
        "--rm",
        "-T",
        "--cap-add",
        "CHOWN",
        "--cap-drop",
        "SYS_ADMIN",
        "capped",
        "grep",
        "CapBnd",
        "/proc/self/status",
    ]);
    let bnd = cap_bounding(&out);
    assert!(bnd & (1 << 21) == 0 && bnd & 1 != 0, "{out}");
    let out = env.ok(&["compose", "-f", "sec.yaml", "run", "--rm", "-T", "full"]);
    let full = cap_bounding(&out);
    assert!(
        full.count_ones() >= 38 && full & 1 != 0,
        "privileged: every capability: {out}"
    );
    env.ok(&["compose", "-f", "sec.yaml", "down"]);

    // A one-off does not count as the service's container for up, and down removes it.
    env.ok(&["compose", "up", "-d"]);
    assert!(env.states(&[]).contains_key("xr-app-1"));
    env.ok(&["compose", "down"]);
    assert!(env.all_containers().is_empty());
}
