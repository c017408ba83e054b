//! Which files and variables a project comes from, as `up` applies them: `-f other.yml`,
//! several `-f` merged in order, compose.override.yaml merged automatically, `.env`
//! interpolation, profiles.

use super::env::ComposeEnv;

fn env_of(env: &ComposeEnv, name: &str, var: &str) -> String {
    let (ok, out) = env.exec(name, &format!("echo ${var}"));
    assert!(ok, "{out}");
    out.trim().to_string()
}

#[test]
fn other_files_overrides_dotenv_and_profiles() {
    let Some(env) = ComposeEnv::new("cmp-files") else {
        return;
    };
    let base = r#"
name: files
services:
  app:
    image: busybox:latest
    command: ["sleep", "300"]
    stop_grace_period: 1s
    environment:
      FROM_ENV: ${GREETING:-unset}
      LAYER: base
  debug:
    image: busybox:latest
    command: ["sleep", "300"]
    profiles: [debug]
    stop_grace_period: 1s
"#;
    env.write("compose.yaml", base);
    env.write(".env", "GREETING=from-dotenv\n");
    env.write(
        "compose.override.yaml",
        "services:\n  app:\n    environment: {LAYER: override}\n",
    );
    env.write(
        "other.yml",
        "name: other\nservices:\n  solo:\n    image: busybox:latest\n    command: [sleep, '300']\n    stop_grace_period: 1s\n",
    );
    env.write(
        "extra.yml",
        "services:\n  app:\n    environment: {LAYER: extra}\n",
    );

    // Default discovery: compose.yaml + compose.override.yaml, .env interpolated, the
    // debug profile off.
    env.ok(&["compose", "up", "-d"]);
    assert_eq!(env_of(&env, "files-app-1", "FROM_ENV"), "from-dotenv");
    assert_eq!(env_of(&env, "files-app-1", "LAYER"), "override");
    assert!(!env.states(&[]).contains_key("files-debug-1"));
    // The profile on: debug joins; off again, it is not an orphan.
    env.ok(&["compose", "--profile", "debug", "up", "-d"]);
    assert!(env.states(&[]).contains_key("files-debug-1"));
    let (_, stderr) = env.ok2(&["compose", "up", "-d"]);
    assert!(!stderr.contains("orphan"), "{stderr}");

    // Several -f, merged in order (no automatic override then).
    env.ok(&[
        "compose",
        "-f",
        "compose.yaml",
        "-f",
        "extra.yml",
        "up",
        "-d",
    ]);
    assert_eq!(env_of(&env, "files-app-1", "LAYER"), "extra");

    // -f another file: another project.
    env.ok(&["compose", "-f", "other.yml", "up", "-d"]);
    let other = env.states(&["-f", "other.yml"]);
    assert_eq!(other.keys().collect::<Vec<_>>(), ["other-solo-1"]);
    env.ok(&["compose", "-f", "other.yml", "down", "-t", "1"]);
    assert!(env.states(&["-f", "other.yml"]).is_empty());
    assert!(
        env.states(&[]).contains_key("files-app-1"),
        "the first project stays"
    );
    env.ok(&["compose", "--profile", "debug", "down", "-t", "1"]);
    assert!(env.states(&[]).is_empty());
}
