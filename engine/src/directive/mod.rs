//! Leadership directives (theo dõi ý kiến chỉ đạo, issue #8): a directive of the Chairman or a
//! Vice-Chairman assigns tasks to agencies with deadlines; each assignment (the lead agency's,
//! each coordinating or monitoring unit's, each child task an assignee splits off) is one
//! instance of the catalog process `theo-doi-chi-dao` (`definitions/catalog/`).
//!
//! - [`status`]: the pure status function (in progress, due soon, overdue, done on time, done
//!   late) and the roll-up of a parent over its children.
//! - [`engine`]: the `Engine` methods (issue, child tasks, progress, extensions, completion,
//!   acceptance, reopening, queries, statistics).
//! - [`documents`]: documents attached to an assignment or a progress report, optionally
//!   signed (verified detached CMS, or signed server-side with an agency's key).
//!
//! Like dossiers, every change is a journal event of the assignment's instance written in the
//! same transaction as the rows it changes (an [`crate::command::Effect::Directive`] on the
//! instance's commit, version-checked): the directive and assignment rows ride on the start
//! commit, a progress report is a commit of its own, and completion, extension and acceptance
//! ride on the completion of the instance's user task (`thuc-hien`, `xet-gia-han`,
//! `nghiem-thu`), so the process and the projection never disagree.

pub mod documents;
pub mod engine;
pub mod status;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::InstanceId;

pub use documents::{DirectiveDocumentInput, DirectiveDocumentRecord};
pub use status::{roll_up, status, DirectiveStatus, DUE_SOON_WORKING_DAYS};

/// The catalog process every assignment runs.
pub const PROCESS_KEY: &str = "theo-doi-chi-dao";
/// The agency's task in that process.
pub const WORK_TASK: &str = "thuc-hien";
/// The issuer's decision on an extension request.
pub const EXTENSION_TASK: &str = "xet-gia-han";
/// The issuer's acceptance of a completed task.
pub const ACCEPTANCE_TASK: &str = "nghiem-thu";

/// What the directive comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DirectiveSource {
    /// A document (văn bản): its number and date.
    Document {
        /// Số hiệu văn bản (e.g. `123/UBND-TH`).
        number: String,
        /// Its date.
        date: NaiveDate,
    },
    /// A meeting (cuộc họp, giao ban): its date.
    Meeting {
        /// The meeting's date.
        date: NaiveDate,
    },
}

impl DirectiveSource {
    fn kind(&self) -> &'static str {
        match self {
            DirectiveSource::Document { .. } => "document",
            DirectiveSource::Meeting { .. } => "meeting",
        }
    }
}

/// A deadline as the issuer writes it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deadline {
    /// By the end of this day (17:00 Vietnam time, the end of office hours).
    Date(NaiveDate),
    /// So many working days from now, by the working-day calendar.
    WorkingDays(f64),
}

/// An assignment's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Chủ trì: the lead agency.
    Lead,
    /// Phối hợp: a coordinating agency.
    Coordinate,
    /// Theo dõi: a monitoring unit.
    Monitor,
}

impl Role {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Lead => "lead",
            Role::Coordinate => "coordinate",
            Role::Monitor => "monitor",
        }
    }

    /// Reads the stored text.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "lead" => Some(Role::Lead),
            "coordinate" => Some(Role::Coordinate),
            "monitor" => Some(Role::Monitor),
            _ => None,
        }
    }
}

/// Where an assignment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentState {
    /// The agency works on it.
    InProgress,
    /// An extension is waiting for the issuer.
    ExtensionRequested,
    /// The agency reported it done; the issuer has not accepted it yet.
    Completed,
    /// The issuer accepted it.
    Accepted,
}

