//! The validation report, modelled on the EU DSS "simple report" (ETSI EN 319 102-1
//! indications and sub-indications), and its text and HTML renderings for auditors.

use chrono::{DateTime, SecondsFormat, Utc};
use openssl::x509::X509NameRef;
use serde::Serialize;

/// The container the signature was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SignatureFormat {
    /// A detached CMS (CAdES) signature file.
    #[serde(rename = "CMS")]
    Cms,
    /// A signature inside a PDF (PAdES).
    #[serde(rename = "PAdES")]
    Pades,
}

/// The main result (ETSI EN 319 102-1 clause 5.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Indication {
    /// Every check passed.
    TotalPassed,
    /// The signature is definitely not valid.
    TotalFailed,
    /// The checks could not conclude (missing trust, expired or revoked without proof of
    /// existence, constraints...).
    Indeterminate,
}

/// Why the result is not TOTAL_PASSED (DSS / ETSI EN 319 102-1 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SubIndication {
    /// Not a signature, or the container (PDF structure, byte range) is wrong.
    FormatFailure,
    /// The signed document was changed: its digest differs from the signed one.
    HashFailure,
    /// The signature value does not verify with the signer's public key.
    SigCryptoFailure,
    /// The signer certificate is not among the embedded certificates.
    NoSigningCertificateFound,
    /// No chain from the signer to a configured trust anchor.
    NoCertificateChainFound,
    /// The chain was found but a certificate in it is unusable (bad CA flags, bad signature).
    CertificateChainGeneralFailure,
    /// A certificate was expired or not yet valid at the signing time.
    OutOfBoundsNoPoe,
    /// The signer certificate is revoked and no proof of existence predates the revocation.
    RevokedNoPoe,
    /// A CA certificate of the chain is revoked and no proof of existence predates it.
    RevokedCaNoPoe,
    /// The signer certificate may not be used for signatures (key usage), or a time-stamp's
    /// TSA certificate may not be used for time-stamping (extended key usage).
    SigConstraintsFailure,
    /// The signer certificate was revoked before the time a verified time-stamp proves the
    /// signature existed (with TOTAL_FAILED).
    Revoked,
    /// A verified time-stamp proves the signature existed before the signer certificate was
    /// issued (with TOTAL_FAILED).
    NotYetValid,
}

/// A signature time-stamp (RFC 3161 token in id-aa-signatureTimeStampToken) as verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimestampSummary {
    /// The token's genTime: when the TSA saw the signature (absent when unreadable).
    pub gen_time: Option<DateTime<Utc>>,
    /// The TSA certificate's subject, when it was found.
    pub tsa: Option<String>,
    /// The token's serial number in hexadecimal.
    pub serial: Option<String>,
    /// The message imprint's hash algorithm ("SHA-256").
    pub hash_algorithm: Option<String>,
    /// The TSA policy OID, dotted.
    pub policy: Option<String>,
    /// The accuracy of genTime in microseconds, when the token states it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy_micros: Option<u64>,
    /// The status of the time-stamp itself: TOTAL_PASSED when verified.
    pub indication: Indication,
    /// Why the time-stamp did not verify.
    pub sub_indication: Option<SubIndication>,
}

/// Who signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignerSummary {
    /// The signer certificate's subject, "CN=..., O=..., C=VN".
    pub subject: String,
    /// The certificate serial number in hexadecimal.
    pub serial: String,
    /// The certificate issuer.
    pub issuer: String,
}

/// The result for one signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureReport {
    /// CMS or PAdES.
    pub format: SignatureFormat,
    /// "B-B", or "B-T" when a signature time-stamp is present (whether it verified is
    /// [`SignatureReport::timestamp`]'s indication); absent when not a signature.
    pub level: Option<String>,
    /// For PAdES: the signature's `/ByteRange`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byte_range: Option<[u64; 4]>,
    /// For PAdES: the signature's `/SubFilter`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_filter: Option<String>,
    /// The signer, when the signer certificate was found.
    pub signer: Option<SignerSummary>,
    /// The claimed signing time (the `signingTime` signed attribute).
    pub signing_time: Option<DateTime<Utc>>,
    /// The signature time-stamp: the verified one with the earliest genTime, else the first
    /// that failed; absent without a time-stamp (and when verification stopped before it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<TimestampSummary>,
    /// When the validation ran.
    pub validation_time: DateTime<Utc>,
    /// Subjects from the signer to the trust anchor (as far as a chain was built).
    pub chain: Vec<String>,
    /// The main result.
    pub indication: Indication,
    /// The reason when not TOTAL_PASSED.
    pub sub_indication: Option<SubIndication>,
    /// Explanations, in English.
    pub messages: Vec<String>,
    /// A one-line summary in Vietnamese for the readable page.
    pub summary_vi: String,
}

