//! Bad input is refused before anything starts, naming the problem: an unknown kind, a
//! probe on a port the container does not expose, a Secret that does not exist, a missing
//! image with imagePullPolicy Never, not YAML.

use super::env::KubeEnv;

const GOOD_POD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: ok}
spec:
  containers:
    - {name: c, image: busybox:latest, command: ["sleep", "300"]}
"#;

#[test]
fn bad_input_is_refused_before_anything_starts() {
    hoist_testkit::require_root!();
    let Some(env) = KubeEnv::new("kube-errors") else {
        return;
    };
    let cases: [(&str, String, &str); 6] = [
        (
            "kind.yaml",
            format!("{GOOD_POD}---\napiVersion: v1\nkind: Gadget\nmetadata: {{name: g}}\n"),
            "kind \"Gadget\" is not supported",
        ),
        (
            "probe.yaml",
            format!("{GOOD_POD}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n    - name: c\n      image: busybox:latest\n      ports: [{{containerPort: 80}}]\n      readinessProbe: {{tcpSocket: {{port: 8080}}}}\n"),
            "readinessProbe checks port 8080, which the container does not expose (its ports: 80)",
        ),
        (
            "secret.yaml",
            format!("{GOOD_POD}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: s}}\nspec:\n  containers:\n    - name: c\n      image: busybox:latest\n      env: [{{name: P, valueFrom: {{secretKeyRef: {{name: nope, key: k}}}}}}]\n"),
            "uses Secret \"nope\", which does not exist",
        ),
        (
            "never.yaml",
            format!("{GOOD_POD}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: n}}\nspec:\n  containers:\n    - {{name: c, image: not-here:1, imagePullPolicy: Never}}\n"),
            "image not-here:1 is not in the store and its imagePullPolicy is Never",
        ),
        (
            "syntax.yaml",
            format!("{GOOD_POD}---\nkind: [\n"),
            "syntax.yaml:",
        ),
        (
            "schema.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: t}\nspec:\n  containers:\n    - {name: c, image: busybox:latest, ports: [{containerPort: many}]}\n".to_string(),
            "spec.containers[0].ports[0].containerPort",
        ),
    ];
    for (name, text, want) in cases {
        let file = env.write(name, &text);
        let err = env.fails(&["kube", "play", &file]);
        assert!(err.contains(want), "{name}: {err}");
        assert!(env.pods().is_empty(), "{name}: nothing was created");
        assert!(env.containers().is_empty(), "{name}: nothing was created");
    }
}
