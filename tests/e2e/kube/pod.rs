//! A Pod with ConfigMap and Secret as env and as files, an emptyDir shared by two
//! containers, a hostPort published on 127.0.0.1, limits and a security context, probes;
//! unsupported fields warned about by path; a second play changes nothing, `--replace`
//! makes it anew, a changed container makes the whole pod anew; down removes it all (but not
//! the PVC's volume).

use super::env::KubeEnv;
use hoist_testkit::wait_until;
use std::time::Duration;

const POD: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data:
  GREETING: hello
  app.conf: "mode=fast"
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData:
  password: s3cret
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: store}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata:
  name: demo
  labels: {app: demo}
spec:
  terminationGracePeriodSeconds: 0
  nodeSelector: {disk: ssd}
  volumes:
    - {name: shared, emptyDir: {}}
    - {name: conf, configMap: {name: settings}}
    - {name: secret, secret: {secretName: creds}}
    - {name: data, persistentVolumeClaim: {claimName: store}}
  containers:
    - name: web
      image: busybox:latest
      command: ["sh", "-c"]
      args:
        - |
          echo "$GREETING $PASSWORD $(cat /etc/app/app.conf) $(cat /run/secret/password)" > /www/index.html
          exec httpd -f -p 8080 -h /www
      env:
        - name: PASSWORD
          valueFrom: {secretKeyRef: {name: creds, key: password}}
      envFrom:
        - configMapRef: {name: settings}
      ports:
        - {containerPort: 8080, hostPort: 18431}
      volumeMounts:
        - {name: shared, mountPath: /www}
        - {name: conf, mountPath: /etc/app}
        - {name: secret, mountPath: /run/secret}
        - {name: data, mountPath: /data}
      resources:
        limits: {cpu: 500m, memory: 64Mi}
      securityContext:
        capabilities: {drop: [NET_RAW]}
      readinessProbe:
        httpGet: {path: /, port: 8080}
        periodSeconds: 1
      livenessProbe:
        tcpSocket: {port: 8080}
        periodSeconds: 2
        timeoutSeconds: 2
        failureThreshold: 5
      lifecycle: {}
    - name: side
      image: busybox:latest
      command: ["sh", "-c", "echo side > /shared/side.txt; exec sleep 300"]
      securityContext: {runAsUser: 1000, readOnlyRootFilesystem: true}
      volumeMounts:
        - {name: shared, mountPath: /shared}
"#;

#[test]
fn pod_with_config_secret_volumes_ports_and_probes() {
    hoist_testkit::require_root!();
    let Some(env) = KubeEnv::new("kube-pod") else {
        return;
    };
    let file = env.write("pod.yaml", POD);
    let (_, err) = env.ok2(&["kube", "play", &file]);
    assert!(err.contains("spec.nodeSelector is not supported"), "{err}");
    assert!(
        err.contains("spec.containers[0].lifecycle is not supported"),
        "{err}"
    );
    assert_eq!(env.pods(), vec!["demo"]);
    assert_eq!(env.containers(), vec!["demo-side", "demo-web"]);

    // Served through the hostPort on 127.0.0.1 once ready: env from the Secret and the
    // ConfigMap, files from both.
    let body = hoist_testkit::wait_until_ok(
        "the pod's hostPort answers",
        Duration::from_secs(20),
        || env.get(18431),
    );
    assert_eq!(body, "hello s3cret mode=fast s3cret");
    // The emptyDir is shared: the side container's file is in web's /www.
    wait_until(
        "side's file in the shared emptyDir",
        Duration::from_secs(10),
        || env.net.exec("demo-web", "cat /www/side.txt").1.trim() == "side",
    );
    let web = env.net.inspect("demo-web");
    assert_eq!(
        web["HostConfig"]["Memory"],
        64 << 20,
        "{}",
        web["HostConfig"]
    );
    assert_eq!(web["HostConfig"]["NanoCpus"], 500_000_000i64);
    assert_eq!(web["State"]["Running"], true);
    let side = env.net.inspect("demo-side");
    assert_eq!(side["Config"]["User"], "1000");
    assert_eq!(side["HostConfig"]["ReadonlyRootfs"], true);
    let (ok, _) = env.net.exec("demo-side", "touch /not-here");
    assert!(!ok, "the root filesystem is read-only");
    assert_eq!(
        web["Config"]["Labels"]["io.hoist.kube.workload"],
        "pod/demo"
    );
    assert_eq!(web["Config"]["Labels"]["io.hoist.kube.label.app"], "demo");

    // Played again unchanged: nothing recreated.
    let id = web["Id"].clone();
    env.ok2(&["kube", "play", &file]);
    assert_eq!(env.net.inspect("demo-web")["Id"], id);
    // --replace: removed and made anew.
    env.ok2(&["kube", "play", "--replace", &file]);
    assert_ne!(env.net.inspect("demo-web")["Id"], id);
    assert_eq!(env.containers(), vec!["demo-side", "demo-web"]);

    // One container's template changed: the pod is made anew, both containers with it (a
    // pod is immutable), and its hostPort serves again.
    let web_id = env.net.inspect("demo-web")["Id"].clone();
    let file = env.write("pod.yaml", &POD.replace("echo side >", "echo side2 >"));
    env.ok2(&["kube", "play", &file]);
    assert_ne!(env.net.inspect("demo-web")["Id"], web_id);
    wait_until("the new pod's side file", Duration::from_secs(10), || {
        env.net.exec("demo-web", "cat /www/side.txt").1.trim() == "side2"
    });
    wait_until("the new pod serves", Duration::from_secs(20), || {
        env.get(18431).is_some()
    });

    env.ok2(&["kube", "down", &file]);
    assert!(env.containers().is_empty());
    assert!(env.pods().is_empty());
    let vols = env.net.ok(&["volume", "ls", "-q"]);
    assert!(
        vols.lines().any(|v| v == "store"),
        "the PVC's volume is kept: {vols}"
    );
    assert!(
        !vols.contains("demo-shared"),
        "the emptyDir goes with the pod: {vols}"
    );
}
