//! `hoist compose config` against Debian's docker-compose 1.29 (`config` needs no daemon):
//! for each `testdata/compose/compat-*` case both read the same files with the same
//! environment, and the semantic content must agree — services, images, ports, volumes,
//! environment and networks — though the YAML they print differs in shape. Bad input that
//! docker-compose refuses, hoist refuses too, with the file and line.

use crate::common::{hoist_bin, repo_dir};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What both tools must agree on, per service.
#[derive(Debug, PartialEq, Default)]
struct Semantic {
    image: String,
    /// (host_ip, published, target, protocol)
    ports: BTreeSet<(String, String, String, String)>,
    /// (type, source, target, read_only)
    volumes: BTreeSet<(String, String, String, bool)>,
    environment: BTreeMap<String, Option<String>>,
    networks: BTreeMap<String, Vec<String>>,
}

fn compat_cases() -> Vec<PathBuf> {
    let dir = repo_dir().join("testdata/compose");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("testdata/compose")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("compat-")
        })
        .collect();
    cases.sort();
    cases
}

/// The case's `options` as command-line flags and environment (see testdata/compose/README.md).
fn case_args(dir: &Path) -> (Vec<String>, Vec<(String, String)>) {
    let text = std::fs::read_to_string(dir.join("options")).unwrap_or_default();
    let (mut args, mut env) = (Vec::new(), Vec::new());
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (flag, value) = line.split_once(' ').unwrap();
        if flag == "env" {
            let (k, v) = value.split_once('=').unwrap();
            env.push((k.to_string(), v.to_string()));
        } else {
            args.extend([flag.to_string(), value.to_string()]);
        }
    }
    (args, env)
}

/// A command with only the environment the case gives (plus PATH and HOME), in `dir`.
fn command_in(program: &Path, dir: &Path, env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/home/tester")
        .envs(env.iter().map(|(k, v)| (k, v)));
    cmd
}

fn run_json(mut cmd: Command, what: &str) -> Value {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// docker-compose 1.29 prints ports as `{published, target, protocol}` or
/// `HOST_IP:PUBLISHED:TARGET/PROTO` strings; hoist always as the long form.
fn port(v: &Value) -> (String, String, String, String) {
    if let Value::String(s) = v {
        let (rest, proto) = s.rsplit_once('/').unwrap_or((s, "tcp"));
        let parts: Vec<&str> = rest.split(':').collect();
        let (ip, published, target) = match parts.as_slice() {
            [t] => ("", "", *t),
            [p, t] => ("", *p, *t),
            [ip, p, t] => (*ip, *p, *t),
            _ => panic!("port {s}"),
        };
        return (ip.into(), published.into(), target.into(), proto.into());
    }
    let proto = v.get("protocol").map(text).unwrap_or_default();
    (
        v.get("host_ip").map(text).unwrap_or_default(),
        v.get("published").map(text).unwrap_or_default(),
        text(&v["target"]),
        if proto.is_empty() {
            "tcp".into()
        } else {
            proto
        },
    )
}

/// Volumes as `SOURCE:TARGET:MODE` / `TARGET` strings (docker-compose) or long form (both).
fn volume(v: &Value) -> (String, String, String, bool) {
    if let Value::String(s) = v {
        let parts: Vec<&str> = s.split(':').collect();
        return match parts.as_slice() {
            [t] => ("volume".into(), String::new(), t.to_string(), false),
            [src, t, rest @ ..] => {
                let kind = if src.starts_with('/') {
                    "bind"
                } else {
                    "volume"
                };
                let ro = rest
                    .first()
                    .is_some_and(|m| m.split(',').any(|o| o == "ro"));
                (kind.into(), src.to_string(), t.to_string(), ro)
            }
            _ => panic!("volume {s}"),
        };
    }
    (
        text(&v["type"]),
        v.get("source").map(text).unwrap_or_default(),
        text(&v["target"]),
        v.get("read_only").and_then(Value::as_bool).unwrap_or(false),
    )
}

fn semantic(config: &Value) -> BTreeMap<String, Semantic> {
    let mut out = BTreeMap::new();
    for (name, svc) in config["services"].as_object().expect("services") {
        let mut s = Semantic {
            image: text(&svc["image"]),
            ..Semantic::default()
        };
        for p in svc
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            s.ports.insert(port(p));
        }
        for v in svc
            .get("volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            s.volumes.insert(volume(v));
        }
        for (k, v) in svc
            .get("environment")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            s.environment
                .insert(k.clone(), (!v.is_null()).then(|| text(v)));
        }
        match svc.get("networks").and_then(Value::as_object) {
            Some(nets) => {
                for (n, opts) in nets {
                    let aliases = opts
                        .get("aliases")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().map(text).collect())
                        .unwrap_or_default();
                    s.networks.insert(n.clone(), aliases);
                }
            }
            // docker-compose leaves the implicit default network out.
            None => {
                s.networks.insert("default".into(), Vec::new());
            }
        }
        out.insert(name.clone(), s);
    }
    out
}

fn top_level_keys(config: &Value, key: &str) -> BTreeSet<String> {
    config
        .get(key)
        .and_then(Value::as_object)
        .map(|m| m.keys().filter(|k| *k != "default").cloned().collect())
        .unwrap_or_default()
}

