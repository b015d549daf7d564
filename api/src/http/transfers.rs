//! Transfers between agencies (liên thông, issue #9): `POST /dossiers/{code}/transfers` (the
//! whole dossier, or one step with `task`), `GET /dossiers/{code}/transfers`,
//! `POST /transfers/{id}/accept` and `POST /transfers/{id}/return` (with a reason).
//!
//! Scope, as for dossiers: a servant reads a dossier when their agency is one of its readers
//! (the agency that received it, and the agencies of its transfers not returned; see
//! `motcua_engine::DossierScope`), else 404 as for an unknown code; only the agency HOLDING
//! the dossier transfers it (`WorkTasks`; a servant of the sender keeps reading it but gets 403
//! once it is held elsewhere); only the receiving agency's servants and leaders accept or
//! return a transfer (another agency that reads the dossier gets 403, any other 404). Every
//! POST honours `Idempotency-Key`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use motcua_engine::{EngineError, TaskId, TransferRecord, TransferRequest};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Action;
use super::error::{ApiError, ApiResult};
use super::extract::{Caller, Json, Path};
use super::openapi::{Problem, TransferDto};
use super::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dossiers/{code}/transfers", get(list).post(transfer))
        .route("/transfers/{id}/accept", post(accept))
        .route("/transfers/{id}/return", post(give_back))
}

/// A transfer to another agency.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    /// The receiving agency's code; it must be in the agency directory.
    #[schema(example = "000.00.10.H22")]
    to_agency: String,
    /// Why (required).
    #[schema(example = "Thuộc thẩm quyền giải quyết của UBND thành phố")]
    reason: String,
    /// The slots whose latest versions go along; absent or empty: every document.
    #[serde(default)]
    documents: Vec<String>,
    /// The receiver's share of the SLA in working days (a multiple of 0.5); absent: all the
    /// time left until the promised return date.
    sla_share_working_days: Option<f64>,
    /// One step: the id of the open user task handed over; absent: the whole dossier.
    task: Option<String>,
    /// Refuse with 409 unless the dossier is still at this version.
    expected_version: Option<i64>,
}

/// A transfer's return.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnBody {
    /// Why it goes back (required).
    #[schema(example = "Hồ sơ thiếu bản sao giấy chứng sinh")]
    reason: String,
}

/// A transfer as JSON.
pub fn transfer_json(t: &TransferRecord) -> Value {
    json!({
        "id": t.id,
        "dossier_code": t.dossier_code,
        "from_agency": t.from_agency,
        "to_agency": t.to_agency,
        "peer": t.peer,
        "reason": t.reason,
        "documents": t.documents.iter().map(|d| json!({
            "slot": d.slot,
            "version": d.version,
            "sha256": d.sha256,
            "name": d.name,
            "media_type": d.media_type,
            "size": d.size,
        })).collect::<Vec<_>>(),
        "tasks": t.tasks.iter().map(|r| json!({
            "task": r.task.to_string(),
            "from_agency": r.from_agency,
        })).collect::<Vec<_>>(),
        "step_task": t.step_task.map(|s| s.to_string()),
        "state_before": t.state_before.as_str(),
        "receiver_share_working_days": t.receiver_share_working_days,
        "receiver_due_at": t.receiver_due_at,
        "sender_share_working_days": t.sender_share_working_days,
        "sender_due_at": t.sender_due_at,
        "state": t.state.as_str(),
        "state_label": t.state.label(),
        "sent_at": t.sent_at,
        "sent_by": t.sent_by,
        "decided_at": t.decided_at,
        "decided_by": t.decided_by,
        "returned_reason": t.returned_reason,
    })
}

fn unknown(what: &'static str, id: &str) -> ApiError {
    EngineError::NotFound {
        what,
        id: id.to_owned(),
    }
    .into()
}

/// Whether the caller's agency is one of the dossier's readers (always, without tokens or for
/// roles not bound to an agency).
pub(crate) async fn reads_dossier(
    state: &AppState,
    caller: &Caller,
    code: &str,
) -> ApiResult<motcua_engine::DossierScope> {
    let scope = state.engine.dossier_scope(code).await?;
    if !scope.readers.iter().any(|a| caller.sees_agency(Some(a))) {
        return Err(unknown("dossier", code));
    }
    Ok(scope)
}

