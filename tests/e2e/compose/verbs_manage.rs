//! `compose port`, `top`, `images`, `ls`, `kill` and `rm` on one running project, against
//! docker compose's behaviour: port prints `HOST_IP:PORT` (an ephemeral one too); top lists
//! the running containers' processes in one table by service and replica; images the image
//! of each container; ls the project from its containers' labels with `running(N)`-style status (stopped ones
//! only with `-a`); kill sends SIGKILL or `-s SIGNAL` to running containers; rm removes only
//! stopped containers, asks unless `-f`, and `-s` stops running ones first.

use super::env::ComposeEnv;
use hoist_testkit::wait_until;
use std::time::Duration;

const FILE: &str = r#"
name: mg
services:
  web:
    image: busybox:latest
    command: ["httpd", "-f", "-p", "80", "-h", "/"]
    ports: ["127.0.0.1:18081:80", "127.0.0.1::81"]
  worker:
    image: busybox:latest
    command: ["sh", "-c", "trap 'echo got-usr1' USR1; while :; do sleep 1; done"]
"#;

#[test]
fn port_top_images_ls_kill_rm() {
    let Some(env) = ComposeEnv::new("cmp-manage") else {
        return;
    };
    env.write("compose.yaml", FILE);
    env.ok(&["compose", "up", "-d"]);

    // port
    assert_eq!(
        env.ok(&["compose", "port", "web", "80"]),
        "127.0.0.1:18081\n"
    );
    let ephemeral = env.ok(&["compose", "port", "web", "81"]);
    assert_eq!(ephemeral.trim(), env.ok(&["port", "mg-web-1", "81"]).trim());
    assert!(!ephemeral.ends_with(":0\n"), "{ephemeral}");
    let err = env.fails(&["compose", "port", "web", "99"]);
    assert!(err.contains("no port 99/tcp"), "{err}");
    let err = env.fails(&["compose", "port", "--index", "2", "web", "80"]);
    assert!(err.contains("no container number 2"), "{err}");

    // top: one table, SERVICE and replica first, ps -ef's columns, CMD last (v2's layout).
    let top = env.ok(&["compose", "top"]);
    let rows: Vec<Vec<&str>> = top
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0][..3], ["SERVICE", "#", "UID"], "{top}");
    assert_eq!(rows[0].last(), Some(&"CMD"), "{top}");
    let line_of = |service: &str| {
        top.lines()
            .filter(|l| l.split_whitespace().next() == Some(service))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(line_of("web").contains("httpd -f -p 80 -h /"), "{top}");
    assert!(!line_of("web").contains("sleep"), "{top}");
    assert!(line_of("worker").contains("sh -c"), "{top}");
    assert!(!line_of("worker").contains("httpd"), "{top}");

    // images
    let ids = env.ok(&["compose", "images", "-q"]);
    let ids: Vec<&str> = ids.lines().collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids[0].len() == 64 && ids[0] == ids[1], "{ids:?}");
    let table = env.ok(&["compose", "images"]);
    let lines: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[0],
        ["CONTAINER", "REPOSITORY", "TAG", "IMAGE", "ID", "SIZE"]
    );
    assert_eq!(
        lines[1][..4],
        ["mg-web-1", "busybox", "latest", &ids[0][..12]]
    );
    assert!(
        lines[1][4].ends_with("MB") || lines[1][4].ends_with("kB"),
        "{table}"
    );

    // ls: from the containers' labels, no compose file needed.
    let config = env.path("compose.yaml").display().to_string();
    let ls = env.ok(&["compose", "ls"]);
    let row: Vec<&str> = ls.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row, ["mg", "running(2)", &config], "{ls}");
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["compose", "ls", "--format", "json"])).unwrap();
    assert_eq!(
        json,
        serde_json::json!([{"Name": "mg", "Status": "running(2)", "ConfigFiles": config}])
    );

    // kill -s: the signal reaches the process, which runs on.
    env.ok(&["compose", "kill", "-s", "USR1", "worker"]);
    wait_until("the worker's trap", Duration::from_secs(10), || {
        env.ok(&["compose", "logs", "worker"]).contains("got-usr1")
    });
    assert_eq!(env.states(&[])["mg-worker-1"].1, "running");
    // kill: SIGKILL.
    env.ok(&["compose", "kill", "worker"]);
    wait_until("the worker killed", Duration::from_secs(10), || {
        env.states(&[])["mg-worker-1"].1 == "exited"
    });
    assert_eq!(env.inspect("mg-worker-1")["State"]["ExitCode"], 137);
    assert_eq!(env.ok(&["compose", "ls", "-q"]), "mg\n");
    let all = env.ok(&["compose", "ls", "-a", "--format", "json"]);
    assert!(all.contains(r#""Status":"exited(1), running(1)""#), "{all}");

    // rm: asks (no terminal: refuses), -f removes the stopped container only.
    let err = env.fails(&["compose", "rm"]);
    assert!(
        err.contains("Going to remove mg-worker-1") && err.contains("-f"),
        "{err}"
    );
    assert_eq!(env.states(&[]).len(), 2);
    env.ok(&["compose", "rm", "-f"]);
    let left: Vec<String> = env.states(&[]).into_keys().collect();
    assert_eq!(left, ["mg-web-1"]);
    // -s stops the running one first.
    let (_, stderr) = env.ok2(&["compose", "rm", "-f", "-s", "-v"]);
    assert!(stderr.contains("mg-web-1  Stopped") && stderr.contains("mg-web-1  Removed"));
    assert!(env.states(&[]).is_empty());
    assert_eq!(env.ok(&["compose", "ls", "-a", "-q"]), "");
    let (_, stderr) = env.ok2(&["compose", "kill"]);
    assert!(stderr.contains("no container to kill"), "{stderr}");
    env.ok(&["compose", "down"]);
}
