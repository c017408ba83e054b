//! Re-compressing an existing tar (e.g. `hoist import rootfs.tar`): the tar is
//! checked entry by entry as it streams (refused if hostile) and its bytes are
//! kept exactly, so the diffID is the input tar's own sha256.

use super::compress::LayerSink;
use super::validate::scan;
use super::{LayerError, PackOptions, PackedLayer, ValidateOptions};
use std::io::{Read, Write};

/// Reads a (gzip / zstd / plain) tar, validates it like [`super::validate_tar`]
/// and writes it compressed per `opts.compression` to `out`, in one pass.
/// On error the output is incomplete and must be discarded.
pub fn pack_tar_stream_to<R: Read + Send, W: Write>(
    reader: R,
    opts: &PackOptions,
    limits: &ValidateOptions,
    out: W,
) -> Result<PackedLayer, LayerError> {
    let mut sink = LayerSink::new(opts.compression, out)?;
    scan(reader, limits, &mut sink)?;
    let (_, layer) = sink.finish()?;
    Ok(layer)
}
