//! The layer tar validator (`hoist import`, pulls): gzip, zstd or plain tar
//! bytes are judged safe or refused with an error, within the limits.
#![no_main]

use hoist_store::layer::{validate_tar, LayerLimits, ValidateOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
});
