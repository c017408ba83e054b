//! Tidy checks over the source tree: only loopback addresses in tests,
//! examples and benchmarks (any address only in files that make their own
//! network namespace); no process killing by name; crate dependencies
//! only in DESIGN.md's direction; no source file over 800 lines.

use crate::common::repo_dir;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 800;

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" || name.starts_with("target-") {
            continue;
        }
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn text_files(dirs: &[&str]) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for d in dirs {
        files_under(&repo_dir().join(d), &mut files);
    }
    files
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))
        .collect()
}

/// IPv4 literals in `text` (a.b.c.d with each part 0-255).
fn ipv4_literals(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts = bytes[i].is_ascii_digit()
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.'));
        if starts {
            let mut j = i;
            while j < bytes.len() && (bytes[j].is_ascii_digit() || bytes[j] == b'.') {
                j += 1;
            }
            let candidate = text[i..j].trim_end_matches('.');
            let parts: Vec<&str> = candidate.split('.').collect();
            let follows_alnum = j < bytes.len() && bytes[j].is_ascii_alphabetic();
            if parts.len() == 4
                && !follows_alnum
                && parts.iter().all(|p| {
                    !p.is_empty() && p.len() <= 3 && p.parse::<u16>().is_ok_and(|n| n <= 255)
                })
            {
                found.push(candidate.to_string());
            }
            i = j;
        } else {
            i += 1;
        }
    }
    found
}

fn allowed_address(ip: &str) -> bool {
    // Loopback, and the unspecified address in the context of "bind to all"
    // parsing tests is still refused: only 127.0.0.0/8 is allowed.
    ip.starts_with("127.")
}

/// Whether a file makes the network namespace its addresses live in: network tests and
/// benchmarks may use any address inside a namespace they made themselves (an "outside
/// world" there is another namespace they made), never on the host's own links.
fn makes_its_own_network_namespace(text: &str) -> bool {
    // `User::new(Ranges::` is the rootless harness (tests/e2e/rootless/user.rs): every user
    // it makes runs hoist inside a `Netns::new` of its own.
    [
        "Netns::new(",
        "NetEnv::new(",
        "ip netns add",
        "User::new(Ranges::",
    ]
    .iter()
    .any(|marker| text.contains(marker))
}

#[test]
fn only_loopback_addresses_in_tests_examples_and_benchmarks() {
    let mut bad = Vec::new();
    for (path, text) in text_files(&["tests", "examples", "bench"]) {
        if makes_its_own_network_namespace(&text) {
            continue;
        }
        for ip in ipv4_literals(&text) {
            if !allowed_address(&ip) {
                bad.push(format!("{}: {ip}", path.display()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "non-loopback IP literals:\n{}",
        bad.join("\n")
    );
}

#[test]
fn ipv4_literal_finder_works() {
    // Built at run time so this file holds no non-loopback literal itself.
    let private = format!("{}.0.0.1", 10);
    let text = format!("a 127.0.0.1:5000 and {private}.");
    assert_eq!(ipv4_literals(&text), ["127.0.0.1", private.as_str()]);
    assert!(ipv4_literals("version 1.2.3.4a and 0.10.0 and 999.1.1.1").is_empty());
}

#[test]
fn no_process_killing_by_name() {
    let mut bad = Vec::new();
    let forbidden = [["pk", "ill"].concat(), ["kill", "all"].concat()];
    for (path, text) in text_files(&[
        "src", "crates", "registry", "builder", "tests", "examples", "bench", "testdata", ".ci",
    ]) {
        for word in &forbidden {
            if text.contains(word.as_str()) {
                bad.push(format!("{}: {word}", path.display()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "processes must be ended by PID:\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_source_file_over_800_lines() {
    let mut bad = Vec::new();
    for (path, text) in text_files(&["src", "crates", "registry", "builder", "tests", "fuzz"]) {
        if path.extension().is_some_and(|e| e == "rs") && text.lines().count() > MAX_LINES {
            bad.push(format!(
                "{}: {} lines",
                path.display(),
                text.lines().count()
            ));
        }
    }
    assert!(bad.is_empty(), "split these files:\n{}", bad.join("\n"));
}

#[test]
fn crate_dependencies_follow_the_design() {
    // What each hoist crate may depend on (DESIGN.md, "Dependency direction").
    let allowed: BTreeMap<&str, &[&str]> = BTreeMap::from([
        (
            "hoist",
            &[
                "hoist-builder",
                "hoist-registry",
                "hoist-client",
                "hoist-runtime",
                "hoist-network",
                "hoist-compose",
                "hoist-kube",
                "hoist-reconcile",
                "hoist-store",
                "hoist-oci",
                "hoist-testkit",
            ][..],
        ),
        // DESIGN.md "Wave 2": kube, like compose, a front-end over the reconciler and the
        // runtime's lifecycle API; it reads YAML with compose's reader (positions in errors,
        // no second YAML stack), hence the edge to compose.
        (
            "hoist-kube",
            &[
                "hoist-compose",
                "hoist-reconcile",
                "hoist-runtime",
                "hoist-network",
                "hoist-store",
                "hoist-oci",
                "hoist-testkit",
            ][..],
        ),
        // DESIGN.md "Wave 2": compose loads and plans (pure), then applies
        // through the runtime's lifecycle API.
        (
            "hoist-compose",
            &[
                "hoist-reconcile",
                "hoist-runtime",
                "hoist-network",
                "hoist-store",
                "hoist-oci",
                "hoist-testkit",
            ][..],
        ),
        (
            "hoist-builder",
            &["hoist-runtime", "hoist-store", "hoist-oci", "hoist-testkit"][..],
        ),
        (
            "hoist-runtime",
            &["hoist-network", "hoist-store", "hoist-oci", "hoist-testkit"][..],
        ),
        ("hoist-network", &["hoist-testkit"][..]),
        // The reconciler (plan pure; apply through a driver over the runtime's lifecycle
        // API), shared by compose and kube.
        (
            "hoist-reconcile",
            &[
                "hoist-runtime",
                "hoist-network",
                "hoist-store",
                "hoist-oci",
                "hoist-testkit",
            ][..],
        ),
        (
            "hoist-client",
            &["hoist-store", "hoist-oci", "hoist-testkit"][..],
        ),
        ("hoist-registry", &["hoist-oci", "hoist-testkit"][..]),
        ("hoist-store", &["hoist-oci", "hoist-testkit"][..]),
        ("hoist-oci", &["hoist-testkit"][..]),
        ("hoist-testkit", &[][..]),
    ]);
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(repo_dir())
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut bad = Vec::new();
    let mut seen = BTreeSet::new();
    for pkg in meta["packages"].as_array().unwrap() {
        let name = pkg["name"].as_str().unwrap();
        seen.insert(name.to_string());
        let Some(ok) = allowed.get(name) else {
            bad.push(format!(
                "{name}: a new crate; add it to DESIGN.md and this test"
            ));
            continue;
        };
        for dep in pkg["dependencies"].as_array().unwrap() {
            let dep_name = dep["name"].as_str().unwrap();
            if dep_name.starts_with("hoist") && !ok.contains(&dep_name) {
                bad.push(format!("{name} -> {dep_name}"));
            }
            if dep_name == "hoist-testkit" && dep["kind"].as_str() != Some("dev") {
                bad.push(format!("{name} -> hoist-testkit outside dev-dependencies"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "dependency edges DESIGN.md forbids:\n{}",
        bad.join("\n")
    );
    assert!(seen.contains("hoist-store") && seen.contains("hoist-oci"));
}
