//! `cp` in and out of running and stopped containers, with docker's path
//! rules, owners, `-` tar streams, and an image whose symlinks point out of
//! the container (`/../../../HOSTDIR/secret`, `/proc/1/root/...`,
//! `/proc/self/root/...`, a directory link to the host's temp dir): no copy
//! ever reads or writes the host's files through them.

use super::stderr;
use crate::container::Fixture;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// An image holding links that point out of it, and its own copy of the
/// host path they name (so a link resolved inside the container finds
/// that, never the host's file).
fn hostile_image(f: &Fixture, host_dir: &Path) {
    let host = host_dir.display().to_string();
    let escape = format!("symlink:/../../../../../..{host}/secret");
    let proc1 = format!("symlink:/proc/1/root{host}/secret");
    let procself = format!("symlink:/proc/self/root{host}/secret");
    let dir_escape = format!("symlink:../../../../..{host}");
    let inside_copy = format!("{host}/secret");
    f.image(
        "hostile",
        &[],
        &[
            ("/etc/x", escape.as_str()),
            ("/etc/shadowlink", "symlink:/../../../etc/shadow"),
            ("/etc/p1", proc1.as_str()),
            ("/etc/pself", procself.as_str()),
            ("/escape", dir_escape.as_str()),
            (inside_copy.as_str(), "INSIDE"),
            ("/data/a.txt", "alpha"),
            ("/data/sub/b.txt", "beta"),
        ],
    );
}

fn cp(f: &Fixture, args: &[&str]) -> std::process::Output {
    let mut all = vec!["cp"];
    all.extend_from_slice(args);
    f.out(&all)
}

#[test]
fn cp_never_leaves_the_container_through_its_symlinks() {
    let Some(f) = Fixture::new() else { return };
    let host_dir = tempfile::tempdir().unwrap();
    let secret = host_dir.path().join("secret");
    std::fs::write(&secret, "HOST SECRET").unwrap();
    hostile_image(&f, host_dir.path());
    f.ok(&["create", "--name", "cold", "hostile", "sleep", "600"]);
    f.ok(&["run", "-d", "--name", "live", "hostile", "sleep", "600"]);
    let out = tempfile::tempdir().unwrap();
    let o = |name: &str| out.path().join(name).display().to_string();

    for c in ["cold", "live"] {
        // Without -L the link itself is copied, target text and all.
        let dest = o(&format!("{c}-x"));
        let r = cp(&f, &[&format!("{c}:/etc/x"), &dest]);
        assert!(r.status.success(), "{}", stderr(&r));
        let link = std::fs::read_link(&dest).unwrap();
        assert!(link.to_string_lossy().ends_with("/secret"), "{link:?}");
        // With -L it is resolved inside the container: its own copy.
        let dest = o(&format!("{c}-xl"));
        let r = cp(&f, &["-L", &format!("{c}:/etc/x"), &dest]);
        assert!(r.status.success(), "{}", stderr(&r));
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "INSIDE");
        // /etc/shadow is not in the image: nothing found, the host's untouched.
        let dest = o(&format!("{c}-shadow"));
        let r = cp(&f, &["-L", &format!("{c}:/etc/shadowlink"), &dest]);
        assert_eq!(r.status.code(), Some(1));
        assert!(
            stderr(&r).contains("could not find the file /etc/shadowlink in container"),
            "{}",
            stderr(&r)
        );
        assert!(!Path::new(&dest).exists());
        // /proc/PID/root links are refused, whatever /proc is.
        for link in ["/etc/p1", "/etc/pself"] {
            let dest = o(&format!("{c}-{}", &link[5..]));
            let r = cp(&f, &["-L", &format!("{c}:{link}"), &dest]);
            assert!(!r.status.success(), "{link} was followed");
            assert!(!Path::new(&dest).exists());
        }
        // Writes through a directory link land inside the container.
        let planted = out.path().join("planted");
        std::fs::write(&planted, c).unwrap();
        let r = cp(
            &f,
            &[
                &planted.display().to_string(),
                &format!("{c}:/escape/planted"),
            ],
        );
        assert!(r.status.success(), "{}", stderr(&r));
        assert!(
            !host_dir.path().join("planted").exists(),
            "written on the host"
        );
        let back = o(&format!("{c}-planted"));
        let inside = format!("{c}:{}/planted", host_dir.path().display());
        assert!(cp(&f, &[&inside, &back]).status.success());
        assert_eq!(std::fs::read_to_string(&back).unwrap(), c);
        // Over the link to the host's secret: the link is replaced, the
        // host's file keeps its content.
        let r = cp(
            &f,
            &[&planted.display().to_string(), &format!("{c}:/etc/x")],
        );
        assert!(r.status.success(), "{}", stderr(&r));
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "HOST SECRET");
    }
    // The running container sees what was copied into it.
    assert_eq!(
        f.ok(&[
            "exec",
            "live",
            "cat",
            &format!("{}/planted", host_dir.path().display())
        ]),
        "live"
    );
    // A stopped container's copies are in its upper dir.
    let id = f.inspect("cold")["Id"].as_str().unwrap().to_string();
    let upper = f.path().join("containers").join(&id).join("upper");
    assert_eq!(
        std::fs::read_to_string(upper.join("etc/x")).unwrap(),
        "cold"
    );
}

