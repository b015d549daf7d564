//! Agencies: the routing and tenant units (a province department, a district, a commune) by
//! their codes (QCVN 102:2016 style, e.g. `000.00.01.H22`), with the names printed on slips.
//!
//! The directory is data: a TOML file (`[[agency]]` tables with `code`, `name`, optional
//! `parent`, `address`, `phone`, `tier`, `peer`). A small example directory for Huế ships in
//! `engine/agencies/hue.toml`; a deployment passes its own. An agency missing from the
//! directory still works everywhere; its slips print its code as its name.
//!
//! The same file carries the routing tiers of inter-agency transfers (liên thông): `[[tier]]`
//! tables (`name`, `label`) from the top down, e.g. province → city/town (cấp huyện) → commune
//! (cấp xã), and each agency's `tier`. A transfer must name an agency of the directory
//! ([`Agencies::route`]); one with `peer = "<engine>"` lives on another motcua engine and is
//! handed to that engine's outbox instead of a local queue (see
//! [`crate::dossier::transfer`]). A directory without tiers is valid (slips only); when tiers
//! are listed, every agency's `tier` must name one of them.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One agency.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agency {
    /// Its code.
    pub code: String,
    /// Its name (e.g. "UBND phường Phú Hội").
    pub name: String,
    /// The authority above it, printed over its name (e.g. "UBND thành phố Huế").
    #[serde(default)]
    pub parent: Option<String>,
    /// Address.
    #[serde(default)]
    pub address: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Its routing tier (`province`, `district`, `commune`, ...), one of the file's `[[tier]]`.
    #[serde(default)]
    pub tier: Option<String>,
    /// The peer motcua engine it is served by, when it is not this engine's (a transfer to it
    /// goes to that engine's outbox).
    #[serde(default)]
    pub peer: Option<String>,
}

/// A routing tier (cấp): transfers go between agencies of the directory, at any tier.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Its name, as agencies' `tier` says (`province`, `district`, `commune`).
    pub name: String,
    /// The Vietnamese label (`Cấp tỉnh`, `Cấp huyện`, `Cấp xã`).
    #[serde(default)]
    pub label: Option<String>,
}

/// Where a transfer to an agency goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// An agency served by this engine: the dossier goes to its queue.
    Local,
    /// An agency served by another motcua engine (`peer`): the transfer goes to an outbox.
    Peer {
        /// The peer engine's name, as the directory gives it.
        engine: String,
    },
}

