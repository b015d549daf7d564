//! End-to-end signing and verification against a real test PKI made at test time.

mod common;

use chrono::{DateTime, Utc};
use common::*;
use motcua_signing::openssl::cms::{CMSOptions, CmsContentInfo};
use motcua_signing::openssl::pkcs12::Pkcs12;
use motcua_signing::openssl::stack::Stack;
use motcua_signing::openssl::x509::store::X509StoreBuilder;
use motcua_signing::{
    load_pem_key_and_cert, load_pkcs12, report_html, report_text, verify_detached, verify_pdf,
    Indication, SignatureFormat, SignatureReport, SubIndication, TrustStore,
};

const DOC: &[u8] = b"%PDF-1.4 ho so 000.00.00.H57-260101-0001: Giay khai sinh (ban so hoa)";

fn trust(pki: &Pki) -> TrustStore {
    let mut t = TrustStore::new();
    assert_eq!(t.add_roots_pem(&pki.root_pem()).unwrap(), 1);
    t
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn assert_result(r: &SignatureReport, ind: Indication, sub: Option<SubIndication>) {
    assert_eq!((r.indication, r.sub_indication), (ind, sub), "{r:#?}");
}

#[test]
fn valid_signature_passes_with_the_chain_listed() {
    let pki = Pki::new();
    let user = pki.user(&Spec::user("Nguyễn Văn An", 100));
    let sig = user.sign(DOC, None).unwrap();
    let r = verify_detached(DOC, &sig, &trust(&pki), now());
    assert_result(&r, Indication::TotalPassed, None);
    assert_eq!(r.format, SignatureFormat::Cms);
    assert_eq!(r.level.as_deref(), Some("B-B"));
    assert_eq!(r.chain.len(), 3);
    assert!(r.chain[0].contains("CN=Nguyễn Văn An"), "{:?}", r.chain);
    assert!(r.chain[1].contains("CN=Sở Tư pháp tỉnh Thừa Thiên Huế CA"));
    assert!(r.chain[2].contains("Root CA Chính phủ"));
    let signer = r.signer.as_ref().unwrap();
    assert_eq!(signer.serial, "64");
    assert!(signer.issuer.contains("Sở Tư pháp"));
    let signed_at = r.signing_time.unwrap();
    assert!((now() - signed_at).num_seconds().abs() < 60);
    assert!(
        r.summary_vi
            .starts_with("Chữ ký số của Nguyễn Văn An hợp lệ"),
        "{}",
        r.summary_vi
    );

    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["indication"], "TOTAL_PASSED");
    assert_eq!(json["format"], "CMS");
    assert!(json["subIndication"].is_null());
    assert!(json["signingTime"].is_string());
    assert!(json["summaryVi"].is_string());
    assert_eq!(json["signer"]["serial"], "64");
}

#[test]
fn our_signature_verifies_in_openssl_with_the_chain() {
    let pki = Pki::new();
    let user = pki.user(&Spec::user("Trần Thị Bình", 101));
    let sig = user.sign(DOC, None).unwrap();
    let mut cms = CmsContentInfo::from_der(&sig).unwrap();
    let mut store = X509StoreBuilder::new().unwrap();
    store.add_cert(pki.root.clone()).unwrap();
    let store = store.build();
    cms.verify(None, Some(&store), Some(DOC), None, CMSOptions::BINARY)
        .unwrap();
    let mut cms = CmsContentInfo::from_der(&sig).unwrap();
    assert!(cms
        .verify(None, Some(&store), Some(b"other"), None, CMSOptions::BINARY)
        .is_err());
}

#[test]
fn openssl_cms_sign_output_is_verified_too() {
    let pki = Pki::new();
    let user = pki.user(&Spec::user("Lê Văn Cường", 102));
    let mut chain = Stack::new().unwrap();
    chain.push(pki.agency.clone()).unwrap();
    let cms = CmsContentInfo::sign(
        Some(user.cert()),
        Some(user.key()),
        Some(&chain),
        Some(DOC),
        CMSOptions::DETACHED | CMSOptions::BINARY,
    )
    .unwrap();
    let sig = cms.to_der().unwrap();
    let r = verify_detached(DOC, &sig, &trust(&pki), now());
    assert_result(&r, Indication::TotalPassed, None);
    assert!(r.signing_time.is_some());
    let r = verify_detached(b"changed", &sig, &trust(&pki), now());
    assert_result(
        &r,
        Indication::TotalFailed,
        Some(SubIndication::HashFailure),
    );
}

