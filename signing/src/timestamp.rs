//! RFC 3161 signature time-stamps: reading a time-stamp token (a CMS SignedData whose content
//! is a TSTInfo) and verifying it as the id-aa-signatureTimeStampToken of a CMS signature.
//!
//! A token is verified in the DSS order for time-stamps: format (SignedData over id-ct-TSTInfo,
//! one signer, TSTInfo v1), the TSA certificate (in the token or in the signature; the ESS
//! signing-certificate attribute must name it), the token's signature value (OpenSSL
//! `CMS_verify` over the embedded TSTInfo, chain excluded), the message imprint (the hash of
//! the time-stamped signature's value, with the token's hash algorithm), the TSA chain built to
//! a configured root and checked at genTime, the TSA's extended key usage (only
//! id-kp-timeStamping, critical: RFC 3161 2.3) and key usage, and the configured CRLs. A
//! revoked TSA certificate voids the token whatever the revocation date, because a TSA key
//! compromised before the revocation could have back-dated it.
//!
//! A verified token proves that the signature existed at genTime (the best-signature-time of
//! ETSI EN 319 102-1); [`crate::verify`] uses it for the signer's chain and revocation.

use chrono::{DateTime, Utc};
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::hash::{hash, MessageDigest};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::X509;

use crate::cms;
use crate::der::{self, tag, Tlv};
use crate::error::DerError;
use crate::oids;
use crate::report::{name_to_string, Indication, SubIndication, TimestampSummary};
use crate::trust::TrustStore;
use crate::verify::{build_chain, digest_for, matches_sid, revocation, ChainFailure, Revocation};

/// keyUsage bits digitalSignature (0) and nonRepudiation (1).
const KU_SIGNING: u16 = 0xc000;

/// The TSTInfo of a time-stamp token (RFC 3161 2.4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TstInfo {
    /// Always 1.
    pub version: u64,
    /// The TSA policy OID (content bytes).
    pub policy: Vec<u8>,
    /// messageImprint.hashAlgorithm (OID content bytes).
    pub hash_algorithm: Vec<u8>,
    /// messageImprint.hashedMessage.
    pub hashed_message: Vec<u8>,
    /// serialNumber, big-endian magnitude.
    pub serial: Vec<u8>,
    /// genTime, fractions of a second included.
    pub gen_time: DateTime<Utc>,
    /// accuracy in microseconds (seconds, millis and micros added up).
    pub accuracy_micros: Option<u64>,
    /// ordering (DEFAULT FALSE).
    pub ordering: bool,
    /// nonce, big-endian magnitude.
    pub nonce: Option<Vec<u8>>,
    /// The tsa GeneralName, DER, as found.
    pub tsa: Option<Vec<u8>>,
}

/// Parses a DER TSTInfo.
pub(crate) fn parse_tst_info(data: &[u8]) -> Result<TstInfo, DerError> {
    let seq = der::parse_first(data)?.expect(tag::SEQUENCE)?;
    let mut r = seq.children();
    let version = small_uint(r.expect(tag::INTEGER)?)?;
    let policy = r.expect(tag::OID)?.content.to_vec();
    let imprint = r.expect(tag::SEQUENCE)?;
    let mut i = imprint.children();
    let hash_algorithm = i
        .expect(tag::SEQUENCE)?
        .children()
        .expect(tag::OID)?
        .content
        .to_vec();
    let hashed_message = i.expect(tag::OCTET_STRING)?.content.to_vec();
    let serial = magnitude(r.expect(tag::INTEGER)?)?;
    let gen_time_tlv = r.expect(tag::GENERALIZED_TIME)?;
    let gen_time = cms::parse_time(gen_time_tlv)?;
    let mut info = TstInfo {
        version,
        policy,
        hash_algorithm,
        hashed_message,
        serial,
        gen_time,
        accuracy_micros: None,
        ordering: false,
        nonce: None,
        tsa: None,
    };
    if let Some(accuracy) = r.optional(tag::SEQUENCE)? {
        // Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] 1..999 OPTIONAL,
        // micros [1] 1..999 OPTIONAL }, the tags IMPLICIT.
        let mut a = accuracy.children();
        let seconds = a.optional(tag::INTEGER)?.map(small_uint).transpose()?;
        let millis = a
            .optional(tag::CTX0_PRIMITIVE)?
            .map(small_uint)
            .transpose()?;
        let micros = a
            .optional(tag::CTX1_PRIMITIVE)?
            .map(small_uint)
            .transpose()?;
        if millis.is_some_and(|m| m > 999) || micros.is_some_and(|m| m > 999) {
            return Err(DerError::Invalid("accuracy out of range"));
        }
        let total = seconds
            .unwrap_or(0)
            .checked_mul(1_000_000)
            .and_then(|s| s.checked_add(millis.unwrap_or(0) * 1_000 + micros.unwrap_or(0)))
            .ok_or(DerError::Invalid("accuracy out of range"))?;
        info.accuracy_micros = Some(total);
    }
    if let Some(ordering) = r.optional(tag::BOOLEAN)? {
        info.ordering = ordering.content.first().is_some_and(|b| *b != 0);
    }
    if let Some(nonce) = r.optional(tag::INTEGER)? {
        info.nonce = Some(magnitude(nonce)?);
    }
    if let Some(tsa) = r.optional(tag::CTX0)? {
        info.tsa = Some(tsa.children().next_tlv()?.raw.to_vec());
    }
    r.optional(tag::CTX1)?; // extensions
    if !r.is_empty() {
        return Err(DerError::Invalid(
            "unexpected data after the TSTInfo fields",
        ));
    }
    Ok(info)
}

