//! `stats --no-stream` reports the cgroup's real figures (memory of a container that fills
//! 48 MiB of its /dev/shm, its limit, a busy CPU, PIDs) and `top` lists its processes.

use crate::container::Fixture;
use serde_json::Value;
use std::path::Path;

/// "48.3MiB" -> bytes.
fn bytes(s: &str) -> f64 {
    let i = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let unit = match &s[i..] {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        u => panic!("unit {u:?} in {s:?}"),
    };
    s[..i].parse::<f64>().unwrap() * unit
}

/// The cgroup's memory use as docker counts it (page cache that can be dropped excluded).
fn cgroup_memory(id: &str) -> f64 {
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let field = |text: &str, key: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let v1 = Path::new("/sys/fs/cgroup/memory/hoist").join(id);
    if v1.exists() {
        let usage: f64 = read(&v1.join("memory.usage_in_bytes"))
            .trim()
            .parse()
            .unwrap();
        return usage - field(&read(&v1.join("memory.stat")), "total_inactive_file");
    }
    let v2 = Path::new("/sys/fs/cgroup/hoist").join(id);
    let current: f64 = read(&v2.join("memory.current")).trim().parse().unwrap();
    current - field(&read(&v2.join("memory.stat")), "inactive_file")
}

#[test]
fn stats_no_stream_reports_the_cgroup_figures_and_top_its_processes() {
    let Some(f) = Fixture::new() else { return };
    let script = "head -c 48m /dev/zero > /dev/shm/fill; echo filled; while :; do :; done";
    f.ok(&[
        "run", "-d", "--name", "hog", "-m", "128m", "busybox", "sh", "-c", script,
    ]);
    hoist_testkit::wait_until("48 MiB written", std::time::Duration::from_secs(20), || {
        f.ok(&["logs", "hog"]).contains("filled")
    });
    let id = f.inspect("hog")["Id"].as_str().unwrap().to_string();
    let line = f.ok(&[
        "container",
        "stats",
        "--no-stream",
        "--format",
        "json",
        "hog",
    ]);
    let s: Value = serde_json::from_str(&line).expect("one JSON object");
    let real = cgroup_memory(&id);
    let (usage, limit) = s["MemUsage"].as_str().unwrap().split_once(" / ").unwrap();
    let usage = bytes(usage);
    assert!(usage >= 48.0 * 1024.0 * 1024.0, "{s}");
    assert!(
        (usage - real).abs() < 1024.0 * 1024.0,
        "{s} vs the cgroup's {real}"
    );
    assert_eq!(bytes(limit), 128.0 * 1024.0 * 1024.0, "{s}");
    assert_eq!(s["PIDs"], "1", "{s}");
    let cpu: f64 = s["CPUPerc"]
        .as_str()
        .unwrap()
        .trim_end_matches('%')
        .parse()
        .unwrap();
    assert!(cpu > 5.0, "a busy loop uses CPU: {s}");
    assert_eq!(s["Name"], "hog");

    // The default table and a template, both from the shortcut.
    let table = f.ok(&["stats", "--no-stream"]);
    assert!(table.starts_with("CONTAINER ID   NAME"), "{table}");
    assert!(table.contains(" / 128MiB "), "{table}");
    let t = f.ok(&["stats", "--no-stream", "--format", "{{.Name}}: {{.PIDs}}"]);
    assert_eq!(t, "hog: 1");

    // top: ps -ef's header, and exactly the container's one process.
    let top = f.ok(&["top", "hog"]);
    let mut lines = top.lines();
    assert!(lines.next().unwrap().contains("PID"), "{top}");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1, "{top}");
    assert!(rows[0].contains("sh -c head -c 48m"), "{top}");
    let aux = f.ok(&["container", "top", "hog", "aux"]);
    assert!(aux.starts_with("USER"), "{aux}");
    f.ok(&["rm", "-f", "hog"]);
    let stopped = f.out(&["top", "hog"]);
    assert_ne!(stopped.status.code(), Some(0));
}
