//! A real test PKI built with OpenSSL at test time (no fixtures, no mocks): a root CA, the
//! agency CA "Sở Tư pháp tỉnh Thừa Thiên Huế" and user certificates, plus a CRL encoded here
//! (the `openssl` crate has no CRL builder) and signed with the agency CA's key, and a minimal
//! PDF with a PAdES signature dictionary.

#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use motcua_signing::openssl::asn1::{Asn1Integer, Asn1Time};
use motcua_signing::openssl::bn::BigNum;
use motcua_signing::openssl::ec::{EcGroup, EcKey};
use motcua_signing::openssl::hash::MessageDigest;
use motcua_signing::openssl::nid::Nid;
use motcua_signing::openssl::pkey::{PKey, Private};
use motcua_signing::openssl::rsa::Rsa;
use motcua_signing::openssl::sign::Signer;
use motcua_signing::openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectKeyIdentifier,
};
use motcua_signing::openssl::x509::{X509Builder, X509NameBuilder, X509};
use motcua_signing::SigningIdentity;

pub const DAY: i64 = 86_400;

pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn system_time(unix: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix as u64)
}

pub fn ec_key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

pub fn rsa_key() -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()
}

#[derive(Clone, Copy)]
pub enum Usage {
    Ca,
    Signing,
    KeyCertSignOnly,
}

pub struct Spec<'a> {
    pub cn: &'a str,
    pub org: &'a str,
    pub serial: u32,
    pub usage: Usage,
    /// Validity relative to now, in seconds.
    pub from: i64,
    pub to: i64,
}

impl<'a> Spec<'a> {
    pub fn user(cn: &'a str, serial: u32) -> Self {
        Spec {
            cn,
            org: "Sở Tư pháp tỉnh Thừa Thiên Huế",
            serial,
            usage: Usage::Signing,
            from: -30 * DAY,
            to: 365 * DAY,
        }
    }
}

/// Issues a certificate for `key`; self-signed when `issuer` is None.
pub fn issue(spec: &Spec, key: &PKey<Private>, issuer: Option<(&X509, &PKey<Private>)>) -> X509 {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COUNTRYNAME, "VN").unwrap();
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, spec.org)
        .unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, spec.cn).unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let serial = Asn1Integer::from_bn(&BigNum::from_u32(spec.serial).unwrap()).unwrap();
    b.set_serial_number(&serial).unwrap();
    b.set_subject_name(&name).unwrap();
    match issuer {
        Some((cert, _)) => b.set_issuer_name(cert.subject_name()).unwrap(),
        None => b.set_issuer_name(&name).unwrap(),
    }
    b.set_pubkey(key).unwrap();
    let now = now_unix();
    b.set_not_before(&Asn1Time::from_unix(now + spec.from).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(now + spec.to).unwrap())
        .unwrap();
    match spec.usage {
        Usage::Ca => {
            b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
                .unwrap();
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .key_cert_sign()
                    .crl_sign()
                    .build()
                    .unwrap(),
            )
            .unwrap();
        }
        Usage::Signing => {
            b.append_extension(BasicConstraints::new().build().unwrap())
                .unwrap();
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .digital_signature()
                    .non_repudiation()
                    .build()
                    .unwrap(),
            )
            .unwrap();
        }
        Usage::KeyCertSignOnly => {
            b.append_extension(BasicConstraints::new().build().unwrap())
                .unwrap();
            b.append_extension(KeyUsage::new().critical().key_cert_sign().build().unwrap())
                .unwrap();
        }
    }
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(issuer.map(|(c, _)| &**c), None))
        .unwrap();
    b.append_extension(ski).unwrap();
    if let Some((cert, _)) = issuer {
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&b.x509v3_context(Some(cert), None))
            .unwrap();
        b.append_extension(aki).unwrap();
    }
    let signing_key = issuer.map(|(_, k)| k).unwrap_or(key);
    b.sign(signing_key, MessageDigest::sha256()).unwrap();
    b.build()
}

pub struct Pki {
    pub root: X509,
    pub root_key: PKey<Private>,
    pub agency: X509,
    pub agency_key: PKey<Private>,
}

