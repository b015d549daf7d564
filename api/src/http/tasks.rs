//! User tasks, shaped after Camunda 7's task REST: `GET /tasks` (filters, sort, offset or cursor paging),
//! `GET /tasks/count` (the same filters), `GET /tasks/{id}`, `POST /tasks/{id}/claim`,
//! `POST /tasks/{id}/unclaim`, `POST /tasks/{id}/assign`, `POST /tasks/{id}/delegate`,
//! `POST /tasks/{id}/resolve` and `POST /tasks/{id}/complete`.
//!
//! With tokens on, a servant lists only the tasks of their agency that they may work, and a
//! task outside that scope answers 404 on every route, exactly like an unknown id.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use motcua_engine::store::{TaskCursor, TaskQuery, TaskRow, TaskSort};
use motcua_engine::{EngineError, InstanceId, TaskId};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::auth::Action;
use super::auth::Role;
use super::error::{ApiError, ApiResult};
use super::extract::{id, Caller, Json, OptionalJson, Path, Query};
use super::openapi::{CountDto, OutcomeDto, Problem, TaskDto};
use super::state::AppState;
use crate::output::{outcome_json, task_json};

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tasks", get(list))
        .route("/tasks/count", get(count))
        .route("/tasks/{id}", get(one))
        .route("/tasks/{id}/identity-links", get(identity_links))
        .route("/tasks/{id}/claim", post(claim))
        .route("/tasks/{id}/unclaim", post(unclaim))
        .route("/tasks/{id}/assign", post(assign))
        .route("/tasks/{id}/delegate", post(delegate))
        .route("/tasks/{id}/resolve", post(resolve))
        .route("/tasks/{id}/complete", post(complete))
}

/// `GET /tasks` parameters; the same names as the CLI's `motcua tasks` options.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Tasks a candidate group may claim.
    group: Option<String>,
    /// Tasks claimed by this user.
    assignee: Option<String>,
    /// Tasks of this instance (a UUID).
    instance: Option<String>,
    /// Tasks of this procedure (its definition key).
    procedure: Option<String>,
    /// Tasks of this agency (a servant always sees only their own).
    agency: Option<String>,
    /// Tasks whose name contains this text, case-insensitively (e.g. `thẩm định`).
    text: Option<String>,
    /// Include completed and cancelled tasks.
    #[serde(default)]
    all: bool,
    /// Only overdue tasks (true) or only tasks not overdue (false).
    overdue: Option<bool>,
    /// RFC 3339, or `YYYY-MM-DD` / `YYYY-MM-DDTHH:MM` in Vietnam time.
    due_before: Option<String>,
    /// `created` (the default) or `due`.
    sort: Option<String>,
    /// At most this many tasks, 1 to 1000 (default 50).
    limit: Option<u32>,
    /// Skip this many tasks first (default 0).
    offset: Option<u32>,
    /// Continue after the page that answered this `X-Next-Cursor` (creation order only; not
    /// with `sort=due` or `offset`).
    cursor: Option<String>,
}

/// `GET /tasks/count` parameters: the filters of `GET /tasks`.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct CountQuery {
    /// Tasks a candidate group may claim.
    group: Option<String>,
    /// Tasks claimed by this user.
    assignee: Option<String>,
    /// Tasks of this instance (a UUID).
    instance: Option<String>,
    /// Tasks of this procedure (its definition key).
    procedure: Option<String>,
    /// Tasks of this agency (a servant always sees only their own).
    agency: Option<String>,
    /// Tasks whose name contains this text, case-insensitively (e.g. `thẩm định`).
    text: Option<String>,
    /// Include completed and cancelled tasks.
    #[serde(default)]
    all: bool,
    /// Only overdue tasks (true) or only tasks not overdue (false).
    overdue: Option<bool>,
    /// RFC 3339, or `YYYY-MM-DD` / `YYYY-MM-DDTHH:MM` in Vietnam time.
    due_before: Option<String>,
}

impl From<CountQuery> for ListQuery {
    fn from(q: CountQuery) -> Self {
        ListQuery {
            group: q.group,
            assignee: q.assignee,
            instance: q.instance,
            procedure: q.procedure,
            agency: q.agency,
            text: q.text,
            all: q.all,
            overdue: q.overdue,
            due_before: q.due_before,
            ..ListQuery::default()
        }
    }
}

