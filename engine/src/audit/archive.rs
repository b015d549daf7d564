//! The dossier archive: its files, their formats, and the zip they travel in.
//!
//! ```text
//! manifest.json          format, dossier, instance, journal head, every other file's SHA-256
//! manifest.json.p7s      the engine's detached CMS over manifest.json (when it has a key)
//! dossier.json           the dossier row as exported
//! journal.jsonl          one journal row a line: seq, kind, actor, at, data (the stored text), hash
//! documents/<slot>/v<version>/<name>   every version of every document, as received
//! signatures.json        the document signatures: slot, version, hashes, file
//! signatures/<n>.p7s     each signature (detached CMS, DER)
//! checkpoints.json       the checkpoints covering the instance: payload, head, leaf, audit path
//! checkpoints/<id>.p7s   the engine's signature over each payload
//! certificates/engine.pem   the certificate that signed the checkpoints, and
//! certificates/<id>.pem     every certificate the signatures carry (for reading: verification
//!                           uses those inside each signature and the verifier's own roots)
//! ```
//!
//! Reading a zip never trusts it: entry names must be plain relative paths, and the number of
//! entries and their total size are bounded before anything is decompressed into memory.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};

use serde::{Deserialize, Serialize};

use crate::checkpoint::Head;

/// The archive's format tag.
pub const FORMAT: &str = "motcua-dossier-archive/1";
/// The manifest.
pub const MANIFEST: &str = "manifest.json";
/// The engine's signature over the manifest.
pub const MANIFEST_SIGNATURE: &str = "manifest.json.p7s";
/// The dossier row.
pub const DOSSIER: &str = "dossier.json";
/// The journal.
pub const JOURNAL: &str = "journal.jsonl";
/// The document signatures' index.
pub const SIGNATURES: &str = "signatures.json";
/// The checkpoints' index.
pub const CHECKPOINTS: &str = "checkpoints.json";
/// The checkpoint signer's certificate.
pub const ENGINE_CERTIFICATE: &str = "certificates/engine.pem";

/// Most entries an archive may hold.
pub const MAX_ENTRIES: usize = 100_000;
/// Most bytes an archive may hold uncompressed.
pub const MAX_TOTAL_BYTES: u64 = 2 << 30;

/// Why an archive cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Not a zip, or a damaged one.
    #[error("not a readable zip archive: {0}")]
    Zip(String),
    /// An entry's name is not a plain relative path.
    #[error("entry '{0}' has an unsafe name (absolute, '..' or a drive)")]
    UnsafeName(String),
    /// Too many entries or too many bytes.
    #[error("the archive is too large: {0}")]
    TooLarge(String),
    /// Two entries with one name.
    #[error("entry '{0}' appears twice")]
    Duplicate(String),
    /// Writing failed.
    #[error("writing the archive: {0}")]
    Write(String),
}

/// The manifest: what the archive holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// The dossier code.
    pub dossier: String,
    /// Its instance.
    pub instance: String,
    /// When exported (RFC 3339).
    pub exported_at: String,
    /// The journal's last row and hash at export.
    pub journal_head: Option<Head>,
    /// Every other file (not the manifest nor its signature), by path.
    pub files: Vec<ManifestFile>,
}

/// One file of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Path inside the archive.
    pub path: String,
    /// SHA-256, hex.
    pub sha256: String,
    /// Bytes.
    pub size: u64,
}

/// One journal row as exported (a line of `journal.jsonl`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalLine {
    /// Sequence number.
    pub seq: i64,
    /// Event kind.
    pub kind: String,
    /// Who.
    pub actor: Option<String>,
    /// When: RFC 3339, UTC, microseconds (as hashed).
    pub at: String,
    /// The event's JSON text exactly as stored.
    pub data: String,
    /// The row's chain hash.
    pub hash: Option<String>,
}

/// One document signature (an entry of `signatures.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureEntry {
    /// The signature's file (`signatures/<n>.p7s`).
    pub file: String,
    /// The document slot.
    pub slot: String,
    /// The document version.
    pub version: i32,
    /// SHA-256 of the signed document version.
    pub document_sha256: String,
    /// SHA-256 of the signature file.
    pub signature_sha256: String,
    /// The user the certificate is mapped to, when one is.
    pub signer_user: Option<String>,
    /// The agency the certificate is mapped to, when one is.
    pub signer_agency: Option<String>,
    /// Signed by the engine with an agency key.
    pub server_side: bool,
}