/// A non-negative INTEGER that fits in 64 bits.
fn small_uint(t: Tlv<'_>) -> Result<u64, DerError> {
    let m = magnitude(t)?;
    if m.len() > 8 {
        return Err(DerError::Invalid("integer too large"));
    }
    Ok(m.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// The big-endian magnitude of a non-negative INTEGER (no leading zeros).
fn magnitude(t: Tlv<'_>) -> Result<Vec<u8>, DerError> {
    match t.content.first() {
        None => Err(DerError::Invalid("empty integer")),
        Some(b) if b & 0x80 != 0 => Err(DerError::Invalid("negative integer")),
        Some(_) => {
            let start = t
                .content
                .iter()
                .position(|b| *b != 0)
                .unwrap_or(t.content.len());
            Ok(t.content[start..].to_vec())
        }
    }
}

/// The dotted form of an OID given as content bytes.
pub(crate) fn oid_to_string(content: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for b in content {
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// The name of a hash algorithm OID ("SHA-256"), or its dotted form.
pub(crate) fn hash_name(oid_content: &[u8]) -> String {
    let names = [
        (oids::SHA256, "SHA-256"),
        (oids::SHA384, "SHA-384"),
        (oids::SHA512, "SHA-512"),
        (oids::SHA1, "SHA-1"),
    ];
    names
        .iter()
        .find(|(arcs, _)| der::oid(arcs) == oid_content)
        .map(|(_, name)| name.to_string())
        .unwrap_or_else(|| oid_to_string(oid_content))
}

/// Why a token does not verify.
#[derive(Debug, Clone)]
pub(crate) struct TimestampFailure {
    /// The sub-indication given to the signature (and to the time-stamp).
    pub sub: SubIndication,
    /// An English message naming the signature time-stamp.
    pub message: String,
    /// The Vietnamese reason for the summary.
    pub vi: &'static str,
}

/// The outcome of verifying one token.
#[derive(Debug, Clone)]
pub(crate) struct TimestampCheck {
    /// What the report shows.
    pub summary: TimestampSummary,
    /// genTime when the token verified.
    pub outcome: Result<DateTime<Utc>, TimestampFailure>,
    /// Notes for the report (SHA-1, no CRL, ...).
    pub notes: Vec<String>,
}

/// Verifies `token` (a ContentInfo, DER) as the time-stamp of a signature whose value is
/// `signature_value`. `signature_certs` are the certificates embedded in the signature (a
/// token may leave its TSA certificate out); none of them is a trust anchor.
pub(crate) fn verify_token(
    token: &[u8],
    signature_value: &[u8],
    signature_certs: &[X509],
    trust: &TrustStore,
    now: DateTime<Utc>,
) -> TimestampCheck {
    let mut check = TimestampCheck {
        summary: TimestampSummary {
            gen_time: None,
            tsa: None,
            serial: None,
            hash_algorithm: None,
            policy: None,
            accuracy_micros: None,
            indication: Indication::Indeterminate,
            sub_indication: None,
        },
        outcome: Err(TimestampFailure {
            sub: SubIndication::FormatFailure,
            message: String::new(),
            vi: "",
        }),
        notes: Vec::new(),
    };
    check.outcome = run(
        &mut check,
        token,
        signature_value,
        signature_certs,
        trust,
        now,
    );
    match &check.outcome {
        Ok(_) => {
            check.summary.indication = Indication::TotalPassed;
            check.summary.sub_indication = None;
        }
        Err(failure) => {
            check.summary.indication = match failure.sub {
                SubIndication::FormatFailure
                | SubIndication::HashFailure
                | SubIndication::SigCryptoFailure => Indication::TotalFailed,
                _ => Indication::Indeterminate,
            };
            check.summary.sub_indication = Some(failure.sub);
        }
    }
    check
}

fn fail(sub: SubIndication, vi: &'static str, message: impl Into<String>) -> TimestampFailure {
    TimestampFailure {
        sub,
        message: format!("signature time-stamp: {}", message.into()),
        vi,
    }
}

const VI_FORMAT: &str = "dấu thời gian không đọc được";
const VI_IMPRINT: &str = "dấu thời gian không cấp cho chữ ký này";
const VI_CRYPTO: &str = "chữ ký của dấu thời gian không đúng";
const VI_TSA_CERT: &str = "không tìm thấy chứng thư số của đơn vị cấp dấu thời gian";
const VI_TSA_CHAIN: &str =
    "chứng thư số của đơn vị cấp dấu thời gian không thuộc tổ chức cung cấp dịch vụ tin cậy";
const VI_TSA_USAGE: &str =
    "chứng thư số của đơn vị cấp dấu thời gian không dùng để cấp dấu thời gian";
const VI_TSA_REVOKED: &str = "chứng thư số của đơn vị cấp dấu thời gian đã bị thu hồi";

fn run(
    check: &mut TimestampCheck,
    token: &[u8],
    signature_value: &[u8],
    signature_certs: &[X509],
    trust: &TrustStore,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, TimestampFailure> {
    use SubIndication as S;
    let format = |m: String| fail(S::FormatFailure, VI_FORMAT, m);

    // 1. Format: a SignedData over a TSTInfo, one signer.
    let parsed =
        cms::parse(token).map_err(|e| format(format!("the token is not a CMS SignedData: {e}")))?;
    if parsed.content_type != der::oid(oids::TST_INFO) {
        return Err(format(
            "the token's content is not a TSTInfo (id-ct-TSTInfo)".to_string(),
        ));
    }
    let Some(content) = parsed.content.as_deref() else {
        return Err(format("the token does not carry its TSTInfo".to_string()));
    };
    if parsed.signers.len() != 1 {
        return Err(format(format!(
            "the token has {} signers; RFC 3161 allows exactly one",
            parsed.signers.len()
        )));
    }
    let signer_info = &parsed.signers[0];
    let info = parse_tst_info(content).map_err(|e| format(format!("bad TSTInfo: {e}")))?;
    check.summary.gen_time = Some(info.gen_time);
    check.summary.serial = Some(hex(&info.serial));
    check.summary.hash_algorithm = Some(hash_name(&info.hash_algorithm));
    check.summary.policy = Some(oid_to_string(&info.policy));
    check.summary.accuracy_micros = info.accuracy_micros;
    if info.version != 1 {
        return Err(format(format!(
            "TSTInfo version {} (only version 1 exists)",
            info.version
        )));
    }
    let raw = der::parse_first(token)
        .map(|t| t.raw)
        .map_err(|e| format(e.to_string()))?;

    // 2. The TSA certificate: in the token, or else in the signature.
    let mut certs = Vec::new();
    for cert in &parsed.certificates {
        let cert = X509::from_der(cert)
            .map_err(|e| format(format!("a certificate in the token cannot be read: {e}")))?;
        certs.push(cert);
    }
    certs.extend(signature_certs.iter().cloned());
    let Some(tsa) = certs
        .iter()
        .find(|c| matches_sid(c, &signer_info.sid))
        .cloned()
    else {
        return Err(fail(
            S::NoSigningCertificateFound,
            VI_TSA_CERT,
            "the TSA certificate is neither in the token nor in the signature",
        ));
    };
    let tsa_subject = name_to_string(tsa.subject_name());
    check.summary.tsa = Some(tsa_subject.clone());
    match &signer_info.signing_certificate {
        Some((alg, expected)) => {
            let matches = digest_for(alg)
                .and_then(|md| tsa.digest(md).ok())
                .map(|d| d.as_ref() == expected.as_slice());
            if matches != Some(true) {
                return Err(fail(
                    S::NoSigningCertificateFound,
                    VI_TSA_CERT,
                    "the token's ESS signing-certificate attribute does not name the TSA certificate",
                ));
            }
        }
        None => check.notes.push(
            "signature time-stamp: the token lacks the ESS signing-certificate attribute RFC 3161 requires"
                .to_string(),
        ),
    }

    // 3. The token's signature value and digest, by OpenSSL (chain excluded).
    let crypto = || -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let mut cms_info = CmsContentInfo::from_der(raw)?;
        let mut stack = Stack::new()?;
        stack.push(tsa.clone())?;
        let store = X509StoreBuilder::new()?.build();
        let mut out = Vec::new();
        cms_info.verify(
            Some(&stack),
            Some(&store),
            None,
            Some(&mut out),
            CMSOptions::NO_SIGNER_CERT_VERIFY | CMSOptions::BINARY,
        )?;
        Ok(out)
    };
    match crypto() {
        Ok(out) if out == content => {}
        Ok(_) => {
            return Err(format(
                "OpenSSL verified other content than the TSTInfo read here".to_string(),
            ))
        }
        Err(e) => {
            return Err(fail(
                S::SigCryptoFailure,
                VI_CRYPTO,
                format!("the token's signature does not verify with the TSA's key: {e}"),
            ))
        }
    }

    // 4. The message imprint: the hash of the time-stamped signature's value.
    let Some(md) = digest_for(&info.hash_algorithm) else {
        return Err(format(format!(
            "unsupported message imprint hash algorithm {}",
            oid_to_string(&info.hash_algorithm)
        )));
    };
    if md.type_() == MessageDigest::sha1().type_() {
        check.notes.push(
            "signature time-stamp: the message imprint uses SHA-1, accepted but deprecated"
                .to_string(),
        );
    }
    match hash(md, signature_value) {
        Ok(d) if d.as_ref() == info.hashed_message.as_slice() => {}
        Ok(_) => {
            return Err(fail(
                S::HashFailure,
                VI_IMPRINT,
                "the messageImprint is not the hash of this signature's value: the token time-stamps other data",
            ))
        }
        Err(e) => return Err(format(format!("hashing failed: {e}"))),
    }

    // 5. The TSA chain to a configured root, at genTime.
    let chain = build_chain(&tsa, &certs, trust, info.gen_time).map_err(
        |ChainFailure { sub, message, .. }| {
            fail(
                sub,
                VI_TSA_CHAIN,
                format!("TSA certificate {tsa_subject}: {message}"),
            )
        },
    )?;

    // 6. The TSA's key purposes.
    let tsa_der = tsa.to_der().map_err(|e| format(e.to_string()))?;
    let usage = |m: String| fail(S::SigConstraintsFailure, VI_TSA_USAGE, m);
    match cms::extended_key_usage(&tsa_der) {
        Err(e) => {
            return Err(usage(format!(
                "the TSA certificate's extendedKeyUsage cannot be read: {e}"
            )))
        }
        Ok(None) => {
            return Err(usage(format!(
                "the TSA certificate {tsa_subject} has no extendedKeyUsage id-kp-timeStamping"
            )))
        }
        Ok(Some(cms::ExtendedKeyUsage { critical, purposes })) => {
            let time_stamping = der::oid(oids::KP_TIME_STAMPING);
            if !purposes.contains(&time_stamping) {
                return Err(usage(format!(
                    "the TSA certificate {tsa_subject}'s extendedKeyUsage lacks id-kp-timeStamping"
                )));
            }
            if purposes.len() > 1 {
                return Err(usage(format!(
                    "the TSA certificate {tsa_subject}'s extendedKeyUsage has other purposes than id-kp-timeStamping (RFC 3161 2.3)"
                )));
            }
            if !critical {
                return Err(usage(format!(
                    "the TSA certificate {tsa_subject}'s extendedKeyUsage is not critical (RFC 3161 2.3)"
                )));
            }
        }
    }
    match cms::key_usage(&tsa_der) {
        Ok(Some(bits)) if bits & KU_SIGNING == 0 => {
            return Err(usage(format!(
                "the TSA certificate {tsa_subject}'s keyUsage has neither digitalSignature nor nonRepudiation"
            )))
        }
        Ok(_) => {}
        Err(e) => {
            return Err(usage(format!(
                "the TSA certificate's keyUsage cannot be read: {e}"
            )))
        }
    }

    // 7. Revocation of the TSA chain in the configured CRLs.
    for (depth, pair) in chain.windows(2).enumerate() {
        let (cert, issuer) = (&pair[0], &pair[1]);
        let subject = name_to_string(cert.subject_name());
        match revocation(cert, issuer, trust) {
            Revocation::NotChecked => check.notes.push(format!(
                "signature time-stamp: revocation not checked for {subject}: no CRL from its issuer is configured"
            )),
            Revocation::Good => {}
            Revocation::Revoked(at) => {
                let when = at
                    .map(|at| format!("revoked at {at} (genTime {})", info.gen_time))
                    .unwrap_or_else(|| "revoked".to_string());
                let sub = if depth == 0 {
                    S::RevokedNoPoe
                } else {
                    S::RevokedCaNoPoe
                };
                return Err(fail(
                    sub,
                    VI_TSA_REVOKED,
                    format!("{subject} in the TSA's chain is {when}; its tokens cannot be relied on"),
                ));
            }
        }
    }

    if info.gen_time > now {
        check.notes.push(format!(
            "signature time-stamp: genTime {} is after the validation time {now}",
            info.gen_time
        ));
    }
    Ok(info.gen_time)
}

fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "0".to_string();
    }
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tst_info(gen_time: &str, tail: &[u8]) -> Vec<u8> {
        let imprint = der::cons(
            tag::SEQUENCE,
            &[
                &der::algorithm(&der::oid(oids::SHA256), false),
                &der::tlv(tag::OCTET_STRING, &[7; 32]),
            ],
        );
        der::cons(
            tag::SEQUENCE,
            &[
                &der::uint(&[1]),
                &der::tlv(tag::OID, &der::oid(&[1, 2, 3, 4])),
                &imprint,
                &der::uint(&[0x01, 0x02]),
                &der::tlv(tag::GENERALIZED_TIME, gen_time.as_bytes()),
                tail,
            ],
        )
    }

    #[test]
    fn tst_info_is_read_with_fractions_and_options() {
        let accuracy = der::cons(
            tag::SEQUENCE,
            &[
                &der::uint(&[1]),
                &der::tlv(tag::CTX0_PRIMITIVE, &[0x01, 0xf4]),
            ],
        );
        let nonce = der::uint(&[0x99, 0x01]);
        let info =
            parse_tst_info(&tst_info("20260102030405.25Z", &[accuracy, nonce].concat())).unwrap();
        assert_eq!(info.version, 1);
        assert_eq!(oid_to_string(&info.policy), "1.2.3.4");
        assert_eq!(hash_name(&info.hash_algorithm), "SHA-256");
        assert_eq!(info.serial, [1, 2]);
        assert_eq!(info.gen_time.to_rfc3339(), "2026-01-02T03:04:05.250+00:00");
        assert_eq!(info.accuracy_micros, Some(1_500_000));
        assert_eq!(info.nonce, Some(vec![0x99, 0x01]));
    }

    #[test]
    fn bad_tst_info_is_an_error_not_a_panic() {
        for t in [
            "20260102030405",
            "20260102030405.Z",
            "2026010203040.5Z",
            "20261302030405Z",
            "20260102030405.1234567891Z",
            "2026010203040xZ",
        ] {
            assert!(parse_tst_info(&tst_info(t, &[])).is_err(), "{t}");
        }
        let good = tst_info("20260102030405Z", &[]);
        for cut in 0..good.len() {
            assert!(parse_tst_info(&good[..cut]).is_err());
        }
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0xff;
            let _ = parse_tst_info(&bad);
        }
    }
}
