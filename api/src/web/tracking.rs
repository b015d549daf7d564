//! Citizen tracking: `GET /tra-cuu?ma=CODE`, public, no login. It shows only the public fields
//! of a dossier — code, procedure name, state, received, promised and done dates — and never
//! the applicant's name, id, phone, address, form data or documents (what the receipt slip
//! already tells whoever holds it).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use motcua_engine::EngineError;
use serde::{Deserialize, Serialize};

use super::{vn_date, vn_time, WebError};
use crate::http::AppState;

/// The routes of this page group.
pub fn router() -> Router<AppState> {
    Router::new().route("/tra-cuu", get(tracking))
}

#[derive(Deserialize)]
struct TrackingQuery {
    ma: Option<String>,
}

/// The public fields of a dossier: nothing else reaches the template.
#[derive(Serialize)]
struct PublicDossier {
    code: String,
    procedure: String,
    state: &'static str,
    received: String,
    promised: Option<String>,
    done: Option<String>,
    overdue: bool,
}

async fn tracking(
    State(state): State<AppState>,
    Query(q): Query<TrackingQuery>,
) -> Result<Response, WebError> {
    let code =
        q.ma.map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty() && c.len() <= 64);
    let Some(code) = code else {
        return state.web.render(
            "tracking.html",
            minijinja::context! { title => "Tra cứu hồ sơ" },
        );
    };
    let view = match state.engine.dossier(&code).await {
        Ok(view) => view,
        Err(EngineError::NotFound { .. }) => {
            let mut page = state.web.render(
                "tracking.html",
                minijinja::context! { title => "Tra cứu hồ sơ", code => code, missing => true },
            )?;
            *page.status_mut() = StatusCode::NOT_FOUND;
            return Ok(page);
        }
        Err(e) => return Err(e.into()),
    };
    let d = &view.dossier;
    let procedure = match state
        .engine
        .definition(&d.procedure_key, Some(d.procedure_version))
        .await
    {
        Ok((record, _)) => record.name.unwrap_or_else(|| d.procedure_key.clone()),
        Err(_) => d.procedure_key.clone(),
    };
    let public = PublicDossier {
        code: d.code.clone(),
        procedure,
        state: d.state.label(),
        received: vn_time(d.received_at),
        promised: d.due_at.map(vn_date),
        done: d.finished_at.map(vn_time),
        overdue: view.overdue,
    };
    state.web.render(
        "tracking.html",
        minijinja::context! { title => "Tra cứu hồ sơ", code => code, dossier => public },
    )
}
