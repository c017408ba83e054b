//! `up` as a reconciler: editing one service's environment recreates only that service;
//! `--force-recreate` / `--no-recreate`; `--scale`; a service removed from the file is an
//! orphan, reported and removed only with `--remove-orphans`.

use super::env::ComposeEnv;

const THREE: &str = r#"
name: rec
services:
  a:
    image: busybox:latest
    command: ["sleep", "300"]
    stop_grace_period: 1s
  b:
    image: busybox:latest
    command: ["sleep", "300"]
    environment: {COLOUR: red}
    depends_on: [a]
    stop_grace_period: 1s
  c:
    image: busybox:latest
    command: ["sleep", "300"]
    stop_grace_period: 1s
"#;

fn ids(env: &ComposeEnv) -> std::collections::BTreeMap<String, String> {
    env.states(&[])
        .into_iter()
        .map(|(n, (id, _))| (n, id))
        .collect()
}

#[test]
fn changed_service_recreated_others_untouched_then_orphans() {
    let Some(env) = ComposeEnv::new("cmp-rec") else {
        return;
    };
    env.write("compose.yaml", THREE);
    env.ok(&["compose", "up", "-d"]);
    let first = ids(&env);
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        ["rec-a-1", "rec-b-1", "rec-c-1"]
    );

    // Edit b's environment: only b is recreated, with the new value.
    env.write(
        "compose.yaml",
        &THREE.replace("COLOUR: red", "COLOUR: blue"),
    );
    let (_, stderr) = env.ok2(&["compose", "up", "-d"]);
    assert!(stderr.contains("Container rec-b-1  Recreated"), "{stderr}");
    assert!(stderr.contains("Container rec-a-1  Running"), "{stderr}");
    let second = ids(&env);
    assert_ne!(second["rec-b-1"], first["rec-b-1"]);
    assert_eq!(second["rec-a-1"], first["rec-a-1"]);
    assert_eq!(second["rec-c-1"], first["rec-c-1"]);
    let (ok, out) = env.exec("rec-b-1", "echo $COLOUR");
    assert!(ok && out.trim() == "blue", "{out}");

    // --no-recreate keeps a changed container; --force-recreate replaces an unchanged one.
    env.write(
        "compose.yaml",
        &THREE.replace("COLOUR: red", "COLOUR: green"),
    );
    env.ok(&["compose", "up", "-d", "--no-recreate"]);
    assert_eq!(ids(&env), second);
    env.ok(&["compose", "up", "-d", "--force-recreate", "c"]);
    let third = ids(&env);
    assert_ne!(third["rec-c-1"], second["rec-c-1"]);
    assert_eq!(third["rec-a-1"], second["rec-a-1"]);

    // --scale: numbers after the highest, removed from the top.
    env.ok(&["compose", "up", "-d", "--scale", "c=3"]);
    assert!(ids(&env).contains_key("rec-c-3"));
    env.ok(&["compose", "up", "-d", "--scale", "c=1"]);
    let names: Vec<String> = ids(&env).into_keys().collect();
    assert_eq!(names, ["rec-a-1", "rec-b-1", "rec-c-1"]);

    // c leaves the file: an orphan, kept (with a warning) until --remove-orphans.
    let without_c = &THREE[..THREE.find("  c:").unwrap()];
    env.write("compose.yaml", without_c);
    let (_, stderr) = env.ok2(&["compose", "up", "-d"]);
    assert!(stderr.contains("orphan containers (rec-c-1)"), "{stderr}");
    assert!(ids(&env).contains_key("rec-c-1"));
    let (_, stderr) = env.ok2(&["compose", "up", "-d", "--remove-orphans"]);
    assert!(stderr.contains("Container rec-c-1  Removed"), "{stderr}");
    let names: Vec<String> = ids(&env).into_keys().collect();
    assert_eq!(names, ["rec-a-1", "rec-b-1"]);
    // Labels as docker compose writes them.
    let labels = &env.inspect("rec-b-1")["Config"]["Labels"];
    assert_eq!(labels["com.docker.compose.project"], "rec");
    assert_eq!(labels["com.docker.compose.service"], "b");
    assert_eq!(labels["com.docker.compose.container-number"], "1");
    assert_eq!(labels["com.docker.compose.oneoff"], "False");
    assert_eq!(
        labels["com.docker.compose.config-hash"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
}
