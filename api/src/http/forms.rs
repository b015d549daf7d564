//! E-forms: `GET /forms/{id}` answers the latest deployed version of a form as its form-js JSON
//! (what a front end renders with form-js), and `GET /tasks/{id}/form` the task's form rendered
//! as accessible HTML, filled with the instance's variables (no deployed form: 404).
//!
//! `GET /tasks/{id}/form` has the scope of `GET /tasks/{id}`: a task the caller may not see
//! answers 404 like an unknown id. The rendered form posts to `/tasks/{id}/complete`.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use motcua_engine::{EngineError, TaskId};
use serde_json::Value;

use super::auth::Action;
use super::error::{ApiError, ApiResult};
use super::extract::{id, Caller, Path};
use super::openapi::Problem;
use super::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/forms/{id}", get(one))
        .route("/tasks/{id}/form", get(task_form))
}

fn no_form(id: &str) -> ApiError {
    ApiError::NotFound(format!("no form '{id}' is deployed"))
}

/// The latest deployed version of a form, as deployed (form-js JSON).
#[utoipa::path(
    get,
    path = "/forms/{id}",
    tag = "forms",
    operation_id = "getForm",
    params(
        ("id" = String, Path, description = "The form's id (the `id` at the top of the `.form` file)"),
    ),
    responses(
        (status = 200, description = "The form-js JSON schema of the latest deployed version", body = Object),
        (status = 400, description = "`invalid`: the request is malformed (bad headers)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no form with this id is deployed", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path(form): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::ReadDefinitions)?;
    use motcua_engine::Store as _;
    let record = state
        .engine
        .store()
        .form(&form, None)
        .await
        .map_err(EngineError::from)?
        .ok_or_else(|| no_form(&form))?;
    let schema: Value = serde_json::from_str(&record.schema).map_err(|e| {
        tracing::error!(form = %form, version = record.version, error = %e, "a stored form is not JSON");
        ApiError::Internal
    })?;
    Ok(axum::Json(schema))
}

/// The task's form as accessible HTML (labels, errors next to their fields), filled with the
/// instance's current variables.
#[utoipa::path(
    get,
    path = "/tasks/{id}/form",
    tag = "forms",
    operation_id = "getTaskForm",
    params(
        ("id" = String, Path, description = "The task's id (a UUID)"),
    ),
    responses(
        (status = 200, description = "The form as HTML", content_type = "text/html; charset=utf-8", body = String),
        (status = 400, description = "`invalid`: the request is malformed (a bad id)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such task, one the caller may not see, or a task without a deployed form", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn task_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(task): Path<String>,
) -> ApiResult<Response> {
    caller.require(Action::ReadTasks)?;
    let task_id = id::<TaskId>(&task)?;
    let row = state.engine.task(task_id).await?;
    if !caller.sees_task(&row) {
        return Err(EngineError::NotFound {
            what: "task",
            id: task_id.to_string(),
        }
        .into());
    }
    let Some(key) = row.record.form_key.as_deref() else {
        return Err(ApiError::NotFound(format!(
            "task {task_id} has no form (its BPMN names no formKey)"
        )));
    };
    let schema = state.engine.form(key).await?.ok_or_else(|| no_form(key))?;
    let instance = state.engine.instance(row.record.instance).await?;
    let action = format!("/tasks/{task_id}/complete");
    let page = motcua_forms::render::render(
        state.engine.templates(),
        &schema,
        &instance.variables,
        &[],
        &action,
    )
    .map_err(|e| {
        tracing::error!(form = key, error = %e, "a task form cannot be rendered");
        ApiError::Internal
    })?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
}
