//! `--signing FILE`: the signing configuration (TOML) loaded into the engine's
//! [`SignatureSetup`] — trust anchors and CRLs, the engine's own key, the agencies' server-side
//! keys and the signer certificates mapped to users and agencies. Paths are relative to the
//! file. Passwords come from an environment variable or a file; they are handed to OpenSSL
//! only and never appear in errors or logs.
//!
//! ```toml
//! trust = ["roots/hue-root.pem"]       # PEM files of trusted roots
//! crls = ["crl/agency-ca.crl"]         # optional
//! [engine_key]                          # optional: the engine's own key (journal checkpoints)
//! pkcs12 = "keys/engine.p12"
//! password_env = "MOTCUA_ENGINE_KEY_PASSWORD"   # or password_file = "..."
//! [[agency_key]]
//! agency = "000.00.00.H22"
//! key = "keys/tt-pvhcc.key.pem"        # PEM key + certificate, or pkcs12 + password_env/password_file
//! certificate = "keys/tt-pvhcc.pem"
//! [[signer]]
//! certificate = "certs/nguyen-van-a.pem"   # or fingerprint = "<sha256 hex>"
//! user = "nguyenvana"
//! agency = "000.00.01.H22"
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use motcua_engine::{certificate_fingerprint, SignatureSetup, SignerMapping};
use motcua_signing::openssl::x509::X509;
use motcua_signing::{load_pem_key_and_cert, load_pkcs12, SigningIdentity, TrustStore};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SigningFile {
    #[serde(default)]
    trust: Vec<PathBuf>,
    #[serde(default)]
    crls: Vec<PathBuf>,
    #[serde(default)]
    engine_key: Option<KeyEntry>,
    #[serde(default)]
    agency_key: Vec<KeyEntry>,
    #[serde(default)]
    signer: Vec<SignerEntry>,
}

/// A key: PKCS#12, or a PEM key with its PEM certificate (and chain); the password (of the
/// PKCS#12, or of an encrypted PEM key) from an environment variable or a file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    #[serde(default)]
    agency: Option<String>,
    #[serde(default)]
    pkcs12: Option<PathBuf>,
    #[serde(default)]
    key: Option<PathBuf>,
    #[serde(default)]
    certificate: Option<PathBuf>,
    #[serde(default)]
    password_env: Option<String>,
    #[serde(default)]
    password_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignerEntry {
    #[serde(default)]
    certificate: Option<PathBuf>,
    #[serde(default)]
    fingerprint: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    agency: Option<String>,
}

/// Reads `path` (TOML) into a [`SignatureSetup`]. Every error names the file and the entry.
pub fn load(path: &Path) -> Result<SignatureSetup> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {file}"))?;
    let parsed: SigningFile =
        toml::from_str(&text).map_err(|e| anyhow!("{file}: not a signing configuration: {e}"))?;
    let base = path.parent().unwrap_or_else(|| Path::new("."));
    let at = |p: &Path| base.join(p);

    let mut trust = TrustStore::new();
    if parsed.trust.is_empty() {
        bail!("{file}: `trust` names no root certificate: without trust anchors no signature can be valid");
    }
    for (i, root) in parsed.trust.iter().enumerate() {
        trust
            .add_roots_pem_file(&at(root))
            .map_err(|e| anyhow!("{file}: trust[{i}] ({}): {e}", root.display()))?;
    }
    for (i, crl) in parsed.crls.iter().enumerate() {
        trust
            .add_crl_file(&at(crl))
            .map_err(|e| anyhow!("{file}: crls[{i}] ({}): {e}", crl.display()))?;
    }

    let engine_key = match &parsed.engine_key {
        None => None,
        Some(entry) => {
            if entry.agency.is_some() {
                bail!("{file}: [engine_key]: `agency` belongs to [[agency_key]] entries");
            }
            Some(load_key(entry, base).map_err(|e| anyhow!("{file}: [engine_key]: {e}"))?)
        }
    };

    let mut agency_keys: HashMap<String, SigningIdentity> = HashMap::new();
    for (i, entry) in parsed.agency_key.iter().enumerate() {
        let Some(agency) = entry
            .agency
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
        else {
            bail!(
                "{file}: [[agency_key]] #{}: `agency` (the agency code) is missing",
                i + 1
            );
        };
        let name = format!("[[agency_key]] #{} (agency {agency})", i + 1);
        if agency_keys.contains_key(agency) {
            bail!("{file}: {name}: the agency has a key already");
        }
        let identity = load_key(entry, base).map_err(|e| anyhow!("{file}: {name}: {e}"))?;
        agency_keys.insert(agency.to_owned(), identity);
    }

    let mut signers = Vec::new();
    for (i, entry) in parsed.signer.iter().enumerate() {
        let name = format!("[[signer]] #{}", i + 1);
        let fingerprint = fingerprint_of(
            &file,
            &name,
            base,
            entry.certificate.as_deref(),
            entry.fingerprint.as_deref(),
        )?;
        if entry.user.is_none() && entry.agency.is_none() {
            bail!("{file}: {name}: map the certificate to a `user`, an `agency` or both");
        }
        if signers
            .iter()
            .any(|s: &SignerMapping| s.fingerprint == fingerprint)
        {
            bail!("{file}: {name}: the certificate {fingerprint} is mapped twice");
        }
        signers.push(SignerMapping {
            fingerprint,
            user: entry.user.clone(),
            agency: entry.agency.clone(),
        });
    }

    Ok(SignatureSetup {
        trust,
        signers,
        agency_keys,
        engine_key,
    })
}

