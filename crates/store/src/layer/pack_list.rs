//! Packing a layer described in memory: the caller lists the entries (names,
//! owners, modes, times, and where each file's bytes are), the packer writes
//! them with the same headers `pack_dir_to` gives. The builder's COPY uses it
//! to write a layer straight from the build context, without first copying
//! thousands of files into a staging directory only to read them back.

use super::compress::LayerSink;
use super::pack::{Counted, Head, Packer};
use super::{LayerError, PackOptions, PackedLayer};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;

/// One entry of a layer listed by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedEntry {
    /// The path in the layer, relative, `/`-separated, no trailing `/`.
    pub name: Vec<u8>,
    /// Permission bits (`& 0o7777`).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Seconds since the epoch, clamped like `pack_dir_to`'s.
    pub mtime: i64,
    pub content: ListedContent,
}

/// What a listed entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListedContent {
    Dir,
    /// A regular file read from `path`, which must still be `size` bytes.
    File {
        path: PathBuf,
        size: u64,
    },
    /// A regular file with these bytes.
    Bytes(Vec<u8>),
    Symlink(Vec<u8>),
}

/// Packs `entries`, in the order given (list them depth-first with names
/// sorted as bytes to get `pack_dir_to`'s order), into a layer written to
/// `out`. On error the output is incomplete and must be discarded.
pub fn pack_list_to<W: Write>(
    entries: &[ListedEntry],
    opts: &PackOptions,
    out: W,
) -> Result<PackedLayer, LayerError> {
    let sink = LayerSink::new(opts.compression, out)?;
    let mut packer = Packer {
        tar: tar::Builder::new(sink),
        opts,
        links: HashMap::new(),
    };
    for e in entries {
        let path = PathBuf::from(String::from_utf8_lossy(&e.name).into_owned());
        let err = |err| LayerError::path_io(&path, err);
        let mut head = Head {
            kind: tar::EntryType::Regular,
            mode: e.mode & 0o7777,
            uid: e.uid,
            gid: e.gid,
            mtime: packer.clamp_mtime(e.mtime),
            size: 0,
            dev: None,
        };
        let mut name = e.name.clone();
        match &e.content {
            ListedContent::Dir => {
                head.kind = tar::EntryType::Directory;
                name.push(b'/');
                packer
                    .append(head, name, None, &[], &mut io::empty())
                    .map_err(err)?;
            }
            ListedContent::Symlink(target) => {
                head.kind = tar::EntryType::Symlink;
                packer
                    .append(head, name, Some(target), &[], &mut io::empty())
                    .map_err(err)?;
            }
            ListedContent::Bytes(bytes) => {
                head.size = bytes.len() as u64;
                packer
                    .append(head, name, None, &[], &mut bytes.as_slice())
                    .map_err(err)?;
            }
            ListedContent::File { path: source, size } => {
                head.size = *size;
                let file = File::open(source).map_err(|e| LayerError::path_io(source, e))?;
                let mut data = Counted {
                    inner: file.take(*size),
                    n: 0,
                };
                packer
                    .append(head, name, None, &[], &mut data)
                    .map_err(|e| LayerError::path_io(source, e))?;
                if data.n != *size {
                    return Err(LayerError::path_io(
                        source,
                        io::Error::other("file changed size while being packed"),
                    ));
                }
            }
        }
    }
    let sink = packer.tar.into_inner()?;
    let (_, layer) = sink.finish()?;
    Ok(layer)
}
