//! `hoist compose run SERVICE [CMD...]`: a one-off container of a service, as docker compose
//! makes it: the service's dependencies brought up first (unless `--no-deps`) and their
//! conditions waited for, then a new container `<project>-<service>-run-<random>` labelled
//! `com.docker.compose.oneoff=True` (container-number -1) on the project's networks (without
//! the service's aliases unless `--use-aliases`), its ports published only with
//! `--service-ports` (or `-p`'s instead), no restart policy. Attached, its exit code is ours.

use super::progress::{self, failed};
use super::{images, is_oneoff, Session};
use crate::cli::compose::RunArgs;
use crate::commands::container::run_error;
use anyhow::anyhow;
use hoist_compose::desired::{LABEL_NUMBER, LABEL_ONEOFF, LABEL_SERVICE};
use hoist_compose::units::split_command;
use hoist_reconcile::apply::wait_for;
use hoist_reconcile::order::with_dependencies;
use hoist_reconcile::{apply_up, plan_up, Condition, Dependency, UpOptions};
use hoist_runtime::container::config::{random_hex, RunOptions};
use hoist_runtime::lifecycle::{RunMode, RunOutcome};
use std::io::IsTerminal;

/// docker compose's slug label on one-off containers.
const LABEL_SLUG: &str = "com.docker.compose.slug";

pub fn run(session: &Session, a: &RunArgs) -> anyhow::Result<i32> {
    let service = std::slice::from_ref(&a.service);
    session.check_services(service)?;
    let project = session.project();
    let fields = hoist_compose::desired::unapplied(&project.services[&a.service]);
    if !fields.is_empty() {
        eprintln!(
            "warning: service {}: {} not applied by hoist yet",
            a.service,
            fields.join(", ")
        );
    }
    let wanted: Vec<String> = if a.no_deps {
        service.to_vec()
    } else {
        with_dependencies(&session.desired().services, service)
            .into_iter()
            .collect()
    };
    // --build rebuilds the service's own image only (docker compose v2's prepareBuildOptions).
    images::ensure(session.lifecycle.root(), project, &wanted, false)?;
    if a.build {
        images::ensure(session.lifecycle.root(), project, service, true)?;
    }

    let desired = session.desired();
    let waits = start_dependencies(session, &desired, a)?;
    let spec = &desired.service(&a.service).expect("checked above").spec;
    if !a.no_deps {
        wait_dependencies(session, &waits)?;
    }

    let slug = random_hex(12);
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{}-run-{slug}", project.name, a.service));
    let mut opts = one_off(session, a, spec.options.clone())?;
    opts.name = Some(name.clone());
    opts.stop_signal = spec.stop_signal.clone();
    opts.labels.insert(LABEL_ONEOFF.into(), "True".into());
    // docker compose v2 creates one-offs as number -1.
    opts.labels.insert(LABEL_NUMBER.into(), "-1".into());
    opts.labels.insert(LABEL_SLUG.into(), slug);
    debug_assert_eq!(opts.labels.get(LABEL_SERVICE), Some(&a.service));
    let mode = if a.detach {
        RunMode::Detached
    } else {
        RunMode::Attached {
            stdin: opts.interactive,
        }
    };
    match session
        .lifecycle
        .run(&spec.image, &opts, &spec.probes, mode)
        .map_err(run_error)?
    {
        RunOutcome::Detached(_) => {
            // docker compose v2 prints the container's name.
            println!("{name}");
            Ok(0)
        }
        RunOutcome::Exited(code) => Ok(code),
    }
}

/// Brings up the networks and volumes, and (unless `--no-deps`) the services `a.service`
/// depends on, as `up` would; returns the service's own dependency conditions.
fn start_dependencies(
    session: &Session,
    desired: &hoist_reconcile::Desired<hoist_reconcile::runtime::ContainerSpec>,
    a: &RunArgs,
) -> anyhow::Result<Vec<Dependency>> {
    let observed = session.observe(desired);
    let opts = UpOptions {
        services: vec![a.service.clone()],
        ..Default::default()
    };
    let mut plan = plan_up(desired, &observed, &opts)?;
    // The service's own containers are not touched: the one-off is made below.
    let waits = match plan.services.iter().position(|s| s.service == a.service) {
        Some(i) => plan.services.remove(i).wait_for,
        None => Vec::new(),
    };
    if a.no_deps {
        plan.services.clear();
    }
    plan.remove_orphans = false;
    let mut driver = session.driver();
    apply_up(desired, &plan, &mut driver, false, &mut progress::print).map_err(failed)?;
    Ok(waits)
}

