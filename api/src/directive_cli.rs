//! `motcua directive`: leadership directives (theo dõi ý kiến chỉ đạo) from the command line —
//! issue, split into child tasks, report progress, request and decide extensions, complete,
//! accept or reopen; list and filter with the computed status, statistics per agency and per
//! leader (table, JSON, or Prometheus text), and a CSV export for meetings; attach documents
//! (optionally signed: a detached CMS file, or server-side with an agency's key) and list them.
//!
//! The work is the engine's (`motcua_engine::directive`); this module parses arguments and
//! prints. The CSV and Prometheus renderings live here too, shared with the HTTP API.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};
use motcua_engine::directive::engine::{AssignmentQuery, AssignmentView, DirectiveStatistics};
use motcua_engine::directive::{
    AssignmentInput, AssignmentRecord, Deadline, DirectiveDocumentInput, DirectiveDocumentRecord,
    DirectiveSource, DirectiveStatus, IssueDirective, Role,
};
use serde_json::json;

use crate::cli::Global;
use crate::commands::{open, options, parse_local};
use crate::output::{local, print_json, say, table};

/// When: a date (`YYYY-MM-DD`, the end of that day in Vietnam) or working days from now.
#[derive(Debug, Args)]
pub struct DeadlineArgs {
    /// The deadline date, `YYYY-MM-DD`.
    #[arg(
        long,
        conflicts_with = "working_days",
        required_unless_present = "working_days"
    )]
    pub deadline: Option<NaiveDate>,
    /// The deadline in working days from now (half days allowed).
    #[arg(long)]
    pub working_days: Option<f64>,
}

impl DeadlineArgs {
    fn deadline(&self) -> Result<Deadline> {
        match (self.deadline, self.working_days) {
            (Some(d), _) => Ok(Deadline::Date(d)),
            (None, Some(n)) => Ok(Deadline::WorkingDays(n)),
            (None, None) => bail!("give --deadline YYYY-MM-DD or --working-days N"),
        }
    }
}

/// Which assignments: every filter given must hold.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// One agency's assignments.
    #[arg(long)]
    pub agency: Option<String>,
    /// One leader's directives.
    #[arg(long)]
    pub leader: Option<String>,
    /// One directive's assignments.
    #[arg(long)]
    pub directive: Option<String>,
    /// `in_progress`, `due_soon`, `overdue`, `done_on_time` or `done_late`.
    #[arg(long, value_parser = ["in_progress", "due_soon", "overdue", "done_on_time", "done_late"])]
    pub status: Option<String>,
    /// Directives issued from (`YYYY-MM-DD`, Vietnam time).
    #[arg(long)]
    pub from: Option<String>,
    /// Directives issued before (`YYYY-MM-DD`, Vietnam time).
    #[arg(long)]
    pub to: Option<String>,
    /// Text in the summary, content, title or document number.
    #[arg(long)]
    pub text: Option<String>,
}

impl FilterArgs {
    fn query(&self) -> Result<AssignmentQuery> {
        Ok(AssignmentQuery {
            agency: self.agency.clone(),
            issuer: self.leader.clone(),
            directive: self.directive.clone(),
            status: self.status.clone(),
            issued_from: self.from.as_deref().map(parse_local).transpose()?,
            issued_to: self.to.as_deref().map(parse_local).transpose()?,
            text: self.text.clone(),
        })
    }
}

