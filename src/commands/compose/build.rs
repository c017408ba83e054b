//! `hoist compose build [SERVICE...]`: the `build:` sections through hoist's builder, the
//! same code `up --build` runs; services without `build:` are skipped, as docker compose
//! does (naming one without it is an error).

use super::images::build_one;
use super::Session;
use anyhow::bail;
use hoist_compose::desired::image_name;

pub fn build(session: &Session, services: &[String]) -> anyhow::Result<i32> {
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
        build_one(session.lifecycle.root(), name, svc, &image)?;
        built += 1;
    }
    if built == 0 {
        eprintln!("no service of the project has a build: section");
    }
    Ok(0)
}
