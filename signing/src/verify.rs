//! Verification of detached CMS signatures and of the signatures inside a PDF (PAdES), producing
//! a [`SignatureReport`] per signature. Verification never fails with an error: every problem
//! (even garbage input) is an indication in the report.
//!
//! Order of the checks, as in DSS: format, signer certificate, hash (messageDigest), signature
//! value (OpenSSL `CMS_verify`, which checks the messageDigest again), the signature
//! time-stamp when there is one ([`crate::timestamp`]), then the certificate chain built to a
//! configured root and checked at the best-signature-time, the signer's key usage and
//! revocation in the configured CRLs.
//!
//! The best-signature-time (ETSI EN 319 102-1) is the genTime of a verified signature
//! time-stamp (RFC 3161, id-aa-signatureTimeStampToken), which is a proof of existence (POE) of
//! the signature; without one it is the claimed `signingTime` (no proof), else the validation
//! time. With a POE: a signer certificate expired now but valid at genTime passes; one not yet
//! valid at genTime is TOTAL_FAILED / NOT_YET_VALID; one revoked after genTime passes, one
//! revoked at or before genTime is TOTAL_FAILED / REVOKED (a CA certificate revoked before
//! genTime: INDETERMINATE / REVOKED_CA_NO_POE); a claimed signing time later than genTime is
//! flagged as suspicious. Without a POE, following ETSI EN 319 102-1 (X.509 certificate
//! validation, 5.2.6) and DSS, a revoked signing certificate gives INDETERMINATE /
//! REVOKED_NO_POE (a revoked CA certificate: REVOKED_CA_NO_POE), whether the revocation date
//! falls before or after the claimed signing time; the message says which.
//!
//! A time-stamp that does not verify (garbage, another signature's imprint, an untrusted or
//! revoked TSA, a TSA certificate without the time-stamping purpose, a bad token signature)
//! gives no POE; if the signature is otherwise fine the result is INDETERMINATE with the
//! time-stamp's sub-indication (FORMAT_FAILURE, HASH_FAILURE, SIG_CRYPTO_FAILURE,
//! NO_SIGNING_CERTIFICATE_FOUND, NO_CERTIFICATE_CHAIN_FOUND, OUT_OF_BOUNDS_NO_POE,
//! SIG_CONSTRAINTS_FAILURE, REVOKED_NO_POE...) and a message naming the time-stamp: a
//! signature carrying a time-stamp never passes unless the time-stamp does. Of several
//! time-stamps, the verified one with the earliest genTime is used.

use chrono::{DateTime, Utc};
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::hash::{hash, MessageDigest};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{CrlStatus, X509StoreContext, X509};

use crate::cms::{self, ParsedSigner, SignerId};
use crate::der;
use crate::oids;
use crate::pdf;
use crate::report::{
    name_to_string, Indication, SignatureFormat, SignatureReport, SignerSummary, SubIndication,
};
use crate::timestamp::{self, TimestampFailure};
use crate::trust::TrustStore;

// OpenSSL X509_V_ERR_* codes (stable across OpenSSL 1.1 and 3.x).
const ERR_UNABLE_TO_GET_ISSUER_CERT: i32 = 2;
const ERR_CERT_NOT_YET_VALID: i32 = 9;
const ERR_CERT_HAS_EXPIRED: i32 = 10;
const ERR_DEPTH_ZERO_SELF_SIGNED_CERT: i32 = 18;
const ERR_SELF_SIGNED_CERT_IN_CHAIN: i32 = 19;
const ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: i32 = 20;
const ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: i32 = 21;

/// keyUsage bits digitalSignature (0) and nonRepudiation (1) in [`cms::key_usage`]'s layout.
const KU_DIGITAL_SIGNATURE: u16 = 0x8000;
const KU_NON_REPUDIATION: u16 = 0x4000;

/// Verifies a detached CMS signature (DER) over `data`.
///
/// `now` is the validation time; the chain is checked at it only when the signature has neither
/// a verified time-stamp nor a `signingTime`.
pub fn verify_detached(
    data: &[u8],
    signature_der: &[u8],
    trust: &TrustStore,
    now: DateTime<Utc>,
) -> SignatureReport {
    let report = new_report(SignatureFormat::Cms, now);
    verify_cms(report, data, signature_der, trust, now)
}