/// `motcua directive ...`
#[derive(Debug, Subcommand)]
pub enum DirectiveCmd {
    /// Issue a directive: one lead agency, co-ordinating and monitoring units.
    Issue {
        /// The issuing leader (user id).
        #[arg(long)]
        issuer: String,
        /// Summary (trích yếu).
        #[arg(long)]
        summary: String,
        /// Content.
        #[arg(long, default_value = "")]
        content: String,
        /// The source document's number (e.g. `123/UBND-TH`); without it, a meeting.
        #[arg(long, requires = "date")]
        document: Option<String>,
        /// The source document's or meeting's date, `YYYY-MM-DD`.
        #[arg(long)]
        date: NaiveDate,
        #[command(flatten)]
        deadline: DeadlineArgs,
        /// Priority (e.g. `normal`, `urgent`).
        #[arg(long, default_value = "normal")]
        priority: String,
        /// The lead agency (chủ trì).
        #[arg(long)]
        lead: String,
        /// A co-ordinating agency (phối hợp), repeatable.
        #[arg(long)]
        coordinate: Vec<String>,
        /// A monitoring unit (theo dõi), repeatable.
        #[arg(long)]
        monitor: Vec<String>,
        /// Ask for a progress report every N calendar days while a task is open (default 7).
        #[arg(long)]
        report_every_days: Option<u32>,
    },
    /// Split an assignment into a child task for a department.
    Child {
        /// The parent assignment.
        parent: String,
        /// The department's agency code.
        #[arg(long)]
        agency: String,
        /// What it must do.
        #[arg(long)]
        title: String,
        #[command(flatten)]
        deadline: DeadlineArgs,
    },
    /// Report progress.
    Report {
        /// The assignment.
        id: String,
        /// Percent done, 0 to 100.
        #[arg(long)]
        percent: i32,
        /// The report.
        #[arg(long)]
        text: String,
        /// The assignment version read (a change made meanwhile is a conflict).
        #[arg(long)]
        version: Option<i64>,
    },
    /// Ask the issuer for a new deadline.
    Extend {
        /// The assignment.
        id: String,
        #[command(flatten)]
        deadline: DeadlineArgs,
        /// Why.
        #[arg(long)]
        reason: String,
        /// The assignment version read.
        #[arg(long)]
        version: Option<i64>,
    },
    /// The issuer decides an extension request.
    Decide {
        /// The assignment.
        id: String,
        /// Approve (else refuse).
        #[arg(long, conflicts_with = "refuse", required_unless_present = "refuse")]
        approve: bool,
        /// Refuse.
        #[arg(long)]
        refuse: bool,
        /// The assignment version read.
        #[arg(long)]
        version: Option<i64>,
    },
    /// Report the assignment done, with evidence.
    Complete {
        /// The assignment.
        id: String,
        /// The evidence (e.g. the report's document number).
        #[arg(long)]
        evidence: String,
        /// The assignment version read.
        #[arg(long)]
        version: Option<i64>,
    },
    /// The issuer accepts a completed assignment, or reopens it with `--reopen`.
    Accept {
        /// The assignment.
        id: String,
        /// Reopen instead of accepting.
        #[arg(long, requires = "reason")]
        reopen: bool,
        /// Why it is reopened.
        #[arg(long)]
        reason: Option<String>,
        /// The assignment version read.
        #[arg(long)]
        version: Option<i64>,
    },
    /// Attach a document to an assignment (or, with `--report`, to one of its progress
    /// reports), optionally signed: `--signature FILE.p7s` (a detached CMS over the file, DER
    /// or PEM, verified before anything is stored) or `--sign-as AGENCY` (server-side with
    /// the agency's key from `--signing`).
    Attach {
        /// The assignment.
        id: String,
        /// The file.
        file: PathBuf,
        /// The progress report it belongs to.
        #[arg(long)]
        report: Option<String>,
        /// A detached CMS signature over the file (DER, or PEM).
        #[arg(long)]
        signature: Option<PathBuf>,
        /// Sign server-side with this agency's configured key.
        #[arg(long, conflicts_with = "signature")]
        sign_as: Option<String>,
        /// The media type (default: guessed from the file's extension).
        #[arg(long)]
        media_type: Option<String>,
    },
    /// An assignment's documents, oldest first.
    Documents {
        /// The assignment.
        id: String,
    },
    /// One assignment with its status, reports, extension requests and documents.
    Show {
        /// The assignment.
        id: String,
    },
    /// Assignments with their status; `--csv FILE` writes them for a meeting.
    List {
        #[command(flatten)]
        filter: FilterArgs,
        /// Also write the list as CSV (UTF-8 with BOM, opens in Excel) to this file.
        #[arg(long)]
        csv: Option<PathBuf>,
    },
    /// Counts per status and on-time rate, per agency and per leader.
    Stats {
        #[command(flatten)]
        filter: FilterArgs,
        /// Print Prometheus text instead of tables.
        #[arg(long)]
        prometheus: bool,
    },
}

