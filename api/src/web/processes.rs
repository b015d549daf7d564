//! The process view: `GET /web/processes` lists the deployed procedures, and
//! `GET /web/processes/{key}` draws the latest version from the file's own BPMN DI (shapes,
//! edges, labels, lanes and pools) as SVG on the server, with the number of open tasks waiting
//! at each step laid over it (red where some are overdue). The counts obey the user's task
//! scope: a servant sees their own queue's. A file without DI gets a clear message instead.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use motcua_engine::store::TaskQuery;
use motcua_engine::EngineError;
use serde::Serialize;

use super::svg::{self, Waiting};
use super::{LoggedIn, WebError};
use crate::http::auth::Action;
use crate::http::AppState;

/// Open tasks read per query when counting, and the most read in all.
const BATCH: u32 = 1000;
const MAX_COUNTED: u32 = 20_000;

/// The routes of this page group.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/web/processes", get(list))
        .route("/web/processes/{key}", get(one))
}

#[derive(Serialize)]
struct ProcessLine {
    key: String,
    name: String,
    version: i32,
}

async fn list(State(state): State<AppState>, user: LoggedIn) -> Result<Response, WebError> {
    user.caller()
        .require(Action::ReadDefinitions)
        .map_err(WebError::from)?;
    let mut latest: BTreeMap<String, ProcessLine> = BTreeMap::new();
    for d in state.engine.definitions().await? {
        let line = ProcessLine {
            name: d.name.clone().unwrap_or_else(|| d.key.clone()),
            key: d.key.clone(),
            version: d.version,
        };
        match latest.get(&d.key) {
            Some(seen) if seen.version >= d.version => {}
            _ => {
                latest.insert(d.key, line);
            }
        }
    }
    let processes: Vec<ProcessLine> = latest.into_values().collect();
    state.web.render(
        "processes.html",
        minijinja::context! { title => "Quy trình", user => user.header(), processes => processes },
    )
}

#[derive(Serialize)]
struct Step {
    name: String,
    waiting: u64,
    overdue: u64,
}

/// Open tasks of a procedure by node, within the user's scope.
async fn waiting_by_node(
    state: &AppState,
    user: &LoggedIn,
    key: &str,
) -> Result<HashMap<String, (String, Waiting)>, WebError> {
    let caller = user.caller();
    let mut counts: HashMap<String, (String, Waiting)> = HashMap::new();
    if caller.require(Action::ReadTasks).is_err() {
        return Ok(counts);
    }
    let mut offset = 0;
    while offset < MAX_COUNTED {
        let mut query = TaskQuery {
            definition_key: Some(key.to_owned()),
            limit: Some(BATCH),
            offset: Some(offset),
            ..TaskQuery::default()
        };
        caller.task_scope(&mut query);
        let rows = state.engine.tasks(&query).await?;
        for row in &rows {
            let entry = counts
                .entry(row.record.node.clone())
                .or_insert_with(|| (row.record.name.clone(), Waiting::default()));
            entry.1.open += 1;
            if row.overdue {
                entry.1.overdue += 1;
            }
        }
        if (rows.len() as u32) < BATCH {
            break;
        }
        offset += BATCH;
    }
    Ok(counts)
}

async fn one(
    State(state): State<AppState>,
    user: LoggedIn,
    Path(key): Path<String>,
) -> Result<Response, WebError> {
    user.caller()
        .require(Action::ReadDefinitions)
        .map_err(WebError::from)?;
    let (record, xml) = match state.engine.definition(&key, None).await {
        Ok(found) => found,
        Err(EngineError::NotFound { .. }) => return Err(WebError::not_found()),
        Err(e) => return Err(e.into()),
    };
    let name = record.name.clone().unwrap_or_else(|| key.clone());
    let counts = waiting_by_node(&state, &user, &key).await?;
    let waiting: HashMap<String, Waiting> =
        counts.iter().map(|(k, (_, w))| (k.clone(), *w)).collect();
    let (svg_text, no_diagram) = match motcua_definitions::diagram::read(&xml) {
        Ok(d) => (Some(svg::diagram(&d, &waiting, &name)), None),
        Err(motcua_definitions::diagram::DiagramError::NoDiagram) => (
            None,
            Some("Tệp BPMN của quy trình này không có sơ đồ (BPMN DI): hãy mở và lưu lại bằng công cụ thiết kế (bpmn-js, Camunda Modeler) để có hình vẽ."),
        ),
        Err(e) => {
            tracing::warn!(process = %key, error = %e, "the diagram of a deployed process cannot be read");
            (None, Some("Không đọc được sơ đồ của quy trình này."))
        }
    };
    let mut steps: Vec<Step> = counts
        .into_values()
        .map(|(name, w)| Step {
            name,
            waiting: w.open,
            overdue: w.overdue,
        })
        .collect();
    steps.sort_by(|a, b| b.waiting.cmp(&a.waiting).then(a.name.cmp(&b.name)));
    let total: u64 = steps.iter().map(|s| s.waiting).sum();
    let overdue: u64 = steps.iter().map(|s| s.overdue).sum();
    state.web.render(
        "process.html",
        minijinja::context! {
            title => name.clone(),
            user => user.header(),
            name => name,
            key => key,
            version => record.version,
            svg => svg_text.map(minijinja::Value::from_safe_string),
            no_diagram => no_diagram,
            steps => steps,
            waiting => total,
            overdue => overdue,
        },
    )
}
