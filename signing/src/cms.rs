//! Reading the parts of a CMS SignedData that OpenSSL's API does not expose: the signer
//! identifier, the `signingTime` and `messageDigest` signed attributes, the ESS signing
//! certificate, the digest algorithm, the signature value, the encapsulated content (a
//! time-stamp token's TSTInfo) and the signature time-stamp tokens (unsigned attribute); and
//! the certificate extensions the verifier checks itself (keyUsage, extendedKeyUsage).

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};

use crate::der::{self, tag, Reader, Tlv};
use crate::error::DerError;
use crate::oids;

/// How a SignerInfo names its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SignerId {
    /// issuer Name (DER) and serial number (magnitude bytes, no leading zeros).
    IssuerSerial { issuer: Vec<u8>, serial: Vec<u8> },
    /// subjectKeyIdentifier.
    KeyId(Vec<u8>),
}

/// One SignerInfo.
#[derive(Debug, Clone)]
pub(crate) struct ParsedSigner {
    pub sid: SignerId,
    /// The digest algorithm OID (content bytes).
    pub digest_oid: Vec<u8>,
    pub has_signed_attrs: bool,
    pub signing_time: Option<DateTime<Utc>>,
    pub message_digest: Option<Vec<u8>>,
    /// The first ESSCertIDv2 of `signingCertificateV2` (or ESSCertID of the older
    /// `signingCertificate`, SHA-1): digest algorithm OID and hash.
    pub signing_certificate: Option<(Vec<u8>, Vec<u8>)>,
    /// The signature value (the SignerInfo's `signature` octets).
    pub signature: Vec<u8>,
    /// True when an id-aa-signatureTimeStampToken unsigned attribute is present.
    pub has_timestamp: bool,
    /// Every value of every id-aa-signatureTimeStampToken attribute, DER (a ContentInfo each;
    /// an unreadable attribute value set is kept whole so that it fails as a token).
    pub timestamp_tokens: Vec<Vec<u8>>,
}

/// The SignedData.
#[derive(Debug, Clone)]
pub(crate) struct ParsedSignedData {
    /// Embedded certificates, DER.
    pub certificates: Vec<Vec<u8>>,
    pub signers: Vec<ParsedSigner>,
    /// True when the content is absent (detached signature).
    pub detached: bool,
    /// The eContentType OID (content bytes).
    pub content_type: Vec<u8>,
    /// The encapsulated content (the OCTET STRING's value), when present.
    pub content: Option<Vec<u8>>,
}

/// Parses a ContentInfo holding a SignedData.
pub(crate) fn parse(der_bytes: &[u8]) -> Result<ParsedSignedData, DerError> {
    let content_info = der::parse_first(der_bytes)?.expect(tag::SEQUENCE)?;
    let mut ci = content_info.children();
    let ctype = ci.expect(tag::OID)?;
    if ctype.content != der::oid(oids::SIGNED_DATA).as_slice() {
        return Err(DerError::Invalid("not a CMS SignedData"));
    }
    let explicit = ci.expect(tag::CTX0)?;
    let signed_data = explicit.children().expect(tag::SEQUENCE)?;
    let mut sd = signed_data.children();
    sd.expect(tag::INTEGER)?;
    sd.expect(tag::SET)?;
    let encap = sd.expect(tag::SEQUENCE)?;
    let mut encap_r = encap.children();
    let content_type = encap_r.expect(tag::OID)?.content.to_vec();
    let content = match encap_r.optional(tag::CTX0)? {
        Some(explicit) => Some(octet_string(explicit.children().next_tlv()?)?),
        None => None,
    };
    let detached = content.is_none();
    let mut certificates = Vec::new();
    if let Some(certs) = sd.optional(tag::CTX0)? {
        let mut r = certs.children();
        while !r.is_empty() {
            let cert = r.next_tlv()?;
            // Only plain certificates (SEQUENCE); other choices are skipped.
            if cert.tag == tag::SEQUENCE {
                certificates.push(cert.raw.to_vec());
            }
        }
    }
    sd.optional(tag::CTX1)?; // crls
    let infos = sd.expect(tag::SET)?;
    let mut signers = Vec::new();
    let mut r = infos.children();
    while !r.is_empty() {
        signers.push(parse_signer(r.expect(tag::SEQUENCE)?)?);
    }
    if signers.is_empty() {
        return Err(DerError::Invalid("the SignedData has no SignerInfo"));
    }
    Ok(ParsedSignedData {
        certificates,
        signers,
        detached,
        content_type,
        content,
    })
}

