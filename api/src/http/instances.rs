//! Process instances: `POST /process-instances` (start), `GET /process-instances/{id}`,
//! `GET /process-instances/{id}/journal` and `POST /process-instances/{id}/cancel`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use motcua_engine::{InstanceId, StartInstance};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::ApiResult;
use super::extract::{id, Caller, Json, OptionalJson, Path};
use super::state::AppState;
use crate::output::{instance_json, journal_json, outcome_json};

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/process-instances", post(start))
        .route("/process-instances/{id}", get(one))
        .route("/process-instances/{id}/journal", get(journal))
        .route("/process-instances/{id}/cancel", post(cancel))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StartRequest {
    key: String,
    version: Option<i32>,
    business_key: Option<String>,
    #[serde(default)]
    variables: Map<String, Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CancelRequest {
    reason: Option<String>,
}

async fn start(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<StartRequest>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    let request = StartInstance {
        key: body.key,
        version: body.version,
        business_key: body.business_key,
        variables: body.variables,
    };
    let outcome = state.engine.start(request, caller.options()).await?;
    Ok((StatusCode::CREATED, axum::Json(outcome_json(&outcome))))
}

async fn one(
    State(state): State<AppState>,
    Path(instance): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let s = state.engine.instance(id::<InstanceId>(&instance)?).await?;
    Ok(axum::Json(instance_json(&s)))
}

async fn journal(
    State(state): State<AppState>,
    Path(instance): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let entries = state.engine.journal(id::<InstanceId>(&instance)?).await?;
    Ok(axum::Json(Value::Array(
        entries.iter().map(journal_json).collect(),
    )))
}

async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance): Path<String>,
    OptionalJson(body): OptionalJson<CancelRequest>,
) -> ApiResult<axum::Json<Value>> {
    let outcome = state
        .engine
        .cancel(id::<InstanceId>(&instance)?, body.reason, caller.options())
        .await?;
    Ok(axum::Json(outcome_json(&outcome)))
}
