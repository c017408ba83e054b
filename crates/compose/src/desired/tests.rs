//! The desired state of small projects: names, labels, what changes the hash, and the run
//! options each service field becomes.

use super::*;
use crate::project::{load, Options};

fn project(yaml: &str) -> (Project, Context) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    std::fs::write(&file, yaml).unwrap();
    let loaded = load(&Options {
        working_dir: dir.path().to_path_buf(),
        project_name: Some("shop".into()),
        ..Default::default()
    })
    .unwrap();
    let ctx = Context {
        files: loaded.files.clone(),
        inactive: loaded.inactive.clone(),
        image_ids: BTreeMap::new(),
    };
    (loaded.project, ctx)
}

const APP: &str = r#"
services:
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "80"]
    ports: ["127.0.0.1:8080:80", "9000"]
    environment: {MODE: prod, FROM_HOST: null}
    depends_on:
      api: {condition: service_healthy, restart: true}
    networks:
      default:
      front: {aliases: [www]}
  api:
    image: busybox
    entrypoint: ["/bin/sh", "-c"]
    command: ["exec sleep 300"]
    volumes: ["data:/data", "/srv:/srv:ro", "/anon", {type: tmpfs, target: /tmp/t, tmpfs: {size: 1m}}]
    healthcheck: {test: ["CMD", "test", "-e", "/data/ok"], interval: 1s, retries: 5}
    stop_grace_period: 3s
    deploy: {replicas: 2, resources: {limits: {memory: 64m}}}
    restart: unless-stopped
  debug:
    image: busybox
    profiles: [debug]
networks:
  front: {}
volumes:
  data: {}
"#;

#[test]
fn names_labels_and_dependencies_follow_docker_compose() {
    let (p, ctx) = project(APP);
    let d = desired(&p, &ctx);
    assert_eq!(d.project, "shop");
    assert_eq!(d.inactive, ["debug"]);
    let nets: Vec<_> = d.networks.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(nets, ["shop_default", "shop_front"]);
    assert_eq!(d.networks[0].labels[LABEL_NETWORK], "default");
    assert_eq!(d.networks[0].labels[LABEL_PROJECT], "shop");
    assert_eq!(d.volumes[0].name, "shop_data");
    assert_eq!(d.volumes[0].labels[LABEL_VOLUME], "data");

    let web = d.service("web").unwrap();
    let l = &web.spec.options.labels;
    assert_eq!(l[LABEL_PROJECT], "shop");
    assert_eq!(l[LABEL_SERVICE], "web");
    assert_eq!(l[LABEL_ONEOFF], "False");
    assert_eq!(l[LABEL_CONFIG_HASH], web.config_hash);
    assert_eq!(l[LABEL_DEPENDS_ON], "api:service_healthy:true");
    assert!(l[LABEL_CONFIG_FILES].ends_with("compose.yaml"));
    assert_eq!(web.spec.number_label.as_deref(), Some(LABEL_NUMBER));
    assert_eq!(web.depends_on[0].service, "api");
    assert_eq!(
        web.depends_on[0].condition,
        hoist_reconcile::Condition::Healthy
    );
    assert!(web.depends_on[0].restart);
    assert_eq!(
        hoist_reconcile::container_name("shop", web, 1),
        "shop-web-1"
    );

    let api = d.service("api").unwrap();
    assert_eq!(api.replicas, 2);
    assert_eq!(api.stop_timeout, 3);
}

#[test]
fn run_options_carry_each_field() {
    let (p, ctx) = project(APP);
    let d = desired(&p, &ctx);
    let web = &d.service("web").unwrap().spec.options;
    assert_eq!(web.publish, ["127.0.0.1:8080:80/tcp", "9000/tcp"]);
    assert!(web.env.contains(&"MODE=prod".to_string()));
    assert!(web.env.contains(&"FROM_HOST".to_string()));
    assert_eq!(web.cmd, ["httpd", "-f", "-p", "80"]);
    assert_eq!(web.network, NetworkMode::Bridge);
    let nets: Vec<_> = web
        .networks
        .iter()
        .map(|r| (r.network.as_str(), r.aliases.join(",")))
        .collect();
    assert_eq!(
        nets,
        [
            ("shop_default", "web".to_string()),
            ("shop_front", "web,www".to_string())
        ]
    );

    let api = &d.service("api").unwrap().spec.options;
    assert_eq!(api.entrypoint.as_deref(), Some("/bin/sh"));
    assert_eq!(api.cmd, ["-c", "exec sleep 300"]);
    assert_eq!(api.volumes, ["shop_data:/data", "/srv:/srv:ro", "/anon"]);
    assert_eq!(api.tmpfs, ["/tmp/t:size=1048576"]);
    assert_eq!(api.memory, Some(64 << 20));
    assert_eq!(api.restart.as_deref(), Some("unless-stopped"));
    assert_eq!(api.health.cmd.as_deref(), Some("test -e /data/ok"));
    assert_eq!(api.health.interval, Some(std::time::Duration::from_secs(1)));
    assert_eq!(api.health.retries, Some(5));
}

