//! Process instances: `POST /process-instances` (start), `GET /process-instances/{id}`,
//! `GET /process-instances/{id}/journal` and `POST /process-instances/{id}/cancel`.
//!
//! An instance belongs to the agency of its process (`motcua:agency`); with tokens on, a
//! servant reading another agency's instance gets the same 404 as for an unknown id.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use motcua_engine::state::InstanceState;
use motcua_engine::{EngineError, InstanceId, StartInstance};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::auth::Action;
use super::error::{ApiError, ApiResult};
use super::extract::{id, Caller, Json, OptionalJson, Path};
use super::openapi::{InstanceDto, JournalEntryDto, OutcomeDto, Problem};
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StartRequest {
    key: String,
    version: Option<i32>,
    business_key: Option<String>,
    #[serde(default)]
    variables: Map<String, Value>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CancelRequest {
    reason: Option<String>,
}

#[utoipa::path(
    post,
    path = "/process-instances",
    tag = "process-instances",
    operation_id = "startInstance",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = StartRequest,
    responses(
        (status = 201, description = "Started: where the new instance stands", body = OutcomeDto),
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
async fn start(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<StartRequest>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    caller.require(Action::StartInstance)?;
    let request = StartInstance {
        key: body.key,
        version: body.version,
        business_key: body.business_key,
        variables: body.variables,
    };
    let outcome = state.engine.start(request, caller.options()).await?;
    Ok((StatusCode::CREATED, axum::Json(outcome_json(&outcome))))
}

/// The instance and its process's agency, if the caller may see it; otherwise the same 404 as
/// an unknown id.
async fn visible_instance(
    state: &AppState,
    caller: &Caller,
    instance: InstanceId,
) -> ApiResult<(InstanceState, Option<String>)> {
    let s = state.engine.instance(instance).await?;
    let agency = match &caller.principal {
        None => None,
        Some(_) => state
            .engine
            .model(&s.definition)
            .await?
            .agency()
            .map(str::to_owned),
    };
    if !caller.sees_agency(agency.as_deref()) {
        return Err(EngineError::NotFound {
            what: "instance",
            id: instance.to_string(),
        }
        .into());
    }
    Ok((s, agency))
}

#[utoipa::path(
    get,
    path = "/process-instances/{id}",
    tag = "process-instances",
    operation_id = "getInstance",
    params(
        ("id" = String, Path, description = "The instance's id (a UUID)"),
    ),
    responses(
        (status = 200, description = "The instance's state", body = InstanceDto),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, a bad id or query)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such resource, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::ReadInstance)?;
    let (s, _) = visible_instance(&state, &caller, id::<InstanceId>(&instance)?).await?;
    Ok(axum::Json(instance_json(&s)))
}

#[utoipa::path(
    get,
    path = "/process-instances/{id}/journal",
    tag = "process-instances",
    operation_id = "getJournal",
    params(
        ("id" = String, Path, description = "The instance's id (a UUID)"),
    ),
    responses(
        (status = 200, description = "The instance's journal, oldest first", body = Vec<JournalEntryDto>),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, a bad id or query)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such resource, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn journal(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::ReadJournal)?;
    let instance = id::<InstanceId>(&instance)?;
    visible_instance(&state, &caller, instance).await?;
    let entries = state.engine.journal(instance).await?;
    Ok(axum::Json(Value::Array(
        entries.iter().map(journal_json).collect(),
    )))
}

#[utoipa::path(
    post,
    path = "/process-instances/{id}/cancel",
    tag = "process-instances",
    operation_id = "cancelInstance",
    params(
        ("id" = String, Path, description = "The instance's id (a UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = Option<CancelRequest>,
    responses(
        (status = 200, description = "Cancelled", body = OutcomeDto),
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
async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance): Path<String>,
    OptionalJson(body): OptionalJson<CancelRequest>,
) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::CancelInstance)?;
    let instance = id::<InstanceId>(&instance)?;
    let (_, agency) = visible_instance(&state, &caller, instance).await?;
    if !caller.acts_in_agency(agency.as_deref()) {
        return Err(ApiError::Forbidden(
            "this instance belongs to another agency: only its own leaders cancel it".into(),
        ));
    }
    let outcome = state
        .engine
        .cancel(instance, body.reason, caller.options())
        .await?;
    Ok(axum::Json(outcome_json(&outcome)))
}
