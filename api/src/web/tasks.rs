//! The task queue and the task page: `GET /web/tasks` (the user's queue with the API's task
//! scope, SLA colours, filters by procedure, state and text, paging), `GET /web/tasks/{id}`
//! (the dossier, its documents, the task's form), `POST /web/tasks/{id}/claim`,
//! `POST /web/tasks/{id}/complete` (the form's fields, validated by the engine: a refusal
//! re-renders the form with each field's error and the values kept) and
//! `GET /web/dossiers/{code}/documents/{slot}/{version}` (a document's bytes).
//!
//! A task the user may not see is the 404 page, like an unknown id.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use motcua_engine::store::{TaskQuery, TaskRow, TaskSort};
use motcua_engine::{EngineError, TaskId};
use motcua_forms::validate::FieldError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{url_encode, vn_date, vn_time, LoggedIn, WebError};
use crate::http::auth::Action;
use crate::http::AppState;

/// Tasks per page.
pub const PAGE_SIZE: u32 = 20;

/// The routes of this page group.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/web/tasks", get(queue))
        .route("/web/tasks/{id}", get(task_page))
        .route("/web/tasks/{id}/claim", post(claim))
        .route("/web/tasks/{id}/complete", post(complete))
        .route("/web/tasks/{id}/sign", post(sign))
        .route(
            "/web/dossiers/{code}/documents/{slot}/{version}",
            get(document),
        )
}

#[derive(Deserialize, Default)]
struct QueueParams {
    procedure: Option<String>,
    state: Option<String>,
    q: Option<String>,
    page: Option<String>,
    done: Option<String>,
}

#[derive(Serialize)]
struct TaskLine {
    id: String,
    name: String,
    procedure: String,
    dossier: Option<String>,
    applicant: Option<String>,
    assignee: Option<String>,
    created: String,
    due: Option<String>,
    sla: &'static str,
    sla_label: &'static str,
    state: String,
}

/// The SLA mark of a task: CSS class and its words (colour is never the only sign).
fn sla(row: &TaskRow) -> (&'static str, &'static str) {
    if row.state != "open" {
        return ("closed", "Đã đóng");
    }
    match (row.overdue, row.due_soon, row.record.due_at) {
        (true, _, _) => ("overdue", "Quá hạn"),
        (false, true, _) => ("due-soon", "Sắp đến hạn"),
        (false, false, Some(_)) => ("on-time", "Trong hạn"),
        (false, false, None) => ("no-due", "Không có hạn"),
    }
}

