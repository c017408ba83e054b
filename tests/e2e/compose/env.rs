//! A compose test's world: a network namespace of its own (the project's bridge network, its
//! rules and DNS responder live and die there), a temp store root with the busybox image,
//! and a project directory; helpers run `hoist compose` there and read what it made.

use crate::common::repo_dir;
use crate::network::env::NetEnv;
use hoist_testkit::TempRoot;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct ComposeEnv {
    /// The namespace and store root, shared with the network tests (its drop
    /// removes containers and networks before the namespace goes).
    pub net: NetEnv,
    /// The project directory (compose files, .env, the example's scripts).
    pub dir: TempRoot,
}

impl ComposeEnv {
    /// None (the test skips) without root, nft or busybox.
    pub fn new(tag: &str) -> Option<ComposeEnv> {
        Some(ComposeEnv {
            net: NetEnv::new(tag)?,
            dir: TempRoot::new(),
        })
    }

    /// The same, with examples/compose copied into the project directory.
    pub fn with_example(tag: &str) -> Option<ComposeEnv> {
        let env = ComposeEnv::new(tag)?;
        let ok = Command::new("cp")
            .arg("-a")
            .arg(repo_dir().join("examples/compose/."))
            .arg(env.dir.path())
            .status()
            .expect("cp");
        assert!(ok.success(), "copying examples/compose");
        Some(env)
    }

    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.join(name), text).unwrap();
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `hoist --root ROOT ...` inside the namespace, in the project directory.
    pub fn hoist(&self) -> Command {
        let mut c = self.net.hoist();
        c.current_dir(self.dir.path());
        c.env_remove("COMPOSE_FILE")
            .env_remove("COMPOSE_PROJECT_NAME")
            .env_remove("COMPOSE_PROFILES");
        c
    }

    pub fn out(&self, args: &[&str]) -> Output {
        self.hoist().args(args).output().expect("run hoist")
    }

    /// Runs hoist, panics unless it succeeds; returns (stdout, stderr).
    pub fn ok2(&self, args: &[&str]) -> (String, String) {
        let out = self.out(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "hoist {args:?} failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
            out.status
        );
        (stdout, stderr)
    }

    pub fn ok(&self, args: &[&str]) -> String {
        self.ok2(args).0
    }

    /// Runs hoist expecting failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.out(args);
        assert!(
            !out.status.success(),
            "hoist {args:?} should have failed:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// `compose ps --format json -a`, one object per container.
    pub fn ps(&self, extra: &[&str]) -> Vec<serde_json::Value> {
        let mut args = vec!["compose"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["ps", "-a", "--format", "json"]);
        self.ok(&args)
            .lines()
            .map(|l| serde_json::from_str(l).expect("ps JSON line"))
            .collect()
    }

    /// Container name → (ID, State), from `ps -a`.
    pub fn states(&self, extra: &[&str]) -> std::collections::BTreeMap<String, (String, String)> {
        self.ps(extra)
            .into_iter()
            .map(|c| {
                (
                    c["Name"].as_str().unwrap().to_string(),
                    (
                        c["ID"].as_str().unwrap().to_string(),
                        c["State"].as_str().unwrap().to_string(),
                    ),
                )
            })
            .collect()
    }

    /// Every container of the store (`ps -aq`), whatever project.
    pub fn all_containers(&self) -> Vec<String> {
        self.ok(&["ps", "-aq"]).lines().map(String::from).collect()
    }

    /// `hoist exec NAME sh -c SCRIPT`: (success, output).
    pub fn exec(&self, name: &str, script: &str) -> (bool, String) {
        let out = self.out(&["exec", name, "sh", "-c", script]);
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }

    pub fn inspect(&self, name: &str) -> serde_json::Value {
        let text = self.ok(&["inspect", name]);
        let v: serde_json::Value = serde_json::from_str(&text).expect("inspect JSON");
        v[0].clone()
    }

    /// The networks' records (`<root>/networks/<name>.json`).
    pub fn network_names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.net.root.join("networks"))
            .map(|d| {
                d.flatten()
                    .filter_map(|e| {
                        let n = e.file_name().to_string_lossy().into_owned();
                        n.strip_suffix(".json").map(String::from)
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    pub fn volume_names(&self) -> Vec<String> {
        let dir = self.net.root.join("volumes");
        names_in(&dir)
    }
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
