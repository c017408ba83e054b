use super::*;
use hoist_runtime::container::config::{MountRequest, Protocol};
use hoist_runtime::probe::Probe;
use serde_json::json;
use std::path::PathBuf;

fn record(name: &str) -> ContainerRecord {
    ContainerRecord {
        id: "0".repeat(64),
        name: name.into(),
        image: "busybox".into(),
        image_ref: "docker.io/library/busybox:latest".into(),
        entrypoint: vec!["/bin/sh".into(), "-c".into()],
        cmd: vec!["httpd -f -p 8080".into()],
        env: vec![
            "PATH=/usr/bin:/bin".into(),
            "MODE=prod".into(),
            "EMPTY=".into(),
        ],
        workdir: "/srv".into(),
        user: "1000:1000".into(),
        ..Default::default()
    }
}

fn web() -> ContainerSource {
    let mut rec = record("web");
    rec.mounts = vec![MountRequest::Volume {
        name: "web-data".into(),
        target: "/data".into(),
        readonly: false,
        anonymous: false,
    }];
    rec.ports = vec![PortMapping {
        host_ip: "127.0.0.1".parse().unwrap(),
        host_port: 30080,
        container_port: 8080,
        protocol: Protocol::Tcp,
    }];
    rec.memory = Some(64 << 20);
    rec.cpus = Some(0.5);
    rec.read_only = true;
    rec.restart = Some("always".into());
    rec.security.cap_add = vec!["CAP_NET_ADMIN".into()];
    rec.security.cap_drop = vec!["CAP_MKNOD".into()];
    ContainerSource {
        record: rec,
        probes: Probes {
            startup: Some(Probe::parse("s", "tcp :8080 period=2s failure=30").unwrap()),
            liveness: Some(Probe::parse("l", "exec cat /tmp/alive timeout=2s").unwrap()),
            readiness: Some(Probe::parse("r", "http :8080/ready initialDelay=1s").unwrap()),
        },
        image_env: vec!["PATH=/usr/bin:/bin".into()],
        exposed_ports: vec!["9090/tcp".into()],
        user: Some((1000, Some(1000))),
        pod_scoped: Default::default(),
    }
}

fn one(w: ContainerSource, opts: &Options) -> Generated {
    generate(
        &[Workload {
            pod: None,
            containers: vec![w],
        }],
        opts,
    )
    .unwrap()
}

