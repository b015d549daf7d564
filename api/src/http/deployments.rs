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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeployRequest {
    name: Option<String>,
    files: Vec<DeployFileBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeployFileBody {
    name: String,
    xml: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct VersionQuery {
    version: Option<i32>,
}

/// 201 with the definitions when something new was stored; 200 when every file was already
/// the latest version of its process.
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

async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::ReadDefinitions)?;
    let defs = state.engine.definitions().await?;
    Ok(axum::Json(Value::Array(
        defs.iter().map(definition_json).collect(),
    )))
}

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
