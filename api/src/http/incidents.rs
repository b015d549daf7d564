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
use super::state::AppState;
use crate::output::incident_json;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents", get(list))
        .route("/incidents/{job}/retry", post(retry))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RetryRequest {
    retries: Option<u32>,
}

async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::ReadIncidents)?;
    let incidents = state.engine.incidents().await?;
    Ok(axum::Json(Value::Array(
        incidents.iter().map(incident_json).collect(),
    )))
}

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
    state.engine.retry_incident(job, retries).await?;
    Ok(axum::Json(json!({ "job": job, "retries": retries })))
}