impl Pki {
    pub fn new() -> Self {
        let root_key = ec_key();
        let root = issue(
            &Spec {
                cn: "Root CA Chính phủ (thử nghiệm)",
                org: "Ban Cơ yếu Chính phủ",
                serial: 1,
                usage: Usage::Ca,
                from: -3650 * DAY,
                to: 3650 * DAY,
            },
            &root_key,
            None,
        );
        let agency_key = ec_key();
        let agency = issue(
            &Spec {
                cn: "Sở Tư pháp tỉnh Thừa Thiên Huế CA",
                org: "Sở Tư pháp tỉnh Thừa Thiên Huế",
                serial: 2,
                usage: Usage::Ca,
                from: -1000 * DAY,
                to: 1000 * DAY,
            },
            &agency_key,
            Some((&root, &root_key)),
        );
        Pki {
            root,
            root_key,
            agency,
            agency_key,
        }
    }

    /// A user identity issued by the agency CA, chain = [agency, root].
    pub fn user(&self, spec: &Spec) -> SigningIdentity {
        self.user_with_key(spec, ec_key())
    }

    pub fn user_with_key(&self, spec: &Spec, key: PKey<Private>) -> SigningIdentity {
        let cert = issue(spec, &key, Some((&self.agency, &self.agency_key)));
        SigningIdentity::new(key, cert, vec![self.agency.clone(), self.root.clone()]).unwrap()
    }

    pub fn root_pem(&self) -> Vec<u8> {
        self.root.to_pem().unwrap()
    }

    /// A CRL issued by the agency CA revoking `(serial, unix revocation time)`.
    pub fn agency_crl(&self, revoked: &[(u32, i64)]) -> Vec<u8> {
        crl(&self.agency, &self.agency_key, revoked)
    }
}

// A tiny DER writer for the CRL.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

fn utc_time(unix: i64) -> Vec<u8> {
    let t = chrono::DateTime::from_timestamp(unix, 0).unwrap();
    tlv(0x17, t.format("%y%m%d%H%M%SZ").to_string().as_bytes())
}

fn int(v: u32) -> Vec<u8> {
    let mut bytes: Vec<u8> = v
        .to_be_bytes()
        .iter()
        .copied()
        .skip_while(|b| *b == 0)
        .collect();
    if bytes.first().is_none_or(|b| b & 0x80 != 0) {
        bytes.insert(0, 0);
    }
    tlv(0x02, &bytes)
}

/// A v2 CRL signed with ECDSA-SHA256 by `issuer_key`, naming `issuer`.
pub fn crl(issuer: &X509, issuer_key: &PKey<Private>, revoked: &[(u32, i64)]) -> Vec<u8> {
    // ecdsa-with-SHA256
    let alg = tlv(
        0x30,
        &tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]),
    );
    let now = now_unix();
    let mut entries = Vec::new();
    for (serial, at) in revoked {
        entries.extend(tlv(0x30, &[int(*serial), utc_time(*at)].concat()));
    }
    let mut tbs_content = [
        int(1),
        alg.clone(),
        issuer.subject_name().to_der().unwrap(),
        utc_time(now - DAY),
        utc_time(now + 7 * DAY),
    ]
    .concat();
    if !revoked.is_empty() {
        tbs_content.extend(tlv(0x30, &entries));
    }
    let tbs = tlv(0x30, &tbs_content);
    let mut signer = Signer::new(MessageDigest::sha256(), issuer_key).unwrap();
    signer.update(&tbs).unwrap();
    let sig = signer.sign_to_vec().unwrap();
    let mut bits = vec![0u8];
    bits.extend(sig);
    tlv(0x30, &[tbs, alg, tlv(0x03, &bits)].concat())
}

