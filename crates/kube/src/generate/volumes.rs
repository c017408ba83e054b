//! A container's mounts as pod volumes: a named volume is a PersistentVolumeClaim (and the
//! claim itself is generated), an anonymous volume an emptyDir (its data lives as long as
//! the container's, as a pod's emptyDir does), a bind mount a hostPath, a tmpfs an emptyDir
//! of medium Memory. Mounts of the same source in several containers of a pod share one
//! volume, as a hoist pod's volumes are shared.

use hoist_runtime::container::config::MountRequest;
use k8s_openapi::api::core::v1::{
    EmptyDirVolumeSource, HostPathVolumeSource, PersistentVolumeClaimVolumeSource, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::names::{dns_label, Unique};
use super::Warnings;

/// What a volume is, to find it again for the next container of the pod.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Claim(String),
    Host(String),
    /// A volume `kube play` made for one pod (an emptyDir of its YAML), by hoist name.
    PodScoped(String),
    /// Anonymous volumes and tmpfs mounts are each their own.
    Own(usize),
}

/// The pod's volumes so far, and the claims to generate.
#[derive(Default)]
pub struct PodVolumes {
    pub volumes: Vec<Volume>,
    /// Named volumes: (claim name, hoist volume name).
    pub claims: Vec<(String, String)>,
    sources: Vec<Source>,
    names: Unique,
    own: usize,
}

impl PodVolumes {
    /// The volume mounts of one container's `mounts`, adding volumes as needed.
    pub fn mounts(
        &mut self,
        mounts: &[MountRequest],
        scoped: &PodScoped,
        container: &str,
        warn: &mut Warnings,
    ) -> Vec<VolumeMount> {
        mounts
            .iter()
            .map(|m| self.mount(m, scoped, container, warn))
            .collect()
    }

    fn mount(
        &mut self,
        m: &MountRequest,
        scoped: &PodScoped,
        container: &str,
        warn: &mut Warnings,
    ) -> VolumeMount {
        let (name, target, readonly) = match m {
            MountRequest::Volume {
                name,
                target,
                readonly,
                anonymous: false,
            } if scoped.names.contains(name) => {
                let wanted = scoped.yaml_name(name);
                let medium = scoped.memory.contains(name).then(|| "Memory".to_string());
                let vol = self.volume(Source::PodScoped(name.clone()), &wanted, |n| Volume {
                    name: n,
                    empty_dir: Some(EmptyDirVolumeSource {
                        medium,
                        size_limit: None,
                    }),
                    ..Default::default()
                });
                (vol, target, *readonly)
            }
            MountRequest::Volume {
                name,
                target,
                readonly,
                anonymous: false,
            } => {
                let claim = dns_label(name, "volume");
                if &claim != name {
                    warn.push(format!(
                        "container {container}: volume {name:?} is claimed as {claim:?} (Kubernetes names are lower-case letters, digits and '-')"
                    ));
                }
                let vol = self.volume(Source::Claim(claim.clone()), &claim, |n| Volume {
                    name: n,
                    persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                        claim_name: claim.clone(),
                        read_only: None,
                    }),
                    ..Default::default()
                });
                if !self.claims.iter().any(|(c, _)| *c == claim) {
                    self.claims.push((claim, name.clone()));
                }
                (vol, target, *readonly)
            }
            MountRequest::Volume {
                target, readonly, ..
            } => {
                let src = self.own_source();
                let wanted = format!("anon{}", label_of_path(target));
                let vol = self.volume(src, &wanted, |n| Volume {
                    name: n,
                    empty_dir: Some(EmptyDirVolumeSource::default()),
                    ..Default::default()
                });
                (vol, target, *readonly)
            }
            MountRequest::Bind {
                source,
                target,
                readonly,
            } => {
                let path = source.to_string_lossy().into_owned();
                let wanted = format!("host{}", label_of_path(&path));
                let vol = self.volume(Source::Host(path.clone()), &wanted, |n| Volume {
                    name: n,
                    host_path: Some(HostPathVolumeSource { path, type_: None }),
                    ..Default::default()
                });
                (vol, target, *readonly)
            }
            MountRequest::Tmpfs { target, options } => {
                let src = self.own_source();
                let size = tmpfs_size(options);
                let ignored: Vec<&String> =
                    options.iter().filter(|o| !o.starts_with("size=")).collect();
                if !ignored.is_empty() {
                    warn.push(format!(
                        "container {container}: tmpfs {target}: options {ignored:?} have no emptyDir field; left out"
                    ));
                }
                let wanted = format!("tmpfs{}", label_of_path(target));
                let vol = self.volume(src, &wanted, |n| Volume {
                    name: n,
                    empty_dir: Some(EmptyDirVolumeSource {
                        medium: Some("Memory".into()),
                        size_limit: size.map(Quantity),
                    }),
                    ..Default::default()
                });
                (vol, target, false)
            }
        };
        VolumeMount {
            name,
            mount_path: target.clone(),
            read_only: readonly.then_some(true),
            ..Default::default()
        }
    }

    fn own_source(&mut self) -> Source {
        self.own += 1;
        Source::Own(self.own)
    }

    /// The name of the volume for `src`, made with `make` the first time.
    fn volume(&mut self, src: Source, wanted: &str, make: impl FnOnce(String) -> Volume) -> String {
        if let Some(i) = self.sources.iter().position(|s| *s == src) {
            return self.volumes[i].name.clone();
        }
        let name = self.names.take(&dns_label(wanted, "volume"));
        self.volumes.push(make(name.clone()));
        self.sources.push(src);
        name
    }
}