/// The value of an OCTET STRING, primitive (DER) or constructed from segments (BER).
fn octet_string(t: Tlv<'_>) -> Result<Vec<u8>, DerError> {
    const CONSTRUCTED_OCTET_STRING: u8 = 0x24;
    match t.tag {
        tag::OCTET_STRING => Ok(t.content.to_vec()),
        CONSTRUCTED_OCTET_STRING => {
            let mut out = Vec::new();
            let mut r = t.children();
            while !r.is_empty() {
                out.extend(octet_string(r.next_tlv()?)?);
            }
            Ok(out)
        }
        found => Err(DerError::UnexpectedTag {
            expected: tag::OCTET_STRING,
            found,
        }),
    }
}

fn parse_signer(info: Tlv<'_>) -> Result<ParsedSigner, DerError> {
    let mut r = info.children();
    r.expect(tag::INTEGER)?;
    let sid_tlv = r.next_tlv()?;
    let sid = match sid_tlv.tag {
        tag::SEQUENCE => {
            let mut s = sid_tlv.children();
            let issuer = s.expect(tag::SEQUENCE)?.raw.to_vec();
            let serial = s.expect(tag::INTEGER)?.content;
            let start = serial.iter().position(|b| *b != 0).unwrap_or(serial.len());
            SignerId::IssuerSerial {
                issuer,
                serial: serial[start..].to_vec(),
            }
        }
        tag::CTX0_PRIMITIVE => SignerId::KeyId(sid_tlv.content.to_vec()),
        _ => return Err(DerError::Invalid("unknown SignerIdentifier")),
    };
    let digest_alg = r.expect(tag::SEQUENCE)?;
    let digest_oid = digest_alg.children().expect(tag::OID)?.content.to_vec();
    let mut signer = ParsedSigner {
        sid,
        digest_oid,
        has_signed_attrs: false,
        signing_time: None,
        message_digest: None,
        signing_certificate: None,
        signature: Vec::new(),
        has_timestamp: false,
        timestamp_tokens: Vec::new(),
    };
    if let Some(attrs) = r.optional(tag::CTX0)? {
        signer.has_signed_attrs = true;
        for_each_attribute(attrs.children(), |oid, values| {
            let first = values.clone().next_tlv();
            if oid == der::oid(oids::SIGNING_TIME).as_slice() {
                signer.signing_time = Some(parse_time(first?)?);
            } else if oid == der::oid(oids::MESSAGE_DIGEST).as_slice() {
                signer.message_digest = Some(first?.expect(tag::OCTET_STRING)?.content.to_vec());
            } else if oid == der::oid(oids::SIGNING_CERTIFICATE_V2).as_slice() {
                signer.signing_certificate = Some(parse_ess_cert_id_v2(first?)?);
            } else if oid == der::oid(oids::SIGNING_CERTIFICATE).as_slice()
                && signer.signing_certificate.is_none()
            {
                signer.signing_certificate = Some(parse_ess_cert_id(first?)?);
            }
            Ok(())
        })?;
    }
    r.expect(tag::SEQUENCE)?; // signatureAlgorithm
    signer.signature = r.expect(tag::OCTET_STRING)?.content.to_vec();
    if let Some(attrs) = r.optional(tag::CTX1)? {
        for_each_attribute(attrs.children(), |oid, values| {
            if oid == der::oid(oids::SIGNATURE_TIME_STAMP).as_slice() {
                signer.has_timestamp = true;
                let mut values = values;
                let whole = values.clone();
                let mut tokens = Vec::new();
                let mut readable = true;
                while !values.is_empty() {
                    match values.next_tlv() {
                        Ok(token) => tokens.push(token.raw.to_vec()),
                        Err(_) => {
                            readable = false;
                            break;
                        }
                    }
                }
                if readable {
                    signer.timestamp_tokens.extend(tokens);
                } else {
                    signer.timestamp_tokens.push(whole.rest().to_vec());
                }
            }
            Ok(())
        })?;
    }
    Ok(signer)
}

