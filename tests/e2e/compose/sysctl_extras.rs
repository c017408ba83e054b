//! A service's `sysctls`, `oom_score_adj`, `group_add` and `cpuset` reach its
//! container as `run --sysctl --oom-score-adj --group-add --cpuset-cpus` do,
//! and `compose config` prints them.

use super::env::ComposeEnv;

const FILE: &str = r#"
name: sx
services:
  app:
    image: busybox:latest
    network_mode: none
    sysctls:
      kernel.shmmax: 1073741824
      net.ipv4.ip_forward: 1
    oom_score_adj: 300
    group_add: [user, "1234"]
    cpuset: "0"
    command: ["sleep", "300"]
"#;

#[test]
fn sysctls_oom_score_adj_group_add_and_cpuset_reach_the_container() {
    let Some(env) = ComposeEnv::new("cmp-sysx") else {
        return;
    };
    env.write("compose.yaml", FILE);
    let (_, err) = env.ok2(&["compose", "up", "-d"]);
    assert!(!err.contains("not supported"), "{err}");
    let exec = |script: &str| env.ok(&["compose", "exec", "-T", "app", "sh", "-c", script]);
    assert_eq!(
        exec("cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward /proc/1/oom_score_adj"),
        "1073741824\n1\n300\n"
    );
    let groups = exec("id -G");
    let groups: Vec<&str> = groups.split_whitespace().collect();
    // busybox's /etc/group has user (1000).
    assert!(
        groups.contains(&"1000") && groups.contains(&"1234"),
        "{groups:?}"
    );
    let status = exec("cat /proc/1/status");
    assert!(
        status
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Cpus_allowed_list:", "0"]),
        "{status}"
    );
    let (cfg, _) = env.ok2(&["compose", "config"]);
    assert!(
        cfg.contains("sysctls:") && cfg.contains("oom_score_adj: 300") && cfg.contains("cpuset:"),
        "{cfg}"
    );
}
