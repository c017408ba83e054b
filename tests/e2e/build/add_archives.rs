//! ADD extracts local tar archives whatever their compression (plain, gzip,
//! zstd, xz, bzip2), recognised by content as docker does; other files are
//! copied as they are.

use super::run_steps::file_in_image;
use super::*;

#[test]
fn add_extracts_xz_bzip2_and_gzip_tars_and_copies_other_files() {
    hoist_testkit::require_program!("xz");
    hoist_testkit::require_program!("bzip2");
    let root = TempRoot::new();
    let ctx = tempfile::tempdir().unwrap();
    let src = ctx.path().join("src");
    fs::create_dir_all(src.join("inner")).unwrap();
    fs::write(src.join("inner/hello.txt"), "hello from the archive\n").unwrap();
    for (flag, name) in [("-J", "a.tar.xz"), ("-j", "b.tar.bz2"), ("-z", "c.tgz")] {
        let status = std::process::Command::new("tar")
            .arg("-C")
            .arg(&src)
            .arg(flag)
            .arg("-cf")
            .arg(ctx.path().join(name))
            .arg("inner")
            .status()
            .unwrap();
        assert!(status.success());
    }
    // Named like an archive, but not one: copied, not extracted.
    fs::write(ctx.path().join("fake.tar.xz"), "just text\n").unwrap();
    fs::write(
        ctx.path().join("Dockerfile"),
        "FROM scratch\nADD a.tar.xz /x/\nADD b.tar.bz2 /y/\nADD c.tgz /z/\nADD fake.tar.xz /f/\n",
    )
    .unwrap();
    let (digest, _) = build_ok(root.path(), &["-t", "adds:1"], ctx.path());
    for dir in ["x", "y", "z"] {
        assert_eq!(
            file_in_image(root.path(), &digest, &format!("/{dir}/inner/hello.txt")).as_deref(),
            Some("hello from the archive\n"),
            "ADD into /{dir}"
        );
    }
    assert_eq!(
        file_in_image(root.path(), &digest, "/f/fake.tar.xz").as_deref(),
        Some("just text\n")
    );

    // A truncated xz archive is an error naming the step, not a partial layer.
    let bytes = fs::read(ctx.path().join("a.tar.xz")).unwrap();
    fs::write(ctx.path().join("a.tar.xz"), &bytes[..bytes.len() / 2]).unwrap();
    let out = build(root.path(), &["-t", "broken:1"], ctx.path());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("Dockerfile:2:"), "{err}");
    assert!(err.contains("cannot extract the archive"), "{err}");
    assert!(!names(root.path()).iter().any(|n| n.contains("broken")));
}
