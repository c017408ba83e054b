//! Every case under testdata/compose/ (see its README): load the project the way
//! `hoist compose config` does and compare the rendered model with `expected.yaml`, or the
//! error with `expected-error.txt`.

use hoist_compose::{load, render, yaml, Options};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/compose")
        .canonicalize()
        .expect("testdata/compose")
}

/// Reads the case's `options` file: `-f FILE`, `-p NAME`, `--profile P`, `--env-file F`,
/// `env KEY=VALUE`, `cd DIR` (discovery starts there), one a line.
fn options(dir: &Path) -> Options {
    let mut o = Options {
        working_dir: dir.to_path_buf(),
        environment: BTreeMap::from([("HOME".to_string(), "/home/tester".to_string())]),
        ..Options::default()
    };
    let text = std::fs::read_to_string(dir.join("options")).unwrap_or_default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (flag, value) = line.split_once(' ').expect("FLAG VALUE");
        match flag {
            "-f" => o.files.push(value.into()),
            "-p" => o.project_name = Some(value.into()),
            "--profile" => o.profiles.push(value.into()),
            "--env-file" => o.env_files.push(value.into()),
            "env" => {
                let (k, v) = value.split_once('=').expect("KEY=VALUE");
                o.environment.insert(k.into(), v.into());
            }
            "cd" => o.working_dir = dir.join(value),
            other => panic!("{}: unknown option line {other}", dir.display()),
        }
    }
    o
}

/// The output with the case's absolute directory written as `$DIR`, so expectations do not
/// depend on where the tree is checked out.
fn run_case(dir: &Path) -> Result<String, String> {
    let shown = |s: String| s.replace(&dir.to_string_lossy().to_string(), "$DIR");
    match load(&options(dir)) {
        Ok(loaded) => {
            let mut out = yaml::emit(&render::project(&loaded.project));
            // What `config` prints must read back as the same tree.
            let back = yaml::load(&out, "rendered")
                .map_err(|e| format!("rendered YAML does not load: {e}"))?;
            assert_eq!(
                yaml::emit(&back),
                out,
                "{}: rendered YAML does not round-trip",
                dir.display()
            );
            for w in &loaded.warnings {
                out.push_str(&format!("# warning: {w}\n"));
            }
            Ok(shown(out))
        }
        Err(e) => Err(shown(e.to_string())),
    }
}

#[test]
fn fixtures_match_their_expected_output() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("testdata/compose")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 10,
        "expected the fixture cases, found {}",
        cases.len()
    );
    let update = std::env::var_os("HOIST_UPDATE_FIXTURES").is_some();
    let mut failures = Vec::new();
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let (file, got) = match run_case(dir) {
            Ok(out) => ("expected.yaml", out),
            Err(err) => ("expected-error.txt", err + "\n"),
        };
        let path = dir.join(file);
        if update {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(want) if want == got => {}
            Ok(want) => failures.push(format!(
                "{name}: {file} differs\n--- want\n{want}--- got\n{got}"
            )),
            Err(_) => failures.push(format!("{name}: no {file}; got\n{got}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
