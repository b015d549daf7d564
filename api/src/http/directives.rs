//! Leadership directives (theo dõi ý kiến chỉ đạo) over HTTP: issue a directive
//! (`POST /directives`), list and filter assignments with their computed status
//! (`GET /directive-assignments`, and `GET /directive-assignments.csv` for meetings), one
//! assignment with its reports and extension requests, and the commands on it: child tasks,
//! progress reports, extension requests and decisions, completion, acceptance or reopening.
//! Documents (the directive's source document, a report's attachments), optionally signed:
//! `POST /directive-assignments/{id}/documents` (a detached CMS in `signature_base64` is
//! verified before anything is stored; `sign_as_agency` signs server-side with the agency's key),
//! the list, and each document's bytes.
//! Statistics per agency and per leader with the on-time rate, as JSON
//! (`GET /directive-statistics`) and as Prometheus text (`.../prometheus`) for the IOC.
//!
//! The work is the engine's (`motcua_engine::directive`); the JSON is the engine's records as
//! serde writes them (the same as `motcua directive ... --json`), and the CSV and Prometheus
//! renderings are the CLI's (`crate::directive_cli`).
//!
//! Who may do what (with tokens on; open development mode allows everything):
//! - reading needs `ReadDirectives`: a servant reads only their own agency's assignments (an
//!   assignment of another agency answers 404 like an unknown id); leaders, auditors and
//!   integrators (the IOC, Hue-S) read all;
//! - issuing needs `IssueDirectives` (leaders), and a leader issues in their own name;
//! - reporting, extension requests, completion and child tasks need `WorkDirectives` and the
//!   assignment's agency;
//! - deciding extensions and accepting or reopening need `DecideDirectives` and being the
//!   directive's issuer (admins excepted).
//!
//! Every command honours `Idempotency-Key`; an optional `version` in the body is the
//! assignment version the caller read (a change made meanwhile is a 409 `conflict`).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use chrono::NaiveDate;
use motcua_engine::directive::engine::{AssignmentQuery, AssignmentView, DirectiveStatistics};
use motcua_engine::directive::{
    AssignmentInput, AssignmentRecord, Deadline, DirectiveDocumentInput, DirectiveSource,
    IssueDirective, Role,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{Action, Role as UserRole};
use super::error::{ApiError, ApiResult};
use super::extract::{Caller, Json, Path, Query};
use super::openapi::{
    AssignmentDetailDto, AssignmentDto, AssignmentViewDto, BinaryDto, DirectiveDocumentDto,
    DirectiveStatisticsDto, Problem,
};
use super::state::AppState;
use super::stats::parse_instant;
use crate::directive_cli::{assignments_csv, statistics_json, statistics_prometheus};

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/directives", post(issue))
        .route("/directive-assignments", get(list))
        .route("/directive-assignments.csv", get(list_csv))
        .route("/directive-assignments/{id}", get(one))
        .route("/directive-assignments/{id}/children", post(child))
        .route("/directive-assignments/{id}/reports", post(report))
        .route(
            "/directive-assignments/{id}/extension-requests",
            post(request_extension),
        )
        .route(
            "/directive-assignments/{id}/extension-decision",
            post(decide_extension),
        )
        .route("/directive-assignments/{id}/completion", post(complete))
        .route("/directive-assignments/{id}/acceptance", post(accept))
        .route(
            "/directive-assignments/{id}/documents",
            get(documents).post(attach),
        )
        .route(
            "/directive-assignments/{id}/documents/{document}",
            get(document_content),
        )
        .route("/directive-statistics", get(statistics))
        .route("/directive-statistics/prometheus", get(statistics_text))
}

// --- Requests -----------------------------------------------------------------------------------

/// A deadline: a date (the end of office hours, 17:00 Vietnam time, that day) or a number of
/// working days from now (by the working-day calendar). Exactly one.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadlineRequest {
    /// `YYYY-MM-DD`.
    pub date: Option<NaiveDate>,
    /// Working days from now (half days allowed).
    pub working_days: Option<f64>,
}