/// Verifies every signature of a PDF (each dictionary with a `/ByteRange`), in file order.
/// A PDF without any signature gives an empty list.
pub fn verify_pdf(
    pdf_bytes: &[u8],
    trust: &TrustStore,
    now: DateTime<Utc>,
) -> Vec<SignatureReport> {
    pdf::find_signatures(pdf_bytes)
        .into_iter()
        .map(|sig| {
            let mut report = new_report(SignatureFormat::Pades, now);
            report.byte_range = sig.byte_range;
            report.sub_filter = sig.sub_filter.clone();
            match sig.signed_content {
                Ok((signed, contents)) => verify_cms(report, &signed, &contents, trust, now),
                Err(problem) => finish(
                    report,
                    Indication::TotalFailed,
                    Some(SubIndication::FormatFailure),
                    problem,
                ),
            }
        })
        .collect()
}

fn new_report(format: SignatureFormat, now: DateTime<Utc>) -> SignatureReport {
    SignatureReport {
        format,
        level: None,
        byte_range: None,
        sub_filter: None,
        signer: None,
        signing_time: None,
        timestamp: None,
        validation_time: now,
        chain: Vec::new(),
        indication: Indication::Indeterminate,
        sub_indication: None,
        messages: Vec::new(),
        summary_vi: String::new(),
    }
}

/// Sets the result, adds the message and writes the Vietnamese summary.
fn finish(
    mut report: SignatureReport,
    indication: Indication,
    sub: Option<SubIndication>,
    message: impl Into<String>,
) -> SignatureReport {
    let message = message.into();
    if !message.is_empty() {
        report.messages.push(message);
    }
    report.indication = indication;
    report.sub_indication = sub;
    let who = who_vi(&report);
    let when = report
        .signing_time
        .map(|t| format!(", ký lúc {}", t.format("%H:%M:%S ngày %d/%m/%Y (UTC)")))
        .unwrap_or_default();
    let stamped = report
        .timestamp
        .as_ref()
        .filter(|ts| ts.indication == Indication::TotalPassed)
        .and_then(|ts| ts.gen_time)
        .map(|t| {
            format!(
                ", có dấu thời gian lúc {}",
                t.format("%H:%M:%S ngày %d/%m/%Y (UTC)")
            )
        })
        .unwrap_or_default();
    report.summary_vi = match (indication, sub) {
        (Indication::TotalPassed, _) => format!("Chữ ký số{who} hợp lệ{when}{stamped}."),
        (Indication::TotalFailed, Some(sub)) => {
            format!("Chữ ký số{who} KHÔNG hợp lệ: {}.", sub.vi())
        }
        (Indication::TotalFailed, None) => format!("Chữ ký số{who} KHÔNG hợp lệ."),
        (Indication::Indeterminate, Some(sub)) => {
            format!(
                "Chưa xác định được tính hợp lệ của chữ ký số{who}: {}.",
                sub.vi()
            )
        }
        (Indication::Indeterminate, None) => {
            format!("Chưa xác định được tính hợp lệ của chữ ký số{who}.")
        }
    };
    report
}

/// Ends with the failure of the signature time-stamp: INDETERMINATE with its sub-indication
/// (its message is already among the report's messages).
fn finish_timestamp(report: SignatureReport, failure: TimestampFailure) -> SignatureReport {
    let mut report = finish(report, Indication::Indeterminate, Some(failure.sub), "");
    report.summary_vi = format!(
        "Chưa xác định được tính hợp lệ của chữ ký số{}: {}.",
        who_vi(&report),
        failure.vi
    );
    report
}

fn who_vi(report: &SignatureReport) -> String {
    report
        .signer
        .as_ref()
        .map(|s| format!(" của {}", common_name(&s.subject)))
        .unwrap_or_default()
}

fn common_name(subject: &str) -> &str {
    subject
        .split(", ")
        .find_map(|part| part.strip_prefix("CN="))
        .unwrap_or(subject)
}