#[test]
fn rsa_signer_passes() {
    let pki = Pki::new();
    let user = pki.user_with_key(&Spec::user("Phạm Thị Dung", 103), rsa_key());
    let sig = user.sign(DOC, None).unwrap();
    assert_result(
        &verify_detached(DOC, &sig, &trust(&pki), now()),
        Indication::TotalPassed,
        None,
    );
}

#[test]
fn one_changed_byte_is_a_hash_failure() {
    let pki = Pki::new();
    let user = pki.user(&Spec::user("Nguyễn Văn An", 104));
    let sig = user.sign(DOC, None).unwrap();
    let mut doc = DOC.to_vec();
    doc[20] ^= 1;
    let r = verify_detached(&doc, &sig, &trust(&pki), now());
    assert_result(
        &r,
        Indication::TotalFailed,
        Some(SubIndication::HashFailure),
    );
    assert!(r.summary_vi.contains("đã bị thay đổi"), "{}", r.summary_vi);
}

#[test]
fn a_wrong_signature_value_is_a_crypto_failure() {
    let pki = Pki::new();
    let user = pki.user(&Spec::user("Nguyễn Văn An", 105));
    let mut sig = user.sign(DOC, None).unwrap();
    // The SignerInfo ends with the signature value: change its last byte.
    let last = sig.len() - 1;
    sig[last] ^= 0x55;
    let r = verify_detached(DOC, &sig, &trust(&pki), now());
    assert_result(
        &r,
        Indication::TotalFailed,
        Some(SubIndication::SigCryptoFailure),
    );
}

#[test]
fn an_unknown_root_finds_no_chain() {
    let pki = Pki::new();
    let other = Pki::new();
    let user = pki.user(&Spec::user("Nguyễn Văn An", 106));
    let sig = user.sign(DOC, None).unwrap();
    let r = verify_detached(DOC, &sig, &trust(&other), now());
    assert_result(
        &r,
        Indication::Indeterminate,
        Some(SubIndication::NoCertificateChainFound),
    );
    let r = verify_detached(DOC, &sig, &TrustStore::new(), now());
    assert_result(
        &r,
        Indication::Indeterminate,
        Some(SubIndication::NoCertificateChainFound),
    );
}

#[test]
fn a_self_signed_root_inside_the_signature_is_never_trusted() {
    let real = Pki::new();
    // An impostor PKI whose root carries the very same name as the real root.
    let fake_root_key = ec_key();
    let fake_root = issue(
        &Spec {
            cn: "Root CA Chính phủ (thử nghiệm)",
            org: "Ban Cơ yếu Chính phủ",
            serial: 1,
            usage: Usage::Ca,
            from: -DAY,
            to: 365 * DAY,
        },
        &fake_root_key,
        None,
    );
    let key = ec_key();
    let cert = issue(
        &Spec::user("Kẻ giả mạo", 666),
        &key,
        Some((&fake_root, &fake_root_key)),
    );
    let sig =
        motcua_signing::sign_detached(DOC, &cert, &key, std::slice::from_ref(&fake_root), None)
            .unwrap();
    let r = verify_detached(DOC, &sig, &trust(&real), now());
    assert_eq!(r.indication, Indication::Indeterminate, "{r:#?}");
    assert_eq!(
        r.sub_indication,
        Some(SubIndication::NoCertificateChainFound),
        "{r:#?}"
    );

    // And with a differently named impostor root.
    let other = Pki::new();
    let user = other.user(&Spec::user("Kẻ giả mạo", 667));
    let sig = user.sign(DOC, None).unwrap(); // carries other's self-signed root
    let r = verify_detached(DOC, &sig, &trust(&real), now());
    assert_result(
        &r,
        Indication::Indeterminate,
        Some(SubIndication::NoCertificateChainFound),
    );
}

#[test]
fn expired_or_not_yet_valid_at_signing_time_is_out_of_bounds() {
    let pki = Pki::new();
    let expired = pki.user(&Spec {
        from: -400 * DAY,
        to: -DAY,
        ..Spec::user("Hết hạn", 107)
    });
    let sig = expired.sign(DOC, None).unwrap();
    let r = verify_detached(DOC, &sig, &trust(&pki), now());
    assert_result(
        &r,
        Indication::Indeterminate,
        Some(SubIndication::OutOfBoundsNoPoe),
    );
    assert!(
        r.messages.iter().any(|m| m.contains("expired")),
        "{:?}",
        r.messages
    );

    let future = pki.user(&Spec {
        from: 10 * DAY,
        to: 400 * DAY,
        ..Spec::user("Chưa hiệu lực", 108)
    });
    let sig = future.sign(DOC, None).unwrap();
    let r = verify_detached(DOC, &sig, &trust(&pki), now());
    assert_result(
        &r,
        Indication::Indeterminate,
        Some(SubIndication::OutOfBoundsNoPoe),
    );
}

