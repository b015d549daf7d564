//! Auditors over HTTP: `GET /dossiers/{code}/export` (the dossier archive, zip),
//! `GET /dossiers/{code}/verification` (the dossier verified where it is stored) and
//! `POST /verify` (an archive verified as `motcua verify` does: the body is the zip).
//!
//! Reading needs `ReadJournal` (auditors, leaders, the dossier's own servants: a servant of
//! another agency gets 404 exactly like an unknown code). Trust is the server's: the roots and
//! CRLs of its `--signing` configuration (none configured: nothing is trusted, so signatures
//! and checkpoints fail — the report says so). Exporting signs a checkpoint first when the
//! server has an engine key, so the archive is covered to its last journal row.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use motcua_engine::audit::{verify_archive, Archive, AuditReport};
use motcua_engine::EngineError;
use motcua_signing::TrustStore;

use super::auth::Action;
use super::error::{ApiError, ApiResult};
use super::extract::{Caller, Path};
use super::openapi::{AuditReportDto, BinaryDto, Problem};
use super::state::AppState;

/// The largest archive `POST /verify` accepts.
pub const MAX_ARCHIVE_BYTES: usize = 512 * 1024 * 1024;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dossiers/{code}/export", get(export))
        .route("/dossiers/{code}/verification", get(verification))
        .route(
            "/verify",
            post(verify).layer(DefaultBodyLimit::max(MAX_ARCHIVE_BYTES)),
        )
}

/// The server's trust: its configured roots and CRLs, or `empty`.
fn trust<'a>(state: &'a AppState, empty: &'a TrustStore) -> &'a TrustStore {
    state.engine.signature_setup().map_or(empty, |s| &s.trust)
}

/// The dossier's code, if the caller may read its journal.
async fn readable(state: &AppState, caller: &Caller, code: &str) -> ApiResult<()> {
    caller.require(Action::ReadJournal)?;
    let view = state.engine.dossier(code).await?;
    if !caller.sees_agency(Some(&view.dossier.agency)) {
        return Err(EngineError::NotFound {
            what: "dossier",
            id: code.to_owned(),
        }
        .into());
    }
    Ok(())
}

fn report_json(report: &AuditReport) -> ApiResult<axum::Json<serde_json::Value>> {
    serde_json::to_value(report)
        .map(axum::Json)
        .map_err(|_| ApiError::Internal)
}

/// The dossier as a self-contained archive for auditors: `manifest.json`, `dossier.json`,
/// `journal.jsonl` (rows as stored, with their hash chain), `documents/`, `signatures/`,
/// `checkpoints/`. Verify it offline with `motcua verify FILE --trust ROOTS.pem`.
#[utoipa::path(
    get,
    path = "/dossiers/{code}/export",
    tag = "audit",
    operation_id = "exportDossier",
    params(("code" = String, Path, description = "The dossier code")),
    responses(
        (status = 200, description = "The archive (zip)", content_type = "application/zip", body = BinaryDto),
        (status = 400, description = "`invalid`: the request is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not read journals", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such dossier, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's, e.g. a document whose stored bytes changed (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    readable(&state, &caller, &code).await?;
    let archive = state
        .engine
        .export_dossier(&code, state.engine.engine_key())
        .await?;
    let zip = archive.to_zip().map_err(|e| {
        tracing::error!(dossier = %code, error = %e, "export: writing the archive failed");
        ApiError::Internal
    })?;
    let mut response = zip.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    // Dossier codes are letters, digits, '.', '_' and '-': safe inside the quoted file name.
    let disposition = format!("attachment; filename=\"{code}.zip\"");
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// The dossier verified where it is stored: the checks `motcua verify` runs on an archive
/// (journal hash chain, documents, signatures, signed checkpoints), against the server's
/// trusted roots. `passed` is true only when every check held.
#[utoipa::path(
    get,
    path = "/dossiers/{code}/verification",
    tag = "audit",
    operation_id = "verifyDossier",
    params(("code" = String, Path, description = "The dossier code")),
    responses(
        (status = 200, description = "The audit report", body = AuditReportDto),
        (status = 400, description = "`invalid`: the request is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not read journals", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such dossier, or one the caller may not see", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn verification(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    readable(&state, &caller, &code).await?;
    let empty = TrustStore::new();
    let report = state
        .engine
        .verify_dossier(&code, trust(&state, &empty))
        .await?;
    report_json(&report)
}

/// An archive made by `motcua dossier export` or `GET /dossiers/{code}/export`, verified
/// against the server's trusted roots. The body is the zip. 200 with `passed: false` when it
/// does not hold; 400 when it is not a dossier archive at all.
#[utoipa::path(
    post,
    path = "/verify",
    tag = "audit",
    operation_id = "verifyArchive",
    request_body(content = BinaryDto, content_type = "application/octet-stream", description = "The archive (a zip; sent as application/octet-stream or application/zip)"),
    responses(
        (status = 200, description = "The audit report", body = AuditReportDto),
        (status = 400, description = "`invalid`: not a zip, an entry with an unsafe name, larger than 512 MiB, or too large uncompressed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`: tokens are required and the bearer token is missing, malformed, badly signed or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the token's role may not read journals", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`internal`: a failure that is not the client's (details in the server log)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    caller.require(Action::ReadJournal)?;
    let body = body.map_err(|e| {
        ApiError::Invalid(format!(
            "the archive could not be read (at most {MAX_ARCHIVE_BYTES} bytes): {e}"
        ))
    })?;
    let archive = Archive::from_zip(&body)
        .map_err(|e| ApiError::Invalid(format!("not a dossier archive: {e}")))?;
    let empty = TrustStore::new();
    let report = verify_archive(&archive, trust(&state, &empty), state.engine.now());
    report_json(&report)
}
