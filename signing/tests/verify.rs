//! End-to-end signing and verification against a real test PKI made at test time.

mod common;

use chrono::{DateTime, Utc};
use common::*;
use motcua_signing::openssl::cms::{CMSOptions, CmsContentInfo};
use motcua_signing::openssl::hash::MessageDigest;
use motcua_signing::openssl::pkcs12::Pkcs12;
use motcua_signing::openssl::stack::Stack;
use motcua_signing::openssl::x509::store::X509StoreBuilder;
use motcua_signing::{
    load_pem_key_and_cert, load_pkcs12, report_html, report_text, verify_detached, verify_pdf,
    Indication, SignError, SignatureFormat, SignatureReport, SubIndication, TrustStore,
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

fn tsa_trust(pki: &Pki) -> TrustStore {
    trust(pki)
}

fn sha256(data: &[u8]) -> Vec<u8> {
    motcua_signing::openssl::hash::hash(MessageDigest::sha256(), data)
        .unwrap()
        .to_vec()
}

fn has_message(r: &SignatureReport, needle: &str) -> bool {
    r.messages.iter().any(|m| m.contains(needle))
}

/// A signature made `signed_days_ago`, time-stamped by `tsa` at `stamped_unix`.
fn stamped_signature(
    user: &motcua_signing::SigningIdentity,
    tsa: &Tsa,
    signed_unix: i64,
    stamped_unix: i64,
) -> Vec<u8> {
    let sig = user.sign(DOC, Some(system_time(signed_unix))).unwrap();
    tsa.stamp(&sig, &generalized_time(stamped_unix, 0))
}

#[test]
fn a_verified_time_stamp_gives_level_b_t_and_its_gen_time() {
    let pki = Pki::new();
    let tsa = pki.tsa("TSA thử nghiệm", 900, TsaPurpose::TimeStamping);
    let user = pki.user(&Spec::user("Nguyễn Văn An", 119));
    let signed_at = now_unix() - 60;
    let sig = user.sign(DOC, Some(system_time(signed_at))).unwrap();
    let gen_time = generalized_time(signed_at + 2, 250);
    let stamped = tsa.stamp(&sig, &gen_time);

    // The time-stamp sits outside the signed attributes: OpenSSL still verifies the signature.
    let mut cms = CmsContentInfo::from_der(&stamped).unwrap();
    let store = X509StoreBuilder::new().unwrap().build();
    cms.verify(
        None,
        Some(&store),
        Some(DOC),
        None,
        CMSOptions::NO_SIGNER_CERT_VERIFY | CMSOptions::BINARY,
    )
    .unwrap();

    let r = verify_detached(DOC, &stamped, &tsa_trust(&pki), now());
    assert_result(&r, Indication::TotalPassed, None);
    assert_eq!(r.level.as_deref(), Some("B-T"));
    let ts = r.timestamp.as_ref().expect("a time-stamp summary");
    let expected = DateTime::from_timestamp(signed_at + 2, 250_000_000).unwrap();
    assert_eq!(ts.gen_time, Some(expected));
    assert_eq!(ts.indication, Indication::TotalPassed);
    assert_eq!(ts.sub_indication, None);
    assert!(
        ts.tsa.as_deref().unwrap().contains("CN=TSA thử nghiệm"),
        "{ts:?}"
    );
    assert_eq!(ts.serial.as_deref(), Some("1092")); // 4242
    assert_eq!(ts.hash_algorithm.as_deref(), Some("SHA-256"));
    assert_eq!(ts.policy.as_deref(), Some("1.2.3.4.1"));
    assert_eq!(ts.accuracy_micros, Some(1_000_000));
    assert!(has_message(&r, "verified time-stamp"), "{:?}", r.messages);
    assert!(
        r.summary_vi.contains("có dấu thời gian lúc"),
        "{}",
        r.summary_vi
    );

    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["level"], "B-T");
    assert_eq!(json["timestamp"]["indication"], "TOTAL_PASSED");
    assert!(json["timestamp"]["genTime"]
        .as_str()
        .unwrap()
        .starts_with(&expected.format("%Y-%m-%dT%H:%M:%S").to_string()));
    let text = report_text(std::slice::from_ref(&r));
    assert!(text.contains("Time-stamp:"), "{text}");
    assert!(text.contains(".250Z by CN=TSA thử nghiệm"), "{text}");
    assert!(report_html(std::slice::from_ref(&r)).contains("Dấu thời gian / Time-stamp"));

    // A signature without a time-stamp has no summary, and its JSON no field.
    let plain = verify_detached(DOC, &sig, &tsa_trust(&pki), now());
    assert_eq!(plain.level.as_deref(), Some("B-B"));
    assert!(plain.timestamp.is_none());
    assert!(serde_json::to_value(&plain)
        .unwrap()
        .get("timestamp")
        .is_none());

    // Other unsigned attributes change nothing, before or after the time-stamp.
    let other = add_unsigned_attribute(&sig, &[0x2a, 0x03], &[0x05, 0x00]);
    assert_result(
        &verify_detached(DOC, &other, &trust(&pki), now()),
        Indication::TotalPassed,
        None,
    );
    let both = tsa.stamp(&other, &gen_time);
    let r = verify_detached(DOC, &both, &trust(&pki), now());
    assert_result(&r, Indication::TotalPassed, None);
    assert!(r.timestamp.is_some());
}

