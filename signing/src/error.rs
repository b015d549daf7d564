//! Typed errors of the signing crate. Verification never returns an error: a bad signature is a
//! [`crate::SignatureReport`] with a failing indication. Errors are for signing, loading keys
//! and configuring trust.

use thiserror::Error;

/// A malformed DER/BER encoding.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DerError {
    /// The input ended inside a value.
    #[error("truncated encoding")]
    Truncated,
    /// A length octet sequence that this reader does not accept.
    #[error("invalid length")]
    BadLength,
    /// A tag number above 30 (multi-byte identifier), never used by CMS.
    #[error("unsupported high tag number")]
    HighTagNumber,
    /// A value nested too deeply.
    #[error("nesting too deep")]
    TooDeep,
    /// A value with another tag than the structure requires.
    #[error("expected tag 0x{expected:02x}, found 0x{found:02x}")]
    UnexpectedTag {
        /// The tag the structure requires.
        expected: u8,
        /// The tag found.
        found: u8,
    },
    /// A value that is well-formed DER but not what the structure requires.
    #[error("{0}")]
    Invalid(&'static str),
}

/// Signing or key loading failed.
#[derive(Debug, Error)]
pub enum SignError {
    /// OpenSSL refused an operation (bad key, wrong password, unsupported algorithm...).
    #[error("openssl: {0}")]
    OpenSsl(#[from] openssl::error::ErrorStack),
    /// The private key does not belong to the signer certificate.
    #[error("the private key does not match the signer certificate")]
    KeyMismatch,
    /// Only RSA and EC keys are supported.
    #[error("unsupported key type (only RSA and EC keys can sign)")]
    UnsupportedKey,
    /// A PKCS#12 file without a key or certificate, or an unusable password.
    #[error("PKCS#12: {0}")]
    Pkcs12(&'static str),
    /// A PEM input without the expected block.
    #[error("PEM: {0}")]
    Pem(&'static str),
    /// The signing time is outside the range CMS can encode here.
    #[error("signing time out of range")]
    TimeOutOfRange,
    /// A CMS signature or time-stamp token given as input is malformed.
    #[error("malformed {what}: {source}")]
    Malformed {
        /// "signature" or "time-stamp token".
        what: &'static str,
        /// The DER problem.
        source: DerError,
    },
    /// A time-stamp token that does not fit the signature it should be added to.
    #[error("time-stamp token: {0}")]
    Timestamp(&'static str),
}

/// A trust anchor or CRL could not be loaded.
#[derive(Debug, Error)]
pub enum TrustError {
    /// OpenSSL could not parse the certificate or CRL.
    #[error("openssl: {0}")]
    OpenSsl(#[from] openssl::error::ErrorStack),
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A PEM input without any certificate.
    #[error("no certificate found in the PEM input")]
    NoCertificate,
}
