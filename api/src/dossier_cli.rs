//! `motcua dossier`: the one-stop counter and auditors from the command line — submit a
//! dossier with its documents, show it, list and read its documents (checked against their
//! hashes), supplement, certify into the applicant's store, move it through its lifecycle,
//! set a new return date, sign documents (a signature file, or server-side with the agency's
//! key) and list their signatures, transfer it to another agency and list its transfers
//! (`motcua transfer accept|return|show` for the receiver), and print the slips of Circular
//! 01/2018 as HTML.
//!
//! The work is in `motcua_engine` (dossiers, slips) and `motcua_forms` (rendering); this
//! module parses arguments and prints answers (Vietnamese, or JSON with `--json`).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use clap::Subcommand;
use motcua_engine::slips::SlipForm;
use motcua_engine::store::any::AnyStore;
use motcua_engine::{
    Applicant, ApplicantKind, CertifyInput, DocumentInput, DocumentRecord, DossierState,
    DossierView, Engine, EngineError, SignatureRecord, SubmitDossier,
};
use serde_json::{json, Map};

use crate::cli::Global;
use crate::commands::{open, options, parse_local, parse_vars};
use crate::forms_cli::json_object_file;
use crate::output::{local, print_json, say, table};

#[derive(Debug, Subcommand)]
pub enum DossierCmd {
    /// Receive a dossier: its procedure, applicant, form data and documents.
    Submit {
        /// The procedure (definition key).
        #[arg(long)]
        procedure: String,
        /// The receiving agency's code (e.g. 000.00.01.H22).
        #[arg(long)]
        agency: String,
        /// `citizen_id` or `tax_code`.
        #[arg(long, default_value = "citizen_id")]
        applicant_kind: String,
        /// The applicant's citizen ID or tax code.
        #[arg(long)]
        applicant_id: String,
        /// The applicant's name.
        #[arg(long)]
        applicant_name: String,
        /// Address.
        #[arg(long)]
        address: Option<String>,
        /// Phone.
        #[arg(long)]
        phone: Option<String>,
        /// E-mail.
        #[arg(long)]
        email: Option<String>,
        /// Form data from a JSON file.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Form data, name=value (JSON values allowed); after --data.
        #[arg(long = "set")]
        set: Vec<String>,
        /// A document: slot=FILE (the media type is guessed from the extension).
        #[arg(long = "document", id = "document_files")]
        documents: Vec<String>,
        /// A document on file in the applicant's store: slot=ID (submit paper once).
        #[arg(long = "reuse")]
        reuse: Vec<String>,
        /// The promised return date (local time); default: the procedure's SLA in working days.
        #[arg(long)]
        due: Option<String>,
    },
    /// A dossier: its state, dates and documents.
    Show {
        /// Dossier code.
        code: String,
    },
    /// Every version of every document of a dossier.
    Documents {
        /// Dossier code.
        code: String,
    },
    /// Write a document's bytes to a file, checked against its SHA-256.
    Document {
        /// Dossier code.
        code: String,
        /// Slot.
        slot: String,
        /// Version.
        version: i32,
        /// Output file.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Supplement a document: slot=FILE becomes its next version (earlier ones stay).
    Supplement {
        /// Dossier code.
        code: String,
        /// slot=FILE.
        document: String,
    },
    /// Certify a digitized document into its owner's store, for reuse in later dossiers.
    Certify {
        /// Dossier code.
        code: String,
        /// Slot.
        slot: String,
        /// Version.
        version: i32,
        /// Kind of paper (e.g. giay-khai-sinh, cccd).
        #[arg(long = "type")]
        doc_type: String,
        /// Its number.
        #[arg(long)]
        number: Option<String>,
        /// Who issued it.
        #[arg(long)]
        issuer: Option<String>,
        /// Issue date, YYYY-MM-DD.
        #[arg(long)]
        issued_on: Option<NaiveDate>,
    },
    /// Move a dossier to another state (processing, supplement_requested, done, ...).
    Transition {
        /// Dossier code.
        code: String,
        /// The new state.
        to: String,
        /// Why (printed on supplement requests and refusals: one item a line).
        #[arg(long)]
        reason: Option<String>,
        /// Refuse unless the dossier is still at this version.
        #[arg(long)]
        expected_version: Option<i64>,
    },
    /// Transfer the dossier (or, with --task, one step of it) to another agency (liên thông).
    Transfer {
        /// Dossier code.
        code: String,
        /// The receiving agency's code (it must be in the agency directory, --agencies).
        #[arg(long = "to")]
        to: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// A slot whose latest version goes along (repeat); none: every document.
        #[arg(long = "document")]
        documents: Vec<String>,
        /// The receiver's share of the SLA in working days (a multiple of 0.5); default: all
        /// the time left.
        #[arg(long = "sla-days")]
        sla_days: Option<f64>,
        /// One step: the open user task handed over (its id).
        #[arg(long)]
        task: Option<String>,
        /// Refuse unless the dossier is still at this version.
        #[arg(long)]
        expected_version: Option<i64>,
    },
    /// List a dossier's transfers.
    Transfers {
        /// Dossier code.
        code: String,
    },
    /// Set a new promised return date (form 04 apologises for it).
    Reschedule {
        /// Dossier code.
        code: String,
        /// The new date (local time).
        due: String,
        /// Why it is late.
        #[arg(long)]
        reason: String,
    },
    /// Print a form of Circular 01/2018 for a dossier as HTML.
    Slip {
        /// Dossier code.
        code: String,
        /// 01 receipt, 02 supplement, 03 refusal, 04 apology, 05 control-sheet.
        #[arg(long, default_value = "01")]
        form: String,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Print the tracking register (form 06) of an agency for a period as HTML.
    Register {
        /// Agency code.
        agency: String,
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        from: NaiveDate,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        to: NaiveDate,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Sign the latest version of a document: attach a detached CMS signature made elsewhere
    /// (`--signature FILE.p7s`, verified before it is stored), or without it sign server-side
    /// with the agency's key from the `--signing` configuration.
    Sign {
        /// Dossier code.
        code: String,
        /// Slot.
        slot: String,
        /// A detached CMS signature over the document (DER, or PEM).
        #[arg(long)]
        signature: Option<PathBuf>,
        /// Server-side: the agency whose key signs (default: the dossier's agency).
        #[arg(long, conflicts_with = "signature")]
        agency: Option<String>,
    },
    /// The signatures stored with a dossier.
    Signatures {
        /// Dossier code.
        code: String,
    },
    /// Export the dossier as a self-contained archive for auditors (journal with its hash
    /// chain, documents, signatures, signed checkpoints, manifest). With an engine key
    /// (`--signing`), a checkpoint and the manifest are signed first.
    Export {
        /// Dossier code.
        code: String,
        /// The archive to write (zip).
        #[arg(short = 'o', long)]
        output: std::path::PathBuf,
    },
    /// Verify a dossier where it is stored, with the checks `motcua verify` runs on an archive;
    /// exit status 0 only when everything holds.
    Verify {
        /// Dossier code.
        code: String,
        #[command(flatten)]
        trust: crate::audit_cli::TrustArgs,
    },
    /// An applicant's document store: what is on file for reuse.
    Applicant {
        /// `citizen_id` or `tax_code`.
        kind: String,
        /// The id.
        id: String,
    },
}

fn kind(s: &str) -> Result<ApplicantKind> {
    ApplicantKind::parse(s)
        .with_context(|| format!("'{s}' is not an applicant kind: use citizen_id or tax_code"))
}

/// The media type of a file, guessed from its extension.
pub(crate) fn media_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("pdf") => "application/pdf",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("xml") => "application/xml",
        Some("json") => "application/json",
        Some("txt") => "text/plain",
        _ => "application/octet-stream",
    }
}

fn upload(pair: &str) -> Result<DocumentInput> {
    let Some((slot, file)) = pair.split_once('=') else {
        bail!("a document is written slot=FILE, not '{pair}'");
    };
    let path = PathBuf::from(file);
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {file}"))?;
    Ok(DocumentInput::Upload {
        slot: slot.trim().to_owned(),
        name: path
            .file_name()
            .map_or_else(|| file.to_owned(), |n| n.to_string_lossy().into_owned()),
        media_type: media_type(&path).to_owned(),
        bytes,
    })
}

fn write_or_print(html: &str, output: Option<&Path>) -> Result<()> {
    match output {
        Some(path) => {
            std::fs::write(path, html)
                .with_context(|| format!("cannot write {}", path.display()))?;
            say!("đã ghi {}", path.display());
        }
        None => say!("{html}"),
    }
    Ok(())
}

fn print_view(view: &DossierView, json_out: bool) -> Result<()> {
    if json_out {
        print_json(&serde_json::to_value(view)?);
        return Ok(());
    }
    let d = &view.dossier;
    say!("Hồ sơ {} — {}", d.code, d.state.label());
    say!(
        "  thủ tục: {} (phiên bản {})",
        d.procedure_key,
        d.procedure_version
    );
    say!(
        "  người nộp: {} ({} {})",
        d.applicant.name,
        d.applicant.kind.as_str(),
        d.applicant.id
    );
    say!("  tiếp nhận: {}", local(d.received_at));
    if let Some(due) = d.due_at {
        let late = if view.overdue { " — QUÁ HẠN" } else { "" };
        say!("  hẹn trả: {}{late}", local(due));
    }
    documents_table(&view.documents);
    Ok(())
}

fn documents_table(docs: &[DocumentRecord]) {
    let mut t = table(&[
        "giấy tờ",
        "phiên bản",
        "tệp",
        "SHA-256",
        "thêm lúc",
        "dùng lại",
    ]);
    for doc in docs {
        t.add_row(vec![
            doc.slot.clone(),
            doc.version.to_string(),
            doc.name.clone(),
            doc.sha256.chars().take(16).collect::<String>() + "…",
            local(doc.added_at),
            doc.reused_from.clone().unwrap_or_default(),
        ]);
    }
    say!("{t}");
}

/// A signature file's DER: DER as is, or the base64 body of a PEM (`-----BEGIN PKCS7-----`,
/// `CMS`).
pub(crate) fn signature_der(path: &Path) -> Result<Vec<u8>> {
    use base64::Engine as _;
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let Some(text) = std::str::from_utf8(&bytes)
        .ok()
        .filter(|t| t.trim_start().starts_with("-----BEGIN"))
    else {
        return Ok(bytes);
    };
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .with_context(|| format!("{} is a PEM file whose body is not base64", path.display()))
}

fn print_signature(s: &SignatureRecord, json_out: bool) -> Result<()> {
    if json_out {
        print_json(&serde_json::to_value(s)?);
        return Ok(());
    }
    say!(
        "{}: «{}» phiên bản {} đã được ký{}",
        s.dossier_code,
        s.slot,
        s.version,
        if s.server_side {
            " (phía máy chủ)"
        } else {
            ""
        }
    );
    say!("  người ký: {}", s.signer_subject);
    say!(
        "  gán cho: {}",
        match (&s.signer_user, &s.signer_agency) {
            (Some(u), Some(a)) => format!("{u} — cơ quan {a}"),
            (Some(u), None) => u.clone(),
            (None, Some(a)) => format!("cơ quan {a}"),
            (None, None) => "(chứng thư chưa được gán cho người dùng hay cơ quan nào)".to_owned(),
        }
    );
    say!("  SHA-256 giấy tờ: {}", s.document_sha256);
    Ok(())
}

/// A refused signature: the report for people, then the error.
pub(crate) fn signature_error(e: EngineError, json_out: bool) -> anyhow::Error {
    if let EngineError::Signature { report } = &e {
        if json_out {
            print_json(&json!(report));
        } else {
            say!(
                "{}",
                motcua_signing::report_text(std::slice::from_ref(report.as_ref()))
            );
        }
    }
    e.into()
}

async fn slip_html(engine: &Engine<AnyStore>, code: &str, form: &str) -> Result<String> {
    let form = SlipForm::from_str(form).map_err(anyhow::Error::msg)?;
    let slip = engine.dossier_slip(code, form).await?;
    Ok(motcua_forms::slips::render(engine.templates(), &slip)?)
}

pub async fn run(g: &Global, cmd: DossierCmd) -> Result<()> {
    let engine = open(g).await?;
    match cmd {
        DossierCmd::Submit {
            procedure,
            agency,
            applicant_kind,
            applicant_id,
            applicant_name,
            address,
            phone,
            email,
            data,
            set,
            documents,
            reuse,
            due,
        } => {
            let mut form = match &data {
                None => Map::new(),
                Some(path) => json_object_file(path)?,
            };
            form.extend(parse_vars(&set)?);
            let mut inputs = Vec::new();
            for d in &documents {
                inputs.push(upload(d)?);
            }
            for r in &reuse {
                let Some((slot, id)) = r.split_once('=') else {
                    bail!("a reused document is written slot=ID, not '{r}'");
                };
                inputs.push(DocumentInput::Reuse {
                    slot: slot.trim().to_owned(),
                    applicant_document_id: id.trim().to_owned(),
                });
            }
            let view = engine
                .submit_dossier(
                    SubmitDossier {
                        procedure_key: procedure,
                        version: None,
                        agency_code: agency,
                        applicant: Applicant {
                            kind: kind(&applicant_kind)?,
                            id: applicant_id,
                            name: applicant_name,
                            address,
                            phone,
                            email,
                        },
                        data: form,
                        documents: inputs,
                        due_at: due.as_deref().map(parse_local).transpose()?,
                        certify: Vec::new(),
                    },
                    options(g),
                )
                .await?;
            print_view(&view, g.json)
        }
        DossierCmd::Show { code } => print_view(&engine.dossier(&code).await?, g.json),
        DossierCmd::Documents { code } => {
            let docs = engine.dossier_documents(&code).await?;
            if g.json {
                print_json(&serde_json::to_value(&docs)?);
            } else {
                documents_table(&docs);
            }
            Ok(())
        }
        DossierCmd::Document {
            code,
            slot,
            version,
            output,
        } => {
            let bytes = engine.read_document(&code, &slot, version).await?;
            std::fs::write(&output, &bytes)
                .with_context(|| format!("cannot write {}", output.display()))?;
            say!(
                "{} byte, SHA-256 khớp — đã ghi {}",
                bytes.len(),
                output.display()
            );
            Ok(())
        }
        DossierCmd::Supplement { code, document } => {
            let doc = engine
                .add_document(&code, upload(&document)?, options(g))
                .await?;
            if g.json {
                print_json(&serde_json::to_value(&doc)?);
            } else {
                say!("{}: «{}» phiên bản {}", code, doc.slot, doc.version);
            }
            Ok(())
        }
        DossierCmd::Certify {
            code,
            slot,
            version,
            doc_type,
            number,
            issuer,
            issued_on,
        } => {
            let doc = engine
                .certify_document(
                    &code,
                    &slot,
                    version,
                    CertifyInput {
                        doc_type,
                        number,
                        issuer,
                        issued_on,
                    },
                    options(g),
                )
                .await?;
            if g.json {
                print_json(&serde_json::to_value(&doc)?);
            } else {
                say!(
                    "đã chứng thực vào kho giấy tờ của {}: {}",
                    doc.owner_id,
                    doc.id
                );
            }
            Ok(())
        }
        DossierCmd::Transition {
            code,
            to,
            reason,
            expected_version,
        } => {
            let to = DossierState::parse(&to)
                .with_context(|| format!("'{to}' is not a dossier state"))?;
            let view = engine
                .transition_dossier(&code, to, reason, expected_version, options(g))
                .await?;
            print_view(&view, g.json)
        }
        DossierCmd::Transfer {
            code,
            to,
            reason,
            documents,
            sla_days,
            task,
            expected_version,
        } => {
            let task = match task {
                Some(t) => Some(motcua_engine::TaskId::from_uuid(
                    uuid::Uuid::parse_str(&t).with_context(|| format!("'{t}' is not a task id"))?,
                )),
                None => None,
            };
            let t = engine
                .transfer_dossier(
                    &code,
                    motcua_engine::TransferRequest {
                        to_agency: to,
                        reason,
                        documents,
                        sla_share_working_days: sla_days,
                        task,
                        expected_version,
                    },
                    options(g),
                )
                .await?;
            print_transfers(&[t], g.json);
            Ok(())
        }
        DossierCmd::Transfers { code } => {
            let all = engine.dossier_transfers(&code).await?;
            print_transfers(&all, g.json);
            Ok(())
        }
        DossierCmd::Reschedule { code, due, reason } => {
            let view = engine
                .reschedule_dossier(&code, parse_local(&due)?, reason, options(g))
                .await?;
            print_view(&view, g.json)
        }
        DossierCmd::Slip { code, form, output } => {
            let html = slip_html(&engine, &code, &form).await?;
            write_or_print(&html, output.as_deref())
        }
        DossierCmd::Register {
            agency,
            from,
            to,
            output,
        } => {
            let slip = engine.dossier_register(&agency, from, to).await?;
            let html = motcua_forms::slips::render(engine.templates(), &slip)?;
            write_or_print(&html, output.as_deref())
        }
        DossierCmd::Sign {
            code,
            slot,
            signature,
            agency,
        } => {
            let record = match signature {
                Some(path) => {
                    let der = signature_der(&path)?;
                    engine
                        .attach_signature(&code, &slot, &der, options(g))
                        .await
                }
                None => {
                    let agency = match agency {
                        Some(a) => a,
                        None => engine.dossier(&code).await?.dossier.agency,
                    };
                    engine
                        .sign_document(&code, &slot, &agency, options(g))
                        .await
                }
            }
            .map_err(|e| signature_error(e, g.json))?;
            print_signature(&record, g.json)
        }
        DossierCmd::Export { code, output } => {
            crate::audit_cli::export(&engine, &code, &output, engine.engine_key(), g.json).await
        }
        DossierCmd::Verify { code, trust } => {
            crate::audit_cli::verify_stored(&engine, &code, &trust, g.json).await
        }
        DossierCmd::Signatures { code } => {
            let list = engine.dossier_signatures(&code).await?;
            if g.json {
                print_json(&json!(list));
            } else {
                let mut t = table(&[
                    "giấy tờ",
                    "phiên bản",
                    "người ký",
                    "người dùng",
                    "cơ quan",
                    "máy chủ",
                    "ký lúc",
                    "SHA-256 giấy tờ",
                ]);
                for s in &list {
                    t.add_row(vec![
                        s.slot.clone(),
                        s.version.to_string(),
                        s.signer_subject.clone(),
                        s.signer_user.clone().unwrap_or_default(),
                        s.signer_agency.clone().unwrap_or_default(),
                        if s.server_side { "có" } else { "" }.to_owned(),
                        s.signing_time.map(local).unwrap_or_default(),
                        s.document_sha256.chars().take(16).collect::<String>() + "…",
                    ]);
                }
                say!("{t}");
            }
            Ok(())
        }
        DossierCmd::Applicant { kind: k, id } => {
            let docs = engine.applicant_documents(kind(&k)?, &id).await?;
            if g.json {
                print_json(&json!(docs));
            } else {
                let mut t = table(&["mã", "loại", "số", "nơi cấp", "chứng thực lúc", "từ hồ sơ"]);
                for d in &docs {
                    t.add_row(vec![
                        d.id.clone(),
                        d.doc_type.clone(),
                        d.number.clone().unwrap_or_default(),
                        d.issuer.clone().unwrap_or_default(),
                        local(d.certified_at),
                        d.source_dossier.clone().unwrap_or_default(),
                    ]);
                }
                say!("{t}");
            }
            Ok(())
        }
    }
}

/// `motcua transfer`: the receiving agency accepts or returns a transfer.
#[derive(Debug, Subcommand)]
pub enum TransferCmd {
    /// Accept a transfer (the dossier or step is now this agency's to work).
    Accept {
        /// The transfer id.
        id: String,
    },
    /// Return a transfer to its sender, with the reason.
    Return {
        /// The transfer id.
        id: String,
        /// Why it goes back.
        #[arg(long)]
        reason: String,
    },
    /// Show one transfer.
    Show {
        /// The transfer id.
        id: String,
    },
}

/// Runs `motcua transfer ...`.
pub async fn run_transfer(g: &Global, cmd: TransferCmd) -> Result<()> {
    let engine = open(g).await?;
    let t = match cmd {
        TransferCmd::Accept { id } => engine.accept_transfer(&id, options(g)).await?,
        TransferCmd::Return { id, reason } => {
            engine.return_transfer(&id, reason, options(g)).await?
        }
        TransferCmd::Show { id } => engine.transfer(&id).await?,
    };
    print_transfers(&[t], g.json);
    Ok(())
}

/// Transfers as a table (Vietnamese labels, UTC+7 times) or, with `--json`, as HTTP answers
/// them (one object for one transfer).
fn print_transfers(all: &[motcua_engine::TransferRecord], json: bool) {
    if json {
        let items: Vec<_> = all
            .iter()
            .map(crate::http::transfers::transfer_json)
            .collect();
        match items.as_slice() {
            [one] => print_json(one),
            _ => print_json(&serde_json::Value::Array(items)),
        }
        return;
    }
    let mut t = table(&[
        "Mã liên thông",
        "Từ",
        "Đến",
        "Trạng thái",
        "Gửi lúc",
        "Hạn bên nhận",
        "Lý do",
    ]);
    for r in all {
        let reason = match &r.returned_reason {
            Some(back) => format!("{} — trả lại: {back}", r.reason),
            None => r.reason.clone(),
        };
        t.add_row(vec![
            r.id.clone(),
            r.from_agency.clone(),
            r.to_agency.clone(),
            r.state.label().to_owned(),
            local(r.sent_at),
            r.receiver_due_at.map(local).unwrap_or_default(),
            reason,
        ]);
    }
    say!("{t}");
}