#[test]
fn a_container_becomes_a_pod_and_a_claim() {
    let g = one(web(), &Options::default());
    let kinds: Vec<&str> = g
        .objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["PersistentVolumeClaim", "Pod"]);
    let pvc = &g.objects[0];
    assert_eq!(pvc["metadata"]["name"], "web-data");
    assert_eq!(pvc["spec"]["resources"]["requests"]["storage"], CLAIM_SIZE);
    assert_eq!(pvc["spec"]["accessModes"], json!(["ReadWriteOnce"]));

    let pod = &g.objects[1];
    assert_eq!(pod["apiVersion"], "v1");
    assert_eq!(pod["metadata"]["name"], "web-pod");
    assert_eq!(pod["metadata"]["labels"]["app"], "web-pod");
    let spec = &pod["spec"];
    assert_eq!(spec["restartPolicy"], "Always");
    let c = &spec["containers"][0];
    assert_eq!(c["name"], "web");
    assert_eq!(c["image"], "docker.io/library/busybox:latest");
    assert_eq!(c["command"], json!(["/bin/sh", "-c"]));
    assert_eq!(c["args"], json!(["httpd -f -p 8080"]));
    assert_eq!(c["workingDir"], "/srv");
    // The image's PATH is left out; the rest kept, empty values too.
    assert_eq!(
        c["env"],
        json!([{"name": "MODE", "value": "prod"}, {"name": "EMPTY", "value": ""}])
    );
    assert_eq!(
        c["ports"],
        json!([
            {"containerPort": 8080, "hostPort": 30080, "protocol": "TCP"},
            {"containerPort": 9090, "protocol": "TCP"},
        ])
    );
    assert_eq!(
        c["resources"],
        json!({"limits": {"cpu": "500m", "memory": "64Mi"}})
    );
    assert_eq!(
        c["securityContext"],
        json!({
            "runAsUser": 1000, "runAsGroup": 1000, "readOnlyRootFilesystem": true,
            "capabilities": {"add": ["NET_ADMIN"], "drop": ["MKNOD"]},
        })
    );
    assert_eq!(
        c["startupProbe"],
        json!({"tcpSocket": {"port": 8080}, "initialDelaySeconds": 0, "periodSeconds": 2,
               "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 30})
    );
    assert_eq!(
        c["livenessProbe"],
        json!({"exec": {"command": ["cat", "/tmp/alive"]}, "initialDelaySeconds": 0,
               "periodSeconds": 10, "timeoutSeconds": 2, "successThreshold": 1,
               "failureThreshold": 3})
    );
    assert_eq!(
        c["readinessProbe"],
        json!({"httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"},
               "initialDelaySeconds": 1, "periodSeconds": 10, "timeoutSeconds": 1,
               "successThreshold": 1, "failureThreshold": 3})
    );
    assert_eq!(
        c["volumeMounts"],
        json!([{"name": "web-data", "mountPath": "/data"}])
    );
    assert_eq!(
        spec["volumes"],
        json!([{"name": "web-data", "persistentVolumeClaim": {"claimName": "web-data"}}])
    );
    assert!(g.warnings.0.is_empty(), "{:?}", g.warnings.0);
}

#[test]
fn with_a_service_the_published_ports_move_to_it() {
    let with_service = Options {
        service: true,
        ..Default::default()
    };
    let g = one(web(), &with_service);
    let kinds: Vec<&str> = g
        .objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["PersistentVolumeClaim", "Pod", "Service"]);
    let c = &g.objects[1]["spec"]["containers"][0];
    assert!(c["ports"][0]["hostPort"].is_null(), "{c}");
    let svc = &g.objects[2];
    // Published on 127.0.0.1 only: reachable inside the cluster only.
    assert_eq!(svc["spec"]["type"], "ClusterIP");
    assert_eq!(svc["spec"]["selector"], json!({"app": "web-pod"}));
    assert_eq!(
        svc["spec"]["ports"],
        json!([{"name": "8080-tcp", "port": 30080, "targetPort": 8080, "protocol": "TCP"}])
    );

    // Published on every address: a NodePort Service, the host port its node port.
    let mut outside = web();
    outside.record.ports[0].host_ip = "0.0.0.0".parse().unwrap();
    let g = one(outside.clone(), &with_service);
    let svc = &g.objects[2]["spec"];
    assert_eq!(svc["type"], "NodePort");
    assert_eq!(svc["ports"][0]["nodePort"], 30080);
    // Without the Service the address is written as the hostIP.
    let g = one(outside.clone(), &Options::default());
    let port = &g.objects[1]["spec"]["containers"][0]["ports"][0];
    assert_eq!(port["hostIP"], "0.0.0.0");
    // A host port a cluster cannot give as a node port is left for it to pick.
    outside.record.ports[0].host_port = 8080;
    let g = one(outside, &with_service);
    assert!(g.objects[2]["spec"]["ports"][0]["nodePort"].is_null());
    assert!(
        g.warnings.0.join("\n").contains("NodePort range"),
        "{:?}",
        g.warnings
    );
}