/// Runs a `directive` subcommand.
pub async fn run(g: &Global, cmd: DirectiveCmd) -> Result<()> {
    let engine = open(g).await?;
    let now = engine.now();
    let changed = |record: AssignmentRecord| -> Result<()> {
        if g.json {
            print_json(&json!(record));
        } else {
            say!(
                "Nhiệm vụ {} ({}, {}): {} — tiến độ {}%, hạn {}",
                record.id,
                record.agency,
                role_vi(record.role),
                record.state.as_str(),
                record.progress,
                local(record.deadline)
            );
        }
        Ok(())
    };
    match cmd {
        DirectiveCmd::Issue {
            issuer,
            summary,
            content,
            document,
            date,
            deadline,
            priority,
            lead,
            coordinate,
            monitor,
            report_every_days,
        } => {
            let source = match document {
                Some(number) => DirectiveSource::Document { number, date },
                None => DirectiveSource::Meeting { date },
            };
            let mut assignments = vec![AssignmentInput {
                agency: lead,
                role: Role::Lead,
                deadline: None,
            }];
            for (agencies, role) in [(coordinate, Role::Coordinate), (monitor, Role::Monitor)] {
                assignments.extend(agencies.into_iter().map(|agency| AssignmentInput {
                    agency,
                    role,
                    deadline: None,
                }));
            }
            let made = engine
                .issue_directive(
                    IssueDirective {
                        issuer,
                        source,
                        summary,
                        content,
                        deadline: deadline.deadline()?,
                        priority,
                        assignments,
                        report_every_days,
                    },
                    options(g),
                )
                .await?;
            if g.json {
                print_json(&json!(made));
            } else {
                if let Some(first) = made.first() {
                    say!("Đã ban hành chỉ đạo {}", first.directive.id);
                }
                for a in &made {
                    say!(
                        "  nhiệm vụ {} → {} ({}), hạn {}",
                        a.id,
                        a.agency,
                        role_vi(a.role),
                        local(a.deadline)
                    );
                }
            }
            Ok(())
        }
        DirectiveCmd::Child {
            parent,
            agency,
            title,
            deadline,
        } => changed(
            engine
                .add_child_assignment(&parent, &agency, &title, deadline.deadline()?, options(g))
                .await?,
        ),
        DirectiveCmd::Report {
            id,
            percent,
            text,
            version,
        } => changed(
            engine
                .report_progress(&id, version, percent, &text, options(g))
                .await?,
        ),
        DirectiveCmd::Extend {
            id,
            deadline,
            reason,
            version,
        } => changed(
            engine
                .request_extension(&id, version, deadline.deadline()?, &reason, options(g))
                .await?,
        ),
        DirectiveCmd::Decide {
            id,
            approve,
            refuse: _,
            version,
        } => changed(
            engine
                .decide_extension(&id, version, approve, options(g))
                .await?,
        ),
        DirectiveCmd::Complete {
            id,
            evidence,
            version,
        } => changed(
            engine
                .complete_assignment(&id, version, &evidence, options(g))
                .await?,
        ),
        DirectiveCmd::Accept {
            id,
            reopen,
            reason,
            version,
        } => changed(
            engine
                .accept_assignment(&id, version, !reopen, reason.as_deref(), options(g))
                .await?,
        ),
        DirectiveCmd::Attach {
            id,
            file,
            report,
            signature,
            sign_as,
            media_type,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let signature = signature
                .as_deref()
                .map(crate::dossier_cli::signature_der)
                .transpose()?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .with_context(|| format!("{} names no file", file.display()))?;
            let input = DirectiveDocumentInput {
                name,
                media_type: media_type
                    .unwrap_or_else(|| crate::dossier_cli::media_type(&file).to_owned()),
                bytes,
                report,
                signature,
                sign_as_agency: sign_as,
            };
            let record = engine
                .attach_directive_document(&id, input, options(g))
                .await
                .map_err(|e| crate::dossier_cli::signature_error(e, g.json))?;
            if g.json {
                print_json(&json!(record));
            } else {
                say!(
                    "Đã đính kèm {} vào nhiệm vụ {}",
                    record.id,
                    record.assignment
                );
                say!("  {}", document_line(&record));
            }
            Ok(())
        }
        DirectiveCmd::Documents { id } => {
            let documents = engine.directive_documents(&id).await?;
            if g.json {
                print_json(&json!(documents));
            } else {
                say!("{}", documents_table(&documents));
            }
            Ok(())
        }
        DirectiveCmd::Show { id } => {
            let record = engine.directive_assignment(&id).await?;
            let status = engine.directive_status(&id, now).await?;
            let reports = engine.directive_reports(&id).await?;
            let extensions = engine.directive_extensions(&id).await?;
            let documents = engine.directive_documents(&id).await?;
            if g.json {
                print_json(&json!({
                    "assignment": record,
                    "status": status,
                    "reports": reports,
                    "extensions": extensions,
                    "documents": documents,
                }));
                return Ok(());
            }
            say!(
                "Nhiệm vụ {} — {} ({})\n{}\nCơ quan: {} ({}) · hạn {} (ban đầu {}) · tiến độ {}% · {}",
                record.id,
                record.directive.summary,
                record.directive.issuer,
                record.title,
                record.agency,
                role_vi(record.role),
                local(record.deadline),
                local(record.original_deadline),
                record.progress,
                status_text(status)
            );
            for r in &reports {
                say!(
                    "  báo cáo {}: {}% — {}",
                    local(r.reported_at),
                    r.percent,
                    r.text
                );
            }
            for e in &extensions {
                say!(
                    "  xin gia hạn {} đến {}: {} — {}",
                    local(e.requested_at),
                    local(e.requested_deadline),
                    e.reason,
                    match e.approved {
                        None => "chờ quyết định",
                        Some(true) => "đã đồng ý",
                        Some(false) => "không đồng ý",
                    }
                );
            }
            for d in &documents {
                say!("  tài liệu {}", document_line(d));
            }
            Ok(())
        }
        DirectiveCmd::List { filter, csv } => {
            let list = engine.list_assignments(&filter.query()?, now).await?;
            if let Some(path) = &csv {
                std::fs::write(path, assignments_csv(&list)?)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            if g.json {
                print_json(&json!(list));
                return Ok(());
            }
            let mut t = table(&[
                "nhiệm vụ",
                "chỉ đạo",
                "cơ quan",
                "vai trò",
                "hạn",
                "tiến độ",
                "trạng thái",
            ]);
            for v in &list {
                t.add_row(vec![
                    v.assignment.id.clone(),
                    v.assignment.directive.summary.clone(),
                    v.assignment.agency.clone(),
                    role_vi(v.assignment.role).to_owned(),
                    local(v.assignment.deadline),
                    format!("{}%", v.assignment.progress),
                    status_text(v.status),
                ]);
            }
            say!("{t}");
            if let Some(path) = csv {
                say!("CSV: {}", path.display());
            }
            Ok(())
        }
        DirectiveCmd::Stats { filter, prometheus } => {
            let stats = engine.directive_statistics(&filter.query()?, now).await?;
            if prometheus {
                say!("{}", statistics_prometheus(&stats).trim_end());
            } else if g.json {
                print_json(&statistics_json(&stats));
            } else {
                let mut t = table(&[
                    "theo",
                    "",
                    "đang thực hiện",
                    "sắp đến hạn",
                    "quá hạn",
                    "xong đúng hạn",
                    "xong quá hạn",
                    "tỉ lệ đúng hạn",
                ]);
                let rows = std::iter::once(("tổng", "", &stats.total))
                    .chain(
                        stats
                            .by_agency
                            .iter()
                            .map(|(k, c)| ("cơ quan", k.as_str(), c)),
                    )
                    .chain(
                        stats
                            .by_leader
                            .iter()
                            .map(|(k, c)| ("lãnh đạo", k.as_str(), c)),
                    );
                for (by, key, c) in rows {
                    t.add_row(vec![
                        by.to_owned(),
                        key.to_owned(),
                        c.in_progress.to_string(),
                        c.due_soon.to_string(),
                        c.overdue.to_string(),
                        c.done_on_time.to_string(),
                        c.done_late.to_string(),
                        c.on_time_rate()
                            .map(|r| format!("{:.0}%", r * 100.0))
                            .unwrap_or_else(|| "—".into()),
                    ]);
                }
                say!("{t}");
            }
            Ok(())
        }
    }
}

/// Who signed a document, in Vietnamese: `—` unsigned.
fn signer_text(d: &DirectiveDocumentRecord) -> String {
    if !d.is_signed() {
        return "—".to_owned();
    }
    let subject = d.signer_subject.clone().unwrap_or_default();
    let owner = match (&d.signer_user, &d.signer_agency) {
        (Some(u), Some(a)) => format!("{u}, cơ quan {a}"),
        (Some(u), None) => u.clone(),
        (None, Some(a)) => format!("cơ quan {a}"),
        (None, None) => "chứng thư chưa được gán".to_owned(),
    };
    let server = if d.server_side {
        ", ký phía máy chủ"
    } else {
        ""
    };
    format!("{subject} ({owner}{server})")
}

/// One document on one line: name, size, what it belongs to, signer, hash.
fn document_line(d: &DirectiveDocumentRecord) -> String {
    format!(
        "{} «{}» {} · {} byte · {} · {}ký số: {} · SHA-256 {}",
        local(d.added_at),
        d.name,
        d.media_type,
        d.size,
        d.report
            .as_deref()
            .map_or_else(|| "của nhiệm vụ".to_owned(), |r| format!("của báo cáo {r}")),
        d.added_by
            .as_deref()
            .map_or_else(String::new, |b| format!("thêm bởi {b} · ")),
        signer_text(d),
        d.sha256
    )
}

/// An assignment's documents as a table.
fn documents_table(documents: &[DirectiveDocumentRecord]) -> String {
    let mut t = table(&[
        "tài liệu",
        "tên tệp",
        "kiểu",
        "byte",
        "báo cáo",
        "ký số",
        "thêm lúc",
        "SHA-256",
    ]);
    for d in documents {
        t.add_row(vec![
            d.id.clone(),
            d.name.clone(),
            d.media_type.clone(),
            d.size.to_string(),
            d.report.clone().unwrap_or_default(),
            signer_text(d),
            local(d.added_at),
            d.sha256.clone(),
        ]);
    }
    t.to_string()
}

/// A role in Vietnamese.
pub fn role_vi(role: Role) -> &'static str {
    match role {
        Role::Lead => "chủ trì",
        Role::Coordinate => "phối hợp",
        Role::Monitor => "theo dõi",
    }
}

