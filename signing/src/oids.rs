//! Object identifiers used by the crate, as arcs (encode with [`crate::der::oid`]).

/// id-data (RFC 5652).
pub(crate) const DATA: &[u64] = &[1, 2, 840, 113549, 1, 7, 1];
/// id-signedData (RFC 5652).
pub(crate) const SIGNED_DATA: &[u64] = &[1, 2, 840, 113549, 1, 7, 2];
/// id-contentType signed attribute.
pub(crate) const CONTENT_TYPE: &[u64] = &[1, 2, 840, 113549, 1, 9, 3];
/// id-messageDigest signed attribute.
pub(crate) const MESSAGE_DIGEST: &[u64] = &[1, 2, 840, 113549, 1, 9, 4];
/// id-signingTime signed attribute.
pub(crate) const SIGNING_TIME: &[u64] = &[1, 2, 840, 113549, 1, 9, 5];
/// id-aa-signingCertificateV2 (RFC 5035).
pub(crate) const SIGNING_CERTIFICATE_V2: &[u64] = &[1, 2, 840, 113549, 1, 9, 16, 2, 47];
/// id-aa-signingCertificate (RFC 2634, ESSCertID with SHA-1; older TSAs use it).
pub(crate) const SIGNING_CERTIFICATE: &[u64] = &[1, 2, 840, 113549, 1, 9, 16, 2, 12];
/// id-ct-TSTInfo, the eContentType of a time-stamp token (RFC 3161).
pub(crate) const TST_INFO: &[u64] = &[1, 2, 840, 113549, 1, 9, 16, 1, 4];
/// id-kp-timeStamping extended key usage (RFC 3161 2.3).
pub(crate) const KP_TIME_STAMPING: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 8];
/// id-ce-extKeyUsage certificate extension.
pub(crate) const EXTENDED_KEY_USAGE: &[u64] = &[2, 5, 29, 37];
/// id-aa-signatureTimeStampToken unsigned attribute (RFC 3161 appendix A).
pub(crate) const SIGNATURE_TIME_STAMP: &[u64] = &[1, 2, 840, 113549, 1, 9, 16, 2, 14];
/// SHA-1.
pub(crate) const SHA1: &[u64] = &[1, 3, 14, 3, 2, 26];
/// SHA-256.
pub(crate) const SHA256: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 1];
/// SHA-384.
pub(crate) const SHA384: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 2];
/// SHA-512.
pub(crate) const SHA512: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 3];
/// rsaEncryption.
pub(crate) const RSA_ENCRYPTION: &[u64] = &[1, 2, 840, 113549, 1, 1, 1];
/// ecdsa-with-SHA256.
pub(crate) const ECDSA_WITH_SHA256: &[u64] = &[1, 2, 840, 10045, 4, 3, 2];
/// id-ce-keyUsage certificate extension.
pub(crate) const KEY_USAGE: &[u64] = &[2, 5, 29, 15];