#[test]
fn a_deployment_keeps_the_template_and_drops_host_ports() {
    let g = one(
        web(),
        &Options {
            kind: Kind::Deployment,
            replicas: Some(3),
            ..Default::default()
        },
    );
    let d = &g.objects[1];
    assert_eq!(d["apiVersion"], "apps/v1");
    assert_eq!(d["kind"], "Deployment");
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(
        d["spec"]["selector"]["matchLabels"],
        json!({"app": "web-pod"})
    );
    let t = &d["spec"]["template"];
    assert_eq!(t["metadata"]["labels"]["app"], "web-pod");
    assert!(t["metadata"]["name"].is_null());
    let ports = &t["spec"]["containers"][0]["ports"];
    assert!(ports[0]["hostPort"].is_null(), "{ports}");
    assert_eq!(t["spec"]["restartPolicy"], "Always");
    assert_eq!(g.objects[2]["kind"], "Service");
}

#[test]
fn a_hoist_pod_with_two_containers_shares_its_volumes_and_ports() {
    let mut a = web();
    a.record.ports.clear();
    a.record.restart = None;
    let mut b = ContainerSource {
        record: record("Side_Car"),
        ..Default::default()
    };
    b.record.mounts = vec![
        MountRequest::Volume {
            name: "web-data".into(),
            target: "/shared".into(),
            readonly: true,
            anonymous: false,
        },
        MountRequest::Bind {
            source: PathBuf::from("/etc/app"),
            target: "/config".into(),
            readonly: true,
        },
        MountRequest::Tmpfs {
            target: "/tmp".into(),
            options: vec![],
        },
    ];
    b.record.restart = Some("on-failure".into());
    b.record.labels = serde_json::from_value(json!({"tier": "back", "note": "two words"})).unwrap();
    let pod = PodRecord {
        id: "1".repeat(64),
        name: "shop".into(),
        ports: vec![PortMapping {
            host_ip: "127.0.0.1".parse().unwrap(),
            host_port: 8080,
            container_port: 8080,
            protocol: Protocol::Tcp,
        }],
        ..Default::default()
    };
    let g = generate(
        &[Workload {
            pod: Some(pod),
            containers: vec![a, b],
        }],
        &Options::default(),
    )
    .unwrap();
    let kinds: Vec<&str> = g
        .objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["PersistentVolumeClaim", "Pod"]);
    let pod = &g.objects[1];
    assert_eq!(pod["metadata"]["name"], "shop");
    assert_eq!(pod["metadata"]["labels"]["tier"], "back");
    assert_eq!(pod["metadata"]["annotations"]["note"], "two words");
    let spec = &pod["spec"];
    assert_eq!(spec["restartPolicy"], "OnFailure");
    // The pod's port goes to the container whose probes check it.
    assert_eq!(spec["containers"][0]["ports"][0]["hostPort"], 8080);
    assert_eq!(spec["containers"][1]["name"], "side-car");
    assert!(spec["containers"][1]["ports"].is_null());
    let vols: Vec<&str> = spec["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(vols, ["web-data", "host-etc-app", "tmpfs-tmp"]);
    assert_eq!(
        spec["containers"][1]["volumeMounts"][0],
        json!({"name": "web-data", "mountPath": "/shared", "readOnly": true})
    );
    let w = g.warnings.0.join("\n");
    assert!(w.contains("named \"side-car\""), "{w}");
    assert!(w.contains("annotations"), "{w}");
    assert!(w.contains("restart policies differ"), "{w}");
}

#[test]
fn claims_shared_by_two_workloads_are_written_once() {
    let g = generate(
        &[
            Workload {
                pod: None,
                containers: vec![web()],
            },
            Workload {
                pod: None,
                containers: vec![ContainerSource {
                    record: ContainerRecord {
                        name: "other".into(),
                        ..web().record
                    },
                    ..web()
                }],
            },
        ],
        &Options::default(),
    )
    .unwrap();
    let kinds: Vec<&str> = g
        .objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["PersistentVolumeClaim", "Pod", "Pod"]);
}