/// A status in Vietnamese, with the days late.
pub fn status_text(status: DirectiveStatus) -> String {
    match status {
        DirectiveStatus::Overdue { days_late } | DirectiveStatus::DoneLate { days_late } => {
            format!("{} ({days_late} ngày)", status.label())
        }
        _ => status.label().to_owned(),
    }
}

fn date_vi(at: DateTime<Utc>) -> String {
    local(at).chars().take(10).collect()
}

/// The assignments as CSV for a meeting: UTF-8 with a byte-order mark (Excel reads the
/// diacritics), Vietnamese headers, one row per assignment.
pub fn assignments_csv(list: &[AssignmentView]) -> Result<Vec<u8>> {
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record([
            "Mã nhiệm vụ",
            "Mã chỉ đạo",
            "Nguồn",
            "Ngày",
            "Lãnh đạo chỉ đạo",
            "Trích yếu",
            "Nhiệm vụ",
            "Cơ quan",
            "Vai trò",
            "Hạn xử lý",
            "Hạn ban đầu",
            "Tiến độ (%)",
            "Trạng thái",
            "Số ngày trễ",
        ])?;
        for v in list {
            let a = &v.assignment;
            let (source, date) = match &a.directive.source {
                DirectiveSource::Document { number, date } => (number.clone(), *date),
                DirectiveSource::Meeting { date } => ("Cuộc họp".to_owned(), *date),
            };
            let late = match v.status {
                DirectiveStatus::Overdue { days_late }
                | DirectiveStatus::DoneLate { days_late } => days_late.to_string(),
                _ => String::new(),
            };
            w.write_record([
                a.id.clone(),
                a.directive.id.clone(),
                source,
                date.format("%d/%m/%Y").to_string(),
                a.directive.issuer.clone(),
                a.directive.summary.clone(),
                a.title.clone(),
                a.agency.clone(),
                role_vi(a.role).to_owned(),
                date_vi(a.deadline),
                date_vi(a.original_deadline),
                a.progress.to_string(),
                v.status.label().to_owned(),
                late,
            ])?;
        }
        w.flush()?;
    }
    Ok(out)
}

