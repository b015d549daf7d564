//! Incidents (jobs whose retries ran out): `GET /incidents` and `POST /incidents/{jobId}/retry`.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use motcua_engine::JobId;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Action;
use super::error::{ApiError, ApiResult};
use super::extract::{id, Caller, OptionalJson, Path};
use super::openapi::{IncidentDto, Problem, RetryDto};
use super::state::AppState;
use crate::output::incident_json;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents", get(list))
        .route("/incidents/{job}/retry", post(retry))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RetryRequest {
    retries: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/incidents",
    tag = "incidents",
    operation_id = "listIncidents",
    responses(
        (status = 200, description = "Every open incident", body = Vec<IncidentDto>),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, a bad header)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::ReadIncidents)?;
    let incidents = state.engine.incidents().await?;
    Ok(axum::Json(Value::Array(
        incidents.iter().map(incident_json).collect(),
    )))
}

#[utoipa::path(
    post,
    path = "/incidents/{job}/retry",
    tag = "incidents",
    operation_id = "retryIncident",
    params(
        ("job" = String, Path, description = "The job's id (a UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = Option<RetryRequest>,
    responses(
        (status = 200, description = "The job is due again", body = RetryDto),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, a bad id or query)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such resource, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: another command got there first, or the resource no longer accepts this one", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(job): Path<String>,
    OptionalJson(body): OptionalJson<RetryRequest>,
) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::RetryIncidents)?;
    let job = id::<JobId>(&job)?;
    let retries = body.retries.unwrap_or(1);
    if !(1..=100).contains(&retries) {
        return Err(ApiError::Invalid(format!(
            "retries must be between 1 and 100, not {retries}"
        )));
    }
    state
        .engine
        .retry_incident(job, retries, caller.options())
        .await?;
    Ok(axum::Json(json!({ "job": job, "retries": retries })))
}
