//! Agencies: the routing and tenant units (a province department, a district, a commune) by
//! their codes (QCVN 102:2016 style, e.g. `000.00.01.H22`), with the names printed on slips.
//!
//! The directory is data: a TOML file (`[[agency]]` tables with `code`, `name`, optional
//! `parent`, `address`, `phone`). A small example directory for Huế ships in
//! `engine/agencies/hue.toml`; a deployment passes its own. An agency missing from the
//! directory still works everywhere; its slips print its code as its name.

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
    agency: Vec<Agency>,
}

/// The agencies by code.
#[derive(Debug, Clone, Default)]
pub struct Agencies {
    by_code: BTreeMap<String, Agency>,
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
            if by_code.contains_key(&a.code) {
                return Err(AgencyError::Duplicate {
                    file: file.to_owned(),
                    code: a.code,
                });
            }
            by_code.insert(a.code.clone(), a);
        }
        Ok(Agencies { by_code })
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