fn present(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

async fn procedure_names(state: &AppState) -> Result<BTreeMap<String, String>, WebError> {
    let mut names = BTreeMap::new();
    for d in state.engine.definitions().await? {
        let name = d.name.clone().unwrap_or_else(|| d.key.clone());
        names.insert(d.key, name);
    }
    Ok(names)
}

async fn queue(
    State(state): State<AppState>,
    user: LoggedIn,
    Query(params): Query<QueueParams>,
) -> Result<Response, WebError> {
    let caller = user.caller();
    caller.require(Action::ReadTasks).map_err(WebError::from)?;
    let page: u32 = params
        .page
        .as_deref()
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1 && *p <= 100_000)
        .unwrap_or(1);
    let procedure = present(params.procedure);
    let text = present(params.q);
    let state_filter = match params.state.as_deref() {
        Some("overdue") => "overdue",
        Some("all") => "all",
        _ => "open",
    };
    let mut query = TaskQuery {
        definition_key: procedure.clone(),
        name_contains: text.clone(),
        include_closed: state_filter == "all",
        overdue: (state_filter == "overdue").then_some(true),
        sort: TaskSort::Due,
        limit: Some(PAGE_SIZE),
        offset: Some((page - 1) * PAGE_SIZE),
        ..TaskQuery::default()
    };
    caller.task_scope(&mut query);
    let total = state.engine.count_tasks(&query).await?;
    let rows = state.engine.tasks(&query).await?;
    let names = procedure_names(&state).await?;
    let mut lines = Vec::new();
    for row in &rows {
        let dossier = state
            .engine
            .dossier_by_instance(row.record.instance)
            .await
            .ok();
        let (class, label) = sla(row);
        lines.push(TaskLine {
            id: row.record.id.to_string(),
            name: row.record.name.clone(),
            procedure: names
                .get(&row.record.definition_key)
                .cloned()
                .unwrap_or_else(|| row.record.definition_key.clone()),
            dossier: dossier.as_ref().map(|d| d.dossier.code.clone()),
            applicant: dossier.as_ref().map(|d| d.dossier.applicant.name.clone()),
            assignee: row.record.assignee.clone(),
            created: vn_time(row.record.created_at),
            due: row.record.due_at.map(vn_time),
            sla: class,
            sla_label: label,
            state: task_state_label(&row.state).to_owned(),
        });
    }
    let pages = (total.max(0) as u32).div_ceil(PAGE_SIZE);
    let link = |p: u32| {
        format!(
            "/web/tasks?procedure={}&state={}&q={}&page={p}",
            url_encode(procedure.as_deref().unwrap_or("")),
            state_filter,
            url_encode(text.as_deref().unwrap_or(""))
        )
    };
    let procedures: Vec<(String, String)> = names.into_iter().collect();
    state.web.render(
        "tasks.html",
        minijinja::context! {
            title => "Danh sách công việc",
            user => user.header(),
            tasks => lines,
            total => total,
            page => page,
            pages => pages.max(1),
            prev => (page > 1).then(|| link(page - 1)),
            next => (page < pages).then(|| link(page + 1)),
            procedures => procedures,
            procedure => procedure,
            state => state_filter,
            q => text,
            done => present(params.done),
        },
    )
}

fn task_state_label(state: &str) -> &'static str {
    match state {
        "open" => "Đang chờ xử lý",
        "completed" => "Đã hoàn thành",
        "cancelled" => "Đã hủy",
        _ => "Không rõ",
    }
}

/// The task, if the user may see it; otherwise the 404 page.
async fn visible(state: &AppState, user: &LoggedIn, id: &str) -> Result<TaskRow, WebError> {
    let caller = user.caller();
    caller.require(Action::ReadTasks).map_err(WebError::from)?;
    let task: TaskId = id.parse().map_err(|_| WebError::not_found())?;
    let row = match state.engine.task(task).await {
        Ok(row) => row,
        Err(EngineError::NotFound { .. }) => return Err(WebError::not_found()),
        Err(e) => return Err(e.into()),
    };
    if !caller.sees_task(&row) {
        return Err(WebError::not_found());
    }
    Ok(row)
}

#[derive(Serialize)]
struct DocumentLine {
    slot: String,
    name: String,
    version: i32,
    media_type: String,
    size: i64,
    href: String,
    added: String,
}

/// A document slot the task requires a signature over, and who signed its latest version.
#[derive(Serialize)]
struct SignatureLine {
    slot: String,
    name: String,
    /// The signers of the slot's latest version (certificate subjects).
    signed_by: Vec<String>,
    /// The slot has no document yet.
    missing: bool,
}

