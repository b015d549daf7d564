//! A local certificate authority for demonstrations and trials: a self-signed root that issues
//! signing certificates (EC P-256, keyUsage digitalSignature + nonRepudiation), so `motcua demo`
//! and an operator trying the signing features can run everything end to end without a real
//! CA. Its certificates are real X.509 and verify like any other against its root, but a
//! production deployment configures the roots and keys of a licensed Vietnamese CA instead.

use chrono::{DateTime, Utc};
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509NameBuilder, X509};

use crate::error::SignError;
use crate::sign::SigningIdentity;

/// A self-signed root that issues signing certificates.
pub struct LocalAuthority {
    root: X509,
    key: PKey<Private>,
    next_serial: u32,
}

impl std::fmt::Debug for LocalAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalAuthority")
            .field(
                "root",
                &crate::report::name_to_string(self.root.subject_name()),
            )
            .finish_non_exhaustive()
    }
}

fn ec_key() -> Result<PKey<Private>, SignError> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    Ok(PKey::from_ec_key(EcKey::generate(&group)?)?)
}

/// A certificate of `key` named (`cn`, `org`, C=VN), valid from `from` to `to`, issued by
/// `issuer` (self-signed when none), as a CA or as a signer.
fn certificate(
    cn: &str,
    org: &str,
    serial: u32,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    ca: bool,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Result<X509, SignError> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COUNTRYNAME, "VN")?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, org)?;
    name.append_entry_by_nid(Nid::COMMONNAME, cn)?;
    let name = name.build();
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let serial: BigNum = BigNum::from_u32(serial)?;
    let serial: Asn1Integer = Asn1Integer::from_bn(&serial)?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(issuer.map_or(&*name, |(c, _)| c.subject_name()))?;
    b.set_pubkey(key)?;
    let not_before: Asn1Time = Asn1Time::from_unix(from.timestamp())?;
    let not_after: Asn1Time = Asn1Time::from_unix(to.timestamp())?;
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;
    if ca {
        b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()?,
        )?;
    } else {
        b.append_extension(BasicConstraints::new().build()?)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .non_repudiation()
                .build()?,
        )?;
    }
    let ski =
        SubjectKeyIdentifier::new().build(&b.x509v3_context(issuer.map(|(c, _)| &**c), None))?;
    b.append_extension(ski)?;
    if let Some((cert, _)) = issuer {
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&b.x509v3_context(Some(cert), None))?;
        b.append_extension(aki)?;
    }
    b.sign(issuer.map_or(key, |(_, k)| k), MessageDigest::sha256())?;
    Ok(b.build())
}

impl LocalAuthority {
    /// A new root named `cn` of `org`, valid over `validity`.
    pub fn new(
        cn: &str,
        org: &str,
        validity: (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<Self, SignError> {
        let key = ec_key()?;
        let root = certificate(cn, org, 1, &key, None, true, validity)?;
        Ok(LocalAuthority {
            root,
            key,
            next_serial: 2,
        })
    }

    /// The root certificate (the trust anchor to configure).
    pub fn root(&self) -> &X509 {
        &self.root
    }

    /// The root certificate as PEM.
    pub fn root_pem(&self) -> Result<Vec<u8>, SignError> {
        Ok(self.root.to_pem()?)
    }

    /// A signing identity (new key, certificate issued by the root, chain = [root]).
    pub fn issue(
        &mut self,
        cn: &str,
        org: &str,
        validity: (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<SigningIdentity, SignError> {
        let key = ec_key()?;
        let serial = self.next_serial;
        self.next_serial += 1;
        let cert = certificate(
            cn,
            org,
            serial,
            &key,
            Some((&self.root, &self.key)),
            false,
            validity,
        )?;
        SigningIdentity::new(key, cert, vec![self.root.clone()])
    }
}

/// An identity as a PKCS#12 file protected by `password` (what agencies' tokens export).
pub fn to_pkcs12(identity: &SigningIdentity, password: &str) -> Result<Vec<u8>, SignError> {
    let mut chain = openssl::stack::Stack::new()?;
    for c in identity.chain() {
        chain.push(c.clone())?;
    }
    let p12 = Pkcs12::builder()
        .name("motcua")
        .pkey(identity.key())
        .cert(identity.cert())
        .ca(chain)
        .build2(password)?;
    Ok(p12.to_der()?)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::{load_pkcs12, verify_detached, TrustStore};

    #[test]
    fn issued_identities_sign_and_verify_against_the_root_and_travel_as_pkcs12() {
        let now = Utc::now();
        let validity = (now - Duration::days(1), now + Duration::days(365));
        let mut ca = LocalAuthority::new("Root thử nghiệm", "motcua", validity).unwrap();
        let user = ca
            .issue("Nguyễn Văn A", "UBND phường Phú Hội", validity)
            .unwrap();
        let mut trust = TrustStore::new();
        trust.add_roots_pem(&ca.root_pem().unwrap()).unwrap();
        let signature = user.sign(b"to khai", None).unwrap();
        let report = verify_detached(b"to khai", &signature, &trust, now);
        assert!(report.passed(), "{report:?}");
        assert!(!verify_detached(b"to khai!", &signature, &trust, now).passed());

        let p12 = to_pkcs12(&user, "mật khẩu").unwrap();
        let back = load_pkcs12(&p12, "mật khẩu").unwrap();
        assert_eq!(back.cert().to_der().unwrap(), user.cert().to_der().unwrap());
        assert!(load_pkcs12(&p12, "sai").is_err());
    }
}
