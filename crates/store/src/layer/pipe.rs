//! Decompression on its own thread, feeding the tar parser on the caller's
//! thread through a bounded channel: unpacking overlaps inflate with file
//! writes the way `tar -xzf` overlaps `gzip -d` with `tar`. The reader side
//! also enforces the byte budgets that stop decompression bombs.

use super::compress::decoder;
use super::LayerError;
use std::cell::{Cell, RefCell};
use std::io::{self, Read};
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver, SyncSender};

const PIECE: usize = 256 * 1024;
/// How much of a stream after the tar's end blocks is read to check it.
const TAIL_LIMIT: u64 = 16 << 20;
/// Pieces buffered between the threads (4 MiB).
const DEPTH: usize = 16;

/// Shared between the reader (owned by the tar parser) and the caller.
#[derive(Default)]
pub(crate) struct StreamState {
    /// Bytes the parser may still read before the caller grants more: the
    /// current entry's data plus a bounded amount of headers.
    pub(crate) allowance: Cell<u64>,
    /// Bytes delivered so far.
    pub(crate) total: Cell<u64>,
    /// The first decode error or limit hit (the tar parser only sees an io::Error).
    pub(crate) error: RefCell<Option<LayerError>>,
}

impl StreamState {
    pub(crate) fn take_error(&self) -> Option<LayerError> {
        self.error.borrow_mut().take()
    }
}

/// The decompressed stream as a `Read`.
pub(crate) struct StreamReader {
    rx: Receiver<Result<Vec<u8>, LayerError>>,
    /// Read pieces go back to the decoding thread to be filled again.
    recycle: SyncSender<Vec<u8>>,
    piece: Vec<u8>,
    pos: usize,
    state: Rc<StreamState>,
}

impl Read for StreamReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.piece.len() {
            match self.rx.recv() {
                Ok(Ok(piece)) => {
                    let used = std::mem::replace(&mut self.piece, piece);
                    if used.capacity() == PIECE {
                        let _ = self.recycle.try_send(used);
                    }
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    let msg = e.to_string();
                    *self.state.error.borrow_mut() = Some(e);
                    return Err(io::Error::other(msg));
                }
                Err(_) => return Ok(0),
            }
        }
        let allowance = self.state.allowance.get();
        if allowance == 0 {
            let e = LayerError::Limit {
                entry: String::from("(tar headers)"),
                reason: "extended headers or padding larger than allowed".into(),
            };
            let msg = e.to_string();
            *self.state.error.borrow_mut() = Some(e);
            return Err(io::Error::other(msg));
        }
        let n = buf
            .len()
            .min(self.piece.len() - self.pos)
            .min(allowance.try_into().unwrap_or(usize::MAX));
        buf[..n].copy_from_slice(&self.piece[self.pos..self.pos + n]);
        self.pos += n;
        self.state.allowance.set(allowance - n as u64);
        self.state.total.set(self.state.total.get() + n as u64);
        Ok(n)
    }
}

/// Runs `f` on the decompressed form of `reader` (gzip / zstd / plain by
/// magic), decompressing on a second thread. After `f` succeeds the rest of
/// the stream is read too, so a corrupt or truncated compressed tail is an
/// error rather than silently ignored.
pub(crate) fn with_decoded<R, T>(
    reader: R,
    state: Rc<StreamState>,
    f: impl FnOnce(StreamReader) -> Result<(T, StreamReader), LayerError>,
) -> Result<T, LayerError>
where
    R: Read + Send,
{
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Result<Vec<u8>, LayerError>>(DEPTH);
        // Pieces come back for reuse: a fresh zeroed 256 KiB allocation per
        // piece cost a memset and page faults for every byte of the layer.
        let (recycle, recycled) = mpsc::sync_channel::<Vec<u8>>(DEPTH + 2);
        let decoding = scope.spawn(move || {
            let mut dec = match decoder(reader) {
                Ok((_, d)) => d,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            loop {
                let mut piece = match recycled.try_recv() {
                    Ok(mut used) => {
                        used.resize(PIECE, 0); // zeroes only a short piece's tail
                        used
                    }
                    Err(_) => vec![0u8; PIECE],
                };
                match read_some(&mut dec, &mut piece) {
                    Ok(0) => return,
                    Ok(n) => {
                        piece.truncate(n);
                        if tx.send(Ok(piece)).is_err() {
                            return; // the consumer stopped (error or done)
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(LayerError::Invalid(format!(
                            "corrupt compressed stream: {e}"
                        ))));
                        return;
                    }
                }
            }
        });
        let reader = StreamReader {
            rx,
            recycle,
            piece: Vec::new(),
            pos: 0,
            state: Rc::clone(&state),
        };
        // The reader (and with it the channel's receiving end) is gone when
        // this returns, so a decoder still sending stops.
        let result = (move || {
            let (value, mut rest) = f(reader)?;
            // Drain the tail (tar padding after the end blocks, the gzip trailer),
            // but only so far: a stream that goes on after its tar ended is not
            // worth decompressing further.
            rest.state.allowance.set(TAIL_LIMIT);
            let mut sink = vec![0u8; 64 * 1024];
            loop {
                match rest.read(&mut sink) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) => match state.take_error() {
                        Some(LayerError::Limit { .. }) => break,
                        Some(other) => return Err(other),
                        None => return Err(LayerError::Io(e)),
                    },
                }
            }
            Ok(value)
        })();
        // Join the thread itself: the scope alone waits only for its closure
        // to return, and the thread may still be running its thread-local
        // destructors after that. LeakSanitizer (fuzz/layer_validate and
        // layer_unpack) reported glibc's record of those destructors (32
        // bytes, __cxa_thread_atexit_impl) as leaked when it looked in that
        // moment; nothing leaked, but every call left an exiting thread behind.
        if let Err(panic) = decoding.join() {
            std::panic::resume_unwind(panic);
        }
        result
    })
}

/// Fills as much of `buf` as one or more reads give before EOF, so pieces are
/// large even when the decoder returns small reads.
fn read_some(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
