//! A real test PKI built with OpenSSL at test time (no fixtures, no mocks): a root CA, the
//! agency CA "Sở Tư pháp tỉnh Thừa Thiên Huế" and user certificates, plus a CRL encoded here
//! (the `openssl` crate has no CRL builder) and signed with the agency CA's key, a minimal
//! PDF with a PAdES signature dictionary, and an RFC 3161 time-stamping authority (TSA) whose
//! tokens are real CMS SignedData over a TSTInfo encoded here and signed with OpenSSL.

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
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier,
};
use motcua_signing::openssl::x509::{X509Builder, X509Extension, X509NameBuilder, X509};
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
    issue_with(spec, key, issuer, None)
}

/// Like [`issue`], with one more extension (an extendedKeyUsage for a TSA).
fn issue_with(
    spec: &Spec,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    extra: Option<X509Extension>,
) -> X509 {
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
    if let Some(ext) = extra {
        b.append_extension(ext).unwrap();
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

    /// A CRL issued by the root CA (which issues the TSAs) revoking `(serial, unix time)`.
    pub fn root_crl(&self, revoked: &[(u32, i64)]) -> Vec<u8> {
        crl(&self.root, &self.root_key, revoked)
    }

    /// A time-stamping authority certified by the root, valid from 1000 days ago to 1000 days
    /// from now.
    pub fn tsa(&self, cn: &str, serial: u32, purpose: TsaPurpose) -> Tsa {
        self.tsa_valid(cn, serial, purpose, -1000 * DAY, 1000 * DAY)
    }

    /// A TSA certified by the root, valid between `from` and `to` seconds relative to now.
    pub fn tsa_valid(&self, cn: &str, serial: u32, purpose: TsaPurpose, from: i64, to: i64) -> Tsa {
        let key = ec_key();
        let spec = Spec {
            cn,
            org: "Trung tâm Chứng thực điện tử quốc gia (thử nghiệm)",
            serial,
            usage: Usage::Signing,
            from,
            to,
        };
        let eku = match purpose {
            TsaPurpose::TimeStamping => Some(
                ExtendedKeyUsage::new()
                    .critical()
                    .time_stamping()
                    .build()
                    .unwrap(),
            ),
            TsaPurpose::NonCritical => {
                Some(ExtendedKeyUsage::new().time_stamping().build().unwrap())
            }
            TsaPurpose::AlsoEmail => Some(
                ExtendedKeyUsage::new()
                    .critical()
                    .time_stamping()
                    .email_protection()
                    .build()
                    .unwrap(),
            ),
            TsaPurpose::None => None,
        };
        let cert = issue_with(&spec, &key, Some((&self.root, &self.root_key)), eku);
        Tsa {
            cert,
            key,
            extra_certs: Vec::new(),
        }
    }
}

/// The extendedKeyUsage of a test TSA certificate.
#[derive(Clone, Copy, Debug)]
pub enum TsaPurpose {
    /// id-kp-timeStamping only, critical (RFC 3161 2.3).
    TimeStamping,
    /// id-kp-timeStamping, not critical.
    NonCritical,
    /// id-kp-timeStamping and emailProtection.
    AlsoEmail,
    /// No extendedKeyUsage at all.
    None,
}

/// A test time-stamping authority.
pub struct Tsa {
    pub cert: X509,
    pub key: PKey<Private>,
    /// Certificates embedded in its tokens after its own (none by default).
    pub extra_certs: Vec<X509>,
}

/// Options of one token.
pub struct TokenSpec<'a> {
    /// The message imprint's hash algorithm: "sha1", "sha256", "sha384" or "sha512".
    pub hash: &'a str,
    /// The hashed message (normally the hash of the signature value).
    pub imprint: Vec<u8>,
    /// genTime as GeneralizedTime text ("20260102030405.5Z").
    pub gen_time: String,
    pub serial: u32,
    /// Embed the TSA certificate in the token.
    pub embed_cert: bool,
}

/// A GeneralizedTime text for a Unix time plus milliseconds ("YYYYMMDDHHMMSS.mmmZ", the
/// trailing zeros of the fraction dropped as DER requires).
pub fn generalized_time(unix: i64, millis: u32) -> String {
    let t = chrono::DateTime::from_timestamp(unix, 0).unwrap();
    let mut text = t.format("%Y%m%d%H%M%S").to_string();
    if millis > 0 {
        let fraction = format!("{millis:03}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

fn hash_oid(name: &str) -> (Vec<u8>, MessageDigest) {
    match name {
        "sha1" => (vec![0x2b, 0x0e, 0x03, 0x02, 0x1a], MessageDigest::sha1()),
        "sha256" => (
            vec![0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01],
            MessageDigest::sha256(),
        ),
        "sha384" => (
            vec![0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02],
            MessageDigest::sha384(),
        ),
        "sha512" => (
            vec![0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03],
            MessageDigest::sha512(),
        ),
        other => panic!("unknown hash {other}"),
    }
}

/// The MessageDigest named like [`TokenSpec::hash`].
pub fn digest_named(name: &str) -> MessageDigest {
    hash_oid(name).1
}

const OID_TST_INFO: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
];
const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
const OID_CONTENT_TYPE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03];
const OID_MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
const OID_SIGNING_CERTIFICATE_V2: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x2f,
];
const OID_ECDSA_WITH_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
/// id-aa-signatureTimeStampToken 1.2.840.113549.1.9.16.2.14.
pub const OID_SIGNATURE_TIME_STAMP: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x0e,
];

