//! The reconciler's [`Driver`] for kube: the runtime driver, plus pods. Replica N of every
//! container of a workload goes into pod N, made (with the workload's published ports) by
//! whichever of its members is created first; the pod's named volumes (emptyDir, PVCs,
//! StatefulSet claims) are made before the member, labelled. When the last member of a pod
//! is removed, the pod and its emptyDir volumes go too.

use super::desired::KubeSpec;
use super::labels;
use hoist_reconcile::runtime::{DriverError, RuntimeDriver};
use hoist_reconcile::{Driver, LiveState, NetworkSpec, ServiceSpec, VolumeSpec};
use hoist_runtime::lifecycle::Lifecycle;
use hoist_runtime::RuntimeError;
use std::sync::Mutex;

pub struct KubeDriver<'a> {
    pub lifecycle: &'a Lifecycle,
    inner: RuntimeDriver<'a>,
    /// Members of one pod may be created at the same time (apply runs independent
    /// services concurrently): one makes the pod, the others find it.
    pods: Mutex<()>,
}

impl<'a> KubeDriver<'a> {
    pub fn new(lifecycle: &'a Lifecycle) -> KubeDriver<'a> {
        KubeDriver {
            lifecycle,
            inner: RuntimeDriver { lifecycle },
            pods: Mutex::new(()),
        }
    }

    fn ensure_pod(&self, spec: &KubeSpec, pod: &str) -> Result<String, DriverError> {
        let _guard = self.pods.lock().unwrap_or_else(|e| e.into_inner());
        match self.lifecycle.pod_find(pod) {
            Ok(p) => return Ok(p.id),
            Err(RuntimeError::NoSuchPod(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let p = self.lifecycle.pod_create(pod, &spec.publish, &[], &[])?;
        Ok(p.id)
    }

    fn ensure_volumes(&self, spec: &KubeSpec, pod: &str) -> Result<Vec<String>, DriverError> {
        let root = self.lifecycle.root();
        let mut ephemeral = Vec::new();
        let _guard = self.pods.lock().unwrap_or_else(|e| e.into_inner());
        for v in &spec.volumes {
            let name = v.name.replace("{pod}", pod);
            if v.ephemeral {
                ephemeral.push(name.clone());
            }
            if hoist_runtime::volumes::inspect(root, &name).is_ok() {
                continue;
            }
            let mut labels = v.labels.clone();
            labels.insert(labels::POD.into(), pod.into());
            let vol = hoist_runtime::volumes::create_labelled(
                root,
                &name,
                false,
                v.options.clone(),
                labels,
            )?;
            if v.ephemeral {
                // Kubernetes makes an emptyDir world-writable: containers of one pod may
                // run as different users.
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(
                    &vol.mountpoint,
                    std::fs::Permissions::from_mode(0o777),
                );
            }
        }
        Ok(ephemeral)
    }
}

impl Driver<KubeSpec> for KubeDriver<'_> {
    type Error = DriverError;

    fn create_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        self.inner.create_network(net)
    }

    fn remove_network(&self, name: &str) -> Result<(), DriverError> {
        self.inner.remove_network(name)
    }

    fn create_volume(&self, vol: &VolumeSpec) -> Result<(), DriverError> {
        self.inner.create_volume(vol)
    }

    fn remove_volume(&self, name: &str) -> Result<(), DriverError> {
        self.inner.remove_volume(name)
    }

    fn create(
        &self,
        svc: &ServiceSpec<KubeSpec>,
        number: u32,
        _name: &str,
    ) -> Result<String, DriverError> {
        let spec = &svc.spec;
        let pod = spec.pod.pod(number);
        let ephemeral = self.ensure_volumes(spec, &pod)?;
        let pod_id = self.ensure_pod(spec, &pod)?;
        let mut c = spec.container.clone();
        for v in &mut c.options.volumes {
            *v = v.replace("{pod}", &pod);
        }
        c.options.pod = Some(pod_id);
        c.options.labels.insert(labels::POD.into(), pod.clone());
        c.options
            .labels
            .insert(labels::POD_VOLUMES.into(), ephemeral.join(","));
        // podman's container names in a pod: `<pod>-<container>`.
        let name = format!("{pod}-{}", spec.member);
        let one = ServiceSpec {
            name: svc.name.clone(),
            replicas: svc.replicas,
            config_hash: svc.config_hash.clone(),
            depends_on: Vec::new(),
            container_name: None,
            stop_timeout: svc.stop_timeout,
            spec: c,
        };
        self.inner.create(&one, number, &name)
    }

    fn start(&self, id: &str) -> Result<(), DriverError> {
        self.inner.start(id)
    }

    fn stop(&self, id: &str, timeout: u64) -> Result<(), DriverError> {
        self.inner.stop(id, timeout)
    }

    fn remove(&self, id: &str) -> Result<(), DriverError> {
        let rec = self.lifecycle.find(id)?;
        self.inner.remove(id)?;
        let _guard = self.pods.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pod_id) = &rec.pod {
            let root = self.lifecycle.root();
            if hoist_runtime::pod::members(root, pod_id).is_empty() {
                if let Ok(p) = self.lifecycle.pod_find(pod_id) {
                    self.lifecycle.pod_remove(&p, true)?;
                }
                let vols = rec
                    .labels
                    .get(labels::POD_VOLUMES)
                    .cloned()
                    .unwrap_or_default();
                for v in vols.split(',').filter(|v| !v.is_empty()) {
                    let in_use = hoist_runtime::container::volumes_in_use(root)
                        .iter()
                        .any(|u| u == v);
                    if !in_use {
                        let _ = hoist_runtime::volumes::remove(root, v, false);
                    }
                }
            }
        }
        Ok(())
    }

    fn state(&self, id: &str) -> Result<LiveState, DriverError> {
        self.inner.state(id)
    }
}
