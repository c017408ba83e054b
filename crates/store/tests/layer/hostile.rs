//! Hostile tars, generated here: each must be refused with an error naming
//! the bad entry, and nothing may appear or change outside the target.

use super::rawtar::{gzip, RawTar, CHAR, DIR, HARDLINK, SYMLINK};
use super::tree::snapshot_except;
use hoist_store::layer::{
    unpack, validate_tar, FreeSpaceReserve, LayerError, LayerLimits, UnpackOptions, ValidateOptions,
};
use hoist_testkit::TempRoot;
use std::fs;
use std::path::Path;

/// A temp dir with `target/` to unpack into and `outside/` holding a sentinel.
struct Scene {
    tmp: TempRoot,
}

impl Scene {
    fn new() -> Scene {
        let tmp = TempRoot::new();
        fs::create_dir(tmp.join("target")).unwrap();
        fs::create_dir(tmp.join("outside")).unwrap();
        fs::write(tmp.join("outside/sentinel"), b"untouched").unwrap();
        Scene { tmp }
    }
    fn target(&self) -> std::path::PathBuf {
        self.tmp.join("target")
    }
    fn outside(&self) -> String {
        self.tmp.join("outside").to_string_lossy().into_owned()
    }

    /// Unpacks `tar`; asserts it is refused naming `entry` and that nothing
    /// outside the target changed. Returns the error.
    fn refuse(&self, tar: &[u8], entry: &str, opts: &UnpackOptions) -> LayerError {
        let before = snapshot_except(self.tmp.path(), &self.target());
        let err = unpack(tar, &self.target(), opts).expect_err("hostile tar must be refused");
        let named = match &err {
            LayerError::Unsafe { entry: e, .. } | LayerError::Limit { entry: e, .. } => e == entry,
            _ => false,
        };
        assert!(named, "error should name {entry:?}: {err}");
        assert!(
            err.to_string().contains(entry),
            "message names the entry: {err}"
        );
        assert_eq!(
            snapshot_except(self.tmp.path(), &self.target()),
            before,
            "outside changed"
        );
        assert!(!Path::new("/x").exists() && !Path::new("/etc/x").exists());
        err
    }
}

fn refused_by_validate(tar: &[u8], entry: &str) {
    let err = validate_tar(tar, &ValidateOptions::default()).expect_err("validate must refuse");
    assert!(err.to_string().contains(entry), "{err}");
}

#[test]
fn escaping_names_are_refused() {
    for (name, why) in [
        ("../x", "`..`"),
        ("/etc/x", "absolute"),
        ("a/../../x", "`..`"),
    ] {
        let s = Scene::new();
        let tar = RawTar::new()
            .file("ok", b"fine")
            .file(name, b"evil")
            .finish();
        let err = s.refuse(&tar, name, &UnpackOptions::default());
        assert!(err.to_string().contains(why), "{err}");
        refused_by_validate(&tar, name);
    }
}

#[test]
fn writing_through_symlinks_is_refused() {
    let s = Scene::new();
    let outside = s.outside();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            RawTar::new()
                .entry("l", SYMLINK, b"", "/")
                .file("l/etc/passwd", b"x")
                .finish(),
            "l/etc/passwd",
        ),
        (
            RawTar::new()
                .entry("l", SYMLINK, b"", "..")
                .file("l/x", b"x")
                .finish(),
            "l/x",
        ),
        (
            RawTar::new()
                .entry("l", SYMLINK, b"", &outside)
                .file("l/sentinel", b"x")
                .finish(),
            "l/sentinel",
        ),
        // A directory, then a symlink swapped in for it, then a write through it.
        (
            RawTar::new()
                .entry("d", DIR, b"", "")
                .file("d/ok", b"fine")
                .entry("d", SYMLINK, b"", &outside)
                .file("d/sentinel", b"x")
                .finish(),
            "d/sentinel",
        ),
    ];
    for (tar, entry) in cases {
        let s = Scene::new();
        let err = s.refuse(&tar, entry, &UnpackOptions::default());
        assert!(err.to_string().contains("symlink"), "{err}");
        refused_by_validate(&tar, entry);
    }
    // A symlink already in the target (a lower layer's) is not followed either.
    std::os::unix::fs::symlink(&outside, s.target().join("lower")).unwrap();
    let tar = RawTar::new().file("lower/sentinel", b"x").finish();
    s.refuse(&tar, "lower/sentinel", &UnpackOptions::default());
}