#[utoipa::path(
    post,
    path = "/dossiers/{code}/transfers",
    tag = "dossiers",
    operation_id = "transferDossier",
    params(
        ("code" = String, Path, description = "The dossier code"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = TransferBody,
    responses(
        (status = 201, description = "Sent: the transfer record (the dossier is `transferred` where the lifecycle allows; the tasks are in the receiver's queue)", body = TransferDto),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, a bad task id), no reason, an agency missing from the directory or the one holding the dossier, an SLA share that is not a positive multiple of 0.5", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this, or the dossier is held by another agency", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such dossier (or one the caller may not see), or no such document slot", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the dossier is finished, not at `expected_version`, waits for another transfer's receiver, or the task is not open; the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`rejected`: the receiving agency is served by another motcua engine (not supported yet)", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn transfer(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Json(body): Json<TransferBody>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    caller.require(Action::WorkTasks)?;
    let task = match &body.task {
        Some(t) => Some(
            t.parse::<uuid::Uuid>()
                .map(TaskId::from_uuid)
                .map_err(|_| ApiError::Invalid(format!("'{t}' is not a task id")))?,
        ),
        None => None,
    };
    let request = TransferRequest {
        to_agency: body.to_agency,
        reason: body.reason,
        documents: body.documents,
        sla_share_working_days: body.sla_share_working_days,
        task,
        expected_version: body.expected_version,
    };
    let scope = reads_dossier(&state, &caller, &code).await?;
    let options = caller.options();
    if !caller.sees_agency(Some(&scope.holder)) || !caller.acts_in_agency(Some(&scope.holder)) {
        // A retry by the sender: the transfer itself moved the dossier away from them.
        if let Some(first) = state
            .engine
            .replayed_transfer(&code, &request, &options)
            .await?
        {
            if caller.sees_agency(Some(&first.from_agency))
                && caller.acts_in_agency(Some(&first.from_agency))
            {
                return Ok((StatusCode::CREATED, axum::Json(transfer_json(&first))));
            }
        }
        return Err(ApiError::Forbidden(format!(
            "dossier {code} is held by {}: only that agency's servants transfer it",
            scope.holder
        )));
    }
    let record = state
        .engine
        .transfer_dossier(&code, request, options)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(transfer_json(&record))))
}

#[utoipa::path(
    get,
    path = "/dossiers/{code}/transfers",
    tag = "dossiers",
    operation_id = "listDossierTransfers",
    params(
        ("code" = String, Path, description = "The dossier code"),
    ),
    responses(
        (status = 200, description = "Every transfer of the dossier, oldest first", body = [TransferDto]),
        (status = 400, description = "`invalid`: the request is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such dossier, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::ReadInstance)?;
    reads_dossier(&state, &caller, &code).await?;
    let transfers = state.engine.dossier_transfers(&code).await?;
    Ok(axum::Json(Value::Array(
        transfers.iter().map(transfer_json).collect(),
    )))
}

/// The transfer, if the caller is of its receiving agency (403 for another agency that reads
/// the dossier, 404 for any other).
async fn receivable(state: &AppState, caller: &Caller, id: &str) -> ApiResult<TransferRecord> {
    caller.require(Action::WorkTasks)?;
    let t = state.engine.transfer(id).await?;
    if !caller.sees_agency(Some(&t.to_agency)) {
        let scope = state.engine.dossier_scope(&t.dossier_code).await?;
        if !scope.readers.iter().any(|a| caller.sees_agency(Some(a))) {
            return Err(unknown("transfer", id));
        }
    }
    if !caller.sees_agency(Some(&t.to_agency)) || !caller.acts_in_agency(Some(&t.to_agency)) {
        return Err(ApiError::Forbidden(format!(
            "transfer {id} goes to {}: only that agency's servants accept or return it",
            t.to_agency
        )));
    }
    Ok(t)
}

#[utoipa::path(
    post,
    path = "/transfers/{id}/accept",
    tag = "dossiers",
    operation_id = "acceptTransfer",
    params(
        ("id" = String, Path, description = "The transfer id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    responses(
        (status = 200, description = "Accepted: the transfer now", body = TransferDto),
        (status = 400, description = "`invalid`: the request is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this, or the caller is not of the receiving agency", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such transfer, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: already accepted or returned, or another command changed the dossier first", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    receivable(&state, &caller, &id).await?;
    let t = state.engine.accept_transfer(&id, caller.options()).await?;
    Ok(axum::Json(transfer_json(&t)))
}

#[utoipa::path(
    post,
    path = "/transfers/{id}/return",
    tag = "dossiers",
    operation_id = "returnTransfer",
    params(
        ("id" = String, Path, description = "The transfer id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = ReturnBody,
    responses(
        (status = 200, description = "Returned: the transfer now (the tasks are back in the sender's queue, the dossier in the state it had)", body = TransferDto),
        (status = 400, description = "`invalid`: the request is malformed, or no reason", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this, or the caller is not of the receiving agency", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such transfer, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: already accepted or returned, or another command changed the dossier first", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn give_back(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<ReturnBody>,
) -> ApiResult<axum::Json<Value>> {
    receivable(&state, &caller, &id).await?;
    let t = state
        .engine
        .return_transfer(&id, body.reason, caller.options())
        .await?;
    Ok(axum::Json(transfer_json(&t)))
}
