//! Registry verbs: login, logout, push, pull.
use clap::{ArgAction, Args, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum TransferCommand {
    /// Log in to a registry (checks the credentials, then saves them in ~/.docker/config.json)
    Login(LoginArgs),
    /// Forget the saved credentials for a registry
    Logout {
        /// Registry host, e.g. registry.example.com:5000
        registry: String,
    },
    /// Upload an image from the local store to a registry
    Push(PushArgs),
    /// Download an image from a registry into the local store
    Pull(PullArgs),
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// User name (asked for on a terminal when missing)
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password (visible to other users in the process list: prefer --password-stdin)
    #[arg(short, long, conflicts_with = "password_stdin")]
    pub password: Option<String>,
    /// Read the password from standard input
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Registry host, e.g. registry.example.com:5000
    pub registry: String,
}

#[derive(Args, Debug)]
pub struct PushArgs {
    /// Local image (name, digest or ID)
    pub name: String,
    /// Where to push it [default: NAME]
    pub dest: Option<String>,
    /// Largest upload request (PATCH) per blob, e.g. 16M; a dropped
    /// connection costs at most one chunk on registries that resume
    #[arg(long, value_name = "SIZE", default_value = "16M", value_parser = parse_size)]
    pub chunk_size: u64,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub progress: ProgressArgs,
}

#[derive(Args, Debug)]
pub struct PullArgs {
    /// Image reference, e.g. registry.example.com:5000/app:1.0
    pub name: String,
    /// Platform to pick from a multi-platform image, OS/ARCH[/VARIANT] [default: this host's]
    #[arg(long)]
    pub platform: Option<String>,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub progress: ProgressArgs,
}

#[derive(Args, Debug, Clone)]
pub struct TlsArgs {
    /// Verify TLS certificates; false allows self-signed certificates and plain HTTP
    #[arg(long, default_value = "true", num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub tls_verify: bool,
    /// Directory of CA certificates (*.crt, *.pem) to trust
    #[arg(long)]
    pub cert_dir: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct ProgressArgs {
    /// Progress display: auto (bars on a terminal, else lines), plain, quiet
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: ProgressMode,
    /// Print only the digest
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    Auto,
    Plain,
    Quiet,
}

/// `1048576`, `512K`, `16M`, `1G` -> bytes.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                _ => return Err(format!("{s:?}: unknown unit {c:?} (use K, M or G)")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size like 16M"))?;
    match n.checked_mul(mult) {
        Some(v) if v > 0 => Ok(v),
        _ => Err(format!("{s:?} is not a usable size")),
    }
}
