//! `hoist compose build [--no-cache] [--build-arg K=V] [SERVICE...]`: the `build:` sections
//! through hoist's builder, the same code `up --build` runs; services without `build:` are skipped, as docker compose
//! does (naming one without it is an error).

use super::images::build_with;
use super::Session;
use anyhow::bail;
use hoist_compose::desired::image_name;

pub fn build(
    session: &Session,
    services: &[String],
    no_cache: bool,
    build_args: &[String],
) -> anyhow::Result<i32> {
    let mut extra: Vec<String> = Vec::new();
    if no_cache {
        extra.push("--no-cache".into());
    }
    for a in build_args {
        extra.extend(["--build-arg".to_string(), a.clone()]);
    }
    session.check_services(services)?;
    let project = session.project();
    let mut built = 0;
    for (name, svc) in &project.services {
        if !services.is_empty() && !services.contains(name) {
            continue;
        }
        if svc.build.is_none() {
            if services.contains(name) {
                bail!("service {name} has no build: section to build");
            }
            continue;
        }
        let image = image_name(&project.name, name, svc);
        build_with(session.lifecycle.root(), name, svc, &image, &extra)?;
        built += 1;
    }
    if built == 0 {
        eprintln!("no service of the project has a build: section");
    }
    Ok(0)
}