impl AssignmentState {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentState::InProgress => "in_progress",
            AssignmentState::ExtensionRequested => "extension_requested",
            AssignmentState::Completed => "completed",
            AssignmentState::Accepted => "accepted",
        }
    }

    /// Reads the stored text.
    pub fn parse(s: &str) -> Option<AssignmentState> {
        match s {
            "in_progress" => Some(AssignmentState::InProgress),
            "extension_requested" => Some(AssignmentState::ExtensionRequested),
            "completed" => Some(AssignmentState::Completed),
            "accepted" => Some(AssignmentState::Accepted),
            _ => None,
        }
    }
}

/// One agency's part of a new directive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignmentInput {
    /// The agency code (e.g. `000.00.12.H22`).
    pub agency: String,
    /// Its role.
    pub role: Role,
    /// Its own deadline, else the directive's.
    #[serde(default)]
    pub deadline: Option<Deadline>,
}

/// A directive as the issuer's office enters it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueDirective {
    /// The Chairman or Vice-Chairman (user id): accepts results, decides extensions.
    pub issuer: String,
    /// Where it comes from.
    pub source: DirectiveSource,
    /// Trích yếu.
    pub summary: String,
    /// Nội dung chỉ đạo.
    pub content: String,
    /// The deadline of every assignment that names none.
    pub deadline: Deadline,
    /// `normal`, `urgent`, ... (free text, shown as given).
    pub priority: String,
    /// Exactly one lead, any coordinating and monitoring units.
    pub assignments: Vec<AssignmentInput>,
    /// Ask the assignees for a progress report every so many calendar days while their task
    /// is open (1 to 92; default [`DEFAULT_REPORT_EVERY_DAYS`], weekly).
    #[serde(default)]
    pub report_every_days: Option<u32>,
}

/// The reporting cadence of a directive that names none: weekly.
pub const DEFAULT_REPORT_EVERY_DAYS: u32 = 7;

/// The longest reporting cadence: a quarter.
pub const MAX_REPORT_EVERY_DAYS: u32 = 92;

/// A directive row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectiveRecord {
    /// Id (UUID v7).
    pub id: String,
    /// The issuing leader.
    pub issuer: String,
    /// Source.
    pub source: DirectiveSource,
    /// Trích yếu.
    pub summary: String,
    /// Content.
    pub content: String,
    /// Priority.
    pub priority: String,
    /// When it was entered.
    pub issued_at: DateTime<Utc>,
    /// Who entered it.
    pub issued_by: Option<String>,
    /// Progress reports are requested every so many calendar days.
    pub report_every_days: u32,
}

/// An assignment row with its directive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignmentRecord {
    /// Id (UUID v7).
    pub id: String,
    /// The directive.
    pub directive: DirectiveRecord,
    /// The parent assignment of a child task.
    pub parent: Option<String>,
    /// The agency (for a child task, the department).
    pub agency: String,
    /// Role.
    pub role: Role,
    /// What to do (the directive's summary, or the child task's title).
    pub title: String,
    /// The deadline now (after approved extensions).
    pub deadline: DateTime<Utc>,
    /// The deadline first given (kept for statistics).
    pub original_deadline: DateTime<Utc>,
    /// Its instance of `theo-doi-chi-dao`.
    pub instance: InstanceId,
    /// Where it is.
    pub state: AssignmentState,
    /// Last reported progress, 0–100.
    pub progress: i32,
    /// When the agency reported it done (cleared by a reopening).
    pub completed_at: Option<DateTime<Utc>>,
    /// When the issuer accepted it.
    pub accepted_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version (1 at creation, +1 per change).
    pub version: i64,
}

/// A progress report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRecord {
    /// Id.
    pub id: String,
    /// The assignment.
    pub assignment: String,
    /// What was done.
    pub text: String,
    /// Progress, 0–100.
    pub percent: i32,
    /// When.
    pub reported_at: DateTime<Utc>,
    /// Who.
    pub reported_by: Option<String>,
}