/// SigningCertificate ::= SEQUENCE { certs SEQUENCE OF ESSCertID, policies OPTIONAL };
/// ESSCertID ::= SEQUENCE { certHash OCTET STRING (SHA-1), issuerSerial OPTIONAL }.
fn parse_ess_cert_id(value: Tlv<'_>) -> Result<(Vec<u8>, Vec<u8>), DerError> {
    let certs = value
        .expect(tag::SEQUENCE)?
        .children()
        .expect(tag::SEQUENCE)?;
    let first = certs.children().expect(tag::SEQUENCE)?;
    let cert_hash = first.children().expect(tag::OCTET_STRING)?.content.to_vec();
    Ok((der::oid(oids::SHA1), cert_hash))
}

/// SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies OPTIONAL };
/// ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256, certHash OCTET STRING, ... }.
fn parse_ess_cert_id_v2(value: Tlv<'_>) -> Result<(Vec<u8>, Vec<u8>), DerError> {
    let certs = value
        .expect(tag::SEQUENCE)?
        .children()
        .expect(tag::SEQUENCE)?;
    let first = certs.children().expect(tag::SEQUENCE)?;
    let mut r = first.children();
    let algorithm = match r.optional(tag::SEQUENCE)? {
        Some(alg) => alg.children().expect(tag::OID)?.content.to_vec(),
        None => der::oid(oids::SHA256),
    };
    let cert_hash = r.expect(tag::OCTET_STRING)?.content.to_vec();
    Ok((algorithm, cert_hash))
}

fn for_each_attribute<'a>(
    mut r: Reader<'a>,
    mut f: impl FnMut(&'a [u8], Reader<'a>) -> Result<(), DerError>,
) -> Result<(), DerError> {
    while !r.is_empty() {
        let attr = r.expect(tag::SEQUENCE)?;
        let mut a = attr.children();
        let oid = a.expect(tag::OID)?.content;
        let values = a.expect(tag::SET)?;
        f(oid, values.children())?;
    }
    Ok(())
}

/// UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSS[.f]Z, fractions of a second
/// kept to the nanosecond), UTC only as DER requires.
pub(crate) fn parse_time(t: Tlv<'_>) -> Result<DateTime<Utc>, DerError> {
    let text = std::str::from_utf8(t.content).map_err(|_| DerError::Invalid("bad time"))?;
    let digits = text
        .strip_suffix('Z')
        .ok_or(DerError::Invalid("a time is not in UTC"))?;
    let (full, fraction) = match t.tag {
        tag::UTC_TIME => {
            let yy: u32 = digits
                .get(..2)
                .and_then(|s| s.parse().ok())
                .ok_or(DerError::Invalid("bad UTCTime"))?;
            let century = if yy >= 50 { "19" } else { "20" };
            (format!("{century}{digits}"), None)
        }
        tag::GENERALIZED_TIME => match digits.split_once(['.', ',']) {
            Some((whole, fraction)) => (whole.to_string(), Some(fraction)),
            None => (digits.to_string(), None),
        },
        _ => return Err(DerError::Invalid("a time is expected")),
    };
    if full.len() != 14 || !full.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DerError::Invalid("bad time"));
    }
    let nanos = match fraction {
        None => 0,
        Some(f) if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(DerError::Invalid("bad fraction of a second"))
        }
        Some(f) => format!("{f:0<9}")
            .parse::<u32>()
            .map_err(|_| DerError::Invalid("bad fraction of a second"))?,
    };
    NaiveDateTime::parse_from_str(&full, "%Y%m%d%H%M%S")
        .ok()
        .and_then(|n| n.and_utc().with_nanosecond(nanos))
        .ok_or(DerError::Invalid("bad time"))
}

