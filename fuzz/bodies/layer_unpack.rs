//! The layer unpacker, into a fresh directory on /dev/shm (tmpfs) removed
//! after every input. Whatever the tar says, nothing may land outside it.
//!
//! The body of fuzz target `layer_unpack`, shared by fuzz_targets/layer_unpack.rs and the
//! e2e corpus replay (tests/e2e/fuzz_corpus.rs).

use hoist_store::layer::{unpack, LayerLimits, UnpackOptions, WhiteoutMode};
use std::path::Path;

pub fn run(data: &[u8]) {
    let Some((&mode, tar)) = data.split_first() else {
        return;
    };
    let scratch = tempfile::Builder::new()
        .prefix("hoist-fuzz-unpack-")
        .tempdir_in("/dev/shm")
        .expect("a temp dir on /dev/shm");
    // The target is a subdirectory, so an escape would show up beside it.
    let target = scratch.path().join("rootfs");
    std::fs::create_dir(&target).unwrap();
    let opts = UnpackOptions {
        whiteouts: if mode & 1 == 1 {
            WhiteoutMode::Overlay
        } else {
            WhiteoutMode::Apply
        },
        allow_devices: mode & 2 == 2,
        limits: LayerLimits {
            max_size: 64 << 20,
            max_entries: 10_000,
            ..LayerLimits::default()
        },
        same_owner: mode & 4 == 4,
        xattrs: mode & 8 == 8,
        start_writeback: false,
    };
    let _ = unpack(tar, &target, &opts);
    let beside: Vec<_> = std::fs::read_dir(scratch.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        beside,
        [Path::new("rootfs").as_os_str()],
        "an entry escaped"
    );
}