#[test]
fn escaping_hardlinks_are_refused() {
    for link in ["/etc/passwd", "../x", "a/../../x"] {
        let s = Scene::new();
        let tar = RawTar::new().entry("h", HARDLINK, b"", link).finish();
        let err = s.refuse(&tar, "h", &UnpackOptions::default());
        assert!(err.to_string().contains("hardlink target"), "{err}");
        refused_by_validate(&tar, "h");
    }
    // Through a symlink created by the tar: refused too.
    let s = Scene::new();
    let outside = s.outside();
    let tar = RawTar::new()
        .entry("l", SYMLINK, b"", &outside)
        .entry("h", HARDLINK, b"", "l/sentinel")
        .finish();
    s.refuse(&tar, "h", &UnpackOptions::default());
    refused_by_validate(&tar, "h");
}

#[test]
fn devices_are_refused_unless_allowed() {
    let s = Scene::new();
    let tar = RawTar::new().entry("dev/kmem", CHAR, b"", "").finish();
    let err = s.refuse(&tar, "dev/kmem", &UnpackOptions::default());
    assert!(err.to_string().contains("device"), "{err}");
    refused_by_validate(&tar, "dev/kmem");
}

#[test]
fn bombs_hit_the_limits() {
    let s = Scene::new();
    let big = vec![0u8; 4 << 20];
    let tar = gzip(
        &RawTar::new()
            .file("small", b"x")
            .file("bomb", &big)
            .finish(),
    );
    assert!(tar.len() < 64 * 1024, "compresses like a bomb");
    let opts = UnpackOptions {
        limits: LayerLimits {
            max_size: 1 << 20,
            ..Default::default()
        },
        ..Default::default()
    };
    let err = s.refuse(&tar, "bomb", &opts);
    assert!(err.to_string().contains("limit of 1 MiB"), "{err}");
    assert!(matches!(err, LayerError::Limit { .. }), "{err}");
    assert!(!s.target().join("bomb").exists());

    let mut many = RawTar::new();
    for i in 0..20 {
        many.file(&format!("f{i:02}"), b"");
    }
    let opts = UnpackOptions {
        limits: LayerLimits {
            max_entries: 10,
            ..Default::default()
        },
        ..Default::default()
    };
    let s = Scene::new();
    s.refuse(&many.finish(), "f10", &opts);
}

/// The size limit is on the uncompressed stream, headers included: a layer
/// of many empty entries is as big as its headers (a million of them are
/// 512 MiB), and validate (import, pull) and unpack refuse it alike.
#[test]
fn the_size_limit_counts_headers_and_is_shared_by_validate_and_unpack() {
    let mut many = RawTar::new();
    for i in 0..4000 {
        many.file(&format!("f{i:04}"), b"");
    }
    let tar = gzip(&many.finish());
    let limits = LayerLimits {
        max_size: 1 << 20,
        ..Default::default()
    };
    // 2048 headers of 512 bytes fill 1 MiB: the 2049th crosses it.
    let s = Scene::new();
    let opts = UnpackOptions {
        limits: limits.clone(),
        ..Default::default()
    };
    let at_unpack = s.refuse(&tar, "f2048", &opts);
    let validate = ValidateOptions {
        limits,
        ..Default::default()
    };
    let at_validate = validate_tar(tar.as_slice(), &validate).unwrap_err();
    assert_eq!(at_unpack.to_string(), at_validate.to_string());
    assert!(
        at_unpack.to_string().contains("HOIST_MAX_LAYER_SIZE"),
        "{at_unpack}"
    );
}

/// A name validation accepts must be one unpack can create: a component
/// over 255 bytes or a link target over PATH_MAX is refused by both, with
/// the same message (it used to pass import and fail at the first run with
/// "File name too long").
#[test]
fn names_no_filesystem_holds_are_refused_by_validate_and_unpack_alike() {
    let long_component = format!("dir/{}", "n".repeat(300));
    let long_target = format!("/{}", vec!["t".repeat(200); 21].join("/"));
    let cases = [
        (
            RawTar::new()
                .pax_entry(&long_component, b'0', b"x", "")
                .finish(),
            long_component.clone(),
            "300 bytes",
        ),
        (
            RawTar::new()
                .pax_entry("link", SYMLINK, b"", &long_target)
                .finish(),
            "link".to_string(),
            "4221 bytes",
        ),
    ];
    for (tar, entry, why) in cases {
        let s = Scene::new();
        let at_unpack = s.refuse(&tar, &entry, &UnpackOptions::default());
        assert!(matches!(at_unpack, LayerError::Limit { .. }), "{at_unpack}");
        assert!(at_unpack.to_string().contains(why), "{at_unpack}");
        let at_validate = validate_tar(tar.as_slice(), &ValidateOptions::default()).unwrap_err();
        assert_eq!(at_unpack.to_string(), at_validate.to_string());
    }
    // The longest legal component still unpacks.
    let s = Scene::new();
    let fine = "n".repeat(255);
    let tar = RawTar::new().pax_entry(&fine, b'0', b"ok", "").finish();
    unpack(tar.as_slice(), &s.target(), &UnpackOptions::default()).unwrap();
    assert_eq!(fs::read(s.target().join(&fine)).unwrap(), b"ok");
}