#[test]
fn cp_follows_docker_rules_for_paths_owners_and_tar_streams() {
    let Some(f) = Fixture::new() else { return };
    let host_dir = tempfile::tempdir().unwrap();
    hostile_image(&f, host_dir.path());
    f.ok(&["run", "-d", "--name", "box", "hostile", "sleep", "600"]);
    let work = tempfile::tempdir().unwrap();
    let w = |name: &str| work.path().join(name).display().to_string();

    // A directory out to a new name, then into an existing directory.
    assert!(cp(&f, &["box:/data", &w("copy")]).status.success());
    assert_eq!(
        std::fs::read_to_string(w("copy/sub/b.txt")).unwrap(),
        "beta"
    );
    std::fs::create_dir(w("into")).unwrap();
    assert!(cp(&f, &["box:/data", &w("into")]).status.success());
    assert_eq!(
        std::fs::read_to_string(w("into/data/a.txt")).unwrap(),
        "alpha"
    );
    // "/." copies the contents.
    assert!(cp(&f, &["box:/data/.", &w("into")]).status.success());
    assert!(Path::new(&w("into/sub/b.txt")).exists());

    // In: owned by the container's root, unless -a keeps the source's ids.
    let file = work.path().join("owned");
    std::fs::write(&file, "mine").unwrap();
    std::os::unix::fs::chown(&file, Some(1234), Some(4321)).unwrap();
    let src = file.display().to_string();
    assert!(cp(&f, &[&src, "box:/tmp/plain"]).status.success());
    assert!(cp(&f, &["-a", &src, "box:/tmp/kept"]).status.success());
    assert_eq!(
        f.ok(&["exec", "box", "stat", "-c", "%u:%g", "/tmp/plain"]),
        "0:0"
    );
    assert_eq!(
        f.ok(&["exec", "box", "stat", "-c", "%u:%g", "/tmp/kept"]),
        "1234:4321"
    );
    assert_eq!(f.ok(&["exec", "box", "cat", "/tmp/plain"]), "mine");
    // Out: owned by the invoking user (root), unless -a.
    assert!(cp(&f, &["-a", "box:/tmp/kept", &w("kept")])
        .status
        .success());
    assert_eq!(std::fs::metadata(w("kept")).unwrap().uid(), 1234);
    assert!(cp(&f, &["box:/tmp/kept", &w("plain")]).status.success());
    assert_eq!(std::fs::metadata(w("plain")).unwrap().uid(), 0);

    // `-` out: a tar stream named by the source's base name, links as links.
    let out = f.out(&["container", "cp", "box:/etc", "-"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut names = std::collections::HashMap::new();
    let mut archive = tar::Archive::new(out.stdout.as_slice());
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().display().to_string();
        let mut body = String::new();
        e.read_to_string(&mut body).unwrap();
        names.insert(name, (e.header().entry_type(), body));
    }
    assert_eq!(names["etc/x"].0, tar::EntryType::Symlink);
    assert!(names["etc/passwd"].1.starts_with("root:x:0:0"));

    // `-` in: a stream with an owner of its own, extracted into a directory.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(5);
    h.set_mode(0o640);
    h.set_uid(77);
    h.set_gid(88);
    b.append_data(&mut h, "fromtar/t.txt", &b"tared"[..])
        .unwrap();
    let tarball = b.into_inner().unwrap();
    let r = f.out_with_stdin(&["cp", "-", "box:/tmp"], &tarball);
    assert!(r.status.success(), "{}", stderr(&r));
    assert_eq!(
        f.ok(&[
            "exec",
            "box",
            "stat",
            "-c",
            "%u:%g %a",
            "/tmp/fromtar/t.txt"
        ]),
        "77:88 640"
    );
    // A stream whose entries climb out is refused.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(1);
    h.set_mode(0o644);
    let name = b"../../../tmp/climbed";
    h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
    h.set_cksum();
    b.append(&h, &b"x"[..]).unwrap();
    let r = f.out_with_stdin(&["cp", "-", "box:/tmp"], &b.into_inner().unwrap());
    assert_eq!(r.status.code(), Some(1));
    assert!(stderr(&r).contains("\"..\""), "{}", stderr(&r));

    // docker's errors: a missing parent, a directory onto a file, two sides.
    let r = cp(&f, &[&src, "box:/nope/at/all"]);
    assert_eq!(r.status.code(), Some(1));
    assert!(stderr(&r).contains("does not exist"), "{}", stderr(&r));
    let r = cp(&f, &["box:/data", &src]);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        stderr(&r).contains("cannot copy a directory to a file"),
        "{}",
        stderr(&r)
    );
    let r = cp(&f, &["box:/a", "box:/b"]);
    assert_eq!(r.status.code(), Some(1));
    let r = cp(&f, &["/x", "/y"]);
    assert!(
        stderr(&r).contains("at least one container"),
        "{}",
        stderr(&r)
    );
}

#[test]
fn cp_into_a_user_namespaced_container_belongs_to_its_root() {
    let Some(f) = Fixture::new() else { return };
    f.ok(&[
        "run",
        "-d",
        "--userns=auto",
        "--name",
        "mapped",
        "busybox",
        "sleep",
        "600",
    ]);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "mapped").unwrap();
    let src = file.path().display().to_string();
    let r = cp(&f, &[&src, "mapped:/tmp/in"]);
    assert!(r.status.success(), "{}", stderr(&r));
    assert_eq!(
        f.ok(&["exec", "mapped", "stat", "-c", "%u:%g", "/tmp/in"]),
        "0:0"
    );
    assert_eq!(f.ok(&["exec", "mapped", "cat", "/tmp/in"]), "mapped");
}