/// The user a task is assigned or delegated to.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct UserRequest {
    user: String,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ResolveRequest {
    #[serde(default)]
    variables: Map<String, Value>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ClaimRequest {
    user: Option<String>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CompleteRequest {
    #[serde(default)]
    variables: Map<String, Value>,
    user: Option<String>,
}

/// Empty parameters (`?group=`) count as absent.
fn present(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty())
}

fn parse_due_before(text: &str) -> ApiResult<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    crate::commands::parse_local(text).map_err(|_| {
        ApiError::Invalid(format!(
            "dueBefore '{text}' is not a date: write YYYY-MM-DD, YYYY-MM-DDTHH:MM (Vietnam time) \
             or an RFC 3339 time"
        ))
    })
}

fn task_query(q: ListQuery) -> ApiResult<TaskQuery> {
    let sort = match q.sort.as_deref() {
        None | Some("created") => TaskSort::Created,
        Some("due") => TaskSort::Due,
        Some(other) => {
            return Err(ApiError::Invalid(format!(
                "sort takes 'created' or 'due', not '{other}'"
            )))
        }
    };
    let after = match present(q.cursor) {
        None => None,
        Some(token) => {
            if sort != TaskSort::Created {
                return Err(ApiError::Invalid(
                    "cursor pages the creation order only: drop sort=due".into(),
                ));
            }
            if q.offset.is_some() {
                return Err(ApiError::Invalid(
                    "cursor and offset do not go together: use one way of paging".into(),
                ));
            }
            Some(TaskCursor::decode(&token).ok_or_else(|| {
                ApiError::Invalid(format!(
                    "cursor '{token}' is not one this server gave out (X-Next-Cursor)"
                ))
            })?)
        }
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::Invalid(format!(
            "limit must be between 1 and 1000, not {limit}"
        )));
    }
    Ok(TaskQuery {
        candidate_group: present(q.group),
        assignee: present(q.assignee),
        instance: present(q.instance)
            .as_deref()
            .map(id::<InstanceId>)
            .transpose()?,
        include_closed: q.all,
        due_before: present(q.due_before)
            .as_deref()
            .map(parse_due_before)
            .transpose()?,
        overdue: q.overdue,
        definition_key: present(q.procedure),
        agency: present(q.agency),
        name_contains: present(q.text),
        after,
        sort,
        limit: Some(limit),
        offset: Some(q.offset.unwrap_or(0)),
        ..TaskQuery::default()
    })
}

/// The task, if the caller may see it; otherwise the same 404 as an unknown id.
async fn visible_task(state: &AppState, caller: &Caller, task: TaskId) -> ApiResult<TaskRow> {
    let row = state.engine.task(task).await?;
    if !caller.sees_task(&row) {
        return Err(EngineError::NotFound {
            what: "task",
            id: task.to_string(),
        }
        .into());
    }
    Ok(row)
}

/// Checks that the caller may claim, unclaim or complete the task.
async fn workable_task(state: &AppState, caller: &Caller, task: TaskId) -> ApiResult<TaskRow> {
    caller.require(Action::WorkTasks)?;
    let row = visible_task(state, caller, task).await?;
    if !caller.works_task(&row) {
        return Err(ApiError::Forbidden(
            "this task belongs to another agency: only its own servants and leaders work it".into(),
        ));
    }
    Ok(row)
}

#[utoipa::path(
    get,
    path = "/tasks",
    tag = "tasks",
    operation_id = "listTasks",
    params(
        ListQuery,
    ),
    responses(
        (status = 200, description = "The tasks the caller may see, by the filters", body = Vec<TaskDto>,
            headers(("X-Next-Cursor" = String, description = "When the page is full in creation order: pass it as `cursor` for the next page"))),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, a bad id or query)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> ApiResult<Response> {
    caller.require(Action::ReadTasks)?;
    let mut query = task_query(q)?;
    caller.task_scope(&mut query);
    let tasks = state.engine.tasks(&query).await?;
    let full = Some(tasks.len() as u32) == query.limit;
    let next = tasks
        .last()
        .filter(|_| full && query.sort == TaskSort::Created)
        .map(|t| TaskCursor::after(&t.record).encode());
    let body = axum::Json(Value::Array(tasks.iter().map(task_json).collect()));
    Ok(match next {
        Some(cursor) => ([("x-next-cursor", cursor)], body).into_response(),
        None => body.into_response(),
    })
}

#[utoipa::path(
    get,
    path = "/tasks/{id}",
    tag = "tasks",
    operation_id = "getTask",
    params(
        ("id" = String, Path, description = "The task's id (a UUID)"),
    ),
    responses(
        (status = 200, description = "The task", body = TaskDto),
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
    Path(task): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::ReadTasks)?;
    let row = visible_task(&state, &caller, id::<TaskId>(&task)?).await?;
    Ok(axum::Json(task_json(&row)))
}