/// The password of a key entry, if it names one. The value never goes into an error.
fn password(entry: &KeyEntry, base: &Path) -> Result<Option<String>> {
    match (&entry.password_env, &entry.password_file) {
        (Some(_), Some(_)) => bail!("give `password_env` or `password_file`, not both"),
        (Some(var), None) => std::env::var(var)
            .map(Some)
            .map_err(|_| anyhow!("the environment variable {var} (password_env) is not set")),
        (None, Some(file)) => {
            let text = std::fs::read_to_string(base.join(file))
                .map_err(|e| anyhow!("cannot read the password file {}: {e}", file.display()))?;
            Ok(Some(text.trim_end_matches(['\r', '\n']).to_owned()))
        }
        (None, None) => Ok(None),
    }
}

fn load_key(entry: &KeyEntry, base: &Path) -> Result<SigningIdentity> {
    let read = |p: &Path| {
        std::fs::read(base.join(p)).map_err(|e| anyhow!("cannot read {}: {e}", p.display()))
    };
    let password = password(entry, base)?;
    match (&entry.pkcs12, &entry.key, &entry.certificate) {
        (Some(p12), None, None) => {
            let Some(password) = password else {
                bail!("a PKCS#12 key needs `password_env` or `password_file`");
            };
            load_pkcs12(&read(p12)?, &password)
                .map_err(|e| anyhow!("PKCS#12 {}: {e}", p12.display()))
        }
        (None, Some(key), Some(cert)) => {
            load_pem_key_and_cert(&read(key)?, &read(cert)?, password.as_deref())
                .map_err(|e| anyhow!("PEM key {} with {}: {e}", key.display(), cert.display()))
        }
        _ => bail!(
            "give either `pkcs12` (with password_env or password_file) or `key` and \
             `certificate` (PEM)"
        ),
    }
}

/// A certificate's SHA-256 fingerprint (lowercase hex) from exactly one of a certificate file
/// (PEM or DER, relative to `base`) and a written fingerprint (hex, colons allowed). Errors
/// name `file` and the entry `name`.
pub(crate) fn fingerprint_of(
    file: &str,
    name: &str,
    base: &Path,
    certificate: Option<&Path>,
    fingerprint: Option<&str>,
) -> Result<String> {
    match (certificate, fingerprint) {
        (Some(cert), None) => {
            let bytes = std::fs::read(base.join(cert))
                .map_err(|e| anyhow!("{file}: {name}: cannot read {}: {e}", cert.display()))?;
            let x509 = X509::from_pem(&bytes)
                .or_else(|_| X509::from_der(&bytes))
                .map_err(|_| {
                    anyhow!(
                        "{file}: {name}: {} is not a PEM or DER certificate",
                        cert.display()
                    )
                })?;
            certificate_fingerprint(&x509).map_err(|e| anyhow!("{file}: {name}: {e}"))
        }
        (None, Some(fp)) => {
            let hex: String = fp
                .chars()
                .filter(|c| *c != ':' && !c.is_whitespace())
                .collect::<String>()
                .to_ascii_lowercase();
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                bail!(
                    "{file}: {name}: fingerprint `{fp}` is not a SHA-256 (64 hexadecimal digits)"
                );
            }
            Ok(hex)
        }
        _ => bail!(
            "{file}: {name}: give exactly one of `certificate` (a PEM or DER file) and \
             `fingerprint` (SHA-256 of the certificate)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file_and_the_entry_and_never_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.toml");
        std::fs::write(dir.path().join("pw.txt"), "bí-mật-123\n").unwrap();
        std::fs::write(&path, "trust = [\"missing-root.pem\"]\n").unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("signing.toml") && e.contains("trust[0]"), "{e}");

        // A root that loads, then a PKCS#12 that does not: the entry is named, the password not.
        let pki = motcua_tests::pki::Pki::new();
        std::fs::write(dir.path().join("root.pem"), pki.root_pem()).unwrap();
        std::fs::write(dir.path().join("k.p12"), b"not a pkcs12").unwrap();
        std::fs::write(
            &path,
            "trust = [\"root.pem\"]\n[[agency_key]]\nagency = \"000.00.00.H22\"\n\
             pkcs12 = \"k.p12\"\npassword_file = \"pw.txt\"\n",
        )
        .unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("signing.toml"), "{e}");
        assert!(
            e.contains("[[agency_key]] #1 (agency 000.00.00.H22)"),
            "{e}"
        );
        assert!(!e.contains("bí-mật"), "{e}");

        std::fs::write(
            &path,
            "trust = [\"root.pem\"]\n[[signer]]\nfingerprint = \"abc\"\nuser = \"u\"\n",
        )
        .unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("[[signer]] #1") && e.contains("SHA-256"), "{e}");
    }
}