/// A directory file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AgencyError {
    /// Not valid TOML of the expected shape (the message names line and column).
    #[error("{file}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// An agency names a tier the file does not list.
    #[error(
        "{file}: agency {code} names tier '{tier}', which is not one of the file's [[tier]] tables"
    )]
    UnknownTier {
        /// The file.
        file: String,
        /// The agency.
        code: String,
        /// The tier named.
        tier: String,
    },
    /// The same code twice.
    #[error("{file}: agency {code} is listed twice")]
    Duplicate {
        /// The file.
        file: String,
        /// The code.
        code: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectoryFile {
    #[serde(default)]
    tier: Vec<Tier>,
    #[serde(default)]
    agency: Vec<Agency>,
}

/// The agencies by code, and the routing tiers.
#[derive(Debug, Clone, Default)]
pub struct Agencies {
    by_code: BTreeMap<String, Agency>,
    tiers: Vec<Tier>,
}

const SHIPPED: &str = include_str!("../agencies/hue.toml");

impl Agencies {
    /// The example directory shipped with motcua.
    pub fn shipped() -> Self {
        // The shipped file is checked by a test; an error here would be a build mistake, so
        // fall back to an empty directory rather than panic.
        Self::parse("engine/agencies/hue.toml", SHIPPED).unwrap_or_default()
    }

    /// Reads a directory file's text.
    pub fn parse(file: &str, text: &str) -> Result<Self, AgencyError> {
        let parsed: DirectoryFile = toml::from_str(text).map_err(|e| AgencyError::Invalid {
            file: file.to_owned(),
            message: e.to_string(),
        })?;
        let mut by_code = BTreeMap::new();
        for a in parsed.agency {
            if let Some(tier) = &a.tier {
                if !parsed.tier.iter().any(|t| &t.name == tier) {
                    return Err(AgencyError::UnknownTier {
                        file: file.to_owned(),
                        code: a.code,
                        tier: tier.clone(),
                    });
                }
            }
            if by_code.contains_key(&a.code) {
                return Err(AgencyError::Duplicate {
                    file: file.to_owned(),
                    code: a.code,
                });
            }
            by_code.insert(a.code.clone(), a);
        }
        Ok(Agencies {
            by_code,
            tiers: parsed.tier,
        })
    }

    /// The routing tiers, from the top down.
    pub fn tiers(&self) -> &[Tier] {
        &self.tiers
    }

    /// Where a transfer to `code` goes; `None` when the directory does not list it (a transfer
    /// to an unknown agency is refused).
    pub fn route(&self, code: &str) -> Option<Route> {
        self.get(code).map(|a| match &a.peer {
            Some(engine) => Route::Peer {
                engine: engine.clone(),
            },
            None => Route::Local,
        })
    }

    /// An agency by code.
    pub fn get(&self, code: &str) -> Option<&Agency> {
        self.by_code.get(code)
    }

    /// An agency by code, or one named by its code when the directory does not list it.
    pub fn get_or_code(&self, code: &str) -> Agency {
        self.get(code).cloned().unwrap_or_else(|| Agency {
            code: code.to_owned(),
            name: code.to_owned(),
            parent: None,
            address: None,
            phone: None,
            tier: None,
            peer: None,
        })
    }

    /// Every agency, by code.
    pub fn iter(&self) -> impl Iterator<Item = &Agency> {
        self.by_code.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_directory_reads() {
        let a = Agencies::parse("hue.toml", SHIPPED).expect("the shipped file is valid");
        let phu_hoi = a.get("000.00.01.H22").expect("listed");
        assert_eq!(phu_hoi.name, "UBND phường Phú Hội");
        assert_eq!(phu_hoi.parent.as_deref(), Some("UBND thành phố Huế"));
        assert_eq!(a.get_or_code("X.1").name, "X.1");
        let tiers: Vec<&str> = a.tiers().iter().map(|t| t.name.as_str()).collect();
        assert_eq!(tiers, ["province", "district", "commune"]);
        assert_eq!(phu_hoi.tier.as_deref(), Some("commune"));
        assert_eq!(a.route("000.00.10.H22"), Some(Route::Local));
        assert_eq!(a.route("NOT.LISTED"), None);
    }

    #[test]
    fn tiers_are_checked_and_peers_route_elsewhere() {
        let bad = "[[tier]]\nname = \"province\"\n[[agency]]\ncode = \"A\"\nname = \"x\"\ntier = \"ward\"\n";
        let e = Agencies::parse("t.toml", bad).expect_err("unknown tier");
        assert!(e.to_string().contains("ward"), "{e}");
        let peer = "[[agency]]\ncode = \"P\"\nname = \"x\"\npeer = \"quang-tri\"\n";
        let a = Agencies::parse("p.toml", peer).expect("valid");
        assert_eq!(
            a.route("P"),
            Some(Route::Peer {
                engine: "quang-tri".into()
            })
        );
    }

    #[test]
    fn a_bad_file_names_the_problem() {
        let e = Agencies::parse("a.toml", "[[agency]]\ncode = \"A\"\n").expect_err("no name");
        assert!(
            e.to_string().contains("a.toml") && e.to_string().contains("name"),
            "{e}"
        );
        let twice =
            "[[agency]]\ncode = \"A\"\nname = \"x\"\n[[agency]]\ncode = \"A\"\nname = \"y\"\n";
        assert!(matches!(
            Agencies::parse("b.toml", twice),
            Err(AgencyError::Duplicate { .. })
        ));
    }
}
