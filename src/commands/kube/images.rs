//! The images of the pod templates, made present before play as Kubernetes' imagePullPolicy
//! says: `Always` pulls, `Never` requires the image in the store, `IfNotPresent` (the
//! default) pulls only a missing one. Pulls run hoist's own `pull` verb as a child process,
//! so they behave and print as that command does (as `compose up` does it).

use hoist_kube::play::Manifest;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn present(root: &Path, image: &str) -> bool {
    hoist_store::Store::open(root).is_ok_and(|s| s.resolve(image).is_ok())
}

/// Image → the strictest policy any container asks for it (Always over IfNotPresent over
/// Never), with the workload and container of the first asking, for errors.
fn wanted(m: &Manifest) -> BTreeMap<String, (String, String)> {
    let rank = |p: &str| match p {
        "Always" => 2,
        "Never" => 0,
        _ => 1,
    };
    let mut out: BTreeMap<String, (String, String)> = BTreeMap::new();
    for w in &m.workloads {
        let all = w
            .spec
            .init_containers
            .iter()
            .flatten()
            .chain(&w.spec.containers);
        for c in all {
            let Some(image) = c.image.clone() else {
                continue;
            };
            let policy = c
                .image_pull_policy
                .clone()
                .unwrap_or_else(|| "IfNotPresent".into());
            let who = format!("{} {:?} container {:?}", w.kind.as_str(), w.name, c.name);
            match out.get(&image) {
                Some((p, _)) if rank(p) >= rank(&policy) => {}
                _ => {
                    out.insert(image, (policy, who));
                }
            }
        }
    }
    out
}

pub fn ensure(root: &Path, m: &Manifest) -> anyhow::Result<()> {
    for (image, (policy, who)) in wanted(m) {
        let here = present(root, &image);
        let pull = match policy.as_str() {
            "Never" if !here => anyhow::bail!(
                "{who}: image {image} is not in the store and its imagePullPolicy is Never; pull or load it first (hoist pull {image})"
            ),
            "Never" => false,
            "Always" => true,
            _ => !here,
        };
        if pull {
            eprintln!(" Image {image}  Pulling");
            let mut cmd = Command::new(std::env::current_exe()?);
            cmd.arg("--root").arg(root).arg("pull").arg(&image);
            cmd.stdout(std::process::Stdio::from(
                std::os::fd::AsFd::as_fd(&std::io::stderr()).try_clone_to_owned()?,
            ));
            let status = cmd.status()?;
            if !status.success() {
                anyhow::bail!("{who}: pulling {image} failed ({status})");
            }
        }
    }
    Ok(())
}

/// Image → its digest in the store, for every image the files name that is present.
pub fn digests(root: &Path, m: &Manifest) -> BTreeMap<String, String> {
    let Ok(store) = hoist_store::Store::open(root) else {
        return BTreeMap::new();
    };
    wanted(m)
        .into_keys()
        .filter_map(|image| {
            let found = store.resolve(&image).ok()?;
            Some((image, found.digest().to_string()))
        })
        .collect()
}
