//! Digital signatures on digitized dossier documents, verified the way auditors need.
//!
//! * [`sign_detached`] makes a detached CMS SignedData (SHA-256, signer certificate and chain
//!   embedded, `signingTime` and `messageDigest` signed attributes); [`load_pkcs12`] and
//!   [`load_pem_key_and_cert`] load a server-side agency key.
//! * [`verify_detached`] checks a CMS signature over a document, [`verify_pdf`] every PAdES
//!   signature of a PDF. Each gives a [`SignatureReport`] modelled on the EU DSS simple report
//!   (ETSI EN 319 102-1 indications), rendered by [`report_text`] and [`report_html`].
//! * [`time_stamp_imprint`] gives the message imprint to send to an RFC 3161 time-stamping
//!   authority for a signature, and [`add_signature_timestamp`] adds the TSA's token to it
//!   (CAdES B-T); the verifier checks such a token and uses its genTime as the proof of
//!   existence of the signature.
//! * [`TrustStore`] holds the only trust anchors (configured roots) and the CRLs.
//! * [`LocalAuthority`] issues real certificates from a local root, for the demo and trials
//!   (never for production signatures).
//!
//! The crate is a leaf: it knows nothing of BPMN, forms, the database or HTTP, reads no files
//! except through the explicit `*_file` helpers, and never prints. Cryptography is OpenSSL's
//! (the `openssl` crate, vendored); the few DER structures OpenSSL does not expose are read and
//! written by the small `der` module.

#![deny(missing_docs)]

mod authority;
mod cms;
mod der;
mod error;
mod oids;
mod pdf;
mod report;
mod sign;
mod timestamp;
mod trust;
mod verify;

pub use authority::{to_pkcs12, LocalAuthority};
pub use cms::embedded_certificates;
pub use error::{DerError, SignError, TrustError};
pub use report::{
    report_html, report_text, Indication, SignatureFormat, SignatureReport, SignerSummary,
    SubIndication, TimestampSummary,
};
pub use sign::{
    add_signature_timestamp, load_pem_key_and_cert, load_pkcs12, sign_detached, time_stamp_imprint,
    SigningIdentity,
};
pub use trust::TrustStore;
pub use verify::{verify_detached, verify_pdf};

/// The `openssl` crate this library is built on, for callers that build keys and certificates.
pub use openssl;
