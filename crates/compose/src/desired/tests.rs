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
