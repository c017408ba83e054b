//! pack -> unpack gives the same tree; the same tree gives the same digest.

use super::tree::describe;
use hoist_store::layer::{
    pack_dir_to, pack_tar_stream_to, unpack, validate_tar, Compression, PackOptions, UnpackOptions,
    ValidateOptions,
};
use hoist_testkit::TempRoot;
use sha2::Digest;
use std::fs::{self, File};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

fn set_mtime(path: &Path, secs: u64) {
    File::open(path)
        .unwrap()
        .set_modified(UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

/// A tree with every kind of thing a layer carries. `base` offsets mtimes.
fn build_tree(root: &Path, base: u64) -> bool {
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::create_dir_all(root.join("etc/deep/er")).unwrap();
    fs::create_dir_all(root.join("empty")).unwrap();
    fs::write(root.join("bin/tool"), b"#!/bin/sh\necho hi\n").unwrap();
    fs::set_permissions(root.join("bin/tool"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::write(root.join("etc/secret"), b"s3cret").unwrap();
    fs::set_permissions(root.join("etc/secret"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(root.join("etc/deep/er/data"), vec![7u8; 200_000]).unwrap();
    fs::hard_link(root.join("etc/deep/er/data"), root.join("etc/data-link")).unwrap();
    symlink("../bin/tool", root.join("etc/tool-link")).unwrap();
    symlink("/nonexistent/abs", root.join("abs-link")).unwrap();
    let long = "d".repeat(120);
    fs::create_dir_all(root.join(&long)).unwrap();
    fs::write(root.join(&long).join("f".repeat(140)), b"long name").unwrap();
    nix_mkfifo(&root.join("fifo"));
    let xattrs = xattr::set(root.join("etc/secret"), "user.hoist.test", b"value").is_ok();
    if hoist_testkit::is_root() {
        std::os::unix::fs::lchown(root.join("etc/secret"), Some(1234), Some(5678)).unwrap();
        xattr::set(root.join("bin/tool"), "trusted.hoist", b"t").unwrap();
    }
    fs::set_permissions(root.join("empty"), fs::Permissions::from_mode(0o700)).unwrap();
    for (i, p) in [
        "bin/tool",
        "etc/secret",
        "etc/deep/er/data",
        "etc/deep/er",
        "etc/deep",
        "etc",
        "bin",
        "empty",
    ]
    .iter()
    .enumerate()
    {
        set_mtime(&root.join(p), base + i as u64 * 1000);
    }
    xattrs
}

fn nix_mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o640) }, 0);
}

fn pack(
    dir: &Path,
    compression: Compression,
    epoch: Option<i64>,
) -> (Vec<u8>, hoist_store::layer::PackedLayer) {
    let opts = PackOptions {
        compression,
        source_date_epoch: epoch,
        overlay_whiteouts: false,
    };
    let mut out = Vec::new();
    let layer = pack_dir_to(dir, &opts, &mut out).unwrap();
    (out, layer)
}

#[test]
fn round_trip_keeps_the_tree_for_every_compression() {
    let tmp = TempRoot::new();
    let src = tmp.join("src");
    let had_xattrs = build_tree(&src, 1_600_000_000);
    let want = describe(&src);
    assert!(want["etc/data-link"].nlink == 2 && want.contains_key("empty"));
    if had_xattrs {
        assert_eq!(
            want["etc/secret"].xattrs,
            [("user.hoist.test".to_string(), b"value".to_vec())]
        );
    }
    for compression in [Compression::Gzip, Compression::Zstd, Compression::None] {
        let (blob, layer) = pack(&src, compression, None);
        assert_eq!(layer.size, blob.len() as u64);
        assert_eq!(layer.media_type, compression.media_type());
        let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&blob)));
        assert_eq!(layer.digest, digest);
        let dst = tmp.join(format!("dst-{compression}"));
        fs::create_dir(&dst).unwrap();
        let stats = unpack(blob.as_slice(), &dst, &UnpackOptions::default()).unwrap();
        assert_eq!(stats.entries as usize, want.len(), "{compression}");
        assert_eq!(describe(&dst), want, "{compression}");
        // The diffID is the sha256 of what validate_tar sees decompressed.
        let summary = validate_tar(blob.as_slice(), &ValidateOptions::default()).unwrap();
        assert_eq!(summary.diff_id, layer.diff_id);
        assert_eq!(summary.tar_size, layer.tar_size);
    }
}