/// An extension request and its decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionRecord {
    /// Id.
    pub id: String,
    /// The assignment.
    pub assignment: String,
    /// Why.
    pub reason: String,
    /// The deadline asked for.
    pub requested_deadline: DateTime<Utc>,
    /// When.
    pub requested_at: DateTime<Utc>,
    /// Who.
    pub requested_by: Option<String>,
    /// The decision: `None` while pending.
    pub approved: Option<bool>,
    /// The deadline granted.
    pub new_deadline: Option<DateTime<Utc>>,
    /// When decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// Who decided.
    pub decided_by: Option<String>,
}

/// Which assignments the store returns (every given field must match).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssignmentFilter {
    /// One assignment.
    pub id: Option<String>,
    /// One directive's.
    pub directive: Option<String>,
    /// One agency's.
    pub agency: Option<String>,
    /// One leader's.
    pub issuer: Option<String>,
    /// One instance's.
    pub instance: Option<InstanceId>,
}

/// A directive change the store writes with the instance's commit.
#[derive(Debug, Clone, PartialEq)]
pub enum DirectiveEffect {
    /// Insert the directive row.
    Issued(DirectiveRecord),
    /// Insert an assignment row (version 1, progress 0, in progress).
    AssignmentCreated {
        /// Id.
        id: String,
        /// The directive.
        directive: String,
        /// The parent assignment.
        parent: Option<String>,
        /// Agency.
        agency: String,
        /// Role.
        role: Role,
        /// Title.
        title: String,
        /// Deadline (also the original deadline).
        deadline: DateTime<Utc>,
        /// Its instance.
        instance: InstanceId,
    },
    /// Bump the assignment's version (refused unless it is `expected_version`) and change
    /// the given columns.
    AssignmentUpdated(AssignmentChange),
    /// Insert a progress report.
    ReportAdded(ReportRecord),
    /// Insert a document row (its bytes and signature are blobs already stored).
    DocumentAttached(Box<DirectiveDocumentRecord>),
    /// Insert an extension request.
    ExtensionRequested(ExtensionRecord),
    /// Record the issuer's decision on an extension.
    ExtensionDecided {
        /// The extension.
        id: String,
        /// Approved or refused.
        approved: bool,
        /// The deadline granted.
        new_deadline: Option<DateTime<Utc>>,
        /// Who.
        decided_by: Option<String>,
    },
}

/// A change to an assignment row: the version check and the columns that change.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignmentChange {
    /// The assignment.
    pub id: String,
    /// The version read.
    pub expected_version: i64,
    /// New state.
    pub state: Option<AssignmentState>,
    /// New progress.
    pub progress: Option<i32>,
    /// New deadline (an approved extension).
    pub deadline: Option<DateTime<Utc>>,
    /// Set the completion time.
    pub completed_at: Option<DateTime<Utc>>,
    /// Clear the completion time (a reopening).
    pub clear_completed: bool,
    /// Set the acceptance time.
    pub accepted_at: Option<DateTime<Utc>>,
}

/// An assignment row's columns as both backends read them, before parsing.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AssignmentParts {
    pub id: String,
    pub directive_id: String,
    pub parent_id: Option<String>,
    pub agency: String,
    pub role: String,
    pub title: String,
    pub deadline: DateTime<Utc>,
    pub original_deadline: DateTime<Utc>,
    pub instance_id: String,
    pub state: String,
    pub progress: i32,
    pub completed_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    pub issuer: String,
    pub source_kind: String,
    pub source_number: Option<String>,
    pub source_date: Option<NaiveDate>,
    pub summary: String,
    pub content: String,
    pub priority: String,
    pub issued_at: DateTime<Utc>,
    pub issued_by: Option<String>,
    pub report_every_days: i32,
}

