//! The verifier's configuration: the trust anchors (root CA certificates) and the CRLs.
//!
//! Only roots added here are trust anchors. Certificates that arrive inside a signature are
//! used as untrusted intermediates only, so a self-signed "root" shipped with a signature is
//! never trusted.

use std::path::Path;

use openssl::x509::{X509Crl, X509};

use crate::error::TrustError;

/// Trust anchors and revocation lists for verification.
#[derive(Default)]
pub struct TrustStore {
    roots: Vec<X509>,
    crls: Vec<X509Crl>,
}

impl std::fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustStore")
            .field(
                "roots",
                &self
                    .roots
                    .iter()
                    .map(|c| crate::report::name_to_string(c.subject_name()))
                    .collect::<Vec<_>>(),
            )
            .field("crls", &self.crls.len())
            .finish()
    }
}

impl TrustStore {
    /// An empty store: nothing is trusted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one trust anchor.
    pub fn add_root(&mut self, root: X509) {
        self.roots.push(root);
    }

    /// Adds every certificate of a PEM input (one or several blocks); returns how many.
    pub fn add_roots_pem(&mut self, pem: &[u8]) -> Result<usize, TrustError> {
        let certs = X509::stack_from_pem(pem)?;
        if certs.is_empty() {
            return Err(TrustError::NoCertificate);
        }
        let n = certs.len();
        self.roots.extend(certs);
        Ok(n)
    }

    /// Reads a PEM file of roots (see [`TrustStore::add_roots_pem`]).
    pub fn add_roots_pem_file(&mut self, path: &Path) -> Result<usize, TrustError> {
        let bytes = read(path)?;
        self.add_roots_pem(&bytes)
    }

    /// Adds a CRL, PEM (one or several `X509 CRL` blocks) or DER; returns how many.
    pub fn add_crl(&mut self, bytes: &[u8]) -> Result<usize, TrustError> {
        const BEGIN: &[u8] = b"-----BEGIN X509 CRL-----";
        const END: &[u8] = b"-----END X509 CRL-----";
        if !contains(bytes, BEGIN) {
            self.crls.push(X509Crl::from_der(bytes)?);
            return Ok(1);
        }
        let mut rest = bytes;
        let mut n = 0;
        while let Some(start) = find(rest, BEGIN) {
            let Some(end) = find(&rest[start..], END) else {
                break;
            };
            let block_end = start + end + END.len();
            self.crls.push(X509Crl::from_pem(&rest[start..block_end])?);
            n += 1;
            rest = &rest[block_end..];
        }
        Ok(n)
    }

    /// Reads a CRL file (see [`TrustStore::add_crl`]).
    pub fn add_crl_file(&mut self, path: &Path) -> Result<usize, TrustError> {
        let bytes = read(path)?;
        self.add_crl(&bytes)
    }

    /// The trust anchors.
    pub fn roots(&self) -> &[X509] {
        &self.roots
    }

    /// The revocation lists.
    pub fn crls(&self) -> &[X509Crl] {
        &self.crls
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TrustError> {
    std::fs::read(path).map_err(|source| TrustError::Io {
        path: path.display().to_string(),
        source,
    })
}

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}