impl DeadlineRequest {
    fn deadline(&self) -> ApiResult<Deadline> {
        match (self.date, self.working_days) {
            (Some(d), None) => Ok(Deadline::Date(d)),
            (None, Some(n)) => Ok(Deadline::WorkingDays(n)),
            _ => Err(ApiError::Invalid(
                "a deadline is either {\"date\": \"YYYY-MM-DD\"} or {\"working_days\": N}".into(),
            )),
        }
    }
}

/// A new directive.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// The issuing leader (user id). With tokens on, a leader issues in their own name and may
    /// leave it out; in open development mode it defaults to `X-Motcua-User`.
    pub issuer: Option<String>,
    /// Trích yếu.
    pub summary: String,
    /// Nội dung chỉ đạo.
    #[serde(default)]
    pub content: String,
    /// The source document's number (`123/UBND-TH`); without it the source is a meeting.
    pub document_number: Option<String>,
    /// The source document's or meeting's date.
    pub date: NaiveDate,
    /// The deadline of every assignment.
    pub deadline: DeadlineRequest,
    /// `normal`, `urgent`, ... (shown as given).
    #[serde(default = "normal")]
    pub priority: String,
    /// The lead agency (chủ trì).
    pub lead: String,
    /// Co-ordinating agencies (phối hợp).
    #[serde(default)]
    pub coordinate: Vec<String>,
    /// Monitoring units (theo dõi).
    #[serde(default)]
    pub monitor: Vec<String>,
    /// Ask for a progress report every so many calendar days (1–92, default 7).
    pub report_every_days: Option<u32>,
}

fn normal() -> String {
    "normal".into()
}

/// A child task for one of the assignee's departments.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChildRequest {
    /// The department's agency code.
    pub agency: String,
    /// What it must do.
    pub title: String,
    /// Not after the parent's deadline.
    pub deadline: DeadlineRequest,
}

/// A progress report.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// Percent done, 0–100.
    pub percent: i32,
    /// What was done.
    pub text: String,
    /// The assignment version read.
    pub version: Option<i64>,
}

/// A request for a later deadline.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionRequest {
    /// The deadline asked for.
    pub deadline: DeadlineRequest,
    /// Why.
    pub reason: String,
    /// The assignment version read.
    pub version: Option<i64>,
}

/// The issuer's decision on the pending extension request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// Approve (the requested deadline becomes the deadline; the original is kept) or refuse.
    pub approve: bool,
    /// The assignment version read.
    pub version: Option<i64>,
}

/// The agency reports the task done.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletionRequest {
    /// The evidence (the report's document number, what was done).
    pub evidence: String,
    /// The assignment version read.
    pub version: Option<i64>,
}

/// The issuer accepts a completed task, or reopens it with a reason.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptanceRequest {
    /// Accept (else reopen).
    pub accept: bool,
    /// Why it is reopened (required to reopen).
    pub reason: Option<String>,
    /// The assignment version read.
    pub version: Option<i64>,
}

/// A document to attach: its bytes, and optionally a signature over them.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentRequest {
    /// File name (`125-UBND-TH.pdf`).
    pub name: String,
    /// MIME type (`application/pdf`).
    pub media_type: String,
    /// The bytes, standard base64.
    pub content_base64: String,
    /// A progress report of this assignment: the document is its attachment.
    pub report: Option<String>,
    /// A detached CMS signature (DER, standard base64) over the bytes: verified before
    /// anything is stored; anything but TOTAL_PASSED is a 422 `signature-invalid`.
    pub signature_base64: Option<String>,
    /// Sign server-side with this agency's configured key instead (with tokens on: the
    /// caller's own agency).
    pub sign_as_agency: Option<String>,
}

