//! External-worker jobs (service tasks), shaped after Camunda 7's external tasks:
//! `POST /external-tasks/fetch-and-lock`, `POST /external-tasks/{id}/complete` and
//! `POST /external-tasks/{id}/failure`.

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use chrono::Duration;
use motcua_engine::JobId;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::auth::Action;
use super::error::{ApiError, ApiResult};
use super::extract::{id, Caller, Json, Path};
use super::openapi::{FetchedJobDto, OutcomeDto, Problem};
use super::state::AppState;
use crate::output::{fetched_job_json, outcome_json};

/// The longest lock a worker may ask for: 30 days.
const MAX_LOCK_SECONDS: u32 = 30 * 24 * 3600;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/external-tasks/fetch-and-lock", post(fetch_and_lock))
        .route("/external-tasks/{id}/complete", post(complete))
        .route("/external-tasks/{id}/failure", post(failure))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FetchRequest {
    worker_id: String,
    topic: String,
    max_tasks: Option<u32>,
    lock_seconds: Option<u32>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CompleteRequest {
    worker_id: String,
    #[serde(default)]
    variables: Map<String, Value>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FailureRequest {
    worker_id: String,
    error_message: String,
    retries: Option<u32>,
}

#[utoipa::path(
    post,
    path = "/external-tasks/fetch-and-lock",
    tag = "external-tasks",
    operation_id = "fetchAndLock",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = FetchRequest,
    responses(
        (status = 200, description = "The jobs now locked for this worker (maybe none)", body = Vec<FetchedJobDto>),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, a bad id or query)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn fetch_and_lock(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<FetchRequest>,
) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::ExternalTasks)?;
    let max = body.max_tasks.unwrap_or(10);
    if !(1..=1000).contains(&max) {
        return Err(ApiError::Invalid(format!(
            "maxTasks must be between 1 and 1000, not {max}"
        )));
    }
    let lock = body.lock_seconds.unwrap_or(300);
    if !(1..=MAX_LOCK_SECONDS).contains(&lock) {
        return Err(ApiError::Invalid(format!(
            "lockSeconds must be between 1 and {MAX_LOCK_SECONDS}, not {lock}"
        )));
    }
    if body.worker_id.trim().is_empty() || body.topic.trim().is_empty() {
        return Err(ApiError::Invalid(
            "workerId and topic must not be empty".into(),
        ));
    }
    let jobs = state
        .engine
        .fetch_and_lock_keyed(
            &body.topic,
            &body.worker_id,
            max,
            Duration::seconds(i64::from(lock)),
            &caller.options(),
        )
        .await?;
    Ok(axum::Json(Value::Array(
        jobs.iter().map(fetched_job_json).collect(),
    )))
}

#[utoipa::path(
    post,
    path = "/external-tasks/{id}/complete",
    tag = "external-tasks",
    operation_id = "completeExternalTask",
    params(
        ("id" = String, Path, description = "The job's id (a UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = CompleteRequest,
    responses(
        (status = 200, description = "Completed: where the instance stands now", body = OutcomeDto),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, a bad id or query)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such resource, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: another command got there first, or the resource no longer accepts this one", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`rejected`: the command does not fit the process; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn complete(
    State(state): State<AppState>,
    caller: Caller,
    Path(job): Path<String>,
    Json(body): Json<CompleteRequest>,
) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::ExternalTasks)?;
    let outcome = state
        .engine
        .complete_job(
            id::<JobId>(&job)?,
            &body.worker_id,
            body.variables,
            caller.options(),
        )
        .await?;
    Ok(axum::Json(outcome_json(&outcome)))
}

#[utoipa::path(
    post,
    path = "/external-tasks/{id}/failure",
    tag = "external-tasks",
    operation_id = "failExternalTask",
    params(
        ("id" = String, Path, description = "The job's id (a UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = FailureRequest,
    responses(
        (status = 200, description = "Recorded: retried later, or an incident at zero retries", body = OutcomeDto),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, a bad id or query)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such resource, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: another command got there first, or the resource no longer accepts this one", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`rejected`: the command does not fit the process; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn failure(
    State(state): State<AppState>,
    caller: Caller,
    Path(job): Path<String>,
    Json(body): Json<FailureRequest>,
) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::ExternalTasks)?;
    let outcome = state
        .engine
        .fail_job(
            id::<JobId>(&job)?,
            &body.worker_id,
            &body.error_message,
            body.retries,
            caller.options(),
        )
        .await?;
    Ok(axum::Json(outcome_json(&outcome)))
}
