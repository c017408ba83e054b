//! The compose loader, whole: YAML, interpolation, merge, normalization and
//! validation of a compose.yaml written to a fresh directory on /dev/shm.
//!
//! The body of fuzz target `compose`, shared by fuzz_targets/compose.rs and the
//! e2e corpus replay (tests/e2e/fuzz_corpus.rs).

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The YAML layer alone first: it sees every input, even ones whose
    // file would not be read back the same way.
    let _ = hoist_compose::yaml::load(text, "compose.yaml");
    let dir = tempfile::Builder::new()
        .prefix("hoist-fuzz-compose-")
        .tempdir_in("/dev/shm")
        .expect("a temp dir on /dev/shm");
    let file = dir.path().join("compose.yaml");
    std::fs::write(&file, text).unwrap();
    let opts = hoist_compose::Options {
        files: vec![file],
        working_dir: dir.path().to_path_buf(),
        project_name: Some("fuzz".into()),
        ..Default::default()
    };
    let _ = hoist_compose::load(&opts);
}