/// One identity link of a task, as Camunda 7 lists them.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityLinkDto {
    /// `candidate`, `assignee` or `owner` (while delegated).
    #[serde(rename = "type")]
    pub link_type: String,
    /// The user, for user links.
    pub user_id: Option<String>,
    /// The group, for candidate-group links.
    pub group_id: Option<String>,
}

#[utoipa::path(
    get,
    path = "/tasks/{id}/identity-links",
    tag = "tasks",
    operation_id = "getTaskIdentityLinks",
    params(
        ("id" = String, Path, description = "The task's id (a UUID)"),
    ),
    responses(
        (status = 200, description = "Who is linked to the task: candidate groups and users, the assignee, and the owner while it is delegated", body = Vec<IdentityLinkDto>),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, a bad id or query)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such resource, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn identity_links(
    State(state): State<AppState>,
    caller: Caller,
    Path(task): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::ReadTasks)?;
    let task = id::<TaskId>(&task)?;
    let row = visible_task(&state, &caller, task).await?;
    let link = |kind: &str, user: Option<&str>, group: Option<&str>| serde_json::json!({ "type": kind, "userId": user, "groupId": group });
    let r = &row.record;
    let mut links: Vec<Value> = r
        .candidate_groups
        .iter()
        .map(|g| link("candidate", None, Some(g)))
        .chain(
            r.candidate_users
                .iter()
                .map(|u| link("candidate", Some(u), None)),
        )
        .collect();
    if let Some(a) = &r.assignee {
        links.push(link("assignee", Some(a), None));
    }
    let state_now = state.engine.instance(r.instance).await?;
    let owner = state_now.tokens.iter().find_map(|t| match &t.wait {
        motcua_engine::state::Wait::UserTask {
            task: id, owner, ..
        } if *id == task => owner.clone(),
        _ => None,
    });
    if let Some(o) = owner {
        links.push(link("owner", Some(&o), None));
    }
    Ok(axum::Json(Value::Array(links)))
}

