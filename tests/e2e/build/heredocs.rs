//! Heredocs (BuildKit's documented examples, on busybox), `# syntax=`,
//! ONBUILD, `COPY --exclude` and `COPY --parents`, end to end.

use super::run_steps::{busybox_root, file_in_image};
use super::*;

/// The Dockerfile reference's "Here-Documents" examples, with busybox's sh
/// standing in for bash and python.
const HEREDOCS: &str = r#"# syntax=docker/dockerfile:1
FROM busybox
RUN <<EOT
  mkdir -p foo/bar
EOT
RUN <<EOT sh
  set -ex
  echo one > /multi
  echo two >> /multi
EOT
RUN <<EOT
#!/bin/sh
echo "hello from a script" > /script-out
EOT
RUN <<FILE1 cat > file1 && <<FILE2 cat > file2
I am
first
FILE1
I am
second
FILE2
COPY <<EOF greeting.txt
hello world
EOF
ARG FOO=bar
COPY <<-EOT /script.sh
	echo "hello ${FOO}"
	EOT
COPY <<-"EOT" /script2.sh
	echo "hello ${FOO}"
EOT
COPY <<A <<B /two/
a
A
b
B
RUN FOO=baz sh /script2.sh > /script2-out
"#;

#[test]
fn buildkits_heredoc_examples_build_their_files() {
    let Some(root) = busybox_root() else { return };
    let ctx = context(&[("Dockerfile", HEREDOCS)]);
    let (digest, log) = build_ok(root.path(), &[], ctx.path());
    assert!(
        log.contains("# syntax=docker/dockerfile:1 is ignored"),
        "the syntax directive gets a note: {log}"
    );
    let file = |p: &str| file_in_image(root.path(), &digest, p);
    assert!(layer_digests(root.path(), &digest)
        .iter()
        .any(|l| layer_files(root.path(), l).contains(&"foo/bar/".to_string())));
    assert_eq!(file("/multi").unwrap(), "one\ntwo\n");
    assert_eq!(file("/script-out").unwrap(), "hello from a script\n");
    assert_eq!(file("/file1").unwrap(), "I am\nfirst\n");
    assert_eq!(file("/file2").unwrap(), "I am\nsecond\n");
    assert_eq!(file("/greeting.txt").unwrap(), "hello world\n");
    // Unquoted: expanded when COPY runs; quoted: left for the script's shell.
    assert_eq!(file("/script.sh").unwrap(), "echo \"hello bar\"\n");
    assert_eq!(file("/script2.sh").unwrap(), "echo \"hello ${FOO}\"\n");
    assert_eq!(file("/script2-out").unwrap(), "hello baz\n");
    assert_eq!(file("/two/A").unwrap(), "a\n");
    assert_eq!(file("/two/B").unwrap(), "b\n");
    // The script's mount point (/dev/pipes) never reaches a layer.
    assert!(!layer_digests(root.path(), &digest)
        .iter()
        .any(|l| layer_files(root.path(), l)
            .iter()
            .any(|f| f.starts_with("dev/pipes"))));
}

#[test]
fn onbuild_triggers_are_kept_and_run_in_the_child() {
    let Some(root) = busybox_root() else { return };
    let parent = context(&[(
        "Dockerfile",
        "FROM busybox\nONBUILD COPY app.txt /app/\nONBUILD RUN cat /app/app.txt > /app/seen\n",
    )]);
    let (digest, _) = build_ok(root.path(), &["-t", "onbase:1"], parent.path());
    assert_eq!(
        config(root.path(), &digest)["config"]["OnBuild"],
        serde_json::json!(["COPY app.txt /app/", "RUN cat /app/app.txt > /app/seen"])
    );
    assert_eq!(file_in_image(root.path(), &digest, "/app/seen"), None);

    let child = context(&[
        ("Dockerfile", "FROM onbase:1\nRUN echo child > /child\n"),
        ("app.txt", "the child's app\n"),
    ]);
    let (digest, log) = build_ok(root.path(), &[], child.path());
    assert!(log.contains("ONBUILD COPY app.txt /app/"), "{log}");
    assert_eq!(
        file_in_image(root.path(), &digest, "/app/seen").unwrap(),
        "the child's app\n"
    );
    assert_eq!(
        file_in_image(root.path(), &digest, "/child").unwrap(),
        "child\n"
    );
    assert!(config(root.path(), &digest)["config"]
        .get("OnBuild")
        .is_none_or(|v| v.is_null()));
}

#[test]
fn copy_exclude_and_parents() {
    let root = hoist_testkit::TempRoot::new();
    let ctx = context(&[
        (
            "Dockerfile",
            "FROM scratch\nCOPY --exclude=*.md --exclude=a/skip a /ex/\nCOPY --parents a/x.txt b/deep/z.txt /p/\nCOPY --parents ./b/./deep/z.txt /pivot/\n",
        ),
        ("a/x.txt", "x"),
        ("a/y.md", "y"),
        ("a/skip/s.txt", "s"),
        ("b/deep/z.txt", "z"),
    ]);
    let (digest, _) = build_ok(root.path(), &[], ctx.path());
    let files: Vec<String> = layer_digests(root.path(), &digest)
        .iter()
        .flat_map(|l| layer_files(root.path(), l))
        .filter(|f| !f.ends_with('/'))
        .collect();
    assert_eq!(
        files,
        vec![
            "ex/x.txt",
            "p/a/x.txt",
            "p/b/deep/z.txt",
            "pivot/deep/z.txt"
        ]
    );
}
