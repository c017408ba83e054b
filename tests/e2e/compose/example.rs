//! examples/compose, run as a user would: `up -d` brings the one-shot seed, data, api and web
//! up in dependency order, each service reaches the one it depends on by its service name,
//! `ps` lists them, `logs` shows each one's output prefixed; `up -d` again keeps every
//! container (same IDs);
//! `down -v` leaves nothing of the project.

use super::env::ComposeEnv;
use hoist_testkit::wait_until_ok;
use std::time::Duration;

#[test]
fn example_up_reach_ps_logs_again_and_down() {
    let Some(env) = ComposeEnv::with_example("cmp-example") else {
        return;
    };
    let port = hoist_testkit::free_port().to_string();
    let up = env
        .hoist()
        .env("WEB_PORT", &port)
        .args(["compose", "up", "-d"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&up.stderr).into_owned();
    assert!(up.status.success(), "up -d failed: {stderr}");
    assert!(
        stderr.contains("Network greeter_default  Created"),
        "{stderr}"
    );
    assert!(stderr.contains("Volume greeter_data  Created"), "{stderr}");
    // Dependency order: each service started after the one it waits for was ready.
    let at = |s: &str| {
        stderr
            .find(s)
            .unwrap_or_else(|| panic!("{s:?} in {stderr}"))
    };
    assert!(at("greeter-seed-1  Exited") < at("greeter-data-1  Started"));
    assert!(at("greeter-data-1  Healthy") < at("greeter-api-1  Started"));
    assert!(at("greeter-api-1  Healthy") < at("greeter-web-1  Started"));

    // Each service reaches the one it depends on by its name.
    let (ok, out) = env.exec("greeter-api-1", "wget -q -O - http://data/greeting");
    assert!(ok && out.contains("hello from the data service"), "{out}");
    let (ok, out) = env.exec(
        "greeter-web-1",
        "wget -q -O - http://api:8080/cgi-bin/greeting",
    );
    assert!(
        ok && out.contains("api: hello from the data service"),
        "{out}"
    );
    // And the front, through its published port, the whole chain.
    let (ok, out) = env.net.ns.sh(&format!(
        "wget -q -O - http://127.0.0.1:{port}/cgi-bin/index"
    ));
    assert!(
        ok && out.contains("web: api: hello from the data service"),
        "{out}"
    );

    // ps: the three running services (the one-shot only with -a), with the published port.
    let table = env.ok(&["compose", "ps"]);
    for name in ["greeter-data-1", "greeter-api-1", "greeter-web-1"] {
        assert!(table.contains(name), "{table}");
    }
    assert!(!table.contains("greeter-seed-1"), "{table}");
    assert!(
        table.contains(&format!("127.0.0.1:{port}->80/tcp")),
        "{table}"
    );
    let all = env.states(&[]);
    assert_eq!(all.len(), 4, "{all:?}");
    assert_eq!(all["greeter-seed-1"].1, "exited");
    // Nothing waits for web's own health check: it passes a moment later.
    let web = wait_until_ok("web to be healthy", Duration::from_secs(30), || {
        let ps = env.ps(&[]);
        ps.into_iter()
            .find(|c| c["Service"] == "web" && c["Health"] == "healthy")
    });
    assert_eq!(web["Project"], "greeter");
    assert!(web["Labels"]
        .as_str()
        .unwrap()
        .contains("com.docker.compose.container-number=1"));

    // logs: every service's lines, each prefixed with its container.
    let logs = env.ok(&["compose", "logs"]);
    for (name, line) in [
        ("greeter-seed-1", "seed: wrote the greeting"),
        ("greeter-data-1", "data: serving /data"),
        ("greeter-api-1", "api: listening on 8080"),
        ("greeter-web-1", "web: listening on 80"),
    ] {
        assert!(
            logs.lines()
                .any(|l| l.starts_with(name) && l.contains(" | ") && l.ends_with(line)),
            "no {name:?} line ending {line:?} in:\n{logs}"
        );
    }
    let tail = env.ok(&["compose", "logs", "--tail", "1", "seed"]);
    assert_eq!(tail.lines().count(), 1, "{tail}");

    // up -d again: nothing changes.
    let ids = |env: &ComposeEnv| {
        env.states(&[])
            .into_iter()
            .map(|(n, (id, _))| (n, id))
            .collect::<Vec<_>>()
    };
    let before = ids(&env);
    let again = env
        .hoist()
        .env("WEB_PORT", &port)
        .args(["compose", "up", "-d"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    // Only the exited one-shot runs again (docker compose starts every stopped container).
    let started: Vec<&str> = stderr.lines().filter(|l| l.contains("Started")).collect();
    assert_eq!(started, [" Container greeter-seed-1  Started"], "{stderr}");
    assert!(!stderr.contains("Created"), "{stderr}");
    assert_eq!(ids(&env), before);

    // down -v: containers, network and volume gone.
    env.ok(&["compose", "down", "-v"]);
    assert!(env.states(&[]).is_empty());
    assert!(!env.network_names().contains(&"greeter_default".to_string()));
    assert!(!env.volume_names().contains(&"greeter_data".to_string()));
}