#[test]
fn bad_requests_are_refused() {
    assert_eq!(
        generate(&[], &Options::default()).unwrap_err(),
        GenerateError::Nothing
    );
    let w = [Workload {
        pod: None,
        containers: vec![web()],
    }];
    let replicas = Options {
        kind: Kind::Pod,
        replicas: Some(2),
        ..Default::default()
    };
    assert_eq!(
        generate(&w, &replicas).unwrap_err(),
        GenerateError::ReplicasWithoutDeployment
    );
    let empty = [Workload {
        pod: Some(PodRecord {
            name: "p".into(),
            ..Default::default()
        }),
        containers: vec![],
    }];
    assert!(matches!(
        generate(&empty, &Options::default()).unwrap_err(),
        GenerateError::EmptyPod(_)
    ));
}

#[test]
fn what_has_no_field_is_named() {
    let mut s = web();
    s.record.pids_limit = Some(100);
    s.record.stop_signal = Some("SIGINT".into());
    s.record.user = "app".into();
    s.user = None;
    s.record.restart = Some("on-failure:3".into());
    s.record.add_hosts = vec!["db:10.0.0.5".into(), "cache:10.0.0.5".into()];
    s.record.dns = vec!["10.0.0.53".into()];
    let g = one(s, &Options::default());
    let w = g.warnings.0.join("\n");
    assert!(
        w.contains("--pids-limit, --stop-signal have no Kubernetes field"),
        "{w}"
    );
    assert!(w.contains("user \"app\""), "{w}");
    assert!(w.contains("on-failure:3"), "{w}");
    let spec = &g.objects[1]["spec"];
    assert_eq!(spec["restartPolicy"], "OnFailure");
    assert_eq!(
        spec["hostAliases"],
        json!([{"ip": "10.0.0.5", "hostnames": ["db", "cache"]}])
    );
    assert_eq!(spec["dnsPolicy"], "None");
    assert_eq!(spec["dnsConfig"]["nameservers"], json!(["10.0.0.53"]));
}

#[test]
fn the_yaml_is_deterministic() {
    let a = one(web(), &Options::default()).to_yaml();
    let b = one(web(), &Options::default()).to_yaml();
    assert_eq!(a, b);
    assert_eq!(a.matches("\n---\n").count(), 1);
    assert!(a.contains("kind: Pod\n"), "{a}");
    assert!(
        a.contains("    - args:\n        - httpd -f -p 8080\n"),
        "{a}"
    );
}

#[test]
fn what_kube_play_made_keeps_its_yaml_names_and_labels() {
    let mut s = web();
    s.record.name = "shop-web-1".into();
    s.record.labels = serde_json::from_value(json!({
        "io.hoist.kube.container": "web",
        "io.hoist.kube.workload": "pod/shop",
        "io.hoist.kube.label.app": "shop",
        "io.hoist.kube.label.tier": "front",
    }))
    .unwrap();
    let g = one(s, &Options::default());
    let pod = &g.objects[1];
    assert_eq!(pod["spec"]["containers"][0]["name"], "web");
    assert_eq!(
        pod["metadata"]["labels"],
        json!({"app": "shop-web-1-pod", "tier": "front"})
    );
    assert!(pod["metadata"]["annotations"].is_null(), "{pod}");
}

#[test]
fn a_played_pods_own_volumes_are_emptydirs_again() {
    let mut s = web();
    s.record.mounts = vec![
        MountRequest::Volume {
            name: "shop-cache".into(),
            target: "/cache".into(),
            readonly: false,
            anonymous: false,
        },
        MountRequest::Volume {
            name: "shop-work".into(),
            target: "/work".into(),
            readonly: false,
            anonymous: false,
        },
    ];
    s.pod_scoped = volumes::PodScoped {
        pod: "shop".into(),
        names: vec!["shop-cache".into(), "shop-work".into()],
        memory: vec!["shop-cache".into()],
    };
    let g = one(s, &Options::default());
    assert_eq!(g.objects[0]["kind"], "Pod", "no claim: {:?}", g.objects);
    assert_eq!(
        g.objects[0]["spec"]["volumes"],
        json!([
            {"name": "cache", "emptyDir": {"medium": "Memory"}},
            {"name": "work", "emptyDir": {}},
        ])
    );
}
