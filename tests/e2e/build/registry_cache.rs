//! `--cache-to` / `--cache-from` (issue 20 B): a build's cache in hoist's
//! own registry on a loopback port (and in a local directory), reused by an
//! empty store that then runs only the steps whose inputs changed.

use std::collections::BTreeSet;

use super::run_steps::busybox_root;
use super::*;
use crate::common::hoist_ok;
use crate::registry::Server;

/// Step numbers the build reported as CACHED (`[stage N] CACHED`).
fn cached_steps(stderr: &str) -> BTreeSet<usize> {
    stderr
        .lines()
        .filter_map(|l| l.strip_suffix("] CACHED"))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect()
}

/// Lines of RUN output (`[stage] | text`).
fn run_output(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.split_once("] | ").map(|(_, t)| t.to_string()))
        .collect()
}

fn fetched_layers(stderr: &str) -> usize {
    stderr
        .lines()
        .filter(|l| l.starts_with("Fetched cached layer "))
        .count()
}

#[test]
fn an_empty_store_reuses_a_registry_cache_and_runs_only_what_changed() {
    let Some(first) = busybox_root() else { return };
    let server = Server::start(&[]);
    let host = server.host();
    // The base lives in the registry, as a CI runner would find it.
    let base = format!("{host}/lib/busybox:1");
    hoist_ok(first.path(), &["tag", "busybox:latest", &base]);
    hoist_ok(first.path(), &["push", "--tls-verify=false", &base]);

    let dockerfile = format!(
        "FROM {base}\n\
         COPY a.txt /a.txt\n\
         RUN cat /a.txt > /a.copy && echo ran-a\n\
         COPY b.txt /b.txt\n\
         RUN cat /b.txt > /b.copy && echo ran-b\n\
         ENV DONE=1\n"
    );
    let ctx = context(&[
        ("Dockerfile", &dockerfile),
        ("a.txt", "a\n"),
        ("b.txt", "b1\n"),
    ]);
    let cache_ref = format!("{host}/ci/app:buildcache");
    let local_cache = tempfile::tempdir().unwrap();
    let local_dest = local_cache.path().join("cache");
    let (_, stderr) = build_ok(
        first.path(),
        &[
            "--tls-verify=false",
            "--cache-to",
            &format!("type=registry,ref={cache_ref},mode=max"),
            "--cache-to",
            &format!("type=local,dest={}", local_dest.display()),
        ],
        ctx.path(),
    );
    assert!(
        stderr.contains(&format!("Exported build cache to {cache_ref}")),
        "{stderr}"
    );

    // One source file changes; a new, empty store builds with the cache.
    fs::write(ctx.path().join("b.txt"), "b2\n").unwrap();
    let second = TempRoot::new();
    let (digest, stderr) = build_ok(
        second.path(),
        &[
            "--tls-verify=false",
            "--cache-from",
            &format!("type=registry,ref={cache_ref}"),
        ],
        ctx.path(),
    );
    assert_eq!(cached_steps(&stderr), BTreeSet::from([2, 3]), "{stderr}");
    assert_eq!(run_output(&stderr), vec!["ran-b".to_string()], "{stderr}");
    // Only the layers of the reused steps came from the cache.
    assert_eq!(fetched_layers(&stderr), 2, "{stderr}");
    assert_eq!(
        super::run_steps::file_in_image(second.path(), &digest, "/b.copy").as_deref(),
        Some("b2\n")
    );

    // The same input built from nothing gives the same image.
    let fresh = TempRoot::new();
    let (fresh_digest, stderr) = build_ok(fresh.path(), &["--tls-verify=false"], ctx.path());
    assert!(cached_steps(&stderr).is_empty(), "{stderr}");
    assert_eq!(digest, fresh_digest);

    // The local directory cache serves the same.
    let third = TempRoot::new();
    let (local_digest, stderr) = build_ok(
        third.path(),
        &[
            "--tls-verify=false",
            "--cache-from",
            &format!("type=local,src={}", local_dest.display()),
        ],
        ctx.path(),
    );
    assert_eq!(cached_steps(&stderr), BTreeSet::from([2, 3]), "{stderr}");
    assert_eq!(local_digest, fresh_digest);

    // An image is not a cache; an unknown type is refused before building.
    let out = build(
        third.path(),
        &[
            "--tls-verify=false",
            "--cache-from",
            &format!("type=registry,ref={base}"),
        ],
        ctx.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("--cache-from {base} is not a build cache")),
        "{err}"
    );
    assert!(err.contains("is it an image?"), "{err}");
    let out = build(
        third.path(),
        &["--cache-to", "type=gha,scope=x"],
        ctx.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("unknown cache type \"gha\""), "{err}");
    assert!(!err.contains("[stage"), "nothing was built: {err}");
}
