//! `hoist compose pull` and `push`: the services' images through hoist's own `pull`/`push`
//! verbs (child processes, as `up` pulls and builds), with docker compose v2's choices:
//! - pull: every service with `image:`; a service with only `build:` is skipped (nothing to
//!   pull), so is one with `pull_policy: never|build`, or `missing|if_not_present` when the
//!   image is here; one with both may fail to pull (it can be built): a warning, not an error;
//! - push: services with both `build:` and `image:` (the images the project makes); others
//!   are skipped, and a service named on the command line without `image:` is an error.

use super::images::{hoist, present, run};
use super::Session;
use crate::cli::transfer::TlsArgs;
use anyhow::bail;
use std::process::Command;

fn selected(session: &Session, services: &[String]) -> anyhow::Result<Vec<String>> {
    session.check_services(services)?;
    Ok(if services.is_empty() {
        session.project().services.keys().cloned().collect()
    } else {
        services.to_vec()
    })
}

fn with_tls(mut cmd: Command, tls: &TlsArgs) -> Command {
    cmd.arg(format!("--tls-verify={}", tls.tls_verify));
    if let Some(d) = &tls.cert_dir {
        cmd.arg("--cert-dir").arg(d);
    }
    cmd
}

pub fn pull(
    session: &Session,
    services: &[String],
    tls: &TlsArgs,
    ignore_failures: bool,
) -> anyhow::Result<i32> {
    let root = session.lifecycle.root();
    for name in selected(session, services)? {
        let svc = &session.project().services[&name];
        let Some(image) = &svc.image else {
            eprintln!(" {name}  Skipped - No image to be pulled");
            continue;
        };
        match svc.pull_policy.as_deref() {
            Some("never" | "build") => {
                eprintln!(" {name}  Skipped");
                continue;
            }
            Some("missing" | "if_not_present") if present(root, image) => {
                eprintln!(" {name}  Skipped - Image is already present locally");
                continue;
            }
            _ => {}
        }
        eprintln!(" {name}  Pulling");
        let mut cmd = hoist(root)?;
        cmd.arg("pull").arg("--progress").arg("plain");
        if let Some(platform) = &svc.platform {
            cmd.arg("--platform").arg(platform);
        }
        let mut cmd = with_tls(cmd, tls);
        cmd.arg(image);
        match run(cmd, &format!("pulling {image} for service {name}")) {
            Ok(()) => eprintln!(" {name}  Pulled"),
            Err(e) if svc.build.is_some() => {
                eprintln!("warning: {e:#}; service {name} can be built (hoist compose build)")
            }
            Err(e) if ignore_failures => eprintln!("warning: {e:#}"),
            Err(e) => return Err(e),
        }
    }
    Ok(0)
}

pub fn push(
    session: &Session,
    services: &[String],
    tls: &TlsArgs,
    ignore_failures: bool,
) -> anyhow::Result<i32> {
    let root = session.lifecycle.root();
    for name in selected(session, services)? {
        let svc = &session.project().services[&name];
        let image = match (&svc.image, &svc.build) {
            (Some(image), Some(_)) => image,
            (None, _) if services.contains(&name) => bail!(
                "service {name} has no image: to push to (name the image with image: next to build:)"
            ),
            _ => {
                eprintln!(" {name}  Skipped");
                continue;
            }
        };
        eprintln!(" {name}  Pushing");
        let mut cmd = hoist(root)?;
        cmd.arg("push").arg("--progress").arg("plain");
        let mut cmd = with_tls(cmd, tls);
        cmd.arg(image);
        match run(cmd, &format!("pushing {image} for service {name}")) {
            Ok(()) => eprintln!(" {name}  Pushed"),
            Err(e) if ignore_failures => eprintln!("warning: {e:#}"),
            Err(e) => return Err(e),
        }
    }
    Ok(0)
}