/// The SELECT both backends run for assignments (joined with their directive); filters are
/// appended as `AND ...`.
pub(crate) const ASSIGNMENT_SELECT: &str = "SELECT a.id, a.directive_id, a.parent_id, a.agency, \
     a.role, a.title, a.deadline, a.original_deadline, a.instance_id, a.state, a.progress, \
     a.completed_at, a.accepted_at, a.created_at, a.updated_at, a.version, d.issuer, \
     d.source_kind, d.source_number, d.source_date, d.summary, d.content, d.priority, \
     d.issued_at, d.issued_by, d.report_every_days FROM directive_assignments a JOIN directives d ON d.id = \
     a.directive_id WHERE 1 = 1";

/// Builds an [`AssignmentRecord`] from its columns.
pub(crate) fn assignment_from_parts(
    p: AssignmentParts,
) -> Result<AssignmentRecord, crate::store::StoreError> {
    use crate::store::StoreError;
    let corrupt = |what: &str, detail: String| {
        StoreError::Corrupt(format!("assignment {}: {what}: {detail}", p.id))
    };
    let instance =
        uuid::Uuid::parse_str(&p.instance_id).map_err(|e| corrupt("instance id", e.to_string()))?;
    let role = Role::parse(&p.role).ok_or_else(|| corrupt("role", p.role.clone()))?;
    let state =
        AssignmentState::parse(&p.state).ok_or_else(|| corrupt("state", p.state.clone()))?;
    let source = match (p.source_kind.as_str(), p.source_number, p.source_date) {
        ("document", Some(number), Some(date)) => DirectiveSource::Document { number, date },
        ("meeting", _, Some(date)) => DirectiveSource::Meeting { date },
        (kind, _, _) => return Err(corrupt("source", kind.to_owned())),
    };
    let report_every_days = u32::try_from(p.report_every_days)
        .map_err(|e| corrupt("report_every_days", e.to_string()))?;
    Ok(AssignmentRecord {
        id: p.id,
        directive: DirectiveRecord {
            id: p.directive_id,
            issuer: p.issuer,
            source,
            summary: p.summary,
            content: p.content,
            priority: p.priority,
            issued_at: p.issued_at,
            issued_by: p.issued_by,
            report_every_days,
        },
        parent: p.parent_id,
        agency: p.agency,
        role,
        title: p.title,
        deadline: p.deadline,
        original_deadline: p.original_deadline,
        instance: InstanceId::from_uuid(instance),
        state,
        progress: p.progress,
        completed_at: p.completed_at,
        accepted_at: p.accepted_at,
        created_at: p.created_at,
        updated_at: p.updated_at,
        version: p.version,
    })
}

/// A report row's columns.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ReportParts {
    pub id: String,
    pub assignment_id: String,
    pub text: String,
    pub percent: i32,
    pub reported_at: DateTime<Utc>,
    pub reported_by: Option<String>,
}

impl From<ReportParts> for ReportRecord {
    fn from(p: ReportParts) -> Self {
        ReportRecord {
            id: p.id,
            assignment: p.assignment_id,
            text: p.text,
            percent: p.percent,
            reported_at: p.reported_at,
            reported_by: p.reported_by,
        }
    }
}

/// An extension row's columns.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ExtensionParts {
    pub id: String,
    pub assignment_id: String,
    pub reason: String,
    pub requested_deadline: DateTime<Utc>,
    pub requested_at: DateTime<Utc>,
    pub requested_by: Option<String>,
    pub approved: Option<bool>,
    pub new_deadline: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
}

impl From<ExtensionParts> for ExtensionRecord {
    fn from(p: ExtensionParts) -> Self {
        ExtensionRecord {
            id: p.id,
            assignment: p.assignment_id,
            reason: p.reason,
            requested_deadline: p.requested_deadline,
            requested_at: p.requested_at,
            requested_by: p.requested_by,
            approved: p.approved,
            new_deadline: p.new_deadline,
            decided_at: p.decided_at,
            decided_by: p.decided_by,
        }
    }
}

pub(crate) fn source_kind(s: &DirectiveSource) -> &'static str {
    s.kind()
}
