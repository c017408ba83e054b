//! login, logout, push, pull: arguments to `hoist_client` calls, progress
//! drawn by `render::progress`, the digest as the last line of stdout.

use crate::cli::transfer::{LoginArgs, PullArgs, PushArgs, TlsArgs, TransferCommand};
use crate::cli::GlobalArgs;
use crate::render::progress::Progress;
use anyhow::{bail, Context};
use hoist_client::local::Local;
use hoist_client::manifest::Platform;
use hoist_client::{ClientOptions, Credential, CredentialFiles, Registry};
use hoist_oci::Reference;
use std::io::{BufRead, IsTerminal, Write};

pub fn run(cmd: TransferCommand, global: &GlobalArgs) -> anyhow::Result<i32> {
    let rt = async_runtime()?;
    match cmd {
        TransferCommand::Login(args) => rt.block_on(login(args)),
        TransferCommand::Logout { registry } => logout(&registry),
        TransferCommand::Push(args) => rt.block_on(push(args, global)),
        TransferCommand::Pull(args) => rt.block_on(pull(args, global)),
    }
}

/// The runtime every registry call runs on (two workers: transfers are I/O bound).
pub(crate) fn async_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("start the async runtime")
}

pub(crate) fn options(tls: &TlsArgs) -> ClientOptions {
    ClientOptions {
        tls_verify: tls.tls_verify,
        cert_dir: tls.cert_dir.clone(),
        ..ClientOptions::default()
    }
}

pub(crate) fn open_local(global: &GlobalArgs) -> anyhow::Result<Local> {
    let root = global
        .root
        .clone()
        .unwrap_or_else(hoist_store::Store::default_root);
    Ok(Local::open(&root)?)
}

/// `https://reg:5000/v2/` -> `reg:5000`; docker.io's aliases -> `docker.io`.
fn registry_host(input: &str) -> anyhow::Result<String> {
    let s = input
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = s.split('/').next().unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) {
        bail!("{input:?} is not a registry host (expected e.g. registry.example.com:5000)");
    }
    Ok(match host {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".to_string(),
        h => h.to_string(),
    })
}

async fn login(args: LoginArgs) -> anyhow::Result<i32> {
    let host = registry_host(&args.registry)?;
    let interactive = std::io::stdin().is_terminal();
    let username = match args.username {
        Some(u) => u,
        None if interactive && !args.password_stdin => prompt("Username: ")?,
        None => bail!("no user name: pass -u USER"),
    };
    let password = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("read the password from stdin")?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else if let Some(p) = args.password {
        eprintln!("WARNING: a password on the command line is visible to other users; prefer --password-stdin");
        p
    } else if interactive {
        read_password("Password: ")?
    } else {
        bail!("no password: pass --password-stdin (or -p PASSWORD)");
    };
    if username.is_empty() || password.is_empty() {
        bail!("user name and password must not be empty");
    }
    let cred = Credential { username, password };
    let opts = options(&args.tls);
    let reg = Registry::connect(&host, &opts, Some(cred.clone())).await?;
    reg.verify_credentials().await?;
    opts.credentials.store(&host, &cred)?;
    println!("Login Succeeded");
    Ok(0)
}

fn logout(registry: &str) -> anyhow::Result<i32> {
    let host = registry_host(registry)?;
    let files = CredentialFiles::from_env();
    if files.remove(&host)? {
        println!("Removed login credentials for {host}");
    } else {
        println!("Not logged in to {host}");
    }
    Ok(0)
}

async fn push(args: PushArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let local = open_local(global)?;
    let dest_text = match &args.dest {
        Some(d) => d.clone(),
        None => {
            // Push to where the local name says, as docker does.
            let image = local.resolve(&args.name)?;
            if image.name.is_empty() {
                bail!("{} has no name to push to; give a destination: hoist push {} REGISTRY/REPO:TAG", args.name, args.name);
            }
            image.name
        }
    };
    let dest =
        Reference::parse(&dest_text).with_context(|| format!("destination {dest_text:?}"))?;
    let progress = Progress::new(args.progress.progress, args.progress.quiet);
    let opts = ClientOptions {
        chunk_size: args.chunk_size,
        ..options(&args.tls)
    };
    let result = hoist_client::push::push(&local, &args.name, &dest, &opts, progress.sink()).await;
    progress.finish();
    let report = result?;
    if !args.progress.quiet {
        eprintln!(
            "Pushed {dest}: {} uploaded, {} already there, {} mounted",
            report.uploaded, report.existed, report.mounted
        );
        println!("Digest: {}", report.digest);
    } else {
        println!("{}", report.digest);
    }
    Ok(0)
}

async fn pull(args: PullArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let reference =
        Reference::parse(&args.name).with_context(|| format!("image reference {:?}", args.name))?;
    let platform = match &args.platform {
        Some(p) => Some(Platform::parse(p).with_context(|| {
            format!("platform {p:?} is not OS/ARCH[/VARIANT], e.g. linux/amd64")
        })?),
        None => None,
    };
    let local = open_local(global)?;
    let progress = Progress::new(args.progress.progress, args.progress.quiet);
    let result = hoist_client::pull::pull(
        &reference,
        &local,
        &options(&args.tls),
        platform.as_ref(),
        progress.sink(),
    )
    .await;
    progress.finish();
    let pulled = result?;
    if !args.progress.quiet {
        let shown = if pulled.name.is_empty() {
            reference.to_string()
        } else {
            pulled.name.clone()
        };
        eprintln!("Pulled {shown}");
        println!("Digest: {}", pulled.digest);
    } else {
        println!("{}", pulled.digest);
    }
    Ok(0)
}

fn prompt(label: &str) -> anyhow::Result<String> {
    eprint!("{label}");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("read from the terminal")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Reads a line from the terminal with echo off, restoring it afterwards
/// even when reading fails.
fn read_password(label: &str) -> anyhow::Result<String> {
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    let stdin = std::io::stdin();
    let saved = tcgetattr(&stdin).context("read terminal settings")?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    quiet.local_flags.insert(LocalFlags::ECHONL);
    tcsetattr(&stdin, SetArg::TCSANOW, &quiet).context("turn terminal echo off")?;
    let result = prompt(label);
    let _ = tcsetattr(&stdin, SetArg::TCSANOW, &saved);
    result
}