#[test]
fn every_imprint_hash_is_accepted_and_sha1_is_noted() {
    let pki = Pki::new();
    let tsa = pki.tsa("TSA thử nghiệm", 901, TsaPurpose::TimeStamping);
    let user = pki.user(&Spec::user("Nguyễn Văn An", 121));
    let sig = user.sign(DOC, None).unwrap();
    for (name, label) in [
        ("sha1", "SHA-1"),
        ("sha256", "SHA-256"),
        ("sha384", "SHA-384"),
        ("sha512", "SHA-512"),
    ] {
        let token = tsa.token(&TokenSpec {
            hash: name,
            imprint: motcua_signing::time_stamp_imprint(&sig, digest_named(name)).unwrap(),
            gen_time: generalized_time(now_unix() - 1, 0),
            serial: 7,
            embed_cert: true,
        });
        let stamped = motcua_signing::add_signature_timestamp(&sig, &token).unwrap();
        let r = verify_detached(DOC, &stamped, &trust(&pki), now());
        assert_result(&r, Indication::TotalPassed, None);
        assert_eq!(
            r.timestamp.as_ref().unwrap().hash_algorithm.as_deref(),
            Some(label)
        );
        assert_eq!(has_message(&r, "SHA-1"), name == "sha1", "{:?}", r.messages);
    }
}

#[test]
fn a_time_stamp_over_another_value_is_indeterminate() {
    let pki = Pki::new();
    let tsa = pki.tsa("TSA thử nghiệm", 902, TsaPurpose::TimeStamping);
    let user = pki.user(&Spec::user("Nguyễn Văn An", 122));
    let sig = user.sign(DOC, None).unwrap();
    let other_sig = user.sign(b"another document", None).unwrap();
    // A correct token, but for the other signature (or for the document rather than the
    // signature value).
    for imprint in [
        motcua_signing::time_stamp_imprint(&other_sig, MessageDigest::sha256()).unwrap(),
        sha256(DOC),
    ] {
        let token = tsa.token(&TokenSpec {
            hash: "sha256",
            imprint,
            gen_time: generalized_time(now_unix() - 1, 0),
            serial: 8,
            embed_cert: true,
        });
        assert!(matches!(
            motcua_signing::add_signature_timestamp(&sig, &token),
            Err(SignError::Timestamp(_))
        ));
        let stamped = add_unsigned_attribute(&sig, OID_SIGNATURE_TIME_STAMP, &token);
        let r = verify_detached(DOC, &stamped, &trust(&pki), now());
        assert_result(
            &r,
            Indication::Indeterminate,
            Some(SubIndication::HashFailure),
        );
        assert_eq!(r.level.as_deref(), Some("B-T"));
        assert!(
            has_message(&r, "signature time-stamp: the messageImprint"),
            "{:?}",
            r.messages
        );
        let ts = r.timestamp.as_ref().unwrap();
        assert_eq!(ts.indication, Indication::TotalFailed);
        assert_eq!(ts.sub_indication, Some(SubIndication::HashFailure));
        assert!(r.summary_vi.contains("dấu thời gian"), "{}", r.summary_vi);
    }
}

