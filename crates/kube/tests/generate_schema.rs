//! Every object `kube generate` writes validates against the Kubernetes OpenAPI schema of
//! v1.36 (a current release), offline: the schema is the one k8s-openapi is generated from,
//! written by its `schemars` feature into testdata/kube/k8s-v1.36-schema.json
//! (tests/schema_gen.rs), and checked by the strict validator below, which also refuses fields the schema does not have (as `kubectl apply
//! --validate=strict` does; k8s-openapi's own deserializers ignore them). The YAML goes
//! through the same reader `kube play` uses, then back into k8s-openapi's types without
//! losing a field.

use hoist_kube::generate::{self, ContainerSource, Generated, Kind, Options, Workload};
use hoist_runtime::container::config::{MountRequest, PortMapping, Protocol};
use hoist_runtime::container::ContainerRecord;
use hoist_runtime::health::Healthcheck;
use hoist_runtime::pod::PodRecord;
use hoist_runtime::probe::{Probe, Probes};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Service};
use serde_json::{json, Map, Value};
use std::path::PathBuf;

fn port(host_ip: &str, host: u16, ctr: u16, protocol: Protocol) -> PortMapping {
    PortMapping {
        host_ip: host_ip.parse().unwrap(),
        host_port: host,
        container_port: ctr,
        protocol,
    }
}

