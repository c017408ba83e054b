//! The `hoist` binary: parse the command line, set up logging, dispatch to one
//! function per verb, and turn any error into one readable line and an exit code.

mod cli;
mod commands;
mod render;
mod rootless;

use clap::Parser;
use cli::{Cli, Command};

fn main() {
    // First, while the process has one thread: an ordinary user's hoist
    // moves into its user namespace (src/rootless), then runs as root there.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if !rootless::needs_no_namespace(&args) {
        if let Err(err) = rootless::enter() {
            eprintln!("Error: {err:#}");
            std::process::exit(125);
        }
    }
    if args.get(1).is_some_and(|a| a == "unshare") {
        let Err(err) = rootless::unshare_verb(&args);
        eprintln!("Error: {err:#}");
        std::process::exit(125);
    }
    let cli = Cli::try_parse().unwrap_or_else(|err| exit_on_usage_error(err));
    init_tracing(&cli.global);
    let result = dispatch(cli);
    match result {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            let code = commands::exit_code_of(&err);
            eprintln!("Error: {}", render::error_line(&err));
            std::process::exit(code);
        }
    }
}

/// Help and version go to stdout with status 0; a usage error (unknown flag,
/// bad value, missing argument) exits 125 as docker and podman do, so scripts
/// can tell "hoist refused the command" from the container's own exit status.
fn exit_on_usage_error(err: clap::Error) -> ! {
    use clap::error::ErrorKind;
    let code = match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
        _ => 125,
    };
    let args: Vec<String> = std::env::args().collect();
    if let Some((text, code)) = render::usage::docker_style(&err, &args) {
        eprint!("{text}");
        std::process::exit(code);
    }
    let _ = err.print();
    std::process::exit(code)
}

fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    let global = cli.global;
    match cli.command {
        Command::Image(cmd) => commands::image::run(cmd, &global),
        Command::Registry(cmd) => commands::registry::run(cmd, &global),
        Command::Transfer(cmd) => commands::transfer::run(cmd, &global),
        Command::Container(cmd) => commands::container::run(cmd, &global),
        Command::Build(cmd) => commands::build::run(cmd, &global),
        Command::Dns(cmd) => commands::dns::run(cmd, &global),
        Command::Network(cmd) => commands::network::run(cmd, &global),
        Command::Compose(cmd) => commands::compose::run(cmd, &global),
        Command::Kube(cmd) => commands::kube::run(cmd, &global),
        Command::Group(cmd) => commands::groups::run(cmd, &global),
    }
}

fn init_tracing(global: &cli::GlobalArgs) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("HOIST_LOG")
        .unwrap_or_else(|_| EnvFilter::new(global.log_level.as_str()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    if global.log_format.as_deref() == Some("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
