//! Content-addressed document storage: a document's bytes are stored under their SHA-256 and
//! hashed again on every read, so a file changed on disk is detected ([`BlobError::Tampered`]).
//!
//! [`FolderBlobStore`] keeps `root/ab/abcdef…` (the first two hex digits as a sub-folder),
//! written through a temporary file, fsync and rename, never overwritten. The trait is
//! synchronous: the engine calls it from `tokio::task::spawn_blocking`.
//!
//! Blobs are written before the database transaction that references them: a blob whose
//! transaction then failed is an orphan, harmless (content-addressed, never served without a
//! row) and may be swept by an operator.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No blob with that hash.
    #[error("không tìm thấy tài liệu {0}")]
    NotFound(String),
    /// The stored bytes no longer hash to their name: the file was changed on disk.
    #[error("tài liệu {sha256} đã bị thay đổi trên đĩa (mã băm thực tế {actual})")]
    Tampered {
        /// The expected hash (the file's name).
        sha256: String,
        /// What the bytes on disk hash to.
        actual: String,
    },
    /// The argument is not 64 lowercase hex digits.
    #[error("'{0}' is not a SHA-256 (64 lowercase hex digits)")]
    InvalidHash(String),
    /// The file system failed.
    #[error("document storage: {0}")]
    Io(#[from] std::io::Error),
}

/// Where document bytes live, addressed by their SHA-256.
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` and returns their SHA-256 (lowercase hex). Idempotent: the same bytes give
    /// the same hash and an existing file is never overwritten (its content is verified).
    fn put(&self, bytes: &[u8]) -> Result<String, BlobError>;

    /// The bytes of `sha256`, verified against the hash.
    fn get(&self, sha256: &str) -> Result<Vec<u8>, BlobError>;
}

/// SHA-256 of bytes, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::chain::hex(&Sha256::digest(bytes))
}

/// Whether `s` is 64 lowercase hex digits.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Blobs in a folder: `root/ab/abcdef…`.
#[derive(Debug, Clone)]
pub struct FolderBlobStore {
    root: PathBuf,
}

impl FolderBlobStore {
    /// A store under `root` (created on the first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FolderBlobStore { root: root.into() }
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a blob lives (after checking the hash, so no path can escape the root).
    pub fn path_of(&self, sha256: &str) -> Result<PathBuf, BlobError> {
        if !is_sha256(sha256) {
            return Err(BlobError::InvalidHash(sha256.chars().take(80).collect()));
        }
        Ok(self.root.join(&sha256[..2]).join(sha256))
    }

    fn verify(&self, sha256: &str, path: &Path) -> Result<Vec<u8>, BlobError> {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(BlobError::NotFound(sha256.to_owned()))
            }
            Err(e) => return Err(e.into()),
        };
        let actual = sha256_hex(&bytes);
        if actual != sha256 {
            return Err(BlobError::Tampered {
                sha256: sha256.to_owned(),
                actual,
            });
        }
        Ok(bytes)
    }
}

impl BlobStore for FolderBlobStore {
    fn put(&self, bytes: &[u8]) -> Result<String, BlobError> {
        let sha256 = sha256_hex(bytes);
        let path = self.path_of(&sha256)?;
        if path.exists() {
            self.verify(&sha256, &path)?;
            return Ok(sha256);
        }
        let dir = self.root.join(&sha256[..2]);
        fs::create_dir_all(&dir)?;
        let temp = dir.join(format!(".{sha256}.{}.tmp", uuid::Uuid::new_v4().simple()));
        let written = (|| -> Result<(), std::io::Error> {
            let mut file = fs::File::create(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            Ok(())
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(e.into());
        }
        if path.exists() {
            // Another writer stored the same bytes meanwhile: keep theirs, never overwrite.
            let _ = fs::remove_file(&temp);
            self.verify(&sha256, &path)?;
            return Ok(sha256);
        }
        if let Err(e) = fs::rename(&temp, &path) {
            let _ = fs::remove_file(&temp);
            return Err(e.into());
        }
        // Make the rename durable.
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(sha256)
    }

    fn get(&self, sha256: &str) -> Result<Vec<u8>, BlobError> {
        let path = self.path_of(sha256)?;
        self.verify(sha256, &path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_tamper() {
        let dir = tempfile::tempdir().unwrap();
        let store = FolderBlobStore::new(dir.path());
        let h = store.put(b"hello").unwrap();
        assert_eq!(h, store.put(b"hello").unwrap());
        assert_eq!(store.get(&h).unwrap(), b"hello");
        assert!(matches!(
            store.get("../etc/passwd"),
            Err(BlobError::InvalidHash(_))
        ));
        assert!(matches!(
            store.get(&"0".repeat(64)),
            Err(BlobError::NotFound(_))
        ));
        fs::write(store.path_of(&h).unwrap(), b"hellO").unwrap();
        assert!(matches!(store.get(&h), Err(BlobError::Tampered { .. })));
        // A put of the original bytes does not silently accept the tampered file.
        assert!(matches!(
            store.put(b"hello"),
            Err(BlobError::Tampered { .. })
        ));
    }
}