#[test]
fn same_tree_gives_same_digest_and_epoch_clamps_mtimes() {
    let tmp = TempRoot::new();
    build_tree(&tmp.join("a"), 1_600_000_000);
    build_tree(&tmp.join("b"), 1_700_000_000);
    let (_, a1) = pack(&tmp.join("a"), Compression::Gzip, None);
    let (_, a2) = pack(&tmp.join("a"), Compression::Gzip, None);
    assert_eq!(a1, a2);
    let (_, b) = pack(&tmp.join("b"), Compression::Gzip, None);
    assert_ne!(
        a1.diff_id, b.diff_id,
        "different mtimes must show without a clamp"
    );
    // Clamped below every mtime, both trees pack to identical bytes.
    for compression in [Compression::Gzip, Compression::Zstd] {
        let (blob_a, ca) = pack(&tmp.join("a"), compression, Some(1_000_000_000));
        let (blob_b, cb) = pack(&tmp.join("b"), compression, Some(1_000_000_000));
        assert_eq!(ca, cb, "{compression}");
        assert_eq!(blob_a, blob_b);
    }
}

#[test]
fn packed_tar_is_sorted_with_clean_headers() {
    let tmp = TempRoot::new();
    build_tree(&tmp.join("src"), 1_600_000_000);
    let (blob, _) = pack(&tmp.join("src"), Compression::None, Some(1_650_000_000));
    let mut archive = tar::Archive::new(blob.as_slice());
    let mut names = Vec::new();
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let h = entry.header();
        assert_eq!(h.username_bytes(), Some(&b""[..]));
        assert_eq!(h.groupname_bytes(), Some(&b""[..]));
        assert!(h.mtime().unwrap() <= 1_650_000_000);
        names.push(entry.path().unwrap().to_string_lossy().into_owned());
    }
    assert!(
        names.iter().any(|n| n.len() > 200),
        "long name kept via PAX: {names:?}"
    );
    let pos = |n: &str| {
        names
            .iter()
            .position(|x| x.trim_end_matches('/') == n)
            .unwrap()
    };
    assert!(
        pos("bin") < pos("bin/tool") && pos("bin/tool") < pos("empty") && pos("empty") < pos("etc")
    );
    assert!(
        pos("etc/data-link") < pos("etc/deep/er/data"),
        "first of the hardlinked pair carries the data"
    );
}

#[test]
fn restream_keeps_tar_bytes_and_refuses_hostile_tars() {
    let tar = super::rawtar::RawTar::new().file("a/b", b"hello").finish();
    let mut out = Vec::new();
    let opts = PackOptions::default();
    let layer =
        pack_tar_stream_to(tar.as_slice(), &opts, &ValidateOptions::default(), &mut out).unwrap();
    assert_eq!(
        layer.diff_id,
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(&tar)))
    );
    let mut back = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(out.as_slice()), &mut back)
        .unwrap();
    assert_eq!(back, tar);
    let bad = super::rawtar::RawTar::new().file("../evil", b"x").finish();
    let err = pack_tar_stream_to(
        bad.as_slice(),
        &opts,
        &ValidateOptions::default(),
        Vec::new(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("../evil"), "{err}");
}

/// Starting writeback while unpacking (what snapshots ask for, since they
/// sync afterwards) changes nothing in what is written: files larger than
/// the 8 MiB step, with a tail, and small ones come out intact.
#[test]
fn unpacking_with_early_writeback_writes_the_same_tree() {
    let tmp = TempRoot::new();
    let src = tmp.join("src");
    fs::create_dir_all(&src).unwrap();
    let big: Vec<u8> = (0..(20 << 20) + 12_345u32)
        .map(|i| (i % 251) as u8)
        .collect();
    fs::write(src.join("big"), &big).unwrap();
    fs::write(src.join("small"), b"small").unwrap();
    let mut blob = Vec::new();
    pack_dir_to(&src, &PackOptions::default(), &mut blob).unwrap();
    let dst = tmp.join("dst");
    fs::create_dir_all(&dst).unwrap();
    let opts = UnpackOptions {
        start_writeback: true,
        ..Default::default()
    };
    unpack(blob.as_slice(), &dst, &opts).unwrap();
    assert!(fs::read(dst.join("big")).unwrap() == big, "big differs");
    assert_eq!(fs::read(dst.join("small")).unwrap(), b"small");
}