fn verify_cms(
    mut report: SignatureReport,
    data: &[u8],
    signature: &[u8],
    trust: &TrustStore,
    now: DateTime<Utc>,
) -> SignatureReport {
    use Indication::{Indeterminate, TotalFailed, TotalPassed};
    use SubIndication as S;

    // 1. Format.
    let parsed = match cms::parse(signature) {
        Ok(parsed) => parsed,
        Err(e) => {
            return finish(
                report,
                TotalFailed,
                Some(S::FormatFailure),
                format!("not a CMS SignedData signature: {e}"),
            )
        }
    };
    let raw = match der::parse_first(signature) {
        Ok(tlv) => tlv.raw,
        Err(e) => return finish(report, TotalFailed, Some(S::FormatFailure), e.to_string()),
    };
    let mut cms_info = match CmsContentInfo::from_der(raw) {
        Ok(c) => c,
        Err(e) => {
            return finish(
                report,
                TotalFailed,
                Some(S::FormatFailure),
                format!("OpenSSL cannot read the CMS structure: {e}"),
            )
        }
    };
    if !parsed.detached {
        return finish(
            report,
            TotalFailed,
            Some(S::FormatFailure),
            "the signature encapsulates its content; a detached signature is expected",
        );
    }
    if parsed.signers.len() > 1 {
        report.messages.push(format!(
            "the CMS has {} signers; this report describes the first, and all must verify",
            parsed.signers.len()
        ));
    }
    let signer_info: &ParsedSigner = &parsed.signers[0];
    report.level = Some(
        if signer_info.has_timestamp {
            "B-T"
        } else {
            "B-B"
        }
        .to_string(),
    );
    report.signing_time = signer_info.signing_time;

    let mut certs = Vec::new();
    for der_cert in &parsed.certificates {
        match X509::from_der(der_cert) {
            Ok(c) => certs.push(c),
            Err(e) => {
                return finish(
                    report,
                    TotalFailed,
                    Some(S::FormatFailure),
                    format!("an embedded certificate cannot be read: {e}"),
                )
            }
        }
    }

    // 2. Signer certificate.
    let Some(signer) = certs
        .iter()
        .find(|c| matches_sid(c, &signer_info.sid))
        .cloned()
    else {
        return finish(
            report,
            Indeterminate,
            Some(S::NoSigningCertificateFound),
            "the signer certificate is not embedded in the signature",
        );
    };
    // The ESS signingCertificateV2 attribute, when present, must name this very certificate
    // (it protects against substituting another certificate with the same key).
    if let Some((alg, expected)) = &signer_info.signing_certificate {
        let matches = digest_for(alg)
            .and_then(|md| signer.digest(md).ok())
            .map(|d| d.as_ref() == expected.as_slice());
        if matches != Some(true) {
            return finish(
                report,
                Indeterminate,
                Some(S::NoSigningCertificateFound),
                "the signingCertificateV2 attribute does not match the embedded signer certificate",
            );
        }
    }
    report.signer = Some(SignerSummary {
        subject: name_to_string(signer.subject_name()),
        serial: signer
            .serial_number()
            .to_bn()
            .and_then(|bn| bn.to_hex_str().map(|s| s.to_string()))
            .unwrap_or_default(),
        issuer: name_to_string(signer.issuer_name()),
    });

    // 3. Hash of the signed data against the messageDigest attribute.
    let Some(md) = digest_for(&signer_info.digest_oid) else {
        return finish(
            report,
            TotalFailed,
            Some(S::FormatFailure),
            "unsupported digest algorithm",
        );
    };
    if signer_info.has_signed_attrs {
        let Some(expected) = &signer_info.message_digest else {
            return finish(
                report,
                TotalFailed,
                Some(S::FormatFailure),
                "the signed attributes lack messageDigest",
            );
        };
        match hash(md, data) {
            Ok(actual) if actual.as_ref() == expected.as_slice() => {}
            Ok(_) => {
                return finish(
                    report,
                    TotalFailed,
                    Some(S::HashFailure),
                    "the document's digest differs from the signed messageDigest: the document was changed after signing",
                )
            }
            Err(e) => return finish(report, Indeterminate, None, format!("hashing failed: {e}")),
        }
    } else {
        report
            .messages
            .push("the signature has no signed attributes (no signingTime)".to_string());
    }

    // 4. Signature value (and messageDigest again) by OpenSSL, chain excluded.
    let crypto = X509StoreBuilder::new().and_then(|b| {
        let store = b.build();
        cms_info.verify(
            None,
            Some(&store),
            Some(data),
            None,
            CMSOptions::NO_SIGNER_CERT_VERIFY | CMSOptions::BINARY,
        )
    });
    if let Err(e) = crypto {
        let sub = if signer_info.has_signed_attrs {
            S::SigCryptoFailure
        } else {
            // Without signed attributes a changed document and a wrong value look alike.
            S::HashFailure
        };
        return finish(
            report,
            TotalFailed,
            Some(sub),
            format!("the signature value does not verify with the signer's public key: {e}"),
        );
    }

    // 5. Signature time-stamp(s): a verified one is a proof of existence at its genTime.
    let mut poe: Option<DateTime<Utc>> = None;
    let mut timestamp_failure: Option<TimestampFailure> = None;
    if signer_info.has_timestamp {
        let checks: Vec<_> = signer_info
            .timestamp_tokens
            .iter()
            .map(|token| timestamp::verify_token(token, &signer_info.signature, &certs, trust, now))
            .collect();
        if checks.is_empty() {
            timestamp_failure = Some(TimestampFailure {
                sub: S::FormatFailure,
                message: "signature time-stamp: the attribute holds no token".to_string(),
                vi: "dấu thời gian không đọc được",
            });
        }
        for check in &checks {
            report.messages.extend(check.notes.iter().cloned());
            match &check.outcome {
                Ok(gen_time) => {
                    if poe.is_none_or(|p| *gen_time < p) {
                        poe = Some(*gen_time);
                        report.timestamp = Some(check.summary.clone());
                    }
                }
                Err(failure) => {
                    report.messages.push(failure.message.clone());
                    if timestamp_failure.is_none() {
                        timestamp_failure = Some(failure.clone());
                    }
                }
            }
        }
        if poe.is_some() {
            // A verified time-stamp stands; others that failed are only noted.
            timestamp_failure = None;
        } else if let Some(first) = checks.first() {
            report.timestamp = Some(first.summary.clone());
        }
    }

    // 6. Chain to a configured root, at the best-signature-time.
    let check_time = match (poe, signer_info.signing_time) {
        (Some(gen_time), claimed) => {
            if let Some(t) = claimed.filter(|t| *t > gen_time) {
                report.messages.push(format!(
                    "suspicious: the claimed signing time {t} is after the time-stamp's genTime {gen_time}, yet a signature cannot be time-stamped before it is made"
                ));
            }
            report.messages.push(format!(
                "the signature existed at {gen_time} (verified time-stamp): the chain is checked at that time"
            ));
            gen_time
        }
        (None, Some(t)) => {
            if t > now {
                report.messages.push(format!(
                    "the claimed signing time {t} is after the validation time {now}"
                ));
            }
            t
        }
        (None, None) => {
            report.messages.push(
                "no signingTime attribute: the chain is checked at the validation time".to_string(),
            );
            now
        }
    };
    let chain = match build_chain(&signer, &certs, trust, check_time) {
        Ok(chain) => chain,
        Err(ChainFailure {
            sub,
            message,
            chain,
            code,
            depth,
        }) => {
            report.chain = chain
                .iter()
                .map(|c| name_to_string(c.subject_name()))
                .collect();
            if report.chain.is_empty() {
                report.chain.push(name_to_string(signer.subject_name()));
            }
            if poe.is_some() && code == ERR_CERT_NOT_YET_VALID && depth == 0 {
                return finish(
                    report,
                    TotalFailed,
                    Some(S::NotYetValid),
                    format!("{message}: the time-stamp proves the signature existed before the signer certificate was issued"),
                );
            }
            return finish(report, Indeterminate, Some(sub), message);
        }
    };
    report.chain = chain
        .iter()
        .map(|c| name_to_string(c.subject_name()))
        .collect();

    // 7. Key usage of the signer certificate.
    let usage = signer
        .to_der()
        .map_err(|e| e.to_string())
        .and_then(|d| cms::key_usage(&d).map_err(|e| e.to_string()));
    match usage {
        Ok(Some(bits)) if bits & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION) == 0 => {
            return finish(
                report,
                Indeterminate,
                Some(S::SigConstraintsFailure),
                "the signer certificate's keyUsage has neither digitalSignature nor nonRepudiation",
            )
        }
        Ok(_) => {}
        Err(e) => {
            return finish(
                report,
                Indeterminate,
                Some(S::SigConstraintsFailure),
                format!("the signer certificate's keyUsage cannot be read: {e}"),
            )
        }
    }

    // 8. Revocation in the configured CRLs.
    for (depth, pair) in chain.windows(2).enumerate() {
        let (cert, issuer) = (&pair[0], &pair[1]);
        let subject = name_to_string(cert.subject_name());
        match revocation(cert, issuer, trust) {
            Revocation::NotChecked => report.messages.push(format!(
                "revocation not checked for {subject}: no CRL from its issuer is configured"
            )),
            Revocation::Good => {}
            Revocation::Revoked(at) => match (poe, at) {
                (Some(gen_time), Some(at)) if at > gen_time => {
                    report.messages.push(format!(
                        "{subject} was revoked at {at}, after the time-stamp's genTime {gen_time}: the signature existed before the revocation"
                    ));
                }
                (Some(gen_time), at) => {
                    let when = at
                        .map(|at| {
                            format!("revoked at {at}, before the time-stamp's genTime {gen_time}")
                        })
                        .unwrap_or_else(|| "revoked (unreadable revocation date)".to_string());
                    let (indication, sub) = if depth == 0 {
                        (TotalFailed, S::Revoked)
                    } else {
                        (Indeterminate, S::RevokedCaNoPoe)
                    };
                    return finish(
                        report,
                        indication,
                        Some(sub),
                        format!("{subject} is {when}"),
                    );
                }
                (None, at) => {
                    let relation = match at {
                        Some(at) if at <= check_time => {
                            format!("revoked at {at}, before the claimed signing time {check_time}")
                        }
                        Some(at) => format!(
                            "revoked at {at}, after the claimed signing time {check_time}, which no verified time-stamp proves"
                        ),
                        None => "revoked (unreadable revocation date)".to_string(),
                    };
                    let sub = if depth == 0 {
                        S::RevokedNoPoe
                    } else {
                        S::RevokedCaNoPoe
                    };
                    return finish(
                        report,
                        Indeterminate,
                        Some(sub),
                        format!("{subject} is {relation}"),
                    );
                }
            },
        }
    }

    // 9. A time-stamp that did not verify leaves the signature undecided.
    if let Some(failure) = timestamp_failure {
        return finish_timestamp(report, failure);
    }
    finish(report, TotalPassed, None, "")
}

