//! The pure half of play: documents → manifest → checks → desired state, without root.

use super::desired::{desired, PodNaming};
use super::manifest::{from_documents, Manifest};
use super::read::read_str;
use hoist_reconcile::Condition;
use hoist_runtime::probe::Check;
use std::path::Path;

fn manifest(text: &str) -> Manifest {
    from_documents(&read_str(text, "t.yaml").unwrap()).unwrap()
}

const APP: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {MODE: fast, other: x}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
data: {token: c2VjcmV0}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      volumes:
        - {name: scratch, emptyDir: {}}
        - {name: conf, configMap: {name: cfg, items: [{key: MODE, path: mode.txt}]}}
      initContainers:
        - {name: a, image: busybox, command: ["true"]}
        - {name: b, image: busybox, command: ["true"]}
      containers:
        - name: app
          image: busybox
          command: ["sh", "-c"]
          args: ["exec httpd -f -p 8080"]
          envFrom: [{configMapRef: {name: cfg}, prefix: CFG_}]
          env:
            - {name: TOKEN, valueFrom: {secretKeyRef: {name: sec, key: token}}}
            - {name: CFG_MODE, value: slow}
          ports: [{containerPort: 8080, name: http}, {containerPort: 9090, hostPort: 19090}]
          volumeMounts:
            - {name: scratch, mountPath: /tmp/s}
            - {name: conf, mountPath: /etc/conf, readOnly: true}
          resources: {limits: {cpu: 250m, memory: 32Mi}}
          readinessProbe: {httpGet: {port: http, path: /ready}, periodSeconds: 2}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
"#;

#[test]
fn a_deployment_becomes_services_with_init_dependencies_and_pods_per_replica() {
    let m = manifest(APP);
    super::check::check(&m).unwrap();
    let w = &m.workloads[0];
    let (d, files) = desired(&m, w, Path::new("/r/kube/files"));
    assert_eq!(d.project, "deployment/web");
    let names: Vec<&str> = d.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "app"]);
    assert!(d.services.iter().all(|s| s.replicas == 3));
    // Init containers one after another, then the containers.
    assert!(d.services[0].depends_on.is_empty());
    assert_eq!(d.services[1].depends_on[0].service, "a");
    assert_eq!(d.services[2].depends_on[0].service, "b");
    assert_eq!(
        d.services[2].depends_on[0].condition,
        Condition::CompletedSuccessfully
    );
    let app = &d.services[2].spec;
    assert_eq!(app.pod, PodNaming::Ordinal("web".into()));
    assert_eq!(app.pod.pod(1), "web-0");
    // hostPort on 127.0.0.1, the Service's target port on a free port.
    assert_eq!(app.publish, ["127.0.0.1:19090:9090", "8080"]);
    let o = &app.container.options;
    assert_eq!(o.entrypoint.as_deref(), Some("sh"));
    assert_eq!(o.cmd, ["-c", "exec httpd -f -p 8080"]);
    assert!(
        o.env.contains(&"CFG_MODE=slow".to_string()),
        "env wins: {:?}",
        o.env
    );
    assert!(o.env.contains(&"CFG_other=x".to_string()));
    assert!(o.env.contains(&"TOKEN=secret".to_string()));
    assert_eq!(o.restart.as_deref(), Some("always"));
    assert_eq!(
        d.services[0].spec.container.options.restart.as_deref(),
        Some("no")
    );
    assert_eq!(o.cpus, Some(0.25));
    assert_eq!(o.memory, Some(32 << 20));
    assert_eq!(
        o.volumes,
        [
            "{pod}-scratch:/tmp/s",
            "/r/kube/files/deployment_web/conf:/etc/conf:ro"
        ]
    );
    assert!(app
        .volumes
        .iter()
        .any(|v| v.name == "{pod}-scratch" && v.ephemeral));
    assert_eq!(files.len(), 1);
    assert_eq!(
        files[0].files,
        [("mode.txt".to_string(), b"fast".to_vec(), 0o644)]
    );
    let probe = app.container.probes.readiness.as_ref().unwrap();
    assert_eq!(
        probe.check,
        Check::Http {
            port: 8080,
            path: "/ready".into()
        }
    );
    assert_eq!(probe.period.as_secs(), 2);
    assert_eq!(o.labels["io.hoist.kube.label.app"], "web");
    // The same files give the same hash; a changed template another.
    let (again, _) = desired(&m, w, Path::new("/r/kube/files"));
    assert_eq!(again.services[2].config_hash, d.services[2].config_hash);
    let changed = manifest(&APP.replace("250m", "500m"));
    let (d2, _) = desired(&changed, &changed.workloads[0], Path::new("/r/kube/files"));
    assert_ne!(d2.services[2].config_hash, d.services[2].config_hash);
    assert_eq!(d2.services[0].config_hash, d.services[0].config_hash);

    // A new digest of the image changes every hash.
    let mut d3 = d.clone();
    let digests = [("busybox".to_string(), "sha256:1".to_string())].into();
    super::desired::with_image_digests(&mut d3, &digests);
    assert_ne!(d3.services[2].config_hash, d.services[2].config_hash);
    assert_eq!(
        d3.services[2].spec.container.options.labels["io.hoist.kube.config-hash"],
        d3.services[2].config_hash
    );

    let defs = super::service::definitions(&m);
    assert_eq!(defs[0].ports[0].listen, 80);
    assert_eq!(defs[0].ports[0].target, 8080);
}