#[test]
fn the_chain_is_checked_at_the_signing_time_not_now() {
    let pki = Pki::new();
    let old = pki.user(&Spec {
        from: -400 * DAY,
        to: -10 * DAY,
        ..Spec::user("Đã ký khi còn hạn", 109)
    });
    let signed_at = now_unix() - 100 * DAY;
    let sig = old.sign(DOC, Some(system_time(signed_at))).unwrap();
    let r = verify_detached(DOC, &sig, &trust(&pki), now());
    assert_result(&r, Indication::TotalPassed, None);
    assert_eq!(r.signing_time.unwrap().timestamp(), signed_at);
}

#[test]
fn key_usage_without_digital_signature_is_a_constraint_failure() {
    let pki = Pki::new();
    let user = pki.user(&Spec {
        usage: Usage::KeyCertSignOnly,
        ..Spec::user("Sai mục đích", 110)
    });
    let sig = user.sign(DOC, None).unwrap();
    let r = verify_detached(DOC, &sig, &trust(&pki), now());
    assert_result(
        &r,
        Indication::Indeterminate,
        Some(SubIndication::SigConstraintsFailure),
    );
}

#[test]
fn revoked_certificates_are_revoked_no_poe() {
    let pki = Pki::new();
    let revoked = pki.user(&Spec::user("Đã thu hồi", 111));
    let valid = pki.user(&Spec::user("Còn hiệu lực", 112));
    let mut t = trust(&pki);
    let revoked_at = now_unix() - 2 * DAY;
    assert_eq!(t.add_crl(&pki.agency_crl(&[(111, revoked_at)])).unwrap(), 1);

    // Revoked before the signing time.
    let sig = revoked.sign(DOC, None).unwrap();
    let r = verify_detached(DOC, &sig, &t, now());
    assert_result(
        &r,
        Indication::Indeterminate,
        Some(SubIndication::RevokedNoPoe),
    );
    assert!(r
        .messages
        .iter()
        .any(|m| m.contains("before the claimed signing time")));

    // Revoked after the claimed signing time: still no proof of existence (no time-stamp).
    let sig = revoked
        .sign(DOC, Some(system_time(now_unix() - 5 * DAY)))
        .unwrap();
    let r = verify_detached(DOC, &sig, &t, now());
    assert_result(
        &r,
        Indication::Indeterminate,
        Some(SubIndication::RevokedNoPoe),
    );
    assert!(r
        .messages
        .iter()
        .any(|m| m.contains("after the claimed signing time")));

    // Another certificate of the same CA is fine, and its revocation was checked.
    let sig = valid.sign(DOC, None).unwrap();
    let r = verify_detached(DOC, &sig, &t, now());
    assert_result(&r, Indication::TotalPassed, None);
    assert!(
        !r.messages.iter().any(|m| m.contains("Còn hiệu lực")),
        "{:?}",
        r.messages
    );
}

#[test]
fn a_crl_not_signed_by_the_issuer_is_ignored() {
    let pki = Pki::new();
    let user = pki.user(&Spec::user("Nguyễn Văn An", 113));
    let mut t = trust(&pki);
    // Same issuer name, wrong key.
    t.add_crl(&crl(&pki.agency, &ec_key(), &[(113, now_unix() - DAY)]))
        .unwrap();
    let sig = user.sign(DOC, None).unwrap();
    let r = verify_detached(DOC, &sig, &t, now());
    assert_result(&r, Indication::TotalPassed, None);
    assert!(r
        .messages
        .iter()
        .any(|m| m.contains("revocation not checked")));
}

#[test]
fn garbage_is_a_format_failure_never_a_panic() {
    let pki = Pki::new();
    let t = trust(&pki);
    let user = pki.user(&Spec::user("Nguyễn Văn An", 114));
    let sig = user.sign(DOC, None).unwrap();
    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"not a signature".to_vec(),
        vec![0x30, 0x80],
        vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
        pki.root.to_der().unwrap(),
    ];
    for cut in (0..sig.len()).step_by(7) {
        inputs.push(sig[..cut].to_vec());
    }
    for input in inputs {
        let r = verify_detached(DOC, &input, &t, now());
        assert_eq!(r.indication, Indication::TotalFailed);
        assert_eq!(r.sub_indication, Some(SubIndication::FormatFailure));
    }
    // Corrupting single bytes anywhere never panics and never passes.
    for i in (0..sig.len()).step_by(3) {
        let mut bad = sig.clone();
        bad[i] ^= 0xa5;
        let r = verify_detached(DOC, &bad, &t, now());
        let _ = report_text(std::slice::from_ref(&r));
        // A flip inside an embedded CA certificate can leave the signer's own check intact.
        if r.passed() {
            assert!(r.chain.len() == 3);
        }
    }
    assert!(verify_pdf(b"garbage", &t, now()).is_empty());
}

