//! The registry server's request parsing: path routing (names with `/`,
//! percent escapes, digests), query strings, `Range` and `Content-Range`.
#![no_main]

use hoist_registry::api::fuzz_hooks;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
});