pub(crate) fn matches_sid(cert: &X509, sid: &SignerId) -> bool {
    match sid {
        SignerId::IssuerSerial { issuer, serial } => {
            let serial_ok = cert
                .serial_number()
                .to_bn()
                .map(|bn| bn.to_vec() == *serial)
                .unwrap_or(false);
            let issuer_ok = cert
                .issuer_name()
                .to_der()
                .map(|d| d == *issuer)
                .unwrap_or(false);
            serial_ok && issuer_ok
        }
        SignerId::KeyId(id) => cert
            .subject_key_id()
            .map(|k| k.as_slice() == id.as_slice())
            .unwrap_or(false),
    }
}

pub(crate) fn digest_for(oid: &[u8]) -> Option<MessageDigest> {
    let table = [
        (oids::SHA256, MessageDigest::sha256()),
        (oids::SHA384, MessageDigest::sha384()),
        (oids::SHA512, MessageDigest::sha512()),
        (oids::SHA1, MessageDigest::sha1()),
    ];
    table
        .into_iter()
        .find(|(arcs, _)| der::oid(arcs) == oid)
        .map(|(_, md)| md)
}

pub(crate) struct ChainFailure {
    pub sub: SubIndication,
    pub message: String,
    pub chain: Vec<X509>,
    /// The OpenSSL X509_V_ERR code (0 when chain building could not run).
    pub code: i32,
    /// The depth of the certificate in error (0: the leaf).
    pub depth: u32,
}