#[test]
fn keys_load_from_pkcs12_and_pem() {
    let pki = Pki::new();
    let user = pki.user(&Spec::user("Cán bộ một cửa", 115));
    let mut chain = Stack::new().unwrap();
    chain.push(pki.agency.clone()).unwrap();
    let mut builder = Pkcs12::builder();
    builder
        .name("can-bo")
        .pkey(user.key())
        .cert(user.cert())
        .ca(chain);
    let p12 = builder.build2("mật khẩu").unwrap().to_der().unwrap();

    let loaded = load_pkcs12(&p12, "mật khẩu").unwrap();
    assert_eq!(loaded.chain().len(), 1);
    let sig = loaded.sign(DOC, None).unwrap();
    assert_result(
        &verify_detached(DOC, &sig, &trust(&pki), now()),
        Indication::TotalPassed,
        None,
    );
    let err = load_pkcs12(&p12, "sai").unwrap_err().to_string();
    assert!(!err.contains("sai"));
    assert!(load_pkcs12(&p12, "a\0b").is_err());
    assert!(load_pkcs12(b"junk", "x").is_err());
    assert!(!format!("{loaded:?}").contains("BEGIN"));

    let key_pem = user.key().private_key_to_pem_pkcs8().unwrap();
    let mut certs_pem = user.cert().to_pem().unwrap();
    certs_pem.extend(pki.agency.to_pem().unwrap());
    let loaded = load_pem_key_and_cert(&key_pem, &certs_pem, None).unwrap();
    assert_eq!(loaded.chain().len(), 1);
    let other_key = ec_key().private_key_to_pem_pkcs8().unwrap();
    assert!(load_pem_key_and_cert(&other_key, &certs_pem, None).is_err());
}

#[test]
fn trust_store_reads_several_roots_and_crls() {
    let a = Pki::new();
    let b = Pki::new();
    let mut pem = a.root_pem();
    pem.extend(b.root_pem());
    let mut t = TrustStore::new();
    assert_eq!(t.add_roots_pem(&pem).unwrap(), 2);
    assert!(t.add_roots_pem(b"nothing").is_err());
    let der = a.agency_crl(&[]);
    assert_eq!(t.add_crl(&der).unwrap(), 1);
    let pem_crl = motcua_signing::openssl::x509::X509Crl::from_der(&der)
        .unwrap()
        .to_pem()
        .unwrap();
    let two = [pem_crl.clone(), pem_crl].concat();
    assert_eq!(t.add_crl(&two).unwrap(), 2);
    assert_eq!(t.crls().len(), 3);
    assert!(t.add_crl(b"junk").is_err());
}

#[test]
fn reports_render_as_text_and_escaped_html() {
    let pki = Pki::new();
    let user = pki.user(&Spec::user("<script>alert(1)</script>", 116));
    let sig = user.sign(DOC, None).unwrap();
    let good = verify_detached(DOC, &sig, &trust(&pki), now());
    let bad = verify_detached(b"x", &sig, &trust(&pki), now());
    let text = report_text(&[good.clone(), bad.clone()]);
    assert!(text.contains("Signature 1 of 2"));
    assert!(text.contains("TOTAL_FAILED / HASH_FAILURE"));
    assert!(text.contains("Kết luận:"));
    let html = report_html(&[good, bad]);
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;"));
    assert!(html.contains("TOTAL_PASSED"));
}

#[test]
fn pades_signature_verifies() {
    let pki = Pki::new();
    let user = pki.user(&Spec::user("Chủ tịch UBND", 117));
    for sub_filter in ["ETSI.CAdES.detached", "adbe.pkcs7.detached"] {
        let pdf = signed_pdf(&user, sub_filter);
        let reports = verify_pdf(&pdf, &trust(&pki), now());
        assert_eq!(reports.len(), 1);
        let r = &reports[0];
        assert_result(r, Indication::TotalPassed, None);
        assert_eq!(r.format, SignatureFormat::Pades);
        assert_eq!(r.sub_filter.as_deref(), Some(sub_filter));
        let range = r.byte_range.unwrap();
        assert_eq!(range[0], 0);
        assert_eq!((range[2] + range[3]) as usize, pdf.len());
        let json = serde_json::to_value(r).unwrap();
        assert_eq!(json["format"], "PAdES");
        assert!(json["byteRange"].is_array());
    }
}