/// Unpacking refuses to eat into the free-space reserve: with a reserve as
/// large as the filesystem nothing is written and the error names the entry
/// and the reserve; with no reserve the same layer unpacks.
#[test]
fn the_free_space_reserve_stops_an_unpack_before_it_writes() {
    let tar = RawTar::new().file("a", b"content").finish();
    let s = Scene::new();
    let opts = UnpackOptions {
        limits: LayerLimits {
            free_space_reserve: FreeSpaceReserve::Percent(100),
            ..Default::default()
        },
        ..Default::default()
    };
    let err = unpack(tar.as_slice(), &s.target(), &opts).unwrap_err();
    assert!(
        matches!(&err, LayerError::NoSpace { entry, .. } if entry == "a"),
        "{err}"
    );
    assert!(err.to_string().contains("HOIST_MIN_FREE_SPACE"), "{err}");
    assert!(!s.target().join("a").exists());
    let opts = UnpackOptions {
        limits: LayerLimits {
            free_space_reserve: FreeSpaceReserve::Bytes(0),
            ..Default::default()
        },
        ..Default::default()
    };
    unpack(tar.as_slice(), &s.target(), &opts).unwrap();
    assert_eq!(fs::read(s.target().join("a")).unwrap(), b"content");
}

#[test]
fn corrupt_and_non_tar_inputs_are_clear_errors() {
    let good = gzip(&RawTar::new().file("a", &vec![b'z'; 100_000]).finish());
    let mut corrupt = good.clone();
    let mid = corrupt.len() / 2;
    for b in &mut corrupt[mid..mid + 16] {
        *b ^= 0xff;
    }
    let truncated = &good[..good.len() / 2];
    let text = b"this is not a tar file at all, just some words\n".repeat(20);
    for (what, input) in [
        ("corrupt gzip", corrupt.as_slice()),
        ("truncated gzip", truncated),
        ("text", &text),
    ] {
        let s = Scene::new();
        let err = unpack(input, &s.target(), &UnpackOptions::default()).expect_err(what);
        let msg = err.to_string();
        assert!(
            matches!(err, LayerError::Invalid(_))
                && (msg.contains("corrupt") || msg.contains("tar")),
            "{what}: {msg}"
        );
        assert!(
            validate_tar(input, &ValidateOptions::default()).is_err(),
            "{what}"
        );
    }
}

#[test]
fn a_lower_symlink_is_replaced_not_written_through() {
    let s = Scene::new();
    let sentinel = s.tmp.join("outside/sentinel");
    std::os::unix::fs::symlink(&sentinel, s.target().join("passwd")).unwrap();
    let tar = RawTar::new().file("passwd", b"new content").finish();
    unpack(tar.as_slice(), &s.target(), &UnpackOptions::default()).unwrap();
    assert_eq!(fs::read(&sentinel).unwrap(), b"untouched");
    let meta = fs::symlink_metadata(s.target().join("passwd")).unwrap();
    assert!(meta.is_file(), "the symlink was replaced by the file");
    assert_eq!(fs::read(s.target().join("passwd")).unwrap(), b"new content");
}

#[test]
fn oversized_extended_headers_are_refused() {
    let s = Scene::new();
    // A PAX header of 20 MiB (over the 16 MiB allowance) before an entry.
    let tar = RawTar::new()
        .entry("PaxHeader", b'x', &vec![b'a'; 20 << 20], "")
        .file("f", b"x")
        .finish();
    let err = unpack(tar.as_slice(), &s.target(), &UnpackOptions::default()).unwrap_err();
    assert!(matches!(err, LayerError::Limit { .. }), "{err}");
    assert!(
        fs::read_dir(s.target()).unwrap().next().is_none(),
        "nothing extracted"
    );
}
