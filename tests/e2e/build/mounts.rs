//! `RUN --mount` end to end (root: RUN steps are containers): cache mounts
//! persist between builds and stay out of layers until `hoist builder
//! prune`; a secret is readable in its step and found nowhere afterwards
//! (blobs, config, history, cache records); bind mounts of the context, a
//! stage and rw; tmpfs; and the errors for bad mounts and missing secrets.

use std::fs;
use std::io::Read;
use std::path::Path;

use super::run_steps::{busybox_root, file_in_image};
use super::*;
use crate::common::hoist_out;

/// The files of every layer the image `digest` has.
fn all_layer_files(root: &Path, digest: &str) -> Vec<String> {
    layer_digests(root, digest)
        .iter()
        .flat_map(|l| layer_files(root, l))
        .collect()
}

/// The files of the image's last layer (the last step's).
fn last_layer_files(root: &Path, digest: &str) -> Vec<String> {
    let layers = layer_digests(root, digest);
    layer_files(root, layers.last().unwrap())
}

#[test]
fn cache_mounts_persist_between_builds_outside_the_layers() {
    let Some(root) = busybox_root() else { return };
    let ctx = context(&[(
        "Dockerfile",
        "FROM busybox\nARG RUNID\nRUN --mount=type=cache,target=/var/cache/demo,id=demo --mount=type=cache,target=/c2,uid=1000,mode=0700,sharing=locked sh -c 'ls /var/cache/demo > /seen.txt; echo $RUNID > /var/cache/demo/run-$RUNID; stat -c \"%u %a\" /c2 >> /seen.txt'\n",
    )]);
    let build_run = |id: &str| {
        let (digest, _) = build_ok(
            root.path(),
            &["--build-arg", &format!("RUNID={id}")],
            ctx.path(),
        );
        digest
    };
    let first = build_run("1");
    assert_eq!(
        file_in_image(root.path(), &first, "/seen.txt").unwrap(),
        "1000 700\n"
    );
    let second = build_run("2");
    assert_eq!(
        file_in_image(root.path(), &second, "/seen.txt").unwrap(),
        "run-1\n1000 700\n",
        "the second build sees what the first left in the cache"
    );
    // Only what the step wrote to the image is in its layer: no cache
    // content, and no mount point stubs (/var/cache/demo, /c2).
    assert_eq!(last_layer_files(root.path(), &second), vec!["seen.txt"]);
    assert!(!all_layer_files(root.path(), &second)
        .iter()
        .any(|f| f.contains("run-1") || f.starts_with("c2")));

    let out = hoist_out(root.path(), &["builder", "prune"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("Freed 2 cache mount(s)"),
        "{}",
        text(&out.stdout)
    );
    let third = build_run("3");
    assert_eq!(
        file_in_image(root.path(), &third, "/seen.txt").unwrap(),
        "1000 700\n",
        "prune emptied the cache"
    );
}

/// Every byte hoist keeps for the store: blobs (layers decompressed too),
/// build cache records, file hashes, scratch leftovers.
fn store_contains(root: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in walk(root) {
        let Ok(bytes) = fs::read(&entry) else {
            continue;
        };
        let mut candidates = vec![bytes.clone()];
        if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut plain = Vec::new();
            if flate2::read::GzDecoder::new(&bytes[..])
                .read_to_end(&mut plain)
                .is_ok()
            {
                candidates.push(plain);
            }
        }
        if candidates
            .iter()
            .any(|c| c.windows(needle.len()).any(|w| w == needle))
        {
            hits.push(entry.display().to_string());
        }
    }
    hits
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            out.extend(walk(&e.path()));
        } else if ft.is_file() {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn secrets_are_readable_in_their_step_and_nowhere_else() {
    let Some(root) = busybox_root() else { return };
    let secret = format!("s3cret-{:016x}", std::process::id() as u64 * 7919 + 12345);
    let secret_dir = tempfile::tempdir().unwrap();
    let secret_file = secret_dir.path().join("token");
    fs::write(&secret_file, &secret).unwrap();
    let ctx = context(&[(
        "Dockerfile",
        "FROM busybox\nRUN --mount=type=secret,id=tok,required=true sh -c 'sha256sum < /run/secrets/tok > /file-hash; stat -c \"%a %u\" /run/secrets/tok > /file-mode'\nRUN --mount=type=secret,id=tok,env=TOKEN,required sh -c 'printf %s \"$TOKEN\" | sha256sum > /env-hash; test ! -e /run/secrets/tok'\nRUN test ! -e /run/secrets/tok && echo gone > /after\n",
    )]);
    let src = format!("id=tok,src={}", secret_file.display());
    let (digest, log) = build_ok(root.path(), &["-t", "sec:1", "--secret", &src], ctx.path());
    assert!(!log.contains(&secret), "the log shows the secret: {log}");
    let expected = {
        let out = std::process::Command::new("sha256sum")
            .arg(&secret_file)
            .output()
            .unwrap();
        text(&out.stdout).split(' ').next().unwrap().to_string()
    };
    let file_hash = file_in_image(root.path(), &digest, "/file-hash").unwrap();
    assert!(
        file_hash.starts_with(&expected),
        "{file_hash} vs {expected}"
    );
    assert_eq!(
        file_in_image(root.path(), &digest, "/file-mode").unwrap(),
        "400 0\n"
    );
    let env_hash = file_in_image(root.path(), &digest, "/env-hash").unwrap();
    assert!(env_hash.starts_with(&expected), "{env_hash}");
    assert_eq!(
        file_in_image(root.path(), &digest, "/after").unwrap(),
        "gone\n"
    );
    // No stub of /run/secrets in any layer the build made.
    assert!(!all_layer_files(root.path(), &digest)
        .iter()
        .any(|f| f.starts_with("run/secrets")));

    let hits = store_contains(root.path(), secret.as_bytes());
    assert!(hits.is_empty(), "the secret's bytes are in {hits:?}");
    let shm_left: Vec<_> = fs::read_dir("/dev/shm")
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("hoist-build-"))
                .filter(|e| fs::read(e.path().join("secret")).is_ok_and(|b| b == secret.as_bytes()))
                .collect()
        })
        .unwrap_or_default();
    assert!(shm_left.is_empty(), "a secret file was left in /dev/shm");

    // Without --secret, a required secret stops the build, cached or not.
    let out = build(root.path(), &[], ctx.path());
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("Dockerfile:2:5: secret \"tok\" is required but the build was not given it: add --secret id=tok,src=FILE"),
        "{err}"
    );
    // A secret file that does not exist is refused before anything runs.
    let out = build(
        root.path(),
        &["--secret", "id=tok,src=/nonexistent/token"],
        ctx.path(),
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("--secret id=tok: cannot read the secret file /nonexistent/token"),
        "{err}"
    );
}