/// One checkpoint covering the instance (an entry of `checkpoints.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointEntry {
    /// The checkpoint's id.
    pub id: i64,
    /// The signed payload text.
    pub payload: String,
    /// The signature's file (`checkpoints/<id>.p7s`).
    pub signature: String,
    /// The instance's head it signed.
    pub head: Head,
    /// The head's leaf index.
    pub leaf: i64,
    /// The Merkle audit path from the leaf to the payload's root, hex.
    pub audit_path: Vec<String>,
}

/// An archive's files, by path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Archive {
    /// Path → bytes.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Archive {
    /// A file's bytes.
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// The archive as a zip (deflated; entries in path order; fixed timestamps, so the same
    /// archive gives the same bytes).
    pub fn to_zip(&self) -> Result<Vec<u8>, ArchiveError> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (path, bytes) in &self.files {
            zip.start_file(path.as_str(), options)
                .map_err(|e| ArchiveError::Write(e.to_string()))?;
            zip.write_all(bytes)
                .map_err(|e| ArchiveError::Write(e.to_string()))?;
        }
        let cursor = zip
            .finish()
            .map_err(|e| ArchiveError::Write(e.to_string()))?;
        Ok(cursor.into_inner())
    }

    /// Reads a zip, refusing unsafe names, duplicates and oversized content.
    pub fn from_zip(bytes: &[u8]) -> Result<Archive, ArchiveError> {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| ArchiveError::Zip(e.to_string()))?;
        if zip.len() > MAX_ENTRIES {
            return Err(ArchiveError::TooLarge(format!(
                "{} entries (at most {MAX_ENTRIES})",
                zip.len()
            )));
        }
        let mut files = BTreeMap::new();
        let mut total: u64 = 0;
        for i in 0..zip.len() {
            let mut entry = zip
                .by_index(i)
                .map_err(|e| ArchiveError::Zip(e.to_string()))?;
            if entry.is_dir() {
                continue;
            }
            let name = entry
                .name()
                .map_err(|e| ArchiveError::Zip(e.to_string()))?
                .into_owned();
            if !safe_name(&name) {
                return Err(ArchiveError::UnsafeName(name));
            }
            // The declared size is not trusted: at most the remaining budget is read.
            let budget = MAX_TOTAL_BYTES - total;
            let mut data = Vec::new();
            (&mut entry)
                .take(budget + 1)
                .read_to_end(&mut data)
                .map_err(|e| ArchiveError::Zip(format!("{name}: {e}")))?;
            total += data.len() as u64;
            if total > MAX_TOTAL_BYTES {
                return Err(ArchiveError::TooLarge(format!(
                    "more than {MAX_TOTAL_BYTES} bytes uncompressed"
                )));
            }
            if files.insert(name.clone(), data).is_some() {
                return Err(ArchiveError::Duplicate(name));
            }
        }
        Ok(Archive { files })
    }
}

/// A plain relative path: no leading `/` or `\`, no `..` or `.` parts, no drive letter, no
/// backslashes, no empty parts, no control characters.
pub fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && !name.contains(':')
        && !name.chars().any(char::is_control)
        && name
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// A file name made safe for a path inside the archive (the document's own name, kept readable:
/// Vietnamese letters stay).
pub fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c == ':' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    match cleaned.trim() {
        "" | "." | ".." => "document".to_owned(),
        s => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zip_round_trips_and_unsafe_names_are_refused() {
        let mut a = Archive::default();
        a.files.insert("manifest.json".into(), b"{}".to_vec());
        a.files.insert(
            "documents/giay-chung-sinh/v1/Giấy chứng sinh.pdf".into(),
            vec![0, 1, 2, 255],
        );
        let zip = a.to_zip().unwrap();
        assert_eq!(Archive::from_zip(&zip).unwrap(), a);
        assert_eq!(
            a.to_zip().unwrap(),
            zip,
            "the same archive gives the same bytes"
        );

        for bad in [
            "../x",
            "/etc/passwd",
            "a/../../b",
            "C:/x",
            "a\\b",
            "a//b",
            "./a",
        ] {
            assert!(!safe_name(bad), "{bad}");
        }
        let mut evil = Archive::default();
        evil.files.insert("../evil".into(), vec![1]);
        let zip = evil.to_zip().unwrap();
        assert!(matches!(
            Archive::from_zip(&zip),
            Err(ArchiveError::UnsafeName(n)) if n == "../evil"
        ));
        assert!(matches!(
            Archive::from_zip(b"not a zip"),
            Err(ArchiveError::Zip(_))
        ));
        assert_eq!(safe_file_name("../a/b:c"), ".._a_b_c");
        assert_eq!(safe_file_name(".."), "document");
    }
}