/// The signatures `row`'s task requires (`motcua:requiresSignatures`) and where they stand.
async fn required_signatures(
    state: &AppState,
    row: &TaskRow,
    definition: &motcua_engine::DefinitionRef,
    dossier: &motcua_engine::DossierView,
) -> Result<Vec<SignatureLine>, WebError> {
    let model = state.engine.model(definition).await?;
    let slots = match model
        .node_by_id(&row.record.node)
        .map(|idx| &model.node(idx).kind)
    {
        Some(motcua_definitions::NodeKind::UserTask(t)) => t.requires_signatures.clone(),
        _ => return Ok(Vec::new()),
    };
    if slots.is_empty() {
        return Ok(Vec::new());
    }
    let signatures = state
        .engine
        .dossier_signatures(&dossier.dossier.code)
        .await?;
    Ok(slots
        .into_iter()
        .map(|slot| {
            let latest = dossier.documents.iter().find(|d| d.slot == slot);
            let name = model
                .documents()
                .iter()
                .find(|d| d.slot == slot)
                .map(|d| d.name.clone())
                .unwrap_or_else(|| slot.clone());
            SignatureLine {
                signed_by: signatures
                    .iter()
                    .filter(|s| latest.is_some_and(|d| d.sha256 == s.document_sha256))
                    .map(|s| s.signer_subject.clone())
                    .collect(),
                missing: latest.is_none(),
                name,
                slot,
            }
        })
        .collect())
}

/// Renders the task page, with the form's values and errors when a completion was refused.
async fn render_task(
    state: &AppState,
    user: &LoggedIn,
    row: &TaskRow,
    submitted: Option<(&Map<String, Value>, &[FieldError])>,
    message: Option<&str>,
) -> Result<Response, WebError> {
    let dossier = state
        .engine
        .dossier_by_instance(row.record.instance)
        .await
        .ok();
    let instance = state.engine.instance(row.record.instance).await?;
    let open = row.state == "open";
    let claimable = open && row.record.assignee.is_none() && user.caller().works_task(row);
    let workable = open
        && user.caller().works_task(row)
        && row
            .record
            .assignee
            .as_deref()
            .is_none_or(|a| a == user.principal.user);
    let mut form_html = None;
    if workable {
        let action = format!("/web/tasks/{}/complete", row.record.id);
        let schema = match row.record.form_key.as_deref() {
            Some(key) => state.engine.form(key).await?,
            None => None,
        };
        let html = match schema {
            Some(schema) => {
                let (values, errors) = match submitted {
                    Some((values, errors)) => {
                        let mut merged = instance.variables.clone();
                        merged.extend(values.clone());
                        (merged, errors)
                    }
                    None => (instance.variables.clone(), &[][..]),
                };
                let page = motcua_forms::render::render(
                    state.engine.templates(),
                    &schema,
                    &values,
                    errors,
                    &action,
                )
                .map_err(|e| {
                    tracing::error!(error = %e, "a task form cannot be rendered");
                    WebError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Không hiển thị được biểu mẫu của công việc này.",
                    )
                })?;
                with_csrf(&page, &user.csrf)
            }
            None => format!(
                "<form method=\"post\" action=\"{action}\" class=\"motcua-form\">\
                 <input type=\"hidden\" name=\"_csrf\" value=\"{}\">\
                 <p>Công việc này không có biểu mẫu.</p>\
                 <button type=\"submit\">Hoàn thành</button></form>",
                minijinja::HtmlEscape(&user.csrf)
            ),
        };
        form_html = Some(minijinja::Value::from_safe_string(html));
    }
    let (sla_class, sla_label) = sla(row);
    let (documents, dossier_view) = match &dossier {
        Some(v) => {
            let docs: Vec<DocumentLine> = v
                .documents
                .iter()
                .map(|d| DocumentLine {
                    slot: d.slot.clone(),
                    name: d.name.clone(),
                    version: d.version,
                    media_type: d.media_type.clone(),
                    size: d.size,
                    href: format!(
                        "/web/dossiers/{}/documents/{}/{}",
                        url_encode(&d.dossier_code),
                        url_encode(&d.slot),
                        d.version
                    ),
                    added: vn_time(d.added_at),
                })
                .collect();
            let view = minijinja::context! {
                code => v.dossier.code,
                applicant => v.dossier.applicant.name,
                applicant_id => v.dossier.applicant.id,
                state => v.dossier.state.label(),
                received => vn_time(v.dossier.received_at),
                promised => v.dossier.due_at.map(vn_date),
                overdue => v.overdue,
            };
            (docs, Some(view))
        }
        None => (Vec::new(), None),
    };
    let signing = match &dossier {
        Some(v) => required_signatures(state, row, &instance.definition, v).await?,
        None => Vec::new(),
    };
    let names = procedure_names(state).await?;
    let mut response = state.web.render(
        "task.html",
        minijinja::context! {
            title => row.record.name.clone(),
            user => user.header(),
            task => minijinja::context! {
                id => row.record.id.to_string(),
                name => row.record.name,
                node => row.record.node,
                procedure_key => row.record.definition_key,
                procedure => names.get(&row.record.definition_key).cloned().unwrap_or_else(|| row.record.definition_key.clone()),
                assignee => row.record.assignee,
                groups => row.record.candidate_groups.join(", "),
                created => vn_time(row.record.created_at),
                due => row.record.due_at.map(vn_time),
                sla => sla_class,
                sla_label => sla_label,
                state => task_state_label(&row.state),
                open => open,
            },
            claimable => claimable,
            claimed_by_other => open && row.record.assignee.as_deref().is_some_and(|a| a != user.principal.user),
            dossier => dossier_view,
            documents => documents,
            form => form_html,
            signing => signing,
            can_sign => workable && user.principal.agency.is_some(),
            csrf => user.csrf.clone(),
            message => message,
        },
    )?;
    if submitted.is_some() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