#[test]
fn bind_and_tmpfs_mounts_show_files_without_keeping_them() {
    let Some(root) = busybox_root() else { return };
    let ctx = context(&[
        (
            "Dockerfile",
            "FROM busybox AS tools\nRUN mkdir /tools && echo from-stage > /tools/t.txt\nFROM busybox\nRUN --mount=type=bind,target=/ctx sh -c 'cat /ctx/data.txt > /from-context; ls /ctx > /listing'\nRUN --mount=type=bind,from=tools,source=/tools,target=/t cat /t/t.txt > /from-stage\nRUN --mount=type=bind,target=/ctx,rw sh -c 'echo changed > /ctx/data.txt && cat /ctx/data.txt > /rw-seen'\nRUN --mount=type=tmpfs,target=/scratch,size=1m sh -c 'echo x > /scratch/f && grep \" /scratch \" /proc/mounts | cut -d\" \" -f3 > /tmpfs-type'\n",
        ),
        ("data.txt", "v1\n"),
        ("hidden.txt", "no\n"),
        (".dockerignore", "hidden.txt\n"),
    ]);
    let (digest, _) = build_ok(root.path(), &[], ctx.path());
    let file = |p: &str| file_in_image(root.path(), &digest, p);
    assert_eq!(file("/from-context").unwrap(), "v1\n");
    let listing = file("/listing").unwrap();
    assert!(
        listing.contains("data.txt") && !listing.contains("hidden.txt"),
        ".dockerignore applies to a bind of the context: {listing}"
    );
    assert_eq!(file("/from-stage").unwrap(), "from-stage\n");
    assert_eq!(file("/rw-seen").unwrap(), "changed\n");
    assert_eq!(file("/tmpfs-type").unwrap(), "tmpfs\n");
    assert_eq!(
        fs::read_to_string(ctx.path().join("data.txt")).unwrap(),
        "v1\n",
        "an rw bind never writes back"
    );
    let files = all_layer_files(root.path(), &digest);
    for stub in ["ctx", "t/", "scratch"] {
        assert!(
            !files.iter().any(|f| f.starts_with(stub)),
            "{stub} is in a layer: {files:?}"
        );
    }
    assert!(mounts_under(root.path()).is_empty());

    // What a bind shows is part of the step's key: a changed file re-runs it.
    fs::write(ctx.path().join("data.txt"), "v2\n").unwrap();
    let (digest, _) = build_ok(root.path(), &[], ctx.path());
    assert_eq!(
        file_in_image(root.path(), &digest, "/from-context").unwrap(),
        "v2\n"
    );
}

#[test]
fn bad_mounts_are_refused_at_their_line() {
    let root = hoist_testkit::TempRoot::new();
    for (dockerfile, expected) in [
        (
            "FROM scratch\nRUN --mount=type=nfs,target=/x true\n",
            "Dockerfile:2:13: unknown mount type \"nfs\": use bind, cache, tmpfs or secret",
        ),
        (
            "FROM scratch\nRUN --mount=type=cache,id=x true\n",
            "Dockerfile:2:5: --mount=type=cache needs target=PATH",
        ),
    ] {
        let ctx = context(&[("Dockerfile", dockerfile)]);
        let out = build(root.path(), &[], ctx.path());
        assert!(!out.status.success());
        let err = text(&out.stderr);
        assert!(err.contains(expected), "{err}");
    }
}