fn base64_field(name: &str, text: &str) -> ApiResult<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| ApiError::Invalid(format!("'{name}' is not standard base64: {e}")))
}

/// Which assignments: every filter given must hold.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FilterParams {
    /// One agency's assignments (a servant always reads their own agency's only).
    agency: Option<String>,
    /// One leader's directives.
    leader: Option<String>,
    /// One directive's assignments.
    directive: Option<String>,
    /// `in_progress`, `due_soon`, `overdue`, `done_on_time` or `done_late` (rolled up over
    /// child tasks).
    status: Option<String>,
    /// Directives issued from: RFC 3339, or a date (midnight in Vietnam).
    from: Option<String>,
    /// Directives issued before: RFC 3339, or a date.
    to: Option<String>,
    /// Text in the summary, content, title or document number.
    text: Option<String>,
}

const STATUSES: [&str; 5] = [
    "in_progress",
    "due_soon",
    "overdue",
    "done_on_time",
    "done_late",
];

impl FilterParams {
    /// The engine's query, narrowed to what the caller may read.
    fn query(self, caller: &Caller) -> ApiResult<AssignmentQuery> {
        if let Some(s) = &self.status {
            if !STATUSES.contains(&s.as_str()) {
                return Err(ApiError::Invalid(format!(
                    "'status' must be one of {}, not '{s}'",
                    STATUSES.join(", ")
                )));
            }
        }
        let mut query = AssignmentQuery {
            agency: self.agency,
            issuer: self.leader,
            directive: self.directive,
            status: self.status,
            issued_from: self
                .from
                .as_deref()
                .map(|t| parse_instant("from", t))
                .transpose()?,
            issued_to: self
                .to
                .as_deref()
                .map(|t| parse_instant("to", t))
                .transpose()?,
            text: self.text,
        };
        if let Some(p) = &caller.principal {
            if p.role == UserRole::Servant {
                query.agency = Some(p.agency.clone().unwrap_or_default());
            }
        }
        Ok(query)
    }
}

// --- Access -------------------------------------------------------------------------------------

fn unknown_assignment(id: &str) -> ApiError {
    ApiError::NotFound(format!("directive assignment '{id}' was not found"))
}

/// Whether the caller reads assignments of `agency` (servants: only their own).
fn sees(caller: &Caller, agency: &str) -> bool {
    caller.sees_agency(Some(agency))
}

/// The assignment, if the caller may read it; otherwise the same 404 as an unknown id.
async fn visible(state: &AppState, caller: &Caller, id: &str) -> ApiResult<AssignmentRecord> {
    caller.require(Action::ReadDirectives)?;
    let a = state
        .engine
        .directive_assignment(id)
        .await
        .map_err(|_| unknown_assignment(id))?;
    if !sees(caller, &a.agency) {
        return Err(unknown_assignment(id));
    }
    Ok(a)
}

/// The assignment, if the caller works in its agency (report, extend, complete, split).
async fn workable(state: &AppState, caller: &Caller, id: &str) -> ApiResult<AssignmentRecord> {
    let a = visible(state, caller, id).await?;
    caller.require(Action::WorkDirectives)?;
    if let Some(p) = &caller.principal {
        if p.role != UserRole::Admin && p.agency.as_deref() != Some(a.agency.as_str()) {
            return Err(ApiError::Forbidden(format!(
                "this task is assigned to {}: only its own servants and leaders act on it",
                a.agency
            )));
        }
    }
    Ok(a)
}

/// The assignment, if the caller is its directive's issuer (decide, accept, reopen).
async fn decidable(state: &AppState, caller: &Caller, id: &str) -> ApiResult<AssignmentRecord> {
    let a = visible(state, caller, id).await?;
    caller.require(Action::DecideDirectives)?;
    if let Some(p) = &caller.principal {
        if p.role != UserRole::Admin && p.user != a.directive.issuer {
            return Err(ApiError::Forbidden(format!(
                "only the issuer of this directive ({}) decides on it",
                a.directive.issuer
            )));
        }
    }
    Ok(a)
}