impl SignatureReport {
    /// True when the indication is TOTAL_PASSED.
    pub fn passed(&self) -> bool {
        self.indication == Indication::TotalPassed
    }
}

impl SignatureFormat {
    /// "CMS" or "PAdES".
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureFormat::Cms => "CMS",
            SignatureFormat::Pades => "PAdES",
        }
    }
}

impl Indication {
    /// The ETSI name.
    pub fn as_str(self) -> &'static str {
        match self {
            Indication::TotalPassed => "TOTAL_PASSED",
            Indication::TotalFailed => "TOTAL_FAILED",
            Indication::Indeterminate => "INDETERMINATE",
        }
    }
}

impl SubIndication {
    /// The ETSI / DSS name.
    pub fn as_str(self) -> &'static str {
        match self {
            SubIndication::FormatFailure => "FORMAT_FAILURE",
            SubIndication::HashFailure => "HASH_FAILURE",
            SubIndication::SigCryptoFailure => "SIG_CRYPTO_FAILURE",
            SubIndication::NoSigningCertificateFound => "NO_SIGNING_CERTIFICATE_FOUND",
            SubIndication::NoCertificateChainFound => "NO_CERTIFICATE_CHAIN_FOUND",
            SubIndication::CertificateChainGeneralFailure => "CERTIFICATE_CHAIN_GENERAL_FAILURE",
            SubIndication::OutOfBoundsNoPoe => "OUT_OF_BOUNDS_NO_POE",
            SubIndication::RevokedNoPoe => "REVOKED_NO_POE",
            SubIndication::RevokedCaNoPoe => "REVOKED_CA_NO_POE",
            SubIndication::SigConstraintsFailure => "SIG_CONSTRAINTS_FAILURE",
            SubIndication::Revoked => "REVOKED",
            SubIndication::NotYetValid => "NOT_YET_VALID",
        }
    }

    /// The Vietnamese reason used in `summaryVi`.
    pub(crate) fn vi(self) -> &'static str {
        match self {
            SubIndication::FormatFailure => "không phải chữ ký số hợp lệ hoặc cấu trúc tệp sai",
            SubIndication::HashFailure => "tài liệu đã bị thay đổi sau khi ký",
            SubIndication::SigCryptoFailure => "giá trị chữ ký không đúng",
            SubIndication::NoSigningCertificateFound => "không tìm thấy chứng thư số của người ký",
            SubIndication::NoCertificateChainFound => {
                "không xây dựng được chuỗi chứng thư tới tổ chức cung cấp dịch vụ tin cậy"
            }
            SubIndication::CertificateChainGeneralFailure => "chuỗi chứng thư số không hợp lệ",
            SubIndication::OutOfBoundsNoPoe => {
                "chứng thư số đã hết hạn hoặc chưa có hiệu lực tại thời điểm ký"
            }
            SubIndication::RevokedNoPoe => "chứng thư số của người ký đã bị thu hồi",
            SubIndication::RevokedCaNoPoe => "chứng thư số của tổ chức cấp đã bị thu hồi",
            SubIndication::SigConstraintsFailure => {
                "chứng thư số không được phép dùng để ký (mục đích sử dụng khóa)"
            }
            SubIndication::Revoked => {
                "chứng thư số của người ký đã bị thu hồi trước thời điểm ký được dấu thời gian xác nhận"
            }
            SubIndication::NotYetValid => {
                "chữ ký có trước thời điểm chứng thư số của người ký có hiệu lực"
            }
        }
    }
}

