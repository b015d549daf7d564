//! `motcua signature`: sign a document with a detached CMS signature, and verify a detached
//! signature or every PAdES signature of a PDF against configured roots and CRLs, printing the
//! auditor's report (text, or JSON with `--json`; optionally an HTML page).
//!
//! The work is in `motcua_signing`; this module parses arguments, reads files and prints. The
//! exit status is 0 only when every signature is TOTAL_PASSED. Passwords come from an
//! environment variable and are never printed.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::Utc;
use clap::Subcommand;
use motcua_signing::{
    load_pem_key_and_cert, load_pkcs12, report_html, report_text, verify_detached, verify_pdf,
    SigningIdentity, TrustStore,
};

use crate::output::{print_json, say};

/// `motcua signature ...`
#[derive(Debug, Subcommand)]
pub enum SignatureCmd {
    /// Verify a detached CMS signature (`--signature`), or every signature inside a PDF.
    Verify {
        /// The signed document (a PDF when `--signature` is omitted).
        document: PathBuf,
        /// The detached CMS signature file (.p7s, DER).
        #[arg(long)]
        signature: Option<PathBuf>,
        /// PEM file of trusted root certificates (repeatable; several per file allowed).
        #[arg(long, required = true)]
        trust: Vec<PathBuf>,
        /// CRL file, PEM or DER (repeatable).
        #[arg(long)]
        crl: Vec<PathBuf>,
        /// Also write the report as a self-contained HTML page to this file.
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// Make a detached CMS signature (SHA-256, signer certificate and chain embedded).
    Sign {
        /// The document to sign.
        document: PathBuf,
        /// The signer's private key (PEM).
        #[arg(long, requires = "cert", conflicts_with = "pkcs12")]
        key: Option<PathBuf>,
        /// The signer's certificate (PEM; further certificates in the file form the chain).
        #[arg(long, requires = "key")]
        cert: Option<PathBuf>,
        /// CA certificates to embed (PEM).
        #[arg(long)]
        chain: Option<PathBuf>,
        /// Name of the environment variable holding the PEM key's password, if encrypted.
        #[arg(long, requires = "key")]
        key_password_env: Option<String>,
        /// A PKCS#12 file (.p12/.pfx) with key, certificate and chain.
        #[arg(long, requires = "password_env")]
        pkcs12: Option<PathBuf>,
        /// Name of the environment variable holding the PKCS#12 password.
        #[arg(long)]
        password_env: Option<String>,
        /// Where to write the signature (DER).
        #[arg(short = 'o', long)]
        output: PathBuf,
    },
}

/// Runs a `signature` subcommand.
pub fn run(cmd: SignatureCmd, json: bool) -> Result<()> {
    match cmd {
        SignatureCmd::Verify {
            document,
            signature,
            trust,
            crl,
            html,
        } => verify(
            &document,
            signature.as_deref(),
            &trust,
            &crl,
            html.as_deref(),
            json,
        ),
        SignatureCmd::Sign {
            document,
            key,
            cert,
            chain,
            key_password_env,
            pkcs12,
            password_env,
            output,
        } => {
            let identity = match (key, cert, pkcs12) {
                (Some(key), Some(cert), None) => {
                    let password = key_password_env.as_deref().map(password_from).transpose()?;
                    let mut cert_pem = read(&cert)?;
                    if let Some(chain) = &chain {
                        cert_pem.push(b'\n');
                        cert_pem.extend(read(chain)?);
                    }
                    load_pem_key_and_cert(&read(&key)?, &cert_pem, password.as_deref())
                        .context("cannot load the signing key and certificate")?
                }
                (None, None, Some(p12)) => {
                    let Some(var) = password_env.as_deref() else {
                        bail!("--pkcs12 needs --password-env VAR");
                    };
                    let identity = load_pkcs12(&read(&p12)?, &password_from(var)?)
                        .with_context(|| format!("cannot load {}", p12.display()))?;
                    match &chain {
                        Some(chain) => with_chain(identity, &read(chain)?)?,
                        None => identity,
                    }
                }
                _ => bail!("give either --key KEY.pem --cert CERT.pem, or --pkcs12 FILE --password-env VAR"),
            };
            let data = read(&document)?;
            let signature = identity.sign(&data, None).context("signing failed")?;
            std::fs::write(&output, &signature)
                .with_context(|| format!("cannot write {}", output.display()))?;
            if json {
                print_json(&serde_json::json!({
                    "document": document.display().to_string(),
                    "signature": output.display().to_string(),
                    "bytes": signature.len(),
                    "signer": identity.subject(),
                }));
            } else {
                say!(
                    "Đã ký / signed: {} → {} ({} bytes)",
                    document.display(),
                    output.display(),
                    signature.len()
                );
            }
            Ok(())
        }
    }
}

fn verify(
    document: &Path,
    signature: Option<&Path>,
    roots: &[PathBuf],
    crls: &[PathBuf],
    html: Option<&Path>,
    json: bool,
) -> Result<()> {
    let trust = load_trust(roots, crls)?;
    let data = read(document)?;
    let now = Utc::now();
    let reports = match signature {
        Some(sig) => vec![verify_detached(&data, &read(sig)?, &trust, now)],
        None => verify_pdf(&data, &trust, now),
    };
    if json {
        print_json(&serde_json::to_value(&reports).context("cannot serialise the report")?);
    } else {
        say!("{}", report_text(&reports).trim_end());
    }
    if let Some(path) = html {
        std::fs::write(path, report_html(&reports))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if reports.is_empty() {
        bail!("no signature found in {}", document.display());
    }
    let failed = reports.iter().filter(|r| !r.passed()).count();
    if failed > 0 {
        bail!(
            "{failed} of {} signature(s) did not pass (chữ ký không hợp lệ hoặc chưa xác định)",
            reports.len()
        );
    }
    Ok(())
}

/// The trust store from root PEM files and CRL files (PEM or DER).
pub fn load_trust(roots: &[PathBuf], crls: &[PathBuf]) -> Result<TrustStore> {
    let mut trust = TrustStore::new();
    for path in roots {
        trust
            .add_roots_pem_file(path)
            .with_context(|| format!("cannot load trusted roots from {}", path.display()))?;
    }
    for path in crls {
        trust
            .add_crl_file(path)
            .with_context(|| format!("cannot load the CRL {}", path.display()))?;
    }
    Ok(trust)
}

/// Adds CA certificates from a PEM file to an identity loaded from PKCS#12.
fn with_chain(mut identity: SigningIdentity, pem: &[u8]) -> Result<SigningIdentity> {
    let extra = motcua_signing::openssl::x509::X509::stack_from_pem(pem)
        .context("cannot read the --chain certificates")?;
    identity.extend_chain(extra);
    Ok(identity)
}

/// Reads a password from the named environment variable (its value is never printed).
fn password_from(var: &str) -> Result<String> {
    std::env::var(var).with_context(|| format!("the environment variable {var} is not set"))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}