/// The service's `depends_on` conditions (healthy, completed), on its dependencies'
/// containers.
fn wait_dependencies(session: &Session, waits: &[Dependency]) -> anyhow::Result<()> {
    // A `&mut`, which both a `&` and a `&mut` parameter of `wait_for` take.
    let driver = &mut session.driver();
    for dep in waits {
        let containers: Vec<(String, String)> = session
            .containers(std::slice::from_ref(&dep.service), false)
            .into_iter()
            .filter(|(r, _)| !is_oneoff(r))
            .map(|(r, _)| (r.name, r.id))
            .collect();
        wait_for(driver, &dep.service, dep.condition, &containers).map_err(|e| anyhow!("{e}"))?;
        // What `up` prints once a condition holds.
        let word = match dep.condition {
            Condition::Started => continue,
            Condition::Healthy => "Healthy",
            Condition::CompletedSuccessfully => "Exited",
        };
        for (name, _) in &containers {
            eprintln!(" Container {name}  {word}");
        }
    }
    Ok(())
}

/// The service's options changed as `run`'s flags say.
fn one_off(session: &Session, a: &RunArgs, mut o: RunOptions) -> anyhow::Result<RunOptions> {
    let svc = &session.project().services[&a.service];
    let tail: Vec<String> = svc
        .entrypoint
        .as_ref()
        .map(|ep| ep.iter().skip(1).cloned().collect())
        .unwrap_or_default();
    if let Some(ep) = &a.entrypoint {
        let words = split_command(ep).map_err(|e| anyhow!("--entrypoint {ep:?}: {e}"))?;
        let mut words = words.into_iter();
        // An empty one clears the image's entrypoint, as `run --entrypoint ""` does.
        o.entrypoint = Some(words.next().unwrap_or_default());
        // A new entrypoint drops the service's command unless one is given (compose's rule).
        o.cmd = words.chain(a.command.iter().cloned()).collect();
    } else if !a.command.is_empty() {
        o.cmd = tail.into_iter().chain(a.command.iter().cloned()).collect();
    }
    for e in &a.env {
        let key = e.split('=').next().unwrap_or_default();
        o.env
            .retain(|have| have.split('=').next().unwrap_or_default() != key);
        o.env.push(e.clone());
    }
    if a.user.is_some() {
        o.user = a.user.clone();
    }
    if a.workdir.is_some() {
        o.workdir = a.workdir.clone();
    }
    if !a.service_ports {
        o.publish.clear();
    }
    o.publish.extend(a.publish.iter().cloned());
    for v in &a.volume {
        o.volumes.push(volume(&session.project().working_dir, v));
    }
    for l in &a.label {
        let (k, v) = l
            .split_once('=')
            .ok_or_else(|| anyhow!("--label {l:?}: use KEY=VALUE"))?;
        o.labels.insert(k.to_string(), v.to_string());
    }
    if !a.use_aliases {
        for n in &mut o.networks {
            n.aliases.clear();
        }
    }
    // As v2's applyRunOptions: an added capability is no longer dropped, and the reverse.
    o.cap_drop.retain(|c| !a.cap_add.contains(c));
    o.cap_add.extend(a.cap_add.iter().cloned());
    o.cap_add.retain(|c| !a.cap_drop.contains(c));
    o.cap_drop.extend(a.cap_drop.iter().cloned());
    o.restart = None;
    o.auto_remove = a.rm;
    let terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    o.tty = !a.no_tty && terminal;
    o.interactive = !a.detach;
    Ok(o)
}

/// A `-v` spec with a relative source (`./data:/data`) made absolute from the project
/// directory, as compose resolves paths in the file.
fn volume(project_dir: &std::path::Path, spec: &str) -> String {
    match spec.split_once(':') {
        Some((src, rest)) if src.starts_with("./") || src.starts_with("../") || src == "." => {
            let path = match src.strip_prefix("./") {
                Some(inside) => project_dir.join(inside),
                None if src == "." => project_dir.to_path_buf(),
                None => project_dir.join(src),
            };
            format!("{}:{rest}", path.display())
        }
        _ => spec.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn relative_volume_sources_are_from_the_project_directory() {
        let dir = std::path::Path::new("/p");
        assert_eq!(super::volume(dir, "./d:/d:ro"), "/p/d:/d:ro");
        assert_eq!(super::volume(dir, ".:/src"), "/p:/src");
        assert_eq!(super::volume(dir, "../up:/u"), "/p/../up:/u");
        assert_eq!(super::volume(dir, "/abs:/a"), "/abs:/a");
        assert_eq!(super::volume(dir, "named:/n"), "named:/n");
    }
}
