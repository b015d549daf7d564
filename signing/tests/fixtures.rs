//! Checked-in fixtures made by this crate's own code (see `tests/common`): a PAdES-signed PDF,
//! a document with its detached CMS signature, and the root that anchors both. They keep
//! verifying long after their certificates expire, because the chain is checked at the
//! signing time. Regenerate with `MOTCUA_WRITE_FIXTURES=1 cargo test -p motcua-signing
//! --test fixtures`.

mod common;

use std::path::PathBuf;

use chrono::Utc;
use common::*;
use motcua_signing::{verify_detached, verify_pdf, Indication, TrustStore};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn write_fixtures() {
    let pki = Pki::new();
    let user = pki.user(&Spec::user("Nguyễn Văn An", 1001));
    let d = dir();
    std::fs::write(d.join("root.pem"), pki.root_pem()).unwrap();
    std::fs::write(
        d.join("signed.pdf"),
        signed_pdf(&user, "ETSI.CAdES.detached"),
    )
    .unwrap();
    let doc = "Giấy xác nhận hồ sơ 000.00.00.H57-260101-0001\n".as_bytes();
    std::fs::write(d.join("document.txt"), doc).unwrap();
    std::fs::write(d.join("document.txt.p7s"), user.sign(doc, None).unwrap()).unwrap();
}

#[test]
fn checked_in_fixtures_verify() {
    if std::env::var_os("MOTCUA_WRITE_FIXTURES").is_some() {
        write_fixtures();
    }
    let d = dir();
    let mut trust = TrustStore::new();
    trust.add_roots_pem_file(&d.join("root.pem")).unwrap();
    let pdf = std::fs::read(d.join("signed.pdf")).unwrap();
    let reports = verify_pdf(&pdf, &trust, Utc::now());
    assert_eq!(reports.len(), 1);
    assert_eq!(
        reports[0].indication,
        Indication::TotalPassed,
        "{:#?}",
        reports[0]
    );
    let doc = std::fs::read(d.join("document.txt")).unwrap();
    let sig = std::fs::read(d.join("document.txt.p7s")).unwrap();
    let r = verify_detached(&doc, &sig, &trust, Utc::now());
    assert_eq!(r.indication, Indication::TotalPassed, "{r:#?}");
    assert_eq!(r.chain.len(), 3);
}
