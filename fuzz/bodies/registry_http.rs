//! The registry server's request parsing: path routing (names with `/`,
//! percent escapes, digests), query strings, `Range` and `Content-Range`.
//!
//! The body of fuzz target `registry_http`, shared by fuzz_targets/registry_http.rs and the
//! e2e corpus replay (tests/e2e/fuzz_corpus.rs).

use hoist_registry::api::fuzz_hooks;

pub fn run(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let _ = fuzz_hooks::content_range(rest);
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let _ = fuzz_hooks::route(text);
    let _ = fuzz_hooks::query(text);
    let size = [0, 1, 100, u64::MAX / 2, u64::MAX][usize::from(selector) % 5];
    if let Some((start, end)) = fuzz_hooks::range(text, size) {
        assert!(
            start < end && end <= size,
            "{text:?} of {size}: {start}..{end}"
        );
    }
}