#[test]
fn statefulset_claims_and_job_policies() {
    let m = manifest(
        r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      securityContext: {runAsUser: 1000, runAsGroup: 100}
      containers:
        - {name: c, image: busybox, volumeMounts: [{name: data, mountPath: /data}]}
  volumeClaimTemplates:
    - metadata: {name: data}
---
apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  backoffLimit: 4
  completions: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
"#,
    );
    super::check::check(&m).unwrap();
    let (sts, _) = desired(&m, &m.workloads[0], Path::new("/f"));
    let spec = &sts.services[0].spec;
    assert_eq!(spec.container.options.volumes, ["data-{pod}:/data"]);
    assert!(!spec.volumes[0].ephemeral, "kept across down");
    assert_eq!(spec.container.options.user.as_deref(), Some("1000:100"));
    let (job, _) = desired(&m, &m.workloads[1], Path::new("/f"));
    assert_eq!(job.services[0].replicas, 2);
    assert!(job.services[0].spec.one_shot);
    assert_eq!(
        job.services[0].spec.container.options.restart.as_deref(),
        Some("on-failure:4")
    );
}

#[test]
fn checks_name_the_problem() {
    let err = |text: &str| {
        let docs = read_str(text, "t.yaml").unwrap();
        match from_documents(&docs) {
            Err(e) => e.to_string(),
            Ok(m) => super::check::check(&m).unwrap_err().to_string(),
        }
    };
    let pod = |container: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n    - {container}\n")
    };
    assert!(err("kind: Widget\nmetadata: {name: w}\n").contains("kind \"Widget\" is not supported"));
    assert!(err(&pod(
        "{name: c, image: i, livenessProbe: {httpGet: {port: 80}}}"
    ))
    .contains(
        "livenessProbe checks port 80, which the container does not expose (its ports: none)"
    ));
    assert!(err(&pod(
        "{name: c, image: i, envFrom: [{configMapRef: {name: gone}}]}"
    ))
    .contains("ConfigMap \"gone\", which does not exist"));
    assert!(err(&pod(
        "{name: c, image: i, volumeMounts: [{name: v, mountPath: /v}]}"
    ))
    .contains("mounts volume \"v\", which the pod does not declare"));
    assert!(err(&pod("{name: c}")).contains("container \"c\" has no image"));
    assert!(
        err(&pod("{name: c, image: i, ports: [{containerPort: x}]}"))
            .contains("spec.containers[0].ports[0].containerPort")
    );
    // An optional reference that is missing is fine.
    let m = manifest(&pod(
        "{name: c, image: i, env: [{name: X, valueFrom: {secretKeyRef: {name: s, key: k, optional: true}}}]}",
    ));
    super::check::check(&m).unwrap();
}