/// The assignment, if the caller may add documents to it: its agency's servants and leaders,
/// and the directive's issuer (the source document).
async fn attachable(state: &AppState, caller: &Caller, id: &str) -> ApiResult<AssignmentRecord> {
    let a = visible(state, caller, id).await?;
    if let Some(p) = &caller.principal {
        let own_agency = p.agency.as_deref() == Some(a.agency.as_str())
            && super::auth::allows(p.role, Action::WorkDirectives);
        let issuer =
            p.user == a.directive.issuer && super::auth::allows(p.role, Action::DecideDirectives);
        if p.role != UserRole::Admin && !own_agency && !issuer {
            return Err(ApiError::Forbidden(format!(
                "documents of this task are added by {} or by the directive's issuer",
                a.agency
            )));
        }
    }
    Ok(a)
}

/// The assignments a filter selects among those the caller may read, with their status now.
async fn assignments_for(
    state: &AppState,
    caller: &Caller,
    params: FilterParams,
) -> ApiResult<Vec<AssignmentView>> {
    caller.require(Action::ReadDirectives)?;
    let query = params.query(caller)?;
    Ok(state
        .engine
        .list_assignments(&query, state.engine.now())
        .await?)
}

/// The statistics of the assignments a filter selects among those the caller may read.
async fn statistics_for(
    state: &AppState,
    caller: &Caller,
    params: FilterParams,
) -> ApiResult<DirectiveStatistics> {
    caller.require(Action::ReadDirectives)?;
    let query = params.query(caller)?;
    Ok(state
        .engine
        .directive_statistics(&query, state.engine.now())
        .await?)
}

fn changed(record: AssignmentRecord) -> axum::Json<Value> {
    axum::Json(json!(record))
}

// --- Handlers -----------------------------------------------------------------------------------

/// Issues a directive: one assignment (an instance of `theo-doi-chi-dao`) per agency, the
/// lead's first, each with reminders 7, 3 and 1 working days before its deadline, an
/// escalation to the issuer at the deadline and periodic report requests.
#[utoipa::path(
    post,
    path = "/directives",
    tag = "directives",
    operation_id = "issueDirective",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = IssueRequest,
    responses(
        (status = 201, description = "Issued: its assignments, the lead's first", body = Vec<AssignmentDto>),
        (status = 400, description = "`invalid`: malformed, no summary or issuer, not exactly one lead, an agency twice, a bad agency code, a deadline in the past", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not issue directives, or a leader issues in another's name", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: the process `theo-doi-chi-dao` is not deployed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn issue(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<IssueRequest>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    caller.require(Action::IssueDirectives)?;
    let issuer = match (&caller.principal, body.issuer) {
        (Some(p), Some(named)) if p.role != UserRole::Admin && named != p.user => {
            return Err(ApiError::Forbidden(format!(
                "a leader issues directives in their own name ('{}'), not as '{named}'",
                p.user
            )))
        }
        (_, Some(named)) => named,
        (_, None) => caller
            .user
            .clone()
            .ok_or_else(|| ApiError::Invalid("name the issuing leader in 'issuer'".into()))?,
    };
    let source = match body.document_number {
        Some(number) => DirectiveSource::Document {
            number,
            date: body.date,
        },
        None => DirectiveSource::Meeting { date: body.date },
    };
    let mut assignments = vec![AssignmentInput {
        agency: body.lead,
        role: Role::Lead,
        deadline: None,
    }];
    for (agencies, role) in [
        (body.coordinate, Role::Coordinate),
        (body.monitor, Role::Monitor),
    ] {
        assignments.extend(agencies.into_iter().map(|agency| AssignmentInput {
            agency,
            role,
            deadline: None,
        }));
    }
    let made = state
        .engine
        .issue_directive(
            IssueDirective {
                issuer,
                source,
                summary: body.summary,
                content: body.content,
                deadline: body.deadline.deadline()?,
                priority: body.priority,
                assignments,
                report_every_days: body.report_every_days,
            },
            caller.options(),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(json!(made))))
}

