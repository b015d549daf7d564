//! The procedure catalog (issue #10): what `definitions/catalog/procedures.toml` says about each
//! procedure shipped with motcua — its TTHC code, Vietnamese name, BPMN file and forms, agency
//! level and owning agency, fee, legal time limit in working days, legal basis and required
//! documents — read into typed [`Procedure`]s.
//!
//! [`Catalog::shipped`] is the copy embedded at build time, together with the BPMN and form files
//! it names ([`Catalog::files`] gives them as one deployment); [`Catalog::load`] reads a catalog
//! folder from disk. The metadata is data beside the BPMN, not parser attributes: the BPMN stays
//! what a modeler writes, and a test checks that the two agree (documents, SLA, agency).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::engine::DeployFile;

/// The agency level owning a procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Province (cấp tỉnh).
    Tinh,
    /// District or city (cấp huyện).
    Huyen,
    /// Commune or ward (cấp xã).
    Xa,
}

impl Level {
    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Level::Tinh => "Cấp tỉnh",
            Level::Huyen => "Cấp huyện",
            Level::Xa => "Cấp xã",
        }
    }
}

/// A document a procedure's dossiers carry (mirrors a BPMN `<motcua:document>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogDocument {
    /// The slot (`to-khai`).
    pub slot: String,
    /// The name the applicant reads.
    pub name: String,
    /// Whether the dossier is incomplete without it (default true).
    #[serde(default = "yes")]
    pub required: bool,
}

fn yes() -> bool {
    true
}

/// One procedure of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procedure {
    /// The TTHC-style code (illustrative unless the province publishes it).
    pub code: String,
    /// The BPMN process id.
    pub key: String,
    /// The Vietnamese name.
    pub name: String,
    /// The BPMN file, relative to the catalog folder.
    pub bpmn: String,
    /// The form files deployed with it.
    #[serde(default)]
    pub forms: Vec<String>,
    /// The agency level.
    pub level: Level,
    /// The owning agency's code, when one agency owns it.
    #[serde(default)]
    pub agency: Option<String>,
    /// The fee in đồng (0: none, or computed per dossier: see `fee_text`).
    #[serde(default)]
    pub fee: u64,
    /// The fee as the portal prints it.
    #[serde(default)]
    pub fee_text: String,
    /// The legal time limit in working days.
    #[serde(default)]
    pub sla_working_days: Option<f64>,
    /// Laws, decrees, circulars.
    #[serde(default)]
    pub legal_basis: Vec<String>,
    /// The documents, as the BPMN lists them.
    #[serde(default)]
    pub documents: Vec<CatalogDocument>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    procedure: Vec<Procedure>,
}

/// Why a catalog cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The TOML does not parse or does not fit the schema.
    #[error("{file}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A file named by the catalog cannot be read.
    #[error("{file}: {message}")]
    Io {
        /// The file.
        file: String,
        /// The I/O error.
        message: String,
    },
}

/// The catalog: its procedures and the text of the files they name.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    procedures: Vec<Procedure>,
    /// `(name relative to the catalog folder, text)`.
    files: Vec<(String, String)>,
}

const SHIPPED_TOML: &str = include_str!("../../definitions/catalog/procedures.toml");

macro_rules! shipped {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../definitions/catalog/", $name)))),*]
    };
}

/// Every file `procedures.toml` names, embedded.
const SHIPPED_FILES: &[(&str, &str)] = shipped!(
    "dang-ky-khai-sinh.bpmn",
    "to-khai-khai-sinh.form",
    "khai-sinh-tiep-nhan.form",
    "khai-sinh-tham-dinh.form",
    "chung-thuc-ban-sao.bpmn",
    "yeu-cau-chung-thuc.form",
    "chung-thuc-tiep-nhan.form",
    "chung-thuc-doi-chieu.form",
    "chung-thuc-tra-ket-qua.form",
    "dang-ky-ho-kinh-doanh.bpmn",
    "to-khai-ho-kinh-doanh.form",
    "hkd-tiep-nhan.form",
    "hkd-tham-dinh.form",
    "hkd-phe-duyet.form",
    "hkd-tra-ket-qua.form",
    "cap-phep-xay-dung-nha-o.bpmn",
    "don-cap-phep-xay-dung.form",
    "gpxd-tiep-nhan.form",
    "gpxd-tham-dinh.form",
    "gpxd-hien-truong.form",
    "gpxd-phe-duyet.form",
    "gpxd-tra-ket-qua.form",
    "chuyen-nhuong-quyen-su-dung-dat.bpmn",
    "don-dang-ky-bien-dong.form",
    "bien-dong-tiep-nhan.form",
    "bien-dong-tham-tra.form",
    "bien-dong-thong-bao-thue.form",
    "bien-dong-nop-thue.form",
    "bien-dong-cap-nhat.form",
    "bien-dong-tra-ket-qua.form",
    "phan-anh-hien-truong.bpmn",
    "phan-anh-hue-s.form",
    "phan-anh-phan-loai.form",
    "phan-anh-xu-ly.form",
    "phan-anh-dong.form",
    "theo-doi-chi-dao.bpmn",
);

/// The folder deployment names are given under (as the demo and the tests deploy them).
pub const FOLDER: &str = "definitions/catalog";

