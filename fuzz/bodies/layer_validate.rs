//! The layer tar validator (`hoist import`, pulls): gzip, zstd or plain tar
//! bytes are judged safe or refused with an error, within the limits.
//!
//! The body of fuzz target `layer_validate`, shared by fuzz_targets/layer_validate.rs and the
//! e2e corpus replay (tests/e2e/fuzz_corpus.rs).

use hoist_store::layer::{validate_tar, LayerLimits, ValidateOptions};

pub fn run(data: &[u8]) {
    let opts = ValidateOptions {
        allow_devices: data.first().is_some_and(|b| b & 1 == 1),
        limits: LayerLimits {
            // Small caps so a decompression bomb is refused, not explored.
            max_size: 64 << 20,
            max_entries: 10_000,
            ..LayerLimits::default()
        },
    };
    let _ = validate_tar(data, &opts);
}
