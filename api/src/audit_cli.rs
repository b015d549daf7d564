//! The auditor's commands: `motcua verify FILE` checks an exported dossier archive offline
//! against trusted roots; `motcua dossier export CODE -o FILE` writes the archive;
//! `motcua dossier verify CODE` checks a dossier where it is stored; `motcua journal
//! checkpoint` signs a checkpoint over the journal's chain heads now.
//!
//! The checks are the engine's (`motcua_engine::audit`); this module reads files, prints the
//! report (text, or JSON with `--json`) and sets the exit status: 0 only when every check held.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::Utc;
use clap::Args;
use motcua_engine::audit::{verify_archive, Archive, AuditReport};
use motcua_engine::store::Store;
use motcua_engine::Engine;
use motcua_signing::SigningIdentity;

use crate::output::{print_json, say};
use crate::signature_cli::load_trust;

/// `motcua journal ...`
#[derive(Debug, clap::Subcommand)]
pub enum JournalCmd {
    /// Sign checkpoints now over every journal chain head not yet covered (needs the engine key
    /// of `--signing`); `motcua serve` and `motcua worker` do it at intervals.
    Checkpoint,
}

/// Where trust comes from: the roots (and CRLs) an auditor configures.
#[derive(Debug, Args)]
pub struct TrustArgs {
    /// PEM file of trusted root certificates (repeatable; several per file allowed).
    #[arg(long, required = true)]
    pub trust: Vec<PathBuf>,
    /// CRL file, PEM or DER (repeatable).
    #[arg(long)]
    pub crl: Vec<PathBuf>,
}

/// `motcua verify FILE`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The archive written by `motcua dossier export` (zip).
    pub file: PathBuf,
    #[command(flatten)]
    pub trust: TrustArgs,
}

/// Verifies an archive file offline; fails (non-zero exit) unless every check passed.
pub fn verify_file(args: &VerifyArgs, json: bool) -> Result<()> {
    let trust = load_trust(&args.trust.trust, &args.trust.crl)?;
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let archive = Archive::from_zip(&bytes)
        .with_context(|| format!("{} is not a dossier archive", args.file.display()))?;
    let report = verify_archive(&archive, &trust, Utc::now());
    print_report(&report, json)
}

/// Prints a report and turns a failed one into a failed command.
pub fn print_report(report: &AuditReport, json: bool) -> Result<()> {
    if json {
        print_json(&serde_json::to_value(report).context("cannot serialise the report")?);
    } else {
        say!("{}", report.text().trim_end());
    }
    if !report.passed {
        let failed: Vec<&str> = report
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.check)
            .collect();
        bail!(
            "the dossier did not verify (hồ sơ không toàn vẹn): {}",
            failed.join(", ")
        );
    }
    Ok(())
}

/// Writes a dossier's archive to `output`.
pub async fn export<S: Store>(
    engine: &Engine<S>,
    code: &str,
    output: &Path,
    key: Option<&SigningIdentity>,
    json: bool,
) -> Result<()> {
    let archive = engine
        .export_dossier(code, key)
        .await
        .with_context(|| format!("cannot export dossier {code}"))?;
    let zip = archive.to_zip().context("cannot write the archive")?;
    std::fs::write(output, &zip).with_context(|| format!("cannot write {}", output.display()))?;
    if json {
        print_json(&serde_json::json!({
            "dossier": code,
            "file": output.display().to_string(),
            "bytes": zip.len(),
            "files": archive.files.len(),
            "signed": key.is_some(),
        }));
    } else {
        say!(
            "Đã xuất hồ sơ {code} → {} ({} tệp, {} bytes){}",
            output.display(),
            archive.files.len(),
            zip.len(),
            if key.is_some() {
                ""
            } else {
                " — chưa ký: no engine key is configured (--signing), so no checkpoint was signed"
            }
        );
    }
    Ok(())
}

/// Verifies a dossier where it is stored.
pub async fn verify_stored<S: Store>(
    engine: &Engine<S>,
    code: &str,
    trust: &TrustArgs,
    json: bool,
) -> Result<()> {
    let trust = load_trust(&trust.trust, &trust.crl)?;
    let report = engine
        .verify_dossier(code, &trust)
        .await
        .with_context(|| format!("cannot verify dossier {code}"))?;
    print_report(&report, json)
}

/// Signs checkpoints over every chain head not yet covered.
pub async fn checkpoint<S: Store>(
    engine: &Engine<S>,
    key: Option<&SigningIdentity>,
    json: bool,
) -> Result<()> {
    let Some(key) = key else {
        bail!("no engine key: configure [engine_key] in the --signing file");
    };
    let made = engine.checkpoint(key).await.context("checkpoint failed")?;
    if json {
        print_json(&serde_json::json!(made
            .iter()
            .map(|c| serde_json::json!({"id": c.id, "size": c.size, "root": c.root, "at": c.at}))
            .collect::<Vec<_>>()));
    } else if made.is_empty() {
        say!("Không có thay đổi mới: every journal head is already covered by a checkpoint");
    } else {
        for c in &made {
            say!(
                "checkpoint {}: {} chain heads, root {}",
                c.id,
                c.size,
                c.root
            );
        }
    }
    Ok(())
}