#[test]
fn pades_tampering_is_detected() {
    let pki = Pki::new();
    let user = pki.user(&Spec::user("Chủ tịch UBND", 118));
    let pdf = signed_pdf(&user, "ETSI.CAdES.detached");
    let t = trust(&pki);

    // A byte flipped inside a signed range (the page text).
    let mut changed = pdf.clone();
    let at = find(&changed, b"Giay xac nhan");
    changed[at] = b'X';
    let r = &verify_pdf(&changed, &t, now())[0];
    assert_result(r, Indication::TotalFailed, Some(SubIndication::HashFailure));

    // Bytes appended after signing: the range no longer covers the file.
    let mut appended = pdf.clone();
    appended.extend_from_slice(b"1 0 obj\n<< >>\nendobj\n");
    let r = &verify_pdf(&appended, &t, now())[0];
    assert_result(
        r,
        Indication::TotalFailed,
        Some(SubIndication::FormatFailure),
    );

    // A byte range that leaves more than the /Contents string unsigned.
    let text = String::from_utf8_lossy(&pdf).to_string();
    let start = text.find("/ByteRange [").unwrap() + "/ByteRange [".len();
    let end = start + text[start..].find(']').unwrap();
    let nums: Vec<u64> = text[start..end]
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let widened = format!("0 {:<10} {:<10} {:<10}", nums[1] - 5, nums[2], nums[3]);
    let mut shifted = pdf.clone();
    shifted[start..start + widened.len()].copy_from_slice(widened.as_bytes());
    let r = &verify_pdf(&shifted, &t, now())[0];
    assert_result(
        r,
        Indication::TotalFailed,
        Some(SubIndication::FormatFailure),
    );

    // An unsupported SubFilter.
    let pdf = signed_pdf(&user, "adbe.x509.rsa_sha1");
    let r = &verify_pdf(&pdf, &t, now())[0];
    assert_result(
        r,
        Indication::TotalFailed,
        Some(SubIndication::FormatFailure),
    );

    // A PDF without signatures has no report.
    assert!(verify_pdf(b"%PDF-1.7\n%%EOF\n", &t, now()).is_empty());
}

#[test]
fn a_time_stamp_is_detected_and_never_passes_silently() {
    let pki = Pki::new();
    let user = pki.user(&Spec::user("Nguyễn Văn An", 119));
    let sig = user.sign(DOC, None).unwrap();
    // id-aa-signatureTimeStampToken 1.2.840.113549.1.9.16.2.14; the token's content is not
    // examined (time-stamp verification is not implemented).
    let oid = [
        0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x0e,
    ];
    let stamped = add_unsigned_attribute(&sig, &oid, &[0x30, 0x00]);
    let r = verify_detached(DOC, &stamped, &trust(&pki), now());
    assert_eq!(r.level.as_deref(), Some("B-T"));
    assert_result(&r, Indication::Indeterminate, None);
    assert!(r
        .messages
        .iter()
        .any(|m| m.contains("time-stamp verification is not implemented")));
    // Other unsigned attributes change nothing.
    let other = add_unsigned_attribute(&sig, &[0x2a, 0x03], &[0x05, 0x00]);
    assert_result(
        &verify_detached(DOC, &other, &trust(&pki), now()),
        Indication::TotalPassed,
        None,
    );
}

#[test]
fn a_substituted_signer_certificate_is_not_accepted() {
    // A second certificate for the same key and serial, with another name, must not stand in
    // for the one named by signingCertificateV2.
    let pki = Pki::new();
    let key = ec_key();
    let real = issue(
        &Spec::user("Nguyễn Văn An", 120),
        &key,
        Some((&pki.agency, &pki.agency_key)),
    );
    let sig =
        motcua_signing::sign_detached(DOC, &real, &key, std::slice::from_ref(&pki.agency), None)
            .unwrap();
    let twin = issue(
        &Spec {
            org: "Khác",
            ..Spec::user("Người khác", 120)
        },
        &key,
        Some((&pki.agency, &pki.agency_key)),
    );
    let twin_der = twin.to_der().unwrap();
    let rebuilt = replace_certificates(&sig, &[twin_der, pki.agency.to_der().unwrap()]);
    let r = verify_detached(DOC, &rebuilt, &trust(&pki), now());
    assert_result(
        &r,
        Indication::Indeterminate,
        Some(SubIndication::NoSigningCertificateFound),
    );
    assert!(r
        .messages
        .iter()
        .any(|m| m.contains("signingCertificateV2")));
}
