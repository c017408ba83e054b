//! The config hash: SHA-256 of the service as `config` prints it (so every field hoist
//! knows counts), without what docker compose leaves out of its own hash because changing it
//! must not recreate a container (build, pull_policy, replicas, depends_on, profiles), plus
//! the image's ID in the store, so a rebuilt image recreates too.

use crate::model::Service;
use crate::render;
use crate::yaml::Value;
use sha2::{Digest, Sha256};

pub fn config_hash(svc: &Service, image_id: &str) -> String {
    let mut svc = svc.clone();
    svc.build = None;
    svc.pull_policy = None;
    svc.depends_on.clear();
    svc.profiles.clear();
    if let Some(d) = &mut svc.deploy {
        d.replicas = None;
    }
    let mut tree = render::service(&svc);
    if let Value::Map(entries) = &mut tree.value {
        // An empty deploy (only replicas was set) must hash as no deploy.
        entries.retain(|(k, v)| !(k == "deploy" && v.as_map().is_some_and(|m| m.is_empty())));
    }
    let mut h = Sha256::new();
    h.update(render::to_json(&tree).as_bytes());
    h.update([0]);
    h.update(image_id.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
