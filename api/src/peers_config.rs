//! `--peers FILE`: the other motcua engines this one exchanges dossiers with (liên thông across
//! engines), loaded into the engine's [`ExchangeSetup`]. Paths are relative to the file.
//!
//! ```toml
//! [[peer]]
//! agency = "000.00.10.H22"            # the peer's agency: transfers to it go to this engine
//! url = "http://10.0.0.12:8080"      # its motcua serve; messages go to <url>/exchange/messages
//! certificate = "peers/so-xay-dung.pem"   # the certificate it signs with (or fingerprint = "...")
//! ```
//!
//! Messages this engine sends are signed with the sending agency's `[[agency_key]]` of
//! `--signing`; messages it receives must verify against that file's trust anchors and be
//! signed by the peer's certificate named here.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use motcua_engine::exchange::{ExchangeSetup, Peer};
use serde::Deserialize;

use crate::signing_config::fingerprint_of;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeersFile {
    #[serde(default)]
    peer: Vec<PeerEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeerEntry {
    agency: String,
    url: String,
    #[serde(default)]
    certificate: Option<PathBuf>,
    #[serde(default)]
    fingerprint: Option<String>,
}

/// Reads `path` (TOML) into an [`ExchangeSetup`]. Every error names the file and the entry.
pub fn load(path: &Path) -> Result<ExchangeSetup> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {file}"))?;
    let parsed: PeersFile =
        toml::from_str(&text).map_err(|e| anyhow!("{file}: not a peers configuration: {e}"))?;
    let base = path.parent().unwrap_or_else(|| Path::new("."));
    let mut peers: Vec<Peer> = Vec::new();
    for (i, entry) in parsed.peer.iter().enumerate() {
        let name = format!("[[peer]] #{}", i + 1);
        let agency = entry.agency.trim();
        if agency.is_empty() {
            bail!("{file}: {name}: `agency` is empty");
        }
        if peers.iter().any(|p| p.agency == agency) {
            bail!("{file}: {name}: the agency {agency} is configured twice");
        }
        let url = entry.url.trim().trim_end_matches('/');
        if !url.starts_with("http://") || url.len() <= "http://".len() {
            bail!(
                "{file}: {name}: `url` must be an http:// URL (put a TLS proxy in front of an \
                 https peer), not `{}`",
                entry.url
            );
        }
        let fingerprint = fingerprint_of(
            &file,
            &name,
            base,
            entry.certificate.as_deref(),
            entry.fingerprint.as_deref(),
        )?;
        peers.push(Peer {
            agency: agency.to_owned(),
            url: url.to_owned(),
            fingerprint,
        });
    }
    Ok(ExchangeSetup { peers })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file_and_the_entry() {
        let dir = tempfile::tempdir().expect("a folder");
        let path = dir.path().join("peers.toml");
        let fp = "ab".repeat(32);
        std::fs::write(
            &path,
            format!(
                "[[peer]]\nagency = \"000.00.10.H22\"\nurl = \"http://127.0.0.1:1/\"\nfingerprint = \"{fp}\"\n"
            ),
        )
        .expect("written");
        let setup = load(&path).expect("a valid file");
        assert_eq!(setup.peers[0].url, "http://127.0.0.1:1");
        assert_eq!(setup.peers[0].fingerprint, fp);

        std::fs::write(
            &path,
            "[[peer]]\nagency = \"A\"\nurl = \"https://x\"\nfingerprint = \"00\"\n",
        )
        .expect("written");
        let e = format!("{:#}", load(&path).expect_err("https refused"));
        assert!(
            e.contains("peers.toml: [[peer]] #1: `url` must be an http:// URL"),
            "{e}"
        );
        std::fs::write(
            &path,
            "[[peer]]\nagency = \"A\"\nurl = \"http://x\"\nfingerprint = \"00\"\n",
        )
        .expect("written");
        let e = format!("{:#}", load(&path).expect_err("a short fingerprint"));
        assert!(
            e.contains("[[peer]] #1: fingerprint `00` is not a SHA-256"),
            "{e}"
        );
    }
}
