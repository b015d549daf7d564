//! Producing detached CMS (CAdES-B-B shaped) signatures, and loading a server-side signing key.
//!
//! The SignedData is assembled here in DER (see [`crate::der`]) and only the cryptography
//! (SHA-256 and the RSA / ECDSA signature) is done by OpenSSL. We build it ourselves rather
//! than call `CMS_sign` because OpenSSL always stamps `signingTime` with the machine clock and
//! the `openssl` crate exposes no way to set it; a caller (a batch re-signing job, a test)
//! needs to pass the time. Every signature we write is checked against OpenSSL's own
//! `CMS_verify` by the tests, and [`crate::verify_detached`] accepts signatures made by
//! `CMS_sign` as well.
//!
//! Signed attributes: `contentType` (id-data), `signingTime`, `messageDigest` and the ESS
//! `signingCertificateV2` (SHA-256 of the signer certificate), as CAdES/PAdES B-B asks.
//!
//! B-T: [`time_stamp_imprint`] gives what to send to an RFC 3161 time-stamping authority, and
//! [`add_signature_timestamp`] adds the token it answers with as the signer's
//! id-aa-signatureTimeStampToken unsigned attribute (outside the signed attributes, so the
//! signature stays valid).

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike, Utc};
use openssl::hash::{hash, MessageDigest};
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{Id, PKey, PKeyRef, Private};
use openssl::sign::Signer;
use openssl::x509::{X509Ref, X509};

use crate::cms;
use crate::der::{self, tag};
use crate::error::{DerError, SignError};
use crate::oids;
use crate::timestamp;

/// A private key with its certificate and the CA certificates to embed after it.
pub struct SigningIdentity {
    key: PKey<Private>,
    cert: X509,
    chain: Vec<X509>,
}

impl std::fmt::Debug for SigningIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("SigningIdentity")
            .field(
                "cert",
                &crate::report::name_to_string(self.cert.subject_name()),
            )
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl SigningIdentity {
    /// Pairs a key with its certificate, checking that they belong together.
    pub fn new(key: PKey<Private>, cert: X509, chain: Vec<X509>) -> Result<Self, SignError> {
        if !cert.public_key()?.public_eq(&key) {
            return Err(SignError::KeyMismatch);
        }
        Ok(SigningIdentity { key, cert, chain })
    }

    /// The signer certificate.
    pub fn cert(&self) -> &X509 {
        &self.cert
    }

    /// The CA certificates embedded after the signer certificate.
    pub fn chain(&self) -> &[X509] {
        &self.chain
    }

    /// The signer's subject, "CN=..., O=..., C=...".
    pub fn subject(&self) -> String {
        crate::report::name_to_string(self.cert.subject_name())
    }

    /// Appends CA certificates to embed after the ones already there.
    pub fn extend_chain(&mut self, extra: impl IntoIterator<Item = X509>) {
        self.chain.extend(extra);
    }

    /// The private key.
    pub fn key(&self) -> &PKeyRef<Private> {
        &self.key
    }

    /// Signs `data` (see [`sign_detached`]).
    pub fn sign(&self, data: &[u8], at: Option<SystemTime>) -> Result<Vec<u8>, SignError> {
        sign_detached(data, &self.cert, &self.key, &self.chain, at)
    }
}

/// Loads a PKCS#12 (.p12/.pfx) file: its key, its certificate and any CA certificates.
/// The password is handed to OpenSSL only; it is never logged or put into an error.
pub fn load_pkcs12(bytes: &[u8], password: &str) -> Result<SigningIdentity, SignError> {
    if password.contains('\0') {
        return Err(SignError::Pkcs12("the password contains a NUL character"));
    }
    let parsed = Pkcs12::from_der(bytes)?
        .parse2(password)
        .map_err(|_| SignError::Pkcs12("cannot decrypt (wrong password or damaged file)"))?;
    let key = parsed
        .pkey
        .ok_or(SignError::Pkcs12("no private key inside"))?;
    let cert = parsed
        .cert
        .ok_or(SignError::Pkcs12("no certificate inside"))?;
    let chain = parsed
        .ca
        .map(|stack| stack.into_iter().collect())
        .unwrap_or_default();
    SigningIdentity::new(key, cert, chain)
}

/// Loads a PEM private key (encrypted when `key_password` is given) and a PEM certificate
/// file whose first certificate is the signer's and whose later ones, if any, are its chain.
pub fn load_pem_key_and_cert(
    key_pem: &[u8],
    cert_pem: &[u8],
    key_password: Option<&str>,
) -> Result<SigningIdentity, SignError> {
    let key = match key_password {
        Some(password) => PKey::private_key_from_pem_passphrase(key_pem, password.as_bytes())?,
        None => PKey::private_key_from_pem(key_pem)?,
    };
    let mut certs = X509::stack_from_pem(cert_pem)?.into_iter();
    let cert = certs.next().ok_or(SignError::Pem("no certificate found"))?;
    SigningIdentity::new(key, cert, certs.collect())
}

