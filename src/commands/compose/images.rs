//! The services' images: which image each runs now (its digest goes into the config hash),
//! building (`build:`) or pulling the missing ones before `up`, and `down --rmi`. Builds and
//! pulls run hoist's own `build`/`pull` verbs as child processes, so they behave (and print
//! progress) exactly as those commands do.

use hoist_compose::desired::image_name;
use hoist_compose::model::Service;
use hoist_compose::Project;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Service → the digest of the image it runs, for those whose image is in the store.
pub fn image_ids(root: &Path, project: &Project) -> BTreeMap<String, String> {
    let Ok(store) = hoist_store::Store::open(root) else {
        return BTreeMap::new();
    };
    project
        .services
        .iter()
        .filter_map(|(name, svc)| {
            let image = image_name(&project.name, name, svc);
            let found = store.resolve(&image).ok()?;
            Some((name.clone(), found.digest().to_string()))
        })
        .collect()
}

pub(super) fn present(root: &Path, image: &str) -> bool {
    hoist_store::Store::open(root).is_ok_and(|s| s.resolve(image).is_ok())
}

pub(super) fn hoist(root: &Path) -> anyhow::Result<Command> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("--root").arg(root);
    // Progress and output of the child go to our stderr: stdout stays compose's.
    cmd.stdout(std::process::Stdio::from(
        std::io::stderr().as_fd().try_clone_to_owned()?,
    ));
    Ok(cmd)
}

use std::os::fd::AsFd;

pub(super) fn run(mut cmd: Command, what: &str) -> anyhow::Result<()> {
    let status = cmd.status()?;
    if !status.success() {
        anyhow::bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Builds (with `build`, or when the image is missing and the service has `build:`) and
/// pulls (missing, no `build:`) the images of `services`.
pub fn ensure(
    root: &Path,
    project: &Project,
    services: &[String],
    build: bool,
) -> anyhow::Result<()> {
    for name in services {
        let Some(svc) = project.services.get(name) else {
            continue;
        };
        let image = image_name(&project.name, name, svc);
        match &svc.build {
            Some(_) if build || !present(root, &image) => build_one(root, name, svc, &image)?,
            None if !present(root, &image) => {
                eprintln!(" Image {image}  Pulling");
                let mut cmd = hoist(root)?;
                cmd.arg("pull").arg(&image);
                run(cmd, &format!("pulling {image} for service {name}"))?;
            }
            _ => {}
        }
    }
    Ok(())
}

pub(super) fn build_one(root: &Path, name: &str, svc: &Service, image: &str) -> anyhow::Result<()> {
    build_with(root, name, svc, image, &[])
}

/// [`build_one`] with more `hoist build` flags (`compose build --no-cache`, `--build-arg`).
pub(super) fn build_with(
    root: &Path,
    name: &str,
    svc: &Service,
    image: &str,
    extra: &[String],
) -> anyhow::Result<()> {
    let b = svc.build.as_ref().expect("checked by the caller");
    eprintln!(" Image {image}  Building");
    let mut cmd = hoist(root)?;
    cmd.arg("build").arg("-t").arg(image);
    if let Some(f) = &b.dockerfile {
        cmd.arg("-f").arg(Path::new(&b.context).join(f));
    }
    for (k, v) in &b.args {
        cmd.arg("--build-arg").arg(match v {
            Some(v) => format!("{k}={v}"),
            None => k.clone(),
        });
    }
    if let Some(t) = &b.target {
        cmd.arg("--target").arg(t);
    }
    for (k, v) in &b.labels {
        cmd.arg("--label").arg(format!("{k}={v}"));
    }
    // Later flags win: --build-arg given to `compose build` overrides the file's.
    cmd.args(extra);
    cmd.arg(&b.context);
    run(cmd, &format!("building the image of service {name}"))?;
    eprintln!(" Image {image}  Built");
    Ok(())
}

/// `down --rmi local|all`: the images of the project's services (`local`: only those
/// without an `image:` name, i.e. built for the project).
pub fn remove(root: &Path, project: &Project, mode: &str) -> anyhow::Result<()> {
    for (name, svc) in &project.services {
        if mode == "local" && svc.image.is_some() {
            continue;
        }
        let image = image_name(&project.name, name, svc);
        if !present(root, &image) {
            continue;
        }
        let mut cmd = hoist(root)?;
        cmd.arg("rmi").arg(&image);
        run(cmd, &format!("removing image {image}"))?;
        eprintln!(" Image {image}  Removed");
    }
    Ok(())
}