/// Writes a one-page PDF with a signature field whose `/Contents` holds a detached CMS made by
/// `identity` over the `/ByteRange`, as a PAdES signer does.
pub fn signed_pdf(identity: &SigningIdentity, sub_filter: &str) -> Vec<u8> {
    const PLACEHOLDER_HEX: usize = 16_384;
    let mut pdf = String::from("%PDF-1.7\n%\u{e2}\u{e3}\n");
    let mut offsets = Vec::new();
    let mut obj = |pdf: &mut String, body: &str| {
        offsets.push(pdf.len());
        pdf.push_str(&format!("{} 0 obj\n{body}\nendobj\n", offsets.len()));
    };
    obj(
        &mut pdf,
        "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] /SigFlags 3 >> >>",
    );
    obj(&mut pdf, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    obj(
        &mut pdf,
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [4 0 R] /Contents 6 0 R >>",
    );
    obj(
        &mut pdf,
        "<< /Type /Annot /Subtype /Widget /FT /Sig /Rect [0 0 0 0] /T (Chu ky 1) /F 132 /P 3 0 R /V 5 0 R >>",
    );
    obj(
        &mut pdf,
        &format!(
            "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /{sub_filter} /ByteRange [0 ********** ********** **********] /Contents <{}> /M (D:20260101000000Z) /Reason (Phe duyet ho so) >>",
            "0".repeat(PLACEHOLDER_HEX)
        ),
    );
    let stream = "BT /F1 12 Tf 72 720 Td (Giay xac nhan - ho so 000.00.00.H57-260101-0001) Tj ET";
    obj(
        &mut pdf,
        &format!(
            "<< /Length {} >>\nstream\n{stream}\nendstream",
            stream.len()
        ),
    );
    let xref_at = pdf.len();
    pdf.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        offsets.len() + 1
    ));
    for off in &offsets {
        pdf.push_str(&format!("{off:010} 00000 n \n"));
    }
    pdf.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n",
        offsets.len() + 1
    ));
    let mut bytes = pdf.into_bytes();
    let contents_start = find(&bytes, b"/Contents <") + "/Contents ".len();
    let contents_end = contents_start + PLACEHOLDER_HEX + 2;
    let range = format!(
        "[0 {:<10} {:<10} {:<10}]",
        contents_start,
        contents_end,
        bytes.len() - contents_end
    );
    let range_at = find(&bytes, b"[0 ********** ********** **********]");
    bytes[range_at..range_at + range.len()].copy_from_slice(range.as_bytes());
    let mut signed = bytes[..contents_start].to_vec();
    signed.extend_from_slice(&bytes[contents_end..]);
    let cms = identity.sign(&signed, None).unwrap();
    let hex: String = cms.iter().map(|b| format!("{b:02X}")).collect();
    assert!(hex.len() <= PLACEHOLDER_HEX);
    bytes[contents_start + 1..contents_start + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    bytes
}

pub fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).position(|w| w == needle).unwrap()
}

/// Splits one DER TLV at the start of `d`: (tag, content, rest).
fn split_tlv(d: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = d[0];
    let (len, header) = if d[1] & 0x80 == 0 {
        (d[1] as usize, 2)
    } else {
        let n = (d[1] & 0x7f) as usize;
        let len = d[2..2 + n]
            .iter()
            .fold(0usize, |a, b| (a << 8) | *b as usize);
        (len, 2 + n)
    };
    (tag, &d[header..header + len], &d[header + len..])
}

fn children(mut d: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while !d.is_empty() {
        let (tag, content, rest) = split_tlv(d);
        out.push((tag, content.to_vec()));
        d = rest;
    }
    out
}

fn join(parts: &[(u8, Vec<u8>)]) -> Vec<u8> {
    parts.iter().flat_map(|(t, c)| tlv(*t, c)).collect()
}

/// Adds an unsigned attribute `(oid bytes, value DER)` to the first SignerInfo of a CMS, as a
/// time-stamping service adds its signature-time-stamp token.
pub fn add_unsigned_attribute(cms: &[u8], oid: &[u8], value: &[u8]) -> Vec<u8> {
    let (_, ci, _) = split_tlv(cms);
    let mut ci = children(ci); // [OID, [0]]
    let (_, sd, _) = split_tlv(&ci[1].1);
    let mut sd = children(sd);
    let last = sd.len() - 1;
    let mut infos = children(&sd[last].1);
    let mut info = children(&infos[0].1);
    let attr = tlv(0x30, &[tlv(0x06, oid), tlv(0x31, value)].concat());
    info.push((0xa1, attr));
    infos[0].1 = join(&info);
    sd[last].1 = join(&infos);
    ci[1].1 = tlv(0x30, &join(&sd));
    tlv(0x30, &join(&ci))
}

/// Replaces the embedded certificates of a CMS (the `[0]` field of its SignedData).
pub fn replace_certificates(cms: &[u8], certs: &[Vec<u8>]) -> Vec<u8> {
    let (_, ci, _) = split_tlv(cms);
    let mut ci = children(ci);
    let (_, sd, _) = split_tlv(&ci[1].1);
    let mut sd = children(sd);
    let slot = sd.iter().position(|(t, _)| *t == 0xa0).unwrap();
    sd[slot].1 = certs.concat();
    ci[1].1 = tlv(0x30, &join(&sd));
    tlv(0x30, &join(&ci))
}