#[test]
fn a_tsa_from_an_untrusted_root_is_no_certificate_chain_found() {
    let pki = Pki::new();
    let other = Pki::new();
    // The impostor TSA ships its own root inside the token: never an anchor.
    let mut tsa = other.tsa("TSA giả mạo", 903, TsaPurpose::TimeStamping);
    tsa.extra_certs.push(other.root.clone());
    let user = pki.user(&Spec::user("Nguyễn Văn An", 123));
    let stamped = stamped_signature(&user, &tsa, now_unix() - 60, now_unix() - 59);
    let r = verify_detached(DOC, &stamped, &trust(&pki), now());
    assert_result(
        &r,
        Indication::Indeterminate,
        Some(SubIndication::NoCertificateChainFound),
    );
    assert!(
        has_message(&r, "signature time-stamp: TSA certificate CN=TSA giả mạo"),
        "{:?}",
        r.messages
    );
    // Trusting the other root makes the same token good.
    let mut both = trust(&pki);
    both.add_root(other.root.clone());
    assert_result(
        &verify_detached(DOC, &stamped, &both, now()),
        Indication::TotalPassed,
        None,
    );
}

#[test]
fn a_tsa_certificate_without_the_time_stamping_purpose_is_refused() {
    let pki = Pki::new();
    let user = pki.user(&Spec::user("Nguyễn Văn An", 124));
    for (serial, purpose, needle) in [
        (
            904,
            TsaPurpose::None,
            "no extendedKeyUsage id-kp-timeStamping",
        ),
        (905, TsaPurpose::NonCritical, "not critical"),
        (906, TsaPurpose::AlsoEmail, "other purposes"),
    ] {
        let tsa = pki.tsa("TSA sai mục đích", serial, purpose);
        let stamped = stamped_signature(&user, &tsa, now_unix() - 60, now_unix() - 59);
        let r = verify_detached(DOC, &stamped, &trust(&pki), now());
        assert_result(
            &r,
            Indication::Indeterminate,
            Some(SubIndication::SigConstraintsFailure),
        );
        assert!(has_message(&r, needle), "{purpose:?}: {:?}", r.messages);
    }
}

