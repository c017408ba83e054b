//! `hoist version` and `hoist info` (`system info`): docker's field names, so
//! `--format '{{.Server.Version}}'` and `--format '{{.Containers}}'` work in scripts. hoist
//! has no daemon: the "server" is this same binary.

use crate::cli::system::{InfoArgs, VersionArgs};
use crate::cli::GlobalArgs;
use crate::render::template::Template;
use hoist_runtime::container::{self, Status};
use serde_json::{json, Value};

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn kernel() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Prints `v` through `--format` (a template, or `json`), else with `plain`.
fn show(v: &Value, format: Option<&str>, plain: impl FnOnce(&Value)) -> anyhow::Result<i32> {
    match format {
        Some(f) if f.trim() == "json" => println!("{}", serde_json::to_string(v)?),
        Some(f) => println!("{}", Template::parse_docker(f)?.render(v)?),
        None => plain(v),
    }
    Ok(0)
}

pub fn version(a: &VersionArgs) -> anyhow::Result<i32> {
    let side = json!({
        "Platform": {"Name": "hoist"},
        "Version": VERSION,
        "ApiVersion": "1.43",
        "Os": std::env::consts::OS,
        "Arch": arch(),
        "KernelVersion": kernel(),
        "Components": [{"Name": "hoist", "Version": VERSION}],
    });
    let v = json!({"Client": side, "Server": side});
    show(&v, a.format.as_deref(), |v| {
        println!("Client: hoist (daemonless: the server is this binary)");
        println!(" Version:           {VERSION}");
        println!(
            " API version:       {}",
            v["Client"]["ApiVersion"].as_str().unwrap_or("")
        );
        println!(" OS/Arch:           {}/{}", std::env::consts::OS, arch());
        println!(" Kernel:            {}", kernel());
    })
}

fn mem_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

pub fn info(a: &InfoArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let root = crate::commands::container::root_of(global);
    let containers = container::list(&root);
    let count = |s: &[Status]| {
        containers
            .iter()
            .filter(|(_, st)| s.contains(&st.status))
            .count()
    };
    let images = hoist_store::Store::open(&root)
        .and_then(|s| s.names())
        .map_or(0, |n| n.len());
    let cgroup_v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let rootless = crate::rootless::info_json();
    let v = json!({
        "ID": "",
        "Containers": containers.len(),
        "ContainersRunning": count(&[Status::Running, Status::Restarting]),
        "ContainersPaused": 0,
        "ContainersStopped": count(&[Status::Exited, Status::Created]),
        "Images": images,
        "Driver": "overlay",
        "DockerRootDir": root,
        "ServerVersion": VERSION,
        "Name": nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default(),
        "OSType": std::env::consts::OS,
        "Architecture": std::env::consts::ARCH,
        "KernelVersion": kernel(),
        "NCPU": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "MemTotal": mem_total(),
        "CgroupVersion": if cgroup_v2 { "2" } else { "1" },
        "CgroupDriver": "cgroupfs",
        "LoggingDriver": "json-file",
        "SecurityOptions": if rootless["Enabled"] == json!(true) { json!(["name=rootless"]) } else { json!([]) },
        "Rootless": rootless,
    });
    show(&v, a.format.as_deref(), |v| {
        println!("Server: hoist {VERSION} (daemonless)");
        println!(" Containers: {}", v["Containers"]);
        println!("  Running: {}", v["ContainersRunning"]);
        println!("  Paused: 0");
        println!("  Stopped: {}", v["ContainersStopped"]);
        println!(" Images: {}", v["Images"]);
        println!(" Storage Driver: overlay");
        println!(" Logging Driver: json-file");
        println!(
            " Cgroup Version: {}",
            v["CgroupVersion"].as_str().unwrap_or("")
        );
        println!(
            " Kernel Version: {}",
            v["KernelVersion"].as_str().unwrap_or("")
        );
        println!(" Architecture: {}", std::env::consts::ARCH);
        println!(" CPUs: {}", v["NCPU"]);
        println!(
            " Total Memory: {}",
            crate::commands::image::human_size(mem_total())
        );
        println!(" Name: {}", v["Name"].as_str().unwrap_or(""));
        println!(" Docker Root Dir: {}", root.display());
        crate::rootless::print_info(&v["Rootless"]);
    })
}