/// Makes a detached CMS SignedData over `data` with SHA-256, DER encoded.
///
/// The signer certificate and `chain` are embedded. The `signingTime` signed attribute is `at`,
/// or the current clock when `None` (what `CMS_sign` would do). RSA keys sign with PKCS#1 v1.5,
/// EC keys with ECDSA.
pub fn sign_detached(
    data: &[u8],
    signer: &X509Ref,
    key: &PKeyRef<Private>,
    chain: &[X509],
    at: Option<SystemTime>,
) -> Result<Vec<u8>, SignError> {
    if !signer.public_key()?.public_eq(key) {
        return Err(SignError::KeyMismatch);
    }
    let signature_algorithm = match key.id() {
        Id::RSA => der::algorithm(&der::oid(oids::RSA_ENCRYPTION), true),
        Id::EC => der::algorithm(&der::oid(oids::ECDSA_WITH_SHA256), false),
        _ => return Err(SignError::UnsupportedKey),
    };
    let when = at.unwrap_or_else(SystemTime::now);
    let secs = when
        .duration_since(UNIX_EPOCH)
        .map_err(|_| SignError::TimeOutOfRange)?
        .as_secs();
    let when = i64::try_from(secs)
        .ok()
        .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
        .ok_or(SignError::TimeOutOfRange)?;

    let sha256 = der::algorithm(&der::oid(oids::SHA256), false);
    let digest = hash(MessageDigest::sha256(), data)?;
    let signer_der = signer.to_der()?;
    let cert_hash = hash(MessageDigest::sha256(), &signer_der)?;

    let attribute = |oid: &[u64], value: Vec<u8>| {
        der::cons(
            tag::SEQUENCE,
            &[
                &der::tlv(tag::OID, &der::oid(oid)),
                &der::tlv(tag::SET, &value),
            ],
        )
    };
    let attributes = vec![
        attribute(
            oids::CONTENT_TYPE,
            der::tlv(tag::OID, &der::oid(oids::DATA)),
        ),
        attribute(oids::SIGNING_TIME, encode_time(when)),
        attribute(oids::MESSAGE_DIGEST, der::tlv(tag::OCTET_STRING, &digest)),
        attribute(
            oids::SIGNING_CERTIFICATE_V2,
            der::cons(
                tag::SEQUENCE,
                &[&der::cons(
                    tag::SEQUENCE,
                    &[&der::cons(
                        tag::SEQUENCE,
                        &[&der::tlv(tag::OCTET_STRING, &cert_hash)],
                    )],
                )],
            ),
        ),
    ];
    // The signature covers the attributes encoded as a SET OF; the SignerInfo carries the
    // same content under an IMPLICIT [0] tag.
    let signed_attrs = der::set_of(attributes);
    let mut signer_ctx = Signer::new(MessageDigest::sha256(), key)?;
    signer_ctx.update(&signed_attrs)?;
    let signature = signer_ctx.sign_to_vec()?;

    let serial = signer.serial_number().to_bn()?.to_vec();
    let issuer_and_serial = der::cons(
        tag::SEQUENCE,
        &[&signer.issuer_name().to_der()?, &der::uint(&serial)],
    );
    let mut implicit_attrs = signed_attrs;
    implicit_attrs[0] = tag::CTX0;
    let signer_info = der::cons(
        tag::SEQUENCE,
        &[
            &der::uint(&[1]),
            &issuer_and_serial,
            &sha256,
            &implicit_attrs,
            &signature_algorithm,
            &der::tlv(tag::OCTET_STRING, &signature),
        ],
    );
    let mut certificates = signer_der;
    for cert in chain {
        certificates.extend(cert.to_der()?);
    }
    let signed_data = der::cons(
        tag::SEQUENCE,
        &[
            &der::uint(&[1]),
            &der::tlv(tag::SET, &sha256),
            &der::cons(tag::SEQUENCE, &[&der::tlv(tag::OID, &der::oid(oids::DATA))]),
            &der::tlv(tag::CTX0, &certificates),
            &der::tlv(tag::SET, &signer_info),
        ],
    );
    Ok(der::cons(
        tag::SEQUENCE,
        &[
            &der::tlv(tag::OID, &der::oid(oids::SIGNED_DATA)),
            &der::tlv(tag::CTX0, &signed_data),
        ],
    ))
}

/// UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5652 11.3).
fn encode_time(t: DateTime<Utc>) -> Vec<u8> {
    if (1950..2050).contains(&t.year()) {
        der::tlv(
            tag::UTC_TIME,
            t.format("%y%m%d%H%M%SZ").to_string().as_bytes(),
        )
    } else {
        der::tlv(
            tag::GENERALIZED_TIME,
            t.format("%Y%m%d%H%M%SZ").to_string().as_bytes(),
        )
    }
}

/// The message imprint to send to an RFC 3161 time-stamping authority for a signature made by
/// [`sign_detached`] (or any CMS SignedData): the `digest` of its first signer's signature
/// value, as a signature time-stamp requires (RFC 3161 appendix A).
pub fn time_stamp_imprint(cms_der: &[u8], digest: MessageDigest) -> Result<Vec<u8>, SignError> {
    let parsed = cms::parse(cms_der).map_err(|source| SignError::Malformed {
        what: "signature",
        source,
    })?;
    let signer = parsed.signers.first().ok_or(SignError::Malformed {
        what: "signature",
        source: DerError::Invalid("the SignedData has no SignerInfo"),
    })?;
    Ok(hash(digest, &signer.signature)?.to_vec())
}