use hoist_runtime::spec::NetworkMode;

#[test]
fn the_hash_changes_with_what_recreates_and_not_with_what_does_not() {
    let (p, ctx) = project(APP);
    let base = desired(&p, &ctx);
    let hash = |yaml: &str, svc: &str| {
        let (p, ctx) = project(yaml);
        desired(&p, &ctx).service(svc).unwrap().config_hash.clone()
    };
    let web = base.service("web").unwrap().config_hash.clone();
    let api = base.service("api").unwrap().config_hash.clone();
    assert_eq!(hash(APP, "web"), web, "the hash is stable");
    assert_ne!(hash(&APP.replace("MODE: prod", "MODE: dev"), "web"), web);
    assert_eq!(
        hash(&APP.replace("MODE: prod", "MODE: dev"), "api"),
        api,
        "another service's change leaves api's hash"
    );
    assert_eq!(hash(&APP.replace("replicas: 2", "replicas: 3"), "api"), api);
    assert_eq!(
        hash(
            &APP.replace("condition: service_healthy", "condition: service_started"),
            "web"
        ),
        web
    );
    assert_ne!(
        hash(&APP.replace("exec sleep 300", "exec sleep 301"), "api"),
        api
    );
    // A new image in the store recreates too.
    let (p, mut ctx) = project(APP);
    ctx.image_ids.insert("web".into(), "sha256:abc".into());
    assert_ne!(desired(&p, &ctx).service("web").unwrap().config_hash, web);
}

#[test]
fn network_modes() {
    let (p, ctx) = project(
        r#"
services:
  a: {image: busybox, network_mode: host}
  b: {image: busybox, network_mode: "service:a"}
  c: {image: busybox, network_mode: none}
"#,
    );
    let d = desired(&p, &ctx);
    let opts = |s: &str| d.service(s).unwrap().spec.options.clone();
    assert_eq!(opts("a").network, NetworkMode::Host);
    assert_eq!(opts("b").network, NetworkMode::Container);
    assert_eq!(opts("b").network_container.as_deref(), Some("shop-a-1"));
    assert_eq!(opts("c").network, NetworkMode::None);
    assert!(d.networks.is_empty(), "no service joins default");
}

const PROBED: &str = r#"
services:
  web:
    image: busybox
    ports: ["8080:80"]
    x-hoist:
      startupProbe:
        exec: {command: ["test", "-e", "/tmp/up"]}
        periodSeconds: 2
        failureThreshold: 30
      livenessProbe:
        tcpSocket: {port: 80}
      readinessProbe:
        httpGet: {path: /ready, port: 80, host: localhost}
        initialDelaySeconds: 1
        timeoutSeconds: 3
        successThreshold: 2
"#;

#[test]
fn x_hoist_probes_become_the_runtime_s_probes() {
    use hoist_runtime::probe::Check;
    use std::time::Duration;
    let (p, ctx) = project(PROBED);
    let d = desired(&p, &ctx);
    let probes = &d.service("web").unwrap().spec.probes;
    let startup = probes.startup.as_ref().unwrap();
    assert_eq!(
        startup.check,
        Check::Exec {
            argv: vec!["test".into(), "-e".into(), "/tmp/up".into()]
        }
    );
    assert_eq!(
        (startup.period, startup.failure),
        (Duration::from_secs(2), 30)
    );
    // Kubernetes' defaults where nothing is said.
    let liveness = probes.liveness.as_ref().unwrap();
    assert_eq!(liveness.check, Check::Tcp { port: 80 });
    assert_eq!(
        (
            liveness.initial_delay,
            liveness.period,
            liveness.timeout,
            liveness.success,
            liveness.failure
        ),
        (
            Duration::ZERO,
            Duration::from_secs(10),
            Duration::from_secs(1),
            1,
            3
        )
    );
    let readiness = probes.readiness.as_ref().unwrap();
    assert_eq!(
        readiness.check,
        Check::Http {
            port: 80,
            path: "/ready".into()
        }
    );
    assert_eq!(
        (
            readiness.initial_delay,
            readiness.timeout,
            readiness.success
        ),
        (Duration::from_secs(1), Duration::from_secs(3), 2)
    );
    // Applied now: no "not applied" warning; and a probe change recreates.
    assert!(unapplied(p.services.get("web").unwrap()).is_empty());
    let (p2, ctx2) = project(&PROBED.replace("timeoutSeconds: 3", "timeoutSeconds: 4"));
    assert_ne!(
        desired(&p2, &ctx2).service("web").unwrap().config_hash,
        d.service("web").unwrap().config_hash
    );
    // No x-hoist, no probes.
    let (plain, ctx) = project(APP);
    assert!(desired(&plain, &ctx)
        .services
        .iter()
        .all(|s| s.spec.probes.is_empty()));
}

