//! One blob fetch in progress: upstream bytes land in an unlinked spool file
//! (nothing to clean up after a crash), and any number of client responses
//! follow it with positioned reads, each at its own pace, while the bytes are
//! also streamed into storage.
//!
//! A reader gets the blob's last byte only once the whole blob has matched
//! its digest, so no client ever receives a complete body that is wrong; a
//! failed fetch ends every reader's body with an error (the client sees a
//! cut transfer and retries).

use crate::driver::ByteStream;
use bytes::Bytes;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use tokio::sync::watch;

/// How much a reader sends per chunk at most.
const READ_CHUNK: u64 = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Waiting for upstream's answer.
    Starting,
    /// `written` of `size` bytes are in the spool file.
    Running { size: u64, written: u64 },
    /// All bytes are in and match the digest.
    Verified { size: u64 },
    /// The fetch failed; `not_found` when upstream does not have the blob.
    Failed { not_found: bool, message: String },
}

pub struct Flight {
    file: Arc<std::fs::File>,
    state: watch::Receiver<State>,
}

impl Flight {
    /// A flight over `file` (already unlinked) whose state `sender` updates.
    pub fn new(file: std::fs::File) -> (Arc<Flight>, watch::Sender<State>) {
        let (sender, state) = watch::channel(State::Starting);
        let flight = Arc::new(Flight {
            file: Arc::new(file),
            state,
        });
        (flight, sender)
    }

    /// Waits for upstream's first answer: Ok(size) once bytes are coming,
    /// or the failure.
    pub async fn started(&self) -> Result<u64, (bool, String)> {
        let mut rx = self.state.clone();
        loop {
            match &*rx.borrow_and_update() {
                State::Starting => {}
                State::Running { size, .. } | State::Verified { size } => return Ok(*size),
                State::Failed { not_found, message } => return Err((*not_found, message.clone())),
            }
            if rx.changed().await.is_err() {
                return Err((false, "the upstream fetch ended without an answer".into()));
            }
        }
    }

    /// The whole blob as a stream that follows the fetch.
    pub fn reader(&self) -> ByteStream {
        let reader = Reader {
            file: self.file.clone(),
            state: self.state.clone(),
            pos: 0,
            done: false,
        };
        Box::pin(futures::stream::unfold(reader, |mut r| async move {
            let item = r.next().await?;
            Some((item, r))
        }))
    }
}

struct Reader {
    file: Arc<std::fs::File>,
    state: watch::Receiver<State>,
    pos: u64,
    done: bool,
}

impl Reader {
    async fn next(&mut self) -> Option<std::io::Result<Bytes>> {
        if self.done {
            return None;
        }
        let mut sender_gone = false;
        loop {
            let state = self.state.borrow_and_update().clone();
            let (readable, size) = match state {
                State::Starting => (0, u64::MAX),
                // Hold the last byte back until the digest is checked.
                State::Running { size, written } => (written.min(size.saturating_sub(1)), size),
                State::Verified { size } => (size, size),
                State::Failed { message, .. } => return Some(Err(self.fail(message))),
            };
            if self.pos >= size {
                self.done = true;
                return None;
            }
            if self.pos < readable {
                let len = (readable - self.pos).min(READ_CHUNK);
                let (file, pos) = (self.file.clone(), self.pos);
                let read = tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0u8; len as usize];
                    file.read_exact_at(&mut buf, pos).map(|_| buf)
                })
                .await
                .map_err(std::io::Error::other)
                .and_then(|r| r);
                return Some(match read {
                    Ok(buf) => {
                        self.pos += len;
                        Ok(Bytes::from(buf))
                    }
                    Err(e) => Err(self.fail(format!("reading the proxy spool: {e}"))),
                });
            }
            if sender_gone {
                return Some(Err(self.fail("the upstream fetch stopped".into())));
            }
            if self.state.changed().await.is_err() {
                // The fetch task is gone; its last state is still readable.
                sender_gone = true;
            }
        }
    }

    fn fail(&mut self, message: String) -> std::io::Error {
        self.done = true;
        std::io::Error::other(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use std::io::Write;

    #[tokio::test]
    async fn readers_follow_and_get_the_last_byte_after_verification() {
        let mut file = tempfile::tempfile().unwrap();
        let (flight, tx) = Flight::new(file.try_clone().unwrap());
        let mut early = flight.reader();
        tx.send(State::Running {
            size: 6,
            written: 0,
        })
        .unwrap();
        assert_eq!(flight.started().await, Ok(6));
        file.write_all(b"abcdef").unwrap();
        tx.send(State::Running {
            size: 6,
            written: 6,
        })
        .unwrap();
        assert_eq!(&early.next().await.unwrap().unwrap()[..], b"abcde");
        let pending = tokio::time::timeout(std::time::Duration::from_millis(50), early.next());
        assert!(
            pending.await.is_err(),
            "the last byte came before verification"
        );
        tx.send(State::Verified { size: 6 }).unwrap();
        assert_eq!(&early.next().await.unwrap().unwrap()[..], b"f");
        assert!(early.next().await.is_none());
        // A late reader reads everything from the spool.
        let all: Vec<_> = flight.reader().collect().await;
        assert_eq!(all.len(), 1);
        assert_eq!(&all[0].as_ref().unwrap()[..], b"abcdef");
    }

    #[tokio::test]
    async fn a_failed_fetch_ends_readers_with_an_error() {
        let file = tempfile::tempfile().unwrap();
        let (flight, tx) = Flight::new(file);
        let mut r = flight.reader();
        tx.send(State::Failed {
            not_found: false,
            message: "cut".into(),
        })
        .unwrap();
        assert!(r.next().await.unwrap().is_err());
        assert!(r.next().await.is_none());
        assert_eq!(flight.started().await, Err((false, "cut".into())));
        drop(tx);
        let mut r = flight.reader();
        assert!(r.next().await.unwrap().is_err());
    }
}