/// Statistics as JSON: each group's counts and its on-time rate.
pub fn statistics_json(stats: &DirectiveStatistics) -> serde_json::Value {
    let counts = |c: &motcua_engine::directive::engine::StatusCounts| {
        json!({
            "in_progress": c.in_progress,
            "due_soon": c.due_soon,
            "overdue": c.overdue,
            "done_on_time": c.done_on_time,
            "done_late": c.done_late,
            "total": c.total(),
            "on_time_rate": c.on_time_rate(),
        })
    };
    json!({
        "total": counts(&stats.total),
        "by_agency": stats.by_agency.iter().map(|(k, c)| (k.clone(), counts(c))).collect::<serde_json::Map<_, _>>(),
        "by_leader": stats.by_leader.iter().map(|(k, c)| (k.clone(), counts(c))).collect::<serde_json::Map<_, _>>(),
    })
}

/// Statistics as Prometheus text: assignments per status and the on-time ratio, per agency and
/// per leader.
pub fn statistics_prometheus(stats: &DirectiveStatistics) -> String {
    let mut out = String::new();
    out.push_str(
        "# HELP motcua_directive_assignments Directive assignments by status.\n\
         # TYPE motcua_directive_assignments gauge\n",
    );
    let label = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    for (by, groups) in [("agency", &stats.by_agency), ("leader", &stats.by_leader)] {
        for (key, c) in groups {
            for (status, n) in [
                ("in_progress", c.in_progress),
                ("due_soon", c.due_soon),
                ("overdue", c.overdue),
                ("done_on_time", c.done_on_time),
                ("done_late", c.done_late),
            ] {
                out.push_str(&format!(
                    "motcua_directive_assignments{{{by}=\"{}\",status=\"{status}\"}} {n}\n",
                    label(key)
                ));
            }
        }
    }
    out.push_str(
        "# HELP motcua_directive_on_time_ratio Done on time / done.\n\
         # TYPE motcua_directive_on_time_ratio gauge\n",
    );
    for (by, groups) in [("agency", &stats.by_agency), ("leader", &stats.by_leader)] {
        for (key, c) in groups {
            if let Some(r) = c.on_time_rate() {
                out.push_str(&format!(
                    "motcua_directive_on_time_ratio{{{by}=\"{}\"}} {r}\n",
                    label(key)
                ));
            }
        }
    }
    out
}