#[test]
fn a_token_with_a_bad_signature_or_a_missing_tsa_certificate_is_refused() {
    let pki = Pki::new();
    let user = pki.user(&Spec::user("Nguyễn Văn An", 125));
    let tsa = pki.tsa("TSA thử nghiệm", 907, TsaPurpose::TimeStamping);
    let sig = user.sign(DOC, None).unwrap();
    let spec = |embed_cert| TokenSpec {
        hash: "sha256",
        imprint: motcua_signing::time_stamp_imprint(&sig, MessageDigest::sha256()).unwrap(),
        gen_time: generalized_time(now_unix() - 1, 0),
        serial: 9,
        embed_cert,
    };
    // Signed by another key under the TSA's name.
    let forged = Tsa {
        cert: tsa.cert.clone(),
        key: ec_key(),
        extra_certs: Vec::new(),
    };
    let stamped =
        motcua_signing::add_signature_timestamp(&sig, &forged.token(&spec(true))).unwrap();
    let r = verify_detached(DOC, &stamped, &trust(&pki), now());
    assert_result(
        &r,
        Indication::Indeterminate,
        Some(SubIndication::SigCryptoFailure),
    );
    assert!(has_message(
        &r,
        "signature time-stamp: the token's signature does not verify"
    ));

    // Without its certificate the token cannot be checked.
    let stamped = motcua_signing::add_signature_timestamp(&sig, &tsa.token(&spec(false))).unwrap();
    let r = verify_detached(DOC, &stamped, &trust(&pki), now());
    assert_result(
        &r,
        Indication::Indeterminate,
        Some(SubIndication::NoSigningCertificateFound),
    );
    // ... unless the signature carries it.
    let mut carrying = user.chain().to_vec();
    carrying.push(tsa.cert.clone());
    let sig2 =
        motcua_signing::sign_detached(DOC, user.cert(), user.key(), &carrying, None).unwrap();
    let token = tsa.token(&TokenSpec {
        imprint: motcua_signing::time_stamp_imprint(&sig2, MessageDigest::sha256()).unwrap(),
        ..spec(false)
    });
    let stamped = motcua_signing::add_signature_timestamp(&sig2, &token).unwrap();
    assert_result(
        &verify_detached(DOC, &stamped, &trust(&pki), now()),
        Indication::TotalPassed,
        None,
    );
}

#[test]
fn the_time_stamp_is_a_proof_of_existence_against_revocation() {
    let pki = Pki::new();
    let tsa = pki.tsa("TSA thử nghiệm", 908, TsaPurpose::TimeStamping);
    let revoked = pki.user(&Spec::user("Đã thu hồi", 126));
    let mut t = trust(&pki);
    let revoked_at = now_unix() - 2 * DAY;
    t.add_crl(&pki.agency_crl(&[(126, revoked_at)])).unwrap();
    t.add_crl(&pki.root_crl(&[])).unwrap();

    // Signed and time-stamped five days ago, revoked two days ago: the signature stands.
    let before = stamped_signature(
        &revoked,
        &tsa,
        now_unix() - 5 * DAY,
        now_unix() - 5 * DAY + 1,
    );
    let r = verify_detached(DOC, &before, &t, now());
    assert_result(&r, Indication::TotalPassed, None);
    assert!(
        has_message(&r, "after the time-stamp's genTime"),
        "{:?}",
        r.messages
    );
    // The same signature without its time-stamp has no proof of existence.
    let plain = revoked
        .sign(DOC, Some(system_time(now_unix() - 5 * DAY)))
        .unwrap();
    assert_result(
        &verify_detached(DOC, &plain, &t, now()),
        Indication::Indeterminate,
        Some(SubIndication::RevokedNoPoe),
    );

    // Time-stamped after the revocation: definitely revoked, whatever the claimed time.
    let after = stamped_signature(&revoked, &tsa, now_unix() - 5 * DAY, now_unix() - DAY);
    let r = verify_detached(DOC, &after, &t, now());
    assert_result(&r, Indication::TotalFailed, Some(SubIndication::Revoked));
    assert!(
        has_message(&r, "before the time-stamp's genTime"),
        "{:?}",
        r.messages
    );
    assert!(!has_message(&r, "suspicious"));

    // A revoked TSA voids its tokens.
    let mut t = trust(&pki);
    t.add_crl(&pki.root_crl(&[(908, now_unix() - DAY)]))
        .unwrap();
    let valid = pki.user(&Spec::user("Còn hiệu lực", 127));
    let stamped = stamped_signature(&valid, &tsa, now_unix() - 5 * DAY, now_unix() - 5 * DAY);
    let r = verify_detached(DOC, &stamped, &t, now());
    assert_result(
        &r,
        Indication::Indeterminate,
        Some(SubIndication::RevokedNoPoe),
    );
    assert!(
        has_message(&r, "in the TSA's chain is revoked"),
        "{:?}",
        r.messages
    );
}