/// The named volumes `kube play` made for one pod (its YAML's emptyDirs, named
/// `<pod>-<volume>`), which are emptyDirs again rather than claims; `memory`: those on a
/// tmpfs (`medium: Memory`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodScoped {
    pub pod: String,
    pub names: Vec<String>,
    pub memory: Vec<String>,
}

impl PodScoped {
    fn yaml_name(&self, hoist_name: &str) -> String {
        hoist_name
            .strip_prefix(&format!("{}-", self.pod))
            .unwrap_or(hoist_name)
            .to_string()
    }
}

/// `/var/lib/data` → `-var-lib-data` (dns_label squeezes and cuts it later).
fn label_of_path(path: &str) -> String {
    format!("-{}", path.replace('/', "-"))
}

/// The tmpfs `size=` option as a quantity: `64m` → `64Mi`, bytes as they are.
fn tmpfs_size(options: &[String]) -> Option<String> {
    let v = options.iter().find_map(|o| o.strip_prefix("size="))?;
    let (digits, unit) = v.split_at(v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len()));
    let unit = match unit.to_ascii_lowercase().as_str() {
        "" => "",
        "k" => "Ki",
        "m" => "Mi",
        "g" => "Gi",
        _ => return None,
    };
    (!digits.is_empty()).then(|| format!("{digits}{unit}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn each_kind_of_mount() {
        let mut w = Warnings::default();
        let mut pv = PodVolumes::default();
        let mounts = vec![
            MountRequest::Volume {
                name: "Data_1".into(),
                target: "/data".into(),
                readonly: false,
                anonymous: false,
            },
            MountRequest::Bind {
                source: PathBuf::from("/srv/www"),
                target: "/www".into(),
                readonly: true,
            },
            MountRequest::Tmpfs {
                target: "/run/cache".into(),
                options: vec!["size=64m".into()],
            },
            MountRequest::Volume {
                name: "0123abcd".into(),
                target: "/scratch".into(),
                readonly: false,
                anonymous: true,
            },
        ];
        let vm = pv.mounts(&mounts, &PodScoped::default(), "web", &mut w);
        let names: Vec<&str> = vm.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            ["data-1", "host-srv-www", "tmpfs-run-cache", "anon-scratch"]
        );
        assert_eq!(vm[1].read_only, Some(true));
        assert_eq!(vm[0].read_only, None);
        assert_eq!(pv.claims, [("data-1".to_string(), "Data_1".to_string())]);
        let v = &pv.volumes;
        assert_eq!(
            v[0].persistent_volume_claim.as_ref().unwrap().claim_name,
            "data-1"
        );
        assert_eq!(v[1].host_path.as_ref().unwrap().path, "/srv/www");
        let tmp = v[2].empty_dir.as_ref().unwrap();
        assert_eq!(tmp.medium.as_deref(), Some("Memory"));
        assert_eq!(tmp.size_limit, Some(Quantity("64Mi".into())));
        assert!(v[3].empty_dir.as_ref().unwrap().medium.is_none());
        assert_eq!(w.0.len(), 1, "the renamed claim: {:?}", w.0);

        // A second container of the pod mounting the same named volume shares it.
        let again = pv.mounts(&mounts[..1], &PodScoped::default(), "sidecar", &mut w);
        assert_eq!(again[0].name, "data-1");
        assert_eq!(pv.volumes.len(), 4);
        assert_eq!(pv.claims.len(), 1);
    }
}
