//! Verification of detached CMS signatures and of the signatures inside a PDF (PAdES), producing
//! a [`SignatureReport`] per signature. Verification never fails with an error: every problem
//! (even garbage input) is an indication in the report.
//!
//! Order of the checks, as in DSS: format, signer certificate, hash (messageDigest), signature
//! value (OpenSSL `CMS_verify`, which checks the messageDigest again), then the certificate
//! chain built to a configured root and checked AT THE CLAIMED SIGNING TIME, the signer's key
//! usage, revocation in the configured CRLs, and finally the time-stamp.
//!
//! Revocation: a B-B signature carries only a *claimed* signing time, which is no proof of
//! existence (POE). Following ETSI EN 319 102-1 (X.509 certificate validation, 5.2.6) and DSS,
//! a revoked signing certificate without POE gives INDETERMINATE / REVOKED_NO_POE (a revoked CA
//! certificate: REVOKED_CA_NO_POE), whether the revocation date falls before or after the
//! claimed signing time; the message says which. Only a verified signature time-stamp earlier
//! than the revocation could lift this, and time-stamps are not verified yet.

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
/// `now` is the validation time, used only when the signature has no `signingTime`.
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
    let who = report
        .signer
        .as_ref()
        .map(|s| format!(" của {}", common_name(&s.subject)))
        .unwrap_or_default();
    let when = report
        .signing_time
        .map(|t| format!(", ký lúc {}", t.format("%H:%M:%S ngày %d/%m/%Y (UTC)")))
        .unwrap_or_default();
    report.summary_vi = match (indication, sub) {
        (Indication::TotalPassed, _) => format!("Chữ ký số{who} hợp lệ{when}."),
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
        (Indication::Indeterminate, None) => format!(
            "Chưa xác định được tính hợp lệ của chữ ký số{who}: chưa kiểm tra được dấu thời gian."
        ),
    };
    report
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

    // 5. Chain to a configured root, at the claimed signing time.
    let check_time = match signer_info.signing_time {
        Some(t) => {
            if t > now {
                report.messages.push(format!(
                    "the claimed signing time {t} is after the validation time {now}"
                ));
            }
            t
        }
        None => {
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
        }) => {
            report.chain = chain
                .iter()
                .map(|c| name_to_string(c.subject_name()))
                .collect();
            if report.chain.is_empty() {
                report.chain.push(name_to_string(signer.subject_name()));
            }
            return finish(report, Indeterminate, Some(sub), message);
        }
    };
    report.chain = chain
        .iter()
        .map(|c| name_to_string(c.subject_name()))
        .collect();

    // 6. Key usage of the signer certificate.
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

    // 7. Revocation in the configured CRLs.
    for (depth, pair) in chain.windows(2).enumerate() {
        let (cert, issuer) = (&pair[0], &pair[1]);
        let subject = name_to_string(cert.subject_name());
        match revocation(cert, issuer, trust) {
            Revocation::NotChecked => report.messages.push(format!(
                "revocation not checked for {subject}: no CRL from its issuer is configured"
            )),
            Revocation::Good => {}
            Revocation::Revoked(at) => {
                let relation = match at {
                    Some(at) if at <= check_time => {
                        format!("revoked at {at}, before the claimed signing time {check_time}")
                    }
                    Some(at) => format!(
                        "revoked at {at}, after the claimed signing time {check_time}, which no time-stamp proves"
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
        }
    }

    // 8. Time-stamp.
    if signer_info.has_timestamp {
        return finish(
            report,
            Indeterminate,
            None,
            "a signature time-stamp (RFC 3161) is present but time-stamp verification is not implemented; the signature cannot be reported as TOTAL_PASSED",
        );
    }
    finish(report, TotalPassed, None, "")
}

fn matches_sid(cert: &X509, sid: &SignerId) -> bool {
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

fn digest_for(oid: &[u8]) -> Option<MessageDigest> {
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

struct ChainFailure {
    sub: SubIndication,
    message: String,
    chain: Vec<X509>,
}

/// Builds and checks the chain with OpenSSL at `at`; only `trust`'s roots are anchors, the
/// embedded certificates are untrusted intermediates. CRLs are checked separately (OpenSSL
/// would reject a CRL issued after the signing time as "not yet valid").
fn build_chain(
    signer: &X509,
    embedded: &[X509],
    trust: &TrustStore,
    at: DateTime<Utc>,
) -> Result<Vec<X509>, ChainFailure> {
    let fail = |message: String| ChainFailure {
        sub: SubIndication::CertificateChainGeneralFailure,
        message,
        chain: Vec::new(),
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
    })
}

enum Revocation {
    NotChecked,
    Good,
    Revoked(Option<DateTime<Utc>>),
}

/// Looks `cert` up in every configured CRL that `issuer` signed.
fn revocation(cert: &X509, issuer: &X509, trust: &TrustStore) -> Revocation {
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