#[test]
fn the_chain_is_checked_at_the_gen_time() {
    let pki = Pki::new();
    let tsa = pki.tsa("TSA thử nghiệm", 909, TsaPurpose::TimeStamping);
    let expired = pki.user(&Spec {
        from: -400 * DAY,
        to: -10 * DAY,
        ..Spec::user("Đã hết hạn", 128)
    });
    // Expired now, valid at genTime: passes.
    let sig = stamped_signature(
        &expired,
        &tsa,
        now_unix() - 100 * DAY,
        now_unix() - 100 * DAY,
    );
    assert_result(
        &verify_detached(DOC, &sig, &trust(&pki), now()),
        Indication::TotalPassed,
        None,
    );
    // Claimed 100 days ago but stamped after the expiry: the claim proves nothing.
    let sig = stamped_signature(&expired, &tsa, now_unix() - 100 * DAY, now_unix() - 5 * DAY);
    let r = verify_detached(DOC, &sig, &trust(&pki), now());
    assert_result(
        &r,
        Indication::Indeterminate,
        Some(SubIndication::OutOfBoundsNoPoe),
    );
    // Stamped before the certificate existed: impossible, so definitely invalid.
    let sig = stamped_signature(
        &expired,
        &tsa,
        now_unix() - 100 * DAY,
        now_unix() - 500 * DAY,
    );
    let r = verify_detached(DOC, &sig, &trust(&pki), now());
    assert_result(
        &r,
        Indication::TotalFailed,
        Some(SubIndication::NotYetValid),
    );
    assert!(has_message(&r, "suspicious"), "{:?}", r.messages);

    // The TSA certificate must be valid at genTime too.
    let young_tsa = pki.tsa_valid("TSA mới", 910, TsaPurpose::TimeStamping, -DAY, 100 * DAY);
    let user = pki.user(&Spec::user("Nguyễn Văn An", 129));
    let sig = stamped_signature(
        &user,
        &young_tsa,
        now_unix() - 10 * DAY,
        now_unix() - 10 * DAY,
    );
    let r = verify_detached(DOC, &sig, &trust(&pki), now());
    assert_result(
        &r,
        Indication::Indeterminate,
        Some(SubIndication::OutOfBoundsNoPoe),
    );
    assert!(has_message(
        &r,
        "signature time-stamp: TSA certificate CN=TSA mới"
    ));
}

#[test]
fn a_claimed_signing_time_after_the_gen_time_is_suspicious() {
    let pki = Pki::new();
    let tsa = pki.tsa("TSA thử nghiệm", 911, TsaPurpose::TimeStamping);
    let user = pki.user(&Spec::user("Nguyễn Văn An", 130));
    let sig = stamped_signature(&user, &tsa, now_unix() - 60, now_unix() - 3600);
    let r = verify_detached(DOC, &sig, &trust(&pki), now());
    assert_result(&r, Indication::TotalPassed, None);
    assert!(
        has_message(&r, "suspicious: the claimed signing time"),
        "{:?}",
        r.messages
    );
}