impl Catalog {
    /// Parses a `procedures.toml` text (files are not read).
    pub fn parse(file: &str, text: &str) -> Result<Vec<Procedure>, CatalogError> {
        let parsed: CatalogFile = toml::from_str(text).map_err(|e| CatalogError::Invalid {
            file: file.to_owned(),
            message: e.to_string(),
        })?;
        for (i, p) in parsed.procedure.iter().enumerate() {
            if parsed.procedure[..i].iter().any(|o| o.key == p.key) {
                return Err(CatalogError::Invalid {
                    file: file.to_owned(),
                    message: format!("procedure '{}' is listed twice", p.key),
                });
            }
            if p.sla_working_days
                .is_some_and(|d| !(d.is_finite() && d >= 0.0))
            {
                return Err(CatalogError::Invalid {
                    file: file.to_owned(),
                    message: format!("procedure '{}': sla_working_days must be >= 0", p.key),
                });
            }
        }
        Ok(parsed.procedure)
    }

    /// The catalog embedded at build time.
    pub fn shipped() -> Result<Catalog, CatalogError> {
        let procedures = Self::parse("definitions/catalog/procedures.toml", SHIPPED_TOML)?;
        let files = SHIPPED_FILES
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect();
        let catalog = Catalog { procedures, files };
        catalog.check_files()?;
        Ok(catalog)
    }

    /// Reads `procedures.toml` and every file it names from a catalog folder.
    pub fn load(folder: &Path) -> Result<Catalog, CatalogError> {
        let read = |name: &str| -> Result<String, CatalogError> {
            let path = folder.join(name);
            std::fs::read_to_string(&path).map_err(|e| CatalogError::Io {
                file: path.display().to_string(),
                message: e.to_string(),
            })
        };
        let toml_name = folder.join("procedures.toml").display().to_string();
        let procedures = Self::parse(&toml_name, &read("procedures.toml")?)?;
        let mut files = Vec::new();
        for p in &procedures {
            for name in std::iter::once(&p.bpmn).chain(&p.forms) {
                if !files.iter().any(|(n, _): &(String, String)| n == name) {
                    files.push((name.clone(), read(name)?));
                }
            }
        }
        Ok(Catalog { procedures, files })
    }

    fn check_files(&self) -> Result<(), CatalogError> {
        for p in &self.procedures {
            for name in std::iter::once(&p.bpmn).chain(&p.forms) {
                if self.text(name).is_none() {
                    return Err(CatalogError::Io {
                        file: format!("{FOLDER}/{name}"),
                        message: format!("named by procedure '{}' but not embedded", p.key),
                    });
                }
            }
        }
        Ok(())
    }

    /// The procedures, in file order.
    pub fn procedures(&self) -> &[Procedure] {
        &self.procedures
    }

    /// A procedure by its BPMN process id.
    pub fn procedure(&self, key: &str) -> Option<&Procedure> {
        self.procedures.iter().find(|p| p.key == key)
    }

    /// The text of a catalog file by its name in the folder.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.as_str())
    }

    /// A procedure's BPMN and forms as deployment files (named `definitions/catalog/<file>`).
    pub fn files(&self, procedure: &Procedure) -> Vec<DeployFile> {
        std::iter::once(&procedure.bpmn)
            .chain(&procedure.forms)
            .filter_map(|name| {
                self.text(name).map(|t| DeployFile {
                    name: format!("{FOLDER}/{name}"),
                    bytes: t.as_bytes().to_vec(),
                })
            })
            .collect()
    }

    /// Every procedure's files, as one deployment (each file once).
    pub fn all_files(&self) -> Vec<DeployFile> {
        let mut out: Vec<DeployFile> = Vec::new();
        for p in &self.procedures {
            for f in self.files(p) {
                if !out.iter().any(|o| o.name == f.name) {
                    out.push(f);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalog_reads_and_embeds_every_file_it_names() {
        let catalog = Catalog::shipped().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(catalog.procedures().len(), 7);
        let keys: Vec<&str> = catalog
            .procedures()
            .iter()
            .map(|p| p.key.as_str())
            .collect();
        for key in [
            "dang-ky-khai-sinh",
            "chung-thuc-ban-sao",
            "dang-ky-ho-kinh-doanh",
            "cap-phep-xay-dung-nha-o",
            "chuyen-nhuong-quyen-su-dung-dat",
            "phan-anh-hien-truong",
            "theo-doi-chi-dao",
        ] {
            assert!(keys.contains(&key), "{key} missing from the catalog");
        }
        let hkd = catalog
            .procedure("dang-ky-ho-kinh-doanh")
            .map(|p| (p.fee, p.level));
        assert_eq!(hkd, Some((100_000, Level::Huyen)));
        // Every embedded file is named by a procedure (no stale embedding).
        for (name, _) in SHIPPED_FILES {
            assert!(
                catalog
                    .procedures()
                    .iter()
                    .any(|p| p.bpmn == *name || p.forms.iter().any(|f| f == name)),
                "{name} is embedded but no procedure names it"
            );
        }
    }

    #[test]
    fn the_folder_on_disk_is_the_shipped_copy() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../definitions/catalog");
        let disk = Catalog::load(&folder).unwrap_or_else(|e| panic!("{e}"));
        let shipped = Catalog::shipped().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(disk.procedures(), shipped.procedures());
        assert_eq!(disk.all_files().len(), shipped.all_files().len());
    }

    #[test]
    fn bad_catalogs_are_refused_with_the_file_name() {
        let twice = "[[procedure]]\ncode='1'\nkey='a'\nname='A'\nbpmn='a.bpmn'\nlevel='xa'\n\
                     [[procedure]]\ncode='2'\nkey='a'\nname='B'\nbpmn='b.bpmn'\nlevel='xa'\n";
        let e = Catalog::parse("p.toml", twice).err().map(|e| e.to_string());
        assert!(e.is_some_and(|m| m.contains("p.toml") && m.contains("twice")));
        let level = "[[procedure]]\ncode='1'\nkey='a'\nname='A'\nbpmn='a.bpmn'\nlevel='quan'\n";
        assert!(Catalog::parse("p.toml", level).is_err());
    }
}