/// Formats a name as "CN=..., O=..., C=..." (most specific first), UTF-8.
pub(crate) fn name_to_string(name: &X509NameRef) -> String {
    let mut parts: Vec<String> = name
        .entries()
        .map(|entry| {
            let key = entry.object().nid().short_name().unwrap_or("?").to_string();
            let value = entry.data().to_string().unwrap_or_else(|_| "?".to_string());
            format!("{key}={value}")
        })
        .collect();
    parts.reverse();
    parts.join(", ")
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// "genTime by TSA (serial, hash): status" for one time-stamp.
fn timestamp_line(ts: &TimestampSummary) -> String {
    let status = match ts.sub_indication {
        Some(sub) => format!("{} / {}", ts.indication.as_str(), sub.as_str()),
        None => ts.indication.as_str().to_string(),
    };
    let mut line = ts
        .gen_time
        .as_ref()
        .map(time_precise)
        .unwrap_or_else(|| "-".into());
    if let Some(tsa) = &ts.tsa {
        line.push_str(&format!(" by {tsa}"));
    }
    let mut details = Vec::new();
    if let Some(serial) = &ts.serial {
        details.push(format!("serial {serial}"));
    }
    if let Some(alg) = &ts.hash_algorithm {
        details.push(alg.clone());
    }
    if !details.is_empty() {
        line.push_str(&format!(" ({})", details.join(", ")));
    }
    line.push_str(&format!(": {status}"));
    line
}

fn time_precise(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A readable text page: one block per signature.
pub fn report_text(reports: &[SignatureReport]) -> String {
    let mut out = String::new();
    if reports.is_empty() {
        out.push_str("No signature found.\nKhông tìm thấy chữ ký số.\n");
        return out;
    }
    for (i, r) in reports.iter().enumerate() {
        out.push_str(&format!("Signature {} of {}\n", i + 1, reports.len()));
        let indication = match r.sub_indication {
            Some(sub) => format!("{} / {}", r.indication.as_str(), sub.as_str()),
            None => r.indication.as_str().to_string(),
        };
        let mut field = |k: &str, v: &str| out.push_str(&format!("  {k:<16}{v}\n"));
        field("Result:", &indication);
        field("Kết luận:", &r.summary_vi);
        let level = r.level.as_deref().unwrap_or("-");
        field("Format:", &format!("{} {level}", r.format.as_str()));
        if let Some(range) = r.byte_range {
            field("Byte range:", &format!("{range:?}"));
        }
        if let Some(sub) = &r.sub_filter {
            field("SubFilter:", sub);
        }
        if let Some(s) = &r.signer {
            field("Signer:", &s.subject);
            field("Serial:", &s.serial);
            field("Issuer:", &s.issuer);
        }
        field(
            "Signing time:",
            &r.signing_time
                .as_ref()
                .map(time)
                .unwrap_or_else(|| "-".into()),
        );
        if let Some(ts) = &r.timestamp {
            field("Time-stamp:", &timestamp_line(ts));
        }
        field("Validated at:", &time(&r.validation_time));
        for (depth, subject) in r.chain.iter().enumerate() {
            field(
                if depth == 0 { "Chain:" } else { "" },
                &format!("{}{subject}", "  ".repeat(depth)),
            );
        }
        for m in &r.messages {
            field("Note:", m);
        }
        out.push('\n');
    }
    out
}

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A self-contained HTML page (inline CSS, no scripts, every value escaped).
pub fn report_html(reports: &[SignatureReport]) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">\
         <title>Kết quả kiểm tra chữ ký số</title><style>\
         body{font-family:sans-serif;max-width:60em;margin:2em auto}\
         table{border-collapse:collapse;width:100%;margin-bottom:2em}\
         th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\
         th{width:12em;background:#f4f4f4}.TOTAL_PASSED{color:#060}\
         .TOTAL_FAILED{color:#a00}.INDETERMINATE{color:#a60}</style></head><body>\n\
         <h1>Kết quả kiểm tra chữ ký số / Signature validation report</h1>\n",
    );
    if reports.is_empty() {
        out.push_str("<p>Không tìm thấy chữ ký số. No signature found.</p>\n");
    }
    for (i, r) in reports.iter().enumerate() {
        out.push_str(&format!(
            "<h2>Chữ ký {} / {}</h2>\n<table>\n",
            i + 1,
            reports.len()
        ));
        let mut row = |k: &str, v: String| {
            out.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>\n", esc(k), v));
        };
        let sub = r
            .sub_indication
            .map(|s| format!(" / {}", s.as_str()))
            .unwrap_or_default();
        row(
            "Kết luận / Result",
            format!(
                "<strong class=\"{}\">{}{}</strong><br>{}",
                r.indication.as_str(),
                r.indication.as_str(),
                esc(&sub),
                esc(&r.summary_vi)
            ),
        );
        row(
            "Format",
            esc(&format!(
                "{} {}",
                r.format.as_str(),
                r.level.as_deref().unwrap_or("-")
            )),
        );
        if let Some(s) = &r.signer {
            row("Người ký / Signer", esc(&s.subject));
            row("Số hiệu / Serial", esc(&s.serial));
            row("Tổ chức cấp / Issuer", esc(&s.issuer));
        }
        row(
            "Thời điểm ký / Signing time",
            esc(&r
                .signing_time
                .as_ref()
                .map(time)
                .unwrap_or_else(|| "-".into())),
        );
        if let Some(ts) = &r.timestamp {
            row("Dấu thời gian / Time-stamp", esc(&timestamp_line(ts)));
        }
        row(
            "Kiểm tra lúc / Validated at",
            esc(&time(&r.validation_time)),
        );
        if !r.chain.is_empty() {
            let items: Vec<String> = r
                .chain
                .iter()
                .map(|c| format!("<li>{}</li>", esc(c)))
                .collect();
            row(
                "Chuỗi chứng thư / Chain",
                format!("<ol>{}</ol>", items.concat()),
            );
        }
        if !r.messages.is_empty() {
            let items: Vec<String> = r
                .messages
                .iter()
                .map(|m| format!("<li>{}</li>", esc(m)))
                .collect();
            row("Ghi chú / Notes", format!("<ul>{}</ul>", items.concat()));
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_everything() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
