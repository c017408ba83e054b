//! The one set of limits every consumer of a layer applies: `hoist import`
//! (validating while it re-compresses), `hoist pull` (validating while it
//! downloads) and unpacking a snapshot. Sharing them means a layer one of
//! them accepts is never refused later by another.
//!
//! Two of them are configurable from the environment, for every command at
//! once (`import`, `pull`, `run`, `build`):
//! - `HOIST_MAX_LAYER_SIZE` — largest uncompressed layer (the tar stream:
//!   headers, file contents, padding). Default 32 GiB. Stops decompression
//!   bombs: a few MiB of gzip can inflate to terabytes.
//! - `HOIST_MIN_FREE_SPACE` — free space unpacking must leave on the
//!   snapshot's filesystem: a size, or a percentage of the filesystem
//!   (`5%`), `0` turns the check off. Default 1 GiB or 5% of the
//!   filesystem, whichever is smaller.
//!
//! Sizes are bytes or a number with a binary unit, as docker's `--memory`:
//! `512M`, `8G`, `8GiB`, `1T`.

use super::LayerError;
use std::fmt;

/// Default largest uncompressed layer: 32 GiB (the largest layers of real
/// images, CUDA and ML toolkits, are a few GiB).
pub const DEFAULT_MAX_SIZE: u64 = 32 << 30;
/// Default largest number of entries in one layer.
pub const DEFAULT_MAX_ENTRIES: u64 = 1_000_000;
/// Longest path component, in bytes (Linux NAME_MAX).
pub const NAME_MAX: usize = 255;
/// Longest entry path or symlink target, in bytes (Linux PATH_MAX less the
/// terminating NUL): a longer name cannot be created or read back by path.
pub const PATH_MAX: usize = 4095;
/// Deepest path accepted; far beyond real images, and it bounds the number
/// of directory descriptors held while resolving a path.
pub const MAX_DEPTH: usize = 256;

/// The environment variable that sets [`LayerLimits::max_size`].
pub const ENV_MAX_LAYER_SIZE: &str = "HOIST_MAX_LAYER_SIZE";
/// The environment variable that sets [`LayerLimits::free_space_reserve`].
pub const ENV_MIN_FREE_SPACE: &str = "HOIST_MIN_FREE_SPACE";

/// Limits applied to one layer by validation and by unpacking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerLimits {
    /// Largest uncompressed tar stream, in bytes.
    pub max_size: u64,
    /// Largest number of entries.
    pub max_entries: u64,
    /// Free space an unpack leaves on its target's filesystem (unpack only:
    /// validation writes nothing).
    pub free_space_reserve: FreeSpaceReserve,
}

impl Default for LayerLimits {
    fn default() -> Self {
        LayerLimits {
            max_size: DEFAULT_MAX_SIZE,
            max_entries: DEFAULT_MAX_ENTRIES,
            free_space_reserve: FreeSpaceReserve::default(),
        }
    }
}

impl LayerLimits {
    /// The defaults with `HOIST_MAX_LAYER_SIZE` and `HOIST_MIN_FREE_SPACE`
    /// applied when set. A value that does not parse is an error (a typo
    /// must not silently mean "no limit").
    pub fn from_env() -> Result<LayerLimits, LayerError> {
        let mut limits = LayerLimits::default();
        if let Some(v) = env_value(ENV_MAX_LAYER_SIZE) {
            limits.max_size = match parse_size(&v) {
                Some(n) if n > 0 => n,
                _ => {
                    return Err(LayerError::Config(format!(
                        "{ENV_MAX_LAYER_SIZE}={v:?} is not a size (e.g. 8G, 512M, or a number of bytes)"
                    )))
                }
            };
        }
        if let Some(v) = env_value(ENV_MIN_FREE_SPACE) {
            limits.free_space_reserve = FreeSpaceReserve::parse(&v).ok_or_else(|| {
                LayerError::Config(format!(
                    "{ENV_MIN_FREE_SPACE}={v:?} is not a size or a percentage (e.g. 2G, 5%, or 0 for no reserve)"
                ))
            })?;
        }
        Ok(limits)
    }
}

fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// How much free space an unpack must leave on its filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreeSpaceReserve {
    /// This many bytes (0: no check).
    Bytes(u64),
    /// This percentage of the filesystem's size.
    Percent(u8),
    /// The smaller of the two (the default: 1 GiB or 5%).
    Smaller(u64, u8),
}

impl Default for FreeSpaceReserve {
    fn default() -> Self {
        FreeSpaceReserve::Smaller(1 << 30, 5)
    }
}

impl FreeSpaceReserve {
    /// `2G`, `1073741824`, `5%`, `0`.
    pub fn parse(s: &str) -> Option<FreeSpaceReserve> {
        let s = s.trim();
        match s.strip_suffix('%') {
            Some(p) => match p.trim().parse::<u8>() {
                Ok(n) if n <= 100 => Some(FreeSpaceReserve::Percent(n)),
                _ => None,
            },
            None => parse_size(s).map(FreeSpaceReserve::Bytes),
        }
    }

    /// The reserve in bytes on a filesystem of `fs_size` bytes.
    pub fn bytes(self, fs_size: u64) -> u64 {
        let percent = |p: u8| (fs_size as u128 * p as u128 / 100) as u64;
        match self {
            FreeSpaceReserve::Bytes(n) => n,
            FreeSpaceReserve::Percent(p) => percent(p),
            FreeSpaceReserve::Smaller(n, p) => n.min(percent(p)),
        }
    }
}

impl fmt::Display for FreeSpaceReserve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FreeSpaceReserve::Bytes(n) => f.write_str(&human_size(*n)),
            FreeSpaceReserve::Percent(p) => write!(f, "{p}% of the filesystem"),
            FreeSpaceReserve::Smaller(n, p) => write!(
                f,
                "{} or {p}% of the filesystem, whichever is smaller",
                human_size(*n)
            ),
        }
    }
}

/// Parses bytes or a number with a binary unit: `512`, `64k`, `512M`, `8G`,
/// `8GiB`, `1T` (case-insensitive; `B`, `iB` suffixes allowed).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(digits);
    let n: u64 = num.parse().ok()?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(&unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return None,
    };
    n.checked_mul(1u64 << shift)
}

/// `1.5 GiB`, `300 KiB`, `12 bytes`: sizes in messages.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if v.fract() == 0.0 {
        format!("{v:.0} {}", UNITS[unit])
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_docker_memory_flags() {
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("64k"), Some(64 << 10));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("8GiB"), Some(8 << 30));
        assert_eq!(parse_size("8gb"), Some(8 << 30));
        assert_eq!(parse_size("1T"), Some(1 << 40));
        for bad in ["", "G", "8X", "-1", "1.5G", "99999999999999999999T"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }

    #[test]
    fn reserves_parse_and_scale_with_the_filesystem() {
        assert_eq!(
            FreeSpaceReserve::parse("10%"),
            Some(FreeSpaceReserve::Percent(10))
        );
        assert_eq!(
            FreeSpaceReserve::parse("0"),
            Some(FreeSpaceReserve::Bytes(0))
        );
        assert_eq!(FreeSpaceReserve::parse("101%"), None);
        assert_eq!(FreeSpaceReserve::Percent(10).bytes(1000), 100);
        let default = FreeSpaceReserve::default();
        // 5% of a 4 GiB filesystem is less than 1 GiB; of 100 GiB it is more.
        assert_eq!(default.bytes(4 << 30), (4u64 << 30) / 20);
        assert_eq!(default.bytes(100 << 30), 1 << 30);
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(12), "12 bytes");
        assert_eq!(human_size(1 << 20), "1 MiB");
        assert_eq!(human_size(3 << 29), "1.5 GiB");
    }
}