/// Builds and checks the chain with OpenSSL at `at`; only `trust`'s roots are anchors, the
/// embedded certificates are untrusted intermediates. CRLs are checked separately (OpenSSL
/// would reject a CRL issued after the signing time as "not yet valid").
pub(crate) fn build_chain(
    signer: &X509,
    embedded: &[X509],
    trust: &TrustStore,
    at: DateTime<Utc>,
) -> Result<Vec<X509>, ChainFailure> {
    let fail = |message: String| ChainFailure {
        sub: SubIndication::CertificateChainGeneralFailure,
        message,
        chain: Vec::new(),
        code: 0,
        depth: 0,
    };
    let setup = || -> Result<_, openssl::error::ErrorStack> {
        let mut builder = X509StoreBuilder::new()?;
        for root in trust.roots() {
            builder.add_cert(root.clone())?;
        }
        let mut param = X509VerifyParam::new()?;
        // `time_t` is `i64` on the 64-bit targets motcua runs on.
        param.set_time(at.timestamp());
        builder.set_param(&param)?;
        let mut untrusted = Stack::new()?;
        for cert in embedded {
            untrusted.push(cert.clone())?;
        }
        Ok((builder.build(), untrusted))
    };
    let (store, untrusted) =
        setup().map_err(|e| fail(format!("cannot set up chain building: {e}")))?;
    let mut ctx = X509StoreContext::new().map_err(|e| fail(e.to_string()))?;
    let outcome = ctx
        .init(&store, signer, &untrusted, |c| {
            let ok = c.verify_cert()?;
            let error = c.error();
            let depth = c.error_depth();
            let culprit = c.current_cert().map(|x| name_to_string(x.subject_name()));
            let chain: Vec<X509> = c
                .chain()
                .map(|s| s.iter().map(|x| x.to_owned()).collect())
                .unwrap_or_default();
            Ok((ok, error, depth, culprit, chain))
        })
        .map_err(|e| fail(format!("chain building failed: {e}")))?;
    let (ok, error, depth, culprit, chain) = outcome;
    if ok {
        return Ok(chain);
    }
    let sub = match error.as_raw() {
        ERR_CERT_NOT_YET_VALID | ERR_CERT_HAS_EXPIRED => SubIndication::OutOfBoundsNoPoe,
        ERR_UNABLE_TO_GET_ISSUER_CERT
        | ERR_DEPTH_ZERO_SELF_SIGNED_CERT
        | ERR_SELF_SIGNED_CERT_IN_CHAIN
        | ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        | ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE => SubIndication::NoCertificateChainFound,
        _ => SubIndication::CertificateChainGeneralFailure,
    };
    let who = culprit.map(|c| format!(" ({c})")).unwrap_or_default();
    Err(ChainFailure {
        sub,
        message: format!(
            "certificate chain at {at}: {} at depth {depth}{who}",
            error.error_string()
        ),
        chain,
        code: error.as_raw(),
        depth,
    })
}