impl Tsa {
    /// A DER TSTInfo for `spec` (policy 1.2.3.4.1, accuracy 1 s, a nonce).
    pub fn tst_info(&self, spec: &TokenSpec) -> Vec<u8> {
        let (oid, _) = hash_oid(spec.hash);
        let imprint = tlv(
            0x30,
            &[tlv(0x30, &tlv(0x06, &oid)), tlv(0x04, &spec.imprint)].concat(),
        );
        tlv(
            0x30,
            &[
                int(1),
                tlv(0x06, &[0x2a, 0x03, 0x04, 0x01]),
                imprint,
                int(spec.serial),
                tlv(0x18, spec.gen_time.as_bytes()),
                tlv(0x30, &int(1)),
                int(0x5eed),
            ]
            .concat(),
        )
    }

    /// A time-stamp token: a CMS SignedData (version 3) whose eContentType is id-ct-TSTInfo,
    /// signed by the TSA key with ECDSA-SHA256 over the signed attributes contentType,
    /// messageDigest and signingCertificateV2 (RFC 3161 2.4.2, RFC 5816).
    pub fn token(&self, spec: &TokenSpec) -> Vec<u8> {
        let tst_info = self.tst_info(spec);
        self.sign_content(&tst_info, spec.embed_cert)
    }

    /// Signs any content as a token would (for tests of odd TSTInfo encodings).
    pub fn sign_content(&self, tst_info: &[u8], embed_cert: bool) -> Vec<u8> {
        let sha256_alg = tlv(
            0x30,
            &tlv(
                0x06,
                &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01],
            ),
        );
        let digest =
            motcua_signing::openssl::hash::hash(MessageDigest::sha256(), tst_info).unwrap();
        let cert_der = self.cert.to_der().unwrap();
        let cert_hash =
            motcua_signing::openssl::hash::hash(MessageDigest::sha256(), &cert_der).unwrap();
        let attribute =
            |oid: &[u8], value: Vec<u8>| tlv(0x30, &[tlv(0x06, oid), tlv(0x31, &value)].concat());
        let mut attributes = [
            attribute(OID_CONTENT_TYPE, tlv(0x06, OID_TST_INFO)),
            attribute(OID_MESSAGE_DIGEST, tlv(0x04, &digest)),
            attribute(
                OID_SIGNING_CERTIFICATE_V2,
                tlv(0x30, &tlv(0x30, &tlv(0x30, &tlv(0x04, &cert_hash)))),
            ),
        ];
        attributes.sort();
        let signed_attrs = tlv(0x31, &attributes.concat());
        let mut signer = Signer::new(MessageDigest::sha256(), &self.key).unwrap();
        signer.update(&signed_attrs).unwrap();
        let signature = signer.sign_to_vec().unwrap();
        let mut implicit_attrs = signed_attrs;
        implicit_attrs[0] = 0xa0;
        let serial = self.cert.serial_number().to_bn().unwrap().to_vec();
        let mut serial_content = serial;
        if serial_content.first().is_none_or(|b| b & 0x80 != 0) {
            serial_content.insert(0, 0);
        }
        let signer_info = tlv(
            0x30,
            &[
                int(1),
                tlv(
                    0x30,
                    &[
                        self.cert.issuer_name().to_der().unwrap(),
                        tlv(0x02, &serial_content),
                    ]
                    .concat(),
                ),
                sha256_alg.clone(),
                implicit_attrs,
                tlv(0x30, &tlv(0x06, OID_ECDSA_WITH_SHA256)),
                tlv(0x04, &signature),
            ]
            .concat(),
        );
        let mut certificates = Vec::new();
        if embed_cert {
            certificates.extend(cert_der);
        }
        for extra in &self.extra_certs {
            certificates.extend(extra.to_der().unwrap());
        }
        let mut signed_data = [
            int(3),
            tlv(0x31, &sha256_alg),
            tlv(
                0x30,
                &[tlv(0x06, OID_TST_INFO), tlv(0xa0, &tlv(0x04, tst_info))].concat(),
            ),
        ]
        .concat();
        if !certificates.is_empty() {
            signed_data.extend(tlv(0xa0, &certificates));
        }
        signed_data.extend(tlv(0x31, &signer_info));
        tlv(
            0x30,
            &[
                tlv(0x06, OID_SIGNED_DATA),
                tlv(0xa0, &tlv(0x30, &signed_data)),
            ]
            .concat(),
        )
    }

    /// Time-stamps a signature as a TSA would at `gen_time`: the imprint is the SHA-256 of the
    /// signature value, and the token is added with `add_signature_timestamp`.
    pub fn stamp(&self, cms: &[u8], gen_time: &str) -> Vec<u8> {
        let token = self.token(&TokenSpec {
            hash: "sha256",
            imprint: motcua_signing::time_stamp_imprint(cms, MessageDigest::sha256()).unwrap(),
            gen_time: gen_time.to_string(),
            serial: 4242,
            embed_cert: true,
        });
        motcua_signing::add_signature_timestamp(cms, &token).unwrap()
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
    } else if len < 0x10000 {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    } else {
        out.extend([0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8]);
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
