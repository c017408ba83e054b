//! stop, kill, rm, wait (through hoist_runtime::lifecycle), port,
//! healthcheck run.

use anyhow::anyhow;
use hoist_runtime::container::{self, state, Status};
use hoist_runtime::lifecycle::{parse_signal, RemoveOptions};
use std::path::Path;

use super::run::lifecycle;

pub fn stop(root: &Path, names: &[String], time: Option<u64>) -> anyhow::Result<i32> {
    let lc = lifecycle(root)?;
    for name in names {
        let rec = lc.find(name)?;
        lc.stop(&rec, super::run_flags::stop_options(time, &rec))?;
        println!("{name}");
    }
    Ok(0)
}

pub fn kill(root: &Path, names: &[String], signal: &str) -> anyhow::Result<i32> {
    let sig = parse_signal(signal)?;
    let lc = lifecycle(root)?;
    for name in names {
        let rec = lc.find(name)?;
        lc.kill(&rec, sig)?;
        println!("{name}");
    }
    Ok(0)
}

pub fn rm(root: &Path, names: &[String], force: bool, volumes: bool) -> anyhow::Result<i32> {
    let lc = lifecycle(root)?;
    let opts = RemoveOptions { force, volumes };
    let mut failed = false;
    for name in names {
        match lc.find(name).and_then(|rec| lc.remove(&rec, opts)) {
            Ok(()) => println!("{name}"),
            Err(e) => {
                eprintln!("Error: {e:#}");
                failed = true;
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}

pub fn wait(root: &Path, names: &[String]) -> anyhow::Result<i32> {
    let lc = lifecycle(root)?;
    for name in names {
        let rec = lc.find(name)?;
        println!("{}", lc.wait_exit(&rec, None)?);
    }
    Ok(0)
}

pub fn port(root: &Path, name: &str, port: Option<String>) -> anyhow::Result<i32> {
    let rec = container::find(root, name)?;
    let st = state::read_live(&container::container_dir(root, &rec.id));
    let ports = if st.status == Status::Running {
        st.ports
    } else {
        Vec::new()
    };
    // docker's `port C 80` means 80/tcp.
    let wanted = port
        .as_deref()
        .map(|p| {
            let (n, proto) = p.split_once('/').unwrap_or((p, "tcp"));
            match (n.parse::<u16>(), proto.to_ascii_lowercase().as_str()) {
                (Ok(n), "tcp" | "udp") => Ok(format!("{n}/{}", proto.to_ascii_lowercase())),
                _ => Err(anyhow!(
                    "{p:?} is not a container port (e.g. 80, 80/tcp or 53/udp)"
                )),
            }
        })
        .transpose()?;
    for m in ports {
        match &wanted {
            Some(w) if *w == m.key() => println!("{}:{}", m.host_ip, m.host_port),
            Some(_) => {}
            None => println!("{} -> {}:{}", m.key(), m.host_ip, m.host_port),
        }
    }
    Ok(0)
}

pub fn healthcheck(root: &Path, name: &str) -> anyhow::Result<i32> {
    let rec = container::find(root, name)?;
    let h = rec
        .healthcheck
        .clone()
        .ok_or_else(|| anyhow!("container {name} has no health check"))?;
    let r = hoist_runtime::monitor::run_check(root, &rec, &h);
    if r.exit_code == 0 {
        println!("healthy");
        Ok(0)
    } else {
        print!("{}", r.output);
        println!("unhealthy");
        Ok(1)
    }
}
