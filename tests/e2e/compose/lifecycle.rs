//! stop / start / restart / down / down -v leave what docker compose leaves: stop keeps the
//! containers (exited), start runs the same containers again, restart too (a new start
//! time), down removes containers and the project's network but keeps named volumes, down -v
//! removes those too. Stop goes dependents first.

use super::env::ComposeEnv;

const FILE: &str = r#"
name: life
services:
  db:
    image: busybox:latest
    command: ["sh", "-c", "trap 'echo db-stopping; exit 0' TERM; while :; do sleep 1; done"]
    volumes: ["data:/data"]
  app:
    image: busybox:latest
    command: ["sh", "-c", "trap 'echo app-stopping; exit 0' TERM; while :; do sleep 1; done"]
    depends_on: [db]
volumes:
  data: {}
"#;

fn started_at(env: &ComposeEnv, name: &str) -> String {
    env.inspect(name)["State"]["StartedAt"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn stop_start_restart_down_and_down_v() {
    let Some(env) = ComposeEnv::new("cmp-life") else {
        return;
    };
    env.write("compose.yaml", FILE);
    env.ok(&["compose", "up", "-d"]);
    let up = env.states(&[]);
    assert!(up.values().all(|(_, s)| s == "running"), "{up:?}");

    let (_, stderr) = env.ok2(&["compose", "stop"]);
    let at = |s: &str| stderr.find(s).unwrap_or_else(|| panic!("{s} in {stderr}"));
    assert!(
        at("life-app-1  Stopped") < at("life-db-1  Stopped"),
        "dependents first"
    );
    let stopped = env.states(&[]);
    assert!(stopped.values().all(|(_, s)| s == "exited"), "{stopped:?}");
    assert!(
        env.ok(&["compose", "ps"]).lines().count() == 1,
        "ps without -a: header only"
    );

    env.ok(&["compose", "start"]);
    let again = env.states(&[]);
    for (name, (id, state)) in &again {
        assert_eq!(state, "running", "{name}");
        assert_eq!(id, &up[name].0, "start runs the same container");
    }

    let before = started_at(&env, "life-app-1");
    env.ok(&["compose", "restart", "app"]);
    assert_eq!(env.states(&[])["life-app-1"].0, up["life-app-1"].0);
    assert_ne!(started_at(&env, "life-app-1"), before);

    env.ok(&["compose", "down"]);
    assert!(env.states(&[]).is_empty());
    assert!(!env.network_names().contains(&"life_default".to_string()));
    assert!(env.volume_names().contains(&"life_data".to_string()));
    let vol: serde_json::Value =
        serde_json::from_str(&env.ok(&["volume", "inspect", "life_data"])).unwrap();
    assert_eq!(vol[0]["Labels"]["com.docker.compose.project"], "life");
    assert_eq!(vol[0]["Labels"]["com.docker.compose.volume"], "data");

    env.ok(&["compose", "up", "-d"]);
    env.ok(&["compose", "down", "-v"]);
    assert!(env.states(&[]).is_empty());
    assert!(!env.volume_names().contains(&"life_data".to_string()));
}
