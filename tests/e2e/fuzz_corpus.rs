//! The fuzz corpora (fuzz/corpus/<target>/, minimized with `cargo fuzz
//! cmin`) replayed through the targets' own bodies (fuzz/bodies/), so every
//! input a fuzzer once found interesting — crash regressions included —
//! is checked by every CI run without nightly or cargo-fuzz.

#[path = "../../fuzz/bodies/compose.rs"]
mod compose;
#[path = "../../fuzz/bodies/dockerfile.rs"]
mod dockerfile;
#[path = "../../fuzz/bodies/layer_unpack.rs"]
mod layer_unpack;
#[path = "../../fuzz/bodies/layer_validate.rs"]
mod layer_validate;
#[path = "../../fuzz/bodies/manifest.rs"]
mod manifest;
#[path = "../../fuzz/bodies/probe.rs"]
mod probe;
#[path = "../../fuzz/bodies/reference.rs"]
mod reference;
#[path = "../../fuzz/bodies/registry_http.rs"]
mod registry_http;
#[path = "../../fuzz/bodies/www_authenticate.rs"]
mod www_authenticate;

/// Runs `body` over every file of `fuzz/corpus/<target>/`; a panic names
/// the input.
fn replay(target: &str, body: fn(&[u8])) {
    let dir = crate::common::repo_dir().join("fuzz/corpus").join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{} is empty", dir.display());
    for input in inputs {
        let data = std::fs::read(&input).unwrap();
        let outcome = std::panic::catch_unwind(|| body(&data));
        assert!(outcome.is_ok(), "fuzz/{target}: {} fails", input.display());
    }
}

#[test]
fn compose_corpus() {
    replay("compose", compose::run);
}

#[test]
fn dockerfile_corpus() {
    replay("dockerfile", dockerfile::run);
}

#[test]
fn layer_unpack_corpus() {
    replay("layer_unpack", layer_unpack::run);
}

#[test]
fn layer_validate_corpus() {
    replay("layer_validate", layer_validate::run);
}

#[test]
fn manifest_corpus() {
    replay("manifest", manifest::run);
}

#[test]
fn probe_corpus() {
    replay("probe", probe::run);
}

#[test]
fn reference_corpus() {
    replay("reference", reference::run);
}

#[test]
fn registry_http_corpus() {
    replay("registry_http", registry_http::run);
}

#[test]
fn www_authenticate_corpus() {
    replay("www_authenticate", www_authenticate::run);
}