pub(crate) enum Revocation {
    NotChecked,
    Good,
    Revoked(Option<DateTime<Utc>>),
}

/// Looks `cert` up in every configured CRL that `issuer` signed.
pub(crate) fn revocation(cert: &X509, issuer: &X509, trust: &TrustStore) -> Revocation {
    let Ok(issuer_key) = issuer.public_key() else {
        return Revocation::NotChecked;
    };
    let mut checked = false;
    for crl in trust.crls() {
        let same_issuer = crl
            .issuer_name()
            .try_cmp(issuer.subject_name())
            .map(|o| o.is_eq())
            .unwrap_or(false);
        if !same_issuer || !crl.verify(&issuer_key).unwrap_or(false) {
            continue;
        }
        checked = true;
        if let CrlStatus::Revoked(entry) = crl.get_by_serial(cert.serial_number()) {
            return Revocation::Revoked(asn1_to_utc(entry.revocation_date()));
        }
    }
    if checked {
        Revocation::Good
    } else {
        Revocation::NotChecked
    }
}

fn asn1_to_utc(t: &Asn1TimeRef) -> Option<DateTime<Utc>> {
    let epoch = Asn1Time::from_unix(0).ok()?;
    let diff = epoch.diff(t).ok()?;
    DateTime::from_timestamp(i64::from(diff.days) * 86_400 + i64::from(diff.secs), 0)
}
