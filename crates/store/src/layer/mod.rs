//! Layers: pack a directory (or an overlay upper dir) into a deterministic tar,
//! compressed with gzip (default), zstd or nothing, hashing the tar (diffID)
//! and the blob (digest) in the same pass; and unpack a layer safely, treating
//! every tar as hostile.
//!
//! - [`pack_dir_to`] walks a directory; [`pack_list_to`] packs entries listed
//!   in memory (same headers); [`pack_tar_stream_to`] re-compresses an
//!   existing tar (after checking it the way [`validate_tar`] does).
//! - [`unpack`] extracts gzip / zstd / plain tars, applying OCI whiteouts either
//!   in place ([`WhiteoutMode::Apply`]) or as overlayfs whiteouts
//!   ([`WhiteoutMode::Overlay`], for per-layer snapshot directories).

mod compress;
mod entries;
mod entry_path;
mod error;
mod free_space;
mod fsys;
mod limits;
mod pack;
mod pack_list;
mod pgzip;
mod pipe;
mod restream;
mod unpack;
mod validate;

pub use error::LayerError;
/// Also for the blob writer, which starts writeback the same way.
pub(crate) use fsys::start_writeback;
pub use limits::{
    human_size, parse_size, FreeSpaceReserve, LayerLimits, DEFAULT_MAX_ENTRIES, DEFAULT_MAX_SIZE,
    ENV_MAX_LAYER_SIZE, ENV_MIN_FREE_SPACE, MAX_DEPTH, NAME_MAX, PATH_MAX,
};
pub use pack::pack_dir_to;
pub use pack_list::{pack_list_to, ListedContent, ListedEntry};
pub use restream::pack_tar_stream_to;
pub use unpack::unpack;
pub use validate::{validate_blob_tar, validate_tar};

use std::str::FromStr;

/// OCI media type of an uncompressed layer.
pub const MEDIA_TYPE_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// OCI media type of a gzip-compressed layer.
pub const MEDIA_TYPE_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// OCI media type of a zstd-compressed layer.
pub const MEDIA_TYPE_TAR_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

/// How a packed layer is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    None,
    #[default]
    Gzip,
    Zstd,
}

impl Compression {
    /// The OCI layer media type for this compression.
    pub fn media_type(self) -> &'static str {
        match self {
            Compression::None => MEDIA_TYPE_TAR,
            Compression::Gzip => MEDIA_TYPE_TAR_GZIP,
            Compression::Zstd => MEDIA_TYPE_TAR_ZSTD,
        }
    }

    /// The compression a layer media type implies (OCI and Docker names), if known.
    pub fn from_media_type(media_type: &str) -> Option<Compression> {
        match media_type {
            MEDIA_TYPE_TAR | "application/vnd.docker.image.rootfs.diff.tar" => {
                Some(Compression::None)
            }
            MEDIA_TYPE_TAR_GZIP | "application/vnd.docker.image.rootfs.diff.tar.gzip" => {
                Some(Compression::Gzip)
            }
            MEDIA_TYPE_TAR_ZSTD => Some(Compression::Zstd),
            _ => None,
        }
    }
}

impl FromStr for Compression {
    type Err = LayerError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "gzip" | "gz" => Ok(Compression::Gzip),
            "zstd" | "zst" => Ok(Compression::Zstd),
            "none" | "uncompressed" | "tar" => Ok(Compression::None),
            _ => Err(LayerError::UnknownCompression(s.to_string())),
        }
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        })
    }
}

/// How to pack a layer.
#[derive(Debug, Clone, Default)]
pub struct PackOptions {
    pub compression: Compression,
    /// Clamp every mtime to at most this (seconds since the epoch). The caller
    /// reads `SOURCE_DATE_EPOCH`; the library never reads the environment.
    pub source_date_epoch: Option<i64>,
    /// The directory is an overlayfs upper dir: 0/0 char devices become
    /// `.wh.NAME` and opaque directories get `.wh..wh..opq`.
    pub overlay_whiteouts: bool,
}

/// The result of packing: what a manifest's layer descriptor and the config's
/// `rootfs.diff_ids` need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedLayer {
    /// `sha256:<hex>` of the blob as written (compressed).
    pub digest: String,
    /// `sha256:<hex>` of the uncompressed tar.
    pub diff_id: String,
    /// Size in bytes of the blob as written.
    pub size: u64,
    /// Size in bytes of the uncompressed tar.
    pub tar_size: u64,
    pub media_type: &'static str,
}

/// What to do with OCI whiteout entries while unpacking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhiteoutMode {
    /// Delete the named lower content already in the target (a flattened rootfs).
    #[default]
    Apply,
    /// Write overlayfs whiteouts (0/0 char devices, `trusted.overlay.opaque=y`)
    /// so the directory can be stacked as an overlay lower layer. Needs root.
    Overlay,
}

/// How to unpack a layer. Defaults: whiteouts applied, no device nodes, the
/// default [`LayerLimits`], owners kept when running as root.
#[derive(Debug, Clone)]
pub struct UnpackOptions {
    pub whiteouts: WhiteoutMode,
    /// Create char/block device nodes (only honoured when running as root).
    pub allow_devices: bool,
    /// Size, entry-count and free-space limits (shared with validation).
    pub limits: LayerLimits,
    /// Set owners from the tar (uid/gid). Defaults to true when running as root.
    pub same_owner: bool,
    /// Restore extended attributes where the filesystem allows.
    pub xattrs: bool,
    /// Start writing file data back to the disk while unpacking (without
    /// waiting for it), for callers that sync the result afterwards: the
    /// sync then finds most of the data already written.
    pub start_writeback: bool,
}

impl Default for UnpackOptions {
    fn default() -> Self {
        UnpackOptions {
            whiteouts: WhiteoutMode::Apply,
            allow_devices: false,
            limits: LayerLimits::default(),
            same_owner: fsys::is_root(),
            xattrs: true,
            start_writeback: false,
        }
    }
}

impl UnpackOptions {
    /// Options for materializing one layer as an overlay lower directory:
    /// whiteouts become overlayfs whiteouts, devices are allowed (as root).
    pub fn for_overlay() -> Self {
        UnpackOptions {
            whiteouts: WhiteoutMode::Overlay,
            allow_devices: true,
            ..Default::default()
        }
    }
}

/// What an unpack did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnpackStats {
    /// Entries processed (files, dirs, links, whiteouts, ...).
    pub entries: u64,
    /// Bytes of file content written.
    pub bytes: u64,
    /// Whiteouts applied or written.
    pub whiteouts: u64,
}

/// What [`validate_tar`] saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TarSummary {
    pub entries: u64,
    /// Total bytes of file content.
    pub content_bytes: u64,
    /// Size of the uncompressed tar stream.
    pub tar_size: u64,
    /// `sha256:<hex>` of the uncompressed tar stream.
    pub diff_id: String,
}

/// Limits and policy used by [`validate_tar`] and [`pack_tar_stream_to`]:
/// the same [`LayerLimits`] as unpacking (its free-space reserve unused).
#[derive(Debug, Clone, Default)]
pub struct ValidateOptions {
    pub allow_devices: bool,
    pub limits: LayerLimits,
}

pub(crate) fn sha256_string(hash: sha2::Sha256) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(hash.finalize()))
}