fn load_error(yaml: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("compose.yaml"), yaml).unwrap();
    load(&Options {
        working_dir: dir.path().to_path_buf(),
        project_name: Some("shop".into()),
        ..Default::default()
    })
    .unwrap_err()
    .to_string()
}

#[test]
fn bad_probes_are_refused_with_file_line_and_key() {
    let with = |probe: &str| {
        format!("services:\n  web:\n    image: busybox\n    ports: [\"80\"]\n    x-hoist:\n{probe}")
    };
    for (probe, line, key, words) in [
        (
            "      livenessProbe:\n        tcpSocket: {port: 80}\n        successThreshold: 2\n",
            8,
            "services.web.x-hoist.livenessProbe.successThreshold",
            "must be 1",
        ),
        (
            "      readinessProbe:\n        httpGet: {port: 80, host: example.com}\n",
            7,
            "services.web.x-hoist.readinessProbe.httpGet.host",
            "127.0.0.1 inside the container",
        ),
        (
            "      readinessProbe:\n        httpGet:\n          port: 80\n          httpHeaders: [{name: X, value: y}]\n",
            9,
            "services.web.x-hoist.readinessProbe.httpGet.httpHeaders",
            "no extra headers",
        ),
        (
            "      startupProbe:\n        exec: {command: [true]}\n        tcpSocket: {port: 80}\n",
            8,
            "services.web.x-hoist.startupProbe.tcpSocket",
            "exactly one of",
        ),
        (
            "      livenessProbe:\n        httpGet: {port: 70000}\n",
            7,
            "services.web.x-hoist.livenessProbe.httpGet.port",
            "ports are 1-65535",
        ),
        (
            "      livenessProbe:\n        periodSeconds: 5\n",
            7,
            "services.web.x-hoist.livenessProbe",
            "needs one of exec, httpGet or tcpSocket",
        ),
    ] {
        let e = load_error(&with(probe));
        assert!(
            e.contains(&format!("compose.yaml:{line}")) && e.contains(key) && e.contains(words),
            "{probe}\n-> {e}"
        );
    }
    // Readiness on a port the service does not publish: refused at validation.
    let e = load_error(&with(
        "      readinessProbe:\n        tcpSocket: {port: 81}\n",
    ));
    assert!(e.contains("does not publish"), "{e}");
}

#[test]
fn sysctls_oom_score_adj_group_add_and_cpuset_reach_the_run_extras() {
    let yaml = r#"
services:
  tuned:
    image: busybox
    sysctls:
      net.ipv4.ip_forward: 1
      kernel.shmmax: "1073741824"
    oom_score_adj: 300
    group_add: [staff, "1234"]
    cpuset: "0"
"#;
    let (p, ctx) = project(yaml);
    let d = desired(&p, &ctx);
    let svc = d.service("tuned").unwrap();
    let x = &svc.spec.options.extras;
    assert_eq!(x.sysctls["net.ipv4.ip_forward"], "1");
    assert_eq!(x.sysctls["kernel.shmmax"], "1073741824");
    assert_eq!(x.oom_score_adj, Some(300));
    assert_eq!(x.group_add_given, ["staff", "1234"]);
    assert_eq!(x.cpuset_cpus.as_deref(), Some("0"));
    // A change of any of them recreates the container.
    let hash = |yaml: &str| {
        let (p, ctx) = project(yaml);
        desired(&p, &ctx)
            .service("tuned")
            .unwrap()
            .config_hash
            .clone()
    };
    assert_ne!(hash(&yaml.replace("300", "200")), svc.config_hash);
    assert_ne!(
        hash(&yaml.replace("ip_forward: 1", "ip_forward: 0")),
        svc.config_hash
    );
}
