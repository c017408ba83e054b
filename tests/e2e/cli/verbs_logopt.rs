//! `--log-opt max-size=1m --log-opt max-file=3`: a container writing 50 MiB keeps at most
//! ~3 MiB of json log on disk, `logs --tail` still returns the latest lines in order, and a
//! bad option is refused before anything is created.

use super::stderr;
use crate::container::Fixture;
use std::path::Path;

/// Every `<id>-json.log*` file under `dir`, with its size.
fn log_files(dir: &Path, id: &str, out: &mut Vec<(String, u64)>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(m) = e.path().symlink_metadata() else {
            continue;
        };
        if m.is_dir() {
            log_files(&e.path(), id, out);
        } else if name.starts_with(&format!("{id}-json.log")) {
            out.push((name, m.len()));
        }
    }
}

#[test]
fn log_rotation_bounds_a_chatty_container() {
    let Some(f) = Fixture::new() else { return };
    // 50 MiB of 101-byte lines (519,100 of them), then three numbered last lines.
    let script = "yes 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456 \
                  | head -n 519100; for i in 1 2 3; do echo last-$i; done";
    let id = f.ok(&[
        "run",
        "-d",
        "--name",
        "chatty",
        "--log-opt",
        "max-size=1m",
        "--log-opt",
        "max-file=3",
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(f.ok(&["wait", "chatty"]), "0");
    let mut files = Vec::new();
    log_files(f.path(), &id, &mut files);
    let total: u64 = files.iter().map(|(_, n)| n).sum();
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(
        total <= 3 * 1024 * 1024 + 4096,
        "{total} bytes on disk: {files:?}"
    );
    assert_eq!(
        f.ok(&["logs", "--tail", "3", "chatty"]),
        "last-1\nlast-2\nlast-3"
    );
    // ~6,000 records fill a 1 MiB file: 10,000 come from across the rotated files.
    let tail = f.ok(&["logs", "--tail", "10000", "chatty"]);
    assert_eq!(tail.lines().count(), 10000);
    assert!(tail.starts_with("0123456789"), "{}", &tail[..50]);
    let config = &f.inspect("chatty")["HostConfig"]["LogConfig"]["Config"];
    assert_eq!(config["max-size"], "1048576");
    assert_eq!(config["max-file"], "3");

    let bad = f.out(&["create", "--log-opt", "max-size=lots", "busybox", "true"]);
    assert_eq!(bad.status.code(), Some(125));
    assert!(stderr(&bad).contains("max-size"), "{}", stderr(&bad));
    assert_eq!(f.ok(&["ps", "-aq"]).lines().count(), 1, "nothing created");
    f.ok(&["rm", "chatty"]);
}