#[test]
fn garbage_time_stamp_tokens_never_panic_and_never_pass() {
    let pki = Pki::new();
    let tsa = pki.tsa("TSA thử nghiệm", 912, TsaPurpose::TimeStamping);
    let user = pki.user(&Spec::user("Nguyễn Văn An", 131));
    let t = trust(&pki);
    let sig = user.sign(DOC, None).unwrap();
    let gen = generalized_time(now_unix() - 1, 0);
    let token = tsa.token(&TokenSpec {
        hash: "sha256",
        imprint: motcua_signing::time_stamp_imprint(&sig, MessageDigest::sha256()).unwrap(),
        gen_time: gen.clone(),
        serial: 10,
        embed_cert: true,
    });
    let good = add_unsigned_attribute(&sig, OID_SIGNATURE_TIME_STAMP, &token);
    assert_result(
        &verify_detached(DOC, &good, &t, now()),
        Indication::TotalPassed,
        None,
    );

    // Well-formed DER that is no token, and a token over a non-TSTInfo.
    let not_tst = tsa.sign_content(&[0x30, 0x03, 0x02, 0x01, 0x01], true);
    let mut values: Vec<Vec<u8>> = vec![
        vec![0x30, 0x00],
        vec![0x05, 0x00],
        pki.root.to_der().unwrap(),
        sig.clone(),
        not_tst,
    ];
    for cut in (1..token.len()).step_by(11) {
        values.push(token[..cut].to_vec());
    }
    for value in values {
        let stamped = add_unsigned_attribute(&sig, OID_SIGNATURE_TIME_STAMP, &value);
        let r = verify_detached(DOC, &stamped, &t, now());
        assert!(!r.passed(), "{r:#?}");
        let _ = report_text(std::slice::from_ref(&r));
        assert!(motcua_signing::add_signature_timestamp(&sig, &value).is_err());
    }
    // Flipped bytes anywhere in the token: never a panic; a pass only when the flip hit a part
    // no signature covers, and then with the genuine genTime.
    let expected = verify_detached(DOC, &good, &t, now())
        .timestamp
        .unwrap()
        .gen_time;
    for i in 0..token.len() {
        let mut bad = token.clone();
        bad[i] ^= 0x5a;
        let stamped = add_unsigned_attribute(&sig, OID_SIGNATURE_TIME_STAMP, &bad);
        let r = verify_detached(DOC, &stamped, &t, now());
        if r.passed() {
            assert_eq!(r.timestamp.unwrap().gen_time, expected, "byte {i}");
        }
        let _ = motcua_signing::add_signature_timestamp(&sig, &bad);
    }
    // Garbage signatures given to the B-T helpers are errors, not panics.
    assert!(motcua_signing::time_stamp_imprint(b"junk", MessageDigest::sha256()).is_err());
    assert!(motcua_signing::add_signature_timestamp(b"junk", &token).is_err());
}

#[test]
fn the_openssl_command_line_agrees_with_a_test_token() {
    // A cross-check of the test TSA's tokens against `openssl ts -verify`, only when the
    // binary is installed.
    let Ok(output) = std::process::Command::new("openssl")
        .arg("version")
        .output()
    else {
        return;
    };
    if !output.status.success() {
        return;
    }
    let pki = Pki::new();
    let tsa = pki.tsa("TSA thử nghiệm", 913, TsaPurpose::TimeStamping);
    let user = pki.user(&Spec::user("Nguyễn Văn An", 132));
    let sig = user.sign(DOC, None).unwrap();
    let imprint = motcua_signing::time_stamp_imprint(&sig, MessageDigest::sha256()).unwrap();
    let token = tsa.token(&TokenSpec {
        hash: "sha256",
        imprint: imprint.clone(),
        gen_time: generalized_time(now_unix() - 1, 500),
        serial: 11,
        embed_cert: true,
    });
    let dir = std::env::temp_dir().join(format!("motcua-ts-{}-{}", std::process::id(), now_unix()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("token.der"), &token).unwrap();
    std::fs::write(dir.join("root.pem"), pki.root_pem()).unwrap();
    let hex: String = imprint.iter().map(|b| format!("{b:02x}")).collect();
    let run = |digest: &str| {
        std::process::Command::new("openssl")
            .args(["ts", "-verify", "-token_in", "-in"])
            .arg(dir.join("token.der"))
            .args(["-digest", digest, "-CAfile"])
            .arg(dir.join("root.pem"))
            .output()
            .unwrap()
    };
    let good = run(&hex);
    let bad = run(&"00".repeat(32));
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        good.status.success(),
        "{}{}",
        String::from_utf8_lossy(&good.stdout),
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(!bad.status.success());
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