/// Puts the CSRF field into a rendered form, right after its opening tag.
fn with_csrf(form: &str, csrf: &str) -> String {
    let field = format!(
        "<input type=\"hidden\" name=\"_csrf\" value=\"{}\">",
        minijinja::HtmlEscape(csrf)
    );
    match form
        .find("<form")
        .and_then(|start| form[start..].find('>').map(|end| start + end + 1))
    {
        Some(at) => format!("{}{field}{}", &form[..at], &form[at..]),
        None => form.to_owned(),
    }
}

async fn task_page(
    State(state): State<AppState>,
    user: LoggedIn,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let row = visible(&state, &user, &id).await?;
    render_task(&state, &user, &row, None, None).await
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

async fn claim(
    State(state): State<AppState>,
    user: LoggedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    user.check_csrf(&state, &form.csrf)?;
    let row = visible(&state, &user, &id).await?;
    let caller = user.caller();
    caller.require(Action::WorkTasks).map_err(WebError::from)?;
    if !caller.works_task(&row) {
        return Err(WebError::forbidden());
    }
    match state
        .engine
        .claim(row.record.id, &user.principal.user, caller.options())
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/web/tasks/{}", row.record.id)).into_response()),
        Err(EngineError::NotFound { .. }) => Err(WebError::not_found()),
        Err(EngineError::Rejected(_) | EngineError::Conflict(_)) => {
            let row = visible(&state, &user, &id).await?;
            render_task(
                &state,
                &user,
                &row,
                None,
                Some("Không nhận được công việc: người khác đã nhận hoặc công việc đã đóng."),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn complete(
    State(state): State<AppState>,
    user: LoggedIn,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "_csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    user.check_csrf(&state, csrf)?;
    let row = visible(&state, &user, &id).await?;
    let caller = user.caller();
    caller.require(Action::WorkTasks).map_err(WebError::from)?;
    if !caller.works_task(&row) {
        return Err(WebError::forbidden());
    }
    let fields: Vec<(String, String)> = pairs.into_iter().filter(|(k, _)| k != "_csrf").collect();
    let schema = match row.record.form_key.as_deref() {
        Some(key) => state.engine.form(key).await?,
        None => None,
    };
    let variables = match &schema {
        Some(schema) => motcua_forms::validate::from_form_fields(schema, &fields),
        None => Map::new(),
    };
    match state
        .engine
        .complete(row.record.id, variables.clone(), caller.options())
        .await
    {
        Ok(_) => {
            tracing::info!(task = %row.record.id, user = %user.principal.user, "task completed on the web");
            Ok(
                Redirect::to(&format!("/web/tasks?done={}", url_encode(&row.record.name)))
                    .into_response(),
            )
        }
        Err(EngineError::Form { errors, .. }) => {
            render_task(&state, &user, &row, Some((&variables, &errors)), None).await
        }
        Err(EngineError::NotFound { .. }) => Err(WebError::not_found()),
        Err(EngineError::Rejected(reason) | EngineError::Conflict(reason)) => {
            tracing::info!(task = %row.record.id, reason = %reason, "web completion refused");
            let row = visible(&state, &user, &id).await?;
            render_task(
                &state,
                &user,
                &row,
                None,
                Some(&format!("Không hoàn thành được công việc: {reason}")),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct SignForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    slot: String,
}

/// Signs the latest version of a slot server-side with the user's agency key (the signing
/// configuration's `[[agency_key]]`), as `POST /dossiers/{code}/documents/{slot}/sign` does.
async fn sign(
    State(state): State<AppState>,
    user: LoggedIn,
    Path(id): Path<String>,
    Form(form): Form<SignForm>,
) -> Result<Response, WebError> {
    user.check_csrf(&state, &form.csrf)?;
    let row = visible(&state, &user, &id).await?;
    let caller = user.caller();
    caller.require(Action::WorkTasks).map_err(WebError::from)?;
    if !caller.works_task(&row) {
        return Err(WebError::forbidden());
    }
    let Some(agency) = user.principal.agency.clone() else {
        return Err(WebError::forbidden());
    };
    let dossier = state
        .engine
        .dossier_by_instance(row.record.instance)
        .await?;
    match state
        .engine
        .sign_document(&dossier.dossier.code, &form.slot, &agency, caller.options())
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/web/tasks/{}", row.record.id)).into_response()),
        Err(EngineError::NotFound { .. }) => {
            render_task(
                &state,
                &user,
                &row,
                None,
                Some("Hồ sơ chưa có giấy tờ này để ký."),
            )
            .await
        }
        Err(
            EngineError::Rejected(reason)
            | EngineError::Invalid(reason)
            | EngineError::Conflict(reason),
        ) => {
            render_task(
                &state,
                &user,
                &row,
                None,
                Some(&format!("Không ký được: {reason}")),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn document(
    State(state): State<AppState>,
    user: LoggedIn,
    Path((code, slot, version)): Path<(String, String, i32)>,
) -> Result<Response, WebError> {
    let caller = user.caller();
    caller
        .require(Action::ReadInstance)
        .map_err(WebError::from)?;
    let view = match state.engine.dossier(&code).await {
        Ok(v) => v,
        Err(EngineError::NotFound { .. }) => return Err(WebError::not_found()),
        Err(e) => return Err(e.into()),
    };
    if !caller.sees_agency(Some(&view.dossier.agency)) {
        return Err(WebError::not_found());
    }
    let record = state
        .engine
        .dossier_documents(&code)
        .await?
        .into_iter()
        .find(|d| d.slot == slot && d.version == version)
        .ok_or_else(WebError::not_found)?;
    let bytes = state.engine.read_document(&code, &slot, version).await?;
    let media_type = HeaderValue::from_str(&record.media_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, media_type);
    // The bytes are the applicant's: never run them as a page of this origin.
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::with_csrf;

    #[test]
    fn the_csrf_field_goes_inside_the_form() {
        let form = "<p>x</p><form method=\"post\" action=\"/a\"><input name=\"b\"></form>";
        assert_eq!(
            with_csrf(form, "t<"),
            "<p>x</p><form method=\"post\" action=\"/a\"><input type=\"hidden\" name=\"_csrf\" value=\"t&lt;\"><input name=\"b\"></form>"
        );
        assert_eq!(with_csrf("no form", "t"), "no form");
    }
}
