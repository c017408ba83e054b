//! Which fields `kube play` carries out. Every key of a document is looked up in a tree of
//! the fields hoist implements; anything else (a real Kubernetes field hoist does not do, or
//! a typo k8s-openapi's reader skips) becomes a warning naming its path, never dropped
//! silently.

use serde_json::Value;

enum Shape {
    /// Any value, looked at no further (label maps, ConfigMap data, a command's words).
    Any,
    /// A mapping with these keys.
    Map(Vec<(&'static str, Shape)>),
    /// A list of the inner shape.
    List(Box<Shape>),
}

use Shape::{Any, List, Map};

fn list(s: Shape) -> Shape {
    List(Box::new(s))
}

fn metadata() -> Shape {
    Map(vec![
        ("name", Any),
        ("namespace", Any),
        ("labels", Any),
        ("annotations", Any),
    ])
}

fn probe() -> Shape {
    Map(vec![
        ("exec", Map(vec![("command", Any)])),
        ("httpGet", Map(vec![("path", Any), ("port", Any)])),
        ("tcpSocket", Map(vec![("port", Any)])),
        ("initialDelaySeconds", Any),
        ("periodSeconds", Any),
        ("timeoutSeconds", Any),
        ("successThreshold", Any),
        ("failureThreshold", Any),
    ])
}

fn key_ref() -> Shape {
    Map(vec![("name", Any), ("key", Any), ("optional", Any)])
}

fn container() -> Shape {
    Map(vec![
        ("name", Any),
        ("image", Any),
        ("command", Any),
        ("args", Any),
        ("workingDir", Any),
        (
            "env",
            list(Map(vec![
                ("name", Any),
                ("value", Any),
                (
                    "valueFrom",
                    Map(vec![
                        ("configMapKeyRef", key_ref()),
                        ("secretKeyRef", key_ref()),
                    ]),
                ),
            ])),
        ),
        (
            "envFrom",
            list(Map(vec![
                ("prefix", Any),
                ("configMapRef", Map(vec![("name", Any), ("optional", Any)])),
                ("secretRef", Map(vec![("name", Any), ("optional", Any)])),
            ])),
        ),
        (
            "ports",
            list(Map(vec![
                ("name", Any),
                ("containerPort", Any),
                ("hostPort", Any),
                ("hostIP", Any),
                ("protocol", Any),
            ])),
        ),
        (
            "volumeMounts",
            list(Map(vec![
                ("name", Any),
                ("mountPath", Any),
                ("readOnly", Any),
            ])),
        ),
        (
            "resources",
            Map(vec![("limits", Map(vec![("cpu", Any), ("memory", Any)]))]),
        ),
        (
            "securityContext",
            Map(vec![
                ("runAsUser", Any),
                ("runAsGroup", Any),
                ("readOnlyRootFilesystem", Any),
                ("privileged", Any),
                ("capabilities", Map(vec![("add", Any), ("drop", Any)])),
            ]),
        ),
        ("startupProbe", probe()),
        ("livenessProbe", probe()),
        ("readinessProbe", probe()),
        ("imagePullPolicy", Any),
        ("tty", Any),
        ("stdin", Any),
    ])
}

fn items() -> Shape {
    list(Map(vec![("key", Any), ("path", Any), ("mode", Any)]))
}

fn pod_spec() -> Shape {
    Map(vec![
        ("containers", list(container())),
        ("initContainers", list(container())),
        ("restartPolicy", Any),
        (
            "securityContext",
            Map(vec![("runAsUser", Any), ("runAsGroup", Any)]),
        ),
        ("terminationGracePeriodSeconds", Any),
        (
            "volumes",
            list(Map(vec![
                ("name", Any),
                ("emptyDir", Map(vec![("medium", Any)])),
                ("hostPath", Map(vec![("path", Any)])),
                (
                    "configMap",
                    Map(vec![("name", Any), ("items", items()), ("optional", Any)]),
                ),
                (
                    "secret",
                    Map(vec![
                        ("secretName", Any),
                        ("items", items()),
                        ("optional", Any),
                    ]),
                ),
                (
                    "persistentVolumeClaim",
                    Map(vec![("claimName", Any), ("readOnly", Any)]),
                ),
            ])),
        ),
    ])
}

fn template() -> Shape {
    Map(vec![("metadata", metadata()), ("spec", pod_spec())])
}

fn selector() -> Shape {
    Map(vec![("matchLabels", Any)])
}

/// A claim's size, access modes and class mean nothing for a named volume on one machine:
/// accepted as they are (the volume grows as its filesystem lets it).
fn pvc_spec() -> Shape {
    Map(vec![
        ("accessModes", Any),
        ("resources", Any),
        ("storageClassName", Any),
    ])
}

fn top(kind: &str) -> Shape {
    let spec = match kind {
        "Pod" => pod_spec(),
        "Deployment" => Map(vec![
            ("replicas", Any),
            ("selector", selector()),
            ("template", template()),
        ]),
        "StatefulSet" => Map(vec![
            ("replicas", Any),
            ("selector", selector()),
            ("template", template()),
            (
                "volumeClaimTemplates",
                list(Map(vec![("metadata", metadata()), ("spec", pvc_spec())])),
            ),
        ]),
        "DaemonSet" => Map(vec![("selector", selector()), ("template", template())]),
        "Job" => Map(vec![
            ("backoffLimit", Any),
            ("completions", Any),
            ("activeDeadlineSeconds", Any),
            ("template", template()),
        ]),
        "Service" => Map(vec![
            ("selector", Any),
            ("type", Any),
            (
                "ports",
                list(Map(vec![
                    ("name", Any),
                    ("port", Any),
                    ("targetPort", Any),
                    ("nodePort", Any),
                    ("protocol", Any),
                ])),
            ),
        ]),
        "PersistentVolumeClaim" => pvc_spec(),
        "CronJob" => Map(vec![
            ("schedule", Any),
            ("concurrencyPolicy", Any),
            ("suspend", Any),
            ("successfulJobsHistoryLimit", Any),
            ("failedJobsHistoryLimit", Any),
            // Warned about by crate::cron::warnings, with why.
            ("timeZone", Any),
            ("startingDeadlineSeconds", Any),
            // A Job's metadata and spec (apiVersion/kind would be refused by a cluster).
            ("jobTemplate", top("Job")),
        ]),
        _ => Any,
    };
    let mut keys = vec![
        ("apiVersion", Any),
        ("kind", Any),
        ("metadata", metadata()),
        ("spec", spec),
    ];
    if matches!(kind, "ConfigMap" | "Secret") {
        keys.extend([
            ("data", Any),
            ("stringData", Any),
            ("binaryData", Any),
            ("type", Any),
        ]);
    }
    Map(keys)
}

/// The paths of every key in `doc` (an object of `kind`) that hoist does not carry out.
pub fn unsupported(kind: &str, doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(doc, &top(kind), "", &mut out);
    out
}

fn walk(v: &Value, shape: &Shape, path: &str, out: &mut Vec<String>) {
    match (shape, v) {
        (Any, _) => {}
        (Map(keys), Value::Object(m)) => {
            for (k, child) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match keys.iter().find(|(name, _)| name == k) {
                    Some((_, s)) => walk(child, s, &p, out),
                    None => out.push(p),
                }
            }
        }
        (List(inner), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, inner, &format!("{path}[{i}]"), out);
            }
        }
        // A wrong type is k8s-openapi's to refuse.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_unimplemented_keys_are_named() {
        let doc = serde_json::json!({
            "kind": "Pod",
            "metadata": {"name": "p", "labels": {"a": "b"}},
            "spec": {
                "nodeSelector": {"x": "y"},
                "containers": [{"name": "c", "image": "i", "lifecycle": {}, "ports": [{"containerPort": 80}]}]
            }
        });
        assert_eq!(
            unsupported("Pod", &doc),
            vec!["spec.containers[0].lifecycle", "spec.nodeSelector"]
        );
    }
}