fn docker_compose_json(dir: &Path, args: &[String], env: &[(String, String)]) -> Value {
    // PyYAML comes with docker-compose; it turns the printed YAML into JSON. The YAML goes
    // to a temp dir, never into the repository.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("config.yml");
    let script = format!(
        "set -e; docker-compose {} config > '{out}'; python3 -c 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' '{out}'",
        args.join(" "),
        out = out.display()
    );
    let mut cmd = command_in(Path::new("/bin/sh"), dir, env);
    cmd.args(["-c", &script]);
    run_json(cmd, &format!("docker-compose config in {}", dir.display()))
}

#[test]
fn config_agrees_with_docker_compose_on_the_compat_fixtures() {
    hoist_testkit::require_program!("docker-compose");
    hoist_testkit::require_program!("python3");
    let cases = compat_cases();
    assert!(cases.len() >= 3, "compat cases: {cases:?}");
    for dir in cases {
        let (args, env) = case_args(&dir);
        let mut hoist = command_in(&hoist_bin(), &dir, &env);
        hoist
            .arg("compose")
            .args(&args)
            .args(["config", "--format", "json"]);
        let ours = run_json(hoist, &format!("hoist compose config in {}", dir.display()));
        let theirs = docker_compose_json(&dir, &args, &env);
        assert!(
            !semantic(&ours).is_empty(),
            "{}: no services",
            dir.display()
        );
        assert_eq!(
            semantic(&ours),
            semantic(&theirs),
            "{}: services differ",
            dir.display()
        );
        for key in ["volumes", "networks"] {
            assert_eq!(
                top_level_keys(&ours, key),
                top_level_keys(&theirs, key),
                "{}: top-level {key} differ",
                dir.display()
            );
        }
    }
}

#[test]
fn config_refuses_what_docker_compose_refuses() {
    hoist_testkit::require_program!("docker-compose");
    let dir = repo_dir().join("testdata/compose");
    for (case, says) in [
        ("error-not-yaml", "compose.yaml:4:4: not valid YAML"),
        ("error-unknown-dependency", "depends on undefined service \"db\""),
        ("error-cycle", "dependency cycle: a -> b -> c -> a"),
        ("error-required-variable", "compose.yaml:5: services.web.environment[0]: required variable DB_PASSWORD is missing a value: set DB_PASSWORD in .env"),
        ("error-undefined-volume", "mounts volume \"data\", which is not declared"),
        ("error-bad-port-range", "compose.yaml:5: services.web.ports[0]"),
    ] {
        let case_dir = dir.join(case);
        let file = case_dir.join("compose.yaml").to_string_lossy().into_owned();
        let ours = command_in(&hoist_bin(), &case_dir, &[])
            .args(["compose", "config", "-q"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&ours.stderr);
        assert_eq!(ours.status.code(), Some(1), "{case}: {stderr}");
        assert!(stderr.contains(says), "{case}: {stderr}");
        assert!(ours.stdout.is_empty(), "{case}: printed {:?}", String::from_utf8_lossy(&ours.stdout));
        let theirs = command_in(Path::new("docker-compose"), &case_dir, &[])
            .args(["-f", &file, "config", "-q"])
            .output()
            .unwrap();
        assert!(!theirs.status.success(), "{case}: docker-compose accepted it");
    }
}

#[test]
fn config_services_quiet_and_warnings() {
    let dir = repo_dir().join("testdata/compose/My_Project.Dir");
    let out = command_in(&hoist_bin(), &dir, &[])
        .args(["compose", "config", "--services"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "app\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("docker-compose.yml:5: services.app.imgae: unknown key"),
        "{stderr}"
    );
    let quiet = command_in(&hoist_bin(), &dir, &[])
        .args(["compose", "-p", "other", "config", "-q"])
        .output()
        .unwrap();
    assert!(quiet.status.success() && quiet.stdout.is_empty());
    // -f and -p after the verb too, as docker compose accepts them.
    let yaml = command_in(&hoist_bin(), &dir, &[])
        .args([
            "compose",
            "config",
            "-p",
            "renamed",
            "-f",
            "docker-compose.yml",
        ])
        .output()
        .unwrap();
    let yaml = String::from_utf8_lossy(&yaml.stdout);
    assert!(
        yaml.starts_with("name: renamed\nservices:\n  app:\n"),
        "{yaml}"
    );
    assert!(yaml.contains("name: renamed_backend"), "{yaml}");
}

// Running projects (issue 16's verbs): each test makes its own network namespace, store
// root and project directory (compose/env.rs).

#[path = "compose/env.rs"]
mod env;

#[path = "compose/example.rs"]
mod example;

#[path = "compose/reconcile.rs"]
mod reconcile;

#[path = "compose/conditions.rs"]
mod conditions;

#[path = "compose/lifecycle.rs"]
mod lifecycle;

#[path = "compose/files.rs"]
mod files;

#[path = "compose/errors.rs"]
mod errors;

#[path = "compose/docker.rs"]
mod docker;

#[path = "compose/foreground.rs"]
mod foreground;

#[path = "compose/probes.rs"]
mod probes;

#[path = "compose/podman.rs"]
mod podman;

#[path = "compose/verbs_exec_run.rs"]
mod verbs_exec_run;

#[path = "compose/verbs_manage.rs"]
mod verbs_manage;

#[path = "compose/verbs_images.rs"]
mod verbs_images;

#[path = "compose/init_extras.rs"]
mod init_extras;

#[path = "compose/sysctl_extras.rs"]
mod sysctl_extras;
