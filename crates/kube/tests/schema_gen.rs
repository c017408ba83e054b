//! Writes testdata/kube/k8s-v1.36-schema.json: the Kubernetes OpenAPI schema (v1.36) of the
//! kinds `kube generate` writes, as k8s-openapi carries it (its `schemars` feature: the JSON
//! schema of every type, generated from the release's OpenAPI document), descriptions left
//! out. Run when k8s-openapi or the kinds change:
//! `cargo test -p hoist-kube --features schema-gen --test schema_gen`.
#![cfg(feature = "schema-gen")]

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Service};
use k8s_openapi::schemars::SchemaGenerator;
use serde_json::{json, Map, Value};

fn strip_descriptions(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("description");
            m.values_mut().for_each(strip_descriptions);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_descriptions),
        _ => {}
    }
}

#[test]
fn write_schema() {
    let mut gen = SchemaGenerator::default();
    let mut kinds = Map::new();
    let mut add = |kind: &str, schema: Value| {
        kinds.insert(kind.to_string(), schema);
    };
    add("Pod", gen.subschema_for::<Pod>().to_value());
    add("Deployment", gen.subschema_for::<Deployment>().to_value());
    add("Service", gen.subschema_for::<Service>().to_value());
    add(
        "PersistentVolumeClaim",
        gen.subschema_for::<PersistentVolumeClaim>().to_value(),
    );
    let defs = gen.take_definitions(true);
    let mut doc = json!({
        "source": "k8s-openapi 0.29 (feature v1_36: Kubernetes v1.36), its JsonSchema impls; descriptions removed",
        "kinds": kinds,
        "$defs": defs,
    });
    strip_descriptions(&mut doc);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/kube/k8s-v1.36-schema.json"
    );
    std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
    let mut text = serde_json::to_string_pretty(&doc).unwrap();
    text.push('\n');
    std::fs::write(path, text).unwrap();
}