/// Adds an RFC 3161 time-stamp token (a DER ContentInfo, as a TSA's `TimeStampResp` carries
/// it) to the first signer of `cms_der` as its id-aa-signatureTimeStampToken unsigned
/// attribute, making the signature CAdES B-T. Other unsigned attributes, including earlier
/// time-stamps, are kept.
///
/// The token is read, not verified: it must be a SignedData over a TSTInfo whose message
/// imprint is the hash of this signature's value ([`time_stamp_imprint`]), else
/// [`SignError::Timestamp`]. Its signature and TSA are checked by [`crate::verify_detached`].
pub fn add_signature_timestamp(cms_der: &[u8], token_der: &[u8]) -> Result<Vec<u8>, SignError> {
    let malformed =
        |what: &'static str| move |source: DerError| SignError::Malformed { what, source };
    let outer = cms::parse(cms_der).map_err(malformed("signature"))?;
    let signer = outer.signers.first().ok_or(SignError::Malformed {
        what: "signature",
        source: DerError::Invalid("the SignedData has no SignerInfo"),
    })?;
    let token = der::parse_first(token_der)
        .map_err(malformed("time-stamp token"))?
        .raw;
    let parsed = cms::parse(token).map_err(malformed("time-stamp token"))?;
    if parsed.content_type != der::oid(oids::TST_INFO) {
        return Err(SignError::Timestamp("its content is not a TSTInfo"));
    }
    let content = parsed
        .content
        .as_deref()
        .ok_or(SignError::Timestamp("it does not carry its TSTInfo"))?;
    let info = timestamp::parse_tst_info(content).map_err(malformed("time-stamp token"))?;
    let md = crate::verify::digest_for(&info.hash_algorithm).ok_or(SignError::Timestamp(
        "unsupported message imprint hash algorithm",
    ))?;
    if hash(md, &signer.signature)?.as_ref() != info.hashed_message.as_slice() {
        return Err(SignError::Timestamp(
            "its message imprint is not the hash of this signature's value",
        ));
    }
    insert_unsigned_attribute(cms_der, oids::SIGNATURE_TIME_STAMP, token)
        .map_err(malformed("signature"))
}

/// Re-encodes a ContentInfo(SignedData) with `value` added as an unsigned attribute `oid` of
/// its first SignerInfo (DER SET OF order among the unsigned attributes).
fn insert_unsigned_attribute(
    cms_der: &[u8],
    oid: &[u64],
    value: &[u8],
) -> Result<Vec<u8>, DerError> {
    let ci = der::parse_first(cms_der)?.expect(tag::SEQUENCE)?;
    let mut ci_r = ci.children();
    let content_type = ci_r.expect(tag::OID)?;
    let explicit = ci_r.expect(tag::CTX0)?;
    let signed_data = explicit.children().expect(tag::SEQUENCE)?;
    let mut sd_parts = Vec::new();
    let mut sd_r = signed_data.children();
    while !sd_r.is_empty() {
        sd_parts.push(sd_r.next_tlv()?);
    }
    let infos = sd_parts
        .pop()
        .ok_or(DerError::Invalid("empty SignedData"))?
        .expect(tag::SET)?;
    let mut infos_r = infos.children();
    let first = infos_r.expect(tag::SEQUENCE)?;
    let others = infos_r.rest();
    let mut info_parts = Vec::new();
    let mut info_r = first.children();
    while !info_r.is_empty() {
        info_parts.push(info_r.next_tlv()?);
    }
    let mut attributes = Vec::new();
    if let Some(last) = info_parts.last() {
        if last.tag == tag::CTX1 {
            let mut a = last.children();
            while !a.is_empty() {
                attributes.push(a.expect(tag::SEQUENCE)?.raw.to_vec());
            }
            info_parts.pop();
        }
    }
    attributes.push(der::cons(
        tag::SEQUENCE,
        &[
            &der::tlv(tag::OID, &der::oid(oid)),
            &der::tlv(tag::SET, value),
        ],
    ));
    attributes.sort();
    let mut info_content: Vec<u8> = info_parts.iter().flat_map(|t| t.raw.to_vec()).collect();
    info_content.extend(der::tlv(tag::CTX1, &attributes.concat()));
    let mut infos_content = der::tlv(tag::SEQUENCE, &info_content);
    infos_content.extend_from_slice(others);
    let mut sd_content: Vec<u8> = sd_parts.iter().flat_map(|t| t.raw.to_vec()).collect();
    sd_content.extend(der::tlv(tag::SET, &infos_content));
    Ok(der::cons(
        tag::SEQUENCE,
        &[
            content_type.raw,
            &der::tlv(tag::CTX0, &der::tlv(tag::SEQUENCE, &sd_content)),
        ],
    ))
}
