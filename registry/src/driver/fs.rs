//! The filesystem driver: each key is a file under the root. Writes go to a
//! temp file in `<root>/_tmp`, are fsynced and renamed into place (then the
//! directory is fsynced), so a crash leaves either the old or the new object.

use super::{Appender, ByteStream, Driver, DriverError, DriverResult, Meta, Stamp};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// Read buffer for streamed objects: big enough that a 512 MiB blob costs
/// few syscalls, small enough that many concurrent pulls stay cheap.
const READ_CHUNK: usize = 256 * 1024;

pub struct FsDriver {
    root: PathBuf,
}

impl FsDriver {
    /// A driver rooted at `root` (created when missing).
    pub fn new(root: impl Into<PathBuf>) -> DriverResult<Self> {
        let root = root.into();
        std::fs::create_dir_all(root.join("_tmp"))
            .map_err(|e| DriverError::io(&root.display().to_string(), e))?;
        Ok(FsDriver { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> PathBuf {
        // Keys come from storage::paths, which only builds validated
        // components; refuse anything else rather than trust it.
        debug_assert!(!key.split('/').any(|c| c == ".." || c == "."));
        self.root.join(key)
    }

    fn temp_path(&self) -> PathBuf {
        let name: String = hex::encode(rand::random::<[u8; 12]>());
        self.root.join("_tmp").join(name)
    }

    /// fsync the temp file, rename it over `dest`, fsync the directory.
    async fn commit(&self, tmp: &Path, file: tokio::fs::File, key: &str) -> DriverResult<()> {
        file.sync_all().await.map_err(|e| DriverError::io(key, e))?;
        drop(file);
        let dest = self.path(key);
        let parent = dest.parent().expect("key has a parent").to_path_buf();
        tokio::fs::create_dir_all(&parent)
            .await
            .map_err(|e| DriverError::io(key, e))?;
        tokio::fs::rename(tmp, &dest)
            .await
            .map_err(|e| DriverError::io(key, e))?;
        sync_dir(&parent).await.map_err(|e| DriverError::io(key, e))
    }
}

async fn sync_dir(dir: &Path) -> std::io::Result<()> {
    tokio::fs::File::open(dir).await?.sync_all().await
}

#[async_trait]
impl Driver for FsDriver {
    async fn put(&self, key: &str, data: Bytes) -> DriverResult<()> {
        let tmp = self.temp_path();
        let result = async {
            let mut file = tokio::fs::File::create(&tmp)
                .await
                .map_err(|e| DriverError::io(key, e))?;
            file.write_all(&data)
                .await
                .map_err(|e| DriverError::io(key, e))?;
            self.commit(&tmp, file, key).await
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    /// Written and synced aside, then hard-linked into place: link(2)
    /// fails with EEXIST when another writer (any process on this
    /// filesystem) was first, and never exposes a partial object.
    async fn put_if_absent(&self, key: &str, data: Bytes) -> DriverResult<bool> {
        let tmp = self.temp_path();
        let dest = self.path(key);
        let result = async {
            let mut file = tokio::fs::File::create(&tmp)
                .await
                .map_err(|e| DriverError::io(key, e))?;
            file.write_all(&data)
                .await
                .map_err(|e| DriverError::io(key, e))?;
            file.sync_all().await.map_err(|e| DriverError::io(key, e))?;
            let parent = dest.parent().expect("key has a parent").to_path_buf();
            tokio::fs::create_dir_all(&parent)
                .await
                .map_err(|e| DriverError::io(key, e))?;
            match tokio::fs::hard_link(&tmp, &dest).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
                Err(e) => return Err(DriverError::io(key, e)),
            }
            sync_dir(&parent)
                .await
                .map_err(|e| DriverError::io(key, e))?;
            Ok(true)
        }
        .await;
        let _ = tokio::fs::remove_file(&tmp).await;
        result
    }

    async fn put_stream(&self, key: &str, mut body: ByteStream) -> DriverResult<u64> {
        let tmp = self.temp_path();
        let result = async {
            let mut file = tokio::fs::File::create(&tmp)
                .await
                .map_err(|e| DriverError::io(key, e))?;
            let mut size = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| DriverError::Io {
                    path: key.to_string(),
                    source: e,
                })?;
                file.write_all(&chunk)
                    .await
                    .map_err(|e| DriverError::io(key, e))?;
                size += chunk.len() as u64;
            }
            file.flush().await.map_err(|e| DriverError::io(key, e))?;
            self.commit(&tmp, file, key).await?;
            Ok(size)
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    async fn get(&self, key: &str) -> DriverResult<Bytes> {
        tokio::fs::read(self.path(key))
            .await
            .map(Bytes::from)
            .map_err(|e| DriverError::io(key, e))
    }

    async fn get_range(&self, key: &str, range: Option<(u64, u64)>) -> DriverResult<ByteStream> {
        let mut file = tokio::fs::File::open(self.path(key))
            .await
            .map_err(|e| DriverError::io(key, e))?;
        let (start, end) = match range {
            Some(r) => r,
            None => {
                let len = file
                    .metadata()
                    .await
                    .map_err(|e| DriverError::io(key, e))?
                    .len();
                (0, len)
            }
        };
        if start > 0 {
            file.seek(SeekFrom::Start(start))
                .await
                .map_err(|e| DriverError::io(key, e))?;
        }
        let limited = file.take(end.saturating_sub(start));
        Ok(Box::pin(tokio_util::io::ReaderStream::with_capacity(
            limited, READ_CHUNK,
        )))
    }

    async fn stat(&self, key: &str) -> DriverResult<Option<Meta>> {
        match tokio::fs::metadata(self.path(key)).await {
            Ok(m) if m.is_file() => Ok(Some(Meta {
                size: m.len(),
                modified: m.modified().map_err(|e| DriverError::io(key, e))?,
            })),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(DriverError::io(key, e)),
        }
    }

    async fn list(&self, prefix: &str) -> DriverResult<Vec<String>> {
        let mut dir = match tokio::fs::read_dir(self.path(prefix)).await {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) if e.raw_os_error() == Some(libc_enotdir()) => return Ok(Vec::new()),
            Err(e) => return Err(DriverError::io(prefix, e)),
        };
        let mut names = Vec::new();
        while let Some(entry) = dir
            .next_entry()
            .await
            .map_err(|e| DriverError::io(prefix, e))?
        {
            if let Ok(name) = entry.file_name().into_string() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    async fn delete(&self, key: &str) -> DriverResult<()> {
        let path = self.path(key);
        let result = match tokio::fs::symlink_metadata(&path).await {
            Ok(m) if m.is_dir() => tokio::fs::remove_dir_all(&path).await,
            Ok(_) => tokio::fs::remove_file(&path).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(DriverError::io(key, e)),
        }
    }

    async fn rename(&self, from: &str, to: &str) -> DriverResult<()> {
        let dest = self.path(to);
        let parent = dest.parent().expect("key has a parent").to_path_buf();
        tokio::fs::create_dir_all(&parent)
            .await
            .map_err(|e| DriverError::io(to, e))?;
        tokio::fs::rename(self.path(from), &dest)
            .await
            .map_err(|e| DriverError::io(from, e))?;
        sync_dir(&parent).await.map_err(|e| DriverError::io(to, e))
    }

    async fn ready(&self) -> DriverResult<()> {
        self.put("_tmp/.ready", Bytes::from_static(b"ok")).await
    }

    fn can_append(&self) -> bool {
        true
    }

    async fn open_append(
        &self,
        data_key: &str,
        note_key: &str,
    ) -> DriverResult<Option<Box<dyn Appender>>> {
        super::fs_append::open(
            self.path(data_key),
            data_key,
            self.path(note_key),
            note_key,
            self.root.join("_tmp"),
        )
        .await
    }

    /// fsync of the data (the only one an upload costs), rename, fsync of
    /// the directory so the new name survives a power loss too.
    async fn persist(&self, from: &str, to: &str) -> DriverResult<()> {
        let src = self.path(from);
        tokio::task::spawn_blocking(move || std::fs::File::open(&src)?.sync_all())
            .await
            .map_err(|e| DriverError::io(from, std::io::Error::other(e)))?
            .map_err(|e| DriverError::io(from, e))?;
        self.rename(from, to).await
    }

    fn stamp(&self, key: &str) -> Option<Option<Stamp>> {
        use std::os::unix::fs::MetadataExt;
        // One stat of a path whose directories are in the dentry cache: a
        // microsecond or two, cheaper than handing it to a blocking thread.
        match std::fs::metadata(self.path(key)) {
            Ok(m) if m.is_file() => Some(Some(Stamp {
                inode: m.ino(),
                ctime_nanos: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
                size: m.len(),
            })),
            Ok(_) => Some(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(None),
            Err(_) => None,
        }
    }
}

/// ENOTDIR: listing a "prefix" that is really an object is an empty listing.
fn libc_enotdir() -> i32 {
    20
}
