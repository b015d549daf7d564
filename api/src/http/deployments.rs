//! Deployments and definitions: `POST /deployments` (all files or none; the same content again
//! is the same version), `GET /definitions`, `GET /definitions/{key}[?version=N]` and
//! `GET /definitions/{key}/xml[?version=N]`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use motcua_engine::DeployFile;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Action;
use super::error::ApiResult;
use super::extract::{Caller, Json, Path, Query};
use super::openapi::{DefinitionDto, DeploymentDto, Problem};
use super::state::AppState;
use crate::output::definition_json;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/deployments", post(deploy))
        .route("/definitions", get(list))
        .route("/definitions/{key}", get(one))
        .route("/definitions/{key}/xml", get(xml))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct DeployRequest {
    name: Option<String>,
    files: Vec<DeployFileBody>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct DeployFileBody {
    name: String,
    xml: String,
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct VersionQuery {
    /// The version (default: the latest).
    version: Option<i32>,
}

/// 201 with the definitions when something new was stored; 200 when every file was already
/// the latest version of its process.
#[utoipa::path(
    post,
    path = "/deployments",
    tag = "deployments",
    operation_id = "deploy",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = DeployRequest,
    responses(
        (status = 201, description = "Something new was stored", body = DeploymentDto),
        (status = 200, description = "Every file was already the latest version of its process", body = DeploymentDto),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, a bad id or query)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: another command got there first, or the resource no longer accepts this one", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`deploy-refused`: a BPMN file was refused; `errors` lists every problem", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn deploy(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<DeployRequest>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    caller.require(Action::Deploy)?;
    let files: Vec<DeployFile> = body
        .files
        .into_iter()
        .map(|f| DeployFile {
            name: f.name,
            bytes: f.xml.into_bytes(),
        })
        .collect();
    let name = body
        .name
        .or_else(|| files.first().map(|f| f.name.clone()))
        .unwrap_or_default();
    let deployed = state.engine.deploy(&name, &files).await?;
    let created = deployed.iter().any(|d| d.created);
    let definitions: Vec<Value> = deployed
        .iter()
        .map(|d| {
            let mut j = definition_json(&d.definition);
            j["created"] = Value::Bool(d.created);
            j
        })
        .collect();
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        axum::Json(json!({ "name": name, "definitions": definitions })),
    ))
}

#[utoipa::path(
    get,
    path = "/definitions",
    tag = "deployments",
    operation_id = "listDefinitions",
    responses(
        (status = 200, description = "Every definition version", body = Vec<DefinitionDto>),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, a bad header)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::ReadDefinitions)?;
    let defs = state.engine.definitions().await?;
    Ok(axum::Json(Value::Array(
        defs.iter().map(definition_json).collect(),
    )))
}

#[utoipa::path(
    get,
    path = "/definitions/{key}",
    tag = "deployments",
    operation_id = "getDefinition",
    params(
        ("key" = String, Path, description = "The process id"),
        VersionQuery,
    ),
    responses(
        (status = 200, description = "The version asked for, else the latest", body = DefinitionDto),
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
    Path(key): Path<String>,
    Query(q): Query<VersionQuery>,
) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::ReadDefinitions)?;
    let (record, _) = state.engine.definition(&key, q.version).await?;
    Ok(axum::Json(definition_json(&record)))
}

#[utoipa::path(
    get,
    path = "/definitions/{key}/xml",
    tag = "deployments",
    operation_id = "getDefinitionXml",
    params(
        ("key" = String, Path, description = "The process id"),
        VersionQuery,
    ),
    responses(
        (status = 200, description = "The BPMN XML", body = String, content_type = "application/xml"),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, a bad id or query)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such resource, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn xml(
    State(state): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    Query(q): Query<VersionQuery>,
) -> ApiResult<impl IntoResponse> {
    caller.require(Action::ReadDefinitions)?;
    let (_, xml) = state.engine.definition(&key, q.version).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        xml,
    ))
}