/// A container using every field generate writes.
fn everything(name: &str, host_ip: &str) -> ContainerSource {
    let mut rec = ContainerRecord {
        id: "0".repeat(64),
        name: name.into(),
        image: "busybox".into(),
        image_ref: "docker.io/library/busybox:1.36".into(),
        entrypoint: vec!["/bin/sh".into(), "-c".into()],
        cmd: vec!["httpd -f -p 8080 & nc -lk -p 5353 -u; wait".into()],
        env: vec!["MODE=prod".into(), "QUOTE=a: b # c".into(), "N=8080".into()],
        workdir: "/srv".into(),
        user: "1000:1000".into(),
        memory: Some(100_000_000),
        cpus: Some(1.5),
        pids_limit: Some(64),
        read_only: true,
        tty: true,
        interactive: true,
        restart: Some("on-failure".into()),
        add_hosts: vec!["db:10.0.0.5".into()],
        dns: vec!["10.0.0.53".into()],
        dns_search: vec!["example.internal".into()],
        ..Default::default()
    };
    rec.ports = vec![
        port(host_ip, 30080, 8080, Protocol::Tcp),
        port(host_ip, 5353, 5353, Protocol::Udp),
    ];
    rec.mounts = vec![
        MountRequest::Volume {
            name: "Web_Data".into(),
            target: "/data".into(),
            readonly: false,
            anonymous: false,
        },
        MountRequest::Volume {
            name: "f".repeat(64),
            target: "/scratch".into(),
            readonly: false,
            anonymous: true,
        },
        MountRequest::Bind {
            source: PathBuf::from("/etc/app config"),
            target: "/config".into(),
            readonly: true,
        },
        MountRequest::Tmpfs {
            target: "/tmp".into(),
            options: vec!["size=64m".into(), "mode=1777".into()],
        },
    ];
    rec.security.cap_add = vec!["CAP_NET_ADMIN".into(), "CAP_SYS_TIME".into()];
    rec.security.cap_drop = vec!["ALL".into()];
    rec.security.no_new_privileges = true;
    rec.security.seccomp = hoist_runtime::security::Seccomp::Unconfined;
    rec.labels = [
        ("app.kubernetes.io/part-of", "shop"),
        ("org.opencontainers.image.url", "https://example.org/x"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    ContainerSource {
        record: rec,
        probes: Probes {
            startup: Some(Probe::parse("s", "tcp :8080 period=1s failure=30").unwrap()),
            liveness: Some(Probe::parse("l", "exec cat /tmp/alive period=250ms").unwrap()),
            readiness: Some(
                Probe::parse("r", "http :8080/ready initialDelay=1s timeout=2s success=2").unwrap(),
            ),
        },
        image_env: vec![],
        exposed_ports: vec!["9090/tcp".into()],
        user: Some((1000, Some(1000))),
        pod_scoped: Default::default(),
    }
}

/// A second container with docker's HEALTHCHECK and nothing else.
fn sidecar() -> ContainerSource {
    ContainerSource {
        record: ContainerRecord {
            id: "1".repeat(64),
            name: "sidecar".into(),
            image: "alpine".into(),
            image_ref: "docker.io/library/alpine:3".into(),
            cmd: vec!["sleep".into(), "infinity".into()],
            healthcheck: Some(Healthcheck {
                test: vec!["CMD".into(), "true".into()],
                interval: 5_000_000_000,
                timeout: 1_000_000_000,
                start_period: 0,
                start_interval: 0,
                retries: 2,
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn generated() -> Vec<(&'static str, Generated)> {
    let loose = Workload {
        pod: None,
        containers: vec![everything("web", "127.0.0.1")],
    };
    let pod = Workload {
        pod: Some(PodRecord {
            id: "2".repeat(64),
            name: "Shop.Front".into(),
            ports: vec![port("0.0.0.0", 31000, 9090, Protocol::Tcp)],
            ..Default::default()
        }),
        containers: vec![everything("front", "0.0.0.0"), sidecar()],
    };
    let run = |w: &[Workload], opts: Options| generate::generate(w, &opts).unwrap();
    vec![
        (
            "pod",
            run(&[loose.clone(), pod.clone()], Options::default()),
        ),
        (
            "pod --service",
            run(
                &[loose.clone(), pod.clone()],
                Options {
                    service: true,
                    ..Default::default()
                },
            ),
        ),
        (
            "deployment",
            run(
                &[loose, pod],
                Options {
                    kind: Kind::Deployment,
                    replicas: Some(3),
                    ..Default::default()
                },
            ),
        ),
    ]
}

/// The committed schema: `kinds` (a `$ref` per kind) and `$defs`.
fn schema() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/kube/k8s-v1.36-schema.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `T` read back from `doc` and written again.
fn round_trip<T>(doc: &Value) -> Value
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    let typed: T = serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("{e}: {doc}"));
    serde_json::to_value(typed).unwrap()
}

#[test]
fn every_generated_object_validates_against_the_v1_36_schema() {
    let schema = schema();
    let mut kinds_seen = std::collections::BTreeSet::new();
    for (what, g) in generated() {
        let text = g.to_yaml();
        let docs = hoist_kube::play::read::read_str(&text, what).unwrap();
        assert_eq!(docs.len(), g.objects.len(), "{what}");
        for (doc, object) in docs.iter().zip(&g.objects) {
            // The YAML reads back as exactly the object.
            assert_eq!(&doc.value, object, "{what}: {text}");
            let kind = doc.value["kind"].as_str().unwrap().to_string();
            let back = match kind.as_str() {
                "Pod" => round_trip::<Pod>(&doc.value),
                "Deployment" => round_trip::<Deployment>(&doc.value),
                "Service" => round_trip::<Service>(&doc.value),
                "PersistentVolumeClaim" => round_trip::<PersistentVolumeClaim>(&doc.value),
                other => panic!("{what}: generate wrote a {other}"),
            };
            assert_eq!(back, doc.value, "{what}: a {kind} field was lost");
            let errors = validate(&schema, &kind, &doc.value);
            assert!(errors.is_empty(), "{what}: {kind}:\n{}", errors.join("\n"));
            kinds_seen.insert(kind);
        }
    }
    assert_eq!(
        kinds_seen.into_iter().collect::<Vec<_>>(),
        ["Deployment", "PersistentVolumeClaim", "Pod", "Service"]
    );
}

#[test]
fn the_validator_finds_what_a_cluster_would_refuse() {
    let (_, g) = generated().remove(0);
    let pod = g
        .objects
        .iter()
        .find(|o| o["kind"] == "Pod")
        .unwrap()
        .clone();
    let schema = schema();
    let mut bad = pod.clone();
    bad["spec"]["restartPolicy"] = json!(["Always"]);
    let c = &mut bad["spec"]["containers"][0];
    c["ports"][0]["containerPort"] = json!("8080");
    c["livenessProbe"]["periodSecond"] = json!(1);
    c.as_object_mut().unwrap().remove("name");
    c["resources"]["limits"]["memory"] = json!(1.5);
    c["livenessProbe"]["failureThreshold"] = json!(1u64 << 40);
    assert!(validate(&schema, "Pod", &pod).is_empty());
    let errors = validate(&schema, "Pod", &bad).join("\n");
    for want in [
        "spec.containers[0].ports[0].containerPort: \"8080\" is not integer",
        "spec.containers[0].livenessProbe.periodSecond: not in the schema",
        "spec.containers[0]: required name missing",
        "spec.containers[0].resources.limits.memory: 1.5 is not an int or a string",
        "spec.restartPolicy: [\"Always\"] is not string",
        "spec.containers[0].livenessProbe.failureThreshold: 1099511627776 is not int32",
    ] {
        assert!(errors.contains(want), "missing {want:?} in:\n{errors}");
    }
}

/// Validates `v` as a `kind` of the schema document `doc` (its `kinds` and `$defs`), strictly: object fields the
/// schema does not name are errors. Covers what the Kubernetes schema uses: `$ref`, `type`,
/// `properties`, `required`, `items`, `additionalProperties`, `format` (int32, int64),
/// `enum`, `allOf`/`anyOf`/`oneOf` and `x-kubernetes-int-or-string`.
fn validate(doc: &Value, kind: &str, v: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let defs = doc["$defs"].as_object().cloned().unwrap_or_default();
    let root = &doc["kinds"][kind];
    assert!(root.is_object(), "no schema for {kind}");
    check(root, v, &defs, "", &mut errors);
    errors
}

fn at(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn check(schema: &Value, v: &Value, defs: &Map<String, Value>, path: &str, errs: &mut Vec<String>) {
    let here = if path.is_empty() { "(object)" } else { path };
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.strip_prefix("#/$defs/").expect("local $ref");
        let target = defs.get(name).unwrap_or_else(|| panic!("no $defs/{name}"));
        check(target, v, defs, path, errs);
    }
    if schema["x-kubernetes-int-or-string"] == json!(true) && !(v.is_i64() || v.is_string()) {
        errs.push(format!("{here}: {v} is not an int or a string"));
        return;
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(subs) = schema[key].as_array() {
            let passing = subs
                .iter()
                .filter(|s| {
                    let mut e = Vec::new();
                    check(s, v, defs, path, &mut e);
                    e.is_empty()
                })
                .count();
            let ok = match key {
                "allOf" => passing == subs.len(),
                "anyOf" => passing > 0,
                _ => passing == 1,
            };
            if !ok {
                errs.push(format!("{here}: {v} does not match {key}"));
            }
        }
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let is = |t: &str| match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => panic!("unknown type {t}"),
        };
        if !types.iter().any(|t| is(t)) {
            errs.push(format!("{here}: {v} is not {}", types.join(" or ")));
            return;
        }
    }
    match schema["format"].as_str() {
        Some("int32") if v.as_i64().is_none_or(|n| i32::try_from(n).is_err()) => {
            errs.push(format!("{here}: {v} is not int32"))
        }
        Some("int64") if v.as_i64().is_none() => errs.push(format!("{here}: {v} is not int64")),
        _ => {}
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(v) {
            errs.push(format!("{here}: {v} is not one of {allowed:?}"));
        }
    }
    if let Value::Object(obj) = v {
        let props = schema["properties"].as_object();
        for req in schema["required"].as_array().into_iter().flatten() {
            let req = req.as_str().unwrap();
            if !obj.contains_key(req) {
                errs.push(format!("{here}: required {req} missing"));
            }
        }
        for (k, val) in obj {
            let p = at(path, k);
            match (
                props.and_then(|p| p.get(k)),
                schema.get("additionalProperties"),
            ) {
                (Some(s), _) => check(s, val, defs, &p, errs),
                (None, Some(Value::Bool(false))) => errs.push(format!("{p}: not in the schema")),
                (None, Some(Value::Bool(true))) => {}
                (None, Some(s)) => check(s, val, defs, &p, errs),
                (None, None) if props.is_some() => errs.push(format!("{p}: not in the schema")),
                (None, None) => {}
            }
        }
    }
    if let (Value::Array(items), Some(s)) = (v, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(s, item, defs, &format!("{path}[{i}]"), errs);
        }
    }
}
