//! stop, kill, rm, wait, port, healthcheck run.

use anyhow::anyhow;
use hoist_runtime::container::{self, state, ContainerRecord, Status};
use hoist_runtime::monitor::control::{call, Request};
use hoist_runtime::monitor::parse_signal;
use std::path::Path;
use std::time::{Duration, Instant};

/// Waits (briefly) until the monitor process has gone, so that after `stop`
/// returns nothing of the container is left running.
fn wait_monitor_gone(st: &state::State) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while state::monitor_alive(st) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn stop_one(
    root: &Path,
    rec: &ContainerRecord,
    time: u64,
    signal: Option<i32>,
) -> anyhow::Result<()> {
    let dir = container::container_dir(root, &rec.id);
    // The restart policy must not undo this stop (restart.rs): the monitor
    // checks this flag before every restart.
    hoist_runtime::restart::request_stop(&dir);
    let deadline = Instant::now() + Duration::from_secs(time + 30);
    loop {
        let st = state::read_live(&dir);
        match st.status {
            // Its monitor died and left processes behind: nobody to ask.
            Status::Running if st.unsupervised => {
                let sig = signal.unwrap_or_else(|| hoist_runtime::monitor::stop_signal(rec));
                container::unsupervised::stop(root, rec, Duration::from_secs(time), sig);
                return Ok(());
            }
            Status::Running => {
                let req = Request::Stop {
                    timeout: time,
                    signal,
                };
                match call(&dir, &req, Some(Duration::from_secs(time + 30))) {
                    Ok(reply) => {
                        if let Some(e) = reply.error {
                            return Err(anyhow!("stopping {}: {e}", rec.name));
                        }
                        wait_monitor_gone(&st);
                        return Ok(());
                    }
                    // Between two runs of a restarting container the socket
                    // is briefly gone: try again.
                    Err(e) if Instant::now() >= deadline => {
                        return Err(anyhow!("stopping {}: {e}", rec.name));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            Status::Restarting => {
                wait_monitor_gone(&st);
                if Instant::now() >= deadline {
                    return Err(anyhow!("stopping {}: its monitor does not end", rec.name));
                }
            }
            _ => return Ok(()),
        }
    }
}

pub fn stop(root: &Path, names: &[String], time: u64) -> anyhow::Result<i32> {
    for name in names {
        let rec = container::find(root, name)?;
        stop_one(root, &rec, time, None)?;
        println!("{name}");
    }
    Ok(0)
}

pub fn kill(root: &Path, names: &[String], signal: &str) -> anyhow::Result<i32> {
    let sig = parse_signal(signal).ok_or_else(|| anyhow!("unknown signal {signal:?}"))?;
    for name in names {
        let rec = container::find(root, name)?;
        let dir = container::container_dir(root, &rec.id);
        let st = state::read_live(&dir);
        if st.status != Status::Running {
            return Err(anyhow!("container {name} is not running"));
        }
        if st.unsupervised {
            if !container::unsupervised::signal(&rec, sig) {
                return Err(anyhow!("container {name} is not running"));
            }
            println!("{name}");
            continue;
        }
        let reply = call(
            &dir,
            &Request::Kill { signal: sig },
            Some(Duration::from_secs(10)),
        )?;
        if let Some(e) = reply.error {
            return Err(anyhow!("killing {name}: {e}"));
        }
        println!("{name}");
    }
    Ok(0)
}

pub fn rm(root: &Path, names: &[String], force: bool, volumes: bool) -> anyhow::Result<i32> {
    let mut failed = false;
    for name in names {
        let result = (|| -> anyhow::Result<()> {
            let rec = container::find(root, name)?;
            let dir = container::container_dir(root, &rec.id);
            let status = state::read_live(&dir).status;
            if matches!(status, Status::Running | Status::Restarting) {
                if !force {
                    return Err(hoist_runtime::RuntimeError::Running(name.clone()).into());
                }
                stop_one(root, &rec, 0, Some(libc::SIGKILL))?;
            }
            container::remove(root, &rec, volumes)?;
            Ok(())
        })();
        match result {
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
    for name in names {
        let rec = container::find(root, name)?;
        let dir = container::container_dir(root, &rec.id);
        let st = state::read_live(&dir);
        let code = if st.unsupervised {
            // No monitor to ask: wait for the cgroup to empty.
            while state::read_live(&dir).unsupervised {
                std::thread::sleep(Duration::from_millis(50));
            }
            state::read_live(&dir).exit_code
        } else if st.status == Status::Running {
            match call(&dir, &Request::Wait, None) {
                Ok(r) => r.exit_code.unwrap_or(st.exit_code),
                Err(_) => state::read_live(&dir).exit_code,
            }
        } else {
            st.exit_code
        };
        println!("{code}");
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
