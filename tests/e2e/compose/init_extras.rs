//! A service's `init`, `shm_size` and `ulimits` (both forms) reach its
//! container as `run --init --shm-size --ulimit` do: PID 1 is hoist's init,
//! /dev/shm has the size, `ulimit -n` the limits; nothing is warned about as
//! not applied, and changing one of them recreates the container.

use super::env::ComposeEnv;

const FILE: &str = r#"
name: ix
services:
  app:
    image: busybox:latest
    init: true
    shm_size: 96m
    ulimits:
      nofile: {soft: 1500, hard: 2500}
      nproc: 400
    command: ["sleep", "300"]
"#;

#[test]
fn init_shm_size_and_ulimits_reach_the_container() {
    let Some(env) = ComposeEnv::new("cmp-initx") else {
        return;
    };
    env.write("compose.yaml", FILE);
    let (_, err) = env.ok2(&["compose", "up", "-d"]);
    assert!(!err.contains("not applied"), "{err}");
    let exec = |script: &str| env.ok(&["compose", "exec", "-T", "app", "sh", "-c", script]);
    assert_eq!(exec("cat /proc/1/comm"), "hoist-init\n");
    // 96 MiB = 98304 1K-blocks.
    let df = exec("df -k /dev/shm | tail -n 1");
    assert_eq!(df.split_whitespace().nth(1), Some("98304"), "{df}");
    assert_eq!(
        exec("ulimit -Sn; ulimit -Hn; ulimit -Su; ulimit -Hu"),
        "1500\n2500\n400\n400\n"
    );
    let (cfg, _) = env.ok2(&["compose", "config"]);
    assert!(
        cfg.contains("ulimits:") && cfg.contains("soft: 1500") && cfg.contains("nproc: 400"),
        "{cfg}"
    );

    // A changed limit is a changed config: up recreates with the new one.
    env.write("compose.yaml", &FILE.replace("nproc: 400", "nproc: 500"));
    env.ok(&["compose", "up", "-d"]);
    assert_eq!(exec("ulimit -Hu"), "500\n");

    // A soft limit above the hard one is refused before anything changes.
    env.write("compose.yaml", &FILE.replace("soft: 1500", "soft: 9000"));
    let out = env.out(&["compose", "up", "-d"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ulimits.nofile") && err.contains("must not exceed the hard limit"),
        "{err}"
    );
    env.write("compose.yaml", &FILE.replace("nproc: 400", "nproc: 500"));
    assert_eq!(
        exec("ulimit -Hu"),
        "500\n",
        "the running container is untouched"
    );
    env.ok(&["compose", "down"]);
}