/// Claims for the body's `user`, else for the acting user. A servant claims for themselves.
#[utoipa::path(
    post,
    path = "/tasks/{id}/claim",
    tag = "tasks",
    operation_id = "claimTask",
    params(
        ("id" = String, Path, description = "The task's id (a UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = Option<ClaimRequest>,
    responses(
        (status = 200, description = "Claimed", body = OutcomeDto),
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
async fn claim(
    State(state): State<AppState>,
    caller: Caller,
    Path(task): Path<String>,
    OptionalJson(body): OptionalJson<ClaimRequest>,
) -> ApiResult<axum::Json<Value>> {
    let task = id::<TaskId>(&task)?;
    let body_user = present(body.user);
    if let (Some(p), Some(other)) = (&caller.principal, &body_user) {
        if p.role == super::auth::Role::Servant && *other != p.user {
            return Err(ApiError::Forbidden(
                "a servant claims tasks for themselves only".into(),
            ));
        }
    }
    let Some(user) = body_user.or_else(|| caller.user.clone()) else {
        return Err(ApiError::Invalid(
            "claim needs the user who takes the task: send {\"user\": \"...\"} or the \
             X-Motcua-User header"
                .into(),
        ));
    };
    workable_task(&state, &caller, task).await?;
    let outcome = state.engine.claim(task, &user, caller.options()).await?;
    Ok(axum::Json(outcome_json(&outcome)))
}

#[utoipa::path(
    post,
    path = "/tasks/{id}/unclaim",
    tag = "tasks",
    operation_id = "unclaimTask",
    params(
        ("id" = String, Path, description = "The task's id (a UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    responses(
        (status = 200, description = "Unclaimed", body = OutcomeDto),
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
async fn unclaim(
    State(state): State<AppState>,
    caller: Caller,
    Path(task): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let task = id::<TaskId>(&task)?;
    workable_task(&state, &caller, task).await?;
    let outcome = state.engine.unclaim(task, caller.options()).await?;
    Ok(axum::Json(outcome_json(&outcome)))
}

/// Completes as the acting user (the token's `sub`, or the `X-Motcua-User` header), else as
/// the body's `user` (open development mode only: with tokens the user is always set).
#[utoipa::path(
    post,
    path = "/tasks/{id}/complete",
    tag = "tasks",
    operation_id = "completeTask",
    params(
        ("id" = String, Path, description = "The task's id (a UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = Option<CompleteRequest>,
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
    Path(task): Path<String>,
    OptionalJson(body): OptionalJson<CompleteRequest>,
) -> ApiResult<axum::Json<Value>> {
    let task = id::<TaskId>(&task)?;
    workable_task(&state, &caller, task).await?;
    let mut options = caller.options();
    if options.actor.is_none() {
        options.actor = present(body.user);
    }
    let outcome = state.engine.complete(task, body.variables, options).await?;
    Ok(axum::Json(outcome_json(&outcome)))
}

#[utoipa::path(
    get,
    path = "/tasks/count",
    tag = "tasks",
    operation_id = "countTasks",
    params(
        CountQuery,
    ),
    responses(
        (status = 200, description = "How many tasks the caller may see match the filters", body = CountDto),
        (status = 400, description = "`invalid`: the request is malformed (bad JSON, unknown fields, a bad id or query)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn count(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<CountQuery>,
) -> ApiResult<axum::Json<Value>> {
    caller.require(Action::ReadTasks)?;
    let mut query = task_query(q.into())?;
    caller.task_scope(&mut query);
    let count = state.engine.count_tasks(&query).await?;
    Ok(axum::Json(serde_json::json!({ "count": count })))
}

/// A 403 unless the caller (with tokens) is a leader or an administrator, or, when
/// `assignee_may` is set, the task's current assignee.
fn require_manager(
    caller: &Caller,
    row: &TaskRow,
    assignee_may: bool,
    what: &str,
) -> ApiResult<()> {
    let Some(p) = &caller.principal else {
        return Ok(());
    };
    if matches!(p.role, Role::Leader | Role::Admin) {
        return Ok(());
    }
    if assignee_may && row.record.assignee.as_deref() == Some(p.user.as_str()) {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!(
        "only {}a leader of the task's agency or an administrator may {what} it",
        if assignee_may {
            "the task's assignee, "
        } else {
            ""
        }
    )))
}

fn required_user(user: String) -> ApiResult<String> {
    present(Some(user))
        .ok_or_else(|| ApiError::Invalid("send the user: {\"user\": \"...\"}".into()))
}

/// Sets the assignee directly, even over someone else's claim (leaders and administrators).
#[utoipa::path(
    post,
    path = "/tasks/{id}/assign",
    tag = "tasks",
    operation_id = "assignTask",
    params(
        ("id" = String, Path, description = "The task's id (a UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = UserRequest,
    responses(
        (status = 200, description = "Assigned", body = OutcomeDto),
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
async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Path(task): Path<String>,
    Json(body): Json<UserRequest>,
) -> ApiResult<axum::Json<Value>> {
    let task = id::<TaskId>(&task)?;
    let user = required_user(body.user)?;
    let row = workable_task(&state, &caller, task).await?;
    require_manager(&caller, &row, false, "assign")?;
    let outcome = state.engine.assign(task, &user, caller.options()).await?;
    Ok(axum::Json(outcome_json(&outcome)))
}

/// Delegates the task to `user`: the assignee becomes its owner and gets it back when the
/// delegate resolves it. The assignee, or a leader or administrator, may delegate.
#[utoipa::path(
    post,
    path = "/tasks/{id}/delegate",
    tag = "tasks",
    operation_id = "delegateTask",
    params(
        ("id" = String, Path, description = "The task's id (a UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = UserRequest,
    responses(
        (status = 200, description = "Delegated", body = OutcomeDto),
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
async fn delegate(
    State(state): State<AppState>,
    caller: Caller,
    Path(task): Path<String>,
    Json(body): Json<UserRequest>,
) -> ApiResult<axum::Json<Value>> {
    let task = id::<TaskId>(&task)?;
    let user = required_user(body.user)?;
    let row = workable_task(&state, &caller, task).await?;
    require_manager(&caller, &row, true, "delegate")?;
    let outcome = state.engine.delegate(task, &user, caller.options()).await?;
    Ok(axum::Json(outcome_json(&outcome)))
}

/// Resolves a delegated task with variables: it goes back to its owner, who completes it.
/// The assignee (the delegate), or a leader or administrator, may resolve.
#[utoipa::path(
    post,
    path = "/tasks/{id}/resolve",
    tag = "tasks",
    operation_id = "resolveTask",
    params(
        ("id" = String, Path, description = "The task's id (a UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this command return the first answer"),
        ("X-Motcua-User" = Option<String>, Header, description = "The acting user in open development mode (ignored when tokens are on)"),
    ),
    request_body = Option<ResolveRequest>,
    responses(
        (status = 200, description = "Resolved: the task is its owner's again", body = OutcomeDto),
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
async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(task): Path<String>,
    OptionalJson(body): OptionalJson<ResolveRequest>,
) -> ApiResult<axum::Json<Value>> {
    let task = id::<TaskId>(&task)?;
    let row = workable_task(&state, &caller, task).await?;
    require_manager(&caller, &row, true, "resolve")?;
    let outcome = state
        .engine
        .resolve(task, body.variables, caller.options())
        .await?;
    Ok(axum::Json(outcome_json(&outcome)))
}