#[utoipa::path(
    get,
    path = "/directive-assignments",
    tag = "directives",
    operation_id = "listDirectiveAssignments",
    params(FilterParams),
    responses(
        (status = 200, description = "The assignments the caller may read, with their own and rolled-up status, by deadline", body = Vec<AssignmentViewDto>),
        (status = 400, description = "`invalid`: a bad filter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<FilterParams>,
) -> ApiResult<axum::Json<Value>> {
    let list = assignments_for(&state, &caller, params).await?;
    Ok(axum::Json(json!(list)))
}

#[utoipa::path(
    get,
    path = "/directive-assignments.csv",
    tag = "directives",
    operation_id = "exportDirectiveAssignments",
    params(FilterParams),
    responses(
        (status = 200, description = "The same list as CSV for a meeting (UTF-8 with a byte-order mark, Vietnamese headers)", body = String, content_type = "text/csv"),
        (status = 400, description = "`invalid`: a bad filter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn list_csv(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<FilterParams>,
) -> ApiResult<Response> {
    let list = assignments_for(&state, &caller, params).await?;
    let csv = assignments_csv(&list).map_err(|e| {
        tracing::error!(error = %e, "the directive CSV could not be written");
        ApiError::Internal
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"theo-doi-chi-dao.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/directive-assignments/{id}",
    tag = "directives",
    operation_id = "getDirectiveAssignment",
    params(("id" = String, Path, description = "The assignment id")),
    responses(
        (status = 200, description = "The assignment with its status, progress reports and extension requests", body = AssignmentDetailDto),
        (status = 400, description = "`invalid`: a malformed request header", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such assignment, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let a = visible(&state, &caller, &id).await?;
    let engine = &state.engine;
    let status = engine.directive_status(&id, engine.now()).await?;
    let reports = engine.directive_reports(&id).await?;
    let extensions = engine.directive_extensions(&id).await?;
    let documents = engine.directive_documents(&id).await?;
    Ok(axum::Json(json!({
        "assignment": a,
        "status": status,
        "reports": reports,
        "extensions": extensions,
        "documents": documents,
    })))
}

/// Attaches a document to an assignment (or to one of its progress reports): stored by its
/// SHA-256, journaled as `directive_document_attached`; a signature is verified first and only
/// a TOTAL_PASSED one is kept with its signer.
#[utoipa::path(
    post,
    path = "/directive-assignments/{id}/documents",
    tag = "directives",
    operation_id = "attachDirectiveDocument",
    params(
        ("id" = String, Path, description = "The assignment id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = DocumentRequest,
    responses(
        (status = 201, description = "Stored", body = DirectiveDocumentDto),
        (status = 400, description = "`invalid`: malformed, bad base64, an empty or unsafe name, both a signature and sign_as_agency, or the server has no signing configuration", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: neither the task's agency nor the directive's issuer, or signing as another agency", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such assignment or report, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the assignment is accepted, or the Idempotency-Key was used for another document", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`signature-invalid` (with the validation `report`), or `rejected`: no key configured for the agency; nothing was stored", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn attach(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<DocumentRequest>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    attachable(&state, &caller, &id).await?;
    if let (Some(p), Some(agency)) = (&caller.principal, &body.sign_as_agency) {
        if p.role != UserRole::Admin && p.agency.as_deref() != Some(agency.as_str()) {
            return Err(ApiError::Forbidden(format!(
                "only {agency}'s own staff sign with its key"
            )));
        }
    }
    let input = DirectiveDocumentInput {
        name: body.name,
        media_type: body.media_type,
        bytes: base64_field("content_base64", &body.content_base64)?,
        report: body.report,
        signature: body
            .signature_base64
            .as_deref()
            .map(|s| base64_field("signature_base64", s))
            .transpose()?,
        sign_as_agency: body.sign_as_agency,
    };
    let record = state
        .engine
        .attach_directive_document(&id, input, caller.options())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(json!(record))))
}

#[utoipa::path(
    get,
    path = "/directive-assignments/{id}/documents",
    tag = "directives",
    operation_id = "listDirectiveDocuments",
    params(("id" = String, Path, description = "The assignment id")),
    responses(
        (status = 200, description = "The assignment's documents, oldest first", body = Vec<DirectiveDocumentDto>),
        (status = 400, description = "`invalid`: a malformed request header", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such assignment, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn documents(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    visible(&state, &caller, &id).await?;
    let list = state.engine.directive_documents(&id).await?;
    Ok(axum::Json(json!(list)))
}

#[utoipa::path(
    get,
    path = "/directive-assignments/{id}/documents/{document}",
    tag = "directives",
    operation_id = "getDirectiveDocumentContent",
    params(
        ("id" = String, Path, description = "The assignment id"),
        ("document" = String, Path, description = "The document id"),
    ),
    responses(
        (status = 200, description = "The bytes as attached, with `ETag: \"<sha256>\"`", body = BinaryDto, content_type = "application/octet-stream"),
        (status = 400, description = "`invalid`: a malformed request header", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such assignment or document, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's, such as stored bytes that no longer match their SHA-256 (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn document_content(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, document)): Path<(String, String)>,
) -> ApiResult<Response> {
    visible(&state, &caller, &id).await?;
    let (record, bytes) = state
        .engine
        .directive_document_content(&id, &document)
        .await
        .inspect_err(|e| {
            if let motcua_engine::EngineError::Fatal(message) = e {
                tracing::error!(assignment = id, document, error = %message,
                    "a directive document cannot be served: its stored bytes do not match their SHA-256");
            }
        })?;
    super::dossiers::stored_bytes(bytes, &record.media_type, &record.sha256)
}

/// The responses of a command on an assignment.
macro_rules! command_doc {
    ($path:literal, $op:literal, $body:ty, $status:literal, $ok:literal) => {
        #[utoipa::path(
            post,
            path = $path,
            tag = "directives",
            operation_id = $op,
            params(
                ("id" = String, Path, description = "The assignment id"),
                ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
                ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
            ),
            request_body = $body,
            responses(
                (status = $status, description = $ok, body = AssignmentDto),
                (status = 400, description = "`invalid`: malformed, or a value out of range (percent, an empty text, a deadline in the past or not later)", body = Problem, content_type = "application/problem+json"),
                (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
                (status = 403, description = "`forbidden`: the role may not do this, the task is another agency's, or the caller is not the issuer", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "`not-found`: no such assignment, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "`conflict`: the assignment changed since `version`, its state does not allow this, or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
                (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = [])),
        )]
        #[allow(dead_code)]
        pub(in crate::http) fn doc() {}
    };
}

pub(super) mod doc_child {
    use super::*;
    command_doc!(
        "/directive-assignments/{id}/children",
        "addDirectiveChildTask",
        ChildRequest,
        201,
        "The child task (its own assignment and instance)"
    );
}

async fn child(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<ChildRequest>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    workable(&state, &caller, &id).await?;
    let made = state
        .engine
        .add_child_assignment(
            &id,
            &body.agency,
            &body.title,
            body.deadline.deadline()?,
            caller.options(),
        )
        .await?;
    Ok((StatusCode::CREATED, changed(made)))
}

pub(super) mod doc_report {
    use super::*;
    command_doc!(
        "/directive-assignments/{id}/reports",
        "reportDirectiveProgress",
        ReportRequest,
        200,
        "Recorded: the assignment with its new progress"
    );
}

async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<ReportRequest>,
) -> ApiResult<axum::Json<Value>> {
    workable(&state, &caller, &id).await?;
    let record = state
        .engine
        .report_progress(
            &id,
            body.version,
            body.percent,
            &body.text,
            caller.options(),
        )
        .await?;
    Ok(changed(record))
}

pub(super) mod doc_extension {
    use super::*;
    command_doc!(
        "/directive-assignments/{id}/extension-requests",
        "requestDirectiveExtension",
        ExtensionRequest,
        200,
        "Requested: the issuer's decision task is open"
    );
}

async fn request_extension(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<ExtensionRequest>,
) -> ApiResult<axum::Json<Value>> {
    workable(&state, &caller, &id).await?;
    let record = state
        .engine
        .request_extension(
            &id,
            body.version,
            body.deadline.deadline()?,
            &body.reason,
            caller.options(),
        )
        .await?;
    Ok(changed(record))
}

pub(super) mod doc_decision {
    use super::*;
    command_doc!(
        "/directive-assignments/{id}/extension-decision",
        "decideDirectiveExtension",
        DecisionRequest,
        200,
        "Decided: the assignment with its deadline (the original kept)"
    );
}

async fn decide_extension(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<DecisionRequest>,
) -> ApiResult<axum::Json<Value>> {
    decidable(&state, &caller, &id).await?;
    let record = state
        .engine
        .decide_extension(&id, body.version, body.approve, caller.options())
        .await?;
    Ok(changed(record))
}

pub(super) mod doc_completion {
    use super::*;
    command_doc!(
        "/directive-assignments/{id}/completion",
        "completeDirectiveAssignment",
        CompletionRequest,
        200,
        "Reported done: the issuer's acceptance task is open"
    );
}

async fn complete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<CompletionRequest>,
) -> ApiResult<axum::Json<Value>> {
    workable(&state, &caller, &id).await?;
    let record = state
        .engine
        .complete_assignment(&id, body.version, &body.evidence, caller.options())
        .await?;
    Ok(changed(record))
}

pub(super) mod doc_acceptance {
    use super::*;
    command_doc!(
        "/directive-assignments/{id}/acceptance",
        "acceptDirectiveAssignment",
        AcceptanceRequest,
        200,
        "Accepted, or reopened (in progress again against its deadline)"
    );
}

async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<AcceptanceRequest>,
) -> ApiResult<axum::Json<Value>> {
    decidable(&state, &caller, &id).await?;
    let record = state
        .engine
        .accept_assignment(
            &id,
            body.version,
            body.accept,
            body.reason.as_deref(),
            caller.options(),
        )
        .await?;
    Ok(changed(record))
}

#[utoipa::path(
    get,
    path = "/directive-statistics",
    tag = "directives",
    operation_id = "directiveStatistics",
    params(FilterParams),
    responses(
        (status = 200, description = "Counts per status and the on-time rate, in total, per agency and per leader", body = DirectiveStatisticsDto),
        (status = 400, description = "`invalid`: a bad filter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn statistics(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<FilterParams>,
) -> ApiResult<axum::Json<Value>> {
    let stats = statistics_for(&state, &caller, params).await?;
    Ok(axum::Json(statistics_json(&stats)))
}

#[utoipa::path(
    get,
    path = "/directive-statistics/prometheus",
    tag = "directives",
    operation_id = "directiveStatisticsPrometheus",
    params(FilterParams),
    responses(
        (status = 200, description = "The same figures as Prometheus text: motcua_directive_assignments{agency|leader, status} and motcua_directive_on_time_ratio", body = String, content_type = "text/plain"),
        (status = 400, description = "`invalid`: a bad filter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn statistics_text(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<FilterParams>,
) -> ApiResult<Response> {
    let stats = statistics_for(&state, &caller, params).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        statistics_prometheus(&stats),
    )
        .into_response())
}