/// Finds a certificate extension: `Some((critical, extnValue content))`, `None` when absent.
fn extension<'a>(cert_der: &'a [u8], wanted: &[u64]) -> Result<Option<(bool, &'a [u8])>, DerError> {
    let wanted = der::oid(wanted);
    let cert = der::parse_first(cert_der)?.expect(tag::SEQUENCE)?;
    let tbs = cert.children().expect(tag::SEQUENCE)?;
    let mut r = tbs.children();
    while !r.is_empty() {
        let item = r.next_tlv()?;
        if item.tag != tag::CTX3 {
            continue;
        }
        let exts = item.children().expect(tag::SEQUENCE)?;
        let mut e = exts.children();
        while !e.is_empty() {
            let ext = e.expect(tag::SEQUENCE)?;
            let mut x = ext.children();
            let oid = x.expect(tag::OID)?.content;
            if oid != wanted.as_slice() {
                continue;
            }
            let mut value = x.next_tlv()?;
            let mut critical = false;
            if value.tag == tag::BOOLEAN {
                critical = value.content.first().is_some_and(|b| *b != 0);
                value = x.next_tlv()?;
            }
            return Ok(Some((critical, value.expect(tag::OCTET_STRING)?.content)));
        }
    }
    Ok(None)
}

/// Reads the keyUsage extension of a certificate: `Some(bits)` (first two octets of the
/// BIT STRING, big-endian, bit 0 = 0x8000) or `None` when the extension is absent.
pub(crate) fn key_usage(cert_der: &[u8]) -> Result<Option<u16>, DerError> {
    let Some((_, value)) = extension(cert_der, oids::KEY_USAGE)? else {
        return Ok(None);
    };
    let bits = der::parse_first(value)?.expect(tag::BIT_STRING)?.content;
    let b0 = u16::from(*bits.get(1).unwrap_or(&0));
    let b1 = u16::from(*bits.get(2).unwrap_or(&0));
    Ok(Some((b0 << 8) | b1))
}

/// A certificate's extendedKeyUsage extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExtendedKeyUsage {
    /// The extension's critical flag.
    pub critical: bool,
    /// The KeyPurposeIds, as OID content bytes.
    pub purposes: Vec<Vec<u8>>,
}

/// Reads the extendedKeyUsage extension, `None` when it is absent.
pub(crate) fn extended_key_usage(cert_der: &[u8]) -> Result<Option<ExtendedKeyUsage>, DerError> {
    let Some((critical, value)) = extension(cert_der, oids::EXTENDED_KEY_USAGE)? else {
        return Ok(None);
    };
    let seq = der::parse_first(value)?.expect(tag::SEQUENCE)?;
    let mut r = seq.children();
    let mut purposes = Vec::new();
    while !r.is_empty() {
        purposes.push(r.expect(tag::OID)?.content.to_vec());
    }
    Ok(Some(ExtendedKeyUsage { critical, purposes }))
}

/// The certificates a CMS SignedData carries (DER of the whole ContentInfo in), as X.509.
pub fn embedded_certificates(
    cms_der: &[u8],
) -> Result<Vec<openssl::x509::X509>, crate::error::SignError> {
    let parsed = parse(cms_der).map_err(|source| crate::error::SignError::Malformed {
        what: "signature",
        source,
    })?;
    parsed
        .certificates
        .iter()
        .map(|der| openssl::x509::X509::from_der(der).map_err(Into::into))
        .collect()
}
