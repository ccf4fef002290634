//! The blob store behind attachments: a directory on this machine (`file://…`, the default)
//! or any S3-compatible bucket (`s3://bucket/prefix`, configured with the standard `AWS_*`
//! variables), through `object_store`. Writes and reads are streamed: memory never grows with
//! the size of a file. A write becomes visible only when it is finished, under its final key.
//!
//! This module is a client: it imports nothing of the application above it.

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::path::Path;
use object_store::{ObjectStore, WriteMultipart};
use std::sync::Arc;

/// A stored object's bytes, as a stream.
pub type BlobStream = BoxStream<'static, Result<Bytes, BlobError>>;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("storage URL: {0}")]
    Config(String),
    #[error("blob store: {0}")]
    Store(#[from] object_store::Error),
    #[error("blob store: {0}")]
    Io(String),
}

/// Where attachments' bytes live.
#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    /// Bytes buffered per part of a streamed write (S3 needs at least 5 MiB per part).
    chunk: usize,
    describe: String,
    /// The directory of a `file://` store: deleting a key also removes its folder, with any
    /// partial write a crash left there.
    local_root: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe)
    }
}

const S3_PART: usize = 5 * 1024 * 1024;
const LOCAL_PART: usize = 1024 * 1024;

impl Blobs {
    /// Opens `file:///absolute/dir`, `s3://bucket[/prefix]` or `memory:` (tests).
    pub fn open(url: &str) -> Result<Blobs, BlobError> {
        if let Some(dir) = url.strip_prefix("file://") {
            if !dir.starts_with('/') {
                return Err(BlobError::Config(format!(
                    "{url}: a file:// storage URL needs an absolute path"
                )));
            }
            std::fs::create_dir_all(dir)
                .map_err(|e| BlobError::Config(format!("creating {dir}: {e}")))?;
            let fs = object_store::local::LocalFileSystem::new_with_prefix(dir)?;
            return Ok(Blobs {
                store: Arc::new(fs),
                prefix: String::new(),
                chunk: LOCAL_PART,
                describe: format!("files in {dir}"),
                local_root: Some(dir.into()),
            });
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(BlobError::Config(format!("{url}: no bucket named")));
            }
            let mut b = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
            // A plain-HTTP endpoint (a local S3-compatible server) was named on purpose.
            let endpoint = b.get_config_value(&object_store::aws::AmazonS3ConfigKey::Endpoint);
            if endpoint.is_some_and(|e| e.starts_with("http://")) {
                b = b.with_allow_http(true);
            }
            return Ok(Blobs {
                store: Arc::new(b.build()?),
                prefix: prefix.trim_matches('/').to_owned(),
                chunk: S3_PART,
                describe: format!("S3 bucket {bucket}"),
                local_root: None,
            });
        }
        if url == "memory:" {
            return Ok(Blobs::memory());
        }
        Err(BlobError::Config(format!(
            "{url}: the storage URL must start with file://, s3:// or be memory:"
        )))
    }

    /// Keeps objects in this process (tests).
    pub fn memory() -> Blobs {
        Blobs {
            store: Arc::new(object_store::memory::InMemory::new()),
            prefix: String::new(),
            chunk: LOCAL_PART,
            describe: "in-memory files".to_owned(),
            local_root: None,
        }
    }

    fn path(&self, key: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(key)
        } else {
            Path::from(format!("{}/{key}", self.prefix))
        }
    }

    /// Reachable and usable: lists the prefix (fails on a missing bucket or bad credentials).
    pub async fn check(&self) -> Result<(), BlobError> {
        let prefix = (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()));
        let mut list = self.store.list(prefix.as_ref());
        if let Some(Err(e)) = list.next().await {
            return Err(e.into());
        }
        Ok(())
    }

    /// Starts a streamed write of `key`; nothing is visible under it until `finish`.
    pub async fn writer(&self, key: &str) -> Result<BlobWriter, BlobError> {
        let upload = self.store.put_multipart(&self.path(key)).await?;
        Ok(BlobWriter {
            inner: WriteMultipart::new_with_chunk_size(upload, self.chunk),
            local_file: self.local_root.as_ref().map(|r| r.join(key)),
        })
    }

    /// Writes a small object in one go.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        self.store.put(&self.path(key), bytes.into()).await?;
        if let Some(root) = &self.local_root {
            sync_file(&root.join(key)).await?;
        }
        Ok(())
    }

    /// The object's bytes; `None` when there is no such object.
    pub async fn read(&self, key: &str) -> Result<Option<BlobStream>, BlobError> {
        match self.store.get(&self.path(key)).await {
            Ok(r) => Ok(Some(
                r.into_stream().map(|c| c.map_err(BlobError::from)).boxed(),
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes an object (a missing one is not an error). Keys are `<folder>/<name>`; on a
    /// local store the folder goes too (a crash mid-write leaves its partial file there).
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let folder = key
            .split_once('/')
            .map(|(f, _)| f)
            .filter(|f| !f.is_empty() && !f.contains(".."));
        if let (Some(root), Some(folder)) = (&self.local_root, folder) {
            match tokio::fs::remove_dir_all(root.join(folder)).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(BlobError::Io(format!("removing {folder}: {e}")));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A write in progress. Dropping it without `finish` leaves nothing visible; `abort` also
/// frees what was sent so far.
pub struct BlobWriter {
    inner: WriteMultipart,
    /// On a local store, the file to flush to disk once complete.
    local_file: Option<std::path::PathBuf>,
}

/// Flushes a complete local file and its folder entry to disk: an upload acknowledged with a
/// 2xx survives a power cut, like every other acknowledged write.
async fn sync_file(path: &std::path::Path) -> Result<(), BlobError> {
    let io = |e: std::io::Error| BlobError::Io(format!("flushing {}: {e}", path.display()));
    tokio::fs::File::open(path)
        .await
        .map_err(io)?
        .sync_all()
        .await
        .map_err(io)?;
    if let Some(dir) = path.parent() {
        tokio::fs::File::open(dir)
            .await
            .map_err(io)?
            .sync_all()
            .await
            .map_err(io)?;
    }
    Ok(())
}

impl BlobWriter {
    /// Adds bytes; waits while a part is still in flight, so at most two parts are buffered.
    pub async fn write(&mut self, bytes: Bytes) -> Result<(), BlobError> {
        self.inner.wait_for_capacity(1).await?;
        self.inner.put(bytes);
        Ok(())
    }

    pub async fn finish(self) -> Result<(), BlobError> {
        self.inner.finish().await?;
        if let Some(path) = &self.local_file {
            sync_file(path).await?;
        }
        Ok(())
    }

    pub async fn abort(self) {
        if let Err(e) = self.inner.abort().await {
            tracing::warn!(error = %e, "could not abort a partial upload; the sweep removes it");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(b: &Blobs, key: &str) -> Option<Vec<u8>> {
        let mut s = b.read(key).await.unwrap()?;
        let mut out = Vec::new();
        while let Some(c) = s.next().await {
            out.extend_from_slice(&c.unwrap());
        }
        Some(out)
    }

    #[tokio::test]
    async fn a_local_write_is_visible_only_once_finished() {
        let dir = tempfile::tempdir().unwrap();
        let b = Blobs::open(&format!("file://{}", dir.path().display())).unwrap();
        b.check().await.unwrap();
        let mut w = b.writer("a1/blob").await.unwrap();
        for _ in 0..3 {
            w.write(Bytes::from(vec![7u8; 700_000])).await.unwrap();
        }
        assert_eq!(read_all(&b, "a1/blob").await, None, "nothing before finish");
        w.finish().await.unwrap();
        assert_eq!(read_all(&b, "a1/blob").await.unwrap().len(), 2_100_000);
        let w = b.writer("a2/blob").await.unwrap();
        w.abort().await;
        assert_eq!(read_all(&b, "a2/blob").await, None);
        b.delete("a1/blob").await.unwrap();
        b.delete("a1/blob").await.unwrap();
        assert_eq!(read_all(&b, "a1/blob").await, None);
        // What a crash mid-write leaves (a partial part file) goes with its key.
        std::fs::create_dir_all(dir.path().join("a3")).unwrap();
        std::fs::write(dir.path().join("a3/blob#1"), b"partial").unwrap();
        b.delete("a3/blob").await.unwrap();
        assert!(!dir.path().join("a3").exists());
        assert!(!dir.path().join("a1").exists());
        assert!(Blobs::open("file://relative").is_err());
        assert!(Blobs::open("ftp://x").is_err());
        assert!(Blobs::open("s3://").is_err());
    }
}
