//! A kube test's world: the network tests' namespace and store (hoist, its pods' holders and
//! the Services' keepers run in there), a directory for the YAML, and helpers. Dropping it
//! runs `kube down` on every file played, removes any pod left, and ends any keeper left.

use crate::network::env::NetEnv;
use hoist_testkit::TempRoot;
use std::cell::RefCell;
use std::path::PathBuf;
use std::process::Output;

pub struct KubeEnv {
    pub net: NetEnv,
    pub dir: TempRoot,
    played: RefCell<Vec<String>>,
}

impl KubeEnv {
    pub fn new(tag: &str) -> Option<KubeEnv> {
        Some(KubeEnv {
            net: NetEnv::new(tag)?,
            dir: TempRoot::new(),
            played: RefCell::new(Vec::new()),
        })
    }

    /// Writes `text` as `name` in the test's directory; returns its path.
    pub fn write(&self, name: &str, text: &str) -> String {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap();
        let s = p.display().to_string();
        let mut played = self.played.borrow_mut();
        if !played.contains(&s) {
            played.push(s.clone());
        }
        s
    }

    pub fn out(&self, args: &[&str]) -> Output {
        self.net.out(args)
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

    pub fn fails(&self, args: &[&str]) -> String {
        self.net.fails(args)
    }

    /// The names of the store's containers (`ps -a`), sorted.
    pub fn containers(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .net
            .ok(&["ps", "-a", "--format", "{{.Names}}"])
            .lines()
            .map(String::from)
            .collect();
        v.sort();
        v
    }

    /// The names of the store's pods, sorted.
    pub fn pods(&self) -> Vec<String> {
        let text = self.net.ok(&["pod", "ps", "--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&text).expect("pod ps JSON");
        let mut names: Vec<String> = v
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["Name"].as_str().map(String::from))
            .collect();
        names.sort();
        names
    }

    /// A path in the test's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `State` of inspect.
    pub fn state(&self, name: &str) -> serde_json::Value {
        self.net.inspect(name)["State"].clone()
    }

    /// A GET of 127.0.0.1:PORT/ inside the namespace: the body, or None.
    pub fn get(&self, port: u16) -> Option<String> {
        let (ok, out) = self
            .net
            .ns
            .sh(&format!("curl -s --max-time 2 http://127.0.0.1:{port}/"));
        (ok && !out.is_empty()).then(|| out.trim().to_string())
    }
}

impl Drop for KubeEnv {
    fn drop(&mut self) {
        for f in self.played.borrow().iter() {
            let _ = self.net.out(&["kube", "down", f]);
        }
        let pods = self.net.out(&["pod", "ps", "-q"]);
        for p in String::from_utf8_lossy(&pods.stdout).split_whitespace() {
            let _ = self.net.out(&["pod", "rm", "-f", p]);
        }
        // Keepers a failed test left: by the PID their record names (and its start time).
        let dir = self.net.root.join("kube").join("services");
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let Ok(b) = std::fs::read(e.path()) else {
                continue;
            };
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(&b) else {
                continue;
            };
            let (Some(pid), Some(start)) = (v["pid"].as_i64(), v["start"].as_u64()) else {
                continue;
            };
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let alive = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split(' ').nth(20))
                .and_then(|s| s.parse::<u64>().ok())
                == Some(start);
            if alive {
                // SAFETY: a signal to the keeper this test's hoist started.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
        }
    }
}
