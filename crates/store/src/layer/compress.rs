//! The write side of a layer blob (tar bytes in -> diffID hash -> compressor ->
//! digest hash -> output, one pass) and the read side (compression detected by
//! magic bytes).

use super::pgzip::ParallelGz;
use super::{sha256_string, Compression, LayerError, PackedLayer};
use sha2::{Digest, Sha256};
use std::io::{self, BufReader, Read, Write};

/// zstd level 3 is zstd's own default: fast with a better ratio than gzip -6.
const ZSTD_LEVEL: i32 = 3;

/// Counts and hashes what passes through to `inner`.
pub(crate) struct HashWriter<W> {
    inner: W,
    hash: Sha256,
    count: u64,
}

impl<W: Write> HashWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        HashWriter {
            inner,
            hash: Sha256::new(),
            count: 0,
        }
    }
    pub(crate) fn finish(self) -> (W, String, u64) {
        (self.inner, sha256_string(self.hash), self.count)
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

enum Encoder<W: Write> {
    None(W),
    Gzip(ParallelGz<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

/// Accepts the uncompressed tar stream; hashes it (diffID), compresses it and
/// hashes the compressed bytes (digest) on their way to the output.
pub(crate) struct LayerSink<W: Write> {
    diff: Sha256,
    tar_size: u64,
    compression: Compression,
    enc: Encoder<HashWriter<W>>,
}

impl<W: Write> LayerSink<W> {
    pub(crate) fn new(compression: Compression, out: W) -> Result<Self, LayerError> {
        let out = HashWriter::new(out);
        let enc = match compression {
            Compression::None => Encoder::None(out),
            Compression::Gzip => Encoder::Gzip(ParallelGz::new(out)),
            Compression::Zstd => {
                let mut z = zstd::stream::write::Encoder::new(out, ZSTD_LEVEL)?;
                // zstd's output does not depend on the number of workers once it
                // is at least 1, so the digest stays deterministic across machines.
                z.multithread(worker_threads() as u32)?;
                Encoder::Zstd(z)
            }
        };
        Ok(LayerSink {
            diff: Sha256::new(),
            tar_size: 0,
            compression,
            enc,
        })
    }

    /// Flushes the compressor and returns the output with the layer's identity.
    pub(crate) fn finish(self) -> Result<(W, PackedLayer), LayerError> {
        let out = match self.enc {
            Encoder::None(w) => w,
            Encoder::Gzip(g) => g.finish()?,
            Encoder::Zstd(z) => z.finish()?,
        };
        let (mut w, digest, size) = out.finish();
        w.flush()?;
        let layer = PackedLayer {
            digest,
            diff_id: sha256_string(self.diff),
            size,
            tar_size: self.tar_size,
            media_type: self.compression.media_type(),
        };
        Ok((w, layer))
    }
}

impl<W: Write> Write for LayerSink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match &mut self.enc {
            Encoder::None(w) => w.write(buf)?,
            Encoder::Gzip(g) => g.write(buf)?,
            Encoder::Zstd(z) => z.write(buf)?,
        };
        self.diff.update(&buf[..n]);
        self.tar_size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Threads for compression: the machine's parallelism, capped (beyond 8 the
/// output writer and the tar walk become the bottleneck).
pub(crate) fn worker_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
}

/// Compression of a stream, recognised by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detected {
    Plain,
    Gzip,
    Zstd,
    /// Read only (ADD of a .tar.xz, as docker extracts): never written.
    Xz,
    /// Read only, like xz.
    Bzip2,
}

const READ_BUF: usize = 256 * 1024;

/// Wraps `reader` in the decoder its magic bytes call for.
pub(crate) fn decoder<'a, R: Read + Send + 'a>(
    reader: R,
) -> Result<(Detected, Box<dyn Read + Send + 'a>), LayerError> {
    let mut reader = reader;
    let head = read_head(&mut reader, MAGIC_LEN)?;
    let kind = detect(&head);
    let buf = BufReader::with_capacity(READ_BUF, io::Cursor::new(head).chain(reader));
    let reader: Box<dyn Read + Send + 'a> = match kind {
        Detected::Plain => Box::new(buf),
        // Multi-member: gzip allows concatenated members and docker reads them.
        Detected::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buf)),
        Detected::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buf)?),
        // Concatenated streams, as `xz -d` and `bzip2 -d` accept them.
        Detected::Xz => Box::new(xz2::bufread::XzDecoder::new_multi_decoder(buf)),
        Detected::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(buf)),
    };
    Ok((kind, reader))
}

/// The longest magic number [`detect`] looks at.
const MAGIC_LEN: usize = 6;

/// The compression a stream's first bytes announce.
fn detect(head: &[u8]) -> Detected {
    if head.starts_with(&[0x1f, 0x8b]) {
        Detected::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Detected::Zstd
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Detected::Xz
    } else if head.starts_with(b"BZh") {
        Detected::Bzip2
    } else {
        Detected::Plain
    }
}

/// A stream whose first bytes were read to tell its compression, with
/// them put back.
pub(crate) type Sniffed<R> = io::Chain<io::Cursor<Vec<u8>>, R>;

/// The compression of `reader`, told by its first bytes, and the whole
/// stream again (those bytes put back in front), for a caller that must
/// know before it decodes.
pub(crate) fn sniff<R: Read>(mut reader: R) -> io::Result<(Detected, Sniffed<R>)> {
    let head = read_head(&mut reader, MAGIC_LEN)?;
    Ok((detect(&head), io::Cursor::new(head).chain(reader)))
}

/// Reads up to `n` bytes (fewer only at end of input), looping over short reads.
fn read_head<R: Read>(reader: &mut R, n: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n);
    reader.by_ref().take(n as u64).read_to_end(&mut head)?;
    Ok(head)
}
