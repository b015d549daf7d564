//! The national public-service portal's view of a dossier (Cổng DVC quốc gia, issue #9 part 5):
//! `GET /dossiers/{code}/portal-sync` answers the mapping the portal feed posts
//! (`motcua_engine::portal`: MaHoSo, MaTTHC, dates as `yyyyMMddHHmmss` UTC+7, TrangThaiHoSo,
//! QuaTrinhXuLy). Read with the dossier's scope (`ReadInstance`; a servant of an agency that
//! does not read the dossier gets 404 as for an unknown code).

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use motcua_engine::PortalRecord;

use super::auth::Action;
use super::error::ApiResult;
use super::extract::{Caller, Path};
use super::openapi::{PortalRecordDto, Problem};
use super::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/dossiers/{code}/portal-sync", get(portal_sync))
}

#[utoipa::path(
    get,
    path = "/dossiers/{code}/portal-sync",
    tag = "dossiers",
    operation_id = "getDossierPortalSync",
    params(
        ("code" = String, Path, description = "The dossier code"),
    ),
    responses(
        (status = 200, description = "The dossier as the national public-service portal's sync takes it (the body the portal feed posts)", body = PortalRecordDto),
        (status = 400, description = "`invalid`: the request is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such dossier, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn portal_sync(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> ApiResult<axum::Json<PortalRecord>> {
    caller.require(Action::ReadInstance)?;
    super::transfers::reads_dossier(&state, &caller, &code).await?;
    Ok(axum::Json(state.engine.portal_sync(&code).await?))
}
