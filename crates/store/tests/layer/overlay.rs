//! Overlay upper dirs -> OCI whiteouts (pack), and OCI whiteouts -> applied
//! deletions or overlay whiteouts (unpack).

use super::rawtar::RawTar;
use hoist_store::layer::{
    pack_dir_to, unpack, Compression, PackOptions, UnpackOptions, WhiteoutMode,
};
use hoist_testkit::TempRoot;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

fn mknod_whiteout(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: valid path; a 0/0 char device is overlayfs's whiteout.
    assert_eq!(
        unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR, 0) },
        0,
        "mknod {path:?}"
    );
}

fn entry_names(blob: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    for e in tar::Archive::new(blob).entries().unwrap() {
        let e = e.unwrap();
        names.push(e.path().unwrap().to_string_lossy().into_owned());
    }
    names
}

#[test]
fn overlay_upper_dir_packs_to_oci_whiteouts_and_back() {
    hoist_testkit::require_root!();
    let tmp = TempRoot::new();
    let upper = tmp.join("upper");
    fs::create_dir_all(upper.join("opq")).unwrap();
    fs::write(upper.join("opq/new"), b"new").unwrap();
    xattr::set(upper.join("opq"), "trusted.overlay.opaque", b"y").unwrap();
    mknod_whiteout(&upper.join("gone"));
    let opts = PackOptions {
        compression: Compression::None,
        source_date_epoch: Some(0),
        overlay_whiteouts: true,
    };
    let mut blob = Vec::new();
    pack_dir_to(&upper, &opts, &mut blob).unwrap();
    let names = entry_names(&blob);
    assert_eq!(names, [".wh.gone", "opq/", "opq/.wh..wh..opq", "opq/new"]);
    let text = String::from_utf8_lossy(&blob);
    assert!(
        !text.contains("overlay.opaque"),
        "overlay xattrs are not carried"
    );

    // Applied onto lower content: deletions happen, this layer's files stay.
    let lower = tmp.join("lower");
    fs::create_dir_all(lower.join("opq/old-dir")).unwrap();
    fs::write(lower.join("opq/old"), b"old").unwrap();
    fs::write(lower.join("gone"), b"bye").unwrap();
    fs::write(lower.join("kept"), b"kept").unwrap();
    let stats = unpack(blob.as_slice(), &lower, &UnpackOptions::default()).unwrap();
    assert_eq!(stats.whiteouts, 2);
    assert!(
        !lower.join("gone").exists()
            && !lower.join("opq/old").exists()
            && !lower.join("opq/old-dir").exists()
    );
    assert_eq!(fs::read(lower.join("opq/new")).unwrap(), b"new");
    assert_eq!(fs::read(lower.join("kept")).unwrap(), b"kept");
    assert!(!lower.join(".wh.gone").exists());

    // As an overlay snapshot: whiteouts become overlayfs's own again.
    let snap = tmp.join("snap");
    fs::create_dir(&snap).unwrap();
    unpack(blob.as_slice(), &snap, &UnpackOptions::for_overlay()).unwrap();
    let gone = fs::symlink_metadata(snap.join("gone")).unwrap();
    assert!(gone.file_type().is_char_device() && gone.rdev() == 0);
    assert_eq!(
        xattr::get(snap.join("opq"), "trusted.overlay.opaque")
            .unwrap()
            .as_deref(),
        Some(&b"y"[..])
    );
    assert_eq!(fs::read(snap.join("opq/new")).unwrap(), b"new");
    assert_eq!(
        UnpackOptions::for_overlay().whiteouts,
        WhiteoutMode::Overlay
    );
}

#[test]
fn whiteouts_spare_their_own_layer_in_any_order() {
    let tmp = TempRoot::new();
    let target = tmp.join("t");
    fs::create_dir_all(target.join("d")).unwrap();
    fs::write(target.join("d/lower"), b"lower").unwrap();
    fs::write(target.join("x"), b"lower x").unwrap();
    // Opaque marker and a whiteout AFTER this layer's own entries.
    let tar = RawTar::new()
        .file("d/mine", b"mine")
        .file("d/.wh..wh..opq", b"")
        .file("x", b"new x")
        .file(".wh.x", b"")
        .finish();
    unpack(tar.as_slice(), &target, &UnpackOptions::default()).unwrap();
    assert_eq!(fs::read(target.join("d/mine")).unwrap(), b"mine");
    assert!(!target.join("d/lower").exists());
    assert_eq!(fs::read(target.join("x")).unwrap(), b"new x");
    // Bad whiteout names are refused.
    let bad = RawTar::new().file("d/.wh...", b"").finish();
    let err = unpack(bad.as_slice(), &target, &UnpackOptions::default()).unwrap_err();
    assert!(err.to_string().contains("d/.wh..."), "{err}");
}
